"""Every output option honours its suffix (opened back and checked) or refuses with exit 2;
the evaluation workbook round-trips through pandas with the content it claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tests.support.calendar_totals import calendar_total
from yaan_sim.cli import main
from yaan_sim.outputs.export import FORMATS, TABLE_WRITERS, WRITERS, records_json

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory, model):
    """baseline and plan with the vector engine, saved as netCDF (one run per module)."""
    import yaan_sim as ys

    scs = [ys.load_scenario(REPO / f"scenarios/{n}.yaml") for n in ("baseline", "plan")]
    ds = ys.simulate(model, scs, engine="vector")
    path = tmp_path_factory.mktemp("formats") / "runs.nc"
    ds.to_netcdf(path)
    return path, ds


def test_one_suffix_table_names_every_format():
    assert set(WRITERS) | set(TABLE_WRITERS) == set(FORMATS)
    assert {".nc", ".csv", ".xlsx", ".parquet", ".json", ".md", ".html"} == set(FORMATS)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".nc"])
def test_export_writes_the_format_its_suffix_names(results, tmp_path, suffix):
    path, ds = results
    out = tmp_path / f"r{suffix}"
    assert main(["export", str(path), "-o", str(out)]) == 0
    want = float(ds["revenue"].sel(scenario="plan", park="ETDZ", time=2020.0))
    if suffix == ".nc":
        back = xr.load_dataset(out)
        assert float(back["revenue"].sel(scenario="plan", park="ETDZ", time=2020.0)) == want
        return
    if suffix == ".csv":
        df = pd.read_csv(out, low_memory=False)  # park and industry share a column
    elif suffix == ".parquet":
        df = pd.read_parquet(out)
    else:
        df = pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    row = df[
        (df["variable"] == "revenue")
        & (df["scenario"] == "plan")
        & (df["park"] == "ETDZ")
        & np.isclose(df["time"], 2020.0)
    ]
    assert len(row) == 1 and row["value"].iloc[0] == want  # exact: no format rounds
    assert row["units"].iloc[0] == ds["revenue"].attrs["units"]


def test_json_records_keep_every_number_exactly():
    """DataFrame.to_json keeps 10 decimals: the JSON export wrote 1.235e-07 for
    1.2345678901234567e-07, and 1234.5678901235 for 1234.5678901234567."""
    df = pd.DataFrame(
        {
            "variable": ["强度", "revenue", "gap"],
            "value": [1.2345678901234567e-07, 1234.5678901234567, np.nan],
            "year": np.array([2016, 2017, 2018], dtype=np.int64),
            "met": np.array([True, False, True]),
        }
    )
    text = records_json(df)
    assert text.startswith("[\n{") and text.endswith("}\n]\n") and "强度" in text
    assert json.loads(text) == [
        {"variable": "强度", "value": 1.2345678901234567e-07, "year": 2016, "met": True},
        {"variable": "revenue", "value": 1234.5678901234567, "year": 2017, "met": False},
        {"variable": "gap", "value": None, "year": 2018, "met": True},
    ]
    assert json.loads(records_json(df.iloc[:0])) == []


@pytest.mark.parametrize("suffix", [".md", ".html", ".txt", ""])
def test_run_refuses_a_results_suffix_it_cannot_write_before_running(tmp_path, capsys, suffix):
    out = tmp_path / f"r{suffix}"
    assert main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot be written as" in err and ".nc (netCDF)" in err and "--out-dir" in err
    assert not out.exists()


def test_run_writes_the_workbook_for_xlsx(tmp_path):
    out = tmp_path / "plan.xlsx"
    assert main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    assert "目标" in sheets and "营业收入" in sheets


def test_workbook_round_trips_with_goals_parks_levers_sources(results, tmp_path):
    path, ds = results
    out = tmp_path / "评估.xlsx"
    assert main(["export", str(path), "-o", str(out), "--reference", "baseline"]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    goals = sheets["目标"]
    # goal x scenario: the scenario files' Chinese titles, status words in Chinese
    assert set(goals["情景"]) == {"基准情景（规划前政策）", "规划情景（按实施方案）"}
    assert set(goals["判定"]) <= {"达标", "有望达标", "有风险", "未达标", "无数据"}
    assert "亿元/年" not in set(goals["单位"]) and "yiyuan" not in " ".join(map(str, goals["单位"]))
    city = goals[
        (goals["目标"] == "全市园区营业收入") & (goals["情景"] == "规划情景（按实施方案）")
    ]
    want = float(calendar_total(ds["revenue"].sel(scenario="plan").sum("park"), 2020))
    assert city["数值"].iloc[0] == pytest.approx(want)
    assert city["目标值"].iloc[0] == 2000
    # the difference from the reference, per goal and scope
    base = goals[
        (goals["目标"] == "全市园区营业收入") & (goals["情景"] == "基准情景（规划前政策）")
    ]
    diff = [c for c in goals.columns if c.startswith("数值−")]
    assert len(diff) == 1
    assert city[diff[0]].iloc[0] == pytest.approx(want - base["数值"].iloc[0])
    assert base[diff[0]].iloc[0] == 0
    # park x year, calendar years as columns with the unit in the header
    rev = sheets["营业收入"]
    col = "2020 (亿元)"
    assert col in rev.columns
    etdz = rev[(rev["园区"].str.contains("经开区")) & (rev["情景"] == "规划情景（按实施方案）")]
    assert etdz[col].iloc[0] == pytest.approx(
        float(calendar_total(ds["revenue"].sel(scenario="plan", park="ETDZ"), 2020))
    )
    for name in ("工业总产值", "研发经费支出", "工业用水量"):
        assert name in sheets, sorted(sheets)
    assert any(k.startswith("主要污染物排放量") for k in sheets)
    # levers per scenario; constants with their source; observed figures; back-test
    assert "政策杠杆" in sheets and len(sheets["政策杠杆"]) > 0
    consts = sheets["参数与来源"]
    assert consts["来源"].notna().all() and len(consts) > 50
    assert (consts["来源"].str.lower().str.startswith("assumed")).any()
    assert len(sheets["观测数据"]) >= 20 and "来源网址" in sheets["观测数据"]
    assert "回测" in sheets
    # the words of the Chinese workbook are Chinese: no ledger or back-test enumeration and
    # no goal basis left in English
    observed, backtest = sheets["观测数据"], sheets["回测"]
    assert set(observed["范围类型"]) <= {"全市", "全省", "县", "园区"}
    assert set(observed["类型"]) <= {"总量", "增速", "比重", "目标", "变化"}
    assert set(observed["可信度"]) <= {"高", "中", "低"}
    assert set(backtest["用途"]) <= {"拟合", "检验", "不可比", "推算"}
    assert set(goals["取值口径"]) <= {"全年累计", "总量之比", "年末值", "时点值"}


def test_workbook_frozen_panes_number_formats_and_english(results, tmp_path):
    import openpyxl

    path, _ = results
    out = tmp_path / "eval.xlsx"
    assert main(["export", str(path), "-o", str(out), "--lang", "en"]) == 0
    wb = openpyxl.load_workbook(out)
    assert "goals" in wb.sheetnames and "levers" in wb.sheetnames
    ws = wb["goals"]
    assert ws.freeze_panes is not None and ws.freeze_panes != "A1"
    head = [c.value for c in ws[1]]
    assert "gap (value - target)" in head and head[0] == "scenario"
    value = ws.cell(row=2, column=head.index("value") + 1)
    assert "#,##0" in value.number_format  # no scientific notation
    assert ws.column_dimensions["B"].width > 10


def test_an_ensemble_workbook_holds_quantiles_not_samples(model, tmp_path):
    import yaan_sim as ys
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.outputs.export import export

    unc = ys.load_scenario(REPO / "scenarios/uncertain/plan-uncertain.yaml")
    ens = run_ensemble(model, [unc], 40, seed=0)
    out = export(ens, tmp_path / "ens.xlsx")
    sheets = pd.read_excel(out, sheet_name=None)
    rev = sheets["营业收入"]
    assert set(rev["统计量"]) == {"P5", "P50", "P95"}
    assert len(rev) == 3 * (ens.sizes["park"] + 1)
    p50 = rev[(rev["统计量"] == "P50") & rev["园区"].str.contains("汉源")]["2020 (亿元)"].iloc[0]
    want = float(calendar_total(ens["revenue"].sel(park="Hanyuan"), 2020).median())
    assert p50 == pytest.approx(want)
    assert "达标概率" in sheets["目标"].columns


@pytest.mark.parametrize("suffix", [".csv", ".json", ".md", ".html", ".parquet", ".xlsx"])
def test_evaluate_writes_its_suffix(results, tmp_path, suffix):
    path, ds = results
    out = tmp_path / f"goals{suffix}"
    assert main(["evaluate", str(path), "-o", str(out), "--lang", "zh"]) == 0
    want = float(calendar_total(ds["revenue"].sel(scenario="plan").sum("park"), 2020))
    if suffix == ".csv":
        df = pd.read_csv(out)
    elif suffix == ".parquet":
        df = pd.read_parquet(out)
    elif suffix == ".json":
        df = pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    elif suffix == ".xlsx":
        df = pd.read_excel(out, sheet_name="目标")
        row = df[(df["目标"] == "全市园区营业收入") & df["情景"].str.startswith("规划")]
        assert row["数值"].iloc[0] == pytest.approx(want)
        return
    else:
        text = out.read_text(encoding="utf-8")
        assert f"{want:,.2f}" in text and "未达标" in text
        assert text.startswith("<!DOCTYPE html>") == (suffix == ".html")
        return
    row = df[(df["goal_id"] == "revenue_city") & (df["scenario"] == "plan")]
    assert row["value"].iloc[0] == pytest.approx(want)
