"""``yaan-sim backtest``: every ledger figure against the model, one row each."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    engine_option,
    force_option,
    lang_option,
    model_option,
    nonfinite_option,
    year_int,
)
from yaan_sim.errors import YaanSimError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backtest",
        parents=[
            engine_option(),
            model_option(),
            lang_option("en", "chart language"),
            force_option(),
            nonfinite_option(),
        ],
        help="compare the model with every published figure of the data ledger",
        description=(
            "One row per ledger figure: variable, scope, period, measure, observed, "
            "simulated, ratio, role (fit, held-out, derived or not comparable, with the "
            "reason) and confidence. Without RESULTS it runs the baseline (the .mdl's "
            "values) over the model's horizon; with an ensemble it gives the median and "
            "the 90% interval. Example: yaan-sim backtest out/ensemble.nc --format csv"
        ),
    )
    p.add_argument(
        "results",
        nargs="?",
        metavar="RESULTS.nc",
        help="results written by yaan-sim (default: run the baseline)",
    )
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (the compared figures, default), json or csv (every figure)",
    )
    p.add_argument(
        "--all", action="store_true", help="table format: also list the figures not compared"
    )
    p.add_argument(
        "--cutoff",
        type=year_int,
        default=None,
        metavar="YEAR",
        help="figures for periods after this year are held out (default 2017)",
    )
    p.add_argument("--scenario", metavar="NAME", help="the scenario of RESULTS (default: first)")
    p.add_argument("--ledger", metavar="DIR", help="the data ledger (default models/data/ledger)")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write every figure to FILE, in the format its suffix names (.csv, .xlsx, "
        ".json, .parquet, .md, .html) instead of the screen",
    )
    p.add_argument("--chart", metavar="CHART.png", help="also draw simulated/observed by figure")
    p.set_defaults(func=cmd_backtest)


def cmd_backtest(args: argparse.Namespace) -> int:
    from yaan_sim.outputs.export import check_table_suffix
    from yaan_sim.outputs.results import write_atomic

    if args.output:
        check_table_suffix(args.output)
    check_outputs(
        args.output, args.chart, force=args.force, inputs=[args.results, args.model, args.ledger]
    )
    from yaan_sim.analysis.backtest import backtest, format_backtest
    from yaan_sim.analysis.backtest_observations import DEFAULT_CUTOFF
    from yaan_sim.model.ledger import read_ledger
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for

    results = None
    if args.results:
        from yaan_sim.outputs.results_check import open_results

        results = open_results(args.results)
    ledger = read_ledger(args.ledger) if args.ledger else read_ledger()
    model = load_model(args.model)
    if not profile_for(model).is_yaan and not args.ledger:
        raise YaanSimError(
            f"backtest compares the model with the Ya'an data ledger (models/data/ledger), "
            f"whose figures {model.mdl_path.name} does not model: give its own ledger with "
            "--ledger DIR"
        )
    if results is not None:
        want = model.mdl_sha256
        got = results.attrs.get("model_sha256")
        if got and got != want:
            raise YaanSimError(
                f"{args.results} was made with another model (sha256 {got[:12]}..., this one "
                f"is {want[:12]}...): pass that model with --model, or run again"
            )
    if args.cutoff is not None:  # a year outside the run holds out nothing or everything
        h = model.default_horizon
        first, last = math.ceil(h.start - 1e-9), math.floor(h.stop + 1e-9) - 1
        if not first <= args.cutoff <= last:
            raise YaanSimError(
                f"--cutoff {args.cutoff} is outside the calendar years the model runs "
                f"({first}-{last}): choose a year from {first} to {last}"
            )
    table = backtest(
        model,
        results,
        ledger,
        cutoff=DEFAULT_CUTOFF if args.cutoff is None else args.cutoff,
        scenario=args.scenario,
        engine=args.engine,
    )
    if args.output:
        from yaan_sim.outputs.export import write_table

        texts = {".json": format_backtest(table, "json") + "\n"}
        write_table(table, args.output, force=args.force, texts=texts)
        print(f"wrote {args.output}")
    else:
        print(format_backtest(table, args.format, all_rows=args.all))
    if args.chart:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from yaan_sim.analysis.backtest_chart import backtest_chart

        ax = backtest_chart(table, lang=args.lang)
        fig = ax.figure
        fmt = Path(args.chart).suffix.lstrip(".") or "png"
        write_atomic(
            args.chart,
            lambda tmp: fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"),
            force=args.force,
        )
        plt.close(fig)
        print(f"wrote {args.chart}")
    return 0
