"""`yaan-sim run` and `rerun` as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from tests.support.calendar_totals import calendar_total
from yaan_sim.cli import main

REPO = Path(__file__).resolve().parents[1]
SHORT = ["--engine", "vector"]


def test_run_writes_netcdf_and_prints_the_revenue_table(tmp_path, capsys):
    out = tmp_path / "two.nc"
    rc = main(
        [
            "run",
            str(REPO / "scenarios/plan.yaml"),
            str(REPO / "scenarios/baseline.yaml"),
            "-o",
            str(out),
            *SHORT,
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "City total" in text and "ETDZ" in text and "plan" in text and "baseline" in text
    ds = xr.load_dataset(out)
    assert list(ds["scenario"].values) == ["plan", "baseline"]
    assert ds["revenue"].dims == ("scenario", "time", "park")
    city = float(calendar_total(ds["revenue"].sel(scenario="plan").sum("park"), 2020))
    assert f"{city:.1f}" in text  # the table shows 2020's calendar-year total
    manifest = json.loads(ds.attrs["manifest"])
    assert [s["name"] for s in manifest["scenarios"]] == ["plan", "baseline"]
    # the levers applied are in the results, as time series per park
    fund = ds["park_fund_investment"].sel(scenario="plan", park="ETDZ")
    assert float(fund.sel(time=2016.0)) == 0 and float(fund.sel(time=2020.0)) == 2


def test_run_refuses_to_overwrite_and_bad_input_exits_2(tmp_path, capsys):
    out = tmp_path / "r.nc"
    out.write_text("precious")
    assert main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(out), *SHORT]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "precious"
    assert (
        main(["run", str(REPO / "scenarios/plan.yaml"), "-o", str(tmp_path / "no/dir/r.nc")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # --engine has choices: argparse's check, exit 2
        main(["run", "--engine", "warp", "-o", str(tmp_path / "x.nc")])
    assert exc.value.code == 2
    assert "invalid choice: 'warp'" in capsys.readouterr().err


def test_an_invalid_scenario_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nlevers:\n  Investment incentve rate: 0.05\n", encoding="utf-8")
    out = tmp_path / "r.nc"
    assert main(["run", str(REPO / "scenarios/plan.yaml"), str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Investment incentive rate" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_rerun_reproduces_a_result_bit_for_bit(tmp_path):
    first, again = tmp_path / "first.nc", tmp_path / "again.nc"
    assert (
        main(
            [
                "run",
                str(REPO / "scenarios/plan.yaml"),
                str(REPO / "scenarios/high-investment.yaml"),
                "-o",
                str(first),
                *SHORT,
            ]
        )
        == 0
    )
    assert main(["rerun", str(first), "-o", str(again)]) == 0
    a, b = xr.load_dataset(first), xr.load_dataset(again)
    for name in a.data_vars:
        assert a[name].equals(b[name]), name
        assert a[name].attrs == b[name].attrs
    ma, mb = json.loads(a.attrs["manifest"]), json.loads(b.attrs["manifest"])
    same = lambda m: [(s["name"], s["sha256"], s["files"]) for s in m["scenarios"]]  # noqa: E731
    assert same(ma) == same(mb) and ma["model_sha256"] == mb["model_sha256"]
    # each file of the chain (plan extends baseline) recorded by its plain name, with its text
    files = ma["scenarios"][0]["files"]
    assert [f["name"] for f in files] == ["plan.yaml", "baseline.yaml"]
    assert files[0]["text"] == (REPO / "scenarios/plan.yaml").read_text(encoding="utf-8")


def test_rerun_refuses_a_foreign_file(tmp_path, capsys):
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(foreign)
    assert main(["rerun", str(foreign), "-o", str(tmp_path / "a.nc")]) == 2
    assert "manifest" in capsys.readouterr().err


def test_console_script_runs_without_traceback(tmp_path):
    exe = Path(sys.executable).with_name("yaan-sim")
    proc = subprocess.run(
        [str(exe), "run", "missing.yaml", "-o", str(tmp_path / "x.nc")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "missing.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_every_shipped_scenario_runs_from_the_glob(tmp_path, capsys):
    """`yaan-sim run scenarios/*.yaml`: the goals file is skipped, every scenario runs."""
    from yaan_sim.scenario import scenario_files

    out = tmp_path / "runs.nc"
    files = sorted(str(p) for p in (REPO / "scenarios").glob("*.yaml"))
    assert any(f.endswith("plan-goals.yaml") for f in files)
    assert main(["run", *files, "-o", str(out), *SHORT]) == 0
    ds = xr.load_dataset(out)
    assert sorted(ds["scenario"].values) == sorted(p.stem for p in scenario_files())
    assert len(ds["scenario"]) >= 7
    assert bool((ds["revenue"] > 0).all()) and not bool(ds["revenue"].isnull().any())


def test_rerun_reproduces_a_latin_hypercube_ensemble(tmp_path):
    import yaan_sim as ys
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.analysis.rerun import rerun
    from yaan_sim.model.load import load_model
    from yaan_sim.outputs.results import to_netcdf
    from yaan_sim.scenario import load_scenario

    model = load_model()
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    first = run_ensemble(
        model,
        [sc],
        64,
        seed=7,
        method="lhs",
        chunk_size=20,
        horizon=ys.Horizon(2016, 2017, 0.125, 0.25),
    )
    to_netcdf(first, tmp_path / "ens.nc")
    again = rerun(tmp_path / "ens.nc", model)
    for name in first.data_vars:
        assert first[name].equals(again[name]), name


SDX = Path(os.environ.get("YAAN_SIM_TEST_MODELS", REPO.parent / "shared" / "test-models"))
# SDXorg models with their canonical output (Vensim's, 6 significant digits). Roessler_Chaos
# is left out: it is chaotic, so Vensim's and numpy's rounding part ways by 1% at t = 75.
CANONICAL = [
    ("samples/teacup/teacup.mdl", "samples/teacup/output.csv"),
    ("samples/SIR/SIR.mdl", "samples/SIR/output.csv"),
    (
        "samples/simple_harmonic_oscillator/simple_harmonic_oscillator.mdl",
        "samples/simple_harmonic_oscillator/output.tab",
    ),
    ("tests/delays/test_delays.mdl", "tests/delays/output.tab"),
    ("tests/smooth_and_stock/test_smooth_and_stock.mdl", "tests/smooth_and_stock/output.tab"),
]


@pytest.mark.skipif(not SDX.is_dir(), reason=f"the SDXorg test models are not at {SDX}")
@pytest.mark.parametrize("mdl, canonical", CANONICAL, ids=[c[0].split("/")[1] for c in CANONICAL])
def test_another_vensim_model_runs_its_own_defaults(tmp_path, monkeypatch, capsys, mdl, canonical):
    import numpy as np
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.nc"
    assert main(["run", "--model", str(SDX / mdl), "-o", str(out), "--out-dir", "o"]) == 0
    captured = capsys.readouterr()
    assert "no goals file for" in captured.err and "Traceback" not in captured.err
    ds = xr.load_dataset(out)
    assert ds.attrs["title"] == f"yaan-sim results: {Path(mdl).name}"
    by_name = {ds[v].attrs.get("vensim_name"): v for v in ds.data_vars}
    sep = "\t" if canonical.endswith(".tab") else ","
    ref = pd.read_csv(SDX / canonical, sep=sep).ffill().set_index("Time")
    compared = 0
    for col in ref.columns:
        if col not in by_name:  # control variables are not results
            continue
        sim = ds[by_name[col]].sel(time=ref.index.to_numpy(float), method="nearest")
        want = ref[col].to_numpy(float)
        np.testing.assert_allclose(
            sim.values, want, rtol=1e-4, atol=1e-5 * np.abs(want).max(), err_msg=col
        )
        compared += 1
    assert compared >= 3


@pytest.mark.parametrize(
    "horizon, message",
    [
        ("2016:inf", "not a finite number"),
        ("2016:2020:1e-300", "at most 100,000"),
        ("2016:2020:0.3", "not a whole number of steps"),
        ("2020:2016", "stop 2016 is not after start 2020"),
        ("2016", "write START:STOP"),
    ],
)
def test_a_horizon_option_that_is_not_a_horizon_exits_2(tmp_path, capsys, horizon, message):
    out = tmp_path / "s.csv"
    argv = ["seek", "plan", "--goals", "rd_share", "--levers", "PPP share", "-o", str(out)]
    assert main([*argv, "--horizon", horizon]) == 2
    err = capsys.readouterr().err
    assert message in err and "--horizon" in err and not out.exists()


def test_an_ensemble_that_ends_at_2020_says_its_goals_are_judged_in_2019(tmp_path, capsys):
    """--horizon 2016:2020 ends at 2020.0: its last whole calendar year is 2019, so the goal
    table is 2019's. Said, with the horizon that judges 2020; not said for 2016:2021."""
    args = ["ensemble", "uncertain/plan-uncertain.yaml", "-n", "2", "--no-progress"]
    assert main([*args, "--horizon", "2016:2020", "-o", str(tmp_path / "a.nc")]) == 0
    out, err = capsys.readouterr()
    assert "Goals (2019;" in out
    assert (
        "the run ends at 2020, so its last whole calendar year is 2019: the 2020 goals are "
        "judged on 2019's figures; to judge them in 2020 run to 2021 (e.g. --horizon 2016:2021)"
    ) in err
    assert main([*args, "--horizon", "2016:2021", "-o", str(tmp_path / "b.nc")]) == 0
    out, err = capsys.readouterr()
    assert "Goals (2020;" in out and "judged on" not in err


def test_every_option_says_what_it_is_for_and_the_version_is_shown(capsys):
    """A newcomer reads --help: no option without a help text, or with one that only
    repeats its name; --version answers without a command."""
    import argparse

    from yaan_sim import __version__
    from yaan_sim.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    bare = []
    for command, p in sub.choices.items():
        for action in p._actions:
            if action.dest == "help" or not action.option_strings:
                continue
            text = (action.help or "").strip().lower()
            if len(text.split()) < 2 or text in (action.dest, action.dest.replace("_", " ")):
                bare.append(f"{command} {action.option_strings[-1]}: {action.help!r}")
    assert not bare, "\n".join(bare)
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"yaan-sim {__version__}\n"


def test_the_progress_bar_stays_off_a_pipe(tmp_path, capsys):
    """stderr is not a terminal here (a pipe, a log): the bar's updates would each be a line."""
    args = ["ensemble", "uncertain/plan-uncertain.yaml", "-n", "2", "--horizon", "2016:2017"]
    assert main([*args, "-o", str(tmp_path / "e.nc")]) == 0
    assert "chunks/s" not in capsys.readouterr().err
