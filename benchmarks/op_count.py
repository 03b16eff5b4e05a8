"""How much arithmetic a run of the generated program is, and the fastest numpy can do it.

Counts, for one call of the vector engine's generated program, the numpy calls it makes
and the elements they compute (an ndarray subclass that counts each ufunc and array
function it passes through), and measures on this machine the cheapest numpy call and
the best per-element time of an in-cache binary operation. Their products are floors no
numpy program that makes one call per operation can go below: for one run, the calls
times the cheapest call; for an ensemble, the elements times the per-element time.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np


class _Counted(np.ndarray):
    """An array that adds each numpy call it meets, and the elements made, to COUNT."""

    COUNT: ClassVar[dict[str, int]] = {"calls": 0, "elements": 0}

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(i) if isinstance(i, _Counted) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(o) if isinstance(o, _Counted) else o for o in kwargs["out"]
            )
        result = getattr(ufunc, method)(*plain, **kwargs)
        return self._counted(result, max((np.size(i) for i in plain), default=1))

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, (np.ndarray,), args, kwargs)
        return self._counted(result, 1)

    @classmethod
    def _counted(cls, result, read: int):
        cls.COUNT["calls"] += 1
        if isinstance(result, np.ndarray):
            cls.COUNT["elements"] += max(result.size, read)
            return result.view(cls)
        return result


def _wrap(x):
    if isinstance(x, np.ndarray):
        return x.view(_Counted)
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, dict):
        return {k: _wrap(v) for k, v in x.items()}
    return x


def program_work(model, scenario, samples: int | None) -> dict:
    """numpy calls per run and elements per sample of ``ys.simulate(model, [scenario])``'s
    generated program (one chunk), and its integration steps."""
    import yaan_sim as ys
    from yaan_sim.engines.vector.runtime import VectorModel

    seen: dict = {}
    call = VectorModel._call

    def spy(prog, P, SC, SCI, args):
        seen["call"] = (prog, P, SC, SCI, args)
        return call(prog, P, SC, SCI, args)

    VectorModel._call = staticmethod(spy)
    try:
        ys.simulate(model, [scenario], samples=samples, seed=1)
    finally:
        VectorModel._call = staticmethod(call)
    prog, P, SC, SCI, args = seen["call"]
    _Counted.COUNT.update(calls=0, elements=0)
    with np.errstate(all="ignore"):
        prog.func(_wrap(P), _wrap(SC), _wrap(SCI), *args)
    n = samples or 1
    return {
        "calls": _Counted.COUNT["calls"],
        "elements_per_sample": _Counted.COUNT["elements"] / n,
        "steps": len(args[0]) - 1,
    }


def _best_ns(fn, number: int, per: int = 1) -> float:
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t) / number / per * 1e9)
    return min(runs)


def numpy_speeds() -> dict:
    """The cheapest numpy call (a + b on a park x group array of one sample) and the best
    time per element of a + b on arrays of 512 samples (in a core's cache)."""
    a, b = np.random.rand(1, 9, 6), np.random.rand(1, 9, 6)
    x, y = np.random.rand(512, 9, 6), np.random.rand(512, 9, 6)
    return {
        "call_ns": _best_ns(lambda: a + b, 20_000),
        "element_ns": _best_ns(lambda: x + y, 500, x.size),
    }


def floors(work_one: dict, work_many: dict, speeds: dict, n: int, cores: int) -> dict:
    """Lower bounds (seconds) of one run's program and of an n-sample ensemble."""
    return {
        "one_run_s": work_one["calls"] * speeds["call_ns"] * 1e-9,
        "ensemble_s": n * work_many["elements_per_sample"] * speeds["element_ns"] * 1e-9 / cores,
    }


if __name__ == "__main__":
    import yaan_sim as ys

    m = ys.load_model()
    one = program_work(m, ys.load_scenario("plan", m), None)
    many = program_work(m, ys.load_scenario("uncertain/plan-uncertain.yaml", m), 256)
    speeds = numpy_speeds()
    print(one, many, speeds)
    print(floors(one, many, speeds, 10_000, 2))
