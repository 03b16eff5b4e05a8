"""Calibration parameters: priors, the ``calibrate:`` field and ``Name[ETDZ+Hanyuan]`` specs.

Which constants are fitted, how their elements are grouped into parameters, and the prior
each one gets (the syntax is in :mod:`yaan_sim.analysis.calibrate`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from yaan_sim.errors import YaanSimError

_PRIOR_RE = re.compile(
    r"^\s*(?P<kind>[a-z]+)\s*(\((?P<args>[^()]*)\))?\s*(\[(?P<el>[^\[\]]*)\])?\s*$"
)
PRIORS = ("uniform", "loguniform", "normal", "triangular")
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
                rising = np.log(np.maximum(x - self.lo, 0) / max(mode - self.lo, 1e-300))
                falling = np.log(np.maximum(self.hi - x, 0) / max(self.hi - mode, 1e-300))
                # at the mode itself the density is at its peak (log 1 = 0), also where the
                # mode is a bound and that side has no width (it gave -inf at hi = mode)
                out = np.where(x < mode, rising, np.where(x > mode, falling, 0.0))
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
            out += _params_of(c, groups_of, (kind, args), where, base_value(c, scenario, model))
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
                c, groups_of, (kind, args), f"parameter {spec!r}", base_value(c, scenario, model)
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


def base_value(c, scenario, model) -> xr.DataArray:
    """The scenario's value of a constant (a lever a scenario file sets, or a value a
    FixedScenario holds: whatever its ``overrides`` give) or the .mdl's; a time schedule
    cannot be fitted."""
    over = scenario.overrides(model) if scenario is not None else {}
    if c.name in over:
        da = over[c.name]
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
