"""The vector engine (:mod:`yaan_sim.engines.vector`) as an :class:`~.base.Engine`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.engines.base import EngineUnavailable, output_names
from yaan_sim.engines.vector import VectorModel
from yaan_sim.errors import UnsupportedConstructError
from yaan_sim.model.load import Horizon
from yaan_sim.model.memo import per_model
from yaan_sim.outputs.dataset import index_coordinate, on_time_grid
from yaan_sim.protocols import ModelLike


class VectorEngine:
    """All samples of a run in one numpy integration; built once per loaded model."""

    name = "vector"

    def __init__(self, model: ModelLike):
        self.model = model
        try:
            self.compiled = model.vector_model(VectorModel)
        except UnsupportedConstructError as exc:
            raise EngineUnavailable(str(exc)) from None

    def run(
        self,
        overrides: Mapping[str, Any],
        horizon: Horizon,
        *,
        samples: int | None = None,
        return_vars: Sequence[str] | None = None,
        start_state: Mapping[str, Any] | None = None,
        lead_dim: str | None = None,
    ) -> xr.Dataset:
        py_names = (
            None
            if return_vars is None
            else [self.model.meta[n].py_name for n in output_names(self.model, return_vars)]
        )
        # init_at="start": a run starting elsewhere is initialised there, as the PySD
        # engine does (a copy of the .mdl with that INITIAL TIME), e.g. the back-test.
        return self.compiled.run(
            overrides=self._overrides(overrides, horizon),
            start=horizon.start,
            stop=horizon.stop,
            step=horizon.step,
            saveper=horizon.saveper,
            samples=samples,
            return_vars=py_names,
            init_at="start",
            lead_dim=lead_dim,
            **({"start_state": dict(start_state)} if start_state else {}),
        )

    def _overrides(self, overrides: Mapping[str, Any], horizon: Horizon) -> dict[str, Any]:
        """The overrides the compiled model is given: as they come."""
        return dict(overrides)


class JaxEngine(VectorEngine):
    """The same compiled model run by XLA (the optional ``jax`` extra); same arguments."""

    name = "jax"

    def __init__(self, model: ModelLike):
        super().__init__(model)
        from yaan_sim.engines.jax import engine_for

        self.compiled = engine_for(self.compiled, [])

    def _overrides(self, overrides: Mapping[str, Any], horizon: Horizon) -> dict[str, Any]:
        # XLA compiles one program per set of overridden variables (10-16 s for the park
        # model): with every lever a schedule on the run's grid (the .mdl's value where the
        # scenario leaves it), every scenario of a horizon runs the same program. A
        # constant schedule gives the constant at every step, so results do not change.
        return every_lever_scheduled(self.model, overrides, horizon.times())


def every_lever_scheduled(
    model: ModelLike, overrides: Mapping[str, Any], times: np.ndarray
) -> dict[str, Any]:
    """``overrides`` with each lever of ``model`` as a time schedule on ``times``: its
    override where given (a schedule already, or held over ``times``), else its .mdl value."""
    out = dict(overrides)
    time_coord = None  # the grid's index, made once for every lever held over it
    given = {}
    for k in overrides:
        meta = model.meta.get(k) or model.by_py_name.get(k)
        if meta is not None:
            given[meta.name] = k
    levers = per_model(model, "levers", lambda: [m for m in model.meta.values() if m.is_lever])
    for meta in levers:
        key = given.get(meta.name, meta.name)
        value = out.get(key)
        if value is None:
            value = model.default_value(meta.name, copy=False)
        elif not isinstance(value, xr.DataArray):
            value = xr.DataArray(float(value))
        if "time" not in value.dims:  # held: a read-only view, as expand_dims makes
            if time_coord is None:
                time_coord = index_coordinate("time", times)
            held = np.broadcast_to(value.values, (len(times), *value.shape))
            value = on_time_grid(held, ("time", *value.dims), value, time_coord, value.attrs)
        out[key] = value
    return out
