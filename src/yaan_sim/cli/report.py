"""``yaan-sim report RESULTS.nc -o report.html``: the self-contained HTML report."""

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
    year_option,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        parents=[
            lang_option("zh", "report language (default: zh)"),
            year_option(
                None,
                "evaluation year (default 2020 for the plan; another model's goals each "
                "at their own year)",
            ),
            force_option("overwrite the output if it exists"),
            model_option(
                "the model the results come from (default: the one the results name; "
                "needed to find another model's goals file and documentation)"
            ),
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
        "--goals",
        type=Path,
        default=None,
        help="goals file (default: the model's: scenarios/plan-goals.yaml for the Ya'an "
        "model, <model>.goals.yaml or goals.yaml beside another .mdl)",
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
    p.add_argument(
        "--reference",
        metavar="NAME",
        help="the scenario the findings compare the others with (default: the first)",
    )
    p.add_argument(
        "--loops",
        type=Path,
        metavar="LOOPS.nc",
        help="loop scores from `yaan-sim loops RESULTS.nc --netcdf LOOPS.nc`, for the "
        "loop-dominance section",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    from yaan_sim.errors import YaanSimError
    from yaan_sim.model.profile import profile_for_results
    from yaan_sim.outputs.goals import load_goals
    from yaan_sim.outputs.observed import DEFAULT_OBSERVED
    from yaan_sim.outputs.report import write_report
    from yaan_sim.outputs.results import open_results

    inputs = [args.results, args.goals, args.observed, args.model, args.loops]
    if args.output.suffix.lower() not in (".html", ".htm"):
        raise YaanSimError(
            f"{args.output}: the report is one HTML file: give -o FILE.html (for the "
            "workbook: yaan-sim export RESULTS.nc -o FILE.xlsx)"
        )
    check_outputs(args.output, force=args.force, inputs=inputs)  # before the results are read
    if args.model is not None and (
        not Path(args.model).is_file() or Path(args.model).suffix.lower() != ".mdl"
    ):
        raise YaanSimError(
            f"--model {args.model}: not a Vensim model file (.mdl). Give the .mdl the "
            "results were run with, or leave --model out to use the one the results name"
        )
    ds = open_results(args.results)
    if args.reference is not None:
        from yaan_sim.outputs.workbook import check_reference

        check_reference(ds, args.reference)
    loops = open_results(args.loops) if args.loops is not None else None  # fails before work
    profile = profile_for_results(ds, args.model)
    # the default goals and observed files of the results' model are inputs too
    defaults = [None if args.goals else profile.goals_path]
    if profile.is_yaan and not args.no_observed and args.observed is None:
        defaults.append(DEFAULT_OBSERVED)
    if any(defaults):
        inputs += defaults
        check_outputs(args.output, force=args.force, inputs=inputs)
    goals = load_goals(args.goals) if args.goals is not None else None  # None: the profile's
    if args.observed is not None and not profile.is_yaan:
        raise YaanSimError(
            "--observed takes the Ya'an parks' figures; the results are of "
            f"{profile.model_name}: leave it out"
        )
    observed = False if args.no_observed or not profile.is_yaan else args.observed
    path = write_report(
        ds,
        args.output,
        lang=args.lang,
        goals=goals,
        year=args.year,
        observed=observed,
        force=args.force,
        profile=profile,
        reference=args.reference,
        loops=loops,
    )
    if not profile.is_yaan and goals is None and profile.goals_path is None:
        print(
            f"yaan-sim report: notice: no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): the report has no goal table",
            file=sys.stderr,
        )
    print(f"wrote {path}")
    return 0
