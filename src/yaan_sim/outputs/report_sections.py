"""The report's sections as data: tables of cells and texts, in zh or en.

:mod:`yaan_sim.outputs.report` renders them with ``templates/report.html.j2``; every word
comes from :mod:`yaan_sim.outputs.i18n`, every number from :func:`yaan_sim.tables.format_number`.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.evaluate import STATUSES
from yaan_sim.outputs.goals import Goal, GoalSet, scope_label
from yaan_sim.outputs.i18n import element_label, scenario_label, status_label, unit_label
from yaan_sim.outputs.i18n import t as _tr
from yaan_sim.outputs.observed import DEFAULT_OBSERVED, observed_file
from yaan_sim.outputs.what_it_takes import what_it_takes
from yaan_sim.tables import format_number


@dataclass
class Cell:
    """One table cell for the template: text (escaped there), optional class and
    attributes, ``code`` shown first, ``sub`` and ``small`` lines below, ``mark`` after."""

    text: str = ""
    cls: str = ""
    attrs: tuple = ()
    bold: bool = False
    code: str = ""
    sub: str = ""
    small: str = ""
    mark: str = ""
    title: str = ""


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def _t(key: str, lang: str, **kw) -> str:
    return _tr(f"report.{key}", lang, **kw)


def _col(key: str, lang: str) -> str:
    return _tr(f"col.{key}", lang)


def _num(x, digits=2) -> str:
    return format_number(x, digits)


def _n(x, digits=2) -> Cell:
    return Cell(_num(x, digits), "num")


def _display_path(path) -> str:
    """A path relative to the project root when inside it, else the file name."""
    from yaan_sim.paths import PROJECT_ROOT

    try:
        return Path(path).resolve().relative_to(Path(PROJECT_ROOT).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _year(x) -> str:
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return ""
    return str(int(xf)) if math.isfinite(xf) else ""


def _status_cell(status: str, lang: str) -> Cell:
    return Cell(status_label(status, lang), "st-" + status.replace(" ", "-"))


def assumptions(model=None) -> tuple[list, str | None]:
    """The model's documented assumptions: ``(list of VarMeta, None)`` or ``([], why not)``.

    An assumption is a variable whose ``source:`` field starts with "assumed".
    """
    if model is None:
        try:
            from yaan_sim.model.load import load_model

            model = load_model()
        except YaanSimError as exc:
            return [], str(exc)
        except Exception as exc:  # PySD missing or broken: the report still gets written
            return [], f"{type(exc).__name__}: {exc}"
    metas = getattr(model, "meta", None)
    if not isinstance(metas, dict):
        return [], "the model object has no 'meta' documentation"
    found = [
        m
        for m in metas.values()
        if str(m.fields.get("source", "")).strip().lower().startswith("assumed")
    ]
    return sorted(found, key=lambda m: m.name.lower()), None


def _sig(x: float) -> str:
    """Four significant digits, never in scientific notation: 0.005, 243, 0.00001."""
    return np.format_float_positional(float(x), precision=4, fractional=False, trim="-")


def _time_text(da: xr.DataArray) -> str:
    """A series over time in a few words: one value, its change points, or first -> last."""
    if "time" not in da.dims:
        return _sig(float(da))
    return _series_text(np.asarray(da.values, dtype=float), np.asarray(da["time"].values, float))


def _series_text(v: np.ndarray, t: np.ndarray) -> str:
    """:func:`_time_text` of values ``v`` at times ``t``: steps as ``t: value`` at each
    change; a ramp by its bends, ``2016: 0.2 → 2020: 0.4`` (held before the first and after
    the last), as a scenario's schedule is written; else first → last."""
    if np.allclose(v, v[0], equal_nan=True):
        return _sig(v[0])
    steps = (np.flatnonzero(~np.isclose(v[1:], v[:-1])) + 1).tolist()
    if len(steps) <= 3:
        return ", ".join([f"{t[0]:g}: {_sig(v[0])}"] + [f"{t[i]:g}: {_sig(v[i])}" for i in steps])
    slope = np.diff(v) / np.diff(t)
    turns = np.flatnonzero(~np.isclose(slope[1:], slope[:-1], rtol=1e-6, atol=1e-12)) + 1
    bends = [0, *turns.tolist(), len(v) - 1]
    told = [("", 0)]  # (joint, index): "t: value" at each, after its joint
    for a, b in itertools.pairwise(bends):
        if np.isclose(v[a], v[b]):
            continue  # held
        if b == a + 1:  # a step from one saved time to the next
            told.append((", ", b))
            continue
        if told[-1][1] != a:  # a ramp starting later: say where (its start replaces
            start = len(told) == 1 and np.isclose(v[0], v[a])  # a first value held to it)
            told = [("", a)] if start else [*told, (", ", a)]
        told.append((" → ", b))
    if len(told) <= 5:
        return "".join(f"{joint}{t[i]:g}: {_sig(v[i])}" for joint, i in told)
    return f"{t[0]:g}: {_sig(v[0])} → {t[-1]:g}: {_sig(v[-1])}"


def _describe_lever(da: xr.DataArray, lang: str = "en") -> str:
    """A lever's values in a few words, grouped by value across parks (or industries)."""
    if "sample" in da.dims:
        da = da.median("sample")
    other = [d for d in da.dims if d != "time"]
    if not other:
        return _time_text(da)
    # each element's series read from one array (a DataArray selection per element took
    # most of the report's lever table: hundreds of cells)
    timed = "time" in da.dims
    values = np.asarray(da.transpose(*other, *(["time"] if timed else [])).values, dtype=float)
    t = np.asarray(da["time"].values, dtype=float) if timed else None
    labels = [da[d].values for d in other]
    groups: dict[str, list[str]] = {}
    for at in itertools.product(*(range(len(x)) for x in labels)):
        cell = values[at]
        if bool(np.isnan(cell).all()):
            continue  # an element the lever is not defined for (a sub-range's padding)
        text = _sig(float(cell)) if t is None else _series_text(cell, t)
        names = [
            scope_label("park", str(x[i]), lang) if d == "park" else element_label(str(x[i]), lang)
            for d, x, i in zip(other, labels, at, strict=True)
        ]
        groups.setdefault(text, []).append("/".join(names))
    if len(groups) <= 1:
        return next(iter(groups), "")
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    others = _tr("others", lang)
    parts = [f"{', '.join(keys)}: {text}" for text, keys in ordered[1:]]
    parts.append(
        f"{others}: {ordered[0][0]}"
        if len(ordered[0][1]) > 1
        else f"{ordered[0][1][0]}: {ordered[0][0]}"
    )
    return "; ".join(parts)


def _lever_variables(ds: xr.Dataset) -> list[str]:
    """The levers the runs applied: variables the runner marked ``role: lever``."""
    return sorted(str(v) for v in ds.data_vars if ds[v].attrs.get("role") == "lever")


def _levers_section(
    ds: xr.Dataset, lang: str, model, titles: dict, *, generic: bool = False
) -> dict:
    scen = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else []
    names = [scenario_label(s, lang, titles) for s in scen]
    out: dict = {
        "scenario_list": _t("scenario_list", lang, s=", ".join(names)) if scen else "",
        "missing": None,
    }
    levers = _lever_variables(ds)
    if not levers:
        out["missing"] = {"id": "no-levers", "text": _t("no_levers", lang)}
        return out
    out["text"] = _t("levers_model_text" if generic else "levers_text", lang)
    by_py = getattr(model, "by_py_name", {}) if model is not None else {}
    table = Table([_col("lever", lang), _col("units", lang)] + (names or [_col("values", lang)]))
    for py in levers:
        da = ds[py]
        meta = by_py.get(py) if isinstance(by_py, dict) else None
        label = py
        if meta is not None:
            label = (
                f"{meta.name} ({meta.long_name_zh})"
                if lang == "zh" and meta.long_name_zh
                else meta.name
            )
        units = da.attrs.get("units", getattr(meta, "units", ""))
        cells = []
        each: list[str | None] = list(scen) if scen else [None]
        for sc in each:
            d = da.sel(scenario=sc) if sc is not None and "scenario" in da.dims else da
            cells.append(_describe_lever(d, lang))
        row = [Cell(label, attrs=(("data-lever", py),), code=py), Cell(unit_label(units, lang))]
        row += [Cell(c, bold=bool(i and c != cells[0])) for i, c in enumerate(cells)]
        table.rows.append(row)
    out["table"] = table
    return out


def _target_text(g: Goal, lang: str) -> str:
    if g.is_trend and g.is_generic:
        return _t("target_trend_at", lang, y=g.baseline_year)
    if g.is_trend:
        return _t("target_trend", lang, y=g.baseline_year)
    if g.uses_baseline:
        return _t("target_baseline", lang, c=g.comparison, y=g.baseline_year)
    if isinstance(g.target, dict):
        return "; ".join(
            f"{scope_label('park', p, lang)} {g.comparison} {v:g}" for p, v in g.target.items()
        )
    return f"{g.comparison} {g.target:g}"


def _goals_section(goals: GoalSet, lang: str, units: dict | None = None) -> dict:
    """The goals as encoded. ``units`` (goal id -> unit) marks another model's goals file:
    its goals have no plan section or text, and their years are times of the model."""
    if units is not None:
        return _model_goals_section(goals, lang, units)
    table = Table(
        [
            _col(k, lang)
            for k in ("id", "goal", "section", "text", "metric", "target", "scope", "note")
        ]
    )
    for g in goals:
        scopes = ", ".join(
            [_tr(f"scope.{g.scope}", lang)]
            + [f"({_tr(f'scope.{s}', lang)})" for s in g.also_scopes]
        )
        unit = unit_label(g.unit, lang, annual=True)
        table.rows.append(
            [
                Cell(attrs=(("id", f"goal-{g.id}"),), code=g.id),
                Cell(g.name(lang)),
                Cell(g.section),
                Cell(g.text_zh),
                Cell(code=g.metric.describe()),
                Cell(f"{_target_text(g, lang)} {unit} ({g.year})"),
                Cell(scopes),
                Cell(g.reading(lang)),
            ]
        )
    src = _display_path(goals.path) if goals.path else "goals"
    return {"text": _t("goals_text", lang, f=src), "table": table}


def _model_goals_section(goals: GoalSet, lang: str, units: dict) -> dict:
    table = Table([_col(k, lang) for k in ("id", "goal", "metric", "target", "note")])
    for g in goals:
        unit = unit_label(units.get(g.id, g.unit), lang, annual=True)
        when = _t("target_at", lang, y=g.year) if g.is_generic else str(g.year)
        table.rows.append(
            [
                Cell(attrs=(("id", f"goal-{g.id}"),), code=g.id),
                Cell(g.name(lang)),
                Cell(code=g.metric.describe()),
                Cell(f"{_target_text(g, lang)} {unit} ({when})"),
                Cell(g.reading(lang)),
            ]
        )
    src = _display_path(goals.path) if goals.path else "goals"
    return {"text": _t("goals_model_text", lang, f=src), "table": table}


def _value_cell(rec, lang: str) -> Cell:
    cell = _n(rec["value"])
    if rec.get("value_source") == "observed":
        cell.mark = _tr("source.observed", lang)
    return cell


def _goal_rows(df: pd.DataFrame, lang: str, titles: dict, *, generic: bool = False) -> Table:
    """Every column of the goal table; ``generic``: another model's, whose years are times."""
    cols = ["scenario"] if "scenario" in df.columns else []
    at = "_at" if generic else ""
    keys = ["goal", "place", "target", "value", "unit", "gap", "gap_pct", "status", f"first{at}"]
    keys += [f"need{at}", f"sim{at}"] + (["p_met"] if "p_met" in df.columns else [])
    table = Table([_col(k, lang) for k in cols + keys])
    names: dict = {}
    for rec in df.to_dict("records"):
        gname = names.setdefault(rec["goal_id"], rec["goal"])
        row = [Cell(scenario_label(rec["scenario"], lang, titles))] if cols else []
        row += [
            Cell(gname, attrs=(("data-goal", rec["goal_id"]),)),
            Cell(rec["scope_label"]),
            _n(rec["target"]),
            _value_cell(rec, lang),
            Cell(unit_label(rec["unit"], lang, annual=True)),
            _n(rec["gap"]),
            _n(rec["gap_pct"], 1),
            _status_cell(rec["status"], lang),
            Cell(_year(rec["year_first_met"]), "num"),
            _n(rec["growth_needed_pct"], 1),
            _n(rec["growth_simulated_pct"], 1),
        ]
        if "p_met" in df.columns:
            row.append(_n(rec["p_met"]))
        table.rows.append(row)
    return table


def without_empty_places(table: Table, lang: str) -> Table:
    """``table`` without its place column where every place is empty (another model's
    goals on variables without subscripts)."""
    head = _col("place", lang)
    if head not in table.header:
        return table
    i = table.header.index(head)
    if any(row[i].text for row in table.rows):
        return table
    return Table(table.header[:i] + table.header[i + 1 :], [r[:i] + r[i + 1 :] for r in table.rows])


def _wide_status(df: pd.DataFrame, lang: str, titles: dict) -> Table:
    """Goal x place rows, one column per scenario: the value, coloured by status."""
    scen = list(dict.fromkeys(df["scenario"])) if "scenario" in df.columns else [None]
    keys = list(dict.fromkeys(zip(df["goal_id"], df["scope"], df["scope_name"], strict=True)))
    header = [_col("goal", lang), _col("place", lang), _col("target", lang), _col("unit", lang)]
    header += [
        scenario_label(s, lang, titles) if s is not None else _col("value", lang) for s in scen
    ]
    table = Table(header)
    for gid, scope, name in keys:
        sub = df[(df["goal_id"] == gid) & (df["scope"] == scope) & (df["scope_name"] == name)]
        first = sub.iloc[0]
        target = "< 0" if first["comparison"] == "falling_every_year" else _num(first["target"])
        row = [
            Cell(first["goal"], attrs=(("data-goal", gid),)),
            Cell(first["scope_label"]),
            Cell(target, "num"),
            Cell(unit_label(first["unit"], lang, annual=True)),
        ]
        for sc in scen:
            rec = sub[sub["scenario"] == sc].iloc[0] if sc is not None else first
            status = rec["status"]
            label = status_label(status, lang)
            extra = (
                f" · P={_num(rec['p_met'])}" if "p_met" in rec and pd.notna(rec["p_met"]) else ""
            )
            cell = _value_cell(rec, lang)
            cell.cls = f"num st-{status.replace(' ', '-')}"
            cell.title = label
            cell.small = label + extra
            row.append(cell)
        table.rows.append(row)
    return table


def _summary(table: pd.DataFrame, lang: str, titles: dict, *, generic: bool = False) -> dict:
    b = table[table["binding"]]
    groups = list(b.groupby("scenario", sort=False)) if "scenario" in b.columns else [("", b)]
    out = Table([_col("scenario", lang)] + [status_label(s, lang) for s in STATUSES])
    for sc, sub in groups:
        counts = sub["status"].value_counts()
        out.rows.append(
            [Cell(scenario_label(sc, lang, titles) if sc else "")]
            + [Cell(str(int(counts.get(s, 0))), "num") for s in STATUSES]
        )
    return {"text": _t("summary_model_text" if generic else "summary_text", lang), "table": out}


def _midterm(goals, observed, year, lang) -> dict:
    if observed is None or len(observed) == 0:
        return {"missing": _t("no_observed", lang)}
    need = what_it_takes(goals, observed, year=year, lang=lang)
    src = observed_file(observed) or _display_path(DEFAULT_OBSERVED)
    keys = ["goal", "place", "obs_year", "observed", "target", "unit", "year", "need"]
    table = Table([_col(k, lang) for k in keys])
    for r in need.to_dict("records"):
        table.rows.append(
            [
                Cell(r["goal"]),
                Cell(r["scope_label"]),
                Cell(str(r["observed_year"]), "num"),
                _n(r["observed"]),
                _n(r["target"]),
                Cell(unit_label(r["unit"], lang, annual=True)),
                Cell(str(r["goal_year"]), "num"),
                _n(r["growth_needed_pct"], 1),
            ]
        )
    keys = [
        "variable",
        "place",
        "year",
        "value",
        "unit",
        "as_given",
        "source",
        "confidence",
        "note",
    ]
    figures = Table([_col(k, lang) for k in keys])
    for r in observed.to_dict("records"):
        place = r["park"]
        scope = "city" if place == "city" else "region" if place in goals.places.regions else "park"
        given = f"{r.get('value_as_given', '')} {r.get('unit_as_given', '')}".strip()
        figures.rows.append(
            [
                Cell(str(r.get("variable_as_given") or r["variable"])),
                Cell(scope_label(scope, place, lang)),
                Cell(str(r["year"]), "num"),
                _n(r["value"]),
                Cell(unit_label(r["unit"], lang, annual=True)),
                Cell(given if given != f"{r['value']} {r['unit']}" else ""),
                Cell(str(r["source"])),
                Cell(str(r["confidence"])),
                Cell(str(r["note"])),
            ]
        )
    return {
        "text": _t("midterm_text", lang, f=src),
        "need": table,
        "figures": figures,
        "missing": "",
    }


def _assumptions(model, why_no_model: str | None, lang: str) -> dict:
    found, why = ([], why_no_model) if why_no_model is not None else assumptions(model)
    if why is not None:
        return {"missing": {"id": "no-assumptions", "text": _t("no_model", lang, e=why)}}
    mdl = getattr(model, "mdl_path", None)
    mname = Path(mdl).name if mdl else "the model"
    table = Table([_col(k, lang) for k in ("name", "units", "range", "source")])
    for m in found:
        lo, hi = m.limits
        rng = "" if (math.isnan(lo) and math.isnan(hi)) else f"[{_num(lo, 4)}, {_num(hi, 4)}]"
        table.rows.append(
            [
                Cell(m.name, attrs=(("data-assumption", m.name),), sub=m.long_name_zh),
                Cell(unit_label(m.units, lang)),
                Cell(rng),
                Cell(m.fields.get("source", "")),
            ]
        )
    if not found:
        return {"missing": {"id": "no-assumptions", "text": _t("no_assumptions", lang, m=mname)}}
    text = _t("assumptions_text", lang, m=mname, n=len(found))
    return {"text": text, "table": table, "missing": None}


def _manifest(ds, lang) -> dict:
    raw = ds.attrs.get("manifest")
    if raw is None:
        return {"missing": {"id": "no-manifest", "text": _t("no_manifest", lang)}}
    try:
        text = json.dumps(json.loads(raw), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        text = str(raw)
    return {"text": text, "missing": None}
