"""``yaan-sim calibrate``: fit constants to observed series within the model's ranges."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import engine_option, force_option, model_option, split_list

DEFAULT_YAML = Path("out") / "calibrated.yaml"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        parents=[engine_option(), model_option(), force_option()],
        help="fit constants to observed data (least squares within ranges)",
        description=(
            "Fit chosen constants to observed series (scipy least squares, bounded by each "
            "constant's [min,max]): fitted values with standard errors, RMSE, MAPE and "
            "Theil's inequality split, and a scenario YAML holding the values. Example (the "
            "ETDZ 2013-2015 back-test): yaan-sim calibrate --params "
            "'Investment attraction rate[ETDZ],Reconstruction realisation share'"
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
        default="Investment attraction rate[ETDZ],Reconstruction realisation share",
        help="constants to fit; NAME[ELEMENT] fits one element (default: the ETDZ "
        "investment attraction rate and the reconstruction realisation share)",
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
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
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
        from yaan_sim.outputs.export import write_table

        write_table(res.params, args.table, force=args.force)
        print(f"wrote {args.table}")
    return 0
