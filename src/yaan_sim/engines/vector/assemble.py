"""The vector engine's outputs as one ``xarray.Dataset``: every variable that changes
with time a slice of one block, constants of an ensemble broadcast views."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import xarray as xr

from yaan_sim.outputs.dataset import build_dataset


class Layout(NamedTuple):
    """Where a variable's values go: its full shape (every element of its dims' ranges),
    its dims, and for one defined on part of a range the positions of its elements
    (None: all). Made once per compiled model (:meth:`VectorModel._layout`)."""

    full: tuple[int, ...]
    dims: tuple[str, ...]
    cells: tuple | None  # np.ix_ of the positions, after (sample, time)
    attrs: dict


def layout_of(var) -> Layout:
    """The :class:`Layout` of a plan variable."""
    full = tuple(len(f) for f in var.full)
    cells = None
    if any(len(c) != len(f) for c, f in zip(var.coords, var.full, strict=True)):
        pos = [
            np.asarray([f.index(e) for e in c]) for c, f in zip(var.coords, var.full, strict=True)
        ]
        cells = np.ix_(*pos)
    return Layout(full, tuple(var.dims), cells, {"units": var.units, "vensim_name": var.name})


def assemble_dataset(
    returns,
    parts,
    saved,
    samples,
    dim_coord: Callable,
    layout: Callable[[str], Layout],
    lead_dim: str | None = None,
) -> xr.Dataset:
    """``parts``: (lo, hi, constants, outputs) for each chunk of samples; the outputs
    are per-time lists of arrays, or one (time, sample, ...) array.

    Every variable that changes with time (and, for one run, every variable) is a
    C-contiguous slice of one block: one allocation, written in place. In an
    ensemble a constant shared by all samples stays one value seen at every time
    and sample (a read-only view), as it takes no memory. ``lead_dim``: :meth:`Block.dataset`."""
    block = Block(returns, parts[0][3], saved, samples, layout)
    for part in parts:
        block.fill(*part)
    return block.dataset(parts, dim_coord, lead_dim)


class Block:
    """The one block of a run's Dataset, made before the integration so that each chunk of
    samples is written into it as it returns and its outputs dropped: an ensemble then
    holds its values once, not twice (its chunks' outputs and the block).

    ``dynamic``: the variables that change with time (the program's per-time outputs)."""

    def __init__(self, returns, dynamic, saved, samples, layout: Callable[[str], Layout]):
        self.returns, self.saved, self.samples = list(returns), saved, samples
        self.dynamic = set(dynamic)
        self.layouts = {py: layout(py) for py in self.returns}  # looked up once a run
        n_t, s_out = len(saved), samples if samples is not None else 1
        places, total = [], 0
        for py, lay in self.layouts.items():
            inblock = py in self.dynamic or samples is None
            places.append((py, lay, total if inblock else None))
            if inblock:
                total += s_out * n_t * math.prod(lay.full)
        block = np.empty(total)
        self.views: dict[str, np.ndarray] = {}
        for py, lay, at in places:
            if at is None:
                continue
            shape = (s_out, n_t, *lay.full)
            view = self.views[py] = block[at : at + math.prod(shape)].reshape(shape)
            if lay.cells is not None:  # defined on part of a range: NaN elsewhere
                view[...] = np.nan

    def fill(self, lo: int, hi: int, consts, outs) -> None:
        """Write samples ``lo:hi`` (one chunk's constants and per-time outputs)."""
        for py, out in self.views.items():
            _fill(out, py, self.layouts[py], lo, hi, consts, outs, py in self.dynamic)

    @staticmethod
    def keep(block: Block | None, lo: int, hi: int, consts, outs) -> tuple:
        """A chunk's part (lo, hi, constants, outputs): with a ``block``, its outputs written
        into it (chunks write disjoint samples: safe from threads) and dropped."""
        if block is None:
            return lo, hi, consts, outs
        block.fill(lo, hi, consts, outs)
        return lo, hi, consts, {}

    def dataset(self, parts, dim_coord: Callable, lead_dim: str | None = None) -> xr.Dataset:
        """The Dataset: the block's variables, and an ensemble's constants as views of
        ``parts``' (lo, hi, constants, ...). ``lead_dim``: one run's variables keep the
        block's leading axis of length 1 under this name (no coordinate), e.g. ``scenario``
        for a results layer that would otherwise make every variable again to add it."""
        samples = self.samples
        if samples is None:
            lead: tuple[str, ...] = ("time",) if lead_dim is None else (lead_dim, "time")
            one: int | slice = slice(None) if lead_dim is not None else 0
        else:
            lead, one = ("sample", "time"), slice(None)
        data_vars = {}
        for py, lay in self.layouts.items():
            out = self.views.get(py)
            if out is None:
                shape = (samples, len(self.saved), *lay.full)
                out = _constant_view(py, lay, parts, shape)
            data_vars[py] = xr.Variable(  # fastpath: a float ndarray, taken as it is
                (*lead, *lay.dims),
                out[one],
                dict(lay.attrs),
                fastpath=True,
            )
        coords = {"time": xr.Variable(("time",), self.saved)}
        if samples is not None:
            coords["sample"] = xr.Variable(("sample",), np.arange(samples))
        indexes = {}
        for d in dict.fromkeys(d for lay in self.layouts.values() for d in lay.dims):
            coords[d], indexes[d] = dim_coord(d)
        return build_dataset(data_vars, coords, indexes=indexes)


def _fill(out: np.ndarray, py: str, lay: Layout, lo: int, hi: int, consts, outs, dynamic) -> None:
    """Write samples ``lo:hi`` of variable ``py`` into ``out`` (sample, time, *full dims)."""
    padded = lay.cells is not None
    cells: tuple = ()
    if lay.cells is not None:  # written on its own cells, after
        cells = (slice(lo, hi), slice(None), *lay.cells)
        target = np.empty(out[cells].shape)
        at = 0
    else:
        target, at = out, lo
    rows = slice(at, at + hi - lo)
    if not dynamic:  # the same value at every time
        target[rows] = np.asarray(consts[py])[:, None]
    else:
        values = outs[py]
        if isinstance(values, np.ndarray):  # (time, sample, ...) at once
            target[rows] = values.swapaxes(0, 1)  # (sample, time, ...): a view
        elif hi - lo == 1 and not padded and _concatenated(values, target[at]):
            pass  # one run: the times side by side, one call
        else:
            for i, a in enumerate(values):
                target[rows, i] = a
    if padded:
        out[cells] = target


def _concatenated(values, into: np.ndarray) -> bool:
    """``values`` (one run's per-time arrays, each (1, *dims)) side by side into ``into``."""
    try:
        np.concatenate(values, axis=0, out=into)
    except ValueError:
        return False  # a value not of shape (1, *dims): written time by time
    return True


def _constant_view(py: str, lay: Layout, parts, shape: tuple) -> np.ndarray:
    """A constant of an ensemble at every (sample, time): a broadcast view."""
    leads = [np.asarray(p[2][py]) for p in parts]
    if all(v.shape[0] == 1 for v in leads):
        v = leads[0]
    else:
        v = np.concatenate(
            [
                np.broadcast_to(v, (hi - lo, *v.shape[1:]))
                for v, (lo, hi, _, _) in zip(leads, parts, strict=True)
            ]
        )
    if lay.cells is not None:
        full = np.full((v.shape[0], *shape[2:]), np.nan)
        full[(slice(None), *lay.cells)] = v
        v = full
    return np.broadcast_to(v[:, None], shape)
