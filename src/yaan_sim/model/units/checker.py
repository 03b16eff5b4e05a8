"""The checker: infers each equation's units from its parts and compares them with the
declared ones."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np

from yaan_sim.model.units import calls
from yaan_sim.model.units.algebra import _CONTROL_KEYS, DMNL, Units, UnitsSyntaxError, UnitSystem
from yaan_sim.model.units.report import Issue
from yaan_sim.model.units.values import (
    _NUMBER,
    _REDUCTIONS,
    _is_number,
    _name_key,
    _numeric,
    _Text,
    _u,
    _unknown,
    _Val,
)


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
        self._var, self._declared_text = "", ""
        self._declared: Units | None = None
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
        distinct: dict[Units, str] = {}
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
                    ratio = value.u / declared
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
            return calls.call(self, node, expect)
        if isinstance(node, ae.GameStructure):
            return self.infer(node.expression, expect)
        if isinstance(node, ae.InlineLookupsStructure):
            calls.lookup_argument(self, node.argument, "WITH LOOKUP")
            if self._declared is None:
                return self.unknown("WITH LOOKUP in a variable with no units")
            return _u(self._declared)  # the table's output has the variable's units
        if isinstance(node, ae.IntegStructure):
            return calls.integ(self, node)
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
            calls.dimensionless_arg(self, node.order, f"the order of {what}")
            return calls.delay_like(self, node.input, time, node.initial, what, expect)
        if isinstance(node, ae.DelayFixedStructure):
            return calls.delay_like(
                self, node.input, node.delay_time, node.initial, "DELAY FIXED", expect
            )
        if isinstance(node, ae.TrendStructure):
            self.infer(node.input)
            calls.time_arg(self, node.average_time, "the average time of TREND")
            if self.time is None:
                return self.unknown("the model's time unit is not declared")
            per_time = DMNL / self.time
            self.expect_units(node.initial_trend, per_time, "initial", "the initial trend of TREND")
            return _u(per_time)
        if isinstance(node, ae.ForecastStructure):
            value = self.infer(node.input, expect)
            calls.time_arg(self, node.average_time, "the average time of FORECAST")
            calls.time_arg(self, node.horizon, "the horizon of FORECAST")
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
        ua, ub = a.u, b.u
        return _u(ua * ub if op == "*" else ua / ub)

    def power(self, base_node, exponent_node) -> _Val:
        base = self.infer(base_node)
        exponent = self.infer(exponent_node)
        if exponent.known and not exponent.u.dimensionless:
            self.mismatch(
                "power",
                f"the exponent must be dimensionless: it has {exponent.units}",
                exponent_node,
                expected=DMNL,
                found=exponent.units,
            )
        if base.kind != "units" or base.u.dimensionless:
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
        return _u(base.u ** Fraction(value).limit_denominator(1000))

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
