"""Validation of models/yaan_parks.mdl in the spirit of Sterman's tests.

Structure (translation, documentation, units and ranges), dimensional consistency of
the stocks, integration error, extreme conditions and behaviour reproduction (the
ETDZ back-test). Runs use PySD, the reference engine, on short horizons.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.backtest import read_observed, run_backtest
from yaan_sim.model.load import load_model

SHORT = ys.Horizon(2016, 2018, 0.125, 0.125)


def run(model, overrides=None, horizon=None, engine="pysd"):
    from yaan_sim.scenario.fixed import FixedScenario

    ds = ys.simulate(
        model, [FixedScenario("case", overrides or {})], engine=engine, horizon=horizon
    )
    return ds.sel(scenario="case")


# --- structure -------------------------------------------------------------------------


def test_translation_and_run_raise_no_warning(tmp_path):
    # A fresh cache: this translates the .mdl again, with every warning an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = load_model(cache=tmp_path)
        assert not m.from_cache
        m.pysd_model.run(final_time=2016.5, reload=True)


def test_translation_is_cached_and_keyed_by_content(tmp_path):
    first = load_model(cache=tmp_path)
    second = load_model(cache=tmp_path)
    assert not first.from_cache and second.from_cache
    assert second.py_path == first.py_path
    edited = tmp_path / "edited" / "yaan_parks.mdl"
    edited.parent.mkdir()
    edited.write_text(
        first.mdl_path.read_text(encoding="utf-8").replace(
            "Reinvestment share=\n\t0.5", "Reinvestment share=\n\t0.4"
        ),
        encoding="utf-8",
    )
    third = load_model(edited, cache=tmp_path)
    assert not third.from_cache and third.py_path != first.py_path


def test_every_constant_has_units_range_and_source(model):
    problems = []
    for meta in model.meta.values():
        if meta.kind != "Constant" or meta.name in {
            "INITIAL TIME",
            "FINAL TIME",
            "TIME STEP",
            "SAVEPER",
        }:
            continue
        if meta.role not in {"lever", "parameter"}:
            problems.append(f"{meta.name}: role is {meta.role!r}, expected lever or parameter")
        if not meta.units:
            problems.append(f"{meta.name}: no units")
        derived = meta.name in {
            "Wanyuan per yiyuan",
            "Enclave source",
            "Enclave host",
            "Industry presence",
        }
        if not derived and any(math.isnan(x) for x in meta.limits):
            problems.append(f"{meta.name}: no [min,max] range")
        if not derived and not meta.fields.get("source"):
            problems.append(f"{meta.name}: no source (a sources.md figure or 'assumed')")
        if meta.name == "Industry presence" and not meta.fields.get("plan"):
            problems.append("Industry presence: no plan citation")
    assert not problems, "\n".join(problems)


def test_every_variable_is_documented_in_both_languages(model):
    missing = [
        m.name
        for m in model.meta.values()
        if m.kind not in {"None"}
        and m.name not in {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER", "Time"}
        and not (m.fields.get("en") and m.fields.get("zh"))
    ]
    assert not missing, f"variables without en: and zh: documentation: {missing}"


def test_levers_sit_inside_their_ranges(model):
    levers = model.levers()
    assert len(levers) >= 15
    for meta in levers:
        value = model.default_value(meta.name)
        lo, hi = meta.limits
        assert float(value.min()) >= lo and float(value.max()) <= hi, meta.name


def test_parks_and_regions_follow_the_plan(model):
    parks = model.subscripts["Park"]
    assert parks == [
        "ETDZ",
        "Hanyuan",
        "Shimian",
        "Lushan",
        "Tianquan",
        "Baoxing",
        "Yingjing",
        "Yucheng",
        "Chengya",
    ]
    regions = model.regions()
    assert {p for p, r in regions.items() if r == "East"} == {
        "ETDZ",
        "Yucheng",
        "Chengya",
        "Yingjing",
    }
    assert {p for p, r in regions.items() if r == "South"} == {"Hanyuan", "Shimian"}
    assert {p for p, r in regions.items() if r == "Northwest"} == {"Tianquan", "Lushan", "Baoxing"}


def test_every_park_hosts_an_industry_and_every_industry_a_park(model):
    presence = model.default_value("Industry presence")
    assert set(np.unique(presence.values)) <= {0.0, 1.0}
    assert (presence.sum("industry") > 0).all()
    assert (presence.sum("park") > 0).all()


# --- the results ---------------------------------------------------------------------


def test_results_carry_units_names_and_manifest(baseline):
    rev = baseline["revenue"]
    assert rev.dims == ("time", "park")
    assert rev.attrs["units"] == "yiyuan/Year"
    assert rev.attrs["long_name_zh"] == "营业收入" and "Revenue" in rev.attrs["long_name"]
    assert baseline["revenue_by_industry"].dims == ("time", "park", "industry")
    assert list(baseline["pollutant"].values) == ["COD", "NH3N", "SO2", "NOx"]
    import json

    manifest = json.loads(baseline.attrs["manifest"])
    assert manifest["model_sha256"] and manifest["engine"] == "pysd"
    assert manifest["versions"]["pysd"] == "3.14.3"


def test_stocks_never_negative(model, baseline):
    stocks = [m.py_name for m in model.meta.values() if m.role == "stock"]
    assert len(stocks) >= 10
    for name in stocks:
        assert float(baseline[name].min()) >= 0, name


def test_start_state_equals_the_documented_baseline(model, baseline):
    start = baseline.sel(time=2016.0).reset_coords(drop=True)
    xr.testing.assert_allclose(start["revenue"], model.default_value("Initial revenue"))
    xr.testing.assert_allclose(
        start["research_intensity"], model.default_value("Initial research intensity")
    )
    assert (
        float(start["energy_intensity_index"].min())
        == float(start["energy_intensity_index"].max())
        == 1.0
    )
    land = (
        model.default_value("Initial revenue")
        * 10000
        / float(model.default_value("Initial output per mu"))
    )
    xr.testing.assert_allclose(start["developed_land"], land)
    # Capital is in steady state with the start: revenue = capital x output-capital ratio.
    xr.testing.assert_allclose(start["potential_revenue"], start["revenue"])


def test_land_is_conserved(model):
    ds = run(model, horizon=SHORT)
    total = ds["land_quota"] + ds["developed_land"] + ds["idle_land"]
    added = (ds["quota_release"] * SHORT.step).cumsum("time").shift(time=1, fill_value=0)
    xr.testing.assert_allclose(
        total, (total.isel(time=0) + added).transpose(*total.dims), rtol=1e-12
    )


def test_halving_the_time_step_moves_2020_revenue_by_under_one_percent(model, baseline):
    h = model.default_horizon
    fine = run(model, horizon=ys.Horizon(h.start, h.stop, h.step / 2, h.saveper))
    rel = abs(fine["revenue"].sel(time=2020.0) / baseline["revenue"].sel(time=2020.0) - 1)
    assert float(rel.max()) < 0.01


# --- extreme conditions -------------------------------------------------------------


def test_zero_investment_decays_capital_and_output(model):
    zero = {
        "Investment attraction rate": 0.0,
        "Reinvestment share": 0.0,
        "Loan guarantee scale": 0.0,
        "Park fund investment": 0.0,
        "Reconstruction realisation share": 0.0,
    }
    ds = run(model, zero, horizon=SHORT)
    assert float(ds["investment"].max()) == 0.0
    cap = (
        ds["productive_capital"] + ds["capital_under_construction"] + ds["projects_in_preparation"]
    )
    assert (cap.diff("time") < 0).all()
    assert (ds["revenue"].isel(time=-1) < ds["revenue"].isel(time=0)).all()


def test_no_land_quota_means_no_new_developed_land(model):
    ds = run(
        model,
        {
            "Initial quota ratio": 0.0,
            "Land quota release rate": 0.0,
            "Idle land recovery rate": 0.0,
        },
        horizon=SHORT,
    )
    assert float(ds["land_development"].max()) == 0.0
    assert (ds["developed_land"].diff("time") <= 0).all()
    # Investment goes on only in standard factories.
    share = model.default_value("Standard factory share")
    expected = ds["located_investment_demand"] * share * ds["energy_headroom_effect"]
    xr.testing.assert_allclose(
        ds["investment"], expected.transpose(*ds["investment"].dims), rtol=1e-12
    )


def test_a_binding_energy_cap_curbs_growth(model, baseline):
    ds = run(model, {"Energy cap growth rate": -0.05})
    assert float(ds["energy_utilisation"].min()) < 1
    assert float(ds["energy_headroom_effect"].min()) < 1
    assert float(ds["city_revenue"].sel(time=2020.0)) < 0.9 * float(
        baseline["city_revenue"].sel(time=2020.0)
    )
    use = ds["energy_use"].sum("park")
    assert (use <= ds["city_energy_cap"] * (1 + 1e-9)).all()


def test_zero_research_lets_knowledge_decay(model):
    ds = run(
        model, {"Research intensity target": 0.0, "Initial research intensity": 0.0}, horizon=SHORT
    )
    assert float(ds["research_spending"].max()) == 0.0
    assert (ds["knowledge_stock"].diff("time") <= 0).all()
    assert (ds["productivity_index"].isel(time=-1) <= 1).all()


# --- behaviour reproduction ------------------------------------------------------------


@pytest.mark.parametrize("engine", ["pysd", "vector"])
def test_etdz_backtest_reproduces_the_observed_revenue(model, engine):
    table = run_backtest(model, engine=engine)
    observed = read_observed()
    assert (
        len(table)
        == len(observed[(observed.variable == "revenue") & (observed.park == "ETDZ")])
        == 3
    )
    assert table["error_pct"].abs().max() < 2.0, table
    # ... and it runs on to the start state the 2016 runs use.
    start = float(model.default_value("Initial revenue").sel(park="ETDZ"))
    assert abs(table.attrs["simulated_end"] / start - 1) < 0.02


def test_model_readme_tables_are_current(model, tmp_path):
    from yaan_sim.model import modeldoc

    copy = tmp_path / "README.md"
    copy.write_text(modeldoc.README.read_text(encoding="utf-8"), encoding="utf-8")
    assert not modeldoc.update_readme(model, copy), (
        "models/README.md is out of date: run `.venv/bin/python -m yaan_sim.model.modeldoc`"
    )


def test_a_run_leaves_the_model_defaults_untouched(model):
    before = model.default_value("Investment attraction rate")
    run(model, {"Investment attraction rate": 0.5}, horizon=ys.Horizon(2016, 2016.5, 0.125, 0.125))
    xr.testing.assert_identical(model.default_value("Investment attraction rate"), before)
