"""Which feedback loops drive each park's behaviour, and when: Loops that Matter.

The method is Loops that Matter (LTM): Schoenberg, W., Davidsen, P. & Eberlein, R. (2020),
"Understanding model behavior using the Loops that Matter method", *System Dynamics
Review* 36(2): 158-190, with the flow-to-stock link score corrected in Schoenberg, W.,
Hayward, J. & Eberlein, R. (2023), "Improving Loops that Matter", *SDR* 39(2): 140-151.
Stella Architect implements it; this is an implementation for PySD models.

1. The model is run again through the vector engine at ``SAVEPER = TIME STEP``: link
   scores need values at consecutive computation intervals.
2. Every link between variables (per element: ``Revenue[ETDZ]``) gets a score at each
   interval (:mod:`yaan_sim.analysis.loopgraph`): how much of the change of its target
   the change of its source caused, with the link's polarity as sign.
3. Loops are enumerated exhaustively on the element-level graph with Johnson's algorithm
   (networkx ``simple_cycles``, optionally bounded in length), and stopped with a clear
   error beyond ``max_loops``. The strongest-path search of Eberlein & Schoenberg (2020,
   "Finding the loops that matter") is for models with millions of loops; the park model
   has hundreds, so every loop is scored.
4. A loop's score is the product of its link scores; its *relative* score divides by the
   sum of the absolute scores of the loops it is compared with, so it lies in [-1, 1],
   positive for a reinforcing (R) and negative for a balancing (B) loop, and the absolute
   values add to 1.

Arrayed models. Loops are found per element. A loop that stays in one park (the
reinvestment loop of ETDZ) is one *instance* of a loop pattern that each park has. Loops
through a cross-park link (a SUM over parks, the enclave transfer) pass through the city
total and back into one or more parks. ``by="park"`` (the default where the model has a
``park`` dim) reports loop *patterns* (the path of variable names) for each park: the
relative scores are normalised over the loops that touch the park (any of its elements),
and the instances of one pattern that touch the park are added (the "composite relative
loop score" of LTM's simplified diagrams). Loops that touch no park (a city stock's own
loop) are left out of the park view; ``by=None`` shows every element-level loop,
normalised within its cycle partition (the loops that share stocks), as LTM does.

Limits: scores describe the run analysed (one scenario, its lever settings), not other
parameter values; they are 0 while a loop is inactive (a constraint that does not bind)
and at equilibrium; polarity is read from the run's link scores (U where a loop's score
changes sign). Links that only act through a condition (IF THEN ELSE) are linked by
element labels, since NaN does not cross a comparison.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ModelError, ResultsError, YaanSimError

METHOD = (
    "Loops that Matter: Schoenberg, Davidsen & Eberlein (2020), System Dynamics Review "
    "36(2):158-190; flow-to-stock link score of Schoenberg, Hayward & Eberlein (2023), "
    "SDR 39(2):140-151"
)
DEFAULT_MAX_LOOPS = 5_000
METHODS = ("auto", "exhaustive", "strongest")
_ARROW = " → "


@dataclass
class _Loop:
    nodes: list  # element-level nodes, rotated to start at a stock
    key: str  # the pattern: block keys along the loop
    score: np.ndarray  # (interval,)
    label: str  # element-level path
    path: str  # variable-level path
    stocks: str
    parks: frozenset
    partition: int  # cycle partition, numbered alike in every park
    scc: int  # cycle partition of this very loop (element level)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
def loop_dominance(
    model,
    scenarios=None,
    *,
    horizon=None,
    by: str | None = "park",
    max_loops: int = DEFAULT_MAX_LOOPS,
    max_length: int | None = None,
    method: str = "auto",
    through: str | None = None,
    argv=None,
) -> xr.Dataset:
    """Relative loop scores of every feedback loop, over time (and per park).

    Parameters
    ----------
    model : YaanModel
        A loaded model (``yaan_sim.load_model``); it must compile for the vector engine.
    scenarios : Scenario or list of Scenario, optional
        None analyses the .mdl's own settings; a list adds a ``scenario`` dim.
    horizon : Horizon, optional
        Default: the scenario's, else the model's. Its ``saveper`` is ignored: the run is
        saved at every ``step``.
    by : str or None
        A dim to report loops by (default ``"park"``); None, or a model without it, gives
        every element-level loop normalised within its cycle partition.
    max_loops, max_length : int
        Stop with an error beyond ``max_loops`` loops; ignore loops of more than
        ``max_length`` links (None: no bound).

    Returns
    -------
    xarray.Dataset
        ``relative_score`` and ``loop_score`` with dims ``([scenario,] loop, time[, park])``;
        ``time`` is the end of each computation interval ``[t - dt, t]``. Coords on
        ``loop``: ``path`` (variable names), ``polarity`` (R, B or U), ``length`` (links),
        ``stocks``, ``key`` (the block keys, stable across runs). Attrs: the method and its
        citation, the normalisation, and a run manifest.
    """
    single = scenarios is None or not isinstance(scenarios, (list, tuple))
    scenario_list = [scenarios] if single else list(scenarios)
    if not scenario_list:
        raise YaanSimError(
            "no scenarios given: pass at least one, or None for the model's defaults"
        )
    runs = [
        _analyse(model, sc, horizon, by, max_loops, max_length, method, through)
        for sc in scenario_list
    ]
    names = None if single else [sc.name for sc in scenario_list]
    ds = _dataset(runs, names)
    h = runs[0]["horizon"]
    from yaan_sim.outputs.results import make_manifest

    manifest = make_manifest(
        model,
        engine="vector",
        horizon=h,
        scenarios=[sc for sc in scenario_list if sc is not None],
        argv=argv,
        extra={
            "kind": "loops",
            "loops": {"by": ds.attrs["by"], "max_loops": max_loops, "max_length": max_length},
        },
    )
    ds.attrs["manifest"] = json.dumps(manifest, ensure_ascii=False)
    ds.attrs["model_sha256"] = model.mdl_sha256
    return ds


def loops_of_results(
    path,
    model=None,
    *,
    model_path=None,
    scenarios: list[str] | None = None,
    notify=None,
    **kwargs,
) -> xr.Dataset:
    """:func:`loop_dominance` of what produced a results file (read from its manifest).

    ``scenarios``: names to analyse (default all). An ensemble is analysed at its
    scenarios' own lever settings, without the sampled draws.
    """
    from yaan_sim.analysis.rerun import rebuild_scenarios
    from yaan_sim.model.load import Horizon, load_model
    from yaan_sim.outputs.results import open_results, read_manifest

    say = notify or (lambda msg: print(f"yaan-sim: notice: {msg}", file=sys.stderr))
    manifest = read_manifest(open_results(path))
    kind = manifest.get("kind", "simulate")
    if kind not in ("simulate", "ensemble", "designed ensemble"):
        raise ResultsError(
            f"{path} was made by `{kind}`, not by a simulation: give a results file written "
            "by `yaan-sim run` or `yaan-sim ensemble`"
        )
    model = model or (load_model(model_path) if model_path else load_model())
    if model.mdl_sha256 != manifest.get("model_sha256"):
        raise ResultsError(
            f"{path} was made with another version of the model (sha256 "
            f"{str(manifest.get('model_sha256', '?'))[:12]}, this one "
            f"{model.mdl_sha256[:12]}): pass the .mdl that produced it with --model, or "
            "run the scenarios again"
        )
    if manifest.get("samples"):
        say(
            f"{path} is an ensemble of {manifest['samples']} samples: the loops are those of "
            "each scenario at its own lever settings, without the sampled draws"
        )
    h = manifest["horizon"]
    horizon = Horizon(h["start"], h["stop"], h["step"], h["saveper"])
    with tempfile.TemporaryDirectory(prefix="yaan-sim-loops-") as tmp:
        found = rebuild_scenarios(manifest, model, Path(tmp))
    if scenarios:
        known = [sc.name for sc in found]
        missing = [n for n in scenarios if n not in known]
        if missing:
            raise YaanSimError(
                f"{path} has no scenario {', '.join(map(repr, missing))}; it has: "
                f"{', '.join(known) or '(none: the model defaults)'}"
            )
        found = [sc for sc in found if sc.name in scenarios]
    return loop_dominance(model, found or None, horizon=horizon, **kwargs)


def dominant_loops(
    ds: xr.Dataset, *, period: float = 1.0, share: float = 0.5, park: str | None = None
) -> pd.DataFrame:
    """The dominant loop(s) of each park in each period.

    LTM calls a set of loops dominant when together they explain at least half the
    change of the stocks; here, the loops with the largest mean absolute relative score
    over the period, taken in turn until their means add to ``share`` (0.5).

    Loops are compared within their cycle partition (the stocks they connect), so each
    partition has its own dominant loops. Returns one row per dominant loop:
    ``[scenario,] [park,] partition, period`` (its start), ``rank``, ``loop``,
    ``polarity``, ``share`` (the mean relative score, signed), ``cumulative`` and ``path``.
    """
    if not 0 < share <= 1:
        raise YaanSimError(f"share must be in (0, 1], got {share}")
    if not period > 0:
        raise YaanSimError(f"period must be positive, got {period}")
    rel = ds["relative_score"]
    if park is not None:
        rel = rel.sel(park=[check_park(ds, park)])
    dt = float(ds.attrs["dt"])
    t0 = float(ds.attrs["start"])
    start = rel["time"].values - dt
    labels = t0 + np.floor((start - t0) / period + 1e-9) * period
    groups = [d for d in ("scenario", "park") if d in rel.dims]
    parts = ds["partition"].values
    rows = []
    for sel in _combinations(rel, groups):
        r = rel.sel(sel) if sel else rel
        means = {
            lab: r.isel(time=np.nonzero(labels == lab)[0]).mean("time").values
            for lab in np.unique(labels)
        }
        for part in np.unique(parts):
            for lab, mean in means.items():
                vals = np.where((parts == part) & np.isfinite(mean), mean, 0.0)
                active = int((vals != 0).sum())
                if not active:
                    continue
                total = 0.0
                for rank, i in enumerate(np.argsort(-np.abs(vals), kind="stable")[:active], 1):
                    total += abs(vals[i])
                    rows.append(
                        {
                            **{g: _plain(v) for g, v in sel.items()},
                            "partition": int(part),
                            "period": float(lab),
                            "rank": rank,
                            "loop": str(ds["loop"].values[i]),
                            "polarity": str(ds["polarity"].values[i]),
                            "share": float(vals[i]),
                            "cumulative": total,
                            "path": str(ds["path"].values[i]),
                        }
                    )
                    if total >= share - 1e-12:
                        break
    columns = [*groups, "partition", "period", "rank", "loop", "polarity", "share"]
    return pd.DataFrame(rows, columns=[*columns, "cumulative", "path"])


def _combinations(da: xr.DataArray, dims: list) -> list:
    if not dims:
        return [{}]
    grid = np.meshgrid(*[np.arange(da.sizes[d]) for d in dims], indexing="ij")
    return [
        {d: da[d].values[int(i)] for d, i in zip(dims, pos, strict=True)}
        for pos in zip(*[g.ravel() for g in grid], strict=True)
    ]


def check_park(ds: xr.Dataset, park: str) -> str:
    """The park as the Dataset spells it, or a clear error listing the parks."""
    if "park" not in ds.dims:
        raise YaanSimError(
            "these loop scores are not by park (the model has no `park` dim): drop --park"
        )
    parks = [str(p) for p in ds["park"].values]
    for p in parks:
        if p.lower() == park.lower():
            return p
    import difflib

    lower = {p.lower(): p for p in parks}
    close = difflib.get_close_matches(park.lower(), list(lower), n=1)
    hint = f" Did you mean {lower[close[0]]!r}?" if close else ""
    raise YaanSimError(f"unknown park {park!r}: the parks are {', '.join(parks)}.{hint}")


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------
def _analyse(model, scenario, horizon, by, max_loops, max_length, method, through=None) -> dict:
    from yaan_sim.analysis.loopgraph import build_blocks, check_supported, link_scores, probe_plan
    from yaan_sim.engines.vector import VectorModel
    from yaan_sim.model.load import Horizon

    if method not in METHODS:
        raise YaanSimError(
            f"unknown loop-finding method {method!r}: choose one of {', '.join(METHODS)}"
        )
    if max_loops is not None and max_loops < 1:
        raise YaanSimError(f"max_loops must be at least 1, got {max_loops}")
    if max_length is not None and max_length < 1:
        raise YaanSimError(f"max_length must be at least 1, got {max_length}")
    try:
        vm = model.vector_model(VectorModel)
    except ModelError as exc:
        raise ModelError(
            f"the loop analysis reads the vector engine's compiled model: {exc}"
        ) from None
    plan = vm.plan
    check_supported(plan)
    h = (
        horizon
        or (scenario.horizon if scenario is not None and scenario.horizon else None)
        or model.default_horizon
    )
    h = Horizon(h.start, h.stop, h.step, h.step)
    if round((h.stop - h.start) / h.step) < 2:
        raise YaanSimError(
            f"the horizon {h.start:g}-{h.stop:g} has fewer than 3 computation intervals of "
            f"{h.step:g}: loop scores need at least two changes in a row"
        )
    overrides = scenario.overrides(model, h) if scenario is not None else {}
    exogenous = set()
    for name in overrides:
        var = plan.lookup(name)
        if var.kind != "aux":
            raise ModelError(f"'{name}': the loop analysis cannot follow a replaced lookup table")
        exogenous.add(var.py_name)
    probed, probes = probe_plan(plan)
    run = VectorModel(probed).run(
        overrides=overrides,
        start=h.start,
        stop=h.stop,
        step=h.step,
        saveper=h.step,
        init_at="start",
    )
    times = np.asarray(run["time"].values, dtype=float)
    blocks = build_blocks(plan, run, probes, exogenous)
    controls = {"_ti": h.start, "_tf": h.stop, "_dt": h.step, "_sp": h.step}
    ls = link_scores(plan, blocks, controls, times)
    partitions = _partitions(ls)
    loops, finding = _enumerate(ls, method, max_loops, max_length, partitions)
    if not ls.edges:
        where = Path(model.mdl_path).name
        raise YaanSimError(
            f"{where} has no feedback loops (no path leads from a variable back to itself), "
            "so there is no loop dominance to show"
        )
    group = by if by and any(by in b.dims for b in blocks.values()) else None
    structure = _structure(ls, max_loops, max_length, partitions["label"]) if group else None
    if through is not None:
        key = _block_key(plan, through, ls)
        loops = [lp for lp in loops if key in lp.key.split(">")]
        if structure:
            structure = {k: v for k, v in structure.items() if key in k.split(">")}
        if not loops and not structure:
            raise YaanSimError(f"no feedback loop passes through {through!r}")
    return {
        "partitions": partitions,
        "loops": loops,
        "ls": ls,
        "by": group,
        "horizon": h,
        "times": ls.times,
        "finding": finding,
        "structure": structure,
    }


def _partitions(ls) -> dict:
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
    out = {"scc": {}, "scc_stocks": {}, "label": {}, "label_stocks": {}}
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
        names = [ls.blocks[b].owner for b in sorted(k, key=order.get) if ls.blocks[b].stock]
        out["label_stocks"][number] = ", ".join(dict.fromkeys(names))
    return out


def _node_name(ls, node: int) -> str:
    b = ls.block_of(node)
    label = b.node_label(ls.nodes[node][1])
    return label.replace(b.label, b.owner) if b.hidden else label


def _block_key(plan, name: str, ls) -> str:
    try:
        var = plan.lookup(name)
    except KeyError:
        import difflib

        names = [b.label for b in ls.blocks.values() if not b.hidden]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise YaanSimError(f"the model has no variable {name!r}.{hint}") from None
    return f"v:{var.py_name}"


def _structure(ls, max_loops, max_length, partition_of) -> dict | None:
    """Every loop of the variable-level graph: {pattern key: (path, stocks, length,
    partition)}, or None where there are more than ``max_loops``."""
    import networkx as nx

    order = {k: i for i, k in enumerate(ls.blocks)}
    g = nx.DiGraph()
    for a, b in ls.edges:
        g.add_edge(ls.nodes[a][0], ls.nodes[b][0])
    out = {}
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
            _ARROW.join([*names, names[0]]),
            ", ".join(stocks),
            len(cycle),
            part,
        )
    return out


def _enumerate(ls, method, max_loops, max_length, partitions) -> tuple[list, str]:
    """The element-level loops that are active at some interval, and how they were found.

    A loop with a link that never scores is inactive throughout: it is left out here (its
    score would be 0 at every interval) and listed from the variable-level structure.
    """
    import networkx as nx

    active = [e for e, row in ls.edges.items() if np.any(ls.scores[row] != 0)]
    g = nx.DiGraph()
    g.add_edges_from(active)
    order = {k: i for i, k in enumerate(ls.blocks)}
    cycles = None
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
        loops.append(_describe(cycle, score, ls, order, partitions))
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
        if score < best.get(v, 0.0) or (max_length and len(path) >= max_length):
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


def _describe(cycle, score, ls, order, partitions) -> _Loop:
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
    return _Loop(
        nodes=cycle,
        key=">".join(pattern),
        score=score,
        label=_ARROW.join([*labels, labels[0]]),
        path=_ARROW.join([*names, names[0]]),
        stocks=", ".join(stocks),
        parks=frozenset(parks),
        partition=partitions["label"][cycle[0]],
        scc=partitions["scc"][cycle[0]],
    )


def _collapse(names: list) -> list:
    """Merge neighbours with the same name (the stages of a SMOOTH shown as its variable)."""
    out = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


# --------------------------------------------------------------------------------------
# Scores, polarity and the Dataset
# --------------------------------------------------------------------------------------
def _relative(scores: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """Each loop's score over the sum of |scores| of the loops it is compared with."""
    out = np.zeros_like(scores)
    for idx in members:
        total = np.abs(scores[idx]).sum(axis=0)
        with np.errstate(all="ignore"):
            out[idx] = np.where(total > 0, scores[idx] / total, 0.0)
    return out


def _polarity(loops: list, ls) -> str:
    """R or B where the loop's nonzero scores all have one sign (or, for a loop never
    active, where each of its links kept one sign); else U."""
    scores = np.concatenate([lp.score for lp in loops])
    nz = scores[scores != 0]
    if nz.size:
        if (nz > 0).all():
            return "R"
        if (nz < 0).all():
            return "B"
        return "U"
    sign = 1
    for lp in loops:
        s = 1
        for a, b in zip(lp.nodes, lp.nodes[1:] + lp.nodes[:1], strict=True):
            row = ls.scores[ls.edges[(a, b)]]
            row = row[row != 0]
            if not row.size or not ((row > 0).all() or (row < 0).all()):
                return "U"
            s *= 1 if row[0] > 0 else -1
        if sign != s and lp is not loops[0]:
            return "U"
        sign = s
    return "R" if sign > 0 else "B"


def _patterns(run: dict) -> dict:
    """{key: dict(path, polarity, length, stocks, partition, active, relative (time, group),
    raw (time, group))}: element-level loops (``by`` None) or loop patterns per group."""
    loops, ls, by = run["loops"], run["ls"], run["by"]
    n_t = ls.scores.shape[1]
    scores = np.array([lp.score for lp in loops]).reshape(len(loops), n_t)
    out: dict = {}
    if by is None:  # every element-level loop, normalised within its cycle partition
        parts: dict = {}
        for i, lp in enumerate(loops):
            parts.setdefault(lp.scc, []).append(i)
        rel = _relative(scores, [np.asarray(v) for v in parts.values()])
        for i, lp in enumerate(loops):
            out[f"{lp.key}@{lp.label}"] = {
                "path": lp.label,
                "polarity": _polarity([lp], ls),
                "length": len(lp.nodes),
                "stocks": lp.stocks,
                "partition": lp.scc,
                "active": True,
                "relative": rel[i][:, None],
                "raw": scores[i][:, None],
            }
        return out
    groups = _group_labels(ls, by)
    # relative scores within each (group, cycle partition): rel[group] is (loop, time)
    rel = np.zeros((len(groups), len(loops), n_t))
    members: dict = {}
    for i, lp in enumerate(loops):
        for gi, g in enumerate(groups):
            if g in lp.parks:
                members.setdefault((gi, lp.scc), []).append(i)
    for (gi, _), idx in members.items():
        idx = np.asarray(idx)
        rel[gi, idx] = _relative(scores[idx], [np.arange(len(idx))])
    touches = np.array([[g in lp.parks for g in groups] for lp in loops]).reshape(len(loops), -1)
    by_key: dict = {}
    for i, lp in enumerate(loops):
        by_key.setdefault(lp.key, []).append(i)
    for key, idx in by_key.items():
        idx = np.asarray(idx)
        mask = touches[idx]  # (instance, group)
        if not mask.any():
            continue  # touches no group
        first = loops[idx[0]]
        out[key] = {
            "path": first.path,
            "polarity": _polarity([loops[i] for i in idx], ls),
            "length": len(first.nodes),
            "stocks": first.stocks,
            "partition": first.partition,
            "active": True,
            # the instances of the pattern that touch each group, added
            "relative": np.einsum("git,ig->tg", rel[:, idx], mask),
            "raw": np.einsum("it,ig->tg", scores[idx], mask),
        }
    for key, (path, stocks, length, part) in (run["structure"] or {}).items():
        if key not in out and _touches(key, ls, by):
            out[key] = {
                "path": path,
                "polarity": "U",
                "length": length,
                "stocks": stocks,
                "partition": part,
                "active": False,
                "relative": np.zeros((n_t, len(groups))),
                "raw": np.zeros((n_t, len(groups))),
            }
    return out


def _touches(key: str, ls, by: str) -> bool:
    return any(by in ls.blocks[k].dims for k in key.split(">"))


def _group_labels(ls, by) -> list:
    for b in ls.blocks.values():
        if by in b.dims:
            return list(b.coords[b.dims.index(by)])
    return []


def _dataset(runs: list, names) -> xr.Dataset:
    pats = [_patterns(r) for r in runs]
    by = runs[0]["by"]
    times = runs[0]["times"]
    keys = list(dict.fromkeys(k for p in pats for k in p))
    info = {}
    for k in keys:
        found = [p[k] for p in pats if k in p]
        active = [f for f in found if f["active"]]
        pols = {f["polarity"] for f in active}
        info[k] = {
            **found[0],
            "polarity": pols.pop() if len(pols) == 1 else "U",
            "active": bool(active),
        }
    n_g = len(_group_labels(runs[0]["ls"], by)) if by else 1
    rel = np.full((len(runs), len(keys), len(times), n_g), np.nan)
    raw = np.full_like(rel, np.nan)
    for s, p in enumerate(pats):
        for i, k in enumerate(keys):
            if k in p:
                rel[s, i] = p[k]["relative"]
                raw[s, i] = p[k]["raw"]
    # ids: R, B then U; in each, the main cycle partition first, then by importance (the
    # largest mean |relative score| in any park and scenario)
    weight = np.nanmax(np.nanmean(np.abs(rel), axis=2), axis=(0, 2))
    weight = np.where(np.isfinite(weight), weight, 0.0)
    rank = {"R": 0, "B": 1, "U": 2}
    order = sorted(
        range(len(keys)),
        key=lambda i: (rank[info[keys[i]]["polarity"]], info[keys[i]]["partition"], -weight[i]),
    )
    counters = {"R": 0, "B": 0, "U": 0}
    ids = []
    for i in order:
        pol = info[keys[i]]["polarity"]
        counters[pol] += 1
        ids.append(f"{pol}{counters[pol]}")
    keys = [keys[i] for i in order]
    rel, raw = rel[:, order], raw[:, order]
    dims = ["scenario", "loop", "time"]
    coords = {
        "loop": ids,
        "time": times,
        "path": ("loop", [info[k]["path"] for k in keys]),
        "polarity": ("loop", [info[k]["polarity"] for k in keys]),
        "length": ("loop", np.array([info[k]["length"] for k in keys], dtype=int)),
        "stocks": ("loop", [info[k]["stocks"] for k in keys]),
        "key": ("loop", keys),
        "active": ("loop", np.array([info[k]["active"] for k in keys], dtype=bool)),
        "partition": ("loop", np.array([info[k]["partition"] for k in keys], dtype=int)),
    }
    if by is not None:
        dims.append(by)
        coords[by] = _group_labels(runs[0]["ls"], by)
    else:
        rel, raw = rel[..., 0], raw[..., 0]
    if names is None:
        rel, raw, dims = rel[0], raw[0], dims[1:]
    else:
        coords["scenario"] = names
    ds = xr.Dataset(
        {
            "relative_score": (
                dims,
                rel,
                {
                    "units": "1",
                    "long_name": "relative loop score (share of the change of the stocks "
                    "explained by the loop; + reinforcing, - balancing)",
                    "long_name_zh": (
                        "相对回路得分（该回路对存量变化的解释份额；正为增强，负为调节）"
                    ),
                },
            ),
            "loop_score": (
                dims,
                raw,
                {"units": "1", "long_name": "loop score (product of the loop's link scores)"},
            ),
        },
        coords=coords,
    )
    ds["time"].attrs.update(
        {"units": "year", "long_name": "end of the computation interval [t - dt, t] scored"}
    )
    h = runs[0]["horizon"]
    ds.attrs.update(
        {
            "title": "yaan-sim loop dominance (Loops that Matter)",
            "method": METHOD,
            "by": by or "",
            "normalisation": (
                f"per {by} and cycle partition: over the loops of the partition that touch "
                f"the {by} (any of its elements); the instances of one loop pattern in a "
                f"{by} are added"
                if by
                else "over the loops of the same cycle partition"
            ),
            "partitions": "; ".join(
                f"{i}: {stocks}"
                for i, stocks in runs[0]["partitions"][
                    "label_stocks" if by else "scc_stocks"
                ].items()
            ),
            "dt": float(h.step),
            "start": float(h.start),
            "stop": float(h.stop),
            "loop_finding": runs[0]["finding"],
            "n_active_loops_element_level": int(max(len(r["loops"]) for r in runs)),
        }
    )
    return ds


def _plain(v):
    return v.item() if hasattr(v, "item") else v
