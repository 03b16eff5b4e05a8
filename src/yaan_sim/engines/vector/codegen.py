"""Write and ``compile()`` the simulation function for one plan and one kind of run.

The function is specialised on which variables are overridden (by a constant or by a time
schedule) and which are returned: those change the dependency graph, so the order of
evaluation, what is constant and what must be computed at each step. The per-sample
shapes are left to broadcasting, so one function serves every ``samples``.

:func:`schedule` decides what is computed in which phase and order (:class:`Schedule`,
the same for every backend); :func:`build_program` writes it as numpy source. The JAX
backend (:mod:`yaan_sim.engines.jax.codegen`) writes the same schedule for ``jax.jit``.

Order of work, as in PySD's Euler integration:

1. initialisation at the model's INITIAL TIME: every needed variable and the initial
   value of every stateful object (INTEG, SMOOTH, DELAY, INITIAL), in dependency order;
2. for each integration time ``t_k``: the variables (all returned ones where ``t_k`` is
   saved, else only what the derivatives need), then every derivative, then
   ``state += ddt * dt`` for all states at once;
3. the variables at the final time, if it is saved;
4. for one run (no samples), the variables that only the saved times need, computed once
   for every saved time (:func:`saved_only_after_loop`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import itertools
import marshal
import types
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

import numpy as np

from yaan_sim.cache_files import read_or_make
from yaan_sim.engines.vector import functions as _f
from yaan_sim.engines.vector.built import BuiltPrograms, fingerprint
from yaan_sim.engines.vector.optimise import optimise
from yaan_sim.engines.vector.plan import (
    INITIALISING_NAME,
    TIME_NAME,
    Plan,
    Variable,
    constant_name,
    lookup_names,
    value_name,
)
from yaan_sim.engines.vector.plan_cache import code_digest
from yaan_sim.engines.vector.statefuls import Integ, Stateful
from yaan_sim.errors import ModelError
from yaan_sim.paths import cache_dir


@dataclass
class Program:
    func: object
    text: str  # the source as written
    optimised: bool  # whether it runs rewritten by :func:`.optimise.optimise`
    dynamic_outputs: list  # py names returned per saved time
    constant_outputs: list  # py names returned once

    @property
    def source(self) -> str:
        """The source that runs (for inspection; the optimised tree written back)."""
        return ast.unparse(optimise(self.text)) + "\n" if self.optimised else self.text


def _live(deps) -> frozenset:
    """The dependencies that are nodes (variables and stateful objects)."""
    return frozenset(d for d in deps if d.startswith(("v:", "s:")))


def _var_deps(var: Variable, overrides: dict, init: bool = False) -> frozenset:
    if var.py_name in overrides or var.literal:
        return frozenset()
    return _live(var.init_deps() if init else var.deps())


def toposort(nodes, deps_of, what: str, label=str) -> list:
    """``nodes`` in an order where each comes after its dependencies among ``nodes``.

    A cycle is a ModelError naming it, each node used by the next (``label`` names them).
    """
    members = set(nodes)
    graph: TopologicalSorter[str] = TopologicalSorter()
    for node in nodes:
        graph.add(node, *sorted(d for d in deps_of(node) if d in members))
    try:
        return list(graph.static_order())
    except CycleError as err:
        cycle = " -> ".join(label(n) for n in err.args[1])
        raise ModelError(
            f"circular dependency ({what}): {cycle} (each is used by the next); break the "
            "loop with a stock (INTEG) or an ACTIVE INITIAL"
        ) from None


@dataclass
class Schedule:
    """What one kind of run computes, in which phase and order (node keys ``v:``/``s:``)."""

    plan: Plan
    overrides: dict  # py name -> "const" | "sched" | "table"
    init_order: list  # initialisation: variables and stateful objects
    redo: list  # constant variables computed again once initialisation is over
    redo_always: bool  # ... always (ACTIVE INITIAL), not only when the run starts later
    dyn_order: list  # variables that change with time, in order
    ddt_order: list  # ... those the derivatives need (computed at every step)
    live_states: list  # stateful objects integrated
    dyn_out: list  # py names returned at each saved time
    const_out: list  # py names returned once
    _dynamic: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._statefuls = {st.key: st for st in self.plan.statefuls}

    def variable(self, key: str) -> Variable:
        return self.plan.variables[key[2:]]

    def stateful(self, key: str) -> Stateful:
        return self._statefuls[key]

    # ---- dependencies ----------------------------------------------------------------
    def run_deps(self, key: str) -> frozenset:
        """The nodes ``key`` needs at each step."""
        if key.startswith("v:"):
            return _var_deps(self.variable(key), self.overrides)
        return _live(self.stateful(key).step_deps())

    def init_deps(self, key: str) -> frozenset:
        """The nodes ``key`` needs at initialisation."""
        if key.startswith("v:"):
            return _var_deps(self.variable(key), self.overrides, init=True)
        return _live(self.stateful(key).init_deps())

    @staticmethod
    def closure(starts, deps_of) -> set:
        """``starts`` and everything they need through ``deps_of``."""
        seen, stack = set(), list(starts)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(deps_of(n))
        return seen

    def dynamic(self, key: str) -> bool:
        """Whether the node changes with time."""
        memo = self._dynamic
        if key in memo:
            return memo[key]
        memo[key] = False
        if key.startswith("s:"):
            out = self.stateful(key).dynamic
        else:
            var = self.variable(key)
            kind = self.overrides.get(var.py_name)
            if kind == "sched":
                out = True
            elif kind == "const" or var.literal:
                out = False
            else:
                out = "time" in var.deps() or any(
                    self.dynamic(d) for d in _var_deps(var, self.overrides)
                )
        memo[key] = out
        return out

    # ---- source ----------------------------------------------------------------------
    def var_lines(self, key: str, phase: str, inplace: bool = True) -> list[str]:
        return var_code(self.variable(key), self.overrides, phase, inplace)

    def init_lines(self, key: str, inplace: bool = True, count: bool = True) -> list[str]:
        """Source of one node at initialisation; a stateful object with stages counts them
        (``count=False``: ``_n{id}`` is assigned by the caller)."""
        if key.startswith("v:"):
            return self.var_lines(key, "init", inplace)
        st = self.stateful(key)
        code = st.count_code() if count else None
        return ([f"_n{st.id} = {code}"] if code else []) + st.init_code()

    def label(self, key: str) -> str:
        if key.startswith("v:"):
            return f"'{self.variable(key).name}'"
        st = self.stateful(key)
        return f"the {type(st).__name__.upper()} in '{st.owner}'"


def schedule(plan: Plan, overrides: dict, returns: list) -> Schedule:
    """``overrides``: py_name -> 'const' | 'sched' | 'table'; ``returns``: py names to save."""
    sc = Schedule(plan, dict(overrides), [], [], False, [], [], [], [], [])
    statefuls = [st.key for st in plan.statefuls]
    need = sc.closure([f"v:{py}" for py in returns], sc.run_deps)
    live = [k for k in statefuls if k in need and sc.stateful(k).dynamic]
    # the whole chain: every stateful reached also needs what its derivative needs
    ddt_need = sc.closure([d for s in live for d in sc.run_deps(s)], sc.run_deps)
    save_need = need | ddt_need
    need_init = sc.closure(save_need, sc.init_deps)
    sc.live_states = [k for k in statefuls if k in save_need and sc.stateful(k).dynamic]

    sc.init_order = toposort(sorted(need_init), sc.init_deps, "initialisation", sc.label)
    var_nodes = sorted(n for n in save_need if n.startswith("v:"))
    run_order = toposort(var_nodes, sc.run_deps, "equations", sc.label)
    const_order = [n for n in run_order if not sc.dynamic(n)]
    sc.dyn_order = [n for n in run_order if sc.dynamic(n)]
    sc.ddt_order = [n for n in sc.dyn_order if n in ddt_need]
    # after initialisation a constant may differ: INITIAL TIME is the start, and ACTIVE
    # INITIAL switches to its first argument
    sc.redo = [
        n for n in const_order if not (overrides.get(n[2:]) == "const" or sc.variable(n).literal)
    ]
    sc.redo_always = any(sc.variable(n).phased for n in const_order)
    sc.dyn_out = [py for py in returns if sc.dynamic(f"v:{py}")]
    sc.const_out = [py for py in returns if not sc.dynamic(f"v:{py}")]
    return sc


def var_code(var: Variable, overrides: dict, phase: str, inplace: bool = True) -> list[str]:
    """Source that computes ``v_<py>``; ``inplace=False`` assembles a variable defined
    piecewise without writing into an array (``x.at[idx].set(y)``, for JAX)."""
    py = var.py_name
    v = value_name(py)
    kind = overrides.get(py)
    if kind == "const" or (kind is None and var.literal):
        return [f"{v} = P[{py!r}]"]
    if kind == "sched":
        return [f"{v} = SCI[{py!r}]" if phase == "init" else f"{v} = SC[{py!r}][k]"]
    shape = var.shape
    comps = var.components
    full = [list(range(n)) for n in shape]
    if len(comps) == 1 and comps[0].keep is None and [list(i) for i in comps[0].index] == full:
        e = comps[0].expr
        if e.scalar or e.present != frozenset(range(len(shape))):
            return [f"{v} = _f.bc({e.code}, {shape!r})"]
        return [f"{v} = {e.code}"]
    lines, names = [], []
    for i, c in enumerate(comps):
        name = f"_c{i}"
        names.append(name)
        if c.expr is not None:
            lines.append(f"{name} = {c.expr.code}")
        else:
            lines.append(f"{name} = L[{py!r}][{i}]")
    lead = "max(" + ", ".join(f"_f.lead({n})" for n in names) + ", 1)"
    lines.append(f"{v} = np.{'empty' if inplace else 'zeros'}(({lead},) + {shape!r})")
    for i, c in enumerate(comps):
        idx = [list(x) for x in c.index]
        if c.keep is not None:
            ctx_shape = tuple(len(x) for x in idx)
            target = f"(slice(None),) + IX[{py!r}][{i}][0]"
            value = f"_f.bc(_c{i}, {ctx_shape!r})[(slice(None),) + IX[{py!r}][{i}][1]]"
        elif all(all(b - a == 1 for a, b in itertools.pairwise(x)) for x in idx):
            target = ":, " + ", ".join(f"{x[0]}:{x[-1] + 1}" for x in idx)
            value = f"_c{i}"
        else:
            target = f"(slice(None),) + IX[{py!r}][{i}]"
            value = f"_c{i}"
        if inplace:
            lines.append(f"{v}[{target}] = {value}")
        else:
            lines.append(f"{v} = {v}.at[{target}].set({value})")
    return lines


def program_globals(plan: Plan) -> dict:
    """The module-level names the generated source reads: constants ``K<i>``, literal
    components ``L`` and index tuples ``IX`` of variables defined piecewise."""
    variables = plan.variables
    glb = {constant_name(i): c for i, c in enumerate(plan.constants)}
    glb["L"] = {
        v.py_name: [None if c.literal is None else c.literal[None, ...] for c in v.components]
        for v in variables.values()
        if v.kind == "aux" and not v.literal
    }
    glb["IX"] = {
        v.py_name: [
            c.keep if c.keep is not None else np.ix_(*[np.asarray(x) for x in c.index])
            for c in v.components
        ]
        for v in variables.values()
        if v.kind == "aux" and v.roots and not v.literal
    }
    return glb


#: numpy programs built in this process (:mod:`.built`): a model loaded again reuses them
PROGRAMS: BuiltPrograms[Program] = BuiltPrograms()


#: Names whose value differs between the saved times of a run for a reason other than the
#: run's variables and states: a variable reading them stays in the time loop.
_STEP_NAMES = frozenset({TIME_NAME, INITIALISING_NAME, "k", "_ti", "times", "flags", "SC"})


def saved_only_after_loop(sc: Schedule) -> tuple[list[str], list[str]]:
    """The variables of one run (no samples) computed once after the time loop, for every
    saved time at once, and the values the loop records at each saved time for them.

    A variable that changes with time but that no derivative needs (a report variable:
    emissions, the city's totals, output per mu) is computed in the loop only at the
    saved times; it depends on nothing but the run's values at that time. Computed
    after the loop on those values stacked along the leading axis (one run's is of length
    1, so each saved time is one row), it costs one numpy call per operation instead of
    one per operation and saved time: the same operations on the same elements, so the
    same bits (checked by tests/test_vector_saved_after_loop.py). Not for an ensemble's
    program: a per-sample constant (samples, ...) does not broadcast with the stacked
    (times * samples, ...) values."""
    ddt = set(sc.ddt_order)
    later = [n for n in sc.dyn_order if n not in ddt]
    if not later:
        return [], []
    loads: dict[str, set[str]] = {}
    in_loop: set[str] = set()  # names the time loop assigns
    for node in sc.dyn_order:
        stored, loaded = _names(sc.var_lines(node, "run"))
        in_loop |= stored
        loads[node] = loaded - stored
    for key in sc.live_states:
        st = sc.stateful(key)
        in_loop |= _names([*st.ddt_code(), *st.update_code()])[0]
    # of what the loop assigns, only variables' values are stacked: a stateful object's
    # stages may be a list (DELAY N), whose stacking would mean something else
    movable = {
        n
        for n in later
        if not loads[n] & _STEP_NAMES and all(d.startswith("v_") for d in loads[n] & in_loop)
    }
    while True:  # a variable the loop computes cannot read one computed after it
        blocked = {
            d for n in sc.dyn_order if n not in movable for d in sc.run_deps(n) if d in movable
        }
        if not blocked:
            break
        movable -= blocked
    moved = [n for n in sc.dyn_order if n in movable]
    moved_names = {value_name(n[2:]) for n in moved}
    recorded = sorted(
        {name for n in moved for name in loads[n] if name in in_loop and name not in moved_names}
    )
    return moved, recorded


def _names(lines: list[str]) -> tuple[set[str], set[str]]:
    """The names ``lines`` assign and the names they read."""
    stored: set[str] = set()
    loaded: set[str] = set()
    for n in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(n, ast.Name):
            (stored if isinstance(n.ctx, ast.Store) else loaded).add(n.id)
    return stored, loaded


def build_program(
    plan: Plan,
    overrides: dict,
    returns: list,
    optimised: bool = True,
    one_run: bool = False,
) -> Program:
    """The numpy simulation function for ``overrides`` (py name -> kind) and ``returns``;
    ``optimised`` rewrites it with :func:`.optimise.optimise` (the same results, bit for bit).
    ``one_run``: for a run without samples, its report variables computed after the time
    loop (:func:`saved_only_after_loop`). Built once per process for equal source and
    constants (:data:`PROGRAMS`)."""
    sc = schedule(plan, overrides, returns)
    moved, recorded = saved_only_after_loop(sc) if one_run else ([], [])
    moved_set = set(moved)
    in_loop = [n for n in sc.dyn_order if n not in moved_set]
    moved_out = {py for py in sc.dyn_out if f"v:{py}" in moved_set}
    returned = {value_name(py): f"o_{py}" for py in sc.dyn_out if py not in moved_out}
    lists = {name: returned.get(name, f"r_{name}") for name in recorded}
    L: list[str] = []
    w = L.append
    w("def _sim(P, SC, SCI, times, flags, t_init, ti_init, ti_run, _tf, _dt, _sp, recompute):")
    for v in plan.variables.values():
        if v.kind == "lookup":
            xp, tab = lookup_names(v.py_name)
            w(f"    {xp}, {tab} = P[{v.py_name!r}]")
    w(f"    {INITIALISING_NAME} = True  # initialising (ACTIVE INITIAL)")
    w("    _ti = ti_init")
    w(f"    {TIME_NAME} = t_init")
    for node in sc.init_order:
        for line in sc.init_lines(node):
            w("    " + line)
    # a start state (VectorModel.run(start_state=...)): the stocks given replace their
    # initial values, as PySD's initial_condition=(start, {stock: value}) does
    for node in sc.init_order:
        st = None if node.startswith("v:") else sc.stateful(node)
        if isinstance(st, Integ):
            key = f"state:{st.owner}"
            w(f"    if {key!r} in P:")
            w(f"        {st.state} = _f.bc(P[{key!r}], {st.shape!r})")
    w(f"    {INITIALISING_NAME} = False")
    w("    _ti = ti_run")
    w(f"    {TIME_NAME} = times[0]")
    if sc.redo:
        w("    if True:" if sc.redo_always else "    if recompute:")
        for node in sc.redo:
            for line in sc.var_lines(node, "run"):
                w("        " + line)
    w("    O = {}")
    for py in sc.const_out:
        w(f"    O[{py!r}] = {value_name(py)}")
    for py in sc.dyn_out:
        w(f"    o_{py} = []")
    for into in lists.values():
        if into.startswith("r_"):
            w(f"    {into} = []")
    w("    K = len(times) - 1")

    def step_body(indent: str, with_ddt: bool):
        w(indent + "if flags[k]:")
        w(indent + "    pass")
        for node in in_loop:
            for line in sc.var_lines(node, "run"):
                w(indent + "    " + line)
        for py in sc.dyn_out:
            if py not in moved_out:
                w(indent + f"    o_{py}.append({value_name(py)})")
        for name, into in lists.items():
            if into.startswith("r_"):
                w(indent + f"    {into}.append({name})")
        if with_ddt:
            w(indent + "else:")
            w(indent + "    pass")
            for node in sc.ddt_order:
                for line in sc.var_lines(node, "run"):
                    w(indent + "    " + line)

    w("    for k in range(K):")
    w(f"        {TIME_NAME} = times[k]")
    step_body("        ", True)
    for key in sc.live_states:
        for line in sc.stateful(key).ddt_code():
            w("        " + line)
    for key in sc.live_states:
        for line in sc.stateful(key).update_code():
            w("        " + line)
    w("    k = K")
    w(f"    {TIME_NAME} = times[K]")
    step_body("    ", False)
    if moved:  # the report variables at every saved time at once (saved_only_after_loop)
        w(f"    if {lists[recorded[0]]}:")
        shapes = {value_name(v.py_name): v.shape for v in plan.variables.values()}
        for name in recorded:
            w(f"        {name} = _f.stack_saved({lists[name]}, {shapes[name]!r})")
        for node in moved:
            for line in sc.var_lines(node, "run"):
                w("        " + line)
        for py in sorted(moved_out):
            w(f"        o_{py} = {value_name(py)}[:, None]")
    outs = ", ".join(f"{py!r}: o_{py}" for py in sc.dyn_out)
    w(f"    return O, {{{outs}}}")
    text = "\n".join(L) + "\n"
    constants = program_globals(plan)
    where = f"<yaan_sim.engines.vector:{plan.path.name}>"

    def build() -> Program:
        glb = {"np": np, "_f": _f, **constants}
        exec(compiled_code(text, where, optimised), glb)
        return Program(glb["_sim"], text, optimised, sc.dyn_out, sc.const_out)

    key = fingerprint(text, where, str(optimised), constants=constants)
    return PROGRAMS.get(key, build)


def compiled_code(text: str, where: str, optimised: bool) -> types.CodeType:
    """The code object of ``text`` (optimised and compiled: ~0.3 s for a kind of run of
    the park model), kept in the cache folder (``programs/``) for the next process. The
    constants are not in it (the program reads them as globals), so the key is the text,
    the vector engine's source and the versions it was made with (marshal's format and the
    bytecode are Python's own: its bytecode magic number is in the key too)."""
    magic = importlib.util.MAGIC_NUMBER.hex()
    made_by = f"{code_digest()};{magic};{where};{optimised};"
    key = hashlib.sha256((made_by + text).encode()).hexdigest()

    def make() -> types.CodeType:
        return compile(optimise(text) if optimised else text, where, "exec")

    return read_or_make(
        cache_dir() / "programs" / f"{key[:40]}.marshal", make, load=_code, dump=marshal.dumps
    )


def _code(data: bytes) -> types.CodeType:
    code = marshal.loads(data)
    if not isinstance(code, types.CodeType):
        raise ValueError("not a code object")
    return code
