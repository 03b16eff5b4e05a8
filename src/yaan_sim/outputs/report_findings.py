"""The report's written findings, generated from the results (zh and en).

Per goal: the verdict in each scenario, the gap, the growth needed from the plan's start
against the growth simulated, and the constraints that bind. Per scenario: the levers
that differ from the reference and what that does to the goals. Every number is read
from the results and the goal table; the words come from this module's two catalogues.

"Binds" uses the model's own constraint outputs with thresholds of this report, not of
the model (README of models/, "which constraint binds when"):

- energy: ``required_energy_cut`` (the share of demand the city curtails) above 1 %;
- land: ``land_availability`` (quota over the land the park would need) below 1 in a park;
- budget: ``public_spending_coverage`` (the share of programmes the park can pay) below 95 %.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.outputs.evaluate import headline_rows
from yaan_sim.outputs.i18n import (
    LEDGER_WORDS_ZH,
    place_label,
    scenario_label,
    status_label,
    unit_label,
)
from yaan_sim.tables import format_number

#: The year the plan's levers start (models/README.md: history from 2013, levers from 2016).
PLAN_START = 2016
#: The plan's last year: constraints that bind later are outside the evaluation.
PLAN_END = 2020

#: (variable, test on its values, key of the words): a constraint binds where True.
CONSTRAINTS = (
    ("required_energy_cut", lambda v: v > 0.01, "energy"),
    ("land_availability", lambda v: v < 1.0, "land"),
    ("public_spending_coverage", lambda v: v < 0.99, "budget"),  # over 1 % left unpaid
)

_WORDS = {
    "en": {
        "energy": "the city's energy allocation (rationing above 1 %)",
        "land": "land quota",
        "budget": "the parks' ability to pay for programmes (over 1 % left unpaid)",
        "none": "no constraint binds",
        "binds": "{what} binds from {y}{where}",
        "in": " in {parks}",
        "from": " (from {y})",
        "goal_head": "{goal} ({scope}; target {target} {unit} in {year})",
        "goal_head_trend": "{goal} ({scope}; falling every year to {year})",
        "goal_head_base": "{goal} ({scope}; in {year} not above the simulated {base} level, "
        "{target} {unit})",
        "goal_head_bases": "{goal} ({scope}; in {year} not above each scenario's simulated {base} "
        "level)",
        "verdict": "{scen}: {status}, {value} {unit} ({gap_word} {gap} {gap_unit}, {pct} % of "
        "the target)",
        "points": "percentage points",
        "short": "worse than the target by",
        "over": "better than the target by",
        "growth": "From {y0} it needs {need} % a year; the simulated path grows {sim} % a year.",
        "trend": "{scen}: {status}; it fell every year up to {year}, by at least {value} %.",
        "trend_up": "{scen}: {status}; up to {year} it rose in some year, by up to {value} %.",
        "parks": "{scen}: {n} of {m} parks meet it; the largest shortfall is {park} ({pct} %).",
        "constraints": "Constraints: {text}.",
        "scen_head": "{scen} against {ref}",
        "levers": "Levers that differ: {levers}.",
        "no_levers": "No lever differs from {ref}.",
        "moves": "In {year}: {items}.",
        "move": "{goal} {diff} {unit}",
        "p_met": "P(met) {p}",
        "and": "; ",
        "effects": "The change in {goal} ({total} {unit}) lever by lever, each moved alone "
        "from {ref}'s setting to this scenario's (in brackets: moved last, the other levers "
        "as in this scenario already): {items}{rest}; what the levers do only together "
        "(interaction): {inter}.",
        "effects_rest": "; the other {n} together {sum}",
        "effects_summary": "Each lever alone, every goal (the others as in {ref})",
        "effects_last": "Each lever moved last (the others as in this scenario): the change "
        "that setting it alone back to {ref}'s undoes. Where it differs from the table above, "
        "the lever's effect depends on the others (a constraint it relieves is tighter or "
        "looser under them).",
        "effects_lever": "lever",
        "effects_alone_row": "{lever}: alone",
        "effects_last_row": "{lever}: last",
        "effects_interaction": "interaction (only together)",
        "effects_total": "whole change",
        "effects_none": "The levers' separate effects are not shown: {why}.",
    },
    "zh": {
        "energy": "全市能耗总量指标（限产比例超过1%）",
        "land": "用地指标",
        "budget": "园区财力（政策支出有超过1%未能支付）",
        "none": "未触及任何约束",
        "binds": "{what}自{y}年起成为约束{where}",
        "in": "（{parks}）",
        "from": "自{y}年起",
        "goal_head": "{goal}（{scope}；{year}年目标{target}{unit}）",
        "goal_head_trend": "{goal}（{scope}；至{year}年逐年下降）",
        "goal_head_base": "{goal}（{scope}；{year}年不高于{base}年模拟水平{target}{unit}）",
        "goal_head_bases": "{goal}（{scope}；{year}年不高于各情景自身的{base}年模拟水平）",
        "verdict": "{scen}：{status}，{value}{unit}"
        "（{gap_word}{gap}{gap_unit}，相当于目标的{pct}%）",
        "points": "个百分点",
        "short": "距目标差",
        "over": "优于目标",
        "growth": "自{y0}年起需年均增长{need}%，模拟路径年均增长{sim}%。",
        "trend": "{scen}：{status}；至{year}年逐年下降，降幅最小的一年下降{value}%。",
        "trend_up": "{scen}：{status}；至{year}年有年份未下降，最大年增幅{value}%。",
        "parks": "{scen}：{m}个园区中{n}个达标；差距最大的是{park}（{pct}%）。",
        "constraints": "约束：{text}。",
        "scen_head": "{scen}与{ref}相比",
        "levers": "不同的政策杠杆：{levers}。",
        "no_levers": "与{ref}相比没有不同的政策杠杆。",
        "moves": "{year}年：{items}。",
        "move": "{goal}{diff}{unit}",
        "p_met": "达标概率{p}",
        "and": "；",
        "effects": "{goal}的变化（{total}{unit}）按杠杆分解，每次只把一个杠杆从{ref}的设置"
        "改为本情景的设置（括号内为最后调整该杠杆、其余杠杆已按本情景设置时的作用）：{items}{rest}；"
        "各杠杆共同作用的部分（交互作用）{inter}。",
        "effects_rest": "；其余{n}项合计{sum}",
        "effects_summary": "各杠杆单独作用：全部目标（其余杠杆按{ref}设置）",
        "effects_last": "各杠杆最后调整时的作用（其余杠杆已按本情景设置）：只把该杠杆改回{ref}的"
        "设置所抵消的变化。与上表不同之处，说明该杠杆的作用取决于其他杠杆（它缓解的约束在其他杠杆"
        "作用下更紧或更松）。",
        "effects_lever": "政策杠杆",
        "effects_alone_row": "{lever}：单独调整",
        "effects_last_row": "{lever}：最后调整",
        "effects_interaction": "交互作用（共同作用部分）",
        "effects_total": "总变化",
        "effects_none": "未列出各杠杆的单独作用：{why}。",
    },
}


def _w(key: str, lang: str, **kw) -> str:
    return _WORDS[lang][key].format(**kw)


def _num(x, digits: int = 1) -> str:
    return format_number(x, digits)


def binding_constraints(ds: xr.Dataset, scenario: str | None, lang: str) -> str:
    """Which constraints bind, from which year and where, in one scenario: at any saved
    time from the plan start to before the end of its last year (the goals are judged on
    that year's totals, so a constraint that binds during it counts; the values on 1
    January alone missed the plan's land and budget, which bind from spring 2020; one that
    binds only at 1 January after it does not). A park that binds later than the first
    has its own year."""
    parts = []
    for name, test, key in CONSTRAINTS:
        if name not in ds.data_vars:
            continue
        da = ds[name]
        if scenario is not None and "scenario" in da.dims:
            da = da.sel(scenario=scenario)
        if "sample" in da.dims:
            da = da.median("sample")
        t = np.asarray(da["time"].values, dtype=float)
        da = da.isel(time=np.flatnonzero((t >= PLAN_START - 1e-9) & (t < PLAN_END + 1 - 1e-9)))
        hit = xr.apply_ufunc(test, da)
        if not bool(hit.any()):
            continue
        first = _first_year(hit)
        where = ""
        if "park" in hit.dims and hit.sizes["park"] > 1:
            parks = {
                str(p): _first_year(hit.sel(park=p))
                for p in hit["park"].values
                if bool(hit.sel(park=p).any())
            }
            if len(parks) < hit.sizes["park"] or len(set(parks.values())) > 1:
                names = "、" if lang == "zh" else ", "
                where = _w(
                    "in",
                    lang,
                    parks=names.join(
                        place_label("park", p, lang) + (_w("from", lang, y=y) if y > first else "")
                        for p, y in parks.items()
                    ),
                )
        parts.append(_w("binds", lang, what=_w(key, lang), y=first, where=where))
    return _w("and", lang).join(parts) if parts else _w("none", lang)


def _first_year(hit: xr.DataArray) -> int:
    """The calendar year of the first saved time where ``hit`` (over time, and any other
    dims) is true."""
    when = hit.any([d for d in hit.dims if d != "time"]) if hit.ndim > 1 else hit
    return math.floor(float(hit["time"].values[np.argmax(when.values)]) + 1e-9)


def goal_findings(ds: xr.Dataset, table: pd.DataFrame, goals, lang: str, titles) -> list[dict]:
    """One finding per binding goal: a heading and its sentences."""
    from yaan_sim.outputs.goal_metrics import annual_metric, scope_members

    rows = table[table["binding"]] if "binding" in table else table
    scen = list(dict.fromkeys(rows["scenario"])) if "scenario" in rows else [None]
    out = []
    for gid in dict.fromkeys(rows["goal_id"]):
        goal = goals[gid]
        g = rows[rows["goal_id"] == gid]
        scopes = list(dict.fromkeys(g["scope_name"]))
        first = g.iloc[0]
        unit = unit_label(str(first["unit"]), lang, annual=True)
        sentences = []
        if len(scopes) > 1:  # one sentence per scenario over the parks
            for sc in scen:
                part = g[g["scenario"] == sc] if sc is not None else g
                worst = part.loc[part["gap_pct"].idxmin()]
                sentences.append(
                    _w(
                        "parks",
                        lang,
                        scen=_scen(sc, lang, titles),
                        n=int((part["status"] == "met").sum()),
                        m=len(part),
                        park=worst["scope_label"],
                        pct=_num(worst["gap_pct"]),
                    )
                )
            head = f"{goal.name(lang)}"
            out.append({"head": head, "sentences": sentences})
            continue
        kind = "_trend" if goal.is_trend else "_base" if goal.uses_baseline else ""
        targets = g["target"].to_numpy(dtype=float)
        if kind == "_base" and not np.allclose(targets, targets[0], rtol=1e-9, atol=0):
            kind = "_bases"  # a baseline year in the plan period: a level per scenario
        head = _w(
            "goal_head" + kind,
            lang,
            base=goal.baseline_year,
            goal=goal.name(lang),
            scope=first["scope_label"],
            target=_num(first["target"], 1 if kind == "_base" else 2),
            unit=unit,
            year=int(first["goal_year"]),
        )
        for sc in scen:
            r = g[g["scenario"] == sc].iloc[0] if sc is not None else g.iloc[0]
            status = status_label(str(r["status"]), lang)
            if goal.is_trend:  # the largest year-on-year change: below 0 if it fell every year
                fell = r["value"] < 0
                sentences.append(
                    _w(
                        "trend" if fell else "trend_up",
                        lang,
                        scen=_scen(sc, lang, titles),
                        status=status,
                        value=_num(abs(r["value"]) if fell else r["value"]),
                        year=int(r["eval_year"]),
                    )
                )
                continue
            short = (r["gap"] < 0) == (goal.comparison == ">=")
            text = _w(
                "verdict",
                lang,
                scen=_scen(sc, lang, titles),
                status=status,
                value=_num(r["value"]),
                unit=unit,
                gap_word=_w("short" if short else "over", lang),
                gap=_num(abs(r["gap"])),
                gap_unit=_w("points", lang) if unit == "%" else unit,  # a share's gap
                pct=_num(abs(r["gap_pct"])),
            )
            if "p_met" in r and pd.notna(r["p_met"]):
                text += "，" if lang == "zh" else ", "
                text += _w("p_met", lang, p=_num(r["p_met"], 2))
            sentences.append(text)
        if not goal.is_trend and not goal.uses_baseline:
            members = [
                m for m in scope_members(ds, goal.scope, goal) if m[0] == first["scope_name"]
            ]
            parks = members[0][1] if members else None
            if parks is not None:
                series = annual_metric(ds, goal, parks)  # the goal table's basis
                if "sample" in series.dims:
                    series = series.median("sample")
                y0, y1 = PLAN_START, int(first["goal_year"])
                if y0 in series["year"].values and y1 in series["year"].values and y1 > y0:
                    for sc in scen:
                        s = series.sel(scenario=sc) if sc is not None else series
                        v0, v1 = float(s.sel(year=y0)), float(s.sel(year=y1))
                        if v0 > 0 and v1 > 0 and np.isfinite(first["target"]):
                            need = ((float(first["target"]) / v0) ** (1 / (y1 - y0)) - 1) * 100
                            sim = ((v1 / v0) ** (1 / (y1 - y0)) - 1) * 100
                            sentences.append(
                                (f"{_scen(sc, lang, titles)}{'：' if lang == 'zh' else ': '}")
                                + _w("growth", lang, y0=y0, need=_num(need), sim=_num(sim))
                            )
        out.append({"head": head, "sentences": sentences})
    cons = [
        f"{_scen(sc, lang, titles)}{'：' if lang == 'zh' else ': '}"
        + binding_constraints(ds, sc, lang)
        for sc in scen
    ]
    out.append({"head": _w("constraints", lang, text="").rstrip("。.: ："), "sentences": cons})
    return out


def _scen(sc, lang, titles) -> str:
    return scenario_label(sc, lang, titles) if sc is not None else ""


def scenario_findings(
    ds: xr.Dataset,
    table: pd.DataFrame,
    lang: str,
    titles,
    model=None,
    reference=None,
    effects: pd.DataFrame | None = None,
) -> list[dict]:
    """Per scenario against the reference (default: the first): the levers that differ,
    the change of each binding goal's value and, with ``effects``
    (:func:`yaan_sim.analysis.lever_effects.lever_effects` against the same reference),
    where the first goal's change comes from, lever by lever, and a table for every goal."""
    from yaan_sim.outputs.report_sections import _describe_lever, _lever_variables

    if "scenario" not in ds.dims or ds.sizes["scenario"] < 2:
        return []
    scen = [str(s) for s in ds["scenario"].values]
    ref = reference if reference in scen else scen[0]
    by_py = getattr(model, "by_py_name", {}) if model is not None else {}
    headline = headline_rows(table)
    out = []
    for sc in scen:
        if sc == ref:
            continue
        levers = []
        for py in _lever_variables(ds):
            a, b = ds[py].sel(scenario=sc), ds[py].sel(scenario=ref)
            if "sample" in a.dims:
                a, b = a.median("sample"), b.median("sample")
            if np.allclose(a.values, b.values, equal_nan=True):
                continue
            meta = by_py.get(py) if isinstance(by_py, dict) else None
            label = getattr(meta, "long_name_zh", "") if lang == "zh" else ""
            label = label or getattr(meta, "name", py)
            levers.append(f"{label} {_describe_lever(a, lang)}")
        sentences = [
            _w("levers", lang, levers=_w("and", lang).join(levers))
            if levers
            else _w("no_levers", lang, ref=_scen(ref, lang, titles))
        ]
        moves = []
        for _, part in headline.groupby("goal_id", sort=False):
            a = part[part["scenario"] == sc]
            b = part[part["scenario"] == ref]
            if not len(a) or not len(b):
                continue
            diff = float(a["value"].iloc[0]) - float(b["value"].iloc[0])
            if not np.isfinite(diff):
                continue
            moves.append(
                _w(
                    "move",
                    lang,
                    goal=f"{a['goal'].iloc[0]}（{a['scope_label'].iloc[0]}）"
                    if lang == "zh"
                    else f"{a['goal'].iloc[0]} ({a['scope_label'].iloc[0]})",
                    diff=_signed(diff),
                    unit=unit_label(str(a["unit"].iloc[0]), lang, annual=True),
                )
            )
        if moves:
            year = int(headline["eval_year"].iloc[0])
            sentences.append(_w("moves", lang, year=year, items=_w("and", lang).join(moves)))
        finding: dict[str, object] = {
            "head": _w(
                "scen_head", lang, scen=_scen(sc, lang, titles), ref=_scen(ref, lang, titles)
            ),
            "sentences": sentences,
            "effects": None,
        }
        mine = None if effects is None else effects[effects["scenario"] == sc]
        if mine is not None and len(mine):
            names = lever_names(model, lang)
            ref_label = _scen(ref, lang, titles)
            sentences.append(_effects_sentence(mine, headline, names, ref_label, lang))
            finding["effects"] = {
                "summary": _w("effects_summary", lang, ref=ref_label),
                "table": _effects_table(mine, headline, names, lang),
                "last_note": _w("effects_last", lang, ref=ref_label),
                "last_table": _effects_table(mine, headline, names, lang, kind="last"),
            }
        out.append(finding)
    return out


def effects_note(why: Exception, lang: str) -> str:
    """Why the levers' separate effects are not in the report, in the report's language."""
    reason = getattr(why, "reason", "")
    text = _REASONS.get(lang, {}).get(reason, str(why)) if lang == "zh" else str(why)
    return _w("effects_none", lang, why=text.rstrip("."))


#: :class:`~yaan_sim.analysis.lever_effects.LeverEffectsUnavailable` reasons, in Chinese
_REASONS = {
    "zh": {
        "ensemble": "结果为不确定性集合（多个样本），各杠杆的单独作用按确定性单次运行计算"
        "（请用 `yaan-sim run` 运行各情景）",
        "manifest": "结果文件缺少可用的运行记录（manifest），无法重建各情景",
        "kind": "结果不是由情景运行（`yaan-sim run` 或 `batch`）得到的",
        "model": "模型自结果生成以来已改变",
        "scenarios": "结果中少于两个情景",
        "rebuild": "无法由运行记录重建情景文件",
    }
}


def lever_names(model, lang: str) -> dict[str, str]:
    """``{Vensim name: label}``: the Chinese long name in Chinese, else the Vensim name."""
    meta = getattr(model, "meta", {}) if model is not None else {}
    if lang != "zh" or not isinstance(meta, dict):
        return {}
    return {name: m.long_name_zh for name, m in meta.items() if getattr(m, "long_name_zh", "")}


def _signed(x: float) -> str:
    text = _num(x)
    return text if text.startswith("-") or text == "0" else "+" + text


def _decimals(effects: pd.Series) -> int:
    """Decimals that show a column's largest effect to two significant digits (one at
    least): one precision for a whole column, so that its figures can be added by eye."""
    largest = float(effects.abs().max())
    if not math.isfinite(largest) or largest == 0:
        return 1
    return max(1, 1 - math.floor(math.log10(largest)))


def _fixed(x: float, decimals: int) -> str:
    """``x`` with its sign and ``decimals`` decimals; ``0`` where it rounds to zero."""
    if round(x, decimals) == 0:
        return "0"
    return f"{x:+,.{decimals}f}"


def _goal_label(rows: pd.DataFrame, lang: str) -> str:
    goal, scope = rows["goal"].iloc[0], rows["scope_label"].iloc[0]
    return f"{goal}（{scope}）" if lang == "zh" else f"{goal} ({scope})"


def _effects_sentence(
    effects: pd.DataFrame, headline: pd.DataFrame, names: dict, ref: str, lang: str
) -> str:
    """The first headline goal's change: its three largest lever effects, the rest summed,
    and the interaction."""
    gid = next(g for g in dict.fromkeys(headline["goal_id"]) if g in set(effects["goal_id"]))
    rows = effects[effects["goal_id"] == gid]
    alone = rows[rows["kind"] == "alone"].set_index("lever")["effect"]
    last = rows[rows["kind"] == "last"].set_index("lever")["effect"]
    # the largest by either measure: a lever that acts only through the others shows too
    size = np.maximum(alone.abs(), last.reindex(alone.index).abs().fillna(0))
    order = list(size.sort_values(ascending=False, kind="stable").index)
    top, rest = order[:3], order[3:]
    unit = unit_label(str(rows["unit"].iloc[0]), lang, annual=True)
    bracket = "（{}）" if lang == "zh" else " ({})"
    items = _w("and", lang).join(
        f"{names.get(lv, lv)} {_signed(alone[lv])}"
        + (bracket.format(_signed(last[lv])) if lv in last.index else "")
        for lv in top
    )
    return _w(
        "effects",
        lang,
        goal=_goal_label(headline[headline["goal_id"] == gid], lang),
        total=_signed(float(rows.loc[rows["kind"] == "total", "effect"].iloc[0])),
        unit=unit,
        ref=ref,
        items=items,
        rest=_w("effects_rest", lang, n=len(rest), sum=_signed(float(alone[rest].sum())))
        if len(rest)
        else "",
        inter=_signed(float(rows.loc[rows["kind"] == "interaction", "effect"].iloc[0])),
    )


def effects_headers(effects: pd.DataFrame, headline: pd.DataFrame, lang: str) -> dict[str, str]:
    """``{goal id: column header}`` of a lever-effects table, in the headline goals' order:
    the goal, its place and the unit of its effects."""
    out = {}
    for gid in dict.fromkeys(headline["goal_id"]):
        rows = effects[effects["goal_id"] == gid]
        if not len(rows):
            continue
        unit = unit_label(str(rows["unit"].iloc[0]), lang, annual=True)
        label = _goal_label(headline[headline["goal_id"] == gid], lang)
        out[gid] = f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"
    return out


def effects_row_label(
    kind: str, lever: str, names: dict[str, str], lang: str, plain: bool = False
) -> str:
    """A lever-effects row's label: the lever (``names``: :func:`lever_names`) and how it
    was moved (alone, last; ``plain``: the lever only, where a table holds one kind), or
    the interaction or the whole change."""
    if kind == "interaction":
        return _w("effects_interaction", lang)
    if kind == "total":
        return _w("effects_total", lang)
    name = names.get(lever, lever)
    return name if plain else _w(f"effects_{kind}_row", lang, lever=name)


def _effects_table(
    effects: pd.DataFrame, headline: pd.DataFrame, names: dict, lang: str, kind: str = "alone"
):
    """Levers down (each moved ``kind``: alone or last), headline goals across; then the
    whole change, after the interaction for the levers alone (the two add up to it)."""
    from yaan_sim.outputs.report_sections import Cell, Table

    headers = effects_headers(effects, headline, lang)
    goals = list(headers)
    value = {(r.goal_id, r.kind, r.lever): r.effect for r in effects.itertuples()}
    decimals = {g: _decimals(effects.loc[effects["goal_id"] == g, "effect"]) for g in goals}
    levers = list(dict.fromkeys(effects.loc[effects["kind"] == kind, "lever"]))
    after = [("interaction", ""), ("total", "")] if kind == "alone" else [("total", "")]
    lines = [(kind, lv) for lv in levers] + after
    return Table(
        [_w("effects_lever", lang), *headers.values()],
        [
            [Cell(effects_row_label(k, lv, names, lang, plain=True), bold=k == "total")]
            + [Cell(_fixed(value[(g, k, lv)], decimals[g]), cls="num") for g in goals]
            for k, lv in lines
        ],
    )


# ------------------------------------------------------------------ more sections

_HEADS = {
    "en": {
        "findings": "Findings",
        "by_goal": "By goal",
        "by_scenario": "By scenario",
        "backtest": "The model against published figures",
        "backtest_text": (
            "Every figure of the data ledger that the model measures like with like, compared "
            "with the scenario {s}: {n} figures from {k} sources, {f} fitted (to {c}) and {h} "
            "held out (after {c}). Errors per series and role:"
        ),
        "backtest_none": "No ledger figure could be compared: {why}",
        "loops": "Loop dominance",
        "loops_text": (
            "The feedback loops that explain most of each park's change in each period "
            "(loops that matter, Schoenberg, Eberlein and Barlas 2020), from {f}."
        ),
        "loops_none": (
            "Not computed for this report (it takes minutes per scenario): run "
            "`yaan-sim loops RESULTS.nc --netcdf LOOPS.nc` and then "
            "`yaan-sim report RESULTS.nc --loops LOOPS.nc`."
        ),
        "variable": "variable",
        "scope": "scope",
        "kind": "kind",
        "unit": "unit",
        "role": "role",
        "n": "n",
        "MAPE": "mean abs. error %",
        "bias": "mean error",
        "fit": "fitted",
        "held-out": "held out",
        "park": "park",
        "period": "period",
        "loop": "dominant loop",
        "polarity": "polarity",
        "share": "share",
        "path": "path",
        "scenario": "scenario",
    },
    "zh": {
        "findings": "主要发现",
        "by_goal": "分目标",
        "by_scenario": "分情景",
        "backtest": "模型与公开数据对照",
        "backtest_text": (
            "数据台账中模型可同口径计量的每个数字，与{s}对照：共{n}个数字、{k}个来源，"
            "其中{f}个用于拟合（{c}年及以前），{h}个留作检验（{c}年以后）。分序列、分用途的误差："
        ),
        "backtest_none": "没有可对照的台账数字：{why}",
        "loops": "反馈回路主导分析",
        "loops_text": (
            "各园区各时段中解释大部分变化的反馈回路（loops that matter 方法，"
            "Schoenberg、Eberlein、Barlas 2020），数据来自{f}。"
        ),
        "loops_none": (
            "本报告未计算（每个情景需数分钟）：先运行 `yaan-sim loops RESULTS.nc --netcdf "
            "LOOPS.nc`，再运行 `yaan-sim report RESULTS.nc --loops LOOPS.nc`。"
        ),
        "variable": "变量",
        "scope": "范围",
        "kind": "类型",
        "unit": "单位",
        "role": "用途",
        "n": "个数",
        "MAPE": "平均绝对误差（%）",
        "bias": "平均误差",
        "fit": "拟合",
        "held-out": "检验",
        "park": "园区",
        "period": "时段",
        "loop": "主导回路",
        "polarity": "极性",
        "share": "贡献",
        "path": "路径",
        "scenario": "情景",
    },
}


def heads(lang: str) -> dict[str, str]:
    """The section headings of this module's sections."""
    return _HEADS[lang]


def backtest_section(ds: xr.Dataset, model, lang: str, titles, dpi: int = 90) -> dict:
    """The "model against published figures" section: the error summary (in-sample and
    held-out) and the back-test chart (PNG bytes), or why there is none."""
    from yaan_sim.analysis.backtest import backtest, error_summary
    from yaan_sim.analysis.backtest_observations import DEFAULT_CUTOFF
    from yaan_sim.outputs.report_sections import Cell, Table

    H = _HEADS[lang]
    scen = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [None]
    sc = "baseline" if "baseline" in scen else scen[0]
    try:
        table = backtest(model, ds, scenario=sc)
    except Exception as exc:  # results that do not reach the ledger's years
        return {"missing": H["backtest_none"].format(why=exc)}
    used = table[table["role"].isin(["fit", "held-out"]) & table["simulated"].notna()]
    if not len(used):
        return {"missing": H["backtest_none"].format(why="—")}
    summary = error_summary(table)
    cols = ("variable", "scope", "kind", "unit", "role", "n", "MAPE", "bias")
    t = Table([H[c] for c in cols])
    measure = dict(zip(used["variable"], used["measure_zh"], strict=False)) if lang == "zh" else {}
    kinds = LEDGER_WORDS_ZH["kind"] if lang == "zh" else {}
    for rec in summary.to_dict("records"):
        scope = str(rec["scope"])
        in_parks = scope in set(map(str, ds["park"].values)) if "park" in ds.dims else False
        t.rows.append(
            [
                Cell(str(measure.get(rec["variable"]) or rec["variable"])),
                Cell(place_label("park" if in_parks else "city", scope, lang)),
                Cell(kinds.get(str(rec["kind"]), str(rec["kind"]))),
                Cell(str(rec["unit"])),
                Cell(H.get(rec["role"], rec["role"])),
                Cell(str(rec["n"])),
                Cell(_num(rec["MAPE"])),
                Cell(_num(rec["bias"], 2)),
            ]
        )
    text = H["backtest_text"].format(
        s=scenario_label(sc, lang, titles) if sc is not None else "",
        n=len(used),
        k=used["source"].nunique(),
        f=int((used["role"] == "fit").sum()),
        h=int((used["role"] == "held-out").sum()),
        c=DEFAULT_CUTOFF,
    )
    return {"missing": None, "text": text, "table": t, "png": _backtest_png(table, lang, dpi)}


def _backtest_png(table: pd.DataFrame, lang: str, dpi: int) -> bytes:
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    from yaan_sim.analysis.backtest_chart import backtest_chart
    from yaan_sim.outputs.fonts import font_families

    with matplotlib.rc_context({"font.family": font_families(lang)}):
        fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
        backtest_chart(table, ax=axes[0], lang=lang, kind="levels")
        backtest_chart(table, ax=axes[1], lang=lang, kind="growth")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
    return buf.getvalue()


def loops_section(loops: xr.Dataset | None, lang: str, source: str = "") -> dict:
    """The loop-dominance section: the dominant loop of each park in each two-year period
    of the plan (from a ``yaan-sim loops --netcdf`` file), or how to get it."""
    from yaan_sim.analysis.loops import dominant_loops
    from yaan_sim.outputs.report_sections import Cell, Table

    H = _HEADS[lang]
    if loops is None:
        return {"missing": H["loops_none"]}
    table = dominant_loops(loops, period=1.0)
    table = table[(table["rank"] == 1) & (table["period"] >= PLAN_START)]
    cols = [c for c in ("scenario", "park", "period", "loop", "polarity", "share", "path")]
    cols = [c for c in cols if c in table.columns]
    t = Table([H[c] for c in cols])
    for rec in table.to_dict("records"):
        row = []
        for c in cols:
            v = rec[c]
            if c == "park":
                v = place_label("park", str(v), lang)
            elif c == "period":
                v = f"{v:g}"
            elif c == "share":
                v = _num(v, 2)
            row.append(Cell(str(v)))
        t.rows.append(row)
    return {
        "missing": None,
        "text": H["loops_text"].format(f=source),
        "table": t,
        "png": _loops_png(loops, lang),
    }


def _loops_png(loops: xr.Dataset, lang: str, dpi: int = 80) -> bytes:
    """The loop-dominance chart of the first park (ETDZ) as PNG bytes."""
    import io

    import matplotlib.pyplot as plt

    from yaan_sim.outputs.charts_loops import plot_loop_dominance

    ax = plot_loop_dominance(loops, lang=lang)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=dpi)
    plt.close(ax.figure)
    return buf.getvalue()


_BOUND = {
    "en": {
        "head": "A bound independent of the model",
        "text": (
            "What 2000亿 of park revenue in 2020 would need from the nine parks' {r}亿 in 2016 "
            "(the results' own calendar-year total), if the added revenue were industrial, "
            "against the city's totals; figures from models/data/bound.csv and the data "
            "ledger. The model adds which levers move the goals, how far, and at what cost."
        ),
        "cols": ("what it needs", "amount", "unit", "against", "multiple"),
        "growth": "revenue growth a year, 2016-2020",
        "investment_per_year": "industrial investment a year in place, 2016-2019",
        "land": "land developed, 2016-2020",
        "workers": "industrial workers in 2020",
        "rd": "R&D a year at 1.2 % of revenue",
        "city_fai_2018": "Ya'an's whole fixed investment, 2018",
        "industrial_workers_2013": "all of Ya'an's industrial workers, 2013",
        "city_rd_industrial_2020": "Ya'an's above-scale industrial R&D, 2020",
    },
    "zh": {
        "head": "独立于模型的约束测算",
        "text": (
            "若新增营业收入均为工业产出，九个园区由2016年的{r}亿元（本结果的全年累计）"
            "增至2020年2000亿元所需的投资、土地、劳动力和研发投入，并与全市总量对照；"
            "数据见 models/data/bound.csv 和数据台账。"
            "模型在此之上回答哪些杠杆能推动目标、推动多少、代价如何。"
        ),
        "cols": ("所需", "数量", "单位", "对照", "倍数"),
        "growth": "2016—2020年营业收入年均增速",
        "investment_per_year": "2016—2019年每年到位工业投资",
        "land": "2016—2020年新开发用地",
        "workers": "2020年工业从业人员",
        "rd": "按营业收入1.2%计的年研发经费",
        "city_fai_2018": "2018年全市全社会固定资产投资",
        "industrial_workers_2013": "2013年全市工业从业人员",
        "city_rd_industrial_2020": "2020年全市规上工业研发经费",
    },
}
_BOUND_UNITS = {"en": {"亿元/yr": "100 million yuan a year", "亿元": "100 million yuan",
                       "亩": "mu", "人": "people", "%/yr": "% a year"},
                "zh": {"亿元/yr": "亿元/年", "%/yr": "%/年"}}  # fmt: skip


def bound_section(ds: xr.Dataset, lang: str) -> dict:
    """The independent bound (:mod:`yaan_sim.outputs.bound`) as a table, or why not."""
    from yaan_sim.errors import YaanSimError
    from yaan_sim.outputs.bound import independent_bound
    from yaan_sim.outputs.calendar_years import plan_start_of, yearly
    from yaan_sim.outputs.report_sections import Cell, Table

    B: dict[str, str] = _BOUND[lang]  # type: ignore[assignment]  # texts only here
    rev = ds["revenue"].sum("park", skipna=False)
    for d in ("scenario", "sample"):
        if d in rev.dims:
            rev = rev.isel({d: 0})
    try:  # the calendar-year total, as the goal table measures revenue
        start = float(yearly(rev, "total", plan_start_of(ds)).sel(year=PLAN_START))
        rows = independent_bound(start)
    except (KeyError, YaanSimError) as exc:
        return {"missing": f"{B['head']}: {exc}"}
    t = Table(list(B["cols"]))
    for r in rows:
        amount = _num(r["low"], 0 if r["low"] > 100 else 1)
        if r["high"] is not None:
            amount += f"–{_num(r['high'], 0 if r['high'] > 100 else 1)}"
        mult = ""
        if r["ratio_low"] is not None:
            mult = f"{r['ratio_low']:.1f}"
            if r["ratio_high"] is not None:
                mult += f"–{r['ratio_high']:.1f}"
            mult += "×" if lang == "en" else "倍"
        unit = _BOUND_UNITS[lang].get(r["unit"], r["unit"])
        against = (
            f"{B[r['against']]}: {_num(r['against_value'], 0 if r['against_value'] > 100 else 2)}"
            if r["against"]
            else ""
        )
        t.rows.append([Cell(B[r["need"]]), Cell(amount), Cell(unit), Cell(against), Cell(mult)])
    return {
        "missing": None,
        "head": B["head"],
        "text": B["text"].format(r=_num(start, 0)),
        "table": t,
    }
