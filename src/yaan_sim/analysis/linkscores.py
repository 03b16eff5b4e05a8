"""Link scores of the Loops that Matter method on the element-level causal graph.

Over each computation interval ``[t - dt, t]`` (labelled ``t``), following Schoenberg,
Davidsen & Eberlein (2020), *System Dynamics Review* 36(2), with the flow-to-stock link of
Schoenberg, Hayward & Eberlein (2023), *SDR* 39(2):

* auxiliary or flow ``z = f(x, y)``: ``|Δx z / Δz| · sign(Δx z / Δx)``, with
  ``Δx z = f(x(t), y(t - dt)) - z(t - dt)``; 0 where ``Δz`` or ``Δx`` is 0;
* flow (or any input of a stock's rate) to stock: the same score of the stock's net rate
  ``N = inflows - outflows`` with respect to the flow, ``|Δx N / ΔN| · sign(Δx N / Δx)``.
  This is the 2023 form ``|Δi / (ΔS(t) - ΔS(t - dt))|`` with the stock's second
  difference written as the change of its net rate, so that every link of a loop
  describes the same interval and the score is dimensionless.

Which element of an input feeds which element of an output is found by putting NaN into
one input element at a time and seeing which output elements turn NaN; where NaN never
propagates (an input used only in a condition), elements with the same labels on shared
dims are linked, and all elements where the dims differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yaan_sim.analysis.loopgraph import Block, Evaluator
from yaan_sim.engines.vector.plan import Plan

# A change smaller than this, relative to the value, is rounding, not change.
REL_ZERO = 1e-12
# NaN probes of which element feeds which: at most this many times of the run
_PROBE_TIMES = 64


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
