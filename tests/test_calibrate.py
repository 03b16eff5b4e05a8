"""Calibration on the ETDZ back-test: fit statistics, recovery of known values, the YAML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from yaan_sim.analysis.backtest import read_observed
from yaan_sim.analysis.calibrate import calibrate, fit_statistics, parse_params
from yaan_sim.errors import YaanSimError
from yaan_sim.scenario import load_scenario

PARAMS = ["Investment attraction rate[ETDZ]", "Reconstruction realisation share"]


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
    return calibrate(model, params=PARAMS, x0=[0.2, 0.5])


def test_the_etdz_series_is_fitted_within_ranges(etdz):
    fit = etdz.fit
    assert list(fit["year"]) == [2014, 2015]  # 2013 is the initial value, not a data point
    assert fit["error_pct"].abs().max() < 1e-6
    v = etdz.values()
    # The .mdl's values came from this fit (models/README.md): it finds them again.
    assert v["Reconstruction realisation share"] == pytest.approx(0.875, abs=0.002)
    assert v["Investment attraction rate[ETDZ]"] == pytest.approx(0.0945, abs=5e-4)
    assert etdz.stats["dof"] == 0 and "assumed" in etdz.info["sigma_from"]
    assert (etdz.params["se"] > 0).all()
    # an exact fit: no error to split into bias, variance and covariance shares
    assert all(np.isnan(etdz.stats[k]) for k in ("U_M", "U_S", "U_C"))


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
    assert truth == [pytest.approx(0.0945), pytest.approx(0.875)]
    obs = read_observed()
    run_model, h, over, used, _ = setup(model, obs)
    sim = _Evaluator(run_model, params, h, over, used, "auto").simulate(np.array([truth]))[0]
    synthetic = obs.copy()
    synthetic.loc[synthetic["year"] > 2013, "value"] = sim
    res = calibrate(model, synthetic, PARAMS, x0=[0.3, 0.4])
    np.testing.assert_allclose(res.params["value"], truth, rtol=1e-5)


def test_the_written_scenario_loads_and_holds_the_values(model, etdz, tmp_path):
    path = etdz.write_scenario(tmp_path / "fitted.yaml")
    sc = load_scenario(path, model)
    v = etdz.values()
    etdz_rate = sc.overrides(model)["Investment attraction rate"].sel(park="ETDZ").isel(time=0)
    assert float(etdz_rate) == pytest.approx(v["Investment attraction rate[ETDZ]"], rel=1e-5)
    assert "Reconstruction realisation share" in sc.uncertain.settings
    with pytest.raises(YaanSimError, match="--force"):
        etdz.write_scenario(tmp_path / "fitted.yaml")


def test_bad_parameters_say_what_to_do(model):
    with pytest.raises(YaanSimError, match="did you mean 'Investment attraction rate'"):
        parse_params(["Investment atraction rate"], model)
    with pytest.raises(YaanSimError, match="no element"):
        parse_params(["Investment attraction rate[Paris]"], model)
    with pytest.raises(YaanSimError, match="inside the parameters' ranges"):
        calibrate(model, params=PARAMS, x0=[2.0, 0.5])


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
            "0.15,0.6",
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
    from yaan_sim.scenario.fixed import FixedScenario

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
