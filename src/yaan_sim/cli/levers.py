"""``yaan-sim levers``: list the model's policy levers, or compare scenarios' levers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from yaan_sim.cli._common import lang_option, model_option
from yaan_sim.errors import YaanSimError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "levers",
        parents=[
            lang_option("en", "language of the description column (table format)"),
            model_option("the Vensim model (default: models/yaan_parks.mdl)"),
        ],
        help="list the policy levers of the model (names, units, ranges, defaults)",
        description="List the policy levers the .mdl declares (role: lever): name, units, "
        "[min,max] range, default, description and the plan's section; for a model that "
        "marks none (any other Vensim model), every constant, all settable in scenario "
        "files. With --compare, a table of what each scenario sets instead.",
    )
    p.add_argument(
        "--format",
        choices=("table", "json", "csv", "markdown"),
        default=None,
        help="output format (default: table; markdown only with --compare)",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="SCENARIO",
        default=None,
        help="scenario files or names: print one column per scenario "
        "(the table of scenarios/README.md)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yaan_sim.model.levers import lever_registry, marks_levers, render_levers
    from yaan_sim.model.load import load_model
    from yaan_sim.scenario import lever_table, load_scenario

    model = load_model(args.model)
    fmt = args.format or "table"
    if args.compare:
        if fmt not in ("table", "markdown"):
            raise YaanSimError(
                f"--compare prints a table: use --format table or markdown, not {fmt}"
            )
        scenarios = [load_scenario(s, model) for s in args.compare]
        text = lever_table(scenarios, model, fmt=fmt)
    else:
        if fmt == "markdown":
            raise YaanSimError("--format markdown is for --compare; use table, json or csv")
        text = render_levers(lever_registry(model).values(), fmt, lang=args.lang)
        if not marks_levers(model):
            print(
                f"yaan-sim levers: notice: {model.mdl_path.name} marks no constant "
                "'role: lever', so every constant is listed: each is settable in a scenario",
                file=sys.stderr,
            )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
