"""The element-level causal graph of a compiled model: its nodes and their equations.

The first half of the loop-dominance analysis (:mod:`yaan_sim.analysis.loops`). It reads
the vector engine's compiled plan (:mod:`yaan_sim.engines.vector.plan`): each variable's
numpy code, the variables it depends on, and the stateful objects
(:mod:`yaan_sim.engines.vector.statefuls`). Nothing here restates an equation of the
model; equations are evaluated from the plan's own code (:class:`Evaluator`), on many
rows of input values at once, which is how :mod:`yaan_sim.analysis.linkscores` computes
the *ceteris paribus* changes of the Loops that Matter method. The names that code reads
(values, states, constants, lookups, time) are taken from the engine's modules.

Nodes are model variables *per element* (``Revenue[ETDZ]``), grouped in :class:`Block`
(one equation), plus the hidden stages of a SMOOTH or DELAY. A stage's rate is written
here per stage with the engine's (and PySD's) arithmetic, since the engine computes all
stages' rates at once; the self-check in :mod:`yaan_sim.analysis.linkscores` holds each
rate on a loop to the run's own steps (1e-9). One run of a copy of the plan with a probe variable
per state (:func:`probe_plan`) gives every variable and every hidden state at every
interval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from yaan_sim.engines.vector import functions as _vf
from yaan_sim.engines.vector.codegen import program_globals
from yaan_sim.engines.vector.plan import (
    INITIALISING_NAME,
    TIME_NAME,
    Component,
    Expr,
    Plan,
    Variable,
    lookup_names,
    value_name,
)
from yaan_sim.engines.vector.statefuls import Delay, Initial, Integ, Smooth, Stateful
from yaan_sim.errors import ModelError

_PROBE = "_ltm_state_{id}_{stage}"


@dataclass
class Piece:
    """One definition of an equation (a component): its code, inputs and cells."""

    source: str
    deps: frozenset  # block keys
    ctx_shape: tuple
    index: tuple | None  # per dim, positions in the block's coords; None for all cells
    keep: tuple | None = None  # with :EXCEPT:: (block cells, ctx cells)
    literal: np.ndarray | None = None
    timed: bool = False  # reads Time
    code: object = None  # compiled source

    def __post_init__(self):
        if self.literal is None:
            self.code = compile(self.source, "<yaan_sim.loops>", "eval")


@dataclass
class Block:
    """The nodes that share one equation: a variable, or a hidden stage of a SMOOTH/DELAY."""

    key: str  # "v:<py name>" or "s:<stateful id>:<stage>"
    label: str  # Vensim name, or "<owner> (stage i of n)"
    owner: str  # Vensim name of the variable shown in loop paths
    dims: tuple
    coords: tuple  # element labels per dim
    binding: tuple  # (name in the equations' namespace, list position or None)
    values: np.ndarray  # (time, *shape): the run's values at every computation interval
    stock: bool = False  # its equation is a net rate (an INTEG or a SMOOTH/DELAY stage)
    hidden: bool = False
    pieces: list = field(default_factory=list)  # none: exogenous (constant, lever, INITIAL)
    aliases: tuple = ()  # further names bound to the same values (a stock's own state)
    macro: int | None = None  # the SMOOTH/DELAY whose stage this is (internal loops dropped)
    first: int = 0  # number of its first node

    @property
    def shape(self) -> tuple:
        return tuple(len(c) for c in self.coords)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def cell_labels(self, flat: int) -> tuple:
        if not self.shape:
            return ()
        pos = np.unravel_index(flat, self.shape)
        return tuple(c[i] for c, i in zip(self.coords, pos, strict=True))

    def node_label(self, flat: int) -> str:
        cell = self.cell_labels(flat)
        return f"{self.label}[{','.join(cell)}]" if cell else self.label


# --------------------------------------------------------------------------------------
# The kinds of stateful object the analysis follows
# --------------------------------------------------------------------------------------
Rate = Callable[[Stateful, int, int], tuple[str, tuple]]


def _integ_rate(st, stage: int, n: int) -> tuple[str, tuple]:
    """An INTEG's net rate: its flow expression."""
    return st.input.code, (st.input,)


def _smooth_rate(st, stage: int, n: int) -> tuple[str, tuple]:
    """A SMOOTH's stage rate, as the vector engine (and PySD) integrate it."""
    S = st.stages
    src = f"({st.input.code})" if stage == 0 else f"{S}[{stage - 1}]"
    return f"(({src} - {S}[{stage}]) * {n} / ({st.time.code}))", (st.input, st.time)


def _delay_rate(st, stage: int, n: int) -> tuple[str, tuple]:
    """A material DELAY's stage rate (stages hold material; a stage's outflow is
    stage / T, times n), as the vector engine (and PySD) integrate it."""
    S, t = st.stages, f"({st.time.code})"
    src = f"({st.input.code})" if stage == 0 else f"({S}[{stage - 1}] / {t})"
    return f"(({src} - {S}[{stage}] / {t}) * {n})", (st.input, st.time)


@dataclass(frozen=True)
class _Role:
    """What the analysis makes of one class of stateful object. Its state is a list of
    stages (``Stateful.stages``) for the SMOOTH family, else one array (``.state``)."""

    rate: Rate | None  # source of a state's net rate, and the expressions it reads
    output_is_state: bool  # it returns its (last) state: ``Stock = INTEG(...)`` is that stock


#: by exact class: a subclass (DELAY N keeps each stage's delay time) is not followed
#: until it is listed here with its own rate
_ROLES: dict[type[Stateful], _Role] = {
    Integ: _Role(_integ_rate, output_is_state=True),
    Initial: _Role(None, output_is_state=True),
    Smooth: _Role(_smooth_rate, output_is_state=True),
    Delay: _Role(_delay_rate, output_is_state=False),  # returns last stage / delay time
}


def _role(st: Stateful) -> _Role:
    role = _ROLES.get(type(st))
    if role is None:
        followed = ", ".join(cls.functions for cls in _ROLES)
        raise ModelError(
            f"{st.owner}: uses {type(st).functions}, which the loop analysis cannot break "
            f"into links (it follows {followed}); write it with those, or analyse a model "
            "without it"
        )
    return role


def _staged(st: Stateful) -> bool:
    return isinstance(st, Smooth)


def _state_binding(st: Stateful, stage: int) -> tuple[str, int | None]:
    """The name (and list position) the generated code gives one state of ``st``."""
    return (st.stages, stage) if isinstance(st, Smooth) else (st.state, None)


# --------------------------------------------------------------------------------------
# The run: every variable and every hidden state at every computation interval
# --------------------------------------------------------------------------------------
def _owner_component(plan: Plan, st: Stateful) -> tuple[Variable, Component]:
    var = plan.lookup(st.owner)
    for comp in var.components:
        if comp.expr is not None and st.key in comp.expr.deps:
            return var, comp
    # nested inside another stateful's arguments: the component that holds the outer one
    for comp in var.components:
        if comp.expr is not None and any(d.startswith("s:") for d in comp.expr.deps):
            return var, comp
    raise ModelError(
        f"{st.owner}: cannot place its {type(st).__name__.upper()} for the loop analysis"
    )


def _order(st) -> int:
    try:
        return int(float(st.order.code))
    except (TypeError, ValueError):
        raise ModelError(
            f"{st.owner}: the loop analysis needs a SMOOTH/DELAY order written as a number, "
            f"not {st.order.code!r}"
        ) from None


def check_supported(plan: Plan) -> None:
    """Refuse, naming the variable, what the loop analysis cannot follow."""
    for st in plan.statefuls:
        _role(st)
        _, comp = _owner_component(plan, st)
        if comp.keep is not None:
            raise ModelError(f"{st.owner}: a stock defined with :EXCEPT: is not supported")


def probe_plan(plan: Plan) -> tuple[Plan, dict]:
    """A copy of ``plan`` with one extra variable per state of every stateful object, so
    that one run returns the stocks and the hidden stages of SMOOTH and DELAY.

    Returns the plan and ``{probe py name: (stateful id, stage)}``.
    """
    extra: dict = {}
    probes: dict = {}
    for st in plan.statefuls:
        var, comp = _owner_component(plan, st)
        coords = [[var.coords[d][j] for j in comp.index[d]] for d in range(len(comp.index))]
        nctx = len(comp.ctx)
        for stage in range(_order(st)) if _staged(st) else [0]:
            py = _PROBE.format(id=st.id, stage=stage)
            name, pos = _state_binding(st, stage)
            if pos is None:
                code = name
            else:  # PySD lowers a delay's order when TIME STEP is too long: NaN stages
                code = (
                    f"({name}[{pos}] if len({name}) > {pos} else np.full({name}[0].shape, np.nan))"
                )
            expr = Expr(code, frozenset(range(nctx)), frozenset({st.key}))
            probe = Variable(
                name=py,
                py_name=py,
                kind="aux",
                units="",
                roots=list(var.roots),
                coords=coords,
                dims=list(var.dims),
                full=[list(f) for f in var.full],
                components=[
                    Component(
                        ctx=comp.ctx,
                        index=tuple(list(range(len(c))) for c in coords),
                        expr=expr,
                    )
                ],
            )
            extra[py] = probe
            probes[py] = (st.id, stage)
    variables = dict(plan.variables)
    variables.update(extra)
    by_name = dict(plan.by_name)
    by_name.update({py: py for py in extra})
    return dataclasses.replace(plan, variables=variables, by_name=by_name), probes


def _values(ds, py: str, var: Variable, coords) -> np.ndarray:
    da = ds[py]
    for d, c in zip(var.dims, coords, strict=True):
        if list(da[d].values) != list(c):
            da = da.sel({d: list(c)})
    return np.asarray(da.transpose("time", *var.dims).values, dtype=float)


# --------------------------------------------------------------------------------------
# Blocks and their equations
# --------------------------------------------------------------------------------------
def _pure_owner(var: Variable, st: Stateful) -> bool:
    """The variable is exactly this stateful's output (``Stock = INTEG(...)``)."""
    if not _ROLES[type(st)].output_is_state or len(var.components) != 1:
        return False
    comp = var.components[0]
    full = [list(range(n)) for n in var.shape]
    return (
        comp.expr is not None
        and comp.keep is None
        and [list(i) for i in comp.index] == full
        and comp.expr.code.strip("()") == st.output_code().strip("()")
    )


def build_blocks(plan: Plan, ds, probes: dict, exogenous: set) -> dict:
    """Every variable and hidden state as a Block with its values and equation pieces.

    ``exogenous``: py names whose equations a run replaced (levers, schedules).
    """
    stages_of: dict = {}  # stateful id -> [stage probe py names]
    for py, (sid, _) in sorted(probes.items(), key=lambda kv: kv[1]):
        if np.all(np.isnan(ds[py].values)):
            continue  # a stage PySD dropped (order lowered)
        stages_of.setdefault(sid, []).append(py)

    blocks: dict = {}
    state_key: dict = {}  # (stateful id, stage) -> block key
    owner_pure: dict = {}  # owner py -> stateful
    for st in plan.statefuls:
        var = plan.lookup(st.owner)
        if _pure_owner(var, st) and var.py_name not in exogenous:
            owner_pure[var.py_name] = st

    # variables
    for py, var in plan.variables.items():
        if var.kind != "aux" or py in probes:
            continue
        st = owner_pure.get(py)
        block = Block(
            key=f"v:{py}",
            label=var.name,
            owner=var.name,
            dims=tuple(var.dims),
            coords=tuple(tuple(c) for c in var.coords),
            binding=(value_name(py), None),
            values=_values(ds, py, var, var.coords),
        )
        if st is not None:
            last = max(len(stages_of.get(st.id, [None])) - 1, 0)
            state_key[(st.id, last)] = block.key
            block.stock = _ROLES[type(st)].rate is not None
            block.aliases = (_state_binding(st, last),)
            if _staged(st):
                block.macro = st.id
        blocks[block.key] = block

    # hidden states
    for st in plan.statefuls:
        var, comp = _owner_component(plan, st)
        coords = tuple(
            tuple(var.coords[d][j] for j in comp.index[d]) for d in range(len(comp.index))
        )
        names = stages_of.get(st.id, [])
        for stage, py in enumerate(names):
            if (st.id, stage) in state_key:
                continue
            n = len(names)
            key = f"s:{st.id}:{stage}"
            staged = _staged(st)
            blocks[key] = Block(
                key=key,
                label=f"{var.name} (stage {stage + 1} of {n})" if staged else var.name,
                owner=var.name,
                dims=tuple(var.dims),
                coords=coords,
                binding=_state_binding(st, stage),
                values=_values(ds, py, var, coords),
                stock=_ROLES[type(st)].rate is not None,
                hidden=True,
                macro=st.id if staged else None,
            )
            state_key[(st.id, stage)] = key

    def dep_keys(deps) -> frozenset:
        out = set()
        for d in deps:
            if d.startswith("v:"):
                out.add(d)
            elif d.startswith("s:"):
                sid = int(d[2:])
                n = max(len(stages_of.get(sid, [])), 1)
                out.update(state_key[(sid, i)] for i in range(n) if (sid, i) in state_key)
        return frozenset(out)

    # equations: auxiliaries
    for py, var in plan.variables.items():
        key = f"v:{py}"
        if key not in blocks or py in exogenous or var.literal or py in owner_pure:
            continue
        block = blocks[key]
        for comp in var.components:
            shape = tuple(len(a.elements) for a in comp.ctx)
            full = [list(i) for i in comp.index] == [list(range(n)) for n in block.shape]
            index = None if full and comp.keep is None else tuple(np.asarray(i) for i in comp.index)
            if comp.literal is not None:
                block.pieces.append(
                    Piece("", frozenset(), shape, index, comp.keep, literal=comp.literal)
                )
            else:
                block.pieces.append(
                    Piece(
                        comp.expr.code,
                        dep_keys(comp.expr.deps),
                        shape,
                        index,
                        comp.keep,
                        timed="time" in comp.expr.deps,
                    )
                )

    # equations: stocks (net rates)
    for st in plan.statefuls:
        rate = _ROLES[type(st)].rate
        if rate is None:
            continue
        staged = _staged(st)
        n = len(stages_of.get(st.id, [])) if staged else 1
        for stage in range(n):
            if (st.id, stage) not in state_key:
                continue
            block = blocks[state_key[(st.id, stage)]]
            source, parts = rate(st, stage, n)
            deps: set = set()
            timed = False
            for e in parts:
                deps |= dep_keys(e.deps)
                timed = timed or "time" in e.deps
            if staged:
                deps.add(state_key[(st.id, stage)])
                if stage > 0:
                    deps.add(state_key[(st.id, stage - 1)])
            block.pieces = [Piece(source, frozenset(deps), block.shape, None, timed=timed)]
            block.stock = True
    return blocks


# --------------------------------------------------------------------------------------
# Evaluating one equation on many rows at once
# --------------------------------------------------------------------------------------
class Evaluator:
    """Evaluates blocks' equations on rows of input values (rows: times, or times x probes)."""

    def __init__(self, plan: Plan, blocks: dict, controls: dict):
        self.blocks = blocks
        self.globals = {"np": np, "_f": _vf, INITIALISING_NAME: False, **program_globals(plan)}
        for py, var in plan.variables.items():
            if var.kind == "lookup":
                xp, table = lookup_names(py)
                self.globals[xp] = var.xp
                self.globals[table] = var.table
        self.globals.update(controls)
        # list bindings (SMOOTH/DELAY stages): name -> [block keys by position]
        self.lists: dict = {}
        for b in blocks.values():
            for name, pos in (b.binding, *b.aliases):
                if pos is not None:
                    slots = self.lists.setdefault(name, [])
                    slots.extend([None] * (pos + 1 - len(slots)))
                    slots[pos] = b.key

    def names(self, deps) -> dict:
        """{namespace name: block key or list of block keys} for the blocks ``deps``."""
        out = {}
        for key in deps:
            b = self.blocks[key]
            for name, pos in (b.binding, *b.aliases):
                out[name] = key if pos is None else self.lists[name]
        return out

    def needed(self, deps) -> set:
        """Every block whose values evaluating an equation with inputs ``deps`` reads."""
        out = set()
        for ref in self.names(deps).values():
            out.update(ref if isinstance(ref, list) else [ref])
        out.discard(None)
        return out

    def evaluate(self, block: Block, values: dict, times: np.ndarray) -> np.ndarray:
        """The block's equation on ``values`` ({block key: (rows, *shape)}) at ``times``
        (rows,)."""
        rows = len(times)
        out = np.empty((rows, *block.shape))
        with np.errstate(all="ignore"):
            for piece in block.pieces:
                if piece.literal is not None:
                    val = np.broadcast_to(piece.literal, (rows, *piece.ctx_shape))
                else:
                    env = {}
                    for name, ref in self.names(piece.deps).items():
                        env[name] = (
                            [values[k] for k in ref] if isinstance(ref, list) else values[ref]
                        )
                    if piece.timed:
                        val = np.empty((rows, *piece.ctx_shape))
                        for t in np.unique(times):
                            sel = times == t
                            sub = {
                                k: ([a[sel] for a in v] if isinstance(v, list) else v[sel])
                                for k, v in env.items()
                            }
                            sub[TIME_NAME] = np.float64(t)
                            val[sel] = self._shape(
                                eval(piece.code, self.globals, sub), int(sel.sum()), piece
                            )
                    else:
                        env[TIME_NAME] = None
                        val = self._shape(eval(piece.code, self.globals, env), rows, piece)
                if piece.keep is not None:
                    cells, ctx_cells = piece.keep
                    out[(slice(None), *cells)] = val[(slice(None), *ctx_cells)]
                elif piece.index is None:
                    out[...] = val
                else:
                    out[(slice(None), *np.ix_(*piece.index))] = val
        return out

    @staticmethod
    def _shape(val, rows: int, piece: Piece) -> np.ndarray:
        val = np.asarray(val, dtype=float)
        if val.ndim:
            val = np.broadcast_to(val, (val.shape[0], *piece.ctx_shape))
        return np.broadcast_to(val, (rows, *piece.ctx_shape))
