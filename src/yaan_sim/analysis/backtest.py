"""The ETDZ back-test: start the model in 2013 and compare with the observed revenue.

The only public park series is ETDZ revenue 2013-2015 (models/data/observed.csv). The
back-test starts in the first observed year with ETDZ at its observed revenue; the
other parks, for which no figure exists, start at their 2016 values discounted at the
assumed pre-plan growth of 10 percent a year. Two ETDZ constants (Investment attraction
rate, Reconstruction realisation share) were fitted to this back-test, so it checks the
fit and the model's shape, not an independent forecast.
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

    overrides, horizon, series = backtest_setup(model, park=park)
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
