"""Goal-seeking: the smallest change of chosen levers that meets chosen goals.

Example::

    res = seek(model, load_scenario("plan"), goals=["revenue_park:ETDZ"],
               levers=["Investment attraction rate[ETDZ]"])
    print(res.message)

Each lever element is a decision variable: a shift added to the scenario's value of that
element at every time (a number moves; a schedule moves as a whole), kept inside the
lever's ``[min,max]`` range. ``"Name"`` takes every element of a subscripted lever (each
park its own shift, "per park where per park"); ``"Name[ETDZ]"`` or
``"Name[ETDZ,Hanyuan]"`` only those.

"Smallest" is the sum of the squared shifts, each as a share of its lever's range. A
goal is met when its gap (:func:`yaan_sim.outputs.gaps.goal_gaps`, the gap of the goal table)
has the right sign in the goal year.

The search: (1) one vectorised engine call over a screening design (a grid for one or two
variables, a Sobol set plus the box's corners along each axis otherwise); (2) if some
candidates meet every goal, the one with the smallest change is refined by bisection
towards the scenario's values and then by SLSQP, whose gradients are forward differences
computed in one engine call; (3) if none does, the best reachable point (the largest worst
margin) is refined the same way and reported with a clear statement that no value in range
meets the goals. Every candidate is a sample of one batched run; nothing loops over runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.seek_implications import implications
from yaan_sim.analysis.seek_levers import LeverVar, lever_values, parse_levers
from yaan_sim.analysis.seek_messages import answer_message
from yaan_sim.analysis.seek_problem import SeekProblem
from yaan_sim.analysis.seek_result import SeekResult
from yaan_sim.analysis.seek_search import (
    bisect_towards_zero,
    polish_best_reachable,
    polish_min_change,
    screen,
    strictly_inside,
)
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.goals import GoalSet, load_goals
from yaan_sim.protocols import ModelLike, ScenarioLike

__all__ = ["SeekResult", "seek"]


def seek(
    model: ModelLike,
    scenario: ScenarioLike | None,
    goals: Sequence[str] = ("revenue_park:ETDZ",),
    levers: Sequence[str] = ("Investment attraction rate[ETDZ]",),
    *,
    year: int | None = None,
    horizon: Horizon | None = None,
    engine: str = "auto",
    goal_set: GoalSet | None = None,
    tol: float = 1e-4,
    from_year: int | None = None,
) -> SeekResult:
    """The smallest change of ``levers`` that meets ``goals``, or the best reachable.

    Parameters
    ----------
    model : YaanModel
    scenario : Scenario or None
        The starting point (None: the .mdl's defaults).
    goals : sequence of str
        ``goal_id`` or ``goal_id:scope_name`` (``revenue_park:ETDZ``, ``revenue_city``).
    levers : sequence of str
        ``Name`` (every element) or ``Name[element,...]`` (element or group names).
    year : int, optional
        The year the goals are judged (default: each goal's year).
    tol : float
        Goals count as met when their scaled margin is above ``-tol`` (relative to the
        target) at the refined point.
    from_year : int, optional
        The mid-term adjustment (中期调整): the levers keep the scenario's values before
        this year and move from its start on (default: over the whole plan period).

    The answer comes with what it means in money (:attr:`SeekResult.money`: investment
    attracted, park fund investment and guaranteed loans, 亿元 by calendar year and in
    total, from the run's own flows) and with the constraints of the model in the goal
    year (:attr:`SeekResult.constraints`: the energy allocation, land, the parks' ability
    to pay, the levers' ranges), which say why a goal cannot be reached.
    """
    goal_set = load_goals() if goal_set is None else goal_set
    h = horizon or getattr(scenario, "horizon", None) or model.default_horizon
    for gid in goals:
        if str(gid).partition(":")[0] not in goal_set.ids:
            raise YaanSimError(f"unknown goal {gid!r}: choose from {', '.join(goal_set.ids)}")
    if year is None:
        years = {goal_set[str(g).partition(":")[0]].year for g in goals}
        if max(years) > h.stop:
            raise YaanSimError(
                f"the goals are judged in {max(years)} but the run stops in "
                f"{h.stop:g}: extend the horizon"
            )
    if from_year is not None:
        from_year = _check_from_year(from_year, h, goal_set, goals, year)
    variables, bases = parse_levers(levers, model, scenario, h, from_year)
    pr = SeekProblem(
        model, scenario, variables, bases, list(goals), goal_set, year, h, engine, from_year
    )
    pr.setup_scale()
    k = len(variables)
    lo = np.array([v.bounds[0] for v in variables])
    hi = np.array([v.bounds[1] for v in variables])
    if np.any(lo > hi):
        bad = [v.label for v, a, b in zip(variables, lo, hi, strict=True) if a > b]
        raise YaanSimError(
            f"{', '.join(bad)}: the scenario's schedule spans more than the "
            "lever's range, so no single shift keeps it inside"
        )
    span = np.array([v.span for v in variables])
    zero = np.zeros(k)
    m0 = pr.margins(zero)[0]

    def cost(d: np.ndarray) -> float:
        return float(np.sum((np.asarray(d) / span) ** 2))

    if np.all(m0 >= 0):
        best, feasible, how = zero, True, "already met"
    else:
        S = screen(lo, hi, k)
        M = pr.margins(S)
        worst = M.min(axis=1)
        ok = worst >= 0
        if ok.any():
            cand = S[ok]
            best = cand[np.argmin([cost(d) for d in cand])]
            best = bisect_towards_zero(pr, best)
            best = polish_min_change(pr, best, lo, hi, span, tol)
            best = strictly_inside(pr, best, lo, hi)
            feasible, how = True, "found"
        else:
            best = S[np.argmax(worst)]
            best = polish_best_reachable(pr, best, lo, hi)
            feasible = bool(pr.margins(best)[0].min() >= -tol)
            how = "found" if feasible else "unreachable"
            if feasible:
                best = polish_min_change(pr, best, lo, hi, span, tol)
                best = strictly_inside(pr, best, lo, hi)
    return _result(pr, variables, bases, best, feasible, how, h, scenario)


def _check_from_year(
    from_year: float, h: Horizon, goal_set: GoalSet, goals: Sequence[str], year: int | None
) -> int:
    """``from_year`` as a year inside the plan period and before the goals' year."""
    try:
        y = int(from_year)
    except (TypeError, ValueError):
        raise YaanSimError(f"--from must be a year such as 2018, not {from_year!r}") from None
    last = year if year is not None else max(goal_set[str(g).partition(":")[0]].year for g in goals)
    if y != from_year or not h.start <= y <= last:
        raise YaanSimError(
            f"--from {from_year}: the levers can change from a year within the plan period "
            f"{h.start:g}-{last}: choose one, e.g. --from 2018"
        )
    return y


def _result(
    pr: SeekProblem,
    variables: list[LeverVar],
    bases: dict[str, xr.DataArray],
    d: np.ndarray,
    feasible: bool,
    how: str,
    h: Horizon,
    scenario: ScenarioLike | None,
) -> SeekResult:
    G0 = pr.gaps(np.zeros(len(variables)))[0]
    G1 = pr.gaps(d)[0]
    meta = pr.meta
    rows = []
    for v, dv in zip(variables, d, strict=True):
        base = bases[v.name] if v.element is None else bases[v.name].sel({v.dim: v.element})
        if pr.from_year is not None:  # the values that move: from that year on
            base = base.sel(time=base["time"] >= pr.from_year - 1e-9)
        bmean = float(base.mean())
        sched = "time" in base.dims and float(base.max()) != float(base.min())
        rows.append(
            {
                "lever": v.label,
                "units": v.units,
                "base": bmean,
                "value": float(np.clip(bmean + dv, v.lo, v.hi)),
                "change": float(dv),
                "change_pct_of_range": 100 * float(dv) / v.span,
                "min": v.lo,
                "max": v.hi,
                "schedule": sched,
            }
        )
    lev = pd.DataFrame(rows)
    assert meta is not None  # set by the first gaps()
    targets = np.asarray(meta["target"].values, dtype=float)
    sign = np.asarray(meta["sign"].values, dtype=float)
    gl = pd.DataFrame(
        {
            "outcome": [str(o) for o in meta["outcome"].values],
            "goal_id": [str(x) for x in meta["goal_id"].values],
            "scope_name": [str(x) for x in meta["scope_name"].values],
            "unit": [str(x) for x in meta["unit"].values],
            "year": [int(x) for x in meta["year"].values],
            "target": targets,
            "value_before": G0 + np.where(np.isfinite(targets), targets, 0),
            "value_after": G1 + np.where(np.isfinite(targets), targets, 0),
            "gap_before": G0,
            "gap_after": G1,
            "met_before": G0 * sign >= 0,
            "met_after": G1 * sign >= -1e-9 * np.maximum(np.abs(targets), 1),
        }
    )
    money, cons = implications(pr, np.asarray(d), variables, int(gl["year"].max()))
    msg = answer_message(feasible, how, lev, gl, money, cons, pr.from_year)
    values = {
        name: da.isel(sample=0, drop=True)
        for name, da in lever_values(bases, variables, np.asarray(d)[None, :], pr.from_year).items()
    }
    info = {
        "runs": pr.runs,
        "engine_calls": pr.calls,
        "scenario": getattr(scenario, "name", None),
        "horizon": [h.start, h.stop, h.step, h.saveper],
        "variables": [v.label for v in variables],
        "from_year": pr.from_year,
        "how": how,
    }
    return SeekResult(
        feasible,
        lev,
        gl,
        msg,
        info,
        shifts=dict(zip([v.label for v in variables], d, strict=True)),
        values=values,
        money=money,
        constraints=cons,
    )
