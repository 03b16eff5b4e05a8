"""Ensembles: sample designs, chunked runs, goal gaps and exports (short horizons)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.ensemble import run_ensemble
from yaan_sim.analysis.sampling import factors, ppf, sample_design, unit_matrix
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.export import export, to_tidy
from yaan_sim.outputs.gaps import goal_gaps
from yaan_sim.outputs.manifest import Manifest
from yaan_sim.scenario import load_scenario

H = ys.Horizon(2016, 2018, 0.125, 0.25)
TO_2020 = ys.Horizon(2016, 2021, 0.25, 0.25)  # the goal year's whole calendar year


@pytest.fixture(scope="module")
def unc(model):
    return load_scenario("uncertain/plan-uncertain.yaml", model)


def test_the_uncertain_scenario_lists_its_factors(unc):
    labels = [f.label for f in factors(unc.uncertain)]
    assert "Park attraction share[ETDZ]" in labels
    assert "Capital share of attracted funds" in labels
    assert len(labels) == len(set(labels)) == 11


@pytest.mark.parametrize("method", ["mc", "lhs", "sobol"])
def test_same_seed_same_numbers_and_every_value_in_range(unc, method):
    a = sample_design(unc.uncertain, 64, method, seed=7)
    b = sample_design(unc.uncertain, 64, method, seed=7)
    c = sample_design(unc.uncertain, 64, method, seed=8)
    for name in a.values:
        np.testing.assert_array_equal(a.values[name].values, b.values[name].values)
        lever = unc.uncertain.constants[name]
        assert float(a.values[name].min()) >= lever.min and float(a.values[name].max()) <= lever.max
    assert any(not np.array_equal(a.values[n].values, c.values[n].values) for n in a.values)


def test_latin_hypercube_has_one_point_per_stratum():
    n = 50
    U = unit_matrix(n, 4, "lhs", seed=3)
    for j in range(4):
        assert sorted(np.floor(U[:, j] * n).astype(int)) == list(range(n))


def test_inverse_cdfs_match_scipy(unc):
    from scipy import stats

    u = np.linspace(0.01, 0.99, 9)
    by_kind = {f.dist.kind: f.dist for f in factors(unc.uncertain)}
    tri = by_kind["triangular"]
    p = tri.params
    ref = stats.triang(
        c=(p["mode"] - p["low"]) / (p["high"] - p["low"]), loc=p["low"], scale=p["high"] - p["low"]
    ).ppf(u)
    np.testing.assert_allclose(ppf(tri, u), ref, rtol=1e-12)
    uni = by_kind["uniform"]
    np.testing.assert_allclose(
        ppf(uni, u), uni.params["low"] + u * (uni.params["high"] - uni.params["low"])
    )
    nor = by_kind["normal"]
    x = ppf(nor, u)
    assert np.all(np.diff(x) > 0) and x.min() >= nor.low and x.max() <= nor.high


def test_mc_ensemble_equals_simulate_with_the_same_seed(model, unc):
    ens = run_ensemble(model, [unc], 40, seed=5, method="mc", horizon=H, chunk_size=16)
    ref = ys.simulate(model, [unc], samples=40, seed=5, horizon=H, return_vars=["revenue"])
    np.testing.assert_array_equal(ens["revenue"].values, ref["revenue"].values)


def test_results_do_not_depend_on_the_chunk_size(model, unc):
    a = run_ensemble(model, [unc], 30, seed=2, method="lhs", horizon=H, chunk_size=7)
    b = run_ensemble(model, [unc], 30, seed=2, method="lhs", horizon=H, chunk_size=30)
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert a.sizes["sample"] == 30 and "sampled_capital_share_of_attracted_funds" in a
    # the stored inputs are those the design drew
    d = sample_design(unc.uncertain, 30, "lhs", seed=2)
    np.testing.assert_array_equal(
        a["sampled_capital_share_of_attracted_funds"].sel(scenario=unc.name).values,
        d.values["Capital share of attracted funds"].values,
    )


def test_the_goal_table_gives_probabilities_and_the_gaps_agree_with_it(model, unc):
    from yaan_sim.outputs.evaluate import evaluate

    # to the goal year: there P(met) is the share of samples whose gap has the goal's sign
    # (met where gap * sign >= 0); before it, P(met) counts the paths projected to it
    ens = run_ensemble(model, [unc], 24, seed=1, method="sobol", horizon=TO_2020)
    table = evaluate(ens)
    per_sample = goal_gaps(ens, ["revenue_city", "revenue_park:ETDZ", "nh3n_controlled:ETDZ"])
    share = ((per_sample * per_sample["sign"]) >= 0).mean("sample").sel(scenario=unc.name)
    rows = table.set_index(["goal_id", "scope_name"])["p_met"]
    assert rows[("revenue_city", "Ya'an")] == pytest.approx(
        float(share.sel(outcome="revenue_city"))
    )
    assert rows[("revenue_park", "ETDZ")] == pytest.approx(
        float(share.sel(outcome="revenue_park:ETDZ"))
    )
    nh3n = rows[("nh3n_controlled", "ETDZ")]  # met in some samples only
    assert 0 < nh3n < 1
    assert nh3n == pytest.approx(float(share.sel(outcome="nh3n_controlled:ETDZ")))
    det = ys.simulate(model, [unc], horizon=H)
    gaps = goal_gaps(det, year=2017).sel(scenario=unc.name)
    ref = evaluate(det, year=2017).set_index(["goal_id", "scope_name"])
    assert float(gaps.sel(outcome="revenue_city")) == pytest.approx(
        ref.loc[("revenue_city", "Ya'an"), "gap"], rel=1e-12
    )
    assert float(gaps.sel(outcome="revenue_park:ETDZ")) == pytest.approx(
        ref.loc[("revenue_park", "ETDZ"), "gap"], rel=1e-12
    )
    assert set(gaps["outcome"].values) == {
        "revenue_city",
        "revenue_park:ETDZ",
        "rd_share",
        "energy_per_output",
    }


def test_a_scenario_without_an_uncertain_block_is_refused(model):
    with pytest.raises(YaanSimError, match="no `uncertain:` block"):
        run_ensemble(model, [load_scenario("plan", model)], 10, horizon=H)


def test_an_ensemble_without_samples_is_refused(model, unc):
    with pytest.raises(YaanSimError, match="an ensemble needs samples"):
        run_ensemble(model, [unc], None, horizon=H)


def test_exports_by_suffix(model, unc, tmp_path):
    ens = run_ensemble(
        model, [unc], 3, seed=0, horizon=ys.Horizon(2016, 2017, 0.25, 0.5), return_vars=["revenue"]
    )
    tidy = to_tidy(ens, ["revenue"])
    assert list(tidy.columns) == [
        "variable",
        "scenario",
        "sample",
        "time",
        "park",
        "value",
        "units",
    ]
    assert len(tidy) == ens["revenue"].size
    export(ens, tmp_path / "e.csv")
    back = pd.read_csv(tmp_path / "e.csv")
    assert len(back) == len(to_tidy(ens))
    export(ens, tmp_path / "e.xlsx", variables=["revenue"])  # chosen variables: the data
    sheets = pd.read_excel(tmp_path / "e.xlsx", sheet_name=None)
    assert set(sheets) == {"data", "variables", "manifest"}
    export(ens, tmp_path / "e.nc")
    xr.testing.assert_allclose(xr.load_dataset(tmp_path / "e.nc")["revenue"], ens["revenue"])
    with pytest.raises(YaanSimError, match="--force"):
        export(ens, tmp_path / "e.csv")
    with pytest.raises(YaanSimError, match=r"cannot be written as \.md: use \.nc"):
        export(ens, tmp_path / "e.md")


def test_cli_ensemble(tmp_path, capsys):
    from yaan_sim.cli import main

    sc = tmp_path / "u.yaml"
    sc.write_text(
        "extends: plan\nhorizon: {stop: 2018}\nuncertain:\n"
        "  Depreciation rate: {distribution: uniform, low: 0.08, high: 0.11}\n",
        encoding="utf-8",
    )
    out = tmp_path / "ens.nc"
    args = [
        "ensemble",
        str(sc),
        "-n",
        "20",
        "--seed",
        "3",
        "--method",
        "lhs",
        "-o",
        str(out),
        "--no-progress",
        "--chart",
        str(tmp_path / "fan.png"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "p_met" in text
    # the file is the library's ensemble with the same arguments: 20 Latin-hypercube
    # samples of seed 3 (a CLI that dropped --seed or --method would differ)
    ens = xr.load_dataset(out)
    manifest = json.loads(ens.attrs["manifest"])
    assert ens.sizes["sample"] == 20 and manifest["seed"] == 3
    model = ys.load_model()
    again = run_ensemble(model, [load_scenario(sc, model)], 20, seed=3, method="lhs")
    np.testing.assert_array_equal(ens["revenue"].values, again["revenue"].values)
    depreciation = ens["sampled_depreciation_rate"].values.ravel()
    assert depreciation.min() >= 0.08 and depreciation.max() <= 0.11
    assert (tmp_path / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse's own check, also exit 2
        main(["ensemble", str(sc), "-n", "0"])
    assert exc.value.code == 2


def test_an_ensemble_keeps_what_the_goals_need_unless_told(model, unc):
    from yaan_sim.outputs.gaps import goal_variables
    from yaan_sim.outputs.goals import load_goals

    needed = ys.simulate(model, [unc], samples=5, seed=1, horizon=H)
    everything = ys.simulate(model, [unc], samples=5, seed=1, horizon=H, keep="all")
    assert set(needed.data_vars) == set(goal_variables(load_goals()))
    # the history from the model's start (2013), then H, at every saved time in both
    start = model.default_horizon.start
    assert needed["time"].values.tolist() == np.arange(start, 2018.1, 0.25).tolist()
    assert everything["time"].values.tolist() == needed["time"].values.tolist()
    assert set(everything.data_vars) > set(needed.data_vars)  # every variable
    for name in needed.data_vars:  # the same numbers
        xr.testing.assert_identical(needed[name], everything[name])
    manifest = Manifest.from_json(needed.attrs["manifest"])
    assert manifest.horizon.saveper == H.saveper  # what a rerun needs to make the same
    assert set(manifest.return_vars or ()) == set(needed.data_vars)
    assert ys.simulate(model, [unc], horizon=H).sizes["time"] == everything.sizes["time"]
    with pytest.raises(YaanSimError, match="keep must be one of needed, all"):
        ys.simulate(model, [unc], samples=5, horizon=H, keep="some")


def test_an_ensemble_measures_a_year_as_a_single_run_does(model):
    """A sample with the single run's values has the single run's goal values: a year's
    total from the same saved times (kept at whole years only, the 2020 revenue was 0.3 %
    off, the trapezoid over the year's two ends)."""
    from yaan_sim.outputs.evaluate import evaluate

    plan = ys.load_scenario("plan", model)
    one = evaluate(ys.simulate(model, [plan]), year=2020)
    ens = evaluate(ys.simulate(model, [plan], samples=2, seed=1), year=2020)
    keys = ["goal_id", "scope_name"]
    merged = one.merge(ens, on=keys, suffixes=("_one", "_ens"))
    assert len(merged) == len(one)
    np.testing.assert_allclose(merged["value_ens"], merged["value_one"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("keep", ["needed", "all"])
def test_rerun_keeps_what_the_ensemble_kept(model, unc, tmp_path, keep):
    from yaan_sim.analysis.rerun import rerun

    first = run_ensemble(model, [unc], 6, seed=3, horizon=H, return_vars=["revenue"], keep=keep)
    saved = ys.simulate(model, [unc], horizon=H)["time"]  # one run keeps every saved time
    assert first.sizes["time"] == saved.size
    ys.to_netcdf(first, tmp_path / "ens.nc")
    again = rerun(tmp_path / "ens.nc", model)
    assert list(again.data_vars) == list(first.data_vars)
    for name in first.data_vars:
        assert first[name].equals(again[name]), name
