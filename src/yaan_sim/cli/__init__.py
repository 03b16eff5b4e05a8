"""The ``yaan-sim`` command line: a thin layer over the library.

Each sub-command lives in its own module with ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``. Exit codes: 0 success, 2 bad input (one clear
message on stderr, no traceback), 1 internal fault.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from typing import NoReturn

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.finite import nonfinite_policy

# Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "run",
    "levers",
    "validate",
    "units",
    "evaluate",
    "report",
    "export",
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

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        # An empty value is a mistake (an unset shell variable, say), never a default.
        if arg_string == "" and action.nargs not in (argparse.PARSER, argparse.REMAINDER):
            what = "/".join(action.option_strings) or action.metavar or action.dest
            raise argparse.ArgumentError(
                None, f"{what}: an empty value; give one, or leave the option out"
            )
        return super()._get_value(action, arg_string)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="yaan-sim",
        description=(
            "Simulate Ya'an's industrial parks (2016-2020 plan) and compare with the plan's goals."
        ),
    )
    from yaan_sim import __version__

    parser.add_argument("--version", action="version", version=f"yaan-sim {__version__}")
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
    what = f"yaan-sim {args.command}"
    try:
        check_stdout()
        with nonfinite_policy(getattr(args, "on_nonfinite", "warn"), notice):
            return int(args.func(args) or 0)
    except YaanSimError as exc:
        print(f"{what}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{what}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        print(f"{what}: error: standard output was closed by its reader", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None:  # not about a file: a fault, below
            return _internal_error(what, exc)
        print(f"{what}: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        return _internal_error(what, exc)


def notice(msg: str) -> None:
    print(f"yaan-sim: notice: {msg}", file=sys.stderr)


def check_stdout() -> None:
    """Refuse, before any work, a closed standard output or one that cannot show the
    Chinese names every command may print (a table written to it would be lost)."""
    out = sys.stdout
    try:
        if out is None or out.closed:
            raise OSError
        os.fstat(out.fileno())
    except (AttributeError, ValueError, io.UnsupportedOperation):
        pass  # not a file (captured in tests, or wrapped): nothing to check
    except OSError:
        raise YaanSimError(
            "standard output is closed: run with it open, e.g. `> out.txt` or `> /dev/null`"
        ) from None
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        "亿元".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        raise YaanSimError(
            f"standard output uses the encoding {encoding}, which cannot show the Chinese "
            "names yaan-sim prints: set PYTHONIOENCODING=utf-8 (or a UTF-8 locale) and run again"
        ) from None


def _silence_stdout() -> None:
    """After a broken pipe, send what is still buffered nowhere (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        pass


def _internal_error(what: str, exc: Exception) -> int:
    """An internal fault: one line, traceback on request, exit 1."""
    if os.environ.get("YAAN_SIM_DEBUG"):
        raise exc
    print(
        f"{what}: internal error ({type(exc).__name__}: {exc}). This is a bug: please report "
        "it; set YAAN_SIM_DEBUG=1 to see the traceback.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
