"""``yaan-sim ensemble``: sample a scenario's ``uncertain:`` block and run the samples."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import xarray as xr

from yaan_sim.cli._common import (
    add_sampling_method,
    check_outputs,
    force_option,
    goal_year,
    lang_option,
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
from yaan_sim.errors import YaanSimError
from yaan_sim.tables import format_number

DEFAULT_OUT = Path("out") / "ensemble.nc"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ensemble",
        parents=[
            seed_option(),
            output_option(
                "OUT",
                "results: .nc (default out/ensemble.nc), .csv (tidy long table) or .xlsx",
            ),
            year_option(
                None,
                "evaluation year (default 2020, or the last year of a shorter run; another "
                "model's goals each at their own year)",
            ),
            lang_option("en", "chart language"),
            force_option(),
            *run_options(),
            nonfinite_option(),
        ],
        help="sample a scenario's uncertain block: P(goal met), fan charts",
        description=(
            "Sample the `uncertain:` block of each scenario (Monte Carlo, Latin hypercube or "
            "Sobol), run every sample with the vector engine in chunks, write the results "
            "with a `sample` dim and print the probability of meeting each goal. The same "
            "seed gives the same numbers. Example: yaan-sim ensemble "
            "uncertain/plan-uncertain.yaml --samples 1000 --seed 1 -o out/ens.nc"
        ),
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario files (or names in scenarios/) with an `uncertain:` block",
    )
    p.add_argument(
        "--samples",
        "-n",
        type=positive_int,
        required=True,
        metavar="N",
        help="samples to draw (the standard error of a P(met) is at most 1.6 percentage "
        "points at 1,000 samples, 0.5 at 10,000)",
    )
    add_sampling_method(
        p,
        "mc: the scenario's Monte Carlo draws (as simulate(samples, seed)); "
        "lhs: Latin hypercube; sobol: scrambled Sobol sequence (default mc)",
    )
    p.add_argument(
        "--vars",
        metavar="NAMES",
        help="variables to keep, comma-separated, or 'all' (default: those the goals and "
        "charts need)",
    )
    p.add_argument(
        "--keep",
        choices=("needed", "all"),
        default="needed",
        help="needed: the variables the goal table and charts use (default); all: every "
        "variable (or those of --vars); both at every saved time",
    )
    p.add_argument(
        "--posterior",
        metavar="POSTERIOR.nc",
        help="draw the calibrated constants from this posterior (yaan-sim calibrate "
        "--posterior); the scenario then needs no `uncertain:` block",
    )
    p.add_argument(
        "--chart", metavar="FAN.png", help="also draw a fan chart of city revenue against its goal"
    )
    p.set_defaults(func=cmd_ensemble)


def cmd_ensemble(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.analysis.runner import resolve_return_vars
    from yaan_sim.outputs.export import export

    inputs = [*args.scenarios, args.model, args.posterior]
    out = prepare_output(args.output, args.force, DEFAULT_OUT, inputs=inputs)
    check_outputs(out, args.chart, force=args.force, inputs=inputs)
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.outputs.goals import profile_goals
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    profile = profile_for(model)
    goals = None if profile.is_yaan else profile_goals(profile)
    scenarios = load_scenarios([profile.scenario_ref(s) for s in args.scenarios], model)
    # the files they extend, and the goals file, are inputs too
    inputs += [*(f for s in scenarios for f in s.sources), profile.goals_path]
    check_outputs(out, args.chart, force=args.force, inputs=inputs)
    horizon = parse_horizon(args.horizon, model)
    year = goal_year(args.year, run_horizon(model, scenarios, horizon), goals)
    rv = variables_arg(args.vars)
    require_variables(
        model,
        resolve_return_vars(rv, goals=goals, model=model),
        "an ensemble keeps by default (the goals need it): keep others with --vars NAMES"
        if rv is None
        else "--vars names",
    )
    ds = run_ensemble(
        model,
        scenarios,
        args.samples,
        seed=args.seed,
        method=args.method,
        horizon=horizon,
        return_vars=rv,
        engine=args.engine,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
        argv=sys.argv,
        posterior=args.posterior,
        keep=args.keep,
    )
    export(ds, out, force=args.force)
    if profile.is_yaan or goals:
        print_goal_probabilities(ds, year, goals)
    else:
        print(
            f"yaan-sim ensemble: notice: no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): no goal probabilities",
            file=sys.stderr,
        )
    print(
        f"\nwrote {out} ({args.samples} samples x {ds.sizes['scenario']} scenario(s), "
        f"method {args.method}, seed {args.seed})"
    )
    if args.chart:
        write_fan(ds, args.chart, args.lang, args.force, profile=profile, goals=goals, model=model)
        print(f"wrote {args.chart}")
    return 0


def print_goal_probabilities(ds: xr.Dataset, year: int | None, goals: Any = None) -> None:
    """The binding rows of the goal table with P(met), median value and gap."""
    from yaan_sim.outputs.evaluate import evaluate

    try:
        table = evaluate(ds, goals, year=year)
    except YaanSimError as exc:
        print(f"(no goal table: {exc})")
        return
    table = table[table["binding"]]
    cols = [
        c
        for c in (
            "scenario",
            "goal_id",
            "scope_label",
            "target",
            "value",
            "unit",
            "status",
            "p_met",
        )
        if c in table.columns
    ]
    when = year if year is not None else "each goal at its own year"
    print(f"Goals ({when}; value = median path; p_met = share of samples meeting the goal):")
    # as evaluate prints them: thousands separated, never in scientific notation
    print(table[cols].to_string(index=False, float_format=format_number))


def write_fan(
    ds: xr.Dataset,
    path: str | Path,
    lang: str,
    force: bool,
    *,
    profile: Any = None,
    goals: Any = None,
    model: Any = None,
) -> None:
    """The fan chart of city revenue; for another model, fans of its goals' variables
    (or of its stocks when it has no goals file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yaan_sim.outputs.charts import plot_fan, plot_goal_panels
    from yaan_sim.outputs.results import write_atomic
    from yaan_sim.outputs.variable_charts import plot_variables

    if profile is None or profile.is_yaan:
        fig = plot_fan(ds, "revenue_city", lang=lang).figure
    elif goals:
        fig = plot_goal_panels(ds, list(goals), lang=lang, ncols=3).flat[0].figure
    else:
        fig = plot_variables(ds, profile.stocks(model, ds.data_vars), lang=lang).flat[0].figure
    fmt = Path(path).suffix.lstrip(".") or "png"
    write_atomic(
        path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"), force=force
    )
    plt.close(fig)
