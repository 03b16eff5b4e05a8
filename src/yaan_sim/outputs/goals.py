"""The plan's goals: load and validate ``scenarios/plan-goals.yaml``.

A goal says how one number is computed from simulation results (its *metric*), how it
is compared with a target, in which year, and where (the city, each region, each park).
The file's header documents the format; :func:`load_goals` checks every key and reports
every problem at once, naming the file, the line, the goal and the key.

>>> goals = load_goals()
>>> goals["revenue_city"].target
2000.0
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from yaan_sim.errors import YaanSimError
from yaan_sim.paths import SCENARIOS_DIR

DEFAULT_GOALS = SCENARIOS_DIR / "plan-goals.yaml"

#: The nine parks of the plan's "1+8" system, in the plan's order (一(三)).
PARKS = (
    "ETDZ",
    "Hanyuan",
    "Shimian",
    "Lushan",
    "Tianquan",
    "Baoxing",
    "Yingjing",
    "Yucheng",
    "Chengya",
)
#: Regions of plan 二(二); used when a dataset has no ``region`` coordinate on ``park``.
REGION_OF_PARK = {
    "ETDZ": "East",
    "Yucheng": "East",
    "Chengya": "East",
    "Yingjing": "East",
    "Hanyuan": "South",
    "Shimian": "South",
    "Tianquan": "Northwest",
    "Lushan": "Northwest",
    "Baoxing": "Northwest",
}
REGIONS = ("East", "South", "Northwest")
PARK_NAMES_ZH = {
    "ETDZ": "飞地园区(经开区)",
    "Hanyuan": "汉源",
    "Shimian": "石棉",
    "Lushan": "芦山",
    "Tianquan": "天全",
    "Baoxing": "宝兴",
    "Yingjing": "荥经",
    "Yucheng": "雨城",
    "Chengya": "成雅",
}
REGION_NAMES_ZH = {"East": "东部", "South": "南部", "Northwest": "西北部"}
CITY = "Ya'an"
CITY_ZH = "全市"

SCOPES = ("city", "region", "park")
COMPARISONS = (">=", "<=", "falling_every_year")
AGGREGATES = ("sum", "ratio_of_sums")

_GOAL_KEYS = (
    "id",
    "name_en",
    "name_zh",
    "section",
    "note",
    "note_zh",
    "text_zh",
    "metric",
    "comparison",
    "target",
    "baseline_year",
    "year",
    "unit",
    "scope",
    "also_scopes",
)
_REQUIRED = (
    "id",
    "name_en",
    "name_zh",
    "section",
    "text_zh",
    "metric",
    "comparison",
    "year",
    "unit",
    "scope",
)
_METRIC_KEYS = ("variable", "numerator", "denominator", "aggregate", "scale", "select")
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class GoalsError(YaanSimError):
    """A goals file is invalid. ``problems`` holds every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


def scope_label(scope: str, name: str, lang: str = "en") -> str:
    """Display name of a scope element: a park, a region or the city."""
    if lang == "zh":
        if scope == "city":
            return CITY_ZH
        if scope == "region":
            return REGION_NAMES_ZH.get(name, name)
        return PARK_NAMES_ZH.get(name, name)
    return CITY if scope == "city" else name


@dataclass(frozen=True)
class Metric:
    """How a goal's number is computed from the results, for the parks of one scope."""

    aggregate: str  # "sum" or "ratio_of_sums"
    variable: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    select: Mapping[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> tuple[str, ...]:
        """The dataset variables the metric reads."""
        if self.aggregate == "sum":
            return (self.variable,)
        return (self.numerator, self.denominator)

    def describe(self) -> str:
        """One line, e.g. ``100 * sum(research_spending) / sum(revenue)``."""
        sel = "".join(f"[{k}={v}]" for k, v in self.select.items())
        if self.aggregate == "sum":
            return f"sum({self.variable}{sel})"
        k = "" if self.scale == 1 else f"{self.scale:g} * "
        return f"{k}sum({self.numerator}{sel}) / sum({self.denominator}{sel})"


@dataclass(frozen=True)
class Goal:
    """One quantitative goal of the plan."""

    id: str
    name_en: str
    name_zh: str
    section: str
    text_zh: str
    metric: Metric
    comparison: str  # ">=", "<=" or "falling_every_year"
    target: float | Mapping[str, float] | str | None  # number, {park: number}, "baseline"
    year: int
    unit: str
    scope: str
    also_scopes: tuple[str, ...] = ()
    baseline_year: int | None = None
    note: str = ""
    note_zh: str = ""

    def name(self, lang: str = "en") -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def reading(self, lang: str = "en") -> str:
        """How the goal is read (its note), in ``lang`` where given, else in English."""
        return (self.note_zh or self.note) if lang == "zh" else self.note

    @property
    def scopes(self) -> tuple[str, ...]:
        """The binding scope first, then the informative ones."""
        return (self.scope, *self.also_scopes)

    @property
    def is_trend(self) -> bool:
        return self.comparison == "falling_every_year"

    @property
    def uses_baseline(self) -> bool:
        return self.target == "baseline"

    def fixed_target(self, scope: str, name: str, parks: Sequence[str] = ()) -> float | None:
        """The target for one scope element; None for trend and baseline goals.

        A ``{park: value}`` target gives a region or the city the sum over ``parks``
        (the parks of that scope element); validation allows this for sums only.
        """
        if self.is_trend or self.uses_baseline or self.target is None:
            return None
        if isinstance(self.target, Mapping):
            if scope == "park":
                return float(self.target[name]) if name in self.target else None
            missing = [p for p in parks if p not in self.target]
            if missing or not parks:
                return None
            return float(sum(self.target[p] for p in parks))
        return float(self.target)


class GoalSet(Sequence):
    """The goals of one file, in file order; index by position or by id."""

    def __init__(self, goals: Sequence[Goal], path: Path | None = None, source: str = ""):
        self._goals = tuple(goals)
        self.path = path
        self.source = source

    def __len__(self) -> int:
        return len(self._goals)

    def __iter__(self) -> Iterator[Goal]:
        return iter(self._goals)

    def __getitem__(self, key):
        if isinstance(key, str):
            for g in self._goals:
                if g.id == key:
                    return g
            hint = _closest(key, [g.id for g in self._goals])
            raise KeyError(f"no goal {key!r}{hint}")
        return self._goals[key]

    @property
    def ids(self) -> list[str]:
        return [g.id for g in self._goals]

    def __repr__(self) -> str:
        return f"GoalSet({self.ids}, path={str(self.path)!r})"


# ---------------------------------------------------------------- loading and checks


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records the line of every mapping under the key ``__line__``."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _closest(word: str, options) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_goals(path: str | Path | None = None) -> GoalSet:
    """Read and validate a goals file (default ``scenarios/plan-goals.yaml``).

    Raises
    ------
    GoalsError
        listing every problem, each naming the file, line, goal id and key.
    """
    path = Path(path) if path is not None else DEFAULT_GOALS
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoalsError(
            f"cannot read the goals file {path}: {exc.strerror or exc}. "
            f"The plan's goals ship as {DEFAULT_GOALS}."
        ) from None
    except UnicodeDecodeError as exc:
        raise GoalsError(
            f"{path}: not UTF-8 text (byte {exc.start}): save the goals file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise GoalsError(f"{path}: not valid YAML: {exc}") from None
    return goals_from_dict(data, path)


def goals_from_dict(data, path: str | Path = "<goals>") -> GoalSet:
    """Validate already-parsed goals data (a dict with a ``goals`` list)."""
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("goals"), list):
        raise GoalsError(f"{path}: expected a mapping with a 'goals:' list at the top level.")
    unknown_top = [k for k in data if k not in ("goals", "source", "__line__")]
    for k in unknown_top:
        problems.append(f"{path}: unknown top-level key {k!r}; allowed: goals, source")
    goals: list[Goal] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["goals"]):
        goal = _check_goal(raw, i, path, seen, problems)
        if goal is not None:
            goals.append(goal)
    if not goals and not problems:
        problems.append(f"{path}: the 'goals:' list is empty")
    if problems:
        head = (
            f"{len(problems)} problem(s) in the goals file {path}:\n  " if len(problems) > 1 else ""
        )
        raise GoalsError(head + "\n  ".join(problems), problems)
    return GoalSet(goals, Path(path), str(data.get("source", "")))


def _check_goal(raw, index: int, path, seen: set[str], problems: list[str]) -> Goal | None:
    if not isinstance(raw, dict):
        problems.append(
            f"{path}: goal #{index + 1} is not a mapping (write 'id: ...', 'metric: ...')"
        )
        return None
    line = raw.get("__line__", "?")
    gid = raw.get("id")
    where = (
        f"{path}:{line}: goal {gid!r}" if gid is not None else f"{path}:{line}: goal #{index + 1}"
    )
    n0 = len(problems)

    def bad(key: str, msg: str) -> None:
        problems.append(f"{where}: key {key!r}: {msg}")

    for key in raw:
        if key != "__line__" and key not in _GOAL_KEYS:
            bad(key, f"unknown key{_closest(key, _GOAL_KEYS)}; allowed: {', '.join(_GOAL_KEYS)}")
    for key in _REQUIRED:
        if key not in raw:
            bad(key, "missing")
    if gid is not None:
        if not isinstance(gid, str) or not _ID_RE.match(gid):
            bad("id", "must be a name of letters, digits and '_' starting with a letter")
        elif gid in seen:
            bad("id", "duplicate id; every goal needs its own")
        else:
            seen.add(gid)
    for key in ("name_en", "name_zh", "section", "text_zh", "unit", "note", "note_zh"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            bad(key, "must be non-empty text")

    comparison = raw.get("comparison")
    if "comparison" in raw and comparison not in COMPARISONS:
        bad(
            "comparison",
            f"{comparison!r} is not one of {', '.join(map(repr, COMPARISONS))}"
            f"{_closest(comparison, COMPARISONS)}",
        )

    year = raw.get("year")
    if "year" in raw and not (
        isinstance(year, int) and not isinstance(year, bool) and 2000 <= year <= 2100
    ):
        bad("year", f"{year!r} is not a year (an integer such as 2020)")
    baseline_year = raw.get("baseline_year")
    if baseline_year is not None:
        if not (isinstance(baseline_year, int) and not isinstance(baseline_year, bool)):
            bad("baseline_year", f"{baseline_year!r} is not a year (an integer such as 2016)")
        elif isinstance(year, int) and baseline_year >= year:
            bad("baseline_year", f"{baseline_year} must be before the goal year {year}")

    scope = raw.get("scope")
    if "scope" in raw and scope not in SCOPES:
        bad("scope", f"{scope!r} is not one of {', '.join(SCOPES)}{_closest(scope, SCOPES)}")
    also = raw.get("also_scopes", [])
    if not isinstance(also, list) or any(s not in SCOPES for s in also):
        bad("also_scopes", f"{also!r} must be a list drawn from {', '.join(SCOPES)}")
        also = []
    elif scope in also or len(set(also)) != len(also):
        bad("also_scopes", "repeats a scope (the binding scope is given by 'scope')")

    metric = _check_metric(raw.get("metric"), bad) if "metric" in raw else None

    target = raw.get("target")
    if comparison == "falling_every_year":
        if target is not None:
            bad(
                "target",
                "a 'falling_every_year' goal takes no target (it compares each year "
                "with the year before); remove the key",
            )
        if baseline_year is None:
            bad("baseline_year", "missing: the first year the fall is counted from (e.g. 2016)")
    elif comparison in (">=", "<="):
        if "target" not in raw:
            bad("target", "missing: give a number, a {park: number} map, or 'baseline'")
        elif target == "baseline":
            if baseline_year is None:
                bad(
                    "baseline_year",
                    "missing: 'target: baseline' needs the year whose value "
                    "is the target (e.g. 2016)",
                )
        elif isinstance(target, dict):
            target = {k: v for k, v in target.items() if k != "__line__"}
            for park, value in target.items():
                if park not in PARKS:
                    bad(
                        "target",
                        f"unknown park {park!r}{_closest(park, PARKS)}; parks: {', '.join(PARKS)}",
                    )
                elif not _is_number(value) or value <= 0:
                    bad("target", f"{park}: {value!r} must be a positive number")
            if "park" not in (scope, *also):
                bad("target", "a {park: number} target needs scope 'park'")
            if metric is not None and metric.aggregate != "sum" and ({scope, *also} - {"park"}):
                bad(
                    "also_scopes",
                    "a {park: number} target can be summed to regions or the "
                    "city only for 'aggregate: sum' metrics",
                )
            target = {str(k): float(v) for k, v in target.items() if _is_number(v)}
        elif _is_number(target):
            target = float(target)
        else:
            bad("target", f"{target!r} must be a number, a {{park: number}} map, or 'baseline'")

    if len(problems) > n0:
        return None
    return Goal(
        id=gid,
        name_en=raw["name_en"],
        name_zh=raw["name_zh"],
        section=raw["section"],
        text_zh=" ".join(raw["text_zh"].split()),
        metric=metric,
        comparison=comparison,
        target=target,
        year=year,
        unit=raw["unit"],
        scope=scope,
        also_scopes=tuple(also),
        baseline_year=baseline_year,
        note=raw.get("note", ""),
        note_zh=raw.get("note_zh", ""),
    )


def _check_metric(raw, bad) -> Metric | None:
    if not isinstance(raw, dict):
        bad("metric", "must be a mapping such as {variable: revenue, aggregate: sum}")
        return None
    n_bad = 0

    def mbad(msg: str) -> None:
        nonlocal n_bad
        n_bad += 1
        bad("metric", msg)

    for key in raw:
        if key != "__line__" and key not in _METRIC_KEYS:
            mbad(
                f"unknown key {key!r}{_closest(key, _METRIC_KEYS)}; allowed: "
                f"{', '.join(_METRIC_KEYS)}"
            )
    agg = raw.get("aggregate")
    if agg not in AGGREGATES:
        mbad(f"aggregate {agg!r} is not one of {', '.join(AGGREGATES)}{_closest(agg, AGGREGATES)}")
    names = {"sum": ("variable",), "ratio_of_sums": ("numerator", "denominator")}.get(agg, ())
    for key in names:
        v = raw.get(key)
        if not (isinstance(v, str) and v.isidentifier()):
            mbad(f"'{key}' must name a results variable, e.g. revenue (got {v!r})")
    other = {"sum": ("numerator", "denominator"), "ratio_of_sums": ("variable",)}.get(agg, ())
    for key in other:
        if key in raw:
            mbad(f"'{key}' does not apply to aggregate {agg!r}")
    scale = raw.get("scale", 1)
    if not _is_number(scale) or scale <= 0:
        mbad(f"scale {scale!r} must be a positive number")
    select = raw.get("select", {}) or {}
    select = (
        {k: v for k, v in select.items() if k != "__line__"} if isinstance(select, dict) else select
    )
    if not isinstance(select, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in select.items()
    ):
        mbad(f"select {select!r} must map a dim to one label, e.g. {{pollutant: COD}}")
    if n_bad:
        return None
    return Metric(
        aggregate=agg,
        variable=raw.get("variable"),
        numerator=raw.get("numerator"),
        denominator=raw.get("denominator"),
        scale=float(scale),
        select=dict(select),
    )
