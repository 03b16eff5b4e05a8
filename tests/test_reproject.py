"""Re-projection from an observed state (the mid-term review) and ``start_state``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from support.calendar_totals import calendar_total

import yaan_sim as ys
from yaan_sim.analysis.reproject import reproject
from yaan_sim.cli import main
from yaan_sim.engines.prerun import StartState
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.manifest import Manifest
from yaan_sim.outputs.observed import load_observed_text

# Figures made up for the test (not data): ETDZ in 万元 and by its Chinese name, Hanyuan's
# revenue and ETDZ's R&D spending.
OBSERVED = """variable,park,year,value,unit,source,confidence
营业收入,经开区,2018,3100000,万元,test,M
revenue,汉源,2018,45,亿元,test,M
研发经费,ETDZ,2018,2.5,亿元,test,M
"""


@pytest.fixture(scope="module")
def plan(model):
    return ys.load_scenario("plan", model)


@pytest.fixture(scope="module")
def runs(model, plan):
    observed = load_observed_text(OBSERVED, name="test-observed.csv", source=model)
    full = ys.simulate(model, [plan], engine="vector").sel(scenario="plan")
    re = reproject(model, [plan], observed, 2018, engine="vector")
    return full, re.sel(scenario="plan"), re


def test_the_reprojected_2018_totals_equal_the_observed_figures(runs):
    _, re, _ = runs
    assert float(calendar_total(re["revenue"].sel(park="ETDZ"), 2018)) == pytest.approx(
        310.0, rel=1e-8
    )
    assert float(calendar_total(re["revenue"].sel(park="Hanyuan"), 2018)) == pytest.approx(
        45.0, rel=1e-8
    )
    rd = re["research_spending"].sel(park="ETDZ")
    assert float(calendar_total(rd, 2018)) == pytest.approx(2.5, rel=1e-8)


def test_an_unobserved_park_is_untouched_and_the_history_kept(runs, model):
    full, re, _ = runs
    for meta in model.meta.values():
        if meta.role == "stock" and "park" in full[meta.py_name].dims:
            a = full[meta.py_name].sel(time=2018.0, park="Shimian")
            b = re[meta.py_name].sel(time=2018.0, park="Shimian")
            np.testing.assert_array_equal(a.values, b.values, err_msg=meta.name)
    before = slice(None, 2017.75)
    xr.testing.assert_equal(full["revenue"].sel(time=before), re["revenue"].sel(time=before))
    # ETDZ's capital was scaled, its land was not
    cap = re["productive_capital"].sel(time=2018.0, park="ETDZ")
    assert not np.allclose(cap, full["productive_capital"].sel(time=2018.0, park="ETDZ"))
    land = "developed_land"
    assert float(re[land].sel(time=2018.0, park="ETDZ")) == float(
        full[land].sel(time=2018.0, park="ETDZ")
    )


def test_the_results_record_the_observed_file_and_the_solve(runs):
    _, _, ds = runs
    m = Manifest.from_json(ds.attrs["manifest"])
    assert m.observed is not None
    assert m.observed.file == "test-observed.csv" and m.observed.from_year == 2018
    assert len(m.observed.sha256) == 64
    pins = json.loads(ds.attrs["reprojection"])
    assert {(p["variable"], p["place"]) for p in pins} == {
        ("revenue", "ETDZ"),
        ("revenue", "Hanyuan"),
        ("research_spending", "ETDZ"),
    }
    assert ds["time"].values[0] == 2013.0 and ds["time"].values[-1] == 2021.0


def test_a_start_state_continues_the_run_exactly_on_both_engines(runs, model, plan):
    full, _, _ = runs
    state = StartState.from_results(full, 2018.0, model)
    h = ys.Horizon(2016.0, 2019.0, 0.125, 0.25)
    vec = ys.simulate(model, [plan], engine="vector", start_state=state, horizon=h)
    assert vec.attrs["start_time"] == 2018.0 and vec["time"].values[0] == 2018.0
    np.testing.assert_allclose(
        vec["revenue"].sel(scenario="plan").values,
        full["revenue"].sel(time=slice(2018.0, 2019.0)).values,
        rtol=1e-12,
    )
    pysd = ys.simulate(
        model, [plan], engine="pysd", start_state=state, horizon=h, return_vars=["Revenue"]
    )
    np.testing.assert_allclose(pysd["revenue"].values, vec["revenue"].values, rtol=1e-9)


def test_a_scaled_state_gives_the_same_run_on_both_engines(runs, model, plan):
    """The state the solve found (ETDZ scaled) runs the same on PySD and the vector engine."""
    _, re, _ = runs
    state = StartState.from_results(re, 2018.0, model)
    h = ys.Horizon(2016.0, 2018.5, 0.125, 0.25)
    kw = {"start_state": state, "horizon": h, "return_vars": ["Revenue"]}
    vec = ys.simulate(model, [plan], engine="vector", **kw)
    pysd = ys.simulate(model, [plan], engine="pysd", **kw)
    np.testing.assert_allclose(pysd["revenue"].values, vec["revenue"].values, rtol=1e-9)
    np.testing.assert_allclose(
        vec["revenue"].sel(scenario="plan").values,
        re["revenue"].sel(time=slice(2018.0, 2018.5)).values,
        rtol=1e-12,
    )


def test_a_bad_start_state_is_a_clear_error(model, plan):
    with pytest.raises(YaanSimError, match="did you mean 'Productive capital'"):
        ys.simulate(model, [plan], start_state=StartState(2018.0, {"Productive capitl": 1.0}))
    with pytest.raises(YaanSimError, match="outside the horizon"):
        ys.simulate(model, [plan], start_state=StartState(2030.0, {}))


def test_the_command_line_reprojects_and_refuses_bad_requests(tmp_path, capsys):
    obs = tmp_path / "observed.csv"
    obs.write_text(OBSERVED, encoding="utf-8")
    out = tmp_path / "re.nc"
    rc = main(["run", "plan", "--from", "2018", "--observed", str(obs), "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "Re-projected from the observed state of 2018" in text
    ds = xr.load_dataset(out)
    assert float(
        calendar_total(ds["revenue"].sel(scenario="plan", park="ETDZ"), 2018)
    ) == pytest.approx(310.0, rel=1e-8)
    assert main(["run", "plan", "--observed", str(obs), "-o", str(tmp_path / "a.nc")]) == 2
    assert "--observed needs --from" in capsys.readouterr().err
    rc = main(
        ["run", "plan", "--from", "2019", "--observed", str(obs), "-o", str(tmp_path / "b.nc")]
    )
    assert rc == 2 and "no figure of 2019" in capsys.readouterr().err


def test_rerun_re_projects_from_the_recorded_figures_and_refuses_changed_ones(tmp_path, capsys):
    obs = tmp_path / "observed.csv"
    obs.write_text(OBSERVED, encoding="utf-8")
    out, again = tmp_path / "re.nc", tmp_path / "again.nc"
    argv = ["run", "plan", "--from", "2018", "--observed", str(obs), "--engine", "vector"]
    assert main([*argv, "-o", str(out)]) == 0
    assert main(["rerun", str(out), "-o", str(again)]) == 0
    first, second = xr.load_dataset(out), xr.load_dataset(again)
    # the re-projection, not a plain run: ETDZ's 2018 total is the observed 310亿 again
    etdz = second["revenue"].sel(scenario="plan", park="ETDZ")
    assert float(calendar_total(etdz, 2018)) == pytest.approx(310.0, rel=1e-8)
    np.testing.assert_array_equal(first["revenue"].values, second["revenue"].values)
    capsys.readouterr()
    obs.write_text(OBSERVED.replace("45,亿元", "46,亿元"), encoding="utf-8")
    assert main(["rerun", str(out), "-o", str(tmp_path / "third.nc")]) == 2
    err = capsys.readouterr().err
    assert "have changed since" in err and "observed.csv" in err, err
    assert not (tmp_path / "third.nc").exists()
    obs.unlink()
    assert main(["rerun", str(out), "-o", str(tmp_path / "third.nc")]) == 2
    assert "which rerun cannot find" in capsys.readouterr().err
