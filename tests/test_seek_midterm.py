"""Goal-seeking for the mid-term adjustment (中期调整): levers from 2018, answers in money,
the constraint that binds."""

from __future__ import annotations

import numpy as np
import pytest
from support.calendar_totals import calendar_total

import yaan_sim as ys
from yaan_sim.analysis.seek import seek
from yaan_sim.cli import main

LEVER = "Park fund investment[ETDZ]"


@pytest.fixture(scope="module")
def plan(model):
    return ys.load_scenario("plan", model)


@pytest.fixture(scope="module")
def etdz(model, plan):
    """ETDZ's 1000亿 is out of reach of its park fund alone (the plan run reaches about half)."""
    return seek(model, plan, ["revenue_park:ETDZ"], [LEVER], from_year=2018, engine="vector")


def test_levers_keep_the_scenario_before_the_year_and_move_after(etdz, model, plan):
    found = etdz.values["Park fund investment"].sel(park="ETDZ")
    base = plan.overrides(model, plan.horizon)["Park fund investment"].sel(park="ETDZ")
    t = found["time"].values
    before = found.sel(time=t[t < 2018])
    expected = base.interp(time=before["time"]) if "time" in base.dims else base
    np.testing.assert_allclose(before.values, np.broadcast_to(expected.values, before.shape))
    assert float(found.sel(time=2019.0)) > float(found.sel(time=2017.0))
    assert etdz.info["from_year"] == 2018


def test_the_answer_in_money_is_read_from_the_run(etdz, model, plan):
    money = etdz.money.set_index("year")
    assert list(money.index) == ["2018", "2019", "2020", "total"]
    ds = ys.simulate(model, [plan], engine="vector").sel(scenario="plan", park="ETDZ")
    for y in (2018, 2019, 2020):  # 亿元: the calendar-year total of the flow
        hand = float(calendar_total(ds["investment_attracted"], y))
        assert money.loc[str(y), "investment_attracted_before"] == pytest.approx(hand, rel=1e-9)
    assert money.loc["total", "park_fund"] == pytest.approx(
        money.loc[["2018", "2019", "2020"], "park_fund"].sum()
    )
    assert money.loc["2018", "park_fund"] > 0
    assert "In money: investment attracted" in etdz.message and "亿元" in etdz.message


def test_an_unreachable_goal_names_the_binding_constraint(etdz):
    assert not etdz.feasible
    binding = etdz.constraints[etdz.constraints["binding"]]
    row = binding[binding["constraint"] == "lever range"].iloc[0]
    assert row["place"] == LEVER and row["value"] == pytest.approx(5.0)
    assert "Binding: lever range" in etdz.message
    zh = etdz.summary("zh")
    assert "起约束作用的是" in zh and "杠杆取值范围" in zh and "折合资金" in zh


def test_several_levers_come_as_a_table(model, plan):
    res = seek(
        model,
        plan,
        ["revenue_city"],
        ["Investment incentive rate[East]"],
        from_year=2019,
        engine="vector",
    )
    assert len(res.levers) == 4
    assert "levers moved (see the lever table)" in res.message or "No values" in res.message
    assert max(len(line) for line in res.message.splitlines()) < 1000
    assert res.summary().count("\nLevers\n") == 1


def test_the_command_line_seeks_from_a_year(capsys):
    args = ["seek", "plan", "--goals", "revenue_park:经开区", "--levers", LEVER]
    assert main([*args, "--from", "2018", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "自2018年起" in out and "折合资金（亿元，全年累计）" in out
    assert main([*args, "--from", "2022"]) == 2
    assert "--from 2022" in capsys.readouterr().err
    assert main([*args, "--year", "2025"]) == 2
    assert "outside the calendar years" in capsys.readouterr().err


def test_the_scenario_written_reproduces_a_change_from_2018(etdz, model, plan, tmp_path):
    path = etdz.write_scenario(tmp_path / "adjust.yaml", base_scenario=plan)
    ds = ys.simulate(model, [ys.load_scenario(path, model)], engine="vector")
    table = ys.evaluate(ds, ys.load_goals(), year=2020)
    row = table[(table["goal_id"] == "revenue_park") & (table["scope_name"] == "ETDZ")].iloc[0]
    assert row["value"] == pytest.approx(etdz.goals["value_after"].iloc[0], rel=1e-6)
    fund = ds["park_fund_investment"].sel(park="ETDZ").isel(scenario=0)
    base = ys.simulate(model, [plan], engine="vector")["park_fund_investment"].sel(park="ETDZ")
    before = fund["time"] < 2018
    np.testing.assert_allclose(fund[before].values, base.isel(scenario=0)[before].values)
