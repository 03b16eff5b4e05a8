"""What the commands share: the common options as argparse parent parsers, argument
types, and the checks of an output path made before any work.

A command takes the options it needs with ``parents=``::

    sub.add_parser("seek", parents=[model_option(), engine_option(), force_option()])

Each factory returns a fresh parent (argparse copies its arguments), so a command may
give an option its own default or help where its meaning differs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.finite import POLICIES

LANGS = ("zh", "en")


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


# ------------------------------------------------------------------ argument types


def whole_number(low: int = 0, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < low or (high is not None and n > high):
            span = f"of at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{text!r}: a whole number {span} is needed")
        return n

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


positive_int = whole_number(1)
#: A local cluster of more processes than this is a typing error, not a plan.
MAX_LOCAL_WORKERS = 4 * (os.cpu_count() or 1)
#: A year of the plan's data (``--cutoff``).
year_int = whole_number(1900, 2200)
#: A year as ``--year`` takes it: a whole number of the model's time unit (another model's
#: may count minutes from 0), checked against the run or the results later.
time_year = whole_number(-(10**9), 10**9)


def real_number(
    low: float = -math.inf, high: float = math.inf, *, low_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` if low_open)."""

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r}: a finite number is needed")
        if x < low or x > high or (low_open and x == low):
            if high == math.inf:
                span = f"above {low:g}" if low_open else f"of at least {low:g}"
            else:
                span = f"in {'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"{text!r}: a number {span} is needed")
        return x

    parse.__name__ = "number"
    return parse


def scheduler_option(text: str) -> str:
    """An argparse type: a dask scheduler address, checked at once."""
    from yaan_sim.analysis.distributed import scheduler_address

    try:
        return scheduler_address(text)
    except YaanSimError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ------------------------------------------------------------------ parent parsers


def model_option(help: str = "another Vensim model (default: models/yaan_parks.mdl)") -> Any:
    p = _parent()
    p.add_argument("--model", metavar="MODEL.mdl", default=None, help=help)
    return p


def engine_option() -> Any:
    from yaan_sim.engines.base import engine_names

    p = _parent()
    p.add_argument(
        "--engine",
        choices=engine_names(),
        default="auto",
        help="auto (default: the vector engine where it can run the model, else PySD), "
        + ", ".join(n for n in engine_names() if n != "auto"),
    )
    return p


def nonfinite_option() -> Any:
    p = _parent()
    p.add_argument(
        "--on-nonfinite",
        choices=POLICIES,
        default="warn",
        help="when the results hold NaN or inf, or a stock below its declared minimum: warn "
        "(default: write them, flagged in the manifest, with a notice) or error (exit 2, "
        "nothing written)",
    )
    return p


def force_option(help: str = "overwrite existing outputs") -> Any:
    p = _parent()
    p.add_argument("--force", action="store_true", help=help)
    return p


def lang_option(default: str = "en", help: str | None = None) -> Any:
    p = _parent()
    p.add_argument(
        "--lang", choices=LANGS, default=default, help=help or f"language (default: {default})"
    )
    return p


def year_option(default: int | None = 2020, help: str | None = None) -> Any:
    p = _parent()
    p.add_argument(
        "--year",
        type=time_year,
        default=default,
        help=help
        or f"evaluation year (default {default if default is not None else 'the goal year'})",
    )
    return p


def seed_option() -> Any:
    p = _parent()
    # checked by the library (check_seed), which says what a seed must be
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def output_option(
    metavar: str, help: str, *, required: bool = False, type: Callable | None = None
) -> Any:
    p = _parent()
    p.add_argument(
        "-o",
        "--output",
        metavar=metavar,
        required=required,
        type=type or str,
        default=None,
        help=help,
    )
    return p


def is_goals_file(ref: str | Path) -> bool:
    """Whether a file named on the command line is a goals file (``*-goals.yaml``), not a
    scenario, by the name the shipped ones have."""
    name = Path(ref).name
    return name.endswith(("-goals.yaml", "-goals.yml", ".goals.yaml")) or name == "goals.yaml"


def add_sampling_method(p: argparse.ArgumentParser, help: str) -> None:
    """--method on ``p``: how an ensemble's uncertain blocks are drawn (mc, lhs, sobol)."""
    from yaan_sim.analysis.sampling import METHODS

    p.add_argument("--method", choices=METHODS, default="mc", help=help)


def horizon_option(help: str | None = None) -> Any:
    p = _parent()
    p.add_argument(
        "--horizon",
        metavar="START:STOP[:STEP[:SAVEPER]]",
        help=help
        or "years to simulate, e.g. 2016:2021, to the end of 2020 (the goals are judged on "
        "calendar-year totals); the scenarios' levers act from START, the .mdl's defaults "
        "before it (default: the scenario's horizon, else the model's)",
    )
    return p


def chunk_options() -> Any:
    """--chunk-size, --scheduler, --workers: where and in what pieces samples run."""
    p = _parent()
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="samples per vectorised engine call (default 5000)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=scheduler_option,
        help="a running dask scheduler (tcp://HOST:8786) to send chunks to; see docs/analysis.md",
    )
    p.add_argument(
        "--workers",
        type=whole_number(1, MAX_LOCAL_WORKERS),
        default=None,
        metavar="N",
        help="run chunks on N local worker processes (a local dask cluster) "
        "instead of in this process",
    )
    return p


def progress_option() -> Any:
    p = _parent()
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run_options(*, chunks: bool = True) -> list[Any]:
    """--engine, --model, --horizon, --no-progress; with ``chunks`` also
    --chunk-size, --scheduler and --workers."""
    out = [engine_option(), model_option(), horizon_option()]
    if chunks:
        out.append(chunk_options())
    out.append(progress_option())
    return out


# ------------------------------------------------------------------ values


def parse_horizon(text: str | None, model: Any) -> Any:
    """``START:STOP[:STEP[:SAVEPER]]`` -> Horizon (missing fields from the model), or None."""
    if not text:
        return None
    from yaan_sim.model.load import Horizon

    form = "write START:STOP[:STEP[:SAVEPER]], e.g. 2016:2021"
    try:
        vals = [float(x) for x in text.split(":")]
    except ValueError:
        raise YaanSimError(f"--horizon {text!r}: {form}") from None
    if not 2 <= len(vals) <= 4:
        raise YaanSimError(f"--horizon {text!r}: {form}")
    d = model.default_horizon
    step = vals[2] if len(vals) > 2 else d.step
    saveper = vals[3] if len(vals) > 3 else max(d.saveper, step)
    h = Horizon(vals[0], vals[1], step, saveper)
    problems = h.problems()
    if problems:
        raise YaanSimError(f"--horizon {text!r}: {'; '.join(problems)}")
    return h


def split_list(text: str | None) -> list[str]:
    """``a,b, c`` -> ["a", "b", "c"]; brackets keep their commas (``X[ETDZ,Hanyuan]``)."""
    if not text:
        return []
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [x for x in out if x]


def variables_arg(text: str | None) -> Any:
    """``--vars``: None (the default), ``"all"``, or a list of names."""
    if not text:
        return None
    return "all" if text == "all" else split_list(text)


def check_outputs(
    *outputs: str | Path | None, force: bool, inputs: Sequence[str | Path | None] = ()
) -> None:
    """Check every output of a command before any work (``None``: not asked for): each
    as :func:`yaan_sim.outputs.results.check_output`, and no two the same file."""
    from yaan_sim.outputs.results import check_output

    given = [Path(p) for p in outputs if p is not None]
    for path in given:
        check_output(path, force, inputs=inputs)
    seen: dict[str, Path] = {}
    for path in given:
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise YaanSimError(f"{seen[key]} is given as two outputs: give each its own file")
        seen[key] = path


def prepare_output(
    path: str | Path | None,
    force: bool,
    default: Path | None = None,
    inputs: Sequence[str | Path | None] = (),
) -> Path:
    """Check a results output before any work: suffix, folder, no overwrite without force,
    not an input. The default path's folder is created."""
    from yaan_sim.outputs.export import check_suffix

    out = _output_path(path, default)
    check_suffix(out)
    check_outputs(out, force=force, inputs=inputs)
    return out


def prepare_table(
    path: str | Path | None,
    force: bool,
    default: Path | None = None,
    inputs: Sequence[str | Path | None] = (),
) -> Path:
    """Check a table output (any suffix of ``outputs.export.TABLE_WRITERS``) before any
    work, as :func:`prepare_output`."""
    from yaan_sim.outputs.export import check_table_suffix

    out = check_table_suffix(_output_path(path, default))
    check_outputs(out, force=force, inputs=inputs)
    return out


def _output_path(path: str | Path | None, default: Path | None) -> Path:
    """The output given, else the default (its folder created, unless a file is there)."""
    if path is not None and str(path) != "":
        return Path(path)
    if path is not None or default is None:
        raise YaanSimError("no output path: give -o FILE")
    if not default.parent.is_dir() and not default.parent.exists():
        default.parent.mkdir(parents=True, exist_ok=True)
    return default


def last_whole_year(horizon: Any) -> int:
    """The last calendar year a run covers whole (one ending at 2021.0: 2020)."""
    return math.floor(horizon.stop + 1e-9) - 1


def default_year(year: int | None, horizon: Any, goal_year: int = 2020) -> int:
    """The evaluation year: ``year`` if the run covers the whole calendar year (the plan's
    goals are judged on calendar-year totals; else a clear error before the run), or by
    default the goal year, or the last whole year of a shorter run."""
    first, last = math.ceil(horizon.start - 1e-9), last_whole_year(horizon)
    if year is None:
        if first <= last < goal_year:  # said, as the goals are then judged early
            print(
                f"yaan-sim: notice: the run ends at {horizon.stop:g}, so its last whole "
                f"calendar year is {last}: the {goal_year} goals are judged on {last}'s "
                f"figures; to judge them in {goal_year} run to {goal_year + 1} (e.g. "
                f"--horizon {first}:{goal_year + 1})",
                file=sys.stderr,
            )
        return min(goal_year, last)
    if not first <= year <= last:
        if first > last:
            span, choose = "none", "no whole calendar year is covered"
        elif first == last:
            span, choose = f"{first}", f"choose {first}"
        else:
            span, choose = f"{first}-{last}", f"choose a year from {first} to {last}"
        raise YaanSimError(
            f"--year {year} is outside the calendar years the run covers ({span}; it "
            f"runs from {horizon.start:g} to {horizon.stop:g}, and a year's figure is its total "
            f"over the whole year): {choose}, or extend the run with --horizon"
        )
    return year


def goal_year(year: int | None, horizon: Any, goals: Any = None) -> int | None:
    """The year goals are judged in, checked against the run before it starts.

    The plan's goals (``goals`` None, or of the plan's form): as :func:`default_year`.
    Another model's goals (:mod:`yaan_sim.outputs.generic_goals`): ``year`` if given
    (checked the same way), else None: each goal at its own year, which the run must cover.
    """
    if not goals or not all(g.is_generic for g in goals):
        return default_year(year, horizon)
    # another model's goals read the value at the time t = year (as evaluate does)
    first, last = math.ceil(horizon.start - 1e-9), math.floor(horizon.stop + 1e-9)
    if year is not None:
        if not first <= year <= last:
            raise YaanSimError(
                f"--year {year} is outside the times the run covers ({first}-{last}): "
                f"choose a year from {first} to {last}, or extend the run with --horizon"
            )
        return year
    for goal in goals:
        for y in (goal.baseline_year, goal.year):
            if y is not None and not first <= y <= last:
                earlier = ", or judge it earlier with --year" if y == goal.year > last else ""
                raise YaanSimError(
                    f"goal {goal.id!r} needs the value in {y}, outside the times the run "
                    f"covers ({first}-{last}): extend the run with --horizon{earlier}"
                )
    return None


def run_horizon(model: Any, scenarios: Sequence[Any], horizon: Any = None) -> Any:
    """The horizon a run of ``scenarios`` will have (as prepare_runs decides it)."""
    first = scenarios[0] if scenarios else None
    return horizon or getattr(first, "horizon", None) or model.default_horizon


def require_variables(model: Any, names: Sequence[str] | None, why: str) -> None:
    """Refuse, before any run, a model that lacks variables a command needs."""
    if not names:
        return
    known = set(model.meta) | {m.py_name for m in model.meta.values()}
    missing = [n for n in names if n not in known]
    if missing:
        raise YaanSimError(
            f"the model {Path(model.mdl_path).name} has no variable "
            f"{', '.join(repr(n) for n in missing)}, which {why}"
        )
