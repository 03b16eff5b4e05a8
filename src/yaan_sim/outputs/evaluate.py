"""Compare simulation results with the plan's goals: the goal table.

``evaluate(ds, goals, year=2020)`` gives one row per goal x scope element (x scenario
when the results have a ``scenario`` dim). A goal is judged on a yearly figure measured
like the published one (``basis`` column,
:func:`~yaan_sim.outputs.goal_metrics.annual_metric`): a flow goal (revenue, emissions)
on the calendar-year total, the integral of the rate over [Y, Y+1], so the 2000亿 of 2020
is the 2020 full-year revenue; a ratio goal (R&D share, energy per unit output) on the
ratio of the two totals; a stock at the end of the year. The results must therefore
cover the whole goal year (the model runs to 2021.0).

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

Mid-term mode: ``observed`` (see :func:`~yaan_sim.outputs.observed.load_observed`)
replaces the simulated value of a metric in the years it covers; ``value_source`` says
which one a row used. :func:`~yaan_sim.outputs.what_it_takes.what_it_takes` gives the
growth needed from the latest observed figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ResultsError
from yaan_sim.outputs.calendar_years import check_year
from yaan_sim.outputs.goal_metrics import (
    ObservedFigures,
    YearlyTotals,
    annual_metric,
    goal_basis,
    goal_unit,
    observed_figures,
    observed_metric,
    scope_members,
)
from yaan_sim.outputs.goals import Goal, GoalsError, GoalSet, load_goals, scope_label
from yaan_sim.outputs.i18n import check_lang, scenario_titles
from yaan_sim.outputs.observed import load_observed
from yaan_sim.outputs.results_check import check_results
from yaan_sim.outputs.rules import (
    AT_RISK_MARGIN,
    cagr,
    falls_every_year,
    holds,
    level_targets,
    project_level,
    status_level,
    status_trend,
    trend_rows,
)

STATUSES = ("met", "on track", "at risk", "missed", "no data")


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
        Observed figures (:func:`~yaan_sim.outputs.observed.load_observed`, or a CSV
        path) that replace the simulated value in Y.
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
    figures = observed_figures(observed)  # indexed once: every row reads it
    whole = not all(g.is_generic for g in goals)  # the plan's goals: calendar-year figures
    year = None if year is None else check_year(ds, year, whole=whole)  # None: each at its own
    rows = []
    scenarios = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [None]
    totals = YearlyTotals(ds)
    for goal in goals:
        unit = goal_unit(ds, goal)
        y = goal.year if year is None else year
        for scope in goal.scopes:
            for name, parks in scope_members(ds, scope, goal):
                series = annual_metric(ds, goal, parks, totals)
                years = [int(v) for v in series["year"].values]
                sampled = "sample" in series.dims
                lead = [d for d in ("scenario", "sample") if d in series.dims]
                # (scenario, sample, year) as numpy: a selection per row cost ~0.3 ms
                values = series.transpose(*lead, "year").values.astype(float)
                for i, sc in enumerate(scenarios):
                    V = values[i] if sc is not None else values
                    V = V if sampled else V[None, :]
                    rows.append(
                        _row(
                            ds,
                            goal,
                            scope,
                            name,
                            parks,
                            years,
                            V,
                            sampled,
                            y,
                            figures,
                            margin,
                            lang,
                            unit,
                        )
                        | ({"scenario": sc} if sc is not None else {})
                    )
    df = pd.DataFrame(rows)
    first = ["scenario"] if scenarios != [None] else []
    cols = first + [c for c in _COLUMNS if c in df.columns]
    df = df.reindex(columns=cols)
    df.attrs["scenario_titles"] = scenario_titles(ds)  # for labels: the files' titles
    df.attrs["goal_names"] = {g.id: {"en": g.name_en, "zh": g.name_zh} for g in goals}
    return df


def in_language(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``table`` (from :func:`evaluate`) with its ``goal`` and ``scope_label`` columns in
    ``lang``: the only columns the language decides, so one evaluation serves the Chinese
    and the English outputs of a package (an evaluation takes about 0.5 s)."""
    check_lang(lang)
    names = table.attrs["goal_names"]
    out = table.copy()
    out["goal"] = [names[g][lang] for g in table["goal_id"]]
    out["scope_label"] = [
        scope_label(s, n, lang) for s, n in zip(table["scope"], table["scope_name"], strict=True)
    ]
    return out


def headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that sum each binding goal up, one per scenario: the city's where the goal
    has one, else its first place's (the findings' and the lever effects' value)."""
    rows = table[table["binding"]] if "binding" in table else table
    parts = []
    for gid in dict.fromkeys(rows["goal_id"]):
        g = rows[rows["goal_id"] == gid]
        city = g[g["scope"] == "city"] if "scope" in g else g
        parts.append(city if len(city) else g[g["scope_name"] == g["scope_name"].iloc[0]])
    return pd.concat(parts) if parts else rows.iloc[:0]


_COLUMNS = (  # noqa: SIM905 (names as one text read better than 23 lines)
    "goal_id goal scope scope_name scope_label binding comparison target value unit gap "
    "gap_pct status basis eval_year goal_year year_first_met growth_needed_pct "
    "growth_simulated_pct projected level level_unit value_source p_met"
).split()


def _row(
    ds: xr.Dataset,
    goal: Goal,
    scope: str,
    name: str,
    parks: Sequence[str],
    years: list[int],
    V: np.ndarray,
    sampled: bool,
    year: int,
    observed: ObservedFigures | None,
    margin: float,
    lang: str,
    unit: str,
) -> dict[str, Any]:
    """The row of one goal, scope element and scenario; ``V`` its figures (sample, year),
    one row for a run without samples (``sampled`` False)."""
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
    row: dict[str, Any] = {
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
        "basis": goal_basis(ds, goal),
    }
    if goal.is_trend:
        baseline = goal.baseline_year
        if baseline is None:  # the goals reader requires one for falling-every-year goals
            raise GoalsError(f"goal {goal.id!r}: a falling-every-year goal needs a baseline_year")
        past, future = trend_rows(years, med, baseline, y, g)
        value = max(past) * 100 if past and all(np.isfinite(past)) else math.nan
        # simulated mean rate of change: from Y to G, or over the whole period at G
        end = max(yr for yr in years if yr <= g)
        a, b = (y, end) if end > y else (baseline, y)
        trend_rate = cagr(med[idx[a]], med[idx[b]], b - a)
        row |= {
            "target": 0.0,
            "value": value,
            "unit": "%" if goal.is_generic else "%/yr",  # a change per whole time unit
            "gap": value,
            "gap_pct": math.nan,
            "status": status_trend(past, future),
            "year_first_met": math.nan,
            "growth_needed_pct": math.nan,
            "growth_simulated_pct": float(trend_rate) * 100,
            "projected": float(med[idx[g]]) if g in idx else math.nan,
            "value_source": "simulated",
        }
        if sampled:  # all samples at once (a loop over them took ~4 s at 2 x 2,000)
            row["p_met"] = float(np.mean(falls_every_year(V, years, baseline, g)))
        return row

    obs = observed_metric(observed, goal, scope, name, parks, y)
    base = None if goal.baseline_year is None else idx[goal.baseline_year]  # checked above
    target_paths = level_targets(goal, scope, name, parks, V, base)
    target = float(level_targets(goal, scope, name, parks, med[None, :], base)[0])
    value = float(obs) if np.isfinite(obs) else float(med[idx[y]])
    n = g - y
    rates, projections = project_level(med[None, :], years, y, g, obs)
    rate, projected = float(rates[0]), float(projections[0])
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
