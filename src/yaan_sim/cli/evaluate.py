"""``yaan-sim evaluate RESULTS.nc``: the goal table of a results file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    force_option,
    lang_option,
    output_option,
    year_option,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        parents=[
            year_option(2020, "evaluation year (default 2020; e.g. 2018 for the mid-term review)"),
            lang_option("en", "language of goal and place names (default: en)"),
            output_option("FILE", "write to this file instead of standard output", type=Path),
            force_option("overwrite --output if it exists"),
        ],
        help="compare results with the plan's goals (goal table)",
        description="Compare simulation results with the plan's goals: one row per goal and "
        "scope (and scenario), with target, value, gap, status (met / on track / "
        "at risk / missed), the year first met, and the growth needed against "
        "the growth simulated.",
    )
    p.add_argument("results", type=Path, help="results netCDF file written by 'yaan-sim run'")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json", "md"),
        default="table",
        help="output format (default: table)",
    )
    p.add_argument(
        "--goals", type=Path, default=None, help="goals file (default: scenarios/plan-goals.yaml)"
    )
    p.add_argument(
        "--observed",
        type=Path,
        default=None,
        metavar="CSV",
        help="observed figures replacing simulated values (mid-term mode), e.g. "
        "models/data/observed.csv",
    )
    p.add_argument(
        "--all-columns",
        action="store_true",
        help="every column of the goal table, not only the main ones "
        "(csv and json always have all)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yaan_sim.outputs.evaluate import (
        evaluate,
        format_table,
        load_observed,
        open_results,
        summary,
    )
    from yaan_sim.outputs.goals import DEFAULT_GOALS, load_goals
    from yaan_sim.outputs.report import write_text_atomic

    inputs = [args.results, args.goals or DEFAULT_GOALS, args.observed]
    check_outputs(args.output, force=args.force, inputs=inputs)
    ds = open_results(args.results)
    goals = load_goals(args.goals)
    observed = None
    if args.observed is not None:
        observed = load_observed(args.observed, source=ds, goals=goals)
    table = evaluate(ds, goals, year=args.year, observed=observed, lang=args.lang)
    if args.format in ("table", "md") and not args.all_columns:
        table = summary(table)
    text = format_table(table, args.format, lang=args.lang)
    if args.output is not None:
        write_text_atomic(args.output, text, force=args.force, inputs=inputs)
    else:
        sys.stdout.write(text)
    return 0
