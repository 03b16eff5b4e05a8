"""The zh/en catalogue and the table renderer: every key in both languages, the Chinese
labels against the plan's own wording, width-aware columns, numbers people can read."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from support.fake_results import make_results

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goal_table import format_table, summary
from yaan_sim.outputs.i18n import (
    CATALOGUE,
    RULES,
    check_lang,
    element_label,
    place_label,
    scenario_label,
    status_label,
    t,
    unit_label,
)
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario.places import Places
from yaan_sim.tables import display_width, format_number, markdown_table, text_table

# the plan's text, kept in the repository so that these checks always run
PLAN = Path(__file__).resolve().parent / "data" / "plan" / "yaan-park-plan-2017.txt"


def test_every_key_has_english_and_chinese():
    for key, texts in CATALOGUE.items():
        assert len(texts) == 2 and all(isinstance(x, str) and x.strip() for x in texts), key
        en, zh = texts
        assert sorted(re.findall(r"{(\w+)", en)) == sorted(re.findall(r"{(\w+)", zh)), key
        assert (
            re.search(r"[\u4e00-\u9fff]", zh)
            or zh in ("%", "P(met)")
            or key.startswith(("park.", "col.p_met", "source."))
        ), f"{key}: no Chinese in {zh!r}"
    assert len(RULES["zh"]) == len(RULES["en"])
    with pytest.raises(YaanSimError, match="lang must be 'zh' or 'en'"):
        check_lang("fr")
    with pytest.raises(YaanSimError, match="no text 'nope'"):
        t("nope", "zh")


# The words a Chinese reader expects, written out: a change must be made here on purpose.
ZH_LABELS = {
    ("status", "met"): "达标",
    ("status", "on track"): "有望达标",
    ("status", "at risk"): "有风险",
    ("status", "missed"): "未达标",
    ("park", "ETDZ"): "飞地园区(经开区)",
    ("park", "Hanyuan"): "汉源",
    ("park", "Shimian"): "石棉",
    ("park", "Lushan"): "芦山",
    ("park", "Tianquan"): "天全",
    ("park", "Baoxing"): "宝兴",
    ("park", "Yingjing"): "荥经",
    ("park", "Yucheng"): "雨城",
    ("park", "Chengya"): "成雅",
    ("region", "East"): "东部",
    ("region", "South"): "南部",
    ("region", "Northwest"): "西北部",
    ("city", "city"): "全市",
    ("unit", "yiyuan/Year"): "亿元/年",
    ("unit-annual", "yiyuan/Year"): "亿元",
    ("unit", "wantce/Year"): "万吨标煤/年",
    ("unit", "wanm3/Year"): "万立方米/年",
    ("unit-annual", "t/Year"): "吨",
    ("unit", "wanyuan/mu"): "万元/亩",
    ("unit", "tce/wanyuan"): "吨标煤/万元",
    ("unit", "m3/wanyuan"): "立方米/万元",
    ("unit", "t/Year"): "吨/年",
    ("unit", "yiyuan"): "亿元",
    ("unit", "mu"): "亩",
    ("unit", "%"): "%",
    ("unit", "Dmnl"): "无量纲",
    ("unit", "1/Year"): "每年",
    ("industry", "TeBi"): "碲铋",
    ("industry", "PhosChem"): "磷化工",
    ("pollutant", "NH3N"): "氨氮",
    # the industry groups' list in the .mdl ends with a remark ("；前四组构成工业产值…")
    ("group", "Energy"): "载能",
    ("group", "Trade"): "商贸物流",
    ("group", "Data"): "大数据",
}


def _zh(kind, name):
    if kind == "status":
        return status_label(name, "zh")
    if kind in ("park", "region", "city"):
        return place_label(kind, name, "zh")
    if kind.startswith("unit"):
        return unit_label(name, "zh", annual=kind == "unit-annual")
    return element_label(name, "zh")


def test_key_chinese_labels():
    assert {k: _zh(*k) for k in ZH_LABELS} == ZH_LABELS
    for kind, name in ZH_LABELS:
        if kind.startswith("unit"):
            assert not re.search(r"[A-Za-z]", _zh(kind, name)), name  # no Vensim units


def test_park_labels_are_the_plans_wording():
    plan = PLAN.read_text(encoding="utf-8")
    for kind, name in ZH_LABELS:
        if kind == "park":
            assert _zh(kind, name) in plan, name  # 飞地园区(经开区) is the plan's own short form
        if kind == "region":  # 二(二): 东部工业园区, 南部工业园区, 西北部工业园区
            assert f"{_zh(kind, name)}工业园区主要包括" in plan, name
    assert "亿元" in plan  # the plan's money unit, as the tables show it


def test_labels_read_back_as_the_place():
    places = Places.from_mdl(DEFAULT_MODEL)
    for p in places.parks:
        assert places.resolve(place_label("park", p, "zh")) == p
    for r in places.regions:
        assert places.resolve(place_label("region", r, "zh")) == r


def test_scenario_titles_from_the_manifest():
    titles = {"plan": {"zh": "规划情景", "en": "The plan as written"}}
    assert scenario_label("plan", "zh", titles) == "规划情景"
    assert scenario_label("plan", "en", titles) == "The plan as written"
    assert scenario_label("mine", "zh", titles) == "mine"


# --- numbers and tables -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, digits, expected",
    [
        (2000.0, 2, "2,000"),
        (1234567.891, 2, "1,234,567.89"),
        (-1332.54, 2, "-1,332.54"),
        (-1480, 2, "-1,480"),
        (-1.11e-14, 2, "0"),
        (5.661e-06, 2, "0.000006"),
        (1e-9, 2, "0"),
        (0.0123, 2, "0.012"),
        (0.5, 2, "0.50"),
        (2e3, 1, "2,000"),
        (5.28e3, 2, "5,280"),
        (float("nan"), 2, ""),
        (float("inf"), 2, ""),
        (None, 2, ""),
        (True, 2, "yes"),
        ("text", 2, "text"),
    ],
)
def test_format_number(x, digits, expected):
    out = format_number(x, digits)
    assert out == expected
    if isinstance(x, float):
        assert "e" not in out  # never scientific notation


def test_format_number_of_numpy_values():
    np = pytest.importorskip("numpy")
    assert format_number(np.float64(-0.004), 2) == "-0.0040"
    assert format_number(np.float64(-0.00004), 2) == "-0.000040"  # two significant digits
    assert format_number(np.int64(12345)) == "12,345"


def test_text_table_aligns_chinese_by_display_width():
    out = text_table(
        ["目标", "范围", "value"],
        [["全市园区营业收入", "全市", "624.5"], ["R&D", "飞地园区(经开区)", "1,000"]],
    )
    lines = out.splitlines()
    assert display_width("全市") == 4 and display_width("R&D") == 3
    # every column starts at the same display column on every line
    starts = []
    for line in (lines[0], lines[2], lines[3]):
        cells = [m.start() for m in re.finditer(r"\S+", line)]
        widths = [display_width(line[:i]) for i in cells]
        starts.append(widths)
    assert starts[0][:2] == starts[1][:2] == starts[2][:2]
    # numbers are right-aligned: their right edges line up
    assert display_width(lines[2]) == display_width(lines[3])


def test_markdown_table_escapes_bars():
    md = markdown_table(["a", "b"], [["x|y", "1"]])
    assert md.splitlines()[2] == "| x\\|y | 1 |"


def test_goal_table_in_chinese_is_for_people():
    t = summary(evaluate(make_results(), lang="zh"))
    text = format_table(t, "table", lang="zh")
    assert "状态" in text.splitlines()[0] and "目标值" in text.splitlines()[0]
    assert "达标" in text or "未达标" in text or "有风险" in text
    assert "yiyuan" not in text and "e-" not in text and "e+" not in text
    md = format_table(t, "md", lang="zh")
    assert md.startswith("| 目标编号 |") and "亿元" in md


def test_zh_goal_table_headers_are_all_chinese():
    """Every column of the goal table gets a Chinese header in zh (written out here)."""
    import pandas as pd

    from yaan_sim.outputs.goal_table import human_cells

    cols = ["scope_label", "year_first_met", "growth_needed_pct", "growth_simulated_pct", "basis"]
    header, _ = human_cells(
        pd.DataFrame([[1, 2020, 3.0, 4.0, "calendar-year total"]], columns=cols), "zh"
    )
    assert header == ["范围", "首次达标", "所需增速(%/年)", "模拟增速(%/年)", "取值口径"]


def test_a_levers_undefined_elements_are_not_listed():
    """A lever on a sub-range is NaN elsewhere: the report lists the elements it has, in
    Chinese, and no "其他: nan"."""
    from yaan_sim.outputs.report_sections import _describe_lever

    da = xr.DataArray(
        [1.0, 1.0, 2.0, np.nan],
        dims=["group"],
        coords={"group": ["Energy", "Materials", "Trade", "Data"]},
    )
    assert _describe_lever(da, "zh") == "商贸物流: 2; 其他: 1"
    assert _describe_lever(da.where(da.group == "Trade"), "zh") == "2"


def test_a_levers_schedule_is_told_by_its_change_points_per_park():
    """Each park's series in words (one value, up to three change points, or first ->
    last), parks with the same words grouped, the largest group as "others"; the same
    text whatever the order of the dims, and a sample dim read at its median."""
    from yaan_sim.outputs.report_sections import _describe_lever

    t = np.array([2016.0, 2017.0, 2018.0, 2019.0, 2020.0])
    rows = {
        "ETDZ": [0.1, 0.1, 0.2, 0.2, 0.2],  # one change point
        "Hanyuan": [0.1, 0.2, 0.3, 0.4, 0.5],  # four: first -> last
        "Lushan": [0.05] * 5,
        "Yucheng": [0.05] * 5,
    }
    da = xr.DataArray(
        np.array(list(rows.values())).T,
        dims=["time", "park"],
        coords={"time": t, "park": list(rows)},
    )
    want = "飞地园区(经开区): 2016: 0.1, 2018: 0.2; 汉源: 2016: 0.1 → 2020: 0.5; 其他: 0.05"
    assert _describe_lever(da, "zh") == want
    assert _describe_lever(da.transpose("park", "time"), "zh") == want
    draws = xr.concat([da * 0.5, da, da * 3.0], dim="sample").transpose("park", "sample", "time")
    assert _describe_lever(draws, "zh") == want
    english = _describe_lever(da, "en")
    assert english == "ETDZ: 2016: 0.1, 2018: 0.2; Hanyuan: 2016: 0.1 → 2020: 0.5; others: 0.05"


def test_a_ramp_after_history_is_told_by_its_bends():
    """The plan's {2016: 0.2, 2020: 0.4} on a run from 2013 to 2021: held, ramped, held. Its
    first and last values (2013: 0.2 → 2021: 0.4) read as a ramp over the whole run."""
    from yaan_sim.outputs.report_sections import _describe_lever

    t = np.arange(2013.0, 2021.0 + 1e-9, 0.125)
    ramp = np.interp(t, [2016.0, 2020.0], [0.2, 0.4])
    assert _describe_lever(xr.DataArray(ramp, dims=["time"], coords={"time": t})) == (
        "2016: 0.2 → 2020: 0.4"
    )
    # the pre-plan default differs: the step at the plan start, then the ramp
    stepped = np.where(t < 2016.0, 0.1, ramp)
    assert _describe_lever(xr.DataArray(stepped, dims=["time"], coords={"time": t})) == (
        "2013: 0.1, 2016: 0.2 → 2020: 0.4"
    )
    rising = 0.1 * 1.5 ** (t - 2013.0)  # no straight pieces: first and last
    assert _describe_lever(xr.DataArray(rising, dims=["time"], coords={"time": t})) == (
        "2013: 0.1 → 2021: 2.563"
    )
