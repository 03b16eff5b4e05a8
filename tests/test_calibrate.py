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
