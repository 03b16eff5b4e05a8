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
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError

_PRIOR_RE = re.compile(
    r"^\s*(?P<kind>[a-z]+)\s*(\((?P<args>[^()]*)\))?\s*(\[(?P<el>[^\[\]]*)\])?\s*$"
)
PRIORS = ("uniform", "loguniform", "normal", "triangular")
#: The comment lines at the top of the YAML of a fit.
YAML_HEADER = (
    "Written by `yaan-sim calibrate`: constants fitted to the data ledger.",
    "Copy a value into the .mdl (with its interval in the source field) to adopt it;",
    "`yaan-sim calibrate --posterior` gives the full posterior ensemble.",
)
#: Seasonal factors (a sub-year total over its share of time) fitted with ``seasonal=True``.
SEASONAL_RANGE = (0.5, 1.5)  # assumed: no Ya'an quarterly pattern was found


# ------------------------------------------------------------------ priors and parameters


@dataclass(frozen=True)
class Prior:
    """A prior on ``[lo, hi]``: uniform, loguniform, normal(mean, sd) or triangular(mode)."""

    kind: str
    lo: float
    hi: float
    args: tuple = ()

    def logpdf(self, x) -> np.ndarray:
        """Log density (up to a constant) at ``x``; -inf outside ``[lo, hi]``."""
        x = np.asarray(x, dtype=float)
        inside = (x >= self.lo) & (x <= self.hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "uniform":
                out = np.zeros_like(x)
            elif self.kind == "loguniform":
                out = -np.log(x)
            elif self.kind == "normal":
                m, s = self.args
                out = -0.5 * ((x - m) / s) ** 2
            else:
                (mode,) = self.args
                out = np.where(
                    x < mode,
                    np.log(np.maximum(x - self.lo, 0) / max(mode - self.lo, 1e-300)),
                    np.log(np.maximum(self.hi - x, 0) / max(self.hi - mode, 1e-300)),
                )
        return np.where(inside, out, -np.inf)

    def ppf(self, u) -> np.ndarray:
        """Inverse CDF at unit values ``u`` (for starting points and tests)."""
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
        lo, hi = self.lo, self.hi
        if self.kind == "uniform":
            return lo + u * (hi - lo)
        if self.kind == "loguniform":
            return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        if self.kind == "normal":
            from scipy.stats import truncnorm

            m, s = self.args
            return truncnorm.ppf(u, (lo - m) / s, (hi - m) / s, loc=m, scale=s)
        (mode,) = self.args
        c = (mode - lo) / (hi - lo)
        return np.where(
            u < c,
            lo + np.sqrt(u * (hi - lo) * (mode - lo)),
            hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode)),
        )

    def text(self) -> str:
        args = f"({', '.join(f'{a:g}' for a in self.args)})" if self.args else ""
        return f"{self.kind}{args} on [{self.lo:g}, {self.hi:g}]"


def make_prior(kind: str, args: tuple, lo: float, hi: float, where: str) -> Prior:
    """A checked Prior; ``where`` names the constant in messages."""
    if kind not in PRIORS:
        raise YaanSimError(f"{where}: unknown prior {kind!r}; use one of {', '.join(PRIORS)}")
    need = {"uniform": 0, "loguniform": 0, "normal": 2, "triangular": 1}[kind]
    if len(args) != need:
        raise YaanSimError(
            f"{where}: {kind} takes {need} number(s) in brackets, e.g. "
            + {0: kind, 1: "triangular(0.1)", 2: "normal(0.1, 0.03)"}[need]
        )
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise YaanSimError(
            f"{where}: needs a finite [min,max] range in the .mdl to be calibrated "
            "(its prior lives on that range)"
        )
    if kind == "loguniform" and lo <= 0:
        raise YaanSimError(f"{where}: loguniform needs min > 0 (the range is [{lo:g}, {hi:g}])")
    if kind == "normal" and args[1] <= 0:
        raise YaanSimError(f"{where}: normal(mean, sd) needs sd > 0")
    if kind == "triangular" and not lo <= args[0] <= hi:
        raise YaanSimError(
            f"{where}: the triangular mode {args[0]:g} lies outside [{lo:g}, {hi:g}]"
        )
    return Prior(kind, float(lo), float(hi), tuple(float(a) for a in args))


@dataclass(frozen=True)
class Param:
    """A fitted quantity: one value for one element, a group of elements, or a constant.

    ``kind`` is ``constant`` (a model constant) or ``seasonal`` (a measurement factor).
    """

    label: str
    name: str
    dim: str | None
    elements: tuple[str, ...]  # the cells this value sets (empty: the whole constant)
    lo: float
    hi: float
    x0: float
    prior: Prior
    units: str
    is_lever: bool
    kind: str = "constant"


def _split_elements(text: str | None) -> list[tuple[str, ...]] | None:
    """``"ETDZ, Hanyuan+Shimian"`` -> [("ETDZ",), ("Hanyuan", "Shimian")]; None: all."""
    if text is None or not text.strip() or text.strip() == "*":
        return None
    from yaan_sim.model.levers import ELEMENT_SEP

    return [tuple(e.strip() for e in g.split("+") if e.strip()) for g in ELEMENT_SEP.split(text)]


def _element_groups(
    c, groups: list[tuple[str, ...]] | None, pool: dict, resolve_place=None
) -> list[tuple[str | None, tuple[str, ...]]]:
    """``(dim, elements)`` of each parameter of constant ``c``: the ``groups`` checked by
    :func:`~yaan_sim.model.levers.parse_lever_spec` (names, ranges, "did you mean", parks
    and regions by their Chinese names through ``resolve_place``); a
    group of one range gives one parameter per element, names joined by ``+`` one shared
    parameter. ``groups`` None: one parameter per element (the whole constant if it has
    no subscripts)."""
    from yaan_sim.model.levers import parse_lever_spec

    if not c.dims:
        if groups:
            raise YaanSimError(f"{c.name!r} has no subscripts; drop the [elements]")
        return [(None, ())]
    if groups is None:
        if len(c.dims) > 1:
            raise YaanSimError(f"{c.name!r} has {len(c.dims)} subscripts; name the elements to fit")
        return [(c.dims[0], (el,)) for el in c.coords[c.dims[0]]]
    out: list[tuple[str | None, tuple[str, ...]]] = []
    for g in groups:
        sel = parse_lever_spec(
            f"{c.name}[{', '.join(g)}]", pool, noun="constant", resolve_place=resolve_place
        )
        if len(g) == 1:  # an element, or a range's elements each on its own
            out += [(sel.dim, (el,)) for el in sel.elements]
        else:
            out.append((sel.dim, sel.elements))
    return out


def _params_of(c, cells, prior_spec, where, base) -> list[Param]:
    """Parameters of constant ``c``, one per ``(dim, elements)`` of ``cells``."""
    kind, args = prior_spec
    prior = make_prior(kind, args, c.min, c.max, where)
    out = []
    for dim, els in cells:
        if dim is None:
            label, x0 = c.name, float(base)
        else:
            label, x0 = f"{c.name}[{'+'.join(els)}]", float(np.mean(base.sel({dim: list(els)})))
        out.append(
            Param(
                label, c.name, dim, els, c.min, c.max, _clip(x0, prior), prior, c.units, c.is_lever
            )
        )
    return out


def _clip(x0: float, prior: Prior) -> float:
    return float(min(max(x0, prior.lo), prior.hi))


def _prior_args(text: str | None, where: str) -> tuple:
    if not text or not text.strip():
        return ()
    try:
        return tuple(float(a) for a in text.split(","))
    except ValueError:
        raise YaanSimError(f"{where}: prior arguments {text!r} must be numbers") from None


def parse_calibrate_field(text: str, where: str) -> tuple[str, tuple, list | None]:
    """``calibrate: normal(0.1, 0.03) [ETDZ]`` -> ("normal", (0.1, 0.03), [("ETDZ",)])."""
    t = text.strip()
    if t.lower() in ("", "yes", "true"):
        return "uniform", (), None
    m = _PRIOR_RE.match(t)
    if not m:
        raise YaanSimError(
            f"{where}: cannot read `calibrate: {t}`; write e.g. `calibrate: uniform`, "
            "`calibrate: loguniform [ETDZ]` or `calibrate: normal(0.1, 0.03) [ETDZ+Hanyuan]`"
        )
    return m["kind"], _prior_args(m["args"], where), _split_elements(m["el"])


def parse_params(specs=None, model=None, scenario=None) -> list[Param]:
    """The parameters to fit: ``specs`` (``"Name"``, ``"Name[ETDZ, A+B]"``) or, when
    None, every constant with a ``calibrate:`` field in the .mdl.

    A spec is a lever spec (:func:`~yaan_sim.model.levers.parse_lever_spec`) over every
    constant, extended by ``+`` for a value shared by several elements. A name given in
    ``specs`` takes its prior from its ``calibrate:`` field when it has one, else uniform
    on its range.
    """
    from yaan_sim.model.levers import SPEC_RE, constants, parse_lever_spec
    from yaan_sim.scenario.places import Places

    pool = constants(model)
    resolve_place = Places.from_model(model).resolve  # Name[经开区]
    out: list[Param] = []
    if specs is None:
        for name, c in pool.items():
            text = model.meta[name].fields.get("calibrate")
            if text is None:
                continue
            where = f"{model.mdl_path.name}: {name}"
            kind, args, groups = parse_calibrate_field(text, where)
            try:
                groups_of = _element_groups(c, groups, pool, resolve_place)
            except YaanSimError as exc:
                raise YaanSimError(f"{where}: {exc}") from None
            out += _params_of(c, groups_of, (kind, args), where, _base_value(c, scenario, model))
        if not out:
            raise YaanSimError(
                f"{model.mdl_path.name} marks no constant with a `calibrate:` field: add one "
                "(docs/analysis.md, 'Calibration') or name the constants with --params"
            )
    else:
        for spec in specs:
            # the name through the shared parser (its messages); the brackets' groups below
            m = SPEC_RE.match(str(spec))
            c = parse_lever_spec(m["name"] if m else str(spec), pool, noun="constant").lever
            assert m is not None  # parse_lever_spec refused a spec of another form
            field_text = model.meta[c.name].fields.get("calibrate")
            kind, args = ("uniform", ())
            if field_text is not None:
                kind, args, _ = parse_calibrate_field(
                    field_text, f"{model.mdl_path.name}: {c.name}"
                )
            groups_of = _element_groups(c, _split_elements(m["el"]), pool, resolve_place)
            out += _params_of(
                c, groups_of, (kind, args), f"parameter {spec!r}", _base_value(c, scenario, model)
            )
    labels = [p.label for p in out]
    if len(set(labels)) != len(labels):
        raise YaanSimError(f"a parameter is named twice: {', '.join(labels)}")
    cells: dict = {}
    for p in out:
        for el in p.elements or ("*",):
            if (p.name, el) in cells:
                raise YaanSimError(
                    f"{p.label} and {cells[(p.name, el)]} both set {p.name}[{el}]: "
                    "give each element to one parameter"
                )
            cells[(p.name, el)] = p.label
    return out


def _base_value(c, scenario, model) -> xr.DataArray:
    """The scenario's value of a constant or the .mdl's; a time schedule cannot be fitted."""
    if scenario is not None and c.name in getattr(scenario, "levers", {}):
        da = scenario.overrides(model)[c.name]
        if "time" in da.dims:
            if np.ptp(da.values, axis=da.dims.index("time")).max() > 0:
                raise YaanSimError(
                    f"scenario {scenario.name!r} sets {c.name!r} as a time schedule, so it "
                    "cannot be calibrated: remove it from the scenario or from the parameters"
                )
            da = da.isel(time=0, drop=True)
        return da.astype(float)
    return c.default.astype(float)


def seasonal_params(obs) -> list[Param]:
    """One seasonal factor per sub-year period form among the fitted figures (Q1, H1...)."""
    keys = sorted({o.seasonal_key for o in obs.of_role("fit") if o.seasonal_key})
    lo, hi = SEASONAL_RANGE
    prior = Prior("uniform", lo, hi)
    return [
        Param(
            f"seasonal[{k}]", "seasonal", None, (k,), lo, hi, 1.0, prior, "Dmnl", False, "seasonal"
        )
        for k in keys
    ]


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
                self.base[p.name] = _base_value(pool[p.name], scenario, model)
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
        from yaan_sim.analysis.backtest import evaluate

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


# ------------------------------------------------------------------ the result


@dataclass
class CalibrationResult:
    """A fit: parameters with uncertainty, per-series statistics, every figure compared.

    Attributes
    ----------
    params : pandas.DataFrame
        label, name, elements, units, prior, start, value, se, ci_low, ci_high (95 %,
        within the range), min, max, at_bound, informed (the fitted figures move it),
        identified (and pin it down: not free jointly with other parameters).
    stats : dict
        n_fit, n_held_out, n_params, dof, chi2, chi2_dof, birge, cost, success, message,
        engine calls and runs, seconds.
    series : pandas.DataFrame
        Per series (variable, scope, kind) and role: n, RMSE, MAPE, log_rmse, bias,
        theil_U, U_M, U_S, U_C.
    table : pandas.DataFrame
        The back-test table at the fitted values (every ledger row), with
        ``simulated_start`` (at the start values).
    correlation : pandas.DataFrame
    info : dict
    """

    params: pd.DataFrame
    stats: dict
    series: pd.DataFrame
    table: pd.DataFrame
    correlation: pd.DataFrame
    info: dict = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        return dict(zip(self.params["label"], self.params["value"], strict=True))

    def summary(self) -> str:
        """A text report: parameters, fit statistics, per-series errors."""
        lines = [
            "Fitted parameters (95% interval from the linearised covariance"
            + (
                f", inflated by the Birge ratio {self.stats['birge']:.3g}"
                if self.stats["birge"] > 1
                else ""
            )
            + "):"
        ]
        for r in self.params.itertuples():
            flag = "; AT BOUND" if r.at_bound else ""
            if not r.informed:
                flag += "; NOT INFORMED by the data"
            elif not r.identified:
                flag += "; NOT IDENTIFIED: the fitted figures move it only jointly with others"
            lines.append(
                f"  {r.label:<44} {r.value:.6g}  (se {r.se:.3g}; "
                f"[{r.ci_low:.4g}, {r.ci_high:.4g}]; start {r.start:.4g}; prior {r.prior}{flag})"
            )
        s = self.stats
        lines.append(
            f"Fit: {s['n_fit']} figures fitted, {s['n_held_out']} held out (periods after "
            f"{self.info['cutoff']}), {s['n_params']} parameters, dof {s['dof']}; "
            f"chi2 {s['chi2']:.4g} (chi2/dof {s['chi2_dof']:.3g})"
        )
        lines.append("Per series (fit = in sample, held-out = out of sample):")
        lines.append(
            self.series.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
            if len(self.series)
            else "  (no series)"
        )
        return "\n".join(lines)

    def to_yaml(self) -> str:
        """The fitted values and their uncertainty as YAML (see :meth:`write_yaml`)."""
        from yaan_sim.outputs.scenario_file import dump_yaml

        return dump_yaml(self._document(), YAML_HEADER)

    def write_yaml(self, path, force: bool = False) -> Path:
        """Write :meth:`to_yaml` atomically (never over a file without ``force``)."""
        from yaan_sim.outputs.scenario_file import write_yaml

        return write_yaml(path, self._document(), YAML_HEADER, force=force)

    def _document(self) -> dict:
        doc = {
            "kind": "yaan-sim calibration",
            "created_utc": self.info["created_utc"],
            "model": {"file": self.info["model_file"], "sha256": self.info["model_sha256"]},
            "ledger_sha256": self.info["ledger_sha256"],
            "cutoff": self.info["cutoff"],
            "scenario": self.info["scenario"],
            "observation_errors": self.info["obs_errors"],
            "model_error": self.info["model_error"],
            "parameters": {
                r.label: {
                    "value": _num(r.value),
                    "se": _num(r.se),
                    "ci95": [_num(r.ci_low), _num(r.ci_high)],
                    "start": _num(r.start),
                    "range": [_num(r.min), _num(r.max)],
                    "prior": r.prior,
                    "units": r.units,
                    "informed": bool(r.informed),
                    "identified": bool(r.identified),
                    "at_bound": bool(r.at_bound),
                }
                for r in self.params.itertuples()
            },
            "fit": {
                k: (_num(v) if isinstance(v, float) else v)
                for k, v in self.stats.items()
                if k in ("n_fit", "n_held_out", "n_params", "dof", "chi2", "chi2_dof", "birge")
            },
            "series": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.series.to_dict("records")
            ],
        }
        return doc


def _num(x):
    """A number as the YAML shows it: 6 significant digits; NaN as empty; infinity as
    YAML's own ``.inf`` (a number when read back, not the text '.inf')."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return x
    return float(f"{x:.6g}")


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
    from yaan_sim.analysis.backtest import DEFAULT_CUTOFF, observations
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


def _identified_covariance(J: np.ndarray, informed: np.ndarray, birge: float):
    """``(identified, cov)``: which parameters the fitted figures pin down, and their
    linearised covariance ``(J'J)^-1`` times ``birge**2``.

    A parameter that moves the residuals (``informed``) may still be free jointly with
    others: with fewer figures than parameters, or two that move the figures alike, J'J is
    singular and its inverse is numerical noise (negative or zero variances). A parameter
    is identified where it has no weight (under 1e-3) in the null space of the informed
    columns of J (singular values below 1e-8 of the largest); the others get an infinite
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
    identified, cov = _identified_covariance(J, informed, birge)
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
    table = _compared_table(pb, sims[1], sims[0])
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


def _compared_table(pb: Problem, sim: np.ndarray, sim_start: np.ndarray | None = None):
    """The back-test table (every ledger row) with the simulated values of ``sim``."""
    from yaan_sim.analysis.backtest import GROWTH_KINDS, TABLE_COLUMNS

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
