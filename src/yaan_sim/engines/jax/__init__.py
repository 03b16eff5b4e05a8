"""The JAX engine: the vector engine's compiled model run by XLA, on CPU or GPU.

>>> import yaan_sim as ys
>>> ds = ys.simulate(model, [scenario], engine="jax", samples=100_000)   # doctest: +SKIP
>>> from yaan_sim.engines.jax import JaxModel                            # doctest: +SKIP
>>> jm = JaxModel.from_mdl("models/yaan_parks.mdl")                      # doctest: +SKIP
>>> ds = jm.run(samples=100_000, return_vars=["Revenue"])                # doctest: +SKIP

An optional extra (``pip install -e '.[jax]'``). The model is parsed and compiled once, by
the vector engine's compiler (:mod:`yaan_sim.engines.vector`), and its run schedule is
written for ``jax.jit`` with the time loop as ``lax.scan``, samples on the leading axis,
in float64. It supports what the vector engine supports and refuses the same constructs
at build time.

Agreement: XLA does not round exactly as numpy does (it divides by a shared value as a
multiplication by its reciprocal, and has its own exp, log and power), so results differ
from the numpy engine's by a few units in the last place: about 1e-15 relative on the
project's model, held to 1e-9 by the tests on every variable at every saved time. Where a
model applies INTEGER, MODULO, QUANTUM or a comparison to a value that lies exactly on a
step (the conformance cases ``rounding`` and ``subscripted_round`` do), the two engines
can land on either side of it. Speed: benchmarks/README.md.
"""

from __future__ import annotations

from yaan_sim.errors import YaanSimError

_INSTALL = "pip install -e '.[jax]'"


def __getattr__(name: str):
    if name == "JaxModel":
        try:
            from yaan_sim.engines.jax.runtime import JaxModel
        except ImportError as exc:
            raise ImportError(f"the JAX engine needs jax ({exc}); install it: {_INSTALL}") from exc
        return JaxModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def engine_for(vm, notices: list[str]):
    """The JAX engine for a compiled vector model (built once per model): the entry point
    of ``simulate(..., engine="jax")``. ``vm`` None means the vector engine refused the
    model; ``notices`` say why."""
    if vm is None:
        why = "; ".join(n.removesuffix("; using PySD") for n in notices)
        raise YaanSimError(f"the JAX engine cannot run this model: {why}. Use --engine pysd")
    try:
        from yaan_sim.engines.jax.runtime import JaxModel
    except ImportError as exc:
        raise YaanSimError(
            f"engine 'jax' needs jax, which cannot be imported ({exc}): install it with "
            f"{_INSTALL}, or use --engine vector"
        ) from None
    return JaxModel.for_vector(vm)


__all__ = ["JaxModel", "engine_for"]
