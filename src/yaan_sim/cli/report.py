"""``yaan-sim report RESULTS.nc -o report.html``: the self-contained HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import check_outputs, force_option, lang_option, year_option


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        parents=[
            lang_option("zh", "report language (default: zh)"),
            year_option(2020, "evaluation year (default 2020)"),
            force_option("overwrite the output if it exists"),
        ],
        help="write the evaluation report (one self-contained HTML file)",
        description="Write one self-contained HTML file (charts embedded) for the mid-term "
        "review: scenarios and their levers, goal tables, charts, the model's "
        "assumptions and the run manifest.",
    )
    p.add_argument("results", type=Path, help="results netCDF file written by 'yaan-sim run'")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("report.html"),
        help="HTML file to write (default: report.html)",
    )
    p.add_argument(
        "--goals", type=Path, default=None, help="goals file (default: scenarios/plan-goals.yaml)"
    )
    observed = p.add_mutually_exclusive_group()
    observed.add_argument(
        "--observed",
        type=Path,
        default=None,
        metavar="CSV",
        help="observed figures (default: models/data/observed.csv)",
    )
    observed.add_argument("--no-observed", action="store_true", help="use no observed figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    from yaan_sim.outputs.evaluate import open_results
    from yaan_sim.outputs.goals import DEFAULT_GOALS, load_goals
    from yaan_sim.outputs.observed import DEFAULT_OBSERVED
    from yaan_sim.outputs.report import write_report

    observed_file = None if args.no_observed else (args.observed or DEFAULT_OBSERVED)
    inputs = [args.results, args.goals or DEFAULT_GOALS, observed_file]
    check_outputs(args.output, force=args.force, inputs=inputs)
    ds = open_results(args.results)
    goals = load_goals(args.goals)
    observed = False if args.no_observed else args.observed
    path = write_report(
        ds,
        args.output,
        lang=args.lang,
        goals=goals,
        year=args.year,
        observed=observed,
        force=args.force,
    )
    print(f"wrote {path}")
    return 0
