"""JAX versions of the helpers the generated simulation code calls (``_f``).

Each mirrors :mod:`yaan_sim.engines.vector.functions` formula for formula, so that the
two backends agree to rounding error; the stage counts of SMOOTH and DELAY
(``order_value``, ``delay_order``, ``fixed_order``) are not here: they fix the shapes of
the program, so they are computed with numpy before tracing (see :mod:`.codegen`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from yaan_sim.engines.elementwise import vensim_elementwise


def _segment(xp, x):
    """Index j of the segment xp[j] <= x < xp[j + 1], clipped to 0..K-2. Lookup tables
    are short: comparing with every point vectorises and compiles far better than
    jnp.searchsorted's default binary search (a loop in the program)."""
    j = jnp.searchsorted(xp, x, side="right", method="compare_all") - 1
    return jnp.clip(j, 0, xp.shape[0] - 2)


def interp(x, xp, fp):
    """numpy.interp, with its formula (slope * (x - xp[j]) + fp[j]), ends held."""
    x, xp, fp = (jnp.asarray(a, dtype=float) for a in (x, xp, fp))
    if xp.shape[0] == 1:
        return jnp.broadcast_to(fp[0], x.shape)
    j = _segment(xp, x)
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    inside = slope * (x - xp[j]) + fp[j]
    return jnp.where(x < xp[0], fp[0], jnp.where(x >= xp[-1], fp[-1], inside))


class _Numpy:
    """``np`` in the generated source: jax.numpy, with numpy's scalar constructors (the
    compiler writes ``np.float64('inf')`` for non-finite literals) and numpy's interp."""

    float64 = np.float64
    interp = staticmethod(interp)

    def __getattr__(self, name):
        return getattr(jnp, name)


np_namespace = _Numpy()


def bc(value, shape: tuple):
    """Broadcast ``value`` to ``(lead, *shape)``; lead is kept."""
    value = jnp.asarray(value, dtype=float)
    lead = value.shape[0] if value.ndim else 1
    return jnp.broadcast_to(value, (lead, *shape))


def ctx(view, shape: tuple):
    """A reference's view spread over its context: the view (XLA fuses broadcasting)."""
    return view


def lead(value) -> int:
    shape = jnp.shape(value)
    return shape[0] if shape else 1


def widen(state, n: int):
    """Every array of ``state`` (a pytree) as floats with ``n`` samples on the leading axis:
    what the scan carries must keep one shape and type from step to step."""
    return jax.tree_util.tree_map(
        lambda a: jnp.broadcast_to(jnp.asarray(a, dtype=float), (n, *jnp.shape(a)[1:])), state
    )


# the generated code calls _f.zidz, _f.ramp, ...: the shared formulas on jnp
globals().update(vensim_elementwise(jnp))


def interp_table(x, xp, fp):
    """Linear interpolation with end values held, for tables that differ per element.

    ``xp``: (K,) increasing; ``fp``: (K, *shape) where ``shape`` broadcasts with ``x``.
    """
    x, xp, fp = (jnp.asarray(a, dtype=float) for a in (x, xp, fp))
    k = xp.shape[0]
    if k == 1:
        return jnp.broadcast_to(fp[0], jnp.broadcast_shapes(x.shape, fp.shape[1:])) + 0.0
    xc = jnp.clip(x, xp[0], xp[-1])
    i = _segment(xp, xc)
    x0 = xp[i]
    w = (xc - x0) / (xp[i + 1] - x0)
    shape = jnp.broadcast_shapes(x.shape, fp.shape[1:])
    full = jnp.broadcast_to(fp, (k, *shape))
    ib = jnp.broadcast_to(i, shape)[None]
    f0 = jnp.take_along_axis(full, ib, 0)[0]
    f1 = jnp.take_along_axis(full, ib + 1, 0)[0]
    return f0 + w * (f1 - f0)


def interp1(x, xp, fp, nctx: int):
    """A lookup without subscripts: ``fp`` is (K, sample); ``nctx`` context axes."""
    if fp.shape[1] == 1:
        return interp(x, xp, fp[:, 0])
    return interp_table(x, xp, fp.reshape(fp.shape + (1,) * nctx))


def put(buffer, slot, value):
    """``buffer`` with ``value`` (broadcast over the samples) written at ``slot``."""
    return buffer.at[slot].set(value)


def cond(flag, save, buffers):
    """``save(buffers)`` where ``flag`` (a saved time), else ``buffers`` unchanged."""
    return jax.lax.cond(flag, save, lambda b: b, buffers)
