"""``yaan-sim calibrate``: fit constants to the data ledger; ``--posterior`` samples them."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    engine_option,
    force_option,
    model_option,
    output_option,
    positive_int,
    prepare_table,
    progress_option,
    real_number,
    seed_option,
    split_list,
    whole_number,
    year_int,
)
from yaan_sim.errors import YaanSimError

DEFAULT_YAML = Path("out") / "calibrated.yaml"
DEFAULT_POSTERIOR = Path("out") / "posterior.nc"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        parents=[
            engine_option(),
            model_option(),
            seed_option(),
            output_option("FITTED.yaml", "the fitted values (default out/calibrated.yaml)"),
            progress_option(),
            force_option(),
        ],
        help="fit constants to the data ledger; --posterior: a Bayesian posterior ensemble",
        description=(
            "Fit the constants the .mdl marks with `calibrate:` (or --params) to every "
            "ledger figure a model variable observes, at once, weighted by confidence "
            "(levels on the log scale, growth rates in points). Figures whose period ends "
            "after --cutoff (default 2017) are held out: their error is reported beside the "
            "in-sample one. Prints the fitted values with standard errors and, per series, "
            "RMSE, MAPE and Theil's bias/variance/covariance split; writes a YAML of the "
            "values. --posterior also samples the posterior (emcee) and writes it as netCDF "
            "for `yaan-sim ensemble SCENARIO --posterior FILE`. Example: yaan-sim calibrate "
            "--posterior out/posterior.nc --steps 3000"
        ),
    )
    p.add_argument(
        "--params",
        metavar="A,B[el],C[x+y]",
        help="constants to fit instead of the .mdl's `calibrate:` ones; NAME[A, B] fits "
        "elements A and B separately, NAME[A+B] one value for both",
    )
    p.add_argument(
        "--ledger",
        metavar="DIR",
        help="the data ledger folder (README.md and *.csv; default models/data/ledger)",
    )
    p.add_argument(
        "--cutoff",
        type=year_int,
        default=None,
        metavar="YEAR",
        help="last year fitted; figures for later periods are held out (default 2017)",
    )
    p.add_argument("--scenario", metavar="SCENARIO", help="levers in force during the fit")
    p.add_argument(
        "--level-error",
        metavar="H=0.05,M=0.1,L=0.25",
        help="observation error (log scale) of levels and shares by confidence",
    )
    p.add_argument(
        "--growth-error",
        metavar="H=1,M=2,L=5",
        help="observation error (points) of growth rates by confidence",
    )
    p.add_argument(
        "--model-error",
        type=real_number(0),
        default=0.0,
        metavar="F",
        help="model discrepancy (log scale) added in quadrature to the errors of levels "
        "(default 0)",
    )
    p.add_argument(
        "--seasonal",
        action="store_true",
        help="also fit a seasonal factor per sub-year period (Q1, H1, ...)",
    )
    p.add_argument(
        "--starts",
        type=whole_number(1, 100_000),
        default=64,
        metavar="N",
        help="prior draws tried (in one run) to choose the start of the fit (default 64)",
    )
    p.add_argument(
        "--table",
        metavar="FIT.csv",
        help="also write every ledger figure at the fit (.csv/.xlsx)",
    )
    p.add_argument(
        "--posterior",
        nargs="?",
        const=str(DEFAULT_POSTERIOR),
        metavar="POSTERIOR.nc",
        help="sample the posterior and write it (default out/posterior.nc)",
    )
    p.add_argument(
        "--walkers",
        type=whole_number(1, 100_000),
        default=None,
        metavar="N",
        help="emcee walkers (default 4/param)",
    )
    p.add_argument(
        "--steps",
        type=whole_number(1, 10_000_000),
        default=2000,
        metavar="N",
        help="steps (default 2000)",
    )
    p.add_argument(
        "--burn",
        type=whole_number(0),
        default=None,
        metavar="N",
        help="steps dropped (default half)",
    )
    p.add_argument(
        "--thin",
        type=positive_int,
        default=None,
        metavar="N",
        help="keep every Nth step (default tau/2)",
    )
    p.add_argument(
        "--moves",
        choices=("stretch", "de"),
        default="stretch",
        help="emcee proposal: stretch (default) or de (differential evolution with "
        "snooker moves, for posteriors with separated modes)",
    )
    p.set_defaults(func=cmd_calibrate)


def parse_errors(text: str | None, option: str) -> dict:
    """``H=0.05,M=0.1`` -> {"H": 0.05, "M": 0.1}."""
    out = {}
    for part in split_list(text):
        key, eq, value = part.partition("=")
        key = key.strip()
        try:
            v = float(value)
        except ValueError:
            v = -1.0
        if not eq or key not in ("H", "M", "L") or not 0 < v < math.inf:
            raise YaanSimError(
                f"{option} {text!r}: write CONFIDENCE=ERROR pairs with H, M or L and a "
                "positive finite number, e.g. H=0.05,M=0.1,L=0.25"
            )
        out[key] = v
    return out


def cmd_calibrate(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else DEFAULT_YAML
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise YaanSimError(f"{out}: the fitted values are written as .yaml")
    post = Path(args.posterior) if args.posterior else None
    if post is not None and post.suffix.lower() != ".nc":
        raise YaanSimError(f"{post}: the posterior is written as netCDF (.nc)")
    for path, default in ((out, not args.output), (post, args.posterior == str(DEFAULT_POSTERIOR))):
        if path is not None and default and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
    inputs = [args.model, args.scenario, args.ledger]
    if args.table:
        prepare_table(args.table, args.force, inputs=inputs)
    check_outputs(out, post, args.table, force=args.force, inputs=inputs)
    if post is not None and args.burn is not None and args.burn >= args.steps:
        raise YaanSimError(f"--burn {args.burn} must be below --steps {args.steps}")
    errors = {}
    if args.level_error:
        errors["level"] = parse_errors(args.level_error, "--level-error")
    if args.growth_error:
        errors["growth"] = parse_errors(args.growth_error, "--growth-error")

    from yaan_sim.model.ledger import read_ledger
    from yaan_sim.model.load import load_model
    from yaan_sim.scenario import load_scenarios

    ledger = read_ledger(args.ledger) if args.ledger else read_ledger()
    model = load_model(args.model)
    scenario = load_scenarios([args.scenario], model)[0] if args.scenario else None
    if scenario is not None:  # the files it extends are inputs too
        inputs += list(scenario.sources)
        check_outputs(out, post, args.table, force=args.force, inputs=inputs)
    kw = dict(
        scenario=scenario,
        cutoff=args.cutoff,
        engine=args.engine,
        obs_errors=errors or None,
        model_error=args.model_error,
        seasonal=args.seasonal,
    )
    params = split_list(args.params) if args.params else None
    if post is None:
        from yaan_sim.analysis.calibrate import calibrate

        res = calibrate(model, ledger, params, starts=args.starts, seed=args.seed, **kw)
    else:
        from yaan_sim.analysis.posterior import sample_posterior

        posterior = sample_posterior(
            model,
            ledger,
            params,
            walkers=args.walkers,
            steps=args.steps,
            burn=args.burn,
            thin=args.thin,
            seed=args.seed,
            moves=args.moves,
            progress=not args.no_progress and sys.stderr.isatty(),
            **kw,
        )
        res = posterior.fit
    print(res.summary())
    res.write_yaml(out, force=args.force)
    print(f"\nwrote {out}")
    if args.table:
        from yaan_sim.outputs.export import write_table

        write_table(res.table, args.table, force=args.force)
        print(f"wrote {args.table}")
    if post is not None:
        print()
        print(posterior.summary())
        posterior.write(post, force=args.force)
        print(
            f"\nwrote {post} ({len(posterior.draws)} draws; use it with "
            f"`yaan-sim ensemble SCENARIO --posterior {post}`)"
        )
    return 0
