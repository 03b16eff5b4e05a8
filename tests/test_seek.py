"""Goal-seeking: smallest lever change, infeasible goals, already-met goals."""

from __future__ import annotations

import numpy as np
import pytest

from yaan_sim.analysis.seek import seek
from yaan_sim.errors import YaanSimError
from yaan_sim.scenario import load_scenario


@pytest.fixture(scope="module")
def plan(model):
    return load_scenario("plan", model)


def test_etdz_cannot_reach_1000_yi_by_attraction_alone(model, plan):
    res = seek(model, plan, ["revenue_park:ETDZ"], ["Investment attraction rate[ETDZ]"])
    assert not res.feasible
    assert "No values of Investment attraction rate[ETDZ] in [0, 0.8]" in res.message
    row = res.levers.iloc[0]
    assert row["value"] == pytest.approx(0.8)  # the best reachable is at the top of the range
    g = res.goals.iloc[0]
    assert g["value_before"] < g["value_after"] < 1000


def test_the_smallest_change_is_found_and_is_minimal(model, plan):
    res = seek(model, plan, ["rd_share"], ["Research intensity target[ETDZ,Hanyuan]"])
    assert res.feasible and "Smallest change" in res.message
    g = res.goals.iloc[0]
    assert not g["met_before"] and g["met_after"]
    assert g["value_after"] == pytest.approx(1.2, abs=1e-4)
    # a little less of the same change no longer meets the goal
    from yaan_sim.analysis.seek import _Problem, parse_levers

    h = model.default_horizon
    variables, bases = parse_levers(["Research intensity target[ETDZ,Hanyuan]"], model, plan, h)
    pr = _Problem(model, plan, variables, bases, ["rd_share"], res_goals(), None, h, "auto")
    d = np.array(list(res.shifts.values()))
    assert pr.gaps(0.98 * d)[0, 0] < 0 <= pr.gaps(d)[0, 0] + 1e-9
    # ETDZ, the larger park, moves more than Hanyuan: the cheaper way to the city ratio
    ch = res.levers.set_index("lever")["change"]
    assert ch["Research intensity target[ETDZ]"] > ch["Research intensity target[Hanyuan]"] > 0


def res_goals():
    from yaan_sim.outputs.goals import load_goals

    return load_goals()


def test_two_levers_together_reach_etdz_1000(model, plan, tmp_path):
    res = seek(
        model,
        plan,
        ["revenue_park:ETDZ"],
        [
            "Investment attraction rate[ETDZ]",
            "Park fund investment[ETDZ]",
            "Energy cap growth rate",
        ],
    )
    assert res.feasible
    assert res.goals.iloc[0]["value_after"] == pytest.approx(1000, rel=1e-4)
    assert (res.levers["value"] <= res.levers["max"]).all()
    # the written scenario (a schedule lever among them) reproduces the answer
    import yaan_sim as ys
    from yaan_sim.outputs.gaps import goal_gaps

    path = res.write_scenario(tmp_path / "wit.yaml", base_scenario=plan)
    sc = load_scenario(path, model)
    gap = float(goal_gaps(ys.simulate(model, [sc]), ["revenue_park:ETDZ"]).squeeze())
    assert 0 <= gap < 0.01
    assert "schedule" in path.read_text(encoding="utf-8")


def test_a_goal_already_met_needs_no_change(model, plan):
    res = seek(model, plan, ["cod_controlled"], ["Environmental infrastructure rate[ETDZ]"])
    assert res.feasible and "already met" in res.message
    assert res.levers["change"].abs().max() == 0


def test_bad_input(model, plan):
    with pytest.raises(YaanSimError, match="unknown goal"):
        seek(model, plan, ["revenue_moon"], ["PPP share"])
    with pytest.raises(YaanSimError, match="unknown lever"):
        seek(model, plan, ["rd_share"], ["PPP shares of the moon"])
    with pytest.raises(YaanSimError, match="not an element"):
        seek(model, plan, ["rd_share"], ["Research intensity target[Paris]"])


def test_cli_seek_takes_chinese_park_names(capsys):
    """The lever and the goal named as the plan does: 经开区 is ETDZ in both."""
    from yaan_sim.cli import main

    args = ["seek", "plan", "--goals", "revenue_park:经开区"]
    assert main([*args, "--levers", "Investment attraction rate[经开区]"]) == 0
    out = capsys.readouterr().out
    assert "No values of Investment attraction rate[ETDZ] in [0, 0.8]" in out
    assert "revenue_park ETDZ" in out and "revenue_park:ETDZ" in out  # message and table


def test_cli_seek(capsys, tmp_path):
    from yaan_sim.cli import main

    rc = main(
        [
            "seek",
            "plan",
            "--goals",
            "revenue_park:ETDZ",
            "--levers",
            "Investment attraction rate[ETDZ]",
            "-o",
            str(tmp_path / "s.csv"),
            "--write-scenario",
            str(tmp_path / "best.yaml"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "No values of" in out and "the best reachable, which misses" in out
    assert (tmp_path / "s.csv").is_file() and (tmp_path / "best.yaml").is_file()
