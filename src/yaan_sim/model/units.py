"""Vensim's Units Check (Model > Units Check), run on PySD's parsed model.

Every equation's right side is given units from the declared units of the variables it
uses, and compared with the units declared on its left side. The rules:

- Units are products of independent base units with integer (or, after ``^0.5`` and
  SQRT, rational) powers. ``yiyuan`` and ``wanyuan`` are different units: a conversion
  needs a constant declared in ``wanyuan/yiyuan``. Names compare case-insensitively, with
  runs of spaces as one, and through the model's unit synonyms (Vensim's Settings > Units
  Equiv, the ``22:`` lines of the .mdl); ``Minute`` and ``Minutes`` differ unless a
  synonym says otherwise. ``Dmnl``, ``Dimensionless`` and ``1`` are dimensionless;
  ``fraction`` and ``percent`` are ordinary names.
- ``+``, ``-``, comparisons and the arguments of MIN, MAX, IF THEN ELSE (its two branches),
  MODULO, ACTIVE INITIAL and SAMPLE IF TRUE need equal units; ``*`` and ``/`` combine
  them; ``^`` needs a dimensionless exponent, and a base with units only with a numeric
  exponent (``x^2``); EXP, LN, LOG and the trigonometric functions need a dimensionless
  argument; SQRT halves the powers.
- A number written in an equation fits any units in a sum, a comparison or a MIN, MAX or
  IF THEN ELSE (``1 - share``); in a product or quotient it is dimensionless (``x/2`` has
  x's units, ``1/x`` has 1/x's), so a constant with units must be a named variable.
- ZIDZ(a, b) has a/b; XIDZ(a, b, x) too, and x must have a/b. SUM, VMIN, VMAX keep
  their argument's units; PROD over n elements raises them to the power n.
- A lookup called with an argument has the lookup's declared units; Vensim warns when the
  argument is not dimensionless, and so does this check (a warning, not an error).
  WITH LOOKUP has the declared units of its variable.
- INTEG: the net flow has the stock's units per time unit, the initial value the stock's.
  SMOOTH, DELAY (all orders, FIXED), INITIAL and FORECAST keep their input's units, with
  times in the model's time unit; TREND has 1/time. STEP has its height's units, RAMP
  its slope's times time, PULSE and PULSE TRAIN are dimensionless. Time has the units
  of TIME STEP (the model's time unit), which the other control variables must share.

There is no Vensim here to compare with: the rules follow Vensim's documentation (units
checking, units synonyms, lookup arguments); where it is silent (numbers in products, the
units of TREND, PULSE and a comparison's result, case), the choice is the one stated above.

Not checked (listed as warnings or as equations checked in part, never as clean or as an
error): equations that use a variable with no declared units, macros, data read from
files (their declared units are taken as given), ALLOCATE's priority arguments, VECTOR
functions, RANDOM functions other than UNIFORM and NORMAL, GET TIME VALUE, LOOKUP INVERT.
Units with scale factors (``1000*Person``) are not supported: a number other than 1 in a
units string is an error.

>>> report = check_units()                  # models/yaan_parks.mdl   # doctest: +SKIP
>>> report.clean, [str(i) for i in report.errors]                     # doctest: +SKIP
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from yaan_sim.errors import ModelError

_DIMENSIONLESS = {"dmnl", "dimensionless"}
_CONTROL_KEYS = ("time_step", "initial_time", "final_time", "saveper")


class UnitsSyntaxError(ModelError):
    """A units string that cannot be read."""


# --------------------------------------------------------------------------------------
# Units and their algebra
# --------------------------------------------------------------------------------------
def unit_key(name: str) -> str:
    """The comparison key of a unit name: lower case, runs of spaces as one."""
    return " ".join(name.split()).lower()


@dataclass(frozen=True)
class Units:
    """A product of base units with rational powers; no factor means dimensionless.

    ``powers`` holds ``(key, power)`` sorted by key; ``names`` maps keys to the spelling
    shown (it does not take part in equality).
    """

    powers: tuple = ()
    names: tuple = field(default=(), compare=False, repr=False)

    @classmethod
    def base(cls, key: str, display: str) -> Units:
        return cls(((key, Fraction(1)),), ((key, display),))

    @property
    def dimensionless(self) -> bool:
        return not self.powers

    def _combine(self, other: Units, sign: int) -> Units:
        acc = dict(self.powers)
        for key, p in other.powers:
            acc[key] = acc.get(key, Fraction(0)) + sign * p
        names = dict(self.names)
        names.update((k, v) for k, v in other.names if k not in names)
        powers = tuple(sorted((k, p) for k, p in acc.items() if p != 0))
        return Units(powers, tuple((k, names[k]) for k, _ in powers))

    def __mul__(self, other: Units) -> Units:
        return self._combine(other, 1)

    def __truediv__(self, other: Units) -> Units:
        return self._combine(other, -1)

    def __pow__(self, exponent) -> Units:
        e = Fraction(exponent)
        if e == 0:
            return Units()
        return Units(tuple((k, p * e) for k, p in self.powers), self.names)

    def __str__(self) -> str:
        """Vensim's notation: ``yiyuan/(Year*Year)``, ``1/Year``, ``Dmnl``."""
        if not self.powers:
            return "Dmnl"
        names = dict(self.names)

        def factors(items):
            out = []
            for key, p in items:
                name = names.get(key, key)
                if p.denominator == 1:
                    out.extend([name] * int(p))  # Year*Year: what Vensim itself writes
                else:
                    out.append(f"{name}^({p})")
            return out

        num = factors((k, p) for k, p in self.powers if p > 0)
        den = factors((k, -p) for k, p in self.powers if p < 0)
        text = "*".join(num) or "1"
        if den:
            text += "/" + (den[0] if len(den) == 1 else "(" + "*".join(den) + ")")
        return text


DMNL = Units()


class UnitSystem:
    """Reads units strings, with the model's synonyms (``Year, Years``)."""

    def __init__(self, synonyms=()):
        self._canon: dict[str, tuple[str, str]] = {}  # key -> (canonical key, display)
        for group in synonyms:
            names = [n.strip() for n in group if n.strip()]
            if not names:
                continue
            head = (unit_key(names[0]), " ".join(names[0].split()))
            for n in names:
                self._canon.setdefault(unit_key(n), head)
        self._cache: dict[str, Units] = {}

    def unit(self, name: str) -> Units:
        text = " ".join(name.split())
        key = unit_key(text)
        if key in _DIMENSIONLESS:
            return DMNL
        try:
            value = float(text)
        except ValueError:
            key, text = self._canon.get(key, (key, text))
            return Units.base(key, text)
        if value == 1:
            return DMNL
        raise UnitsSyntaxError(
            f"a number ({text}) in units: Vensim units have no scale factors; "
            "name a unit instead (wanyuan, not 10000*yuan)"
        )

    def parse(self, text: str) -> Units:
        """``"wanyuan/(mu*Year)"`` -> Units. Raises UnitsSyntaxError."""
        if text in self._cache:
            return self._cache[text]
        if not text.strip():
            raise UnitsSyntaxError("empty units")
        tokens = [t.strip() for t in re.findall(r"[*/^()]|[^*/^()]+", text)]
        tokens = [t for t in tokens if t]
        parser = _UnitsParser(tokens, self, text)
        out = parser.expression()
        if parser.pos != len(tokens):
            raise UnitsSyntaxError(f"unexpected '{tokens[parser.pos]}' in '{text}'")
        self._cache[text] = out
        return out


class _UnitsParser:
    """expression := power (('*' | '/') power)* ; power := atom ('^' exponent)? ;
    atom := name | '(' expression ')' ; exponent := number | '(' number ['/' number] ')'."""

    def __init__(self, tokens, system, text):
        self.tokens, self.system, self.text, self.pos = tokens, system, text, 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            want = f"'{expected}'" if expected else "a unit"
            raise UnitsSyntaxError(f"expected {want} in '{self.text}'")
        self.pos += 1
        return tok

    def expression(self) -> Units:
        out = self.power()
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.power()
            out = out * rhs if op == "*" else out / rhs
        return out

    def power(self) -> Units:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            return base ** self.exponent()
        return base

    def atom(self) -> Units:
        tok = self.peek()
        if tok == "(":
            self.take("(")
            out = self.expression()
            self.take(")")
            return out
        if tok in (None, ")", "*", "/", "^"):
            raise UnitsSyntaxError(f"a unit is missing in '{self.text}'")
        return self.system.unit(self.take())

    def exponent(self) -> Fraction:
        def number(tok):
            try:
                return Fraction(tok).limit_denominator(1000)
            except (ValueError, ZeroDivisionError):
                raise UnitsSyntaxError(
                    f"the power '{tok}' in '{self.text}' is not a number"
                ) from None

        if self.peek() == "(":
            self.take("(")
            value = number(self.take())
            if self.peek() == "/":
                self.take("/")
                den = number(self.take())
                if den == 0:
                    raise UnitsSyntaxError(f"a power divides by zero in '{self.text}'")
                value /= den
            self.take(")")
            return value
        return number(self.take())


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One units problem of one equation.

    kind: ``equation`` (left and right sides differ), ``sum`` (terms of + or -),
    ``comparison``, ``branches`` (MIN, MAX, IF THEN ELSE, ...), ``argument`` (a function
    argument with the wrong units), ``power``, ``flow`` and ``initial`` (of a stock),
    ``declaration`` (one variable's equations declare different units), ``syntax``
    (units that cannot be read), ``time`` (the control variables disagree) for errors;
    ``lookup argument``, ``missing`` (no units declared) and ``not checked`` for warnings.
    """

    variable: str  # Vensim name with the subscripts of the equation
    kind: str
    message: str
    declared: str = ""  # the variable's declared units
    expected: str = ""  # units the term should have
    found: str = ""  # units the term has
    term: str = ""  # the part of the equation that disagrees, in Vensim syntax
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.variable}: {self.message}"
        return text + (f"\n    {self.term}" if self.term else "")


@dataclass
class UnitsReport:
    """What the check found in one model."""

    path: Path
    time_units: str  # the model's time unit ("" when not declared)
    errors: list = field(default_factory=list)  # Issue, severity "error"
    warnings: list = field(default_factory=list)  # Issue, severity "warning"
    checked: int = 0  # equations compared completely
    unchecked: list = field(default_factory=list)  # (variable, why) checked only in part

    @property
    def clean(self) -> bool:
        return not self.errors

    def render(self, verbose: bool = False) -> str:
        n, w = len(self.errors), len(self.warnings)
        try:  # models/yaan_parks.mdl rather than the absolute path, from a checkout
            shown = self.path.resolve().relative_to(Path.cwd())
        except ValueError:
            shown = self.path
        head = (
            f"{shown}: "
            + ("units are consistent" if not n else f"{n} units error{'s' if n != 1 else ''}")
            + (f", {w} warning{'s' if w != 1 else ''}" if w else "")
            + f" ({self.checked} equation{'s' if self.checked != 1 else ''} checked"
            + (f", {len(self.unchecked)} in part" if self.unchecked else "")
            + (f"; time unit {self.time_units})" if self.time_units else ")")
        )
        lines = [head]
        for issue in self.errors:
            lines.append(f"error   {issue}")
        for issue in self.warnings:
            lines.append(f"warning {issue}")
        if verbose:
            for var, why in self.unchecked:
                lines.append(f"partly  {var}: {why}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Values met while inferring: units, a bare number (fits anything), or unknown
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Val:
    kind: str  # "units" | "number" | "unknown"
    units: Units | None = None
    why: str = ""

    @property
    def known(self) -> bool:
        return self.kind == "units"


_NUMBER = _Val("number")


def _u(units: Units) -> _Val:
    return _Val("units", units)


def _unknown(why: str) -> _Val:
    return _Val("unknown", None, why)


def _is_number(node) -> bool:
    return isinstance(node, (int, float, np.integer, np.floating)) and not isinstance(node, bool)


_FUNC_NAMES = {
    "if_then_else": "IF THEN ELSE",
    "active_initial": "ACTIVE INITIAL",
    "pulse_train": "PULSE TRAIN",
    "random_uniform": "RANDOM UNIFORM",
    "random_normal": "RANDOM NORMAL",
}
_SAME_AS_ARG = {"abs", "integer", "round"}
_DMNL_ARG = {"exp", "ln", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"}
_REDUCTIONS = {"sum", "prod", "vmin", "vmax"}
_LOOKUP_FUNCS = {"lookup_extrapolate", "lookup_forward", "lookup_backward"}
_PRECEDENCE = {":OR:": 1, ":AND:": 2, "=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3, ">=": 3}
_PRECEDENCE.update({"+": 4, "-": 4, "*": 5, "/": 5, "^": 7})


def func_name(ref: str) -> str:
    return _FUNC_NAMES.get(ref, ref.upper().replace("_", " "))


def _name_key(name: str) -> str:
    """PySD's form of a reference (lower case, spaces as underscores)."""
    return "_".join(name.strip().lower().split())


# --------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, path: Path, section, system: UnitSystem, macros, component_units):
        from pysd.translators.structures import abstract_expressions as ae
        from pysd.translators.structures import abstract_model as am

        self.ae, self.am = ae, am
        self.path = path
        self.section = section
        self.system = system
        self.macros = {_name_key(m) for m in macros}
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.checked = 0
        self.unchecked: list[tuple[str, str]] = []
        self._warned: set = set()
        # the equation being checked
        self._var, self._declared, self._declared_text = "", None, ""
        self._partial: str | None = None
        self._top = None
        self.real: dict[str, str] = {"time": "Time"}
        self.declared: dict[str, Units | None] = {}  # None: no units or unreadable
        self.lookups: set[str] = set()
        for el in section.elements:
            key = _name_key(el.name)
            self.real[key] = el.name
            if el.components and all(isinstance(c, am.AbstractLookup) for c in el.components):
                self.lookups.add(key)
            self.declared[key] = self._declare(el, component_units.get(key, []))
        self.sizes = self._range_sizes(section.subscripts)
        self.time = self._time_units()

    # ---- declarations ------------------------------------------------------------------
    def _declare(self, el, component_units) -> Units | None:
        if not el.units:
            self.warn(
                Issue(
                    el.name,
                    "missing",
                    "no units declared (its equation, and the terms using it, are not checked)",
                    severity="warning",
                )
            )
            return None
        try:
            units = self.system.parse(el.units)
        except UnitsSyntaxError as exc:
            self.error(
                Issue(
                    el.name,
                    "syntax",
                    f"cannot read its units '{el.units}': {exc}",
                    declared=el.units,
                )
            )
            return None
        distinct = {}
        for text in component_units:
            try:
                distinct.setdefault(self.system.parse(text), text)
            except UnitsSyntaxError:
                continue  # reported above when it is the one PySD kept
        if len(distinct) > 1:
            texts = list(distinct.values())
            self.error(
                Issue(
                    el.name,
                    "declaration",
                    "its equations declare different units: " + ", ".join(texts),
                    declared=el.units,
                )
            )
        return units

    def _range_sizes(self, ranges) -> dict[str, int]:
        defs = {r.name.strip().lower(): r.subscripts for r in ranges}
        sizes: dict[str, int] = {}

        def size(name, seen=()):
            if name in sizes:
                return sizes[name]
            subs = defs.get(name)
            if name in seen or subs is None:
                return None
            if isinstance(subs, str):  # a copy of another range
                n = size(subs.strip().lower(), (*seen, name))
            elif isinstance(subs, list):
                n = 0
                for s in subs:
                    inner = str(s).strip().lower()
                    k = size(inner, (*seen, name)) if inner in defs and inner != name else 1
                    if k is None:
                        return None
                    n += k
            else:
                return None
            if n is not None:
                sizes[name] = n
            return n

        for name in defs:
            size(name)
        return sizes

    def _time_units(self) -> Units | None:
        found = [(k, self.declared.get(k)) for k in _CONTROL_KEYS]
        known = [(k, u) for k, u in found if u is not None]
        if not known:
            self.warn(
                Issue(
                    "TIME STEP",
                    "not checked",
                    "the model's time unit is not declared (no TIME STEP with units): stocks, "
                    "delays and Time are not checked",
                    severity="warning",
                )
            )
            return None
        time = known[0][1]
        for key, units in known[1:]:
            if units != time:
                self.error(
                    Issue(
                        self.real[key],
                        "time",
                        f"declared {units}, but {self.real[known[0][0]]} is in {time}: "
                        "the control variables share the model's time unit",
                        declared=str(units),
                        expected=str(time),
                        found=str(units),
                    )
                )
        return time

    # ---- reporting ----------------------------------------------------------------------
    def error(self, issue: Issue):
        self.errors.append(issue)

    def warn(self, issue: Issue):
        key = (issue.variable, issue.kind, issue.message)
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(issue)

    def mismatch(self, kind, message, node, expected=None, found=None):
        self.error(
            Issue(
                self._var,
                kind,
                message,
                declared=self._declared_text,
                expected="" if expected is None else str(expected),
                found="" if found is None else str(found),
                term=self.text(node) if node is not None else "",
            )
        )

    def unknown(self, why: str) -> _Val:
        if self._partial is None:
            self._partial = why
        return _unknown(why)

    # ---- entry point --------------------------------------------------------------------
    def run(self) -> None:
        skip = (
            self.ae.LookupsStructure,
            self.ae.GetLookupsStructure,
            self.ae.GetDataStructure,
            self.ae.GetConstantsStructure,
            self.ae.DataStructure,
        )
        for el in self.section.elements:
            key = _name_key(el.name)
            declared = self.declared[key]
            for comp in el.components:
                ast = comp.ast
                if _is_number(ast) or isinstance(ast, (np.ndarray, skip, str)):
                    continue  # constants, tables, data: their declared units stand
                subs = comp.subscripts[0] if comp.subscripts else []
                self._var = el.name + (f"[{','.join(subs)}]" if subs else "")
                self._declared = declared
                self._declared_text = el.units or ""
                self._partial = None
                self._top = ast
                value = self.infer(ast, declared)
                if declared is not None and value.known and value.units != declared:
                    ratio = value.units / declared
                    self.mismatch(
                        "equation",
                        f"the right side has units {value.units}, the left side is declared "
                        f"{declared} (right/left = {ratio})",
                        ast,
                        expected=declared,
                        found=value.units,
                    )
                if declared is None:
                    why = "no units declared" if not el.units else "its units cannot be read"
                    self.unchecked.append((self._var, why))
                elif self._partial is not None:
                    self.unchecked.append((self._var, self._partial))
                else:
                    self.checked += 1

    # ---- inference ----------------------------------------------------------------------
    def infer(self, node, expect: Units | None = None) -> _Val:
        ae = self.ae
        if _is_number(node) or isinstance(node, np.ndarray):
            return _NUMBER
        if isinstance(node, ae.ReferenceStructure):
            return self.reference(node)
        if isinstance(node, ae.ArithmeticStructure):
            return self.arithmetic(node, expect)
        if isinstance(node, ae.LogicStructure):
            return self.logic(node)
        if isinstance(node, ae.CallStructure):
            return self.call(node, expect)
        if isinstance(node, ae.GameStructure):
            return self.infer(node.expression, expect)
        if isinstance(node, ae.InlineLookupsStructure):
            self.lookup_argument(node.argument, "WITH LOOKUP")
            if self._declared is None:
                return self.unknown("WITH LOOKUP in a variable with no units")
            return _u(self._declared)  # the table's output has the variable's units
        if isinstance(node, ae.IntegStructure):
            return self.integ(node)
        if isinstance(node, ae.InitialStructure):
            return self.infer(node.initial, expect)
        if isinstance(
            node,
            (ae.SmoothStructure, ae.SmoothNStructure, ae.DelayStructure, ae.DelayNStructure),
        ):
            what = (
                "SMOOTH" if isinstance(node, (ae.SmoothStructure, ae.SmoothNStructure)) else "DELAY"
            )
            time = node.smooth_time if what == "SMOOTH" else node.delay_time
            self.dimensionless_arg(node.order, f"the order of {what}")
            return self.delay_like(node.input, time, node.initial, what, expect)
        if isinstance(node, ae.DelayFixedStructure):
            return self.delay_like(node.input, node.delay_time, node.initial, "DELAY FIXED", expect)
        if isinstance(node, ae.TrendStructure):
            self.infer(node.input)
            self.time_arg(node.average_time, "the average time of TREND")
            if self.time is None:
                return self.unknown("the model's time unit is not declared")
            per_time = DMNL / self.time
            self.expect_units(node.initial_trend, per_time, "initial", "the initial trend of TREND")
            return _u(per_time)
        if isinstance(node, ae.ForecastStructure):
            value = self.infer(node.input, expect)
            self.time_arg(node.average_time, "the average time of FORECAST")
            self.time_arg(node.horizon, "the horizon of FORECAST")
            if self.time is not None:
                self.expect_units(
                    node.initial_trend, DMNL / self.time, "initial", "the initial trend of FORECAST"
                )
            return value
        if isinstance(node, ae.SampleIfTrueStructure):
            self.infer(node.condition)
            return self.same(
                [node.input, node.initial],
                expect,
                "branches",
                "SAMPLE IF TRUE's input and initial value",
            )
        if isinstance(node, ae.AllocateAvailableStructure):
            return self.same(
                [node.request, node.avail],
                expect,
                "branches",
                "ALLOCATE AVAILABLE's request and supply",
            )
        if isinstance(node, ae.AllocateByPriorityStructure):
            return self.same(
                [node.request, node.supply],
                expect,
                "branches",
                "ALLOCATE BY PRIORITY's request and supply",
            )
        if isinstance(node, (str, bool)) or node is None:
            return _NUMBER
        what = type(node).__name__.replace("Structure", "")
        self.warn(Issue(self._var, "not checked", f"{what} is not checked", severity="warning"))
        return self.unknown(f"{what} is not checked")

    def reference(self, node) -> _Val:
        key = node.reference
        if key == "time":
            if self.time is None:
                return self.unknown("the model's time unit is not declared")
            return _u(self.time)
        if key in self.declared:
            units = self.declared[key]
            if units is None:
                return self.unknown(f"'{self.real[key]}' has no readable units")
            return _u(units)
        # a subscript range or element used as a number
        return _NUMBER

    def arithmetic(self, node, expect) -> _Val:
        ops = list(node.operators)
        args = list(node.arguments)
        if ops == ["negative"]:
            return self.infer(args[0], expect)
        if all(op in ("+", "-") for op in ops):
            return self.same(args, expect, "sum", None)
        if all(op == "^" for op in ops):
            # a^b^c is a^(b^c), as PySD evaluates it
            exponent = args[-1]
            for b in reversed(args[1:-1]):
                exponent = self.ae.ArithmeticStructure(["^"], (b, exponent))
            return self.power(args[0], exponent)
        out = self.infer(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            rhs = self.infer(arg)
            out = self.product(out, rhs, op)
        return out

    @staticmethod
    def product(a: _Val, b: _Val, op: str) -> _Val:
        if a.kind == "unknown":
            return a
        if b.kind == "unknown":
            return b
        if a.kind == "number" and b.kind == "number":
            return _NUMBER
        ua = a.units if a.known else DMNL
        ub = b.units if b.known else DMNL
        return _u(ua * ub if op == "*" else ua / ub)

    def power(self, base_node, exponent_node) -> _Val:
        base = self.infer(base_node)
        exponent = self.infer(exponent_node)
        if exponent.known and not exponent.units.dimensionless:
            self.mismatch(
                "power",
                f"the exponent must be dimensionless: it has {exponent.units}",
                exponent_node,
                expected=DMNL,
                found=exponent.units,
            )
        if base.kind != "units" or base.units.dimensionless:
            return base  # a number or Dmnl raised to a power stays one
        value = _numeric(exponent_node)
        if value is not None and not np.isfinite(value):
            return self.unknown(f"the exponent {self.text(exponent_node)} has no finite value")
        if value is None:
            self.mismatch(
                "power",
                f"a base with units ({base.units}) needs a numeric exponent",
                self.ae.ArithmeticStructure(["^"], (base_node, exponent_node)),
                found=base.units,
            )
            return self.unknown("a base with units raised to a variable")
        return _u(base.units ** Fraction(value).limit_denominator(1000))

    def logic(self, node) -> _Val:
        ops = list(node.operators)
        if any(op in (":AND:", ":OR:", ":NOT:") for op in ops):
            for arg in node.arguments:
                self.infer(arg)
            return _NUMBER
        self.same(list(node.arguments), None, "comparison", None)
        return _NUMBER

    def same(self, nodes, expect, kind, what) -> _Val:
        """Values that must share units (terms of a sum, branches): the units they share.

        Where they differ, the odd ones out are reported against the declared (expected)
        units when one of them has those, else against the most common units."""
        values = [self.infer(n, expect) for n in nodes]
        known = [(v.units, n) for v, n in zip(values, nodes, strict=True) if v.known]
        if not known:
            unknown = [v for v in values if v.kind == "unknown"]
            return unknown[0] if unknown else _NUMBER
        counts = Counter(u for u, _ in known)
        if expect is not None and expect in counts:
            ref = expect
        else:
            ref = max(counts, key=lambda u: (counts[u], -[k for k, _ in known].index(u)))
        if len(counts) > 1:
            for units, n in known:
                if units == ref:
                    continue
                if kind == "sum":
                    message = f"+ and - need equal units: this term has {units}, the sum {ref}"
                elif kind == "comparison":
                    message = (
                        f"a comparison needs equal units: this side has {units}, the other {ref}"
                    )
                else:
                    message = f"{what} need equal units: this one has {units}, the rest {ref}"
                self.mismatch(kind, message, n, expected=ref, found=units)
        return _u(ref)

    def expect_units(self, node, expected: Units, kind: str, what: str) -> _Val:
        value = self.infer(node, expected)
        if value.known and value.units != expected:
            must = "be dimensionless" if expected.dimensionless else f"be in {expected}"
            self.mismatch(
                kind,
                f"{what} must {must}: it has {value.units}",
                node,
                expected=expected,
                found=value.units,
            )
        return value

    def dimensionless_arg(self, node, what: str) -> _Val:
        return self.expect_units(node, DMNL, "argument", what)

    def time_arg(self, node, what: str) -> None:
        if self.time is None:
            self.infer(node)
            return
        self.expect_units(node, self.time, "argument", what)

    def lookup_argument(self, node, name: str) -> None:
        value = self.infer(node)
        if value.known and not value.units.dimensionless:
            self.warn(
                Issue(
                    self._var,
                    "lookup argument",
                    f"the lookup {name} is called with an argument in {value.units}; Vensim "
                    "warns unless it is dimensionless (divide it by a reference value)",
                    declared=self._declared_text,
                    expected="Dmnl",
                    found=str(value.units),
                    term=self.text(node),
                    severity="warning",
                )
            )

    def delay_like(self, input_node, time_node, initial_node, what, expect) -> _Val:
        self.time_arg(time_node, f"the delay time of {what}")
        if initial_node is input_node:
            return self.infer(input_node, expect)
        return self.same(
            [input_node, initial_node], expect, "branches", f"{what}'s input and initial value"
        )

    def integ(self, node) -> _Val:
        stock = self._declared if node is self._top else None
        if stock is None or self.time is None:
            flow = self.infer(node.flow)
            init = self.infer(node.initial)
            if self.time is None:
                return self.unknown("the model's time unit is not declared")
            if flow.known:
                level = flow.units * self.time
                if init.known and init.units != level:
                    self.mismatch(
                        "initial",
                        f"the initial value has units {init.units}, the flow times "
                        f"{self.time} {level}",
                        node.initial,
                        expected=level,
                        found=init.units,
                    )
                return _u(level)
            return init
        rate = stock / self.time
        flow = self.infer(node.flow, rate)
        if flow.known and flow.units != rate:
            self.mismatch(
                "flow",
                f"the net flow has units {flow.units}; "
                f"the stock's units per {self.time} are {rate}",
                node.flow,
                expected=rate,
                found=flow.units,
            )
        self.expect_units(node.initial, stock, "initial", "the initial value of the stock")
        return _u(stock)

    def call(self, node, expect) -> _Val:
        ref = node.function.reference
        args = list(node.arguments)
        name = func_name(ref)
        if ref in self.lookups or (ref in self.declared and ref not in _REDUCTIONS):
            if len(args) == 1:
                self.lookup_argument(args[0], f"'{self.real[ref]}'")
            else:
                for a in args:
                    self.infer(a)
            return self.reference(node.function)
        if ref in _LOOKUP_FUNCS and args and isinstance(args[0], self.ae.ReferenceStructure):
            for a in args[1:]:
                self.lookup_argument(a, f"'{self.real.get(args[0].reference, args[0].reference)}'")
            return self.reference(args[0])
        if ref in _SAME_AS_ARG and len(args) == 1:
            return self.infer(args[0], expect)
        if ref in _DMNL_ARG and len(args) == 1:
            self.dimensionless_arg(args[0], f"the argument of {name}")
            return _u(DMNL)
        if ref == "log" and len(args) == 2:
            self.dimensionless_arg(args[0], "the argument of LOG")
            self.dimensionless_arg(args[1], "the base of LOG")
            return _u(DMNL)
        if ref == "sqrt" and len(args) == 1:
            value = self.infer(args[0])
            return _u(value.units ** Fraction(1, 2)) if value.known else value
        if ref == "power" and len(args) == 2:
            return self.power(args[0], args[1])
        if ref in ("min", "max", "modulo", "quantum", "active_initial"):
            return self.same(args, expect, "branches", f"the arguments of {name}")
        if ref == "if_then_else" and len(args) == 3:
            self.infer(args[0])
            return self.same(args[1:], expect, "branches", "the two branches of IF THEN ELSE")
        if ref == "zidz" and len(args) == 2:
            return self.product(self.infer(args[0]), self.infer(args[1]), "/")
        if ref == "xidz" and len(args) == 3:
            ratio = self.product(self.infer(args[0]), self.infer(args[1]), "/")
            if ratio.known:
                value = self.infer(args[2], ratio.units)
                if value.known and value.units != ratio.units:
                    self.mismatch(
                        "argument",
                        f"XIDZ's third argument must have the units of the first over the "
                        f"second ({ratio.units}): it has {value.units}",
                        args[2],
                        expected=ratio.units,
                        found=value.units,
                    )
            else:
                self.infer(args[2])
            return ratio
        if ref == "step" and len(args) == 2:
            self.time_arg(args[1], "the time of STEP")
            return self.infer(args[0], expect)
        if ref == "ramp" and len(args) in (2, 3):
            for a in args[1:]:
                self.time_arg(a, "the start and end times of RAMP")
            slope = self.infer(args[0])
            if slope.kind == "number":
                return _NUMBER  # a written slope has the units its place needs
            if self.time is None:
                return self.unknown("the model's time unit is not declared")
            return self.product(slope, _u(self.time), "*")
        if ref in ("pulse", "pulse_train"):
            for a in args:
                self.time_arg(a, f"the times of {name}")
            return _u(DMNL)
        if ref in _REDUCTIONS and len(args) == 1:
            value = self.infer(args[0], expect if ref != "prod" else None)
            if ref != "prod" or not value.known or value.units.dimensionless:
                return value
            n = self.reduced_size(args[0])
            if n is None:
                return self.unknown("PROD over a range of unknown size")
            return _u(value.units**n)
        if ref in ("elmcount", "pi"):
            return _NUMBER
        if ref == "random_uniform" and len(args) == 3:
            self.infer(args[2])
            return self.same(args[:2], expect, "branches", f"the arguments of {name}")
        if ref == "random_normal" and len(args) == 5:
            self.infer(args[4])
            return self.same(args[:4], expect, "branches", f"the arguments of {name}")
        for a in args:
            self.infer(a)
        what = f"the macro {name}" if ref in self.macros else f"the function {name}"
        self.warn(Issue(self._var, "not checked", f"{what} is not checked", severity="warning"))
        return self.unknown(f"{what} is not checked")

    def reduced_size(self, node) -> int | None:
        bangs: list[str] = []
        self._bangs(node, bangs)
        n = 1
        for b in bangs:
            size = self.sizes.get(b)
            if size is None:
                return None
            n *= size
        return n

    def _bangs(self, node, out):
        ae = self.ae
        if isinstance(node, ae.ReferenceStructure):
            if node.subscripts is not None:
                for s in node.subscripts.subscripts:
                    s = s.strip()
                    if s.endswith("!") and s[:-1].strip().lower() not in out:
                        out.append(s[:-1].strip().lower())
            return
        if isinstance(node, ae.CallStructure):
            if node.function.reference in _REDUCTIONS:
                return  # a nested reduction owns its ranges
            for a in node.arguments:
                self._bangs(a, out)
            return
        for a in getattr(node, "arguments", ()) or ():
            self._bangs(a, out)

    # ---- Vensim text of a term ---------------------------------------------------------
    def text(self, node) -> str:
        return _Text(self.ae, self.real).render(node)


def _numeric(node) -> float | None:
    """The value of a term made of numbers only (nan where it has none), else None."""
    from pysd.translators.structures import abstract_expressions as ae

    if _is_number(node):
        return float(node)
    if not isinstance(node, ae.ArithmeticStructure):
        return None
    values = [_numeric(a) for a in node.arguments]
    if any(v is None for v in values):
        return None
    ops = list(node.operators)
    try:
        if ops == ["negative"]:
            return -values[0]
        if all(op == "^" for op in ops):
            out = values[-1]
            for v in reversed(values[:-1]):
                out = v**out
        else:
            out = values[0]
            for op, v in zip(ops, values[1:], strict=True):
                if op == "+":
                    out += v
                elif op == "-":
                    out -= v
                elif op == "*":
                    out *= v
                else:
                    out /= v
    except ArithmeticError:  # 0^-1, 1/0, an overflow
        return float("nan")
    return out if isinstance(out, float) else float("nan")  # (-8)^(1/3) is complex


class _Text:
    """Vensim text of an AST node (for messages)."""

    def __init__(self, ae, real):
        self.ae, self.real = ae, real

    def render(self, node, parent: int = 0) -> str:
        ae = self.ae
        if _is_number(node):
            text = f"{float(node):g}"
            return f"({text})" if node < 0 and parent > 4 else text
        if isinstance(node, ae.ReferenceStructure):
            name = self.real.get(node.reference, node.reference.replace("_", " "))
            if node.subscripts is not None:
                name += "[" + ",".join(s.strip() for s in node.subscripts.subscripts) + "]"
            return name
        if isinstance(node, (ae.ArithmeticStructure, ae.LogicStructure)):
            ops = list(node.operators)
            args = list(node.arguments)
            if ops == ["negative"]:
                return "-" + self.render(args[0], 6)
            if ops == [":NOT:"]:
                return ":NOT: " + self.render(args[0], 3)
            prec = _PRECEDENCE.get(ops[0], 4)
            parts = [self.render(args[0], prec)]
            for op, a in zip(ops, args[1:], strict=True):
                # the right operand of - and / binds tighter: a-(b-c), a/(b*c)
                tight = prec + 1 if op in ("-", "/", "^") else prec
                sep = f" {op} " if op.startswith(":") or prec <= 3 else op
                parts.append(sep + self.render(a, tight))
            text = "".join(parts)
            return f"({text})" if prec < parent else text
        if isinstance(node, ae.CallStructure):
            ref = node.function.reference
            name = self.real.get(ref) if ref in self.real else func_name(ref)
            if node.function.subscripts is not None:
                name += "[" + ",".join(node.function.subscripts.subscripts) + "]"
            return f"{name}({', '.join(self.render(a) for a in node.arguments)})"
        if isinstance(node, ae.IntegStructure):
            return f"INTEG({self.render(node.flow)}, {self.render(node.initial)})"
        if isinstance(node, ae.InitialStructure):
            return f"INITIAL({self.render(node.initial)})"
        if isinstance(node, (ae.SmoothStructure, ae.DelayStructure)):
            base = "SMOOTH" if isinstance(node, ae.SmoothStructure) else "DELAY"
            order = node.order if _is_number(node.order) else None
            time = node.smooth_time if base == "SMOOTH" else node.delay_time
            name = base + ("3" if order == 3 else ("1" if base == "DELAY" else ""))
            args = [node.input, time]
            if node.initial is not node.input:
                name += "I"
                args.append(node.initial)
            return f"{name}({', '.join(self.render(a) for a in args)})"
        if isinstance(node, ae.InlineLookupsStructure):
            return f"WITH LOOKUP({self.render(node.argument)}, ...)"
        if isinstance(node, (str, np.ndarray)) or node is None:
            return str(node)
        fields = [
            self.render(getattr(node, f))
            for f in getattr(node, "__dataclass_fields__", {})
            if not isinstance(getattr(node, f), bool)
        ]
        name = type(node).__name__.replace("Structure", "").upper()
        return f"{name}({', '.join(fields)})"


# --------------------------------------------------------------------------------------
# Reading the model
# --------------------------------------------------------------------------------------
def read_synonyms(text: str) -> list[list[str]]:
    """The unit synonym groups of a .mdl's settings (``22:Year,Years`` lines)."""
    marker = text.find("///---\\\\\\")
    if marker < 0:
        return []
    groups = []
    for line in text[marker:].splitlines():
        if line.startswith("22:"):
            groups.append([n.strip() for n in line[3:].split(",")])
    return groups


def check_units(path=None) -> UnitsReport:
    """Check the units of every equation of a Vensim model (default: the park model).

    Returns a :class:`UnitsReport`; raises ModelError when the file cannot be read or
    parsed.
    """
    from yaan_sim.paths import DEFAULT_MODEL

    path = Path(path) if path is not None else DEFAULT_MODEL
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read the model file {path}: {exc.strerror or exc}. Check the path."
        ) from None
    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            # the translator's notes (no encoding declared, ...) do not change units
            warnings.simplefilter("ignore")
            vf = VensimFile(path)
            vf.parse()
            model = vf.get_abstract_model()
    except Exception as exc:  # PySD's parser raises many kinds; one clear message
        raise ModelError(
            f"{path}: cannot be parsed: {str(exc).strip().rstrip('.') or type(exc).__name__}. "
            "Fix the equation there (Vensim syntax) and run again."
        ) from None
    main = [s for s in model.sections if s.name == "__main__"]
    if not main:
        raise ModelError(f"{path}: no main section found")
    macros = [s.name for s in model.sections if s.name != "__main__"]
    component_units: dict[str, list[str]] = {}
    for section in vf.sections:
        if section.name == "__main__":
            for comp in section.components:
                if getattr(comp, "units", ""):
                    component_units.setdefault(_name_key(comp.name), []).append(comp.units)
    system = UnitSystem(read_synonyms(raw.decode("utf-8", errors="replace")))
    checker = _Checker(path, main[0], system, macros, component_units)
    checker.run()
    for name in macros:
        checker.warn(
            Issue(name, "not checked", "macro definitions are not checked", severity="warning")
        )
    return UnitsReport(
        path=path,
        time_units="" if checker.time is None else str(checker.time),
        errors=checker.errors,
        warnings=checker.warnings,
        checked=checker.checked,
        unchecked=checker.unchecked,
    )
