"""The element-level causal graph of a compiled model: its nodes and their equations.

The first half of the loop-dominance analysis (:mod:`yaan_sim.analysis.loops`). It reads
the vector engine's compiled plan (:mod:`yaan_sim.engines.vector.compile`): each
variable's numpy code and the variables it depends on. Nothing here restates an equation
of the model; equations are evaluated from the plan's own code (:class:`Evaluator`), on
many rows of input values at once, which is how :mod:`yaan_sim.analysis.linkscores`
computes the *ceteris paribus* changes of the Loops that Matter method.

Nodes are model variables *per element* (``Revenue[ETDZ]``), grouped in :class:`Block`
(one equation), plus the hidden stages of a SMOOTH or DELAY, whose rates are the ones the
engine integrates. One run of a copy of the plan with a probe variable per state
(:func:`probe_plan`) gives every variable and every hidden state at every interval.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from yaan_sim.engines.vector import functions as _vf
from yaan_sim.engines.vector.compile import Component, Expr, Plan, Variable
from yaan_sim.errors import ModelError

_STATEFUL_KINDS = {"integ", "initial", "smooth", "delay"}
_UNFOLLOWED = {
    "delayn": "DELAY N",
    "fixed": "DELAY FIXED",
    "trend": "TREND",
    "forecast": "FORECAST",
    "sampleiftrue": "SAMPLE IF TRUE",
}
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
# The run: every variable and every hidden state at every computation interval
# --------------------------------------------------------------------------------------
def _owner_component(plan: Plan, st) -> tuple[Variable, Component]:
    var = plan.lookup(st.owner)
    for comp in var.components:
        if comp.expr is not None and st.key in comp.expr.deps:
            return var, comp
    # nested inside another stateful's arguments: the component that holds the outer one
    for comp in var.components:
        if comp.expr is not None and any(d.startswith("s:") for d in comp.expr.deps):
            return var, comp
    raise ModelError(f"{st.owner}: cannot place its {st.kind.upper()} for the loop analysis")


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
        if st.kind not in _STATEFUL_KINDS:
            raise ModelError(
                f"{st.owner}: uses {_UNFOLLOWED.get(st.kind, st.kind.upper())}, which the loop "
                "analysis cannot break into links (it follows INTEG, SMOOTH, SMOOTH3, DELAY1, "
                "DELAY3 and INITIAL); write it with those, or analyse a model without it"
            )
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
        stages = range(_order(st)) if st.kind in ("smooth", "delay") else [None]
        coords = [[var.coords[d][j] for j in comp.index[d]] for d in range(len(comp.index))]
        nctx = len(comp.ctx)
        for stage in stages:
            py = _PROBE.format(id=st.id, stage=0 if stage is None else stage)
            if stage is None:
                code = f"s{st.id}_0"
            else:  # PySD lowers a delay's order when TIME STEP is too long: NaN stages
                code = (
                    f"(S{st.id}[{stage}] if len(S{st.id}) > {stage} "
                    f"else np.full(S{st.id}[0].shape, np.nan))"
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
            probes[py] = (st.id, 0 if stage is None else stage)
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
def _pure_owner(var: Variable, st) -> bool:
    """The variable is exactly this stateful's output (``Stock = INTEG(...)``)."""
    if st.kind not in ("integ", "initial", "smooth") or len(var.components) != 1:
        return False
    comp = var.components[0]
    full = [list(range(n)) for n in var.shape]
    return (
        comp.expr is not None
        and comp.keep is None
        and [list(i) for i in comp.index] == full
        and comp.expr.code.strip("()") == st.output_code().strip("()")
    )


def _smooth_rate(st, stage: int, n: int) -> str:
    """A SMOOTH's stage rate, as the vector engine (and PySD) integrate it."""
    src = f"({st.input.code})" if stage == 0 else f"S{st.id}[{stage - 1}]"
    return f"(({src} - S{st.id}[{stage}]) * {n} / ({st.time.code}))"


def _delay_rate(st, stage: int, n: int) -> str:
    """A material DELAY's stage rate (stages hold material; a stage's outflow is
    stage / T, times n), as the vector engine (and PySD) integrate it."""
    t = f"({st.time.code})"
    src = f"({st.input.code})" if stage == 0 else f"(S{st.id}[{stage - 1}] / {t})"
    return f"(({src} - S{st.id}[{stage}] / {t}) * {n})"


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
            binding=(f"v_{py}", None),
            values=_values(ds, py, var, var.coords),
        )
        if st is not None:
            last = len(stages_of.get(st.id, [None])) - 1
            state_key[(st.id, max(last, 0))] = block.key
            block.stock = st.kind in ("integ", "smooth")
            if st.kind in ("integ", "initial"):
                block.aliases = ((f"s{st.id}_0", None),)
            else:
                block.aliases = ((f"S{st.id}", last),)
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
            label = (
                var.name
                if st.kind in ("integ", "initial")
                else f"{var.name} (stage {stage + 1} of {n})"
            )
            binding = (
                (f"s{st.id}_0", None) if st.kind in ("integ", "initial") else (f"S{st.id}", stage)
            )
            blocks[key] = Block(
                key=key,
                label=label,
                owner=var.name,
                dims=tuple(var.dims),
                coords=coords,
                binding=binding,
                values=_values(ds, py, var, coords),
                stock=st.kind != "initial",
                hidden=True,
                macro=st.id if st.kind in ("smooth", "delay") else None,
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
        if st.kind == "initial":
            continue
        names = stages_of.get(st.id, [])
        n = len(names) if st.kind in ("smooth", "delay") else 1
        for stage in range(n):
            if (st.id, stage) not in state_key:
                continue
            block = blocks[state_key[(st.id, stage)]]
            parts: tuple  # the expressions the rate reads
            source: str
            if st.kind == "integ":
                source, parts = st.input.code, (st.input,)
            elif st.kind == "smooth":
                source, parts = _smooth_rate(st, stage, n), (st.input, st.time)
            else:
                source = _delay_rate(st, stage, n)
                parts = (st.input, st.time)
            deps: set = set()
            timed = False
            for e in parts:
                deps |= dep_keys(e.deps)
                timed = timed or "time" in e.deps
            if st.kind in ("smooth", "delay"):
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
        self.globals = {"np": np, "_f": _vf, "_ip": False}
        for i, c in enumerate(plan.constants):
            self.globals[f"K{i}"] = c
        for py, var in plan.variables.items():
            if var.kind == "lookup":
                self.globals[f"X_{py}"] = var.xp
                self.globals[f"T_{py}"] = var.table
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
                            sub["t"] = np.float64(t)
                            val[sel] = self._shape(
                                eval(piece.code, self.globals, sub), int(sel.sum()), piece
                            )
                    else:
                        env["t"] = None
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
