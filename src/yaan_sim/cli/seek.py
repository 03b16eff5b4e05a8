"""``yaan-sim seek``: the smallest change of chosen levers that meets chosen goals."""

from __future__ import annotations

import argparse
from typing import Any

from yaan_sim.cli._common import (
    engine_option,
    force_option,
    horizon_option,
    model_option,
    output_option,
    parse_horizon,
    split_list,
    year_option,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "seek",
        parents=[
            year_option(None, "year judged (default: the goal year)"),
            horizon_option("years to simulate, e.g. 2016:2020"),
            engine_option(),
            model_option(),
            output_option("RESULT.csv", "also write the lever table (.csv or .xlsx)"),
            force_option(),
        ],
        help="what it would take: the smallest lever change that meets goals",
        description=(
            "Goal-seeking: the smallest change of the chosen levers (within their ranges, per "
            "park where they are per park) that meets the chosen goals, or a statement that no "
            "value in range can, with the best reachable. Example: yaan-sim seek plan --goals "
            "revenue_park:ETDZ --levers 'Investment attraction rate[ETDZ]'"
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="starting scenario (file or name)")
    p.add_argument(
        "--goals",
        required=True,
        metavar="IDS",
        help="goal ids or goal_id:scope, comma-separated (e.g. revenue_park:ETDZ or "
        "revenue_park:经开区)",
    )
    p.add_argument(
        "--levers",
        required=True,
        metavar="NAMES",
        help="levers to move, comma-separated; NAME[ETDZ] (or NAME[经开区]) moves one park, "
        "NAME[East] or NAME every element of the region or lever (each its own value)",
    )
    p.add_argument(
        "--write-scenario",
        metavar="FILE.yaml",
        help="write a scenario (extending SCENARIO) with the levers found",
    )
    p.set_defaults(func=cmd_seek)


def _goals_of(profile: Any, command: str) -> Any:
    """Another model's goals, which ``command`` needs: a clear error where it has none."""
    from yaan_sim.errors import YaanSimError
    from yaan_sim.outputs.goals import profile_goals

    goals = profile_goals(profile)
    if goals is None:
        raise YaanSimError(
            f"{command} works on goals, and there is no goals file for {profile.model_name} "
            f"({profile.goals_hint()}): write one (see models/README.md, 'Goals for any model')"
        )
    return goals


def cmd_seek(args: argparse.Namespace) -> int:
    from yaan_sim.analysis.seek import seek
    from yaan_sim.outputs.results import check_writable

    if args.output:
        check_writable(args.output, args.force)
    if args.write_scenario:
        check_writable(args.write_scenario, args.force)
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    profile = profile_for(model)
    (scenario,) = load_scenarios([profile.scenario_ref(args.scenario)], model)
    res = seek(
        model,
        scenario,
        split_list(args.goals),
        split_list(args.levers),
        goal_set=None if profile.is_yaan else _goals_of(profile, "seek"),
        year=args.year,
        horizon=parse_horizon(args.horizon, model),
        engine=args.engine,
    )
    print(res.summary())
    if args.output:
        from yaan_sim.outputs.export import write_table

        write_table(res.levers, args.output, force=args.force)
        print(f"\nwrote {args.output}")
    if args.write_scenario:
        res.write_scenario(args.write_scenario, force=args.force, base_scenario=scenario)
        print(
            f"wrote {args.write_scenario}"
            + ("" if res.feasible else " (the best reachable, which misses the goals)")
        )
    return 0
