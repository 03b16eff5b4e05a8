"""``yaan-sim run``: run scenarios (or the default set) and write the results."""

from __future__ import annotations

import sys
from pathlib import Path

from yaan_sim.errors import YaanSimError

DEFAULT_OUT_DIR = Path("out")


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run scenarios and write results (netCDF)",
        description=(
            "Run the model. With scenario files: run each, stack them on a "
            "`scenario` dim and write -o OUT.nc. With none: run the default "
            "scenario set of scenarios/ and write results, goal table, charts "
            "and report to --out-dir (the main job of `make run`)."
        ),
    )
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO.yaml",
        help="scenario files or names from scenarios/ (default: the shipped set)",
    )
    p.add_argument(
        "-o", "--output", metavar="OUT.nc", help="results file (default: OUT_DIR/runs.nc)"
    )
    p.add_argument(
        "--out-dir",
        default=str(DEFAULT_OUT_DIR),
        metavar="DIR",
        help="folder for the main job's outputs (default: out/)",
    )
    p.add_argument("--engine", default="auto", help="auto (default), vector or pysd")
    p.add_argument(
        "--model", metavar="MODEL.mdl", help="another Vensim model (default: models/yaan_parks.mdl)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_run)


def _is_goals_file(ref: str) -> bool:
    return Path(ref).name.endswith(("-goals.yaml", "-goals.yml"))


def revenue_table(ds, year=None) -> str:
    """2020 (or the last saved year) revenue per park and the city total, as text."""
    times = ds["time"].values
    year = year if year is not None else (2020.0 if 2020.0 in times else float(times[-1]))
    rev = ds["revenue"].sel(time=year)
    cols = list(ds["scenario"].values) if "scenario" in rev.dims else ["value"]
    width = max(12, *(len(c) + 2 for c in cols))
    lines = [
        f"Revenue in {year:g} (yiyuan = 亿元 per year)",
        f"{'park':<12}" + "".join(f"{c:>{width}}" for c in cols),
    ]
    for park in ds["park"].values:
        vals = rev.sel(park=park)
        vals = (
            [float(vals.sel(scenario=c)) for c in cols] if "scenario" in rev.dims else [float(vals)]
        )
        lines.append(f"{park:<12}" + "".join(f"{v:>{width}.1f}" for v in vals))
    city = rev.sum("park")
    vals = [float(city.sel(scenario=c)) for c in cols] if "scenario" in rev.dims else [float(city)]
    lines.append(f"{'City total':<12}" + "".join(f"{v:>{width}.1f}" for v in vals))
    return "\n".join(lines)


def cmd_run(args) -> int:
    from yaan_sim.engines.simulate import ENGINES, simulate
    from yaan_sim.model.load import load_model
    from yaan_sim.outputs.results import check_writable, to_netcdf

    if args.engine not in ENGINES:
        raise YaanSimError(f"unknown engine {args.engine!r}: choose one of {', '.join(ENGINES)}")
    main_job = not args.scenarios
    out_dir = Path(args.out_dir)
    if main_job:
        out_dir.mkdir(parents=True, exist_ok=True)
    output = Path(args.output) if args.output else out_dir / "runs.nc"
    check_writable(output, args.force)  # before the work, not after

    model = load_model(args.model)
    from yaan_sim.scenario import load_scenarios, scenario_files

    refs = [r for r in args.scenarios if not _is_goals_file(r)]
    if len(refs) < len(args.scenarios):
        print(
            "yaan-sim run: notice: goals files (*-goals.yaml) are not scenarios; skipped",
            file=sys.stderr,
        )
        if not refs:
            raise YaanSimError("no scenario files given, only goals files")
    refs = refs or [str(p) for p in scenario_files()]
    scenarios = load_scenarios(refs, model)
    ds = simulate(model, scenarios or None, engine=args.engine, argv=sys.argv)
    to_netcdf(ds, output, force=args.force)
    print(revenue_table(ds))
    print(f"\nwrote {output} (engine: {ds.attrs['engine']})")
    if main_job:
        from yaan_sim.outputs.report import write_main_job_outputs

        for path in write_main_job_outputs(ds, out_dir, force=args.force):
            print(f"wrote {path}")
    return 0
