"""Compare simulation results with the plan's goals: the goal table.

``evaluate(ds, goals, year=2020)`` gives one row per goal x scope element (x scenario when
the results have a ``scenario`` dim). The metric of a goal is read at ``t = Y.0``, which
stands for year Y's annual figure.

Goals of the generic form (one variable of any model, :class:`~yaan_sim.outputs.goals.
VariableMetric`) give one row per goal (scope ``model``, the place its subscript element)
and are judged by the same rules; ``year=None`` judges every goal at its own year.

Status rule (evaluation year Y, goal year G; ``AT_RISK_MARGIN`` m = 5 percentage points
a year by default):

*Level goals* (``>=`` or ``<=`` a target):

- at or after G: **met** if the value in G satisfies the target, else **missed**;
- before G: the value in Y is projected to G at the rate simulated from Y to G
  (``growth_simulated``; the compound annual rate of the simulated path, applied to the
  observed value when one is given for Y). **met** if the target is satisfied both now
  and on the projection, **on track** if only on the projection (the simulated rate is at
  least the rate needed, ``growth_needed`` = (target / value)^(1/(G-Y)) - 1), **at risk**
  if the needed rate exceeds the simulated one by at most m a year (for ``<=`` goals: the
  simulated rate exceeds the needed one by at most m), **missed** otherwise: the path
  misses the goal even allowing for an acceleration of m a year.

*Falling every year* (energy and water per unit output): the value is the largest
year-on-year change (in %) from ``baseline_year + 1`` to Y, and it must be below 0.
**missed** if the metric has already failed to fall in some year up to Y; otherwise
**met** when Y >= G, **at risk** when the simulated path fails to fall in some year
after Y, **on track** when it falls every year to G.

A row's status is **no data** when a value it needs is missing or not finite.

With a ``sample`` dim, every column describes the median path (the median over samples at
each time), and ``p_met`` is the share of samples whose path (projected as above)
satisfies the goal in G.

Mid-term mode: ``observed`` (see :func:`load_observed`) replaces the simulated value of a
metric in the years it covers; ``value_source`` says which one a row used.
:func:`what_it_takes` gives the growth needed from the latest observed figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ResultsError
from yaan_sim.outputs.generic_goals import MODEL_SCOPE, variable_series, variable_unit
from yaan_sim.outputs.goal_table import (  # noqa: F401 (the goal table's formats, importable here)
    FORMATS,
    SUMMARY_COLUMNS,
    format_table,
    human_cells,
    summary,
    to_markdown,
)
from yaan_sim.outputs.goals import CITY, Goal, GoalSet, load_goals, scope_label
from yaan_sim.outputs.i18n import check_lang, scenario_titles
from yaan_sim.outputs.observed import (  # noqa: F401 (re-exported: the one observed reader)
    DEFAULT_OBSERVED,
    OBSERVED_COLUMNS,
    load_observed,
)
from yaan_sim.outputs.rules import (
    AT_RISK_MARGIN,
    cagr,
    holds,
    level_targets,
    project_level,
    status_level,
    status_trend,
    trend_rows,
)
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario.places import Places

STATUSES = ("met", "on track", "at risk", "missed", "no data")
_SAMPLE_DIMS = ("scenario", "sample", "time")


# ------------------------------------------------------------------ results files


def open_results(path: str | Path) -> xr.Dataset:
    """Open a results file (:func:`yaan_sim.outputs.results.open_results`) and check that it holds
    what evaluation needs; any problem is a clear :class:`ResultsError`."""
    from yaan_sim.outputs.results import open_results as _open

    ds = _open(path)
    check_results(ds, source=str(path))
    return ds


def check_results(ds: xr.Dataset, source: str = "the dataset", *, parks: bool = True) -> None:
    """Raise :class:`ResultsError` unless ``ds`` follows the results contract: a ``time``
    dim, and (``parks``, the Ya'an plan's goals) the ``park`` dim and ``revenue``."""
    if not parks:
        if "time" not in ds.dims:
            raise ResultsError(
                f"{source} does not look like yaan-sim results: it has no dim 'time'. "
                "Give a results file written by 'yaan-sim run'."
            )
        return
    missing = [d for d in ("time", "park") if d not in ds.dims]
    if missing or "revenue" not in ds.data_vars:
        what = ", ".join(
            [f"dim {d!r}" for d in missing]
            + ([] if "revenue" in ds.data_vars else ["variable 'revenue'"])
        )
        raise ResultsError(
            f"{source} does not look like yaan-sim results: it has no {what}. "
            "Give a results file written by 'yaan-sim run'."
        )


# ------------------------------------------------------------------ observed data


def _norm_unit(u: str) -> str:
    return "".join(str(u).split()).lower()


def _observed_total(
    observed: pd.DataFrame, variable: str, place: str, parks: Sequence[str], year: int
) -> float:
    rows = observed[(observed["variable"] == variable) & (observed["year"] == year)]
    hit = rows[rows["park"] == place]
    if len(hit):
        return float(hit["value"].iloc[0])
    per_park = rows[rows["park"].isin(parks)].drop_duplicates("park")
    if len(parks) and len(per_park) == len(set(parks)):
        return float(per_park["value"].sum())
    return math.nan


def observed_metric(
    observed: pd.DataFrame | None,
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
    if observed is None or len(observed) == 0 or goal.is_generic:
        return math.nan  # observed figures are the Ya'an parks' (models/data/observed.csv)
    place = "city" if scope == "city" else name
    direct = _observed_total(observed, goal.id, place, parks, year)
    if np.isfinite(direct):
        return direct
    m = goal.metric
    sel = "".join(f"[{v}]" for v in m.select.values())
    if m.aggregate == "sum":
        return m.scale * _observed_total(observed, m.variable + sel, place, parks, year)
    num = _observed_total(observed, m.numerator + sel, place, parks, year)
    den = _observed_total(observed, m.denominator + sel, place, parks, year)
    return m.scale * num / den if den else math.nan


# ------------------------------------------------------------------ metrics


def scope_members(
    ds: xr.Dataset, scope: str, goal: Goal | None = None
) -> list[tuple[str, list[str]]]:
    """``[(name, [parks])]`` for a scope: the city, each region, or each park; for a
    generic goal (scope ``model``), its subscript element and no parks."""
    if scope == MODEL_SCOPE:
        return [(goal.metric.element_text if goal is not None else "", [])]
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
                f"to select {label!r} from (dims: {', '.join(da.dims)})."
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
    return variable_unit(ds, goal.id, goal.metric)


def metric_series(ds: xr.Dataset, goal: Goal, parks: Sequence[str]) -> xr.DataArray:
    """The goal's metric over time for a set of parks (dims: [scenario,] [sample,] time);
    for a generic goal, its variable (``parks`` unused)."""
    if goal.is_generic:
        return variable_series(ds, goal.id, goal.metric, goal.unit)
    m = goal.metric

    def total(name: str, check_unit: bool) -> xr.DataArray:  # a missing park: a missing total
        return _variable(ds, goal, name, check_unit).sel(park=list(parks)).sum("park", skipna=False)

    if m.aggregate == "sum":
        out = total(m.variable, True) * m.scale
    else:
        out = (
            m.scale
            * total(m.numerator, False)
            / total(m.denominator, False).where(lambda d: d != 0)
        )
    return out.rename(goal.id)


def check_year(ds: xr.Dataset, year: int) -> int:
    """``year`` as an int if the results hold its annual value, else a clear error."""
    t = np.asarray(ds["time"].values, dtype=float)
    years = np.round(t[np.abs(t - np.round(t)) < 1e-6]).astype(int)
    try:
        y = int(year)
    except (TypeError, ValueError, OverflowError):
        raise ResultsError(f"the evaluation year must be a whole number, not {year!r}") from None
    if y != year or not len(years) or not years.min() <= y <= years.max():
        span = f"{years.min()}-{years.max()}" if len(years) else "no whole year"
        later = len(years) and y > years.max()
        raise ResultsError(
            f"year {year} is outside the years the results cover ({span}): choose a year "
            "within them (--year)" + (f", or run the scenarios to {year} first" if later else "")
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


# ------------------------------------------------------------------ evaluate


def evaluate(
    ds: xr.Dataset,
    goals: GoalSet | Iterable[Goal] | None = None,
    year: int | None = None,
    *,
    observed: pd.DataFrame | None = None,
    margin: float = AT_RISK_MARGIN,
    lang: str = "en",
) -> pd.DataFrame:
    """The goal table: one row per goal x scope element (x scenario).

    Parameters
    ----------
    ds
        Simulation results (dims: optional ``scenario`` and ``sample``, ``time``, ``park``).
    goals
        From :func:`yaan_sim.outputs.goals.load_goals`; default: the plan's goals.
    year
        Evaluation year Y; goals are judged on the simulated (or observed) value in Y and on
        the path from Y to the goal year (see the module docstring for the status rule);
        it must be a year the results hold. None (default): every goal in its own goal year
        (2020 for the plan's goals; another model's goals each have their own).
    observed
        Observed figures (:func:`load_observed`, or a CSV path) that replace the simulated
        value in Y.
    margin
        The "at risk" margin, in growth rate per year (0.05 = 5 percentage points).
    lang
        Language of the ``goal`` and ``scope_label`` columns (``"en"`` or ``"zh"``).

    Returns
    -------
    pandas.DataFrame
        Columns: [scenario,] goal_id, goal, scope, scope_name, scope_label, binding,
        comparison, target, value, unit, gap, gap_pct, status, eval_year, goal_year,
        year_first_met, growth_needed_pct, growth_simulated_pct, projected, level,
        level_unit, value_source [, p_met]. ``gap`` = value - target (for ``>=`` goals a
        negative gap is a shortfall); ``gap_pct`` is relative to the target. Rates are in
        % a year. For falling-every-year goals ``value`` is the largest year-on-year change
        (% a year) up to Y, the target 0, and ``level`` the metric itself.
    """
    check_lang(lang)
    goals = load_goals() if goals is None else goals
    check_results(ds, parks=not all(g.is_generic for g in goals))
    if isinstance(observed, (str, Path)):
        observed = load_observed(observed, source=ds, goals=goals)
    year = None if year is None else check_year(ds, year)  # None: each goal at its own year
    rows = []
    scenarios = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [None]
    for goal in goals:
        unit = goal_unit(ds, goal)
        y = goal.year if year is None else year
        for scope in goal.scopes:
            for name, parks in scope_members(ds, scope, goal):
                series = annual(metric_series(ds, goal, parks))
                for sc in scenarios:
                    s = series.sel(scenario=sc) if sc is not None else series
                    rows.append(
                        _row(goal, scope, name, parks, s, y, observed, margin, lang, unit)
                        | ({"scenario": sc} if sc is not None else {})
                    )
    df = pd.DataFrame(rows)
    first = ["scenario"] if scenarios != [None] else []
    cols = first + [c for c in _COLUMNS if c in df.columns]
    df = df.reindex(columns=cols)
    df.attrs["scenario_titles"] = scenario_titles(ds)  # for labels: the files' titles
    df.attrs["goal_names"] = {g.id: {"en": g.name_en, "zh": g.name_zh} for g in goals}
    return df


_COLUMNS = (  # noqa: SIM905 (names as one text read better than 23 lines)
    "goal_id goal scope scope_name scope_label binding comparison target value unit gap "
    "gap_pct status eval_year goal_year year_first_met growth_needed_pct growth_simulated_pct "
    "projected level level_unit value_source p_met"
).split()


def _row(
    goal: Goal,
    scope: str,
    name: str,
    parks,
    s: xr.DataArray,
    year: int,
    observed,
    margin: float,
    lang: str,
    unit: str,
) -> dict:
    years = [int(v) for v in s["year"].values]
    sampled = "sample" in s.dims
    V = (s.transpose("sample", "year").values if sampled else s.values[None, :]).astype(float)
    med = np.median(V, axis=0) if sampled else V[0]
    g = goal.year
    y = min(year, g)
    if y not in years or (goal.baseline_year is not None and goal.baseline_year not in years):
        need = [v for v in (y, goal.baseline_year) if v is not None and v not in years]
        raise ResultsError(
            f"goal {goal.id!r}: the results have no value for year "
            f"{need[0]} (they cover {years[0]}-{years[-1]}); choose --year "
            "within the simulated years."
        )
    idx = {yr: i for i, yr in enumerate(years)}
    row = {
        "goal_id": goal.id,
        "goal": goal.name(lang),
        "scope": scope,
        "scope_name": name,
        "scope_label": scope_label(scope, name, lang),
        "binding": scope == goal.scope,
        "comparison": goal.comparison,
        "eval_year": year,
        "goal_year": g,
        "level": float(med[idx[y]]),
        "level_unit": unit,
    }
    if goal.is_trend:
        past, future = trend_rows(years, med, goal.baseline_year, y, g)
        value = max(past) * 100 if past and all(np.isfinite(past)) else math.nan
        # simulated mean rate of change: from Y to G, or over the whole period at G
        end = max(yr for yr in years if yr <= g)
        a, b = (y, end) if end > y else (goal.baseline_year, y)
        rate = cagr(med[idx[a]], med[idx[b]], b - a)
        row |= {
            "target": 0.0,
            "value": value,
            "unit": "%" if goal.is_generic else "%/yr",  # a change per whole time unit
            "gap": value,
            "gap_pct": math.nan,
            "status": status_trend(past, future),
            "year_first_met": math.nan,
            "growth_needed_pct": math.nan,
            "growth_simulated_pct": float(rate) * 100,
            "projected": float(med[idx[g]]) if g in idx else math.nan,
            "value_source": "simulated",
        }
        if sampled:
            ok = []
            for v in V:
                p, f = trend_rows(years, v, goal.baseline_year, y, g)
                ok.append(all(np.isfinite(p + f)) and all(c < 0 for c in p + f))
            row["p_met"] = float(np.mean(ok))
        return row

    obs = observed_metric(observed, goal, scope, name, parks, y)
    base = idx.get(goal.baseline_year)  # present: checked above
    target_paths = level_targets(goal, scope, name, parks, V, base)
    target = float(level_targets(goal, scope, name, parks, med[None, :], base)[0])
    value = float(obs) if np.isfinite(obs) else float(med[idx[y]])
    n = g - y
    rate, projected = project_level(med[None, :], years, y, g, obs)
    rate, projected = float(rate[0]), float(projected[0])
    g_need = float(cagr(value, target, n)) if n > 0 else math.nan
    # The first year the target is satisfied, on the path with observed figures put in.
    first = math.nan
    if not goal.uses_baseline and np.isfinite(target):
        for yr in years:
            if yr > g:
                break
            o = observed_metric(observed, goal, scope, name, parks, yr)
            v = o if np.isfinite(o) else med[idx[yr]]
            if holds(v, target, goal.comparison):
                first = yr
                break
    gap = value - target
    row |= {
        "target": target,
        "value": value,
        "unit": unit,
        "gap": gap,
        "gap_pct": 100 * gap / abs(target) if target else math.nan,
        "status": status_level(goal.comparison, value, target, projected, g_need, rate, n, margin),
        "year_first_met": first,
        "growth_needed_pct": g_need * 100,
        "growth_simulated_pct": rate * 100,
        "projected": projected,
        "value_source": "observed" if np.isfinite(obs) else "simulated",
    }
    if sampled:
        _, proj_paths = project_level(V, years, y, g, obs)
        met = holds(proj_paths, target_paths, goal.comparison) & np.isfinite(proj_paths)
        row["p_met"] = float(np.mean(met))
    return row


# ------------------------------------------------------------------ mid-term: what it takes


def what_it_takes(
    goals: GoalSet | Iterable[Goal] | None = None,
    observed: pd.DataFrame | None = None,
    year: int | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """Growth now needed, from the latest observed figure, to reach each fixed goal.

    One row per goal and scope element that the observed data cover (up to ``year`` if
    given): the latest observed year and value, the target, and the compound annual growth
    needed (% a year) to reach it in the goal year. Example: ETDZ's 167亿 in 2015 needs
    about 43% a year to reach 1000亿 in 2020 (../shared/data/sources.md, B).
    """
    goals = load_goals() if goals is None else goals
    observed = load_observed() if observed is None else observed
    obs_years = sorted({int(v) for v in observed["year"]})
    rows = []
    for goal in goals:
        if goal.is_trend or goal.uses_baseline or goal.is_generic:
            continue
        for scope in goal.scopes:
            places = getattr(goals, "places", None) or Places.from_mdl(DEFAULT_MODEL)
            if scope == "city":
                members = [(CITY, list(places.parks))]
            elif scope == "region":
                members = [(r, places.members(r)) for r in places.regions]
            else:
                members = [(p, [p]) for p in places.parks]
            for name, parks in members:
                target = goal.fixed_target(scope, name, parks)
                if target is None:
                    continue
                limit = min(goal.year, year) if year is not None else goal.year
                found = [
                    (yr, observed_metric(observed, goal, scope, name, parks, yr))
                    for yr in obs_years
                    if yr <= limit
                ]
                found = [(yr, v) for yr, v in found if np.isfinite(v)]
                if not found:
                    continue
                yr, v = found[-1]
                n = goal.year - yr
                need = float(cagr(v, target, n)) * 100 if n > 0 else math.nan
                rows.append(
                    {
                        "goal_id": goal.id,
                        "goal": goal.name(lang),
                        "scope": scope,
                        "scope_name": name,
                        "scope_label": scope_label(scope, name, lang),
                        "observed_year": yr,
                        "observed": v,
                        "target": target,
                        "goal_year": goal.year,
                        "unit": goal.unit,
                        "growth_needed_pct": need,
                        "met": bool(holds(v, target, goal.comparison)),
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "goal_id",
            "goal",
            "scope",
            "scope_name",
            "scope_label",
            "observed_year",
            "observed",
            "target",
            "goal_year",
            "unit",
            "growth_needed_pct",
            "met",
        ],
    )
