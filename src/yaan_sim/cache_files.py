"""Files kept in yaan-sim's cache folder (:func:`yaan_sim.paths.cache_dir`), named by a
digest of what made them: read back where they are, else made and written whole.

A file is written to a temporary name and renamed into place, so that processes at once
never read half of one. A file that cannot be read back (cut short, damaged, from another
version) is made again and replaced; a cache that cannot be written is left alone (the
value is made each time instead). Used for the compiled plans of the vector engine and
the report's font subsets.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def read_or_make(
    path: Path, make: Callable[[], T], *, load: Callable[[bytes], T], dump: Callable[[T], bytes]
) -> T:
    """``load`` of the file at ``path``, else ``make()``, kept there as ``dump`` gives it."""
    try:
        return load(path.read_bytes())
    except Exception:  # none yet, or cut short or damaged: make it again
        pass
    value = make()
    with contextlib.suppress(OSError, pickle.PicklingError):  # a read-only or full cache
        write_whole(path, dump(value))
    return value


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (also with processes at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
