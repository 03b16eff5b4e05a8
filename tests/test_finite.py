"""Non-finite numbers and negative stocks never pass silently, and a missing value is
never counted as 0."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from support.fake_results import make_results

import yaan_sim as ys
from yaan_sim.cli import main
from yaan_sim.outputs import finite
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.finite import Expected, NonFiniteWarning, scan

REPO = Path(__file__).resolve().parents[1]
BAD_MDL = REPO / "tests" / "data" / "nonfinite.mdl"
SCENARIO = """name: s
levers:
  Drain rate: 0.5
uncertain:
  Drain rate: {distribution: uniform, low: 0.4, high: 0.6}
"""


def _grid() -> xr.Dataset:
    t = np.arange(2016.0, 2021.0)
    parks = ["ETDZ", "Hanyuan", "Shimian"]
    ones = np.ones((len(t), len(parks)))
    return xr.Dataset(
        {
            "revenue": (("time", "park"), ones.copy()),
            "capital": (("time", "park"), ones.copy()),
        },
        coords={"time": t, "park": parks},
    )


def test_scan_says_which_variable_where_and_when():
    ds = _grid()
    ds["revenue"][2, 1] = np.nan  # Hanyuan from 2018
    ds["revenue"][3:, 1] = np.nan
    ds["revenue"][4, 0] = np.inf
    ds["capital"][3, 2] = -5.0
    found = scan(ds, Expected({"capital": 0.0}, {}))
    assert [(f.variable, f.problem, f.count, f.time, f.where) for f in found] == [
        ("revenue", "NaN", 3, 2018.0, "park=Hanyuan"),
        ("revenue", "+inf", 1, 2020.0, "park=ETDZ"),
        ("capital", "below its minimum 0 (negative)", 1, 2019.0, "park=Shimian"),
    ]
    assert found[2].value == -5.0
    assert "capital[park=Shimian]: below its minimum 0 (negative) from t=2019" in found[2].text()


def test_a_negative_stock_among_finite_numbers_is_found(monkeypatch):
    """All values finite (checked together, in one sum): each stock's minimum still is."""
    ds = _grid()
    ds["capital"][1, 0] = -2.0
    found = scan(ds, Expected({"capital": 0.0, "revenue": 0.0}, {}))
    assert [(f.variable, f.count, f.time, f.where) for f in found] == [
        ("capital", 1, 2017.0, "park=ETDZ")
    ]
    monkeypatch.setattr(finite, "ALL_AT_ONCE", 10)  # too many to copy: one by one
    assert scan(ds, Expected({"capital": 0.0, "revenue": 0.0}, {})) == found


def test_round_off_below_zero_and_undefined_elements_are_no_finding():
    ds = _grid()
    ds["capital"][4, 0] = -1e-15  # a stock drained to 0, up to round-off
    ds["revenue"][:, 2] = np.nan  # outside the variable's sub-range: it has no value there
    assert scan(ds, Expected({"capital": 0.0}, {"revenue": {"park": ["ETDZ", "Hanyuan"]}})) == []
    assert len(scan(ds, Expected({}, {}))) == 1  # the same NaN, on the full range, is one


def test_the_model_runs_clean(model):
    """The shipped model has NaN only outside its sub-ranges: no finding (and no warning,
    which the test settings would turn into a failure)."""
    ds = ys.simulate(model, horizon=ys.Horizon(2016, 2017, 0.125, 0.25))
    assert json.loads(ds.attrs["manifest"]).get("nonfinite") is None
    assert scan(ds, Expected.of(model)) == []


@pytest.fixture(scope="module")
def bad_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    mdl = folder / BAD_MDL.name
    mdl.write_text(BAD_MDL.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    # PySD stops at a scalar division by zero, so its model only drives a stock negative
    pysd_only = folder / "negative.mdl"
    pysd_only.write_text(mdl.read_text().replace("1/(Tank-Tank)", "Tank*2"), encoding="utf-8")
    return ys.load_model(mdl), ys.load_model(pysd_only), folder


def test_the_vector_engine_flags_inf_and_negative_stocks(bad_model):
    model, _, _ = bad_model
    with pytest.warns(NonFiniteWarning) as caught:
        ds = ys.simulate(model, engine="vector")
    text = str(caught[0].message)
    assert "ratio: +inf from t=0" in text
    assert "tank: below its minimum 0 (negative) from t=3 (first -0.5)" in text
    lines = json.loads(ds.attrs["manifest"])["nonfinite"]
    assert any(x.startswith("tank: below its minimum 0") for x in lines)


def test_pysd_flags_negative_stocks(bad_model):
    _, negative, _ = bad_model
    with pytest.warns(NonFiniteWarning, match="tank: below its minimum 0"):
        ys.simulate(negative, engine="pysd")


def test_an_ensemble_is_checked_sample_by_sample(bad_model):
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.scenario import load_scenario

    model, _, folder = bad_model
    sc = load_scenario(folder / "s.yaml", model)
    with pytest.warns(NonFiniteWarning, match=r"tank\[scenario=s, sample=\d+\]: below"):
        ds = run_ensemble(model, [sc], 4, seed=1, return_vars="all")
    assert json.loads(ds.attrs["manifest"])["nonfinite"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "{s}", "-o", "{out}"],
        ["ensemble", "{s}", "-n", "3", "--vars", "all", "--no-progress", "-o", "{out}"],
        ["batch", "{s}", "--no-progress", "-o", "{out}"],
    ],
)
def test_the_cli_warns_or_refuses_as_asked(bad_model, tmp_path, capsys, argv):
    model, _, folder = bad_model
    out = tmp_path / "x.nc"
    argv = [a.format(s=folder / "s.yaml", out=out) for a in argv] + ["--model", str(model.mdl_path)]
    assert main([*argv, "--on-nonfinite", "error"]) == 2
    err = capsys.readouterr().err
    assert "non-finite" in err and "Nothing was written" in err
    assert list(tmp_path.iterdir()) == []  # not the results, not a batch's parts
    assert main([*argv, "--on-nonfinite", "warn"]) == 0
    err = capsys.readouterr().err
    assert "notice" in err and "flagged in the manifest" in err
    assert "tank" in json.dumps(json.loads(xr.load_dataset(out).attrs["manifest"])["nonfinite"])


def test_a_missing_park_is_no_data_not_zero_in_the_city_total():
    ds = make_results()
    ds["revenue"].loc[{"park": "ETDZ"}] = np.nan  # two thirds of the city's revenue
    table = evaluate(ds, year=2020)
    city = table[(table["goal_id"] == "revenue_city") & (table["scope"] == "city")].iloc[0]
    assert city["status"] == "no data"
    assert math.isnan(city["value"])
    rd = table[table["goal_id"] == "rd_share"].set_index("scope_name")  # a ratio of totals
    assert rd.loc["East", "status"] == "no data" and math.isnan(rd.loc["East", "value"])
    assert rd.loc["South", "status"] == "met"  # the parks with figures keep theirs


def test_the_run_table_shows_a_missing_total_as_missing():
    from yaan_sim.cli.run import revenue_table

    ds = make_results()
    ds["revenue"].loc[{"park": "Hanyuan", "time": 2020.0}] = np.nan
    total = revenue_table(ds, 2020.0).splitlines()[-1]
    assert total.startswith("City total") and total.split()[-1] == "nan"
