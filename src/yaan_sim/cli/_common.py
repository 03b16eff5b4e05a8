"""What the commands share: the common options as argparse parent parsers, argument
types, and the checks of an output path made before any work.

A command takes the options it needs with ``parents=``::

    sub.add_parser("seek", parents=[model_option(), engine_option(), force_option()])

Each factory returns a fresh parent (argparse copies its arguments), so a command may
give an option its own default or help where its meaning differs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yaan_sim.errors import YaanSimError

LANGS = ("zh", "en")


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


# ------------------------------------------------------------------ argument types


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of at least 1 is needed")
    return n


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
        type=int,
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


def horizon_option(help: str | None = None) -> Any:
    p = _parent()
    p.add_argument(
        "--horizon",
        metavar="START:STOP[:STEP[:SAVEPER]]",
        help=help
        or "years to simulate, e.g. 2016:2020 (default: the scenario's, else the model's)",
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
        help="a running dask scheduler (tcp://HOST:8786) to send chunks to; see docs/analysis.md",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
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

    form = "write START:STOP[:STEP[:SAVEPER]], e.g. 2016:2020"
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


def prepare_output(path: str | Path | None, force: bool, default: Path | None = None) -> Path:
    """Check a results output before any work: suffix, folder, no overwrite without force.
    The default path's folder is created."""
    from yaan_sim.outputs.export import check_suffix
    from yaan_sim.outputs.results import check_writable

    out = Path(path) if path else default
    if out is None:
        raise YaanSimError("no output path: give -o FILE")
    if not path and default is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    check_suffix(out)
    check_writable(out, force)
    return out


def prepare_table(path: str | Path | None, force: bool, default: Path | None = None) -> Path:
    """Check a table output (.csv or .xlsx) before any work, as :func:`prepare_output`."""
    from yaan_sim.outputs.export import TABLE_WRITERS
    from yaan_sim.outputs.results import check_writable

    out = Path(path) if path else default
    if out is None:
        raise YaanSimError("no output path: give -o FILE")
    if not path and default is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() not in TABLE_WRITERS:
        raise YaanSimError(f"{out}: the table is written as .csv or .xlsx")
    check_writable(out, force)
    return out
