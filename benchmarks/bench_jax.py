"""Benchmark the JAX engine against the numpy vector engine, in one run of this script.

    .venv/bin/python benchmarks/bench_jax.py [--model PATH] [--ns 10000,100000,1000000]
        [--chunk N] [--repeat R] [--write-readme]

On a machine with a GPU: ``pip install -e '.[jax]' 'jax[cuda12]'`` and run the same
command; the script reports the device JAX used and writes it beside the figures.

Measures, on the project's model (models/yaan_parks.mdl; tests/data/vector_parks.mdl
where it is absent) over its own horizon and step, with the samples of bench_engines.py
(per-sample values of several constants) and its three outputs returned:

* agreement: the largest relative difference between the engines on every variable at
  every saved time, for one run and for an ensemble of 1,000 samples;
* compile time (trace and XLA compilation of one chunk's program), apart from run time:
  the first call at a chunk size less the best later call;
* runs/s of numpy (the engine's defaults: a thread per core, its default chunk) and of JAX at each
  N (default 10^4, 10^5, 10^6, 10^7). An N whose results and inputs would not fit in
  half the machine's memory is skipped, with the figure.

``--write-readme`` rewrites the JAX section of benchmarks/README.md (and nothing else).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import (
    FALLBACK,
    PROJECT,
    ROOT,
    best_time,
    key_outputs,
    sampled_overrides,
)
from machine_info import describe
from readme_section import write_section

from yaan_sim.engines.vector import VectorModel
from yaan_sim.engines.vector.runtime import default_threads

try:
    import jax

    from yaan_sim.engines.jax import JaxModel
    from yaan_sim.engines.jax.runtime import _chunk_length
except ImportError as exc:  # pragma: no cover - run by hand
    sys.exit(f"bench_jax.py needs jax ({exc}): pip install -e '.[jax]'")


def max_rel_diff(a, b) -> float:
    worst = 0.0
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        ok = ~(np.isnan(x) & np.isnan(y))
        if ok.any():
            rel = np.abs(x[ok] - y[ok]) / np.maximum(np.abs(x[ok]), 1e-300)
            worst = max(worst, float(rel.max()))
    return worst


#: the sizes issue 16 asks the JAX engine to be benchmarked at
ISSUE_NS = (10**4, 10**5, 10**6, 10**7)


def memory_need(vm, outs, n: int, n_saved: int) -> tuple[int, int]:
    """Bytes of the results and of run inputs plus results twice over (assembly)."""
    cells = sum(int(np.prod(vm.plan.lookup(o).shape)) for o in outs)
    results = 8 * cells * n_saved * n
    inputs = sum(v.nbytes for v in sampled_overrides(vm, 10).values()) // 10 * n
    return results, 2 * (results + inputs)


def physical_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def device_line() -> str:
    d = jax.devices()[0]
    kind = getattr(d, "device_kind", "") or d.platform
    return f"{d.platform} ({kind}), {jax.device_count()} device(s), jax {jax.__version__}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--ns", default="10000,100000,1000000,10000000", help="comma-separated N")
    ap.add_argument("--chunk", type=int, default=None, help="JAX samples per call")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per N up to 100,000")
    ap.add_argument("--numpy-max", type=int, default=10**7, help="largest N run with numpy")
    ap.add_argument("--write-readme", action="store_true", help="rewrite the README section")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as xla_cache:
        # an empty cache for XLA: the compile times below are compilations, not programs
        # read back from yaan-sim's cache folder (where earlier runs on this machine put them)
        jax.config.update("jax_compilation_cache_dir", xla_cache)
        measure(args)


def measure(args) -> None:
    ns = [int(float(x)) for x in args.ns.split(",")]
    mdl = args.model or (PROJECT if PROJECT.is_file() else FALLBACK)
    print(f"model: {mdl}")
    print(f"machine: {describe('numpy', 'jax', 'jaxlib')}")
    print(f"JAX device: {device_line()}", flush=True)

    vm = VectorModel.from_mdl(mdl)
    t = time.perf_counter()
    jm = JaxModel.from_vector(vm)
    jm.run()
    first_one = time.perf_counter() - t
    one_jax = best_time(jm.run, 10)
    one_numpy = best_time(vm.run, 10)
    agree_one = max_rel_diff(vm.run(), jm.run())
    ov = sampled_overrides(vm, 1000)
    agree_ens = max_rel_diff(vm.run(overrides=ov, samples=1000), jm.run(overrides=ov, samples=1000))
    print(
        f"one run, every variable: numpy {one_numpy * 1000:.1f} ms, JAX {one_jax * 1000:.1f} ms "
        f"(first call {first_one:.2f} s with compilation); max relative difference {agree_one:.1e} "
        f"(one run), {agree_ens:.1e} (1,000 samples)",
        flush=True,
    )

    outs = key_outputs(vm)
    n_saved = len(vm.run(return_vars=outs[:1])["time"])
    budget = physical_memory() // 2
    rows = []
    compiled: dict = {}  # chunk length -> compile seconds
    for n in ns:
        results, need = memory_need(vm, outs, n, n_saved)
        if need > budget:
            rows.append((n, None, None, None, results, need))
            print(
                f"N={n:,}: skipped: needs about {need / 2**30:.0f} GiB (results "
                f"{results / 2**30:.1f} GiB, with inputs, twice over while assembling), "
                f"more than half of this machine's {physical_memory() / 2**30:.0f} GiB",
                flush=True,
            )
            continue
        # compile: one chunk's first call less its best later call
        length = _chunk_length(n, jm._chunk(args.chunk))
        compile_s = None
        if length not in compiled:
            one = sampled_overrides(vm, length)
            t = time.perf_counter()
            jm.run(overrides=one, samples=length, return_vars=outs, chunk_size=length)
            first = time.perf_counter() - t
            again = best_time(
                lambda one=one, length=length: jm.run(
                    overrides=one, samples=length, return_vars=outs, chunk_size=length
                ),
                2,
            )
            compile_s = compiled[length] = max(first - again, 0.0)
            del one
        ov = sampled_overrides(vm, n)
        repeat = args.repeat if n <= 100_000 else 1
        t_jax = best_time(
            lambda n=n, ov=ov: jm.run(
                overrides=ov, samples=n, return_vars=outs, chunk_size=args.chunk
            ),
            repeat,
        )
        t_np = None
        if n <= args.numpy_max:
            vm.run(overrides=sampled_overrides(vm, 10), samples=10, return_vars=outs)
            t_np = best_time(
                lambda n=n, ov=ov: vm.run(overrides=ov, samples=n, return_vars=outs), repeat
            )
        rows.append((n, t_np, t_jax, (length, compile_s), results, need))
        np_text = f"numpy {n / t_np:,.0f} runs/s ({t_np:.2f} s)" if t_np else "numpy not run"
        done = "compiled before" if compile_s is None else f"compile {compile_s:.1f} s"
        print(
            f"N={n:,}: {np_text}; JAX {n / t_jax:,.0f} runs/s ({t_jax:.2f} s; chunks of "
            f"{length:,}, {done})",
            flush=True,
        )
        del ov

    # the issue's range (10^4 ... 10^7) where this run left an N out: what it would need
    unrun = [(n, *memory_need(vm, outs, n, n_saved)) for n in ISSUE_NS if n not in ns]
    if args.write_readme:
        args.chunk = args.chunk or jm.default_chunk_size()
        text = readme_text(
            mdl, outs, one_numpy, one_jax, first_one, agree_one, agree_ens, rows, args
        )
        write_section("bench_jax", text + not_run_text(unrun, rows, budget))
        print("wrote the JAX section of benchmarks/README.md")


def not_run_text(unrun, rows, budget: int) -> str:
    """A paragraph on the N of the issue's range this run did not measure: the time each
    engine would take at the rate of the largest N measured (``--ns`` may come in any
    order), and the memory it needs."""
    if not unrun:
        return ""
    timed = [r for r in rows if r[2] is not None]
    parts = []
    for n, results, need in unrun:
        text = f"N = {n:,} (results {results / 2**30:.1f} GiB, ~{need / 2**30:.0f} GiB in all"
        if need > budget:
            text += f": over half of this machine's {2 * budget / 2**30:.0f} GiB"
        elif timed:
            m, t_np, t_jax = max(timed, key=lambda r: r[0])[:3]
            text += f"; about {n / m * t_jax / 60:.0f} min with JAX"
            if t_np is not None:
                text += f", {n / m * t_np / 60:.0f} min with numpy"
            text += f", at the rates of N = {m:,}"
        parts.append(text + ")")
    them = "it" if len(unrun) == 1 else "them"
    ns = ",".join(str(n) for n, _, _ in unrun)
    return (
        "\n\nNot run here (`--ns`, run_all's `--jax-ns`): "
        + "; ".join(parts)
        + f". To measure {them}: `bench_jax.py --ns {ns}` "
        "on a machine with the time and the memory (or a GPU)."
    )


def _one_run_verdict(one_numpy: float, one_jax: float, first: float, rows) -> str:
    """Where JAX beats numpy counting its first call: from which N, warm, and after how
    much work its compilation is paid back."""
    if one_jax >= one_numpy / 1.1:
        return (
            f"For one run (N = 1) JAX took {one_jax * 1e3:.1f} ms, numpy {one_numpy * 1e3:.1f} "
            "ms: no gain below the N above."
        )
    text = (
        f"Warm, it was faster for one run too (N = 1: {one_jax * 1e3:.1f} ms against "
        f"{one_numpy * 1e3:.1f} ms): at every N measured. Counting the compilation of its "
        f"first call ({first:.1f} s; less where its program is read back from the cache "
        f"folder: bench_user's section), it pays back after about "
        f"{first / (one_numpy - one_jax):,.0f} single runs in one process"
    )
    gains = [(n, t_np - t_jax) for n, t_np, t_jax, *_ in rows if t_np and t_jax and t_np > t_jax]
    if gains:
        n, gain = min(gains)
        text += f", or {max(1, round(first / gain))} calls of N = {n:,}"
    return text + "."


def readme_text(mdl, outs, one_numpy, one_jax, first, agree_one, agree_ens, rows, args) -> str:
    platform = jax.devices()[0].platform
    chunk = f"{args.chunk:,}"
    lines = [
        '## JAX engine (`yaan_sim.engines.jax`, `engine="jax"`)',
        "",
        "Written by `benchmarks/bench_jax.py --write-readme` (this section only).",
        "",
        f"- Model: `{mdl.relative_to(ROOT)}`; samples and outputs as above ({', '.join(outs)}).",
        f"- Machine: {describe('numpy', 'jax', 'jaxlib')}.",
        f"- JAX device: {device_line()}; float64; JAX chunks of {chunk} samples.",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| measure | numpy | JAX |",
        "|---|---|---|",
        f"| one run, every variable | {one_numpy * 1000:.1f} ms | {one_jax * 1000:.1f} ms |",
        f"| first run (build the program; JAX: trace and compile) | - | {first:.2f} s |",
        f"| largest relative difference, one run, every variable at every saved time | - "
        f"| {agree_one:.1e} |",
        f"| the same, 1,000 samples | - | {agree_ens:.1e} |",
        "",
        f"Runs per second ({len(outs)} outputs returned; numpy with its defaults: "
        f"{default_threads()} thread(s), one per core; XLA uses every core):",
        "",
        "| N | numpy | JAX | JAX chunk; compile (once per chunk size) | JAX / numpy |",
        "|---|---|---|---|---|",
    ]
    for n, t_np, t_jax, chunk, results, need in rows:
        if t_jax is None:
            lines.append(
                f"| {n:,} | not run | not run | - | needs ~{need / 2**30:.0f} GiB (results "
                f"{results / 2**30:.1f} GiB); over half of this machine's memory |"
            )
            continue
        jax_cell = f"{t_jax:.2f} s = **{n / t_jax:,.0f}**"
        length, compile_s = chunk
        chunk_cell = f"{length:,}; " + ("as above" if compile_s is None else f"{compile_s:.1f} s")
        if t_np is None:
            lines.append(f"| {n:,} | not run | {jax_cell} | {chunk_cell} | - |")
            continue
        ratio = t_np / t_jax
        lines.append(
            f"| {n:,} | {t_np:.2f} s = **{n / t_np:,.0f}** | {jax_cell} | {chunk_cell} "
            f"| {ratio:.2f}x |"
        )
    lines.append("")
    where = "this CPU" if platform == "cpu" else f"this {platform.upper()}"
    ratios = {r[0]: r[1] / r[2] for r in rows if r[1] is not None and r[2] is not None}
    compiles = [r[3][1] for r in rows if r[3] and r[3][1] is not None] + [first]
    # a gain under 10% is within what other jobs on a shared machine do to one timing
    faster = [n for n, q in ratios.items() if q >= 1.1]
    level = [n for n, q in ratios.items() if 1 / 1.1 < q < 1.1]
    if not ratios:
        verdict = "numpy was not run: no comparison."
    elif faster:
        verdict = (
            f"On {where} JAX was faster than numpy at N = {', '.join(f'{n:,}' for n in faster)} "
            f"({min(ratios[n] for n in faster):.2f}-{max(ratios[n] for n in faster):.2f}x)"
        )
        verdict += (
            f"; level (within 10%) at N = {', '.join(f'{n:,}' for n in level)}." if level else "."
        )
    else:
        verdict = f"On {where} JAX was not faster than numpy by 10% or more at any N measured."
    verdict += " " + _one_run_verdict(one_numpy, one_jax, first, rows)
    lines += [
        verdict,
        "",
        f'JAX stays out of the defaults (`engine="auto"` is the numpy engine): it is an '
        f"optional extra, and each new kind of run (another horizon, chunk size or set "
        f"of uncertain parameters; through `ys.simulate` every scenario's levers share one "
        f"program) first costs a compilation of {min(compiles):.1f}-"
        f"{max(compiles):.1f} s, hundreds of numpy runs; it pays for large ensembles: "
        '`engine="jax"` in `ys.simulate`, `--engine jax` at the command line.',
    ]
    if platform == "cpu":
        lines += [
            "",
            "No GPU was measured: the session that wrote this had none. On a machine with "
            "one, `pip install -e '.[jax]' 'jax[cuda12]'` and run `python "
            "benchmarks/bench_jax.py --write-readme`: the section then names the GPU.",
        ]
    timed = [(r[0], r[4]) for r in rows if r[2] is not None]
    n_big, results_big = max(timed) if timed else (0, 0)
    lines += [
        "",
        "What the figures include: each call turns the overrides into arrays, runs the",
        "chunks (JAX: one compiled program, the next chunk running while the last one's",
        "results come back), brings the results to the host and builds the Dataset",
        f"(which both engines pay: {results_big / 2**30:.1f} GiB at N = {n_big:,} for these "
        f"{len(outs)} outputs).",
        "The JAX engine's arithmetic differs from",
        "numpy's in the last bits (XLA divides by a shared value as a multiplication by",
        "its reciprocal, and has its own exp, log and power): hence the differences above.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
