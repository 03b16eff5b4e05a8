"""Seek's decision variables: each a shift of one lever element, kept inside the lever's
range, and the lever values a set of shifts gives (see :mod:`yaan_sim.analysis.seek`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from yaan_sim.analysis.sampling import place_candidates, repeat_on_samples
from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import lever_registry, parse_lever_spec
from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.places import Places


@dataclass(frozen=True)
class LeverVar:
    """One decision variable: a shift of one lever element."""

    label: str
    name: str
    dim: str | None
    element: str | None
    lo: float
    hi: float
    base_min: float  # the scenario's smallest and largest value of the element over time
    base_max: float
    units: str

    @property
    def span(self) -> float:
        return self.hi - self.lo

    @property
    def bounds(self) -> tuple[float, float]:
        return self.lo - self.base_min, self.hi - self.base_max


def parse_levers(
    specs: Iterable[str],
    model: ModelLike,
    scenario: ScenarioLike | None,
    horizon: Horizon,
    from_year: float | None = None,
) -> tuple[list[LeverVar], dict[str, xr.DataArray]]:
    """Decision variables for ``specs`` and the scenario's lever values (dims time, ...).

    ``from_year``: the levers move only from then on, so their values are kept as a
    schedule on the integration grid (the range check looks at the years that move)."""
    reg = lever_registry(model)
    resolve_place = Places.from_model(model).resolve  # Name[经开区]
    over = scenario.overrides(model, horizon) if scenario is not None else {}
    bases: dict[str, xr.DataArray] = {}
    out: list[LeverVar] = []
    for spec in specs:
        sel = parse_lever_spec(spec, reg, resolve_place=resolve_place)
        lv = sel.lever
        lv.check_bounded("seek searches")
        if len(lv.dims) > 1:
            raise YaanSimError(
                f"{lv.name!r} has two subscripts; seek moves levers with at most one"
            )
        base = over.get(lv.name, lv.default).astype(float)
        base = base.drop_vars([c for c in base.coords if c not in base.dims])
        if from_year is not None:
            base = on_grid(base, horizon)
        bases[lv.name] = base
        moving = base if from_year is None else base.sel(time=base["time"] >= from_year - 1e-9)
        elements: list[str | None] = (
            [None] if not lv.dims else list(sel.elements or lv.coords[lv.dims[0]])
        )
        for el in elements:
            b = moving if el is None else moving.sel({lv.dims[0]: el})
            label = lv.name if el is None else f"{lv.name}[{el}]"
            if any(v.label == label for v in out):
                continue
            out.append(
                LeverVar(
                    label,
                    lv.name,
                    lv.dims[0] if el is not None else None,
                    el,
                    float(lv.min),
                    float(lv.max),
                    float(b.min()),
                    float(b.max()),
                    lv.units,
                )
            )
    if not out:
        raise YaanSimError("no lever to move: give --levers NAME[,NAME...]")
    return out, bases


def on_grid(base: xr.DataArray, horizon: Horizon) -> xr.DataArray:
    """A lever's values as a schedule on the integration grid of ``horizon`` (a constant
    repeated; a schedule interpolated and held flat beyond its ends, as the engines do)."""
    times = horizon.times()
    if "time" not in base.dims:
        return base.expand_dims(time=times).copy()
    t = np.asarray(base["time"].values, dtype=float)
    held = base.interp(time=np.clip(times, t.min(), t.max()))
    return held.assign_coords(time=times).transpose("time", ...)


def lever_values(
    bases: dict[str, xr.DataArray],
    variables: Sequence[LeverVar],
    D: np.ndarray,
    from_year: float | None = None,
) -> dict[str, xr.DataArray]:
    """Each moved lever's values (dims ``sample, ...``) for shifts ``D`` (candidates x
    variables): every element shifted by its variable, clipped to the lever's range;
    with ``from_year``, only from that year on (the scenario's values before it)."""
    D = np.atleast_2d(D)
    out = {}
    for name, base in bases.items():
        da = repeat_on_samples(base, D.shape[0])
        kept = da
        for j, v in enumerate(variables):
            if v.name == name:
                da = place_candidates(
                    da,
                    D[:, j],
                    mode="shift",
                    dim=v.dim,
                    elements=() if v.element is None else (v.element,),
                    lo=v.lo,
                    hi=v.hi,
                )
        if from_year is not None:
            da = xr.where(da["time"] >= from_year - 1e-9, da, kept).transpose(*kept.dims)
        out[name] = da
    return out
