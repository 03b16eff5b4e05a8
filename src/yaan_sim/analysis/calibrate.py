"""Calibration: fit chosen constants to observed series within the model's ranges.

Example::

    res = calibrate(model, params=["Investment attraction rate[ETDZ]",
                                   "Reconstruction realisation share"])
    res.params          # fitted value, standard error, 95 % interval, range
    res.stats           # RMSE, MAPE, Theil's U and its bias / variance / covariance split
    res.write_scenario("out/calibrated.yaml")

The observed figures (default ``models/data/observed.csv``: ETDZ revenue 2013-2015) are
compared with the simulated values at ``t = year.0``. Where they start before the model's
``INITIAL TIME`` the run is the back-test of :mod:`yaan_sim.analysis.backtest`: the model started
in the first observed year, the observed park at its observed value and the other parks
discounted; that first point is then the initial condition, not a data point.

The fit is ``scipy.optimize.least_squares`` (trust-region reflective, bounded by each
constant's ``[min,max]``) on relative errors ``simulated / observed - 1``; its Jacobian
is a forward difference whose runs go to the vector engine in one call.

Parameter uncertainty is linearised: ``cov = s2 (J'J)^-1`` with ``J`` the Jacobian of the
relative errors. With more data points than parameters ``s2`` is the residual variance;
with as many (the ETDZ case: two points, two parameters, an exact fit) there is no
residual information, and ``s2`` is the square of an assumed relative observation error
(``obs_error``, default 5 %, the "M-H" confidence of the source); ``info["sigma_from"]``
says which.

Theil's inequality statistics (Sterman 1984): MSE = (mean_s - mean_a)^2 + (sd_s - sd_a)^2
+ 2 (1 - r) sd_s sd_a, split into ``U_M`` (bias), ``U_S`` (unequal variation) and ``U_C``
(unequal covariation), which sum to 1; ``theil_U`` = RMSE / (rms(s) + rms(a)).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError

DEFAULT_PARAMS = ("Investment attraction rate[ETDZ]", "Reconstruction realisation share")
DEFAULT_OBS_ERROR = 0.05
_PARAM_RE = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(\[(?P<el>[^\[\]]*)\])?\s*$")


@dataclass(frozen=True)
class Param:
    """A fitted quantity: one constant, all its elements or some (one value for them)."""

    label: str
    name: str
    dim: str | None
    elements: tuple[str, ...]  # empty: every element
    lo: float
    hi: float
    x0: float
    is_lever: bool
    units: str


def parse_params(specs, model, scenario=None) -> list[Param]:
    """``"Name"`` or ``"Name[ETDZ]"`` (or ``"Name[ETDZ,Hanyuan]"``, one shared value)."""
    from yaan_sim.model.levers import closest, constants, resolve_name

    pool = constants(model)
    out = []
    for spec in specs:
        m = _PARAM_RE.match(str(spec))
        if not m:
            raise YaanSimError(
                f"parameter {spec!r}: write a constant's name, optionally with "
                "elements in brackets, e.g. 'Investment attraction rate[ETDZ]'"
            )
        name = resolve_name(m["name"], pool)
        if name is None:
            hint = closest(m["name"], pool)
            raise YaanSimError(
                f"unknown constant {m['name']!r}"
                + (
                    f": did you mean {hint[0]!r}?"
                    if hint
                    else "; see `yaan-sim levers` and the tables of models/README.md"
                )
            )
        c = pool[name]
        elements: tuple[str, ...] = ()
        dim = None
        if m["el"] is not None:
            elements = tuple(e.strip() for e in m["el"].split(",") if e.strip())
            dims = [d for d in c.dims if all(e in c.coords[d] for e in elements)]
            if not c.dims or not dims:
                valid = ", ".join(e for d in c.dims for e in c.coords[d]) or "(none: no subscripts)"
                raise YaanSimError(
                    f"parameter {spec!r}: {name!r} has no element(s) "
                    f"{', '.join(elements)}; its elements: {valid}"
                )
            dim = dims[0]
        if math.isnan(c.min) or math.isnan(c.max):
            raise YaanSimError(
                f"{name!r} has no [min,max] range in the .mdl, so it cannot be "
                "fitted within its range: give it one first"
            )
        base = _base_value(c, scenario, model)
        sel = base.sel({dim: list(elements)}) if dim else base
        x0 = float(np.mean(sel.values))
        label = f"{name}[{','.join(elements)}]" if elements else name
        out.append(
            Param(label, name, dim, elements, float(c.min), float(c.max), x0, c.is_lever, c.units)
        )
    if len({p.label for p in out}) != len(out):
        raise YaanSimError("a parameter is named twice")
    return out


def _base_value(c, scenario, model) -> xr.DataArray:
    """The scenario's value of a constant (its first time) or the .mdl's."""
    if scenario is not None and c.name in getattr(scenario, "levers", {}):
        da = scenario.overrides(model)[c.name]
        return da.isel(time=0, drop=True) if "time" in da.dims else da
    return c.default


@dataclass
class CalibrationResult:
    """A fit: parameters with uncertainty, fit statistics, the data and the simulation.

    Attributes
    ----------
    params : pandas.DataFrame
        One row per parameter: label, name, elements, units, start, value, se, ci_low,
        ci_high (95 %, within the range), min, max, at_bound.
    stats : dict
        n_obs, n_params, dof, RMSE, MAPE (%), theil_U, U_M, U_S, U_C, cost, success, message.
    fit : pandas.DataFrame
        variable, park, year, observed, simulated (at the start values and fitted),
        error_pct.
    correlation : pandas.DataFrame
        Correlation of the parameter estimates.
    info : dict
        Horizon, scenario, model hash, sigma_from, obs_error.
    """

    params: pd.DataFrame
    stats: dict
    fit: pd.DataFrame
    correlation: pd.DataFrame
    info: dict = field(default_factory=dict)
    _params: list = field(default_factory=list, repr=False)

    def values(self) -> dict[str, float]:
        return dict(zip(self.params["label"], self.params["value"]))

    def summary(self) -> str:
        """A text report: parameters, fit statistics, the fitted series."""
        p = self.params
        lines = ["Fitted parameters (95% interval from the linearised covariance):"]
        for r in p.itertuples():
            lines.append(
                f"  {r.label:<44} {r.value:.6g}  (se {r.se:.3g}; "
                f"[{r.ci_low:.4g}, {r.ci_high:.4g}]; start {r.start:.4g}; "
                f"range [{r.min:g}, {r.max:g}]{'; AT BOUND' if r.at_bound else ''})"
            )
        s = self.stats
        lines.append(
            f"Fit: n={s['n_obs']} points, {s['n_params']} parameters, dof={s['dof']}; "
            f"RMSE {s['RMSE']:.4g}, MAPE {s['MAPE']:.3g}%, Theil U {s['theil_U']:.3g} "
            f"(U_M bias {s['U_M']:.3f}, U_S variance {s['U_S']:.3f}, "
            f"U_C covariance {s['U_C']:.3f})"
        )
        lines.append(f"Uncertainty: sigma from {self.info['sigma_from']}")
        lines.append(self.fit.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)

    def scenario_yaml(self, name: str = "calibrated", extends: str | None = None) -> str:
        """A scenario file holding the fitted values (see :meth:`write_scenario`)."""
        return _scenario_yaml(self, name, extends)

    def write_scenario(
        self, path, name: str | None = None, force: bool = False, base_scenario=None
    ) -> Path:
        """Write the scenario YAML atomically; ``extends`` the calibrated scenario if any."""
        from yaan_sim.outputs.results import write_atomic

        path = Path(path)
        extends = None
        if base_scenario is not None:
            extends = os.path.relpath(Path(base_scenario.path).resolve(), path.resolve().parent)
        text = self.scenario_yaml(name or path.stem, extends)
        return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


# ------------------------------------------------------------------ the fit


def _observations(observed: pd.DataFrame):
    need = {"variable", "park", "year", "value"}
    if not need <= set(observed.columns):
        raise YaanSimError(f"observed data need columns {', '.join(sorted(need))}")
    obs = observed[list(need)].copy()
    obs["year"] = obs["year"].astype(int)
    obs["value"] = obs["value"].astype(float)
    if (obs["value"] == 0).any():
        raise YaanSimError("observed values of 0 cannot be fitted on relative errors")
    return obs.sort_values(["variable", "park", "year"]).reset_index(drop=True)


def setup(model, observed: pd.DataFrame, scenario=None):
    """(run model, horizon, fixed overrides, observations used, the back-test park or None)."""
    from yaan_sim.analysis.backtest import backtest_setup
    from yaan_sim.model.load import Horizon

    obs = _observations(observed)
    base = model.default_horizon
    first = int(obs["year"].min())
    last = int(obs["year"].max())
    if first < base.start:
        rev = obs[obs["variable"] == "revenue"]
        if rev.empty:
            raise YaanSimError(
                "observed data before the model's start need a revenue series "
                "to start the back-test from"
            )
        park = str(rev.sort_values("year")["park"].iloc[0])
        overrides, h, _series = backtest_setup(model, observed, park=park)
        h = Horizon(h.start, max(h.stop, float(last)), h.step, h.saveper)
        run_model = model.at_start(h.start)
        used = obs[
            ~(
                (obs["park"] == park)
                & (obs["year"] == int(h.start))
                & (obs["variable"] == "revenue")
            )
        ]
    else:
        park = None
        overrides = {}
        h = Horizon(base.start, max(base.stop, float(last)), base.step, base.saveper)
        run_model = model
        used = obs
    if scenario is not None:
        over = scenario.overrides(run_model, h)
        over.update(overrides)
        overrides = over
    bad = [
        p for p in used["park"].unique() if p != "city" and p not in run_model.subscripts["Park"]
    ]
    if bad:
        raise YaanSimError(f"observed data name unknown parks: {', '.join(bad)}")
    if used.empty:
        raise YaanSimError("no observed point left to fit (the first one is the initial value)")
    return run_model, h, overrides, used.reset_index(drop=True), park


class _Evaluator:
    """Simulated values at the observations for a batch of candidate parameter vectors."""

    def __init__(self, model, params, horizon, overrides, obs, engine):
        from yaan_sim.scenario.fixed import FixedScenario
        from yaan_sim.model.levers import constants

        self.model, self.params, self.h, self.obs, self.engine = model, params, horizon, obs, engine
        self.scenario = FixedScenario("calibration", overrides)
        pool = constants(model)
        self.base = {}
        for p in params:
            if p.name not in self.base:
                over = overrides.get(p.name)
                b = (
                    pool[p.name].default
                    if over is None
                    else (over.isel(time=0, drop=True) if "time" in over.dims else over)
                )
                self.base[p.name] = b.astype(float)
        self.vars = sorted(set(obs["variable"]))
        self.calls = 0
        self.runs = 0

    def simulate(self, X: np.ndarray) -> np.ndarray:
        """(candidates, observations) of simulated values."""
        from yaan_sim.engines.simulate import simulate

        X = np.atleast_2d(X)
        n = X.shape[0]
        design = {}
        for name, base in self.base.items():
            data = np.broadcast_to(base.values, (n, *base.shape)).copy()
            da = xr.DataArray(
                data,
                dims=("sample", *base.dims),
                coords={"sample": np.arange(n), **{d: base[d].values for d in base.dims}},
            )
            for j, p in enumerate(self.params):
                if p.name != name:
                    continue
                if p.dim is None:
                    da.values[...] = X[:, j].reshape((n,) + (1,) * base.ndim)
                else:
                    da.loc[{p.dim: list(p.elements)}] = np.broadcast_to(
                        X[:, j].reshape((n,) + (1,) * base.ndim),
                        da.loc[{p.dim: list(p.elements)}].shape,
                    )
            design[name] = da
        ds = simulate(
            self.model,
            [self.scenario],
            engine=self.engine,
            horizon=self.h,
            samples=n,
            sample_overrides=design,
            return_vars=self.vars,
            notify=lambda msg: None,
        )
        self.calls += 1
        self.runs += n
        out = np.empty((n, len(self.obs)))
        for i, r in enumerate(self.obs.itertuples()):
            if r.variable not in ds.data_vars:
                raise YaanSimError(
                    f"observed variable {r.variable!r} is not a model variable "
                    "(use the results' names, e.g. revenue)"
                )
            da = ds[r.variable].isel(scenario=0)
            da = da.sum("park") if r.park == "city" else da.sel(park=r.park)
            try:
                out[:, i] = da.sel(time=float(r.year)).values.reshape(n, -1)[:, 0]
            except KeyError:
                raise YaanSimError(
                    f"no simulated value at {r.year}: the run covers "
                    f"{self.h.start:g}-{self.h.stop:g}"
                ) from None
        return out


def calibrate(
    model,
    observed: pd.DataFrame | None = None,
    params=DEFAULT_PARAMS,
    *,
    scenario=None,
    x0=None,
    engine: str = "auto",
    obs_error: float = DEFAULT_OBS_ERROR,
) -> CalibrationResult:
    """Fit ``params`` to ``observed`` (default: models/data/observed.csv) within ranges.

    Parameters
    ----------
    model : YaanModel
    observed : DataFrame, optional
        Long format: variable, park (or ``city``), year, value.
    params : sequence of str
        Constants to fit: ``"Name"`` or ``"Name[element,...]"``.
    scenario : Scenario, optional
        Levers set during the fit (default: the .mdl's values).
    x0 : sequence of float, optional
        Start values (default: the current values, from the scenario or the .mdl).
    obs_error : float
        Relative observation error assumed when the fit has no degrees of freedom.
    """
    from scipy.optimize import least_squares

    from yaan_sim.analysis.backtest import read_observed

    observed = read_observed() if observed is None else observed
    ps = parse_params(list(params), model, scenario)
    if not ps:
        raise YaanSimError("no parameter to fit: give --params NAME[,NAME...]")
    run_model, h, overrides, obs, park = setup(model, observed, scenario)
    ev = _Evaluator(run_model, ps, h, overrides, obs, engine)
    lo = np.array([p.lo for p in ps])
    hi = np.array([p.hi for p in ps])
    start = np.array([p.x0 for p in ps]) if x0 is None else np.asarray(x0, dtype=float)
    if start.shape != lo.shape:
        raise YaanSimError(f"x0 needs {len(ps)} values, one per parameter")
    if np.any(start < lo) or np.any(start > hi):
        raise YaanSimError(
            "x0 must lie inside the parameters' ranges: "
            + ", ".join(f"{p.label} [{p.lo:g}, {p.hi:g}]" for p in ps)
        )
    y = obs["value"].to_numpy(float)
    steps = 1e-6 * np.maximum(hi - lo, 1e-12)

    def fun(x):
        return ev.simulate(x)[0] / y - 1

    def jac(x):
        sgn = np.where(x + steps <= hi, 1.0, -1.0)
        X = np.vstack([x] + [x + sgn[j] * steps[j] * np.eye(len(x))[j] for j in range(len(x))])
        S = ev.simulate(X) / y - 1
        return ((S[1:] - S[0]) / (sgn * steps)[:, None]).T

    sol = least_squares(
        fun,
        start,
        jac=jac,
        bounds=(lo, hi),
        method="trf",
        x_scale="jac",
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=200,
    )
    x = sol.x
    sim0, sim = ev.simulate(np.vstack([start, x]))
    J = jac(x)
    m, k = len(y), len(x)
    dof = m - k
    resid = sim / y - 1
    if dof > 0:
        s2 = float(resid @ resid) / dof
        sigma_from = f"the residual variance ({dof} degrees of freedom)"
    else:
        s2 = obs_error**2
        sigma_from = (
            f"an assumed relative observation error of {obs_error:g} (the fit has "
            f"{m} points for {k} parameters: no residual degrees of freedom)"
        )
    JTJ = J.T @ J
    try:
        cov = s2 * np.linalg.inv(JTJ)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    at_bound = np.isclose(x, lo, rtol=0, atol=1e-9 * (hi - lo)) | np.isclose(
        x, hi, rtol=0, atol=1e-9 * (hi - lo)
    )
    table = pd.DataFrame(
        {
            "label": [p.label for p in ps],
            "name": [p.name for p in ps],
            "elements": [",".join(p.elements) for p in ps],
            "units": [p.units for p in ps],
            "lever": [p.is_lever for p in ps],
            "start": start,
            "value": x,
            "se": se,
            "ci_low": np.maximum(x - 1.96 * se, lo),
            "ci_high": np.minimum(x + 1.96 * se, hi),
            "min": lo,
            "max": hi,
            "at_bound": at_bound,
        }
    )
    fit = obs[["variable", "park", "year"]].copy()
    fit["observed"] = y
    fit["simulated_start"] = sim0
    fit["simulated"] = sim
    fit["error_pct"] = 100 * resid
    stats = fit_statistics(sim, y) | {
        "n_obs": m,
        "n_params": k,
        "dof": dof,
        "cost": float(sol.cost),
        "success": bool(sol.success),
        "message": str(sol.message),
        "nfev": int(sol.nfev),
        "engine_calls": ev.calls,
        "runs": ev.runs,
    }
    labels = [p.label for p in ps]
    info = {
        "horizon": [h.start, h.stop, h.step, h.saveper],
        "backtest_park": park,
        "scenario": getattr(scenario, "name", None),
        "scenario_sha256": getattr(scenario, "sha256", None),
        "model_sha256": model.mdl_sha256,
        "sigma_from": sigma_from,
        "obs_error": obs_error,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return CalibrationResult(
        table, stats, fit, pd.DataFrame(corr, index=labels, columns=labels), info, ps
    )


def fit_statistics(sim, obs) -> dict:
    """RMSE, MAPE (%), Theil's U and its split U_M (bias), U_S (variance), U_C (covariance)."""
    s = np.asarray(sim, dtype=float)
    a = np.asarray(obs, dtype=float)
    err = s - a
    mse = float(np.mean(err**2))
    rmse = math.sqrt(mse)
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


# ------------------------------------------------------------------ the scenario file


def _num(x: float) -> str:
    return f"{float(x):.6g}"


def _scenario_yaml(res: CalibrationResult, name: str, extends: str | None) -> str:
    s = res.stats
    when = res.info["created_utc"]
    head = [
        f"# Written by `yaan-sim calibrate` on {when}: constants fitted to observed data",
        f"# (model sha256 {res.info['model_sha256'][:16]}...; back-test from "
        f"{res.info['horizon'][0]:g}). Fit: RMSE {s['RMSE']:.4g}, MAPE {s['MAPE']:.3g}%, "
        f"Theil U {s['theil_U']:.3g}.",
        "# Fitted levers are set in `levers:`. The scenario format has no block for fixed",
        "# values of non-lever constants, so those are given in `uncertain:` only (normal,",
        "# the fitted value with its standard error): ensembles draw them around the fit,",
        "# while single runs keep the .mdl's value. Copy a fitted non-lever value into the",
        "# .mdl to make it the default.",
    ]
    for r in res.params.itertuples():
        head.append(f"#   {r.label} = {_num(r.value)} (se {_num(r.se)}; {r.units})")
    lines = head + [
        f"name: {name}",
        "title:",
        f"  en: Calibrated ({name})",
        f"  zh: 校准情景({name})",
        "description: >",
        "  Constants fitted by yaan-sim calibrate (least squares within the .mdl's",
        "  ranges); see the comments above for the fit.",
    ]
    if extends:
        lines.append(f"extends: {extends}")
    params = res._params
    rows = {r.label: r for r in res.params.itertuples()}
    levers = [p for p in params if p.is_lever]
    if levers:
        lines.append("levers:")
        for name_, group in _by_name(levers).items():
            lines.append(f"  {name_}:")
            if len(group) == 1 and not group[0].elements:
                lines.append(f"    value: {_num(rows[group[0].label].value)}")
            else:
                for p in group:
                    for el in p.elements:
                        lines.append(f"    {el}: {_num(rows[p.label].value)}")
            lines.append(
                f"    note: calibrated, se {', '.join(_num(rows[p.label].se) for p in group)}"
            )
    unc = [p for p in params if math.isfinite(rows[p.label].se) and rows[p.label].se > 0]
    if unc:
        lines.append("uncertain:")
        for name_, group in _by_name(unc).items():

            def dist(p):
                r = rows[p.label]
                return (
                    f"{{distribution: normal, mean: {_num(r.value)}, sd: {_num(r.se)}, "
                    f"low: {_num(p.lo)}, high: {_num(p.hi)}}}"
                )

            if len(group) == 1 and not group[0].elements:
                lines.append(f"  {name_}: {dist(group[0])}")
            else:
                lines.append(f"  {name_}:")
                for p in group:
                    for el in p.elements:
                        lines.append(f"    {el}: {dist(p)}")
    return "\n".join(lines) + "\n"


def _by_name(params) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in params:
        out.setdefault(p.name, []).append(p)
    return out
