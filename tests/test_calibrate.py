"""Calibration on the ETDZ back-test: fit statistics, recovery of known values, the YAML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from yaan_sim.analysis.backtest import read_observed
from yaan_sim.analysis.calibrate import calibrate, fit_statistics, parse_params
from yaan_sim.errors import YaanSimError
from yaan_sim.scenario import load_scenario

PARAMS = ["Initial revenue[ETDZ]", "Park attraction share[ETDZ]"]


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


@pytest.fixture(scope="module")
def etdz(model):
    return calibrate(model, params=PARAMS, x0=[100, 0.08])


def test_the_etdz_series_is_fitted_within_ranges(etdz):
    fit = etdz.fit
    # the model starts in 2013, the first observed year: every year is a data point
    assert list(fit["year"]) == [2013, 2014, 2015]
    assert etdz.stats["dof"] == 1 and "residual variance" in etdz.info["sigma_from"]
    # the fit is closer to the data than the .mdl's hand-set values (models/README.md)
    start_err = (fit["simulated_start"] / fit["observed"] - 1).abs().max()
    assert fit["error_pct"].abs().max() / 100 < start_err
    assert (etdz.params["value"] > etdz.params["min"]).all()
    assert (etdz.params["value"] < etdz.params["max"]).all()
    assert (etdz.params["se"] > 0).all()
    assert etdz.stats["U_M"] + etdz.stats["U_S"] + etdz.stats["U_C"] == pytest.approx(1.0)


def test_theil_shares_add_up_to_one():
    from yaan_sim.analysis.calibrate import fit_statistics

    st = fit_statistics([10.0, 12.5, 13.0, 17.0], [11.0, 12.0, 14.0, 16.0])
    assert st["U_M"] + st["U_S"] + st["U_C"] == pytest.approx(1.0)
    assert st["RMSE"] == pytest.approx(np.sqrt(np.mean(np.square([-1, 0.5, -1, 1]))))


def test_known_values_are_found_again(model):
    """Data made by the model with the .mdl's values: the fit from elsewhere recovers them."""
    from yaan_sim.analysis.calibrate import _Evaluator, setup

    params = parse_params(PARAMS, model)
    truth = [p.x0 for p in params]
    assert truth == [pytest.approx(108), pytest.approx(0.1)]
    obs = read_observed()
    run_model, h, over, used, _ = setup(model, obs)
    sim = _Evaluator(run_model, params, h, over, used, "auto").simulate(np.array([truth]))[0]
    synthetic = obs.copy()
    synthetic["value"] = sim
    res = calibrate(model, synthetic, PARAMS, x0=[100, 0.08])
    np.testing.assert_allclose(res.params["value"], truth, rtol=1e-5)


def test_the_written_scenario_loads_and_holds_the_values(model, etdz, tmp_path):
    path = etdz.write_scenario(tmp_path / "fitted.yaml")
    sc = load_scenario(path, model)
    # fitted parameters (not levers) are written as the scenario's uncertain settings
    assert {"Initial revenue", "Park attraction share"} <= set(sc.uncertain.settings)
    with pytest.raises(YaanSimError, match="--force"):
        etdz.write_scenario(tmp_path / "fitted.yaml")


def test_bad_parameters_say_what_to_do(model):
    with pytest.raises(YaanSimError, match="did you mean 'Park attraction share'"):
        parse_params(["Park atraction share"], model)
    with pytest.raises(YaanSimError, match="no element"):
        parse_params(["Park attraction share[Paris]"], model)
    with pytest.raises(YaanSimError, match="inside the parameters' ranges"):
        calibrate(model, params=PARAMS, x0=[600, 0.05])


def test_cli_calibrate(tmp_path, capsys):
    from yaan_sim.cli import main

    obs = tmp_path / "obs.csv"
    read_observed().assign(unit="yiyuan/Year", source="test", confidence="M").to_csv(
        obs, index=False
    )
    out = tmp_path / "cal.yaml"
    rc = main(
        [
            "calibrate",
            "--observed",
            str(obs),
            "--params",
            ",".join(PARAMS),
            "--x0",
            "100,0.08",
            "-o",
            str(out),
            "--table",
            str(tmp_path / "p.csv"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "Theil U" in text and "RMSE" in text and out.is_file()
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2


def test_a_series_inside_the_plan_period_is_fitted_without_a_backtest(model):
    """City revenue 2017-2019 made with another output-capital ratio is fitted back to it."""
    import yaan_sim as ys
    from yaan_sim.analysis.ensemble import FixedScenario

    truth = 1.62
    ds = ys.simulate(
        model, [FixedScenario("truth", {"Output capital ratio": truth})], return_vars=["revenue"]
    )
    city = ds["revenue"].isel(scenario=0).sum("park")
    obs = pd.DataFrame(
        [
            {
                "variable": "revenue",
                "park": "city",
                "year": y,
                "value": float(city.sel(time=float(y))),
            }
            for y in (2017, 2018, 2019)
        ]
    )
    res = calibrate(model, obs, ["Output capital ratio"], x0=[1.2])
    assert res.info["backtest_park"] is None and res.stats["dof"] == 2
    assert res.params["value"].iloc[0] == pytest.approx(truth, rel=1e-6)
    assert "residual variance" in res.info["sigma_from"]
