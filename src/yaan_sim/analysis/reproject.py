"""Re-projection from an observed state: the mid-term review's 2020 as a model run.

``reproject(model, scenarios, observed, from_year=2018)`` runs each scenario to the start
of ``from_year``, sets the stocks so that the model reproduces the observed figures of
that year, and runs on to the end of the horizon under the scenario's levers. The results
are the scenario's own run before ``from_year`` and the re-projection from it.

The inverse solve (which stocks the data pin). An observed figure of ``from_year`` is a
calendar-year total (:mod:`yaan_sim.outputs.measures`), so the model's figure it is held
against is the integral of the rate over [Y, Y+1] of a run started at Y.0. Each figure
pins one group of stocks, scaled by one factor, everywhere in its place (a park; a
region or the city: its parks that have no figure of their own):

- revenue (营业收入): the park's capital in every stage (projects in preparation, under
  construction, ramping up, productive capital) and its knowledge stock, together, so
  that knowledge per unit of capital (productivity) and the pipeline's shape are kept;
- R&D spending: the park's research intensity;
- energy use: the park's embodied energy intensity; water use: its embodied water intensity.

The factors are solved together by root finding on the engine (a secant step for each
figure, started from the proportional guess observed / simulated, to a relative error of
``rtol``; the parks interact through the pool of investment and the energy allocation).
Every other stock (land, infrastructure, debt, energy allocation, perceived ratios) keeps
its simulated value. Figures of other years, and of other variables, pin nothing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.engines.prerun import StartState
from yaan_sim.engines.simulate import simulate
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.manifest import Manifest, ObservedRecord
from yaan_sim.outputs.observed import load_observed, observed_file
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.places import Places

#: observed variable -> the stocks (Vensim names) its figure pins, scaled together.
PINS: dict[str, tuple[str, ...]] = {
    "revenue": (
        "Projects in preparation",
        "Projects under construction",
        "Capital ramping up",
        "Productive capital",
        "Knowledge stock",
    ),
    "research_spending": ("Research intensity",),
    "energy_use": ("Embodied energy intensity",),
    "water_use": ("Embodied water intensity",),
}
MAX_ITER = 40


@dataclass(frozen=True)
class Pin:
    """One observed figure and the group of stocks it pins."""

    variable: str
    place: str  # as in the observed file: a park, a region or "city"
    parks: tuple[str, ...]  # the parks whose stocks it scales
    members: tuple[str, ...]  # the parks its total sums over
    observed: float
    unit: str


def pins_of(observed: pd.DataFrame, year: int, places: Places) -> list[Pin]:
    """The figures of ``year`` that pin stocks; a region or the city pins its parks that
    have no figure of their own for that variable (none left: it pins nothing)."""
    rows = observed[(observed["year"] == year) & observed["variable"].isin(list(PINS))]
    out = []
    for var, grp in rows.groupby("variable", sort=False):
        own = {str(p) for p in grp["park"] if str(p) in places.parks}
        # parks first, then regions, then the city: the smaller place pins first
        order = sorted(grp.itertuples(), key=lambda r: _rank(str(r.park), places))
        taken = set(own)
        for r in order:
            place = str(r.park)
            members = _members(place, places)
            parks = (
                (place,) if place in places.parks else tuple(p for p in members if p not in taken)
            )
            if not parks:
                continue
            taken |= set(parks)
            out.append(Pin(str(var), place, parks, tuple(members), float(r.value), str(r.unit)))
    return out


def _rank(place: str, places: Places) -> int:
    return 0 if place in places.parks else 2 if place == "city" else 1


def _members(place: str, places: Places) -> list[str]:
    if place in places.parks:
        return [place]
    if place == "city":
        return list(places.parks)
    return list(places.members(place))


def model_totals(ds: xr.Dataset, pins: Sequence[Pin], year: int) -> np.ndarray:
    """Each pin's model figure: its variable's total over [year, year+1], over its parks
    (dims ``(pin, [sample])``)."""
    from yaan_sim.model.ledger import parse_period
    from yaan_sim.outputs.measures import flow_total

    period = parse_period(str(year))
    out = []
    for p in pins:
        da = ds[p.variable].sel(park=list(p.members)).sum("park")
        out.append(np.atleast_1d(np.asarray(flow_total(da, period).values, dtype=float)))
    return np.vstack(out)


def scaled_state(
    state: StartState, model: ModelLike, pins: Sequence[Pin], factors: np.ndarray
) -> StartState:
    """``state`` with each pin's stocks scaled by its factor (``factors``: pins x samples)."""
    factors = np.atleast_2d(np.asarray(factors, dtype=float).T).T  # (pins, samples)
    values = dict(state.values)
    n = factors.shape[1]
    for name in {s for p in pins for s in PINS[p.variable]}:
        base = values[name]
        f = xr.DataArray(np.ones((n, base.sizes["park"])), dims=("sample", "park"))
        f = f.assign_coords(park=base["park"].values)
        for p, row in zip(pins, factors, strict=True):
            if name in PINS[p.variable]:
                f.loc[{"park": list(p.parks)}] = row[:, None]
        scaled = base * (f if n > 1 else f.isel(sample=0, drop=True))
        values[name] = scaled.transpose(*(["sample"] if n > 1 else []), *base.dims)
    return StartState(state.time, values)


def reproject(
    model: ModelLike,
    scenarios: Sequence[ScenarioLike],
    observed: pd.DataFrame | str | Path | None,
    from_year: int = 2018,
    *,
    engine: str = "auto",
    horizon: Horizon | None = None,
    rtol: float = 1e-9,
    argv: Sequence[str] | None = None,
) -> xr.Dataset:
    """Each scenario re-projected from the observed state of ``from_year`` (see the module).

    Returns the results with a ``scenario`` dim: the scenario's run before ``from_year``,
    the re-projection from ``from_year.0`` on. ``ds.attrs``: ``reprojected_from``,
    ``observed_file``, ``observed_sha256`` and ``reprojection`` (JSON: each pin's figure,
    the model's before and after, and its factor); the manifest records the observed file.
    """
    table: pd.DataFrame = (
        observed
        if isinstance(observed, pd.DataFrame)
        else load_observed(observed, source=model)  # a path, or None: the default file
    )
    try:
        year = int(from_year)
    except (TypeError, ValueError):
        raise YaanSimError(f"--from must be a year such as 2018, not {from_year!r}") from None
    places = Places.from_model(model)
    pins = pins_of(table, year, places)
    if not pins:
        have = sorted({int(y) for y in table["year"]})
        raise YaanSimError(
            f"--from {year}: the observed file {observed_file(table) or ''} has no figure "
            f"of {year} that pins the state ({', '.join(PINS)}; it has years "
            f"{', '.join(map(str, have)) or 'none'}): add the {year} figures, e.g. "
            f"'revenue,ETDZ,{year},VALUE,亿元,SOURCE,M'"
        )
    full = simulate(model, list(scenarios), engine=engine, horizon=horizon, argv=argv)
    t = np.asarray(full["time"].values, dtype=float)
    plan_start = float(full.attrs.get("plan_start", t[0]))
    if not (plan_start <= year and year + 1 <= t[-1] + 1e-9):
        raise YaanSimError(
            f"--from {year}: the re-projection starts within the plan period and needs the "
            f"whole year {year} in the run ({plan_start:g} to {t[-1]:g}): choose a year from "
            f"{plan_start:g} to {t[-1] - 1:g}"
        )
    parts, records = [], []
    for name in [str(s) for s in full["scenario"].values]:
        sc = next(s for s in scenarios if s.name == name)
        one = full.sel(scenario=name)
        state = StartState.from_results(one, float(year), model)
        factors, before, after, runs = _solve(model, sc, state, pins, year, engine, horizon, rtol)
        final = simulate(
            model,
            [sc],
            engine=engine,
            horizon=horizon,
            start_state=scaled_state(state, model, pins, factors),
            argv=argv,
        ).sel(scenario=name)
        history = one.sel(time=t[t < year - 1e-9])
        parts.append(xr.concat([history, final], dim="time", data_vars="all", join="outer"))
        for p, f, b, a in zip(pins, factors, before, after, strict=True):
            records.append(
                {
                    "scenario": name,
                    "variable": p.variable,
                    "place": p.place,
                    "parks": list(p.parks),
                    "year": year,
                    "observed": p.observed,
                    "unit": p.unit,
                    "model_before": b,
                    "model_after": a,
                    "factor": f,
                    "stocks": list(PINS[p.variable]),
                    "runs": runs,
                }
            )
    ds = xr.concat(parts, dim="scenario").assign_coords(scenario=full["scenario"].values)
    for v in ds.data_vars:
        ds[v].attrs = full[v].attrs
    ds.attrs = dict(full.attrs)
    manifest = Manifest.from_json(full.attrs["manifest"])
    record = ObservedRecord(observed_file(table) or "", str(table.attrs.get("sha256", "")), year)
    ds.attrs.update(
        manifest=dataclasses.replace(manifest, observed=record).to_json(),
        reprojected_from=float(year),
        observed_file=observed_file(table) or "",
        observed_sha256=str(table.attrs.get("sha256", "")),
        reprojection=json.dumps(records, ensure_ascii=False),
    )
    return ds


def _solve(model, sc, state, pins, year, engine, horizon, rtol):
    """The factors that make the model's figures of ``year`` equal the observed ones."""
    target = np.array([p.observed for p in pins])
    h = horizon or getattr(sc, "horizon", None) or model.default_horizon
    short = Horizon(h.start, float(year + 1), h.step, h.saveper)
    names = sorted({p.variable for p in pins})  # Python names: return_vars takes them

    def figures(f: np.ndarray) -> np.ndarray:
        ds = simulate(
            model,
            [sc],
            engine=engine,
            horizon=short,
            start_state=scaled_state(state, model, pins, f),
            return_vars=names,
        ).sel(scenario=sc.name)
        return model_totals(ds, pins, year)[:, 0]

    f0 = np.ones(len(pins))
    y0 = figures(f0)
    before = y0.copy()
    if np.any(~np.isfinite(y0)) or np.any(y0 <= 0):
        raise YaanSimError(f"the model's {year} figures are not positive: {y0}")
    f1 = target / y0
    y1 = figures(f1)
    runs = 2
    for _ in range(MAX_ITER):
        err = np.abs(y1 / target - 1)
        if np.all(err <= rtol):
            break
        slope = np.where(np.abs(f1 - f0) > 0, (y1 - y0) / (f1 - f0), y1 / f1)
        slope = np.where(np.abs(slope) > 0, slope, y1 / f1)
        f0, y0 = f1, y1
        f1 = np.maximum(f1 - (y1 - target) / slope, 1e-6)
        y1 = figures(f1)
        runs += 1
    else:
        worst = int(np.argmax(np.abs(y1 / target - 1)))
        raise YaanSimError(
            f"the re-projection from {year} found no state that reproduces "
            f"{pins[worst].variable} of {pins[worst].place} ({target[worst]:g}; the model "
            f"reaches {y1[worst]:g}): check the figure and its unit"
        )
    bad = [p for p, f in zip(pins, f1, strict=True) if not math.isfinite(f)]
    if bad:
        raise YaanSimError(f"the re-projection failed for {bad[0].variable} of {bad[0].place}")
    return f1, before, y1, runs
