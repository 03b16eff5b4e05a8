"""Seek's search: the screening design, then the refinements (bisection towards the
scenario's values, SLSQP with forward-difference gradients computed in one engine call)."""

from __future__ import annotations

import warnings

import numpy as np

from yaan_sim.analysis.sampling import unit_matrix
from yaan_sim.analysis.seek_problem import SeekProblem

GRID_1D = 65
GRID_2D = 25
SCREEN_N = 512


def screen(lo: np.ndarray, hi: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        pts = np.linspace(lo[0], hi[0], GRID_1D)[:, None]
    elif k == 2:
        a, b = np.meshgrid(np.linspace(lo[0], hi[0], GRID_2D), np.linspace(lo[1], hi[1], GRID_2D))
        pts = np.column_stack([a.ravel(), b.ravel()])
    else:
        U = unit_matrix(SCREEN_N, k, "sobol", 0)
        axes = []
        for j in range(k):
            for end in (lo[j], hi[j]):
                e = np.zeros(k)
                e[j] = end
                axes.append(e)
        pts = np.vstack([lo + U * (hi - lo), np.array(axes), hi[None, :]])
    return np.vstack([np.zeros((1, k)), pts])


def bisect_towards_zero(pr: SeekProblem, d: np.ndarray) -> np.ndarray:
    """The point nearest 0 on the segment [0, d] that still meets every goal (batched)."""
    a, b = 0.0, 1.0
    for _ in range(3):  # 3 rounds of 17 points: 1/16^3 of the segment
        ts = np.linspace(a, b, 17)
        M = pr.margins(ts[:, None] * d[None, :]).min(axis=1)
        ok = np.flatnonzero(M >= 0)
        if ok.size == 0:
            return d * b
        i = ok[0]
        a, b = (ts[i - 1] if i > 0 else ts[0]), ts[i]
    return d * b


def _fd_jac(
    pr: SeekProblem, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Margins at d and their forward-difference Jacobian, in one engine call."""
    k = len(d)
    h = 1e-6 * np.maximum(hi - lo, 1e-12)
    sgn = np.where(d + h <= hi, 1.0, -1.0)
    X = np.vstack([d] + [d + sgn[j] * h[j] * np.eye(k)[j] for j in range(k)])
    M = pr.margins(X)
    return M[0], ((M[1:] - M[0]) / (sgn * h)[:, None]).T


def polish_min_change(
    pr: SeekProblem, d0: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, tol: float
) -> np.ndarray:
    from scipy.optimize import minimize

    cons = {
        "type": "ineq",
        "fun": lambda d: pr.margins(d)[0],
        "jac": lambda d: _fd_jac(pr, d, lo, hi)[1],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = minimize(
            lambda d: float(np.sum((d / span) ** 2)),
            d0,
            jac=lambda d: 2 * d / span**2,
            method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)),
            constraints=[cons],
            options={"maxiter": 40, "ftol": 1e-10},
        )
    d = np.clip(r.x, lo, hi)
    if pr.margins(d)[0].min() >= -tol and np.sum((d / span) ** 2) <= np.sum((d0 / span) ** 2):
        return d
    return d0


def strictly_inside(pr: SeekProblem, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``d`` pushed out by the least factor (1 + e, e up to 1e-3) that meets every goal
    with a margin (1e-9 of the target), so the rounded values written out still meet
    them; one batched call. ``d`` itself where none does."""
    es = np.concatenate([[0.0], 10.0 ** np.arange(-9, -2)])
    C = np.clip(d[None, :] * (1 + es[:, None]), lo, hi)
    ok = np.flatnonzero(pr.margins(C).min(axis=1) >= 1e-9)
    return C[ok[0]] if ok.size else d


def polish_best_reachable(
    pr: SeekProblem, d0: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Maximise the worst margin t: max t s.t. margin_i(d) >= t (SLSQP on (d, t))."""
    from scipy.optimize import minimize

    k = len(d0)
    t0 = float(pr.margins(d0)[0].min())

    def cons_f(z: np.ndarray) -> np.ndarray:
        return pr.margins(z[:k])[0] - z[k]

    def cons_j(z: np.ndarray) -> np.ndarray:
        J = _fd_jac(pr, z[:k], lo, hi)[1]
        return np.hstack([J, -np.ones((J.shape[0], 1))])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = minimize(
            lambda z: -z[k],
            np.append(d0, t0),
            jac=lambda z: np.append(np.zeros(k), -1.0),
            method="SLSQP",
            bounds=[*zip(lo, hi, strict=True), (None, None)],
            constraints=[{"type": "ineq", "fun": cons_f, "jac": cons_j}],
            options={"maxiter": 40, "ftol": 1e-10},
        )
    d = np.clip(r.x[:k], lo, hi)
    return d if pr.margins(d)[0].min() >= t0 else d0
