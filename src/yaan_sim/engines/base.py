"""The engine interface, the engine registry, and what every engine returns.

An engine runs one set of lever values over one horizon::

    engine.run(overrides, horizon, samples=None, return_vars=None) -> xarray.Dataset

``overrides`` maps Vensim names to values (numbers or DataArrays in dataset dims, with an
optional ``time`` dim on the integration grid and, with ``samples`` N, a ``sample`` dim
of length N); the Dataset has dims ``([sample,] time, park, ...)`` and one variable per
name of :func:`output_names`, named by PySD's Python names, without attributes (the
results layer adds units, names and the manifest).

Engines are made by name through a registry, so another backend can join without
touching the callers: ``register_engine("mine", "package.module:MyEngine")``
(a ``module:attribute`` path, imported only when the engine is asked for, or the factory
itself). A factory takes the model and returns an engine, or raises
:class:`EngineUnavailable` saying why it cannot run that model. ``"auto"`` takes the
first engine of :data:`AUTO_ORDER` that can run the model, with a notice when that is not
the first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import CONTROL_NAMES
from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike


class EngineUnavailable(YaanSimError):
    """An engine cannot run this model (a construct it lacks, a package not installed)."""


class Engine(Protocol):
    """What every engine offers: a name and one ``run``."""

    name: str

    def run(
        self,
        overrides: Mapping[str, Any],
        horizon: Horizon,
        *,
        samples: int | None = None,
        return_vars: Sequence[str] | None = None,
    ) -> xr.Dataset: ...


EngineFactory = Callable[[ModelLike], Engine]

_REGISTRY: dict[str, str | EngineFactory] = {
    "vector": "yaan_sim.engines.vector_engine:VectorEngine",
    "pysd": "yaan_sim.engines.pysd_engine:PySDEngine",
    "jax": "yaan_sim.engines.vector_engine:JaxEngine",  # optional extra; never tried by "auto"
}
#: The engines ``"auto"`` tries, in order.
AUTO_ORDER: list[str] = ["vector", "pysd"]


def register_engine(name: str, factory: str | EngineFactory, *, auto: bool = False) -> None:
    """Make ``engine=name`` available (``auto``: let ``"auto"`` try it first)."""
    if name == "auto" or not name.isidentifier():
        raise ValueError(f"engine names are identifiers other than 'auto', not {name!r}")
    _REGISTRY[name] = factory
    if auto and name not in AUTO_ORDER:
        AUTO_ORDER.insert(0, name)


def engine_names() -> tuple[str, ...]:
    """Every value ``engine=`` accepts: ``"auto"`` and the registered engines."""
    return ("auto", *_REGISTRY)


def get_engine(model: ModelLike, name: str) -> Engine:
    """The engine ``name`` for ``model``; :class:`EngineUnavailable` when it cannot run it."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise YaanSimError(f"unknown engine {name!r}: choose one of {', '.join(engine_names())}")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise EngineUnavailable(f"{name} engine unavailable ({exc})") from None
    return factory(model)


def resolve_engine(model: ModelLike, name: str = "auto") -> tuple[Engine, list[str]]:
    """The engine to use and the notices to show (why ``"auto"`` fell back)."""
    if name != "auto":
        try:
            return get_engine(model, name), []
        except EngineUnavailable as exc:
            others = [n for n in AUTO_ORDER if n != name]
            raise YaanSimError(
                f"the {name} engine cannot run this model: {exc}"
                + (f". Use --engine {others[-1]}" if others else "")
            ) from None
    notices: list[str] = []
    for candidate in AUTO_ORDER:
        try:
            engine = get_engine(model, candidate)
        except EngineUnavailable as exc:
            notices.append(str(exc))
            continue
        return engine, [f"{n}; using the {engine.name} engine" for n in notices]
    raise YaanSimError("no engine can run this model: " + "; ".join(notices))


def output_names(model: ModelLike, return_vars: Sequence[str] | None = None) -> list[str]:
    """Vensim names of the variables a run returns: all but lookups and control variables,
    or those of ``return_vars`` (Vensim or Python names), with a clear error for others."""
    skip_kinds = {"Lookup", "None"}
    names = [
        n for n, m in model.meta.items() if m.kind not in skip_kinds and n not in CONTROL_NAMES
    ]
    if return_vars is None:
        return names
    wanted = []
    for v in return_vars:
        meta = model.meta.get(v) or model.by_py_name.get(v)
        if meta is None:
            raise YaanSimError(
                f"unknown variable {v!r} in return_vars; see `yaan-sim levers` "
                "or model.meta for the model's names"
            )
        wanted.append(meta.name)
    return wanted
