"""One writer: outputs are created whole and exclusively, never over an input, never over a
folder, a device or a broken link, and what a killed writer left is removed next time."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.cli import main
from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.outputs import finite as results_finite
from yaan_sim.outputs import results
from yaan_sim.outputs.results import (
    TEMP_MARK,
    _create_temp,
    _temp_path,
    check_output,
    check_writable,
    remove_stale_temps,
    to_netcdf,
    write_atomic,
)

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
from yaan_sim.errors import ResultsError, YaanSimError
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
    # the other writer is a child of ours, not pid 1: a mutant of the liveness probe that
    # sends a real signal (mutation testing runs as root) then reaches only this child
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        mine = tmp_path / f".x.nc{TEMP_MARK}{os.getpid()}-999"
        mine.write_text("in progress")
        other = tmp_path / f".y{TEMP_MARK}{child.pid}-0"  # running: not ours to remove
        other.write_text("in progress")
        impossible = tmp_path / f".z{TEMP_MARK}{10**30}-0"  # a pid no process can have
        impossible.write_text("left")
        assert remove_stale_temps(tmp_path) == [impossible]
        assert mine.exists() and other.exists()
    finally:
        child.kill()
        child.wait(timeout=60)


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


# ---- what a temporary file is named and made with ----
def test_a_temporary_name_fills_the_folder_limit_and_cuts_between_characters(tmp_path):
    """The stem is cut to the bytes left after the mark, never inside a character: the
    name is 255 bytes or one or two less (a 3-byte character that would not fit whole)."""
    for pad in range(3):  # one of the three cuts lands inside a character's bytes
        name = "x" * pad + "雅" * 82 + ".nc"
        tmp = _temp_path(tmp_path / name)
        stem, mark, tail = tmp.name.partition(TEMP_MARK)
        assert stem.startswith(".") and name.startswith(stem[1:]) and len(stem) > 70
        assert mark == TEMP_MARK and re.fullmatch(rf"{os.getpid()}-\d+", tail)
        assert 253 <= len(tmp.name.encode("utf-8")) <= 255
    short = _temp_path(tmp_path / "e.nc")
    assert short.name.startswith(f".e.nc{TEMP_MARK}{os.getpid()}-")


def test_a_temporary_name_keeps_one_byte_of_the_stem_when_the_limit_is_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_name_max", lambda folder: 5)
    assert _temp_path(tmp_path / "abc.nc").name.startswith(f".a{TEMP_MARK}")


def test_the_hundredth_temporary_name_is_the_last_tried(tmp_path, monkeypatch):
    """Names left by an earlier process with this pid are skipped, 100 at most."""
    out = tmp_path / "r.nc"
    pid = os.getpid()
    for n in range(99):
        (tmp_path / f".r.nc{TEMP_MARK}{pid}-{n}").write_text("left")
    monkeypatch.setattr(results, "_temp_counter", itertools.count())
    assert _create_temp(out).name == f".r.nc{TEMP_MARK}{pid}-99"
    monkeypatch.setattr(results, "_temp_counter", itertools.count())
    with pytest.raises(YaanSimError) as refused:
        _create_temp(out)
    assert str(refused.value) == (
        f"cannot create a temporary file in {tmp_path}: remove its .*{TEMP_MARK}* files"
    )


def test_a_temporary_file_that_cannot_be_created_is_explained(tmp_path, monkeypatch):
    real_open = os.open

    def full_disk(path, *args):
        if TEMP_MARK in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", full_disk)
    with pytest.raises(YaanSimError) as refused:
        write_atomic(tmp_path / "r.nc", _write("x"))
    assert str(refused.value) == (
        f"cannot write in {tmp_path} (No space left on device): choose another path"
    )


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("hard_links", [True, False])
def test_an_output_has_the_usual_permissions(tmp_path, monkeypatch, umask_022, hard_links):
    """rw for all less the umask (0o644 under 022), as ``open(path, "w")`` would make it,
    also where the file system has no hard links and the name is claimed instead."""
    if not hard_links:
        monkeypatch.setattr(os, "link", _no_links(errno.EPERM))
    out = write_atomic(tmp_path / "r.txt", _write("whole"))
    assert out.read_text() == "whole"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def _no_links(code):
    def link(src, dst):
        raise OSError(code, os.strerror(code))

    return link


@pytest.mark.parametrize("code", [errno.EPERM, errno.EXDEV, errno.EMLINK])
def test_without_hard_links_a_file_made_meanwhile_is_still_kept(tmp_path, monkeypatch, code):
    out = tmp_path / "a.txt"
    monkeypatch.setattr(os, "link", _no_links(code))

    def slow(tmp):
        Path(tmp).write_text("mine", encoding="utf-8")
        out.write_text("theirs", encoding="utf-8")  # the other process, finishing first

    with pytest.raises(YaanSimError) as refused:
        write_atomic(out, slow)
    assert str(refused.value) == (
        f"{out} was created by another process while this one was working; it was not "
        "overwritten and this result was not kept: pass --force to replace it, or choose "
        "another path"
    )
    assert out.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_link_that_fails_otherwise_writes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "a.txt"
    monkeypatch.setattr(os, "link", _no_links(errno.EIO))
    with pytest.raises(YaanSimError) as refused:
        write_atomic(out, _write("x"))
    assert str(refused.value) == (
        f"cannot put {out} in place (Input/output error); nothing was written there"
    )
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_and_to_netcdf_refuse_an_input_or_an_existing_file(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("read")
    with pytest.raises(YaanSimError, match="is also an input"):
        write_atomic(src, _write("x"), force=True, inputs=[src])
    assert src.read_text() == "read"
    ds = xr.Dataset({"x": ("time", [1.0])}, coords={"time": [0.0]})
    with pytest.raises(YaanSimError, match="exists already"):
        to_netcdf(ds, src)
    assert src.read_text() == "read"
    assert check_writable(tmp_path / "new.nc") == tmp_path / "new.nc"
    with pytest.raises(YaanSimError, match="exists already"):
        check_writable(src)
    assert check_writable(str(src), force=True) == src


def test_a_running_process_is_asked_nothing_and_a_refusal_keeps_its_file(tmp_path, monkeypatch):
    """The probe is signal 0: it tests, it sends nothing (a SIGHUP would end the writer)."""
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left = tmp_path / f".x.nc{TEMP_MARK}{writer.pid}-0"
        left.write_text("in progress")
        assert remove_stale_temps(tmp_path) == [] and left.exists()
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=0.5)  # still running
    finally:
        writer.kill()
        writer.wait()

    def not_allowed(pid, sig):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "kill", not_allowed)  # another user's process: cannot tell
    assert remove_stale_temps(tmp_path) == [] and left.exists()


# ---- the results Dataset: annotation, scenarios stacked, title ----
def _two_parks(parks=("ETDZ", "Nowhere")) -> xr.Dataset:
    return xr.Dataset(
        {
            "not_in_the_model": (("time",), [1.0, 2.0]),  # first: the next ones still read
            "revenue": (("time", "park"), np.arange(2.0 * len(parks)).reshape(2, -1)),
        },
        coords={"time": [2016.0, 2017.0], "park": list(parks)},
        attrs={"kept": "yes"},
    )


def test_annotate_gives_each_model_variable_its_names_units_and_role(model):
    ds = _two_parks(("ETDZ", "Lushan", "Nowhere"))
    out = results.annotate(ds, model)
    assert out["revenue"].attrs == {
        "units": "yiyuan/Year",
        "long_name": "Revenue (operating income of all park firms)",
        "long_name_en": "Revenue (operating income of all park firms)",
        "long_name_zh": "营业收入",
        "vensim_name": "Revenue",
        "role": "output",
    }
    assert out["not_in_the_model"].attrs == {}
    assert out["time"].attrs == {
        "units": "year",
        "long_name": "time (t = Y.0 is 1 January of year Y)",
        "long_name_zh": "年份",
    }
    assert out["region"].dims == ("park",)
    assert out["region"].values.tolist() == ["East", "Northwest", ""]  # a park the plan lacks
    assert out["region"].attrs == {"long_name": "region of the plan's section 二(二)"}
    assert out.attrs == {"kept": "yes"}
    # the variables and indexes are shared, not copied (a large ensemble is not doubled)
    assert out.variables["revenue"] is ds.variables["revenue"]
    assert out.xindexes["park"] is ds.xindexes["park"]
    assert out.sel(park="Lushan")["revenue"].values.tolist() == [1.0, 4.0]


def test_annotate_replaces_a_region_and_keeps_a_read_files_encoding(model):
    ds = _two_parks().assign_coords(region=("park", ["wrong", "wrong"]))
    ds.encoding = {"source": "results.nc"}
    out = results.annotate(ds, model)
    assert out["region"].values.tolist() == ["East", ""]
    assert out["region"].attrs == {"long_name": "region of the plan's section 二(二)"}
    assert out.encoding == {"source": "results.nc"}
    fresh = _two_parks()
    fresh.encoding = {"source": "results.nc"}  # no region yet: added all the same
    annotated = results.annotate(fresh, model)
    assert annotated["region"].values.tolist() == ["East", ""]
    assert annotated.encoding == {"source": "results.nc"}


def test_annotate_adds_no_region_without_parks_or_for_another_model(model):
    city = xr.Dataset({"revenue": (("time",), [1.0, 2.0])}, coords={"time": [2016.0, 2017.0]})
    assert "region" not in results.annotate(city, model).variables
    other = ys.load_model(SMALL_MDL)
    ds = xr.Dataset(
        {"stock": (("time",), [1.0, 1.1])},
        coords={"time": [0.0, 1.0], "park": ["a"]},  # a park dim, but the model has no regions
    )
    out = results.annotate(ds, other)
    assert "region" not in out.variables
    assert out["time"].attrs == {"units": "Year", "long_name": "time", "long_name_zh": "时间"}
    assert out["stock"].attrs == {
        "units": "widgets",
        "long_name": "A stock that grows exponentially",
        "long_name_en": "A stock that grows exponentially",
        "long_name_zh": "",
        "vensim_name": "Stock",
        "role": "",
    }


def test_results_titles(model):
    assert results.results_title(model) == (
        "yaan-sim results: Ya'an industrial parks, 2016-2020 plan"
    )
    assert results.results_title(ys.load_model(SMALL_MDL)) == (
        "yaan-sim results: loops_exponential.mdl"
    )


def _run(times, values, **attrs) -> xr.Dataset:
    return xr.Dataset(
        {"x": (("time",), values, {"units": "u"})},
        coords={"time": times},
        attrs=attrs,
    )


def _sc(name, title=None):
    return SimpleNamespace(name=name, title_en=title)


def test_one_scenario_is_stacked_as_a_view():
    run = _run([0.0, 1.0], [1.0, 2.0], title="t")
    out = results.stack_scenarios([run], [_sc("plan", "The plan")])
    assert out["x"].dims == ("scenario", "time") and out["x"].values.tolist() == [[1.0, 2.0]]
    assert np.shares_memory(out["x"].values, run["x"].values)
    assert out["x"].attrs == {"units": "u"} and out.attrs == {"title": "t"}
    assert out["scenario"].values.tolist() == ["plan"]
    assert out["scenario_title"].dims == ("scenario",)
    assert out["scenario_title"].values.tolist() == ["The plan"]
    assert out.xindexes["time"] is run.xindexes["time"]


def test_scenarios_on_one_horizon_are_stacked_in_order_sharing_the_time_index():
    runs = [_run([0.0, 1.0], [1.0, 2.0], title="t"), _run([0.0, 1.0], [3.0, 4.0])]
    out = results.stack_scenarios(runs, [_sc("a", "A"), _sc("b")])
    assert out["x"].values.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert out["x"].attrs == {"units": "u"} and out.attrs == {"title": "t"}
    assert out["scenario"].values.tolist() == ["a", "b"]
    assert out["scenario_title"].values.tolist() == ["A", "b"]  # no title: the name
    assert out.xindexes["time"] is runs[0].xindexes["time"]


def test_scenarios_on_other_horizons_are_aligned_on_the_union_of_times():
    runs = [
        _run([0.0, 1.0], [1.0, 2.0], title="t"),
        _run([1.0, 2.0], [3.0, 4.0]),
        _run([0.0, 1.0], [5.0, 6.0]),  # like the first: the third is compared too
    ]
    for run, region in zip(runs, ("East", "South", "West"), strict=True):
        run.coords["region"] = region  # not along time: the first run's is kept
    out = results.stack_scenarios(runs, [_sc("a", "A"), _sc("b"), _sc("c", "C")])
    nan = np.nan
    np.testing.assert_array_equal(
        out["x"].values, [[1.0, 2.0, nan], [nan, 3.0, 4.0], [5.0, 6.0, nan]]
    )
    assert out["x"].dims == ("scenario", "time")
    assert out["time"].values.tolist() == [0.0, 1.0, 2.0]
    assert out["region"].dims == () and out["region"].item() == "East"
    assert out["scenario"].values.tolist() == ["a", "b", "c"]
    assert out["scenario_title"].dims == ("scenario",)
    assert out["scenario_title"].values.tolist() == ["A", "b", "C"]
    assert out["x"].attrs == {"units": "u"} and out.attrs == {"title": "t"}


def test_runs_laid_out_otherwise_are_matched_by_name():
    """Other variable order, dims in another order, or a coordinate more: stacked by
    name, never position by position."""
    a = xr.Dataset(
        {"x": (("time", "park"), [[1.0, 2.0], [3.0, 4.0]]), "y": (("time",), [5.0, 6.0])},
        coords={"time": [0.0, 1.0], "park": ["p", "q"]},
    )
    reordered = xr.Dataset({"y": a["y"], "x": a["x"]})
    transposed = a.transpose("park", "time")
    labelled = a.assign_coords(note=("park", ["n", "m"]))
    for b in (reordered, transposed, labelled):
        out = results.stack_scenarios([a, b], [_sc("a"), _sc("b")])
        assert out["x"].transpose("scenario", "time", "park").values.tolist() == [
            [[1.0, 2.0], [3.0, 4.0]],
            [[1.0, 2.0], [3.0, 4.0]],
        ]
        assert out["y"].values.tolist() == [[5.0, 6.0], [5.0, 6.0]]


def test_runs_that_already_name_their_scenario_get_the_new_names():
    """A run taken out of stacked results keeps a scalar ``scenario``: it is replaced."""
    run = _run([0.0, 1.0], [1.0, 2.0]).assign_coords(scenario="old", scenario_title="Old")
    out = results.stack_scenarios([run], [_sc("new", "New")])
    assert out["x"].values.tolist() == [[1.0, 2.0]]
    assert out["scenario"].values.tolist() == ["new"]
    assert out["scenario_title"].values.tolist() == ["New"]


# ---- reading results back ----
@pytest.mark.parametrize(
    "manifest, message",
    [
        (None, "the dataset has no 'manifest' attribute: it was not written by yaan-sim"),
        (
            "{not json",
            "the dataset's manifest is not valid JSON (Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1))",
        ),
        (
            5,
            "the dataset's manifest is not valid JSON (the JSON object must be str, bytes or "
            "bytearray, not int)",
        ),
        ("[1, 2]", "the dataset's manifest is not a JSON object: it was not written by yaan-sim"),
    ],
)
def test_a_manifest_that_is_missing_or_no_object_is_refused(manifest, message):
    ds = xr.Dataset(attrs={} if manifest is None else {"manifest": manifest})
    with pytest.raises(ResultsError) as refused:
        results.read_manifest(ds)
    assert str(refused.value) == message


def test_a_manifest_is_read_as_written():
    ds = xr.Dataset(attrs={"manifest": '{"seed": 3, "engine": "vector"}'})
    assert results.read_manifest(ds) == {"seed": 3, "engine": "vector"}


def test_results_are_opened_whole_and_with_their_manifest(tmp_path):
    path = tmp_path / "r.nc"
    ds = xr.Dataset(
        {"x": (("time",), [1.0, 2.0])}, coords={"time": [0.0, 1.0]}, attrs={"manifest": "{}"}
    )
    to_netcdf(ds, path)
    opened = results.open_results(str(path))
    path.unlink()  # loaded into memory: the file is no longer needed
    assert opened["x"].values.tolist() == [1.0, 2.0] and opened.attrs == {"manifest": "{}"}
    ds.attrs = {}
    to_netcdf(ds, path)
    with pytest.raises(ResultsError, match="has no 'manifest' attribute"):
        results.open_results(path)


@pytest.mark.parametrize("what", ["missing.nc", "folder.nc"])
def test_results_that_are_no_file_are_refused_with_the_command_to_make_them(tmp_path, what):
    (tmp_path / "folder.nc").mkdir()
    path = tmp_path / what
    with pytest.raises(ResultsError) as refused:
        results.open_results(path)
    assert str(refused.value) == (
        f"results file {path} not found: run `yaan-sim run -o {path}` first"
    )


@pytest.mark.parametrize(
    "error, shown",
    [
        (ValueError("  bad header\nmore detail  "), "bad header"),
        (RuntimeError(), "RuntimeError"),
        (OSError("x" * 200), "x" * 157 + "..."),
        (OSError("word " * 40), ("word " * 31).strip() + "..."),  # cut between words
        (
            ValueError(  # xarray's paragraph when no reader knows the file: not quoted
                "did not find a match in any of xarray's currently installed IO backends "
                "['netcdf4', 'scipy']. Consider explicitly selecting one of the installed "
                "engines via the ``engine`` parameter, or installing additional IO dependencies"
            ),
            "no netCDF reader recognises it",
        ),
    ],
)
def test_a_file_that_is_no_netcdf_is_refused_with_the_first_line_of_the_reason(
    tmp_path, monkeypatch, error, shown
):
    path = tmp_path / "r.nc"
    path.write_text("not netCDF")

    def fails(p):
        raise error

    monkeypatch.setattr(xr, "load_dataset", fails)
    with pytest.raises(ResultsError) as refused:
        results.open_results(path)
    assert str(refused.value) == (
        f"{path} is not a readable netCDF file ({shown}); "
        "give a results file written by `yaan-sim run` (a .nc file, such as out/runs.nc)"
    )


def test_a_table_given_for_results_is_named_by_its_kind(tmp_path):
    path = tmp_path / "goal_table.csv"
    path.write_text("goal_id,target\nrevenue_city,2000\n")
    with pytest.raises(ResultsError) as refused:
        results.open_results(path)
    assert "(a .csv file, which no netCDF reader recognises)" in str(refused.value)


# ---- finish: every runner's results get their attributes and manifest here ----
def _stock(values) -> xr.Dataset:
    return xr.Dataset(
        {"stock": (("time",), values)}, coords={"time": np.arange(float(len(values)))}
    )


def test_finish_records_the_run_in_attributes_and_manifest():
    other = ys.load_model(SMALL_MDL)
    out = results.finish(
        _stock([1.0, 2.0]),
        other,
        [],
        ys.Horizon(0, 1, 0.25, 1),
        engine="vector",
        argv=["run", "x"],
        batch_sources=["a.yaml"],
    )
    sha = hashlib.sha256(SMALL_MDL.read_bytes()).hexdigest()
    assert {k: out.attrs[k] for k in ("title", "engine", "model_sha256")} == {
        "title": "yaan-sim results: loops_exponential.mdl",
        "engine": "vector",
        "model_sha256": sha,
    }
    assert "plan_start" not in out.attrs and "history_start" not in out.attrs
    manifest = results.read_manifest(out)
    assert manifest["kind"] == "simulate"  # the default kind
    assert manifest["command"] == ["run", "x"]
    assert manifest["batch"] == {"sources": ["a.yaml"]}
    assert "nonfinite" not in manifest
    assert out["stock"].attrs["units"] == "widgets"  # annotated


def test_finish_flags_a_stock_below_its_declared_minimum():
    """Stock is declared [0, ?] in the .mdl: -0.5 is no NaN, yet it is flagged."""
    other = ys.load_model(SMALL_MDL)
    expected = "stock: below its minimum 0 (negative) from t=1 (first -0.5), 1 value(s)"
    with pytest.warns(results_finite.NonFiniteWarning) as warned:
        out = results.finish(
            _stock([1.0, -0.5, 2.0]), other, [], ys.Horizon(0, 2, 0.25, 1), engine="vector"
        )
    assert [str(w.message) for w in warned] == [
        "the results hold non-finite numbers or stocks below their minimum: " + expected
    ]
    assert results.read_manifest(out)["nonfinite"] == [expected]


@pytest.mark.parametrize(
    "with_scenario, start, marked",
    [(True, 2016, True), (True, 2013, False), (False, 2016, False)],
)
def test_finish_marks_where_the_plan_starts_after_the_history(model, with_scenario, start, marked):
    """The Ya'an model starts in 2013; a scenario's levers act from its horizon's start."""
    scenarios = [SimpleNamespace(name="p", sha256="0" * 64)] if with_scenario else []
    ds = xr.Dataset({"x": (("time",), [1.0])}, coords={"time": [2016.0]})
    out = results.finish(ds, model, scenarios, ys.Horizon(start, 2017, 0.25, 0.25), engine="vector")
    assert out.attrs["title"] == "yaan-sim results: Ya'an industrial parks, 2016-2020 plan"
    found = {k: out.attrs[k] for k in ("plan_start", "history_start") if k in out.attrs}
    assert found == ({"plan_start": 2016.0, "history_start": 2013.0} if marked else {})


# ---- check_output word for word, at its edges ----
def test_check_output_refuses_an_existing_file_by_default_and_names_what_it_checks(tmp_path):
    there = tmp_path / "r.nc"
    there.write_text("x")
    with pytest.raises(YaanSimError) as refused:
        check_output(there)
    assert str(refused.value) == (
        f"{there} exists already: pass --force to overwrite it, or choose another path"
    )
    with pytest.raises(YaanSimError) as refused:
        check_output("  ")
    assert str(refused.value) == "the output path is empty: give a file name"
    with pytest.raises(YaanSimError) as refused:
        check_output("", what="report")
    assert str(refused.value) == "the report path is empty: give a file name"


def test_check_output_names_a_missing_folder_or_a_file_in_its_place(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(YaanSimError) as refused:
        check_output(missing / "r.nc")
    assert str(refused.value) == (
        f"the output folder {missing} does not exist: create it first (mkdir -p {missing}) "
        "or choose another path"
    )
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(YaanSimError) as refused:
        check_output(afile / "r.nc", what="chart")
    assert str(refused.value) == (
        f"the chart folder {afile} is a file, not a folder: create it first (mkdir -p {afile}) "
        "or choose another path"
    )


def test_a_bare_name_is_checked_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_output("r.nc") == Path("r.nc")
    Path("r.nc").write_text("x")
    with pytest.raises(YaanSimError, match=r"^r\.nc exists already"):
        check_output("r.nc")


def test_a_name_may_use_the_folders_whole_limit(tmp_path):
    fits = "n" * 252 + ".nc"  # 255 bytes
    assert check_output(tmp_path / fits) == tmp_path / fits
    too_long = "é" * 126 + ".nc"  # 255 characters, 255 bytes
    assert check_output(tmp_path / too_long) == tmp_path / too_long
    too_long = "é" * 127 + ".nc"  # 257 bytes
    with pytest.raises(YaanSimError) as refused:
        check_output(tmp_path / too_long)
    assert str(refused.value) == (
        f"the output name {'é' * 40}... is 257 bytes long; the folder {tmp_path} allows 255: "
        "choose a shorter name"
    )


def _pathconf(answer):
    def pathconf(folder, name):
        if name != "PC_NAME_MAX":
            raise ValueError(f"unrecognized configuration name {name!r}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    return pathconf


@pytest.mark.parametrize(
    "pathconf, limit",
    [
        (_pathconf(100), 100),  # a file system that allows 100 bytes, asked for by name
        (_pathconf(OSError(errno.EINVAL, "Invalid argument")), 255),  # cannot tell
        (_pathconf(ValueError("not known here")), 255),
        (None, 255),  # a platform without pathconf
    ],
)
def test_the_name_limit_is_the_folders_or_255_when_it_cannot_be_told(
    tmp_path, monkeypatch, pathconf, limit
):
    if pathconf is None:
        monkeypatch.delattr(os, "pathconf")
    else:
        monkeypatch.setattr(os, "pathconf", pathconf)
    assert check_output(tmp_path / ("n" * limit)) == tmp_path / ("n" * limit)
    with pytest.raises(YaanSimError, match=f"is {limit + 1} bytes long; .* allows {limit}:"):
        check_output(tmp_path / ("n" * (limit + 1)))


@pytest.mark.parametrize("denied", [os.W_OK, os.X_OK])
def test_a_folder_that_cannot_be_written_or_entered_is_refused(tmp_path, monkeypatch, denied):
    """As root every folder is writable, so the permission is denied by a stand-in."""
    monkeypatch.setattr(os, "access", lambda path, mode: not mode & denied)
    with pytest.raises(YaanSimError) as refused:
        check_output(tmp_path / "r.nc")
    assert str(refused.value) == (
        f"the output folder {tmp_path} is not writable: choose another path"
    )


def test_links_are_refused_word_for_word(tmp_path):
    broken = tmp_path / "broken.nc"
    broken.symlink_to(tmp_path / "gone.nc")
    with pytest.raises(YaanSimError) as refused:
        check_output(broken)
    assert str(refused.value) == (
        f"{broken} is a broken symbolic link (to {tmp_path / 'gone.nc'}): remove it, "
        "choose another path, or pass --force to replace the link itself"
    )
    target = tmp_path / "target.nc"
    target.write_text("x")
    working = tmp_path / "link.nc"
    working.symlink_to(target)  # a link to a file is that file: it exists already
    with pytest.raises(YaanSimError, match=r"link.nc exists already: pass --force"):
        check_output(working)
    assert check_output(working, force=True) == working


def test_an_input_is_named_when_the_output_reaches_it_by_another_name(tmp_path):
    src = tmp_path / "r.nc"
    src.write_text("x")
    with pytest.raises(YaanSimError) as refused:
        check_output(src, True, inputs=[None, tmp_path / "absent.nc", src])  # read past both
    assert str(refused.value) == (
        f"{src} is also an input: writing it would destroy what is being read; "
        "choose another output path"
    )
    alias = tmp_path / "alias.nc"
    alias.symlink_to(src)
    with pytest.raises(YaanSimError) as refused:
        check_output(alias, True, inputs=[src])
    assert str(refused.value) == (
        f"{alias} is also an input ({src}): writing it would destroy what is being read; "
        "choose another output path"
    )


def test_a_stale_looking_link_is_not_removed(tmp_path):
    """Only regular files are removed: a link named like a killed writer's temporary file
    is someone's, and so is what it points to."""
    target = tmp_path / "data.nc"
    target.write_text("kept")
    link = tmp_path / f".x{TEMP_MARK}{10**30}-0"
    link.symlink_to(target)
    assert remove_stale_temps(tmp_path) == []
    assert link.is_symlink() and target.read_text() == "kept"
