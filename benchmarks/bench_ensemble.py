"""Benchmark ensembles of 100,000 samples: in-process and through a local dask cluster.

    .venv/bin/python benchmarks/bench_ensemble.py [--samples N] [--workers W] [--write]

Runs ``yaan_sim.analysis.ensemble.run_ensemble`` on ``scenarios/uncertain/plan-uncertain.yaml``
(its uncertain factors and the plan's levers), the model's horizon (2013-2021, history
then plan) and step with a yearly saving period, Latin hypercube design, seed 1:

* in-process, chunk sizes 5,000 and 20,000 (the default path), best of ``--repeat``;
* a ``distributed.LocalCluster`` of W worker processes (default 2), chunk 5,000, timed
  twice: the first call pays the workers' start and model translation, the second is the
  steady state (the workers are started once and reused);
* an identity check: the cluster's revenue equals the in-process one, bit for bit.

Each configuration keeps the variables the goals need (revenue, research_spending,
energy_use, water_use, emissions), as ``yaan-sim ensemble`` does. Figures go to stdout
and, with ``--write``, to benchmarks/ENSEMBLE.md. On a shared machine expect +-30 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from machine_info import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def machine() -> str:
    return describe("numpy", "xarray", "dask", "distributed")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def best_of(k, fn):
    """The fastest of k calls (the machine is shared: the minimum is the least disturbed)."""
    best = None
    for _ in range(k):
        out, secs = timed(fn)
        if best is None or secs < best[1]:
            best = (out, secs)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="best of this many calls (default 2)")
    ap.add_argument("--write", action="store_true", help="write benchmarks/ENSEMBLE.md")
    args = ap.parse_args(argv)

    from distributed import LocalCluster

    import yaan_sim as ys

    load0 = os.getloadavg()

    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.scenario import load_scenario

    model = ys.load_model()
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    d = model.default_horizon
    h = ys.Horizon(d.start, d.stop, d.step, 1.0)
    n = args.samples
    kw = dict(seed=1, method="lhs", horizon=h)
    run_ensemble(model, [sc], 100, **kw)  # warm-up: vector model compiled once
    rows = []

    def record(label, ds, secs):
        mb = sum(v.nbytes for v in ds.data_vars.values()) / 2**20
        rows.append((label, secs, n / secs, mb))
        print(
            f"{label:<58} {secs:8.2f} s {n / secs:10,.0f} runs/s  result {mb:7.1f} MiB", flush=True
        )

    local = None
    for chunk in (5000, 20000):
        ds, secs = best_of(
            args.repeat, lambda chunk=chunk: run_ensemble(model, [sc], n, chunk_size=chunk, **kw)
        )
        record(f"in-process, chunk {chunk:,}", ds, secs)
        local = ds if local is None else local

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    )
    try:
        address = cluster.scheduler_address

        def run():
            return run_ensemble(model, [sc], n, chunk_size=5000, scheduler=address, **kw)

        ds, secs = timed(run)
        record(f"local cluster, {args.workers} workers, chunk 5,000 (first call)", ds, secs)
        ds, secs = best_of(args.repeat, run)
        record(f"local cluster, {args.workers} workers, chunk 5,000 (warm workers)", ds, secs)
        same = bool(np.array_equal(ds["revenue"].values, local["revenue"].values))
        print(f"cluster result identical to in-process: {same}")
    finally:
        cluster.close()

    if args.write:
        lines = [
            "# Ensemble benchmark (`benchmarks/bench_ensemble.py`)",
            "",
            f"Machine: {machine()}. Load average before / after (other users' work on the "
            f"same cores): {load0[0]:.1f} / {os.getloadavg()[0]:.1f}; best of {args.repeat} "
            "calls per configuration.",
            "",
            f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with the model "
            f"`{Path(model.mdl_path).name}` (sha256 {model.mdl_sha256[:12]}).",
            "",
            f"{n:,} samples of `scenarios/uncertain/plan-uncertain.yaml` ({len(sc.uncertain)} "
            f"factors, Latin hypercube, seed 1), {h.start:g}-{h.stop:g}, step {h.step:g}, "
            f"saved every {h.saveper:g}; results keep the variables the goals need. Wall time "
            "of `run_ensemble` including design, chunking, transfers and assembly of the "
            "Dataset.",
            "",
            "| configuration | wall time | runs/s | result size |",
            "|---|---|---|---|",
        ]
        for label, secs, rate, mb in rows:
            lines.append(f"| {label} | {secs:.2f} s | {rate:,.0f} | {mb:.0f} MiB |")
        lines += [
            "",
            f"The cluster's results are identical to the in-process ones: {same}.",
            "",
            "Reading: with two cores shared by the client, the scheduler, both workers and "
            "other users, a local cluster cannot beat the in-process path (one vectorised "
            "chunk already keeps a core busy, and the results are pickled and sent "
            "back over sockets); the cluster path is for more cores than one machine has "
            "(docs/analysis.md). The first cluster call includes each worker's model "
            "translation and compilation (cached per machine afterwards).",
        ]
        (ROOT / "benchmarks" / "ENSEMBLE.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print("wrote benchmarks/ENSEMBLE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
