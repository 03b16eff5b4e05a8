"""PySD's runs kept as reference files, so the suite compares the engines with PySD
without running PySD every time.

A PySD run of the project's model takes ~20 s, and the suite compared with about a dozen,
plus a translation per conformance case: a third of `make test`'s CPU. Each reference is
PySD's DataFrame for one call, stored (float64, exact) under tests/data/pysd_reference/
with what produced it: the SHA-256 of every input file, PySD's version and the call's
arguments. Where any of those differ (the .mdl was edited, another PySD, other
arguments), PySD runs and its fresh frame is compared instead, so a stale file never
decides a test; `make references` writes the fresh frames back and
tests/test_pysd_references.py fails while a stored file no longer matches its .mdl.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

FOLDER = Path(__file__).resolve().parents[1] / "data" / "pysd_reference"
#: set to 1 (as `make references` does) to write the frames computed on a miss
WRITE_ENV = "YAAN_WRITE_PYSD_REFERENCES"


def file_digest(path: Path) -> str:
    return text_digest(Path(path).read_bytes())


def text_digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def inputs_digest(paths: Iterable[Path]) -> dict[str, str]:
    """{file name: SHA-256} of the inputs PySD reads (a .mdl and its data files)."""
    return {Path(p).name: file_digest(Path(p)) for p in sorted(paths, key=lambda p: Path(p).name)}


def call_text(*args, **kwargs) -> str:
    """A stable text of a call's arguments (numbers, DataArrays, Series, tuples)."""

    def plain(v):
        if hasattr(v, "to_dict") and hasattr(v, "dims"):  # a DataArray
            return {"dims": list(v.dims), "data": v.to_dict(data="list")}
        if isinstance(v, pd.Series):
            return {"index": [float(i) for i in v.index], "values": [plain(x) for x in v]}
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in sorted(v.items())}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        return v

    return json.dumps({"args": plain(list(args)), "kwargs": plain(kwargs)}, sort_keys=True)


def reference(
    name: str, inputs: Iterable[Path], call: str, compute: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """The stored frame ``name`` if it was made from these inputs, this PySD and this
    call; else ``compute()`` (a PySD run), written back when WRITE_ENV is set."""
    stamp = {"inputs": inputs_digest(inputs), "pysd": version("pysd"), "call": call}
    path = FOLDER / f"{name}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            if json.loads(str(f["stamp"])) == stamp:
                return pd.DataFrame(
                    f["values"], index=pd.Index(f["index"]), columns=list(f["columns"])
                )
    frame = compute()
    if os.environ.get(WRITE_ENV) == "1":
        _write(path, frame, stamp)
    return frame


def _write(path: Path, frame: pd.DataFrame, stamp: dict) -> None:
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        return  # a column that is no number: this call is not kept
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        values=values,
        index=np.asarray(frame.index, dtype=float),
        columns=np.asarray([str(c) for c in frame.columns]),
        stamp=np.asarray(json.dumps(stamp, sort_keys=True)),
    )


def stored() -> list[tuple[Path, dict]]:
    """Every stored reference and its stamp."""
    out = []
    for path in sorted(FOLDER.glob("**/*.npz")):
        with np.load(path, allow_pickle=False) as f:
            out.append((path, json.loads(str(f["stamp"]))))
    return out
