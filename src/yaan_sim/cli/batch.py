"""``yaan-sim batch``: every scenario of a folder, resumable, with a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    force_option,
    output_option,
    parse_horizon,
    positive_int,
    prepare_output,
    run_options,
    seed_option,
    variables_arg,
    year_option,
)

DEFAULT_OUT = Path("out") / "batch.nc"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "batch",
        parents=[
            output_option("OUT", "results: .nc (default out/batch.nc), .csv or .xlsx"),
            seed_option(),
            year_option(2020, "evaluation year of the summary"),
            force_option("overwrite OUT, and discard saved parts of another batch"),
            *run_options(),
        ],
        help="run every scenario of a folder (resumable) and summarise",
        description=(
            "Run every scenario file of the folders and files given (default scenarios/), "
            "with a progress bar, saving each finished scenario (or chunk of samples) at "
            "once in OUT.parts/; then combine them into OUT and print a summary against the "
            "goals. After an interruption, --resume continues without redoing saved parts. "
            "Nothing is overwritten without --force. Example: yaan-sim batch scenarios/ -o "
            "out/batch.nc"
        ),
    )
    p.add_argument(
        "sources",
        nargs="*",
        metavar="FOLDER|FILE",
        default=None,
        help="folders of scenario files and/or files (default: scenarios/, or the "
        "scenarios/ folder beside another --model)",
    )
    p.add_argument(
        "--samples",
        "-n",
        type=positive_int,
        default=None,
        metavar="N",
        help="run each scenario as an ensemble of N samples of its uncertain block",
    )
    p.add_argument("--method", choices=("mc", "lhs", "sobol"), default="mc")
    p.add_argument(
        "--vars",
        metavar="NAMES",
        help="variables to keep (default: all; for ensembles: those the goals need)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted batch, reusing its saved parts",
    )
    p.add_argument("--keep-parts", action="store_true", help="keep OUT.parts/ when done")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.batch import parts_dir, run_batch, status_matrix
    from yaan_sim.errors import YaanSimError
    from yaan_sim.model.profile import profile_for

    out = prepare_output(args.output, args.force, DEFAULT_OUT)
    from yaan_sim.model.load import load_model

    model = load_model(args.model)
    profile = profile_for(model)
    if not args.sources and profile.scenarios_dir is None:
        raise YaanSimError(
            f"{profile.model_name} has no scenarios/ folder beside it: give scenario files "
            "or folders to run"
        )
    sources = args.sources or [str(profile.scenarios_dir)]
    rv = variables_arg(args.vars)
    try:
        res = run_batch(
            model,
            sources,
            out,
            samples=args.samples,
            seed=args.seed,
            method=args.method,
            horizon=parse_horizon(args.horizon, model),
            return_vars=rv,
            engine=args.engine,
            chunk_size=args.chunk_size,
            scheduler=args.scheduler,
            workers=args.workers,
            resume=args.resume,
            force=args.force,
            progress=not args.no_progress,
            year=args.year,
            keep_parts=args.keep_parts,
            argv=sys.argv,
        )
    except KeyboardInterrupt:
        print(
            f"yaan-sim batch: interrupted; finished parts are saved in {parts_dir(out)}: "
            "run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130
    if len(res.summary):
        print(f"Summary ({'P(met)' if args.samples else 'status'} per goal and scenario):")
        print(status_matrix(res.summary).to_string())
    else:
        print(
            f"yaan-sim batch: notice: no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): no summary against goals",
            file=sys.stderr,
        )
    print(f"\nran {len(res.ran)} part(s), reused {len(res.reused)} saved part(s)")
    print(f"wrote {out}")
    return 0
