"""The generic goal form: a goal on one variable of any model, and its number.

A goal of this form names a variable (and one subscript element per subscript it has),
what is read of it up to the goal year (its value, or its largest or smallest value so
far), a direction (at least / at most a target, or falling every year) and a year of the
model's own time axis::

    goals:
      - id: tea_drinkable
        name: Tea cool enough to drink
        variable: Teacup Temperature     # Vensim or Python name
        comparison: at most              # at least | at most | falling every year
        target: 140
        year: 10
      - id: peak_infections
        variable: Infectious
        statistic: max                   # value (default), max or min up to the year
        comparison: at most
        target: 400
        year: 100

:mod:`yaan_sim.outputs.goals` reads goals files of both forms; the goal table judges both
by the same status rules (:mod:`yaan_sim.outputs.rules`). A year is a whole number of the
model's time unit; "falling every year" compares each whole time unit with the one before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.errors import ResultsError
from yaan_sim.model.levers import closest

#: The words for a comparison (the plan's symbols are accepted too).
DIRECTIONS = {
    "at least": ">=",
    "at most": "<=",
    "falling every year": "falling_every_year",
    ">=": ">=",
    "<=": "<=",
    "falling_every_year": "falling_every_year",
}
#: What a goal reads of its variable up to the goal year.
STATISTICS = ("value", "max", "min")
#: The scope of a generic goal: the model as a whole (one row per goal and scenario).
MODEL_SCOPE = "model"
#: The keys of a generic goal.
KEYS = (
    "id",
    "name",
    "name_en",
    "name_zh",
    "note",
    "note_zh",
    "variable",
    "element",
    "statistic",
    "comparison",
    "target",
    "year",
    "baseline_year",
    "unit",
)
_SAMPLE_DIMS = ("scenario", "sample", "time")


@dataclass(frozen=True)
class VariableMetric:
    """A generic goal's number: one variable (one element per subscript it has), its value
    at a time, or its largest or smallest value up to then."""

    variable: str  # as the goals file names it: Vensim or Python name
    element: tuple[str, ...] = ()
    statistic: str = "value"  # "value", "max" or "min"

    @property
    def variables(self) -> tuple[str, ...]:
        return (self.variable,)

    @property
    def select(self) -> Mapping[str, str]:  # the plan's metrics select by dim; none here
        return {}

    @property
    def element_text(self) -> str:
        return ",".join(self.element)

    def describe(self) -> str:
        """One line, e.g. ``max(Infectious)`` or ``Population[North]``."""
        text = self.variable + (f"[{self.element_text}]" if self.element else "")
        return text if self.statistic == "value" else f"{self.statistic}({text})"


# ---------------------------------------------------------------- reading


def _hint(word: Any, options) -> str:
    match = closest(str(word), [str(o) for o in options])
    return f" (did you mean {match[0]!r}?)" if match else ""


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def read_generic_goal(raw: dict, bad: Callable[[str, str], None]) -> dict[str, Any]:
    """The fields of a :class:`~yaan_sim.outputs.goals.Goal` from one goal of the generic
    form (``raw``: its keys and plain values). Every problem goes to ``bad(key, message)``;
    the caller drops the goal when there was one."""
    for key in raw:
        if key not in KEYS:
            bad(
                key,
                f"unknown key{_hint(key, KEYS)}; a goal with 'variable:' takes {', '.join(KEYS)}",
            )
    for key in ("id", "comparison", "year"):
        if key not in raw:
            bad(key, "missing")
    for key in ("name", "name_en", "name_zh", "note", "note_zh", "unit"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            bad(key, "must be non-empty text")
    variable = raw.get("variable")
    if not (isinstance(variable, str) and variable.strip()):
        bad(
            "variable",
            f"must name a variable of the model, e.g. Teacup Temperature (got {variable!r})",
        )
    element = raw.get("element", [])
    element = [element] if isinstance(element, str) else element
    if not isinstance(element, list) or not all(isinstance(e, str) and e for e in element):
        bad(
            "element",
            f"{raw.get('element')!r} must be a subscript element, or a list of one per subscript",
        )
        element = []
    statistic = raw.get("statistic", "value")
    if statistic not in STATISTICS:
        bad(
            "statistic",
            f"{statistic!r} is not one of {', '.join(STATISTICS)}{_hint(statistic, STATISTICS)}",
        )
    written = raw.get("comparison")
    comparison = DIRECTIONS.get(str(written).strip().lower()) if written is not None else None
    if written is not None and comparison is None:
        words = [w for w in DIRECTIONS if " " in w]
        bad(
            "comparison",
            f"{written!r} is not one of {', '.join(map(repr, words))}{_hint(written, words)}",
        )
    year, baseline_year = raw.get("year"), raw.get("baseline_year")
    if "year" in raw and not _is_int(year):
        bad("year", f"{year!r} is not a whole number of the model's time unit (such as 2020 or 30)")
    if baseline_year is not None:
        if not _is_int(baseline_year):
            bad(
                "baseline_year", f"{baseline_year!r} is not a whole number of the model's time unit"
            )
        elif _is_int(year) and baseline_year >= year:
            bad("baseline_year", f"{baseline_year} must be before the goal year {year}")
    target: Any = raw.get("target")
    if comparison == "falling_every_year":
        if target is not None:
            bad("target", "a 'falling every year' goal takes no target; remove the key")
        if baseline_year is None:
            bad("baseline_year", "missing: the first year the fall is counted from")
    elif comparison is not None:
        if "target" not in raw:
            bad("target", "missing: give a number, or 'baseline' (the value in baseline_year)")
        elif target == "baseline":
            if baseline_year is None:
                bad(
                    "baseline_year",
                    "missing: 'target: baseline' needs the year whose value is the target",
                )
        elif _is_number(target):
            target = float(target)
        else:
            bad("target", f"{target!r} must be a number, or 'baseline'")
    name_en = str(raw.get("name_en") or raw.get("name") or raw.get("id"))
    return {
        "id": str(raw.get("id")),
        "name_en": name_en,
        "name_zh": str(raw.get("name_zh") or raw.get("name") or name_en),
        "section": "",
        "text_zh": "",
        "metric": VariableMetric(str(variable).strip(), tuple(element), str(statistic)),
        "comparison": str(comparison),
        "target": target,
        "year": year,
        "unit": str(raw.get("unit", "")),
        "scope": MODEL_SCOPE,
        "baseline_year": baseline_year,
        "note": str(raw.get("note", "")),
        "note_zh": str(raw.get("note_zh", "")),
    }


# ---------------------------------------------------------------- the number


def _norm(x: Any) -> str:
    return " ".join(str(x).replace("_", " ").split()).lower()


def results_variable(ds: xr.Dataset, name: str, what: str = "") -> str:
    """The results variable ``name`` means: its Python name, or the Vensim name recorded
    in its ``vensim_name`` attribute (any case, spaces or underscores)."""
    if name in ds.data_vars:
        return name
    by_name = {_norm(v): str(v) for v in ds.data_vars}
    by_name |= {
        _norm(ds[v].attrs["vensim_name"]): str(v)
        for v in ds.data_vars
        if ds[v].attrs.get("vensim_name")
    }
    if _norm(name) in by_name:
        return by_name[_norm(name)]
    names = [str(ds[v].attrs.get("vensim_name") or v) for v in ds.data_vars]
    hint = closest(name, names)
    raise ResultsError(
        f"{what}{name!r} is not a variable of the results"
        + (f": did you mean {hint[0]!r}?" if hint else f" (they have: {', '.join(names[:30])})")
    )


def variable_unit(ds: xr.Dataset, goal_id: str, metric: VariableMetric) -> str:
    """The units of a generic goal's variable, as the results record them."""
    name = results_variable(ds, metric.variable, f"goal {goal_id!r}: ")
    return str(ds[name].attrs.get("units", ""))


def variable_series(
    ds: xr.Dataset, goal_id: str, metric: VariableMetric, unit: str = ""
) -> xr.DataArray:
    """A generic goal's variable over time (dims: [scenario,] [sample,] time): its element
    picked, and for ``statistic: max`` (``min``) the largest (smallest) value from the
    start to each time. ``unit``, where the goal gives one, must be the variable's."""
    where = f"goal {goal_id!r}: "
    da = ds[results_variable(ds, metric.variable, where)]
    pick: dict[str, str] = {}
    for el in metric.element:
        dims = [d for d in da.dims if d not in _SAMPLE_DIMS and d not in pick]
        hits = [d for d in dims if el in {str(v) for v in da[d].values}]
        if not hits:
            elements = ", ".join(str(v) for d in dims for v in da[d].values) or "none"
            raise ResultsError(
                f"{where}{el!r} is not an element of {metric.variable!r} "
                f"(its elements: {elements}); fix the goal's 'element'"
            )
        pick[str(hits[0])] = el
    da = da.sel(pick) if pick else da
    rest = [str(d) for d in da.dims if d not in _SAMPLE_DIMS]
    if rest:
        raise ResultsError(
            f"{where}{metric.variable!r} has subscripts ({', '.join(rest)}); give the goal an "
            f"'element:' for each (e.g. {da[rest[0]].values[0]})"
        )
    if "time" not in da.dims:
        da = da.expand_dims(time=ds["time"].values)
    units = da.attrs.get("units")
    if unit and units is not None and _norm(units).replace(" ", "") != _norm(unit).replace(" ", ""):
        raise ResultsError(
            f"{where}variable {metric.variable!r} is in {units!r} but the goal is in "
            f"{unit!r}; fix the goal's 'unit' or remove it."
        )
    if metric.statistic != "value":
        acc = np.fmax if metric.statistic == "max" else np.fmin
        da = da.copy(data=acc.accumulate(da.values, axis=da.get_axis_num("time")))
    return da.rename(goal_id)
