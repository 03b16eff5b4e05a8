"""Every command, hostile input: exit 0 or 2 with a message, never 1, never a traceback.

The walk takes the commands from ``yaan_sim.cli.COMMANDS`` and their options from their
parsers, so a new command or option is walked without editing this file: each option gets
hostile values chosen by what it takes (a number, a choice, a file to write, a file to
read, text). Then environments (standard output, the cache) and, with hypothesis,
generated manifests, option values and observed-figure files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import yaan_sim as ys
from yaan_sim.cli import COMMANDS, build_parser, main
from yaan_sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
PLAN = str(REPO / "scenarios" / "plan.yaml")
UNCERTAIN = str(REPO / "scenarios" / "uncertain" / "plan-uncertain.yaml")
SMALL_MDL = str(REPO / "tests" / "data" / "loops_exponential.mdl")
CLI = [sys.executable, "-c", "import sys; from yaan_sim.cli import main; sys.exit(main())"]
SHORT = "2016:2017"
#: calibrate fitting one constant from two starts: ~5 s, where the default fit takes ~30 s
ONE_CONSTANT = ["--params", "Capital growth before 2013", "--starts", "2"]

#: Hostile values by what an option takes.
NUMBERS = ["-1", "0", "nan", "inf", "1e400", "99999999999999999999"]
TEXTS = ["", "a,,b[", "é" * 200]
OUTPUTS = ["{dir}", "", "{long}", "{dangling}", "{fifo}", "{results}", "{missing}/x.nc"]
#: A folder to write into (--out-dir). An existing folder and one to make are its normal
#: use, not hostile: each wrote a whole package here (~8 s of CPU each, for run and batch);
#: packages are written and checked in test_package, test_profile and test_cli_run.
FOLDERS = ["", "{long}", "{dangling}", "{fifo}", "{results}", "{garbage}"]
INPUTS = ["{dir}", "", "{missing}", "{garbage}", "{long}"]
#: Options whose accepted values set how much work a run does (samples, starts, steps,
#: workers, loops): the walk gives them hostile values; generated values would start
#: runs of hours or hundreds of worker processes, so they are left out of those.
COST_DESTS = {"n", "samples", "starts", "steps", "walkers", "burn", "thin", "workers"}
COST_DESTS |= {"chunk_size", "max_loops", "max_length", "posterior", "scheduler"}
#: so is --out-dir: any folder it accepts gets a whole package (one generated example,
#: batch into "10000.0", took 14 s); the walk gives it FOLDERS, test_package the rest
COST_DESTS |= {"out_dir"}
#: Options that name a file to write, and a file or folder to read.
OUTPUT_DESTS = {"output", "chart", "netcdf", "table", "write_scenario", "posterior"}
FOLDER_DESTS = {"out_dir"}
INPUT_DESTS = {"model", "goals", "observed", "ledger", "scenario", "compare"}


@pytest.fixture(scope="module")
def place(tmp_path_factory, model):
    """Inputs (a results file, a garbage file, ...) and the names hostile values use."""
    d = tmp_path_factory.mktemp("inputs")
    plan = load_scenario(PLAN, model)
    ds = ys.simulate(model, [plan], return_vars=None)
    ys.to_netcdf(ds, d / "results.nc")
    short = ys.simulate(model, [plan], horizon=ys.Horizon(2016, 2017, 0.125, 0.25))
    ys.to_netcdf(short, d / "short.nc")
    (d / "garbage.txt").write_bytes(b"\xff\xfe not a file of any kind \x00\x01")
    (d / "a folder").mkdir()
    (d / "dangling.nc").symlink_to(d / "gone" / "x.nc")
    os.mkfifo(d / "fifo.nc")
    return {
        "results": str(d / "results.nc"),
        "short": str(d / "short.nc"),
        "dir": str(d / "a folder"),
        "long": str(d / ("x" * 300 + ".nc")),
        "dangling": str(d / "dangling.nc"),
        "fifo": str(d / "fifo.nc"),
        "missing": str(d / "missing"),
        "garbage": str(d / "garbage.txt"),
    }


def base(command: str, place: dict, out: Path) -> tuple[list[str], list[str]]:
    """(positionals, options) of a valid, quick invocation of ``command``."""
    o = ["-o", str(out / "out")]
    table = {
        "run": ([PLAN], ["-o", str(out / "r.nc")]),
        "levers": ([], []),
        "validate": ([PLAN], []),
        "units": ([], []),
        "evaluate": ([place["results"]], []),
        "report": ([place["results"]], ["-o", str(out / "r.html"), "--no-observed"]),
        "rerun": ([place["short"]], ["-o", str(out / "again.nc")]),
        "ensemble": (
            [UNCERTAIN],
            ["-n", "3", "--horizon", SHORT, "--no-progress", "-o", str(out / "e.nc")],
        ),
        "sensitivity": (
            [UNCERTAIN],
            ["-n", "2", "--levers", "none", "--no-progress", "-o", str(out / "s.csv")],
        ),
        "calibrate": ([], [*ONE_CONSTANT, "--no-progress", "-o", str(out / "c.yaml")]),
        "seek": (["plan"], ["--goals", "revenue_park:ETDZ", "--levers", "Profit margin"]),
        "batch": ([PLAN], ["--horizon", SHORT, "--no-progress", "-o", str(out / "b.nc")]),
        "backtest": ([place["results"]], []),
        # every loop of up to 6 links (~1 s; the default search takes ~45 s)
        "loops": (
            [place["short"]],
            ["--park", "ETDZ", "--method", "exhaustive", "--max-length", "6"],
        ),
    }
    return table.get(command, ([], o))  # a new command: walked with its options alone


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def hostile(action: argparse.Action) -> list[str]:
    """Hostile values for an option, by what it takes."""
    kind = getattr(action.type, "__name__", "")
    if action.choices is not None:
        return ["not-a-choice", ""]
    if kind in ("int", "float", "whole number", "number"):
        return NUMBERS
    if action.dest in OUTPUT_DESTS:
        return OUTPUTS
    if action.dest in FOLDER_DESTS:
        return FOLDERS
    if action.dest in INPUT_DESTS or action.type is Path:
        return INPUTS
    return TEXTS


def cases(command: str) -> list[tuple[str, str]]:
    parser = _subparsers()[command]
    out = []
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.dest == "help":
            continue  # flags and positionals (positionals: see below)
        for value in hostile(action):
            out.append((action.option_strings[-1], value))
    return out


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a usage error
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_meets_hostile_values(
    command, place, tmp_path, monkeypatch, capsys
):
    if command not in _subparsers():
        pytest.skip(f"{command} is not built yet")
    monkeypatch.chdir(tmp_path)
    bad = []
    for i, (option, value) in enumerate(cases(command)):
        out = tmp_path / f"case{i}"
        out.mkdir()
        positionals, options = base(command, place, out)
        value = value.format(**place)
        code, err = _run([command, *positionals, *options, option, value], capsys)
        if code not in (0, 2) or "Traceback" in err:
            bad.append(f"{command} {option} {value[:40]!r}: exit {code}: {err.strip()[-300:]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_positional_meets_hostile_files(command, place, tmp_path, monkeypatch, capsys):
    if command not in _subparsers():
        pytest.skip(f"{command} is not built yet")
    monkeypatch.chdir(tmp_path)
    positionals, options = base(command, place, tmp_path)
    if not positionals:
        return
    bad = []
    for value in INPUTS:
        value = value.format(**place)
        code, err = _run([command, value, *positionals[1:], *options], capsys)
        if code not in (0, 2) or "Traceback" in err:
            bad.append(f"{command} {value[:40]!r}: exit {code}: {err.strip()[-300:]}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ environments


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, **kw)


def test_a_closed_standard_output_is_refused_before_any_work(tmp_path):
    out = tmp_path / "x.nc"
    # bash closes the descriptor: a preexec_fn would fork this process, which JAX (loaded
    # by earlier tests on the same worker) warns against, and warnings fail tests
    proc = subprocess.run(
        ["bash", "-c", 'exec "$@" >&-', "bash", *CLI, "run", PLAN, "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "standard output is closed" in proc.stderr
    assert not out.exists()


def test_a_standard_output_that_cannot_show_chinese_is_refused(tmp_path):
    proc = _cli("levers", env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 2
    assert "encoding ascii" in proc.stderr and "PYTHONIOENCODING=utf-8" in proc.stderr


def test_a_reader_that_stops_early_is_no_internal_error(place):
    """``| head``: the output (over a pipe's 64 KiB) is cut; exit 2 and one line, quietly."""
    command = " ".join(f"'{a}'" for a in [*CLI, "backtest", place["results"], "--format", "json"])
    proc = subprocess.run(
        ["bash", "-c", f'{command} | head -c 10 >/dev/null; echo "rc=${{PIPESTATUS[0]}}" >&2'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "rc=2" in proc.stderr, proc.stderr
    assert "closed by its reader" in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_a_cache_path_that_is_a_file_names_the_cache(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache-file"
    cache.write_text("x")
    monkeypatch.setenv("YAAN_SIM_CACHE", str(cache))
    assert main(["levers", "--model", SMALL_MDL]) == 2
    err = capsys.readouterr().err
    assert f"the translation cache {cache}" in err and "a file, not a folder" in err


def test_a_read_only_cache_names_the_cache(tmp_path, monkeypatch, capsys):
    """A cache no one may write in. A folder of mode 555 stops a user but not root (CI
    runs as root), so the test also asks for a folder in /sys, which refuses a new
    folder to root too (EPERM; a user gets EACCES)."""
    places = [Path("/sys") / f"yaan-sim-cache-{os.getpid()}"]
    if os.geteuid() != 0:
        places.append(tmp_path / "ro")
        places[-1].mkdir(mode=0o555)
    for cache in places:
        monkeypatch.setenv("YAAN_SIM_CACHE", str(cache))
        assert main(["levers", "--model", SMALL_MDL]) == 2
        err = capsys.readouterr().err
        assert f"the translation cache {cache}" in err and "Traceback" not in err
        assert "make it a writable folder, or point YAAN_SIM_CACHE at one" in err


def test_a_damaged_cache_entry_heals_itself(tmp_path):
    first = ys.load_model(SMALL_MDL, cache=tmp_path)
    first.py_path.write_text("this is not python (", encoding="utf-8")
    again = ys.load_model(SMALL_MDL, cache=tmp_path)
    assert not again.from_cache  # translated anew, in the same place
    assert again.py_path == first.py_path and "(" not in again.py_path.read_text()[:1]
    assert ys.load_model(SMALL_MDL, cache=tmp_path).from_cache


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--horizon", "2016:inf"], "not a finite number"),
        (["--horizon", "2016:2020:1e-300"], "at most 100,000"),
        (["--horizon", "2016:2020:0.3"], "would end at 2019.9, not 2020"),
        (["--horizon", "2016:2020:0.25:0.3"], "not a whole number of steps"),
        (["--horizon", "2016:2019.5:0.25:1"], "last value saved would be at 2019"),
        (["--scheduler", "not a url"], "has no port"),
        (["--scheduler", "ftp://host:8786"], "unknown protocol"),
        (["--chunk-size", "0"], "at least 1"),
        (["--workers", "-2"], "from 1 to"),
        (["--workers", "100000"], "from 1 to"),
        (
            ["--year", "2025"],
            "outside the calendar years the run covers (2016; it runs from 2016 to 2017",
        ),
        (["--vars", "nothing_like_this"], "has no variable 'nothing_like_this'"),
    ],
)
def test_ensemble_options_are_refused_at_once(argv, message, tmp_path, capsys):
    code, err = _run(
        ["ensemble", UNCERTAIN, "-n", "2", "--horizon", SHORT, "-o", str(tmp_path / "e.nc"), *argv],
        capsys,
    )
    assert code == 2 and message in err, err
    assert not (tmp_path / "e.nc").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model-error", "nan"], "finite number"),
        (["--model-error", "-1"], "at least 0"),
        (["--level-error", "H=nan"], "positive finite number"),
        (["--growth-error", "M=inf"], "positive finite number"),
        (["--walkers", "0"], "from 1 to 100000"),
        (["--burn", "5", "--steps", "5", "--posterior", "{tmp}/p.nc"], "below --steps"),
        (["--cutoff", "99999"], "from 1900 to 2200"),
    ],
)
def test_calibrate_refuses_non_finite_and_negative_inputs(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, err = _run(["calibrate", "-o", str(tmp_path / "c.yaml"), *argv], capsys)
    assert code == 2 and message in err, err


@pytest.mark.parametrize(
    "argv",
    [
        ["ensemble", "{s}", "-n", "2", "-o", "{tmp}/e.nc"],
        ["sensitivity", "{s}", "-n", "2", "-o", "{tmp}/s.csv"],
        ["batch", "{s}", "-n", "2", "-o", "{tmp}/b.nc"],
    ],
)
def test_a_model_without_the_goals_variables_is_refused_before_the_run(
    argv, tmp_path, tmp_path_factory, capsys
):
    """The goals are the model's own (its profile's goals file beside the .mdl): one on a
    variable the model lacks stops the command before the run."""
    (tmp_path / "s.yaml").write_text(
        "name: s\nuncertain:\n  Growth rate: {distribution: uniform, low: 0.05, high: 0.15}\n",
        encoding="utf-8",
    )
    folder = tmp_path_factory.mktemp("model")
    mdl = folder / Path(SMALL_MDL).name
    shutil.copy(SMALL_MDL, mdl)
    (folder / "goals.yaml").write_text(
        "goals:\n  - {id: r, variable: revenue, comparison: at least, target: 1, year: 10}\n",
        encoding="utf-8",
    )
    argv = [a.format(s=tmp_path / "s.yaml", tmp=tmp_path) for a in argv]
    code, err = _run([*argv, "--model", str(mdl), "--no-progress"], capsys)
    assert code == 2 and "loops_exponential.mdl has no variable 'revenue'" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_an_ensemble_of_a_model_without_goals_runs_with_a_notice(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(
        "name: s\nuncertain:\n  Growth rate: {distribution: uniform, low: 0.05, high: 0.15}\n",
        encoding="utf-8",
    )
    out = tmp_path / "e.nc"
    argv = ["ensemble", str(tmp_path / "s.yaml"), "-n", "2", "--model", SMALL_MDL, "-o", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    assert "no goals file for loops_exponential.mdl" in capsys.readouterr().err
    assert xr.load_dataset(out)["stock"].sizes["sample"] == 2


def test_a_batch_of_another_model_is_written_without_a_summary(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("name: s\n", encoding="utf-8")
    out = tmp_path / "b.nc"
    argv = ["batch", str(tmp_path / "s.yaml"), "--model", SMALL_MDL, "-o", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    assert "no summary against the goals" in capsys.readouterr().out
    assert xr.load_dataset(out)["stock"].sizes["scenario"] == 1


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_a_year_outside_the_results_is_an_error(command, place, tmp_path, capsys):
    code, err = _run(
        [
            command,
            place["results"],
            "--year",
            "2025",
            "-o",
            str(tmp_path / {"evaluate": "x.csv", "report": "x.html"}[command]),
        ],
        capsys,
    )
    assert (
        code == 2
        and "year 2025 is outside the years the results cover (2013-2020; they run from "
        "2013 to 2021"
        in err
    )


@pytest.fixture
def own_goals(tmp_path_factory):
    """A copy of a small model (time 0-10) with its own goals file: a goal in year 10."""
    folder = tmp_path_factory.mktemp("own-goals")
    mdl = folder / Path(SMALL_MDL).name
    shutil.copy(SMALL_MDL, mdl)
    (folder / "goals.yaml").write_text(
        "goals:\n  - {id: g, variable: Stock, comparison: at least, target: 1, year: 10}\n",
        encoding="utf-8",
    )
    (folder / "s.yaml").write_text(
        "name: s\nuncertain:\n  Growth rate: {distribution: uniform, low: 0.05, high: 0.15}\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    "command, argv, message",
    [
        (
            "ensemble",
            ["--horizon", "0:5"],
            "goal 'g' needs the value in 10, outside the times the run covers (0-5)",
        ),
        (
            "batch",
            ["--horizon", "0:5"],
            "goal 'g' needs the value in 10, outside the times the run covers (0-5)",
        ),
        ("ensemble", ["--year", "50"], "--year 50 is outside the times the run covers (0-10)"),
        ("batch", ["--year", "-1"], "--year -1 is outside the times the run covers (0-10)"),
    ],
)
def test_another_models_goal_years_are_checked_before_the_run(
    command, argv, message, own_goals, tmp_path, capsys
):
    out = tmp_path / "x.nc"
    base_argv = [
        command,
        str(own_goals / "s.yaml"),
        "--model",
        str(own_goals / "loops_exponential.mdl"),
    ]
    code, err = _run([*base_argv, "-n", "2", "--no-progress", "-o", str(out), *argv], capsys)
    assert code == 2 and message in err, err
    assert not out.exists()


def test_another_models_goals_are_judged_at_their_own_year_or_at_year(own_goals, tmp_path, capsys):
    mdl = str(own_goals / "loops_exponential.mdl")
    argv = ["ensemble", str(own_goals / "s.yaml"), "--model", mdl, "-n", "2", "--no-progress"]
    assert main([*argv, "-o", str(tmp_path / "e.nc")]) == 0
    assert "Goals (each goal at its own year;" in capsys.readouterr().out
    assert main([*argv, "-o", str(tmp_path / "e5.nc"), "--year", "5"]) == 0
    assert "Goals (5;" in capsys.readouterr().out
    results = str(tmp_path / "e.nc")
    for year, want in ((["--year", "5"], 5), ([], 10)):  # default: the goal's own year
        assert main(["evaluate", results, "--model", mdl, "--format", "csv", *year]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [int(r["eval_year"]) for r in rows] == [want]
    code, err = _run(["evaluate", results, "--model", mdl, "--year", "50"], capsys)
    assert (
        code == 2
        and "year 50 is outside the years the results cover (0-10; they run from 0 to 10)" in err
    ), err


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_the_goals_file_of_the_results_model_is_an_input(command, own_goals, tmp_path, capsys):
    mdl = own_goals / "loops_exponential.mdl"
    results = tmp_path / "r.nc"
    assert main(["run", "--model", str(mdl), "--out-dir", str(tmp_path), "-o", str(results)]) == 0
    before = (own_goals / "goals.yaml").read_bytes()
    argv = [command, str(results), "--model", str(mdl), "-o", str(own_goals / "goals.yaml")]
    code, err = _run([*argv, "--force"], capsys)
    # refused by its suffix (a goals file is .yaml, no output format), or as an input
    assert code == 2 and str(own_goals / "goals.yaml") in err, err
    assert (own_goals / "goals.yaml").read_bytes() == before


# ------------------------------------------------------------------ generated input

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_MANIFEST_KEYS = st.sampled_from(
    [
        "horizon",
        "scenarios",
        "model_sha256",
        "engine",
        "kind",
        "samples",
        "seed",
        "return_vars",
        "ensemble",
        "manifest_version",
        "nonfinite",
        "command",
    ]
)
FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FEW
@given(
    changes=st.lists(st.tuples(_MANIFEST_KEYS, _JSON), min_size=1, max_size=3),
    whole=st.one_of(st.none(), _JSON),
    command=st.sampled_from(["rerun", "evaluate", "loops", "backtest"]),
)
def test_generated_manifests_exit_0_or_2(place, tmp_path, capsys, changes, whole, command):
    ds = xr.load_dataset(place["short"])
    raw = json.loads(ds.attrs["manifest"])
    for key, value in changes:
        raw[key] = value
    ds.attrs["manifest"] = json.dumps(raw if whole is None else whole)
    path = tmp_path / f"m-{os.urandom(4).hex()}.nc"
    ds.to_netcdf(path)
    argv = [command, str(path)]
    if command == "rerun":
        argv += ["-o", str(path.with_suffix(".again.nc"))]
    code, err = _run(argv, capsys)
    assert code in (0, 2) and "Traceback" not in err, err


_VALUE = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2016:2017", "0", "-0", "1e308", "nan", "ETDZ", "汉源", "revenue"]),
)


@FEW
@given(data=st.data())
def test_generated_option_values_exit_0_or_2(place, tmp_path, monkeypatch, capsys, data):
    monkeypatch.chdir(tmp_path)
    command = data.draw(st.sampled_from(sorted(_subparsers())))
    options = [
        a
        for a in _subparsers()[command]._actions
        if a.option_strings and a.nargs != 0 and a.dest not in COST_DESTS
    ]
    if not options:
        return
    chosen = data.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3))
    out = tmp_path / os.urandom(4).hex()
    out.mkdir()
    positionals, argv = base(command, place, out)
    for action in chosen:
        argv += [action.option_strings[-1], data.draw(_VALUE)]
    code, err = _run([command, *positionals, *argv], capsys)
    assert code in (0, 2) and "Traceback" not in err, err


_CELLS = {
    "variable": st.sampled_from(["revenue", "营业收入", "rd_share", "r_and_d_spending", "x"]),
    "park": st.sampled_from(["ETDZ", "汉源", "city", "East", "Nowhere", ""]),
    "year": st.one_of(st.integers(1990, 2030).map(str), st.text(max_size=5)),
    "value": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(str), st.text(max_size=6)
    ),
    "unit": st.sampled_from(["亿元", "万元", "元", "yiyuan", "%", "万tce", "kg", ""]),
    "source": st.text(max_size=10),
    "confidence": st.sampled_from(["H", "M", "L", "X", ""]),
    "note": st.text(max_size=10),
}


@FEW
@given(
    rows=st.lists(st.fixed_dictionaries(_CELLS), max_size=5),
    columns=st.permutations(list(_CELLS)).map(lambda c: c[: len(c) - 1] if c[-1] == "note" else c),
)
def test_generated_observed_files_exit_0_or_2(place, tmp_path, capsys, rows, columns):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    path = tmp_path / f"obs-{os.urandom(4).hex()}.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    code, err = _run(["evaluate", place["results"], "--observed", str(path)], capsys)
    assert code in (0, 2) and "Traceback" not in err, err
