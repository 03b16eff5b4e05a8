"""The rules of one scenario file, as small functions over a :class:`Ctx`.

The file-level rules are here: the top-level keys, name, title, plan references, the
horizon, lever and constant names, and the ``levers:`` and ``uncertain:`` blocks (one
loop for both); the forms a lever's value takes are in :mod:`yaan_sim.scenario.settings`.
Every rule records its problems on the context and returns what it read, or None.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from yaan_sim.model.levers import Lever, closest, constants, lever_registry, resolve_name
from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike
from yaan_sim.scenario.places import Places
from yaan_sim.scenario.reader import (
    Node,
    Problem,
    Reader,
    as_float,
    display_path,
    kind_of,
    path_text,
)
from yaan_sim.scenario.settings import (
    read_number,
    read_setting,
    report_unknown_element,
    resolve_element_key,
)
from yaan_sim.scenario.types import Distribution, LeverSetting, UncertainSetting
from yaan_sim.tables import format_exact as _fmt

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
HORIZON_KEYS = ("start", "stop", "step", "saveper")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Ctx:
    """What the checks of one file share: the file, the model's names, the problems."""

    path: Path
    model: ModelLike
    problems: list[Problem]
    file: str = ""
    levers: dict[str, Lever] = field(default_factory=dict)
    constants: dict[str, Lever] = field(default_factory=dict)
    places: Places | None = None

    def __post_init__(self):
        self.file = self.file or display_path(self.path)
        self.levers = self.levers or lever_registry(self.model)
        self.constants = self.constants or constants(self.model)
        if self.places is None and hasattr(self.model, "mdl_path"):
            self.places = Places.from_model(self.model)

    def reader(self) -> Reader:
        """The reader of this file: it records its problems here."""
        self._reader = Reader(self.file, self.problems, what="scenario file")
        return self._reader

    def problem(self, line, path, message, *, expected: str = "", fix: str = "") -> None:
        """Record one problem at ``line`` under the key path ``path`` (none for a value
        the reader already refused: one problem per value)."""
        where = (line, path_text(path))
        if where in getattr(getattr(self, "_reader", None), "refused", ()):
            return
        self.problems.append(Problem(self.file, *where, message, expected, fix))


def read_top(ctx, root: Node) -> dict | None:
    if not isinstance(root.value, dict):
        ctx.problem(
            root.line,
            (),
            f"the top level is {kind_of(root.value)}",
            expected="a mapping of keys such as name, title, extends, horizon, levers",
            fix="start the file with `name: ...` and `levers:`; see scenarios/README.md",
        )
        return None
    top = root.value
    for key, y in top.items():
        if key not in TOP_KEYS:
            hint = closest(str(key), TOP_KEYS)
            ctx.problem(
                y.at,
                (key,),
                f"unknown key {key!r}",
                expected=f"one of {', '.join(TOP_KEYS)}",
                fix=f"did you mean {hint[0]!r}?"
                if hint
                else "remove it, or put a lever under `levers:`",
            )
    return top


def read_text(ctx, top, key) -> str:
    y = top.get(key)
    if y is None or y.value is None:
        return ""
    if not isinstance(y.value, str):
        ctx.problem(
            y.at,
            (key,),
            f"{key} is {kind_of(y.value)}",
            expected="text",
            fix="quote it: " + key + ': "..."',
        )
        return ""
    return y.value


def read_name(ctx, top) -> str:
    name = read_text(ctx, top, "name")
    if name and (not _NAME_RE.fullmatch(name)):
        ctx.problem(
            top["name"].at,
            ("name",),
            f"name {name!r} is not a simple name",
            expected="letters, digits, '-', '_' or '.' (e.g. green-low-carbon)",
            fix="use a short name like the file's stem: " + repr(ctx.path.stem),
        )
        return ctx.path.stem
    return name or ctx.path.stem


def read_title(ctx, top) -> dict:
    y = top.get("title")
    if y is None or y.value is None:
        return {}
    if isinstance(y.value, str):
        return {"en": y.value, "zh": y.value}
    if not isinstance(y.value, dict):
        ctx.problem(
            y.at,
            ("title",),
            f"title is {kind_of(y.value)}",
            expected="{zh: ..., en: ...}",
            fix="write title: {zh: 规划情景, en: The plan}",
        )
        return {}
    out = {}
    for k, v in y.value.items():
        if k not in ("zh", "en"):
            ctx.problem(
                v.at,
                ("title", k),
                f"unknown language {k!r}",
                expected="zh or en",
                fix="use `zh:` and `en:`",
            )
        elif not isinstance(v.value, str):
            ctx.problem(
                v.at,
                ("title", k),
                f"title is {kind_of(v.value)}",
                expected="text",
                fix="quote the title",
            )
        else:
            out[k] = v.value
    return out


def read_plan(ctx, top) -> tuple[str, ...]:
    y = top.get("plan")
    if y is None or y.value is None:
        return ()
    if isinstance(y.value, str):
        return (y.value,)
    if isinstance(y.value, list) and all(isinstance(i.value, str) for i in y.value):
        return tuple(i.value for i in y.value)
    ctx.problem(
        y.at,
        ("plan",),
        f"plan is {kind_of(y.value)}",
        expected="a list of the plan's sections, e.g. [一(三), 三(一)3]",
        fix="write plan: [一(三), 三(一)3]",
    )
    return ()


def read_horizon(ctx, top, parent: Horizon | None, model_h: Horizon) -> tuple[Horizon, bool]:
    """The effective horizon after this file, and whether any file set one."""
    y = top.get("horizon")
    base = parent or model_h
    if y is None or y.value is None:
        return (base, parent is not None)
    if not isinstance(y.value, dict):
        ctx.problem(
            y.at,
            ("horizon",),
            f"horizon is {kind_of(y.value)}",
            expected="a mapping {start: 2016, stop: 2020, step: 0.25}",
            fix="write horizon: {start: 2016, stop: 2020, step: 0.25}",
        )
        return (base, parent is not None)
    vals = {"start": base.start, "stop": base.stop, "step": base.step}
    saveper: float | None = None
    ok = True
    for k, v in y.value.items():
        if k not in HORIZON_KEYS:
            hint = closest(str(k), HORIZON_KEYS)
            ctx.problem(
                v.at,
                ("horizon", k),
                f"unknown key {k!r}",
                expected=f"one of {', '.join(HORIZON_KEYS)}",
                fix=f"did you mean {hint[0]!r}?" if hint else "remove it",
            )
            ok = False
            continue
        x = as_float(v.value)
        if x is None or not math.isfinite(x):
            ctx.problem(
                v.at,
                ("horizon", k),
                f"{k} is {kind_of(v.value)}",
                expected="a finite number of years",
                fix=f"write e.g. {k}: " + {"start": "2016", "stop": "2020"}.get(k, "0.25"),
            )
            ok = False
            continue
        if k == "saveper":
            saveper = x
        else:
            vals[k] = x
    if not ok:
        return (base, True)
    start, stop, step = (vals["start"], vals["stop"], vals["step"])
    line = y.at
    if step <= 0:
        ctx.problem(
            line,
            ("horizon", "step"),
            f"step {_fmt(step)} is not positive",
            expected="a step > 0 (the model uses 0.25 or finer)",
            fix="write step: 0.25",
        )
        return (base, True)
    if stop <= start:
        ctx.problem(
            line,
            ("horizon",),
            f"stop {_fmt(stop)} is not after start {_fmt(start)}",
            expected="start < stop",
            fix="e.g. start: 2016, stop: 2020",
        )
        return (base, True)
    n = (stop - start) / step
    if n < 1 - 1e-06:  # a horizon a millionth of a step long would pass as zero whole steps
        ctx.problem(
            line,
            ("horizon",),
            f"stop - start = {_fmt(stop - start)} is shorter than one step of {_fmt(step)}",
            expected="at least one step",
            fix=f"a stop at least one step after start (e.g. stop: {_fmt(start + step)})",
        )
        return (base, True)
    if n > 100000:
        ctx.problem(
            line,
            ("horizon",),
            f"{n:,.0f} steps",
            expected="at most 100,000 steps",
            fix="use a coarser step or a shorter horizon",
        )
        return (base, True)
    if abs(n - round(n)) > 1e-06:
        ctx.problem(
            line,
            ("horizon",),
            f"stop - start = {_fmt(stop - start)} is not a whole number of steps of {_fmt(step)}",
            expected="a whole number of steps",
            fix="choose a step that divides the horizon (0.25, 0.125, ...)",
        )
        return (base, True)
    if saveper is None:
        saveper = base.saveper if base.saveper >= step else step
    elif saveper < step:
        ctx.problem(
            line,
            ("horizon", "saveper"),
            f"saveper {_fmt(saveper)} is below the step {_fmt(step)}",
            expected="saveper >= step",
            fix=f"write saveper: {_fmt(step)}",
        )
        return (base, True)
    return (Horizon(start, stop, step, saveper), True)


def resolve_key(ctx, key, y: Node, block: str, pool: dict[str, Lever]) -> str | None:
    path = (block, key)
    if not isinstance(key, str):
        ctx.problem(
            y.at,
            path,
            f"lever name {key!r} is not text",
            expected="a lever's Vensim name",
            fix="run `yaan-sim levers` for the names",
        )
        return None
    name = resolve_name(key, pool)
    if name is not None:
        return name
    other = resolve_name(key, ctx.constants)
    if block == "levers" and other is not None:
        ctx.problem(
            y.at,
            path,
            f"{other!r} is a constant of the model but not a policy lever",
            expected="a lever (`role: lever` in the .mdl)",
            fix="put it under `uncertain:` for ensembles, or mark it `role: lever` in the .mdl",
        )
        return None
    hint = closest(key, pool)
    ctx.problem(
        y.at,
        path,
        f"unknown {('lever' if block == 'levers' else 'constant')} {key!r}",
        expected="a name from `yaan-sim levers`",
        fix=f"did you mean {hint[0]!r}?" if hint else "run `yaan-sim levers` for the names",
    )
    return None


def read_distribution(ctx, y: Node, path, c: Lever) -> Distribution | None:
    if not isinstance(y.value, dict):
        ctx.problem(
            y.at,
            path,
            f"{kind_of(y.value)} is not a distribution",
            expected="{distribution: uniform|triangular|normal, ...}",
            fix="write {distribution: uniform, low: a, high: b}",
        )
        return None
    items = y.value
    d = items.get("distribution")
    if d is None or d.value not in DISTRIBUTIONS:
        got = "missing" if d is None else repr(d.value)
        hint = closest(str(d.value), DISTRIBUTIONS) if d is not None else []
        ctx.problem(
            (d or y).at,
            (*path, "distribution"),
            f"distribution {got}",
            expected=f"one of {', '.join(DISTRIBUTIONS)}",
            fix=f"did you mean {hint[0]!r}?"
            if hint
            else "write distribution: uniform (or triangular, normal)",
        )
        return None
    kind = d.value
    need = DISTRIBUTIONS[kind]
    allowed = {"distribution", "independent", *need} | (
        {"low", "high"} if kind == "normal" else set()
    )
    params, ok = ({}, True)
    for k, v in items.items():
        if k not in allowed:
            ctx.problem(
                v.at,
                (*path, k),
                f"unknown parameter {k!r} for {kind}",
                expected=f"{', '.join(sorted(allowed - {'distribution'}))}",
                fix="remove it",
            )
            ok = False
    for k in need:
        if k not in items:
            ctx.problem(
                y.at,
                (*path, k),
                f"{kind} needs {k!r}",
                expected=", ".join(need),
                fix=f"add {k}: ...",
            )
            ok = False
    if not ok:
        return None
    for k in need + (("low", "high") if kind == "normal" else ()):
        if k not in items:
            continue
        if k == "sd":
            x = as_float(items[k].value)
            if x is None or not math.isfinite(x) or x <= 0:
                ctx.problem(
                    items[k].at,
                    (*path, k),
                    f"sd is {kind_of(items[k].value)}",
                    expected="a positive number",
                    fix="write sd: 0.01 (in the constant's units)",
                )
                ok = False
                continue
            params[k] = x
        else:
            x = read_number(ctx, items[k], (*path, k), c)
            if x is None:
                ok = False
                continue
            params[k] = x
    independent = False
    if "independent" in items:
        iv = items["independent"].value
        if not isinstance(iv, bool):
            ctx.problem(
                items["independent"].at,
                (*path, "independent"),
                f"independent is {kind_of(iv)}",
                expected="true or false",
                fix="write independent: true",
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
        if any(a > b for a, b in itertools.pairwise(order)) or params["low"] >= params["high"]:
            ctx.problem(
                y.at,
                path,
                f"{kind} needs {' <= '.join(need)} with low < high, got "
                + ", ".join(f"{k}={_fmt(params[k])}" for k in need),
                expected=" <= ".join(need),
                fix="swap or correct the bounds",
            )
            return None
    else:
        lo = max(lo, params.get("low", -math.inf))
        hi = min(hi, params.get("high", math.inf))
        if lo >= hi or not lo <= params["mean"] <= hi:
            ctx.problem(
                y.at,
                path,
                f"normal mean {_fmt(params['mean'])} is not inside the truncation "
                f"[{_fmt(lo)}, {_fmt(hi)}]",
                expected="low < mean < high",
                fix="correct low/high or the mean",
            )
            return None
        params = {"mean": params["mean"], "sd": params["sd"]} | {
            k: params[k] for k in ("low", "high") if k in params
        }
    return Distribution(kind, params, lo, hi, independent)


def read_lever_block(ctx: Ctx, top: dict, horizon: Horizon) -> dict[str, LeverSetting]:
    """The ``levers:`` block: ``{Vensim name: LeverSetting}`` of the valid entries."""
    return read_named_block(
        ctx,
        top,
        "levers",
        ctx.levers,
        lambda name, node, path: read_setting(ctx, name, node, ctx.levers[name], horizon),
    )


def read_uncertain_block(ctx: Ctx, top: dict) -> dict[str, UncertainSetting]:
    """The ``uncertain:`` block: ``{Vensim name: UncertainSetting}`` of the valid entries."""
    return read_named_block(
        ctx,
        top,
        "uncertain",
        ctx.constants,
        lambda name, node, path: read_uncertain(ctx, name, node, path, ctx.constants[name]),
    )


_BLOCK_WORDS = {
    "levers": ("lever name: value", "one lever per line"),
    "uncertain": ("constant name: distribution", "one constant per line"),
}


def read_named_block(ctx: Ctx, top: dict, block: str, pool: dict, read_one: Callable) -> dict:
    """One loop for the ``levers:`` and ``uncertain:`` blocks: resolve each key to a name
    of ``pool`` (once per name), then ``read_one(name, node, path)``."""
    y = top.get(block)
    out: dict = {}
    if y is None or y.value is None:
        return out
    if not isinstance(y.value, dict):
        mapping, lines = _BLOCK_WORDS[block]
        ctx.problem(
            y.at,
            (block,),
            f"{block} is {kind_of(y.value)}",
            expected=f"a mapping {{{mapping}}}",
            fix=f"write {block}: then {lines}",
        )
        return out
    seen: dict[str, str] = {}
    for key, v in y.value.items():
        name = resolve_key(ctx, key, v, block, pool)
        if name is None:
            continue
        if name in seen:
            ctx.problem(
                v.at,
                (block, key),
                f"{key!r} and {seen[name]!r} both name {name!r}",
                expected=f"each {'lever' if block == 'levers' else 'constant'} once",
                fix="keep one of the two",
            )
            continue
        seen[name] = key
        value = read_one(name, v, (block, key))
        if value is not None:
            out[name] = value
    return out


def read_uncertain(ctx: Ctx, name: str, v: Node, path, c: Lever) -> UncertainSetting | None:
    """One constant of ``uncertain:``: a distribution, or one per element (``default:``
    and element or group names)."""
    if not (isinstance(v.value, dict) and "distribution" not in v.value):
        dist = read_distribution(ctx, v, path, c)
        return None if dist is None else UncertainSetting(name, dist, (), ctx.file, v.at)
    if not c.dims:
        ctx.problem(
            v.at,
            path,
            f"{name!r} has no subscripts, so it takes one distribution",
            expected="{distribution: ..., ...}",
            fix="write {distribution: uniform, low: a, high: b}",
        )
        return None
    names = c.element_names()
    base, parts, ok = None, [], True
    for k, dv in v.value.items():
        if k == "default":
            base = read_distribution(ctx, dv, (*path, k), c)
            ok &= base is not None
            continue
        key = resolve_element_key(ctx, k, names)
        if key is None:
            report_unknown_element(ctx, k, dv, (*path, k), c)
            ok = False
            continue
        dist = read_distribution(ctx, dv, (*path, k), c)
        if dist is None:
            ok = False
        else:
            parts.append((key, *names[key], dist))
    if not ok:
        return None
    parts.sort(key=lambda p: len(p[2]) == 1 and p[0] == p[2][0])  # groups before elements
    return UncertainSetting(name, base, tuple(parts), ctx.file, v.at)
