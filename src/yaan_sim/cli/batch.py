"""``yaan-sim batch``: every scenario of a folder, resumable, with a summary."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    add_sampling_method,
    check_outputs,
    force_option,
    goal_year,
    nonfinite_option,
    output_option,
    parse_horizon,
    positive_int,
    prepare_output,
    require_variables,
    run_horizon,
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
            output_option(
                "OUT",
                "results by suffix: .nc (default out/batch.nc), .csv, .parquet, .json, .xlsx "
                "(the evaluation workbook)",
            ),
            seed_option(),
            year_option(
                None,
                "evaluation year of the summary (default 2020, or the last year of a shorter "
                "run; another model's goals each at their own year)",
            ),
            force_option("overwrite OUT, and discard saved parts of another batch"),
            *run_options(),
            nonfinite_option(),
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
    add_sampling_method(
        p,
        "with --samples, how the uncertain blocks are drawn: mc (Monte Carlo), lhs "
        "(Latin hypercube) or sobol (scrambled Sobol sequence) (default mc)",
    )
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
    p.add_argument(
        "--out-dir",
        metavar="DIR",
        help="also write the package there: goal tables, workbook, charts and reports "
        "(as `make run` does)",
    )
    p.add_argument("--reference", metavar="NAME", help="the package's reference scenario")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.batch import collect_scenarios, parts_dir, run_batch, status_matrix
    from yaan_sim.analysis.runner import resolve_return_vars
    from yaan_sim.errors import YaanSimError
    from yaan_sim.model.profile import profile_for
    from yaan_sim.outputs.finite import NonFiniteError
    from yaan_sim.outputs.goals import profile_goals

    if args.reference is not None and args.out_dir is None:
        raise YaanSimError(
            "--reference names the reference scenario of the package: give --out-dir DIR too"
        )
    # the model's profile from its path: its scenarios and goals are inputs of the outputs
    profile = profile_for(None if args.model is None else Path(args.model).resolve())
    default = [str(profile.scenarios_dir)] if profile.scenarios_dir is not None else []
    sources = args.sources or default
    inputs = [*sources, args.model, profile.goals_path]
    out = prepare_output(args.output, args.force, DEFAULT_OUT, inputs=inputs)
    if args.out_dir is not None:  # the package's files, checked before the work
        from yaan_sim.outputs.package import PACKAGE_FILES

        pkg = Path(args.out_dir)
        if pkg.exists() and not pkg.is_dir():
            raise YaanSimError(f"{pkg} is a file: --out-dir needs a folder there")
        pkg.mkdir(parents=True, exist_ok=True)
        check_outputs(*(pkg / n for n in PACKAGE_FILES), force=args.force)
    parts = parts_dir(out)
    if parts.exists() and not parts.is_dir():
        raise YaanSimError(f"{parts} is a file: the batch keeps its parts in a folder there")
    from yaan_sim.model.load import load_model

    model = load_model(args.model)
    if not sources:
        raise YaanSimError(
            f"{profile.model_name} has no scenarios/ folder beside it: give scenario files "
            "or folders to run"
        )
    goals = None if profile.is_yaan else profile_goals(profile)
    rv = variables_arg(args.vars)
    horizon = parse_horizon(args.horizon, model)
    scenarios = collect_scenarios(sources, model)
    if args.reference is not None:  # before the run: a name that is not run fails at once
        from yaan_sim.outputs.workbook import check_reference_name

        check_reference_name(args.reference, [s.name for s in scenarios])
    year = goal_year(args.year, run_horizon(model, scenarios, horizon), goals)
    if args.samples:
        require_variables(
            model,
            resolve_return_vars(rv, goals=goals, model=model),
            "an ensemble batch keeps by default (the goals need it): keep others with --vars",
        )
    try:
        res = run_batch(
            model,
            sources,
            out,
            samples=args.samples,
            seed=args.seed,
            method=args.method,
            horizon=horizon,
            return_vars=rv,
            engine=args.engine,
            chunk_size=args.chunk_size,
            scheduler=args.scheduler,
            workers=args.workers,
            resume=args.resume,
            force=args.force,
            progress=not args.no_progress,
            year=year,
            keep_parts=args.keep_parts,
            argv=sys.argv,
        )
    except NonFiniteError:  # nothing kept: not the results, nor their parts
        if not args.keep_parts:
            shutil.rmtree(parts, ignore_errors=True)
        raise
    except KeyboardInterrupt:
        print(
            f"yaan-sim batch: interrupted; finished parts are saved in {parts_dir(out)}: "
            "run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130
    if res.no_summary:
        print(f"(no summary against the goals: {res.no_summary})")
    elif len(res.summary):
        print(f"Summary ({'P(met)' if args.samples else 'status'} per goal and scenario):")
        print(status_matrix(res.summary).to_string())
    else:
        print(
            f"yaan-sim batch: notice: no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): no summary against goals",
            file=sys.stderr,
        )
        print(f"(no summary against the goals: {profile.model_name} has no goals file)")
    print(f"\nran {len(res.ran)} part(s), reused {len(res.reused)} saved part(s)")
    print(f"wrote {out}")
    if args.out_dir is not None:
        from yaan_sim.outputs.package import write_package

        for path in write_package(  # judged in the summary's year (a shorter run: its last)
            res.dataset,
            args.out_dir,
            force=args.force,
            reference=args.reference,
            model=model,
            year=year,
        ):
            print(f"wrote {path}")
    return 0
