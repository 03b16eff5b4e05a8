"""Mid-term: the growth now needed, from the latest observed figure, to reach each goal."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from yaan_sim.outputs.goal_metrics import observed_figures, observed_metric
from yaan_sim.outputs.goals import CITY, Goal, GoalSet, load_goals, scope_label
from yaan_sim.outputs.observed import load_observed
from yaan_sim.outputs.rules import cagr, holds
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario.places import Places


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
    figures = observed_figures(observed)  # indexed once, read for every goal, place and year
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
                    (yr, observed_metric(figures, goal, scope, name, parks, yr))
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
