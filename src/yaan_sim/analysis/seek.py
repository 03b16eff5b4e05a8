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

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.runner import run_design
from yaan_sim.analysis.sampling import place_candidates, repeat_on_samples, unit_matrix
from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import lever_registry, parse_lever_spec
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.gaps import goal_gaps, goal_variables
from yaan_sim.outputs.goals import GoalSet, load_goals
from yaan_sim.outputs.results import write_atomic
from yaan_sim.outputs.scenario_file import (
    dump_scenario,
    extends_path,
    lever_setting,
    scenario_document,
)
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.fixed import FixedScenario
from yaan_sim.scenario.places import Places

GRID_1D = 65
GRID_2D = 25
SCREEN_N = 512


@dataclass(frozen=True)
class LeverVar:
    """One decision variable: a shift of one lever element."""

    label: str
    name: str
    dim: str | None
    element: str | None
    lo: float
    hi: float
    base_min: float  # the scenario's smallest and largest value of the element over time
    base_max: float
    units: str

    @property
    def span(self) -> float:
        return self.hi - self.lo

    @property
    def bounds(self) -> tuple[float, float]:
        return self.lo - self.base_min, self.hi - self.base_max


def parse_levers(
    specs: Iterable[str],
    model: ModelLike,
    scenario: ScenarioLike | None,
    horizon: Horizon,
    from_year: float | None = None,
) -> tuple[list[LeverVar], dict[str, xr.DataArray]]:
    """Decision variables for ``specs`` and the scenario's lever values (dims time, ...).

    ``from_year``: the levers move only from then on, so their values are kept as a
    schedule on the integration grid (the range check looks at the years that move)."""
    reg = lever_registry(model)
    resolve_place = Places.from_model(model).resolve  # Name[经开区]
    over = scenario.overrides(model, horizon) if scenario is not None else {}
    bases: dict[str, xr.DataArray] = {}
    out: list[LeverVar] = []
    for spec in specs:
        sel = parse_lever_spec(spec, reg, resolve_place=resolve_place)
        lv = sel.lever
        lv.check_bounded("seek searches")
        if len(lv.dims) > 1:
            raise YaanSimError(
                f"{lv.name!r} has two subscripts; seek moves levers with at most one"
            )
        base = over.get(lv.name, lv.default).astype(float)
        base = base.drop_vars([c for c in base.coords if c not in base.dims])
        if from_year is not None:
            base = on_grid(base, horizon)
        bases[lv.name] = base
        moving = base if from_year is None else base.sel(time=base["time"] >= from_year - 1e-9)
        elements: list[str | None] = (
            [None] if not lv.dims else list(sel.elements or lv.coords[lv.dims[0]])
        )
        for el in elements:
            b = moving if el is None else moving.sel({lv.dims[0]: el})
            label = lv.name if el is None else f"{lv.name}[{el}]"
            if any(v.label == label for v in out):
                continue
            out.append(
                LeverVar(
                    label,
                    lv.name,
                    lv.dims[0] if el is not None else None,
                    el,
                    float(lv.min),
                    float(lv.max),
                    float(b.min()),
                    float(b.max()),
                    lv.units,
                )
            )
    if not out:
        raise YaanSimError("no lever to move: give --levers NAME[,NAME...]")
    return out, bases


def on_grid(base: xr.DataArray, horizon: Horizon) -> xr.DataArray:
    """A lever's values as a schedule on the integration grid of ``horizon`` (a constant
    repeated; a schedule interpolated and held flat beyond its ends, as the engines do)."""
    times = horizon.times()
    if "time" not in base.dims:
        return base.expand_dims(time=times).copy()
    t = np.asarray(base["time"].values, dtype=float)
    held = base.interp(time=np.clip(times, t.min(), t.max()))
    return held.assign_coords(time=times).transpose("time", ...)


def lever_values(
    bases: dict[str, xr.DataArray],
    variables: Sequence[LeverVar],
    D: np.ndarray,
    from_year: float | None = None,
) -> dict[str, xr.DataArray]:
    """Each moved lever's values (dims ``sample, ...``) for shifts ``D`` (candidates x
    variables): every element shifted by its variable, clipped to the lever's range;
    with ``from_year``, only from that year on (the scenario's values before it)."""
    D = np.atleast_2d(D)
    out = {}
    for name, base in bases.items():
        da = repeat_on_samples(base, D.shape[0])
        kept = da
        for j, v in enumerate(variables):
            if v.name == name:
                da = place_candidates(
                    da,
                    D[:, j],
                    mode="shift",
                    dim=v.dim,
                    elements=() if v.element is None else (v.element,),
                    lo=v.lo,
                    hi=v.hi,
                )
        if from_year is not None:
            da = xr.where(da["time"] >= from_year - 1e-9, da, kept).transpose(*kept.dims)
        out[name] = da
    return out


@dataclass
class SeekResult:
    """What it takes.

    Attributes
    ----------
    feasible : bool
        Whether some values in range meet every chosen goal.
    levers : pandas.DataFrame
        label, units, base (the scenario's value, or its mean over time for a schedule),
        value (base + change), change, change_pct_of_range, min, max.
    goals : pandas.DataFrame
        outcome, goal_id, scope_name, unit, target, year, value_before, value_after,
        gap_before, gap_after, met_before, met_after.
    message : str
        The answer in one paragraph.
    info : dict
        runs, engine calls, screening size, scenario.
    money : pandas.DataFrame
        What the answer means in money, 亿元 (calendar-year totals of the run's flows over
        the parks whose levers move): year (then ``total``), investment_attracted_before,
        investment_attracted, park_fund, guaranteed_loans. Empty for a model without them.
    constraints : pandas.DataFrame
        The constraints in the goal year with the answer: constraint, place, value,
        meaning, binding (energy allocation, land, each lever's range).
    """

    feasible: bool
    levers: pd.DataFrame
    goals: pd.DataFrame
    message: str
    info: dict = field(default_factory=dict)
    money: pd.DataFrame = field(default_factory=pd.DataFrame)
    constraints: pd.DataFrame = field(default_factory=pd.DataFrame)
    shifts: dict = field(default_factory=dict, repr=False)
    values: dict = field(default_factory=dict, repr=False)

    def scenario_yaml(self, name: str = "what-it-takes", extends: str | None = None) -> str:
        """A scenario file that sets the moved levers to the values found.

        Every element of a moved lever is written (a child scenario's lever replaces the
        parent's wholly); a lever that follows a schedule is written as a step schedule at
        every time its value changes on the integration grid, which reproduces the run
        exactly.
        """
        doc = scenario_document(
            name, f"What it takes ({name})", f"达标所需({name})", extends=extends
        )
        doc["levers"] = {
            lever: lever_setting(da, note="found by yaan-sim seek")
            for lever, da in self.values.items()
        }
        return dump_scenario(doc, [f"Written by `yaan-sim seek`: {self.message}"])

    def write_scenario(
        self,
        path: str | Path,
        name: str | None = None,
        force: bool = False,
        base_scenario: ScenarioLike | None = None,
    ) -> Path:
        """Write :meth:`scenario_yaml` atomically (``extends`` the starting scenario)."""
        path = Path(path)
        text = self.scenario_yaml(name or path.stem, extends_path(base_scenario, path))
        return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)

    def summary(self, lang: str = "en") -> str:
        """The answer, then its tables (levers, goals, money, constraints) in ``lang``."""
        from yaan_sim.tables import text_table

        def table(df: pd.DataFrame) -> str:
            if lang == "zh" and "constraint" in df:
                df = df.assign(
                    constraint=[_CONSTRAINT_ZH.get(c, c) for c in df["constraint"]],
                    meaning=[
                        _MEANING_ZH.get(v, "杠杆取值范围" + ("（已到边界）" if b else ""))
                        for v, b in zip(df["variable"], df["binding"], strict=True)
                    ],
                )
            cols = list(df.columns)
            head = [_ZH.get(c, c) if lang == "zh" else c for c in cols]
            rows = [[_cell(v, lang) for v in rec] for rec in df.itertuples(index=False)]
            return text_table(head, rows)

        parts = [self.message if lang == "en" else self.message_zh(), ""]
        titles = _TITLES[lang]
        for title, df in zip(
            titles, (self.levers, self.goals, self.money, self.constraints), strict=True
        ):
            if len(df):
                parts += [title, table(df), ""]
        return "\n".join(parts).rstrip() + "\n"

    def message_zh(self) -> str:
        """The answer in Chinese, short: the tables carry the numbers."""
        lev = self.levers[self.levers["change"].abs() > 0]
        if self.info.get("how") == "already met":
            return "无需调整：所选目标已经达到。"
        moved = "；".join(f"{r.lever} 由 {r.base:.4g} 调至 {r.value:.4g}" for r in lev.itertuples())
        start = self.info.get("from_year")
        when = f"自{start}年起" if start else "自规划期初起"
        head = f"{when}，{moved or '不调整杠杆'}" + (
            "，即可达到所选目标。"
            if self.feasible
            else "，仍无法达到所选目标（下表为最接近的结果）。"
        )
        binding = self.constraints[self.constraints["binding"]] if len(self.constraints) else []
        if len(binding):
            head += (
                "起约束作用的是："
                + "；".join(
                    f"{_CONSTRAINT_ZH.get(r.constraint, r.constraint)}"
                    f"（{'全市' if r.place == 'city' else r.place}，{r.value:.3g}）"
                    for r in binding.itertuples()
                )
                + "。"
            )
        return head


_TITLES = {
    "en": (
        "Levers",
        "Goals",
        "What it means in money (亿元, calendar-year totals)",
        "Constraints in the goal year",
    ),
    "zh": ("杠杆", "目标", "折合资金（亿元，全年累计）", "目标年的约束"),
}
_ZH = {
    "lever": "杠杆",
    "units": "单位",
    "base": "原值",
    "value": "取值",
    "change": "变化",
    "change_pct_of_range": "变化占范围%",
    "min": "下限",
    "max": "上限",
    "schedule": "时间表",
    "outcome": "目标",
    "goal_id": "目标编号",
    "scope_name": "范围",
    "unit": "单位",
    "target": "目标值",
    "year": "年份",
    "value_before": "调整前",
    "value_after": "调整后",
    "gap_before": "调整前差距",
    "gap_after": "调整后差距",
    "met_before": "调整前达标",
    "met_after": "调整后达标",
    "investment_attracted_before": "招商引资(调整前)",
    "investment_attracted": "招商引资",
    "park_fund": "园区发展基金",
    "guaranteed_loans": "园保贷",
    "constraint": "约束",
    "place": "范围",
    "meaning": "含义",
    "binding": "是否约束",
    "variable": "变量",
}
_MEANING_ZH = {
    "Required energy cut": "全市压减的能源需求比例（能耗双控）",
    "Perceived energy ratio": "能源需求与园区能耗指标之比（0.85起压减）",
    "Land supply factor": "新项目用地保障率",
    "Public spending coverage": "园区财政支出保障率（基金、奖补、基础设施）",
    "Land availability": "用地指标保障倍数（相对基准增长所需用地）",
}
_CONSTRAINT_ZH = {
    "energy allocation": "能耗总量指标",
    "land": "用地指标",
    "lever range": "杠杆取值范围",
    "ability to pay": "园区财政兑现能力",
}


def _cell(v, lang: str = "en") -> str:
    if isinstance(v, (bool, np.bool_)):
        return ("是" if v else "否") if lang == "zh" else ("yes" if v else "no")
    if lang == "zh" and v in ("city", "total"):
        return {"city": "全市", "total": "合计"}[v]
    if isinstance(v, (float, np.floating)):
        from yaan_sim.tables import format_number

        return format_number(float(v), 2 if abs(v) >= 1 or v == 0 else 4)
    return str(v)


# --- what an answer means: money and the constraints --------------------------------------
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
    pr: _Problem, d: np.ndarray, variables: list[LeverVar], goal_year: int
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


def _range_rows(pr: _Problem, d: np.ndarray, variables: list[LeverVar]) -> list[dict]:
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


class _Problem:
    def __init__(
        self,
        model: ModelLike,
        scenario: ScenarioLike | None,
        variables: list[LeverVar],
        bases: dict[str, xr.DataArray],
        outcomes: list[str],
        goals: GoalSet,
        year: int | None,
        horizon: Horizon,
        engine: str,
        from_year: float | None = None,
    ):
        self.model, self.vars, self.bases = model, variables, bases
        self.from_year = from_year
        self.outcomes, self.goals, self.year = outcomes, goals, year
        self.h, self.engine = horizon, engine
        self.fixed = FixedScenario.of(scenario, model, horizon)
        self.runs = 0
        self.calls = 0
        self.cache: dict[tuple, np.ndarray] = {}
        self.meta: xr.DataArray | None = None

    def gaps(self, D: np.ndarray) -> np.ndarray:
        """(candidates, goals) gaps for shifts D (candidates, variables)."""
        D = np.atleast_2d(D)
        keys = [tuple(np.round(d, 15)) for d in D]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            ds = run_design(
                self.model,
                self.fixed,
                lever_values(self.bases, self.vars, D[todo], self.from_year),
                self.h,
                engine=self.engine,
                return_vars=self.return_vars(),
            )
            g = goal_gaps(ds, self.outcomes, self.goals, self.year)
            if self.meta is None:
                self.meta = g
            years = set(int(y) for y in np.atleast_1d(g["year"].values))
            if self.year is not None and years != {self.year}:
                raise YaanSimError(f"the run does not reach {self.year}: extend the horizon")
            vals = np.asarray(g.transpose("sample", "outcome").values, dtype=float)
            for i, row in zip(todo, vals, strict=True):
                self.cache[keys[i]] = row
            self.runs += len(todo)
            self.calls += 1
        return np.vstack([self.cache[k] for k in keys])

    def return_vars(self) -> list[str]:
        return goal_variables(self.goals, self.outcomes)

    def margins(self, D: np.ndarray) -> np.ndarray:
        """Sign-corrected gaps scaled by the target: >= 0 where the goal is met."""
        G = self.gaps(D)
        return G * self.sign / self.scale

    def setup_scale(self) -> None:
        self.gaps(np.zeros((1, len(self.vars))))
        m = self.meta
        assert m is not None  # set by the first gaps()
        self.sign = np.asarray(m["sign"].values, dtype=float)
        t = np.asarray(m["target"].values, dtype=float)
        self.scale = np.where(np.isfinite(t) & (np.abs(t) > 0), np.abs(t), 1.0)


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
    pr = _Problem(
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
        S = _screen(lo, hi, k)
        M = pr.margins(S)
        worst = M.min(axis=1)
        ok = worst >= 0
        if ok.any():
            cand = S[ok]
            best = cand[np.argmin([cost(d) for d in cand])]
            best = _bisect_towards_zero(pr, best)
            best = _polish_min_change(pr, best, lo, hi, span, tol)
            best = _strictly_inside(pr, best, lo, hi)
            feasible, how = True, "found"
        else:
            best = S[np.argmax(worst)]
            best = _polish_best_reachable(pr, best, lo, hi)
            feasible = bool(pr.margins(best)[0].min() >= -tol)
            how = "found" if feasible else "unreachable"
            if feasible:
                best = _polish_min_change(pr, best, lo, hi, span, tol)
                best = _strictly_inside(pr, best, lo, hi)
    return _result(pr, variables, bases, best, feasible, how, h, scenario)


def _check_from_year(from_year, h: Horizon, goal_set: GoalSet, goals, year) -> int:
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


def _screen(lo: np.ndarray, hi: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        pts = np.linspace(lo[0], hi[0], GRID_1D)[:, None]
    elif k == 2:
        a, b = np.meshgrid(np.linspace(lo[0], hi[0], GRID_2D), np.linspace(lo[1], hi[1], GRID_2D))
        pts = np.column_stack([a.ravel(), b.ravel()])
    else:
        U = unit_matrix(SCREEN_N, k, "sobol", 0)
        axes = []
        for j in range(k):
            for end in (lo[j], hi[j]):
                e = np.zeros(k)
                e[j] = end
                axes.append(e)
        pts = np.vstack([lo + U * (hi - lo), np.array(axes), hi[None, :]])
    return np.vstack([np.zeros((1, k)), pts])


def _bisect_towards_zero(pr: _Problem, d: np.ndarray) -> np.ndarray:
    """The point nearest 0 on the segment [0, d] that still meets every goal (batched)."""
    a, b = 0.0, 1.0
    for _ in range(3):  # 3 rounds of 17 points: 1/16^3 of the segment
        ts = np.linspace(a, b, 17)
        M = pr.margins(ts[:, None] * d[None, :]).min(axis=1)
        ok = np.flatnonzero(M >= 0)
        if ok.size == 0:
            return d * b
        i = ok[0]
        a, b = (ts[i - 1] if i > 0 else ts[0]), ts[i]
    return d * b


def _fd_jac(
    pr: _Problem, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Margins at d and their forward-difference Jacobian, in one engine call."""
    k = len(d)
    h = 1e-6 * np.maximum(hi - lo, 1e-12)
    sgn = np.where(d + h <= hi, 1.0, -1.0)
    X = np.vstack([d] + [d + sgn[j] * h[j] * np.eye(k)[j] for j in range(k)])
    M = pr.margins(X)
    return M[0], ((M[1:] - M[0]) / (sgn * h)[:, None]).T


def _polish_min_change(
    pr: _Problem, d0: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, tol: float
) -> np.ndarray:
    from scipy.optimize import minimize

    cons = {
        "type": "ineq",
        "fun": lambda d: pr.margins(d)[0],
        "jac": lambda d: _fd_jac(pr, d, lo, hi)[1],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = minimize(
            lambda d: float(np.sum((d / span) ** 2)),
            d0,
            jac=lambda d: 2 * d / span**2,
            method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)),
            constraints=[cons],
            options={"maxiter": 40, "ftol": 1e-10},
        )
    d = np.clip(r.x, lo, hi)
    if pr.margins(d)[0].min() >= -tol and np.sum((d / span) ** 2) <= np.sum((d0 / span) ** 2):
        return d
    return d0


def _strictly_inside(pr: _Problem, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``d`` pushed out by the least factor (1 + e, e up to 1e-3) that meets every goal
    with a margin (1e-9 of the target), so the rounded values written out still meet
    them; one batched call. ``d`` itself where none does."""
    es = np.concatenate([[0.0], 10.0 ** np.arange(-9, -2)])
    C = np.clip(d[None, :] * (1 + es[:, None]), lo, hi)
    ok = np.flatnonzero(pr.margins(C).min(axis=1) >= 1e-9)
    return C[ok[0]] if ok.size else d


def _polish_best_reachable(
    pr: _Problem, d0: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Maximise the worst margin t: max t s.t. margin_i(d) >= t (SLSQP on (d, t))."""
    from scipy.optimize import minimize

    k = len(d0)
    t0 = float(pr.margins(d0)[0].min())

    def cons_f(z: np.ndarray) -> np.ndarray:
        return pr.margins(z[:k])[0] - z[k]

    def cons_j(z: np.ndarray) -> np.ndarray:
        J = _fd_jac(pr, z[:k], lo, hi)[1]
        return np.hstack([J, -np.ones((J.shape[0], 1))])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = minimize(
            lambda z: -z[k],
            np.append(d0, t0),
            jac=lambda z: np.append(np.zeros(k), -1.0),
            method="SLSQP",
            bounds=[*zip(lo, hi, strict=True), (None, None)],
            constraints=[{"type": "ineq", "fun": cons_f, "jac": cons_j}],
            options={"maxiter": 40, "ftol": 1e-10},
        )
    d = np.clip(r.x[:k], lo, hi)
    return d if pr.margins(d)[0].min() >= t0 else d0


def _result(
    pr: _Problem,
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
    msg = _message(feasible, how, lev, gl, money, cons, pr.from_year)
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


def _describe_goals(gl: pd.DataFrame, col: str) -> str:
    parts = []
    for r in gl.itertuples():
        what = r.outcome.replace(":", " ")
        if math.isfinite(r.target):
            parts.append(
                f"{what} {getattr(r, col):.4g} {r.unit} against {r.target:.4g} in {r.year}"
            )
        else:
            parts.append(f"{what} {getattr(r, col):.4g} {r.unit} in {r.year}")
    return "; ".join(parts)


def _message(
    feasible: bool,
    how: str,
    lev: pd.DataFrame,
    gl: pd.DataFrame,
    money: pd.DataFrame | None = None,
    cons: pd.DataFrame | None = None,
    from_year: int | None = None,
) -> str:
    moved = [r for r in lev.itertuples() if abs(r.change) > 0]
    if len(moved) <= 2:
        moves = "; ".join(
            f"{r.lever} {r.value:.4g} (from {r.base:.4g}, {r.change:+.4g}, "
            f"{r.change_pct_of_range:+.1f}% "
            f"of its range [{r.min:g}, {r.max:g}]"
            f"{', whole schedule shifted' if r.schedule else ''})"
            for r in moved
        )
    else:
        moves = f"{len(moved)} levers moved (see the lever table)"
    when = f" from {from_year}" if from_year is not None else ""
    if how == "already met":
        return (
            f"The goals are already met without any change: {_describe_goals(gl, 'value_before')}."
        )
    tail = _money_text(money) + _binding_text(cons)
    if feasible:
        return (
            f"Smallest change{when} that meets the goals: {moves}. Then: "
            f"{_describe_goals(gl, 'value_after')} (before: "
            f"{_describe_goals(gl, 'value_before')})." + tail
        )
    ranges = ", ".join(f"{r.lever} in [{r.min:g}, {r.max:g}]" for r in lev.itertuples())
    if len(lev) > 2:
        ranges = f"the {len(lev)} levers within their ranges"
    return (
        f"No values{when} of {ranges} meet the goals. The best reachable: "
        f"{_describe_goals(gl, 'value_after')}, with {moves or 'no change'} "
        f"(before: {_describe_goals(gl, 'value_before')})." + tail
    )


def _money_text(money: pd.DataFrame | None) -> str:
    """Investment attracted by year and in total, in 亿元, with the answer."""
    if money is None or not len(money) or "investment_attracted" not in money:
        return ""
    years = money[money["year"] != "total"]
    total = money[money["year"] == "total"].iloc[0]
    a, b = years.iloc[0], years.iloc[-1]
    return (
        f" In money: investment attracted {a.investment_attracted:.0f} to "
        f"{b.investment_attracted:.0f}亿元 a year ({a.year}-{b.year}), "
        f"{total.investment_attracted:.0f}亿元 in all (before: "
        f"{total.investment_attracted_before:.0f}亿元)."
    )


def _binding_text(cons: pd.DataFrame | None) -> str:
    """The constraints that bind, named with their values."""
    if cons is None or not len(cons):
        return ""
    b = cons[cons["binding"]]
    if not len(b):
        return " No constraint of the model binds in the goal year."
    parts = []
    for (constraint, variable), grp in b.groupby(["constraint", "variable"], sort=False):
        where = [f"{r.place} {r.value:.3g}" for r in grp.itertuples()][:4]
        more = f" and {len(grp) - 4} more" if len(grp) > 4 else ""
        meaning = grp["meaning"].iloc[0].split(":")[0]
        parts.append(f"{constraint}: {variable} ({meaning}) {', '.join(where)}{more}")
    return " Binding: " + "; ".join(parts) + "."
