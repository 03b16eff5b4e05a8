"""The fit itself (analysis/calibrate.py) on small problems worked out by hand.

The fitted constant is mostly the parks' share of the city's industrial output ``s``:
the city's figure is ``C_y / s`` (``C_y`` = 0.6 times the parks' revenue, from
tests/support/ledger.py), so on the log scale every residual is linear in ``log s`` and
the least-squares answer, its standard error and the Birge ratio have closed forms.
``scipy.optimize.least_squares`` is wrapped (passed through, its arguments and the
residual and Jacobian functions it is given recorded); ``_best_start`` is driven by a
problem whose runs are its parameter rows (no model).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np
import pytest
from scipy.stats import qmc

from tests.support.ledger import (
    CALIB_MDL,
    INDUSTRIAL_SHARE,
    euler_revenue,
    write_ledger,
    year_total,
)
from yaan_sim.analysis.calibrate import _best_start, calibrate, setup
from yaan_sim.analysis.calibrate_params import Prior
from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import read_ledger

SHARE = "Park share of city output"
H = 0.05  # the observation error of a level of confidence H (log scale)


@pytest.fixture(scope="module")
def calib():
    import yaan_sim as ys

    return ys.load_model(CALIB_MDL)


def parks_output(year: int) -> float:
    """C_y: the parks' industrial output in ``year`` (the city's figure times s)."""
    total = 0.0
    for park in ("ETDZ", "Hanyuan"):
        t, v = euler_revenue(park)
        total += year_total(t, v, year)
    return INDUSTRIAL_SHARE * total


def city(year: int, value: float, conf: str = "H") -> dict:
    return {
        "id": f"c-{year}",
        "variable": "industrial_output",
        "scope_kind": "city",
        "scope": "Ya'an",
        "period": year,
        "value": repr(value),
        "confidence": conf,
    }


def ledger_of(tmp_path, rows):
    write_ledger(tmp_path, rows)
    return read_ledger(tmp_path)


class Recorder:
    """least_squares passed through, with what calibrate gives it."""

    def __init__(self, monkeypatch):
        import scipy.optimize

        self.real = scipy.optimize.least_squares
        self.calls: list = []
        self.fun_calls = 0
        self.jac_calls = 0
        monkeypatch.setattr(scipy.optimize, "least_squares", self)

    def __call__(self, fun, x0, **kw):
        self.fun, self.jac, self.x0, self.kw = fun, kw["jac"], np.array(x0), kw

        def counted_fun(x):
            self.fun_calls += 1
            return fun(x)

        def counted_jac(x):
            self.jac_calls += 1
            return kw["jac"](x)

        self.sol = self.real(counted_fun, x0, **{**kw, "jac": counted_jac})
        return self.sol


def test_a_fit_to_three_figures_that_disagree_by_hand(calib, tmp_path, monkeypatch):
    """2015 at 0.7's value times e^0.1, 2016 times e^-0.1, 2017 at it (all H), 2019 held
    out: log s is the mean, s = 0.7; residuals -2, +2 and 0, chi2 8 on 2 degrees of
    freedom, Birge ratio 2; se = s * 0.05 / sqrt(3) * 2."""
    rows = [
        city(2015, parks_output(2015) / 0.7 * math.exp(0.1)),
        city(2016, parks_output(2016) / 0.7 * math.exp(-0.1)),
        city(2017, parks_output(2017) / 0.7),
        city(2019, parks_output(2019) / 0.7),
    ]
    se = 0.7 * H / math.sqrt(3) * 2
    rec = Recorder(monkeypatch)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    res = calibrate(calib, ledger_of(tmp_path, rows), [SHARE], x0=[0.9])
    after = dt.datetime.now(dt.UTC)

    # what least_squares was given
    assert rec.x0.tolist() == [0.9]
    lo, hi = rec.kw["bounds"]
    assert lo.tolist() == [0.5] and hi.tolist() == [1.0]
    assert {k: v for k, v in rec.kw.items() if k not in ("jac", "bounds")} == {
        "method": "trf",
        "x_scale": "jac",
        "xtol": 1e-10,
        "ftol": 1e-12,
        "gtol": 1e-10,
        "max_nfev": 200,
    }
    # its residuals: (log(C/s) - log(observed)) / 0.05 = (log(0.7 / s) -+ 0.1) / 0.05
    np.testing.assert_allclose(
        rec.fun(np.array([0.8])),
        [
            (math.log(0.7 / 0.8) - 0.1) / H,
            (math.log(0.7 / 0.8) + 0.1) / H,
            math.log(0.7 / 0.8) / H,
        ],
        rtol=1e-9,
    )
    # a run that goes negative (s < 0) has no log: 1e6 stands for its residuals
    assert rec.fun(np.array([-0.5])).tolist() == [1e6, 1e6, 1e6]
    # the Jacobian: a forward step of 1e-6 of the range (0.5) where it ends inside the
    # range (also exactly on the bound), else backward. The forward and backward
    # quotients differ by about step / s = 5e-7 relatively; the runs agree to about 1e-9.
    step = 1e-6 * 0.5
    assert (1.0 - step) + step == 1.0
    for s, s2 in (
        (0.8, 0.8 + step),
        (1.0 - step, 1.0),
        (1.0, 1.0 - step),
        (1.0 - step / 2, 1.0 - 1.5 * step),
    ):
        d = (math.log(s) - math.log(s2)) / H / (s2 - s)
        got = rec.jac(np.array([s]))
        assert got.shape == (3, 1)
        np.testing.assert_allclose(got[:, 0], [d, d, d], rtol=5e-8)

    p = res.params.iloc[0]
    assert list(res.params.columns) == [
        "label",
        "name",
        "elements",
        "units",
        "prior",
        "lever",
        "start",
        "value",
        "se",
        "ci_low",
        "ci_high",
        "min",
        "max",
        "at_bound",
        "informed",
        "identified",
    ]
    assert (p["label"], p["name"], p["elements"], p["units"]) == (SHARE, SHARE, "", "Dmnl")
    assert p["prior"] == "uniform on [0.5, 1]" and not p["lever"]
    assert (p["start"], p["min"], p["max"]) == (0.9, 0.5, 1.0)
    assert p["value"] == pytest.approx(0.7, rel=1e-7)
    assert p["se"] == pytest.approx(se, rel=1e-5)
    assert p["ci_low"] == pytest.approx(0.7 - 1.96 * se, rel=1e-5)
    assert p["ci_high"] == pytest.approx(0.7 + 1.96 * se, rel=1e-5)
    assert not p["at_bound"] and p["informed"] and p["identified"]
    assert res.correlation.index.tolist() == [SHARE] == res.correlation.columns.tolist()
    assert res.correlation.values.tolist() == [[1.0]]

    st = res.stats
    assert (st["n_fit"], st["n_held_out"], st["n_params"], st["dof"]) == (3, 1, 1, 2)
    assert st["chi2"] == pytest.approx(8, rel=1e-7)
    assert st["chi2_dof"] == pytest.approx(4, rel=1e-7)
    assert st["birge"] == pytest.approx(2, rel=1e-7)
    assert st["cost"] == pytest.approx(4, rel=1e-7)
    assert st["success"] is True and st["message"] == str(rec.sol.message)
    assert st["nfev"] == rec.sol.nfev and isinstance(st["nfev"], int)
    # no start draws (x0 given): each residual and Jacobian call of the fit, then one
    # call for the start and the fitted value together and one for the last Jacobian
    assert st["engine_calls"] == rec.fun_calls + rec.jac_calls + 2
    assert st["runs"] == rec.fun_calls + 2 * rec.jac_calls + 2 + 2
    assert 0 < st["seconds"] < (after - before).total_seconds() + 1
    assert list(st) == [
        "n_fit",
        "n_held_out",
        "n_params",
        "dof",
        "chi2",
        "chi2_dof",
        "birge",
        "cost",
        "success",
        "message",
        "nfev",
        "engine_calls",
        "runs",
        "seconds",
    ]

    tab = res.table.set_index("id")
    for year in (2015, 2016, 2017, 2019):
        assert tab.loc[f"c-{year}", "simulated"] == pytest.approx(
            parks_output(year) / 0.7, rel=1e-7
        )
        assert tab.loc[f"c-{year}", "simulated_start"] == pytest.approx(
            parks_output(year) / 0.9, rel=1e-9
        )
    assert set(res.series["role"]) == {"fit", "held-out"}

    info = res.info
    created = dt.datetime.fromisoformat(info.pop("created_utc"))
    assert before <= created <= after and created.utcoffset() == dt.timedelta(0)
    assert created.microsecond == 0
    csv = (tmp_path / "test.csv").read_bytes()
    assert info == {
        "model_file": "calib_parks.mdl",
        "model_sha256": hashlib.sha256(CALIB_MDL.read_bytes()).hexdigest(),
        "ledger_sha256": hashlib.sha256(csv).hexdigest(),
        "cutoff": 2017,
        "horizon": [2013.0, 2020.0, 0.0625, 0.0625],
        "scenario": None,
        "scenario_sha256": None,
        "obs_errors": {
            "level": {"H": 0.05, "M": 0.1, "L": 0.25},
            "growth": {"H": 1.0, "M": 2.0, "L": 5.0},
        },
        "model_error": 0.0,
        "engine": "vector",
    }


def test_the_birge_ratio_is_1_unless_the_misfit_exceeds_the_errors(calib, tmp_path):
    """A misfit of e^+-0.01 (residuals -+0.2, chi2 0.08 on 1 dof): the ratio is 1 and
    se = 0.7 * 0.05 / sqrt(2). One figure (0 dof): chi2 / dof is NaN, the ratio 1 and
    se = 0.7 * 0.05."""
    rows = [
        city(2015, parks_output(2015) / 0.7 * math.exp(0.01)),
        city(2016, parks_output(2016) / 0.7 * math.exp(-0.01)),
    ]
    res = calibrate(calib, ledger_of(tmp_path / "a", rows), [SHARE], starts=0)
    assert res.stats["chi2"] == pytest.approx(0.08, rel=1e-6)
    assert res.stats["chi2_dof"] == pytest.approx(0.08, rel=1e-6)
    assert res.stats["birge"] == 1.0
    assert res.params["se"].iloc[0] == pytest.approx(0.7 * H / math.sqrt(2), rel=1e-5)

    one = calibrate(calib, ledger_of(tmp_path / "b", rows[:1]), [SHARE], starts=0)
    st = one.stats
    assert (st["n_fit"], st["n_held_out"], st["dof"]) == (1, 0, 0)
    assert math.isnan(st["chi2_dof"]) and st["birge"] == 1.0
    assert one.params["value"].iloc[0] == pytest.approx(0.7 * math.exp(-0.01), rel=1e-7)
    assert one.params["se"].iloc[0] == pytest.approx(0.7 * math.exp(-0.01) * H, rel=1e-5)


def test_a_fit_at_a_bound_clips_its_interval_there(calib, tmp_path):
    """The figures ask for s = 1.2, above the range [0.5, 1]: the fit stops at 1, flagged
    at its bound, its interval clipped to 1 above; se = log(1.2) (residuals log(1.2)/0.05
    each, so the Birge ratio is sqrt(2) log(1.2) / 0.05). Asking for s = 0.4 clips the
    interval to 0.5 below."""
    rows = [city(y, parks_output(y) / 1.2) for y in (2015, 2016)]
    res = calibrate(calib, ledger_of(tmp_path / "hi", rows), [SHARE], starts=0)
    p = res.params.iloc[0]
    assert p["value"] == pytest.approx(1.0, abs=1e-9)
    assert p["at_bound"] and p["ci_high"] == 1.0
    assert p["se"] == pytest.approx(math.log(1.2), rel=1e-4)
    assert p["ci_low"] == pytest.approx(1 - 1.96 * math.log(1.2), rel=1e-4)

    rows = [city(y, parks_output(y) / 0.4) for y in (2015, 2016)]
    low = calibrate(calib, ledger_of(tmp_path / "lo", rows), [SHARE], starts=0).params.iloc[0]
    assert low["value"] == pytest.approx(0.5, abs=1e-9)
    assert low["at_bound"] and low["ci_low"] == 0.5
    assert low["se"] == pytest.approx(0.5 * math.log(1.25), rel=1e-4)


def test_two_parameters_the_figures_separate(calib, tmp_path):
    """ETDZ's and Hanyuan's growth rates, each fitted to its own park's revenue (exact
    figures for 0.15 and 0.25): recovered, uncorrelated, labels on both axes."""
    rows = []
    for park, g in (("ETDZ", 0.15), ("Hanyuan", 0.25)):
        t, v = euler_revenue(park, growth=g)
        rows += [
            {
                "id": f"{park.lower()}-{y}",
                "scope": park,
                "period": y,
                "value": repr(year_total(t, v, y)),
            }
            for y in (2015, 2016)
        ]
    labels = ["Growth rate[ETDZ]", "Growth rate[Hanyuan]"]
    res = calibrate(calib, ledger_of(tmp_path, rows), ["Growth rate"], starts=0)
    assert res.params["label"].tolist() == labels
    assert res.params["elements"].tolist() == ["ETDZ", "Hanyuan"]
    assert res.params["start"].tolist() == [0.1, 0.2]
    np.testing.assert_allclose(res.params["value"], [0.15, 0.25], rtol=1e-6)
    assert res.correlation.index.tolist() == labels == res.correlation.columns.tolist()
    np.testing.assert_allclose(res.correlation.values, np.eye(2), atol=1e-9)


def test_start_values_given_are_checked_word_for_word(calib, tmp_path):
    led = ledger_of(tmp_path, [city(2015, parks_output(2015) / 0.7)])
    two = ["Growth rate[ETDZ]", SHARE]
    with pytest.raises(YaanSimError) as err:
        calibrate(calib, led, two, x0=[0.1])
    assert str(err.value) == (
        "x0 needs 2 values, one per parameter (Growth rate[ETDZ], Park share of city output)"
    )
    with pytest.raises(YaanSimError) as err:
        calibrate(calib, led, [SHARE], x0=[[0.7]])
    assert str(err.value) == "x0 needs 1 values, one per parameter (Park share of city output)"
    for bad in ([0.1, 0.4], [0.6, 0.7], [-0.1, 1.01]):
        with pytest.raises(YaanSimError) as err:
            calibrate(calib, led, two, x0=bad)
        assert str(err.value) == (
            "x0 must lie inside the parameters' ranges: Growth rate[ETDZ] [0, 0.5], "
            "Park share of city output [0.5, 1]"
        )
    # the bounds themselves are inside, and whole numbers are read as numbers
    for x0 in ([0.5], [1]):
        res = calibrate(calib, led, [SHARE], x0=x0)
        assert res.params["start"].tolist() == [float(x0[0])]
        assert res.params["value"].iloc[0] == pytest.approx(0.7, rel=1e-7)


def test_the_seed_must_be_a_whole_number_and_defaults_to_0(calib, tmp_path, monkeypatch):
    led = ledger_of(tmp_path, [city(2015, parks_output(2015) / 0.7)])
    with pytest.raises(YaanSimError) as err:
        calibrate(calib, led, [SHARE], seed=-1)
    assert str(err.value) == (
        "seed must be a whole number >= 0 (numpy's generators need one), got -1"
    )
    rec = Recorder(monkeypatch)
    calibrate(calib, led, [SHARE], starts=3, seed=None)
    none = rec.x0
    calibrate(calib, led, [SHARE], starts=3, seed=0)
    assert rec.x0.tolist() == none.tolist()
    calibrate(calib, led, [SHARE], starts=3, seed=5)
    assert rec.x0.tolist() != none.tolist()


def test_the_start_is_the_best_of_the_mdls_values_and_the_draws(calib, tmp_path, monkeypatch):
    """Through calibrate: 4 draws of seed 2 besides the .mdl's 0.8, on the one figure
    (at s = 0.55): the start is the candidate nearest 0.55 on the log scale."""
    led = ledger_of(tmp_path, [city(2015, parks_output(2015) / 0.55)])
    u = qmc.LatinHypercube(d=1, rng=np.random.default_rng(2)).random(4)[:, 0]
    candidates = np.concatenate([[0.8], 0.5 + 0.5 * u])
    best = candidates[np.argmin(np.abs(np.log(candidates / 0.55)))]
    rec = Recorder(monkeypatch)
    res = calibrate(calib, led, [SHARE], starts=4, seed=2)
    assert rec.x0.tolist() == [pytest.approx(best, rel=1e-12)]
    assert res.params["start"].iloc[0] == pytest.approx(best, rel=1e-12)
    assert best != 0.8
    # one engine call for the 5 candidates besides the fit's
    assert res.stats["engine_calls"] == rec.fun_calls + rec.jac_calls + 3
    assert res.stats["runs"] == 5 + rec.fun_calls + 2 * rec.jac_calls + 4


class _Stub:
    """A problem whose run of a row is the row itself, its residuals the distance from
    ``target`` (NaN rows where ``bad`` says so)."""

    def __init__(self, target, bad=lambda X: np.zeros(len(X), bool)):
        self.params = [
            type("P", (), {"prior": Prior("uniform", 0.0, 1.0)})(),
            type("P", (), {"prior": Prior("loguniform", 1.0, 100.0)})(),
        ]
        self.target, self.bad, self.seen = np.array(target), bad, []

    def simulate(self, X):
        self.seen.append(np.array(X))
        return np.array(X, dtype=float)

    def residuals(self, sim):
        r = sim - self.target
        r[self.bad(sim)] = np.nan
        return r


def draws(n, seed):
    u = qmc.LatinHypercube(d=2, rng=np.random.default_rng(seed)).random(n)
    return np.column_stack([u[:, 0], np.exp(u[:, 1] * math.log(100.0))])


def test_best_start_by_hand():
    """The candidates are the defaults, then ``starts`` Latin-hypercube draws of the
    priors (seeded); the one of least squared residuals wins; NaN costs never do."""
    defaults = np.array([0.5, 10.0])
    pb = _Stub([0.3, 20.0])
    got = _best_start(pb, defaults, 6, 4)
    X = np.vstack([defaults, draws(6, 4)])
    assert len(pb.seen) == 1
    np.testing.assert_allclose(pb.seen[0], X, rtol=1e-12)
    cost = np.sum((X - [0.3, 20.0]) ** 2, axis=1)
    np.testing.assert_allclose(got, X[np.argmin(cost)], rtol=1e-12)
    assert np.argmin(cost) != 0
    # another seed, other draws; a count given as a float
    pb = _Stub([0.3, 20.0])
    _best_start(pb, defaults, 3.0, 5)
    np.testing.assert_allclose(pb.seen[0], np.vstack([defaults, draws(3, 5)]), rtol=1e-12)
    # the defaults when they fit best
    assert _best_start(_Stub(defaults), defaults, 6, 4).tolist() == [0.5, 10.0]
    # a NaN cost (here the defaults') is never the best, however small the others' lack
    pb = _Stub([0.5, 10.0], bad=lambda X: X[:, 0] == 0.5)
    got = _best_start(pb, defaults, 6, 4)
    cost = np.sum((X - [0.5, 10.0]) ** 2, axis=1)
    np.testing.assert_allclose(got, X[1:][np.argmin(cost[1:])], rtol=1e-12)
    # every cost NaN: the defaults
    pb = _Stub([0.5, 10.0], bad=lambda X: np.ones(len(X), bool))
    assert _best_start(pb, defaults, 6, 4) is defaults
    # one draw is a draw
    pb = _Stub([0.3, 20.0])
    _best_start(pb, defaults, 1, 4)
    np.testing.assert_allclose(pb.seen[0], np.vstack([defaults, draws(1, 4)]), rtol=1e-12)
    # no draws: the defaults, nothing run
    pb = _Stub([0.3, 20.0])
    assert _best_start(pb, defaults, 0, 4) is defaults and pb.seen == []
    assert _best_start(pb, defaults, -1, 4) is defaults and pb.seen == []


def test_setup_reads_its_options(calib, tmp_path):
    """The matched figures on the model's horizon saved every step, up to the cut-off (an
    integer); the observation errors, model error, engine, scenario and seasonal factors
    reach the problem."""
    from yaan_sim.scenario.fixed import FixedScenario

    rows = [
        city(2015, 150.0),
        city(2016, 160.0, conf="M"),
        {"id": "q", "period": "2015Q2", "value": 30, "confidence": "L"},
    ]
    led = ledger_of(tmp_path, rows)
    pb = setup(calib, led, [SHARE])
    h = calib.default_horizon
    assert (pb.h.start, pb.h.stop, pb.h.step, pb.h.saveper) == (h.start, h.stop, h.step, h.step)
    # a .mdl that saves once a year is still run and measured every step
    import yaan_sim as ys

    text = CALIB_MDL.read_text(encoding="utf-8")
    assert "SAVEPER  = \n        TIME STEP" in text
    (tmp_path / "yearly.mdl").write_text(
        text.replace("SAVEPER  = \n        TIME STEP", "SAVEPER  = 1"), encoding="utf-8"
    )
    yearly = ys.load_model(tmp_path / "yearly.mdl")
    assert yearly.default_horizon.saveper == 1
    assert setup(yearly, led, [SHARE]).h.saveper == 0.0625
    assert pb.obs.cutoff == 2017 and [o.role for o in pb.items] == ["fit"] * 3
    assert pb.labels == [SHARE] and pb.engine == "vector" and pb.model_error == 0.0
    assert pb.scenario is None
    pb = setup(calib, led, [SHARE], cutoff=2015.0)
    assert pb.obs.cutoff == 2015 and type(pb.obs.cutoff) is int
    assert [o.role for o in pb.items] == ["fit", "held-out", "fit"]
    fixed = FixedScenario("fixed", {})
    pb = setup(
        calib,
        led,
        [SHARE],
        scenario=fixed,
        engine="pysd",
        obs_errors={"level": {"M": 0.2}},
        model_error=0.1,
        seasonal=True,
    )
    assert pb.labels == [SHARE, "seasonal[Q2]"]
    assert pb.engine == "pysd" and pb.model_error == 0.1 and pb.scenario is fixed
    np.testing.assert_allclose(
        pb.sigma, [math.hypot(0.05, 0.1), math.hypot(0.2, 0.1), math.hypot(0.25, 0.1)]
    )
    with pytest.raises(YaanSimError) as err:
        setup(calib, led, [SHARE], cutoff=2014)
    assert str(err.value) == (
        "no ledger figure can be fitted: none is matched to a model variable with a period "
        "ending by 2014 (run `yaan-sim backtest --all` to see why each row is not comparable)"
    )


def test_the_fit_takes_its_options_to_the_problem(calib, tmp_path):
    """A scenario with the industrial share at 0.45 (the figure is 0.6's at s = 0.7): s =
    0.7 * 0.45 / 0.6 = 0.525, the scenario recorded. An error of 0.1 for H: se = s * 0.1.
    Seasonal factors when asked for."""
    import xarray as xr

    from yaan_sim.scenario.fixed import FixedScenario

    rows = [city(2015, parks_output(2015) / 0.7), {"id": "q", "period": "2015Q2", "value": 30}]
    led = ledger_of(tmp_path, rows)
    fixed = FixedScenario("fixed", {"Industrial share": xr.DataArray(0.45)}, sha256="ab" * 32)
    res = calibrate(
        calib,
        led,
        [SHARE],
        scenario=fixed,
        x0=[0.9],
        model_error=0.1,
        cutoff=2016,
        obs_errors={"level": {"H": 0.1}},
    )
    assert res.params["value"].iloc[0] == pytest.approx(0.525, rel=1e-7)
    assert res.params["se"].iloc[0] == pytest.approx(0.525 * math.hypot(0.1, 0.1), rel=1e-5)
    assert res.info["scenario"] == "fixed" and res.info["scenario_sha256"] == "ab" * 32
    assert res.info["model_error"] == 0.1 and res.info["cutoff"] == 2016
    assert res.info["obs_errors"]["level"] == {"H": 0.1, "M": 0.1, "L": 0.25}
    seasonal = calibrate(calib, led, [SHARE], x0=[0.7, 1.0], seasonal=True)
    assert seasonal.params["label"].tolist() == [SHARE, "seasonal[Q2]"]
    assert seasonal.params["start"].tolist() == [0.7, 1.0]


def test_the_fit_runs_on_the_engine_named(calib, tmp_path):
    led = ledger_of(tmp_path, [city(2015, parks_output(2015) / 0.7)])
    pysd = calibrate(calib, led, [SHARE], x0=[0.7], engine="pysd")
    assert pysd.info["engine"] == "pysd"
    assert pysd.params["value"].iloc[0] == pytest.approx(0.7, rel=1e-6)


def test_by_default_64_draws_of_seed_0_and_no_seasonal_factors(calib, tmp_path, monkeypatch):
    """calibrate's defaults: the start is the best of the .mdl's 0.8 and 64 draws of seed
    0 (not 63 or 65 draws, not seed 1), and a quarterly figure gets no seasonal factor
    unless asked for."""
    rows = [
        city(2015, parks_output(2015) / 0.55),
        {"id": "q", "period": "2015Q2", "value": 30},
    ]
    led = ledger_of(tmp_path, rows)

    def best(n, seed):
        u = qmc.LatinHypercube(d=1, rng=np.random.default_rng(seed)).random(n)[:, 0]
        candidates = np.concatenate([[0.8], 0.5 + 0.5 * u])
        return candidates[np.argmin(np.abs(np.log(candidates / 0.55)))]

    assert len({best(64, 0), best(63, 0), best(65, 0), best(64, 1)}) == 4
    rec = Recorder(monkeypatch)
    res = calibrate(calib, led, [SHARE])
    assert res.params["label"].tolist() == [SHARE]
    assert rec.x0.tolist() == [pytest.approx(best(64, 0), rel=1e-12)]
    assert res.stats["runs"] == 65 + rec.fun_calls + 2 * rec.jac_calls + 4


class _Answer:
    """least_squares replaced by a fixed answer: the fitted point ``x`` and its report."""

    def __init__(self, monkeypatch, x):
        import scipy.optimize

        self.x = np.array(x, dtype=float)
        monkeypatch.setattr(scipy.optimize, "least_squares", self)

    def __call__(self, fun, x0, **kw):
        from types import SimpleNamespace

        return SimpleNamespace(x=self.x, cost=1.5, success=False, message="stopped", nfev=7)


def test_at_bound_means_within_1e_7_of_the_range(calib, tmp_path, monkeypatch):
    """The optimiser's answer placed by hand: a growth rate shared by both parks (range
    [0, 0.5], so within 5e-8 of a bound is at it) and the parks' share (range [0.5, 1]);
    the optimiser's report passes to the stats as it is."""
    rows = [
        {"id": "e-2015", "period": 2015, "value": 120},
        city(2015, parks_output(2015) / 0.7),
    ]
    led = ledger_of(tmp_path, rows)
    params = ["Growth rate[ETDZ+Hanyuan]", SHARE]
    cases = [
        ([5e-8, 1 - 1e-7], [True, False]),  # 5e-8 is exactly 1e-7 * 0.5
        ([1e-7, 1 - 4e-8], [False, True]),
        ([0.5 - 4e-8, 0.5 + 1e-7], [True, False]),
        ([0.5 - 1e-7, 0.5 + 4e-8], [False, True]),
    ]
    for x, flags in cases:
        _Answer(monkeypatch, x)
        res = calibrate(calib, led, params, x0=[0.1, 0.8])
        assert res.params["value"].tolist() == x
        assert res.params["at_bound"].tolist() == flags, x
    assert res.params["elements"].tolist() == ["ETDZ+Hanyuan", ""]
    st = res.stats
    assert (st["cost"], st["success"], st["message"], st["nfev"]) == (1.5, False, "stopped", 7)


def test_start_values_given_as_whole_numbers_are_read_as_floats(calib, tmp_path):
    led = ledger_of(tmp_path, [city(2015, parks_output(2015) / 0.7)])
    res = calibrate(calib, led, [SHARE], x0=[1])
    assert res.params["start"].dtype == np.float64 and res.params["start"].tolist() == [1.0]


def test_at_bound_includes_exactly_1e_7_of_the_range_below_the_upper_bound(
    calib, tmp_path, monkeypatch
):
    """A growth rate on [-0.5, 0], so that 5e-8 below the upper bound is a float exactly
    1e-7 of the range from it (on [0.5, 1] no float is): at its bound."""
    import yaan_sim as ys

    text = CALIB_MDL.read_text(encoding="utf-8")
    (tmp_path / "negative.mdl").write_text(
        text.replace("1/Year [0,0.5]", "1/Year [-0.5,0]"), encoding="utf-8"
    )
    negative = ys.load_model(tmp_path / "negative.mdl")
    led = ledger_of(tmp_path, [{"id": "e-2015", "period": 2015, "value": 120}])
    assert 0.0 - (-5e-8) == 1e-7 * 0.5
    _Answer(monkeypatch, [-5e-8])
    res = calibrate(negative, led, ["Growth rate[ETDZ]"], x0=[-0.1])
    assert res.params["at_bound"].tolist() == [True]
    _Answer(monkeypatch, [-6e-8])
    assert calibrate(negative, led, ["Growth rate[ETDZ]"], x0=[-0.1]).params[
        "at_bound"
    ].tolist() == [False]
