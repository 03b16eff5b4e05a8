"""Rewrite benchmarks/README.md in one run: every benchmark script, one after the other.

    .venv/bin/python benchmarks/run_all.py [--quick] [--no-make-test] [--jax-ns N,N,...]
        [--jax-numpy-max N]

Runs, each writing its own section of README.md (``--write-readme``):

1. ``bench_engines.py``: the numpy vector engine and PySD: build, latency, runs/s by N;
2. ``bench_jax.py``: the JAX engine against numpy: agreement, compile time, runs/s by N
   (``--jax-ns``; default 10^4 to 10^7, the range of issue 16: about 25 minutes on two
   cores, most of it JAX's 10^7; numpy up to ``--jax-numpy-max``, default 10^6, as its
   10^7 would take another half hour);
3. ``bench_user.py``: what a user feels: one ``ys.simulate`` call end to end beside PySD's
   time for the same call and the engine's own, the default ensemble call's time and memory,
   and (unless ``--no-make-test``) the wall time of ``make test``.

``bench_ensemble.py`` (a dask cluster; its own ENSEMBLE.md) is not run here: run it by
hand when the distributed path changes. A script that fails stops the run with its exit
status; the sections already written stay.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    cmd = [sys.executable, str(HERE / script), *args]
    print(f"$ {' '.join(cmd[1:])}", flush=True)
    t = time.perf_counter()
    rc = subprocess.run(cmd, cwd=HERE.parent).returncode
    print(f"  {script}: {time.perf_counter() - t:.0f} s, exit {rc}", flush=True)
    if rc:
        sys.exit(rc)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="fewer repeats (for a look, not the README)"
    )
    ap.add_argument("--no-make-test", action="store_true", help="do not time `make test`")
    ap.add_argument(
        "--jax-ns",
        default="10000,100000,1000000,10000000",
        help="N for bench_jax.py (comma-separated)",
    )
    ap.add_argument(
        "--jax-numpy-max", default="1000000", help="the largest of them bench_jax runs numpy at"
    )
    args = ap.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    run("bench_engines.py", "--write-readme", *quick)
    run(
        "bench_jax.py",
        "--write-readme",
        "--ns",
        args.jax_ns,
        "--numpy-max",
        args.jax_numpy_max,
        *(["--repeat", "1"] if args.quick else []),
    )
    # last: make test (the longest) runs when the engines' figures are written
    run("bench_user.py", "--write-readme", *quick, *([] if args.no_make_test else ["--make-test"]))
    print(f"rewrote {HERE / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
