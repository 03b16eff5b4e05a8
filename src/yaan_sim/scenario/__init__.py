"""Scenario files: read, validate and layer YAML scenarios; resolve their lever values.

A scenario names the model's levers by their Vensim names and gives each a number, a
per-park (or per-industry) map, or a time schedule; it may ``extends:`` another
scenario and carry an ``uncertain:`` block for ensembles. scenarios/README.md is the
reference of the format; in short::

    name: plan
    title: {zh: 规划情景, en: The plan as written}
    extends: baseline
    horizon: {start: 2016, stop: 2020, step: 0.25}
    levers:
      PPP share: 0.2                                  # one number, every element
      Research intensity target:                      # per park
        default: 0.012
        ETDZ: 0.015
        plan: 一(三)
      Power price discount:                           # a schedule
        schedule: {2016: 0, 2018: 0.1}
        interpolation: linear
    uncertain:
      Depreciation rate: {distribution: uniform, low: 0.06, high: 0.10}

Validation runs before anything else and reports every problem of a file at once
(:class:`Problem`: file, line, key path, what was expected, the fix); no YAML or Python
exception escapes: bad input always raises :class:`~yaan_sim.errors.ScenarioError`.

>>> sc = load_scenario("plan")                       # doctest: +SKIP
>>> series = sc.overrides(load_model())              # doctest: +SKIP
>>> series["PPP share"].sel(time=2018.0)             # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from yaan_sim.errors import ScenarioError
from yaan_sim.model.levers import Lever, _fmt, closest, constants, lever_registry, resolve_name
from yaan_sim.model.load import Horizon
from yaan_sim.paths import SCENARIOS_DIR

# --- limits on what a scenario file may be ----------------------------------------------
MAX_BYTES = 256 * 1024  # a scenario is a few KiB; anything near this is not one
MAX_DEPTH = 16  # deepest legitimate nesting is 6 (levers/lever/park/schedule/year)
MAX_ALIASES = 64  # alias uses (*name) in one file
MAX_NODES = 50_000  # nodes after alias expansion
MAX_CHAIN = 16  # files in one extends chain

INTERPOLATIONS = ("step", "linear")
DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
}
TOP_KEYS = (
    "name",
    "title",
    "description",
    "extends",
    "horizon",
    "levers",
    "uncertain",
    "plan",
    "note",
)
META_KEYS = ("plan", "note")  # free text on a lever: the plan's section, a remark
HORIZON_KEYS = ("start", "stop", "step", "saveper")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOL = 1e-9


# --- problems ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem in a scenario file.

    ``str(problem)`` reads ``FILE:LINE: KEY/PATH: message (expected: ...). Fix: ...``.
    """

    file: str
    line: int | None
    path: str
    message: str
    expected: str = ""
    fix: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        text = f"{where}: {self.path or '(top level)'}: {self.message}"
        if self.expected:
            text += f" (expected: {self.expected})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


MAX_LISTED = 50  # problems written into the message; ``.problems`` keeps them all


def _raise(problems: list[Problem], what: str) -> None:
    n = len(problems)
    lines = "\n".join(f"  {p}" for p in problems[:MAX_LISTED])
    if n > MAX_LISTED:
        lines += f"\n  ... and {n - MAX_LISTED} more"
    raise ScenarioError(f"{n} problem{'s' if n != 1 else ''} in {what}:\n{lines}", problems)


# --- YAML reading, keeping line numbers ---------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as ``1e-3`` as numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Y:
    """A YAML value with where it came from: ``value`` is a scalar, ``dict`` or ``list``
    whose children are again ``Y``; ``line`` is 1-based."""

    value: object
    line: int
    key_line: int = 0  # line of the key this value belongs to, where it has one

    @property
    def at(self) -> int:
        return self.key_line or self.line


class _Reader:
    """Turns one file into a tree of ``Y``, recording every problem on the way."""

    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = problems
        self.nodes = 0

    def problem(self, line, path, message, expected="", fix=""):
        self.problems.append(Problem(self.file, line, _path(path), message, expected, fix))

    def read(self, path: Path) -> Y | None:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except (OSError, ValueError) as exc:
            self.problem(
                None,
                (),
                f"cannot read the file: {getattr(exc, 'strerror', None) or exc}",
                "a readable scenario file",
                "check the path and permissions",
            )
            return None
        if len(data) > MAX_BYTES:
            self.problem(
                None,
                (),
                f"the file is over the limit of {MAX_BYTES:,} bytes",
                "a scenario file of a few KiB",
                "split it or remove what is not a scenario",
            )
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.problem(
                line,
                (),
                f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8",
                "a UTF-8 text file",
                "save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)",
            )
            return None
        self.text = text
        return self.parse(text)

    def parse(self, text: str) -> Y | None:
        if self._read_yaml(text, self._scan_events) is not True:
            return None
        node = self._read_yaml(text, lambda loader: loader.get_single_node())
        if node is _FAILED:
            return None
        if node is None:
            self.problem(
                1,
                (),
                "the file is empty (no YAML document)",
                "a mapping with at least `levers:` or `extends:`",
                "write e.g. `extends: baseline` and a `levers:` block",
            )
            return None
        self.constructor = _Loader("")
        try:
            return self._convert(node, (), 0)
        except _TooBig:
            self.problem(
                node.start_mark.line + 1,
                (),
                f"the document expands to more than {MAX_NODES:,} nodes (an alias-expansion bomb?)",
                "a small mapping",
                "write the values out instead of nesting aliases",
            )
            return None

    def _read_yaml(self, text: str, read):
        """``read(loader)`` on a fresh loader; a reading failure becomes a problem and
        ``_FAILED`` is returned (PyYAML can fail in odd ways: nothing may escape)."""
        loader = None
        try:
            loader = _Loader(text)
            return read(loader)
        except yaml.YAMLError as exc:
            self._yaml_problem(exc)
        except Exception as exc:
            self.problem(
                None,
                (),
                f"the YAML cannot be read: {exc}",
                "valid YAML",
                "check the file with a YAML linter",
            )
        finally:
            if loader is not None:
                loader.dispose()
        return _FAILED

    def _scan_events(self, loader) -> bool:
        """Check depth, alias count and document count on the event stream (no recursion)."""
        depth = aliases = docs = 0
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        f"nesting deeper than {MAX_DEPTH} levels",
                        "a scenario nests at most 6 levels",
                        "flatten the structure; see scenarios/README.md",
                    )
                    return False
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        f"more than {MAX_ALIASES} alias uses (*name)",
                        f"at most {MAX_ALIASES} aliases",
                        "write the values out instead of using aliases",
                    )
                    return False
            elif isinstance(ev, yaml.DocumentStartEvent):
                docs += 1
                if docs > 1:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        "more than one YAML document (a second `---`)",
                        "one document per file",
                        "put each scenario in its own file",
                    )
                    return False
        return True

    def _yaml_problem(self, exc: yaml.YAMLError) -> None:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = " ".join(
            str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x
        ) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):
            what = f"character {exc.character!r} is not allowed in YAML ({exc.reason})"
            line = None
        self.problem(
            line,
            (),
            f"invalid YAML: {what}",
            "valid YAML (see scenarios/README.md)",
            "fix the syntax at that line (indentation, a missing ':' or quote)",
        )

    def _convert(self, node, path, depth) -> Y:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                self.problem(
                    line, path, f"unsupported tag {node.tag}", "a plain mapping", "remove the tag"
                )
            out: dict = {}
            for knode, vnode in node.value:
                kline = knode.start_mark.line + 1
                if knode.tag == _MERGE_TAG:
                    self.problem(
                        kline,
                        path,
                        "merge keys (<<) are not supported",
                        "keys written out",
                        "write the keys out, or use `extends:`",
                    )
                    continue
                if not isinstance(knode, yaml.ScalarNode):
                    self.problem(
                        kline,
                        path,
                        "a key that is a mapping or a list",
                        "a name or a year as key",
                        "write the key as plain text",
                    )
                    continue
                key = self._scalar(knode, path)
                if key is _BAD:
                    continue
                if key in out:
                    self.problem(
                        kline,
                        (*path, key),
                        f"duplicate key {key!r} (first at line {out[key].key_line})",
                        "each key once",
                        "remove or merge one of the two",
                    )
                    continue
                child = self._convert(vnode, (*path, key), depth + 1)
                child.key_line = kline
                out[key] = child
            return Y(out, line)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.problem(
                    line, path, f"unsupported tag {node.tag}", "a plain list", "remove the tag"
                )
            return Y(
                [self._convert(n, (*path, i), depth + 1) for i, n in enumerate(node.value)], line
            )
        value = self._scalar(node, path)
        return Y(None if value is _BAD else value, line)

    def _scalar(self, node, path):
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:
            self.problem(
                node.start_mark.line + 1,
                path,
                f"cannot read the value {node.value!r}: {getattr(exc, 'problem', None) or exc}",
                "a number, a name or text",
                "remove the tag or quote the value",
            )
            return _BAD


_FAILED = object()  # what _Reader._read_yaml returns when the text could not be read


class _TooBig(Exception):
    pass


_BAD = object()


def _path(keys) -> str:
    return "/".join(str(k) for k in keys)


def _kind(value) -> str:
    """How a YAML value reads to a person."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value!s})"


def _as_float(value) -> float | None:
    """``value`` as a float, or None when it is not a number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# --- the parsed values -----------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A time schedule: values at years, held (``step``) or interpolated (``linear``).

    Before the first year the first value holds, after the last year the last value.
    ``step``: at time t the value of the last point at or before t.
    """

    years: tuple[float, ...]
    values: tuple[float, ...]
    interpolation: str = "step"

    def at(self, times) -> np.ndarray:
        """The schedule's value at each of ``times``."""
        t = np.asarray(times, dtype=float)
        years = np.asarray(self.years, dtype=float)
        values = np.asarray(self.values, dtype=float)
        if self.interpolation == "linear":
            return np.interp(t, years, values)
        tol = _TOL * np.maximum(1.0, np.abs(t))
        idx = np.searchsorted(years, t + tol, side="right") - 1
        return values[np.clip(idx, 0, len(values) - 1)]

    def describe(self) -> str:
        pts = ", ".join(f"{_fmt(y)}: {_fmt(v)}" for y, v in zip(self.years, self.values))
        return "{" + pts + "}" + (" linear" if self.interpolation == "linear" else "")


Value = float | Schedule


def _value_at(value: Value, times: np.ndarray) -> np.ndarray:
    if isinstance(value, Schedule):
        return value.at(times)
    return np.full(times.shape, float(value))


def _describe(value: Value) -> str:
    return value.describe() if isinstance(value, Schedule) else _fmt(value)


@dataclass(frozen=True)
class LeverSetting:
    """What one file sets for one lever.

    ``base`` applies to every element (``None``: the .mdl's default); ``parts`` then set
    selections ``(key, dim, elements, value)`` in order (sub-ranges before elements).
    """

    name: str
    base: Value | None
    parts: tuple[tuple[str, str, tuple[str, ...], Value], ...] = ()
    plan: str = ""
    note: str = ""
    file: str = ""
    line: int = 0
    origin: str = ""  # name of the scenario whose file sets it
    origin_path: Path | None = None
    scale: float | None = None  # the ``{scale: k}`` form: k times the .mdl's value

    def resolve(self, lever: Lever, times: np.ndarray) -> xr.DataArray:
        """The setting on the time grid: dims ``("time", *lever.dims)``."""
        shape = (len(times), *lever.default.shape)
        if self.base is None:
            default = lever.default.values.astype(float) * (self.scale or 1.0)
            data = np.broadcast_to(default, shape).copy()
        else:
            data = np.empty(shape)
            data[...] = _value_at(self.base, times).reshape((-1,) + (1,) * len(lever.dims))
        da = xr.DataArray(
            data,
            dims=("time", *lever.dims),
            coords={"time": times, **{d: lever.coords[d] for d in lever.dims}},
        )
        for _key, dim, elements, value in self.parts:
            series = _value_at(value, times).reshape((-1,) + (1,) * len(lever.dims))
            da.loc[{dim: list(elements)}] = np.broadcast_to(
                series, da.loc[{dim: list(elements)}].shape
            )
        da.attrs.update(units=lever.units, long_name=lever.en, long_name_zh=lever.zh)
        return da

    def describe(self) -> str:
        """A short text: ``0.2``, ``default 0.012; ETDZ 0.015``, ``{2016: 0, 2018: 0.1}``."""
        if self.scale is not None:
            return f"{_fmt(self.scale)} × .mdl"
        items = [] if self.base is None else [_describe(self.base)]
        if self.parts and items:
            items[0] = "default " + items[0]
        items += [f"{key} {_describe(v)}" for key, _d, _e, v in self.parts]
        return "; ".join(items) if items else "(.mdl default)"


@dataclass(frozen=True)
class Distribution:
    """A distribution for ensembles: uniform(low, high), triangular(low, mode, high), or
    normal(mean, sd) truncated to ``[low, high]`` (the lever's range where not given)."""

    kind: str
    params: dict
    low: float = -math.inf
    high: float = math.inf
    independent: bool = False  # draw each element on its own (else one draw shared)

    def draw(self, rng: np.random.Generator, size) -> np.ndarray:
        p = self.params
        if self.kind == "uniform":
            return rng.uniform(p["low"], p["high"], size)
        if self.kind == "triangular":
            return rng.triangular(p["low"], p["mode"], p["high"], size)
        from scipy.stats import truncnorm

        a = (self.low - p["mean"]) / p["sd"]
        b = (self.high - p["mean"]) / p["sd"]
        return truncnorm.rvs(a, b, loc=p["mean"], scale=p["sd"], size=size, random_state=rng)

    def describe(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.kind}({args})"


@dataclass(frozen=True)
class UncertainSetting:
    """What one file draws for one constant: ``base`` for every element (None: the .mdl
    value, fixed), then ``parts`` for selections, as in :class:`LeverSetting`."""

    name: str
    base: Distribution | None
    parts: tuple[tuple[str, str, tuple[str, ...], Distribution], ...] = ()
    file: str = ""
    line: int = 0

    def sample(self, lever: Lever, rng: np.random.Generator, n: int) -> xr.DataArray:
        shape = (n, *lever.default.shape)
        data = np.broadcast_to(lever.default.values.astype(float), shape).copy()
        da = xr.DataArray(
            data,
            dims=("sample", *lever.dims),
            coords={"sample": np.arange(n), **{d: lever.coords[d] for d in lever.dims}},
        )
        pieces = [] if self.base is None else [(None, None, (), self.base)]
        for _key, dim, elements, dist in [*pieces, *self.parts]:
            target = da if dim is None else da.loc[{dim: list(elements)}]
            tshape = target.shape
            if dist.independent:
                draws = dist.draw(rng, tshape)
            else:
                draws = np.broadcast_to(
                    dist.draw(rng, n).reshape((n,) + (1,) * (len(tshape) - 1)), tshape
                )
            if dim is None:
                da.values[...] = draws
            else:
                da.loc[{dim: list(elements)}] = draws
        da.attrs.update(units=lever.units, long_name=lever.en, long_name_zh=lever.zh)
        return da


@dataclass
class Uncertainty:
    """The ``uncertain:`` block of a scenario, bound to the model's constants."""

    settings: dict[str, UncertainSetting]
    constants: dict[str, Lever] = field(repr=False, compare=False, default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.settings)

    def __len__(self) -> int:
        return len(self.settings)

    def __iter__(self):
        return iter(self.settings)

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, xr.DataArray]:
        """Draw ``n`` samples: ``{Vensim name: DataArray (sample, *dims)}``, each in range.

        Constants are drawn in sorted-name order, so a seed gives the same samples
        whatever the order of the file.
        """
        if not isinstance(rng, np.random.Generator):
            raise ScenarioError(
                "sample() needs a numpy.random.Generator, e.g. numpy.random.default_rng(0)"
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ScenarioError(f"sample() needs a whole number of samples >= 1, not {n!r}")
        return {
            name: self.settings[name].sample(self.constants[name], rng, int(n))
            for name in sorted(self.settings)
        }


# --- the scenario -----------------------------------------------------------------------
@dataclass
class Scenario:
    """A validated scenario, layered over its parents.

    Attributes
    ----------
    name : str
        The scenario's name (``name:``, else the file's stem).
    title : dict
        ``{"zh": ..., "en": ...}``.
    description : str
    horizon : Horizon or None
        The horizon the files set (missing fields from the model), None when none does.
    levers : dict
        ``{Vensim name: LeverSetting}`` after layering (child over parent, lever by lever).
    uncertain : Uncertainty
        The ``uncertain:`` block after layering, with ``sample(rng, n)``.
    sources : tuple of Path
        The files, the scenario's own first, then its parent, grandparent, ...
    text : str
        The raw YAML of every file of the chain, each headed by ``# --- <file name>``.
    sha256 : str
        SHA-256 of ``text``: changes when the file or any parent changes, not with the
        folder the files are read from.
    texts : tuple of str
        The raw YAML of each file of ``sources``, in the same order (what a run's
        manifest records).
    """

    name: str
    title: dict
    description: str
    horizon: Horizon | None
    levers: dict[str, LeverSetting]
    uncertain: Uncertainty
    sources: tuple[Path, ...]
    text: str
    sha256: str
    plan: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()

    @property
    def title_zh(self) -> str:
        return self.title.get("zh") or self.title.get("en") or self.name

    @property
    def title_en(self) -> str:
        return self.title.get("en") or self.title.get("zh") or self.name

    @property
    def path(self) -> Path:
        return self.sources[0]

    def overrides(self, model, horizon: Horizon | None = None) -> dict[str, xr.DataArray]:
        """Every lever the scenario sets, resolved onto the integration time grid.

        Parameters
        ----------
        model : YaanModel
        horizon : Horizon, optional
            Default: the scenario's horizon, else the model's.

        Returns
        -------
        dict
            ``{Vensim name: DataArray}`` with dims ``("time", *lever dims)``, time coord
            ``horizon.times()`` (every integration step, start to stop inclusive), units
            and long names in attrs. Levers the scenario does not set are left out (they
            keep the .mdl's value).
        """
        horizon = horizon or self.horizon or model.default_horizon
        times = horizon.times()
        registry = lever_registry(model)
        missing = [n for n in self.levers if n not in registry]
        if missing:
            raise ScenarioError(
                f"scenario {self.name!r} sets levers that {Path(model.mdl_path).name} does not "
                f"have: {', '.join(missing)}. Validate it against this model "
                f"(yaan-sim validate --model ...) or fix the names."
            )
        return {name: s.resolve(registry[name], times) for name, s in self.levers.items()}

    def describe_levers(self) -> dict[str, str]:
        """``{lever: short text}`` of the layered settings (for tables)."""
        return {name: s.describe() for name, s in self.levers.items()}


# --- validation of one file -------------------------------------------------------------
class _FileCheck(_Reader):
    """Reads and checks one file against the model, given its parent's state."""

    def __init__(self, path: Path, model, problems: list[Problem]):
        super().__init__(display_path(path), problems)
        self.path = path
        self.model = model
        self.levers = lever_registry(model)
        self.constants = constants(model)
        self.text = ""

    # -- top level
    def top(self, root: Y) -> dict | None:
        if not isinstance(root.value, dict):
            self.problem(
                root.line,
                (),
                f"the top level is {_kind(root.value)}",
                "a mapping of keys such as name, title, extends, horizon, levers",
                "start the file with `name: ...` and `levers:`; see scenarios/README.md",
            )
            return None
        top = root.value
        for key, y in top.items():
            if key not in TOP_KEYS:
                hint = closest(str(key), TOP_KEYS)
                self.problem(
                    y.at,
                    (key,),
                    f"unknown key {key!r}",
                    f"one of {', '.join(TOP_KEYS)}",
                    f"did you mean {hint[0]!r}?"
                    if hint
                    else "remove it, or put a lever under `levers:`",
                )
        return top

    def text_field(self, top, key) -> str:
        y = top.get(key)
        if y is None or y.value is None:
            return ""
        if not isinstance(y.value, str):
            self.problem(
                y.at, (key,), f"{key} is {_kind(y.value)}", "text", "quote it: " + key + ': "..."'
            )
            return ""
        return y.value

    def name(self, top) -> str:
        name = self.text_field(top, "name")
        if name and not _NAME_RE.fullmatch(name):
            self.problem(
                top["name"].at,
                ("name",),
                f"name {name!r} is not a simple name",
                "letters, digits, '-', '_' or '.' (e.g. green-low-carbon)",
                "use a short name like the file's stem: " + repr(self.path.stem),
            )
            return self.path.stem
        return name or self.path.stem

    def title(self, top) -> dict:
        y = top.get("title")
        if y is None or y.value is None:
            return {}
        if isinstance(y.value, str):
            return {"en": y.value, "zh": y.value}
        if not isinstance(y.value, dict):
            self.problem(
                y.at,
                ("title",),
                f"title is {_kind(y.value)}",
                "{zh: ..., en: ...}",
                "write title: {zh: 规划情景, en: The plan}",
            )
            return {}
        out = {}
        for k, v in y.value.items():
            if k not in ("zh", "en"):
                self.problem(
                    v.at, ("title", k), f"unknown language {k!r}", "zh or en", "use `zh:` and `en:`"
                )
            elif not isinstance(v.value, str):
                self.problem(
                    v.at, ("title", k), f"title is {_kind(v.value)}", "text", "quote the title"
                )
            else:
                out[k] = v.value
        return out

    def plan_refs(self, top) -> tuple[str, ...]:
        y = top.get("plan")
        if y is None or y.value is None:
            return ()
        if isinstance(y.value, str):
            return (y.value,)
        if isinstance(y.value, list) and all(isinstance(i.value, str) for i in y.value):
            return tuple(i.value for i in y.value)
        self.problem(
            y.at,
            ("plan",),
            f"plan is {_kind(y.value)}",
            "a list of the plan's sections, e.g. [一(三), 三(一)3]",
            "write plan: [一(三), 三(一)3]",
        )
        return ()

    # -- horizon
    def horizon(self, top, parent: Horizon | None, model_h: Horizon) -> tuple[Horizon | None, bool]:
        """The effective horizon after this file, and whether any file set one."""
        y = top.get("horizon")
        base = parent or model_h
        if y is None or y.value is None:
            return base, parent is not None
        if not isinstance(y.value, dict):
            self.problem(
                y.at,
                ("horizon",),
                f"horizon is {_kind(y.value)}",
                "a mapping {start: 2016, stop: 2020, step: 0.25}",
                "write horizon: {start: 2016, stop: 2020, step: 0.25}",
            )
            return base, parent is not None
        vals = {"start": base.start, "stop": base.stop, "step": base.step, "saveper": None}
        ok = True
        for k, v in y.value.items():
            if k not in HORIZON_KEYS:
                hint = closest(str(k), HORIZON_KEYS)
                self.problem(
                    v.at,
                    ("horizon", k),
                    f"unknown key {k!r}",
                    f"one of {', '.join(HORIZON_KEYS)}",
                    f"did you mean {hint[0]!r}?" if hint else "remove it",
                )
                ok = False
                continue
            x = _as_float(v.value)
            if x is None or not math.isfinite(x):
                self.problem(
                    v.at,
                    ("horizon", k),
                    f"{k} is {_kind(v.value)}",
                    "a finite number of years",
                    f"write e.g. {k}: " + {"start": "2016", "stop": "2020"}.get(k, "0.25"),
                )
                ok = False
                continue
            vals[k] = x
        if not ok:
            return base, True
        start, stop, step = vals["start"], vals["stop"], vals["step"]
        line = y.at
        if step <= 0:
            self.problem(
                line,
                ("horizon", "step"),
                f"step {_fmt(step)} is not positive",
                "a step > 0 (the model uses 0.25 or finer)",
                "write step: 0.25",
            )
            return base, True
        if stop <= start:
            self.problem(
                line,
                ("horizon",),
                f"stop {_fmt(stop)} is not after start {_fmt(start)}",
                "start < stop",
                "e.g. start: 2016, stop: 2020",
            )
            return base, True
        n = (stop - start) / step
        if n > 100_000:
            self.problem(
                line,
                ("horizon",),
                f"{n:,.0f} steps",
                "at most 100,000 steps",
                "use a coarser step or a shorter horizon",
            )
            return base, True
        if abs(n - round(n)) > 1e-6:
            self.problem(
                line,
                ("horizon",),
                f"stop - start = {_fmt(stop - start)} is not a "
                f"whole number of steps of {_fmt(step)}",
                "a whole number of steps",
                "choose a step that divides the horizon (0.25, 0.125, ...)",
            )
            return base, True
        saveper = vals["saveper"]
        if saveper is None:
            saveper = base.saveper if base.saveper >= step else step
        elif saveper < step:
            self.problem(
                line,
                ("horizon", "saveper"),
                f"saveper {_fmt(saveper)} is below the step {_fmt(step)}",
                "saveper >= step",
                f"write saveper: {_fmt(step)}",
            )
            return base, True
        return Horizon(start, stop, step, saveper), True

    # -- numbers and schedules
    def number(self, y: Y, path, lever: Lever) -> float | None:
        x = _as_float(y.value)
        if x is None:
            fix = f"write a number, e.g. {lever.name}: {_fmt(_typical(lever))}"
            if isinstance(y.value, str) and _isfloat(y.value):
                fix = f"remove the quotes: {float(y.value)!r}"
            if isinstance(y.value, str) and lever.units.lower() in ("dmnl", "", "1"):
                pct = re.fullmatch(r"\s*([-+]?[0-9.]+)\s*%\s*", y.value)
                try:
                    if pct:
                        fix = (
                            f"write the fraction {_fmt(float(pct.group(1)) / 100)} instead "
                            f"of {y.value!r}"
                        )
                except ValueError:
                    pass
            self.problem(
                y.at,
                path,
                f"{_kind(y.value)} is not a number",
                f"a number in {lever.range_text}",
                fix,
            )
            return None
        if not math.isfinite(x):
            self.problem(
                y.at,
                path,
                f"{_fmt(x) if not math.isnan(x) else 'NaN'} is not a finite number",
                f"a number in {lever.range_text}",
                f"write a finite value within {lever.range_text}",
            )
            return None
        if not lever.in_range(x):
            self.problem(
                y.at,
                path,
                f"{_fmt(x)} is outside the range of {lever.name!r}, {lever.range_text}",
                f"a number in {lever.range_text}",
                f"use a value within {lever.range_text} (the range is the .mdl's "
                "[min,max]; change the model if the range is wrong)",
            )
            return None
        return x

    def schedule(
        self, owner: Y, owner_path, items: dict, path, lever: Lever, horizon: Horizon
    ) -> Schedule | None:
        """Read ``{year: value}`` (``items`` at ``path``); ``owner`` is the mapping that
        may hold ``interpolation:``."""
        interp = "step"
        iy = owner.value.get("interpolation") if isinstance(owner.value, dict) else None
        y = owner
        if iy is not None:
            if iy.value not in INTERPOLATIONS:
                self.problem(
                    iy.at,
                    (*owner_path, "interpolation"),
                    f"interpolation is {_kind(iy.value)}",
                    "step or linear",
                    "write interpolation: step (or linear)",
                )
                return None
            interp = iy.value
        if not items:
            self.problem(
                y.at,
                path,
                "an empty schedule",
                "{year: value, ...} with at least one year",
                "write e.g. schedule: {2016: 0.1, 2018: 0.2}",
            )
            return None
        years, values, ok = [], [], True
        for key, v in items.items():
            year = _as_float(key)
            if year is None or not math.isfinite(year):
                self.problem(
                    v.at,
                    (*path, key),
                    f"schedule key {key!r} is not a year",
                    "years as numbers, e.g. 2018 or 2018.5",
                    "remove the quotes around the year"
                    if _isfloat(key)
                    else "write the year as a number",
                )
                ok = False
                continue
            if year < horizon.start - _TOL or year > horizon.stop + _TOL:
                self.problem(
                    v.at,
                    (*path, key),
                    f"year {_fmt(year)} is outside the horizon "
                    f"{_fmt(horizon.start)}-{_fmt(horizon.stop)}",
                    f"years from {_fmt(horizon.start)} to {_fmt(horizon.stop)}",
                    "remove the year or extend `horizon:`",
                )
                ok = False
            if years and year <= years[-1]:
                self.problem(
                    v.at,
                    (*path, key),
                    f"year {_fmt(year)} comes after {_fmt(years[-1])}",
                    "years in increasing order",
                    "sort the schedule by year",
                )
                ok = False
            x = self.number(v, (*path, key), lever)
            if x is None:
                ok = False
            years.append(year)
            values.append(x)
        return Schedule(tuple(years), tuple(values), interp) if ok else None

    def setting(self, name: str, y: Y, lever: Lever, horizon: Horizon):
        """Parse a lever's value (any form) into a LeverSetting, or None on problems."""
        path = ("levers", name)
        n0 = len(self.problems)
        if not isinstance(y.value, dict):
            v = self.scalar_or_schedule(y, path, lever, horizon)
            return LeverSetting(name, v, file=self.file, line=y.at) if v is not None else None
        items = dict(y.value)
        if "units" in items:
            self.units(items.pop("units"), (*path, "units"), lever)
        meta = {}
        for k in META_KEYS:
            if k in items:
                m = items.pop(k)
                if not isinstance(m.value, str):
                    self.problem(
                        m.at,
                        (*path, k),
                        f"{k} is {_kind(m.value)}",
                        "text",
                        f'quote it: {k}: "..."',
                    )
                else:
                    meta[k] = m.value
        if "scale" in items:
            return self.scaled(name, y, items, meta, lever, path)
        if "schedule" in items or "value" in items:
            form = "schedule" if "schedule" in items else "value"
            for k in items:
                if k not in (form, "interpolation" if form == "schedule" else form):
                    self.problem(
                        items[k].at,
                        (*path, k),
                        f"unexpected key {k!r} beside `{form}:`",
                        f"`{form}:` with "
                        + ("`interpolation:`, " if form == "schedule" else "")
                        + "`plan:`, `note:`",
                        "put per-element values in a map with `default:` instead",
                    )
            if form == "schedule":
                v = self.schedule_node(y, path, items["schedule"], lever, horizon)
            else:
                v = self.scalar_or_schedule(items["value"], (*path, "value"), lever, horizon)
            if len(self.problems) > n0 or v is None:
                return None
            return LeverSetting(
                name,
                v,
                plan=meta.get("plan", ""),
                note=meta.get("note", ""),
                file=self.file,
                line=y.at,
            )
        keys = [k for k in items if k != "interpolation"]
        if keys and all(_as_float(k) is not None for k in keys):
            v = self.schedule(y, path, {k: items[k] for k in keys}, path, lever, horizon)
            if len(self.problems) > n0 or v is None:
                return None
            return LeverSetting(
                name,
                v,
                plan=meta.get("plan", ""),
                note=meta.get("note", ""),
                file=self.file,
                line=y.at,
            )
        if not items:
            self.problem(
                y.at,
                path,
                "an empty mapping",
                f"a number in {lever.range_text}, a schedule or a per-element map",
                f"write e.g. {name}: {_fmt(_typical(lever))}",
            )
            return None
        return self.element_map(name, y, items, meta, lever, horizon, path)

    def units(self, uy: Y, path, lever: Lever) -> None:
        """An optional ``units:`` must be the lever's units (case and spaces aside)."""

        def norm(u):
            return re.sub(r"\s+", "", str(u)).lower()

        if not isinstance(uy.value, str) or norm(uy.value) != norm(lever.units):
            self.problem(
                uy.at,
                path,
                f"units {uy.value!r} are not the units of {lever.name!r}, {lever.units!r}",
                f"units: {lever.units}",
                f"convert the values to {lever.units} and write units: {lever.units}"
                " (or leave units: out)",
            )

    def scaled(self, name, y: Y, items: dict, meta: dict, lever: Lever, path):
        """The form ``{scale: k}``: k times the .mdl's value of every element."""
        for k in items:
            if k != "scale":
                self.problem(
                    items[k].at,
                    (*path, k),
                    f"unexpected key {k!r} beside `scale:`",
                    "`scale:` with `plan:`, `note:`",
                    "remove it",
                )
        sy = items["scale"]
        k = _as_float(sy.value)
        if k is None or not math.isfinite(k) or k < 0:
            self.problem(
                sy.at,
                (*path, "scale"),
                f"scale is {_kind(sy.value)}",
                "a factor >= 0 on the .mdl's value",
                "write e.g. scale: 1.2",
            )
            return None
        scaled = lever.default * k
        bad = [(el, float(v)) for el, v in _elements(scaled) if not lever.in_range(float(v))]
        if bad:
            cells = ", ".join(f"{el} {_fmt(v)}" if el else _fmt(v) for el, v in bad[:4])
            more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
            self.problem(
                sy.at,
                (*path, "scale"),
                f"scale {_fmt(k)} puts values outside {lever.range_text}: {cells}{more}",
                f"a factor that keeps every element in {lever.range_text}",
                "use a factor closer to 1, or give the values per element",
            )
        if bad or len(items) > 1:
            return None
        return LeverSetting(
            name,
            None,
            plan=meta.get("plan", ""),
            note=meta.get("note", ""),
            file=self.file,
            line=y.at,
            scale=k,
        )

    def scalar_or_schedule(self, y: Y, path, lever, horizon):
        if isinstance(y.value, dict):
            items = dict(y.value)
            if "schedule" in items:
                for k in items:
                    if k not in ("schedule", "interpolation"):
                        self.problem(
                            items[k].at,
                            (*path, k),
                            f"unexpected key {k!r} in a schedule",
                            "`schedule:` and `interpolation:`",
                            "remove it",
                        )
                return self.schedule_node(y, path, items["schedule"], lever, horizon)
            keys = [k for k in items if k != "interpolation"]
            bad = [k for k in keys if _as_float(k) is None]
            if bad:
                self.problem(
                    items[bad[0]].at,
                    (*path, bad[0]),
                    f"{bad[0]!r} in a value that must be a number or a schedule",
                    "a number, or a schedule {year: value}",
                    "per-element maps cannot nest; give a number or {2016: a, 2018: b}",
                )
                return None
            return self.schedule(y, path, {k: items[k] for k in keys}, path, lever, horizon)
        if isinstance(y.value, list):
            self.problem(
                y.at,
                path,
                "a list",
                "a number or a schedule {year: value}",
                "write a mapping {2016: a, 2018: b} for a schedule",
            )
            return None
        return self.number(y, path, lever)

    def schedule_node(self, owner: Y, owner_path, sy: Y, lever, horizon):
        """The canonical form ``{schedule: {year: value}, interpolation: ...}``."""
        path = (*owner_path, "schedule")
        if not isinstance(sy.value, dict):
            self.problem(
                sy.at,
                path,
                f"schedule is {_kind(sy.value)}",
                "a mapping {year: value}",
                "write schedule: {2016: 0.1, 2018: 0.2}",
            )
            return None
        return self.schedule(owner, owner_path, sy.value, path, lever, horizon)

    def element_map(self, name, y, items, meta, lever: Lever, horizon, path):
        if "interpolation" in items:
            self.problem(
                items["interpolation"].at,
                (*path, "interpolation"),
                "interpolation beside per-element values",
                "interpolation inside each schedule",
                "write ETDZ: {schedule: {...}, interpolation: linear}",
            )
        if not lever.dims:
            k = next(iter(items))
            self.problem(
                items[k].at,
                (*path, k),
                f"{name!r} has no subscripts, so it takes one value, not a per-element map",
                "a number or a schedule {year: value}",
                f"write {name}: {_fmt(_typical(lever))}",
            )
            return None
        names = lever.element_names()
        base, ranges, elements, ok = None, [], [], True
        covered: dict[tuple[str, str], str] = {}
        for key, v in items.items():
            if key == "interpolation":
                continue
            kpath = (*path, key)
            if key == "default":
                base = self.scalar_or_schedule(v, kpath, lever, horizon)
                ok &= base is not None
                continue
            if key not in names:
                self.unknown_element(key, v, kpath, lever)
                ok = False
                continue
            dim, els = names[key]
            val = self.scalar_or_schedule(v, kpath, lever, horizon)
            if val is None:
                ok = False
                continue
            (elements if len(els) == 1 and key == els[0] else ranges).append((key, dim, els, val))
        for key, dim, els, _v in ranges:
            for el in els:
                if (dim, el) in covered:
                    self.problem(
                        items[key].at,
                        (*path, key),
                        f"{el} is in both {covered[dim, el]} and {key}",
                        "sub-ranges that do not overlap",
                        f"set {el} on its own line instead",
                    )
                    ok = False
                covered[dim, el] = key
        if not ok:
            return None
        return LeverSetting(
            name,
            base,
            tuple(ranges + elements),
            plan=meta.get("plan", ""),
            note=meta.get("note", ""),
            file=self.file,
            line=y.at,
        )

    def unknown_element(self, key, v: Y, path, lever: Lever):
        valid = [e for d in lever.dims for e in lever.coords[d]]
        subs = [r for d in lever.dims for r in lever.ranges[d] if r not in lever.subscripts]
        other = [
            d for d, cs in _all_coords(self.model).items() if d not in lever.dims and str(key) in cs
        ]
        dimword = " and ".join(lever.dims)
        if _as_float(key) is not None:
            msg = f"year {key!r} among the {dimword} names"
            fix = f"a schedule per element goes under the element: ETDZ: {{{key}: ...}}"
        elif other:
            msg = (
                f"{key!r} is a {other[0]} element, but {lever.name!r} is subscripted by "
                f"{', '.join(lever.subscripts)}"
            )
            fix = f"use {dimword} names: {', '.join(valid)}"
        else:
            hint = closest(str(key), valid + subs + ["default"])
            msg = f"unknown {dimword} {key!r} for {lever.name!r}"
            fix = (
                (f"did you mean {hint[0]!r}? " if hint else "")
                + f"valid: {', '.join(valid)}"
                + (f"; groups: {', '.join(subs)}" if subs else "")
                + "; and `default`"
            )
        self.problem(
            v.at, path, msg, f"`default` or one of the lever's {dimword} names or groups", fix
        )

    # -- levers and uncertain blocks
    def lever_key(self, key, y: Y, block: str, pool: dict[str, Lever]) -> str | None:
        path = (block, key)
        if not isinstance(key, str):
            self.problem(
                y.at,
                path,
                f"lever name {key!r} is not text",
                "a lever's Vensim name",
                "run `yaan-sim levers` for the names",
            )
            return None
        name = resolve_name(key, pool)
        if name is not None:
            return name
        other = resolve_name(key, self.constants)
        if block == "levers" and other is not None:
            self.problem(
                y.at,
                path,
                f"{other!r} is a constant of the model but not a policy lever",
                "a lever (`role: lever` in the .mdl)",
                "put it under `uncertain:` for ensembles, or mark it `role: lever` in the .mdl",
            )
            return None
        hint = closest(key, pool)
        self.problem(
            y.at,
            path,
            f"unknown {'lever' if block == 'levers' else 'constant'} {key!r}",
            "a name from `yaan-sim levers`",
            f"did you mean {hint[0]!r}?" if hint else "run `yaan-sim levers` for the names",
        )
        return None

    def lever_block(self, top, horizon: Horizon) -> dict[str, LeverSetting]:
        y = top.get("levers")
        out: dict[str, LeverSetting] = {}
        if y is None or y.value is None:
            return out
        if not isinstance(y.value, dict):
            self.problem(
                y.at,
                ("levers",),
                f"levers is {_kind(y.value)}",
                "a mapping {lever name: value}",
                "write levers: then one lever per line",
            )
            return out
        seen: dict[str, str] = {}
        for key, v in y.value.items():
            name = self.lever_key(key, v, "levers", self.levers)
            if name is None:
                continue
            if name in seen:
                self.problem(
                    v.at,
                    ("levers", key),
                    f"{key!r} and {seen[name]!r} both name {name!r}",
                    "each lever once",
                    "keep one of the two",
                )
                continue
            seen[name] = key
            s = self.setting(name, v, self.levers[name], horizon)
            if s is not None:
                out[name] = s
        return out

    def distribution(self, y: Y, path, c: Lever) -> Distribution | None:
        if not isinstance(y.value, dict):
            self.problem(
                y.at,
                path,
                f"{_kind(y.value)} is not a distribution",
                "{distribution: uniform|triangular|normal, ...}",
                "write {distribution: uniform, low: a, high: b}",
            )
            return None
        items = y.value
        d = items.get("distribution")
        if d is None or d.value not in DISTRIBUTIONS:
            got = "missing" if d is None else repr(d.value)
            hint = closest(str(d.value), DISTRIBUTIONS) if d is not None else []
            self.problem(
                (d or y).at,
                (*path, "distribution"),
                f"distribution {got}",
                f"one of {', '.join(DISTRIBUTIONS)}",
                f"did you mean {hint[0]!r}?"
                if hint
                else "write distribution: uniform (or triangular, normal)",
            )
            return None
        kind = d.value
        need = DISTRIBUTIONS[kind]
        allowed = {"distribution", "independent", *need} | (
            {"low", "high"} if kind == "normal" else set()
        )
        params, ok = {}, True
        for k, v in items.items():
            if k not in allowed:
                self.problem(
                    v.at,
                    (*path, k),
                    f"unknown parameter {k!r} for {kind}",
                    f"{', '.join(sorted(allowed - {'distribution'}))}",
                    "remove it",
                )
                ok = False
        for k in need:
            if k not in items:
                self.problem(
                    y.at, (*path, k), f"{kind} needs {k!r}", ", ".join(need), f"add {k}: ..."
                )
                ok = False
        if not ok:
            return None
        for k in need + (("low", "high") if kind == "normal" else ()):
            if k not in items:
                continue
            if k == "sd":
                x = _as_float(items[k].value)
                if x is None or not math.isfinite(x) or x <= 0:
                    self.problem(
                        items[k].at,
                        (*path, k),
                        f"sd is {_kind(items[k].value)}",
                        "a positive number",
                        "write sd: 0.01 (in the constant's units)",
                    )
                    ok = False
                    continue
                params[k] = x
            else:
                x = self.number(items[k], (*path, k), c)
                if x is None:
                    ok = False
                    continue
                params[k] = x
        independent = False
        if "independent" in items:
            iv = items["independent"].value
            if not isinstance(iv, bool):
                self.problem(
                    items["independent"].at,
                    (*path, "independent"),
                    f"independent is {_kind(iv)}",
                    "true or false",
                    "write independent: true",
                )
                ok = False
            else:
                independent = iv
        if not ok:
            return None
        lo, hi = (
            c.min if not math.isnan(c.min) else -math.inf,
            c.max if not math.isnan(c.max) else math.inf,
        )
        if kind in ("uniform", "triangular"):
            order = [params[k] for k in need]
            if any(a > b for a, b in zip(order, order[1:])) or params["low"] >= params["high"]:
                self.problem(
                    y.at,
                    path,
                    f"{kind} needs {' <= '.join(need)} with low < high, got "
                    + ", ".join(f"{k}={_fmt(params[k])}" for k in need),
                    " <= ".join(need),
                    "swap or correct the bounds",
                )
                return None
        else:
            lo = max(lo, params.get("low", -math.inf))
            hi = min(hi, params.get("high", math.inf))
            if lo >= hi or not lo <= params["mean"] <= hi:
                self.problem(
                    y.at,
                    path,
                    f"normal mean {_fmt(params['mean'])} is not inside the "
                    f"truncation [{_fmt(lo)}, {_fmt(hi)}]",
                    "low < mean < high",
                    "correct low/high or the mean",
                )
                return None
            params = {"mean": params["mean"], "sd": params["sd"]} | (
                {k: params[k] for k in ("low", "high") if k in params}
            )
        return Distribution(kind, params, lo, hi, independent)

    def uncertain_block(self, top) -> dict[str, UncertainSetting]:
        y = top.get("uncertain")
        out: dict[str, UncertainSetting] = {}
        if y is None or y.value is None:
            return out
        if not isinstance(y.value, dict):
            self.problem(
                y.at,
                ("uncertain",),
                f"uncertain is {_kind(y.value)}",
                "a mapping {constant name: distribution}",
                "write uncertain: then one constant per line",
            )
            return out
        for key, v in y.value.items():
            name = self.lever_key(key, v, "uncertain", self.constants)
            if name is None:
                continue
            c = self.constants[name]
            path = ("uncertain", key)
            if isinstance(v.value, dict) and "distribution" not in v.value:
                if not c.dims:
                    self.problem(
                        v.at,
                        path,
                        f"{name!r} has no subscripts, so it takes one distribution",
                        "{distribution: ..., ...}",
                        "write {distribution: uniform, low: a, high: b}",
                    )
                    continue
                names = c.element_names()
                base, parts, ok = None, [], True
                for k, dv in v.value.items():
                    if k == "default":
                        base = self.distribution(dv, (*path, k), c)
                        ok &= base is not None
                    elif k in names:
                        dist = self.distribution(dv, (*path, k), c)
                        if dist is None:
                            ok = False
                        else:
                            parts.append((k, *names[k], dist))
                    else:
                        self.unknown_element(k, dv, (*path, k), c)
                        ok = False
                if ok:
                    parts.sort(key=lambda p: len(p[2]) == 1 and p[0] == p[2][0])
                    out[name] = UncertainSetting(name, base, tuple(parts), self.file, v.at)
            else:
                dist = self.distribution(v, path, c)
                if dist is not None:
                    out[name] = UncertainSetting(name, dist, (), self.file, v.at)
        return out


def _elements(da: xr.DataArray):
    """``(element label, value)`` for every cell of ``da`` (label "" without dims)."""
    if not da.dims:
        return [("", da.values)]
    stacked = da.stack(_cell=da.dims)
    return [
        (",".join(map(str, np.atleast_1d(c))), v)
        for c, v in zip(stacked["_cell"].values, stacked.values)
    ]


def _isfloat(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def _typical(lever: Lever) -> float:
    return float(np.asarray(lever.default.values, dtype=float).ravel()[0])


def _all_coords(model) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rng, elements in model.subscripts.items():
        out.setdefault(model.dim_of_range.get(rng, rng.lower()), [])
        out[model.dim_of_range.get(rng, rng.lower())] += list(elements)
    return out


def display_path(path) -> str:
    """The path as the user knows it: relative to the working directory where possible."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- files and layering -----------------------------------------------------------------
@dataclass
class _Layer:
    path: Path
    text: str
    name: str
    title: dict
    description: str
    plan: tuple
    horizon: Horizon
    horizon_set: bool
    levers: dict
    uncertain: dict
    parent: _Layer | None


def find_scenario(name_or_path, base: Path | None = None) -> Path | None:
    """The file a scenario reference means, or None.

    A path (with a ``/`` or ending in ``.yaml``/``.yml``) is taken relative to ``base``
    (the referring file's folder; without one, the working directory), else to
    scenarios/; a bare name ``plan`` is ``plan.yaml`` there.
    """
    ref = str(name_or_path)
    p = Path(ref)
    looks_like_path = "/" in ref or "\\" in ref or p.suffix in (".yaml", ".yml")
    if not looks_like_path:
        p = Path(f"{ref}.yaml")
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [base / p if base is not None else p, SCENARIOS_DIR / p]
    return next((c for c in candidates if _is_file(c)), None)


def _is_file(path) -> bool:
    """``Path.is_file`` that is False, not an error, for impossible names (too long, NUL)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def scenario_files(folder: Path | None = None) -> list[Path]:
    """The scenario files of a folder (default scenarios/): ``*.yaml`` except the goal
    files, which are named ``*-goals.yaml`` (e.g. plan-goals.yaml)."""
    folder = Path(folder) if folder is not None else SCENARIOS_DIR
    return sorted(p for p in folder.glob("*.yaml") if not p.stem.endswith("-goals"))


def _available() -> str:
    names = [p.stem for p in scenario_files()]
    return ", ".join(names) if names else "(none)"


def _load_layer(
    path: Path,
    model,
    problems: list[Problem],
    stack: tuple[Path, ...],
    entered: list[str] | None = None,
) -> _Layer | None:
    """Read one file and, first, its parents; ``entered`` collects the files, child first."""
    check = _FileCheck(path, model, problems)
    if entered is not None:
        entered.append(check.file)
    root = check.read(path)
    if root is None:
        return None
    top = check.top(root)
    if top is None:
        return None
    parent = None
    ext = top.get("extends")
    if ext is not None:
        if not isinstance(ext.value, str) or not ext.value.strip():
            check.problem(
                ext.at,
                ("extends",),
                f"extends is {_kind(ext.value)}",
                "a scenario name (baseline) or a path (../x.yaml)",
                "write extends: baseline",
            )
        else:
            ppath = find_scenario(ext.value.strip(), path.parent)
            if ppath is None:
                check.problem(
                    ext.at,
                    ("extends",),
                    f"parent scenario {ext.value!r} not found",
                    f"a name in {display_path(SCENARIOS_DIR)} or a path",
                    f"available: {_available()}",
                )
            elif ppath.resolve() in (*stack, path.resolve()):
                seen = (*stack, path.resolve())
                loop = seen[seen.index(ppath.resolve()) :] + (ppath.resolve(),)
                chain = " -> ".join(display_path(p) for p in loop)
                check.problem(
                    ext.at,
                    ("extends",),
                    f"extends cycle: {chain}",
                    "a chain of parents that ends",
                    "remove one `extends:` of the cycle",
                )
            elif len(stack) >= MAX_CHAIN:
                check.problem(
                    ext.at,
                    ("extends",),
                    f"more than {MAX_CHAIN} files in the extends chain",
                    f"at most {MAX_CHAIN}",
                    "flatten the chain",
                )
            else:
                parent = _load_layer(ppath, model, problems, (*stack, path.resolve()), entered)
                if parent is None:
                    check.problem(
                        ext.at,
                        ("extends",),
                        f"parent scenario {display_path(ppath)} cannot be read (see its problems)",
                        "a valid parent",
                        "fix the parent file first",
                    )
    model_h = model.default_horizon
    horizon, horizon_set = check.horizon(
        top, parent.horizon if parent and parent.horizon_set else None, model_h
    )
    levers = check.lever_block(top, horizon)
    uncertain = check.uncertain_block(top)
    name = check.name(top)
    levers = {k: replace(v, origin=name, origin_path=path.resolve()) for k, v in levers.items()}
    return _Layer(
        path=path,
        text=check.text,
        name=name,
        title=check.title(top),
        description=check.text_field(top, "description"),
        plan=check.plan_refs(top),
        horizon=horizon,
        horizon_set=horizon_set,
        levers=levers,
        uncertain=uncertain,
        parent=parent,
    )


def _chain(layer: _Layer) -> list[_Layer]:
    out = []
    while layer is not None:
        out.append(layer)
        layer = layer.parent
    return out


def _build(path: Path, model) -> tuple[Scenario | None, list[Problem]]:
    problems: list[Problem] = []
    entered: list[str] = []
    layer = _load_layer(path, model, problems, (), entered)
    # The root parent's problems first, each file's in line order (a stable sort keeps
    # the order of problems on one line).
    depth = {f: i for i, f in enumerate(entered)}  # child 0, parent 1, ...
    problems.sort(key=lambda p: (-depth.get(p.file, 0), p.line or 0))
    if layer is None or problems:
        return None, problems
    chain = _chain(layer)
    levers: dict[str, LeverSetting] = {}
    uncertain: dict[str, UncertainSetting] = {}
    for lay in reversed(chain):  # root first; each child overrides lever by lever
        levers.update(lay.levers)
        uncertain.update(lay.uncertain)
    for name, u in uncertain.items():
        s = levers.get(name)
        if s is not None and (
            isinstance(s.base, Schedule) or any(isinstance(p[3], Schedule) for p in s.parts)
        ):
            problems.append(
                Problem(
                    u.file or display_path(path),
                    u.line,
                    f"uncertain/{name}",
                    f"{name!r} follows a schedule in "
                    f"levers: ({s.file}:{s.line}) and is also drawn here",
                    "a lever either scheduled or uncertain",
                    "remove it from one of the two blocks",
                )
            )
    if problems:
        return None, problems
    text = "".join(
        f"# --- {lay.path.name}\n{lay.text}" + ("" if lay.text.endswith("\n") else "\n")
        for lay in chain
    )
    plan = tuple(dict.fromkeys(ref for lay in reversed(chain) for ref in lay.plan))
    sc = Scenario(
        name=layer.name,
        title=next((lay.title for lay in chain if lay.title), {}),
        description=layer.description
        or next((lay.description for lay in chain if lay.description), ""),
        horizon=layer.horizon if layer.horizon_set else None,
        levers=levers,
        uncertain=Uncertainty(uncertain, {n: constants(model)[n] for n in uncertain}),
        sources=tuple(lay.path for lay in chain),
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        plan=plan,
        texts=tuple(lay.text for lay in chain),
    )
    return sc, problems


def _not_found(ref) -> Problem:
    return Problem(
        str(ref),
        None,
        "",
        "file not found",
        "an existing .yaml file",
        f"check the path; scenarios available by name: {_available()}",
    )


def validate_file(path, model=None) -> list[Problem]:
    """Every problem of a scenario file (and of its parents); an empty list when valid.

    ``path`` is a path or a scenario name, as for :func:`load_scenario`. Never raises for
    the file or its content; only an unreadable model raises (ModelError).
    """
    model = _model(model)
    found = find_scenario(path)
    if found is None:
        return [_not_found(path)]
    _sc, problems = _build(found, model)
    return problems


def load_scenario(path_or_name, model=None) -> Scenario:
    """Read, validate and layer a scenario file.

    Parameters
    ----------
    path_or_name : str or Path
        A path to a .yaml file, or the name of one in scenarios/ (``"plan"``).
    model : YaanModel, optional
        The model whose levers the file is checked against (default: ``load_model()``).

    Raises
    ------
    ScenarioError
        With every problem of the file (``.problems``) when it is not valid.
    """
    model = _model(model)
    path = find_scenario(path_or_name)
    if path is None:
        raise ScenarioError(
            f"no scenario file {str(path_or_name)!r}: give a path to a .yaml file or the name "
            f"of one in {display_path(SCENARIOS_DIR)} (available: {_available()})",
            [_not_found(path_or_name)],
        )
    sc, problems = _build(path, model)
    if problems or sc is None:
        _raise(problems, display_path(path))
    return sc


def _model(model):
    if model is None:
        from yaan_sim.model.load import load_model

        return load_model()
    return model


# --- comparison table ------------------------------------------------------------------
def lever_table(scenarios: list[Scenario], model, fmt: str = "markdown") -> str:
    """A table comparing the levers of ``scenarios``: one row per lever, one column each.

    A cell shows what the scenario sets (after layering); ``= plan`` where it takes the
    setting unchanged from the scenario file ``plan.yaml`` it extends; ``·`` where it
    keeps the .mdl default (the ``.mdl default`` column). Regenerate the table of
    scenarios/README.md with ``yaan-sim levers --format markdown --compare ...``.
    """
    registry = lever_registry(model)
    header = ["lever", "units", ".mdl default", *[s.name for s in scenarios]]
    rows = []
    for name, lever in registry.items():
        cells = []
        for s in scenarios:
            setting = s.levers.get(name)
            if setting is None:
                cells.append("·")
            elif setting.origin_path != s.path.resolve():
                cells.append("= " + setting.origin)
            else:
                cells.append(setting.describe())
        rows.append([name, lever.units or "-", lever.default_text(), *cells])
    if fmt != "markdown":
        from yaan_sim.model.levers import _text_table

        return _text_table(header, rows)

    def esc(x):
        return str(x).replace("|", "\\|")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def load_scenarios(refs, model=None) -> list[Scenario]:
    """Load several scenarios, validating every file first and reporting every problem of
    every file at once (nothing runs when one is invalid); names must be unique."""
    scenarios, problems = [], []
    for ref in refs:
        try:
            scenarios.append(load_scenario(ref, model))
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError(
            "invalid scenario file(s); nothing was run or written:\n" + "\n".join(problems)
        )
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(
            f"two files define the scenario name(s) {', '.join(dup)}: give each its own `name:`"
        )
    return scenarios
