"""The zh/en message catalogue: every word the tables, charts, report and CLI show people.

``t(key, lang, **kw)`` looks a key up and fills its ``{fields}``; :func:`check_lang` is the
one check of a ``lang`` argument. Beside the fixed texts of :data:`CATALOGUE`:

- :func:`status_label`: goal status words (达标, 有望达标, 有风险, 未达标);
- :func:`unit_label`: units as people read them (``yiyuan/Year`` -> 亿元/年, ``Dmnl`` ->
  无量纲), never a Vensim unit name in Chinese output;
- :func:`place_label`: parks, regions and the city (飞地园区(经开区), 东部, 全市): the
  plan's own short names, checked against the plan's wording by the tests;
- :func:`element_label`: other subscript elements (industries, pollutants) in Chinese,
  from the .mdl's comments;
- :func:`scenario_title`: a scenario's ``title.zh`` / ``title.en`` from its file, as
  recorded in the results' manifest.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from yaan_sim.errors import YaanSimError

LANGS = ("zh", "en")


def check_lang(lang: str) -> str:
    """``lang`` if it is ``"zh"`` or ``"en"``, else a clear error."""
    if lang not in LANGS:
        raise YaanSimError(f"lang must be 'zh' or 'en', not {lang!r}")
    return lang


#: key -> (English, Chinese). Chinese is written as a Chinese economist would write it.
#: The data ledger's and the back-test's words in Chinese, by column (derivations,
#: operators and reasons are formulas and notes: they stay as written).
LEDGER_WORDS_ZH: dict[str, dict[str, str]] = {
    "scope_kind": {"city": "全市", "province": "全省", "county": "县", "park": "园区"},
    "kind": {
        "level": "总量",
        "growth": "增速",
        "share": "比重",
        "target": "目标",
        "change": "变化",
    },
    "confidence": {"H": "高", "M": "中", "L": "低"},
    "derivation": {"read": "直接读取"},
    "role": {"fit": "拟合", "held-out": "检验", "not comparable": "不可比", "derived": "推算"},
}

CATALOGUE: dict[str, tuple[str, str]] = {
    # goal status
    "status.met": ("met", "达标"),
    "status.on track": ("on track", "有望达标"),
    "status.at risk": ("at risk", "有风险"),
    "status.missed": ("missed", "未达标"),
    "status.no data": ("no data", "无数据"),
    # places
    "place.city": ("Ya'an", "全市"),
    "park.ETDZ": ("ETDZ", "飞地园区(经开区)"),
    "park.Hanyuan": ("Hanyuan", "汉源"),
    "park.Shimian": ("Shimian", "石棉"),
    "park.Lushan": ("Lushan", "芦山"),
    "park.Tianquan": ("Tianquan", "天全"),
    "park.Baoxing": ("Baoxing", "宝兴"),
    "park.Yingjing": ("Yingjing", "荥经"),
    "park.Yucheng": ("Yucheng", "雨城"),
    "park.Chengya": ("Chengya", "成雅"),
    "region.East": ("East", "东部"),
    "region.South": ("South", "南部"),
    "region.Northwest": ("Northwest", "西北部"),
    "scope.city": ("city", "全市"),
    "scope.region": ("region", "片区"),
    "scope.park": ("park", "园区"),
    # value sources (observed cells are marked in every table)
    "source.observed": ("obs", "实"),
    "source.observed_long": ("observed", "实际值"),
    "source.simulated": ("sim", "模"),
    # table headers and words
    "col.scenario": ("scenario", "情景"),
    "col.goal": ("goal", "目标"),
    "col.goal_id": ("goal id", "目标编号"),
    "col.place": ("place", "范围"),
    "col.binding": ("binding", "约束性指标"),
    "col.target": ("target", "目标值"),
    "col.value": ("value", "数值"),
    "col.unit": ("unit", "单位"),
    "col.gap": ("gap", "差距"),
    "col.gap_pct": ("gap %", "差距(%)"),
    "col.status": ("status", "状态"),
    "col.first": ("first met", "首次达标"),
    "col.need": ("growth needed %/yr", "所需增速(%/年)"),
    "col.sim": ("growth simulated %/yr", "模拟增速(%/年)"),
    "col.p_met": ("P(met)", "达标概率"),
    "col.source": ("source", "来源"),
    "col.lever": ("lever", "杠杆"),
    "col.units": ("units", "单位"),
    "col.values": ("values", "取值"),
    "col.id": ("id", "编号"),
    "col.section": ("section", "条款"),
    "col.text": ("plan text", "规划原文"),
    "col.metric": ("metric", "指标算法"),
    "col.scope": ("scope", "范围"),
    "col.note": ("reading", "解读"),
    "col.name": ("name", "名称"),
    "col.range": ("range", "取值范围"),
    "col.obs_year": ("latest observed year", "最新实际年份"),
    "col.observed": ("observed", "实际值"),
    "col.year": ("year", "年份"),
    "col.confidence": ("confidence", "可信度"),
    "col.variable": ("variable", "变量"),
    "col.as_given": ("as given", "原始填报"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "others": ("others", "其他"),
    # charts
    "chart.target": ("target", "目标"),
    "chart.baseline": ("{y} level", "{y}年水平"),
    "chart.observed": ("observed", "实际值"),
    "chart.required": ("growth needed: {r:.1f}%/yr", "所需增速:{r:.1f}%/年"),
    "chart.year": ("year", "年份"),
    "chart.median": ("median", "中位数"),
    "chart.band50": ("50% band", "50%区间"),
    "chart.band90": ("90% band", "90%区间"),
    "chart.gap_title": (
        "Better or worse than the target in {y} (% of target)",
        "{y}年优于或差于目标的幅度（占目标%）",
    ),
    "chart.gap_axis": (
        "better (+) or worse (−) than the target, % of target",
        "优于（+）或差于（−）目标，占目标值%",
    ),
    "chart.pct_of_target": ("% of the target", "占目标值%"),
    "chart.plan_start": ("plan levers from {y}", "{y}年起实施规划"),
    "chart.coincide": ("lines coincide:\n{s}", "曲线重合：\n{s}"),
    "chart.compare_pct_title": (
        "{goal} in {y} by scenario, % of each target",
        "{y}年{goal}（按情景，占各自目标%）",
    ),
    "chart.table_title": ("Goal status in {y}", "{y}年目标完成情况"),
    "chart.goal": ("goal", "目标"),
    "chart.scope": ("where", "范围"),
    "chart.parks_title": (
        "{goal}: trajectories against the 2020 targets",
        "{goal}:各园区走势与2020年目标",
    ),
    "chart.compare_title": ("{goal} in {y} by scenario", "{y}年{goal}（按情景）"),
    "chart.falling": ("must fall every year", "须逐年下降"),
    # report
    "report.title": (
        "Ya'an industrial parks: evaluation against the 2016-2020 plan",
        "雅安市贯彻落实《四川省产业园区创新改革发展规划(2016-2020年)》实施方案评估报告",
    ),
    "report.subtitle": (
        "Evaluation year {y}; simulated with yaan-sim.",
        "评估年份：{y}年；由 yaan-sim 模拟。",
    ),
    "report.summary": ("Summary", "概要"),
    "report.summary_text": (
        "Binding goals (the plan's own scope) by status, per scenario.",
        "各情景下规划目标(按规划所定范围)的完成状态统计。",
    ),
    "report.scenarios": ("Scenarios and their levers", "情景与政策杠杆"),
    "report.no_levers": (
        "These results do not record the levers' values, so they cannot be listed here; the "
        "scenario files in the run manifest below say what each scenario sets.",
        "本结果未记录各情景的政策杠杆取值，因此无法在此列出；各情景的设定见文末运行清单中的情景文件。",
    ),
    "report.levers_text": (
        "Values per scenario (time: value where they change; per park where "
        "parks differ); bold: different from the first scenario.",
        "各情景取值(随时间变化时列出变化时点,各园区不同时分园区列出);粗体表示与第一个情景不同。",
    ),
    "report.scenario_list": ("Scenarios in the results: {s}.", "结果中的情景:{s}。"),
    "report.goals": ("The plan's goals (section 一(三))", "规划目标(一(三))"),
    "report.goals_text": (
        "Every quantitative goal of the plan, as encoded in {f}. Places other than "
        "the goal's own scope are evaluated for information only.",
        "规划中的全部量化目标,编码于 {f}。目标所定范围以外的园区或片区仅作参考。",
    ),
    "report.table": ("Goal table", "目标完成情况表"),
    "report.binding_rows": ("Binding goals", "规划目标"),
    "report.detail_rows": (
        "Details: gap, year first met, growth needed and simulated",
        "明细:差距、首次达标年份、所需增速与模拟增速",
    ),
    "report.info_rows": ("Other places (information only)", "其他范围(仅供参考)"),
    "report.obs_mark": (
        "Cells marked “obs” use an observed figure instead of the simulated value.",
        "标有“实”的数值为实际统计数据,其余为模拟值。",
    ),
    "report.midterm": (
        "Mid-term view: observed figures and what it would take",
        "中期评估:实际数据与达标所需增速",
    ),
    "report.midterm_text": (
        "Observed figures ({f}) replace simulated values where they exist. "
        "Growth needed: the compound annual growth from the latest observed "
        "figure to the 2020 target.",
        "有实际数据处以实际数据替代模拟值({f})。所需增速:从最新实际值到2020年目标"
        "所需的年均复合增速。",
    ),
    "report.no_observed": ("No observed figures were given.", "未提供实际数据。"),
    "report.observed_data": ("Observed figures and sources", "实际数据及来源"),
    "report.charts": ("Charts", "图表"),
    "report.assumptions": ("Assumptions of the model", "模型假设"),
    "report.assumptions_text": (
        'Constants and tables of {m} whose documented source starts with "assumed" ({n}). '
        "No published figure gives their values (some are set near a related one, as their "
        "source says); results depend on them.",
        "{m} 中来源注明为“假设”（assumed）的常数和表函数共 {n} 个。它们的取值没有公开数据直接给出"
        "（部分参照相近的公开数据设定，见来源说明），结果依赖于这些假设。",
    ),
    "report.no_model": (
        "The model's documentation could not be read, so its assumptions are not listed: {e}",
        "无法读取模型文档,因此未列出模型假设:{e}",
    ),
    "report.rule": ("How status is judged", "完成状态判定规则"),
    "report.manifest": ("Run manifest", "运行清单"),
    "report.no_manifest": (
        "The results carry no run manifest (attribute 'manifest').",
        "结果中没有运行清单(manifest 属性)。",
    ),
    "report.c_city": (
        "City park revenue against the 2000亿 goal",
        "全市园区营业收入与2000亿元目标",
    ),
    "report.c_parks": ("Each park's revenue against its 2020 target", "各园区营业收入与2020年目标"),
    "report.c_table": ("Traffic-light goal table", "目标完成情况(红绿灯)"),
    "report.c_gaps": ("Gap to target (% of target), level goals", "与目标的差距(占目标%)"),
    "report.c_compare": (
        "Scenario comparison: park revenue in 2020",
        "情景比较:2020年各园区营业收入",
    ),
    "report.c_fan": (
        "Ensemble fan charts (median, 50% and 90% bands): {g}, {p}",
        "集合模拟扇形图(中位数、50%和90%区间):{p}{g}",
    ),
    "report.target_trend": ("falls every year from {y}", "逐年下降(自{y}年起)"),
    # another model's report and charts (a generic profile): no word of the Ya'an plan
    "report.title_model": (
        "{m}: simulation results and goals",
        "{m}:模拟结果与目标评估",
    ),
    "report.subtitle_model": (
        "Goals judged at t = {y}; simulated with yaan-sim.",
        "目标评估时点：t = {y}；由 yaan-sim 模拟。",
    ),
    "report.subtitle_model_plain": ("Simulated with yaan-sim.", "由 yaan-sim 模拟。"),
    "report.no_assumptions": (
        '{m} documents no constant as assumed (a comment whose source starts with "assumed").',
        "{m} 中没有注明为“假设”(assumed)的常数。",
    ),
    "report.subtitle_model_own": (
        "Each goal judged at its own time; simulated with yaan-sim.",
        "各目标按其设定时点评估；由 yaan-sim 模拟。",
    ),
    "report.summary_model_text": (
        "Goals by status, per scenario.",
        "各情景下各目标的完成状态统计。",
    ),
    "report.goals_model": ("Goals", "目标"),
    "report.goals_model_text": ("The goals as written in {f}.", "目标定义见 {f}。"),
    "report.goal_rows": ("Goals", "目标"),
    "report.detail_rows_at": (
        "Details: gap, first time met, growth needed and simulated",
        "明细:差距、首次达标时点、所需增速与模拟增速",
    ),
    "col.first_at": ("first met (t)", "首次达标时点"),
    "col.need_at": ("growth needed % per time unit", "所需增速(%/单位时间)"),
    "col.sim_at": ("growth simulated % per time unit", "模拟增速(%/单位时间)"),
    "report.no_goals": (
        "No goals file for {m} (looked for {f}), so there is no goal table; the charts "
        "show the model's stocks.",
        "{m} 没有目标文件(查找位置:{f}),因此没有目标完成情况表;图表显示模型的存量变量。",
    ),
    "report.no_goals_unknown": (
        "The results do not say where {m} is, so its goals file was not looked for (give "
        "the model with --model); there is no goal table and the charts show its stocks.",
        "结果中未记录 {m} 的位置,因此未查找其目标文件(可用 --model 指定模型);"
        "没有目标完成情况表,图表显示模型的存量变量。",
    ),
    "or": ("or", "或"),
    "report.levers_model_text": (
        "Values per scenario (time: value where they change; per element where elements "
        "differ); bold: different from the first scenario.",
        "各情景取值(随时间变化时列出变化时点,各下标元素不同时分别列出);粗体表示与第一个情景不同。",
    ),
    "report.target_at": ("at t = {y}", "t = {y} 时"),
    "report.target_trend_at": ("falls every time unit from t = {y}", "自 t = {y} 起逐期下降"),
    "report.c_goals": ("Goal variables against their targets", "目标变量走势与目标值"),
    "report.c_stocks": ("Stocks of {m}", "{m} 的存量变量走势"),
    "chart.time": ("time", "时间"),
    "chart.table_title_at": ("Goal status at t = {y}", "t = {y} 时的目标完成情况"),
    "chart.table_title_own": (
        "Goal status (each goal at its own time)",
        "目标完成情况(各目标按其设定时点)",
    ),
    "chart.gap_title_own": (
        "Gap to target (% of target; each goal at its own time)",
        "与目标的差距(占目标%,各目标按其设定时点)",
    ),
    "chart.falling_at": ("must fall every time unit", "须逐期下降"),
    "chart.gap_title_at": (
        "Gap to target at t = {y} (% of target)",
        "t = {y} 时与目标的差距(占目标%)",
    ),
    "report.target_baseline": ("{c} the {y} level", "{c} {y}年水平"),
}

#: The status rule as the report states it (HTML; ``{m}`` is the at-risk margin in points).
RULES: dict[str, list[str]] = {
    "en": [
        "The value of a year Y is its calendar-year figure, as published figures are: a "
        "flow's total over the year (the integral of its rate from t = Y.0 to Y+1.0), a "
        "share the ratio of two such totals, a stock its value at the end of the year (the "
        "goal table's basis column says which).",
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
        'Pollutants "controlled": the city\'s total in the goal year is not above its 2015 '
        "level, the year before the plan period (the plan's total-amount control, 二(五)3; no "
        "figure is set for Ya'an). The 2015 level is the model's simulated history, not a "
        "published figure: none was found for the parks' emissions, and the emission factors "
        "are assumed.",
        "With an ensemble (sample dim), the columns describe the median path and P(met) is "
        "the share of samples that meet the goal.",
    ],
    "zh": [
        "某年Y的数值为该年的全年数，与统计公报口径一致：流量取全年累计（速率从 t = Y.0 到 Y+1.0 "
        "的积分），比例取两个全年累计之比，存量取年末值（目标表的“取值口径”列注明）。",
        "有目标值的目标（≥ 或 ≤）：到目标年份时为<b>达标</b>或<b>未达标</b>。"
        "目标年份之前，以评估年的数值"
        "（有实际数据时用实际值）按评估年起的模拟增速外推到目标年份：当前和外推均满足目标为"
        "<b>达标</b>；仅外推满足（模拟增速不低于所需增速）为<b>有望达标</b>；所需增速超出模拟增速"
        "不多于每年 {m:g} 个百分点为<b>有风险</b>；否则为<b>未达标</b>。",
        "逐年下降（单位产值能耗、用水量）：数值为截至评估年的最大同比变化，须小于0。已有某年未下降为"
        "<b>未达标</b>；模拟路径此后某年未下降为<b>有风险</b>；此后逐年下降为<b>有望达标</b>；"
        "到目标年份逐年下降为<b>达标</b>。",
        "主要污染物“得到有效控制”：全市排放总量在目标年份不高于规划期前一年（2015年）的水平"
        "（规划二（五）3 污染物排放总量控制制度；雅安未公布具体数值）。2015年水平为模型对历史的"
        "模拟值，并非公开数据：未找到园区排放的公开数据，排放系数为假设值。",
        "集合模拟（sample 维）时，各列描述中位数路径，达标概率为达标样本的比例。",
    ],
}


#: The status rule for another model's goals (generic form): the same rule, in its words.
RULES_MODEL: dict[str, list[str]] = {
    "en": [
        "The value at a time Y is the model's value at t = Y (a whole number of the model's "
        "time unit); a goal on the largest (smallest) value reads the largest (smallest) "
        "value from the start to Y.",
        "Goals with a target (at least or at most): at the goal's time a goal is <b>met</b> "
        "or <b>missed</b>. Before it, the value at the evaluation time is projected to the "
        "goal's time at the growth rate simulated from then: <b>met</b> if the target holds "
        "now and on the projection, <b>on track</b> if only on the projection, <b>at risk</b> "
        "if the growth needed exceeds the simulated growth by at most {m:g} percentage points "
        "per time unit, <b>missed</b> otherwise.",
        "Falling every year: the value is the largest change from one whole time unit to the "
        "next, up to the evaluation time, and must be below 0. <b>missed</b> if the variable "
        "failed to fall once already; <b>at risk</b> if the simulated path fails to fall "
        "later; <b>on track</b> if it falls every time unit to the goal's time; <b>met</b> "
        "when the goal's time is reached with a fall in every time unit.",
        "With an ensemble (sample dim), the columns describe the median path and P(met) is "
        "the share of samples that meet the goal.",
    ],
    "zh": [
        "时点Y的数值取模型在 t = Y(模型时间单位的整数)时的值;"
        "针对最大值(最小值)的目标取从起点到Y的最大值(最小值)。",
        "有目标值的目标(不低于或不高于):到目标时点时为<b>达标</b>或<b>未达标</b>。"
        "此前,以评估时点的数值按此后的模拟增速外推到目标时点:当前和外推均满足目标为<b>达标</b>;"
        "仅外推满足为<b>有望达标</b>;所需增速超出模拟增速不多于每单位时间 {m:g} "
        "个百分点为<b>有风险</b>;否则为<b>未达标</b>。",
        "逐期下降:数值为截至评估时点相邻整数时点间的最大变化,须小于0。已有某期未下降为"
        "<b>未达标</b>;模拟路径此后某期未下降为<b>有风险</b>;此后逐期下降为<b>有望达标</b>;"
        "到目标时点逐期下降为<b>达标</b>。",
        "集合模拟(sample 维)时,各列描述中位数路径,达标概率为达标样本的比例。",
    ],
}


def model_title(profile, lang: str) -> str:
    """The heading of a model's report: the Ya'an plan's title, or the model file's name."""
    if profile.is_yaan:
        return t("report.title", lang)
    return t("report.title_model", lang, m=profile.model_name)


def t(key: str, lang: str, **kw) -> str:
    """The text of ``key`` in ``lang``, its ``{fields}`` filled from ``kw``."""
    check_lang(lang)
    try:
        en, zh = CATALOGUE[key]
    except KeyError:
        raise YaanSimError(f"no text {key!r} in the message catalogue") from None
    return (zh if lang == "zh" else en).format(**kw)


def status_label(status: str, lang: str = "zh") -> str:
    """A goal status (``met``, ``on track``, ...) as shown to people."""
    key = f"status.{status}"
    return t(key, lang) if key in CATALOGUE else str(status)


# --- units ---------------------------------------------------------------------------------
#: Vensim unit atoms -> (English, Chinese) as people read them.
UNIT_ATOMS: dict[str, tuple[str, str]] = {
    "yiyuan": ("100 million yuan", "亿元"),
    "wanyuan": ("10,000 yuan", "万元"),
    "yuan": ("yuan", "元"),
    "wantce": ("10,000 tce", "万吨标煤"),
    "tce": ("tce", "吨标煤"),
    "wanm3": ("10,000 m³", "万立方米"),
    "m3": ("m³", "立方米"),
    "t": ("t", "吨"),
    "mu": ("mu", "亩"),
    "year": ("year", "年"),
    "yr": ("year", "年"),
    "dmnl": ("dimensionless", "无量纲"),
    # time units of other models
    "minute": ("minute", "分钟"),
    "minutes": ("minutes", "分钟"),
    "hour": ("hour", "小时"),
    "hours": ("hours", "小时"),
    "day": ("day", "天"),
    "days": ("days", "天"),
    "week": ("week", "周"),
    "weeks": ("weeks", "周"),
    "month": ("month", "月"),
    "months": ("months", "月"),
    "%": ("%", "%"),
    "1": ("1", "1"),
}


def unit_label(unit: str, lang: str = "zh", *, annual: bool = False) -> str:
    """A model unit as people read it: ``yiyuan/Year`` -> 亿元/年 (100 million yuan a
    year), ``tce/wanyuan`` -> 吨标煤/万元, ``Dmnl`` -> 无量纲.

    ``annual=True`` is for a flow's figure of one year (a goal's value): the amount is
    shown without "per year" (2000 亿元, not 亿元/年). Unknown atoms are kept as written.
    """
    check_lang(lang)
    # spaces around operators go; those inside a name stay (Degrees Fahrenheit)
    text = re.sub(r"\s*([/*])\s*", r"\1", " ".join(str(unit or "").split()))
    if not text:
        return ""
    if annual and not re.match(r"(?:1|%)/", text):
        text = re.sub(r"/year$", "", text, flags=re.IGNORECASE)
    i = 0 if lang == "en" else 1

    def words(part: str) -> str:
        return _ATOM.sub(lambda m: UNIT_ATOMS.get(m.group(0).lower(), (m.group(0),) * 2)[i], part)

    if lang == "zh":
        out = words(text).replace("*", "·")
        return "每年" if out == "1/年" else out
    if text.lower() in ("1/year", "1/yr"):
        return "per year"
    m = re.fullmatch(r"([^/]+)/(?:year|yr)", text, flags=re.IGNORECASE)
    if m:
        return f"{words(m.group(1))} a year"
    return " per ".join(words(p) for p in text.split("/", 1)).replace("*", "·")


_ATOM = re.compile(r"[A-Za-z][A-Za-z0-9]*|%|\b1\b")


# --- places and elements -------------------------------------------------------------------
def place_label(scope: str, name: str, lang: str = "en", places=None) -> str:
    """A park, region or the city as shown in tables (``scope``: city, region or park).

    From the catalogue (the plan's short names); for a place the catalogue does not know
    (another model), the Chinese name of the .mdl (``places.zh``), else ``name``.
    """
    check_lang(lang)
    if scope == "city" or name == "city":
        return t("place.city", lang)
    key = f"{'region' if scope == 'region' else 'park'}.{name}"
    if key in CATALOGUE:
        return t(key, lang)
    if lang == "zh" and places is not None and name in places.zh:
        return places.zh[name]
    return str(name)


def element_label(name: str, lang: str = "zh", mdl_path=None) -> str:
    """A subscript element (an industry, a pollutant) in ``lang``: the Chinese name from
    the .mdl's comment of its range, else the element's own name."""
    check_lang(lang)
    if lang == "en":
        return str(name)
    return _element_names(str(mdl_path) if mdl_path else "").get(str(name), str(name))


@lru_cache(maxsize=4)
def _element_names(mdl_path: str) -> dict[str, str]:
    from yaan_sim.paths import DEFAULT_MODEL
    from yaan_sim.scenario.places import element_names_zh

    return element_names_zh(mdl_path or DEFAULT_MODEL)


# --- scenario titles -----------------------------------------------------------------------
def scenario_titles(ds) -> dict[str, dict[str, str]]:
    """``{scenario name: {"zh": ..., "en": ...}}`` from the scenario files recorded in the
    results' manifest (the file's ``title:``, else its parents'); {} when none are."""
    try:
        manifest = json.loads(ds.attrs.get("manifest") or "{}")
    except (TypeError, ValueError):
        return {}
    out = {}
    entries = manifest.get("scenarios") if isinstance(manifest, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        files = entry.get("files")  # manifest v2: the chain's files, its own first
        texts = (
            [f.get("text") for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        )
        title = next(filter(None, map(_title_of, texts)), {}) or _title_of(entry.get("text"))
        if title:
            out[entry["name"]] = title
    return out


def _title_of(text) -> dict[str, str]:
    """The first ``title:`` in the files of a recorded chain (child first)."""
    return dict(_parsed_title(text)) if isinstance(text, str) else {}


@lru_cache(maxsize=256)
def _parsed_title(text: str) -> dict[str, str]:
    """:func:`_title_of` for one text, parsed once (the report asks for every table)."""
    from yaan_sim.scenario.reader import Reader

    for part in re.split(r"(?m)^# --- .*\n", text):
        if "title" not in part:
            continue
        root = Reader("manifest", []).parse(part)
        node = (
            root.value.get("title") if root is not None and isinstance(root.value, dict) else None
        )
        if node is None:
            continue
        if isinstance(node.value, str):
            return {"zh": node.value, "en": node.value}
        if isinstance(node.value, dict):
            title = {k: v.value for k, v in node.value.items() if isinstance(v.value, str)}
            if title:
                return title
    return {}


def scenario_label(name: str, lang: str, titles: dict | None = None) -> str:
    """A scenario as shown to people: its title in ``lang`` where the file gives one."""
    check_lang(lang)
    title = (titles or {}).get(str(name)) or {}
    text = title.get(lang) or title.get("en" if lang == "zh" else "zh") or str(name)
    return full_width_parens(text) if lang == "zh" else text


_CJK = re.compile(r"[\u3400-\u9fff]")


def full_width_parens(text: str) -> str:
    """Chinese text with full-width parentheses: 基准情景（规划前政策）, not (...)."""
    if not _CJK.search(text):
        return text
    return text.replace("(", "（").replace(")", "）")
