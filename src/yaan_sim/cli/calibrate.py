"""``yaan-sim calibrate``: fit constants to observed series within the model's ranges."""

from __future__ import annotations

from pathlib import Path

from yaan_sim.cli.ensemble import split_list

DEFAULT_YAML = Path("out") / "calibrated.yaml"


def register(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit constants to observed data (least squares within ranges)",
        description=(
            "Fit chosen constants to observed series (scipy least squares, bounded by each "
            "constant's [min,max]): fitted values with standard errors, RMSE, MAPE and "
            "Theil's inequality split, and a scenario YAML holding the values. Example (the "
            "ETDZ 2013-2015 back-test): yaan-sim calibrate --params "
            "'Initial revenue[ETDZ],Park attraction share[ETDZ]'"
        ),
    )
    p.add_argument(
        "--observed",
        metavar="FILE.csv",
        default=None,
        help="observed figures, long format variable,park,year,value "
        "(default models/data/observed.csv)",
    )
    p.add_argument(
        "--params",
        metavar="A,B[el],...",
        default="Initial revenue[ETDZ],Park attraction share[ETDZ]",
        help="constants to fit; NAME[ELEMENT] fits one element (default: ETDZ's "
        "2013 revenue and its share of the attracted funds)",
    )
    p.add_argument("--scenario", metavar="SCENARIO", help="levers in force during the fit")
    p.add_argument("--x0", metavar="V,V,...", help="start values (default: current values)")
    p.add_argument(
        "--obs-error",
        type=float,
        default=0.05,
        metavar="F",
        help="relative observation error assumed when the fit has no degrees of "
        "freedom (default 0.05)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FITTED.yaml",
        help="scenario file with the fitted values (default out/calibrated.yaml)",
    )
    p.add_argument("--name", help="the written scenario's name (default: the file's stem)")
    p.add_argument("--table", metavar="FIT.csv", help="also write the parameter table (.csv/.xlsx)")
    p.add_argument("--engine", default="auto", help="auto (default), vector or pysd")
    p.add_argument("--model", metavar="MODEL.mdl", help="another Vensim model")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args) -> int:
    from yaan_sim.analysis.calibrate import calibrate
    from yaan_sim.errors import YaanSimError
    from yaan_sim.outputs.evaluate import load_observed
    from yaan_sim.outputs.results import check_writable

    out = Path(args.output) if args.output else DEFAULT_YAML
    if not args.output:
        out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise YaanSimError(f"{out}: the fitted scenario is written as .yaml")
    check_writable(out, args.force)
    if args.table:
        check_writable(args.table, args.force)
    from yaan_sim.model.load import load_model
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    scenario = load_scenarios([args.scenario], model)[0] if args.scenario else None
    observed = load_observed(args.observed)
    x0 = None
    if args.x0:
        try:
            x0 = [float(v) for v in split_list(args.x0)]
        except ValueError:
            raise YaanSimError(f"--x0 {args.x0!r}: give numbers separated by commas") from None
    res = calibrate(
        model,
        observed,
        split_list(args.params),
        scenario=scenario,
        x0=x0,
        engine=args.engine,
        obs_error=args.obs_error,
    )
    print(res.summary())
    res.write_scenario(out, name=args.name, force=args.force, base_scenario=scenario)
    print(f"\nwrote {out}")
    if args.table:
        from yaan_sim.analysis.ensemble import write_table

        write_table(res.params, args.table, force=args.force)
        print(f"wrote {args.table}")
    return 0
