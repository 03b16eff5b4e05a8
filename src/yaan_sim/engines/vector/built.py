"""Programs compiled in this process, shared by every model object that needs them.

Optimising and compiling one kind of run of the park model takes ~0.3 s (numpy) or a
trace and an XLA compile (JAX). Each model object keeps the programs it built, but a
model loaded again is a new object: every in-process command (``main([...])``), a
notebook re-run, ``simulate`` beside a model used directly. A program is decided by its
source and the constants it reads, so programs are kept here by a fingerprint of both
and built once per process.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


def fingerprint(*texts: str, constants: dict) -> str:
    """A digest of ``texts`` (sources, names) and of ``constants`` (nested dicts, lists and
    tuples of arrays and plain values, as the generated programs read them)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(b"%d:" % len(text))
        h.update(text.encode())

    def feed(value):
        if isinstance(value, dict):
            h.update(b"{%d" % len(value))
            for key in sorted(value):
                h.update(str(key).encode())
                feed(value[key])
        elif isinstance(value, (list, tuple)):
            h.update(b"[%d" % len(value))
            for item in value:
                feed(item)
        elif isinstance(value, np.ndarray):
            h.update(f"{value.dtype}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())

    feed(constants)
    return h.hexdigest()


class BuiltPrograms(Generic[T]):
    """The last ``keep`` programs built, by fingerprint."""

    def __init__(self, keep: int = 32):
        self.keep = keep
        self._kept: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str, build: Callable[[], T]) -> T:
        """The program kept under ``key``, or ``build()`` kept there."""
        program = self._kept.get(key)
        if program is None:
            program = self._kept[key] = build()
        self._kept.move_to_end(key)
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)
        return program

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        self._kept.clear()
