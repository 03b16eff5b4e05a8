"""What a fit tells: which parameters the figures identify and their covariance, the
compared table, and fit statistics per series (RMSE, MAPE, Theil's U and its split)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from yaan_sim.analysis.calibrate_problem import Problem


def identified_covariance(J: np.ndarray, informed: np.ndarray, birge: float):
    """``(identified, cov)``: which parameters the fitted figures pin down, and their
    linearised covariance ``(J'J)^-1`` times ``birge**2``.

    A parameter that moves the residuals (``informed``) may still be free jointly with
    others: with fewer figures than parameters, or two that move the figures alike, J'J is
    singular and its inverse is numerical noise (negative or zero variances). A parameter
    is identified where it has no weight (1e-3 at most) in the null space of the informed
    columns of J (singular values 1e-8 of the largest or less); the others get an infinite
    standard error, never a made-up one.
    """
    k = J.shape[1]
    identified = np.zeros(k, dtype=bool)
    cov = np.full((k, k), np.nan)
    idx = np.flatnonzero(informed)
    if not len(idx):
        return identified, cov
    Ji = J[:, idx]
    _, sv, vt = np.linalg.svd(Ji, full_matrices=True)
    rank = int(np.sum(sv > 1e-8 * sv.max())) if sv.size and sv.max() > 0 else 0
    null = vt[rank:]  # rows spanning the directions the figures do not see
    free = np.linalg.norm(null, axis=0) > 1e-3 if len(null) else np.zeros(len(idx), bool)
    identified[idx] = ~free
    if rank:
        ci = (vt[:rank].T / sv[:rank] ** 2) @ vt[:rank] * birge**2  # pseudo-inverse of J'J
        cov[np.ix_(idx, idx)] = ci
    cov[~identified, :] = np.nan
    cov[:, ~identified] = np.nan
    return identified, cov


def compared_table(pb: Problem, sim: np.ndarray, sim_start: np.ndarray | None = None):
    """The back-test table (every ledger row) with the simulated values of ``sim``."""
    from yaan_sim.analysis.backtest import TABLE_COLUMNS
    from yaan_sim.analysis.backtest_observations import GROWTH_KINDS

    table = pb.obs.table.copy()
    table["simulated"] = math.nan
    table["simulated_start"] = math.nan
    pos = {rid: i for i, rid in enumerate(table["id"])}
    for j, o in enumerate(pb.items):
        table.iat[pos[o.id], table.columns.get_loc("simulated")] = float(sim[j])
        if sim_start is not None:
            table.iat[pos[o.id], table.columns.get_loc("simulated_start")] = float(sim_start[j])
    growth = table["kind"].isin(GROWTH_KINDS)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table["simulated"] / table["observed"]
    table["ratio"] = np.where(growth, math.nan, ratio)
    table["error"] = np.where(growth, table["simulated"] - table["observed"], 100 * (ratio - 1))
    return table[[*TABLE_COLUMNS, "simulated_start", "sigma"]].reset_index(drop=True)


def series_statistics(table: pd.DataFrame) -> pd.DataFrame:
    """Per series and role: n, RMSE, MAPE, log RMSE, bias, Theil's U and its split."""
    from yaan_sim.analysis.backtest import error_summary

    summary = error_summary(table)
    extra = []
    use = table[table["role"].isin(["fit", "held-out"]) & table["simulated"].notna()]
    for r in summary.itertuples():
        g = use[
            (use["variable"] == r.variable)
            & (use["scope"] == r.scope)
            & (use["kind"] == r.kind)
            & (use["unit"] == r.unit)
            & (use["role"] == r.role)
        ]
        st = fit_statistics(g["simulated"], g["observed"])
        extra.append({k: st[k] for k in ("theil_U", "U_M", "U_S", "U_C")})
    return pd.concat([summary, pd.DataFrame(extra, index=summary.index)], axis=1)


def fit_statistics(sim, obs) -> dict:
    """RMSE, MAPE (%), Theil's U and its split U_M (bias), U_S (variance), U_C (covariance)."""
    s = np.asarray(sim, dtype=float)
    a = np.asarray(obs, dtype=float)
    err = s - a
    mse = float(np.mean(err**2))
    rmse = math.sqrt(mse)
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(np.mean(np.abs(err / a))) * 100
    denom = math.sqrt(float(np.mean(s**2))) + math.sqrt(float(np.mean(a**2)))
    theil = rmse / denom if denom else math.nan
    sd_s, sd_a = float(np.std(s)), float(np.std(a))
    r = float(np.corrcoef(s, a)[0, 1]) if len(a) > 1 and sd_s > 0 and sd_a > 0 else 1.0
    # An exact fit (errors at rounding level) has no error to split: the shares are noise.
    if rmse > 1e-9 * float(np.mean(np.abs(a))):
        um = (float(s.mean()) - float(a.mean())) ** 2 / mse
        us = (sd_s - sd_a) ** 2 / mse
        uc = 2 * (1 - r) * sd_s * sd_a / mse
    else:
        um = us = uc = math.nan
    return {"RMSE": rmse, "MAPE": mape, "theil_U": theil, "U_M": um, "U_S": us, "U_C": uc, "r": r}
