"""The report's written findings, back-test and loop sections, from real results."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.support.calendar_totals import calendar_total
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goals import load_goals
from yaan_sim.outputs.i18n import scenario_titles
from yaan_sim.outputs.report_findings import (
    binding_constraints,
    goal_findings,
    loops_section,
    scenario_findings,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(model):
    import yaan_sim as ys

    scs = [ys.load_scenario(REPO / f"scenarios/{n}.yaml") for n in ("baseline", "plan")]
    return ys.simulate(model, scs, engine="vector")


def _by_head(findings, start):
    return next(f for f in findings if f["head"].startswith(start))


def test_goal_findings_state_verdict_gap_and_growth_needed_against_simulated(runs):
    goals = load_goals()
    table = evaluate(runs, goals, year=2020, lang="en")
    found = goal_findings(runs, table, goals, "en", scenario_titles(runs))
    city = _by_head(found, "City park revenue")
    rev = runs["revenue"].sum("park")
    total16 = float(calendar_total(rev.sel(scenario="plan"), 2016))
    total20 = float(calendar_total(rev.sel(scenario="plan"), 2020))  # the goal's basis
    need = ((2000 / total16) ** 0.25 - 1) * 100  # computed here, not by the code under test
    sim = ((total20 / total16) ** 0.25 - 1) * 100  # on the goal table's basis, as the verdict
    text = " ".join(city["sentences"])
    assert f"missed, {total20:,.1f}" in text
    assert f"worse than the target by {2000 - total20:,.1f}" in text
    assert f"needs {need:.1f} % a year; the simulated path grows {sim:.1f} % a year" in text
    # one sign convention: a pollutant below its cap is better than the target
    cod = " ".join(_by_head(found, "COD")["sentences"])
    row = table[(table["goal_id"] == "cod_controlled") & (table["scenario"] == "plan")].iloc[0]
    word = "better" if row["value"] <= row["target"] else "worse"
    assert f"{word} than the target by {abs(row['gap']):,.1f}" in cod
    cons = _by_head(found, "Constraints")["sentences"]
    assert [c.split(":")[0] for c in cons] == [
        "Baseline (policies before the plan)",
        "The plan as written",
    ]


def test_findings_in_chinese_read_as_chinese(runs):
    goals = load_goals()
    table = evaluate(runs, goals, year=2020, lang="zh")
    titles = scenario_titles(runs)
    found = goal_findings(runs, table, goals, "zh", titles)
    found += scenario_findings(runs, table, "zh", titles, None, "baseline")
    text = " ".join(f["head"] + " ".join(f["sentences"]) for f in found)
    assert "规划情景" in text and "未达标" in text and "自2016年起需年均增长" in text
    assert "亿元（距目标差" in text  # the revenue's shortfall, as a Chinese report says it
    # a share's shortfall is in percentage points; the relative gap says what it is of
    rd = table[(table["goal_id"] == "rd_share") & (table["scenario"] == "plan")].iloc[0]
    assert (
        f"%（距目标差{abs(rd['gap']):.1f}个百分点，相当于目标的{abs(rd['gap_pct']):.1f}%）" in text
    )
    # falling every year, told as the smallest fall
    energy = table[(table["goal_id"] == "energy_per_output") & (table["scenario"] == "plan")]
    fall = abs(energy.iloc[0]["value"])
    assert (
        energy.iloc[0]["value"] < 0 and f"至2020年逐年下降，降幅最小的一年下降{fall:.1f}%" in text
    )
    heads = [f["head"] for f in found]
    assert "园区单位产值能耗（全市；至2020年逐年下降）" in heads  # not "目标0%/年"
    cod = table[(table["goal_id"] == "cod_controlled") & (table["scope"] == "city")]
    level = f"{cod['target'].iloc[0]:,.1f}"  # the model's history, not a published figure
    assert f"化学需氧量排放得到控制（全市；2020年不高于2015年模拟水平{level}吨）" in heads
    for word in ("missed", "baseline", "yiyuan", "Dmnl", "short by"):
        assert word not in text, word
    assert not re.search(r"\d\.\d+e[+-]\d", text)  # no scientific notation


def test_scenario_findings_name_the_levers_that_differ_and_the_change(runs, model):
    goals = load_goals()
    table = evaluate(runs, goals, year=2020, lang="en")
    [f] = scenario_findings(runs, table, "en", scenario_titles(runs), model, "baseline")
    assert f["head"].startswith("The plan as written against Baseline")
    levers = f["sentences"][0]
    assert "Park fund investment" in levers and "Entry threshold" in levers
    d = float(calendar_total(runs["revenue"].sum("park"), 2020).diff("scenario").values[0])
    assert f"City park revenue (Ya'an) {'+' if d > 0 else ''}{d:,.1f}" in f["sentences"][1]


def test_a_constraint_binds_where_the_models_indicator_crosses_its_threshold(runs):
    ds = runs.copy()
    cut = ds["required_energy_cut"].copy()
    cut.loc[{"scenario": "plan"}] = np.where(cut["time"] >= 2018.0, 0.05, 0.0)
    ds["required_energy_cut"] = cut
    assert "energy allocation (rationing above 1 %) binds from 2018" in binding_constraints(
        ds, "plan", "en"
    )
    assert "energy" not in binding_constraints(ds, "baseline", "en")


def test_a_constraint_that_binds_within_the_last_plan_year_counts(runs):
    """The goals are judged on 2020's totals: land that binds from spring 2020 binds (the
    values on 1 January alone had said no constraint binds); after 2020 is outside."""
    ds = runs.copy()
    land = ds["land_availability"].copy()
    late = (land["time"] >= 2020.25) & (land["park"] == "ETDZ")
    land.loc[{"scenario": "plan"}] = land.sel(scenario="plan").where(~late, 0.8)
    land.loc[{"scenario": "baseline"}] = 2.0  # quota to spare
    ds["land_availability"] = land
    ds["public_spending_coverage"] = xr.full_like(ds["land_availability"], 0.995)
    assert binding_constraints(ds, "plan", "en") == "land quota binds from 2020 in ETDZ"
    assert binding_constraints(ds, "plan", "zh") == "用地指标自2020年起成为约束（飞地园区(经开区)）"
    assert binding_constraints(ds, "baseline", "zh") == "未触及任何约束"
    cover = ds["public_spending_coverage"]
    ds["public_spending_coverage"] = cover.where(ds["time"] < 2021.0, 0.5)
    # short only at 1 January 2021, after the year the goals are judged on: no constraint
    assert binding_constraints(ds, "baseline", "zh") == "未触及任何约束"
    ds["public_spending_coverage"] = cover.where(ds["time"] < 2020.75, 0.5)
    assert binding_constraints(ds, "baseline", "zh") == (
        "园区财力（政策支出有超过1%未能支付）自2020年起成为约束"
    )
    # each park that binds later than the first says its own year
    ds["public_spending_coverage"] = cover
    early = (land["time"] >= 2019.5) & (land["park"] == "ETDZ")
    later = (land["time"] >= 2020.5) & (land["park"] == "Hanyuan")
    ds["land_availability"] = land.where(~(early | later), 0.8)
    assert binding_constraints(ds, "plan", "en") == (
        "land quota binds from 2019 in ETDZ, Hanyuan (from 2020)"
    )
    assert binding_constraints(ds, "plan", "zh") == (
        "用地指标自2019年起成为约束（飞地园区(经开区)、汉源自2020年起）"
    )


def test_report_has_findings_backtest_and_loop_sections(runs, model, tmp_path):
    from yaan_sim.outputs.report import write_report

    path = write_report(runs, tmp_path / "r.html", "zh", model=model, dpi=30, embed_font=False)
    text = path.read_text(encoding="utf-8")
    for anchor in ('id="findings"', 'id="backtest"', 'id="loops"', 'id="bound"'):
        assert anchor in text, anchor
    m = re.search(r"共(\d+)个数字、(\d+)个来源，其中(\d+)个用于拟合.*?(\d+)个留作检验", text)
    assert m and int(m.group(1)) >= 20 and int(m.group(2)) >= 5 and int(m.group(4)) >= 3
    assert "yaan-sim loops RESULTS.nc --netcdf LOOPS.nc" in text
    # the bound starts from the first scenario's calendar-2016 revenue, the goal table's basis
    start = float(calendar_total(runs["revenue"].sum("park").isel(scenario=0), 2016))
    assert f"九个园区由2016年的{start:,.0f}亿元（本结果的全年累计）" in text


def test_loop_section_from_loop_scores():
    import xarray as xr

    # two loops, the reinforcing one larger in 2016, the balancing one in 2017
    t = np.array([2016.25, 2016.5, 2016.75, 2017.0, 2017.25, 2017.5, 2017.75, 2018.0])
    rel = np.array([[0.8] * 4 + [0.2] * 4, [-0.2] * 4 + [-0.8] * 4])[:, :, None]
    ds = xr.Dataset(
        {"relative_score": (("loop", "time", "park"), rel)},
        coords={
            "loop": ["R1", "B1"],
            "time": t,
            "park": ["ETDZ"],
            "polarity": ("loop", ["R", "B"]),
            "partition": ("loop", [0, 0]),
            "path": ("loop", ["a -> b -> a", "a -> c -> a"]),
        },
        attrs={"dt": 0.25, "start": 2016.0},
    )
    sec = loops_section(ds, "en", "test")
    assert sec["png"].startswith(b"\x89PNG")
    from yaan_sim.outputs.charts_loops import plot_loop_dominance

    ax = plot_loop_dominance(ds, "ETDZ", lang="zh")
    areas = {c.get_gid(): c.get_paths()[0].vertices[:, 1] for c in ax.collections}
    assert areas["R1"].min() >= 0 and areas["R1"].max() == pytest.approx(0.8)
    assert areas["B1"].max() <= 0 and areas["B1"].min() == pytest.approx(-0.8)
    assert ax.get_title() == "主导反馈回路：飞地园区(经开区)"
    rows = [[c.text for c in r] for r in sec["table"].rows]
    assert [r[1:3] for r in rows] == [["2016", "R1"], ["2017", "B1"]]


def test_independent_bound_reads_ledger_figures_by_id_and_does_its_arithmetic():
    from yaan_sim.model.ledger import read_ledger
    from yaan_sim.outputs.bound import Figure, independent_bound, read_bound

    figures = read_bound()
    ledger = read_ledger().rows
    assert figures["city_fai_2018"].low == float(ledger.loc["city-fai-2018", "value"])
    assert figures["city_rd_industrial_2020"].low == 5.52  # the figure issue 11 cites
    f = {
        "output_per_mu": Figure(200, 400, "万元/亩", ""),
        "investment_per_mu": Figure(100, 200, "万元/亩", ""),
        "industrial_workers_2013": Figure(100_000, 100_000, "人", ""),
        "above_scale_output_2014": Figure(500, 500, "亿元", ""),
        "productivity_growth": Figure(0.0, 0.0, "1/年", ""),
        "city_fai_2018": Figure(500, 500, "亿元", ""),
        "city_rd_industrial_2020": Figure(6, 6, "亿元", ""),
    }
    rows = {r["need"]: r for r in independent_bound(1000, 2000, figures=f)}
    # 1000亿 added at 1-4 yuan of output a year per yuan invested, over 4 years
    assert rows["investment_per_year"]["low"] == pytest.approx(1000 / 4 / 4)
    assert rows["investment_per_year"]["high"] == pytest.approx(1000 / 1 / 4)
    assert rows["land"]["low"] == pytest.approx(1000e4 / 400)
    assert rows["workers"]["low"] == pytest.approx(2000e4 / (500e4 / 100_000))
    assert rows["rd"]["low"] == pytest.approx(24) and rows["rd"]["ratio_low"] == 4
    assert rows["growth"]["low"] == pytest.approx((2**0.25 - 1) * 100)


def test_a_level_per_scenario_is_not_given_as_one_number(runs):
    """A user's goal against a year in the plan period holds each scenario to its own level:
    the heading names none."""
    import dataclasses

    from yaan_sim.outputs.goals import GoalSet

    late = dataclasses.replace(load_goals()["so2_controlled"], baseline_year=2017)
    table = evaluate(runs, GoalSet([late]), year=2020, lang="zh")
    found = goal_findings(runs, table, GoalSet([late]), "zh", scenario_titles(runs))
    heads = [f["head"] for f in found if f["head"].startswith("二氧化硫")]
    assert heads == ["二氧化硫排放得到控制（全市；2020年不高于各情景自身的2017年模拟水平）"]
