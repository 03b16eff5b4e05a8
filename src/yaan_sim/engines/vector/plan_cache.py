"""Compiled plans kept on disk, so that a new process need not compile the .mdl again.

Compiling the park model takes ~1.3 s; reading its plan back takes ~2 ms. Every
``yaan-sim`` command, notebook kernel and worker process compiles the model once, so the
plan is pickled into the translation cache (``$YAAN_SIM_CACHE``, else
``~/.cache/yaan-sim``; the PySD translations beside it are Python the loader imports, so
the folder is trusted as much already). The key covers everything the plan depends on:
the .mdl's bytes, the versions of Python, numpy, PySD (whose parser reads it) and
yaan-sim, and the source of the vector engine itself, so an edited compiler never reads
an old plan. A file that cannot be read back is compiled again and replaced; a cache that
cannot be written is left alone (the plan is still compiled).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

from yaan_sim.cache_files import read_or_make
from yaan_sim.paths import cache_dir

T = TypeVar("T")
FOLDER = "plans"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """What the plan's form depends on besides the .mdl: versions and the engine's source."""
    h = hashlib.sha256()
    for package in ("numpy", "pysd", "yaan-sim"):
        try:
            h.update(f"{package}={version(package)};".encode())
        except PackageNotFoundError:
            h.update(f"{package}=?;".encode())
    h.update(f"python={sys.version_info[:2]};".encode())
    engines = Path(__file__).resolve().parents[1]
    for source in sorted([*engines.glob("vector/*.py"), engines / "elementwise.py"]):
        h.update(source.name.encode() + source.read_bytes())
    return h.hexdigest()


def plan_path(mdl_bytes: bytes) -> Path:
    """Where the plan compiled from these bytes is kept."""
    key = hashlib.sha256(code_digest().encode() + mdl_bytes).hexdigest()[:40]
    return cache_dir() / FOLDER / f"{key}.pickle"


def cached(mdl_bytes: bytes, compile_plan: Callable[[], T]) -> T:
    """The plan for ``mdl_bytes`` from the cache, else ``compile_plan()`` (then kept)."""
    return read_or_make(
        plan_path(mdl_bytes),
        compile_plan,
        load=pickle.loads,
        dump=lambda plan: pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL),
    )
