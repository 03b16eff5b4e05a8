"""A goal's figures: its metric over time and by year for the parks of a scope element
(a sum or a ratio of sums; another model's variable), on the basis the published figure
is measured on, and the same metric from observed figures."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.outputs.calendar_years import annual, plan_start_of, year_weights
from yaan_sim.outputs.dataset import build_dataarray
from yaan_sim.outputs.generic_goals import (
    MODEL_SCOPE,
    VariableMetric,
    variable_series,
    variable_unit,
)
from yaan_sim.outputs.goals import CITY, Goal, Metric
from yaan_sim.outputs.measures import parse_unit
from yaan_sim.outputs.rules import BASIS_END, BASIS_POINT, BASIS_RATIO, BASIS_TOTAL
from yaan_sim.scenario.places import Places

_SAMPLE_DIMS = ("scenario", "sample", "time")


def _plan_metric(goal: Goal) -> Metric:
    """The metric of a goal of the plan's form (callers deal with generic goals first)."""
    if not isinstance(goal.metric, Metric):
        raise TypeError(f"goal {goal.id!r} is a generic goal; it has no sum or ratio metric")
    return goal.metric


def _generic_metric(goal: Goal) -> VariableMetric:
    """The metric of a generic goal (one variable of any model)."""
    if not isinstance(goal.metric, VariableMetric):
        raise TypeError(f"goal {goal.id!r} is a goal of the plan's form, not a generic one")
    return goal.metric


# ------------------------------------------------------------------ observed data


def _norm_unit(u: str) -> str:
    return "".join(str(u).split()).lower()


class ObservedFigures:
    """Observed figures indexed by (variable, year): ``{place: value}``, each place's first
    figure in file order. :func:`observed_metric` reads thousands of cells for a goal
    table; filtering the DataFrame for each took most of ``make run``'s table time."""

    def __init__(self, observed: pd.DataFrame):
        self.cells: dict[tuple[str, int], dict[str, float]] = {}
        columns = (observed[c] for c in ("variable", "year", "park", "value"))
        for variable, year, place, value in zip(*columns, strict=True):
            row = self.cells.setdefault((str(variable), int(year)), {})
            row.setdefault(str(place), float(value))

    def total(self, variable: str, place: str, parks: Sequence[str], year: int) -> float:
        """The figure of ``place``, else the sum over ``parks`` where each has one."""
        row = self.cells.get((variable, int(year)), {})
        if place in row:
            return row[place]
        wanted = set(parks)
        if wanted and wanted <= row.keys():
            return float(sum(v for p, v in row.items() if p in wanted))  # in file order
        return math.nan


def observed_figures(observed: pd.DataFrame | ObservedFigures | None) -> ObservedFigures | None:
    """``observed`` indexed once (None or empty: None)."""
    if observed is None or isinstance(observed, ObservedFigures):
        return observed
    return ObservedFigures(observed) if len(observed) else None


def observed_metric(
    observed: pd.DataFrame | ObservedFigures | None,
    goal: Goal,
    scope: str,
    name: str,
    parks: Sequence[str],
    year: int,
) -> float:
    """The goal's metric from observed figures, or NaN when they do not cover it.

    A figure of the goal's own metric (``rd_share``) is taken as it is; otherwise the
    metric is computed from the figures of its variables (summed over the scope's parks
    where the scope itself has none), e.g. R&D share = 100 * R&D spending / revenue.
    """
    figures = observed_figures(observed)
    if figures is None or goal.is_generic:
        return math.nan  # observed figures are the Ya'an parks' (models/data/observed.csv)
    place = "city" if scope == "city" else name
    direct = figures.total(goal.id, place, parks, year)
    if np.isfinite(direct):
        return direct
    m = _plan_metric(goal)
    sel = "".join(f"[{v}]" for v in m.select.values())
    if m.aggregate == "sum":
        (variable,) = m.variables
        return m.scale * figures.total(variable + sel, place, parks, year)
    numerator, denominator = m.variables
    num = figures.total(numerator + sel, place, parks, year)
    den = figures.total(denominator + sel, place, parks, year)
    return m.scale * num / den if den else math.nan


# ------------------------------------------------------------------ metrics


def scope_members(
    ds: xr.Dataset, scope: str, goal: Goal | None = None
) -> list[tuple[str, list[str]]]:
    """``[(name, [parks])]`` for a scope: the city, each region, or each park; for a
    generic goal (scope ``model``), its subscript element and no parks."""
    if scope == MODEL_SCOPE:
        return [(_generic_metric(goal).element_text if goal is not None else "", [])]
    parks = [str(p) for p in ds["park"].values]
    if scope == "city":
        return [(CITY, parks)]
    if scope == "park":
        return [(p, [p]) for p in parks]
    places = Places.from_dataset(ds)
    region = {p: places.region_of.get(p, "other") for p in parks}
    names = [r for r in places.regions if r in region.values()]
    names += sorted(set(region.values()) - set(names))
    return [(r, [p for p in parks if region[p] == r]) for r in names]


def _variable(ds: xr.Dataset, goal: Goal, name: str, check_unit: bool) -> xr.DataArray:
    if name not in ds.data_vars:
        raise ResultsError(
            f"goal {goal.id!r} needs the variable {name!r}, which the results lack "
            f"(they have: {', '.join(sorted(map(str, ds.data_vars))[:30])}). Re-run with a "
            "model that outputs it, or pass a goals file without this goal."
        )
    da = ds[name]
    for dim, label in goal.metric.select.items():
        if dim not in da.dims:
            raise ResultsError(
                f"goal {goal.id!r}: variable {name!r} has no dim {dim!r} "
                f"to select {label!r} from (dims: {', '.join(map(str, da.dims))})."
            )
        labels = [str(v) for v in da[dim].values]
        if label not in labels:
            raise ResultsError(
                f"goal {goal.id!r}: {dim} {label!r} is not in the results "
                f"(they have {', '.join(labels)})."
            )
        da = da.sel({dim: label})
    extra = [d for d in da.dims if d not in (*_SAMPLE_DIMS, "park")]
    if extra or "time" not in da.dims or "park" not in da.dims:
        raise ResultsError(
            f"goal {goal.id!r}: variable {name!r} has dims {da.dims}; it needs "
            f"(time, park) plus optional scenario/sample"
            + (f", after selecting one label of {extra}" if extra else "")
            + "."
        )
    units = da.attrs.get("units")
    if check_unit and units is not None and _norm_unit(units) != _norm_unit(goal.unit):
        raise ResultsError(
            f"goal {goal.id!r}: variable {name!r} is in {units!r} but the goal "
            f"is in {goal.unit!r}; fix the goal's 'unit' or the model's units."
        )
    return da


def goal_unit(ds: xr.Dataset, goal: Goal) -> str:
    """The unit of a goal's value: the goal's ``unit``, else its variable's units."""
    if goal.unit or not goal.is_generic:
        return goal.unit
    return variable_unit(ds, goal.id, _generic_metric(goal))


def metric_series(ds: xr.Dataset, goal: Goal, parks: Sequence[str]) -> xr.DataArray:
    """The goal's metric over time for a set of parks (dims: [scenario,] [sample,] time);
    for a generic goal, its variable (``parks`` unused)."""
    if goal.is_generic:
        return variable_series(ds, goal.id, _generic_metric(goal), goal.unit)
    m = _plan_metric(goal)

    def total(name: str, check_unit: bool) -> xr.DataArray:  # a missing park: a missing total
        return _variable(ds, goal, name, check_unit).sel(park=list(parks)).sum("park", skipna=False)

    return _combine(m, total).rename(goal.id)


def _combine(
    m: Metric,
    total: Callable[[str, bool], Any],
    nonzero: Callable[[Any], Any] = lambda d: d.where(d != 0),
) -> Any:
    """A plan metric from its variables' park totals: ``scale * total`` of one variable,
    or ``scale * total(numerator) / total(denominator)`` (no division by zero: ``nonzero``
    makes a zero total NaN; DataArrays by default, or numpy arrays)."""
    if m.aggregate == "sum":
        (variable,) = m.variables
        return total(variable, True) * m.scale
    numerator, denominator = m.variables
    return m.scale * total(numerator, False) / nonzero(total(denominator, False))


def is_flow(ds: xr.Dataset, name: str) -> bool:
    """Whether results variable ``name`` is a rate per year (its units end in /Year)."""
    return _per_year(str(ds[name].attrs.get("units", "")))


@functools.lru_cache(maxsize=256)
def _per_year(units: str) -> bool:
    """Parsed once per units text: a goal table asks for each of its rows."""
    try:
        return parse_unit(units).per_year()
    except YaanSimError:
        return False


def goal_basis(ds: xr.Dataset, goal: Goal) -> str:
    """How a goal's yearly figure is measured: see :data:`~yaan_sim.outputs.rules.BASES`."""
    if goal.is_generic:
        return BASIS_POINT
    m = _plan_metric(goal)
    if m.aggregate != "sum":
        return BASIS_RATIO
    (variable,) = m.variables
    return BASIS_TOTAL if is_flow(ds, variable) else BASIS_END


def annual_metric(
    ds: xr.Dataset, goal: Goal, parks: Sequence[str], totals: YearlyTotals | None = None
) -> xr.DataArray:
    """The goal's yearly figure for a set of parks, indexed by ``year``, on its basis
    (:func:`goal_basis`): a flow's calendar-year total (the 2020 revenue is the integral
    of the revenue rate over 2020), a ratio of totals (R&D share = R&D total / revenue
    total), a stock's end-of-year value; another model's variable at ``t = Y.0``.

    ``totals`` (a :class:`YearlyTotals` of ``ds``) shares the variables read between the
    calls of one goal table."""
    basis = goal_basis(ds, goal)
    if basis == BASIS_POINT:
        return annual(metric_series(ds, goal, parks))
    m = _plan_metric(goal)
    read = totals if totals is not None and totals.ds is ds else YearlyTotals(ds)
    first = m.variables[0]
    values = _combine(
        m,
        lambda name, check_unit: read.values(goal, name, parks, check_unit),
        lambda d: np.where(d != 0, d, np.nan),
    )
    return read.as_dataarray(goal, first, values).rename(goal.id)


class YearlyTotals:
    """The yearly measure of a park total of a results variable (:func:`yearly` of its
    sum over ``parks``), each variable read from the Dataset once.

    A goal table sums 6 variables over 131 sets of parks; through DataArrays (select,
    sum, ``xr.dot``, the ratio's alignment) that was most of an evaluation (~0.3 s of
    0.45 for two scenarios). Here each variable is read and checked once; each set of
    parks is summed and weighted on arrays and Variables, with no coordinates to align.
    """

    def __init__(self, ds: xr.Dataset):
        self.ds = ds
        self._checked: set[tuple] = set()  # (goal, variable, unit checked): validated
        self._read: dict[tuple, _ParkValues] = {}  # (variable, selection): its values

    @staticmethod
    def _key(goal: Goal, name: str) -> tuple:
        return (name, tuple(goal.metric.select.items()))

    def _park_values(self, goal: Goal, name: str, check_unit: bool) -> _ParkValues:
        key = self._key(goal, name)
        if (goal.id, key, check_unit) not in self._checked:  # each goal's own checks
            da = _variable(self.ds, goal, name, check_unit)
            self._checked.add((goal.id, key, check_unit))
            if key not in self._read:
                how = "total" if is_flow(self.ds, name) else "end"
                self._read[key] = _ParkValues(da, how, plan_start_of(self.ds))
        return self._read[key]

    def values(self, goal: Goal, name: str, parks: Sequence[str], check_unit: bool):
        """(..., year): the yearly measure of the total of ``name`` over ``parks``."""
        return self._park_values(goal, name, check_unit).yearly(parks)

    def as_dataarray(self, goal: Goal, name: str, values: np.ndarray) -> xr.DataArray:
        """``values`` (..., year) with the dims and coordinates of ``name``'s totals (read
        and checked already by :meth:`values`)."""
        pv = self._read[self._key(goal, name)]
        return build_dataarray(xr.Variable((*pv.lead, "year"), values), pv.coords, pv.indexes)


class _ParkValues:
    """One variable's values, its weights by calendar year and the coordinates its
    yearly totals keep. Summed and weighted as the xarray route does (the same numpy sum
    over the park axis, ``xr.dot`` of Variables): the same numbers to the last bit, so a
    figure exactly at its target stays at it."""

    def __init__(self, da: xr.DataArray, how: str, plan_start: float | None = None):
        self.da = da
        self.park_axis = da.dims.index("park")
        self.values = da.values
        self.summed = tuple(d for d in da.dims if d != "park")
        self.lead = [d for d in self.summed if d != "time"]
        self.at = {str(p): i for i, p in enumerate(da["park"].values)}
        years, weights = year_weights(da["time"].values, how, plan_start)
        self.weights = xr.Variable(("year", "time"), weights)
        kept = xr.Coordinates(
            {k: v for k, v in da.coords.items() if set(v.dims) <= set(self.lead)}
        ).assign({"year": np.asarray(years)})
        self.coords = {str(k): v for k, v in kept.variables.items()}
        self.indexes = {str(k): v for k, v in kept.xindexes.items()}

    def yearly(self, parks: Sequence[str]) -> np.ndarray:
        missing = [p for p in parks if str(p) not in self.at]
        if missing:
            self.da.sel(park=list(parks))  # xarray's KeyError, as the xarray route gave
            raise KeyError(missing)
        # the indexing ``.sel(park=[...])`` does (np.take lays the result out otherwise,
        # and numpy then sums 9 parks in another order)
        where = (slice(None),) * self.park_axis + (np.asarray([self.at[str(p)] for p in parks]),)
        total = xr.Variable(self.summed, self.values[where].sum(axis=self.park_axis))
        return xr.dot(total, self.weights, dim="time").transpose(*self.lead, "year").values
