"""Every run's gap to a goal: the goal table's ``gap``, for each sample and scenario.

Sensitivity analysis and goal-seeking need the gap of every run, not the median path's
row of the goal table. :func:`goal_gaps` gives it by the table's own rules
(:mod:`yaan_sim.outputs.rules`): the same yearly figures (a flow's calendar-year total, a
ratio of totals: :func:`~yaan_sim.outputs.evaluate.annual_metric`), the same targets
(fixed, or the path's own baseline value), the same year-on-year changes for
falling-every-year goals, the same sign of met.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.goal_metrics import annual_metric, scope_members
from yaan_sim.outputs.goals import CITY, Goal, GoalSet, load_goals
from yaan_sim.outputs.rules import goal_sign, level_targets, yoy_changes
from yaan_sim.scenario.places import Places

#: The outcomes of sensitivity analysis and the default of goal_gaps: city 2020 revenue,
#: ETDZ 2020 revenue, the city's R&D share and the change of energy use per unit output.
DEFAULT_OUTCOMES = ("revenue_city", "revenue_park:ETDZ", "rd_share", "energy_per_output")


class Outcome(NamedTuple):
    """One goal at one scope element: ``label`` is ``goal_id`` or ``goal_id:scope_name``."""

    label: str
    goal: Goal
    scope: str
    name: str
    parks: list[str]


def goal_variables(
    goals: GoalSet | Iterable[Goal], outcomes: Iterable[str] | None = None
) -> list[str]:
    """The result variables the goals need (only those of ``outcomes``' goals if given)."""
    wanted = None if outcomes is None else {str(o).partition(":")[0] for o in outcomes}
    out: list[str] = []
    for g in goals:
        if wanted is not None and g.id not in wanted:
            continue
        for v in g.metric.variables:
            if v not in out:
                out.append(v)
    return out


def parse_outcomes(specs: Iterable[str], goals: GoalSet, ds: xr.Dataset) -> list[Outcome]:
    """``"goal_id"`` or ``"goal_id:scope_name"`` -> the outcomes they name.

    A goal id alone means its binding scope: one outcome where that scope is the city,
    one per member otherwise (``revenue_park`` gives the nine parks). The scope name may
    be a park or region as people call it (``revenue_park:汉源``, ``revenue_park:东部``,
    :meth:`~yaan_sim.scenario.places.Places.resolve`); the label uses the model's name.
    """
    out = []
    places = Places.from_dataset(ds)
    for spec in specs:
        gid, _, want = str(spec).partition(":")
        if want:  # 汉源 -> Hanyuan, 东部 -> East, 全市 -> city
            want = places.resolve(want.strip()) or want
        try:
            goal = goals[gid]
        except (KeyError, IndexError, TypeError):
            raise YaanSimError(
                f"unknown goal {gid!r}: choose from {', '.join(goals.ids)}"
            ) from None
        found = False
        for scope in [goal.scope] if not want else goal.scopes:
            for name, parks in scope_members(ds, scope, goal):
                if want and name != want and not (want == "city" and name == CITY):
                    continue
                label = gid if scope == "city" or not name else f"{gid}:{name}"
                out.append(Outcome(label, goal, scope, name, parks))
                found = True
            if found:
                break
        if not found:
            names = [n for s in goal.scopes for n, _ in scope_members(ds, s, goal)]
            raise YaanSimError(
                f"goal {gid!r} has no scope {want!r}: choose from {', '.join(names)}"
            )
    return out


def goal_gaps(
    ds: xr.Dataset,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    goals: GoalSet | None = None,
    year: int | None = None,
) -> xr.DataArray:
    """Every run's gap to each goal, as in the goal table (``gap`` = value - target).

    Parameters
    ----------
    ds : xarray.Dataset
        Results with optional ``scenario`` and ``sample`` dims.
    outcomes : sequence of str
        ``goal_id`` or ``goal_id:scope_name`` (see :func:`parse_outcomes`).
    year : int, optional
        The year read (default: the goal year, else the last simulated year before it).

    Returns
    -------
    xarray.DataArray
        Dims ``(outcome, [scenario,] [sample])``; coords ``goal_id``, ``scope_name``,
        ``target``, ``unit``, ``year`` and ``sign`` (+1 where a larger value is better,
        -1 otherwise), so ``gap * sign >= 0`` means the goal is met. For level goals
        the gap is value - target in the goal's unit (``target`` is NaN where each run
        has its own, its baseline value); for falling-every-year goals it is the largest
        year-on-year change (% a year, the goal needs it below 0).
    """
    goals = load_goals() if goals is None else goals
    rows, meta = [], []
    for o in parse_outcomes(outcomes, goals, ds):
        goal = o.goal
        series = annual_metric(ds, goal, o.parks).transpose(..., "year")
        years = [int(v) for v in series["year"].values]
        g = goal.year if year is None else min(int(year), goal.year)
        y = g if g in years else max((v for v in years if v <= g), default=None)
        if y is None:
            raise YaanSimError(f"goal {goal.id!r}: the results start after {g}")
        V = np.asarray(series.values, dtype=float).reshape(-1, len(years))
        idx = {yr: i for i, yr in enumerate(years)}
        base = goal.baseline_year if goal.baseline_year in idx else years[0]
        if goal.is_trend:
            if y <= base:
                raise YaanSimError(f"goal {goal.id!r} needs at least two simulated years")
            gap = np.max(yoy_changes(V, years, base + 1, y), axis=1) * 100
            target, unit = 0.0, "%/yr"
        else:
            targets = level_targets(goal, o.scope, o.name, o.parks, V, idx[base])
            gap = V[:, idx[y]] - targets
            target = math.nan if goal.uses_baseline else float(targets[0])
            unit = goal.unit
        template = series.isel(year=0, drop=True)
        da = template.copy(data=gap.reshape(template.shape))
        rows.append(da.drop_vars([c for c in da.coords if c not in da.dims]))
        meta.append((o.label, goal.id, o.name, target, unit, y, goal_sign(goal)))
    out = xr.concat(rows, dim="outcome")
    cols = list(zip(*meta, strict=True))
    out = out.assign_coords(
        outcome=list(cols[0]),
        goal_id=("outcome", list(cols[1])),
        scope_name=("outcome", list(cols[2])),
        target=("outcome", np.asarray(cols[3], float)),
        unit=("outcome", list(cols[4])),
        year=("outcome", list(cols[5])),
        sign=("outcome", np.asarray(cols[6], float)),
    )
    out.name = "gap"
    out.attrs = {"long_name": "gap to the goal: value - target (see the unit coordinate)"}
    return out
