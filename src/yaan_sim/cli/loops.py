"""``yaan-sim loops RESULTS.nc``: which feedback loops drive each park, period by period."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yaan_sim.cli._common import (
    check_outputs,
    force_option,
    model_option,
    positive_int,
    real_number,
)
from yaan_sim.errors import YaanSimError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def register(sub: Any) -> None:
    p = sub.add_parser(
        "loops",
        parents=[
            model_option("the .mdl that produced RESULTS.nc (default: models/yaan_parks.mdl)"),
            force_option(),
        ],
        help="loop dominance: which feedback loops drive each park (Loops that Matter)",
        description=(
            "Run the scenario(s) of RESULTS.nc again at every computation interval and "
            "score every feedback loop with the Loops that Matter method (Schoenberg, "
            "Davidsen & Eberlein 2020). Prints, for each park and period, the loops that "
            "explain at least half of the change of the park's stocks, with their mean "
            "relative loop score (+ reinforcing, - balancing)."
        ),
    )
    p.add_argument("results", type=Path, metavar="RESULTS.nc", help="written by `yaan-sim run`")
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="analyse this scenario of the file (repeatable; default: all)",
    )
    p.add_argument("--park", metavar="PARK", help="only this park (e.g. ETDZ)")
    p.add_argument(
        "--through",
        metavar="VARIABLE",
        help="only the loops through this variable, compared with each other (e.g. Revenue: "
        "what drives revenue); default: every loop of the park",
    )
    p.add_argument(
        "--by-element",
        action="store_true",
        help="every loop per element (Revenue[ETDZ] ...), compared within its cycle "
        "partition as in LTM, instead of loop patterns per park",
    )
    p.add_argument(
        "--period",
        type=real_number(0.001, 1000),
        default=1.0,
        metavar="YEARS",
        help="length of the periods of the table (default 1 year)",
    )
    p.add_argument(
        "--share",
        type=real_number(0, 1, low_open=True),
        default=0.5,
        help="dominant loops: the strongest ones until their mean |relative score| adds to "
        "this (default 0.5, the method's definition)",
    )
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default: table)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the table to this file, in the format its suffix names (.csv, .xlsx, "
        ".json, .parquet, .md, .html)",
    )
    p.add_argument(
        "--netcdf",
        type=Path,
        metavar="LOOPS.nc",
        help="also write every loop's relative score over time (xarray Dataset)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "exhaustive", "strongest"),
        default="auto",
        help="loop finding: every loop (Johnson's algorithm), the strongest-path search "
        "(Eberlein & Schoenberg 2020), or auto: every loop up to --max-loops, else strongest",
    )
    p.add_argument(
        "--max-loops",
        type=positive_int,
        default=5000,
        metavar="N",
        help="enumerate at most N element-level loops (default 5000)",
    )
    p.add_argument(
        "--max-length",
        type=positive_int,
        default=None,
        metavar="N",
        help="ignore loops of more than N links (default: no bound)",
    )
    p.set_defaults(func=cmd_loops)


def cmd_loops(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.loops import check_park, dominant_loops, loops_of_results
    from yaan_sim.outputs.export import check_table_suffix
    from yaan_sim.outputs.results import open_results, to_netcdf

    if args.output is not None:
        check_table_suffix(args.output)
    check_outputs(args.output, args.netcdf, force=args.force, inputs=[args.results, args.model])
    if not args.period > 0:
        raise YaanSimError(f"--period must be a positive number of years, got {args.period:g}")
    if not 0 < args.share <= 1:
        raise YaanSimError(f"--share must be in (0, 1], got {args.share:g}")
    if args.by_element and args.park:
        raise YaanSimError("--by-element lists loops per element, not per park: drop --park")
    results = open_results(args.results)  # a bad file or park fails before the work
    if args.park and "park" in results.dims:
        check_park(results, args.park)
    ds = loops_of_results(
        args.results,
        model_path=args.model,
        scenarios=args.scenario,
        results=results,
        through=args.through,
        by=None if args.by_element else "park",
        method=args.method,
        max_loops=args.max_loops,
        max_length=args.max_length,
        argv=sys.argv,
    )
    park = check_park(ds, args.park) if args.park else None
    table = dominant_loops(ds, period=args.period, share=args.share, park=park)
    as_json = json.dumps(
        {
            "method": ds.attrs["method"],
            "loop_finding": ds.attrs["loop_finding"],
            "normalisation": ds.attrs["normalisation"],
            "dominant": table.to_dict("records"),
            "loops": _legend(ds, every=True),
        },
        ensure_ascii=False,
        indent=1,
    )
    if args.format == "csv":
        text = table.to_csv(index=False)
    elif args.format == "json":
        text = as_json
    else:
        text = format_table(ds, table, args.period, args.through)
    if args.netcdf is not None:
        to_netcdf(ds, args.netcdf, force=args.force)
    if args.output is not None:
        from yaan_sim.outputs.export import write_table

        write_table(table, args.output, force=args.force, texts={".json": as_json + "\n"})
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for path in (args.netcdf, args.output):
        if path is not None:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _legend(ds: xr.Dataset, every: bool = False) -> list[dict]:
    return [
        {
            "loop": str(ds["loop"].values[i]),
            "polarity": str(ds["polarity"].values[i]),
            "partition": int(ds["partition"].values[i]),
            "active": bool(ds["active"].values[i]),
            "path": str(ds["path"].values[i]),
        }
        for i in range(ds.sizes["loop"])
        if every or bool(ds["active"].values[i])
    ]


def _period(start: float, length: float) -> str:
    end = start + length
    return f"{start:g}-{end:g}"


def format_table(
    ds: xr.Dataset, table: pd.DataFrame, period: float, through: str | None = None
) -> str:
    """The dominant loops as text: per scenario and park, one line per period."""
    lines = [
        "Dominant feedback loops (Loops that Matter: Schoenberg, Davidsen & Eberlein 2020).",
        "Each period lists the loops that together explain at least half of the change of "
        "the stocks they connect; the number is the mean relative loop score (+ reinforcing, "
        "- balancing).",
    ]
    if through:
        lines.append(f"Only loops through {through!r}, compared with each other.")
    if "loop_finding" in ds.attrs and "strongest" in ds.attrs["loop_finding"]:
        lines.append("Loops found by the strongest-path search: the strong loops, not all.")
    if table.empty:
        lines.append("\nNo loop was active in the periods analysed.")
    groups = [g for g in ("scenario", "park") if g in table.columns]
    used = set()
    keys = table[groups].drop_duplicates().itertuples(index=False) if groups else [()]
    for key in keys:
        sel = table
        for g, v in zip(groups, key, strict=True):
            sel = sel[sel[g] == v]
        if sel.empty:
            continue
        head = ", ".join(f"{g} {v}" for g, v in zip(groups, key, strict=True))
        lines.append(f"\n{head}" if head else "")
        alone = []
        for part, rows in sel.groupby("partition", sort=True):
            ids = rows["loop"].unique()
            if len(ids) == 1 and (rows["share"].abs() > 1 - 1e-9).all():
                alone.append(ids[0])
                used.add(ids[0])
                continue
            stocks = _partition_stocks(ds, int(part))
            lines.append(f"  loops through {stocks}:")
            for start, prow in rows.groupby("period", sort=True):
                cells = "  ".join(f"{r.loop} {r.share:+.2f}" for r in prow.itertuples())
                lines.append(f"    {_period(start, period):<12}{cells}")
                used.update(prow["loop"])
        if alone:
            lines.append(
                "  alone in their part of the model (so always the only loop there): "
                + ", ".join(alone)
            )
    legend = [e for e in _legend(ds) if e["loop"] in used]
    if legend:
        lines.append("\nLoops:")
        lines += [f"  {e['loop']:<5}{e['path']}" for e in legend]
    inactive = int((~ds["active"].values).sum())
    if inactive:
        lines.append(
            f"\n{inactive} more loop(s) of the model's structure never acted in the run(s) "
            "analysed (a constraint that does not bind, a link that does not change); "
            "--format json lists them."
        )
    return "\n".join(lines) + "\n"


def _partition_stocks(ds: xr.Dataset, part: int) -> str:
    for entry in ds.attrs.get("partitions", "").split("; "):
        number, _, stocks = entry.partition(": ")
        if number.strip() == str(part):
            names = stocks.split(", ")
            return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"partition {part}"
