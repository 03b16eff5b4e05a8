"""``yaan-sim rerun``: produce a results file again from its manifest."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "rerun",
        help="re-run a results file from its manifest",
        description="Run again what produced RESULTS.nc (model, scenario texts, engine, "
        "horizon, samples, seed, all read from its manifest) and write -o.",
    )
    p.add_argument("results", metavar="RESULTS.nc")
    p.add_argument("-o", "--output", required=True, metavar="AGAIN.nc")
    p.add_argument(
        "--model",
        metavar="MODEL.mdl",
        help="the .mdl that produced it (default: models/yaan_parks.mdl)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_rerun)


def cmd_rerun(args) -> int:
    from yaan_sim.analysis.rerun import rerun
    from yaan_sim.outputs.results import check_writable, to_netcdf

    check_writable(args.output, args.force)
    ds = rerun(args.results, model_path=args.model)
    to_netcdf(ds, args.output, force=args.force)
    print(f"wrote {args.output}")
    return 0
