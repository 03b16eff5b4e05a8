"""The evaluation workbook: what an economist hands in, as one Excel file (openpyxl).

``write_workbook(ds, "评估.xlsx", lang="zh")`` writes, one sheet each:

- goals: goal x scope x scenario: target, value, unit, gap, gap %, status, basis,
  the growth needed against the growth simulated, P(met) where the results are sampled,
  and the difference from a reference scenario (``reference=``);
- one sheet per main variable (revenue, industrial output, R&D, energy, water, each
  pollutant): park x year, calendar years as columns, the unit in the sheet's title row;
  an ensemble as its 5 %, 50 % and 95 % quantiles, so that any number of samples fits;
- the levers of each scenario, as the runs applied them;
- with ``lever_effects=``, each scenario's change from the reference split lever by lever
  (:mod:`yaan_sim.analysis.lever_effects`; ``make run`` and ``yaan-sim export``);
- the model's constants with units, range and source (or "assumed" and why);
- the observed figures of the data ledger, and the back-test against them (when the
  results reach back to the ledger's years).

For people: headers in ``lang`` with units, frozen panes, number formats, column widths
that fit Chinese text. The sheets round-trip through ``pandas.read_excel`` (a header row,
then data; the unit is in the header's text).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.goal_table import BASIS_ZH
from yaan_sim.outputs.i18n import (
    LEDGER_WORDS_ZH,
    check_lang,
    scenario_label,
    scenario_titles,
    unit_label,
)
from yaan_sim.outputs.results import write_atomic
from yaan_sim.tables import display_width

#: The main variables of the park x year sheets: (variable, extra dim or None).
MAIN_VARIABLES = (
    "revenue",
    "industrial_output",
    "research_spending",
    "energy_use",
    "water_use",
    "emissions",
)
#: The quantiles an ensemble is summarised by.
QUANTILES = (0.05, 0.5, 0.95)

_WORDS: dict[str, tuple[str, str]] = {
    "goals": ("goals", "目标"),
    "levers": ("levers", "政策杠杆"),
    "assumptions": ("constants and sources", "参数与来源"),
    "observed": ("observed figures", "观测数据"),
    "backtest": ("back-test", "回测"),
    "manifest": ("manifest", "运行记录"),
    "scenario": ("scenario", "情景"),
    "park": ("park", "园区"),
    "statistic": ("statistic", "统计量"),
    "city": ("city (9 parks)", "全市（9个园区）"),
    "goal": ("goal", "目标"),
    "scope": ("scope", "范围"),
    "target": ("target", "目标值"),
    "value": ("value", "数值"),
    "unit": ("unit", "单位"),
    "gap": ("gap (value - target)", "差距（数值−目标值）"),
    "gap_pct": ("gap, % of target", "差距（占目标值%）"),
    "status": ("status", "判定"),
    "basis": ("basis", "取值口径"),  # as the goal table names it
    "growth_needed_pct": ("growth needed, %/yr", "所需增速（%/年）"),
    "growth_simulated_pct": ("growth simulated, %/yr", "模拟增速（%/年）"),
    "p_met": ("P(met)", "达标概率"),
    "value_source": ("value from", "数值来源"),
    "diff": ("{v} - {r}", "{v}−{r}"),
    "lever": ("lever", "杠杆"),
    "name": ("name", "名称"),
    "name_zh": ("Chinese name", "中文名称"),
    "min": ("min", "下限"),
    "max": ("max", "上限"),
    "source": ("source", "来源"),
    "kind": ("kind", "类型"),
    "key": ("key", "项"),
    "no_goals": ("no goal table: {e}", "无目标表：{e}"),
    "effects": ("lever effects", "杠杆作用分解"),
    "reference": ("against", "对照情景"),
}


def _w(key: str, lang: str, **kw) -> str:
    en, zh = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


# ------------------------------------------------------------------ sheets


def goal_sheet(
    table: pd.DataFrame,
    lang: str = "zh",
    titles: Mapping | None = None,
    reference: str | None = None,
) -> pd.DataFrame:
    """The goal table for people: goal x scope x scenario, labels in ``lang``, and the
    difference of each value from the ``reference`` scenario's (same goal and scope)."""
    from yaan_sim.outputs.i18n import status_label

    titles = dict(titles or table.attrs.get("scenario_titles", {}))
    df = table.copy()
    cols = ["goal", "scope_label", "target", "value", "unit", "gap", "gap_pct", "status"]
    cols += [c for c in ("basis", "growth_needed_pct", "growth_simulated_pct", "p_met") if c in df]
    if "value_source" in df and (df["value_source"] == "observed").any():
        cols.append("value_source")
    out = pd.DataFrame()
    if "scenario" in df:
        out[_w("scenario", lang)] = [scenario_label(str(s), lang, titles) for s in df["scenario"]]
    for c in cols:
        head = _w("scope" if c == "scope_label" else c, lang)
        vals = df[c]
        if c == "status":
            vals = vals.map(lambda s: status_label(str(s), lang))
        elif c == "unit":
            vals = vals.map(lambda u: unit_label(str(u), lang, annual=True))
        elif c == "basis" and lang == "zh":
            vals = vals.map(lambda b: BASIS_ZH.get(b, b))
        out[head] = vals.to_numpy()
    if reference is not None and "scenario" in df:
        key = ["goal_id", "scope", "scope_name"]
        ref = df[df["scenario"] == reference].set_index(key)["value"]
        diff = df.set_index(key)["value"] - ref.reindex(df.set_index(key).index).to_numpy()
        v = _w("value", lang)
        out[_w("diff", lang, v=v, r=scenario_label(reference, lang, titles))] = diff.to_numpy()
    return out


def _city_total(da: xr.DataArray) -> xr.DataArray | None:
    """The city's total of a park variable, if summing parks means something (not a ratio)."""
    units = str(da.attrs.get("units", "")).lower()
    if "dmnl" in units or units.startswith("1/") or units in ("%", "1"):
        return None
    return da.sum("park", skipna=False)


def annual_sheet(ds: xr.Dataset, name: str, lang: str = "zh", element: str | None = None):
    """``(sheet title, unit, DataFrame)``: one park x year table of ``name`` (rows: scenario,
    [statistic,] park, then the city's total; columns: calendar years, a rate's calendar-year
    total or a stock's end-of-year value, as in the goal table). An ensemble is
    summarised by its :data:`QUANTILES`. ``element`` selects a pollutant (or industry)."""
    from yaan_sim.outputs.calendar_years import plan_start_of, yearly
    from yaan_sim.outputs.goal_metrics import is_flow
    from yaan_sim.outputs.i18n import element_label, place_label

    da = ds[name]
    extra = [d for d in da.dims if d not in ("scenario", "sample", "time", "park")]
    if element is not None:
        da = da.sel({extra[0]: element})
    elif extra:
        raise ValueError(f"{name} has dims {extra}: pass element=")
    units = unit_label(str(ds[name].attrs.get("units", "")), lang, annual=True)
    # the goal table's basis: a rate's calendar-year total, a stock's end-of-year value
    da = yearly(da, "total" if is_flow(ds, name) else "end", plan_start_of(ds))
    city = _city_total(ds[name])
    rows = []
    titles = scenario_titles(ds)
    scen = [str(s) for s in da["scenario"].values] if "scenario" in da.dims else [None]
    stats = QUANTILES if "sample" in da.dims else (None,)
    years = [int(y) for y in da["year"].values]
    for sc in scen:
        d = da.sel(scenario=sc) if sc is not None else da
        for q in stats:
            dq = d.quantile(q, dim="sample").drop_vars("quantile") if q is not None else d
            series = [
                (place_label("park", str(p), lang), dq.sel(park=p)) for p in dq["park"].values
            ]
            if city is not None:
                series.append((_w("city", lang), dq.sum("park", skipna=False)))
            for label, s in series:
                row: dict = {}
                if sc is not None:
                    row[_w("scenario", lang)] = scenario_label(sc, lang, titles)
                if q is not None:
                    row[_w("statistic", lang)] = f"P{round(q * 100)}"
                row[_w("park", lang)] = label
                row |= dict(zip(years, np.asarray(s.values, dtype=float), strict=True))
                rows.append(row)
    long_zh = ds[name].attrs.get("long_name_zh") or ""
    long_en = ds[name].attrs.get("long_name") or name.replace("_", " ")
    title = long_zh if lang == "zh" and long_zh else long_en
    if element is not None:
        title = f"{title} {element_label(element, lang)}"
    return title, units, pd.DataFrame(rows)


def lever_sheet(ds: xr.Dataset, lang: str = "zh", model=None) -> pd.DataFrame:
    """The levers each scenario applied, in a few words per scenario."""
    from yaan_sim.outputs.report_sections import _describe_lever, _lever_variables

    titles = scenario_titles(ds)
    scen = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [None]
    by_py = getattr(model, "by_py_name", {}) if model is not None else {}
    rows = []
    for py in _lever_variables(ds):
        da = ds[py]
        meta = by_py.get(py) if isinstance(by_py, dict) else None
        row = {
            _w("lever", lang): getattr(meta, "name", py),
            _w("name_zh", lang): getattr(meta, "long_name_zh", "") or "",
            _w("unit", lang): unit_label(str(da.attrs.get("units", "")), lang),
        }
        for sc in scen:
            d = da.sel(scenario=sc) if sc is not None and "scenario" in da.dims else da
            head = scenario_label(sc, lang, titles) if sc is not None else _w("value", lang)
            row[head] = _describe_lever(d, lang)
        rows.append(row)
    return pd.DataFrame(rows)


def lever_effects_sheet(
    effects: pd.DataFrame, table: pd.DataFrame, lang: str = "zh", model=None, titles=None
) -> pd.DataFrame:
    """:func:`yaan_sim.analysis.lever_effects.lever_effects` as the report shows it: per
    scenario, each lever alone, each moved last, the interaction and the whole change
    (rows) on each headline goal (columns, labelled and in units as the goal table
    ``table`` has them)."""
    from yaan_sim.outputs.evaluate import headline_rows
    from yaan_sim.outputs.report_findings import effects_headers, effects_row_label, lever_names

    label = effects_headers(effects, headline_rows(table), lang)  # as the report's table
    names = lever_names(model, lang)
    rows = []
    for (sc, kind, lever), g in effects.groupby(["scenario", "kind", "lever"], sort=False):
        row = {
            _w("scenario", lang): scenario_label(sc, lang, titles),
            _w("reference", lang): scenario_label(g["reference"].iloc[0], lang, titles),
            _w("lever", lang): effects_row_label(kind, lever, names, lang),
        }
        row |= {label[gid]: v for gid, v in zip(g["goal_id"], g["effect"], strict=True)}
        rows.append(row)
    return pd.DataFrame(rows)


#: Vensim's time controls: settings of a run, not constants of the model.
_CONTROL = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}


def assumption_sheet(model, lang: str = "zh") -> pd.DataFrame:
    """Every constant of the .mdl with units, [min, max] and its source (or "assumed")."""
    metas = getattr(model, "meta", None)
    if not isinstance(metas, dict):
        return pd.DataFrame()
    rows = []
    for m in sorted(metas.values(), key=lambda m: m.name.lower()):
        if m.kind != "Constant" or m.name.upper() in _CONTROL:
            continue
        lo, hi = m.limits
        rows.append(
            {
                _w("name", lang): m.name,
                _w("name_zh", lang): m.long_name_zh,
                _w("unit", lang): unit_label(m.units, lang),
                _w("min", lang): lo,
                _w("max", lang): hi,
                _w("source", lang): m.fields.get("source", ""),
            }
        )
    return pd.DataFrame(rows)


def observed_sheet(lang: str = "zh") -> pd.DataFrame:
    """The data ledger's figures: what was published, where, and how sure."""
    from yaan_sim.model.ledger import REQUIRED, read_ledger

    rows = read_ledger().rows
    rows = rows.reset_index(drop="id" in rows.columns)
    # the ledger's required columns (model/ledger.REQUIRED) and where each figure was read
    keep = [c for c in (*REQUIRED, "source_url", "source_title") if c in rows]
    out = rows[keep]
    return _ledger_in_chinese(out) if lang == "zh" else out


def _ledger_in_chinese(df: pd.DataFrame) -> pd.DataFrame:
    """A ledger or back-test table with its columns and enumerated words in Chinese."""
    df = df.copy()
    for col, words in LEDGER_WORDS_ZH.items():
        if col in df:
            df[col] = df[col].map(lambda v, w=words: w.get(v, v) if isinstance(v, str) else v)
    return df.rename(columns=_LEDGER_ZH)


#: The ledger's and the back-test's columns in Chinese (the ids stay as the ledger has them).
_LEDGER_ZH = {
    "id": "编号",
    "variable": "变量",
    "measure_zh": "统计口径",
    "scope_kind": "范围类型",
    "scope": "范围",
    "period": "时期",
    "kind": "类型",
    "value": "数值",
    "unit": "单位",
    "confidence": "可信度",
    "derivation": "取得方式",
    "source_url": "来源网址",
    "source_title": "来源",
    "observed": "公开数值",
    "simulated": "模拟值",
    "ratio": "模拟/公开",
    "error": "误差",
    "role": "用途",
    "reason": "说明",
    "model_variable": "模型变量",
    "operator": "观测算子",
    "source": "来源",
}


def backtest_sheet(ds: xr.Dataset, model) -> pd.DataFrame | None:
    """The back-test of the results against the ledger, or None when the results do not
    reach back to the ledger's years (a policy run from 2016 has no 2013-15)."""
    from yaan_sim.analysis.backtest import backtest

    try:
        return backtest(model, ds if "sample" not in ds.dims else None)
    except Exception:  # results without the history: the baseline's back-test instead
        try:
            return backtest(model)
        except Exception:
            return None


def manifest_sheet(ds: xr.Dataset, lang: str = "zh") -> pd.DataFrame:
    import json

    text = ds.attrs.get("manifest")
    items = sorted(json.loads(text).items()) if text else []
    return pd.DataFrame(
        [
            (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)[:32000])
            for k, v in items
        ],
        columns=[_w("key", lang), _w("value", lang)],
    )


# ------------------------------------------------------------------ writing


def workbook_sheets(
    ds: xr.Dataset,
    lang: str = "zh",
    *,
    table: pd.DataFrame | None = None,
    model=None,
    reference: str | None = None,
    year: int | None = None,
    observed=None,
    with_backtest: bool = True,
    lever_effects: pd.DataFrame | bool | None = None,
) -> dict[str, tuple[pd.DataFrame, str]]:
    """The workbook's sheets in order: title -> (table, the unit or note of its title row).
    ``lever_effects`` (:func:`yaan_sim.analysis.lever_effects.lever_effects`, or True to
    work them out from the results' manifest) adds their sheet after the levers'."""
    from yaan_sim.outputs.evaluate import evaluate

    check_lang(lang)
    if reference is not None:
        check_reference(ds, reference)
    if model is None:
        from yaan_sim.outputs.report import _try_model

        model = _try_model()
        model = None if isinstance(model, str) else model
    sheets: dict[str, tuple[pd.DataFrame, str]] = {}
    if table is None:
        try:
            table = evaluate(ds, year=_goal_year(ds, year), observed=observed, lang=lang)
        except YaanSimError as exc:  # results without the goals' variables: say so there
            why = pd.DataFrame({_w("goals", lang): [_w("no_goals", lang, e=exc)]})
            sheets[_w("goals", lang)] = (why, "")
    if table is not None:
        sheets[_w("goals", lang)] = (goal_sheet(table, lang, reference=reference), "")
    for name in MAIN_VARIABLES:
        if name not in ds.data_vars or "park" not in ds[name].dims:
            continue
        extra = [d for d in ds[name].dims if d not in ("scenario", "sample", "time", "park")]
        elements = [str(e) for e in ds[extra[0]].values] if extra else [None]
        for el in elements:
            title, unit, df = annual_sheet(ds, name, lang, el)
            sheets[title] = (df, unit)
    levers = lever_sheet(ds, lang, model)
    if len(levers):
        sheets[_w("levers", lang)] = (levers, "")
    if lever_effects is True and model is not None and table is not None:
        from yaan_sim.outputs.goals import load_goals
        from yaan_sim.outputs.report import lever_effects_for

        found = lever_effects_for(ds, model, load_goals(), _goal_year(ds, year), reference)
        lever_effects = found if isinstance(found, pd.DataFrame) else None
    if isinstance(lever_effects, pd.DataFrame) and len(lever_effects) and table is not None:
        effects = lever_effects_sheet(lever_effects, table, lang, model, scenario_titles(ds))
        sheets[_w("effects", lang)] = (effects, "")
    if model is not None:
        sheets[_w("assumptions", lang)] = (assumption_sheet(model, lang), "")
        sheets[_w("observed", lang)] = (observed_sheet(lang), "")
        bt = backtest_sheet(ds, model) if with_backtest else None
        if bt is not None and lang == "zh":
            bt = _ledger_in_chinese(bt)
        if bt is not None:
            sheets[_w("backtest", lang)] = (bt, "")
    sheets[_w("manifest", lang)] = (manifest_sheet(ds, lang), "")
    return sheets


def _goal_year(ds: xr.Dataset, year: int | None) -> int:
    """The year asked for, else 2020 where the results reach it, else their last year."""
    if year is not None:
        return year
    t = np.asarray(ds["time"].values, dtype=float)
    whole = np.round(t[np.abs(t - np.round(t)) < 1e-6]).astype(int)
    return 2020 if 2020 in whole or not len(whole) else int(whole.max())


def check_reference(ds: xr.Dataset, reference: str) -> None:
    """A clear error unless ``reference`` is one of the scenarios of ``ds``."""
    have = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else []
    check_reference_name(reference, have)


def check_reference_name(reference: str, names: list[str]) -> None:
    """A clear error unless ``reference`` is one of the scenario ``names`` (run or to run)."""
    if reference not in names:
        raise YaanSimError(
            f"--reference {reference!r} is not one of the scenarios run: "
            f"{', '.join(names) or '(none)'}"
        )


def write_workbook(
    ds: xr.Dataset,
    path: str | Path,
    lang: str = "zh",
    *,
    force: bool = False,
    inputs=(),
    **kw,
) -> Path:
    """Write the evaluation workbook (see the module docstring) atomically; ``kw`` go to
    :func:`workbook_sheets` (``table``, ``model``, ``reference``, ``year``, ``observed``,
    ``lever_effects``)."""
    sheets = workbook_sheets(ds, lang, **kw)
    return write_atomic(path, lambda tmp: write_sheets(sheets, tmp), force=force, inputs=inputs)


def _sheet_name(title: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique."""
    name = "".join("_" if c in "[]:*?/\\" else c for c in title)[:31] or "sheet"
    base, i = name, 2
    while name.lower() in used:
        name = f"{base[: 31 - len(str(i)) - 1]}~{i}"
        i += 1
    used.add(name.lower())
    return name


def write_sheets(sheets: Mapping[str, pd.DataFrame | tuple[pd.DataFrame, str]], path: Path) -> None:
    """Write tables as sheets for people: a bold header (the unit appended to year
    headers), frozen panes below it and right of the label columns, number formats,
    column widths that fit Chinese text."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for title, item in sheets.items():
            df, unit = item if isinstance(item, tuple) else (item, "")
            if unit:  # the unit goes into the year headers: "2020 (亿元)" reads as it is
                df = df.rename(
                    columns={c: f"{c} ({unit})" for c in df.columns if isinstance(c, int)}
                )
            name = _sheet_name(title, used)
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            labels = sum(1 for c in df.columns if df[c].dtype == object)
            labels = (
                labels if labels and all(df[c].dtype == object for c in df.columns[:labels]) else 0
            )
            ws.freeze_panes = ws.cell(row=2, column=min(labels, 3) + 1)
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for j, col in enumerate(df.columns, start=1):
                texts = [str(col)] + [str(v) for v in df[col].head(200) if v is not None]
                width = min(60, max(display_width(t) for t in texts) + 2)
                if df[col].dtype.kind == "f":
                    width = max(width, 11)
                    fmt = _number_format(df[col])
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = fmt
                ws.column_dimensions[get_column_letter(j)].width = min(width, 60)


def _number_format(col: pd.Series) -> str:
    """Thousands separators; decimals by the size of the values (no scientific notation)."""
    v = np.abs(col.to_numpy(dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return "#,##0.00"
    big = float(np.median(v))
    return (
        "#,##0"
        if big >= 1000
        else "#,##0.0"
        if big >= 10
        else "#,##0.00"
        if big >= 0.1
        else "0.0000"
    )
