"""The goal table: status rules on hand-made results with known answers, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from support.fake_results import TARGET, make_results

from tests.support.goals_text import PLAN_GOAL_IDS
from yaan_sim.cli import main
from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.outputs.calendar_years import yearly
from yaan_sim.outputs.evaluate import evaluate, in_language
from yaan_sim.outputs.goal_metrics import YearlyTotals, annual_metric, scope_members
from yaan_sim.outputs.goal_table import format_table
from yaan_sim.outputs.goals import goals_from_dict, load_goals
from yaan_sim.outputs.observed import load_observed
from yaan_sim.outputs.results_check import open_results
from yaan_sim.outputs.what_it_takes import what_it_takes


@pytest.fixture(scope="module")
def goals():
    return load_goals()


def _row(table, goal_id, place, scenario=None):
    sel = (table["goal_id"] == goal_id) & (table["scope_name"] == place)
    if scenario is not None:
        sel &= table["scenario"] == scenario
    rows = table[sel]
    assert len(rows) == 1, (goal_id, place, scenario)
    return rows.iloc[0]


# Goals are judged on calendar-year totals. A hand integral: trapezoids over the saved
# quarters of the year (the results are piecewise linear between them).
Q = np.arange(0.0, 1.0 + 1e-9, 0.25)


def year_total(series: xr.DataArray, year: int) -> float:
    return float(np.trapezoid(series.sel(time=year + Q).values, year + Q))


def K(rate: float) -> float:
    """A path growing at ``rate``: its year's total per unit of its 1 January rate."""
    return float(np.trapezoid((1 + rate) ** Q, Q))


# Parks start in 2016 at a third of their target and grow at these rates, so that in
# 2018 (two years left) each lands on a different status:
#   ETDZ 35%: 2020 = 1.107 x target -> on track (needs 28.3%/yr from 2018)
#   Hanyuan 30%: 2020 = 0.952 x target; needs 33.2%/yr, simulated 30% -> at risk (3.2 pp)
#   Shimian 20%: needs 44.3%/yr, simulated 20% -> missed
#   Lushan starts at 110 (above its 100) -> met
GROWTH = {p: 0.2 for p in TARGET} | {"ETDZ": 0.35, "Hanyuan": 0.30, "Shimian": 0.20}
START = {p: TARGET[p] / 3 for p in TARGET} | {"Lushan": 110.0}  # 2016 calendar-year totals


@pytest.fixture(scope="module")
def mixed():
    rate_2016 = {p: START[p] / K(GROWTH[p]) for p in TARGET}  # so each year's total is START x
    return make_results(revenue_2016=rate_2016, revenue_growth=GROWTH)


def test_flow_goals_are_judged_on_the_calendar_year_total(goals):
    """The 2020 revenue is the integral of the rate over 2020, not the rate on 1 January."""
    ds = make_results(revenue_growth=0.3)
    t = evaluate(ds, goals, year=2020)
    city = _row(t, "revenue_city", "Ya'an")
    hand = year_total(ds["revenue"].sum("park"), 2020)
    assert city["value"] == pytest.approx(hand, rel=1e-12)
    assert city["value"] > 1.1 * float(ds["revenue"].sum("park").sel(time=2020.0))
    assert city["basis"] == "calendar-year total"
    rd = _row(t, "rd_share", "Hanyuan")
    assert rd["basis"] == "ratio of totals"
    assert _row(t, "cod_controlled", "Ya'an")["basis"] == "calendar-year total"
    zh = format_table(t.head(3), "table", lang="zh")
    assert "口径" in zh and "全年累计" in zh
    assert "basis" in format_table(t.head(3), "md") and "calendar-year total" in t.to_csv()


def test_status_rules_for_level_goals_mid_term(mixed, goals):
    t = evaluate(mixed, goals, year=2018)
    etdz = _row(t, "revenue_park", "ETDZ")
    assert etdz["status"] == "on track"
    assert etdz["value"] == pytest.approx(1000 / 3 * 1.35**2)
    assert etdz["growth_needed_pct"] == pytest.approx(((3 / 1.35**2) ** 0.5 - 1) * 100)
    assert etdz["growth_simulated_pct"] == pytest.approx(35.0)
    assert etdz["projected"] == pytest.approx(1000 / 3 * 1.35**4)
    assert etdz["year_first_met"] == 2020
    han = _row(t, "revenue_park", "Hanyuan")
    assert han["status"] == "at risk"
    assert han["growth_needed_pct"] - han["growth_simulated_pct"] == pytest.approx(
        ((3 / 1.3**2) ** 0.5 - 1.3) * 100
    )
    assert np.isnan(han["year_first_met"])
    assert _row(t, "revenue_park", "Shimian")["status"] == "missed"
    lushan = _row(t, "revenue_park", "Lushan")
    assert lushan["status"] == "met" and lushan["year_first_met"] == 2016
    assert lushan["gap"] == pytest.approx(110 * 1.2**2 - 100)
    assert lushan["gap_pct"] == pytest.approx(110 * 1.2**2 - 100)  # target is 100


def test_status_rules_in_the_goal_year(mixed, goals):
    t = evaluate(mixed, goals, year=2020)
    assert _row(t, "revenue_park", "ETDZ")["status"] == "met"
    han = _row(t, "revenue_park", "Hanyuan")
    assert han["status"] == "missed"
    assert han["gap"] == pytest.approx(200 / 3 * 1.3**4 - 200)
    assert han["gap_pct"] == pytest.approx((1.3**4 / 3 - 1) * 100)
    assert np.isnan(han["growth_needed_pct"])
    city = _row(t, "revenue_city", "Ya'an")
    expect = sum(START[p] * (1 + GROWTH[p]) ** 4 for p in TARGET)
    assert city["value"] == pytest.approx(expect)
    assert city["target"] == 2000 and city["binding"]
    assert city["status"] == ("met" if expect >= 2000 else "missed")


def test_margin_changes_at_risk_to_missed(mixed, goals):
    t = evaluate(mixed, goals, year=2018, margin=0.02)
    assert _row(t, "revenue_park", "Hanyuan")["status"] == "missed"


def test_one_row_per_goal_and_scope(mixed, goals):
    t = evaluate(mixed, goals)
    n = 1 + (9 + 3) + (1 + 3 + 9) * 3 + (1 + 9) * 4
    assert len(t) == n
    assert t["binding"].sum() == 1 + 9 + 1 + 1 + 1 + 4
    region = _row(t, "revenue_park", "East")
    assert region["target"] == 1300 and not region["binding"]
    assert set(t["status"]) <= {"met", "on track", "at risk", "missed", "no data"}


def test_rd_share_is_the_ratio_of_sums(goals):
    t = evaluate(make_results(rd_share=0.011), goals)
    rd = _row(t, "rd_share", "Ya'an")
    assert rd["value"] == pytest.approx(1.1)
    assert rd["gap"] == pytest.approx(-0.1)
    assert rd["gap_pct"] == pytest.approx(-100 / 12)
    assert rd["status"] == "missed" and rd["unit"] == "%"
    # R&D concentrated in one park: the city ratio weighs parks by revenue
    ds = make_results(rd_share=0.0)
    ds["research_spending"] = ds["research_spending"] + xr.where(
        ds["park"] == "ETDZ", 0.024 * ds["revenue"], 0.0
    )
    rd = _row(evaluate(ds, goals), "rd_share", "Ya'an")
    share_etdz = 1000 / 2000  # ETDZ's share of revenue (all parks at a third of target)
    assert rd["value"] == pytest.approx(2.4 * share_etdz)
    assert rd["status"] == "met"
    assert _row(evaluate(ds, goals), "rd_share", "Hanyuan")["status"] == "missed"


def test_falling_every_year(goals):
    t = evaluate(make_results(energy_change=-0.03, water_change=0.01), goals)
    energy = _row(t, "energy_per_output", "Ya'an")
    assert energy["status"] == "met"
    assert energy["value"] == pytest.approx(-3.0)  # the largest year-on-year change, %
    ds = make_results(energy_change=-0.03, water_change=0.01)
    ratio = year_total(ds["energy_use"].sum("park"), 2020) / year_total(
        ds["industrial_output"].sum("park"), 2020
    )
    assert energy["level"] == pytest.approx(ratio, rel=1e-12)  # a ratio of totals
    assert energy["unit"] == "%/yr" and energy["level_unit"] == "tce/wanyuan"
    assert _row(t, "water_per_output", "Ya'an")["status"] == "missed"
    assert (
        _row(
            evaluate(make_results(energy_change=-0.03), goals, year=2018),
            "energy_per_output",
            "Ya'an",
        )["status"]
        == "on track"
    )
    # falls until 2018, then energy use jumps by 20% in 2019
    ds = make_results(energy_change=-0.03)
    ds["energy_use"] = ds["energy_use"] * xr.where(ds["time"] >= 2019, 1.2, 1.0)
    assert _row(evaluate(ds, goals, year=2018), "energy_per_output", "Ya'an")["status"] == "at risk"
    late = _row(evaluate(ds, goals, year=2020), "energy_per_output", "Ya'an")
    assert late["status"] == "missed"

    def ratio(y):
        city = ds.sum("park")
        return year_total(city["energy_use"], y) / year_total(city["industrial_output"], y)

    # the jump at 2019.0 enters the 2018 total by its last half-quarter, 2019 wholly
    assert late["value"] == pytest.approx((ratio(2019) / ratio(2018) - 1) * 100, rel=1e-9)


def test_pollutants_controlled_against_2015(goals):
    rising = make_results(emission_change=0.01)
    t = evaluate(rising, goals)
    cod = _row(t, "cod_controlled", "Ya'an")
    # the 2015 total (the year before the plan period): from 1000 / 1.01 on 1 January
    assert cod["target"] == pytest.approx(1000.0 / 1.01 * K(0.01))
    assert cod["value"] == pytest.approx(1000 * 1.01**4 * K(0.01))
    assert cod["status"] == "missed"
    mid = _row(evaluate(rising, goals, year=2018), "nox_controlled", "Ya'an")
    # from 2018 back to the 2015 level by 2020: 1.01 ** -3 over two years
    assert mid["growth_needed_pct"] == pytest.approx((1.01**-1.5 - 1) * 100)
    assert mid["growth_simulated_pct"] == pytest.approx(1.0)
    assert mid["status"] == "at risk"  # 2.5 pp/yr above the rate needed: within 5 pp
    falling = evaluate(make_results(emission_change=-0.01), goals)
    assert set(falling[falling["goal_id"].str.endswith("_controlled")]["status"]) == {"met"}


def test_scenarios_give_one_row_each(goals):
    ds = make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}})
    t = evaluate(ds, goals, year=2018)
    assert list(t.columns[:2]) == ["scenario", "goal_id"]
    assert _row(t, "revenue_city", "Ya'an", "baseline")["status"] == "missed"
    assert _row(t, "revenue_city", "Ya'an", "plan")["status"] == "on track"
    assert len(t) == 2 * len(evaluate(make_results(), goals))


def test_probability_of_meeting_with_samples(goals):
    n, g = 400, 0.3
    ds = make_results(revenue_growth=g, samples=n, seed=7)
    t = evaluate(ds, goals)
    factor = np.random.default_rng(7).lognormal(0.0, 0.15, size=n)
    expected = np.mean([(1 + g * f) ** 4 * K(g * f) / 3 >= 1 for f in factor])
    row = _row(t, "revenue_city", "Ya'an")
    assert row["p_met"] == pytest.approx(expected)
    assert 0 < row["p_met"] < 1
    # the other columns describe the median path
    city = ds["revenue"].sum("park")
    median = np.median([year_total(city.isel(sample=i), 2020) for i in range(n)])
    assert row["value"] == pytest.approx(median)
    assert _row(t, "rd_share", "Ya'an")["p_met"] == 1.0
    # each park starts at a third of its own target and grows alike: the same share
    for park in ("ETDZ", "Hanyuan"):
        assert _row(t, "revenue_park", park)["p_met"] == pytest.approx(expected)
    assert "p_met" not in evaluate(make_results(), goals).columns


def test_observed_figures_replace_the_simulated_value(mixed, goals):
    obs = pd.DataFrame(
        {
            "variable": ["revenue"],
            "park": ["ETDZ"],
            "year": [2018],
            "value": [300.0],
            "unit": ["yiyuan/Year"],
            "source": ["test"],
            "confidence": ["H"],
            "note": [""],
        }
    )
    t = evaluate(mixed, goals, year=2018, observed=obs)
    etdz = _row(t, "revenue_park", "ETDZ")
    assert etdz["value_source"] == "observed" and etdz["value"] == 300.0
    assert etdz["growth_needed_pct"] == pytest.approx(((1000 / 300) ** 0.5 - 1) * 100)
    assert etdz["projected"] == pytest.approx(300 * 1.35**2)  # simulated growth applied
    assert etdz["status"] == "missed"  # 547 < 1000, needs 82.6%/yr against 35%
    assert _row(t, "revenue_park", "Hanyuan")["value_source"] == "simulated"


def test_shipped_observed_data_and_what_it_takes(goals):
    obs = load_observed()
    etdz = obs[(obs["park"] == "ETDZ") & (obs["variable"] == "revenue")]
    assert dict(zip(etdz["year"], etdz["value"], strict=True)) == {2013: 112, 2014: 128, 2015: 167}
    assert set(obs["confidence"]) <= {"H", "M", "L", "M-H", "L-M"}
    need = what_it_takes(goals, obs)
    row = need[need["scope_name"] == "ETDZ"].iloc[0]
    # sources.md B: "about 43%/yr for five years" from 167 in 2015 to 1000 in 2020
    assert row["observed_year"] == 2015 and row["target"] == 1000
    assert row["growth_needed_pct"] == pytest.approx(((1000 / 167) ** 0.2 - 1) * 100)
    assert round(row["growth_needed_pct"]) == 43


def test_observed_file_validation(tmp_path):
    p = tmp_path / "obs.csv"
    p.write_text(
        "variable,park,year,value,unit,source,confidence\n"
        "revenue,Atlantis,2015,1,yiyuan/Year,x,H\n",
        encoding="utf-8",
    )
    with pytest.raises(YaanSimError, match=r"row 2: park 'Atlantis' is not a park"):
        load_observed(p)
    p.write_text("variable,park,year\nrevenue,ETDZ,2015\n", encoding="utf-8")
    with pytest.raises(YaanSimError, match="missing column"):
        load_observed(p)
    with pytest.raises(YaanSimError, match="no observed-data file"):
        load_observed(tmp_path / "none.csv")


def test_bad_input_is_a_clear_error(goals):
    with pytest.raises(ResultsError, match="year 2014 is outside the years the results cover"):
        evaluate(make_results(), goals, year=2014)
    ds = make_results().drop_vars("water_use")
    with pytest.raises(
        ResultsError, match="goal 'water_per_output' needs the variable 'water_use'"
    ):
        evaluate(ds, goals)
    ds = make_results()
    ds["revenue"].attrs["units"] = "wanyuan/Year"
    with pytest.raises(ResultsError, match="'revenue' is in 'wanyuan/Year' but the goal"):
        evaluate(ds, goals)
    with pytest.raises(ResultsError, match="does not look like yaan-sim results"):
        evaluate(xr.Dataset({"x": ("time", [1.0])}), goals)


def test_formats(mixed, goals):
    t = evaluate(mixed, goals)
    md = format_table(t.head(3), "md")
    assert md.splitlines()[0].startswith("| goal_id | goal |") and md.count("\n") == 5
    recs = json.loads(format_table(t, "json"))
    assert len(recs) == len(t) and recs[0]["goal_id"] == "revenue_city"
    assert format_table(t, "csv").splitlines()[0].startswith("goal_id,goal,scope")
    assert "revenue_city" in format_table(t, "table")
    with pytest.raises(YaanSimError, match="unknown format 'xls'"):
        format_table(t, "xls")


# ------------------------------------------------------------------ files and the CLI


@pytest.fixture(scope="module")
def results_nc(tmp_path_factory):
    path = tmp_path_factory.mktemp("res") / "results.nc"
    make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}}).to_netcdf(path)
    return path


def test_open_results_round_trip(results_nc):
    ds = open_results(results_nc)
    assert list(ds["scenario"].values) == ["baseline", "plan"]
    assert json.loads(ds.attrs["manifest"])["engine"] == "test"


def test_open_results_errors(tmp_path):
    with pytest.raises(ResultsError, match=r"results file .*missing.nc not found"):
        open_results(tmp_path / "missing.nc")
    bad = tmp_path / "corrupt.nc"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n this is not really netCDF")
    with pytest.raises(ResultsError, match=r"corrupt.nc is not a readable netCDF file"):
        open_results(bad)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 2)))}).to_netcdf(foreign)
    with pytest.raises(ResultsError, match="no 'manifest' attribute"):
        open_results(foreign)
    other = tmp_path / "other.nc"
    xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 2)))}, attrs={"manifest": "{}"}).to_netcdf(
        other
    )
    with pytest.raises(
        ResultsError,
        match=r"other.nc does not look like yaan-sim results: it "
        r"has no dim 'time', dim 'park', variable 'revenue'",
    ):
        open_results(other)


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "md"])
def test_cli_evaluate_formats(results_nc, capsys, fmt):
    assert main(["evaluate", str(results_nc), "--year", "2018", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "revenue_city" in out and "on track" in out
    if fmt == "json":
        assert len(json.loads(out)) == 2 * 92
    if fmt == "csv":
        assert out.splitlines()[0].startswith("scenario,goal_id,goal,scope")


def test_cli_evaluate_writes_a_file(results_nc, tmp_path, capsys):
    out = tmp_path / "table.md"
    assert (
        main(["evaluate", str(results_nc), "--format", "md", "-o", str(out), "--lang", "zh"]) == 0
    )
    assert "全市" in out.read_text(encoding="utf-8")
    assert main(["evaluate", str(results_nc), "-o", str(out)]) == 2
    assert "exists already: pass --force" in capsys.readouterr().err
    assert main(["evaluate", str(results_nc), "-o", str(out), "--force"]) == 0


def test_cli_evaluate_bad_files_exit_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    for path in (bad, tmp_path / "missing.nc"):
        assert main(["evaluate", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("yaan-sim evaluate: error: ") and "Traceback" not in err


# ------------------------------------------------- evaluate's defaults and other goals

ONE_GOAL = {
    "id": "rev",
    "name_en": "Revenue",
    "name_zh": "营业收入",
    "section": "x",
    "text_zh": "营业收入",
    "metric": {"variable": "revenue", "aggregate": "sum"},
    "comparison": ">=",
    "target": 1,
    "year": 2020,
    "unit": "yiyuan/Year",
    "scope": "city",
}


def test_without_goals_the_plans_are_judged_and_goals_given_replace_them(mixed):
    assert list(dict.fromkeys(evaluate(mixed, year=2020)["goal_id"])) == PLAN_GOAL_IDS
    t = evaluate(mixed, goals_from_dict({"goals": [ONE_GOAL]}), year=2020)
    assert list(t["goal_id"]) == ["rev"] and list(t["target"]) == [1.0]
    assert list(t["status"]) == ["met"]
    assert t.attrs["goal_names"] == {"rev": {"en": "Revenue", "zh": "营业收入"}}


@pytest.mark.parametrize("as_text", [False, True])
def test_an_observed_file_given_by_its_path_is_read(mixed, goals, tmp_path, as_text):
    path = tmp_path / "obs.csv"
    path.write_text(
        "variable,park,year,value,unit,source,confidence\nrevenue,ETDZ,2018,300,亿元,t,H\n",
        encoding="utf-8",
    )
    t = evaluate(mixed, goals, year=2018, observed=str(path) if as_text else path)
    etdz = _row(t, "revenue_park", "ETDZ")
    assert etdz["value_source"] == "observed" and etdz["value"] == 300.0


def _generic_results():
    """x over t = 0..4 (no parks, no calendar years): 0 1 3 5 7 6 4 3 2 every half."""
    t = np.arange(0.0, 4.01, 0.5)
    x = np.array([0, 1, 3, 5, 7, 6, 4, 3, 2], float)
    ds = xr.Dataset({"x": ("time", x, {"units": "Persons"})}, coords={"time": t})
    ds.attrs["manifest"] = json.dumps({"model_file": "hand.mdl"})
    return ds


GENERIC = {
    "goals": [
        {"id": "last", "variable": "x", "comparison": "at most", "target": 6, "year": 4},
        {
            "id": "fall",
            "variable": "x",
            "comparison": "falling every year",
            "baseline_year": 2,
            "year": 4,
        },
    ]
}


def test_generic_goals_are_read_at_time_points_of_results_without_parks():
    # t = 4 is the last saved time: a time point, not a whole calendar year as for the plan
    t = evaluate(_generic_results(), goals_from_dict(GENERIC), year=4).set_index("goal_id")
    last, fall = t.loc["last"], t.loc["fall"]
    assert (last["scope"], last["scope_name"], last["basis"]) == ("model", "", "value at t = Y")
    assert (last["value"], last["target"], last["gap"]) == (2.0, 6.0, -4.0)
    assert last["gap_pct"] == pytest.approx(-400 / 6)
    assert (last["status"], last["year_first_met"], last["projected"]) == ("met", 0, 2.0)
    assert (last["unit"], last["level_unit"]) == ("Persons", "Persons")
    # x at t = 2, 3, 4 is 7, 4, 2: the changes are -3/7 and -2/4, the largest -3/7
    assert fall["value"] == pytest.approx((4 / 7 - 1) * 100)
    assert (fall["unit"], fall["level_unit"], fall["status"]) == ("%", "Persons", "met")
    assert (fall["target"], last["comparison"], fall["comparison"]) == (
        0.0,
        "<=",
        "falling_every_year",
    )
    assert list(t["eval_year"]) == [4, 4] and list(t["goal_year"]) == [4, 4]
    assert fall["growth_simulated_pct"] == pytest.approx(((2 / 7) ** 0.5 - 1) * 100)
    # at t = 2 (x = 7) the path to t = 4 (x = 2) meets "at most 6": on track
    early = evaluate(_generic_results(), goals_from_dict(GENERIC), year=2).set_index("goal_id")
    assert early.loc["last", "status"] == "on track" and early.loc["last", "value"] == 7.0
    assert early.loc["last", "growth_needed_pct"] == pytest.approx(((6 / 7) ** 0.5 - 1) * 100)
    assert early.loc["last", "growth_simulated_pct"] == pytest.approx(((2 / 7) ** 0.5 - 1) * 100)
    assert list(early["eval_year"]) == [2, 2] and list(early["goal_year"]) == [4, 4]
    # the trend's rate before its goal year: from t = 2 to the goal year 4, 7 -> 2
    assert early.loc["fall", "growth_simulated_pct"] == pytest.approx(((2 / 7) ** 0.5 - 1) * 100)
    assert np.isnan(early.loc["fall", "value"])  # no change counted yet after t = 2


def test_a_trend_goal_made_in_code_without_a_baseline_year_is_refused(goals):
    import dataclasses

    from yaan_sim.outputs.goals import GoalsError

    bad = dataclasses.replace(goals["energy_per_output"], baseline_year=None)
    with pytest.raises(GoalsError) as exc:  # the goals reader refuses such a goal itself
        evaluate(make_results(), [bad], year=2020)
    assert str(exc.value) == (
        "goal 'energy_per_output': a falling-every-year goal needs a baseline_year"
    )


def test_the_table_carries_the_scenario_titles_of_the_results(goals):
    ds = make_results(scenarios={"baseline": {}, "plan": {}})
    manifest = json.loads(ds.attrs["manifest"])
    text = "title: {zh: 规划情景, en: The plan}\n"
    manifest["scenarios"] = [{"name": "plan", "files": [{"name": "plan.yaml", "text": text}]}]
    ds.attrs["manifest"] = json.dumps(manifest)
    t = evaluate(ds, goals, year=2020)
    assert t.attrs["scenario_titles"] == {"plan": {"zh": "规划情景", "en": "The plan"}}


def test_rows_name_their_goal_scope_and_place_in_the_language_asked(mixed, goals):
    zh = evaluate(mixed, goals, year=2020, lang="zh")
    rows = [_row(zh, "revenue_park", "Hanyuan"), _row(zh, "revenue_park", "East")]
    rows.append(_row(zh, "revenue_city", "Ya'an"))
    got = [(r["goal"], r["scope"], r["scope_label"], r["binding"]) for r in rows]
    assert got == [
        ("园区营业收入", "park", "汉源", True),
        ("园区营业收入", "region", "东部", False),
        ("全市园区营业收入", "city", "全市", True),
    ]
    en = _row(evaluate(mixed, goals, year=2020), "revenue_park", "Hanyuan")
    assert (en["goal"], en["scope_label"]) == ("Park revenue", "Hanyuan")


def test_results_without_a_goals_baseline_year_say_which_year_is_missing(goals):
    ds = make_results()
    ds = ds.sel(time=ds["time"] >= 2017)  # 2016, the pollutants' and trends' baseline, cut
    with pytest.raises(ResultsError) as exc:
        evaluate(ds, goals, year=2020)
    assert str(exc.value) == (
        "goal 'energy_per_output': the results have no value for year 2016 (they cover "
        "2017-2020); choose --year within the simulated years."
    )


def test_the_year_before_the_plan_stays_history_in_every_scenario(goals):
    """A lever that acts on a rate at once (the removal of air pollutants) makes it jump
    at the plan start, 2016.0. The 2015 total, the level the pollutant goals hold every
    scenario to, must not see that jump: its last saved quarter takes the value at
    2015.75 (the trapezoid over 2015-2016 would take half of 2016.0's)."""
    ds = make_results(scenarios={"a": {}, "b": {}})
    cut = (ds["scenario"] == "b") & (ds["time"] >= 2016.0)
    ds["emissions"] = ds["emissions"].where(~cut, ds["emissions"] / 2)
    ds.attrs["plan_start"] = 2016.0

    def so2_targets(results):
        t = evaluate(results, goals)
        rows = t[(t["goal_id"] == "so2_controlled") & (t["scope_name"] == "Ya'an")]
        return rows.set_index("scenario")["target"]

    city = ds["emissions"].sel(pollutant="SO2").sum("park").sel(scenario="a")
    q = city.sel(time=[2015.0, 2015.25, 2015.5, 2015.75]).values
    by_hand = 0.25 * ((q[0] + q[1]) / 2 + (q[1] + q[2]) / 2 + (q[2] + q[3]) / 2 + q[3])
    assert so2_targets(ds).tolist() == pytest.approx([by_hand, by_hand], rel=1e-12)
    two = yearly(ds["emissions"].sel(pollutant="SO2").sum("park"), "total", 2016.0)
    assert two.sel(year=2015).values.tolist() == pytest.approx([by_hand] * 2, rel=1e-12)
    assert yearly(city, "total", 2016.0).sel(year=2016) == yearly(city, "total").sel(year=2016)
    del ds.attrs["plan_start"]  # results that do not say when the levers start: trapezoid
    a, b = so2_targets(ds).tolist()
    assert b < a and a != pytest.approx(by_hand, rel=1e-9)  # the jump leaks into 2015


COLUMNS = (  # noqa: SIM905 (the columns evaluate's docstring lists, in its order)
    "goal_id goal scope scope_name scope_label binding comparison target value unit gap "
    "gap_pct status basis eval_year goal_year year_first_met growth_needed_pct "
    "growth_simulated_pct projected level level_unit value_source"
).split()


def test_a_table_of_trend_goals_only_has_every_column():
    fall = goals_from_dict({"goals": [GENERIC["goals"][1]]})
    t = evaluate(_generic_results(), fall, year=4)
    assert list(t.columns) == COLUMNS  # a trend row gives the level goals' columns too
    row = t.iloc[0]
    assert row["gap"] == pytest.approx((4 / 7 - 1) * 100) and row["projected"] == 2.0
    assert np.isnan([row["gap_pct"], row["year_first_met"], row["growth_needed_pct"]]).all()


def test_a_generic_goal_on_one_element_reads_that_element():
    ds = _generic_results()
    ds["stock"] = (("time", "region"), np.stack([10 - ds["time"], 1 + ds["time"]], axis=1))
    ds = ds.assign_coords(region=["North", "South"])
    goal = {"id": "s", "variable": "stock", "element": "South", "comparison": "at least"}
    t = evaluate(ds, goals_from_dict({"goals": [goal | {"target": 3, "year": 4}]}), year=4)
    assert (t.iloc[0]["scope_name"], t.iloc[0]["value"]) == ("South", 5.0)  # 1 + 4


def test_the_plans_goals_need_the_whole_calendar_year(goals):
    # the results run to 2021.0: 2021 is a time point, but its calendar year is not there
    with pytest.raises(
        ResultsError,
        match=r"^year 2021 is outside the years the results cover "
        r"\(2015-2020; they run from 2015 to 2021, and a year's figure is its total",
    ):
        evaluate(make_results(), goals, year=2021)


# ------------------------------------------- the rest of a row: p_met, edges, observed


def _sampled_generic_results():
    """x at t = 0..4 for four samples; from t = 2 (7) the first and last fall every year
    (7, 4, 2), the second holds level one year (7, 7, 2), the third rises (7, 8, 2)."""
    x = np.array([[1, 2, 7, 4, 2], [1, 2, 7, 7, 2], [1, 2, 7, 8, 2], [1, 2, 7, 4, 2]], float)
    coords = {"time": np.arange(0.0, 4.01), "sample": np.arange(4)}
    ds = xr.Dataset({"x": (("sample", "time"), x, {"units": "Persons"})}, coords=coords)
    ds.attrs["manifest"] = json.dumps({"model_file": "hand.mdl"})
    return ds


@pytest.mark.parametrize("year", [3, 4])
def test_a_sampled_trend_goal_gives_the_share_of_paths_falling_every_year(year):
    fall = goals_from_dict({"goals": [GENERIC["goals"][1]]})  # baseline t = 2, goal t = 4
    row = evaluate(_sampled_generic_results(), fall, year=year).iloc[0]
    # two of four paths fall in both years; a year without change is not a fall
    assert row["p_met"] == 0.5
    # the median path: 7, median(4, 7, 8, 4) = 5.5, 2; the larger change is 5.5 / 7 - 1
    assert row["value"] == pytest.approx((5.5 / 7 - 1) * 100)
    assert row["value_source"] == "simulated"


def test_a_trend_goal_past_the_results_end_has_no_projection():
    ds = _generic_results()
    ds = ds.sel(time=ds["time"] <= 3)  # the goal year 4 is not simulated
    row = evaluate(ds, goals_from_dict({"goals": [GENERIC["goals"][1]]}), year=3).iloc[0]
    assert np.isnan(row["projected"]) and row["status"] == "no data"  # t = 4 is unknown
    assert row["value"] == pytest.approx((4 / 7 - 1) * 100)  # the change to t = 3 is known
    assert row["value_source"] == "simulated"


def test_one_year_before_the_goal_year_the_growth_needed_is_the_ratio():
    # x(3) = 4, target at most 6 in t = 4: needed 6 / 4 - 1 = +50%, simulated 2 / 4 - 1
    last = goals_from_dict({"goals": [GENERIC["goals"][0]]})
    row = evaluate(_generic_results(), last, year=3).iloc[0]
    assert row["growth_needed_pct"] == pytest.approx(50.0)
    assert row["growth_simulated_pct"] == pytest.approx(-50.0)
    assert (row["value"], row["projected"], row["status"]) == (4.0, 2.0, "met")


def test_a_target_of_zero_has_no_relative_gap():
    goal = {"id": "z", "variable": "x", "comparison": "at least", "target": 0, "year": 4}
    row = evaluate(_generic_results(), goals_from_dict({"goals": [goal]}), year=4).iloc[0]
    assert (row["value"], row["target"], row["gap"]) == (2.0, 0.0, 2.0)
    assert np.isnan(row["gap_pct"]) and row["status"] == "met"


def test_a_goal_never_met_has_no_first_year():
    goal = {"id": "high", "variable": "x", "comparison": "at least", "target": 100, "year": 4}
    row = evaluate(_generic_results(), goals_from_dict({"goals": [goal]}), year=4).iloc[0]
    assert row["status"] == "missed"
    assert np.isnan(row["year_first_met"])  # NaN, a number, not None


def test_goals_against_the_baseline_year_have_no_first_year_met(goals):
    # "not above the baseline year's level" holds trivially in that year: no first year is given
    t = evaluate(make_results(emission_change=-0.01), goals, year=2020)
    rows = t[t["goal_id"].str.endswith("_controlled")]
    assert len(rows) == 4 * (1 + 9) and set(rows["status"]) == {"met"}  # city and parks
    assert rows["year_first_met"].isna().all()


def test_observed_figures_of_the_city_and_a_region_are_read_for_them(mixed, goals, tmp_path):
    # the simulated city (about 850) and East (about 570) are far below 2000 and 1300 in 2017
    path = tmp_path / "obs.csv"
    path.write_text(
        "variable,park,year,value,unit,source,confidence\n"
        "revenue,city,2017,2100,亿元,t,H\n"
        "revenue,East,2017,1400,亿元,t,H\n",
        encoding="utf-8",
    )
    t = evaluate(mixed, goals, year=2017, observed=path)
    city, east = _row(t, "revenue_city", "Ya'an"), _row(t, "revenue_park", "East")
    got = [(r["value"], r["value_source"], r["year_first_met"]) for r in (city, east)]
    assert got == [(2100.0, "observed", 2017), (1400.0, "observed", 2017)]
    assert (city["gap"], east["gap"]) == (100.0, 100.0)
    # the region's parks keep their simulated figures
    assert _row(t, "revenue_park", "ETDZ")["value_source"] == "simulated"


def test_the_first_year_met_is_looked_for_up_to_the_goal_year_only():
    # x(1) = 3 misses "at least 5 in t = 1"; x(2) = 7 meets it after the goal year
    goal = {"id": "early", "variable": "x", "comparison": "at least", "target": 5, "year": 1}
    row = evaluate(_generic_results(), goals_from_dict({"goals": [goal]}), year=1).iloc[0]
    assert (row["value"], row["status"]) == (3.0, "missed")
    assert np.isnan(row["year_first_met"])


def test_an_observed_file_is_read_against_the_results_parks_and_the_goals_given(tmp_path):
    path = tmp_path / "obs.csv"
    head = "variable,park,year,value,unit,source,confidence\n"
    # results whose first park is named Xinpark (the shipped model has no such park)
    ds = make_results()
    ds = ds.assign_coords(park=["Xinpark", *[str(p) for p in ds["park"].values[1:]]])
    path.write_text(head + "revenue,Xinpark,2018,300,亿元,t,H\n", encoding="utf-8")
    t = evaluate(ds, load_goals(), year=2018, observed=path)
    assert _row(t, "revenue_park", "Xinpark")[["value", "value_source"]].tolist() == [
        300.0,
        "observed",
    ]
    # a figure named by the id of a goal given (the plan's goals have no "rev")
    path.write_text(head + "rev,city,2018,5,亿元,t,H\n", encoding="utf-8")
    t = evaluate(make_results(), goals_from_dict({"goals": [ONE_GOAL]}), year=2018, observed=path)
    assert t[["goal_id", "value", "value_source"]].values.tolist() == [["rev", 5.0, "observed"]]


@pytest.mark.parametrize("to", ["en", "zh"])
def test_one_evaluation_serves_both_languages(goals, to):
    """The package evaluates once and relabels (in_language): the result must be the
    evaluation in the other language, column for column, with the names of the plan."""
    ds = make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}})
    other = "zh" if to == "en" else "en"
    relabelled = in_language(evaluate(ds, goals, year=2018, lang=other), to)
    pd.testing.assert_frame_equal(relabelled, evaluate(ds, goals, year=2018, lang=to))
    row = _row(relabelled, "revenue_park", "ETDZ", "plan")
    assert (row["goal"], row["scope_label"]) == {
        "en": ("Park revenue", "ETDZ"),
        "zh": ("园区营业收入", "飞地园区(经开区)"),
    }[to]
    with pytest.raises(YaanSimError, match="fr"):
        in_language(relabelled, "fr")


def test_yearly_totals_equal_the_xarray_route(goals):
    """annual_metric's route on arrays (YearlyTotals) against the same figure through
    DataArrays: select, sum over the parks, each calendar year's weights
    (calendar_years.yearly), then the sum or the ratio, for every plan goal and scope
    element. Identical to the last bit (a figure exactly at its target must stay there:
    test_rd_share_is_the_ratio_of_sums); scenarios and samples kept; a park without
    revenue gives a NaN ratio, not inf."""
    ds = make_results(scenarios={"a": {}, "b": {"revenue_growth": 0.1}}, samples=3)
    ds["revenue"] = ds["revenue"].where(ds["park"] != "Lushan", 0.0)
    totals = YearlyTotals(ds)
    checked = 0
    for goal in goals:
        m = goal.metric

        def xarray_total(name, parks, m=m):
            da = ds[name].sel(m.select) if m.select else ds[name]
            s = da.sel(park=list(parks)).sum("park", skipna=False)
            return yearly(s, "total" if ds[name].attrs["units"].endswith("/Year") else "end")

        for scope in goal.scopes:
            for _, parks in scope_members(ds, scope, goal):
                got = annual_metric(ds, goal, parks, totals)
                if m.aggregate == "sum":
                    want = xarray_total(m.variables[0], parks) * m.scale
                else:
                    num, den = (xarray_total(v, parks) for v in m.variables)
                    want = m.scale * num / den.where(den != 0)
                assert got.dims == ("scenario", "sample", "year") and got.name == goal.id
                # to the last bit; the attrs xarray's arithmetic happened to keep (a ratio's
                # "units" of its numerator's rate) are not carried
                xr.testing.assert_equal(got, want.rename(goal.id))
                assert got.attrs == {}
                checked += 1
    assert checked == 92  # goal x scope element pairs of the plan's goals, 131 totals
    lushan = annual_metric(ds, goals["rd_share"], ["Lushan"], totals)
    assert np.isnan(lushan.values).all()
    with pytest.raises(KeyError):
        annual_metric(ds, goals["revenue_park"], ["Atlantis"], totals)
