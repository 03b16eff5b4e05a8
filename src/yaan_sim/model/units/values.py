"""What the checker infers for an expression (units, a bare number, unknown), and the
expression helpers: numbers in a term, Vensim text of a node for messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yaan_sim.model.units.algebra import DMNL, Units


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

    @property
    def u(self) -> Units:
        """The units of a known value (DMNL for a bare number or an unknown)."""
        return self.units if self.units is not None else DMNL


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


def _numeric(node) -> float | None:
    """The value of a term made of numbers only (nan where it has none), else None."""
    from pysd.translators.structures import abstract_expressions as ae

    if _is_number(node):
        return float(node)
    if not isinstance(node, ae.ArithmeticStructure):
        return None
    maybe = [_numeric(a) for a in node.arguments]
    values = [v for v in maybe if v is not None]
    if len(values) < len(maybe):
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
