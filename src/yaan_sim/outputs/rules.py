"""The status rules of the goal table, as small pure functions of arrays.

The rules themselves are stated in :mod:`yaan_sim.outputs.evaluate`'s docstring. The goal
table (:func:`~yaan_sim.outputs.evaluate.evaluate`) and the per-sample goal gaps
(:func:`~yaan_sim.outputs.gaps.goal_gaps`) both use these, so a target, a year-on-year
change or the sign of "met" means one thing everywhere. A *path* is one row of ``V``
(samples x years, or the median path as one row); ``years`` are the columns' years.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from yaan_sim.outputs.goals import Goal

AT_RISK_MARGIN = 0.05

#: How a goal's yearly figure is measured (the goal table's ``basis`` column): a flow's
#: total over the calendar year (the integral of its rate over [Y, Y+1]); a ratio of two
#: such totals (R&D share = R&D total / revenue total); a stock at the end of the year
#: (t = Y+1.0); another model's variable at t = Y.0 (its time unit need not be a year).
BASIS_TOTAL = "calendar-year total"
BASIS_RATIO = "ratio of totals"
BASIS_END = "end of year"
BASIS_POINT = "value at t = Y"
BASES = (BASIS_TOTAL, BASIS_RATIO, BASIS_END, BASIS_POINT)


def goal_sign(goal: Goal) -> float:
    """+1 where a larger value is better (``>=`` goals), -1 otherwise (``<=`` and
    falling-every-year goals): ``gap * sign >= 0`` means the goal is met."""
    return 1.0 if goal.comparison == ">=" else -1.0


def level_targets(
    goal: Goal,
    scope: str,
    name: str,
    parks: Sequence[str],
    V: np.ndarray,
    baseline: int | None,
) -> np.ndarray:
    """Each path's target of a level goal: the fixed target of the scope element, or for
    ``target: baseline`` the path's own value in column ``baseline`` of ``V``."""
    if goal.uses_baseline:
        if baseline is None:
            raise ValueError(f"goal {goal.id!r} needs the column of its baseline year")
        return np.asarray(V[:, baseline], dtype=float)
    target = goal.fixed_target(scope, name, parks)
    return np.full(V.shape[0], math.nan if target is None else float(target))


def yoy_changes(V: np.ndarray, years: Sequence[int], first: int, last: int) -> np.ndarray:
    """Year-on-year relative change of every path in the years ``first..last``.

    Column j is year ``first + j``: ``V[yr] / V[yr-1] - 1``, NaN where either year is
    not simulated or the earlier value is not positive.
    """
    idx = {yr: i for i, yr in enumerate(years)}
    out = np.full((V.shape[0], max(0, last - first + 1)), np.nan)
    for j, yr in enumerate(range(first, last + 1)):
        if yr in idx and yr - 1 in idx:
            prev, cur = V[:, idx[yr - 1]], V[:, idx[yr]]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, j] = np.where(prev > 0, cur / prev - 1, np.nan)
    return out


def trend_rows(
    years: Sequence[int], v: np.ndarray, base: int, y: int, g: int
) -> tuple[list[float], list[float]]:
    """Year-on-year changes of one path after ``base``: (up to ``y``, from ``y + 1`` to ``g``)."""
    ch = yoy_changes(np.asarray(v, dtype=float)[None, :], years, base + 1, g)[0]
    n_past = max(0, y - base)
    return [float(c) for c in ch[:n_past]], [float(c) for c in ch[n_past:]]


def falls_every_year(V: np.ndarray, years: Sequence[int], base: int, g: int) -> np.ndarray:
    """Per path (rows of ``V``): whether every year-on-year change after ``base`` up to
    ``g`` is known and negative (what a falling-every-year goal asks of one sample)."""
    ch = yoy_changes(np.asarray(V, dtype=float), years, base + 1, g)
    with np.errstate(invalid="ignore"):
        return np.isfinite(ch).all(axis=1) & (ch < 0).all(axis=1)


def cagr(a: ArrayLike, b: ArrayLike, n: float) -> np.ndarray:
    """Compound annual rate from a to b over n years; NaN unless both are positive."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if n <= 0:
        return np.full(np.broadcast(a, b).shape, np.nan)
    with np.errstate(all="ignore"):
        r = (b / a) ** (1.0 / n) - 1
    return np.where((a > 0) & (b > 0), r, np.nan)


def holds(x: ArrayLike, target: ArrayLike, comparison: str) -> np.ndarray:
    """Whether ``x`` satisfies ``comparison`` (``>=`` or ``<=``) against ``target``."""
    x = np.asarray(x, dtype=float)
    target = np.asarray(target, dtype=float)
    with np.errstate(invalid="ignore"):
        return x >= target if comparison == ">=" else x <= target


def project(
    V: np.ndarray, years: Sequence[int], y: int, g: int, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated rate from y towards g (per path) and ``start`` projected to g."""
    idx = {yr: i for i, yr in enumerate(years)}
    end = max((yr for yr in years if yr <= g), default=y)
    if end > y:
        rate = cagr(V[:, idx[y]], V[:, idx[end]], end - y)
    elif y - 1 in idx:  # no simulated years after y: carry on the last year's rate
        rate = cagr(V[:, idx[y - 1]], V[:, idx[y]], 1)
    else:
        rate = np.full(V.shape[0], np.nan)
    if g in idx and y in idx and g > y:
        with np.errstate(divide="ignore", invalid="ignore"):
            projected = start * V[:, idx[g]] / V[:, idx[y]]
    else:
        projected = start * (1 + rate) ** (g - y)
    return rate, projected


def project_level(
    V: np.ndarray, years: Sequence[int], y: int, g: int, obs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per path (rows of V): the simulated rate from y and the value in y projected to g.

    The value in y is the observed one when ``obs`` is finite, else the path's own.
    """
    idx = {yr: i for i, yr in enumerate(years)}
    start = np.full(V.shape[0], obs) if np.isfinite(obs) else V[:, idx[y]]
    if g - y > 0:
        return project(V, years, y, g, start)
    return np.full(V.shape[0], np.nan), start


def status_level(
    comparison: str,
    value: float,
    target: float,
    projected: float,
    g_need: float,
    g_sim: float,
    n: int,
    margin: float,
) -> str:
    """The status of a level goal (see the rule in :mod:`yaan_sim.outputs.evaluate`)."""
    if not (np.isfinite(value) and np.isfinite(target)):
        return "no data"
    holds_now = bool(holds(value, target, comparison))
    if n <= 0:
        return "met" if holds_now else "missed"
    if not np.isfinite(projected):
        return "no data"
    if holds(projected, target, comparison):
        return "met" if holds_now else "on track"
    if np.isfinite(g_need) and np.isfinite(g_sim):
        short = g_need - g_sim if comparison == ">=" else g_sim - g_need
        if short <= margin + 1e-12:
            return "at risk"
    return "missed"


def status_trend(past: Sequence[float], future: Sequence[float]) -> str:
    """The status of a falling-every-year goal from its past and future changes."""
    if any(not np.isfinite(c) for c in [*past, *future]):
        return "no data"
    if any(c >= 0 for c in past):
        return "missed"
    if not future:
        return "met"
    return "at risk" if any(c >= 0 for c in future) else "on track"
