"""A calendar year's total of a rate, computed here independently of the code under test
(xarray's trapezoid rule over the saved times of the year), for tests that check the goal
table's basis: the 2020 revenue goal is the integral of the revenue rate over 2020."""

from __future__ import annotations

import xarray as xr


def calendar_total(rate: xr.DataArray, year: int) -> xr.DataArray:
    """The integral of ``rate`` (per year) over [year, year + 1]."""
    return rate.sel(time=slice(year, year + 1)).integrate("time")
