"""Calibration: fit the constants the data can inform to every matched ledger figure at once.

Example::

    from yaan_sim.analysis.calibrate import calibrate
    res = calibrate(model)          # the .mdl's `calibrate:` constants, the whole ledger
    res.params                      # value, standard error, 95 % interval, prior, range
    res.series                      # per series: RMSE, MAPE, Theil split, in-sample and held out
    res.write_yaml("out/calibrated.yaml")

What is fitted. The constants whose .mdl comment has a ``calibrate:`` field (or those
named in ``params``). The field gives the prior and, for a subscripted constant, which
elements are fitted::

    calibrate: uniform                  every element its own parameter, uniform on [min,max]
    calibrate: loguniform [ETDZ]        only ETDZ; uniform in log (needs min > 0)
    calibrate: normal(0.1, 0.03) [ETDZ, Hanyuan]   two parameters, normal truncated to [min,max]
    calibrate: triangular(0.1) [ETDZ+Hanyuan]      one value shared by both parks

The same ``Name[ETDZ, Hanyuan+Shimian]`` syntax names parameters on the command line. It
is the lever-spec syntax of :func:`yaan_sim.model.levers.parse_lever_spec` (any case,
"did you mean", range names such as ``East``) with one extension, ``+``: elements (or
ranges) joined by ``+`` share one value; those separated by commas, and the elements of a
range given alone, are fitted separately.

To what. Every ledger row matched to a model variable (:mod:`yaan_sim.analysis.backtest`)
whose role is ``fit``: its period ends by the cut-off year (default 2017); later figures
are held out and their error is reported beside the in-sample one. Each residual is
scaled by the figure's observation error (``OBS_ERRORS`` of the back-test module, by
confidence H/M/L): levels and shares on the log scale, growth rates in points, so a
high-confidence figure weighs more and a 10 % miss counts the same on 100亿 and 1000亿.

How. ``scipy.optimize.least_squares`` (trust-region reflective, bounded by each
constant's range) on the scaled residuals, from the best of ``starts`` prior draws
(all run in one vector-engine call) and the .mdl's values. The Jacobian's runs go to
the vector engine in one call. Standard errors come from ``(J'J)^-1`` of the scaled
residuals (the stated observation errors), inflated by ``sqrt(chi2 / dof)`` where the
misfit is larger than those errors allow (the Birge ratio): the data are then less
precise than claimed, or the model misses something. A parameter the data do not move
(a zero column of J) is reported as ``informed: False`` with an infinite error.

Theil's inequality statistics (Sterman 1984): MSE = (mean_s - mean_a)^2 + (sd_s - sd_a)^2
+ 2 (1 - r) sd_s sd_a, split into ``U_M`` (bias), ``U_S`` (unequal variation) and ``U_C``
(unequal covariation), which sum to 1.
"""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np
import pandas as pd

from yaan_sim.analysis.calibrate_params import (
    parse_params,
    seasonal_params,
)
from yaan_sim.analysis.calibrate_problem import Problem
from yaan_sim.analysis.calibrate_result import CalibrationResult
from yaan_sim.analysis.calibrate_stats import (
    compared_table,
    identified_covariance,
    series_statistics,
)
from yaan_sim.errors import YaanSimError

# ------------------------------------------------------------------ the fit


def setup(
    model,
    ledger=None,
    params=None,
    *,
    scenario=None,
    cutoff=None,
    engine="auto",
    obs_errors=None,
    model_error=0.0,
    seasonal=False,
) -> Problem:
    """The calibration problem: parameters, matched figures on the model's finest grid."""
    from yaan_sim.analysis.backtest_observations import DEFAULT_CUTOFF, observations
    from yaan_sim.model.load import Horizon

    h = model.default_horizon
    run_h = Horizon(h.start, h.stop, h.step, h.step)  # the measures integrate every step
    obs = observations(
        model,
        ledger,
        cutoff=DEFAULT_CUTOFF if cutoff is None else int(cutoff),
        horizon=run_h,
        obs_errors=obs_errors,
    )
    ps = parse_params(params, model, scenario)
    if seasonal:
        ps += seasonal_params(obs)
    if not obs.of_role("fit"):
        raise YaanSimError(
            f"no ledger figure can be fitted: none is matched to a model variable with a "
            f"period ending by {obs.cutoff} (run `yaan-sim backtest --all` to see why each "
            "row is not comparable)"
        )
    return Problem(model, ps, obs, scenario, engine, model_error)


def calibrate(
    model,
    ledger=None,
    params=None,
    *,
    scenario=None,
    cutoff=None,
    x0=None,
    engine: str = "auto",
    obs_errors=None,
    model_error: float = 0.0,
    seasonal: bool = False,
    starts: int = 64,
    seed: int = 0,
) -> CalibrationResult:
    """Fit parameters to every matched ledger figure whose period ends by ``cutoff``.

    Parameters
    ----------
    model : YaanModel
    ledger : Ledger, optional
        Default: models/data/ledger.
    params : sequence of str, optional
        ``"Name"`` or ``"Name[ETDZ, A+B]"``; default: the .mdl's ``calibrate:`` constants.
    scenario : Scenario, optional
        Levers in force during the fit (default: the .mdl's values).
    cutoff : int, optional
        Last year of the fit (default 2017); later figures are held out.
    x0 : sequence of float, optional
        Start values (default: the best of ``starts`` prior draws and the .mdl's values).
    obs_errors : dict, optional
        Replace entries of the observation errors by confidence.
    model_error : float
        Model discrepancy on the log scale, added in quadrature (default 0).
    seasonal : bool
        Also fit a seasonal factor per sub-year period form (Q1, H1, ...).
    starts : int
        Prior draws (Latin hypercube, seeded) run in one call to choose the start.
    """
    import time

    from scipy.optimize import least_squares

    from yaan_sim.engines.prerun import check_seed

    seed = check_seed(seed) or 0  # a clear error for a negative seed, not numpy's
    t0 = time.perf_counter()
    pb = setup(
        model,
        ledger,
        params,
        scenario=scenario,
        cutoff=cutoff,
        engine=engine,
        obs_errors=obs_errors,
        model_error=model_error,
        seasonal=seasonal,
    )
    lo, hi = pb.lo, pb.hi
    k = len(pb.params)
    defaults = np.array([p.x0 for p in pb.params])
    if x0 is not None:
        start = np.asarray(x0, dtype=float)
        if start.shape != (k,):
            raise YaanSimError(f"x0 needs {k} values, one per parameter ({', '.join(pb.labels)})")
        if np.any(start < lo) or np.any(start > hi):
            raise YaanSimError(
                "x0 must lie inside the parameters' ranges: "
                + ", ".join(f"{p.label} [{p.lo:g}, {p.hi:g}]" for p in pb.params)
            )
    else:
        start = _best_start(pb, defaults, starts, seed)

    def fun(x):
        r = pb.residuals(pb.simulate(x))[0]
        return np.where(np.isfinite(r), r, 1e6)

    steps = 1e-6 * np.maximum(hi - lo, 1e-12)

    def jac(x):
        sgn = np.where(x + steps <= hi, 1.0, -1.0)
        X = np.vstack([x] + [x + sgn[j] * steps[j] * np.eye(k)[j] for j in range(k)])
        R = pb.residuals(pb.simulate(X))
        return ((R[1:] - R[0]) / (sgn * steps)[:, None]).T

    sol = least_squares(
        fun,
        start,
        jac=jac,
        bounds=(lo, hi),
        method="trf",
        x_scale="jac",
        xtol=1e-10,
        ftol=1e-12,
        gtol=1e-10,
        max_nfev=200,
    )
    x = sol.x
    sims = pb.simulate(np.vstack([start, x]))
    r = pb.residuals(sims[1:])[0]
    J = jac(x)
    m = len(pb.fit_idx)
    dof = m - k
    chi2 = float(r @ r)
    chi2_dof = chi2 / dof if dof > 0 else math.nan
    birge = math.sqrt(chi2_dof) if dof > 0 and chi2_dof > 1 else 1.0
    informed = np.linalg.norm(J, axis=0) > 1e-8
    identified, cov = identified_covariance(J, informed, birge)
    se = np.where(identified, np.sqrt(np.clip(np.diag(cov), 0, None)), np.inf)
    se = np.where(np.isnan(se), np.inf, se)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    tol = 1e-7 * (hi - lo)
    at_bound = (np.abs(x - lo) <= tol) | (np.abs(hi - x) <= tol)
    params_table = pd.DataFrame(
        {
            "label": pb.labels,
            "name": [p.name for p in pb.params],
            "elements": ["+".join(p.elements) for p in pb.params],
            "units": [p.units for p in pb.params],
            "prior": [p.prior.text() for p in pb.params],
            "lever": [p.is_lever for p in pb.params],
            "start": start,
            "value": x,
            "se": se,
            "ci_low": np.maximum(x - 1.96 * se, lo),
            "ci_high": np.minimum(x + 1.96 * se, hi),
            "min": lo,
            "max": hi,
            "at_bound": at_bound,
            "informed": informed,
            "identified": identified,
        }
    )
    table = compared_table(pb, sims[1], sims[0])
    series = series_statistics(table)
    stats = {
        "n_fit": m,
        "n_held_out": int(sum(o.role == "held-out" for o in pb.items)),
        "n_params": k,
        "dof": dof,
        "chi2": chi2,
        "chi2_dof": chi2_dof,
        "birge": birge,
        "cost": float(sol.cost),
        "success": bool(sol.success),
        "message": str(sol.message),
        "nfev": int(sol.nfev),
        "engine_calls": pb.calls,
        "runs": pb.runs,
        "seconds": time.perf_counter() - t0,
    }
    return CalibrationResult(
        params_table,
        stats,
        series,
        table,
        pd.DataFrame(corr, index=pb.labels, columns=pb.labels),
        _info(pb, model, scenario),
    )


def _info(pb: Problem, model, scenario) -> dict:
    return {
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model_file": model.mdl_path.name,
        "model_sha256": model.mdl_sha256,
        "ledger_sha256": pb.obs.ledger_sha256,
        "cutoff": pb.obs.cutoff,
        "horizon": [pb.h.start, pb.h.stop, pb.h.step, pb.h.saveper],
        "scenario": getattr(scenario, "name", None),
        "scenario_sha256": getattr(scenario, "sha256", None),
        "obs_errors": pb.obs.obs_errors,
        "model_error": pb.model_error,
        "engine": pb.engine,
    }


def _best_start(pb: Problem, defaults: np.ndarray, starts: int, seed: int) -> np.ndarray:
    """The lowest-cost of the .mdl's values and ``starts`` Latin-hypercube prior draws."""
    if starts <= 0:
        return defaults
    from scipy.stats import qmc

    from yaan_sim.analysis.sampling import qmc_engine

    u = qmc_engine(qmc.LatinHypercube, len(pb.params), np.random.default_rng(seed)).random(
        int(starts)
    )
    X = np.column_stack([p.prior.ppf(u[:, j]) for j, p in enumerate(pb.params)])
    X = np.vstack([defaults, X])
    cost = np.sum(pb.residuals(pb.simulate(X)) ** 2, axis=1)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    return X[int(np.argmin(cost))] if np.isfinite(cost).any() else defaults
