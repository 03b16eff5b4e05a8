"""Compile PySD's abstract model (the parsed .mdl) into a plan of array operations.

The compiler walks each equation's syntax tree and writes it as a line of Python source
over the context axes (:mod:`yaan_sim.engines.vector.plan`), collecting the stateful
objects it meets (:mod:`yaan_sim.engines.vector.statefuls`). Syntax structures are
dispatched through a table of builders by type, as PySD's own Python builder does; what
has no builder is refused at build time with :class:`UnsupportedConstructError` naming
the variable and the construct. Declarations (dims, coords, lookup tables) are in
:mod:`.declare`, references and subscript binding in :mod:`.references`; code
generators for one kind of run are :mod:`.codegen` (numpy) and :mod:`yaan_sim.engines.jax`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from pathlib import Path

import numpy as np

from yaan_sim.engines.vector import plan_cache
from yaan_sim.engines.vector.declare import Declarations
from yaan_sim.engines.vector.plan import (
    INITIALISING_NAME,
    TIME_NAME,
    Axis,
    Component,
    Expr,
    Plan,
    Variable,
    clean_name,
    constant_name,
    lookup_names,
    unsupported,
)
from yaan_sim.engines.vector.references import References
from yaan_sim.engines.vector.statefuls import BY_STRUCTURE, Stateful
from yaan_sim.engines.vector.subscripts import Subscripts
from yaan_sim.errors import ModelError, UnsupportedConstructError

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
_TIME_FUNCS = {  # {t}: the time's name (TIME_NAME)
    "step": ("_f.step({t}, _dt, {0}, {1})", (2,)),
    "ramp": ("_f.ramp({t}, {0}, {1})", (2,)),
    "pulse": ("_f.pulse({t}, {0}, {1})", (2,)),
    "pulse_train": ("_f.pulse_train({t}, {0}, {1}, {2}, {3})", (4,)),
}
_REDUCTIONS = {"sum": "np.sum", "prod": "np.prod", "vmin": "np.min", "vmax": "np.max"}

#: syntax structures refused by name (others are refused by their class name)
_REFUSED = {
    "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
    "GetLookupsStructure": "GET ... LOOKUPS",
    "GetDataStructure": "GET ... DATA",
    "GetConstantsStructure": "GET ... CONSTANTS",
    "DataStructure": "a data variable",
    "LookupsStructure": "a lookup definition inside an equation",
}


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


class Compiler(Declarations, References):
    """One model's compiler: ``Compiler(abstract_model, path).compile()`` -> :class:`Plan`."""

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
        self._reducing: list = []  # (SUM..., its ranges!) being compiled, innermost last
        # syntax structure (class name) -> builder; stateful ones: statefuls.BY_STRUCTURE
        self._builders = {
            "ReferenceStructure": self.reference,
            "ArithmeticStructure": self.arithmetic,
            "LogicStructure": self.logic,
            "CallStructure": self.call,
            "GameStructure": self.game,
            "InlineLookupsStructure": self.inline_lookup,
        }

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
        dims: dict[str, list] = {}
        for var in self.variables.values():
            for i, (name, elems) in enumerate(zip(var.dims, var.full, strict=False)):
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

    # ---- equations -------------------------------------------------------------------
    def _compile_variable(self, el, var):
        self._current = el.name
        for comp, (ctx, idx, keep) in zip(el.components, var.indexes, strict=False):
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
        return constant_name(len(self.constants) - 1)

    def expr(self, node, ctx, top=False) -> Expr:
        if _is_number(node):
            value = float(node)
            code = repr(value) if np.isfinite(value) else f"np.float64({str(value)!r})"
            return Expr(code, frozenset(), frozenset(), scalar=True)
        if isinstance(node, np.ndarray):
            raise self.fail("an array of numbers inside an expression")
        name = type(node).__name__
        builder = self._builders.get(name)
        if builder is not None:
            return builder(node, ctx)
        if name in BY_STRUCTURE:
            return self.stateful(BY_STRUCTURE[name], node, ctx)
        raise self.fail(_REFUSED.get(name, name))

    def game(self, node, ctx) -> Expr:  # PySD ignores GAME: its expression
        return self.expr(node.expression, ctx)

    def inline_lookup(self, node, ctx) -> Expr:
        arg = self.expr(node.argument, ctx)
        lk = node.lookups
        if lk.type != "interpolate":
            raise self.fail(f"WITH LOOKUP of type '{lk.type}'")
        xp = np.asarray(lk.x, dtype=float)
        fp = np.asarray(lk.y, dtype=float)
        return arg.wrap(f"np.interp({arg.code}, {self.const(xp)}, {self.const(fp)})")

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
            for op, a in zip(ops, args[1:], strict=False):
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
        for op, a in zip(ops, args[1:], strict=False):
            if op in _COMP_OPS:
                code = f"({code} {_COMP_OPS[op]} {a.code})"
            elif op == ":AND:":
                code = f"np.logical_and({code}, {a.code})"
            elif op == ":OR:":
                code = f"np.logical_or({code}, {a.code})"
            else:
                raise self.fail(f"the operator {op}")
        return self._combine(args, code)

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
            xp, tab = lookup_names(py)
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
            template, counts = _TIME_FUNCS[fname]
            if fname == "ramp" and len(args) == 3:
                template = "_f.ramp({t}, {0}, {1}, {2})"
            elif len(args) not in counts:
                raise self.fail(f"{fname.upper()} with {len(args)} arguments")
            parts = [self.expr(a, ctx) for a in args]
            code = template.format(*[p.code for p in parts], t=TIME_NAME)
            out = self._combine(parts, code)
            return out.wrap(out.code, deps=frozenset({"time"}))
        if fname == "active_initial" and len(args) == 2:
            # PySD: the second argument while initialising, the first afterwards
            expr, init = (self.expr(a, ctx) for a in args)
            out = self._combine(
                [expr, init], f"(({init.code}) if {INITIALISING_NAME} else ({expr.code}))"
            )
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
        bangs: list[str] = []
        self._find_bangs(args[0], bangs)
        if not bangs:
            raise self.fail(f"{fname.upper()} without a 'range!' subscript")
        inner_ctx = list(ctx)
        for rng in bangs:
            inner_ctx.append(
                Axis(self.subs.root[rng], tuple(self.subs.ranges[rng]), rng, reduction=True)
            )
        self._reducing.append((fname.upper(), bangs))
        try:
            inner = self.expr(args[0], inner_ctx)
        finally:
            self._reducing.pop()
        red = list(range(len(ctx), len(inner_ctx)))
        if not set(red) <= inner.present:
            raise self.fail(f"{fname.upper()} of an expression that does not vary along its range")
        axes = tuple(1 + j for j in red)
        code = f"{_REDUCTIONS[fname]}({inner.code}, axis={axes})"
        return inner.wrap(code, present=inner.present - set(red))

    def _find_bangs(self, node, out: list):
        """The ranges written with ``!`` in ``node``, in order, into ``out``; not those of a
        nested reduction, which owns its bangs. Every field of a structure is walked: a
        stateful function keeps its inputs under names of its own (``input``,
        ``smooth_time``...), GAME under ``expression``, WITH LOOKUP under ``argument``."""
        if isinstance(node, self.ae.ReferenceStructure):
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
        if isinstance(node, self.ae.CallStructure) and node.function.reference in _REDUCTIONS:
            return  # nested reductions own their bangs
        if dataclasses.is_dataclass(node):
            children = [getattr(node, f.name) for f in dataclasses.fields(node)]
        elif isinstance(node, tuple | list):
            children = list(node)
        else:
            return
        for child in children:
            self._find_bangs(child, out)

    def stateful(self, cls: type[Stateful], node, ctx) -> Expr:
        if self._reducing:  # one state per cell of the variable, none per element of a range!
            reducer, bangs = self._reducing[-1]
            raise UnsupportedConstructError(
                f"{self._current}: a stateful function ({cls.functions}) inside {reducer} over "
                f"{', '.join(b + '!' for b in bangs)} is not supported by the vector engine; "
                f"put it in a variable of its own and read that variable inside {reducer}, or "
                "run with engine='pysd'"
            )
        refused = cls.refusal(node)
        if refused:
            raise self.fail(refused)
        shape = tuple(len(ax.elements) for ax in ctx)
        sid = self._next_sid  # reserved before the arguments (which may nest statefuls)
        self._next_sid += 1
        st = cls.build(sid, self._current, shape, node, lambda arg: self.expr(arg, ctx))
        self.statefuls.append(st)
        self.statefuls.sort(key=lambda x: x.id)
        present = frozenset(range(len(ctx)))
        return Expr(st.output_code(), present, frozenset({st.key}) | st.output_deps())


#: plans compiled in this process, by the .mdl's path and content (a compilation takes
#: ~2 s for the park model, and every ``load_model()`` and CLI command in a process, a
#: notebook's or the tests', would pay it again); a plan is read-only once compiled
_COMPILED: dict[tuple[str, str], Plan] = {}
_COMPILED_MAX = 8


def compile_file(path) -> Plan:
    """Parse ``path`` with PySD's Vensim translator and compile it (once per content in a
    process: the same text gives the same plan)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"cannot read the model file {path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror}") from None
    key = (str(path.resolve()), hashlib.sha256(data).hexdigest())
    plan = _COMPILED.get(key)
    if plan is None:
        plan = plan_cache.cached(data, lambda: _compile(path))
        plan.path = path  # a plan read back may have been compiled from a copy elsewhere
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = plan
    return plan


def _compile(path: Path) -> Plan:
    from pysd.translators.vensim.vensim_file import VensimFile

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
