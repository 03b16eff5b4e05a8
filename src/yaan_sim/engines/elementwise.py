"""Vensim's elementwise functions, written once for any array namespace.

The vector engine binds them to numpy (:mod:`yaan_sim.engines.vector.functions`) and the
JAX engine to jax.numpy (:mod:`yaan_sim.engines.jax.functions`), so that the two
backends share their formulas and agree to rounding error. Each reproduces the
arithmetic of the matching PySD function (``pysd.py_backend.functions``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

#: What Vensim (and PySD) consider zero in ZIDZ, XIDZ, QUANTUM and the time functions.
SMALL_VENSIM = 1e-6


def vensim_elementwise(xp: ModuleType | Any) -> dict[str, Callable]:
    """ZIDZ, XIDZ, INTEGER, QUANTUM, MODULO, IF THEN ELSE, STEP, RAMP, PULSE and PULSE
    TRAIN on the array namespace ``xp`` (numpy or jax.numpy), by their generated names."""

    def zidz(num, den):
        return xp.where(xp.abs(den) < SMALL_VENSIM, 0.0, num / den)

    def xidz(num, den, x):
        return xp.where(xp.abs(den) < SMALL_VENSIM, x, num / den)

    def integer(x):
        return xp.trunc(x)

    def quantum(a, b):
        return xp.where(b < SMALL_VENSIM, a, b * xp.trunc(a / b))

    def modulo(x, m):
        return x - quantum(x, m)

    def if_then_else(cond, a, b):
        return xp.where(cond, a, b)

    def step(t, dt, value, tstep):
        return value * (t + dt / 2 > tstep)

    def ramp(t, slope, start, finish=None):
        final = t if finish is None else xp.minimum(finish, t)
        return (t + SMALL_VENSIM > start) * slope * (final - start)

    def pulse(t, start, width):
        return xp.where((start - SMALL_VENSIM <= t) & (t < start + width), 1.0, 0.0)

    def pulse_train(t, start, repeat_time, width, end):
        on = (start <= t) & (t < end)
        return xp.where(on & ((t - start + SMALL_VENSIM) % repeat_time < width), 1.0, 0.0)

    functions = (zidz, xidz, integer, quantum, modulo, if_then_else, step, ramp, pulse)
    return {f.__name__: f for f in (*functions, pulse_train)}
