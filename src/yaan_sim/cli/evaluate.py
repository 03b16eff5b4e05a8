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
    model_option,
    output_option,
    year_option,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        parents=[
            year_option(
                None,
                "evaluation year (default 2020 for the plan's goals, e.g. 2018 for the "
                "mid-term review; another model's goals each at their own year)",
            ),
            lang_option("en", "language of goal and place names (default: en)"),
            output_option("FILE", "write to this file instead of standard output", type=Path),
            force_option("overwrite --output if it exists"),
            model_option(
                "the model the results come from, to find its goals file (default: the one "
                "the results name; needed for another model's goals beside its .mdl)"
            ),
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
        "--goals",
        type=Path,
        default=None,
        help="goals file (default: the model's: scenarios/plan-goals.yaml for the Ya'an "
        "model, <model>.goals.yaml or goals.yaml beside another .mdl)",
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
    from yaan_sim.errors import YaanSimError
    from yaan_sim.model.profile import profile_for_results
    from yaan_sim.outputs.evaluate import (
        check_results,
        evaluate,
        format_table,
        load_observed,
        summary,
    )
    from yaan_sim.outputs.goals import load_goals, profile_goals
    from yaan_sim.outputs.report import write_text_atomic
    from yaan_sim.outputs.results import open_results

    inputs = [args.results, args.goals, args.observed, args.model]
    check_outputs(args.output, force=args.force, inputs=inputs)  # before the results are read
    ds = open_results(args.results)
    profile = profile_for_results(ds, args.model)
    if args.goals is None:  # the goals file of the results' model is an input too
        inputs.append(profile.goals_path)
        check_outputs(args.output, force=args.force, inputs=inputs)
    check_results(ds, str(args.results), parks=profile.is_yaan)
    goals = load_goals(args.goals) if args.goals is not None else profile_goals(profile)
    if goals is None:
        print(
            f"yaan-sim evaluate: notice: no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): nothing to evaluate; pass --goals FILE",
            file=sys.stderr,
        )
        return 0
    observed = None
    if args.observed is not None:
        if not profile.is_yaan:
            raise YaanSimError(
                "--observed takes the Ya'an parks' figures; the results are of "
                f"{profile.model_name}: leave it out"
            )
        observed = load_observed(args.observed, source=ds, goals=goals)
    year = 2020 if args.year is None and profile.is_yaan else args.year
    table = evaluate(ds, goals, year=year, observed=observed, lang=args.lang)
    if args.format in ("table", "md") and not args.all_columns:
        table = summary(table)
    text = format_table(table, args.format, lang=args.lang)
    if args.output is not None:
        write_text_atomic(args.output, text, force=args.force, inputs=inputs)
    else:
        sys.stdout.write(text)
    return 0
