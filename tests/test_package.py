"""Any scenario set gets the package of `make run`: `run A B --out-dir D --reference NAME`."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from tests.support.calendar_totals import calendar_total
from yaan_sim.cli import main
from yaan_sim.outputs.package import PACKAGE_FILES

REPO = Path(__file__).resolve().parents[1]


def _text_of(html_path: Path) -> str:
    """What a reader sees: no style, no embedded images or fonts, no manifest block."""
    t = html_path.read_text(encoding="utf-8")
    t = re.sub(r"<style.*?</style>|<pre.*?</pre>", " ", t, flags=re.S)
    t = re.sub(r'src="data:[^"]*"', "", t)
    return re.sub(r"<[^>]+>", " ", t)


def test_own_scenarios_get_the_full_package(tmp_path, capsys):
    d = tmp_path / "mine"  # a folder that does not exist yet is created
    argv = ["run", str(REPO / "scenarios/plan.yaml"), str(REPO / "scenarios/baseline.yaml")]
    assert main([*argv, "--out-dir", str(d), "--reference", "baseline"]) == 0
    for name in (*PACKAGE_FILES, "runs.nc"):
        assert (d / name).is_file(), name
    charts = sorted(p.name for p in (d / "charts").glob("*.png"))
    assert {"city_total.png", "goal_table.png", "scenario_comparison.png"} <= set(charts)
    ds = xr.load_dataset(d / "runs.nc")
    rev = calendar_total(ds["revenue"].sum("park"), 2020)
    # goal x scenario with values and the difference from the reference
    m = pd.read_csv(d / "goals_by_scenario.csv")
    city = m[m["目标"] == "全市园区营业收入"].iloc[0]
    plan_col, base_col = "规划情景（按实施方案）", "基准情景（规划前政策）"
    assert city[plan_col] == pytest.approx(float(rev.sel(scenario="plan")))
    assert city[base_col] == pytest.approx(float(rev.sel(scenario="baseline")))
    diff = float(rev.sel(scenario="plan") - rev.sel(scenario="baseline"))
    assert city[f"{plan_col}−{base_col}"] == pytest.approx(diff)
    assert "未达标" in set(m[f"{plan_col} 判定"])
    # the report's lever effects: the plan against the reference, adding up to the change
    fx = pd.read_csv(d / "lever_effects.csv")
    assert set(fx["scenario"]) == {"plan"} and set(fx["reference"]) == {"baseline"}
    rev_fx = fx[fx["goal_id"] == "revenue_city"]
    assert rev_fx.loc[rev_fx["kind"] == "total", "effect"].iloc[0] == pytest.approx(diff)
    parts = rev_fx[rev_fx["kind"].isin(["alone", "interaction"])]
    assert parts["effect"].sum() == pytest.approx(diff)
    assert set(rev_fx.loc[rev_fx["kind"] == "last", "lever"]) == set(
        rev_fx.loc[rev_fx["kind"] == "alone", "lever"]
    )
    # the zh report: Chinese titles, no Vensim units, no English ids where a title exists
    zh = _text_of(d / "report.html")
    assert plan_col in zh and base_col in zh
    for word in ("yiyuan", "Dmnl", "wantce", "1/Year", "missed"):
        assert word not in zh, word
    assert "report.en.html" in {p.name for p in d.iterdir()}
    wb = pd.read_excel(d / "评估.xlsx", sheet_name=None)
    assert "目标" in wb and any(c.startswith("数值−") for c in wb["目标"].columns)
    # the lever effects as the report's table: the plan's whole change is the difference
    effects = wb["杠杆作用分解"]
    whole = effects[(effects["情景"] == plan_col) & (effects["杠杆"] == "总变化")]
    assert set(effects["对照情景"]) == {base_col}
    assert whole["全市园区营业收入（全市）（亿元）"].iloc[0] == pytest.approx(diff)
    # levers by their Chinese names, moved alone and moved last
    threshold = "入园门槛（亩均投资强度）"
    assert {f"{threshold}：单独调整", f"{threshold}：最后调整"} <= set(effects["杠杆"])
    en = pd.read_excel(d / "evaluation.en.xlsx", sheet_name=None)
    assert "goals" in en and "Entry threshold: last" in set(en["lever effects"]["lever"])


def test_a_reference_that_is_not_run_exits_2_before_the_run(tmp_path, capsys):
    argv = ["run", str(REPO / "scenarios/plan.yaml"), "--out-dir", str(tmp_path)]
    assert main([*argv, "--reference", "nosuch"]) == 2
    assert "--reference 'nosuch' is not one of the scenarios run: plan" in capsys.readouterr().err
    assert not (tmp_path / "runs.nc").exists()


def test_batch_checks_its_reference_before_the_run(tmp_path, capsys):
    argv = ["batch", str(REPO / "scenarios/plan.yaml"), "--horizon", "2016:2017", "--no-progress"]
    out = tmp_path / "b.nc"
    assert main([*argv, "-o", str(out), "--reference", "plan"]) == 2
    assert "give --out-dir DIR too" in capsys.readouterr().err
    assert (
        main([*argv, "-o", str(out), "--reference", "nosuch", "--out-dir", str(tmp_path / "p")])
        == 2
    )
    assert "--reference 'nosuch' is not one of the scenarios run: plan" in capsys.readouterr().err
    assert not out.exists() and not list((tmp_path / "p").iterdir())


def test_only_o_writes_only_the_results(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert (
        main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(out), "--reference", "plan"]) == 2
    )
    assert "give --out-dir DIR too, or leave --reference out" in capsys.readouterr().err
    assert main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_batch_writes_the_package_through_the_same_writer(tmp_path, monkeypatch, capsys):
    import shutil

    import yaan_sim.outputs.package as package

    calls = []

    def record(ds, out_dir, **kw):
        scenarios = sorted(map(str, ds["scenario"].values))
        calls.append((scenarios, Path(out_dir), kw["reference"], kw["year"]))
        return []

    monkeypatch.setattr(package, "write_package", record)
    src = tmp_path / "sc"
    src.mkdir()
    for name in ("plan.yaml", "baseline.yaml"):
        shutil.copy(REPO / "scenarios" / name, src / name)
    out = tmp_path / "pkg"  # created by the command
    argv = ["batch", str(src), "-o", str(tmp_path / "b.nc"), "--out-dir", str(out)]
    assert main([*argv, "--reference", "baseline", "--no-progress"]) == 0
    assert calls == [(["baseline", "plan"], out, "baseline", 2020)]
    # a shorter run: the package is judged in the summary's year, its last whole one (it
    # was judged in 2020 and refused, after the whole batch had run)
    short = ["batch", str(src), "-o", str(tmp_path / "b2.nc"), "--out-dir", str(tmp_path / "p2")]
    assert main([*short, "--horizon", "2016:2018", "--no-progress"]) == 0
    assert calls[-1] == (["baseline", "plan"], tmp_path / "p2", None, 2017)


def test_a_package_of_a_run_that_stops_before_2021_is_refused_before_the_run(tmp_path, capsys):
    sc = tmp_path / "short.yaml"
    sc.write_text("name: short\nextends: plan\nhorizon: {stop: 2019.5}\n", encoding="utf-8")
    out = tmp_path / "r.nc"
    assert main(["run", str(sc), "-o", str(out), "--out-dir", str(tmp_path / "pkg")]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "scenario 'short' runs to 2019.5, but the package (--out-dir) judges the plan's goals "
            "on 2020's calendar-year totals, which need a run to the end of 2020: set its "
            "horizon's stop to 2021 or later, or write only the results with -o"
        )
    )
    assert not out.exists() and not list((tmp_path / "pkg").iterdir())
    assert main(["run", str(sc), "-o", str(out)]) == 0  # the results alone: no goal year
