"""One writer: outputs are created whole and exclusively, never over an input, never over a
folder, a device or a broken link, and what a killed writer left is removed next time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yaan_sim.cli import main
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.results import TEMP_MARK, check_output, remove_stale_temps, write_atomic

REPO = Path(__file__).resolve().parents[1]
PLAN = str(REPO / "scenarios" / "plan.yaml")
SMALL_MDL = REPO / "tests" / "data" / "loops_exponential.mdl"
CLI = [sys.executable, "-c", "import sys; from yaan_sim.cli import main; sys.exit(main())"]


def _write(text: str):
    return lambda tmp: Path(tmp).write_text(text, encoding="utf-8")


def test_an_output_is_created_exclusively_unless_force(tmp_path):
    out = tmp_path / "a.txt"
    write_atomic(out, _write("first"))
    with pytest.raises(YaanSimError, match="exists already: pass --force"):
        write_atomic(out, _write("second"))
    assert out.read_text() == "first"
    write_atomic(out, _write("second"), force=True)
    assert out.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_a_file_made_by_another_writer_meanwhile_is_kept(tmp_path):
    """The race the existence check before the work cannot see: the other process
    finishes first, while this one is writing. Its file stays; this one is refused."""
    out = tmp_path / "a.txt"

    def slow(tmp):
        Path(tmp).write_text("mine", encoding="utf-8")
        out.write_text("theirs", encoding="utf-8")  # the other process, finishing first

    with pytest.raises(YaanSimError, match="created by another process while this one"):
        write_atomic(out, slow)
    assert out.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


_RACER = """
import sys, time
from pathlib import Path
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.results import write_atomic
out, me, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def write(tmp):
    while time.time() < start:  # both processes are past their checks: now race
        time.sleep(0.005)
    Path(tmp).write_text(me * 100000, encoding="utf-8")
try:
    write_atomic(out, write)
except YaanSimError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


def test_two_processes_writing_one_output_one_wins(tmp_path):
    out = tmp_path / "same.txt"
    start = time.time() + 4  # both started and checked by then, even on a busy machine
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(out), me, str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in "AB"
    ]
    errs = "".join(p.communicate(timeout=120)[1] for p in procs)
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    assert "created by another process" in errs or "exists already" in errs
    text = out.read_text()
    assert text in ("A" * 100000, "B" * 100000)  # one complete result, not a mix
    assert [p.name for p in tmp_path.iterdir()] == ["same.txt"]


def test_two_cli_runs_of_one_output_one_wins(tmp_path):
    out = tmp_path / "runs.nc"
    argv = [*CLI, "run", "--model", str(SMALL_MDL), "-o", str(out)]
    # in tmp_path: the main job of another model writes its charts and report to out/ there
    procs = [
        subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=tmp_path) for _ in range(2)
    ]
    errs = "".join(p.communicate(timeout=300)[1] for p in procs)
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    assert "Traceback" not in errs
    import xarray as xr

    assert float(xr.load_dataset(out)["stock"].isel(time=-1)) > 1  # one whole result


def test_the_output_may_not_be_an_input(tmp_path, capsys):
    results = tmp_path / "x.html"  # a results file under a report's name: still refused
    results.write_bytes(b"not read: refused before")
    assert main(["report", str(results), "-o", str(results), "--force"]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert results.read_bytes() == b"not read: refused before"
    link = tmp_path / "alias.nc"
    link.symlink_to(results)  # the same file by another name
    with pytest.raises(YaanSimError, match="is also an input"):
        check_output(link, force=True, inputs=[results])


def test_a_broken_symbolic_link_is_not_replaced_silently(tmp_path):
    link = tmp_path / "out.nc"
    link.symlink_to(tmp_path / "gone" / "x.nc")
    with pytest.raises(YaanSimError, match="broken symbolic link"):
        write_atomic(link, _write("x"))
    assert link.is_symlink()
    write_atomic(link, _write("x"), force=True)  # --force replaces the link itself
    assert not link.is_symlink() and link.read_text() == "x"


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_or_a_pipe_is_never_an_output(tmp_path, force):
    (tmp_path / "dir.nc").mkdir()
    with pytest.raises(YaanSimError, match="is a folder"):
        check_output(tmp_path / "dir.nc", force)
    os.mkfifo(tmp_path / "pipe.nc")
    with pytest.raises(YaanSimError, match="not a regular file"):
        check_output(tmp_path / "pipe.nc", force)


@pytest.mark.parametrize(
    "name, message",
    [
        ("x" * 300 + ".nc", "bytes long"),
        ("雅" * 90 + ".nc", "bytes long"),  # 270 bytes in UTF-8
        ("missing/x.nc", "does not exist"),
        ("afile/x.nc", "is a file, not a folder"),
        ("", "empty"),
    ],
)
def test_bad_output_names_are_refused(tmp_path, name, message):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(YaanSimError, match=message):
        check_output(tmp_path / name if name else "", False)


def test_a_long_name_that_fits_still_gets_a_temporary_file(tmp_path):
    out = tmp_path / ("n" * 250 + ".nc")  # 253 bytes: the temporary name must be cut
    write_atomic(out, _write("ok"))
    assert out.read_text() == "ok"


_KILLED = """
import sys, time
from pathlib import Path
from yaan_sim.outputs.results import write_atomic
def write(tmp):
    Path(tmp).write_bytes(b"x" * 2_000_000)
    print("writing", flush=True)
    time.sleep(600)
write_atomic(Path(sys.argv[1]), write)
"""


def test_a_temporary_file_of_a_killed_writer_is_removed_next_time(tmp_path):
    out = tmp_path / "ensemble.nc"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    (left,) = [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]
    assert left.name.startswith(".ensemble.nc" + TEMP_MARK) and left.stat().st_size > 10**6
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert left.exists()  # a kill leaves it; the next write in the folder removes it
    write_atomic(tmp_path / "other.txt", _write("x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_a_running_writers_temporary_file_is_kept(tmp_path):
    mine = tmp_path / f".x.nc{TEMP_MARK}{os.getpid()}-999"
    mine.write_text("in progress")
    other = tmp_path / f".y{TEMP_MARK}1-0"  # pid 1 runs (init): not ours to remove
    other.write_text("in progress")
    impossible = tmp_path / f".z{TEMP_MARK}{10**30}-0"  # a pid no process can have
    impossible.write_text("left")
    assert remove_stale_temps(tmp_path) == [impossible]
    assert mine.exists() and other.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", PLAN, "-o", "DIR/x.nc"], "does not exist"),
        (["run", PLAN, "-o", "{tmp}"], "cannot be written as (no suffix)"),
        (["run", PLAN, "-o", "{tmp}/dir.nc"], "is a folder"),
        (["run", PLAN, "-o", "{tmp}/" + "x" * 300 + ".nc"], "bytes long"),
        (["run", "--out-dir", "{tmp}/afile"], "is a file"),
        (
            [
                "ensemble",
                "uncertain/plan-uncertain.yaml",
                "-n",
                "2",
                "-o",
                "{tmp}/e.nc",
                "--chart",
                "{tmp}/e.nc",
            ],
            "two outputs",
        ),
        (
            ["evaluate", "{tmp}/r.nc", "-o", "{tmp}/r.nc", "--force"],
            "table cannot be written as .nc",
        ),
        (["export", "{tmp}/r.nc", "-o", "{tmp}/r.nc", "--force"], "is also an input"),
        (["evaluate", "{tmp}/r.nc", "-o", "{tmp}/r.txt"], "use .csv (CSV); .xlsx"),
        (["backtest", "-o", "{tmp}/b.txt"], "cannot be written as .txt"),
        (["loops", "{tmp}/r.nc", "-o", "{tmp}/l.pdf"], "cannot be written as .pdf"),
        (["sensitivity", "plan", "-o", "{tmp}/afile/s.csv"], "is a file, not a folder"),
        (
            ["seek", "plan", "--goals", "revenue_city", "--levers", "x", "-o", "{tmp}/s.txt"],
            ".csv or .xlsx",
        ),
        (["calibrate", "-o", "{tmp}/c.yaml", "--table", "{tmp}/afile/t.csv"], "is a file"),
    ],
)
def test_every_output_is_checked_before_the_run(tmp_path, monkeypatch, capsys, argv, message):
    """Each of these would fail only after minutes of work if checked at the end; the
    simulation is never reached (it is replaced by one that fails the test)."""
    import yaan_sim.engines.simulate
    from yaan_sim.analysis import batch, calibrate, ensemble, seek, sensitivity

    def no_run(*a, **k):
        raise AssertionError("the run started before the outputs were checked")

    monkeypatch.setattr(yaan_sim.engines.simulate, "simulate", no_run)
    for module in (batch, ensemble, sensitivity):
        monkeypatch.setattr(module, "run_jobs", no_run)
    monkeypatch.setattr(seek, "seek", no_run)
    monkeypatch.setattr(calibrate, "calibrate", no_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir.nc").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "r.nc").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    argv = [str(REPO / "scenarios" / a) if a.startswith("uncertain/") else a for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
