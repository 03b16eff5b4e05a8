"""The evaluation report: one self-contained HTML file (charts embedded as base64 PNG).

``write_report(ds, "report.html", lang="zh")`` writes, in order: a summary of goal
status, the scenarios and their levers (the variables the scenario
runner stores), the plan's goals as encoded, the goal tables, the mid-term view (observed
figures and the growth they now need), the charts, the model's assumptions (its
constants whose ``source:`` starts with "assumed"), the status rule, and the run manifest.

:func:`write_outputs` writes the same plus the goal table (CSV and Markdown) and each
chart as a PNG into a folder, for ``make run``.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.evaluate import (
    AT_RISK_MARGIN,
    DEFAULT_OBSERVED,
    STATUS_ZH,
    check_results,
    evaluate,
    format_table,
    load_observed,
    summary,
    what_it_takes,
)
from yaan_sim.outputs.goals import Goal, GoalSet, load_goals, scope_label
from yaan_sim.outputs.results import check_writable, write_atomic


@dataclass
class Chart:
    """A rendered chart: key (file stem), caption, PNG bytes."""

    key: str
    caption: str
    png: bytes


# ------------------------------------------------------------------ texts

_T = {
    "title": (
        "Ya'an industrial parks: evaluation against the 2016-2020 plan",
        "雅安市产业园区发展规划(2016-2020年)评估报告",
    ),
    "subtitle": (
        "Evaluation year {y}; simulated with yaan-sim.",
        "评估年份:{y}年;由 yaan-sim 模拟。",
    ),
    "summary": ("Summary", "概要"),
    "summary_text": (
        "Binding goals (the plan's own scope) by status, per scenario.",
        "各情景下规划目标(按规划所定范围)的完成状态统计。",
    ),
    "scenarios": ("Scenarios and their levers", "情景与政策杠杆"),
    "no_levers": (
        "The results hold no lever variables (variables with the attribute "
        "role = lever, which the scenario runner writes), so the levers cannot be "
        "listed here.",
        "结果中没有政策杠杆变量(属性 role = lever,由情景运行器写入),因此无法在此列出。",
    ),
    "levers_text": (
        "Values per scenario (time: value where they change; per park where "
        "parks differ); bold: different from the first scenario.",
        "各情景取值(随时间变化时列出变化时点,各园区不同时分园区列出);粗体表示与第一个情景不同。",
    ),
    "scenario_list": ("Scenarios in the results: {s}.", "结果中的情景:{s}。"),
    "lever": ("lever", "杠杆"),
    "units": ("units", "单位"),
    "scenario": ("scenario", "情景"),
    "values": ("values", "取值"),
    "goals": ("The plan's goals (section 一(三))", "规划目标(一(三))"),
    "goals_text": (
        "Every quantitative goal of the plan, as encoded in {f}. Places other than "
        "the goal's own scope are evaluated for information only.",
        "规划中的全部量化目标,编码于 {f}。目标所定范围以外的园区或片区仅作参考。",
    ),
    "id": ("id", "编号"),
    "goal": ("goal", "目标"),
    "section": ("section", "条款"),
    "text": ("plan text", "规划原文"),
    "metric": ("metric", "指标算法"),
    "target": ("target", "目标值"),
    "scope": ("scope", "范围"),
    "note": ("reading", "解读"),
    "table": ("Goal table", "目标完成情况表"),
    "binding_rows": ("Binding goals", "规划目标"),
    "detail_rows": (
        "Details: gap, year first met, growth needed and simulated",
        "明细:差距、首次达标年份、所需增速与模拟增速",
    ),
    "info_rows": ("Other places (information only)", "其他范围(仅供参考)"),
    "midterm": (
        "Mid-term view: observed figures and what it would take",
        "中期评估:实际数据与达标所需增速",
    ),
    "midterm_text": (
        "Observed figures ({f}) replace simulated values where they exist. "
        "Growth needed: the compound annual growth from the latest observed "
        "figure to the 2020 target.",
        "有实际数据处以实际数据替代模拟值({f})。所需增速:从最新实际值到2020年目标"
        "所需的年均复合增速。",
    ),
    "no_observed": ("No observed figures were given.", "未提供实际数据。"),
    "observed_data": ("Observed figures and sources", "实际数据及来源"),
    "charts": ("Charts", "图表"),
    "assumptions": ("Assumptions of the model", "模型假设"),
    "assumptions_text": (
        'Constants of {m} whose documented source starts with "assumed" '
        "({n}). No public figure supports them; results depend on them.",
        '{m} 中来源注明为 "assumed"(假设)的常数共 {n} 个。它们没有公开数据支撑,'
        "结果依赖于这些假设。",
    ),
    "no_model": (
        "The model's documentation could not be read, so its assumptions are not listed: {e}",
        "无法读取模型文档,因此未列出模型假设:{e}",
    ),
    "name": ("name", "名称"),
    "range": ("range", "取值范围"),
    "source": ("source", "来源"),
    "rule": ("How status is judged", "完成状态判定规则"),
    "manifest": ("Run manifest", "运行清单"),
    "no_manifest": (
        "The results carry no run manifest (attribute 'manifest').",
        "结果中没有运行清单(manifest 属性)。",
    ),
    "status": ("status", "状态"),
    "value": ("value", "数值"),
    "gap": ("gap", "差距"),
    "gap_pct": ("gap %", "差距%"),
    "first": ("first met", "首次达标"),
    "need": ("growth needed %/yr", "所需增速%/年"),
    "sim": ("growth simulated %/yr", "模拟增速%/年"),
    "p_met": ("P(met)", "达标概率"),
    "unit": ("unit", "单位"),
    "place": ("place", "范围"),
    "obs_year": ("latest observed year", "最新实际年份"),
    "observed": ("observed", "实际值"),
    "year": ("year", "年份"),
    "confidence": ("confidence", "可信度"),
    "c_city": ("City park revenue against the 2000亿 goal", "全市园区营业收入与2000亿元目标"),
    "c_parks": ("Each park's revenue against its 2020 target", "各园区营业收入与2020年目标"),
    "c_table": ("Traffic-light goal table", "目标完成情况(红绿灯)"),
    "c_gaps": ("Gap to target (% of target), level goals", "与目标的差距(占目标%)"),
    "c_compare": ("Scenario comparison: park revenue in 2020", "情景比较:2020年各园区营业收入"),
    "c_fan": (
        "Ensemble fan charts (median, 50% and 90% bands): {g}, {p}",
        "集合模拟扇形图(中位数、50%和90%区间):{p}{g}",
    ),
}

_RULE = {
    "en": [
        "The value of a year Y is the model's value at t = Y.0.",
        "Goals with a target (>= or <=): in the goal year a goal is <b>met</b> or "
        "<b>missed</b>. Before it, the value in the evaluation year (observed if given) is "
        "projected to the goal year at the growth rate simulated from the evaluation year: "
        "<b>met</b> if the target holds now and on the projection, <b>on track</b> if only on "
        "the projection (simulated growth at least the growth needed), <b>at risk</b> if the "
        "growth needed exceeds the simulated growth by at most {m:g} percentage points a "
        "year, <b>missed</b> otherwise.",
        "Falling every year (energy and water per unit output): the value is the largest "
        "year-on-year change up to the evaluation year and must be below 0. <b>missed</b> if "
        "the metric failed to fall in some year already; <b>at risk</b> if the simulated path "
        "fails to fall in a later year; <b>on track</b> if it falls every year to the goal "
        "year; <b>met</b> when the goal year is reached with a fall in every year.",
        'Pollutants "controlled": the city\'s total in the goal year is not above its 2016 '
        "level (the plan's total-amount control, 二(五)3; no figure is set for Ya'an).",
        "With an ensemble (sample dim), the columns describe the median path and P(met) is "
        "the share of samples that meet the goal.",
    ],
    "zh": [
        "某年Y的数值取模型在 t = Y.0 时的值。",
        "有目标值的目标(≥ 或 ≤):到目标年份时为<b>已达标</b>或<b>未达标</b>。目标年份之前,以评估年的数值"
        "(有实际数据时用实际值)按评估年起的模拟增速外推到目标年份:当前和外推均满足目标为<b>已达标</b>;"
        "仅外推满足(模拟增速不低于所需增速)为<b>进展顺利</b>;所需增速超出模拟增速不多于每年 {m:g} "
        "个百分点为<b>有风险</b>;否则为<b>未达标</b>。",
        "逐年下降(单位产值能耗、用水量):数值为截至评估年的最大同比变化,须小于0。已有某年未下降为"
        "<b>未达标</b>;模拟路径此后某年未下降为<b>有风险</b>;此后逐年下降为<b>进展顺利</b>;"
        "到目标年份逐年下降为<b>已达标</b>。",
        '主要污染物"得到有效控制":全市排放总量在目标年份不高于2016年水平(规划二(五)3 污染物排放'
        "总量控制制度;雅安未公布具体数值)。",
        "集合模拟(sample 维)时,各列描述中位数路径,达标概率为达标样本的比例。",
    ],
}

_CSS = """
body{font-family:"YaanSim CJK","Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",
 "DejaVu Sans",sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;
 line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.st-met{background:#1b7837;color:#fff}.st-on-track{background:#7fbf7b}
.st-at-risk{background:#f1a340}.st-missed{background:#d73027;color:#fff}
.st-no-data{background:#bdbdbd}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}pre{background:#f7f7f7;padding:.8em;overflow:auto;
 font-size:.8em}details{margin:.6em 0}.note{color:#555;font-size:.9em}
"""


def _t(key: str, lang: str, **kw) -> str:
    en, zh = _T[key]
    return (zh if lang == "zh" else en).format(**kw)


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _num(x, digits=2) -> str:
    if x is None:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "✓" if x else ""
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return _e(x)
    if not math.isfinite(xf):
        return ""
    if xf.is_integer() and abs(xf) >= 1:
        return f"{int(xf):,}"
    return f"{xf:,.{digits}f}" if abs(xf) >= 0.01 else f"{xf:.3g}"


def _display_path(path) -> str:
    """A path relative to the project root when inside it, else the file name."""
    from yaan_sim.paths import PROJECT_ROOT

    try:
        return Path(path).resolve().relative_to(Path(PROJECT_ROOT).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _year(x) -> str:
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return ""
    return str(int(xf)) if math.isfinite(xf) else ""


def _status_cell(status: str, lang: str) -> str:
    cls = "st-" + status.replace(" ", "-")
    label = STATUS_ZH.get(status, status) if lang == "zh" else status
    return f'<td class="{cls}">{_e(label)}</td>'


def _html_table(header: list[str], rows: Iterable[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------ pieces


def _fig_png(fig, dpi: int) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def render_charts(
    ds: xr.Dataset,
    table: pd.DataFrame,
    goals: GoalSet,
    *,
    lang: str = "zh",
    observed: pd.DataFrame | None = None,
    year: int = 2020,
    dpi: int = 90,
) -> list[Chart]:
    """Draw the report's charts and return them as PNG bytes."""
    import matplotlib

    from yaan_sim.outputs import charts

    out: list[Chart] = []
    # Each figure is closed as soon as it is saved (_fig_png), so none piles up or shows.
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        ids = set(goals.ids)
        if "revenue_city" in ids:
            ax = charts.plot_city_total(ds, lang=lang, goals=goals, observed=observed)
            out.append(Chart("city_total", _t("c_city", lang), _fig_png(ax.figure, dpi)))
        if "revenue_park" in ids:
            axes = charts.plot_park_trajectories(ds, lang=lang, goals=goals, observed=observed)
            out.append(
                Chart("park_trajectories", _t("c_parks", lang), _fig_png(axes.flat[0].figure, dpi))
            )
        ax = charts.plot_goal_table(table, lang=lang)
        out.append(Chart("goal_table", _t("c_table", lang), _fig_png(ax.figure, dpi)))
        scen = list(dict.fromkeys(table["scenario"])) if "scenario" in table.columns else [None]
        try:
            ax = charts.plot_goal_gaps(table, lang=lang)
            out.append(Chart("goal_gaps", _t("c_gaps", lang), _fig_png(ax.figure, dpi)))
        except YaanSimError:
            pass  # no level goals
        if "revenue_park" in ids and ("scenario" in ds.dims or "sample" in ds.dims):
            ax = charts.plot_scenario_comparison(ds, lang=lang, goals=goals, year=year)
            out.append(
                Chart("scenario_comparison", _t("c_compare", lang), _fig_png(ax.figure, dpi))
            )
        if "sample" in ds.dims:
            import matplotlib.pyplot as plt

            from yaan_sim.outputs.fonts import font_families

            for gid, place in (("revenue_city", None), ("revenue_park", "ETDZ")):
                if gid not in ids:
                    continue
                g = goals[gid]
                ncol = min(len(scen), 3)
                nrow = -(-len(scen) // ncol)
                fig, axes = plt.subplots(
                    nrow,
                    ncol,
                    figsize=(4.6 * ncol, 3.3 * nrow),
                    squeeze=False,
                    sharey=True,
                    layout="constrained",
                )
                for ax, sc in zip(axes.flat, scen):
                    charts.plot_fan(
                        ds, g, place, ax=ax, lang=lang, goals=goals, scenario=sc, observed=observed
                    )
                    ax.set_title(sc or "", fontsize=10, fontfamily=font_families(lang))
                for ax in axes.flat[len(scen) :]:
                    ax.set_visible(False)
                for ax in axes.flat[1 : len(scen)]:  # one legend is enough
                    if ax.get_legend() is not None:
                        ax.get_legend().remove()
                p = scope_label("park" if place else "city", place or "", lang)
                out.append(
                    Chart(f"fan_{gid}", _t("c_fan", lang, g=g.name(lang), p=p), _fig_png(fig, dpi))
                )
        # the other goals, grouped: one figure per kind of metric
        rest = [g for g in goals if g.id not in ("revenue_city", "revenue_park")]
        groups: dict[str, list[Goal]] = {}
        for g in rest:
            kind = "trend" if g.is_trend else "baseline" if g.uses_baseline else f"level_{g.id}"
            groups.setdefault(kind, []).append(g)
        for kind, members in groups.items():
            key = {"trend": "goals_per_output", "baseline": "goals_pollutants"}.get(
                kind, f"goal_{members[0].id}"
            )
            axes = charts.plot_goal_panels(ds, members, lang=lang, observed=observed)
            caption = "; ".join(g.name(lang) for g in members)
            out.append(Chart(key, caption, _fig_png(axes.flat[0].figure, dpi)))
    return out


def assumptions(model=None) -> tuple[list, str | None]:
    """The model's documented assumptions: ``(list of VarMeta, None)`` or ``([], why not)``.

    An assumption is a variable whose ``source:`` field starts with "assumed".
    """
    if model is None:
        try:
            from yaan_sim.model.load import load_model

            model = load_model()
        except YaanSimError as exc:
            return [], str(exc)
        except Exception as exc:  # PySD missing or broken: the report still gets written
            return [], f"{type(exc).__name__}: {exc}"
    metas = getattr(model, "meta", None)
    if not isinstance(metas, dict):
        return [], "the model object has no 'meta' documentation"
    found = [
        m
        for m in metas.values()
        if str(m.fields.get("source", "")).strip().lower().startswith("assumed")
    ]
    return sorted(found, key=lambda m: m.name.lower()), None


def _time_text(da: xr.DataArray) -> str:
    """A series over time in a few words: one value, its change points, or first -> last."""
    if "time" not in da.dims:
        return f"{float(da):.4g}"
    v = np.asarray(da.values, dtype=float)
    t = np.asarray(da["time"].values, dtype=float)
    if np.allclose(v, v[0], equal_nan=True):
        return f"{v[0]:.4g}"
    steps = [i for i in range(1, len(v)) if not np.isclose(v[i], v[i - 1])]
    if len(steps) <= 3:
        return ", ".join([f"{t[0]:g}: {v[0]:.4g}"] + [f"{t[i]:g}: {v[i]:.4g}" for i in steps])
    return f"{t[0]:g}: {v[0]:.4g} → {t[-1]:g}: {v[-1]:.4g}"


def _describe_lever(da: xr.DataArray, lang: str = "en") -> str:
    """A lever's values in a few words, grouped by value across parks (or industries)."""
    if "sample" in da.dims:
        da = da.median("sample")
    other = [d for d in da.dims if d != "time"]
    if not other:
        return _time_text(da)
    groups: dict[str, list[str]] = {}
    for combo in itertools.product(*(da[d].values for d in other)):
        text = _time_text(da.sel(dict(zip(other, combo))))
        groups.setdefault(text, []).append("/".join(str(c) for c in combo))
    if len(groups) == 1:
        return next(iter(groups))
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    others = "其他" if lang == "zh" else "others"
    parts = [f"{', '.join(keys)}: {text}" for text, keys in ordered[1:]]
    parts.append(
        f"{others}: {ordered[0][0]}"
        if len(ordered[0][1]) > 1
        else f"{ordered[0][1][0]}: {ordered[0][0]}"
    )
    return "; ".join(parts)


def _lever_variables(ds: xr.Dataset) -> list[str]:
    """The levers the runs applied: variables the runner marked ``role: lever``."""
    return sorted(str(v) for v in ds.data_vars if ds[v].attrs.get("role") == "lever")


def _levers_section(ds: xr.Dataset, lang: str, model) -> str:
    scen = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else []
    out = []
    if scen:
        out.append(f"<p>{_e(_t('scenario_list', lang, s=', '.join(scen)))}</p>")
    levers = _lever_variables(ds)
    if not levers:
        out.append(f'<p class="note" id="no-levers">{_e(_t("no_levers", lang))}</p>')
        return "\n".join(out)
    out.append(f"<p>{_e(_t('levers_text', lang))}</p>")
    by_py = getattr(model, "by_py_name", {}) if model is not None else {}
    rows = []
    for py in levers:
        da = ds[py]
        meta = by_py.get(py) if isinstance(by_py, dict) else None
        label = py
        if meta is not None:
            label = (
                f"{meta.name} ({meta.long_name_zh})"
                if lang == "zh" and meta.long_name_zh
                else meta.name
            )
        units = da.attrs.get("units", getattr(meta, "units", ""))
        cells = []
        for sc in scen or [None]:
            d = da.sel(scenario=sc) if sc is not None and "scenario" in da.dims else da
            cells.append(_describe_lever(d, lang))
        r = [
            f'<td data-lever="{_e(py)}"><code>{_e(py)}</code><br>{_e(label)}</td>',
            f"<td>{_e(units)}</td>",
        ]
        r += [
            f"<td><b>{_e(c)}</b></td>" if i and c != cells[0] else f"<td>{_e(c)}</td>"
            for i, c in enumerate(cells)
        ]
        rows.append(r)
    out.append(
        _html_table([_t("lever", lang), _t("units", lang)] + (scen or [_t("values", lang)]), rows)
    )
    return "\n".join(out)


def _target_text(g: Goal, lang: str) -> str:
    if g.is_trend:
        return ("逐年下降(自{y}年起)" if lang == "zh" else "falls every year from {y}").format(
            y=g.baseline_year
        )
    if g.uses_baseline:
        return ("{c} {y}年水平" if lang == "zh" else "{c} the {y} level").format(
            c=g.comparison, y=g.baseline_year
        )
    if isinstance(g.target, dict):
        return "; ".join(
            f"{scope_label('park', p, lang)} {g.comparison} {v:g}" for p, v in g.target.items()
        )
    return f"{g.comparison} {g.target:g}"


_SCOPE_ZH = {"city": "全市", "region": "片区", "park": "园区"}


def _goals_section(goals: GoalSet, lang: str) -> str:
    from yaan_sim.outputs.charts import unit_label

    rows = []
    for g in goals:
        words = _SCOPE_ZH if lang == "zh" else {}
        scopes = ", ".join(
            [words.get(g.scope, g.scope)] + [f"({words.get(s, s)})" for s in g.also_scopes]
        )
        rows.append(
            [
                f'<td id="goal-{_e(g.id)}"><code>{_e(g.id)}</code></td>',
                f"<td>{_e(g.name(lang))}</td>",
                f"<td>{_e(g.section)}</td>",
                f"<td>{_e(g.text_zh)}</td>",
                f"<td><code>{_e(g.metric.describe())}</code></td>",
                f"<td>{_e(_target_text(g, lang))} {_e(unit_label(g.unit, lang))} ({g.year})</td>",
                f"<td>{_e(scopes)}</td>",
                f"<td>{_e(g.reading(lang))}</td>",
            ]
        )
    src = _display_path(goals.path) if goals.path else "goals"
    return f"<p>{_e(_t('goals_text', lang, f=src))}</p>" + _html_table(
        [
            _t(k, lang)
            for k in ("id", "goal", "section", "text", "metric", "target", "scope", "note")
        ],
        rows,
    )


def _goal_rows_html(df: pd.DataFrame, lang: str) -> str:
    from yaan_sim.outputs.charts import unit_label

    cols = ["scenario"] if "scenario" in df.columns else []
    header = ([_t("scenario", lang)] if cols else []) + [
        _t("goal", lang),
        _t("place", lang),
        _t("target", lang),
        _t("value", lang),
        _t("unit", lang),
        _t("gap", lang),
        _t("gap_pct", lang),
        _t("status", lang),
        _t("first", lang),
        _t("need", lang),
        _t("sim", lang),
    ]
    if "p_met" in df.columns:
        header.append(_t("p_met", lang))
    rows = []
    names = {}
    for rec in df.to_dict("records"):
        gname = names.setdefault(rec["goal_id"], rec["goal"])
        r = [f"<td>{_e(rec['scenario'])}</td>"] if cols else []
        r += [
            f'<td data-goal="{_e(rec["goal_id"])}">{_e(gname)}</td>',
            f"<td>{_e(rec['scope_label'])}</td>",
            f'<td class="num">{_num(rec["target"])}</td>',
            f'<td class="num">{_num(rec["value"])}</td>',
            f"<td>{_e(unit_label(rec['unit'], lang))}</td>",
            f'<td class="num">{_num(rec["gap"])}</td>',
            f'<td class="num">{_num(rec["gap_pct"], 1)}</td>',
            _status_cell(rec["status"], lang),
            f'<td class="num">{_year(rec["year_first_met"])}</td>',
            f'<td class="num">{_num(rec["growth_needed_pct"], 1)}</td>',
            f'<td class="num">{_num(rec["growth_simulated_pct"], 1)}</td>',
        ]
        if "p_met" in df.columns:
            r.append(f'<td class="num">{_num(rec["p_met"])}</td>')
        rows.append(r)
    return _html_table(header, rows)


def _wide_status_html(df: pd.DataFrame, lang: str) -> str:
    """Goal x place rows, one column per scenario: the value, coloured by status."""
    from yaan_sim.outputs.charts import unit_label

    scen = list(dict.fromkeys(df["scenario"])) if "scenario" in df.columns else [None]
    keys = list(dict.fromkeys(zip(df["goal_id"], df["scope"], df["scope_name"])))
    header = [_t("goal", lang), _t("place", lang), _t("target", lang), _t("unit", lang)]
    header += [s if s is not None else _t("value", lang) for s in scen]
    rows = []
    for gid, scope, name in keys:
        sub = df[(df["goal_id"] == gid) & (df["scope"] == scope) & (df["scope_name"] == name)]
        first = sub.iloc[0]
        target = "< 0" if first["comparison"] == "falling_every_year" else _num(first["target"])
        r = [
            f'<td data-goal="{_e(gid)}">{_e(first["goal"])}</td>',
            f"<td>{_e(first['scope_label'])}</td>",
            f'<td class="num">{target}</td>',
            f"<td>{_e(unit_label(first['unit'], lang))}</td>",
        ]
        for sc in scen:
            rec = sub[sub["scenario"] == sc].iloc[0] if sc is not None else first
            status = rec["status"]
            label = STATUS_ZH.get(status, status) if lang == "zh" else status
            extra = (
                f" · P={_num(rec['p_met'])}" if "p_met" in rec and pd.notna(rec["p_met"]) else ""
            )
            r.append(
                f'<td class="num st-{status.replace(" ", "-")}" title="{_e(label)}">'
                f"{_num(rec['value'])}<br><small>{_e(label)}{_e(extra)}</small></td>"
            )
        rows.append(r)
    return _html_table(header, rows)


def _summary_html(table: pd.DataFrame, lang: str) -> str:
    from yaan_sim.outputs.evaluate import STATUSES

    b = table[table["binding"]]
    groups = list(b.groupby("scenario", sort=False)) if "scenario" in b.columns else [("", b)]
    header = [_t("scenario", lang)] + [STATUS_ZH[s] if lang == "zh" else s for s in STATUSES]
    rows = []
    for sc, sub in groups:
        counts = sub["status"].value_counts()
        rows.append(
            [f"<td>{_e(sc)}</td>"]
            + [f'<td class="num">{int(counts.get(s, 0))}</td>' for s in STATUSES]
        )
    return f"<p>{_e(_t('summary_text', lang))}</p>" + _html_table(header, rows)


def _midterm_section(goals, observed, year, lang) -> str:
    if observed is None or len(observed) == 0:
        return f"<p>{_e(_t('no_observed', lang))}</p>"
    from yaan_sim.outputs.charts import unit_label

    need = what_it_takes(goals, observed, year=year, lang=lang)
    src = _display_path(DEFAULT_OBSERVED)
    out = [f"<p>{_e(_t('midterm_text', lang, f=src))}</p>"]
    rows = [
        [
            f"<td>{_e(r['goal'])}</td>",
            f"<td>{_e(r['scope_label'])}</td>",
            f'<td class="num">{r["observed_year"]}</td>',
            f'<td class="num">{_num(r["observed"])}</td>',
            f'<td class="num">{_num(r["target"])}</td>',
            f"<td>{_e(unit_label(r['unit'], lang))}</td>",
            f'<td class="num">{r["goal_year"]}</td>',
            f'<td class="num">{_num(r["growth_needed_pct"], 1)}</td>',
        ]
        for r in need.to_dict("records")
    ]
    out.append(
        _html_table(
            [
                _t("goal", lang),
                _t("place", lang),
                _t("obs_year", lang),
                _t("observed", lang),
                _t("target", lang),
                _t("unit", lang),
                _t("year", lang),
                _t("need", lang),
            ],
            rows,
        )
    )
    out.append(f"<details><summary>{_e(_t('observed_data', lang))}</summary>")
    orow = [
        [
            f"<td>{_e(r['variable'])}</td>",
            f"<td>{_e(r['park'])}</td>",
            f'<td class="num">{r["year"]}</td>',
            f'<td class="num">{_num(r["value"])}</td>',
            f"<td>{_e(r['unit'])}</td>",
            f"<td>{_e(r['source'])}</td>",
            f"<td>{_e(r['confidence'])}</td>",
            f"<td>{_e(r['note'])}</td>",
        ]
        for r in observed.to_dict("records")
    ]
    out.append(
        _html_table(
            [
                "variable",
                "park",
                _t("year", lang),
                _t("value", lang),
                _t("unit", lang),
                _t("source", lang),
                _t("confidence", lang),
                _t("note", lang),
            ],
            orow,
        )
    )
    out.append("</details>")
    return "\n".join(out)


def _assumptions_section(model, why_no_model: str | None, lang: str) -> str:
    found, why = ([], why_no_model) if why_no_model is not None else assumptions(model)
    if why is not None:
        return f'<p class="note" id="no-assumptions">{_e(_t("no_model", lang, e=why))}</p>'
    mdl = getattr(model, "mdl_path", None)
    mname = Path(mdl).name if mdl else "the model"
    rows = []
    for m in found:
        lo, hi = m.limits
        rng = "" if (math.isnan(lo) and math.isnan(hi)) else f"[{_num(lo, 4)}, {_num(hi, 4)}]"
        zh = m.long_name_zh
        rows.append(
            [
                f'<td data-assumption="{_e(m.name)}">{_e(m.name)}'
                + (f"<br>{_e(zh)}" if zh else "")
                + "</td>",
                f"<td>{_e(m.units)}</td>",
                f"<td>{_e(rng)}</td>",
                f"<td>{_e(m.fields.get('source', ''))}</td>",
            ]
        )
    return f"<p>{_e(_t('assumptions_text', lang, m=mname, n=len(found)))}</p>" + _html_table(
        [_t("name", lang), _t("units", lang), _t("range", lang), _t("source", lang)], rows
    )


def _manifest_section(ds, lang) -> str:
    raw = ds.attrs.get("manifest")
    if raw is None:
        return f'<p class="note" id="no-manifest">{_e(_t("no_manifest", lang))}</p>'
    try:
        text = json.dumps(json.loads(raw), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        text = str(raw)
    return f'<pre id="manifest">{_e(text)}</pre>'


# ------------------------------------------------------------------ the report


def build_report(
    ds: xr.Dataset,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int = 2020,
    observed: pd.DataFrame | bool | None = None,
    model=None,
    dpi: int = 90,
    table: pd.DataFrame | None = None,
    charts: list[Chart] | None = None,
    embed_font: bool = True,
) -> str:
    """The report's HTML text. See :func:`write_report` for the parameters."""
    if lang not in ("zh", "en"):
        raise YaanSimError(f"lang must be 'zh' or 'en', not {lang!r}")
    check_results(ds)
    goals = load_goals() if goals is None else goals
    observed = _observed(observed)
    if table is None:
        table = evaluate(ds, goals, year=year, observed=observed, lang=lang)
    model = _try_model() if model is None else model
    why_no_model = model if isinstance(model, str) else None
    model = None if why_no_model is not None else model
    if charts is None:
        charts = render_charts(ds, table, goals, lang=lang, observed=observed, year=year, dpi=dpi)
    parts = [
        f"<h1>{_e(_t('title', lang))}</h1>",
        f"<p>{_e(_t('subtitle', lang, y=year))}</p>",
        f'<h2 id="summary">{_e(_t("summary", lang))}</h2>',
        _summary_html(table, lang),
        f'<h2 id="scenarios">{_e(_t("scenarios", lang))}</h2>',
        _levers_section(ds, lang, model),
        f'<h2 id="goals">{_e(_t("goals", lang))}</h2>',
        _goals_section(goals, lang),
        f'<h2 id="goal-table">{_e(_t("table", lang))}</h2>',
        f"<h3>{_e(_t('binding_rows', lang))}</h3>",
        _wide_status_html(table[table["binding"]], lang),
        f"<details><summary>{_e(_t('detail_rows', lang))}</summary>",
        _goal_rows_html(table[table["binding"]], lang),
        "</details>",
        f"<details><summary>{_e(_t('info_rows', lang))}</summary>",
        _goal_rows_html(table[~table["binding"]], lang),
        "</details>",
        f'<h2 id="midterm">{_e(_t("midterm", lang))}</h2>',
        _midterm_section(goals, observed, year, lang),
        f'<h2 id="charts">{_e(_t("charts", lang))}</h2>',
    ]
    for c in charts:
        b64 = base64.b64encode(c.png).decode("ascii")
        parts.append(
            f'<figure data-chart="{_e(c.key)}"><img alt="{_e(c.caption)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{_e(c.caption)}'
            "</figcaption></figure>"
        )
    parts += [
        f'<h2 id="assumptions">{_e(_t("assumptions", lang))}</h2>',
        _assumptions_section(model, why_no_model, lang),
        f'<h2 id="rule">{_e(_t("rule", lang))}</h2>',
        "<ul>"
        + "".join(f"<li>{s.format(m=AT_RISK_MARGIN * 100)}</li>" for s in _RULE[lang])
        + "</ul>",
        f'<h2 id="manifest-section">{_e(_t("manifest", lang))}</h2>',
        _manifest_section(ds, lang),
    ]
    html_lang = "zh-CN" if lang == "zh" else "en"
    body = "\n".join(parts)
    title = _e(_t("title", lang))
    font_css = embedded_font_css(title + body) if embed_font else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{font_css}{_CSS}</style></head>\n<body>\n"
        + body
        + "\n</body></html>\n"
    )


FONT_FAMILY = "YaanSim CJK"


def embedded_font_css(text: str) -> str:
    """An ``@font-face`` rule embedding Noto Sans CJK SC, cut to the characters of ``text``.

    The report then shows its Chinese on a machine with no CJK font (about 200 KB for a
    typical report). Returns "" if the font cannot be subset (the system fonts are used).
    """
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont

        from yaan_sim.outputs.fonts import cjk_font_path

        opts = subset.Options()
        opts.layout_features = []  # no OpenType features: 3x faster, a third of the size
        opts.hinting = False
        opts.notdef_outline = True
        buf = io.BytesIO()
        with TTFont(str(cjk_font_path()), lazy=True) as font:
            sub = subset.Subsetter(opts)
            sub.populate(unicodes={ord(c) for c in text} | set(range(32, 127)))
            sub.subset(font)
            font.save(buf)
    except Exception:  # no font or fontTools: the report still renders with system fonts
        return ""
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'@font-face{{font-family:"{FONT_FAMILY}";'
        f'src:url(data:font/otf;base64,{b64}) format("opentype");}}'
    )


def _observed(observed):
    if observed is False:
        return None
    if observed is None:
        return load_observed() if DEFAULT_OBSERVED.exists() else None
    if isinstance(observed, (str, Path)):
        return load_observed(observed)
    return observed


def _try_model():
    """The default model, or the reason it could not be loaded (a string)."""
    try:
        from yaan_sim.model.load import load_model

        return load_model()
    except YaanSimError as exc:
        return str(exc)
    except Exception as exc:  # PySD missing or broken: the report is still written
        return f"{type(exc).__name__}: {exc}"


def write_text_atomic(path: str | Path, text: str | bytes, force: bool = False) -> Path:
    """Write text atomically; refuses to overwrite an existing file unless ``force``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return write_atomic(path, lambda tmp: tmp.write_bytes(data), force=force)


def write_report(
    ds: xr.Dataset,
    path: str | Path,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int = 2020,
    observed: pd.DataFrame | str | Path | bool | None = None,
    model=None,
    dpi: int = 90,
    force: bool = False,
    embed_font: bool = True,
) -> Path:
    """Write the self-contained HTML report atomically and return its path.

    Parameters
    ----------
    ds
        Simulation results.
    path
        Where to write; an existing file is replaced only with ``force=True``.
    lang
        ``"zh"`` or ``"en"``.
    goals
        Default: the plan's goals (``scenarios/plan-goals.yaml``).
    year
        Evaluation year.
    observed
        Observed figures (a DataFrame or a CSV path); default the shipped
        ``models/data/observed.csv``; ``False`` for none.
    model
        A loaded model (for lever names and the assumptions); default ``load_model()``.
        If it cannot be loaded the report says so instead of listing assumptions.
    dpi
        Resolution of the embedded PNGs.
    force
        Replace an existing file.
    embed_font
        Embed the CJK font, cut to the characters used, so that the Chinese text shows on
        machines without a CJK font (about 200 KB more).
    """
    check_writable(Path(path), force)  # fail before the slow part
    html_text = build_report(
        ds, lang, goals, year=year, observed=observed, model=model, dpi=dpi, embed_font=embed_font
    )
    return write_text_atomic(path, html_text, force=force)


def write_outputs(
    ds: xr.Dataset,
    out_dir: str | Path,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int = 2020,
    observed: pd.DataFrame | str | Path | bool | None = None,
    model=None,
    dpi: int = 90,
    force: bool = False,
    embed_font: bool = True,
) -> dict[str, Path]:
    """Write the goal table (``goal_table.csv``, ``goal_table.md``), every chart
    (``charts/<key>.png``) and ``report.html`` into ``out_dir``; return the paths by name.

    The results file itself is written by the caller (``yaan-sim run``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(exist_ok=True)
    goals = load_goals() if goals is None else goals
    observed = _observed(observed)
    if model is None:
        model = _try_model()
    table = evaluate(ds, goals, year=year, observed=observed, lang=lang)
    targets = {
        "goal_table.csv": out_dir / "goal_table.csv",
        "goal_table.md": out_dir / "goal_table.md",
        "report.html": out_dir / "report.html",
    }
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise YaanSimError(f"{', '.join(existing)} exist(s); pass --force to overwrite.")
    charts = render_charts(ds, table, goals, lang=lang, observed=observed, year=year, dpi=dpi)
    paths = {}
    paths["goal_table.csv"] = write_text_atomic(
        targets["goal_table.csv"], format_table(table, "csv"), force=force
    )
    paths["goal_table.md"] = write_text_atomic(
        targets["goal_table.md"], format_table(summary(table), "md"), force=force
    )
    for c in charts:
        paths[f"charts/{c.key}.png"] = write_text_atomic(
            out_dir / "charts" / f"{c.key}.png", c.png, force=True
        )
    html_text = build_report(
        ds,
        lang,
        goals,
        year=year,
        observed=observed,
        model=model,
        table=table,
        charts=charts,
        embed_font=embed_font,
    )
    paths["report.html"] = write_text_atomic(targets["report.html"], html_text, force=force)
    return paths


def write_main_job_outputs(
    ds: xr.Dataset, out_dir: str | Path, force: bool = False, year: int = 2020
) -> list[Path]:
    """The evaluation part of ``make run``: :func:`write_outputs` in Chinese (``report.html``,
    goal tables, charts) plus the English report ``report.en.html``."""
    paths = write_outputs(ds, out_dir, lang="zh", year=year, force=force)
    en = Path(out_dir) / "report.en.html"
    check_writable(en, force)
    paths["report.en.html"] = write_report(ds, en, lang="en", year=year, force=force)
    return list(paths.values())
