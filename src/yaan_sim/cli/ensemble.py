"""``yaan-sim ensemble``: sample a scenario's ``uncertain:`` block and run the samples.

Also holds the options and helpers that ``sensitivity``, ``seek`` and ``batch`` share.
"""

from __future__ import annotations

import sys
from pathlib import Path

from yaan_sim.errors import YaanSimError

DEFAULT_OUT = Path("out") / "ensemble.nc"


# ------------------------------------------------------------------ shared helpers


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise YaanSimError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise YaanSimError(f"{text!r}: a number of at least 1 is needed")
    return n


def add_run_options(p, *, chunks: bool = True) -> None:
    """--engine, --model, --horizon; with ``chunks``: --chunk-size, --scheduler, --workers."""
    p.add_argument("--engine", default="auto", help="auto (default), vector or pysd")
    p.add_argument(
        "--model", metavar="MODEL.mdl", help="another Vensim model (default: models/yaan_parks.mdl)"
    )
    p.add_argument(
        "--horizon",
        metavar="START:STOP[:STEP[:SAVEPER]]",
        help="years to simulate, e.g. 2016:2020 (default: the scenario's, else the model's)",
    )
    if chunks:
        p.add_argument(
            "--chunk-size",
            type=int,
            default=None,
            metavar="N",
            help="samples per vectorised engine call (default 5000)",
        )
        p.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="a running dask scheduler (tcp://HOST:8786) to send chunks to; "
            "see docs/analysis.md",
        )
        p.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help="run chunks on N local worker processes (a local dask cluster) "
            "instead of in this process",
        )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_horizon(text: str | None, model):
    """``2016:2020[:step[:saveper]]`` -> Horizon (missing fields from the model)."""
    if not text:
        return None
    from yaan_sim.model.load import Horizon

    parts = text.split(":")
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        raise YaanSimError(
            f"--horizon {text!r}: write START:STOP[:STEP[:SAVEPER]], e.g. 2016:2020"
        ) from None
    if len(vals) < 2 or len(vals) > 4:
        raise YaanSimError(f"--horizon {text!r}: write START:STOP[:STEP[:SAVEPER]]")
    d = model.default_horizon
    step = vals[2] if len(vals) > 2 else d.step
    saveper = vals[3] if len(vals) > 3 else max(d.saveper, step)
    if not vals[0] < vals[1] or step <= 0 or saveper < step:
        raise YaanSimError(f"--horizon {text!r}: needs START < STOP, STEP > 0, SAVEPER >= STEP")
    return Horizon(vals[0], vals[1], step, saveper)


def prepare_output(path: str | Path, force: bool, default: Path | None = None) -> Path:
    """Check an output path before any work (suffix, folder, overwrite)."""
    from yaan_sim.analysis.ensemble import EXPORT_SUFFIXES
    from yaan_sim.outputs.results import check_writable

    out = Path(path) if path else default
    if out is None:
        raise YaanSimError("no output path: give -o FILE")
    if not path and default is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() not in EXPORT_SUFFIXES:
        raise YaanSimError(
            f"{out}: unknown output type {out.suffix or '(none)'}; use .nc "
            "(netCDF), .csv (tidy long table) or .xlsx (Excel)"
        )
    check_writable(out, force)
    return out


def split_list(text: str | None) -> list[str]:
    """``a,b, c`` -> ["a", "b", "c"]; brackets keep their commas (``X[ETDZ,Hanyuan]``)."""
    if not text:
        return []
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [x for x in out if x]


# ------------------------------------------------------------------ the command


def register(sub) -> None:
    p = sub.add_parser(
        "ensemble",
        help="sample a scenario's uncertain block: P(goal met), fan charts",
        description=(
            "Sample the `uncertain:` block of each scenario (Monte Carlo, Latin hypercube or "
            "Sobol), run every sample with the vector engine in chunks, write the results "
            "with a `sample` dim and print the probability of meeting each goal. The same "
            "seed gives the same numbers. Example: yaan-sim ensemble "
            "uncertain/plan-uncertain.yaml --samples 1000 --seed 1 -o out/ens.nc"
        ),
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario files (or names in scenarios/) with an `uncertain:` block",
    )
    p.add_argument("--samples", "-n", type=positive_int, required=True, metavar="N")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--method",
        choices=("mc", "lhs", "sobol"),
        default="mc",
        help="mc: the scenario's Monte Carlo draws (as simulate(samples, seed)); "
        "lhs: Latin hypercube; sobol: scrambled Sobol sequence (default mc)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="results: .nc (default out/ensemble.nc), .csv (tidy long table) or .xlsx",
    )
    p.add_argument(
        "--vars",
        metavar="NAMES",
        help="variables to keep, comma-separated, or 'all' (default: those the goals need)",
    )
    p.add_argument("--year", type=int, default=2020, help="evaluation year (default 2020)")
    p.add_argument(
        "--posterior",
        metavar="POSTERIOR.nc",
        help="draw the calibrated constants from this posterior (yaan-sim calibrate "
        "--posterior); the scenario then needs no `uncertain:` block",
    )
    p.add_argument(
        "--chart", metavar="FAN.png", help="also draw a fan chart of city revenue against its goal"
    )
    p.add_argument("--lang", choices=("zh", "en"), default="en", help="chart language")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    add_run_options(p)
    p.set_defaults(func=cmd_ensemble)


def cmd_ensemble(args) -> int:
    from yaan_sim.analysis.ensemble import export, run_ensemble
    from yaan_sim.outputs.results import check_writable

    out = prepare_output(args.output, args.force, DEFAULT_OUT)
    if args.chart:
        check_writable(args.chart, args.force)
    from yaan_sim.model.load import load_model
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    scenarios = load_scenarios(args.scenarios, model)
    horizon = parse_horizon(args.horizon, model)
    rv = None if not args.vars else ("all" if args.vars == "all" else split_list(args.vars))
    ds = run_ensemble(
        model,
        scenarios,
        args.samples,
        seed=args.seed,
        method=args.method,
        horizon=horizon,
        return_vars=rv,
        engine=args.engine,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
        argv=sys.argv,
        posterior=args.posterior,
    )
    export(ds, out, force=args.force)
    print_goal_probabilities(ds, args.year)
    print(
        f"\nwrote {out} ({args.samples} samples x {ds.sizes['scenario']} scenario(s), "
        f"method {args.method}, seed {args.seed})"
    )
    if args.chart:
        write_fan(ds, args.chart, args.lang, args.force)
        print(f"wrote {args.chart}")
    return 0


def print_goal_probabilities(ds, year: int) -> None:
    """The binding rows of the goal table with P(met), median value and gap."""
    from yaan_sim.outputs.evaluate import evaluate

    years = [float(t) for t in ds["time"].values]
    year = int(min(year, max(years)))
    try:
        table = evaluate(ds, year=year)
    except YaanSimError as exc:
        print(f"(no goal table: {exc})")
        return
    table = table[table["binding"]]
    cols = [
        c
        for c in (
            "scenario",
            "goal_id",
            "scope_label",
            "target",
            "value",
            "unit",
            "status",
            "p_met",
        )
        if c in table.columns
    ]
    print(f"Goals ({year}; value = median path; p_met = share of samples meeting the goal):")
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def write_fan(ds, path, lang: str, force: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yaan_sim.outputs.charts import plot_fan
    from yaan_sim.outputs.results import write_atomic

    ax = plot_fan(ds, "revenue_city", lang=lang)
    fig = ax.figure
    fmt = Path(path).suffix.lstrip(".") or "png"
    write_atomic(
        path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"), force=force
    )
    plt.close(fig)
