"""The old ETDZ back-test: simulated against observed revenue per year
(models/data/observed.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.paths import MODELS_DIR

# ------------------------------------------------------------------ the old ETDZ back-test
# The model before the 2013 start (INITIAL TIME 2016) reaches back to the ETDZ revenue of
# 2013-2015 (models/data/observed.csv) by a separate run from 2013. Kept until the model
# starts in 2013 (tests/test_model.py, notebook 02 use it); the ledger path above replaces it.

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
    """Overrides and horizon of the pre-2016 back-test run (the model before 2013)."""
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
    """Simulated against observed revenue per year, with the relative error.

    A model that starts in the first observed year (models/yaan_parks.mdl starts in 2013)
    runs its own history with its defaults, and each year is compared with the simulated
    calendar-year total; a model that starts later is started in the first observed year
    (:func:`backtest_setup`) and compared at ``t = year``.
    """
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.scenario.fixed import FixedScenario

    observed = read_observed()
    series = observed[(observed.variable == "revenue") & (observed.park == park)].sort_values(
        "year"
    )
    if not series.empty and model.default_horizon.start >= float(series.year.iloc[0]):
        return _history_backtest(model, series, engine, park)
    overrides, horizon, series = backtest_setup(model, observed, park=park)
    ds = simulate(
        model,
        [FixedScenario("backtest", overrides)],
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


def _history_backtest(model, series: pd.DataFrame, engine: str, park: str) -> pd.DataFrame:
    """The model's own history against calendar-year totals (the integral of the rate)."""
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.scenario.fixed import FixedScenario

    base = model.default_horizon
    stop = max(float(series.year.max()) + 1, base.start + base.step)
    horizon = Horizon(base.start, stop, base.step, base.step)
    ds = simulate(
        model,
        [FixedScenario("backtest", {})],
        engine=engine,
        horizon=horizon,
        return_vars=["Revenue"],
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
