"""Calendar years in results: which whole years the saved times cover, the values at
``t = Y.0`` by year, and each year's total of a rate or end-of-year value of a stock."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from yaan_sim.errors import ResultsError
from yaan_sim.outputs.measures import weights


def calendar_years(times) -> list[int]:
    """The calendar years Y whose whole span [Y, Y+1] the saved ``times`` cover."""
    t = np.asarray(times, dtype=float)
    if not len(t):
        return []
    first, last = math.ceil(t[0] - 1e-6), math.floor(t[-1] + 1e-6)
    return list(range(first, last))


def check_year(ds: xr.Dataset, year: int, *, whole: bool = True) -> int:
    """``year`` as an int if the results hold its annual figure, else a clear error.

    ``whole`` (the plan's goals): the results must cover the whole calendar year
    [Y, Y+1], since flows are judged on their total over the year; otherwise a time
    ``t = Y.0`` is enough (another model's goals, read at that time).
    """
    t = np.asarray(ds["time"].values, dtype=float)
    if whole:
        years = np.asarray(calendar_years(t), dtype=int)
    else:
        years = np.round(t[np.abs(t - np.round(t)) < 1e-6]).astype(int)
    try:
        y = int(year)
    except (TypeError, ValueError, OverflowError):
        raise ResultsError(f"the evaluation year must be a whole number, not {year!r}") from None
    if y != year or not len(years) or not years.min() <= y <= years.max():
        span = f"{years.min()}-{years.max()}" if len(years) else "no whole year"
        later = bool(len(years)) and y > years.max()
        ends = f"{t[0]:g} to {t[-1]:g}" if len(t) else "nowhere"
        raise ResultsError(
            f"year {year} is outside the years the results cover ({span}; they run from "
            f"{ends}"
            + (", and a year's figure is its total over the whole year" if whole else "")
            + "): choose a year within them (--year)"
            + (f", or run the scenarios to the end of {year} ({year + 1}.0) first" if later else "")
        )
    return y


def annual(da: xr.DataArray) -> xr.DataArray:
    """Keep the times t = Y.0 and index them by an integer ``year``."""
    t = np.asarray(da["time"].values, dtype=float)
    keep = np.abs(t - np.round(t)) < 1e-6
    out = da.isel(time=np.flatnonzero(keep))
    return (
        out.assign_coords(year=("time", np.round(t[keep]).astype(int)))
        .swap_dims(time="year")
        .drop_vars("time")
    )


def plan_start_of(ds: xr.Dataset) -> float | None:
    """When the results' levers start to act (``attrs["plan_start"]``), if recorded."""
    value = ds.attrs.get("plan_start")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def year_weights(times, how: str, plan_start: float | None = None) -> tuple[list[int], np.ndarray]:
    """The calendar years ``times`` cover and the weights (year, time) of each year's
    measure: ``total`` or ``end`` (see :func:`yearly`).

    The value saved at ``plan_start`` already carries the plan's levers (one that acts on
    a rate at once, such as the removal of air pollutants, makes the rate jump there). So
    the total of the year that ends at the plan start holds its last value before it over
    its last saved interval: that year stays history, the same in every scenario (the
    level the pollutant goals are measured against)."""
    t = np.asarray(times, dtype=float)
    years = calendar_years(t)
    if not years:
        raise ResultsError(
            f"the results ({t[0]:g} to {t[-1]:g}) hold no whole calendar year: run at least "
            "one full year"
        )
    W = np.vstack([weights(t, y, y + 1, how) for y in years])
    at = np.flatnonzero(np.abs(t - (math.nan if plan_start is None else plan_start)) < 1e-6)
    if how == "total" and len(at) and at[0] > 0:
        for row, y in zip(W, years, strict=True):
            if abs(y + 1 - t[at[0]]) < 1e-6:  # the year that ends at the plan start
                row[at[0] - 1] += row[at[0]]  # its last interval takes its start's value
                row[at[0]] = 0.0
    return years, W


def yearly(da: xr.DataArray, how: str, plan_start: float | None = None) -> xr.DataArray:
    """Each calendar year's measure of ``da``, indexed by ``year``: ``total`` (the
    integral of a rate over [Y, Y+1], :func:`yaan_sim.outputs.measures.weights`; the year
    before ``plan_start`` ends before it, :func:`year_weights`) or ``end`` (a stock's
    value at Y+1.0, the end of the year)."""
    years, W = year_weights(da["time"].values, how, plan_start)
    w = xr.DataArray(W, dims=("year", "time"), coords={"year": years, "time": da["time"].values})
    out = xr.dot(da, w, dim="time").transpose(..., "year")
    return out.rename(da.name) if da.name is not None else out
