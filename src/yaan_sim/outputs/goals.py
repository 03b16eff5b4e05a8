"""Goals files: load and validate ``scenarios/plan-goals.yaml`` or any model's goals.

A goal says how one number is computed from simulation results (its *metric*), how it
is compared with a target, in which year, and where. Two forms, one file format:

- the plan's form (``metric:``): a sum or ratio of sums over the parks of a scope (the
  city, each region, each park); ``scenarios/plan-goals.yaml`` documents it;
- the generic form (``variable:``), for any model: one variable, optionally one subscript
  element, its value (or its largest or smallest value so far) at a time ``year`` of the
  model's own time axis, compared ``at least`` / ``at most`` a target, or ``falling every
  year`` from ``baseline_year``::

      goals:
        - id: peak_infections
          name: Peak infections          # or name_en / name_zh
          variable: Infectious           # Vensim or Python name
          statistic: max                 # value (default), max or min up to the year
          comparison: at most            # at least | at most | falling every year
          target: 400
          year: 100

Both are judged by the same status rules (:mod:`yaan_sim.outputs.rules`).
:func:`load_goals` checks every key and reports every problem at once, naming the file,
the line, the goal and the key.

>>> goals = load_goals()
>>> goals["revenue_city"].target
2000.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import closest
from yaan_sim.model.profile import ModelProfile
from yaan_sim.outputs.generic_goals import MODEL_SCOPE, VariableMetric, read_generic_goal
from yaan_sim.outputs.i18n import place_label
from yaan_sim.paths import DEFAULT_MODEL, SCENARIOS_DIR
from yaan_sim.scenario.places import Places
from yaan_sim.scenario.reader import Node, Problem, Reader

DEFAULT_GOALS = SCENARIOS_DIR / "plan-goals.yaml"

#: The city's scope name in goal tables (``scope_name`` of the city rows).
CITY = "Ya'an"

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
    """A goals file is invalid. ``problems`` holds every problem found (as text);
    ``details`` the same as :class:`~yaan_sim.scenario.reader.Problem` objects."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.details = list(problems or [])
        self.problems = [str(p) for p in self.details]


def scope_label(scope: str, name: str, lang: str = "en") -> str:
    """Display name of a scope element: a park, a region or the city; for a generic goal
    (scope ``model``) its subscript element, if any."""
    if scope == MODEL_SCOPE:
        return str(name)
    return place_label(scope, name, lang)


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
        """The dataset variables the metric reads: ``(variable,)`` of a sum,
        ``(numerator, denominator)`` of a ratio of sums."""
        names = (self.variable,) if self.aggregate == "sum" else (self.numerator, self.denominator)
        return tuple(n for n in names if n is not None)  # validation sets every one

    def describe(self) -> str:
        """One line, e.g. ``100 * sum(research_spending) / sum(revenue)``."""
        sel = "".join(f"[{k}={v}]" for k, v in self.select.items())
        if self.aggregate == "sum":
            return f"sum({self.variable}{sel})"
        k = "" if self.scale == 1 else f"{self.scale:g} * "
        return f"{k}sum({self.numerator}{sel}) / sum({self.denominator}{sel})"


@dataclass(frozen=True)
class Goal:
    """One quantitative goal: of the plan (``metric`` a :class:`Metric`) or of any model
    (a :class:`VariableMetric`, scope ``model``)."""

    id: str
    name_en: str
    name_zh: str
    section: str
    text_zh: str
    metric: Metric | VariableMetric
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
    def is_generic(self) -> bool:
        """Whether this is a generic goal (one variable of any model, no parks)."""
        return isinstance(self.metric, VariableMetric)

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

    def __init__(
        self,
        goals: Sequence[Goal],
        path: Path | None = None,
        source: str = "",
        places: Places | None = None,
    ):
        self._goals = tuple(goals)
        self.path = path
        self.source = source
        self.places = places if places is not None else Places.from_mdl(DEFAULT_MODEL)

    def __len__(self) -> int:
        return len(self._goals)

    def __iter__(self) -> Iterator[Goal]:
        return iter(self._goals)

    def __getitem__(self, key):
        if isinstance(key, str):
            for g in self._goals:
                if g.id == key:
                    return g
            raise KeyError(f"no goal {key!r}{_did_you_mean(key, [g.id for g in self._goals])}")
        return self._goals[key]

    @property
    def ids(self) -> list[str]:
        return [g.id for g in self._goals]

    def __repr__(self) -> str:
        return f"GoalSet({self.ids}, path={str(self.path)!r})"


# ---------------------------------------------------------------- loading and checks


def _did_you_mean(word, options) -> str:
    match = closest(str(word), [str(o) for o in options])
    return f" (did you mean {match[0]!r}?)" if match else ""


def _is_number(x: Any) -> TypeGuard[int | float]:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_goals(path: str | Path | None = None, *, places: Places | None = None) -> GoalSet:
    """Read and validate a goals file (default ``scenarios/plan-goals.yaml``).

    The file is read by the same hardened reader as scenario files (size, depth and alias
    limits, no duplicate keys, YAML 1.2 numbers). Parks may be named as the model names
    them or in Chinese (经开区, 汉源); ``places`` are the model's parks and regions
    (default: those of models/yaan_parks.mdl).

    Raises
    ------
    GoalsError
        listing every problem, each naming the file, line, goal id and key.
    """
    path = Path(path) if path is not None else DEFAULT_GOALS
    problems: list[Problem] = []
    reader = Reader(
        str(path), problems, what="goals file", start="write `goals:` and a list of goals"
    )
    root = reader.read(path)
    if root is None:
        first = problems[0] if problems else None
        why = f"{first.message}" if first is not None else "nothing to read"
        if reader.failure == "read":
            head = f"cannot read the goals file {path}: {why}. "
            raise GoalsError(head + f"The plan's goals ship as {DEFAULT_GOALS}.", problems)
        if reader.failure == "yaml":
            raise GoalsError(f"{path}: not valid YAML: " + "; ".join(map(str, problems)), problems)
        raise GoalsError(f"{path}: {why}", problems)
    return _goals_from_node(root, path, places, problems)


def profile_goals(profile: ModelProfile, path: str | Path | None = None) -> GoalSet | None:
    """The goals of a model's profile (:mod:`yaan_sim.model.profile`): its goals file
    (or ``path``, another goals file for that model) read and validated against the
    model's places, or None where the model has none."""
    path = path if path is not None else profile.goals_path
    if path is None:
        return None
    places = None
    if not profile.is_yaan and profile.mdl_path is not None:
        places = Places.from_mdl(profile.mdl_path)
    return load_goals(path, places=places)


def goals_from_dict(data, path: str | Path = "<goals>", places: Places | None = None) -> GoalSet:
    """Validate already-parsed goals data (a dict with a ``goals`` list)."""
    return _goals_from_node(Node.wrap(data), path, places)


def _goals_from_node(
    root: Node, path, places: Places | None, problems: list[Problem] | None = None
) -> GoalSet:
    """The goals of a tree; ``problems`` the reader already found (duplicate keys,
    YAML 1.1 numbers) are reported with the rest."""
    places = places if places is not None else Places.from_mdl(DEFAULT_MODEL)
    file = str(path)
    problems = problems if problems is not None else []
    top = root.value if isinstance(root.value, dict) else None
    if top is None or not isinstance(top.get("goals", Node(None, 0)).value, list):
        raise GoalsError(f"{path}: expected a mapping with a 'goals:' list at the top level.")
    for k, v in top.items():
        if k not in ("goals", "source"):
            problems.append(
                Problem(
                    file, v.at or None, "", f"unknown top-level key {k!r}; allowed: goals, source"
                )
            )
    goals: list[Goal] = []
    seen: set[str] = set()
    for i, node in enumerate(top["goals"].value):
        goal = _check_goal(node, i, file, seen, problems, places)
        if goal is not None:
            goals.append(goal)
    if not goals and not problems:
        problems.append(Problem(file, None, "", "the 'goals:' list is empty"))
    if problems:
        head = (
            f"{len(problems)} problem(s) in the goals file {path}:\n  " if len(problems) > 1 else ""
        )
        raise GoalsError(head + "\n  ".join(map(str, problems)), problems)
    source = top.get("source")
    return GoalSet(goals, Path(path), str(source.value if source else ""), places)


def _check_goal(
    node: Node, index: int, file: str, seen: set[str], problems: list[Problem], places: Places
) -> Goal | None:
    if not isinstance(node.value, dict):
        problems.append(
            Problem(
                file,
                node.line or None,
                f"goal #{index + 1}",
                "is not a mapping (write 'id: ...', 'metric: ...')",
            )
        )
        return None
    raw = {k: v.plain() for k, v in node.value.items()}
    gid = raw.get("id")
    where = f"goal {gid!r}" if gid is not None else f"goal #{index + 1}"
    n0 = len(problems)

    def bad(key: str, msg: str) -> None:
        problems.append(Problem(file, node.line or None, where, f"key {key!r}: {msg}"))

    _check_id(gid, seen, bad)
    if "variable" in raw and "metric" not in raw:
        fields = read_generic_goal(raw, bad)
        return Goal(**fields) if len(problems) == n0 else None
    for key in raw:
        if key not in _GOAL_KEYS:
            hint = _did_you_mean(key, _GOAL_KEYS)
            bad(key, f"unknown key{hint}; allowed: {', '.join(_GOAL_KEYS)}")
    for key in _REQUIRED:
        if key == "metric" and key not in raw:
            bad(key, "missing: give 'metric:' (the plan's form) or 'variable:' (any model)")
        elif key not in raw:
            bad(key, "missing")
    for key in ("name_en", "name_zh", "section", "text_zh", "unit", "note", "note_zh"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            bad(key, "must be non-empty text")

    comparison = raw.get("comparison")
    if "comparison" in raw and comparison not in COMPARISONS:
        bad(
            "comparison",
            f"{comparison!r} is not one of {', '.join(map(repr, COMPARISONS))}"
            f"{_did_you_mean(comparison, COMPARISONS)}",
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
        bad("scope", f"{scope!r} is not one of {', '.join(SCOPES)}{_did_you_mean(scope, SCOPES)}")
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
            target = _park_targets(target, places, bad)
            if "park" not in (scope, *also):
                bad("target", "a {park: number} target needs scope 'park'")
            if metric is not None and metric.aggregate != "sum" and ({scope, *also} - {"park"}):
                bad(
                    "also_scopes",
                    "a {park: number} target can be summed to regions or the "
                    "city only for 'aggregate: sum' metrics",
                )
        elif _is_number(target):
            target = float(target)
        else:
            bad("target", f"{target!r} must be a number, a {{park: number}} map, or 'baseline'")

    if len(problems) > n0:
        return None
    # every check passed; the narrowing repeats what they established, for the types
    if not (
        isinstance(gid, str)
        and isinstance(comparison, str)
        and isinstance(year, int)
        and isinstance(scope, str)
        and metric is not None
    ):
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


def _check_id(gid, seen: set[str], bad) -> None:
    if gid is None:
        return
    if not isinstance(gid, str) or not _ID_RE.match(gid):
        bad("id", "must be a name of letters, digits and '_' starting with a letter")
    elif gid in seen:
        bad("id", "duplicate id; every goal needs its own")
    else:
        seen.add(gid)


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
        if key not in _METRIC_KEYS:
            mbad(
                f"unknown key {key!r}{_did_you_mean(key, _METRIC_KEYS)}; allowed: "
                f"{', '.join(_METRIC_KEYS)}"
            )
    agg = raw.get("aggregate")
    if agg not in AGGREGATES:
        hint = _did_you_mean(agg, AGGREGATES)
        mbad(f"aggregate {agg!r} is not one of {', '.join(AGGREGATES)}{hint}")
    kind = agg if isinstance(agg, str) else ""
    names = {"sum": ("variable",), "ratio_of_sums": ("numerator", "denominator")}.get(kind, ())
    for key in names:
        v = raw.get(key)
        if not (isinstance(v, str) and v.isidentifier()):
            mbad(f"'{key}' must name a results variable, e.g. revenue (got {v!r})")
    other = {"sum": ("numerator", "denominator"), "ratio_of_sums": ("variable",)}.get(kind, ())
    for key in other:
        if key in raw:
            mbad(f"'{key}' does not apply to aggregate {agg!r}")
    scale = raw.get("scale", 1)
    if not _is_number(scale) or scale <= 0:
        mbad(f"scale {scale!r} must be a positive number")
    select = raw.get("select", {}) or {}
    if not isinstance(select, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in select.items()
    ):
        mbad(f"select {select!r} must map a dim to one label, e.g. {{pollutant: COD}}")
    if n_bad or not isinstance(agg, str):  # a bad aggregate is counted in n_bad
        return None
    return Metric(
        aggregate=agg,
        variable=raw.get("variable"),
        numerator=raw.get("numerator"),
        denominator=raw.get("denominator"),
        scale=float(scale),
        select=dict(select),
    )


def _park_targets(target: dict, places: Places, bad) -> dict[str, float]:
    """``{park: target}`` with parks named as the model names them (Chinese names and
    aliases resolved), each park once, every value a positive number."""
    out: dict[str, float] = {}
    written: dict[str, str] = {}
    for key, value in target.items():
        park = places.resolve(key, kinds=("park",)) if isinstance(key, str) else None
        if park is None:
            near = places.suggest(key, kinds=("park",))
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            bad("target", f"unknown park {key!r}{hint}; parks: {', '.join(places.parks)}")
        elif park in written:
            bad("target", f"{key!r} and {written[park]!r} both name the park {park}")
        elif not _is_number(value) or value <= 0:
            bad("target", f"{key}: {value!r} must be a positive number")
        else:
            written[park] = key
            out[park] = float(value)
    return out
