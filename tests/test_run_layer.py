"""The shared plumbing of the analyses: lever specs, candidate values, engines, pre-run
checks, and per-sample goal gaps that follow the goal table's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.sampling import place_candidates, repeat_on_samples
from yaan_sim.engines import base
from yaan_sim.engines.vector_engine import VectorEngine
from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import lever_registry, parse_lever_spec
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.gaps import goal_gaps
from yaan_sim.scenario import load_scenario
from yaan_sim.scenario.fixed import FixedScenario

H = ys.Horizon(2016, 2018, 0.25, 0.5)
EAST = ["ETDZ", "Yucheng", "Chengya", "Yingjing"]  # plan 二(二), as the .mdl's East sub-range


# ------------------------------------------------------------------ lever specs


def test_a_spec_names_a_lever_and_its_elements(model):
    reg = lever_registry(model)
    whole = parse_lever_spec("investment incentive rate", reg)  # any case
    assert whole.name == "Investment incentive rate" and whole.elements == ()
    assert whole.dim is None and whole.label == "Investment incentive rate"
    some = parse_lever_spec("Investment incentive rate[ Hanyuan , ETDZ ]", reg)
    assert some.dim == "park" and some.elements == ("Hanyuan", "ETDZ")  # the order given
    assert some.label == "Investment incentive rate[Hanyuan,ETDZ]"
    region = parse_lever_spec("Investment incentive rate[East]", reg)
    assert sorted(region.elements) == sorted(EAST)
    both = parse_lever_spec("Investment incentive rate[East,ETDZ]", reg)
    assert sorted(both.elements) == sorted(EAST)  # no element twice


def test_parks_and_regions_may_be_named_in_chinese(model):
    """经开区, 汉源, 东部 and the plan's 飞地园区（经开区） through the model's Places; the
    selection is labelled with the model's own names."""
    from yaan_sim.scenario.places import Places

    reg = lever_registry(model)
    resolve = Places.from_model(model).resolve
    one = parse_lever_spec("Investment incentive rate[经开区]", reg, resolve_place=resolve)
    assert one.elements == ("ETDZ",) and one.label == "Investment incentive rate[ETDZ]"
    plan_name = "Investment incentive rate[飞地园区（经开区）]"
    assert parse_lever_spec(plan_name, reg, resolve_place=resolve).elements == ("ETDZ",)
    both = parse_lever_spec("Investment incentive rate[东部、汉源]", reg, resolve_place=resolve)
    assert sorted(both.elements) == sorted([*EAST, "Hanyuan"])
    with pytest.raises(YaanSimError, match="'经开区' is not an element"):
        parse_lever_spec("Investment incentive rate[经开区]", reg)  # no places: ids only
    with pytest.raises(YaanSimError, match="'巴黎' is not an element"):
        parse_lever_spec("Investment incentive rate[巴黎]", reg, resolve_place=resolve)


def test_goal_specs_name_parks_and_regions_in_chinese(model):
    from yaan_sim.outputs.gaps import parse_outcomes
    from yaan_sim.outputs.goals import load_goals

    ds = ys.simulate(model, horizon=H, return_vars=["Revenue"])
    goals = load_goals()
    found = parse_outcomes(["revenue_park:汉源", "revenue_park:东部", "rd_share:全市"], goals, ds)
    assert [(o.label, sorted(o.parks)) for o in found] == [
        ("revenue_park:Hanyuan", ["Hanyuan"]),
        ("revenue_park:East", sorted(EAST)),
        ("rd_share", sorted(str(p) for p in ds["park"].values)),
    ]
    with pytest.raises(YaanSimError, match="has no scope '巴黎'"):
        parse_outcomes(["revenue_park:巴黎"], goals, ds)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("Investment incentve rate", "did you mean 'Investment incentive rate'"),
        ("Investment incentive rate[ETZD]", "'ETZD' is not an element.*did you mean 'ETDZ'"),
        ("Energy increment allowance[ETDZ]", "has no subscripts: write it without"),
        ("Investment incentive rate[ETDZ", "write a lever's name"),
        ("Investment incentive rate[]", "give elements of one subscript"),
    ],
)
def test_a_bad_spec_says_what_to_write(model, spec, message):
    with pytest.raises(YaanSimError, match=message):
        parse_lever_spec(spec, lever_registry(model))


# ------------------------------------------------------------------ candidate values


def _base():
    return xr.DataArray(
        [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
        dims=("time", "park"),
        coords={"time": [2016.0, 2017.0], "park": ["A", "B", "C"]},
    )


def test_candidates_shift_or_set_the_chosen_elements_and_stay_in_range():
    da = repeat_on_samples(_base(), 3)
    assert da.dims == ("sample", "time", "park") and da.sizes["sample"] == 3
    shifted = place_candidates(da, [0.0, 0.1, 0.5], dim="park", elements=["B"], lo=0, hi=0.8)
    np.testing.assert_allclose(shifted.sel(sample=1, park="B"), [0.3, 0.6])
    np.testing.assert_allclose(shifted.sel(sample=2, park="B"), [0.7, 0.8])  # 1.0 clipped
    np.testing.assert_array_equal(shifted.sel(park=["A", "C"]), da.sel(park=["A", "C"]))
    np.testing.assert_array_equal(shifted.sel(sample=0), _base())
    whole = place_candidates(da, [0.25, 0.5, 0.75], mode="set")
    assert float(whole.sel(sample=2).min()) == float(whole.sel(sample=2).max()) == 0.75
    assert whole.dims == da.dims
    with pytest.raises(YaanSimError, match="mode must be"):
        place_candidates(da, [0, 0, 0], mode="add")


# ------------------------------------------------------------------ engines


def test_an_engine_registered_by_name_runs_through_simulate(model, monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    calls = []

    class Counting(VectorEngine):
        name = "counting"

        def run(self, overrides, horizon, *, samples=None, return_vars=None):
            calls.append(samples)
            return super().run(overrides, horizon, samples=samples, return_vars=return_vars)

    base.register_engine("counting", Counting)
    assert "counting" in base.engine_names()
    plan = load_scenario("plan", model)
    ds = ys.simulate(model, [plan], engine="counting", horizon=H, return_vars=["Revenue"])
    ref = ys.simulate(model, [plan], engine="vector", horizon=H, return_vars=["Revenue"])
    assert calls == [None] and ds.attrs["engine"] == "counting"
    np.testing.assert_array_equal(ds["revenue"].values, ref["revenue"].values)


def test_one_scenario_is_the_run_it_is_among_others(model):
    # one scenario is made with its scenario dim by the engine (lead_dim); two are stacked
    from yaan_sim.engines.simulate import takes_lead_dim

    assert takes_lead_dim(VectorEngine)
    plan, base = load_scenario("plan", model), load_scenario("baseline", model)
    one = ys.simulate(model, [plan], horizon=H)
    two = ys.simulate(model, [plan, base], horizon=H).isel(scenario=[0])
    one.attrs, two.attrs = {}, {}  # the manifests name the scenarios run
    xr.testing.assert_identical(one, two)
    assert list(one.variables) == list(two.variables)


def test_the_parks_regions_are_made_once_and_kept_right(model):
    from yaan_sim.outputs.results import annotate

    ds = ys.simulate(model, [load_scenario("plan", model)], horizon=H)
    region = ds["region"].to_series()
    assert set(region[EAST]) == {"East"}  # plan 二(二)
    assert annotate(ds, model) is ds  # made while stacking: not made again
    wrong = ds.assign_coords(region=("park", ["?"] * ds.sizes["park"]))
    mended = annotate(wrong, model)
    assert mended["region"].to_series().equals(region)


def test_auto_falls_back_with_a_notice_and_a_named_engine_does_not(model, monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(base, "AUTO_ORDER", ["broken", "vector", "pysd"])

    def broken(model):
        raise base.EngineUnavailable("the broken engine lacks everything")

    base.register_engine("broken", broken)
    notes = []
    ds = ys.simulate(model, horizon=H, return_vars=["Revenue"], notify=notes.append)
    assert ds.attrs["engine"] == "vector"
    assert notes == ["the broken engine lacks everything; using the vector engine"]
    with pytest.raises(YaanSimError, match="the broken engine cannot run this model: the broken"):
        ys.simulate(model, engine="broken", horizon=H)


# ------------------------------------------------------------------ pre-run checks


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scenarios": "plan"}, "list of scenario objects"),
        ({"scenarios": ["plan"]}, "is not a scenario"),
        ({"samples": True}, "whole number"),
        ({"horizon": ys.Horizon(2016, 2020, 0, 0.25)}, "step 0 is not positive"),
        ({"horizon": ys.Horizon(2020, 2016, 0.25, 0.25)}, "stop 2016 is not after start"),
        ({"horizon": ys.Horizon(2016, math.nan, 0.25, 0.25)}, "not a finite number"),
        ({"horizon": ys.Horizon(2016, 2020, 0.3, 0.3)}, "not a whole number of steps"),
        ({"horizon": (2016, 2020)}, "must be a Horizon"),
    ],
)
def test_simulate_refuses_what_is_not_a_run(model, kwargs, message):
    with pytest.raises(YaanSimError, match=message):
        ys.simulate(model, **kwargs)


def test_scenarios_with_different_horizons_are_refused_before_any_run(model, monkeypatch):
    a = FixedScenario("a", {})
    b = FixedScenario("b", {})
    b.horizon = ys.Horizon(2016, 2019, 0.25, 0.5)
    monkeypatch.setattr(base, "get_engine", lambda *a: pytest.fail("an engine was made"))
    with pytest.raises(YaanSimError, match="different horizons"):
        ys.simulate(model, [a, b])


# ------------------------------------------------------------------ goal gaps


def test_every_goal_gap_agrees_with_the_goal_table(model):
    """Level, baseline and falling-every-year goals: one rule for the table and the gaps."""
    plan = load_scenario("plan", model)
    ds = ys.simulate(model, [plan], horizon=ys.Horizon(2016, 2019, 0.25, 1))
    table = evaluate(ds, year=2018).set_index(["goal_id", "scope_name"])
    outcomes = ["revenue_city", "rd_share", "energy_per_output", "cod_controlled"]
    gaps = goal_gaps(ds, outcomes, year=2018).sel(scenario="plan")
    for gid in outcomes:
        row = table.loc[(gid, "Ya'an")]
        assert float(gaps.sel(outcome=gid)) == pytest.approx(row["gap"], rel=1e-12), gid
    assert float(gaps.sel(outcome="energy_per_output")["sign"]) == -1  # must fall: below 0
    assert math.isnan(float(gaps.sel(outcome="cod_controlled")["target"]))  # its own 2016


def test_the_status_matrix_finds_the_city_row_in_chinese(model):
    from yaan_sim.analysis.batch import status_matrix

    plan = load_scenario("plan", model)
    ds = ys.simulate(model, [plan], horizon=ys.Horizon(2016, 2018, 0.25, 1))
    table = evaluate(ds, year=2017, lang="zh")
    summary = table[table["binding"]][["scenario", "goal_id", "scope", "scope_label", "status"]]
    matrix = status_matrix(summary)
    assert "revenue_city" in matrix.index  # the city row, not "revenue_city:全市"
    assert not [g for g in matrix.index if g.startswith("revenue_city:")]
    assert len(matrix) == len(summary)  # one row per binding goal row


def test_the_jax_engine_gets_every_lever_as_a_schedule_of_its_value(model):
    """What JaxEngine passes on (so that one compiled program serves every scenario): each
    lever a schedule on the run's grid holding the scenario's value where it sets one and
    the .mdl's value where it does not; other overrides as given."""
    from yaan_sim.engines.vector_engine import every_lever_scheduled

    times = np.array([2013.0, 2013.5, 2014.0])
    rate = xr.DataArray(
        [[0.1] * 9, [0.2] * 9, [0.3] * 9],
        coords={"time": times, "park": model.default_value("Investment incentive rate").park},
        dims=("time", "park"),
    )
    given = {"Investment incentive rate": rate, "Research subsidy rate": 0.25, "Profit margin": 0.5}
    out = every_lever_scheduled(model, given, times)
    levers = {m.name for m in model.meta.values() if m.is_lever}
    assert "Profit margin" not in levers and "Research subsidy rate" in levers
    assert set(out) == levers | {"Profit margin"}
    assert out["Profit margin"] == 0.5  # not a lever: as given
    assert out["Investment incentive rate"] is rate  # a schedule already
    subsidy = out["Research subsidy rate"]
    assert subsidy.dims == ("time",) and subsidy.values.tolist() == [0.25, 0.25, 0.25]
    for name in levers - set(given):
        default = model.default_value(name)
        assert out[name].dims == ("time", *default.dims), name
        np.testing.assert_array_equal(out[name].values, np.stack([default.values] * 3))
        np.testing.assert_array_equal(out[name].time.values, times)
        assert out[name].attrs == default.attrs, name


def test_levers_from_the_plan_start_are_each_placed_by_their_own_labels(model):
    """Two levers in one call, one on the parks in the .mdl's order and one on them in
    reverse: each holds the .mdl's value before the plan start and its own value for each
    park after it (the coordinate checks the levers share must not mix them up)."""
    from yaan_sim.engines.simulate import levers_from_plan_start

    run = ys.Horizon(2013, 2018, 0.5, 0.5)
    after = run.times()[run.times() >= 2016]
    parks = [str(p) for p in model.default_value("Land quota release").park.values]
    value = dict(zip(parks, np.arange(1.0, len(parks) + 1) / 100, strict=True))
    given = {}
    for name, order in (("Land quota release", parks), ("Loan guarantee scale", parks[::-1])):
        given[name] = xr.DataArray(
            np.tile([value[p] for p in order], (after.size, 1)),
            coords={"time": after, "park": order},
            dims=("time", "park"),
        )
    out = levers_from_plan_start(model, given, run, 2016)
    for name in given:
        np.testing.assert_array_equal(out[name].time.values, run.times())
        default = model.default_value(name)
        for park in parks:
            got = out[name].sel(park=park)
            assert (got.sel(time=slice(None, 2015.5)) == default.sel(park=park)).all(), name
            assert (got.sel(time=slice(2016, None)) == value[park]).all(), (name, park)
