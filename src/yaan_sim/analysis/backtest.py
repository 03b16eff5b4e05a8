"""The ETDZ back-test: the model's history against the observed revenue.

The only full-year park series is ETDZ revenue 2013-2015 (models/data/observed.csv). A
model that starts in the first observed year (models/yaan_parks.mdl starts in 2013) is
run from its own start with its defaults, and each observed year is compared with the
simulated calendar-year total (the mean rate over [year, year + 1]). A model that starts
later is started in the first observed year instead, the observed park at its observed
value and the other parks discounted at PRE_PLAN_GROWTH. The model's constants were set
by hand against these and later figures (models/README.md), so this checks the shape of
the history, not an independent forecast.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.paths import MODELS_DIR

OBSERVED_CSV = MODELS_DIR / "data" / "observed.csv"
PRE_PLAN_GROWTH = 0.10  # assumed; see Investment attraction rate in the .mdl


def read_observed(path: str | Path = OBSERVED_CSV) -> pd.DataFrame:
    """Observed figures (long format, '#' comment lines) as a DataFrame."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    except OSError as exc:
        raise YaanSimError(f"cannot read observed data {path}: {exc.strerror or exc}") from None
    frame = pd.DataFrame(rows)
    if frame.empty or not {"variable", "park", "year", "value"} <= set(frame.columns):
        raise YaanSimError(f"{path}: expected columns variable, park, year, value")
    frame["year"] = frame["year"].astype(int)
    frame["value"] = frame["value"].astype(float)
    return frame


def backtest_setup(model, observed: pd.DataFrame | None = None, park: str = "ETDZ"):
    """Overrides and horizon of the back-test run."""
    observed = read_observed() if observed is None else observed
    series = observed[(observed.variable == "revenue") & (observed.park == park)].sort_values(
        "year"
    )
    if series.empty:
        raise YaanSimError(f"no observed revenue for {park} in the observed data")
    start = float(series.year.iloc[0])
    base = model.default_horizon
    years_back = base.start - start
    initial = model.default_value("Initial revenue") / (1 + PRE_PLAN_GROWTH) ** years_back
    initial.loc[park] = series.value.iloc[0]
    horizon = Horizon(start, base.start, base.step, base.saveper)
    return {"Initial revenue": initial}, horizon, series


def run_backtest(model, engine: str = "auto", park: str = "ETDZ") -> pd.DataFrame:
    """Simulated against observed revenue per year, with the relative error."""
    from yaan_sim.engines.simulate import simulate

    observed = read_observed()
    series = observed[(observed.variable == "revenue") & (observed.park == park)].sort_values(
        "year"
    )
    base = model.default_horizon
    if not series.empty and base.start >= float(series.year.iloc[0]):
        return _history_backtest(model, series, engine, park)
    overrides, horizon, series = backtest_setup(model, observed, park=park)
    ds = simulate(
        model,
        [_Fixed("backtest", overrides)],
        engine=engine,
        horizon=horizon,
        return_vars=["Revenue"],
    )
    rev = ds["revenue"].sel(scenario="backtest", park=park)
    out = series[["year", "value"]].rename(columns={"value": "observed"}).reset_index(drop=True)
    out["simulated"] = [float(rev.sel(time=float(y))) for y in out.year]
    out["error_pct"] = 100 * (out.simulated / out.observed - 1)
    out.attrs["simulated_end"] = float(rev.isel(time=-1))
    return out


def _history_backtest(model, series, engine, park) -> pd.DataFrame:
    """The model's own history against calendar-year totals (mean rate over the year)."""
    import numpy as np

    from yaan_sim.engines.simulate import simulate

    base = model.default_horizon
    last = float(series.year.max()) + 1
    horizon = Horizon(base.start, max(last, base.start + base.step), base.step, base.step)
    ds = simulate(
        model, [_Fixed("backtest", {})], engine=engine, horizon=horizon, return_vars=["Revenue"]
    )
    rev = ds["revenue"].sel(scenario="backtest", park=park)
    out = series[["year", "value"]].rename(columns={"value": "observed"}).reset_index(drop=True)
    totals = []
    for y in out.year:
        part = rev.sel(time=slice(float(y), float(y) + 1))
        totals.append(float(np.trapezoid(part.values, part.time.values)))
    out["simulated"] = totals
    out["error_pct"] = 100 * (out.simulated / out.observed - 1)
    out.attrs["simulated_end"] = float(rev.isel(time=-1))
    out.attrs["measure"] = "calendar-year total"
    return out


class _Fixed:
    """A scenario made in code: fixed overrides, no file."""

    horizon = None
    title_en = title_zh = None

    def __init__(self, name: str, overrides: dict):
        self.name = name
        self._overrides = overrides

    def overrides(self, model, horizon):
        return {
            k: (v if isinstance(v, xr.DataArray) else xr.DataArray(v))
            for k, v in self._overrides.items()
        }
