"""benchmarks/bench_jax.py's choices and wording: what it returns at a size that would not
fit, and what its README section claims from the figures it was given."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytest.importorskip("jax")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCHMARKS))
        yield importlib.import_module("bench_jax")


@pytest.fixture(scope="module")
def parks_vm(bench):
    return bench.VectorModel.from_mdl(bench.PROJECT)


def row(bench, n, t_np, t_jax, outs=("Revenue",)):
    return bench.Row(n, t_np, t_jax, (512, None), 0, 0, list(outs), None)


def test_outputs_shrink_to_the_scalar_only_where_they_would_not_fit(bench, parks_vm):
    outs = bench.key_outputs(parks_vm)
    n_saved = 33
    assert bench.outputs_that_fit(parks_vm, outs, 10_000, n_saved, 2**40) == outs
    # 16.9 KB a sample for the three (64 cells at 33 times): 10^6 needs ~16 GiB
    small = bench.outputs_that_fit(parks_vm, outs, 10**6, n_saved, 4 * 2**30)
    assert small == ["City revenue"]
    results, need = bench.memory_need(parks_vm, small, 10**6, n_saved)
    assert results == 8 * 33 * 10**6
    assert results < need < 4 * 2**30


def test_one_run_verdict_claims_every_n_only_where_jax_won_at_every_n(bench):
    won = [row(bench, 10_000, 2.0, 1.0), row(bench, 100_000, 20.0, 10.0)]
    mixed = [row(bench, 10_000, 2.0, 1.0), row(bench, 100_000, 10.0, 10.0)]
    assert "at every N measured" in bench._one_run_verdict(0.012, 0.003, 3.0, won)
    text = bench._one_run_verdict(0.012, 0.003, 3.0, mixed)
    assert "at every N measured" not in text
    assert "faster for one run" in text
    # paid back: 3 s of compilation over the 9 ms a run saves
    assert "about 333 single runs" in text
    slower = bench._one_run_verdict(0.003, 0.012, 3.0, won)
    assert "no gain" in slower


def test_numpy_estimate_scales_the_largest_n_numpy_ran(bench):
    rows = [
        row(bench, 10_000, 2.0, 1.0),
        row(bench, 10**6, 200.0, 100.0),
        row(bench, 10**7, None, 1e3),
    ]
    assert "~33 min at its rate at N = 1,000,000" in bench._numpy_estimate(10**7, rows)
    assert bench._numpy_estimate(10**7, [row(bench, 10**7, None, 1.0)]) == ""


def test_sizes_not_run_are_timed_at_each_engines_own_largest_n(bench):
    """numpy may stop below JAX (--numpy-max): its estimate comes from its own largest N."""
    rows = [row(bench, 10**5, 20.0, 10.0), row(bench, 10**6, None, 100.0)]
    text = bench.not_run_text([(10**7, 2**30, 2**31)], rows, 2**33)
    assert "17 min with JAX (its rate at N = 1,000,000)" in text
    assert "33 min with numpy (its rate at N = 100,000)" in text
    too_big = bench.not_run_text([(10**7, 2**30, 2**34)], rows, 2**33)
    assert "more than the 8.0 GiB allowed" in too_big and "with JAX" not in too_big
    assert bench.not_run_text([], rows, 2**33) == ""


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(2**29, "512 MiB"), (3 * 2**30 // 2, "1.5 GiB"), (12 * 2**30, "12 GiB")],
)
def test_sizes_read_well(bench, nbytes, text):
    assert bench.gib(nbytes) == text


def test_durations_read_well(bench):
    assert bench.duration(45) == "45 s"
    assert bench.duration(1950) == "32 min"
