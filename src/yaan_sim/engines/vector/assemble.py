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
    returns, parts, saved, samples, dim_coord: Callable, layout: Callable[[str], Layout]
) -> xr.Dataset:
    """``parts``: (lo, hi, constants, outputs) for each chunk of samples; the outputs
    are per-time lists of arrays, or one (time, sample, ...) array.

    Every variable that changes with time (and, for one run, every variable) is a
    C-contiguous slice of one block: one allocation, written in place. In an
    ensemble a constant shared by all samples stays one value seen at every time
    and sample (a read-only view), as it takes no memory."""
    n_t = len(saved)
    s_out = samples if samples is not None else 1
    dyn = parts[0][3]
    places, total = [], 0
    for py in returns:
        lay = layout(py)
        inblock = py in dyn or samples is None
        places.append((py, lay, total if inblock else None))
        if inblock:
            total += s_out * n_t * math.prod(lay.full)
    block = np.empty(total)
    lead = ("time",) if samples is None else ("sample", "time")
    data_vars = {}
    for py, lay, at in places:
        shape = (s_out, n_t, *lay.full)
        if at is None:
            out = _constant_view(py, lay, parts, shape)
        else:
            out = block[at : at + math.prod(shape)].reshape(shape)
            _fill(out, py, lay, parts, py in dyn)
        data_vars[py] = xr.Variable(  # fastpath: a float ndarray, taken as it is
            (*lead, *lay.dims), out[0] if samples is None else out, dict(lay.attrs), fastpath=True
        )
    coords = {"time": xr.Variable(("time",), saved)}
    if samples is not None:
        coords["sample"] = xr.Variable(("sample",), np.arange(samples))
    indexes = {}
    for d in dict.fromkeys(d for py in returns for d in layout(py).dims):
        coords[d], indexes[d] = dim_coord(d)
    return build_dataset(data_vars, coords, indexes=indexes)


def _fill(out: np.ndarray, py: str, lay: Layout, parts, dynamic: bool) -> None:
    """Write variable ``py`` of every chunk into ``out`` (sample, time, *full dims)."""
    padded = lay.cells is not None
    if lay.cells is not None:  # defined on part of a range: NaN elsewhere
        out[...] = np.nan
        cells: tuple = (slice(None), slice(None), *lay.cells)
        target = np.empty(out[cells].shape)
    else:
        target = out
    for lo, hi, consts, dyn_out in parts:
        if not dynamic:  # the same value at every time
            target[lo:hi] = np.asarray(consts[py])[:, None]
            continue
        values = dyn_out[py]
        if isinstance(values, np.ndarray):  # (time, sample, ...) at once
            target[lo:hi] = values.swapaxes(0, 1)  # (sample, time, ...): a view
            continue
        if hi - lo == 1 and not padded:
            try:  # one run: the times side by side, one call
                np.concatenate(values, axis=0, out=target[lo])
                continue
            except ValueError:
                pass  # a value not of shape (1, *dims): written time by time
        for i, a in enumerate(values):
            target[lo:hi, i] = a
    if padded:
        out[cells] = target


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
