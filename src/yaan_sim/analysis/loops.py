"""Which feedback loops drive each park's behaviour, and when: Loops that Matter.

The method is Loops that Matter (LTM): Schoenberg, W., Davidsen, P. & Eberlein, R. (2020),
"Understanding model behavior using the Loops that Matter method", *System Dynamics
Review* 36(2): 158-190, with the flow-to-stock link score corrected in Schoenberg, W.,
Hayward, J. & Eberlein, R. (2023), "Improving Loops that Matter", *SDR* 39(2): 140-151.
Stella Architect implements it; this is an implementation for PySD models.

1. The model is run again through the vector engine with every computation interval
   saved (:mod:`yaan_sim.analysis.loopgraph`): link scores need consecutive values.
2. Every link between variables, per element (``Revenue[ETDZ]``), gets a score at each
   interval (:mod:`yaan_sim.analysis.linkscores`): how much of the change of its target
   the change of its source caused, with the link's polarity as sign.
3. Loops are enumerated on the element-level graph with Johnson's algorithm, or found
   with the strongest-path search of Eberlein & Schoenberg (2020) beyond ``max_loops``
   (:mod:`yaan_sim.analysis.loopfind`).
4. A loop's score is the product of its link scores; its *relative* score divides by the
   sum of the absolute scores of the loops it is compared with (those of its cycle
   partition), so it lies in [-1, 1], positive for a reinforcing (R) and negative for a
   balancing (B) loop, and the absolute values add to 1 (:mod:`yaan_sim.analysis.loopdata`).

Arrayed models. A loop that stays in one park (the reinvestment loop of ETDZ) is one
*instance* of a loop pattern that each park has; loops through a cross-park link (a SUM
over parks, the enclave transfer) pass through the city total and into one or more parks.
``by="park"`` (the default where the model has a ``park`` dim) reports loop *patterns*
(the path of variable names) for each park, normalised over the loops of the same cycle
partition that touch the park (any of its elements), with the instances of a pattern in a
park added (the "composite relative loop score" of LTM's simplified diagrams). Loops that
touch no park (a city stock's own loop) are left out of that view; ``by=None`` gives every
element-level loop, normalised within its cycle partition, as LTM does. ``through``
compares only the loops through one variable (what drives Revenue).

Limits: scores describe the run analysed (one scenario, its lever settings), not other
parameter values; they are 0 while a loop is inactive (a constraint that does not bind)
and at equilibrium; polarity is read from the run's link scores (U where a loop's score
changes sign or the loop never acts). Links that only act through a condition (IF THEN
ELSE) are linked by element labels, since NaN does not cross a comparison.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.loopdata import METHOD, dataset
from yaan_sim.errors import ModelError, ResultsError, YaanSimError

__all__ = ["METHOD", "check_park", "dominant_loops", "loop_dominance", "loops_of_results"]

DEFAULT_MAX_LOOPS = 5_000
#: Johnson's algorithm keeps every loop it finds; past this many the walk takes hours and
#: gigabytes on the Ya'an model (a cap of 1e20 grew past 1.7 GB in two minutes).
MAX_LOOPS_LIMIT = 100_000
METHODS = ("auto", "exhaustive", "strongest")


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
    method : {"auto", "exhaustive", "strongest"}
        Loop finding: every loop (Johnson's algorithm); the strongest-path search; or
        every loop up to ``max_loops`` and the strongest-path search beyond (default).
    max_loops, max_length : int
        The bound on the number of loops enumerated (``"exhaustive"`` stops with an
        error beyond it); loops of more than ``max_length`` links are ignored (None: no
        bound).
    through : str, optional
        Only the loops through this variable (Vensim name), compared with each other.

    Returns
    -------
    xarray.Dataset
        ``relative_score`` and ``loop_score`` with dims ``([scenario,] loop, time[, park])``;
        ``time`` is the end of each computation interval ``[t - dt, t]``. Coords on
        ``loop``: ``path`` (variable names), ``polarity`` (R, B or U), ``length`` (links),
        ``stocks``, ``partition`` (see the ``partitions`` attr), ``active`` (false: the
        loop exists in the structure but never acted), ``key`` (its variables, stable
        across runs, unlike the ids R1, B2, ... which rank loops by importance). Attrs:
        the method and its citation, the normalisation, how loops were found, and a run
        manifest.
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
    ds = dataset(runs, names)
    h = runs[0]["horizon"]
    from yaan_sim.outputs.manifest import LoopsRecord, Manifest

    manifest = Manifest.create(
        model,
        engine="vector",
        horizon=h,
        scenarios=[sc for sc in scenario_list if sc is not None],
        argv=argv,
        kind="loops",
        loops=LoopsRecord(ds.attrs["by"], max_loops, max_length),
    )
    ds.attrs["manifest"] = manifest.to_json()
    ds.attrs["model_sha256"] = model.mdl_sha256
    return ds


def loops_of_results(
    path,
    model=None,
    *,
    model_path=None,
    scenarios: list[str] | None = None,
    notify=None,
    results: xr.Dataset | None = None,
    **kwargs,
) -> xr.Dataset:
    """:func:`loop_dominance` of what produced a results file (read from its manifest).

    ``scenarios``: names to analyse (default all). An ensemble is analysed at its
    scenarios' own lever settings, without the sampled draws. ``results``: the file
    opened already (the command line checks it first), so it is not read again.
    """
    from yaan_sim.analysis.rerun import rebuild_scenarios
    from yaan_sim.model.load import load_model
    from yaan_sim.outputs.manifest import Manifest
    from yaan_sim.outputs.results import open_results

    say = notify or (lambda msg: print(f"yaan-sim: notice: {msg}", file=sys.stderr))
    opened = results if results is not None else open_results(path)
    manifest = Manifest.from_json(opened.attrs.get("manifest"), str(path))
    kind = manifest.kind
    if kind not in ("simulate", "ensemble", "designed ensemble"):
        raise ResultsError(
            f"{path} was made by `{kind}`, not by a simulation: give a results file written "
            "by `yaan-sim run` or `yaan-sim ensemble`"
        )
    model = model or (load_model(model_path) if model_path else load_model())
    if model.mdl_sha256 != manifest.model_sha256:
        raise ResultsError(
            f"{path} was made with another version of the model (sha256 "
            f"{manifest.model_sha256[:12]}, this one "
            f"{model.mdl_sha256[:12]}): pass the .mdl that produced it with --model, or "
            "run the scenarios again"
        )
    if manifest.samples:
        say(
            f"{path} is an ensemble of {manifest.samples} samples: the loops are those of "
            "each scenario at its own lever settings, without the sampled draws"
        )
    horizon = manifest.horizon
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
    from yaan_sim.analysis.linkscores import link_scores
    from yaan_sim.analysis.loopfind import find_loops, partitions, structure
    from yaan_sim.analysis.loopgraph import build_blocks, check_supported, probe_plan
    from yaan_sim.engines.vector import VectorModel
    from yaan_sim.engines.vector.plan import CONTROL_NAMES
    from yaan_sim.model.load import Horizon

    if method not in METHODS:
        raise YaanSimError(
            f"unknown loop-finding method {method!r}: choose one of {', '.join(METHODS)}"
        )
    if max_loops is not None and not 1 <= max_loops <= MAX_LOOPS_LIMIT:
        raise YaanSimError(
            f"max_loops (--max-loops) must be from 1 to {MAX_LOOPS_LIMIT:,}, got {max_loops:,}: "
            "past that, bound the loops' length (--max-length N) or use the strongest-path "
            "search (--method strongest)"
        )
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
    through_key = _block_key(plan, through) if through is not None else None  # before the run
    h = (
        horizon
        or (scenario.horizon if scenario is not None and scenario.horizon else None)
        or model.default_horizon
    )
    h = Horizon(h.start, h.stop, h.step, h.step)
    if round((h.stop - h.start) / h.step) < 2:
        raise YaanSimError(
            f"the horizon {h.start:g}-{h.stop:g} has fewer than two computation intervals "
            f"of {h.step:g}: loop scores need at least two changes in a row"
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
    grid = {"initial_time": h.start, "final_time": h.stop, "time_step": h.step, "saveper": h.step}
    controls = {CONTROL_NAMES[c]: value for c, value in grid.items()}
    ls = link_scores(plan, blocks, controls, times)
    if not ls.edges:
        where = Path(model.mdl_path).name
        raise YaanSimError(
            f"{where} has no feedback loops (no path leads from a variable back to itself), "
            "so there is no loop dominance to show"
        )
    parts = partitions(ls)
    loops, finding = find_loops(ls, method, max_loops, max_length, parts)
    group = by if by and any(by in b.dims for b in blocks.values()) else None
    patterns = structure(ls, max_loops, max_length, parts["label"]) if group else None
    if through_key is not None:
        loops = [lp for lp in loops if through_key in lp.key.split(">")]
        if patterns:
            patterns = {k: v for k, v in patterns.items() if through_key in k.split(">")}
        if not loops and not patterns:
            raise YaanSimError(f"no feedback loop passes through {through!r}")
    return {
        "partitions": parts,
        "loops": loops,
        "ls": ls,
        "by": group,
        "horizon": h,
        "times": ls.times,
        "finding": finding,
        "structure": patterns,
    }


def _block_key(plan, name: str) -> str:
    try:
        var = plan.lookup(name)
    except KeyError:
        import difflib

        names = [v.name for v in plan.variables.values() if v.kind == "aux"]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise YaanSimError(f"the model has no variable {name!r}.{hint}") from None
    return f"v:{var.py_name}"


def _plain(v):
    return v.item() if hasattr(v, "item") else v
