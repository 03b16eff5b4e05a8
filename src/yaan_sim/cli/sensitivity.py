"""``yaan-sim sensitivity``: Sobol or Morris indices of parameters and levers on goal gaps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    default_year,
    force_option,
    lang_option,
    output_option,
    parse_horizon,
    positive_int,
    prepare_table,
    real_number,
    require_variables,
    run_horizon,
    run_options,
    seed_option,
    split_list,
    year_option,
)

DEFAULT_TABLE = Path("out") / "sensitivity.csv"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sensitivity",
        parents=[
            seed_option(),
            year_option(None, "year the gaps are read (default: the goal year)"),
            output_option(
                "TABLE.csv", "indices table, .csv or .xlsx (default out/sensitivity.csv)"
            ),
            lang_option("en", "chart language"),
            force_option(),
            *run_options(),
        ],
        help="Sobol/Morris indices of parameters and levers on the goals' gaps",
        description=(
            "Global sensitivity analysis with SALib: the indices of every parameter of the "
            "scenario's `uncertain:` block and (by default) every lever, moved by --lever-spread "
            "of its range around the scenario's value, on each goal's gap (default: city and "
            "ETDZ revenue in 2020, the R&D share, the change of energy use per unit output). "
            "Writes a table (.csv or .xlsx, with a .json of the run) and a heat map. Example: "
            "yaan-sim sensitivity uncertain/plan-uncertain.yaml --method sobol --samples 512 "
            "--seed 1 -o out/sens.csv --chart out/sens.png"
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or name")
    p.add_argument(
        "--method",
        choices=("sobol", "morris"),
        default="sobol",
        help="sobol: variance-based indices (S1, ST), N (k + 2) runs for k factors; morris: "
        "elementary effects, a cheaper screening (default sobol)",
    )
    p.add_argument(
        "--samples",
        "-n",
        type=positive_int,
        default=256,
        metavar="N",
        help="sobol: base sample N (runs: N x (factors + 2), a power of two); "
        "morris: trajectories (runs: N x (factors + 1)). Default 256",
    )
    p.add_argument(
        "--levers",
        default="all",
        metavar="all|none|NAMES",
        help="levers to include as factors (default all; none: only the uncertain block)",
    )
    p.add_argument(
        "--lever-spread",
        type=real_number(0, 1, low_open=True),
        default=0.1,
        metavar="F",
        help="levers move by up to F of their range either way (default 0.1)",
    )
    p.add_argument(
        "--goals",
        metavar="IDS",
        help="outcomes: goal ids or goal_id:scope, comma-separated (default "
        "revenue_city,revenue_park:ETDZ,rd_share,energy_per_output)",
    )
    p.add_argument("--chart", metavar="CHART.png", help="heat map of ST (sobol) or mu* (morris)")
    p.set_defaults(func=cmd_sensitivity)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.sensitivity import run_sensitivity, write_outputs
    from yaan_sim.outputs.gaps import DEFAULT_OUTCOMES, goal_variables
    from yaan_sim.outputs.goals import load_goals

    inputs = [args.scenario, args.model]
    table = prepare_table(args.output, args.force, DEFAULT_TABLE, inputs=inputs)
    check_outputs(table, Path(str(table) + ".json"), args.chart, force=args.force, inputs=inputs)
    from yaan_sim.cli.seek import _goals_of
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    profile = profile_for(model)
    goals = None if profile.is_yaan else _goals_of(profile, "sensitivity")
    (scenario,) = load_scenarios([profile.scenario_ref(args.scenario)], model)
    # the files it extends, and the goals file, are inputs too
    inputs += [*scenario.sources, profile.goals_path]
    check_outputs(table, Path(str(table) + ".json"), args.chart, force=args.force, inputs=inputs)
    horizon = parse_horizon(args.horizon, model)
    if args.year is not None:  # None: each goal's own year (else the last simulated year)
        default_year(args.year, run_horizon(model, [scenario], horizon))
    levers: str | list[str] | None = {"all": "all", "none": None}.get(args.levers)
    if args.levers not in ("all", "none"):
        levers = split_list(args.levers)
    outcomes = split_list(args.goals) or (list(goals.ids) if goals else list(DEFAULT_OUTCOMES))
    require_variables(
        model, goal_variables(goals or load_goals(), outcomes), "the goals of the outcomes need"
    )
    res = run_sensitivity(
        model,
        scenario,
        goals=goals,
        method=args.method,
        samples=args.samples,
        seed=args.seed,
        levers=levers,
        lever_spread=args.lever_spread,
        outcomes=outcomes,
        year=args.year,
        horizon=horizon,
        engine=args.engine,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
        notify=lambda m: print(f"yaan-sim: notice: {m}", file=sys.stderr),
    )
    piv = res.pivot()
    order = piv.max(axis=1).sort_values(ascending=False).index
    print(
        f"{res.main_index} ({args.method}, {res.info['runs']} runs, seed {args.seed}); "
        "rows: factors, columns: goal gaps"
    )
    print(piv.loc[order].to_string(float_format=lambda v: f"{v:.3f}"))
    for path in write_outputs(res, table, args.chart, force=args.force, lang=args.lang):
        print(f"wrote {path}")
    return 0
