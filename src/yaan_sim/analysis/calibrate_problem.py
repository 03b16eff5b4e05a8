"""The calibration problem: parameters to runs, runs to scaled residuals, log-likelihood
and log-prior (the objective of the fit and of the posterior sampler)."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from yaan_sim.analysis.calibrate_params import base_value
from yaan_sim.errors import YaanSimError

# ------------------------------------------------------------------ the problem


class Problem:
    """Parameters, the matched ledger and a vectorised run: simulated figures for a batch
    of parameter vectors, residuals and the log-likelihood.

    Parameters
    ----------
    model : YaanModel
    params : list of Param
    obs : ObservationSet
        From :func:`yaan_sim.analysis.backtest.observations` on ``horizon``.
    scenario : Scenario, optional
        Levers in force (default: the .mdl's values).
    engine : str
    model_error : float
        A model discrepancy (log scale) added in quadrature to the errors of levels and
        shares (default 0: only the stated observation errors).
    """

    def __init__(self, model, params, obs, scenario=None, engine="auto", model_error=0.0):
        from yaan_sim.engines.base import resolve_engine
        from yaan_sim.model.levers import constants

        self.model, self.params, self.obs, self.scenario = model, list(params), obs, scenario
        self.h = obs.horizon
        self._engine, _ = resolve_engine(model, engine)
        self.engine = self._engine.name
        over = scenario.overrides(model, self.h) if scenario is not None else {}
        self.overrides = over
        pool = constants(model)
        self.base: dict[str, xr.DataArray] = {}
        for p in self.params:
            if p.kind == "constant" and p.name not in self.base:
                self.base[p.name] = base_value(pool[p.name], scenario, model)
        self.items = obs.items
        self.fit_idx = np.array([i for i, o in enumerate(self.items) if o.role == "fit"], dtype=int)
        if model_error < 0:
            raise YaanSimError(f"model_error must be 0 or more, got {model_error}")
        self.model_error = float(model_error)
        self.sigma = np.array(
            [
                math.hypot(o.sigma, self.model_error) if o.scale == "log" else o.sigma
                for o in self.items
            ]
        )
        self.calls = 0
        self.runs = 0

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.params]

    @property
    def lo(self) -> np.ndarray:
        return np.array([p.lo for p in self.params])

    @property
    def hi(self) -> np.ndarray:
        return np.array([p.hi for p in self.params])

    def design(self, X: np.ndarray) -> dict[str, xr.DataArray]:
        """``{Vensim name: DataArray (sample, *dims)}`` for the parameter rows ``X``."""
        from yaan_sim.analysis.sampling import place_candidates, repeat_on_samples

        out = {}
        for name, base in self.base.items():
            da = repeat_on_samples(base, X.shape[0])
            for j, p in enumerate(self.params):
                if p.name == name and p.kind == "constant":
                    da = place_candidates(da, X[:, j], mode="set", dim=p.dim, elements=p.elements)
            out[name] = da
        return out

    def run(self, X: np.ndarray) -> xr.Dataset:
        """One engine call for every row of ``X``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        n = X.shape[0]
        design = self.design(X)
        over = {**self.overrides, **design}
        rv = self.obs.return_vars
        self.calls += 1
        self.runs += n
        # every engine initialises a run at the horizon's start (the back-test years)
        return self._engine.run(over, self.h, samples=n, return_vars=rv)

    def seasonal(self, X: np.ndarray) -> dict | None:
        out = {}
        for j, p in enumerate(self.params):
            if p.kind == "seasonal":
                out[p.elements[0]] = X[:, j]
        return out or None

    def simulate(self, X) -> np.ndarray:
        """Simulated figures ``(len(X), len(items))`` for every matched figure."""
        from yaan_sim.analysis.backtest_observations import evaluate

        X = np.atleast_2d(np.asarray(X, dtype=float))
        return evaluate(self.run(X), self.items, self.seasonal(X))

    def residuals(self, sim: np.ndarray, idx=None) -> np.ndarray:
        """Scaled residuals ``(samples, len(idx))`` (default: the fitted figures)."""
        idx = self.fit_idx if idx is None else idx
        out = np.empty((sim.shape[0], len(idx)))
        for k, i in enumerate(idx):
            o = self.items[i]
            out[:, k] = o.residual(sim[:, i]) * (o.sigma / self.sigma[i])
        return out

    def loglike(self, X) -> np.ndarray:
        """Gaussian log-likelihood of the fitted figures (up to a constant), per row."""
        r = self.residuals(self.simulate(X))
        ll = -0.5 * np.sum(r**2, axis=1)
        return np.where(np.isfinite(ll), ll, -np.inf)

    def logprior(self, X) -> np.ndarray:
        X = np.atleast_2d(X)
        return np.sum([p.prior.logpdf(X[:, j]) for j, p in enumerate(self.params)], axis=0)
