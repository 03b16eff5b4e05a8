"""Calibration and posterior on the test model, with answers computed by hand.

tests/data/calib_parks.mdl has revenue growing by g/16 a step from its initial value, so
every expected number here comes from tests/support/ledger.py (numpy on the Euler path),
from the data written by the test, or from closed forms, never from the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from tests.support.ledger import (
    CALIB_MDL,
    INDUSTRIAL_SHARE,
    PARK_SHARE_OF_CITY,
    euler_revenue,
    write_ledger,
    year_total,
)
from yaan_sim.analysis.calibrate import calibrate
from yaan_sim.analysis.calibrate_params import parse_calibrate_field, parse_params
from yaan_sim.analysis.calibrate_stats import fit_statistics
from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import read_ledger


@pytest.fixture(scope="module")
def calib():
    import yaan_sim as ys

    return ys.load_model(CALIB_MDL)


def ledger_of(tmp_path, rows):
    write_ledger(tmp_path, rows)
    return read_ledger(tmp_path)


def city_output(year, end=None, share=INDUSTRIAL_SHARE, **paths):
    total = 0.0
    for park in ("ETDZ", "Hanyuan"):
        t, v = euler_revenue(park, **paths.get(park, {}))
        total += year_total(t, v, year, end)
    return share * total / PARK_SHARE_OF_CITY


# ------------------------------------------------------------------ statistics and parameters


def test_theil_statistics_split_the_error():
    s = np.array([10.0, 12.0, 15.0, 13.0])
    a = np.array([11.0, 12.5, 14.0, 15.0])
    st = fit_statistics(s, a)
    assert st["RMSE"] == pytest.approx(np.sqrt(np.mean((s - a) ** 2)))
    assert st["MAPE"] == pytest.approx(100 * np.mean(np.abs(s - a) / a))
    assert st["U_M"] + st["U_S"] + st["U_C"] == pytest.approx(1.0)
    assert 0 < st["theil_U"] < 1
    biased = fit_statistics(a + 2, a)  # a pure bias
    assert biased["U_M"] == pytest.approx(1.0) and biased["U_S"] == pytest.approx(0, abs=1e-12)


def test_theil_statistics_by_hand():
    """s = 10, 12, 15, 13 against a = 11, 12.5, 14, 15, worked out by hand: errors -1, -0.5,
    1, -2; MSE 6.25 / 4 = 1.5625, RMSE 1.25; MAPE (1/11 + 0.5/12.5 + 1/14 + 2/15) / 4 =
    8.39177 %; U = 1.25 / (sqrt(638/4) + sqrt(698.25/4)) = 1.25 / 25.84154; means 12.5 and
    13.125, so U_M = 0.625**2 / 1.5625 = 0.25; population sds sqrt(3.25) and sqrt(2.296875),
    U_S = (1.802776 - 1.515544)**2 / 1.5625 = 0.0528014; covariance 2.1875, r = 0.800641,
    U_C = 2 (1 - r) sd_s sd_a / MSE = 0.697199."""
    st = fit_statistics([10.0, 12.0, 15.0, 13.0], [11.0, 12.5, 14.0, 15.0])
    assert st["RMSE"] == pytest.approx(1.25, rel=1e-12)
    assert st["MAPE"] == pytest.approx(8.39177, rel=1e-5)
    assert st["theil_U"] == pytest.approx(1.25 / 25.84154, rel=1e-6)
    assert st["U_M"] == pytest.approx(0.25, rel=1e-12)
    assert st["U_S"] == pytest.approx(0.0528014, rel=1e-5)
    assert st["U_C"] == pytest.approx(0.697199, rel=1e-5)
    assert st["r"] == pytest.approx(0.800641, rel=1e-5)


def test_theil_statistics_at_their_edges():
    exact = fit_statistics([100.0, 200.0], [100.0, 200.0 + 1e-9])  # error at rounding level
    assert exact["RMSE"] < 1e-8 and exact["theil_U"] < 1e-10
    assert all(math.isnan(exact[k]) for k in ("U_M", "U_S", "U_C"))  # no error to split
    one = fit_statistics([3.0], [2.0])  # one figure: no correlation; all error is bias
    assert one["r"] == 1.0 and one["U_M"] == pytest.approx(1.0) and one["U_C"] == 0.0
    assert one["MAPE"] == pytest.approx(50.0) and one["theil_U"] == pytest.approx(1 / 5)
    flat = fit_statistics([5.0, 5.0, 5.0], [4.0, 5.0, 6.0])  # a constant simulation: r = 1
    assert flat["r"] == 1.0 and flat["U_M"] == pytest.approx(0.0, abs=1e-12)
    assert flat["U_S"] == pytest.approx(1.0)  # MSE 2/3 = (0 - sqrt(2/3))**2
    zero = fit_statistics([0.0, 0.0], [0.0, 0.0])
    assert math.isnan(zero["theil_U"]) and zero["RMSE"] == 0.0
    # small values (standard deviations under 1) still get Pearson's r
    small = fit_statistics([1.0, 1.5, 1.2], [1.1, 1.4, 1.3])
    assert small["r"] == pytest.approx(np.corrcoef([1.0, 1.5, 1.2], [1.1, 1.4, 1.3])[0, 1])
    assert small["r"] < 0.99
    # an observed zero gives an infinite MAPE, quietly (warnings are errors in the suite)
    assert fit_statistics([1.0, 2.0], [0.0, 2.0])["MAPE"] == math.inf


@pytest.mark.parametrize(
    ("text", "kind", "args", "groups"),
    [
        ("uniform", "uniform", (), None),
        ("yes", "uniform", (), None),
        ("loguniform [ETDZ]", "loguniform", (), [("ETDZ",)]),
        ("normal(0.1, 0.03) [ETDZ, Hanyuan]", "normal", (0.1, 0.03), [("ETDZ",), ("Hanyuan",)]),
        ("triangular(0.2) [ETDZ+Hanyuan]", "triangular", (0.2,), [("ETDZ", "Hanyuan")]),
    ],
)
def test_the_calibrate_field(text, kind, args, groups):
    assert parse_calibrate_field(text, "x") == (kind, args, groups)


def test_parameters_come_from_the_calibrate_fields(calib):
    ps = parse_params(None, calib)
    assert [p.label for p in ps] == [
        "Growth rate[ETDZ]",
        "Growth rate[Hanyuan]",
        "Industrial share",
        "Initial revenue[ETDZ]",
    ]
    by = {p.label: p for p in ps}
    assert by["Initial revenue[ETDZ]"].prior.kind == "loguniform"
    assert (by["Growth rate[Hanyuan]"].lo, by["Growth rate[Hanyuan]"].hi) == (0, 0.5)
    assert by["Growth rate[Hanyuan]"].x0 == 0.2 and by["Industrial share"].x0 == 0.6
    shared = parse_params(["Growth rate[ETDZ+Hanyuan]"], calib)
    assert [p.label for p in shared] == ["Growth rate[ETDZ+Hanyuan]"]
    assert shared[0].x0 == pytest.approx(0.15)  # the mean of the two .mdl values


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Growth rat", "did you mean 'Growth rate'"),
        ("Growth rate[Paris]", "no element"),
        ("Industrial share[ETDZ]", "has no subscripts"),
        ("Electricity use", "unknown constant"),
    ],
)
def test_bad_parameters_say_what_to_do(calib, spec, message):
    with pytest.raises(YaanSimError, match=message):
        parse_params([spec], calib)


def test_parameter_specs_are_lever_specs_with_plus(calib):
    """The shared lever-spec reading (any case, ranges, did you mean) plus `+`."""
    labels = [p.label for p in parse_params(["growth RATE[Park]"], calib)]
    assert labels == ["Growth rate[ETDZ]", "Growth rate[Hanyuan]"]  # a range: one each
    shared = parse_params(["Growth rate[Park+ETDZ]"], calib)  # joined: one value
    assert [(p.label, p.elements) for p in shared] == [
        ("Growth rate[ETDZ+Hanyuan]", ("ETDZ", "Hanyuan"))
    ]
    with pytest.raises(YaanSimError, match=r"'ETZD' is not an element.*did you mean 'ETDZ'"):
        parse_params(["Growth rate[ETZD+Hanyuan]"], calib)
    chinese = parse_params(["Growth rate[经开区+汉源县]"], calib)  # as the plan names them
    assert [p.label for p in chinese] == ["Growth rate[ETDZ+Hanyuan]"]


def test_an_element_cannot_be_fitted_twice_and_priors_are_checked(calib):
    with pytest.raises(YaanSimError, match="both set Growth rate"):
        parse_params(["Growth rate[ETDZ]", "Growth rate[ETDZ+Hanyuan]"], calib)
    from yaan_sim.analysis.calibrate_params import make_prior

    with pytest.raises(YaanSimError, match="loguniform needs min > 0"):
        make_prior("loguniform", (), 0, 1, "x")
    with pytest.raises(YaanSimError, match="finite"):
        make_prior("uniform", (), 0, math.nan, "x")
    with pytest.raises(YaanSimError, match="takes 2 number"):
        make_prior("normal", (1,), 0, 2, "x")


# ------------------------------------------------------------------ fits


def test_known_parameters_are_recovered_from_synthetic_data(calib, tmp_path):
    truth = {"g_e": 0.15, "g_h": 0.12, "share": 0.5, "r0": 150.0}
    paths = {"ETDZ": {"growth": truth["g_e"], "initial": truth["r0"]}, "Hanyuan": {"growth": 0.12}}
    rows = []
    for y in (2014, 2015, 2016, 2017):
        te, ve = euler_revenue("ETDZ", **paths["ETDZ"])
        th, vh = euler_revenue("Hanyuan", **paths["Hanyuan"])
        rows += [
            {"id": f"e-{y}", "period": y, "value": repr(year_total(te, ve, y))},
            {"id": f"h-{y}", "scope": "Hanyuan", "period": y, "value": repr(year_total(th, vh, y))},
            {
                "id": f"c-{y}",
                "variable": "industrial_output",
                "scope_kind": "city",
                "scope": "Ya'an",
                "period": y,
                "value": repr(city_output(y, share=truth["share"], **paths)),
            },
        ]
    res = calibrate(calib, ledger_of(tmp_path, rows))
    got = res.values()
    assert got["Growth rate[ETDZ]"] == pytest.approx(truth["g_e"], rel=1e-5)
    assert got["Growth rate[Hanyuan]"] == pytest.approx(truth["g_h"], rel=1e-5)
    assert got["Industrial share"] == pytest.approx(truth["share"], rel=1e-5)
    assert got["Initial revenue[ETDZ]"] == pytest.approx(truth["r0"], rel=1e-5)
    assert res.stats["n_fit"] == 12 and res.stats["dof"] == 8
    assert res.params["informed"].all() and (res.params["se"] > 0).all()


def test_confidence_weights_decide_where_a_misfit_lands(calib, tmp_path):
    """Two sources disagree on one figure: the fit is their weighted geometric mean."""

    def fit(conf_a, conf_b):
        rows = [
            {
                "id": "c-a",
                "variable": "industrial_output",
                "scope_kind": "city",
                "scope": "Ya'an",
                "period": 2016,
                "value": 170,
                "confidence": conf_a,
            },
            {
                "id": "c-b",
                "variable": "industrial_output",
                "scope_kind": "city",
                "scope": "Ya'an",
                "period": 2016,
                "value": 220,
                "confidence": conf_b,
            },
        ]
        return calibrate(
            calib, ledger_of(tmp_path / f"{conf_a}{conf_b}", rows), ["Park share of city output"]
        )

    res = fit("H", "L")
    w = np.array([1 / 0.05**2, 1 / 0.25**2])
    expect = math.exp((w @ np.log([170, 220])) / w.sum())
    sim = res.table.set_index("id").loc["c-a", "simulated"]
    assert sim == pytest.approx(expect, rel=1e-6)
    assert abs(sim - math.sqrt(170 * 220)) > 15  # not the unweighted mean
    # the share's standard error: s / sqrt(sum w), times the Birge ratio when chi2 > dof
    resid = (math.log(expect) - np.log([170, 220])) * np.sqrt(w)
    chi2 = float(resid @ resid)
    s = res.params["value"].iloc[0]
    assert s == pytest.approx(city_output(2016) * PARK_SHARE_OF_CITY / expect, rel=1e-6)
    assert res.params["se"].iloc[0] == pytest.approx(
        s / math.sqrt(w.sum()) * max(1.0, math.sqrt(chi2)), rel=1e-3
    )
    swapped = fit("L", "H").table.set_index("id").loc["c-a", "simulated"]
    assert swapped == pytest.approx(math.exp((w[::-1] @ np.log([170, 220])) / w.sum()), rel=1e-6)


def test_held_out_error_beside_the_in_sample_fit(calib, tmp_path):
    rows = [
        {
            "id": "c-2016",
            "variable": "industrial_output",
            "scope_kind": "city",
            "scope": "Ya'an",
            "period": 2016,
            "value": 180,
            "confidence": "H",
        },
        {
            "id": "c-2018",
            "variable": "industrial_output",
            "scope_kind": "city",
            "scope": "Ya'an",
            "period": 2018,
            "value": 250,
        },
    ]
    led = ledger_of(tmp_path, rows)
    res = calibrate(calib, led, ["Park share of city output"])
    tab = res.table.set_index("id")
    # the share scales both years alike: 2018 is 2016 times the model's own growth
    expect_2018 = 180 * city_output(2018) / city_output(2016)
    assert tab.loc["c-2016", "role"] == "fit" and tab.loc["c-2018", "role"] == "held-out"
    assert tab.loc["c-2016", "simulated"] == pytest.approx(180, rel=1e-7)
    assert tab.loc["c-2018", "simulated"] == pytest.approx(expect_2018, rel=1e-7)
    series = res.series.set_index("role")
    assert series.loc["fit", "MAPE"] == pytest.approx(0, abs=1e-5)
    assert series.loc["held-out", "MAPE"] == pytest.approx(
        100 * abs(expect_2018 / 250 - 1), rel=1e-6
    )
    assert series.loc["held-out", "RMSE"] == pytest.approx(abs(expect_2018 - 250), rel=1e-6)
    # a later cut-off fits both: nothing is held out
    both = calibrate(calib, led, ["Park share of city output"], cutoff=2018)
    assert both.stats["n_held_out"] == 0 and both.stats["n_fit"] == 2


def test_a_parameter_the_data_do_not_move_is_flagged(calib, tmp_path):
    te, ve = euler_revenue("ETDZ")
    rows = [
        {"id": f"e-{y}", "period": y, "value": year_total(te, ve, y) * 1.1} for y in (2014, 2016)
    ]
    res = calibrate(calib, ledger_of(tmp_path, rows), ["Growth rate"], starts=0)
    p = res.params.set_index("label")
    assert p.loc["Growth rate[ETDZ]", "informed"]
    assert not p.loc["Growth rate[Hanyuan]", "informed"]
    assert math.isinf(p.loc["Growth rate[Hanyuan]", "se"])
    assert "NOT INFORMED" in res.summary()
    written = yaml.safe_load(res.to_yaml())["parameters"]["Growth rate[Hanyuan]"]
    assert written["se"] == math.inf  # YAML's .inf, a number, not the text '.inf'


def test_fits_that_cannot_run_say_why(calib, tmp_path):
    led = ledger_of(tmp_path, [{"id": "e-2019", "period": 2019, "value": 200}])
    with pytest.raises(YaanSimError, match="no ledger figure can be fitted"):
        calibrate(calib, led)
    led = ledger_of(tmp_path, [{"id": "e-2015", "period": 2015, "value": 200}])
    with pytest.raises(YaanSimError, match="inside the parameters' ranges"):
        calibrate(calib, led, ["Growth rate[ETDZ]"], x0=[0.9])


def test_the_yaml_holds_the_values(calib, tmp_path):
    te, ve = euler_revenue("ETDZ")
    rows = [{"id": f"e-{y}", "period": y, "value": year_total(te, ve, y)} for y in (2014, 2015)]
    res = calibrate(calib, ledger_of(tmp_path, rows), ["Growth rate[ETDZ]"])
    path = res.write_yaml(tmp_path / "fit.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["parameters"]["Growth rate[ETDZ]"]["value"] == pytest.approx(0.1, rel=1e-5)
    assert doc["cutoff"] == 2017 and doc["model"]["file"] == "calib_parks.mdl"
    with pytest.raises(YaanSimError, match="--force"):
        res.write_yaml(tmp_path / "fit.yaml")


# ------------------------------------------------------------------ the posterior


NOISE = np.array([0.03, -0.02, 0.01, -0.04])


@pytest.fixture(scope="module")
def linear_gaussian_ledger(calib, tmp_path_factory):
    """log revenue = log R0 + log c_t: linear in theta = log R0, with a flat prior on theta."""
    te, unit = euler_revenue("ETDZ", initial=1.0)
    years = (2014, 2015, 2016, 2017)
    c = np.array([year_total(te, unit, y) for y in years])
    rows = [
        {
            "id": f"e-{y}",
            "period": y,
            "value": repr(float(150 * ci * math.exp(n))),
            "confidence": "H",
        }
        for y, ci, n in zip(years, c, NOISE, strict=True)
    ]
    # a held-out figure far off: it must not enter the likelihood
    rows.append({"id": "e-2019", "period": 2019, "value": 2000, "confidence": "H"})
    folder = tmp_path_factory.mktemp("lg")
    write_ledger(folder, rows)
    return folder


def sample_linear_gaussian(calib, folder, **kw):
    from yaan_sim.analysis.posterior import sample_posterior

    return sample_posterior(
        calib, read_ledger(folder), ["Initial revenue[ETDZ]"], steps=600, burn=200, seed=7, **kw
    )


@pytest.fixture(scope="module")
def linear_gaussian(calib, linear_gaussian_ledger):
    return sample_linear_gaussian(calib, linear_gaussian_ledger), linear_gaussian_ledger


def assert_analytic_posterior(post):
    theta = np.log(post.draws["Initial revenue[ETDZ]"].to_numpy())
    mean = math.log(150) + NOISE.mean()
    sd = 0.05 / math.sqrt(len(NOISE))
    assert theta.mean() == pytest.approx(mean, abs=0.2 * sd)
    assert theta.std(ddof=1) == pytest.approx(sd, rel=0.15)
    dg = post.diagnostics
    assert 0.2 < dg["acceptance_mean"] < 0.9
    assert dg["rhat_max"] < 1.1 and dg["tau_max"] > 0


def test_the_posterior_of_a_linear_gaussian_case_is_the_analytic_one(linear_gaussian):
    post, _ = linear_gaussian
    assert_analytic_posterior(post)
    assert "stretch move" in post.info["sampler"]
    # the least-squares fit it started from: the same centre, se from the linearisation
    fit = post.fit.params.iloc[0]
    sd = 0.05 / math.sqrt(len(NOISE))
    assert fit["value"] == pytest.approx(150 * math.exp(NOISE.mean()), rel=1e-6)
    assert fit["se"] == pytest.approx(fit["value"] * sd, rel=1e-3)


def test_differential_evolution_moves_find_the_same_posterior(calib, linear_gaussian_ledger):
    post = sample_linear_gaussian(calib, linear_gaussian_ledger, moves="de")
    assert_analytic_posterior(post)
    assert "DEMove" in post.info["sampler"] and "DESnookerMove" in post.info["sampler"]
    with pytest.raises(YaanSimError, match="moves must be one of stretch, de, got 'gibbs'"):
        sample_linear_gaussian(calib, linear_gaussian_ledger, moves="gibbs")


def test_the_clis_moves_are_the_samplers():
    """`calibrate --moves` writes its choices out (importing the sampler module would slow
    every `--help`): they must be the ones sample_posterior takes, default first."""
    from yaan_sim.analysis.posterior import MOVES
    from yaan_sim.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.choices and "calibrate" in a.choices)
    moves = next(a for a in sub.choices["calibrate"]._actions if a.dest == "moves")
    assert tuple(moves.choices) == tuple(MOVES) and moves.default == next(iter(MOVES))


def test_the_posterior_file_round_trips_into_an_ensemble(linear_gaussian, calib, tmp_path):
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.analysis.posterior import posterior_design, read_posterior
    from yaan_sim.scenario.fixed import FixedScenario

    post, _ = linear_gaussian
    path = post.write(tmp_path / "post.nc")
    ds = read_posterior(path)
    np.testing.assert_array_equal(ds["draws"].values[:, 0], post.draws.iloc[:, 0].to_numpy())
    assert ds["prior"].values[0].startswith("loguniform")
    d1 = posterior_design(path, 40, seed=3, model=calib)
    d2 = posterior_design(path, 40, seed=3, model=calib)
    xr.testing.assert_equal(d1.values["Initial revenue"], d2.values["Initial revenue"])
    drawn = d1.values["Initial revenue"]
    assert set(drawn.sel(park="ETDZ").values) <= set(post.draws.iloc[:, 0])
    assert (drawn.sel(park="Hanyuan").values == 50).all()  # the .mdl's value: not calibrated
    ens = run_ensemble(
        calib,
        [FixedScenario("base", {})],
        40,
        seed=3,
        return_vars=["revenue"],
        posterior=path,
    )
    np.testing.assert_array_equal(
        ens["sampled_initial_revenue"].isel(scenario=0).values, drawn.values
    )
    # each sample starts from its draw
    np.testing.assert_allclose(
        ens["revenue"].isel(scenario=0, time=0).sel(park="ETDZ").values,
        drawn.sel(park="ETDZ").values,
    )
    assert '"posterior"' in ens.attrs["manifest"]
    from yaan_sim.analysis.rerun import rerun
    from yaan_sim.errors import ResultsError
    from yaan_sim.outputs.manifest import Manifest
    from yaan_sim.outputs.results import to_netcdf

    assert Manifest.from_json(ens.attrs["manifest"]).ensemble.posterior == str(path)
    # the draws are not in the manifest: a rerun says so instead of running without them
    to_netcdf(ens, tmp_path / "ens.nc")
    with pytest.raises(ResultsError, match="posterior"):
        rerun(tmp_path / "ens.nc", calib)
    with pytest.raises(YaanSimError, match="--force"):
        post.write(path)


def test_posterior_designs_refuse_what_does_not_fit(linear_gaussian, calib, tmp_path):
    from yaan_sim.analysis.posterior import combine, posterior_design, read_posterior
    from yaan_sim.scenario.fixed import FixedScenario

    post, _ = linear_gaussian
    path = post.write(tmp_path / "post.nc")
    ds = read_posterior(path)
    renamed = ds.assign_coords(name=("parameter", ["Initial capital"]))
    with pytest.raises(YaanSimError, match=r"not a constant of calib_parks\.mdl"):
        posterior_design(renamed, 5, model=calib)
    with pytest.raises(YaanSimError, match=r"outside its range \[10, 400\]"):
        posterior_design(ds.assign(draws=ds["draws"] * 10), 5, model=calib)
    design = posterior_design(path, 5, model=calib)

    from types import SimpleNamespace

    scenario = SimpleNamespace(name="s", levers={"Initial revenue": 1})
    with pytest.raises(YaanSimError, match="sets Initial revenue, which the posterior"):
        combine(None, design, scenario)
    fixed = FixedScenario("f", {"Initial revenue": 1.0, "Growth rate": 0.3})
    with pytest.raises(YaanSimError, match="'f' sets Initial revenue, which the posterior"):
        combine(None, design, fixed)  # a FixedScenario sets what it holds
    assert combine(None, design, FixedScenario("g", {"Growth rate": 0.3})) is design
    with pytest.raises(YaanSimError, match="drawn both"):
        combine(design, design, None)
    (tmp_path / "x.nc").write_bytes(b"not netcdf")
    with pytest.raises(YaanSimError, match="cannot read it as netCDF"):
        read_posterior(tmp_path / "x.nc")


def test_cli_calibrate_and_posterior(calib, tmp_path, capsys):
    from yaan_sim.cli import main

    te, ve = euler_revenue("ETDZ")
    rows = [
        {"id": f"e-{y}", "period": y, "value": year_total(te, ve, y) * f}
        for y, f in ((2014, 1.02), (2015, 0.99), (2016, 1.0), (2018, 1.1))
    ]
    write_ledger(tmp_path / "led", rows)
    base = ["calibrate", "--model", str(CALIB_MDL), "--ledger", str(tmp_path / "led")]
    args = [*base, "--params", "Growth rate[ETDZ]", "-o", str(tmp_path / "f.yaml")]
    rc = main(
        [
            *args,
            "--table",
            str(tmp_path / "t.csv"),
            "--posterior",
            str(tmp_path / "p.nc"),
            "--steps",
            "40",
            "--moves",
            "de",
            "--no-progress",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "held-out" in out.out and "Theil" not in out.err and "acceptance" in out.out
    assert len(pd.read_csv(tmp_path / "t.csv")) == 4
    from yaan_sim.analysis.posterior import read_posterior

    post = read_posterior(tmp_path / "p.nc")
    assert post["parameter"].values.tolist() == ["Growth rate[ETDZ]"]
    draws = post["draws"].values[:, 0]
    lo, hi = float(post["min"][0]), float(post["max"][0])
    assert np.isfinite(draws).all() and ((lo <= draws) & (draws <= hi)).all()
    assert np.ptp(draws) > 0  # the walkers moved
    assert "DEMove" in json.loads(post.attrs["manifest"])["sampler"]
    fitted = (tmp_path / "f.yaml").read_text(encoding="utf-8")
    assert "Growth rate" in fitted and "ETDZ" in fitted
    assert main([*args]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*base, "--level-error", "H=big", "-o", str(tmp_path / "g.yaml")]) == 2
    assert "CONFIDENCE=ERROR" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "g.txt")]) == 2


def test_cli_ensemble_with_a_posterior(model, tmp_path, capsys):
    """A posterior on the project's model drives `yaan-sim ensemble --posterior`."""
    from yaan_sim.analysis.calibrate_params import parse_params
    from yaan_sim.analysis.posterior import PosteriorResult
    from yaan_sim.cli import main

    ps = parse_params(["Initial idle share"], model)
    draws = pd.DataFrame({"Initial idle share": np.linspace(0.02, 0.2, 10)})
    diag = {"tau": {}, "rhat": {}}
    info = {"created_utc": "2026-01-01T00:00:00+00:00", "model_sha256": model.mdl_sha256}
    path = PosteriorResult(draws, np.zeros(10), ps, diag, None, info).write(tmp_path / "p.nc")
    out = tmp_path / "ens.nc"
    rc = main(
        [
            "ensemble",
            "baseline",
            "--samples",
            "8",
            "--posterior",
            str(path),
            "-o",
            str(out),
            "--no-progress",
            "--horizon",
            "2016:2017",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    ens = xr.load_dataset(out)
    assert set(ens["sampled_initial_idle_share"].values.ravel()) <= set(draws.iloc[:, 0])


def test_a_parameter_free_jointly_with_another_is_not_identified():
    """J = [[1, 0, 0], [0, 1, 1]]: the first parameter is pinned (variance 1 by hand);
    the second and third move the figures only through their sum, so each alone is free
    (the null space is (0, 1, -1)/sqrt 2); a zero column is not even informed."""
    from yaan_sim.analysis.calibrate_stats import identified_covariance

    J = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    informed = np.linalg.norm(J, axis=0) > 1e-8
    identified, cov = identified_covariance(J, informed, birge=2.0)
    assert informed.tolist() == [True, True, True, False]
    assert identified.tolist() == [True, False, False, False]
    assert cov[0, 0] == pytest.approx(4.0)  # 1 / 1**2, times the Birge ratio squared
    assert np.isnan(cov[1, 1]) and np.isnan(cov[2, 2]) and np.isnan(cov[3, 3])
    # with full rank every informed parameter is identified and cov = (J'J)^-1
    J2 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    ident2, cov2 = identified_covariance(J2, np.array([True, True]), birge=1.0)
    assert ident2.all()
    np.testing.assert_allclose(cov2, np.linalg.inv(J2.T @ J2))


# ------------------------------------------------------------------ the problem, piece by piece


def problem_of(calib, tmp_path, rows, params, **kw):
    from yaan_sim.analysis.calibrate import setup

    return setup(calib, ledger_of(tmp_path, rows), params, **kw)


MIXED_ROWS = [
    {"id": "e-2015", "period": 2015, "value": 120, "confidence": "H"},
    {"id": "g-2016", "period": 2016, "kind": "growth", "unit": "%", "value": 9},
    {"id": "q-2015", "period": "2015Q2", "value": 30, "confidence": "L"},
    {"id": "e-2019", "period": 2019, "value": 200},
]


def test_the_problem_scales_each_residual_by_its_error_and_the_model_error(calib, tmp_path):
    """A level (H, log scale), a growth rate (M, points), a quarter (L, log, with a seasonal
    factor) and a held-out year: the model error 0.1 joins the log errors in quadrature
    (0.05 -> sqrt(0.0125), 0.25 -> sqrt(0.0725)), not the growth rate's 2 points."""
    pb = problem_of(
        calib, tmp_path, MIXED_ROWS, ["Growth rate[ETDZ]"], model_error=0.1, seasonal=True
    )
    assert pb.labels == ["Growth rate[ETDZ]", "seasonal[Q2]"]
    assert pb.lo.tolist() == [0.0, 0.5] and pb.hi.tolist() == [0.5, 1.5]
    assert pb.fit_idx.tolist() == [0, 1, 2] and pb.fit_idx.dtype.kind == "i"
    assert pb.engine == "vector" and pb.model_error == 0.1
    np.testing.assert_allclose(
        pb.sigma, [math.sqrt(0.0125), 2.0, math.sqrt(0.0725), math.sqrt(0.02)], rtol=1e-12
    )
    assert (pb.calls, pb.runs) == (0, 0)
    X = np.array([[0.1, 1.0], [0.3, 1.2]])
    sim = pb.simulate(X)
    assert (pb.calls, pb.runs) == (1, 2)
    for row, (g, f) in enumerate(X):
        t, v = euler_revenue("ETDZ", growth=g)
        y15, y16, q2 = (
            year_total(t, v, 2015),
            year_total(t, v, 2016),
            year_total(t, v, 2015.25, 2015.5),
        )
        np.testing.assert_allclose(
            sim[row],
            [y15, 100 * (y16 / y15 - 1), f * q2, year_total(t, v, 2019)],
            rtol=1e-9,
        )
        expect = [
            (math.log(y15) - math.log(120)) / math.sqrt(0.0125),
            (100 * (y16 / y15 - 1) - 9) / 2.0,
            (math.log(f * q2) - math.log(30)) / math.sqrt(0.0725),
        ]
        np.testing.assert_allclose(pb.residuals(sim)[row], expect, rtol=1e-9)
        # the held-out figure, asked for by its index
        held = (math.log(year_total(t, v, 2019)) - math.log(200)) / math.sqrt(0.02)
        np.testing.assert_allclose(pb.residuals(sim, [3, 0])[row], [held, expect[0]], rtol=1e-9)
        assert pb.loglike(X[row])[0] == pytest.approx(-0.5 * sum(e * e for e in expect), rel=1e-9)
    assert (pb.calls, pb.runs) == (3, 4)
    assert pb.seasonal(X) is not None and pb.seasonal(X)["Q2"].tolist() == [1.0, 1.2]


def test_the_problem_without_a_model_error_keeps_the_stated_errors(calib, tmp_path):
    pb = problem_of(calib, tmp_path, MIXED_ROWS, ["Growth rate[ETDZ]"])
    assert pb.model_error == 0.0 and pb.sigma.tolist() == [0.05, 2.0, 0.25, 0.1]
    assert pb.seasonal(np.array([[0.1]])) is None  # no seasonal parameter
    zero = problem_of(calib, tmp_path / "z", MIXED_ROWS, ["Growth rate[ETDZ]"], model_error=0)
    assert zero.sigma.tolist() == [0.05, 2.0, 0.25, 0.1]
    with pytest.raises(YaanSimError) as err:
        problem_of(calib, tmp_path / "n", MIXED_ROWS, ["Growth rate[ETDZ]"], model_error=-0.1)
    assert str(err.value) == "model_error must be 0 or more, got -0.1"


def test_the_problem_loglike_is_minus_infinity_where_a_run_goes_negative(calib, tmp_path):
    """A negative initial revenue (outside its range, as a sampler may propose) gives a
    negative simulated level: no log, so the log-likelihood is -inf, not NaN; the
    log-prior is -inf outside the range and -log(x) inside (loguniform)."""
    rows = [{"id": "e-2015", "period": 2015, "value": 120, "confidence": "H"}]
    pb = problem_of(calib, tmp_path, rows, ["Initial revenue[ETDZ]"])
    X = np.array([[-50.0], [100.0], [500.0]])
    ll = pb.loglike(X)
    assert ll[0] == -math.inf
    t, v = euler_revenue("ETDZ")
    assert ll[1] == pytest.approx(-0.5 * ((math.log(year_total(t, v, 2015) / 120)) / 0.05) ** 2)
    np.testing.assert_allclose(pb.logprior(X), [-math.inf, -math.log(100), -math.inf])
    assert pb.logprior([20.0]).tolist() == [-math.log(20)]  # one row given flat


def test_the_problem_sums_the_log_priors_of_its_parameters(calib, tmp_path):
    rows = [{"id": "e-2015", "period": 2015, "value": 120}]
    pb = problem_of(
        calib, tmp_path, rows, ["Initial revenue[ETDZ]", "Growth rate[ETDZ]", "Industrial share"]
    )
    X = np.array([[40.0, 0.3, 0.5], [40.0, 0.7, 0.5]])  # uniform: 0 inside, -inf outside
    np.testing.assert_allclose(pb.logprior(X), [-math.log(40), -math.inf])


class _Levers:
    """A scenario with levers (as a scenario file gives): Growth rate set for both parks,
    Industrial share 0.5; the overrides hold every lever."""

    name = "levers"

    def __init__(self, calib):
        park = calib.subscripts["Park"]
        self.levers = {"Growth rate": 1, "Industrial share": 1}
        self._over = {
            "Growth rate": xr.DataArray([0.12, 0.25], dims=["park"], coords={"park": park}),
            "Industrial share": xr.DataArray(0.5),
        }

        self.asked: list = []  # (model, horizon) of every call

    def overrides(self, model=None, horizon=None):
        self.asked.append((model, horizon))
        return dict(self._over)


def test_the_problem_places_each_parameter_on_the_scenarios_values(calib, tmp_path):
    """Fitting Growth rate[ETDZ] under a scenario: Hanyuan keeps the scenario's 0.25 (not
    the .mdl's 0.2), ETDZ takes each row's value, and the scenario's other lever (the
    industrial share 0.5) is in force in every run."""
    rows = [
        {"id": "h-2015", "scope": "Hanyuan", "period": 2015, "value": 60},
        {
            "id": "c-2015",
            "variable": "industrial_output",
            "scope_kind": "city",
            "scope": "Ya'an",
            "period": 2015,
            "value": 150,
        },
    ]
    sc = _Levers(calib)
    pb = problem_of(calib, tmp_path, rows, ["Growth rate[ETDZ]"], scenario=sc)
    # asked for the values on the model, once without a horizon (the fitted constant's
    # base) and once on the problem's horizon (the levers in force)
    assert [m is calib for m, _ in sc.asked] == [True] * len(sc.asked)
    assert (calib, pb.h) in sc.asked and pb.h == pb.obs.horizon
    design = pb.design(np.array([[0.3], [0.4]]))
    assert list(design) == ["Growth rate"]
    assert design["Growth rate"].dims == ("sample", "park")
    assert design["Growth rate"].values.tolist() == [[0.3, 0.25], [0.4, 0.25]]
    sim = pb.simulate([[0.3], [0.4]])
    th, vh = euler_revenue("Hanyuan", growth=0.25)
    for row, g in enumerate((0.3, 0.4)):
        te, ve = euler_revenue("ETDZ", growth=g)
        city = 0.5 * (year_total(te, ve, 2015) + year_total(th, vh, 2015)) / PARK_SHARE_OF_CITY
        np.testing.assert_allclose(sim[row], [year_total(th, vh, 2015), city], rtol=1e-9)


def test_the_problem_sets_every_element_a_parameter_names(calib, tmp_path):
    """Two parameters of one constant (one per park) and one shared by both parks."""
    rows = [{"id": "e-2015", "period": 2015, "value": 120}]
    each = problem_of(calib, tmp_path, rows, ["Growth rate[ETDZ, Hanyuan]", "Industrial share"])
    d = each.design(np.array([[0.3, 0.4, 0.7]]))
    assert d["Growth rate"].values.tolist() == [[0.3, 0.4]]
    assert d["Industrial share"].dims == ("sample",) and d["Industrial share"].values == [0.7]
    shared = problem_of(calib, tmp_path / "s", rows, ["Growth rate[ETDZ+Hanyuan]"])
    assert shared.design(np.array([[0.35]]))["Growth rate"].values.tolist() == [[0.35, 0.35]]


# ------------------------------------------------------------------ the result, made by hand


def hand_result(birge=1.4953, series=True):
    """A CalibrationResult written out in the test (no fit): three parameters, one fitted
    well, one at its bound that the data do not move, one at its bound, informed but not
    identified."""
    from yaan_sim.analysis.calibrate_result import CalibrationResult

    params = pd.DataFrame(
        {
            "label": ["Growth rate[ETDZ]", "Growth rate[Hanyuan]", "Industrial share"],
            "name": ["Growth rate", "Growth rate", "Industrial share"],
            "elements": ["ETDZ", "Hanyuan", ""],
            "units": ["1/Year", "1/Year", "Dmnl"],
            "prior": ["uniform on [0, 0.5]", "uniform on [0, 0.5]", "normal(0.6, 0.1) on [0.1, 1]"],
            "lever": [False, False, False],
            "start": [0.1, 0.2, 0.6],
            "value": [0.1234567, 0.5, 1.0],
            "se": [0.00123456, math.inf, math.nan],
            "ci_low": [0.1210370, 0.5, 0.1],
            "ci_high": [0.1258764, 0.5, 1.0],
            "min": [0.0, 0.0, 0.1],
            "max": [0.5, 0.5, 1.0],
            "at_bound": [False, True, True],
            "informed": [True, False, True],
            "identified": [True, False, False],
        }
    )
    stats = {
        "n_fit": 12,
        "n_held_out": 2,
        "n_params": 3,
        "dof": 9,
        "chi2": 20.123456789,
        "chi2_dof": 2.2359396,
        "birge": birge,
        "cost": 10.06,
        "success": True,
        "message": "ok",
        "seconds": 1.5,
    }
    rows = pd.DataFrame(
        {
            "variable": ["revenue", "revenue"],
            "role": ["fit", "held-out"],
            "n": [12, 2],
            "RMSE": [1.23456, math.nan],
        }
    )
    info = {
        "created_utc": "2026-11-30T12:00:00+00:00",
        "model_file": "calib_parks.mdl",
        "model_sha256": "ab" * 32,
        "ledger_sha256": "cd" * 32,
        "cutoff": 2017,
        "scenario": None,
        "obs_errors": {"level": {"H": 0.05}},
        "model_error": 0.1,
    }
    series_table = rows if series else rows.iloc[0:0]
    return CalibrationResult(params, stats, series_table, pd.DataFrame(), pd.DataFrame(), info)


def test_the_summary_of_a_result_written_out():
    res = hand_result()
    assert res.values() == {
        "Growth rate[ETDZ]": 0.1234567,
        "Growth rate[Hanyuan]": 0.5,
        "Industrial share": 1.0,
    }
    lines = res.summary().split("\n")
    assert lines[0] == (
        "Fitted parameters (95% interval from the linearised covariance, inflated by the "
        "Birge ratio 1.5):"
    )
    assert lines[1] == (
        "  Growth rate[ETDZ]" + " " * 27 + " 0.123457  (se 0.00123; [0.121, 0.1259]; "
        "start 0.1; prior uniform on [0, 0.5])"
    )
    assert lines[2] == (
        "  Growth rate[Hanyuan]" + " " * 24 + " 0.5  (se inf; [0.5, 0.5]; start 0.2; "
        "prior uniform on [0, 0.5]; AT BOUND; NOT INFORMED by the data)"
    )
    assert lines[3] == (
        "  Industrial share" + " " * 28 + " 1  (se nan; [0.1, 1]; start 0.6; "
        "prior normal(0.6, 0.1) on [0.1, 1]; AT BOUND; NOT IDENTIFIED: the fitted figures move it "
        "only jointly with others)"
    )
    assert lines[4] == (
        "Fit: 12 figures fitted, 2 held out (periods after 2017), 3 parameters, dof 9; "
        "chi2 20.12 (chi2/dof 2.24)"
    )
    assert lines[5] == "Per series (fit = in sample, held-out = out of sample):"
    assert lines[6:] == [
        "variable     role  n  RMSE",
        " revenue      fit 12 1.235",
        " revenue held-out  2     -",
    ]


def test_the_summary_names_the_birge_ratio_only_above_1():
    for birge in (1.0, 0.7):
        head = hand_result(birge).summary().split("\n")[0]
        assert head == "Fitted parameters (95% interval from the linearised covariance):"
    assert hand_result(series=False).summary().split("\n")[6:] == ["  (no series)"]


def test_the_yaml_document_of_a_result_written_out():
    doc = yaml.safe_load(hand_result().to_yaml())
    assert doc == {
        "kind": "yaan-sim calibration",
        "created_utc": "2026-11-30T12:00:00+00:00",
        "model": {"file": "calib_parks.mdl", "sha256": "ab" * 32},
        "ledger_sha256": "cd" * 32,
        "cutoff": 2017,
        "scenario": None,
        "observation_errors": {"level": {"H": 0.05}},
        "model_error": 0.1,
        "parameters": {
            "Growth rate[ETDZ]": {
                "value": 0.123457,
                "se": 0.00123456,
                "ci95": [0.121037, 0.125876],
                "start": 0.1,
                "range": [0.0, 0.5],
                "prior": "uniform on [0, 0.5]",
                "units": "1/Year",
                "informed": True,
                "identified": True,
                "at_bound": False,
            },
            "Growth rate[Hanyuan]": {
                "value": 0.5,
                "se": math.inf,
                "ci95": [0.5, 0.5],
                "start": 0.2,
                "range": [0.0, 0.5],
                "prior": "uniform on [0, 0.5]",
                "units": "1/Year",
                "informed": False,
                "identified": False,
                "at_bound": True,
            },
            "Industrial share": {
                "value": 1.0,
                "se": None,
                "ci95": [0.1, 1.0],
                "start": 0.6,
                "range": [0.1, 1.0],
                "prior": "normal(0.6, 0.1) on [0.1, 1]",
                "units": "Dmnl",
                "informed": True,
                "identified": False,
                "at_bound": True,
            },
        },
        "fit": {
            "n_fit": 12,
            "n_held_out": 2,
            "n_params": 3,
            "dof": 9,
            "chi2": 20.1235,
            "chi2_dof": 2.23594,
            "birge": 1.4953,
        },
        "series": [
            {"variable": "revenue", "role": "fit", "n": 12, "RMSE": 1.23456},
            {"variable": "revenue", "role": "held-out", "n": 2, "RMSE": None},
        ],
    }
    text = hand_result().to_yaml()
    assert text.startswith(
        "# Written by `yaan-sim calibrate`: constants fitted to the data ledger.\n"
        "# Copy a value into the .mdl (with its interval in the source field) to adopt it;\n"
        "# `yaan-sim calibrate --posterior` gives the full posterior ensemble.\n"
        "kind: yaan-sim calibration\n"
    )
    assert "se: .inf\n" in text
    assert "fit:\n  n_fit: 12\n  n_held_out: 2\n  n_params: 3\n  dof: 9\n" in text  # integers


def test_numbers_in_the_yaml_keep_6_significant_digits():
    from yaan_sim.analysis.calibrate_result import _num

    assert _num(123456789.0) == 123457000.0 and _num(-0.000123456789) == -0.000123457
    assert _num(2) == 2.0 and type(_num(2)) is float
    assert _num(math.nan) is None
    assert _num(math.inf) == math.inf and _num(-math.inf) == -math.inf


def test_write_yaml_writes_the_same_text_and_overwrites_only_with_force(tmp_path):
    res = hand_result()
    path = res.write_yaml(tmp_path / "fit.yaml")
    assert path == tmp_path / "fit.yaml"
    assert path.read_text(encoding="utf-8") == res.to_yaml()
    with pytest.raises(YaanSimError, match="--force"):
        res.write_yaml(path)
    path.write_text("old", encoding="utf-8")
    res.write_yaml(path, force=True)
    assert path.read_text(encoding="utf-8") == res.to_yaml()


# ------------------------------------------------------------------ priors and parameters, by hand


def test_prior_densities_by_hand():
    """Log densities up to a constant, each bound inside the support."""
    from yaan_sim.analysis.calibrate_params import Prior

    inf = -math.inf
    uni = Prior("uniform", 0.0, 2.0).logpdf([-0.1, 0.0, 1.0, 2.0, 2.1])
    assert uni.tolist() == [inf, 0.0, 0.0, 0.0, inf]
    logu = Prior("loguniform", 1.0, 10.0).logpdf([0.5, 1.0, 2.0, 10.0, 11.0])
    np.testing.assert_allclose(logu, [inf, 0.0, -math.log(2), -math.log(10), inf])
    norm = Prior("normal", 0.0, 3.0, (1.0, 0.5)).logpdf([-1.0, 0.0, 1.0, 2.0, 3.0, 3.5])
    np.testing.assert_allclose(norm, [inf, -2.0, 0.0, -2.0, -8.0, inf])
    # triangular(1) on [0, 4]: density x / 1 * (2 / 4) rising, (4 - x) / 3 * (2 / 4) falling
    tri = Prior("triangular", 0.0, 4.0, (1.0,)).logpdf([-1.0, 0.0, 0.5, 1.0, 2.5, 3.0, 4.0, 5])
    np.testing.assert_allclose(
        tri, [inf, inf, math.log(0.5), 0.0, math.log(0.5), math.log(1 / 3), inf, inf]
    )
    # the mode on the lower bound: only the falling side
    at_lo = Prior("triangular", 0.0, 4.0, (0.0,)).logpdf([0.0, 2.0, 3.0])
    np.testing.assert_allclose(at_lo, [0.0, math.log(0.5), math.log(0.25)])
    at_hi = Prior("triangular", 0.0, 4.0, (4.0,)).logpdf([1.0, 2.0, 4.0])  # only rising
    np.testing.assert_allclose(at_hi, [math.log(0.25), math.log(0.5), 0.0])  # 4: its peak
    # off 0, with the mode less than 1 from a bound: (x - lo) / (mode - lo), (hi - x) / (hi - mode)
    low_mode = Prior("triangular", 1.0, 5.0, (1.5,)).logpdf([1.25, 1.5, 3.25])
    np.testing.assert_allclose(low_mode, [math.log(0.5), 0.0, math.log(0.5)])
    high_mode = Prior("triangular", 1.0, 5.0, (4.5,)).logpdf([2.75, 4.5, 4.75])
    np.testing.assert_allclose(high_mode, [math.log(0.5), 0.0, math.log(0.5)])
    assert Prior("uniform", 0.0, 1.0).logpdf(0.5).shape == ()


def test_prior_quantiles_by_hand():
    from yaan_sim.analysis.calibrate_params import Prior

    uni = Prior("uniform", 2.0, 6.0).ppf([-1.0, 0.0, 0.25, 1.0, 2.0])
    np.testing.assert_allclose(uni, [2.0, 2.0, 3.0, 6.0, 6.0], rtol=0, atol=1e-10)
    assert uni[1] > 2.0 and uni[3] < 6.0  # u is kept inside (0, 1): 1e-12 from each end
    logu = Prior("loguniform", 2.0, 200.0).ppf([0.0, 0.5, 1.0])
    np.testing.assert_allclose(logu, [2.0, 20.0, 200.0], rtol=1e-9)
    # normal(0, 1) truncated to [0, 10]: the median is the untruncated 75 % quantile
    half = Prior("normal", 0.0, 10.0, (0.0, 1.0)).ppf([0.5])
    np.testing.assert_allclose(half, [0.6744897502], rtol=1e-8)
    # normal(1, 2) on [0, 3]: Phi at the bounds' z-scores -0.5 and 1, the quantile between
    from scipy.stats import norm as gauss

    lo_p, hi_p = gauss.cdf(-0.5), gauss.cdf(1.0)
    u = np.array([0.1, 0.5, 0.9])
    near = Prior("normal", 0.0, 3.0, (1.0, 2.0)).ppf(u)
    np.testing.assert_allclose(near, 1 + 2 * gauss.ppf(lo_p + u * (hi_p - lo_p)), rtol=1e-8)
    wide = Prior("normal", -20.0, 20.0, (1.0, 2.0)).ppf([0.5, 0.975])
    np.testing.assert_allclose(wide, [1.0, 1.0 + 2 * 1.959963985], rtol=1e-8)
    # triangular(1) on [0, 4]: F(1) = 1/4; F(x) = x^2/4 below, 1 - (4 - x)^2/12 above
    tri = Prior("triangular", 0.0, 4.0, (1.0,)).ppf([0.0625, 0.25, 0.8125, 1.0])
    np.testing.assert_allclose(tri, [0.5, 1.0, 2.5, 4.0], rtol=1e-9, atol=1e-5)
    # triangular(2) on [1, 5]: the same shape moved by 1
    middle = Prior("triangular", 1.0, 5.0, (3.0,)).ppf([0.125, 0.875])  # c = 1/2
    np.testing.assert_allclose(middle, [2.0, 4.0], rtol=1e-9)
    moved = Prior("triangular", 1.0, 5.0, (2.0,)).ppf([0.0625, 0.2, 0.25, 0.5, 0.8125])
    np.testing.assert_allclose(
        moved, [1.5, 1 + math.sqrt(0.8), 2.0, 5 - math.sqrt(6), 3.5], rtol=1e-9
    )


def test_prior_texts():
    from yaan_sim.analysis.calibrate_params import Prior

    assert Prior("uniform", 0.0, 0.5).text() == "uniform on [0, 0.5]"
    assert (
        Prior("normal", 0.0, 1e-5, (2e-6, 1.5e-6)).text() == "normal(2e-06, 1.5e-06) on [0, 1e-05]"
    )
    assert Prior("triangular", 0.1, 1.0, (0.2,)).text() == "triangular(0.2) on [0.1, 1]"


NO_RANGE = (
    "x: needs a finite [min,max] range in the .mdl to be calibrated (its prior lives on that range)"
)


@pytest.mark.parametrize(
    ("kind", "args", "lo", "hi", "message"),
    [
        (
            "gamma",
            (),
            0,
            1,
            "x: unknown prior 'gamma'; use one of uniform, loguniform, normal, triangular",
        ),
        ("uniform", (1.0,), 0, 1, "x: uniform takes 0 number(s) in brackets, e.g. uniform"),
        (
            "loguniform",
            (1.0,),
            1,
            2,
            "x: loguniform takes 0 number(s) in brackets, e.g. loguniform",
        ),
        (
            "triangular",
            (),
            0,
            1,
            "x: triangular takes 1 number(s) in brackets, e.g. triangular(0.1)",
        ),
        ("normal", (1.0,), 0, 2, "x: normal takes 2 number(s) in brackets, e.g. normal(0.1, 0.03)"),
        (
            "uniform",
            (),
            1,
            1,
            NO_RANGE,
        ),
        (
            "uniform",
            (),
            2,
            1,
            NO_RANGE,
        ),
        (
            "uniform",
            (),
            -math.inf,
            1,
            NO_RANGE,
        ),
        (
            "uniform",
            (),
            0,
            math.inf,
            NO_RANGE,
        ),
        ("loguniform", (), 0, 1, "x: loguniform needs min > 0 (the range is [0, 1])"),
        ("loguniform", (), -1, 1, "x: loguniform needs min > 0 (the range is [-1, 1])"),
        ("normal", (0.5, 0.0), 0, 1, "x: normal(mean, sd) needs sd > 0"),
        ("normal", (0.5, -1.0), 0, 1, "x: normal(mean, sd) needs sd > 0"),
        ("triangular", (1.5,), 0, 1, "x: the triangular mode 1.5 lies outside [0, 1]"),
        ("triangular", (-0.25,), 0, 1, "x: the triangular mode -0.25 lies outside [0, 1]"),
    ],
)
def test_bad_priors_word_for_word(kind, args, lo, hi, message):
    from yaan_sim.analysis.calibrate_params import make_prior

    with pytest.raises(YaanSimError) as err:
        make_prior(kind, args, lo, hi, "x")
    assert str(err.value) == message


def test_priors_at_the_edges_of_their_checks():
    from yaan_sim.analysis.calibrate_params import Prior, make_prior

    made = make_prior("normal", (1, 2), 0, 5, "x")
    assert made == Prior("normal", 0.0, 5.0, (1.0, 2.0))
    assert all(type(v) is float for v in (made.lo, made.hi, *made.args))
    assert make_prior("loguniform", (), 1e-9, 1, "x").lo == 1e-9
    assert make_prior("normal", (0.5, 1e-9), 0, 1, "x").args == (0.5, 1e-9)
    assert make_prior("triangular", (0,), 0, 1, "x").args == (0.0,)
    assert make_prior("triangular", (1,), 0, 1, "x").args == (1.0,)


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("*", None),
        (" * ", None),
        ("ETDZ, Hanyuan+Shimian", [("ETDZ",), ("Hanyuan", "Shimian")]),
        ("ETDZ，Hanyuan、 A + + B ", [("ETDZ",), ("Hanyuan",), ("A", "B")]),
    ],
)
def test_element_lists_split(text, groups):
    from yaan_sim.analysis.calibrate_params import _split_elements

    assert _split_elements(text) == groups


@pytest.mark.parametrize(
    ("text", "kind", "args", "groups"),
    [
        ("", "uniform", (), None),
        ("  TRUE ", "uniform", (), None),
        ("Yes", "uniform", (), None),
        ("normal () [*]", "normal", (), None),
        (" normal( 1 ,2.5 )[ ETDZ ] ", "normal", (1.0, 2.5), [("ETDZ",)]),
    ],
)
def test_the_calibrate_field_at_its_edges(text, kind, args, groups):
    assert parse_calibrate_field(text, "x") == (kind, args, groups)


def test_unreadable_calibrate_fields_word_for_word():
    for text in ("normal(1, 2", "Uniform", "uniform [ETDZ] x"):
        with pytest.raises(YaanSimError) as err:
            parse_calibrate_field(text, "m.mdl: A")
        assert str(err.value) == (
            f"m.mdl: A: cannot read `calibrate: {text}`; write e.g. `calibrate: uniform`, "
            "`calibrate: loguniform [ETDZ]` or `calibrate: normal(0.1, 0.03) [ETDZ+Hanyuan]`"
        )
    with pytest.raises(YaanSimError) as err:
        parse_calibrate_field("normal(1, x)", "m.mdl: A")
    assert str(err.value) == "m.mdl: A: prior arguments '1, x' must be numbers"


def calib_variant(tmp_path, old, new):
    """tests/data/calib_parks.mdl with one piece of text replaced, loaded."""
    import yaan_sim as ys

    text = CALIB_MDL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.mdl"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return ys.load_model(path)


def test_a_model_without_calibrate_fields_says_how_to_name_parameters(tmp_path):
    import yaan_sim as ys

    text = CALIB_MDL.read_text(encoding="utf-8")
    path = tmp_path / "none.mdl"
    path.write_text(
        "\n".join(ln for ln in text.split("\n") if "calibrate:" not in ln), encoding="utf-8"
    )
    with pytest.raises(YaanSimError) as err:
        parse_params(None, ys.load_model(path))
    assert str(err.value) == (
        "none.mdl marks no constant with a `calibrate:` field: add one "
        "(docs/analysis.md, 'Calibration') or name the constants with --params"
    )


def test_a_calibrate_field_naming_bad_elements_names_the_constant(tmp_path):
    share = calib_variant(
        tmp_path,
        "calibrate: uniform\n\t|\n\nIndustrial output",
        "calibrate: uniform [ETDZ]\n\t|\n\nIndustrial output",
    )
    with pytest.raises(YaanSimError) as err:
        parse_params(None, share)
    assert str(err.value) == (
        "variant.mdl: Industrial share: 'Industrial share' has no subscripts; drop the [elements]"
    )


def test_parameters_field_by_field(calib):
    from yaan_sim.analysis.calibrate_params import Param, Prior

    ps = parse_params(["Initial revenue[Hanyuan]", "Park share of city output"], calib)
    assert ps == [
        # named on its own, the prior still comes from its calibrate: field
        Param(
            "Initial revenue[Hanyuan]",
            "Initial revenue",
            "park",
            ("Hanyuan",),
            10.0,
            400.0,
            50.0,
            Prior("loguniform", 10.0, 400.0),
            "yiyuan/Year",
            False,
        ),
        # no calibrate: field: uniform on its range
        Param(
            "Park share of city output",
            "Park share of city output",
            None,
            (),
            0.5,
            1.0,
            0.8,
            Prior("uniform", 0.5, 1.0),
            "Dmnl",
            False,
        ),
    ]
    assert ps[0].kind == "constant"


def test_a_parameter_named_twice_is_refused_word_for_word(calib):
    with pytest.raises(YaanSimError) as err:
        parse_params(["Industrial share", "industrial SHARE"], calib)
    assert str(err.value) == "a parameter is named twice: Industrial share, Industrial share"
    with pytest.raises(YaanSimError) as err:
        parse_params(["Growth rate[ETDZ]", "Growth rate[ETDZ+Hanyuan]"], calib)
    assert str(err.value) == (
        "Growth rate[ETDZ+Hanyuan] and Growth rate[ETDZ] both set Growth rate[ETDZ]: "
        "give each element to one parameter"
    )


def test_start_values_come_from_the_scenario_within_the_range(calib):
    """The scenario's Growth rate (0.12 and 0.25; 0.7 is above the range's 0.5) is the
    start, the mean over a shared group; a schedule constant in time is its value."""
    sc = _Levers(calib)
    ps = parse_params(["Growth rate[ETDZ]", "Growth rate[Hanyuan]"], calib, sc)
    assert [p.x0 for p in ps] == [0.12, 0.25]
    assert parse_params(["Growth rate[ETDZ+Hanyuan]"], calib, sc)[0].x0 == pytest.approx(0.185)
    park = calib.subscripts["Park"]
    sc._over["Growth rate"] = xr.DataArray([0.7, 0.3], dims=["park"], coords={"park": park})
    assert [p.x0 for p in parse_params(["Growth rate"], calib, sc)] == [0.5, 0.3]
    sc._over["Industrial share"] = xr.DataArray(
        [0.05, 0.05, 0.05], dims=["time"], coords={"time": [2013.0, 2014.0, 2015.0]}
    )
    assert parse_params(["Industrial share"], calib, sc)[0].x0 == 0.1  # clipped to its min
    # a schedule per park, constant in time: each park's own value (parks may differ)
    sc._over["Growth rate"] = xr.DataArray(
        [[0.12, 0.25], [0.12, 0.25]],
        dims=["time", "park"],
        coords={"time": [2013.0, 2014.0], "park": park},
    )
    assert [p.x0 for p in parse_params(["Growth rate"], calib, sc)] == [0.12, 0.25]
    sc._over["Industrial share"] = xr.DataArray(
        [0.5, 0.5, 0.6], dims=["time"], coords={"time": [2013.0, 2014.0, 2015.0]}
    )
    with pytest.raises(YaanSimError) as err:
        parse_params(["Industrial share"], calib, sc)
    assert str(err.value) == (
        "scenario 'levers' sets 'Industrial share' as a time schedule, so it cannot be "
        "calibrated: remove it from the scenario or from the parameters"
    )
    # a lever the scenario does not set keeps the .mdl's value
    assert parse_params(["Initial revenue[ETDZ]"], calib, sc)[0].x0 == 100.0


def test_one_seasonal_factor_per_fitted_sub_year_form(calib, tmp_path):
    from yaan_sim.analysis.backtest_observations import observations
    from yaan_sim.analysis.calibrate_params import Param, Prior, seasonal_params

    rows = [
        {"id": "q2", "period": "2015Q2", "value": 30},
        {"id": "h1", "period": "2016H1", "value": 60},
        {"id": "q2b", "period": "2016Q2", "value": 32},
        {"id": "q1", "period": "2016Q1", "value": 30},
        {"id": "y", "period": 2016, "value": 130},
        {"id": "q3", "period": "2018Q3", "value": 40},  # held out: no factor
    ]
    obs = observations(calib, ledger_of(tmp_path, rows))
    made = seasonal_params(obs)
    assert [p.label for p in made] == ["seasonal[H1]", "seasonal[Q1]", "seasonal[Q2]"]
    assert made[0] == Param(
        "seasonal[H1]",
        "seasonal",
        None,
        ("H1",),
        0.5,
        1.5,
        1.0,
        Prior("uniform", 0.5, 1.5),
        "Dmnl",
        False,
        "seasonal",
    )


def test_the_problem_made_directly_takes_its_defaults(calib, tmp_path):
    """Problem(model, params, obs): the first engine that can run the model (vector) and
    no model error; another engine by name; only the observed variables are run."""
    from yaan_sim.analysis.calibrate_problem import Problem

    made = problem_of(calib, tmp_path, MIXED_ROWS, ["Growth rate[ETDZ]"], model_error=0.1)
    pb = Problem(calib, made.params, made.obs)
    assert pb.engine == "vector" and pb.model_error == 0.0
    assert pb.sigma.tolist() == [0.05, 2.0, 0.25, 0.1]
    assert Problem(calib, made.params, made.obs, engine="pysd").engine == "pysd"
    ds = pb.run(np.array([[0.1], [0.2]]))
    assert list(ds.data_vars) == ["revenue"] and ds.sizes["sample"] == 2


def test_a_problem_with_nothing_to_fit_has_an_empty_integer_index(calib, tmp_path):
    """Every figure held out (made directly: setup refuses it): the index of the fitted
    figures is empty but still an index (integers), and there are no residuals."""
    from yaan_sim.analysis.backtest_observations import observations
    from yaan_sim.analysis.calibrate_params import parse_params
    from yaan_sim.analysis.calibrate_problem import Problem

    obs = observations(calib, ledger_of(tmp_path, [{"id": "e", "period": 2019, "value": 200}]))
    pb = Problem(calib, parse_params(["Growth rate[ETDZ]"], calib), obs)
    assert pb.fit_idx.dtype.kind == "i" and pb.fit_idx.size == 0
    sim = pb.simulate([[0.1]])
    assert sim.shape == (1, 1) and sim[:, pb.fit_idx].shape == (1, 0)
    assert pb.residuals(sim).shape == (1, 0) and pb.loglike([[0.1]]).tolist() == [0.0]


TWO_DIMS = """Industry:
\tLight, Heavy
\t~\t
\t~\ten: Two test industries
\t|

Mix[Park, Industry]=
\t1, 2; 3, 4;
\t~\tDmnl [0,10]
\t~\ten: A test constant over two subscripts
\t\tsource: assumed: a test value
\t\tcalibrate: uniform
\t|

Growth rate[Park]="""


def test_a_constant_over_two_subscripts_needs_its_elements_named(tmp_path):
    two = calib_variant(tmp_path, "Growth rate[Park]=", TWO_DIMS)
    with pytest.raises(YaanSimError) as err:
        parse_params(None, two)
    assert str(err.value) == "variant.mdl: Mix: 'Mix' has 2 subscripts; name the elements to fit"
    assert [p.label for p in parse_params(["Mix[Light]"], two)] == ["Mix[Light]"]


def test_a_prior_that_does_not_fit_the_range_names_the_constant_or_the_spec(tmp_path):
    """Growth rate marked loguniform on its range [0, 0.5]: refused with the .mdl and the
    constant when read from the fields, with the spec when named."""
    bad = calib_variant(
        tmp_path,
        "\t\tcalibrate: uniform\n\t|\n\nInitial revenue",
        "\t\tcalibrate: loguniform\n\t|\n\nInitial revenue",
    )
    with pytest.raises(YaanSimError) as err:
        parse_params(None, bad)
    assert str(err.value) == (
        "variant.mdl: Growth rate: loguniform needs min > 0 (the range is [0, 0.5])"
    )
    with pytest.raises(YaanSimError) as err:
        parse_params(["growth rate[ETDZ]"], bad)
    assert str(err.value) == (
        "parameter 'growth rate[ETDZ]': loguniform needs min > 0 (the range is [0, 0.5])"
    )


def test_a_fixed_scenario_gives_its_values_as_the_base_of_the_fitted_constants(calib, tmp_path):
    """A FixedScenario has no `levers` block: its values are the start and the base of the
    elements not fitted (Growth rate 0.3 and 0.35 for the two parks; the .mdl has 0.1 and
    0.2), as a scenario file's levers are (docs/testing.md, findings)."""
    from yaan_sim.scenario.fixed import FixedScenario

    park = calib.subscripts["Park"]
    fixed = FixedScenario(
        "fixed",
        {"Growth rate": xr.DataArray([0.3, 0.35], dims=["park"], coords={"park": park})},
    )
    ps = parse_params(["Growth rate[ETDZ]", "Growth rate[Hanyuan]"], calib, fixed)
    assert [p.x0 for p in ps] == [0.3, 0.35]
    # a constant it does not hold keeps the .mdl's value
    assert parse_params(["Initial revenue[ETDZ]"], calib, fixed)[0].x0 == 100.0
    rows = [{"id": "h-2015", "scope": "Hanyuan", "period": 2015, "value": 60}]
    pb = problem_of(calib, tmp_path, rows, ["Growth rate[ETDZ]"], scenario=fixed)
    assert pb.params[0].x0 == 0.3
    design = pb.design(np.array([[0.1], [0.4]]))
    assert design["Growth rate"].values.tolist() == [[0.1, 0.35], [0.4, 0.35]]


def test_a_schedule_constant_in_time_is_fitted_as_a_constant(calib, tmp_path):
    """Growth rate given for every step of the horizon at 0.12 and 0.25 (a schedule that
    does not change): the start is its value and the design of a fitted element has the
    parameter rows and the constant's own dims, no time left over from the schedule."""
    from yaan_sim.scenario.fixed import FixedScenario

    park = calib.subscripts["Park"]
    times = calib.default_horizon.times()
    schedule = xr.DataArray(
        np.tile([0.12, 0.25], (len(times), 1)),
        dims=["time", "park"],
        coords={"time": times, "park": park},
    )
    fixed = FixedScenario("fixed", {"Growth rate": schedule})
    rows = [{"id": "h-2015", "scope": "Hanyuan", "period": 2015, "value": 60}]
    pb = problem_of(calib, tmp_path, rows, ["Growth rate[ETDZ]"], scenario=fixed)
    assert pb.params[0].x0 == 0.12
    design = pb.design(np.array([[0.3]]))["Growth rate"]
    assert design.dims == ("sample", "park") and set(design.coords) == {"sample", "park"}
    assert design.values.tolist() == [[0.3, 0.25]]


def test_a_calibrate_field_is_read_with_the_constant_named_and_places_by_name(tmp_path):
    """The fields' path names the .mdl and the constant in its refusals, and reads parks
    by their Chinese names (经开区 is ETDZ), as a spec on the command line does."""
    field = "\t\tcalibrate: uniform\n\t|\n\nInitial revenue"
    bad = calib_variant(tmp_path, field, field.replace("uniform", "normal(1, x)"))
    with pytest.raises(YaanSimError) as err:
        parse_params(None, bad)
    assert str(err.value) == "variant.mdl: Growth rate: prior arguments '1, x' must be numbers"
    with pytest.raises(YaanSimError) as err:  # named, its field is read all the same
        parse_params(["Growth rate[ETDZ]"], bad)
    assert str(err.value) == "variant.mdl: Growth rate: prior arguments '1, x' must be numbers"
    chinese = calib_variant(tmp_path, field, field.replace("uniform", "uniform [经开区]"))
    ps = parse_params(None, chinese)
    assert [p.label for p in ps if p.name == "Growth rate"] == ["Growth rate[ETDZ]"]


def test_the_calibrate_fields_start_from_the_scenarios_values(calib):
    """Every `calibrate:` constant under a scenario with levers: Growth rate starts at
    the scenario's 0.12 and 0.25 and Industrial share at its 0.5 (the .mdl has 0.1, 0.2
    and 0.6); the scenario is asked on the model."""
    sc = _Levers(calib)
    ps = parse_params(None, calib, sc)
    assert {p.label: p.x0 for p in ps} == {
        "Growth rate[ETDZ]": 0.12,
        "Growth rate[Hanyuan]": 0.25,
        "Initial revenue[ETDZ]": 100.0,
        "Industrial share": 0.5,
    }
    assert sc.asked and all(m is calib for m, _ in sc.asked)


def test_a_spec_of_another_form_is_refused_word_for_word(calib):
    with pytest.raises(YaanSimError) as err:
        parse_params(["Growth rate[ETDZ"], calib)
    assert str(err.value) == (
        "constant 'Growth rate[ETDZ': write a constant's name, optionally with elements in "
        "brackets, e.g. 'Investment attraction rate[ETDZ]'"
    )
