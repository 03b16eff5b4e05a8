"""The element-level causal graph of a compiled model and the link scores of its links.

This is the measuring half of the loop-dominance analysis (:mod:`yaan_sim.analysis.loops`).
It reads the vector engine's compiled plan (:mod:`yaan_sim.engines.vector.compile`): each
variable's numpy code and the variables it depends on. Nothing here restates an equation
of the model; equations are evaluated from the plan's own code, with one input at its
current value and every other at its previous one (the *ceteris paribus* change of the
Loops that Matter method).

Nodes are model variables *per element* (``Revenue[ETDZ]``), plus the hidden stages of a
SMOOTH or DELAY. Which element of an input feeds which element of an output is found by
putting NaN into one input element at a time, at every computation interval of the run,
and seeing which output elements turn NaN; where NaN never propagates (an input used only
in a condition), elements with the same labels on shared dims are linked, and all elements
where the dims differ (a SUM over parks links every park to the total).

Link scores (Schoenberg, Davidsen & Eberlein 2020, SDR 36(2); flow-to-stock link as
corrected by Schoenberg, Hayward & Eberlein 2023, SDR 39(2)), over the interval
``[t - dt, t]`` and labelled ``t``:

* auxiliary or flow ``z = f(x, y)``: ``|Δx z / Δz| · sign(Δx z / Δx)``, with
  ``Δx z = f(x(t), y(t - dt)) - z(t - dt)``; 0 where ``Δz`` or ``Δx`` is 0;
* flow (or any input of a stock's rate) to stock: the same score of the stock's net rate
  ``N = inflows - outflows`` with respect to the flow, ``|Δx N / ΔN| · sign(Δx N / Δx)``.
  This is the 2023 form ``|Δi / (ΔS(t) - ΔS(t - dt))|`` with the stock's second
  difference written as the change of its net rate, so that every link of a loop
  describes the same interval and the score is dimensionless.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from yaan_sim.engines.vector import functions as _vf
from yaan_sim.engines.vector.compile import Component, Expr, Plan, Variable
from yaan_sim.errors import ModelError

# A change smaller than this, relative to the value, is rounding, not change.
REL_ZERO = 1e-12
_STATEFUL_KINDS = {"integ", "initial", "smooth", "delay"}
_UNFOLLOWED = {
    "delayn": "DELAY N",
    "fixed": "DELAY FIXED",
    "trend": "TREND",
    "forecast": "FORECAST",
    "sampleiftrue": "SAMPLE IF TRUE",
}
# NaN probes of which element feeds which: at most this many times of the run
_PROBE_TIMES = 64
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


@dataclass
class LinkScores:
    """The element-level causal graph of one run and the score of each link over time."""

    blocks: dict  # key -> Block, in model order
    nodes: list  # node number -> (block key, flat cell)
    edges: dict  # (source node, target node) -> row of ``scores``
    scores: np.ndarray  # (edge, interval)
    times: np.ndarray  # (interval,) the end of each interval
    dt: float

    def block_of(self, node: int) -> Block:
        return self.blocks[self.nodes[node][0]]

    def node_label(self, node: int) -> str:
        key, flat = self.nodes[node]
        return self.blocks[key].node_label(flat)


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
        if _pure_owner(var, st):
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
            key = state_key.get((st.id, stage))
            if key is None:
                continue
            block = blocks[key]
            if st.kind == "integ":
                source, parts = st.input.code, (st.input,)
            elif st.kind == "smooth":
                source, parts = _smooth_rate(st, stage, n), (st.input, st.time)
            else:
                source = _delay_rate(st, stage, n)
                parts = (st.input, st.time)
            deps = set()
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


# --------------------------------------------------------------------------------------
# The graph and the link scores
# --------------------------------------------------------------------------------------
def _nonzero(delta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.abs(delta) > REL_ZERO * scale


def _default_map(x: Block, z: Block) -> np.ndarray:
    """Elements linked where NaN does not tell: same labels on the dims both have."""
    shared = [d for d in x.dims if d in z.dims]
    m = np.ones((x.size, z.size), dtype=bool)
    if not shared:
        return m
    xl = [x.cell_labels(j) for j in range(x.size)]
    zl = [z.cell_labels(c) for c in range(z.size)]
    for d in shared:
        i, k = x.dims.index(d), z.dims.index(d)
        m &= np.array([[a[i] == b[k] for b in zl] for a in xl])
    return m


def cyclic_blocks(blocks: dict) -> set:
    """Blocks that lie on a feedback loop of the variable-level graph."""
    import networkx as nx

    g = nx.DiGraph()
    for b in blocks.values():
        for p in b.pieces:
            for d in p.deps:
                g.add_edge(d, b.key)
    out = set()
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1:
            out |= comp
        else:
            (k,) = comp
            if g.has_edge(k, k):
                out.add(k)
    return out


def link_scores(plan: Plan, blocks: dict, controls: dict, times: np.ndarray) -> LinkScores:
    """Score every element-level link between blocks that lie on a loop."""
    import networkx as nx

    ev = Evaluator(plan, blocks, controls)
    cyclic = cyclic_blocks(blocks)
    order = [k for k in blocks if k in cyclic]
    nodes: list = []
    for k in order:
        blocks[k].first = len(nodes)
        nodes.extend((k, j) for j in range(blocks[k].size))
    g = nx.DiGraph()
    for k in order:
        for p in blocks[k].pieces:
            for d in p.deps:
                if d in cyclic:
                    g.add_edge(d, k)
    scc_of = {}
    for i, comp in enumerate(nx.strongly_connected_components(g)):
        for k in comp:
            scc_of[k] = i

    n_t = len(times)
    dt = float(times[1] - times[0]) if n_t > 1 else float("nan")
    edges: dict = {}
    rows: list = []
    every = {k: b.values for k, b in blocks.items()}
    for zk in order:
        z = blocks[zk]
        deps = frozenset().union(*[p.deps for p in z.pieces]) if z.pieces else frozenset()
        inputs = [d for d in deps if d in cyclic and scc_of.get(d) == scc_of[zk]]
        if not inputs:
            continue
        z_all = ev.evaluate(z, every, times)
        _check_against_run(z, z_all, times)
        z_prev, z_cur = z_all[:-1], z_all[1:]
        dz = (z_cur - z_prev).reshape(n_t - 1, -1)
        dz_ok = _nonzero(dz, z_cur.reshape(n_t - 1, -1), z_prev.reshape(n_t - 1, -1))
        needed = ev.needed(deps)
        prev = {k: every[k][:-1] for k in needed}
        for xk in sorted(inputs):
            x = blocks[xk]
            link = _element_map(ev, z, x, needed, every, times)
            x_prev, x_cur = x.values[:-1], x.values[1:]
            dx = (x_cur - x_prev).reshape(n_t - 1, -1)
            dx_ok = _nonzero(dx, x_cur.reshape(n_t - 1, -1), x_prev.reshape(n_t - 1, -1))
            many = bool((link.sum(axis=0) > 1).any())
            if many:  # several elements of x feed one element of z: one at a time
                n_x = x.size
                vals = {k: np.repeat(v, n_x, axis=0) for k, v in prev.items()}
                xs = np.repeat(x_prev.reshape(n_t - 1, 1, -1), n_x, axis=1)
                idx = np.arange(n_x)
                xs[:, idx, idx] = x_cur.reshape(n_t - 1, -1)
                vals[xk] = xs.reshape(((n_t - 1) * n_x, *x.shape))
                part = ev.evaluate(z, vals, np.repeat(times[:-1], n_x))
                dxz = part.reshape(n_t - 1, n_x, -1) - z_prev.reshape(n_t - 1, 1, -1)
            else:
                vals = dict(prev)
                vals[xk] = x_cur
                part = ev.evaluate(z, vals, times[:-1])
                dxz = (part - z_prev).reshape(n_t - 1, 1, -1)
            for j, c in zip(*np.nonzero(link), strict=True):
                d_part = dxz[:, j if many else 0, c]
                ok = dz_ok[:, c] & dx_ok[:, j]
                with np.errstate(all="ignore"):
                    score = np.where(
                        ok,
                        np.abs(d_part / dz[:, c]) * np.sign(d_part * dx[:, j]),
                        0.0,
                    )
                edges[(x.first + int(j), z.first + int(c))] = len(rows)
                rows.append(score)
    scores = np.array(rows) if rows else np.zeros((0, max(n_t - 1, 0)))
    return LinkScores(blocks, nodes, edges, scores, np.asarray(times[1:]), dt)


def _element_map(ev: Evaluator, z: Block, x: Block, needed, every: dict, times) -> np.ndarray:
    """(x elements, z elements): which element of x feeds which element of z."""
    at = np.unique(np.linspace(0, len(times) - 1, min(len(times), _PROBE_TIMES)).round())
    at = at.astype(int)
    times = times[at]
    every = {k: every[k][at] for k in needed}
    x_values = x.values[at]
    n_x, n_t = x.size, len(times)
    plain = ev.evaluate(z, every, times)  # where the equation is NaN already, NaN tells nothing
    vals = {k: np.repeat(v, n_x, axis=0) for k, v in every.items()}
    xs = np.repeat(x_values.reshape(n_t, 1, -1), n_x, axis=1)
    idx = np.arange(n_x)
    xs[:, idx, idx] = np.nan
    vals[x.key] = xs.reshape((n_t * n_x, *x.shape))
    probe = ev.evaluate(z, vals, np.repeat(times, n_x)).reshape(n_t, n_x, -1)
    base = (
        np.isfinite(plain.reshape(n_t, 1, -1)) & np.isfinite(x_values.reshape(n_t, -1))[:, :, None]
    )
    found = (np.isnan(probe) & base).any(axis=0)
    if not found.any():
        return _default_map(x, z)
    return found


def _check_against_run(z: Block, z_all: np.ndarray, times) -> None:
    """The equation re-evaluated must give the run's own numbers (auxiliaries), and a
    stock's rate must be its change per step (Euler): else the graph reads the code wrong."""
    if z.stock:
        if len(times) < 2:
            return
        dt = times[1] - times[0]
        step = (z.values[1:] - z.values[:-1]) / dt
        want, got = step, z_all[:-1]
        scale = np.maximum(np.abs(z.values[1:]), np.abs(z.values[:-1])) / dt
    else:
        want, got = z.values, z_all
        scale = np.abs(want)
    ok = np.isfinite(want) & np.isfinite(got)
    err = np.abs(want - got)[ok]
    tol = 1e-9 * (scale[ok] + 1e-300) + 1e-12
    if err.size and (err > tol).any():
        raise RuntimeError(
            f"{z.label}: the loop analysis could not reproduce its values from the compiled "
            f"equation (largest difference {err.max():.3g}); this is a bug, please report it"
        )
