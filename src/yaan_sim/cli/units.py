"""``yaan-sim units``: Vensim's Units Check on the model, without Vensim."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from yaan_sim.cli._common import model_option


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "units",
        parents=[model_option("the Vensim model (default: models/yaan_parks.mdl)")],
        help="check that every equation's units agree (Vensim's Units Check)",
        description="Give each equation's right side units from the declared units of the "
        "variables it uses, and compare them with the units declared on its left side, as "
        "Vensim's Model > Units Check does. Lists every mismatch with the variable, the "
        "declared and the inferred units and the term that disagrees. Exits 0 when the units "
        "are consistent, 2 when there is any mismatch (warnings alone do not fail).",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list the equations checked only in part, and why",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yaan_sim.model.units import check_units

    report = check_units(args.model)
    sys.stdout.write(report.render(verbose=args.verbose))
    if report.clean:
        return 0
    n = len(report.errors)
    print(
        f"yaan-sim units: {n} units error{'s' if n != 1 else ''}: fix the units in the .mdl "
        "(or the equations) as listed above",
        file=sys.stderr,
    )
    return 2
