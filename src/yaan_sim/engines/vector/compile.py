"""Compile PySD's abstract model (the parsed .mdl) into a plan of numpy operations.

The plan is a set of *nodes* (model variables and the stateful objects hidden in their
equations: INTEG, SMOOTH, DELAY, INITIAL, ...), each with a line or two of Python source
that computes it with numpy from the nodes it depends on. :mod:`yaan_sim.engines.vector.codegen`
orders these nodes for a given kind of run (which variables are overridden, which are
returned), writes one simulation function from them and ``compile()``s it once.

Array layout: a value is ``(sample, *axes)``, sample of size 1 when shared by all
samples. Inside an equation the axes are the *context*: the subscripts of the left-hand
side (then, inside SUM/PROD/VMIN/VMAX, one axis per ``range!``); every sub-expression is
either a scalar or an array of rank ``1 + len(context)`` with size-1 axes where it does
not vary, so numpy broadcasting does the rest.

A variable's dims are the lower-cased names of its subscripts' *root* ranges (a
sub-range such as ``East`` belongs to ``Park``; a second subscript of the same family is
named after the range written there); its coords are the elements it is defined on, in
the root range's order. A reference's range binds to a left-hand range through a
declared mapping (element k to element k), else the same range family, else identical
elements.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from yaan_sim.errors import ModelError, UnsupportedConstructError

CONTROL_NAMES = {
    "initial_time": "_ti",
    "final_time": "_tf",
    "time_step": "_dt",
    "saveper": "_sp",
}

_ARITH_OPS = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
_COMP_OPS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

# name -> (numpy source template, number of arguments)
_SIMPLE_FUNCS = {
    "abs": ("np.abs({0})", 1),
    "exp": ("np.exp({0})", 1),
    "ln": ("np.log({0})", 1),
    "sqrt": ("np.sqrt({0})", 1),
    "sin": ("np.sin({0})", 1),
    "cos": ("np.cos({0})", 1),
    "tan": ("np.tan({0})", 1),
    "arcsin": ("np.arcsin({0})", 1),
    "arccos": ("np.arccos({0})", 1),
    "arctan": ("np.arctan({0})", 1),
    "sinh": ("np.sinh({0})", 1),
    "cosh": ("np.cosh({0})", 1),
    "tanh": ("np.tanh({0})", 1),
    "integer": ("_f.integer({0})", 1),
    "min": ("np.minimum({0}, {1})", 2),
    "max": ("np.maximum({0}, {1})", 2),
    "power": ("np.power({0}, {1})", 2),
    "log": ("(np.log({0})/np.log({1}))", 2),
    "modulo": ("_f.modulo({0}, {1})", 2),
    "quantum": ("_f.quantum({0}, {1})", 2),
    "zidz": ("_f.zidz({0}, {1})", 2),
    "xidz": ("_f.xidz({0}, {1}, {2})", 3),
    "if_then_else": ("_f.if_then_else({0}, {1}, {2})", 3),
}
_TIME_FUNCS = {
    "step": ("_f.step(t, _dt, {0}, {1})", (2,)),
    "ramp": ("_f.ramp(t, {0}, {1})", (2,)),
    "pulse": ("_f.pulse(t, {0}, {1})", (2,)),
    "pulse_train": ("_f.pulse_train(t, {0}, {1}, {2}, {3})", (4,)),
}
_REDUCTIONS = {"sum": "np.sum", "prod": "np.prod", "vmin": "np.min", "vmax": "np.max"}


def unsupported(variable: str, construct: str) -> UnsupportedConstructError:
    return UnsupportedConstructError(
        f"{variable}: {construct} is not supported by the vector engine; run with engine='pysd'"
    )


def clean_name(name: str) -> str:
    """PySD's case- and space-insensitive key of a name (the AST's reference form)."""
    return name.strip().lower().replace(" ", "_")


# --------------------------------------------------------------------------------------
# Subscripts
# --------------------------------------------------------------------------------------
class Subscripts:
    """Subscript ranges, their root ranges and element lookup."""

    def __init__(self, abstract_ranges):
        self.ranges: dict[str, list[str]] = {}  # range name (as written) -> elements
        self._by_key: dict[str, str] = {}  # lower-case name -> range name
        self._maps: dict[str, list] = {}  # range -> ranges it maps to (positionally)
        pending = list(abstract_ranges)
        for _ in range(len(pending) + 1):
            left = []
            for rng in pending:
                subs = rng.subscripts
                if isinstance(subs, str):  # copy of another range
                    src = self._by_key.get(subs.strip().lower())
                    if src is None:
                        left.append(rng)
                        continue
                    subs = list(self.ranges[src])
                elif not isinstance(subs, list):
                    raise unsupported(rng.name, "a subscript range read from a file")
                else:  # a range listed among the elements stands for its elements
                    names = {r.name.strip().lower() for r in abstract_ranges}
                    if any(
                        str(x).strip().lower() in names
                        and str(x).strip().lower() not in self._by_key
                        for x in subs
                    ):
                        left.append(rng)
                        continue
                    expanded = []
                    for x in subs:
                        key = str(x).strip().lower()
                        if key in self._by_key and key != rng.name.strip().lower():
                            expanded.extend(self.ranges[self._by_key[key]])
                        else:
                            expanded.append(str(x))
                    subs = expanded
                self.ranges[rng.name] = [str(s) for s in subs]
                self._by_key[rng.name.strip().lower()] = rng.name
                self._maps[rng.name] = [m for m in (rng.mapping or []) if isinstance(m, str)]
            if not left:
                break
            pending = left
        else:  # pragma: no cover
            raise ModelError(f"cannot resolve the subscript ranges {[r.name for r in pending]}")
        # root: the first-defined range that strictly contains this one and is itself
        # contained in no other range; a range with no strict superset is its own root.
        sets = {name: set(el) for name, el in self.ranges.items()}
        self.root: dict[str, str] = {}
        for name, elems in sets.items():
            supers = [o for o, oe in sets.items() if elems < oe]
            maximal = [o for o in supers if not any(sets[o] < sets[p] for p in supers)]
            self.root[name] = maximal[0] if maximal else name
        self.roots = [n for n in self.ranges if self.root[n] == n]
        self._elem_roots: dict[str, list[str]] = {}
        for root in self.roots:
            for el in self.ranges[root]:
                self._elem_roots.setdefault(el.lower(), []).append(root)
        self._elem_case: dict[str, str] = {}
        for elems in self.ranges.values():
            for el in elems:
                self._elem_case.setdefault(el.lower(), el)

    def mapped(self, a: str, b: str) -> bool:
        ka = {self.range_name(m) for m in self._maps.get(a, [])}
        kb = {self.range_name(m) for m in self._maps.get(b, [])}
        return b in ka or a in kb

    def value_range(self, name: str) -> str:
        """The range whose order gives the value of a range or element used as a number:
        the first-defined range containing it with no strict superset (as PySD)."""
        elems = set(self.ranges[name]) if name in self.ranges else {name}
        for rng, el in self.ranges.items():
            if elems <= set(el) and not any(set(el) < set(o) for o in self.ranges.values()):
                return rng
        return name

    def range_name(self, text: str) -> str | None:
        return self._by_key.get(text.strip().lower())

    def element(self, text: str) -> str | None:
        return self._elem_case.get(text.strip().lower())

    def element_roots(self, element: str) -> list[str]:
        return self._elem_roots.get(element.lower(), [])

    def dim_name(self, root: str) -> str:
        return root.lower()

    def order(self, root: str, elements) -> list[str]:
        wanted = set(elements)
        return [e for e in self.ranges[root] if e in wanted]


# --------------------------------------------------------------------------------------
# Plan structures
# --------------------------------------------------------------------------------------
@dataclass
class Axis:
    root: str
    elements: tuple
    name: str  # the range (or element) written on the left-hand side, or "R!" for bangs
    reduction: bool = False


@dataclass
class Expr:
    code: str
    present: frozenset  # context axes along which the value has its full extent
    deps: frozenset  # node keys: "v:<py_name>", "s:<id>", "time"
    scalar: bool = False  # a Python/numpy scalar, not an array of full rank
    ideps: frozenset | None = None  # deps at initialisation, where they differ
    phased: bool = False  # holds ACTIVE INITIAL: a value at initialisation, another after

    @property
    def init_deps(self) -> frozenset:
        return self.deps if self.ideps is None else self.ideps

    def wrap(self, code: str, present=None, deps=None, scalar=None) -> Expr:
        """A new expression around this one, keeping its initialisation dependencies."""
        extra = (deps or frozenset()) - self.deps
        return Expr(
            code,
            self.present if present is None else present,
            self.deps | extra,
            self.scalar if scalar is None else scalar,
            None if self.ideps is None else self.ideps | extra,
            self.phased,
        )


@dataclass
class Stateful:
    """A stateful object of PySD's (statefuls.py), with the same arithmetic.

    kinds: integ, smooth (SMOOTH, SMOOTHI, SMOOTH3[I], SMOOTH N), delay (DELAY1[I],
    DELAY3[I]), delayn (DELAY N: keeps the delay time of each stage), fixed (DELAY FIXED:
    a pipe of values), trend, forecast, sampleiftrue (fixed and sampleiftrue are updated
    by replacement, not Euler) and initial (never updated).
    """

    id: int
    kind: str
    owner: str  # Vensim name of the variable, for messages
    shape: tuple
    order: Expr | None = None  # SMOOTH/DELAY order, evaluated once at initialisation
    init: Expr | None = None
    input: Expr | None = None  # INTEG flow, input of the others
    time: Expr | None = None  # smooth / delay / average time
    extra: Expr | None = None  # FORECAST horizon, SAMPLE IF TRUE condition

    @property
    def key(self) -> str:
        return f"s:{self.id}"

    @property
    def dynamic(self) -> bool:
        return self.kind != "initial"

    def states(self) -> list[str]:
        return [f"s{self.id}_0"]

    @staticmethod
    def _deps(*exprs) -> frozenset:
        out = set()
        for e in exprs:
            if e is not None:
                out |= e.deps
        return frozenset(out)

    @staticmethod
    def _ideps(*exprs) -> frozenset:
        out = set()
        for e in exprs:
            if e is not None:
                out |= e.init_deps
        return frozenset(out)

    def init_deps(self) -> frozenset:
        if self.kind in ("smooth", "delay", "delayn"):
            return self._ideps(self.init, self.order, self.time if self.kind != "smooth" else None)
        if self.kind == "fixed":
            return self._ideps(self.init, self.time)
        if self.kind == "trend":
            return self._ideps(self.init, self.time, self.input)
        if self.kind == "forecast":
            return self._ideps(self.init, self.input)
        return self._ideps(self.init)

    def step_deps(self) -> frozenset:
        return self._deps(self.input, self.time, self.extra)

    def output_deps(self) -> frozenset:
        if self.kind == "delay":
            return self._deps(self.time)
        if self.kind in ("trend", "forecast", "sampleiftrue"):
            return self._deps(self.input, self.time, self.extra)
        return frozenset()

    def init_code(self) -> list[str]:
        st = self.states()
        shape = repr(self.shape)
        i, T, x = (e.code if e is not None else None for e in (self.init, self.time, self.input))
        lines = []
        if self.kind in ("delay", "delayn"):
            # stages as a list: the order is known at initialisation, and PySD lowers
            # it there when the delay time is shorter than order * TIME STEP
            n, S = f"_n{self.id}", f"S{self.id}"
            lines.append(
                f"{n} = _f.delay_order(_f.order_value({self.order.code}, {self.owner!r}, "
                f"True), _dt, {T}, {self.owner!r})"
            )
            lines.append(f"{S} = [_f.bc(({i}) * ({T}), {shape})] * {n}")
            if self.kind == "delayn":
                lines.append(f"TAU{self.id} = [_f.bc({T}, {shape})] * {n}")
            return lines
        if self.kind == "smooth":
            n, S = f"_n{self.id}", f"S{self.id}"
            lines.append(f"{n} = _f.order_value({self.order.code}, {self.owner!r}, False)")
            lines.append(f"{S} = [_f.bc({i}, {shape})] * {n}")
            return lines
        elif self.kind == "fixed":  # DELAY FIXED: a pipe of round(T / dt) values
            p = f"pipe{self.id}"
            lines.append(f"_n{self.id} = _f.fixed_order({T}, _dt, {self.owner!r})")
            lines.append(f"{st[0]} = _f.bc({i}, {shape})")
            lines.append(f"{p} = [{st[0]}] * _n{self.id}")
            lines.append(f"ptr{self.id} = 0")
        elif self.kind == "trend":
            lines.append(f"{st[0]} = _f.bc({x} / (1 + {i} * {T}), {shape})")
        elif self.kind == "forecast":
            lines.append(f"{st[0]} = _f.bc({x} / (1 + {i}), {shape})")
        else:
            lines.append(f"{st[0]} = _f.bc({i}, {shape})")
        lines += [f"{s} = {st[0]}" for s in st[1:]]
        return lines

    def output_code(self) -> str:
        st = self.states()
        x, T, e = (e.code if e is not None else None for e in (self.input, self.time, self.extra))
        if self.kind == "delay":
            return f"(S{self.id}[-1] / ({T}))"
        if self.kind == "delayn":
            return f"(S{self.id}[-1] / TAU{self.id}[0])"
        if self.kind == "smooth":
            return f"S{self.id}[-1]"
        if self.kind == "trend":
            return f"_f.zidz({x} - {st[0]}, {T} * np.abs({st[0]}))"
        if self.kind == "forecast":
            return f"({x} * (1 + _f.zidz({x} - {st[0]}, {T} * {st[0]}) * {e}))"
        if self.kind == "sampleiftrue":
            return f"_f.if_then_else({e}, {x}, {st[0]})"
        return st[-1]

    def ddt_code(self) -> list[str]:
        st = self.states()
        d = [s.replace("s", "d", 1) for s in st]
        x = self.input.code if self.input is not None else None
        if self.kind == "integ":
            return [f"{d[0]} = {x}"]
        T = self.time.code if self.time is not None else None
        if self.kind == "smooth":
            i, S, n = self.id, f"S{self.id}", f"_n{self.id}"
            return [
                f"_T{i} = {T}",
                f"D{i} = [(a - b) * {n} / _T{i} for a, b in zip([{x}] + {S}[:-1], {S})]",
            ]
        if self.kind in ("delay", "delayn"):
            i, S, n = self.id, f"S{self.id}", f"_n{self.id}"
            if self.kind == "delay":
                lines = [f"_T{i} = {T}", f"_o{i} = [s / _T{i} for s in {S}]"]
            else:  # DELAY N: the stages' delay times shift by one each step
                lines = [
                    f"TAU{i} = [_f.bc({T}, {self.shape!r})] + TAU{i}[:-1]",
                    f"_o{i} = [s / tau for s, tau in zip({S}, TAU{i})]",
                ]
            lines.append(
                f"D{i} = [(({x}) - _o{i}[0]) * {n}] + "
                f"[(a - b) * {n} for a, b in zip(_o{i}[:-1], _o{i}[1:])]"
            )
            return lines
        if self.kind in ("trend", "forecast"):
            return [f"{d[0]} = ({x} - {st[0]}) / ({T})"]
        if self.kind == "sampleiftrue":
            return [f"{d[0]} = _f.if_then_else({self.extra.code}, {x}, {st[0]})"]
        if self.kind == "fixed":
            return [f"{d[0]} = {x}"]
        return []

    def update_code(self) -> list[str]:
        if self.kind == "fixed":
            i, p, ptr = self.id, f"pipe{self.id}", f"ptr{self.id}"
            return [
                f"{p}[{ptr}] = d{i}_0",
                f"{ptr} = ({ptr} + 1) % _n{i}",
                f"s{i}_0 = _f.bc({p}[{ptr}], {self.shape!r})",
            ]
        if self.kind in ("delay", "delayn", "smooth"):
            i = self.id
            return [f"S{i} = [s + d * _dt for s, d in zip(S{i}, D{i})]"]
        if self.kind == "sampleiftrue":
            return [f"{s} = _f.bc({s.replace('s', 'd', 1)}, {self.shape!r})" for s in self.states()]
        return [f"{s} = {s} + {s.replace('s', 'd', 1)} * _dt" for s in self.states()]


@dataclass
class Component:
    ctx: list  # list[Axis]
    index: tuple  # per dim: list of positions in the variable's coords
    keep: tuple | None = None  # with :EXCEPT:: (cells in the variable, cells in ctx)
    expr: Expr | None = None
    literal: np.ndarray | None = None


@dataclass
class Variable:
    name: str  # Vensim real name
    py_name: str
    kind: str  # aux | lookup | control
    units: str
    roots: list  # root range names, one per dim
    coords: list  # element lists, one per dim
    dims: list = field(default_factory=list)  # dataset dim names
    full: list = field(default_factory=list)  # dataset coords per dim (coords padded)
    components: list = field(default_factory=list)
    documentation: str = ""
    # lookups
    xp: np.ndarray | None = None
    table: np.ndarray | None = None  # (K, 1, *dims)

    @property
    def key(self) -> str:
        return f"v:{self.py_name}"

    @property
    def shape(self) -> tuple:
        return tuple(len(c) for c in self.coords)

    @property
    def literal(self) -> bool:
        return all(c.literal is not None for c in self.components)

    def deps(self) -> frozenset:
        out = set()
        for c in self.components:
            if c.expr is not None:
                out |= c.expr.deps
        return frozenset(out)

    def init_deps(self) -> frozenset:
        out = set()
        for c in self.components:
            if c.expr is not None:
                out |= c.expr.init_deps
        return frozenset(out)

    @property
    def phased(self) -> bool:
        return any(c.expr is not None and c.expr.phased for c in self.components)


@dataclass
class Plan:
    path: Path
    subscripts: Subscripts
    variables: dict  # py_name -> Variable (model order)
    statefuls: list
    constants: list  # module-level constant arrays referenced as K<i>
    controls: dict  # control py name -> AST
    by_name: dict  # lookup keys (real, clean, py) -> py_name
    dims: dict  # dim name -> root elements (for every root range used)
    translator_warnings: list = field(default_factory=list)

    def lookup(self, name: str) -> Variable:
        key = self.by_name.get(name) or self.by_name.get(clean_name(name))
        if key is None:
            raise KeyError(name)
        return self.variables[key]


# --------------------------------------------------------------------------------------
# The compiler
# --------------------------------------------------------------------------------------
def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _contiguous(idx: list) -> bool:
    return all(b - a == 1 for a, b in zip(idx, idx[1:]))


class Compiler:
    def __init__(self, abstract_model, path: Path):
        from pysd.builders.python.namespace import NamespaceManager
        from pysd.translators.structures import abstract_expressions as ae
        from pysd.translators.structures import abstract_model as am

        self.ae = ae
        self.am = am
        self.path = Path(path)
        sections = abstract_model.sections
        main = [s for s in sections if s.name == "__main__"]
        if len(sections) != 1 or not main:
            macro = next(s.name for s in sections if s.name != "__main__")
            raise unsupported(macro, "a macro (:MACRO:)")
        self.section = main[0]
        self.subs = Subscripts(self.section.subscripts)
        self.namespace = NamespaceManager()
        self.variables: dict[str, Variable] = {}
        self.clean_to_py: dict[str, str] = {"time": "time"}
        self.statefuls: list[Stateful] = []
        self.constants: list = []
        self.controls: dict = {}
        self.by_name: dict[str, str] = {}
        self._next_sid = 0
        self._elements: dict = {}
        self._dims_of: dict = {}
        self._current = ""

    # ---- entry point -----------------------------------------------------------------
    def compile(self) -> Plan:
        elements = list(self.section.elements)
        for el in elements:
            self.namespace.add_to_namespace(el.name)
            py = self.namespace.namespace[el.name]
            self.clean_to_py[clean_name(el.name)] = py
            self._elements[py] = el
        for el in elements:
            self._declare(el)
        for el in elements:
            var = self.variables[self.namespace.namespace[el.name]]
            if var.kind == "aux":
                self._compile_variable(el, var)
        dims = {}
        for var in self.variables.values():
            for i, (name, elems) in enumerate(zip(var.dims, var.full)):
                base, k = name, 2
                while name in dims and dims[name] != elems:  # one coord index per dim
                    name, k = f"{base}_{k}", k + 1
                var.dims[i] = name
                dims[name] = elems
        return Plan(
            path=self.path,
            subscripts=self.subs,
            variables=self.variables,
            statefuls=self.statefuls,
            constants=self.constants,
            controls=self.controls,
            by_name=self.by_name,
            dims=dims,
        )

    # ---- declarations ----------------------------------------------------------------
    def _declare(self, el):
        py = self.namespace.namespace[el.name]
        comps = el.components
        self._current = el.name
        if isinstance(el, self.am.AbstractControlElement) or py in CONTROL_NAMES:
            if py not in CONTROL_NAMES:
                raise unsupported(el.name, "a control variable other than the four standard ones")
            if len(comps) != 1 or comps[0].subscripts[0]:
                raise unsupported(el.name, "a subscripted control variable")
            self.controls[py] = comps[0].ast
            kind = "control"
        elif all(isinstance(c, self.am.AbstractLookup) for c in comps):
            kind = "lookup"
        elif any(isinstance(c, (self.am.AbstractLookup, self.am.AbstractData)) for c in comps):
            raise unsupported(el.name, "a data variable or a mix of lookup and equation")
        else:
            kind = "aux"
        roots, coords, indexes = self._variable_dims(el)
        var = Variable(
            name=el.name,
            py_name=py,
            kind=kind,
            units=el.units or "",
            roots=roots,
            coords=coords,
            documentation=getattr(el, "documentation", "") or "",
        )
        var.dims, var.full = self._dims_of[el.name]
        var._indexes = indexes  # per component: (ctx axes, index lists)
        self.variables[py] = var
        for key in (el.name, clean_name(el.name), py):
            self.by_name.setdefault(key, py)
        if kind == "lookup":
            self._build_lookup(el, var)

    def _variable_dims(self, el):
        comps = el.components
        nd = {len(c.subscripts[0]) for c in comps}
        if len(nd) != 1:
            raise unsupported(el.name, "definitions with different numbers of subscripts")
        nd = nd.pop()
        # resolve each written subscript to (root, elements, written name)
        resolved = []
        for c in comps:
            row = []
            for s in c.subscripts[0]:
                rng = self.subs.range_name(s)
                if rng is not None:
                    row.append((self.subs.root[rng], list(self.subs.ranges[rng]), rng))
                    continue
                elem = self.subs.element(s)
                if elem is None:
                    raise ModelError(f"{el.name}: unknown subscript '{s}'")
                row.append((None, [elem], elem))
            resolved.append(row)
        roots = []
        for i in range(nd):
            cands = {r[i][0] for r in resolved if r[i][0] is not None}
            if len(cands) > 1:
                raise unsupported(
                    el.name, "definitions over different subscript ranges in one position"
                )
            if cands:
                root = cands.pop()
            else:
                options = self.subs.element_roots(resolved[0][i][1][0])
                if not options:
                    raise ModelError(f"{el.name}: element '{resolved[0][i][1][0]}' has no range")
                root = options[0]
            roots.append(root)
            for row in resolved:
                if row[i][0] is None:
                    if root not in self.subs.element_roots(row[i][1][0]):
                        raise unsupported(el.name, "elements of different ranges in one position")
                    row[i] = (root, row[i][1], row[i][2])
        coords = []
        for i in range(nd):
            elems = set()
            for row in resolved:
                elems.update(row[i][1])
            coords.append(self.subs.order(roots[i], elems))
        indexes = []
        seen = set()
        for c, row in zip(comps, resolved):
            ctx = [Axis(r[0], tuple(r[1]), r[2]) for r in row]
            idx = tuple([coords[i].index(e) for e in r[1]] for i, r in enumerate(row))
            cells = set(np.ndindex(*[len(x) for x in idx])) if idx else {()}
            keep = None
            if c.subscripts[1]:  # :EXCEPT: cells left out of this definition
                if isinstance(c, self.am.AbstractLookup):
                    raise unsupported(el.name, ":EXCEPT: on a lookup")
                dropped = set()
                for entry in c.subscripts[1]:
                    pos = []
                    for i, sub in enumerate(entry):
                        elems = self._expand(el.name, sub)
                        pos.append([j for j, e in enumerate(ctx[i].elements) if e in elems])
                    dropped |= set(itertools.product(*pos))
                kept = sorted(cells - dropped)
                if len(kept) != len(cells):
                    keep = kept
                    cells = set(kept)
            flat = {tuple(idx[i][j] for i, j in enumerate(cell)) for cell in cells}
            if flat & seen:
                raise unsupported(el.name, "overlapping definitions of the same element")
            seen |= flat
            if keep is not None:
                ctx_cells = tuple(np.asarray(a) for a in zip(*keep))
                var_cells = tuple(
                    np.asarray([idx[i][j] for j in ctx_cells[i]]) for i in range(len(idx))
                )
                keep = (var_cells, ctx_cells)
            indexes.append((ctx, idx, keep))
        # dataset dims: the root range's name; a second subscript of the same range
        # family (x[dim, subdim]) is named after the range written there
        dims, full = [], []
        for i, root in enumerate(roots):
            name = self.subs.dim_name(root)
            if name in dims:
                written = resolved[0][i][2]
                name = written.lower() if self.subs.range_name(written) else name
                k = 2
                base = name
                while name in dims:
                    name, k = f"{base}_{k}", k + 1
                full.append(list(coords[i]))
            else:
                full.append(list(self.subs.ranges[root]))
            dims.append(name)
        self._dims_of[el.name] = (dims, full)
        total = int(np.prod([len(c) for c in coords])) if coords else 1
        if (
            len(seen) != total
            and el.components
            and not isinstance(el.components[0], self.am.AbstractLookup)
        ):
            raise unsupported(el.name, "a definition that leaves some elements undefined")
        return roots, coords, indexes

    def _expand(self, owner: str, sub: str) -> set:
        rng = self.subs.range_name(sub)
        if rng is not None:
            return set(self.subs.ranges[rng])
        elem = self.subs.element(sub)
        if elem is None:
            raise ModelError(f"{owner}: unknown subscript '{sub}'")
        return {elem}

    def _build_lookup(self, el, var):
        xs, ys = [], []
        for comp, (ctx, idx, keep) in zip(el.components, var._indexes):
            ast = comp.ast
            if not isinstance(ast, self.ae.LookupsStructure):
                raise unsupported(el.name, "a lookup read from a file (GET ... LOOKUPS)")
            if ast.type != "interpolate":
                raise unsupported(el.name, f"a lookup of type '{ast.type}'")
            xs.append(np.asarray(ast.x, dtype=float))
            ys.append(np.asarray(ast.y, dtype=float))
        xp = np.unique(np.concatenate(xs))
        table = np.full((len(xp), 1) + var.shape, np.nan)
        for (ctx, idx, keep), x, y in zip(var._indexes, xs, ys):
            if len(x) != len(set(x)):
                raise ModelError(f"{el.name}: the lookup has repeated x values")
            col = np.interp(xp, x, y)  # PySD fills a common x the same way
            sl = (slice(None), slice(None)) + tuple(np.ix_(*idx)) if idx else (slice(None), 0)
            if idx:
                table[sl] = col.reshape((len(xp), 1) + (1,) * len(idx))
            else:
                table[:, 0] = col
        var.xp = xp
        var.table = table
        var.components = []

    # ---- variables -------------------------------------------------------------------
    def _compile_variable(self, el, var):
        self._current = el.name
        for comp, (ctx, idx, keep) in zip(el.components, var._indexes):
            c = Component(ctx=ctx, index=idx, keep=keep)
            ast = comp.ast
            shape = tuple(len(a.elements) for a in ctx)
            if _is_number(ast):
                c.literal = np.full(shape, float(ast))
            elif isinstance(ast, np.ndarray):
                arr = np.asarray(ast, dtype=float)
                if arr.size != int(np.prod(shape)):
                    raise ModelError(
                        f"{el.name}: {arr.size} values given for {int(np.prod(shape))} elements"
                    )
                c.literal = arr.reshape(shape)
            else:
                c.expr = self.expr(ast, ctx, top=True)
            var.components.append(c)

    # ---- expressions -----------------------------------------------------------------
    def fail(self, construct: str):
        return unsupported(self._current, construct)

    def const(self, value) -> str:
        self.constants.append(value)
        return f"K{len(self.constants) - 1}"

    def expr(self, node, ctx, top=False) -> Expr:
        ae = self.ae
        if _is_number(node):
            value = float(node)
            code = repr(value) if np.isfinite(value) else f"np.float64({str(value)!r})"
            return Expr(code, frozenset(), frozenset(), scalar=True)
        if isinstance(node, ae.ReferenceStructure):
            return self.reference(node, ctx)
        if isinstance(node, ae.ArithmeticStructure):
            return self.arithmetic(node, ctx)
        if isinstance(node, ae.LogicStructure):
            return self.logic(node, ctx)
        if isinstance(node, ae.CallStructure):
            return self.call(node, ctx)
        if isinstance(node, ae.GameStructure):  # PySD ignores GAME: its expression
            return self.expr(node.expression, ctx)
        if isinstance(node, ae.InlineLookupsStructure):
            arg = self.expr(node.argument, ctx)
            lk = node.lookups
            if lk.type != "interpolate":
                raise self.fail(f"WITH LOOKUP of type '{lk.type}'")
            xp = np.asarray(lk.x, dtype=float)
            fp = np.asarray(lk.y, dtype=float)
            return arg.wrap(f"np.interp({arg.code}, {self.const(xp)}, {self.const(fp)})")
        stateful_types = (
            ae.IntegStructure,
            ae.SmoothStructure,
            ae.SmoothNStructure,
            ae.DelayStructure,
            ae.DelayNStructure,
            ae.DelayFixedStructure,
            ae.TrendStructure,
            ae.ForecastStructure,
            ae.SampleIfTrueStructure,
            ae.InitialStructure,
        )
        if isinstance(node, stateful_types):
            return self.stateful(node, ctx)
        if isinstance(node, np.ndarray):
            raise self.fail("an array of numbers inside an expression")
        names = {
            "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
            "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
            "GetLookupsStructure": "GET ... LOOKUPS",
            "GetDataStructure": "GET ... DATA",
            "GetConstantsStructure": "GET ... CONSTANTS",
            "DataStructure": "a data variable",
            "LookupsStructure": "a lookup definition inside an equation",
        }
        raise self.fail(names.get(type(node).__name__, type(node).__name__))

    def _combine(self, parts: list, code: str) -> Expr:
        present = frozenset().union(*[p.present for p in parts])
        deps = frozenset().union(*[p.deps for p in parts])
        ideps = None
        if any(p.ideps is not None for p in parts):
            ideps = frozenset().union(*[p.init_deps for p in parts])
        return Expr(
            code, present, deps, all(p.scalar for p in parts), ideps, any(p.phased for p in parts)
        )

    def arithmetic(self, node, ctx) -> Expr:
        args = [self.expr(a, ctx) for a in node.arguments]
        ops = list(node.operators)
        if ops == ["negative"]:
            return self._combine(args, f"(-{args[0].code})")
        if len(ops) != len(args) - 1 or any(o not in _ARITH_OPS for o in ops):
            raise self.fail(f"the operators {ops}")
        code = args[0].code
        if all(o == "^" for o in ops):  # Python's ** is right-associative, as in PySD
            code = " ** ".join(a.code for a in args)
        else:
            for op, a in zip(ops, args[1:]):
                code = f"{code} {_ARITH_OPS[op]} {a.code}"
        return self._combine(args, f"({code})")

    def logic(self, node, ctx) -> Expr:
        args = [self.expr(a, ctx) for a in node.arguments]
        ops = list(node.operators)
        if ops == [":NOT:"]:
            return self._combine(args, f"np.logical_not({args[0].code})")
        if len(ops) != len(args) - 1:
            raise self.fail(f"the operators {ops}")
        code = args[0].code
        for op, a in zip(ops, args[1:]):
            if op in _COMP_OPS:
                code = f"({code} {_COMP_OPS[op]} {a.code})"
            elif op == ":AND:":
                code = f"np.logical_and({code}, {a.code})"
            elif op == ":OR:":
                code = f"np.logical_or({code}, {a.code})"
            else:
                raise self.fail(f"the operator {op}")
        return self._combine(args, code)

    def _time_like(self, code) -> Expr:
        return Expr(code, frozenset(), frozenset({"time"}), scalar=True)

    def reference(self, node, ctx) -> Expr:
        ref = node.reference
        if ref == "time":
            return self._time_like("t")
        py = self.clean_to_py.get(ref)
        if py is None:
            rng = self.subs.range_name(ref.replace("_", " ")) or self.subs.range_name(ref)
            if rng is not None:
                return self.range_value(rng, ctx)
            elem = self.subs.element(ref.replace("_", " ")) or self.subs.element(ref)
            if elem is not None:  # an element used as a value: its position
                elems = self.subs.ranges[self.subs.value_range(elem)]
                return Expr(repr(float(elems.index(elem) + 1)), frozenset(), frozenset(), True)
            raise ModelError(f"{self._current}: unknown variable '{ref}'")
        if py in CONTROL_NAMES:
            return Expr(CONTROL_NAMES[py], frozenset(), frozenset({"control"}), scalar=True)
        var = self.variables[py]
        if var.kind == "lookup":
            raise self.fail(f"the lookup '{var.name}' used without an argument")
        code, present = self._align(f"v_{py}", var, node.subscripts, ctx, lead=1)
        return Expr(code, present, frozenset({var.key}))

    def _align(self, base: str, var: Variable, subscripts, ctx, lead: int):
        """Source that takes ``var``'s array (``lead`` leading axes) onto the context."""
        subs = list(subscripts.subscripts) if subscripts is not None else []
        nd = len(var.roots)
        if len(subs) != nd:
            if not subs and nd:
                raise self.fail(f"a reference to the subscripted '{var.name}' without subscripts")
            raise ModelError(
                f"{self._current}: '{var.name}' takes {nd} subscripts, {len(subs)} given"
            )
        index = [":"] * lead
        takes = []  # (axis position in the indexed array, index constant)
        bound = []  # context axis for each kept axis, in order
        for i, s in enumerate(subs):
            text = s.strip()
            bang = text.endswith("!")
            name = text.rstrip("!").strip()
            rng = self.subs.range_name(name)
            coords = var.coords[i]
            if rng is not None:
                j, source = self._bind_map(rng, bang, ctx)
                wanted = list(ctx[j].elements)
                if source is not None:  # a declared mapping: element k <-> element k
                    src, dst = self.subs.ranges[source], self.subs.ranges[rng]
                    if len(src) != len(dst):
                        raise self.fail("subscript mapping between ranges of different sizes")
                    wanted = [dst[src.index(e)] for e in wanted]
                try:
                    idx = [coords.index(e) for e in wanted]
                except ValueError:
                    what = (
                        f"subscript mapping ('{name}' for a '{var.roots[i]}' dim)"
                        if self.subs.root[rng] != var.roots[i]
                        else f"a reference to '{var.name}[{text}]' outside the elements it is "
                        "defined on"
                    )
                    raise self.fail(what) from None
                if idx == list(range(len(coords))):
                    index.append(":")
                elif _contiguous(idx):
                    index.append(f"{idx[0]}:{idx[-1] + 1}")
                else:
                    index.append(":")
                    takes.append((lead + len(bound), np.asarray(idx)))
                bound.append(j)
                continue
            elem = self.subs.element(name)
            if elem is None or bang:
                raise ModelError(f"{self._current}: unknown subscript '{text}'")
            if elem not in coords:
                raise self.fail(f"a reference to '{var.name}[{elem}]' which is not defined")
            index.append(str(coords.index(elem)))
        code = base
        if any(x != ":" for x in index):
            code = f"{code}[{', '.join(index)}]"
        for pos, idx in takes:
            code = f"{code}.take({self.const(idx)}, axis={pos})"
        if len(set(bound)) != len(bound):
            raise self.fail(f"the same dimension twice in a reference to '{var.name}'")
        order = sorted(range(len(bound)), key=lambda k: bound[k])
        if order != list(range(len(bound))):
            perm = tuple(range(lead)) + tuple(lead + k for k in order)
            code = f"{code}.transpose({perm})"
        sorted_bound = sorted(bound)
        if len(ctx) and sorted_bound != list(range(len(ctx))):
            ins = [":"] * lead + [":" if j in bound else "None" for j in range(len(ctx))]
            code = f"{code}[{', '.join(ins)}]"
        return code, frozenset(bound)

    def range_value(self, rng: str, ctx) -> Expr:
        """A subscript range used as a value: the 1-based position of each element in
        its full range (as PySD)."""
        j = self._bind(rng, False, ctx)
        elems = self.subs.ranges[self.subs.value_range(rng)]  # the position in the full range
        try:
            values = np.asarray([elems.index(e) + 1 for e in ctx[j].elements], dtype=float)
        except ValueError:
            raise self.fail(f"the range '{rng}' used as a value outside its elements") from None
        shape = [1] * (1 + len(ctx))
        shape[1 + j] = len(values)
        return Expr(self.const(values.reshape(shape)), frozenset({j}), frozenset())

    def _bind_map(self, rng: str, bang: bool, ctx):
        """The context axis a reference's range binds to -> (axis, mapped-from range).

        A declared mapping between a left-hand range and this one (``DimB: b1, b2 ->
        DimA``) maps elements by position; otherwise the same range family binds by
        element; then a left-hand range with the same elements (a copy, or an equal
        range)."""
        named = [
            (j, ax)
            for j, ax in enumerate(ctx)
            if not ax.reduction and self.subs.range_name(ax.name) is not None
        ]
        if not bang and not any(ax.name == rng for _, ax in named):
            mapped = [
                (j, self.subs.range_name(ax.name))
                for j, ax in named
                if self.subs.mapped(self.subs.range_name(ax.name), rng)
            ]
            if len(mapped) == 1:
                return mapped[0]
        try:
            return self._bind(rng, bang, ctx), None
        except UnsupportedConstructError as first:
            if bang:
                raise
            error = first
        elems = set(self.subs.ranges[rng])
        same = [
            j for j, ax in named if set(self.subs.ranges[self.subs.range_name(ax.name)]) == elems
        ]
        if len(same) == 1:
            return same[0], None
        raise error

    def _bind(self, rng: str, bang: bool, ctx) -> int:
        root = self.subs.root[rng]
        if bang:
            for j, ax in enumerate(ctx):
                if ax.reduction and ax.name == rng:
                    return j
            raise self.fail(f"'{rng}!' outside of a SUM/PROD/VMIN/VMAX")
        cands = [j for j, ax in enumerate(ctx) if not ax.reduction and ax.root == root]
        exact = [j for j in cands if ctx[j].name == rng]
        if exact:
            return exact[0]
        if len(cands) == 1:
            return cands[0]
        if not cands:
            raise self.fail(f"the subscript '{rng}' which is not on the left-hand side")
        raise self.fail(f"an ambiguous subscript '{rng}'")

    def call(self, node, ctx) -> Expr:
        fname = node.function.reference
        args = node.arguments
        py = self.clean_to_py.get(fname)
        if py is not None and py in self.variables and self.variables[py].kind == "lookup":
            var = self.variables[py]
            if len(args) != 1:
                raise self.fail(f"the lookup '{var.name}' called with {len(args)} arguments")
            x = self.expr(args[0], ctx)
            # the table is a run parameter (X_<py>: x values, T_<py>: (K, sample, *dims))
            # so that a run can override it, per sample too
            xp, tab = f"X_{py}", f"T_{py}"
            if not var.roots:
                return x.wrap(f"_f.interp1({x.code}, {xp}, {tab}, {len(ctx)})")
            code, present = self._align(tab, var, node.function.subscripts, ctx, lead=2)
            return x.wrap(
                f"_f.interp_table({x.code}, {xp}, {code})",
                present=x.present | present,
                scalar=False,
            )
        if fname in _REDUCTIONS:
            return self.reduction(fname, args, ctx)
        if fname in _SIMPLE_FUNCS:
            template, nargs = _SIMPLE_FUNCS[fname]
            if len(args) != nargs:
                raise self.fail(f"{fname.upper()} with {len(args)} arguments")
            parts = [self.expr(a, ctx) for a in args]
            return self._combine(parts, template.format(*[p.code for p in parts]))
        if fname in _TIME_FUNCS:
            template, nargs = _TIME_FUNCS[fname]
            if fname == "ramp" and len(args) == 3:
                template = "_f.ramp(t, {0}, {1}, {2})"
            elif len(args) not in nargs:
                raise self.fail(f"{fname.upper()} with {len(args)} arguments")
            parts = [self.expr(a, ctx) for a in args]
            out = self._combine(parts, template.format(*[p.code for p in parts]))
            return out.wrap(out.code, deps=frozenset({"time"}))
        if fname == "active_initial" and len(args) == 2:
            # PySD: the second argument while initialising, the first afterwards
            expr, init = (self.expr(a, ctx) for a in args)
            out = self._combine([expr, init], f"(({init.code}) if _ip else ({expr.code}))")
            out.deps = expr.deps
            out.ideps = init.init_deps
            out.phased = True
            return out
        if fname == "elmcount" and len(args) == 1:
            arg = args[0]
            rng = None
            if isinstance(arg, self.ae.ReferenceStructure) and arg.subscripts is None:
                rng = self.subs.range_name(arg.reference.replace("_", " ")) or self.subs.range_name(
                    arg.reference
                )
            if rng is None:
                raise self.fail("ELMCOUNT of something other than a subscript range")
            return Expr(repr(float(len(self.subs.ranges[rng]))), frozenset(), frozenset(), True)
        if fname == "pi" and not args:
            return Expr("np.pi", frozenset(), frozenset(), scalar=True)
        raise self.fail(f"the function {fname.upper().replace('_', ' ')}")

    def reduction(self, fname, args, ctx) -> Expr:
        if len(args) != 1:
            raise self.fail(f"{fname.upper()} with {len(args)} arguments")
        bangs = []
        self._find_bangs(args[0], bangs)
        if not bangs:
            raise self.fail(f"{fname.upper()} without a 'range!' subscript")
        inner_ctx = list(ctx)
        for rng in bangs:
            inner_ctx.append(
                Axis(self.subs.root[rng], tuple(self.subs.ranges[rng]), rng, reduction=True)
            )
        inner = self.expr(args[0], inner_ctx)
        red = list(range(len(ctx), len(inner_ctx)))
        if not set(red) <= inner.present:
            raise self.fail(f"{fname.upper()} of an expression that does not vary along its range")
        axes = tuple(1 + j for j in red)
        code = f"{_REDUCTIONS[fname]}({inner.code}, axis={axes})"
        return inner.wrap(code, present=inner.present - set(red))

    def _find_bangs(self, node, out: list):
        ae = self.ae
        if isinstance(node, ae.ReferenceStructure):
            if node.subscripts is not None:
                for s in node.subscripts.subscripts:
                    s = s.strip()
                    if s.endswith("!"):
                        rng = self.subs.range_name(s[:-1])
                        if rng is None:
                            raise ModelError(f"{self._current}: unknown range '{s}'")
                        if rng not in out:
                            out.append(rng)
            return
        if isinstance(node, ae.CallStructure):
            if node.function.reference in _REDUCTIONS:
                return  # nested reductions own their bangs
            self._find_bangs(node.function, out)
            for a in node.arguments:
                self._find_bangs(a, out)
            return
        for attr in ("arguments",):
            if hasattr(node, attr):
                for a in getattr(node, attr):
                    self._find_bangs(a, out)
        if isinstance(node, ae.InlineLookupsStructure):
            self._find_bangs(node.argument, out)

    def stateful(self, node, ctx) -> Expr:
        ae = self.ae
        if any(ax.reduction for ax in ctx):
            raise self.fail("a stateful function inside SUM/PROD/VMIN/VMAX")
        shape = tuple(len(ax.elements) for ax in ctx)
        sid = self._next_sid  # reserved before the arguments (which may nest statefuls)
        self._next_sid += 1
        if isinstance(node, ae.IntegStructure):
            if node.non_negative:
                raise self.fail("a non-negative stock")
            st = Stateful(sid, "integ", self._current, shape)
            st.input = self.expr(node.flow, ctx)
            st.init = self.expr(node.initial, ctx)
        elif isinstance(node, ae.InitialStructure):
            st = Stateful(sid, "initial", self._current, shape)
            st.init = self.expr(node.initial, ctx)
        elif isinstance(node, (ae.SmoothStructure, ae.SmoothNStructure)):
            st = Stateful(sid, "smooth", self._current, shape)
            st.order = self.expr(node.order, ctx)
            st.input = self.expr(node.input, ctx)
            st.time = self.expr(node.smooth_time, ctx)
            st.init = self.expr(node.initial, ctx)
        elif isinstance(node, (ae.DelayStructure, ae.DelayNStructure)):
            n_kind = isinstance(node, ae.DelayNStructure)
            st = Stateful(sid, "delayn" if n_kind else "delay", self._current, shape)
            st.order = self.expr(node.order, ctx)
            st.input = self.expr(node.input, ctx)
            st.time = self.expr(node.delay_time, ctx)
            st.init = self.expr(node.initial, ctx)
        elif isinstance(node, ae.DelayFixedStructure):
            st = Stateful(sid, "fixed", self._current, shape)
            st.input = self.expr(node.input, ctx)
            st.time = self.expr(node.delay_time, ctx)
            st.init = self.expr(node.initial, ctx)
        elif isinstance(node, ae.TrendStructure):
            st = Stateful(sid, "trend", self._current, shape)
            st.input = self.expr(node.input, ctx)
            st.time = self.expr(node.average_time, ctx)
            st.init = self.expr(node.initial_trend, ctx)
        elif isinstance(node, ae.ForecastStructure):
            st = Stateful(sid, "forecast", self._current, shape)
            st.input = self.expr(node.input, ctx)
            st.time = self.expr(node.average_time, ctx)
            st.extra = self.expr(node.horizon, ctx)
            st.init = self.expr(node.initial_trend, ctx)
        elif isinstance(node, ae.SampleIfTrueStructure):
            st = Stateful(sid, "sampleiftrue", self._current, shape)
            st.extra = self.expr(node.condition, ctx)
            st.input = self.expr(node.input, ctx)
            st.init = self.expr(node.initial, ctx)
        else:  # pragma: no cover
            raise self.fail(type(node).__name__)
        self.statefuls.append(st)
        self.statefuls.sort(key=lambda x: x.id)
        present = frozenset(range(len(ctx)))
        return Expr(st.output_code(), present, frozenset({st.key}) | st.output_deps())


def compile_file(path) -> Plan:
    """Parse ``path`` with PySD's Vensim translator and compile it."""

    from pysd.translators.vensim.vensim_file import VensimFile

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"cannot read the model file {path}: no such file")
    try:
        # the translator's warnings (no encoding declared, :CONSTRAINT: or :TEST INPUT:
        # ignored) do not change the equations; they are kept on the plan
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vf = VensimFile(path)
            vf.parse()
            model = vf.get_abstract_model()
    except Exception as exc:  # parse errors
        raise ModelError(f"{path.name}: cannot be parsed: {exc}") from None
    plan = Compiler(model, path).compile()
    plan.translator_warnings = [str(w.message) for w in caught]
    return plan
