"""``yaan-sim validate``: check scenario files against the model, reporting every problem;
a goals file (``*-goals.yaml``) among them is checked as a goals file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from yaan_sim.cli._common import is_goals_file, model_option


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        parents=[model_option("the Vensim model (default: models/yaan_parks.mdl)")],
        help="check scenario files (every problem, with file, line and fix)",
        description="Check scenario YAML files (and the files they extend) against the "
        "model's levers, and goals files (*-goals.yaml) as goals files. Prints every problem; "
        "exits 0 when all files are valid, 2 otherwise.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="scenario files or names, or goals files (default: every scenario of the model: "
        "scenarios/, or a scenarios/ folder beside another --model)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the problems")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.scenario import display_path, validate_file

    model = load_model(args.model)
    profile = profile_for(model)
    files = [profile.scenario_ref(f) for f in args.files]
    files = files or [display_path(p) for p in profile.scenario_files()]
    if not files:
        where = display_path(profile.scenarios_dir or Path(model.mdl_path).parent / "scenarios")
        print(f"yaan-sim validate: no scenario files given and none in {where}", file=sys.stderr)
        return 2
    bad = 0
    shown: set[str] = set()  # a parent's problems are reported once, not for every child
    for f in files:
        problems = _goals_problems(f, profile) if is_goals_file(f) else validate_file(f, model)
        if not problems:
            if not args.quiet:
                print(f"ok      {f}")
            continue
        bad += 1
        new = [p for p in problems if str(p) not in shown]
        print(
            f"invalid {f}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
            + ("" if new else " (in its parents, shown above)"),
            file=sys.stderr,
        )
        for p in new:
            shown.add(str(p))
            print(f"  {p}", file=sys.stderr)
    if not args.quiet:
        n = len(files)
        print(f"{n - bad} of {n} file{'s' if n != 1 else ''} valid")
    return 2 if bad else 0


def _goals_problems(path: str, profile: Any) -> list:
    """Every problem of a goals file, read as the model's goals are (its parks and regions)."""
    from yaan_sim.outputs.goals import GoalsError, profile_goals

    try:
        profile_goals(profile, path)
    except GoalsError as exc:
        return exc.problems or [str(exc)]
    return []
