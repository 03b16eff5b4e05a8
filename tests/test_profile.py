"""Model profiles: any Vensim model with its own scenarios, goals, charts and report.

The SDXorg models come from ../shared/test-models (skipped where that folder is absent);
each is copied into tmp_path so that its goals file and scenarios sit beside it. Expected
values come from the models' canonical output (Vensim's) or from hand-made data, never
from the code under test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from yaan_sim.cli import main
from yaan_sim.errors import ResultsError
from yaan_sim.model.profile import GENERIC, profile_for, profile_for_results
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goals import GoalsError, goals_from_dict, load_goals
from yaan_sim.paths import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
SDX = Path(os.environ.get("YAAN_SIM_TEST_MODELS", REPO.parent / "shared" / "test-models"))
needs_sdx = pytest.mark.skipif(not SDX.is_dir(), reason=f"the SDXorg test models are not at {SDX}")

#: Words of the Ya'an plan that must not reach another model's outputs. "yaan-sim", the
#: tool's name, is taken out of the text first.
YAAN_WORDS = re.compile(
    r"\b(?:Ya'?an|parks?|revenue|ETDZ|plan's)\b|雅安|园区|营业收入|亿元|规划|2000亿", re.IGNORECASE
)


def yaan_words(text: str) -> list[str]:
    text = re.sub(r"yaan[-_]sim", "", text, flags=re.IGNORECASE)
    text = re.sub(r"<style>.*?</style>|base64,[A-Za-z0-9+/=]+", "", text, flags=re.DOTALL)
    return YAAN_WORDS.findall(text)


def canonical(case: str) -> pd.DataFrame:
    """Vensim's output of an SDXorg case, indexed by time (blank cells carry forward)."""
    folder = SDX / case
    path = next(p for p in (folder / "output.csv", folder / "output.tab") if p.is_file())
    sep = "\t" if path.suffix == ".tab" else ","
    ref = pd.read_csv(path, sep=sep).ffill()
    ref.columns = [c.strip('"') for c in ref.columns]
    return ref.set_index("Time")


def assert_canonical(ds: xr.Dataset, ref: pd.DataFrame, scenario: str | None = None) -> int:
    """Every output column of ``ref`` that the results hold, equal to 1e-4; the count."""
    by_name = {ds[v].attrs.get("vensim_name"): v for v in ds.data_vars}
    compared = 0
    for col in ref.columns:
        name, _, el = col.partition("[")
        if name not in by_name:  # control variables are not results
            continue
        da = ds[by_name[name]]
        if scenario is not None:
            da = da.sel(scenario=scenario)
        if el:  # "Stock A[Entry 1,Column 2]": one element per subscript, in order
            extra = [d for d in da.dims if d not in ("time", "scenario")]
            da = da.sel(dict(zip(extra, el.rstrip("]").split(","), strict=True)))
        sim = da.sel(time=ref.index.to_numpy(float), method="nearest").values
        want = ref[col].to_numpy(float)
        np.testing.assert_allclose(
            sim, want, rtol=1e-4, atol=1e-5 * np.abs(want).max(), err_msg=col
        )
        compared += 1
    return compared


# ------------------------------------------------------------------ the profile itself


def test_the_yaan_model_has_the_yaan_profile(tmp_path):
    for mdl in (None, DEFAULT_MODEL, tmp_path / "variant" / "yaan_parks.mdl"):
        p = profile_for(mdl)
        assert p.is_yaan and p.goals_path.name == "plan-goals.yaml"
        assert "city_total" in p.charts and p.scenarios_dir.name == "scenarios"


def test_another_model_finds_its_files_beside_it(tmp_path):
    mdl = tmp_path / "tea.mdl"
    mdl.write_text("{UTF-8}\n", encoding="utf-8")
    p = profile_for(mdl)
    assert (p.kind, p.model_name, p.goals_path, p.scenarios_dir) == (GENERIC, "tea.mdl", None, None)
    assert p.scenario_files() == [] and "tea.goals.yaml" in p.goals_hint()
    (tmp_path / "goals.yaml").write_text("goals: []\n", encoding="utf-8")
    assert profile_for(mdl).goals_path == tmp_path / "goals.yaml"
    (tmp_path / "tea.goals.yaml").write_text("goals: []\n", encoding="utf-8")
    assert profile_for(mdl).goals_path == tmp_path / "tea.goals.yaml"  # its own name first
    (tmp_path / "scenarios").mkdir()
    for name in ("warm.yaml", "cold.yaml", "x-goals.yaml", "x.goals.yaml", "notes.txt"):
        (tmp_path / "scenarios" / name).write_text("name: x\n", encoding="utf-8")
    p = profile_for(mdl)
    assert [f.name for f in p.scenario_files()] == ["cold.yaml", "warm.yaml"]
    assert p.scenario_ref("warm") == str(tmp_path / "scenarios" / "warm.yaml")
    assert p.scenario_ref("plan") == "plan"  # not its scenario: left to the reader


def test_the_profile_of_results_comes_from_their_manifest():
    ds = xr.Dataset(coords={"time": [0.0, 1.0]})
    ds.attrs["manifest"] = json.dumps({"model_file": "SIR.mdl"})
    p = profile_for_results(ds)
    assert not p.is_yaan and p.model_name == "SIR.mdl" and p.mdl_path is None
    assert "pass --model" in p.goals_hint()
    ds.attrs["manifest"] = json.dumps({"model_file": "yaan_parks.mdl"})
    assert profile_for_results(ds).is_yaan


# ------------------------------------------------------------------ the generic goal form


def _goals(*goals):
    return goals_from_dict({"goals": list(goals)})


def test_generic_goals_read_as_written():
    g = _goals(
        {"id": "a", "variable": "Stock", "comparison": "at least", "target": 5, "year": 10},
        {
            "id": "b",
            "name_zh": "峰值",
            "variable": "Flow",
            "statistic": "max",
            "element": "A",
            "comparison": "at most",
            "target": 2,
            "year": 3,
        },
        {
            "id": "c",
            "variable": "Stock",
            "comparison": "falling every year",
            "baseline_year": 0,
            "year": 4,
        },
    )
    assert [x.comparison for x in g] == [">=", "<=", "falling_every_year"]
    assert [x.is_generic for x in g] == [True] * 3 and g["b"].name("zh") == "峰值"
    assert g["b"].metric.describe() == "max(Flow[A])" and g["a"].fixed_target("model", "") == 5


@pytest.mark.parametrize(
    "goal, message",
    [
        ({"comparison": "at mots", "target": 1}, "did you mean 'at most'"),
        ({"comparison": "at least"}, "'target': missing"),
        ({"comparison": "falling every year", "target": 1}, "takes no target"),
        ({"comparison": "falling every year"}, "'baseline_year': missing"),
        ({"comparison": "at least", "target": 1, "statistc": "max"}, "did you mean 'statistic'"),
        ({"comparison": "at least", "target": 1, "statistic": "peak"}, "'peak' is not one of"),
        ({"comparison": "at least", "target": "high"}, "must be a number"),
        ({"comparison": "at least", "target": 1, "element": 3}, "must be a subscript element"),
        ({"comparison": "at least", "target": 1, "year": 2.5}, "is not a whole number"),
        ({"comparison": "at least", "target": 1, "baseline_year": 20}, "must be before"),
    ],
)
def test_a_bad_generic_goal_is_named_with_its_fix(goal, message):
    with pytest.raises(GoalsError, match=re.escape(message)):
        _goals({"id": "g", "variable": "Stock", "year": 10} | goal)


def _hand_made():
    """x over t = 0..4 and a stock per region, values chosen by hand."""
    t = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    x = [0, 1, 3, 5, 7, 6, 4, 3, 2]
    stock = [[10 - v, 1 + v] for v in t]  # North falls, South rises
    ds = xr.Dataset(
        {
            "x": ("time", np.array(x, float), {"units": "Persons", "vensim_name": "X Flow"}),
            "stock": (("time", "region"), np.array(stock, float), {"units": "t"}),
        },
        coords={"time": t, "region": ["North", "South"]},
    )
    ds.attrs["manifest"] = json.dumps({"model_file": "hand.mdl"})
    return ds


def test_generic_goals_are_judged_by_the_status_rules():
    goals = _goals(
        # the largest x up to t = 4 is 7 (t = 2): a goal of at most 6 on it is missed
        {
            "id": "peak",
            "variable": "X Flow",
            "statistic": "max",
            "comparison": "at most",
            "target": 6,
            "year": 4,
        },
        # x itself is 2 at t = 4
        {"id": "last", "variable": "x", "comparison": "at most", "target": 6, "year": 4},
        {
            "id": "north",
            "variable": "stock",
            "element": "North",
            "comparison": "falling every year",
            "baseline_year": 0,
            "year": 4,
        },
        {
            "id": "south",
            "variable": "stock",
            "element": ["South"],
            "comparison": "falling every year",
            "baseline_year": 0,
            "year": 4,
        },
        {
            "id": "south_level",
            "variable": "Stock",
            "element": "South",
            "comparison": "at least",
            "target": 3,
            "year": 4,
        },
    )
    table = evaluate(_hand_made(), goals, year=None).set_index("goal_id")
    assert table.loc["peak", "value"] == 7 and table.loc["peak", "status"] == "missed"
    assert table.loc["last", "value"] == 2 and table.loc["last", "status"] == "met"
    assert table.loc["north", "status"] == "met" and table.loc["south", "status"] == "missed"
    assert table.loc["south_level", "value"] == 5 and table.loc["south_level", "status"] == "met"
    assert table.loc["south", "scope_name"] == "South" and table.loc["peak", "unit"] == "Persons"
    # before the goal year, the same projection rule as the plan's goals: x falls from 7
    # (t = 2) to 2 (t = 4), so "x at most 6 at t = 4" is on track at t = 2
    early = evaluate(_hand_made(), goals, year=2).set_index("goal_id")
    assert early.loc["last", "status"] == "on track"


def test_a_goal_on_a_variable_the_results_lack_says_which(tmp_path):
    goals = _goals(
        {"id": "g", "variable": "X Flw", "comparison": "at least", "target": 1, "year": 4}
    )
    with pytest.raises(ResultsError, match="did you mean 'X Flow'"):
        evaluate(_hand_made(), goals)
    goals = _goals(
        {"id": "g", "variable": "stock", "comparison": "at least", "target": 1, "year": 4}
    )
    with pytest.raises(ResultsError, match="has subscripts \\(region\\)"):
        evaluate(_hand_made(), goals)


def test_the_plan_goals_are_unchanged_by_the_generic_form():
    goals = load_goals()
    assert not any(g.is_generic for g in goals)
    assert goals["revenue_city"].target == 2000 and goals["revenue_city"].scope == "city"


# ------------------------------------------------------------------ SDXorg models

# case folder, .mdl, goals (one met, one missed: targets from the canonical output)
CASES = {
    "teacup": "samples/teacup/teacup.mdl",
    "SIR": "samples/SIR/SIR.mdl",
    "subscript_2d_arrays": "tests/subscript_2d_arrays/test_subscript_2d_arrays.mdl",
}


def goals_for(case: str, ref: pd.DataFrame) -> tuple[list[dict], dict[str, str]]:
    """A goals file's goals for ``case`` and the status each must get, from Vensim's output."""
    if case == "teacup":
        at10, at30 = ref.loc[10.0, "Teacup Temperature"], ref.loc[30.0, "Teacup Temperature"]
        goals = [
            {
                "id": "drinkable",
                "name": "Tea cool enough to drink",
                "name_zh": "茶温适饮",
                "variable": "Teacup Temperature",
                "comparison": "at most",
                "target": at10 + 1,
                "year": 10,
            },
            {
                "id": "warm",
                "variable": "Teacup Temperature",
                "comparison": "at least",
                "target": at30 + 1,
                "year": 30,
            },
        ]
        return goals, {"drinkable": "met", "warm": "missed"}
    if case == "SIR":
        peak = ref.loc[:100.0, "Infectious"].max()
        goals = [
            {
                "id": "peak_ok",
                "variable": "Infectious",
                "statistic": "max",
                "comparison": "at most",
                "target": round(peak * 1.05),
                "year": 100,
            },
            {
                "id": "peak_low",
                "variable": "Infectious",
                "statistic": "max",
                "comparison": "at most",
                "target": round(peak * 0.95),
                "year": 100,
            },
        ]
        return goals, {"peak_ok": "met", "peak_low": "missed"}
    v = ref.loc[100.0, "Stock A[Entry 2,Column 1]"]
    goals = [
        {
            "id": "entry2",
            "variable": "Stock A",
            "element": ["Entry 2", "Column 1"],
            "comparison": "at least",
            "target": v - 0.5,
            "year": 100,
        },
        {
            "id": "entry3",
            "variable": "Stock A",
            "element": ["Entry 3", "Column 2"],
            "comparison": "at most",
            "target": ref.loc[100.0, "Stock A[Entry 3,Column 2]"] - 1,
            "year": 100,
        },
    ]
    return goals, {"entry2": "met", "entry3": "missed"}


def _copy(case: str, tmp: Path) -> Path:
    mdl = tmp / Path(CASES[case]).name
    shutil.copy(SDX / CASES[case], mdl)
    return mdl


def _texts(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in folder.glob("*.html")) + "\n".join(
        p.read_text(encoding="utf-8") for p in folder.glob("*.md")
    )


@needs_sdx
@pytest.mark.parametrize("case", list(CASES))
def test_a_model_with_a_goals_file_gets_its_goal_table_charts_and_report(
    tmp_path, monkeypatch, capsys, case
):
    monkeypatch.chdir(tmp_path)
    mdl = _copy(case, tmp_path)
    ref = canonical(str(Path(CASES[case]).parent))
    goals, want = goals_for(case, ref)
    (tmp_path / f"{mdl.stem}.goals.yaml").write_text(
        json.dumps({"goals": goals}, ensure_ascii=False), encoding="utf-8"
    )
    assert main(["run", "--model", str(mdl), "--out-dir", "out"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and not yaan_words(out.out + out.err)
    ds = xr.load_dataset(tmp_path / "out" / "runs.nc")
    assert assert_canonical(ds, ref) >= 1
    table = pd.read_csv(tmp_path / "out" / "goal_table.csv").set_index("goal_id")
    assert table["status"].to_dict() == want
    charts = {p.name for p in (tmp_path / "out" / "charts").iterdir()}
    assert {"goal_trajectories.png", "goal_table.png"} <= charts
    html = (tmp_path / "out" / "report.en.html").read_text(encoding="utf-8")
    assert f"{mdl.name}: simulation results and goals" in html
    assert all(f'id="goal-{g}"' in html for g in want) and 'id="midterm"' not in html
    assert not yaan_words(_texts(tmp_path / "out"))

    # evaluate and report of the results file find the goals through --model
    assert main(["evaluate", "out/runs.nc", "--model", str(mdl), "--format", "csv"]) == 0
    rows = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out)).set_index("goal_id")
    assert rows["status"].to_dict() == want
    assert main(["report", "out/runs.nc", "--model", str(mdl), "-o", "r.html", "--lang", "zh"]) == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "模拟结果与目标评估" in text and not yaan_words(text)


@needs_sdx
def test_a_model_without_goals_gets_charts_of_its_stocks_and_a_report(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    mdl = _copy("SIR", tmp_path)
    assert main(["run", "--model", str(mdl), "--out-dir", "out"]) == 0
    err = capsys.readouterr().err
    assert "no goals file for SIR.mdl" in err and "Traceback" not in err
    assert (
        assert_canonical(xr.load_dataset(tmp_path / "out" / "runs.nc"), canonical("samples/SIR"))
        >= 3
    )
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.*")) == [
        "report.en.html",
        "report.html",
        "runs.nc",
        "stocks.png",
    ]
    html = (tmp_path / "out" / "report.en.html").read_text(encoding="utf-8")
    assert 'id="no-goals"' in html and 'id="goal-table"' not in html
    assert not yaan_words(_texts(tmp_path / "out"))
    # evaluating results with no goals to judge: a notice, not a failure
    assert main(["evaluate", "out/runs.nc"]) == 0
    assert "no goals file for SIR.mdl" in capsys.readouterr().err


@needs_sdx
def test_levers_validate_and_run_take_the_model_own_constants(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mdl = _copy("teacup", tmp_path)
    assert main(["levers", "--model", str(mdl)]) == 0
    out = capsys.readouterr()
    assert "Characteristic Time" in out.out and "[0, ?] Minutes" in out.out
    assert "Room Temperature" in out.out and "every constant is listed" in out.err
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "cold-room.yaml").write_text(
        "name: cold-room\ntitle: {en: A cold room, zh: 冷房间}\nlevers:\n  Room Temperature: 50\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nlevers:\n  Room Temprature: 50\n  Characteristic Time: -3\n", encoding="utf-8"
    )
    assert main(["validate", "--model", str(mdl)]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["validate", "--model", str(mdl), "bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'Room Temperature'?" in err and "outside the range" in err
    # the main job runs the model's own scenarios; Euler's steps give the expected value
    assert main(["run", "--model", str(mdl), "--out-dir", "out"]) == 0
    ds = xr.load_dataset(tmp_path / "out" / "runs.nc")
    t30 = float(ds["teacup_temperature"].sel(scenario="cold-room", time=30.0))
    assert t30 == pytest.approx(50 + 130 * (1 - 0.125 / 10) ** 240, rel=1e-9)
    assert ds["time"].attrs["units"] == "Minute"
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "冷房间" in html and not yaan_words(_texts(tmp_path / "out"))
    # seek needs goals, and levers with both bounds (teacup gives Room Temperature none above)
    argv = ["seek", "--model", str(mdl), "cold-room", "--goals", "warm", "--levers"]
    assert main([*argv, "Room Temperature"]) == 2
    assert "no goals file for teacup.mdl" in capsys.readouterr().err
    (tmp_path / "goals.yaml").write_text(
        "goals:\n  - {id: warm, variable: Teacup Temperature, comparison: at least, target: 100,"
        " year: 30}\n",
        encoding="utf-8",
    )
    assert main([*argv, "Room Temperature"]) == 2
    assert "has [-459.67, ?] Degrees Fahrenheit in the .mdl" in capsys.readouterr().err
