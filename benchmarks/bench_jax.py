"""Benchmark the JAX engine against the numpy vector engine, in one run of this script.

    .venv/bin/python benchmarks/bench_jax.py [--model PATH] [--ns 10000,100000,1000000]
        [--chunk N] [--repeat R] [--numpy-max N] [--budget-gib G] [--write-readme]

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
  N (default 10^4, 10^5, 10^6, 10^7). Where the three outputs' results would not fit in
  half the machine's memory (``--budget-gib``), only the scalar among them is returned
  (a city total: the integration is the same); an N for which even that would not fit
  is skipped, with the figure.

``--write-readme`` rewrites the JAX section of benchmarks/README.md (and nothing else).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

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
    """Bytes of the results, and what the call needs in all: the results once (each chunk
    is written into the Dataset's block as it returns) and the inputs twice (the DataArrays
    and the engine's arrays). A bound: at N = 1,000,000 with one scalar output the JAX call
    took 0.27 GiB above the 0.64 GiB the process held with its inputs made; this says 0.9
    GiB (bench_jax's table gives each N's own figure)."""
    cells = sum(int(np.prod(vm.plan.lookup(o).shape)) for o in outs)
    results = 8 * cells * n_saved * n
    inputs = sum(v.nbytes for v in sampled_overrides(vm, 10).values()) // 10 * n
    return results, results + 2 * inputs


def outputs_that_fit(vm, outs, n: int, n_saved: int, budget: int) -> list[str]:
    """``outs``, or where their results would not fit in ``budget`` the scalar ones among
    them (a city total: the integration is the same, as every output needs every stock)."""
    if memory_need(vm, outs, n, n_saved)[1] <= budget:
        return outs
    scalars = [o for o in outs if vm.plan.lookup(o).shape == ()]
    return scalars or outs


def gib(nbytes: float) -> str:
    """Bytes in GiB (a decimal below 10), or MiB below 1 GiB."""
    x = nbytes / 2**30
    if x < 1:
        return f"{nbytes / 2**20:.0f} MiB"
    return f"{x:.0f} GiB" if x >= 10 else f"{x:.1f} GiB"


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class Row(NamedTuple):
    """One N: the engines' best times (None: not run), JAX's (chunk length, compile
    seconds or None where compiled before), the bytes of its results and of the call,
    the outputs returned and the memory its calls took."""

    n: int
    t_np: float | None
    t_jax: float | None
    chunk: tuple[int, float | None] | None
    results: int
    need: int
    outs: list[str]
    peak: int | None = None  # RSS in this N's calls above the process's before them


def reset_peak_rss() -> bool:
    """Start the process's peak resident memory again from what it holds now (Linux 4.0+:
    ``clear_refs`` 5), so that a row's peak is its own; False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_bytes(field: str) -> int | None:
    """A memory field of /proc/self/status (``VmHWM``, ``VmRSS``) in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss() -> int | None:
    """The process's peak resident memory since :func:`reset_peak_rss`, in bytes."""
    return _status_bytes("VmHWM")


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
    ap.add_argument(
        "--budget-gib",
        type=float,
        default=None,
        help="memory a call may need (default: half of this machine's)",
    )
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
    budget = physical_memory() // 2 if args.budget_gib is None else int(args.budget_gib * 2**30)
    rows = []
    compiled: dict = {}  # (chunk length, outputs) -> compile seconds
    for n in ns:
        kept = outputs_that_fit(vm, outs, n, n_saved, budget)
        results, need = memory_need(vm, kept, n, n_saved)
        if need > budget:
            rows.append(Row(n, None, None, None, results, need, kept))
            print(
                f"N={n:,}: skipped: needs about {gib(need)} (results {gib(results)}, and "
                f"the inputs twice), more than the {gib(budget)} allowed (--budget-gib)",
                flush=True,
            )
            continue
        # compile: one chunk's first call less its best later call (once per program)
        length = _chunk_length(n, jm._chunk(args.chunk))
        compile_s = None
        if (length, tuple(kept)) not in compiled:
            one = sampled_overrides(vm, length)
            t = time.perf_counter()
            jm.run(overrides=one, samples=length, return_vars=kept, chunk_size=length)
            first = time.perf_counter() - t
            again = best_time(
                lambda one=one, length=length, kept=kept: jm.run(
                    overrides=one, samples=length, return_vars=kept, chunk_size=length
                ),
                2,
            )
            compile_s = compiled[length, tuple(kept)] = max(first - again, 0.0)
            del one
        ov = sampled_overrides(vm, n)
        repeat = args.repeat if n <= 100_000 else 1
        held = _status_bytes("VmRSS") if reset_peak_rss() else None
        t_jax = best_time(
            lambda n=n, ov=ov, kept=kept: jm.run(
                overrides=ov, samples=n, return_vars=kept, chunk_size=args.chunk
            ),
            repeat,
        )
        t_np = None
        if n <= args.numpy_max:
            vm.run(overrides=sampled_overrides(vm, 10), samples=10, return_vars=kept)
            t_np = best_time(
                lambda n=n, ov=ov, kept=kept: vm.run(overrides=ov, samples=n, return_vars=kept),
                repeat,
            )
        top = peak_rss()
        peak = None if held is None or top is None else max(top - held, 0)
        rows.append(Row(n, t_np, t_jax, (length, compile_s), results, need, kept, peak))
        np_text = f"numpy {n / t_np:,.0f} runs/s ({t_np:.2f} s)" if t_np else "numpy not run"
        done = "compiled before" if compile_s is None else f"compile {compile_s:.1f} s"
        print(
            f"N={n:,}: {np_text}; JAX {n / t_jax:,.0f} runs/s ({t_jax:.2f} s; chunks of "
            f"{length:,}, {done}); returned {', '.join(kept)}; peak RSS above the "
            "process's before: " + ("not known" if peak is None else gib(peak)),
            flush=True,
        )
        del ov

    # the issue's range (10^4 ... 10^7) where this run left an N out: what it would need
    unrun = [
        (n, *memory_need(vm, outputs_that_fit(vm, outs, n, n_saved, budget), n, n_saved))
        for n in ISSUE_NS
        if n not in ns
    ]
    if args.write_readme:
        args.chunk = args.chunk or jm.default_chunk_size()
        text = readme_text(
            mdl, outs, one_numpy, one_jax, first_one, agree_one, agree_ens, rows, args
        )
        write_section("bench_jax", text + not_run_text(unrun, rows, budget))
        print("wrote the JAX section of benchmarks/README.md")


def not_run_text(unrun, rows, budget: int) -> str:
    """A paragraph on the N of the issue's range this run did not measure: the time each
    engine would take at its rate at the largest N it ran (``--ns`` may come in any order;
    numpy may stop below JAX, ``--numpy-max``), and the memory it needs."""
    if not unrun:
        return ""
    parts = []
    for n, results, need in unrun:
        text = f"N = {n:,} (results {gib(results)}, ~{gib(need)} in all"
        if need > budget:
            text += f": more than the {gib(budget)} allowed (`--budget-gib`)"
        else:
            times = [
                f"{duration(est[0])} with {label} (its rate at N = {est[1]:,})"
                for label, engine in (("JAX", "t_jax"), ("numpy", "t_np"))
                if (est := _at_largest_rate(n, rows, engine)) is not None
            ]
            if times:
                text += "; about " + ", ".join(times)
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
    ensembles = [(t_np, t_jax) for _, t_np, t_jax, *_ in rows if t_np and t_jax]
    everywhere = bool(ensembles) and all(t_np >= 1.1 * t_jax for t_np, t_jax in ensembles)
    text = (
        f"Warm, it was faster for one run (N = 1: {one_jax * 1e3:.1f} ms against "
        f"{one_numpy * 1e3:.1f} ms)"
        + (": at every N measured" if everywhere else "")
        + ". Counting the compilation of its "
        f"first call ({first:.1f} s; less where its program is read back from the cache "
        f"folder: bench_user's section), it pays back after about "
        f"{first / (one_numpy - one_jax):,.0f} single runs in one process"
    )
    gains = [(n, t_np - t_jax) for n, t_np, t_jax, *_ in rows if t_np and t_jax and t_np > t_jax]
    if gains:
        n, gain = min(gains)
        text += f", or {max(1, round(first / gain))} calls of N = {n:,}"
    return text + "."


def _at_largest_rate(n: int, rows, engine: str) -> tuple[float, int] | None:
    """The seconds ``engine`` (``"t_np"`` or ``"t_jax"``) would take for ``n`` samples at
    its rate at the largest N it ran, and that N (None where it ran none)."""
    ran = [r for r in rows if getattr(r, engine) is not None]
    if not ran:
        return None
    r = max(ran, key=lambda r: r.n)
    return n / r.n * getattr(r, engine), r.n


def _numpy_estimate(n: int, rows) -> str:
    """numpy's time at ``n`` at the rate of the largest N it ran (``--numpy-max``)."""
    est = _at_largest_rate(n, rows, "t_np")
    if est is None:
        return ""
    return f" (`--numpy-max`): ~{duration(est[0])} at its rate at N = {est[1]:,}"


def _scale_text(rows) -> str:
    """How JAX's rate holds from the smallest N to the largest it ran."""
    timed = sorted((r for r in rows if r.t_jax is not None), key=lambda r: r.n)
    if len(timed) < 2:
        return ""
    a, b = timed[0], timed[-1]
    return (
        f" From N = {a.n:,} to N = {b.n:,} its rate went from {a.n / a.t_jax:,.0f} to "
        f"{b.n / b.t_jax:,.0f} runs/s."
    )


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
        f"Runs per second (numpy with its defaults: {default_threads()} thread(s), one per "
        "core; XLA uses every core). Each call returns the outputs named in its row at every "
        "saved time; where those above would not fit in half of this machine's memory, only "
        "the scalar among them (a city total: the integration is the same, as it needs "
        "every stock):",
        "",
        "| N | returned | numpy | JAX | JAX chunk; compile (once per program) | JAX / numpy "
        "| peak RSS in its calls, above the process's before (its inputs made) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        returned = "the three above" if r.outs == outs else ", ".join(r.outs)
        if r.t_jax is None:
            lines.append(
                f"| {r.n:,} | {returned} | not run | not run | - | needs ~{gib(r.need)} "
                f"(results {gib(r.results)}); more than allowed (`--budget-gib`) | - |"
            )
            continue
        jax_cell = f"{r.t_jax:.2f} s = **{r.n / r.t_jax:,.0f}**"
        length, compile_s = r.chunk
        chunk_cell = f"{length:,}; " + ("as above" if compile_s is None else f"{compile_s:.1f} s")
        peak = "-" if r.peak is None else gib(r.peak)
        if r.t_np is None:
            lines.append(
                f"| {r.n:,} | {returned} | not run{_numpy_estimate(r.n, rows)} | {jax_cell} "
                f"| {chunk_cell} | - | {peak} |"
            )
            continue
        lines.append(
            f"| {r.n:,} | {returned} | {r.t_np:.2f} s = **{r.n / r.t_np:,.0f}** | {jax_cell} "
            f"| {chunk_cell} | {r.t_np / r.t_jax:.2f}x | {peak} |"
        )
    lines.append("")
    where = "this CPU" if platform == "cpu" else f"this {platform.upper()}"
    ratios = {r.n: r.t_np / r.t_jax for r in rows if r.t_np is not None and r.t_jax is not None}
    compiles = [r.chunk[1] for r in rows if r.chunk and r.chunk[1] is not None] + [first]
    # a gain under 10% is within what other jobs on a shared machine do to one timing
    faster = [n for n, q in ratios.items() if q >= 1.1]
    level = [n for n, q in ratios.items() if 1 / 1.1 < q < 1.1]
    if not ratios:
        verdict = "numpy was not run: no comparison."
    elif faster:
        lo, hi = min(ratios[n] for n in faster), max(ratios[n] for n in faster)
        verdict = (
            f"On {where} JAX was faster than numpy at N = {', '.join(f'{n:,}' for n in faster)} "
            + (f"({lo:.2f}x)" if f"{lo:.2f}" == f"{hi:.2f}" else f"({lo:.2f}-{hi:.2f}x)")
        )
        verdict += (
            f"; level (within 10%) at N = {', '.join(f'{n:,}' for n in level)}." if level else "."
        )
    else:
        verdict = f"On {where} JAX was not faster than numpy by 10% or more at any N measured."
    verdict += " " + _one_run_verdict(one_numpy, one_jax, first, rows) + _scale_text(rows)
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
    timed = [r for r in rows if r.t_jax is not None]
    big = max(timed, key=lambda r: r.n) if timed else None
    lines += [
        "",
        "What the figures include: each call turns the overrides into arrays, runs the",
        "chunks (JAX: one compiled program, the next chunk running while the last one's",
        "results come back), brings the results to the host and builds the Dataset",
        "(which both engines pay"
        + (f": {gib(big.results)} at N = {big.n:,} for {', '.join(big.outs)})." if big else ")."),
        "The JAX engine's arithmetic differs from",
        "numpy's in the last bits (XLA divides by a shared value as a multiplication by",
        "its reciprocal, and has its own exp, log and power): hence the differences above.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
