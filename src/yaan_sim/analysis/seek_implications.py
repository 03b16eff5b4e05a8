"""What a seek answer means: its money (the run's flows, 亿元 by calendar year) and the
model's constraints in the goal year (energy allocation, land, ability to pay, lever ranges)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from yaan_sim.analysis.runner import run_design
from yaan_sim.analysis.seek_levers import LeverVar, lever_values
from yaan_sim.analysis.seek_problem import SeekProblem

#: The run's flows an answer is read in (亿元/Year, per park): column -> Vensim name.
MONEY_FLOWS = {
    "investment_attracted": "Investment attracted",
    "park_fund": "Fund investment paid",
    "guaranteed_loans": "Guaranteed lending",
}
#: The model's constraint variables: (constraint, Vensim name, meaning, binds when).
CONSTRAINT_VARS = (
    (
        "energy allocation",
        "Required energy cut",
        "share of energy demand the city curtails (能耗双控)",
        lambda v: v > 1e-3,
    ),
    (
        "energy allocation",
        "Perceived energy ratio",
        "energy demand / the parks' allocation (rationing starts at 0.85)",
        lambda v: v > 0.85,
    ),
    (
        "ability to pay",
        "Public spending coverage",
        "share of its programmes' spending (fund, incentives, infrastructure) the park can pay",
        lambda v: v < 0.999,
    ),
    (
        "land",
        "Land supply factor",
        "share of new projects that find land",
        lambda v: v < 0.99,
    ),
    (
        "land",
        "Land availability",
        "land quota / the land needed at reference growth",
        lambda v: v < 1.0,
    ),
)


def implications(
    pr: SeekProblem, d: np.ndarray, variables: list[LeverVar], goal_year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The money table and the constraints table of shifts ``d`` (see :class:`SeekResult`)."""
    from yaan_sim.outputs.calendar_years import yearly

    have = [n for n in (*MONEY_FLOWS.values(), *(c[1] for c in CONSTRAINT_VARS))]
    have = [n for n in have if n in pr.model.meta]
    rows = _range_rows(pr, d, variables)
    if not have:
        return pd.DataFrame(), pd.DataFrame(rows)
    D = np.vstack([np.zeros(len(d)), d])
    ds = run_design(
        pr.model,
        pr.fixed,
        lever_values(pr.bases, pr.vars, D, pr.from_year),
        pr.h,
        engine=pr.engine,
        return_vars=have,
    )
    parks = [str(p) for p in ds["park"].values] if "park" in ds.dims else []
    moved = {v.element for v in variables if v.dim == "park"}
    if any(v.dim != "park" for v in variables) or not moved:
        moved = set(parks)
    where = [p for p in parks if p in moved]
    start = int(pr.from_year if pr.from_year is not None else math.ceil(pr.h.start))
    money = pd.DataFrame()
    flows = {c: pr.model.meta[n].py_name for c, n in MONEY_FLOWS.items() if n in pr.model.meta}
    if flows and where:
        tab = {}
        for col, py in flows.items():
            y = yearly(ds[py].sel(park=where).sum("park"), "total")
            y = y.sel(year=[v for v in y["year"].values if start <= v <= goal_year])
            if col == "investment_attracted":
                tab["investment_attracted_before"] = y.isel(sample=0).values
            tab[col] = y.isel(sample=1).values
            years = [int(v) for v in y["year"].values]
        money = pd.DataFrame({"year": [str(v) for v in years], **tab})
        total = {"year": "total"} | {c: float(money[c].sum()) for c in tab}
        money = pd.concat([money, pd.DataFrame([total])], ignore_index=True)
    after = ds.isel(sample=1)
    for constraint, name, meaning, binds in CONSTRAINT_VARS:
        if name not in pr.model.meta:
            continue
        da = yearly(after[pr.model.meta[name].py_name], "mean").sel(year=goal_year)
        places = [(p, da.sel(park=p)) for p in where] if "park" in da.dims else [("city", da)]
        # the parks where it binds, else the tightest one
        tight = [(p, v) for p, v in places if binds(float(v))]
        if not tight:
            order = sorted(places, key=lambda pv: float(pv[1]), reverse=binds(1e9))
            tight = order[:1]
        for place, v in tight:
            value = float(v)
            rows.append(
                {
                    "constraint": constraint,
                    "place": place,
                    "variable": name,
                    "value": value,
                    "meaning": meaning,
                    "binding": bool(binds(value)),
                }
            )
    cons = pd.DataFrame(rows)
    return money, cons.sort_values("binding", ascending=False, kind="stable").reset_index(drop=True)


def _range_rows(pr: SeekProblem, d: np.ndarray, variables: list[LeverVar]) -> list[dict]:
    """A lever at an end of its range binds: it cannot go further."""
    rows = []
    vals = lever_values(pr.bases, pr.vars, np.asarray(d)[None, :], pr.from_year)
    for v in variables:
        da = vals[v.name].isel(sample=0)
        if v.element is not None:
            da = da.sel({v.dim: v.element})
        if pr.from_year is not None and "time" in da.dims:
            da = da.sel(time=da["time"] >= pr.from_year - 1e-9)
        hi, lo = float(da.max()), float(da.min())
        close = 1e-4 * v.span  # within 0.01 % of the range: at its end
        at = "max" if hi >= v.hi - close else "min" if lo <= v.lo + close else ""
        rows.append(
            {
                "constraint": "lever range",
                "place": v.label,
                "variable": v.name,
                "value": hi if at != "min" else lo,
                "meaning": f"the lever's range [{v.lo:g}, {v.hi:g}] {v.units}"
                + (f": at its {at}imum" if at else ""),
                "binding": bool(at),
            }
        )
    return rows
