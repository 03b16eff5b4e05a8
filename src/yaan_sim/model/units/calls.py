"""The units rules of Vensim's functions (INTEG, delays, lookups, reductions, ...): a
mixin of the checker."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from yaan_sim.model.units.algebra import DMNL
from yaan_sim.model.units.report import Issue
from yaan_sim.model.units.values import (
    _DMNL_ARG,
    _LOOKUP_FUNCS,
    _NUMBER,
    _REDUCTIONS,
    _SAME_AS_ARG,
    _u,
    _Val,
    func_name,
)

if TYPE_CHECKING:  # the checker mixes these rules in
    from yaan_sim.model.units.checker import _Checker


def dimensionless_arg(c: _Checker, node, what: str) -> _Val:
    return c.expect_units(node, DMNL, "argument", what)


def time_arg(c: _Checker, node, what: str) -> None:
    if c.time is None:
        c.infer(node)
        return
    c.expect_units(node, c.time, "argument", what)


def lookup_argument(c: _Checker, node, name: str) -> None:
    value = c.infer(node)
    if value.known and not value.u.dimensionless:
        c.warn(
            Issue(
                c._var,
                "lookup argument",
                f"the lookup {name} is called with an argument in {value.units}; Vensim "
                "warns unless it is dimensionless (divide it by a reference value)",
                declared=c._declared_text,
                expected="Dmnl",
                found=str(value.units),
                term=c.text(node),
                severity="warning",
            )
        )


def delay_like(c: _Checker, input_node, time_node, initial_node, what, expect) -> _Val:
    time_arg(c, time_node, f"the delay time of {what}")
    if initial_node is input_node:
        return c.infer(input_node, expect)
    return c.same(
        [input_node, initial_node], expect, "branches", f"{what}'s input and initial value"
    )


def integ(c: _Checker, node) -> _Val:
    stock = c._declared if node is c._top else None
    if stock is None or c.time is None:
        flow = c.infer(node.flow)
        init = c.infer(node.initial)
        if c.time is None:
            return c.unknown("the model's time unit is not declared")
        if flow.known:
            level = flow.u * c.time
            if init.known and init.units != level:
                c.mismatch(
                    "initial",
                    f"the initial value has units {init.units}, the flow times {c.time} {level}",
                    node.initial,
                    expected=level,
                    found=init.units,
                )
            return _u(level)
        return init
    rate = stock / c.time
    flow = c.infer(node.flow, rate)
    if flow.known and flow.units != rate:
        c.mismatch(
            "flow",
            f"the net flow has units {flow.units}; the stock's units per {c.time} are {rate}",
            node.flow,
            expected=rate,
            found=flow.units,
        )
    c.expect_units(node.initial, stock, "initial", "the initial value of the stock")
    return _u(stock)


def call(c: _Checker, node, expect) -> _Val:
    ref = node.function.reference
    args = list(node.arguments)
    name = func_name(ref)
    if ref in c.lookups or (ref in c.declared and ref not in _REDUCTIONS):
        if len(args) == 1:
            lookup_argument(c, args[0], f"'{c.real[ref]}'")
        else:
            for a in args:
                c.infer(a)
        return c.reference(node.function)
    if ref in _LOOKUP_FUNCS and args and isinstance(args[0], c.ae.ReferenceStructure):
        for a in args[1:]:
            lookup_argument(c, a, f"'{c.real.get(args[0].reference, args[0].reference)}'")
        return c.reference(args[0])
    if ref in _SAME_AS_ARG and len(args) == 1:
        return c.infer(args[0], expect)
    if ref in _DMNL_ARG and len(args) == 1:
        dimensionless_arg(c, args[0], f"the argument of {name}")
        return _u(DMNL)
    if ref == "log" and len(args) == 2:
        dimensionless_arg(c, args[0], "the argument of LOG")
        dimensionless_arg(c, args[1], "the base of LOG")
        return _u(DMNL)
    if ref == "sqrt" and len(args) == 1:
        value = c.infer(args[0])
        return _u(value.u ** Fraction(1, 2)) if value.known else value
    if ref == "power" and len(args) == 2:
        return c.power(args[0], args[1])
    if ref in ("min", "max", "modulo", "quantum", "active_initial"):
        return c.same(args, expect, "branches", f"the arguments of {name}")
    if ref == "if_then_else" and len(args) == 3:
        c.infer(args[0])
        return c.same(args[1:], expect, "branches", "the two branches of IF THEN ELSE")
    if ref == "zidz" and len(args) == 2:
        return c.product(c.infer(args[0]), c.infer(args[1]), "/")
    if ref == "xidz" and len(args) == 3:
        ratio = c.product(c.infer(args[0]), c.infer(args[1]), "/")
        if ratio.known:
            value = c.infer(args[2], ratio.units)
            if value.known and value.units != ratio.units:
                c.mismatch(
                    "argument",
                    f"XIDZ's third argument must have the units of the first over the "
                    f"second ({ratio.units}): it has {value.units}",
                    args[2],
                    expected=ratio.units,
                    found=value.units,
                )
        else:
            c.infer(args[2])
        return ratio
    if ref == "step" and len(args) == 2:
        time_arg(c, args[1], "the time of STEP")
        return c.infer(args[0], expect)
    if ref == "ramp" and len(args) in (2, 3):
        for a in args[1:]:
            time_arg(c, a, "the start and end times of RAMP")
        slope = c.infer(args[0])
        if slope.kind == "number":
            return _NUMBER  # a written slope has the units its place needs
        if c.time is None:
            return c.unknown("the model's time unit is not declared")
        return c.product(slope, _u(c.time), "*")
    if ref in ("pulse", "pulse_train"):
        for a in args:
            time_arg(c, a, f"the times of {name}")
        return _u(DMNL)
    if ref in _REDUCTIONS and len(args) == 1:
        value = c.infer(args[0], expect if ref != "prod" else None)
        if ref != "prod" or not value.known or value.u.dimensionless:
            return value
        n = reduced_size(c, args[0])
        if n is None:
            return c.unknown("PROD over a range of unknown size")
        return _u(value.u**n)
    if ref in ("elmcount", "pi"):
        return _NUMBER
    if ref == "random_uniform" and len(args) == 3:
        c.infer(args[2])
        return c.same(args[:2], expect, "branches", f"the arguments of {name}")
    if ref == "random_normal" and len(args) == 5:
        c.infer(args[4])
        return c.same(args[:4], expect, "branches", f"the arguments of {name}")
    for a in args:
        c.infer(a)
    what = f"the macro {name}" if ref in c.macros else f"the function {name}"
    c.warn(Issue(c._var, "not checked", f"{what} is not checked", severity="warning"))
    return c.unknown(f"{what} is not checked")


def reduced_size(c: _Checker, node) -> int | None:
    bangs: list[str] = []
    c._bangs(node, bangs)
    n = 1
    for b in bangs:
        size = c.sizes.get(b)
        if size is None:
            return None
        n *= size
    return n
