"""The goal table for people and for files: ``table`` (aligned, Chinese-width aware),
``md``, ``csv`` and ``json``; the summary columns of ``yaan-sim evaluate``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.export import records_json
from yaan_sim.outputs.i18n import CATALOGUE, check_lang, status_label, t, unit_label
from yaan_sim.tables import format_number, markdown_table, text_table

FORMATS = ("table", "csv", "json", "md")
_DIGITS = {"gap_pct": 1, "growth_needed_pct": 1, "growth_simulated_pct": 1}
_YEARS = ("eval_year", "goal_year", "year_first_met", "observed_year")
#: The ``basis`` column in Chinese (:data:`yaan_sim.outputs.rules.BASES`).
BASIS_ZH = {
    "calendar-year total": "全年累计",
    "ratio of totals": "总量之比",
    "end of year": "年末值",
    "value at t = Y": "时点值",
}
_HEADER_ZH = {"basis": "取值口径"}
#: Goal-table columns whose catalogue key differs from the column name.
_HEADER_KEYS = {
    "scope_label": "col.place",
    "year_first_met": "col.first",
    "growth_needed_pct": "col.need",
    "growth_simulated_pct": "col.sim",
}


def _cell(col: str, x, lang: str) -> str:
    if col in _YEARS:
        return format_number(x, 0, thousands=False)
    if col == "status":
        return status_label(x, lang) if lang == "zh" else str(x)
    if col == "basis":
        return BASIS_ZH.get(str(x), str(x)) if lang == "zh" else str(x)
    if col in ("unit", "level_unit") and lang == "zh":
        return unit_label(x, lang, annual=True)
    if isinstance(x, (bool, np.bool_)):
        return t("yes" if x else "no", lang)
    return format_number(x, _DIGITS.get(col, 2))


def human_cells(df: pd.DataFrame, lang: str = "en") -> tuple[list[str], list[list[str]]]:
    """Header and cells of a goal table for people: plain numbers (no scientific
    notation, near zero as 0), status words and units in ``lang``, and observed values
    marked (``obs`` / 实); the ``value_source`` column becomes that mark."""
    check_lang(lang)
    cols = [c for c in df.columns if c != "value_source"]
    header = [_header(c, lang) for c in cols]
    mark = t("source.observed", lang)
    rows = []
    for rec in df.to_dict("records"):
        cells = [_cell(c, rec[c], lang) for c in cols]
        if rec.get("value_source") == "observed" and "value" in cols:
            i = cols.index("value")
            cells[i] = f"{cells[i]} {mark}"
        rows.append(cells)
    return header, rows


_COL_KEYS = set(CATALOGUE)


def _header(col: str, lang: str) -> str:
    if lang != "zh":
        return col
    if col in _HEADER_ZH:
        return _HEADER_ZH[col]
    if col in _HEADER_KEYS:
        return t(_HEADER_KEYS[col], lang)
    return t(f"col.{col}", lang) if f"col.{col}" in _COL_KEYS else col


def to_markdown(df: pd.DataFrame, lang: str = "en") -> str:
    """A GitHub-flavoured Markdown table of a goal table, for people (see :func:`human_cells`)."""
    return markdown_table(*human_cells(df, lang))


def format_table(df: pd.DataFrame, fmt: str = "table", lang: str = "en") -> str:
    """Render the goal table as ``table`` (aligned text, Chinese-width aware), ``csv``,
    ``json`` or ``md``. ``csv`` and ``json`` keep every column and value as computed;
    ``table`` and ``md`` are for people (:func:`human_cells`)."""
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return records_json(df)
    if fmt == "md":
        return to_markdown(df, lang)
    if fmt == "table":
        return text_table(*human_cells(df, lang)) + "\n"
    raise YaanSimError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


#: Columns shown by ``yaan-sim evaluate --format table`` and in the report.
SUMMARY_COLUMNS = [
    "scenario",
    "goal_id",
    "scope_label",
    "binding",
    "target",
    "value",
    "unit",
    "gap",
    "gap_pct",
    "status",
    "basis",
    "year_first_met",
    "growth_needed_pct",
    "growth_simulated_pct",
    "p_met",
    "value_source",
]


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """The goal table's main columns, in reading order."""
    return df[[c for c in SUMMARY_COLUMNS if c in df.columns]]
