"""``yaan-sim evaluate RESULTS.nc``: the goal table of a results file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yaan_sim.cli._common import (
    check_outputs,
    force_option,
    lang_option,
    model_option,
    output_option,
    year_option,
)

if TYPE_CHECKING:  # the command imports its heavy libraries when it runs
    from collections.abc import Sequence

    import pandas as pd
    import xarray as xr


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
            output_option(
                "FILE",
                "write to this file instead of standard output, in the format its suffix "
                "names: .xlsx (the evaluation workbook), .csv, .json, .parquet (every "
                "column), .md, .html",
                type=Path,
            ),
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
        "the growth simulated. Before the goal year (--year 2018) the status is a "
        "projection: 'missed' means the value in that year, grown at the simulated rate, "
        "falls short of the target in the goal year by more than the margin of 'at risk'.",
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
    from yaan_sim.outputs.evaluate import evaluate
    from yaan_sim.outputs.export import check_table_suffix
    from yaan_sim.outputs.goal_table import format_table, summary
    from yaan_sim.outputs.goals import load_goals, profile_goals
    from yaan_sim.outputs.observed import load_observed
    from yaan_sim.outputs.results import open_results
    from yaan_sim.outputs.results_check import check_results

    inputs = [args.results, args.goals, args.observed, args.model]
    if args.output is not None:
        check_table_suffix(args.output)
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
    if args.output is not None:
        write_goal_table(ds, table, args.output, lang=args.lang, force=args.force, inputs=inputs)
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    if args.format in ("table", "md") and not args.all_columns:
        table = summary(table)
    sys.stdout.write(format_table(table, args.format, lang=args.lang))
    return 0


def write_goal_table(
    ds: xr.Dataset,
    table: pd.DataFrame,
    path: Path,
    *,
    lang: str,
    force: bool,
    inputs: Sequence[str | Path | None] = (),
) -> Path:
    """The goal table by the suffix of ``path``: the evaluation workbook (.xlsx), every
    column (.csv, .json, .parquet), or the main columns for people (.md, .html)."""
    import pandas as pd

    from yaan_sim.outputs.export import write_table
    from yaan_sim.outputs.goal_table import format_table, summary

    suffix = path.suffix.lower()
    if suffix == ".xlsx" and "park" in ds.dims:
        from yaan_sim.outputs.workbook import write_workbook

        return write_workbook(ds, path, lang, table=table, force=force, inputs=inputs)
    texts = {
        ".csv": format_table(table, "csv"),
        ".json": format_table(table, "json"),
        ".md": format_table(summary(table), "md", lang=lang),
    }
    df = table
    if suffix == ".html":  # for people, as the Markdown: status words, units, plain numbers
        from yaan_sim.outputs.goal_table import human_cells

        header, rows = human_cells(summary(table), lang)
        df = pd.DataFrame(rows, columns=header)
    return write_table(df, path, force=force, texts=texts, inputs=inputs)
