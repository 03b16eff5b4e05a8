"""Seek's words: the answer in one paragraph, and the labels of its tables (en, zh)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TABLE_TITLES = {
    "en": (
        "Levers",
        "Goals",
        "What it means in money (亿元, calendar-year totals)",
        "Constraints in the goal year",
    ),
    "zh": ("杠杆", "目标", "折合资金（亿元，全年累计）", "目标年的约束"),
}
COLUMNS_ZH = {
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
MEANING_ZH = {
    "Required energy cut": "全市压减的能源需求比例（能耗双控）",
    "Perceived energy ratio": "能源需求与园区能耗指标之比（0.85起压减）",
    "Land supply factor": "新项目用地保障率",
    "Public spending coverage": "园区财政支出保障率（基金、奖补、基础设施）",
    "Land availability": "用地指标保障倍数（相对基准增长所需用地）",
}
CONSTRAINT_ZH = {
    "energy allocation": "能耗总量指标",
    "land": "用地指标",
    "lever range": "杠杆取值范围",
    "ability to pay": "园区财政兑现能力",
}


def cell_text(v: object, lang: str = "en") -> str:
    if isinstance(v, (bool, np.bool_)):
        return ("是" if v else "否") if lang == "zh" else ("yes" if v else "no")
    if lang == "zh" and v in ("city", "total"):
        return {"city": "全市", "total": "合计"}[str(v)]
    if isinstance(v, (float, np.floating)):
        from yaan_sim.tables import format_number

        x = float(v)
        return format_number(x, 2 if abs(x) >= 1 or x == 0 else 4)
    return str(v)


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


def answer_message(
    feasible: bool,
    how: str,
    lev: pd.DataFrame,
    gl: pd.DataFrame,
    money: pd.DataFrame | None = None,
    cons: pd.DataFrame | None = None,
    from_year: float | None = None,
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
