"""``yaan-sim export RESULTS.nc -o 评估.xlsx``: results in another format, above all the
evaluation workbook."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import check_outputs, force_option, lang_option, year_option


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        parents=[
            year_option(2020, "the goals' evaluation year (default 2020)"),
            lang_option("zh", "language of the workbook's headers and labels (default: zh)"),
            force_option("overwrite the output if it exists"),
        ],
        help="write results as the evaluation workbook (.xlsx), CSV, Parquet, JSON or netCDF",
        description=(
            "Write a results file in the format the output's suffix names. .xlsx: the "
            "evaluation workbook (goals x scenario with status and P(met), park x year for "
            "the main variables, levers, the model's constants and sources, the observed "
            "figures and the back-test); an ensemble as its quantiles. .csv, .parquet, "
            ".json: the tidy long table; .nc: netCDF. "
            "Example: yaan-sim export out/runs.nc -o 评估.xlsx --reference baseline"
        ),
    )
    p.add_argument("results", type=Path, help="results netCDF file written by yaan-sim")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="the file to write; its suffix (.xlsx, .csv, .parquet, .json, .nc) sets the format",
    )
    p.add_argument(
        "--reference",
        metavar="SCENARIO",
        help="workbook: add each goal's difference from this scenario",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from yaan_sim.outputs.export import check_suffix, export
    from yaan_sim.outputs.results import open_results

    check_suffix(args.output, hint="For the report use `yaan-sim report`")
    check_outputs(args.output, force=args.force, inputs=[args.results])
    ds = open_results(args.results)
    if args.output.suffix.lower() == ".xlsx" and "park" in ds.dims:
        from yaan_sim.outputs.calendar_years import check_year
        from yaan_sim.outputs.workbook import write_workbook

        year = check_year(ds, args.year)
        write_workbook(
            ds,
            args.output,
            args.lang,
            force=args.force,
            reference=args.reference,
            year=year,
            inputs=[args.results],
            lever_effects=True,  # as the report: each scenario's change, lever by lever
        )
    else:
        export(ds, args.output, force=args.force)
    print(f"wrote {args.output}")
    return 0
