"""Lever effects: a scenario's change from a reference split lever by lever, checked against
separate runs of the same scenarios (the analysis runs them as samples of one run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import yaan_sim as ys
from yaan_sim.analysis.lever_effects import (
    LeverEffectsUnavailable,
    differing_levers,
    lever_effects,
    lever_effects_of_results,
)
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.evaluate import evaluate, headline_rows
from yaan_sim.outputs.goals import load_goals
from yaan_sim.outputs.i18n import scenario_titles
from yaan_sim.outputs.report_findings import effects_note, scenario_findings

REPO = Path(__file__).resolve().parents[1]
LEVER = "Entry threshold"


@pytest.fixture(scope="module")
def scenarios(model):
    return [ys.load_scenario(REPO / f"scenarios/{n}.yaml", model) for n in ("baseline", "plan")]


@pytest.fixture(scope="module")
def effects(model, scenarios):
    return lever_effects(model, scenarios, load_goals(), year=2020)


@pytest.fixture(scope="module")
def separate(model, scenarios):
    """The headline values of baseline, plan, the baseline with the plan's entry threshold
    alone, and the plan with the baseline's (the .mdl's) entry threshold, each run on its
    own (no samples)."""
    base, plan = scenarios
    assert LEVER not in base.levers  # so the plan without it has the baseline's setting
    alone = dataclasses.replace(
        base, name="alone", levers=base.levers | {LEVER: plan.levers[LEVER]}
    )
    without = dataclasses.replace(
        plan, name="without", levers={k: v for k, v in plan.levers.items() if k != LEVER}
    )
    ds = ys.simulate(model, [base, plan, alone, without])
    table = headline_rows(evaluate(ds, load_goals(), year=2020))
    return {
        gid: dict(zip(g["scenario"], g["value"].astype(float), strict=True))
        for gid, g in table.groupby("goal_id")
    }


def _effect(effects, goal, kind, lever=""):
    rows = effects[(effects["goal_id"] == goal) & (effects["kind"] == kind)]
    return float(rows.loc[rows["lever"] == lever, "effect"].iloc[0])


def test_the_whole_change_and_one_lever_alone_equal_separate_runs(effects, separate):
    assert set(effects["goal_id"]) == set(separate)
    for goal, v in separate.items():
        total = v["plan"] - v["baseline"]
        alone = v["alone"] - v["baseline"]
        last = v["plan"] - v["without"]
        assert _effect(effects, goal, "total") == pytest.approx(total, rel=1e-9, abs=1e-9)
        assert _effect(effects, goal, "alone", LEVER) == pytest.approx(alone, rel=1e-9, abs=1e-9)
        assert _effect(effects, goal, "last", LEVER) == pytest.approx(last, rel=1e-9, abs=1e-9)
    # the plan's stricter entry threshold costs city revenue by 2020 (models/README), moved
    # first or last, by a different amount (the other levers change what it screens)
    alone, last = (_effect(effects, "revenue_city", k, LEVER) for k in ("alone", "last"))
    assert alone < 0 and last < 0 and abs(alone - last) > 0.1


def test_effects_and_interaction_add_up_to_the_whole_change(effects):
    assert set(effects["kind"]) == {"alone", "last", "interaction", "total"}
    for (_sc, _goal), g in effects.groupby(["scenario", "goal_id"]):
        assert list(g.loc[g["kind"] == "alone", "lever"]) == list(
            g.loc[g["kind"] == "last", "lever"]
        )
        parts = g.loc[g["kind"].isin(["alone", "interaction"]), "effect"].sum()
        assert parts == pytest.approx(g.loc[g["kind"] == "total", "effect"].iloc[0], abs=1e-9)


def test_only_levers_whose_values_differ_are_moved(model, scenarios):
    base, plan = scenarios
    one = dataclasses.replace(plan, name="one", levers={LEVER: plan.levers[LEVER]})
    horizon = plan.horizon
    assert differing_levers(model, one, base, horizon) == [LEVER]
    # the same lever set to the .mdl's value is no difference
    same = dataclasses.replace(plan, name="same", levers={})
    assert differing_levers(model, same, base, horizon) == []
    out = lever_effects(model, [base, one], load_goals(), year=2020)
    assert set(out.loc[out["kind"] == "alone", "lever"]) == {LEVER}
    inter = out[out["kind"] == "interaction"]["effect"].to_numpy()
    np.testing.assert_allclose(inter, 0.0, atol=1e-9)  # one lever: nothing left over
    # and moved first or last, it is the whole change
    for kind in ("alone", "last"):
        np.testing.assert_allclose(
            out[out["kind"] == kind]["effect"].to_numpy(),
            out[out["kind"] == "total"]["effect"].to_numpy(),
            atol=1e-9,
        )


def test_an_unknown_reference_is_refused(model, scenarios):
    with pytest.raises(YaanSimError, match="reference scenario 'nope' is not among"):
        lever_effects(model, scenarios, load_goals(), reference="nope")


def test_results_that_cannot_give_effects_say_why(model, scenarios):
    ens = ys.simulate(model, scenarios, samples=2, horizon=scenarios[1].horizon)
    with pytest.raises(LeverEffectsUnavailable) as got:
        lever_effects_of_results(ens, model, load_goals())
    assert got.value.reason == "ensemble"
    assert "集合" in effects_note(got.value, "zh")
    ds = ys.simulate(model, scenarios)
    no_manifest = ds.copy()
    del no_manifest.attrs["manifest"]
    with pytest.raises(LeverEffectsUnavailable) as got:
        lever_effects_of_results(no_manifest, model, load_goals())
    assert got.value.reason == "manifest"
    other = ds.copy()
    other.attrs["manifest"] = ds.attrs["manifest"].replace(model.mdl_sha256, "0" * 64)
    with pytest.raises(LeverEffectsUnavailable) as got:
        lever_effects_of_results(other, model, load_goals())
    assert got.value.reason == "model"


def test_effects_of_results_rebuild_the_scenarios_from_the_manifest(model, scenarios, effects):
    ds = ys.simulate(model, scenarios)
    again = lever_effects_of_results(ds, model, load_goals(), year=2020)
    np.testing.assert_allclose(again["effect"], effects["effect"], rtol=1e-12, atol=1e-12)


def test_a_batch_of_the_same_scenarios_gives_the_same_effects(model, effects, tmp_path):
    from yaan_sim.analysis.batch import run_batch

    files = [REPO / f"scenarios/{n}.yaml" for n in ("baseline", "plan")]
    res = run_batch(model, files, tmp_path / "b.nc", progress=False)
    again = lever_effects_of_results(res.dataset, model, load_goals(), year=2020)
    np.testing.assert_allclose(again["effect"], effects["effect"], rtol=1e-12, atol=1e-12)


def test_the_findings_name_the_largest_effects_and_tabulate_every_goal(model, effects):
    ds = ys.simulate(
        model, [ys.load_scenario(REPO / f"scenarios/{n}.yaml") for n in ("baseline", "plan")]
    )
    table = evaluate(ds, load_goals(), year=2020, lang="zh")
    found = scenario_findings(ds, table, "zh", scenario_titles(ds), model, effects=effects)
    (plan,) = found
    text = plan["sentences"][-1]
    rev = effects[effects["goal_id"] == "revenue_city"]
    alone = rev[rev["kind"] == "alone"].set_index("lever")["effect"]
    last = rev[rev["kind"] == "last"].set_index("lever")["effect"]
    largest = alone.abs().idxmax()
    assert text.startswith("全市园区营业收入（全市）的变化")
    name = model.meta[largest].long_name_zh
    assert f"{name} {alone[largest]:+.1f}（{last[largest]:+.1f}）" in text
    assert f"其余{len(alone) - 3}项合计" in text
    rows = plan["effects"]["table"].rows
    assert [r[0].text for r in rows[-2:]] == ["交互作用（共同作用部分）", "总变化"]
    assert len(rows) == len(alone) + 2
    assert rows[0][0].text == model.meta[alone.index[0]].long_name_zh
    # moved last: a table of its own, the levers and the whole change
    rows = plan["effects"]["last_table"].rows
    assert len(rows) == len(last) + 1 and rows[-1][0].text == "总变化"
    column = list(plan["effects"]["last_table"].header).index(
        next(h for h in plan["effects"]["last_table"].header if h.startswith("全市园区营业收入"))
    )
    shown = {r[0].text: r[column].text for r in rows}
    assert shown[name] == f"{last[largest]:+,.1f}"
    assert "最后调整" in plan["effects"]["last_note"]
    header = plan["effects"]["table"].header
    assert len(header) == 1 + effects["goal_id"].nunique()


def test_the_report_of_a_run_splits_each_scenario_lever_by_lever(model, scenarios, tmp_path):
    from yaan_sim.cli import main

    nc = tmp_path / "runs.nc"
    ys.simulate(model, scenarios).to_netcdf(nc)
    out = tmp_path / "report.html"
    assert main(["report", str(nc), "-o", str(out), "--no-observed"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("按杠杆分解") == 1  # the plan against the baseline
    assert "<details><summary>各杠杆单独作用：全部目标（其余杠杆按基准情景" in text


def test_the_exported_workbook_has_the_effects_sheet(model, scenarios, effects, tmp_path):
    import pandas as pd

    from yaan_sim.cli import main

    nc = tmp_path / "runs.nc"
    ys.simulate(model, scenarios).to_netcdf(nc)
    out = tmp_path / "book.xlsx"
    assert main(["export", str(nc), "-o", str(out), "--lang", "en"]) == 0
    sheet = pd.read_excel(out, sheet_name="lever effects")
    whole = sheet[sheet["lever"] == "whole change"]
    column = next(c for c in sheet.columns if str(c).startswith("City park revenue"))
    assert float(whole[column].iloc[0]) == pytest.approx(_effect(effects, "revenue_city", "total"))
    assert len(sheet) == effects[effects["goal_id"] == "revenue_city"].shape[0]
    last = sheet[sheet["lever"] == f"{LEVER}: last"]
    assert float(last[column].iloc[0]) == pytest.approx(
        _effect(effects, "revenue_city", "last", LEVER)
    )
