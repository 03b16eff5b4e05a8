"""The ``yaan-sim`` command line: a thin layer over the library.

Each sub-command lives in its own module with ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``. Exit codes: 0 success, 2 bad input (one clear
message on stderr, no traceback), 1 internal fault.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from yaan_sim.errors import YaanSimError

# Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "run",
    "levers",
    "validate",
    "units",
    "evaluate",
    "report",
    "rerun",
    "ensemble",
    "sensitivity",
    "calibrate",
    "seek",
    "batch",
    "backtest",
    "loops",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors also exit 2, no traceback
        self.print_usage(sys.stderr)
        self.exit(2, f"yaan-sim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="yaan-sim",
        description=(
            "Simulate Ya'an's industrial parks (2016-2020 plan) and compare with the plan's goals."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except YaanSimError as exc:
        print(f"yaan-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"yaan-sim {args.command}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal fault: say so in one line, traceback on request
        if os.environ.get("YAAN_SIM_DEBUG"):
            raise
        print(
            f"yaan-sim {args.command}: internal error ({type(exc).__name__}: {exc}). "
            "This is a bug: please report it; set YAAN_SIM_DEBUG=1 to see the traceback.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
