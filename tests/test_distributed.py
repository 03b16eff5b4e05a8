"""A real dask cluster on loopback: a scheduler and two workers, an ensemble through them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.ensemble import run_ensemble
from yaan_sim.errors import YaanSimError
from yaan_sim.scenario import load_scenario

distributed = pytest.importorskip("distributed")
H = ys.Horizon(2016, 2018, 0.125, 0.25)
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_program() -> str:
    exe = Path(sys.executable).with_name("dask")
    found = str(exe) if exe.is_file() else shutil.which("dask")
    if not found:
        pytest.skip("the `dask` program is not installed")
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; stopped after."""
    dask = dask_program()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = os.environ.copy()  # the workers share the session's translation cache
    procs = []

    def start(args, name):
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 (open while the process runs)
        procs.append(
            (
                subprocess.Popen(
                    [dask, *args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=logs
                ),
                log,
            )
        )

    try:
        # the scheduler's HTTP server (health, metrics) listens even with --no-dashboard:
        # on a free port, not on 8787, which someone else may use
        start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
                "--dashboard-address",
                f"127.0.0.1:{free_port()}",
            ],
            "scheduler",
        )
        for i in range(2):
            start(
                [
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                    "--name",
                    f"w{i}",
                    "--local-directory",
                    str(logs / f"w{i}"),
                ],
                f"worker{i}",
            )
        client = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                client = distributed.Client(address, timeout=5, set_as_default=False)
                client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if client is not None:
                    client.close()
                    client = None
                time.sleep(0.5)
        if client is None:
            text = "\n".join(
                (logs / f).read_text(errors="replace")[-2000:]
                for f in os.listdir(logs)
                if f.endswith(".log")
            )
            pytest.fail(f"the dask cluster did not start in {START_TIMEOUT_S} s:\n{text}")
        n = len(client.scheduler_info()["workers"])
        client.close()
        assert n == 2
        yield address
    finally:
        for p, _log in reversed(procs):
            p.terminate()
        for p, log in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
            log.close()


def test_an_ensemble_on_the_cluster_equals_the_local_one(model, cluster):
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    kw = dict(seed=11, method="lhs", horizon=H, chunk_size=15)
    remote = run_ensemble(model, [sc], 60, scheduler=cluster, **kw)
    local = run_ensemble(model, [sc], 60, **kw)
    xr.testing.assert_identical(remote.drop_attrs(), local.drop_attrs())
    np.testing.assert_array_equal(remote["revenue"].values, local["revenue"].values)
    assert '"scheduler": "tcp://127.0.0.1:' in remote.attrs["manifest"]


def test_the_cli_sends_chunks_to_the_scheduler(model, cluster, tmp_path):
    from yaan_sim.cli import main

    out = tmp_path / "e.nc"
    rc = main(
        [
            "ensemble",
            "uncertain/plan-uncertain.yaml",
            "-n",
            "30",
            "--seed",
            "2",
            "--horizon",
            "2016:2018",
            "--chunk-size",
            "10",
            "--scheduler",
            cluster,
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    # the same numbers as the library's local run with the same design, and the manifest
    # names the cluster
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    local = run_ensemble(model, [sc], 30, seed=2, horizon=H, chunk_size=10)
    remote = xr.load_dataset(out)
    np.testing.assert_array_equal(remote["revenue"].values, local["revenue"].values)
    assert '"scheduler": "tcp://127.0.0.1:' in remote.attrs["manifest"]


def test_an_unreachable_scheduler_is_a_clear_error(model):
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    port = free_port()  # nothing listens there
    with pytest.raises(YaanSimError, match="cannot reach the dask scheduler"):
        from yaan_sim.analysis import distributed as yd

        old = yd.CONNECT_TIMEOUT_S
        yd.CONNECT_TIMEOUT_S = 2
        try:
            run_ensemble(model, [sc], 4, horizon=H, scheduler=f"tcp://127.0.0.1:{port}")
        finally:
            yd.CONNECT_TIMEOUT_S = old


def test_local_worker_processes_give_the_same_numbers(model):
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    kw = dict(seed=5, method="sobol", horizon=H, chunk_size=10)
    here = run_ensemble(model, [sc], 20, **kw)
    there = run_ensemble(model, [sc], 20, workers=2, **kw)
    np.testing.assert_array_equal(here["revenue"].values, there["revenue"].values)
