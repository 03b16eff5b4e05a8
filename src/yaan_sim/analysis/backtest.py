"""The model against the data ledger: matching, the back-test table, held-out checks.

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

    from yaan_sim.analysis.backtest import backtest
    table = backtest(model)                 # runs the baseline; one row per ledger figure
    table[table.role != "not comparable"]
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import Ledger, Period, parse_period, read_ledger
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.charts import _with_fonts
from yaan_sim.outputs.measures import (
    MeasureError,
    conversion,
    fmt_factor,
    growth_parts,
    how_for,
    parse_unit,
    weights,
)
from yaan_sim.paths import MODELS_DIR

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


# ------------------------------------------------------------------ the back-test table


TABLE_COLUMNS = [
    "id",
    "variable",
    "scope",
    "period",
    "kind",
    "measure_zh",
    "observed",
    "simulated",
    "ratio",
    "error",
    "unit",
    "role",
    "confidence",
    "reason",
    "model_variable",
    "operator",
    "source",
]


def backtest(
    model,
    results: xr.Dataset | None = None,
    ledger: Ledger | None = None,
    *,
    cutoff: int = DEFAULT_CUTOFF,
    scenario: str | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """One row per ledger figure: observed, simulated, ratio, role, confidence, reason.

    Parameters
    ----------
    model : YaanModel
        Says what each model variable observes.
    results : xarray.Dataset, optional
        Results to compare (their ``time`` must cover the periods); default: the .mdl's
        defaults (the baseline) run over the model's horizon at its finest step.
    scenario : str, optional
        Which scenario of ``results`` (default: the only one, else the first).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`; ``ratio`` = simulated / observed for levels and
        shares, ``error`` = 100 (ratio - 1) % for those and simulated - observed
        (points) for growth rates. With a ``sample`` dim, ``simulated`` is the median
        and ``p05``, ``p95`` give the 90 % interval, ``covered`` says whether the
        observed value lies in it.
    """
    h = model.default_horizon
    if results is None:
        from yaan_sim.engines.simulate import simulate

        run_h = Horizon(h.start, h.stop, h.step, h.step)
        obs = observations(model, ledger, cutoff=cutoff, horizon=run_h)
        results = simulate(model, engine=engine, horizon=run_h, return_vars=obs.return_vars or None)
    else:
        t = np.asarray(results["time"].values, dtype=float)
        run_h = Horizon(
            float(t[0]), float(t[-1]), h.step, float(t[1] - t[0]) if len(t) > 1 else h.step
        )
        if run_h.saveper > h.saveper + 1e-9:  # e.g. an ensemble's default: whole years
            raise YaanSimError(
                f"the results are saved every {run_h.saveper:g}, the model every "
                f"{h.saveper:g}: quarterly and half-year figures need the model's saving "
                "period; run again with keep='all' (yaan-sim ensemble --keep all)"
            )
        obs = observations(model, ledger, cutoff=cutoff, horizon=run_h)
        if "scenario" in results.dims:
            names = [str(s) for s in results["scenario"].values]
            if scenario is None:
                scenario = names[0]
            if scenario not in names:
                raise YaanSimError(
                    f"the results have no scenario {scenario!r}: choose from {', '.join(names)}"
                )
            results = results.sel(scenario=scenario)
    table = obs.table.copy()
    items = [o for o in obs.items]
    missing = sorted({o.py_name for o in items if o.py_name not in results.data_vars})
    if missing:
        for o in items:
            if o.py_name in missing:
                sel = table["id"] == o.id
                table.loc[sel, "role"] = "not comparable"
                table.loc[sel, "reason"] = f"the results do not hold {o.py_name} ({o.vensim})"
        items = [o for o in items if o.py_name not in missing]
    sim = evaluate(results, items)
    table["simulated"] = math.nan
    sampled = "sample" in results.dims and results.sizes["sample"] > 1
    if sampled:
        table["p05"] = math.nan
        table["p95"] = math.nan
    index = {rid: i for i, rid in enumerate(table["id"])}
    for j, o in enumerate(items):
        i = index[o.id]
        col = sim[:, j]
        table.iat[i, table.columns.get_loc("simulated")] = float(np.nanmedian(col))
        if sampled:
            table.iat[i, table.columns.get_loc("p05")] = float(np.nanquantile(col, 0.05))
            table.iat[i, table.columns.get_loc("p95")] = float(np.nanquantile(col, 0.95))
    growth = table["kind"].isin(GROWTH_KINDS)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table["simulated"] / table["observed"]
    table["ratio"] = np.where(growth, math.nan, ratio)
    table["error"] = np.where(growth, table["simulated"] - table["observed"], 100 * (ratio - 1))
    if sampled:
        table["covered"] = np.where(
            table["simulated"].notna(),
            (table["observed"] >= table["p05"]) & (table["observed"] <= table["p95"]),
            pd.NA,
        )
    cols = TABLE_COLUMNS + (["p05", "p95", "covered"] if sampled else [])
    out = table[cols].reset_index(drop=True)
    out.attrs.update(
        cutoff=int(cutoff),
        ledger_sha256=obs.ledger_sha256,
        model_sha256=model.mdl_sha256,
        horizon=[run_h.start, run_h.stop],
    )
    return out


def error_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per series (variable, scope, kind) and role (fit, held-out): n, RMSE, MAPE, bias.

    Levels and shares: ``RMSE`` in the series' unit, ``MAPE`` in %, ``log_rmse`` the
    root-mean-square log error. Growth rates: ``RMSE`` and ``bias`` in points.
    """
    use = table[table["role"].isin(["fit", "held-out"]) & table["simulated"].notna()]
    rows = []
    for (var, scope, kind, unit, role), g in use.groupby(
        ["variable", "scope", "kind", "unit", "role"], sort=True
    ):
        s = g["simulated"].to_numpy(float)
        a = g["observed"].to_numpy(float)
        row = {
            "variable": var,
            "scope": scope,
            "kind": kind,
            "unit": unit,
            "role": role,
            "n": len(g),
            "RMSE": float(np.sqrt(np.mean((s - a) ** 2))),
            "bias": float(np.mean(s - a)),
        }
        if kind in GROWTH_KINDS:
            row["MAPE"] = math.nan
            row["log_rmse"] = math.nan
        else:
            row["MAPE"] = float(100 * np.mean(np.abs(s / a - 1)))
            row["log_rmse"] = float(np.sqrt(np.mean(np.log(s / a) ** 2)))
        rows.append(row)
    cols = ["variable", "scope", "kind", "unit", "role", "n", "RMSE", "MAPE", "log_rmse", "bias"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------ formats and the chart

FORMATS = ("table", "json", "csv")


def format_backtest(table: pd.DataFrame, fmt: str = "table", all_rows: bool = False) -> str:
    """The table as text (compared rows; ``all_rows`` adds the not-comparable ones), JSON
    (every row, records) or CSV (every row)."""
    if fmt == "json":
        return table.to_json(orient="records", force_ascii=False, indent=1)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt != "table":
        raise YaanSimError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    shown = table if all_rows else table[table["role"] != "not comparable"]
    cols = [
        "id",
        "scope",
        "period",
        "kind",
        "observed",
        "simulated",
        "ratio",
        "error",
        "unit",
        "role",
        "confidence",
    ]
    if "p05" in shown.columns:
        cols += ["p05", "p95"]
    if all_rows:
        cols.append("reason")
    text = shown[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
    counts = table["role"].value_counts()
    summary = ", ".join(f"{counts.get(r, 0)} {r}" for r in ROLES)
    return f"{text}\n\n{len(table)} ledger figures: {summary}"


_LABELS = {
    "en": {
        "title": "Model against published figures",
        "x": "observed",
        "y": "simulated",
        "fit": "fitted (in sample)",
        "held-out": "held out",
        "derived": "derived",
        "growth": "growth rates (points)",
        "levels": "levels (log scale)",
    },
    "zh": {
        "title": "模型与公开数据对照",
        "x": "公开数据",
        "y": "模型模拟",
        "fit": "拟合样本内",
        "held-out": "留出检验",
        "derived": "推算数据",
        "growth": "增速（百分点）",
        "levels": "水平值（对数坐标）",
    },
}


@_with_fonts
def backtest_chart(table: pd.DataFrame, ax=None, lang: str = "zh", kind: str = "levels"):
    """Simulated against observed, one point per compared figure; the 1:1 line.

    ``kind="levels"`` plots levels and shares as simulated/observed ratios by figure
    (log scale, so 2x over and 2x under are the same distance from 1);
    ``kind="growth"`` plots growth rates against their observed values. Fitted and
    held-out figures are told apart; returns the axes.
    """
    import matplotlib.pyplot as plt

    L = _LABELS[lang]
    if kind not in ("levels", "growth"):
        raise YaanSimError(f"unknown chart kind {kind!r}: use levels or growth")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    use = table[table["role"].isin(["fit", "held-out", "derived"]) & table["simulated"].notna()]
    growth = use["kind"].isin(GROWTH_KINDS)
    use = use[growth] if kind == "growth" else use[~growth]
    markers = {"fit": "o", "held-out": "s", "derived": "^"}
    if kind == "growth":
        for role, g in use.groupby("role"):
            ax.scatter(g["observed"], g["simulated"], marker=markers[role], label=L[role])
        lims = (
            [
                min(use["observed"].min(), use["simulated"].min(), 0) - 1,
                max(use["observed"].max(), use["simulated"].max(), 0) + 1,
            ]
            if len(use)
            else [0, 1]
        )
        ax.plot(lims, lims, color="0.5", lw=1)
        ax.set_xlabel(f"{L['x']} (%)")
        ax.set_ylabel(f"{L['y']} (%)")
        ax.set_title(f"{L['title']}: {L['growth']}")
    else:
        labels = list(use["id"])
        y = np.arange(len(labels))
        for role in ("fit", "held-out", "derived"):
            sel = (use["role"] == role).to_numpy()
            if sel.any():
                ax.scatter(
                    use["ratio"].to_numpy()[sel], y[sel], marker=markers[role], label=L[role]
                )
        from matplotlib.ticker import FormatStrFormatter

        ax.axvline(1.0, color="0.5", lw=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"{L['y']} / {L['x']}")
        ax.set_title(f"{L['title']}: {L['levels']}")
    if len(use):
        ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------ the old ETDZ back-test
# The model before the 2013 start (INITIAL TIME 2016) reaches back to the ETDZ revenue of
# 2013-2015 (models/data/observed.csv) by a separate run from 2013. Kept until the model
# starts in 2013 (tests/test_model.py, notebook 02 use it); the ledger path above replaces it.

OBSERVED_CSV = MODELS_DIR / "data" / "observed.csv"
PRE_PLAN_GROWTH = 0.10  # assumed; see Investment attraction rate in the .mdl


def read_observed(path: str | Path = OBSERVED_CSV) -> pd.DataFrame:
    """Observed figures (long format, '#' comment lines) as a DataFrame."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    except OSError as exc:
        raise YaanSimError(f"cannot read observed data {path}: {exc.strerror or exc}") from None
    frame = pd.DataFrame(rows)
    if frame.empty or not {"variable", "park", "year", "value"} <= set(frame.columns):
        raise YaanSimError(f"{path}: expected columns variable, park, year, value")
    frame["year"] = frame["year"].astype(int)
    frame["value"] = frame["value"].astype(float)
    return frame


def backtest_setup(model, observed: pd.DataFrame | None = None, park: str = "ETDZ"):
    """Overrides and horizon of the pre-2016 back-test run (the model before 2013)."""
    observed = read_observed() if observed is None else observed
    series = observed[(observed.variable == "revenue") & (observed.park == park)].sort_values(
        "year"
    )
    if series.empty:
        raise YaanSimError(f"no observed revenue for {park} in the observed data")
    start = float(series.year.iloc[0])
    base = model.default_horizon
    years_back = base.start - start
    initial = model.default_value("Initial revenue") / (1 + PRE_PLAN_GROWTH) ** years_back
    initial.loc[park] = series.value.iloc[0]
    horizon = Horizon(start, base.start, base.step, base.saveper)
    return {"Initial revenue": initial}, horizon, series


def run_backtest(model, engine: str = "auto", park: str = "ETDZ") -> pd.DataFrame:
    """Simulated against observed revenue per year, with the relative error.

    A model that starts in the first observed year (models/yaan_parks.mdl starts in 2013)
    runs its own history with its defaults, and each year is compared with the simulated
    calendar-year total; a model that starts later is started in the first observed year
    (:func:`backtest_setup`) and compared at ``t = year``.
    """
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.scenario.fixed import FixedScenario

    observed = read_observed()
    series = observed[(observed.variable == "revenue") & (observed.park == park)].sort_values(
        "year"
    )
    if not series.empty and model.default_horizon.start >= float(series.year.iloc[0]):
        return _history_backtest(model, series, engine, park)
    overrides, horizon, series = backtest_setup(model, observed, park=park)
    ds = simulate(
        model,
        [FixedScenario("backtest", overrides)],
        engine=engine,
        horizon=horizon,
        return_vars=["Revenue"],
    )
    rev = ds["revenue"].sel(scenario="backtest", park=park)
    out = series[["year", "value"]].rename(columns={"value": "observed"}).reset_index(drop=True)
    out["simulated"] = [float(rev.sel(time=float(y))) for y in out.year]
    out["error_pct"] = 100 * (out.simulated / out.observed - 1)
    out.attrs["simulated_end"] = float(rev.isel(time=-1))
    return out


def _history_backtest(model, series: pd.DataFrame, engine: str, park: str) -> pd.DataFrame:
    """The model's own history against calendar-year totals (the integral of the rate)."""
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.scenario.fixed import FixedScenario

    base = model.default_horizon
    stop = max(float(series.year.max()) + 1, base.start + base.step)
    horizon = Horizon(base.start, stop, base.step, base.step)
    ds = simulate(
        model,
        [FixedScenario("backtest", {})],
        engine=engine,
        horizon=horizon,
        return_vars=["Revenue"],
    )
    rev = ds["revenue"].sel(scenario="backtest", park=park)
    out = series[["year", "value"]].rename(columns={"value": "observed"}).reset_index(drop=True)
    totals = []
    for y in out.year:
        part = rev.sel(time=slice(float(y), float(y) + 1))
        totals.append(float(np.trapezoid(part.values, part.time.values)))
    out["simulated"] = totals
    out["error_pct"] = 100 * (out.simulated / out.observed - 1)
    out.attrs["simulated_end"] = float(rev.isel(time=-1))
    out.attrs["measure"] = "calendar-year total"
    return out
