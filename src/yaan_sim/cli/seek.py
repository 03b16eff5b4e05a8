"""``yaan-sim seek``: the smallest change of chosen levers that meets chosen goals."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import (
    check_outputs,
    default_year,
    engine_option,
    force_option,
    horizon_option,
    lang_option,
    model_option,
    output_option,
    parse_horizon,
    require_variables,
    run_horizon,
    split_list,
    year_option,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "seek",
        parents=[
            year_option(None, "year judged (default: the goal year)"),
            horizon_option("years to simulate, e.g. 2016:2021 (to the end of 2020)"),
            engine_option(),
            model_option(),
            output_option("RESULT.csv", "also write the lever table (.csv or .xlsx)"),
            force_option(),
            lang_option(),
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
        "--from",
        dest="from_year",
        type=int,
        metavar="YEAR",
        help="the mid-term adjustment (中期调整): the levers keep the scenario's values before "
        "YEAR and move from its start on (e.g. --from 2018)",
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
    from yaan_sim.errors import YaanSimError
    from yaan_sim.outputs.export import TABLE_WRITERS

    if args.output and Path(args.output).suffix.lower() not in TABLE_WRITERS:
        raise YaanSimError(f"{args.output}: the lever table is written as .csv or .xlsx")
    if args.write_scenario and Path(args.write_scenario).suffix.lower() not in (".yaml", ".yml"):
        raise YaanSimError(f"{args.write_scenario}: a scenario is written as .yaml")
    inputs = [args.scenario, args.model]
    check_outputs(args.output, args.write_scenario, force=args.force, inputs=inputs)
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.scenario import load_scenarios

    model = load_model(args.model)
    profile = profile_for(model)
    goal_set = None if profile.is_yaan else _goals_of(profile, "seek")
    (scenario,) = load_scenarios([profile.scenario_ref(args.scenario)], model)
    # the files it extends, and the goals file, are inputs too
    inputs += [*scenario.sources, profile.goals_path]
    check_outputs(args.output, args.write_scenario, force=args.force, inputs=inputs)
    horizon = parse_horizon(args.horizon, model)
    if args.year is not None:  # None: each goal at its own year (seek checks the run reaches it)
        default_year(args.year, run_horizon(model, [scenario], horizon))
    goals, levers = split_list(args.goals), split_list(args.levers)
    if not goals or not levers:
        example = (
            "--goals revenue_park:ETDZ --levers 'Investment attraction rate[ETDZ]'"
            if profile.is_yaan
            else "--goals GOAL_ID --levers 'LEVER NAME'"
        )
        raise YaanSimError(
            f"--{'goals' if not goals else 'levers'}: name at least one, e.g. {example}"
        )
    from yaan_sim.outputs.gaps import goal_variables
    from yaan_sim.outputs.goals import load_goals

    require_variables(model, goal_variables(goal_set or load_goals(), goals), "the goals need")
    res = seek(
        model,
        scenario,
        goals,
        levers,
        goal_set=goal_set,
        year=args.year,
        horizon=horizon,
        engine=args.engine,
        from_year=args.from_year,
    )
    print(res.summary(args.lang), end="")
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
