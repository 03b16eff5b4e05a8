"""Bayesian posterior of the calibrated constants, and posterior ensembles.

Example::

    from yaan_sim.analysis.posterior import sample_posterior, posterior_design
    post = sample_posterior(model, steps=2000, seed=1)   # emcee, all walkers in one run
    post.summary()                                        # intervals and diagnostics
    post.write("out/posterior.nc")
    d = posterior_design("out/posterior.nc", 1000, seed=2, model=model)
    ys.simulate(model, [sc], samples=1000, sample_overrides=d.values)

Prior: each parameter's ``calibrate:`` shape on its .mdl range (uniform unless the
field says otherwise). Likelihood: the fitted ledger figures (the same residuals as
:mod:`yaan_sim.analysis.calibrate`: log scale for levels, points for growth, each
scaled by the observation error of its confidence); held-out figures never enter it.

Sampler: emcee's affine-invariant ensemble (Goodman and Weare 2010) with
``vectorize=True``: each half-step of the ensemble is one vector-engine run with the
walkers on the ``sample`` dim. The walkers start in a small ball around the
least-squares fit. Diagnostics: the mean acceptance fraction (0.2-0.5 is healthy), the
integrated autocorrelation time ``tau`` per parameter (the chain should be at least
50 tau long: ``converged``), the effective sample size, and the split R-hat over walkers
(Gelman-Rubin; below 1.01 is good, walkers of one ensemble are not independent, so it
is a check, not a proof).

The posterior file (netCDF) holds ``draws`` (draw x parameter), ``log_prob`` per draw, the
parameters' names, elements, ranges and priors, the summary and the manifest (model and
ledger hashes, sampler settings, diagnostics). :func:`posterior_design` resamples it
(seeded) into ``sample_overrides`` for any run, and ``yaan-sim ensemble --posterior``
uses it so that P(goal met) reflects the data.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ResultsError, YaanSimError

if TYPE_CHECKING:
    from yaan_sim.analysis.calibrate_result import CalibrationResult

POSTERIOR_KIND = "yaan-sim posterior"


@dataclass
class PosteriorResult:
    """Posterior draws and diagnostics.

    Attributes
    ----------
    draws : pandas.DataFrame
        One row per kept draw, one column per parameter label.
    log_prob : numpy.ndarray
        Log posterior (up to a constant) of each draw.
    params : list of Param
    diagnostics : dict
        acceptance (mean, min), tau (per parameter), steps, burn, thin, walkers,
        converged, ess, rhat, runs, seconds.
    fit : CalibrationResult
        The least-squares fit the walkers started from.
    info : dict
        Model and ledger hashes, cutoff, errors, seed.
    """

    draws: pd.DataFrame
    log_prob: np.ndarray
    params: list
    diagnostics: dict
    fit: CalibrationResult
    info: dict = field(default_factory=dict)
    walker: np.ndarray | None = None
    step: np.ndarray | None = None

    def intervals(self, level: float = 0.9) -> pd.DataFrame:
        """Per parameter: mean, sd, median and the central ``level`` interval."""
        a = (1 - level) / 2
        d = self.draws
        return pd.DataFrame(
            {
                "parameter": d.columns,
                "mean": d.mean().to_numpy(),
                "sd": d.std(ddof=1).to_numpy(),
                "median": d.median().to_numpy(),
                f"q{100 * a:g}": d.quantile(a).to_numpy(),
                f"q{100 * (1 - a):g}": d.quantile(1 - a).to_numpy(),
                "tau": [self.diagnostics["tau"].get(c, math.nan) for c in d.columns],
                "rhat": [self.diagnostics["rhat"].get(c, math.nan) for c in d.columns],
            }
        )

    def summary(self) -> str:
        dg = self.diagnostics
        lines = [
            "Posterior (90% intervals):",
            self.intervals().to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            f"Sampler: emcee, {dg['walkers']} walkers x {dg['steps']} steps (burn {dg['burn']}, "
            f"thin {dg['thin']}): {len(self.draws)} draws; acceptance {dg['acceptance_mean']:.2f} "
            f"(min {dg['acceptance_min']:.2f}); max tau {dg['tau_max']:.3g} steps, chain "
            f"{dg['steps'] / max(dg['tau_max'], 1e-12):.3g} tau long "
            f"({'converged' if dg['converged'] else 'NOT converged: run more --steps'}); "
            f"max R-hat {dg['rhat_max']:.3f}; ESS about {dg['ess']:.0f}; {dg['runs']} model runs "
            f"in {dg['seconds']:.1f} s",
        ]
        return "\n".join(lines)

    def to_dataset(self) -> xr.Dataset:
        """The posterior file's content (see :func:`read_posterior`)."""
        from yaan_sim.outputs.manifest import package_versions

        labels = list(self.draws.columns)
        ps = self.params
        ds = xr.Dataset(
            {
                "draws": (("draw", "parameter"), self.draws.to_numpy(float)),
                "log_prob": ("draw", np.asarray(self.log_prob, float)),
            },
            coords={
                "draw": np.arange(len(self.draws)),
                "parameter": labels,
                "name": ("parameter", [p.name for p in ps]),
                "elements": ("parameter", ["+".join(p.elements) for p in ps]),
                "dim": ("parameter", [p.dim or "" for p in ps]),
                "param_kind": ("parameter", [p.kind for p in ps]),
                "units": ("parameter", [p.units for p in ps]),
                "prior": ("parameter", [p.prior.text() for p in ps]),
                "min": ("parameter", [p.lo for p in ps]),
                "max": ("parameter", [p.hi for p in ps]),
            },
        )
        if self.walker is not None:
            ds = ds.assign_coords(walker=("draw", self.walker), step=("draw", self.step))
        iv = self.intervals()
        for col in iv.columns[1:]:
            ds[f"summary_{col}"] = ("parameter", iv[col].to_numpy(float))
        ds["draws"].attrs["long_name"] = "posterior draws of the calibrated constants"
        ds["log_prob"].attrs["long_name"] = "log posterior density (up to a constant)"
        diag = {k: v for k, v in self.diagnostics.items()}
        manifest = {
            "tool": "yaan-sim",
            "kind": POSTERIOR_KIND,
            "created_utc": self.info["created_utc"],
            **{k: v for k, v in self.info.items() if k != "created_utc"},
            "diagnostics": diag,
            "versions": {**package_versions(), "emcee": _emcee_version()},
        }
        ds.attrs.update(
            {
                "title": "yaan-sim posterior of calibrated constants",
                "kind": POSTERIOR_KIND,
                "manifest": json.dumps(manifest, ensure_ascii=False, default=_json_default),
                "model_sha256": self.info["model_sha256"],
            }
        )
        return ds

    def write(self, path, force: bool = False) -> Path:
        """Write the posterior file (netCDF) atomically; never over a file without ``force``."""
        from yaan_sim.outputs.results import write_atomic

        path = Path(path)
        if path.suffix.lower() != ".nc":
            raise YaanSimError(f"{path}: the posterior is written as netCDF (.nc)")
        ds = self.to_dataset()
        return write_atomic(path, lambda tmp: ds.to_netcdf(tmp), force=force)


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _emcee_version() -> str:
    try:
        import emcee

        return emcee.__version__
    except ImportError:  # pragma: no cover - a dependency
        return "not installed"


# ------------------------------------------------------------------ sampling


def sample_posterior(
    model,
    ledger=None,
    params=None,
    *,
    scenario=None,
    cutoff=None,
    walkers: int | None = None,
    steps: int = 2000,
    burn: int | None = None,
    thin: int | None = None,
    seed: int = 0,
    engine: str = "auto",
    obs_errors=None,
    model_error: float = 0.0,
    seasonal: bool = False,
    moves: str = "stretch",
    progress: bool = False,
) -> PosteriorResult:
    """Sample the posterior of the calibrated constants with emcee (vectorised).

    Parameters
    ----------
    walkers : int, optional
        Default ``max(16, 4 * parameters)`` (even).
    steps : int
        Steps per walker.
    burn : int, optional
        Steps dropped at the start (default: half the steps).
    thin : int, optional
        Keep every ``thin``-th step (default: about half the largest autocorrelation time).
    seed : int
        Seeds the starting ball and the sampler: same seed, same draws.
    moves : {"stretch", "de"}
        emcee's proposal: the affine-invariant stretch move, or differential evolution
        (80 % DEMove, 20 % DESnookerMove; ter Braak and Vrugt 2008), which jumps
        between separated modes that the stretch move crosses rarely.

    The other parameters are those of :func:`yaan_sim.analysis.calibrate.calibrate`.
    """
    import emcee

    from yaan_sim.analysis.calibrate import calibrate, setup
    from yaan_sim.engines.prerun import check_seed

    seed = check_seed(seed) or 0
    proposal = _moves(emcee, moves)
    if steps < 10:
        raise YaanSimError(f"steps must be at least 10, got {steps}")
    t0 = time.perf_counter()
    kw = dict(
        scenario=scenario,
        cutoff=cutoff,
        engine=engine,
        obs_errors=obs_errors,
        model_error=model_error,
        seasonal=seasonal,
    )
    fit = calibrate(model, ledger, params, seed=seed, **kw)
    pb = setup(model, ledger, params, **kw)
    k = len(pb.params)
    nw = int(walkers) if walkers else max(16, 4 * k)
    nw += nw % 2
    if nw < 2 * k:
        raise YaanSimError(f"emcee needs at least {2 * k} walkers for {k} parameters, got {nw}")
    lo, hi = pb.lo, pb.hi
    x_map = fit.params["value"].to_numpy(float)
    se = fit.params["se"].to_numpy(float)
    width = np.where(np.isfinite(se) & (se > 0), np.minimum(se, 0.1 * (hi - lo)), 0.01 * (hi - lo))
    rng = np.random.default_rng(seed)
    p0 = x_map + 0.1 * width * rng.standard_normal((nw, k))
    # reflect into the range (a walker on a bound would start with zero prior density)
    p0 = np.clip(p0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))

    def log_prob(X):
        lp = pb.logprior(X)
        out = np.full(len(X), -np.inf)
        ok = np.isfinite(lp)
        if ok.any():
            out[ok] = lp[ok] + pb.loglike(X[ok])
        return out

    sampler = emcee.EnsembleSampler(nw, k, log_prob, vectorize=True, moves=proposal)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(p0, int(steps), progress=progress)
    chain = sampler.get_chain()  # (steps, walkers, k)
    lps = sampler.get_log_prob()
    tau = np.asarray(sampler.get_autocorr_time(tol=0, quiet=True), dtype=float)
    tau = np.where(np.isfinite(tau), tau, float(steps))
    burn = int(steps // 2) if burn is None else int(burn)
    if not 0 <= burn < steps:
        raise YaanSimError(f"burn must lie in [0, steps), got {burn} for {steps} steps")
    thin = max(1, int(np.max(tau) / 2)) if thin is None else int(thin)
    if thin < 1:
        raise YaanSimError(f"thin must be at least 1, got {thin}")
    kept = chain[burn::thin]  # (s, w, k)
    kept_lp = lps[burn::thin]
    s, w = kept.shape[:2]
    flat = kept.reshape(s * w, k)
    labels = pb.labels
    acc = np.asarray(sampler.acceptance_fraction, dtype=float)
    rhat = split_rhat(chain[burn:])
    n_after = (steps - burn) * nw
    diagnostics = {
        "walkers": nw,
        "steps": int(steps),
        "burn": burn,
        "thin": thin,
        "acceptance_mean": float(acc.mean()),
        "acceptance_min": float(acc.min()),
        "tau": dict(zip(labels, tau.tolist(), strict=True)),
        "tau_max": float(tau.max()),
        "converged": bool(steps >= 50 * tau.max()),
        "ess": float(n_after / max(tau.max(), 1.0)),
        "rhat": dict(zip(labels, rhat.tolist(), strict=True)),
        "rhat_max": float(np.nanmax(rhat)) if np.isfinite(rhat).any() else math.nan,
        "runs": pb.runs + fit.stats["runs"],
        "seconds": time.perf_counter() - t0,
    }
    info = {
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model_file": model.mdl_path.name,
        "model_sha256": model.mdl_sha256,
        "ledger_sha256": pb.obs.ledger_sha256,
        "cutoff": pb.obs.cutoff,
        "scenario": getattr(scenario, "name", None),
        "obs_errors": pb.obs.obs_errors,
        "model_error": pb.model_error,
        "seed": seed,
        "sampler": f"emcee.EnsembleSampler ({MOVES[moves]}, vectorised)",
        "n_fit": len(pb.fit_idx),
        "fit_ids": [pb.items[i].id for i in pb.fit_idx],
        "map": dict(zip(labels, x_map.tolist(), strict=True)),
    }
    return PosteriorResult(
        pd.DataFrame(flat, columns=labels),
        kept_lp.reshape(-1),
        pb.params,
        diagnostics,
        fit,
        info,
        walker=np.tile(np.arange(w), s),
        step=np.repeat(np.arange(burn, steps, thin)[:s], w),
    )


MOVES = {
    "stretch": "stretch move",
    "de": "differential evolution: 0.8 DEMove + 0.2 DESnookerMove",
}


def _moves(emcee, name: str):
    if name not in MOVES:
        raise YaanSimError(f"moves must be one of {', '.join(MOVES)}, got {name!r}")
    if name == "stretch":
        return None  # emcee's default
    return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]


def split_rhat(chain: np.ndarray) -> np.ndarray:
    """Split R-hat (Gelman et al. 2013) per parameter of ``chain`` (steps, walkers, k)."""
    n = chain.shape[0] // 2
    if n < 2:
        return np.full(chain.shape[2], np.nan)
    halves = np.concatenate([chain[:n], chain[n : 2 * n]], axis=1)  # (n, 2w, k)
    means = halves.mean(axis=0)
    var_within = halves.var(axis=0, ddof=1).mean(axis=0)
    var_between = n * means.var(axis=0, ddof=1)
    var_plus = (n - 1) / n * var_within + var_between / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(var_plus / var_within)


# ------------------------------------------------------------------ the file, and designs


def read_posterior(path) -> xr.Dataset:
    """Open a posterior file, checking it is one."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(
            f"{path}: no such posterior file (write one with `yaan-sim calibrate --posterior`)"
        )
    try:
        with xr.open_dataset(path) as f:
            ds = f.load()
    except Exception as exc:  # netCDF4/h5 raise many kinds; one clear message
        raise ResultsError(f"{path}: cannot read it as netCDF ({exc})") from None
    if ds.attrs.get("kind") != POSTERIOR_KIND or "draws" not in ds:
        raise ResultsError(
            f"{path} is not a yaan-sim posterior file (it has no posterior draws); write one "
            "with `yaan-sim calibrate --posterior`"
        )
    return ds


def posterior_design(file, n: int, seed: int | None = 0, model=None):
    """``n`` parameter sets resampled (seeded, with replacement) from a posterior file.

    Returns a :class:`yaan_sim.analysis.sampling.Design` (method ``posterior``) whose
    ``values`` are ``{Vensim name: DataArray (sample, *dims)}`` for
    ``simulate(sample_overrides=...)`` or the ensemble: the .mdl's values in the cells no
    parameter sets, the draw's values in the others. Measurement parameters (seasonal
    factors) are not model constants and are left out. ``model`` defaults to the
    project's model; a model other than the posterior's is refused where a parameter no
    longer exists or a draw falls outside its range.
    """
    from yaan_sim.analysis.sampling import Design, place_candidates, repeat_on_samples
    from yaan_sim.engines.prerun import check_seed
    from yaan_sim.model.levers import constants

    if model is None:
        from yaan_sim.model.load import load_model

        model = load_model()
    ds = file if isinstance(file, xr.Dataset) else read_posterior(file)
    seed = check_seed(seed)
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise YaanSimError(f"samples must be a whole number, got {n!r}") from None
    if n < 1:
        raise YaanSimError(f"samples must be at least 1, got {n}")
    draws = ds["draws"].values
    pick = np.random.default_rng(seed).integers(0, draws.shape[0], size=n)
    pool = constants(model)
    values: dict[str, xr.DataArray] = {}
    for j, label in enumerate(ds["parameter"].values):
        if str(ds["param_kind"].values[j]) != "constant":
            continue
        name = str(ds["name"].values[j])
        if name not in pool:
            raise YaanSimError(
                f"the posterior's parameter {label!r} is not a constant of "
                f"{model.mdl_path.name}: sample a new posterior for this model"
            )
        c = pool[name]
        col = draws[pick, j]
        if np.any(col < c.min - 1e-12) or np.any(col > c.max + 1e-12):
            raise YaanSimError(
                f"posterior draws of {label!r} lie outside its range [{c.min:g}, {c.max:g}] "
                f"in {model.mdl_path.name}: sample a new posterior for this model"
            )
        if name not in values:
            base = c.default.astype(float).assign_attrs(
                units=c.units, long_name=c.en, long_name_zh=c.zh
            )
            values[name] = repeat_on_samples(base, n)
        dim = str(ds["dim"].values[j]) or None
        els = str(ds["elements"].values[j]).split("+") if dim else []
        if dim is not None:
            known = values[name][dim].values if dim in values[name].dims else ()
            missing = [e for e in els if e not in known]
            if missing:
                raise YaanSimError(
                    f"the posterior's parameter {label!r} names {', '.join(missing)}, not "
                    f"an element of {name!r} in {model.mdl_path.name}"
                )
        values[name] = place_candidates(values[name], col, mode="set", dim=dim, elements=els)
    if not values:
        raise YaanSimError("the posterior holds no model constant to sample")
    return Design("posterior", seed, [], None, values)


def combine(design, posterior, scenario=None):
    """A scenario's own design (or None) with a posterior design on top.

    Refuses a constant that both sample, and one the scenario sets as a lever (the
    posterior would silently undo the scenario's policy).
    """
    from yaan_sim.analysis.sampling import Design

    clash = sorted(_constants_set_by(scenario) & set(posterior.values))
    if clash:
        raise YaanSimError(
            f"scenario {getattr(scenario, 'name', '?')!r} sets {', '.join(clash)}, which the "
            "posterior also draws: leave calibrated constants out of the scenario's levers, "
            "or run it without --posterior"
        )
    if design is None:
        return posterior
    both = sorted(set(design.values) & set(posterior.values))
    if both:
        raise YaanSimError(
            f"{', '.join(both)} is drawn both by the scenario's `uncertain:` block and by the "
            "posterior: remove it from the uncertain block (the posterior replaces it)"
        )
    return Design(
        f"{design.method}+posterior",
        design.seed,
        design.factors,
        design.unit,
        {**design.values, **posterior.values},
    )


def _constants_set_by(scenario) -> set[str]:
    """The constants a scenario sets: a scenario file's levers, a FixedScenario's values
    (it has no ``levers``: what it holds is what it sets)."""
    from yaan_sim.scenario.fixed import FixedScenario

    if isinstance(scenario, FixedScenario):
        return set(scenario.overrides())
    return set(getattr(scenario, "levers", {}) or {})


# ------------------------------------------------------------------ models/README.md tables

#: The posterior shipped with the project (`make posterior`).
SHIPPED_POSTERIOR = Path(__file__).resolve().parents[3] / "models" / "data" / "posterior.nc"
