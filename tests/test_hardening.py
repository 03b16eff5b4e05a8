"""Bad input meets one clear message and exit 2: never a traceback, never a half-written file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import yaan_sim as ys
from yaan_sim.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_a_syntax_error_in_the_mdl_names_its_line(tmp_path):
    text = (REPO / "models/yaan_parks.mdl").read_text(encoding="utf-8")
    broken = tmp_path / "broken.mdl"
    broken.write_text(
        text.replace(
            "Output[Park,Group]*Profit margin[Group]",
            "Output[Park,Group]*Profit margin**Reinvestment share(",
        ),
        encoding="utf-8",
    )
    line = next(
        i
        for i, s in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1)
        if "**Reinvestment" in s
    )
    with pytest.raises(ys.ModelError, match=rf"broken.mdl:{line}: PySD could not translate"):
        ys.load_model(broken, cache=tmp_path / "cache")


def test_a_missing_model_file_is_a_clear_error(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--model",
                str(tmp_path / "none.mdl"),
                str(REPO / "scenarios/plan.yaml"),
                "-o",
                str(tmp_path / "x.nc"),
            ]
        )
        == 2
    )
    assert "cannot read the model file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"samples": 0}, "at least 1"),
        ({"samples": -5}, "at least 1"),
        ({"samples": 2.5}, "whole number"),
        ({"samples": "many"}, "whole number"),
        ({"samples": 10**8}, "GiB"),
        ({"seed": -1}, "seed must be"),
        ({"seed": 1.5}, "seed must be"),
        ({"engine": "gpu"}, "unknown engine"),
    ],
)
def test_simulate_refuses_bad_arguments_before_any_work(model, kwargs, message):
    with pytest.raises(ys.YaanSimError, match=message):
        ys.simulate(model, **kwargs)


def test_the_memory_estimate_counts_what_is_asked(model):
    from yaan_sim.engines.prerun import estimate_bytes

    h = model.default_horizon
    full = estimate_bytes(model, 1000, h)
    one = estimate_bytes(model, 1000, h, ["Revenue"])
    saved = round((h.stop - h.start) / h.saveper) + 1  # 2013-2021 quarterly: 33
    assert one == 2 * 8 * 9 * saved * 1000
    assert full > 50 * one


_WORDS = st.sampled_from(
    [
        "validate",
        "levers",
        "evaluate",
        "report",
        "rerun",
        "--format",
        "json",
        "csv",
        "--year",
        "2018",
        "-o",
        "--lang",
        "xx",
        "--engine",
        "pysd",
        "--force",
        "missing.nc",
        "missing.yaml",
        "",
        "-",
        "--",
        "\x00",
        "é",
        "--help",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argv=st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=6))
def test_cli_fuzz_never_raises(tmp_path, monkeypatch, argv, capsys):
    monkeypatch.chdir(tmp_path)
    if argv and argv[0] == "run":  # never start a real main job from random input
        argv = argv[1:]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2, None)
    assert "Traceback" not in err
    assert code != 1, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ensemble", "uncertain/plan-uncertain.yaml", "-n", "10", "--seed", "-3"], "seed must be"),
        (["ensemble", "uncertain/plan-uncertain.yaml", "-n", "100000000", "--seed", "1"], "GiB"),
        (["batch", "uncertain/", "-n", "100000000", "--no-progress"], "GiB"),
        (["batch", "uncertain/", "-n", "10", "--seed", "-1", "--no-progress"], "seed must be"),
        (
            ["sensitivity", "uncertain/plan-uncertain.yaml", "-n", "100000000", "--no-progress"],
            "GiB",
        ),
        (
            [
                "sensitivity",
                "uncertain/plan-uncertain.yaml",
                "-n",
                "8",
                "--seed",
                "-2",
                "--no-progress",
            ],
            "seed must be",
        ),
    ],
)
def test_analysis_commands_refuse_bad_seeds_and_oversized_runs_before_work(
    tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)
    out = ["-o", str(tmp_path / ("x.csv" if argv[0] == "sensitivity" else "x.nc"))]
    assert main([*argv, *out]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even batch parts


def test_an_unwritable_place_is_a_clear_error(tmp_path, capsys):
    assert main(["run", str(REPO / "scenarios/plan.yaml"), "-o", "/proc/x.nc"]) == 2
    assert "cannot write in /proc" in capsys.readouterr().err
