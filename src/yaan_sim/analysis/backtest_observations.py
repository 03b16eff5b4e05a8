"""Matching the data ledger to the model: which ledger row the model observes, and how;
the simulated value of each observation (:func:`evaluate`).

Matching (:func:`observations`): a ledger row becomes an observation where a model
variable carries ``observes: <the row's variable>`` in its .mdl comment, at a scope the
model has: a park (the variable is subscripted by ``Park``), the city (a variable
without ``Park``: the model's city totals), or a region (a sub-range of ``Park``, summed).
Its operator (:mod:`yaan_sim.outputs.measures`) follows from the period, the kind and
the units: a flow's total over the period, a stock at the end, a share's mean, a growth
on the same period a year before. Every other row is kept with the reason it is not
comparable (a county or the province, a plan target, a period outside the run, units
that measure something else, no model variable observing it), never dropped silently.

Roles: ``fit`` (used by the calibration), ``held-out`` (period ending after the
cut-off year, default 2017: compared, never fitted), ``derived`` (computed in the
ledger from other rows that are themselves compared: shown, not counted twice) and
``not comparable``.

Example::

    from yaan_sim.analysis.backtest_observations import observations
    obs = observations(model, horizon)      # one per ledger row, matched or with a reason
    obs.of_role("fit")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import Ledger, Period, parse_period, read_ledger
from yaan_sim.outputs.measures import (
    MeasureError,
    conversion,
    fmt_factor,
    growth_parts,
    how_for,
    parse_unit,
    weights,
)

#: Figures whose period ends after the end of this year are held out by default.
DEFAULT_CUTOFF = 2017
ROLES = ("fit", "held-out", "derived", "not comparable")
LEVEL_KINDS = ("level", "share")
GROWTH_KINDS = ("growth", "change")
#: Observation errors by confidence (assumed, docs/analysis.md "Observation errors"):
#: levels and shares on the log scale (0.10 = about 10 %), growth rates in points.
OBS_ERRORS = {
    "level": {"H": 0.05, "M": 0.10, "L": 0.25},
    "growth": {"H": 1.0, "M": 2.0, "L": 5.0},
}


# ------------------------------------------------------------------ what the model observes


@dataclass(frozen=True)
class Observer:
    """A model variable that measures a ledger variable (``observes:`` in the .mdl)."""

    variable: str  # ledger variable
    vensim: str
    py_name: str
    units: str
    parks: bool  # subscripted by Park
    stateful: bool


def observers(model) -> dict[tuple[str, str], Observer]:
    """``{(ledger variable, "park" | "city"): Observer}`` from the .mdl's ``observes:`` fields.

    Raises YaanSimError where two variables observe the same thing at the same scope, or
    a field names a variable the ledger's README does not list.
    """
    from yaan_sim.model.ledger import read_schema

    known = read_schema().variables
    out: dict[tuple[str, str], Observer] = {}
    for meta in model.meta.values():
        text = meta.fields.get("observes", "").strip()
        if not text:
            continue
        dims = model.dims_of(meta.name)
        for var in (v.strip() for v in text.split(",") if v.strip()):
            if var not in known:
                import difflib

                hint = difflib.get_close_matches(var, known, n=1)
                raise YaanSimError(
                    f"{model.mdl_path.name}: {meta.name!r} observes {var!r}, which is not a "
                    "ledger variable (models/data/ledger/README.md)"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
            scope = "park" if "park" in dims else "city"
            key = (var, scope)
            if key in out:
                raise YaanSimError(
                    f"{model.mdl_path.name}: both {out[key].vensim!r} and {meta.name!r} observe "
                    f"{var!r} at {scope} scope; keep one `observes:` field"
                )
            out[key] = Observer(
                var,
                meta.name,
                meta.py_name,
                meta.units,
                "park" in dims,
                meta.kind == "Stateful",
            )
    return out


# ------------------------------------------------------------------ observations


@dataclass(frozen=True)
class Observation:
    """One ledger figure the model can produce, with its operator and error."""

    id: str
    variable: str
    scope: str
    parks: tuple[str, ...] | None  # the parks summed; None for a city variable
    period: Period
    kind: str
    value: float
    unit: str
    confidence: str
    py_name: str
    vensim: str
    how: str  # total | end | mean
    factor: float  # model measure x factor = the data's unit
    scale: str  # log (levels, shares) | linear (growth, in points)
    sigma: float
    role: str
    seasonal_key: str | None = None  # "Q1", "H1", ... for sub-year totals

    def residual(self, sim: np.ndarray) -> np.ndarray:
        """(simulated - observed) / sigma on the observation's scale."""
        if self.scale == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return (np.log(np.where(sim > 0, sim, np.nan)) - math.log(self.value)) / self.sigma
        return (sim - self.value) / self.sigma


@dataclass
class ObservationSet:
    """The matched ledger: ``table`` (every row, with role and reason) and ``items``."""

    table: pd.DataFrame
    items: list[Observation]
    horizon: object
    cutoff: int
    ledger_sha256: str
    obs_errors: dict = field(default_factory=dict)

    def of_role(self, *roles) -> list[Observation]:
        return [o for o in self.items if o.role in roles]

    @property
    def return_vars(self) -> list[str]:
        return sorted({o.py_name for o in self.items})

    def evaluate(self, ds: xr.Dataset, items=None, seasonal: dict | None = None) -> np.ndarray:
        """Simulated values of ``items`` (default all): shape ``(samples, n)``.

        ``ds`` is one scenario's results (dims ``[sample,] time, [park]``).
        """
        items = self.items if items is None else items
        return evaluate(ds, items, seasonal)


def _seasonal_key(period: Period) -> str | None:
    if period.form != "subyear":
        return None
    text = period.text[4:]
    return text


def observations(
    model,
    ledger: Ledger | None = None,
    *,
    cutoff: int = DEFAULT_CUTOFF,
    horizon=None,
    obs_errors: dict | None = None,
) -> ObservationSet:
    """Match every ledger row to the model: an Observation, or the reason it cannot be.

    Parameters
    ----------
    model : YaanModel
    ledger : Ledger, optional
        Default: :func:`yaan_sim.model.ledger.read_ledger`.
    cutoff : int
        Rows whose period ends after 31 December of this year are ``held-out``.
    horizon : Horizon, optional
        The run the figures are compared with (default: the model's).
    obs_errors : dict, optional
        ``{"level": {"H": ..}, "growth": {...}}`` replacing :data:`OBS_ERRORS` entries.
    """
    ledger = read_ledger() if ledger is None else ledger
    h = horizon or model.default_horizon
    errs = {k: dict(v) for k, v in OBS_ERRORS.items()}
    for k, v in (obs_errors or {}).items():
        if k not in errs:
            raise YaanSimError(f"observation errors: unknown group {k!r} (level or growth)")
        errs[k].update(v)
    obs = observers(model)
    parks = list(model.subscripts.get("Park", []))
    regions = {
        r: tuple(els)
        for r, els in model.subscripts.items()
        if r != "Park" and model.dim_of_range.get(r) == "park"
    }
    inputs = _input_figures(model, set(ledger.rows.index))
    rows, items = [], []
    for r in ledger.rows.itertuples(index=False):
        period = parse_period(r.period)
        if r.id in inputs:  # comparing the model with its own input proves nothing
            item, reason = (
                None,
                (f"an input of the model: {inputs[r.id]} is derived from it (its source field)"),
            )
        else:
            item, reason = _match(r, period, obs, parks, regions, h, errs)
        role = "not comparable" if item is None else _role(period, cutoff)
        if item is not None:
            item = replace(item, role=role)
            items.append(item)
        rows.append(
            {
                "id": r.id,
                "variable": r.variable,
                "measure_zh": r.measure_zh,
                "scope": r.scope,
                "period": r.period,
                "kind": r.kind,
                "observed": r.value,
                "unit": r.unit,
                "confidence": r.confidence,
                "role": role,
                "reason": reason,
                "model_variable": item.vensim if item else "",
                "operator": _operator_text(item) if item else "",
                "sigma": item.sigma if item else math.nan,
                "source": r.source_title or r.source_url or r.derivation,
                "refs": r.refs,
            }
        )
    table = pd.DataFrame(rows)
    # a figure derived from other compared figures adds no information: show, don't fit
    compared = {o.id for o in items}
    for i, o in enumerate(items):
        refs = ledger.rows.loc[o.id, "refs"]
        if refs and all(x in compared for x in refs):
            items[i] = replace(o, role="derived")
            sel = table["id"] == o.id
            table.loc[sel, "role"] = "derived"
            table.loc[sel, "reason"] = "computed in the ledger from " + ", ".join(refs)
    return ObservationSet(table, items, h, int(cutoff), ledger.sha256, errs)


def _input_figures(model, ids: set[str]) -> dict[str, str]:
    """``{ledger id: Vensim name}`` of the figures a constant or table is computed from:
    those whose ``source:`` field starts with "derived" and cites the id."""
    import re

    out: dict[str, str] = {}
    for meta in model.meta.values():
        src = meta.fields.get("source", "").strip()
        if not src.lower().startswith("derived"):
            continue
        for tok in re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", src):
            if tok in ids:
                out.setdefault(tok, meta.name)
    return out


def _role(period: Period, cutoff: int) -> str:
    return "held-out" if period.end > cutoff + 1 + 1e-9 else "fit"


def _match(r, period, obs, parks, regions, h, errs):
    """(Observation, "") or (None, reason)."""
    if r.kind == "target":
        return None, "a plan target, not a measured figure"
    if r.scope_kind in ("county", "province"):
        return None, f"the model has no {r.scope_kind} scope (its parks are part of counties)"
    if r.scope_kind == "park" and r.scope not in parks and r.scope not in regions:
        return None, f"{r.scope!r} is not a park of the model"
    scope = "park" if r.scope_kind in ("park", "region") else "city"
    ob = obs.get((r.variable, scope))
    if ob is None:
        other = obs.get((r.variable, "park" if scope == "city" else "city"))
        extra = (
            f" (only at {'park' if scope == 'city' else 'city'} scope: {other.vensim})"
            if other
            else ""
        )
        if other is not None and scope == "city":
            return None, (
                f"a city-wide {r.variable}: it includes what lies outside the nine parks, "
                f"which the model does not hold ({other.vensim} is per park)"
            )
        return None, f"no model variable observes {r.variable} at {scope} scope{extra}"
    member = None
    if scope == "park":
        member = regions.get(r.scope, (r.scope,))
    growth = r.kind in GROWTH_KINDS
    try:
        if growth:
            if r.unit != "%":
                return None, f"a growth rate in {r.unit!r}: growth is compared in %"
            m = parse_unit(ob.units)
            how = "total" if m.per_year() else ("end" if ob.stateful else "mean")
            factor = 1.0
        else:
            how = how_for(ob.units, r.unit, ob.stateful)
            factor = conversion(ob.units, r.unit, how)
    except MeasureError as exc:
        return None, str(exc)
    if period.form == "date" and how == "total":
        return None, "a flow needs a period, not a date"
    need = [period] if not growth else list(growth_parts(period)[:2])
    lo = min(p.start for p in need)
    hi = max(p.end for p in need)
    if lo < h.start - 1e-9 or hi > h.stop + 1e-9:
        return None, (f"needs the model over {lo:g}-{hi:g}; the run covers {h.start:g}-{h.stop:g}")
    if not growth and r.value <= 0:
        return None, "a level of 0 or less cannot be compared on the log scale"
    sigma = errs["growth" if growth else "level"][r.confidence]
    return (
        Observation(
            id=r.id,
            variable=r.variable,
            scope=r.scope,
            parks=member,
            period=period,
            kind=r.kind,
            value=float(r.value),
            unit=r.unit,
            confidence=r.confidence,
            py_name=ob.py_name,
            vensim=ob.vensim,
            how=how,
            factor=factor,
            scale="linear" if growth else "log",
            sigma=float(sigma),
            role="",
            seasonal_key=_seasonal_key(period) if how == "total" and not growth else None,
        ),
        "",
    )


def _operator_text(o: Observation) -> str:
    what = {"total": "total over", "end": "value at the end of", "mean": "mean over"}[o.how]
    where = "" if o.parks is None else (f"[{'+'.join(o.parks)}]" if o.parks else "")
    core = f"{what} {o.period.text} of {o.vensim}{where}{fmt_factor(o.factor)}"
    if o.kind in GROWTH_KINDS:
        return f"growth %: {core} / same a year before"
    return core


# ------------------------------------------------------------------ simulated values


def _series(ds: xr.Dataset, o: Observation) -> np.ndarray:
    """(samples, time) of the observed variable at the observation's scope."""
    if o.py_name not in ds.data_vars:
        raise YaanSimError(
            f"the results have no variable {o.py_name!r} ({o.vensim}), needed for ledger "
            f"row {o.id}: run with it kept (return_vars) or use the full results"
        )
    da = ds[o.py_name]
    if o.parks is not None:
        da = da.sel(park=list(o.parks)).sum("park")
    extra = [d for d in da.dims if d not in ("sample", "time")]
    if extra:
        da = da.sum(extra)
    if "sample" not in da.dims:
        da = da.expand_dims("sample")
    return np.asarray(da.transpose("sample", "time").values, dtype=float)


def evaluate(ds: xr.Dataset, items, seasonal: dict | None = None) -> np.ndarray:
    """Simulated measures ``(samples, len(items))`` from one scenario's results."""
    times = np.asarray(ds["time"].values, dtype=float)
    cache: dict = {}
    wcache: dict = {}

    def w(start, end, how):
        key = (round(start, 9), round(end, 9), how)
        if key not in wcache:
            wcache[key] = weights(times, start, end, how)
        return wcache[key]

    cols = []
    for o in items:
        key = (o.py_name, o.parks)
        if key not in cache:
            cache[key] = _series(ds, o)
        s = cache[key]
        if o.kind in GROWTH_KINDS:
            num, den, power = growth_parts(o.period)
            x1 = s @ w(num.start, num.end, o.how)
            x0 = s @ w(den.start, den.end, o.how)
            with np.errstate(divide="ignore", invalid="ignore"):
                cols.append(100 * ((x1 / x0) ** power - 1))
        else:
            f = o.factor
            if seasonal and o.seasonal_key in seasonal:
                f = f * seasonal[o.seasonal_key]
            cols.append(f * (s @ w(o.period.start, o.period.end, o.how)))
    if not cols:
        n = ds.sizes.get("sample", 1)
        return np.zeros((n, 0))
    return np.stack(cols, axis=1)
