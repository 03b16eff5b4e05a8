"""``yaan-sim rerun``: produce a results file again from its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    force_option,
    model_option,
    nonfinite_option,
    output_option,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "rerun",
        parents=[
            output_option("AGAIN.nc", "the results file to write", required=True),
            model_option("the .mdl that produced it (default: models/yaan_parks.mdl)"),
            force_option("overwrite an existing output"),
            nonfinite_option(),
        ],
        help="re-run a results file from its manifest",
        description="Run again what produced RESULTS.nc (model, scenario texts, engine, "
        "horizon, samples, seed, all read from its manifest) and write -o.",
    )
    p.add_argument("results", metavar="RESULTS.nc")
    p.set_defaults(func=cmd_rerun)


def cmd_rerun(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.rerun import rerun
    from yaan_sim.errors import YaanSimError
    from yaan_sim.outputs.results import to_netcdf

    if Path(args.output).suffix.lower() != ".nc":
        raise YaanSimError(f"{args.output}: rerun writes netCDF: give -o FILE.nc")
    check_outputs(args.output, force=args.force, inputs=[args.results, args.model])
    ds = rerun(args.results, model_path=args.model)
    to_netcdf(ds, args.output, force=args.force)
    print(f"wrote {args.output}")
    return 0
