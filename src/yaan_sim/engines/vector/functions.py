"""Numpy helpers called from the generated simulation code.

Every helper works on arrays laid out as ``(sample, *context axes)`` (sample of size 1
when shared) and on plain scalars, and reproduces the arithmetic of the matching PySD
function (``pysd.py_backend.functions``) so that results agree to rounding error.
"""

from __future__ import annotations

import numpy as np

from yaan_sim.engines.elementwise import SMALL_VENSIM, vensim_elementwise

__all__ = ["SMALL_VENSIM"]


def bc(value, shape: tuple) -> np.ndarray:
    """Broadcast ``value`` to ``(lead, *shape)`` (a read-only view; lead is kept)."""
    value = np.asarray(value, dtype=float)
    lead = value.shape[0] if value.ndim else 1
    return np.broadcast_to(value, (lead, *shape))


def stack_saved(values: list, shape: tuple) -> np.ndarray:
    """One run's values at its saved times (each ``(1, *shape)``) as one ``(times, *shape)``
    array, for the variables computed after the time loop (``codegen.saved_only_after_loop``);
    a value held as a scalar is broadcast to ``shape`` first, as using it would."""
    try:
        out = np.concatenate(values)
        if out.ndim == len(shape) + 1:
            return out
    except ValueError:  # a scalar among them
        pass
    try:
        return np.concatenate([bc(v, shape) for v in values])
    except ValueError as exc:
        raise ValueError(f"values of different shapes at the saved times, not {shape}") from exc


def lead(value) -> int:
    """Size of the leading (sample) axis of a value, 1 for scalars."""
    shape = np.shape(value)
    return shape[0] if shape else 1


def order_value(order, owner: str, cast: bool) -> int:
    """A SMOOTH/DELAY order as PySD takes it at initialisation (DELAYs cast it to int,
    with a warning where it is not whole)."""
    values = np.unique(np.asarray(order, dtype=float))
    if values.size != 1:
        from yaan_sim.errors import UnsupportedConstructError

        raise UnsupportedConstructError(
            f"{owner}: a delay or smooth order that differs between elements or samples is "
            "not supported by the vector engine; run with engine='pysd'"
        )
    value = float(values[0])
    if value != int(value):
        if not cast:
            from yaan_sim.errors import ModelError

            raise ModelError(f"{owner}: the order of a SMOOTH must be a whole number")
        import warnings

        warnings.warn(f"{owner}\nCasting delay order from {value} to {int(value)}", stacklevel=2)
    return int(value)


def delay_order(order: int, dt, delay_time, owner: str) -> int:
    """The order PySD uses: lowered (with its warning) while order * TIME STEP exceeds
    the smallest delay time."""
    n = order
    tmin = np.min(delay_time)
    while n * dt > tmin and n > 0:
        n -= 1
    if n != order:
        import warnings

        warnings.warn(
            f"{owner}\nDelay time very small, casting delay order from {order} to {n}", stacklevel=2
        )
    if n < 1:
        from yaan_sim.errors import ModelError

        raise ModelError(f"{owner}: the delay time is shorter than one TIME STEP")
    return n


def fixed_order(delay_time, dt, owner: str) -> int:
    """Length of DELAY FIXED's pipe, as PySD: round(max(T / dt, 1) + 1e-6)."""
    t = np.unique(np.asarray(delay_time, dtype=float))
    if t.size != 1:
        from yaan_sim.errors import UnsupportedConstructError

        raise UnsupportedConstructError(
            f"{owner}: DELAY FIXED with a delay time that differs between elements or "
            "samples is not supported by the vector engine; run with engine='pysd'"
        )
    return round(max(float(t[0]) / float(dt), 1) + SMALL_VENSIM)


# the generated code calls _f.zidz, _f.ramp, ...: the shared formulas on np
globals().update(vensim_elementwise(np))


#: numpy.interp's compiled loop: the generated code calls it directly, skipping the
#: wrapper's checks for complex and periodic tables (~0.4 us of ~0.9 us a call)
try:
    from numpy._core.multiarray import interp as interp_real
except ImportError:  # another numpy layout: the public function
    interp_real = np.interp


def ctx(view, shape: tuple):
    """A reference's view spread over its equation's context ``shape`` (size-1 axes where
    the variable lacks a dim): the view itself. The optimiser strips it in the time loop
    and turns one computed before the loop into :func:`widen`."""
    return view


def widen(view, shape: tuple) -> np.ndarray:
    """``view`` written out to ``(lead, *shape)``: computed once before the time loop, it
    spares every step numpy's broadcasting over short axes (an operation with a (1, 1, 6)
    operand costs 2x one with a (1, 9, 6) operand; 1.8x at 512 samples)."""
    return np.ascontiguousarray(np.broadcast_to(view, (view.shape[0], *shape)))


#: Below this many elements a reduction is one ufunc call (its per-call cost dominates)
_SUM_SLICES_FROM = 2048
_add_reduce = np.add.reduce


def sum_axis(x, axis: int):
    """``np.add.reduce(x, axis=axis)``, bit for bit, faster on an ensemble's arrays.

    Over a short axis (fewer than 8 elements: a group, a pollutant) numpy adds the
    elements in order, one element at a time per output: ~3 ns an element. Adding whole
    slices in the same order gives the same bits in ~0.6 ns (4x less at 512 samples);
    small arrays (one run) keep the single ufunc call."""
    if x.size < _SUM_SLICES_FROM or not 1 < x.shape[axis] < 8:
        return _add_reduce(x, axis)  # positional: as fast as calling it directly
    at = (slice(None),) * axis
    out = x[(*at, 0)] + x[(*at, 1)]
    for i in range(2, x.shape[axis]):
        out += x[(*at, i)]
    return out


def interp_table(x, xp: np.ndarray, fp: np.ndarray):
    """Linear interpolation with end values held, for tables that differ per element.

    ``xp``: (K,) increasing; ``fp``: (K, *shape) where ``shape`` broadcasts with ``x``.
    """
    x = np.asarray(x, dtype=float)
    k = xp.shape[0]
    if k == 1:
        return np.broadcast_to(fp[0], np.broadcast_shapes(x.shape, fp.shape[1:])) + 0.0
    xc = np.clip(x, xp[0], xp[-1])
    i = np.clip(np.searchsorted(xp, xc, side="right") - 1, 0, k - 2)
    x0 = xp[i]
    w = (xc - x0) / (xp[i + 1] - x0)
    shape = np.broadcast_shapes(x.shape, fp.shape[1:])
    full = np.broadcast_to(fp, (k, *shape))
    ib = np.broadcast_to(i, shape)[None]
    f0 = np.take_along_axis(full, ib, 0)[0]
    f1 = np.take_along_axis(full, ib + 1, 0)[0]
    return f0 + w * (f1 - f0)


def interp1(x, xp: np.ndarray, fp: np.ndarray, nctx: int):
    """A lookup without subscripts: ``fp`` is (K, sample); ``nctx`` context axes."""
    if fp.shape[1] == 1:
        return interp_real(x, xp, fp[:, 0])
    return interp_table(x, xp, fp.reshape(fp.shape + (1,) * nctx))


def interp_columns(x_new: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Interpolate each column of ``fp`` (K, ...) at the points ``x_new`` (M,), ends held."""
    k = xp.shape[0]
    if k == 1:
        return np.broadcast_to(fp[:1], (x_new.shape[0], *fp.shape[1:])).copy()
    xc = np.clip(x_new, xp[0], xp[-1])
    i = np.clip(np.searchsorted(xp, xc, side="right") - 1, 0, k - 2)
    w = (xc - xp[i]) / (xp[i + 1] - xp[i])
    between = np.flatnonzero(w != 0)
    if between.size == w.size or not np.isfinite(fp).all():
        w = w.reshape((-1,) + (1,) * (fp.ndim - 1))
        return fp[i] + w * (fp[i + 1] - fp[i])
    # A point on a knot is its value (w = 0 adds 0 * a finite difference): the points of
    # a schedule that fall on its knots are copied, not interpolated, which spares 4
    # passes over an ensemble's (time, sample, ...) schedules; the points between knots
    # are interpolated as above, bit for bit. (A schedule on exactly the run's grid does
    # not come here: runtime._on_grid takes it as it is.)
    out = fp[i]
    if between.size:
        j = i[between]
        wb = w[between].reshape((-1,) + (1,) * (fp.ndim - 1))
        out[between] = fp[j] + wb * (fp[j + 1] - fp[j])
    return out
