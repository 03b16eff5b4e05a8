"""Finding the feedback loops of the element-level graph, and naming them.

Loops are enumerated exhaustively with Johnson's algorithm (networkx ``simple_cycles``,
optionally bounded in length) on the links that score at some interval; past a bound, or
on request, with the strongest-path search of Eberlein & Schoenberg (2020, "Finding the
loops that matter"). Loops are described by the model's variable names, grouped into
*patterns* (the same variables in every park) and into cycle partitions (the parts of the
graph joined by feedback, within which LTM compares loops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yaan_sim.errors import YaanSimError

ARROW = " → "


@dataclass
class Loop:
    """One element-level loop of a run and its loop score at each interval."""

    nodes: list  # element-level nodes, rotated to start at a stock
    key: str  # the pattern: block keys along the loop
    score: np.ndarray  # (interval,)
    label: str  # element-level path
    path: str  # variable-level path
    stocks: str
    parks: frozenset
    partition: int  # cycle partition, numbered alike in every park
    scc: int  # cycle partition of this very loop (element level)


def partitions(ls) -> dict:
    """Cycle partitions: the strongly connected parts of the element-level graph (every
    link, active or not). ``scc``: {node: number} of each part, numbered by size, with
    ``scc_stocks`` its stocks; ``label``: {node: number} where parts made of the same
    variables (the same loops in each park) share a number, with ``label_stocks``."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_edges_from(ls.edges)
    comps = [
        c
        for c in nx.strongly_connected_components(g)
        if len(c) > 1 or g.has_edge(next(iter(c)), next(iter(c)))
    ]
    comps.sort(key=lambda c: (-len(c), min(c)))
    order = {k: i for i, k in enumerate(ls.blocks)}
    out: dict[str, dict] = {"scc": {}, "scc_stocks": {}, "label": {}, "label_stocks": {}}
    kinds: dict = {}
    for number, comp in enumerate(comps, start=1):
        stocks = sorted(
            (n for n in comp if ls.block_of(n).stock), key=lambda n: (order[ls.nodes[n][0]], n)
        )
        out["scc_stocks"][number] = ", ".join(_node_name(ls, n) for n in stocks)
        for n in comp:
            out["scc"][n] = number
        kinds.setdefault(frozenset(ls.nodes[n][0] for n in comp), []).append(comp)
    for number, k in enumerate(kinds, start=1):  # comps are sorted: the largest kind first
        for comp in kinds[k]:
            for n in comp:
                out["label"][n] = number
        names = [ls.blocks[b].owner for b in sorted(k, key=order.__getitem__) if ls.blocks[b].stock]
        out["label_stocks"][number] = ", ".join(dict.fromkeys(names))
    return out


def _node_name(ls, node: int) -> str:
    b = ls.block_of(node)
    label = b.node_label(ls.nodes[node][1])
    return label.replace(b.label, b.owner) if b.hidden else label


def structure(ls, max_loops, max_length, partition_of) -> dict | None:
    """Every loop of the variable-level graph: {pattern key: (path, stocks, length,
    partition)}, or None where there are more than ``max_loops``."""
    import networkx as nx

    order = {k: i for i, k in enumerate(ls.blocks)}
    g = nx.DiGraph()
    for a, b in ls.edges:
        g.add_edge(ls.nodes[a][0], ls.nodes[b][0])
    out: dict = {}
    for cycle in nx.simple_cycles(g, length_bound=max_length):
        if len(out) >= max_loops:
            return None
        blocks = [ls.blocks[k] for k in cycle]
        macros = {b.macro for b in blocks}
        if len(macros) == 1 and None not in macros:
            continue
        rotations = [cycle[i:] + cycle[:i] for i in range(len(cycle))]
        pattern = min(rotations, key=lambda r: [order[k] for k in r])
        blocks = [ls.blocks[k] for k in pattern]
        i = min(range(len(blocks)), key=lambda j: (not blocks[j].stock, j))
        names = _collapse([b.owner for b in blocks[i:] + blocks[:i]])
        stocks = list(dict.fromkeys(b.owner for b in blocks[i:] + blocks[:i] if b.stock))
        first = ls.blocks[pattern[0]].first  # a node of the pattern's first block
        part = next(
            (
                partition_of[n]
                for n in range(first, first + ls.blocks[pattern[0]].size)
                if n in partition_of
            ),
            0,
        )
        out[">".join(pattern)] = (
            ARROW.join([*names, names[0]]),
            ", ".join(stocks),
            len(cycle),
            part,
        )
    return out


def find_loops(ls, method, max_loops, max_length, parts) -> tuple[list, str]:
    """The element-level loops that are active at some interval, and how they were found.

    A loop with a link that never scores is inactive throughout: it is left out here (its
    score would be 0 at every interval) and listed from the variable-level structure.
    """
    import networkx as nx

    active = [e for e, row in ls.edges.items() if np.any(ls.scores[row] != 0)]
    g = nx.DiGraph()
    g.add_edges_from(active)
    order = {k: i for i, k in enumerate(ls.blocks)}
    cycles: list | None = None
    finding = "exhaustive (Johnson's algorithm)"
    if method in ("auto", "exhaustive"):
        cycles = []
        for cycle in nx.simple_cycles(g, length_bound=max_length):
            cycles.append(cycle)
            if len(cycles) > max_loops:
                if method == "exhaustive":
                    raise YaanSimError(
                        f"the model has more than {max_loops} active feedback loops at element "
                        "level: raise max_loops (--max-loops), bound their length "
                        "(--max-length N) or use the strongest-path search (--method strongest)"
                    )
                cycles = None
                break
    if cycles is None:
        cycles = _strongest_paths(ls, g, max_length)
        finding = (
            "strongest path at every interval (Eberlein & Schoenberg 2020): the loops found "
            "are the strong ones, not all; relative scores are over the loops found"
        )
    loops = []
    for cycle in cycles:
        blocks = [ls.block_of(n) for n in cycle]
        macros = {b.macro for b in blocks}
        if len(macros) == 1 and None not in macros:
            continue  # internal to one SMOOTH/DELAY: an artefact of its stages
        cycle = _rotate(cycle, ls, order)
        score = np.ones(ls.scores.shape[1])
        for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            score = score * ls.scores[ls.edges[(a, b)]]
        loops.append(_describe(cycle, score, ls, order, parts))
    return loops, finding


def _strongest_paths(ls, g, max_length) -> list:
    """Loops found by the strongest-path search of Eberlein & Schoenberg (2020), "Finding
    the loops that matter": at each interval, from each stock, a depth-first search along
    the links in order of |link score| that abandons a path when it reaches a variable
    with a lower score product than an earlier path did."""
    stocks = [n for n in g.nodes if ls.block_of(n).stock]
    found: dict = {}
    for k in range(ls.scores.shape[1]):
        adj: dict = {}
        for a, b in g.edges:
            w = abs(ls.scores[ls.edges[(a, b)]][k])
            if w > 0:
                adj.setdefault(a, []).append((w, b))
        for links in adj.values():
            links.sort(key=lambda wb: -wb[0])
        for target in stocks:
            if target in adj:
                _search_from(target, adj, max_length, found)
    return list(found.values())


def _search_from(target, adj: dict, max_length, found: dict) -> None:
    """One depth-first search from ``target``; loops back to it go into ``found``."""
    best: dict = {}
    path: list = []
    on_path: set = set()
    frames: list = []  # (node, iterator over its links)

    def enter(v, score) -> None:
        if v in on_path:
            if v == target:  # a loop: keep it once, in a rotation-free key
                i = path.index(min(path))
                found.setdefault(tuple(path[i:] + path[:i]), list(path))
            return
        if score <= best.get(v, 0.0) or (max_length and len(path) >= max_length):
            return
        best[v] = score
        on_path.add(v)
        path.append(v)
        frames.append((v, score, iter(adj.get(v, ()))))

    enter(target, 1.0)
    while frames:
        v, score, links = frames[-1]
        nxt = next(links, None)
        if nxt is None:
            frames.pop()
            on_path.discard(v)
            path.pop()
        else:
            enter(nxt[1], score * nxt[0])


def _rotate(cycle, ls, order) -> list:
    """Start the loop at its first stock (model order), else at its first node."""

    def rank(n):
        key, flat = ls.nodes[n]
        return (not ls.blocks[key].stock, order[key], flat)

    i = min(range(len(cycle)), key=lambda k: rank(cycle[k]))
    return cycle[i:] + cycle[:i]


def _describe(cycle, score, ls, order, parts) -> Loop:
    blocks = [ls.block_of(n) for n in cycle]
    keys = [b.key for b in blocks]
    rotations = [keys[i:] + keys[:i] for i in range(len(keys))]
    pattern = min(rotations, key=lambda r: [order[k] for k in r])
    names = _collapse([b.owner for b in blocks])
    labels = _collapse([_node_name(ls, n) for n in cycle])
    stocks = list(dict.fromkeys(b.owner for b in blocks if b.stock))
    parks = set()
    for n, b in zip(cycle, blocks, strict=True):
        if "park" in b.dims:
            parks.add(b.cell_labels(ls.nodes[n][1])[b.dims.index("park")])
    return Loop(
        nodes=cycle,
        key=">".join(pattern),
        score=score,
        label=ARROW.join([*labels, labels[0]]),
        path=ARROW.join([*names, names[0]]),
        stocks=", ".join(stocks),
        parks=frozenset(parks),
        partition=parts["label"][cycle[0]],
        scc=parts["scc"][cycle[0]],
    )


def _collapse(names: list) -> list:
    """Merge neighbours with the same name (the stages of a SMOOTH shown as its variable)."""
    out = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out
