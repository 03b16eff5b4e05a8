"""YAML files written by the analyses: scenarios (what goal-seeking found) and other
documents (what a fit gave, :meth:`yaan_sim.analysis.calibrate_result.CalibrationResult.to_yaml`).

A document is built as a dict and written with ``yaml.safe_dump``, so any lever name or
text is quoted as YAML needs; a comment header says what wrote it. The file is written
atomically; a scenario reads back with :func:`yaan_sim.scenario.load_scenario`::

    doc = scenario_document("what-it-takes", "What it takes", "达标所需", extends="plan.yaml")
    doc["levers"] = {"PPP share": lever_setting(values, note="found by yaan-sim seek")}
    write_scenario_file("out/wit.yaml", doc, header=["Written by `yaan-sim seek`"])
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

from yaan_sim.outputs.results import write_atomic
from yaan_sim.protocols import ScenarioLike


def scenario_document(
    name: str,
    title_en: str,
    title_zh: str,
    *,
    description: str | None = None,
    extends: str | None = None,
) -> dict[str, Any]:
    """The top of a scenario file: name, titles, description and parent, in that order."""
    doc: dict[str, Any] = {"name": name, "title": {"en": title_en, "zh": title_zh}}
    if description:
        doc["description"] = description
    if extends:
        doc["extends"] = extends
    return doc


def _number(x: float) -> int | float:
    """A plain YAML number: an int where the value is whole (years), else the float."""
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 1e15 else x


def cell_setting(cell: xr.DataArray) -> int | float | dict[str, Any]:
    """One element's value: a number, or ``{schedule: {time: value}}`` (a step schedule at
    each time the value changes on the integration grid, which reproduces it exactly)."""
    v = np.asarray(cell.values, dtype=float)
    if "time" not in cell.dims or np.all(v == v.ravel()[0]):
        return _number(v.ravel()[0])
    t = np.asarray(cell["time"].values, dtype=float)
    keep = np.concatenate([[True], v[1:] != v[:-1]])
    return {"schedule": {_number(ti): _number(vi) for ti, vi in zip(t[keep], v[keep], strict=True)}}


def lever_setting(da: xr.DataArray, note: str | None = None) -> dict[str, Any]:
    """A lever's setting from its values (dims ``[time,] [one subscript]``): ``value`` or
    ``schedule`` for a lever without subscripts, one entry per element otherwise."""
    other = [d for d in da.dims if d != "time"]
    if len(other) > 1:
        raise ValueError(f"a lever with dims {da.dims}: scenario files set at most one subscript")
    out: dict[str, Any]
    if not other:
        value = cell_setting(da)
        out = dict(value) if isinstance(value, dict) else {"value": value}
    else:
        dim = other[0]
        out = {str(el): cell_setting(da.sel({dim: el})) for el in da[dim].values}
    if note:
        out["note"] = note
    return out


def dump_yaml(doc: dict[str, Any], header: Sequence[str] = ()) -> str:
    """The YAML text: ``header`` as comment lines (wrapped), then the document (keys in
    the dict's order, Chinese text as it is)."""
    lines = [
        "# " + piece
        for line in header
        for piece in (textwrap.wrap(line, 88, break_long_words=False) or [""])
    ]
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=88)
    return "".join(line + "\n" for line in lines) + body


def write_yaml(
    path: str | Path, doc: dict[str, Any], header: Sequence[str] = (), force: bool = False
) -> Path:
    """Write :func:`dump_yaml` atomically; never over an existing file without ``force``."""
    text = dump_yaml(doc, header)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


def dump_scenario(doc: dict[str, Any], header: Sequence[str] = ()) -> str:
    """A scenario's YAML text (see :func:`scenario_document`)."""
    return dump_yaml(doc, header)


def extends_path(base_scenario: ScenarioLike | None, path: str | Path) -> str | None:
    """``base_scenario``'s own file as seen from ``path``'s folder (for ``extends:``)."""
    sources = getattr(base_scenario, "sources", None)
    if not sources:
        return None
    return os.path.relpath(Path(sources[0]).resolve(), Path(path).resolve().parent)


def write_scenario_file(
    path: str | Path, doc: dict[str, Any], header: Sequence[str] = (), force: bool = False
) -> Path:
    """Write a scenario atomically; never over an existing file without ``force``."""
    return write_yaml(path, doc, header, force)
