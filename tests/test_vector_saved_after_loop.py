"""One run's report variables computed after the time loop (codegen.saved_only_after_loop).

A run without samples computes the variables that no derivative needs once, after the
time loop, on the values the loop recorded at the saved times: it must give every
variable the same bits as the program that computes them in the loop, on the park model
with its plan's schedules and on PySD's conformance models.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_vector_conformance import CASES, CASES_DIR

import yaan_sim as ys
from yaan_sim.engines.base import resolve_engine
from yaan_sim.engines.simulate import history_then_policy
from yaan_sim.engines.vector import VectorModel
from yaan_sim.engines.vector.codegen import saved_only_after_loop, schedule
from yaan_sim.errors import UnsupportedConstructError

HERE = Path(__file__).resolve().parent


def _both(vm: VectorModel, **run) -> tuple[xr.Dataset, xr.Dataset]:
    """The run with its report variables after the loop, and all of them in the loop."""
    out = []
    for after in (True, False):
        vm._programs.clear()
        vm.saved_after_loop = after
        out.append(vm.run(**run))
    del vm.saved_after_loop
    vm._programs.clear()
    return out[0], out[1]


def _assert_bit_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        assert a[name].dims == b[name].dims, name
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


def _moved(vm: VectorModel, kinds: dict | None = None) -> list[str]:
    return saved_only_after_loop(schedule(vm.plan, kinds or {}, vm.variables))[0]


def test_park_model_plan_bit_identical(model):
    """The park model's plan run (14 levers as schedules): emissions, the city's totals
    and output per mu are computed after the loop, with the same bits."""
    vm = resolve_engine(model, "vector")[0].compiled
    plan = ys.load_scenario("plan", model)
    h = plan.horizon or model.default_horizon
    run_h, overrides = history_then_policy(model, plan.overrides(model, h), h)
    kinds = {vm._resolve(n).py_name: "sched" for n in overrides}
    moved = _moved(vm, kinds)
    assert {"v:emissions", "v:city_revenue", "v:output_per_mu"} <= set(moved)
    source = vm.program_source(dict.fromkeys(overrides, "sched"))
    assert "_f.stack_saved(" in source  # the program a run without samples runs
    a, b = _both(vm, overrides=overrides, start=run_h.start, stop=run_h.stop)
    _assert_bit_identical(a, b)


def test_an_ensemble_keeps_them_in_the_loop(model):
    """A per-sample constant (samples, ...) would not broadcast with the stacked times:
    an ensemble's program computes every variable in the loop, and one run's values are
    those of a one-sample ensemble."""
    vm = resolve_engine(model, "vector")[0].compiled
    seen = []
    build = vm._build

    def spy(kinds, returns, one_run=False):
        seen.append(one_run)
        return build(kinds, returns, one_run=one_run)

    vm._programs.clear()
    vm._build = spy
    try:
        one = vm.run(stop=2014)
        ens = vm.run(stop=2014, samples=2)
    finally:
        del vm._build
        vm._programs.clear()
    assert seen == [True, False]
    for name in one.data_vars:
        assert np.array_equal(one[name].values, ens[name].values[0], equal_nan=True), name


def test_recorded_scalars_are_broadcast():
    """A value the loop holds as a number is stacked at its variable's shape."""
    from yaan_sim.engines.vector.functions import stack_saved

    got = stack_saved([np.float64(2.0), np.ones((1, 3))], (3,))
    assert got.shape == (2, 3) and got[0].tolist() == [2.0, 2.0, 2.0]
    assert stack_saved([np.ones((1, 3)), np.zeros((1, 3))], (3,)).shape == (2, 3)
    with pytest.raises(ValueError, match="different shapes"):
        stack_saved([np.ones((1, 3)), np.ones((1, 4))], (3,))


def test_conformance_models_bit_identical():
    """Every conformance case the engine runs, including stateful objects with stages
    and variables written piecewise in place; some of them move variables."""
    if not CASES_DIR.is_dir():
        pytest.skip(f"the SDXorg test models are not at {CASES_DIR}")
    moving = []
    for case in CASES:
        mdl = sorted((CASES_DIR / case).glob("*.mdl"))
        if not mdl:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PySD's notes on some cases (checked elsewhere)
            try:
                vm = VectorModel.from_mdl(mdl[0])
            except UnsupportedConstructError:
                continue
            a, b = _both(vm)
        _assert_bit_identical(a, b)
        if _moved(vm):
            moving.append(case)
    assert len(moving) >= 5, moving
