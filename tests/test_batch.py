"""Batch runs: every scenario of a folder, interruption, --resume, --force."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from yaan_sim.analysis.batch import parts_dir, run_batch
from yaan_sim.analysis.ensemble import run_ensemble
from yaan_sim.errors import YaanSimError

SHORT = "horizon: {stop: 2018, step: 0.25, saveper: 0.5}\n"


def folder(tmp_path, uncertain=False) -> Path:
    d = tmp_path / "sc"
    d.mkdir()
    unc = (
        "uncertain:\n  Depreciation rate: {distribution: uniform, low: 0.08, high: 0.11}\n"
        if uncertain
        else ""
    )
    for name, lever in [("a", "PPP share: 0.1"), ("b", "PPP share: 0.2"), ("c", "PPP share: 0.3")]:
        (d / f"{name}.yaml").write_text(f"{SHORT}levers:\n  {lever}\n{unc}", encoding="utf-8")
    (d / "plan-goals.yaml").write_text("goals: []\n", encoding="utf-8")  # skipped: a goals file
    return d


def interrupt_after(n):
    seen = []

    def hook(name):
        seen.append(name)
        if len(seen) == n:
            raise KeyboardInterrupt

    return hook


def test_a_folder_runs_and_is_summarised(model, tmp_path):
    out = tmp_path / "batch.nc"
    res = run_batch(model, folder(tmp_path), out, progress=False)
    assert res.ran == ["a", "b", "c"] and res.reused == []
    ds = xr.load_dataset(out)
    assert list(ds["scenario"].values) == ["a", "b", "c"]
    assert not parts_dir(out).exists()
    assert set(res.summary["scenario"]) == {"a", "b", "c"}
    assert {"goal_id", "status"} <= set(res.summary.columns)
    with pytest.raises(YaanSimError, match="--force"):
        run_batch(model, tmp_path / "sc", out, progress=False)
    run_batch(model, tmp_path / "sc", out, progress=False, force=True)


def test_an_interrupted_batch_resumes_without_redoing_parts(model, tmp_path):
    d = folder(tmp_path)
    out = tmp_path / "batch.nc"
    with pytest.raises(KeyboardInterrupt):
        run_batch(model, d, out, progress=False, on_part=interrupt_after(2))
    assert not out.exists()
    assert sorted(p.name for p in parts_dir(out).glob("*.nc")) == ["a.nc", "b.nc"]
    with pytest.raises(YaanSimError, match="--resume"):
        run_batch(model, d, out, progress=False)
    res = run_batch(model, d, out, progress=False, resume=True)
    assert res.ran == ["c"] and res.reused == ["a", "b"]
    fresh = run_batch(model, d, tmp_path / "fresh.nc", progress=False)
    xr.testing.assert_identical(
        xr.load_dataset(out).drop_attrs(), xr.load_dataset(fresh.output).drop_attrs()
    )


def test_an_interrupted_ensemble_batch_resumes_chunk_by_chunk(model, tmp_path):
    d = folder(tmp_path, uncertain=True)
    out = tmp_path / "ens.nc"
    kw = dict(samples=20, seed=3, chunk_size=8, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_batch(model, d, out, on_part=interrupt_after(4), **kw)
    assert len(list(parts_dir(out).glob("*.chunk-*.nc"))) == 4
    with pytest.raises(YaanSimError, match=r"different batch.*seed"):
        run_batch(model, d, out, resume=True, **(kw | {"seed": 4}))
    res = run_batch(model, d, out, resume=True, **kw)
    assert len(res.ran) == 9 - 4 and len(res.reused) == 4
    from yaan_sim.scenario import load_scenario

    scs = [load_scenario(d / f"{n}.yaml", model) for n in "abc"]
    ref = run_ensemble(model, scs, 20, seed=3, chunk_size=20)
    np.testing.assert_array_equal(res.dataset["revenue"].values, ref["revenue"].values)
    assert "p_met" in res.summary.columns


def test_a_killed_batch_process_resumes(model, tmp_path):
    """A real process killed with SIGKILL mid-batch; --resume finishes the job."""
    d = folder(tmp_path, uncertain=True)
    out = tmp_path / "k.nc"
    cmd = [
        sys.executable,
        "-m",
        "yaan_sim",
        "batch",
        str(d),
        "-o",
        str(out),
        "-n",
        "60",
        "--chunk-size",
        "5",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )
    parts = parts_dir(out)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(parts.glob("*.chunk-*.nc"))) >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"the batch ended before it could be killed: {proc.stderr.read().decode()}")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    saved = len(list(parts.glob("*.chunk-*.nc")))
    assert 2 <= saved < 36 and not out.exists()
    res = run_batch(model, d, out, samples=60, chunk_size=5, resume=True, progress=False)
    assert len(res.reused) == saved and len(res.ran) == 36 - saved
    assert res.dataset.sizes["sample"] == 60


def test_cli_batch(tmp_path, capsys):
    from yaan_sim.cli import main

    d = folder(tmp_path)
    out = tmp_path / "b.csv"
    assert main(["batch", str(d), "-o", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Summary" in text and "revenue_city" in text
    # the file holds each scenario's run: ordered as the folder, the goals file left out,
    # and each one's numbers those of the library's run of that file
    import pandas as pd

    import yaan_sim as ys

    table = pd.read_csv(out, low_memory=False)
    assert set(table["scenario"]) == {"a", "b", "c"}
    model = ys.load_model()
    b = ys.simulate(model, [ys.load_scenario(d / "b.yaml", model)], return_vars=["Revenue"])
    rev = table[(table["variable"] == "revenue") & (table["scenario"] == "b")]
    assert len(rev) == b["revenue"].size
    at = rev.set_index(["time", "park"])["value"]
    for t in (2016.0, 2018.0):
        for park in ("ETDZ", "Baoxing"):
            expected = float(b["revenue"].sel(scenario="b", time=t, park=park))
            assert at[(t, park)] == pytest.approx(expected, rel=1e-12)
    # PPP share 0.1 < 0.2 < 0.3 are different runs
    ppp = table[table["variable"] == "ppp_share"].groupby("scenario")["value"].max()
    assert ppp.to_dict() == pytest.approx({"a": 0.1, "b": 0.2, "c": 0.3})
    assert main(["batch", str(d), "-o", str(out), "--no-progress"]) == 2
    assert "--force" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("levers: {PPP shar: 0.1}\n", encoding="utf-8")
    assert main(["batch", str(bad), "-o", str(tmp_path / "x.nc"), "--no-progress"]) == 2
    assert "did you mean 'PPP share'" in capsys.readouterr().err
