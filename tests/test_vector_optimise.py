"""The numpy engine's source rewrites (yaan_sim.engines.vector.optimise).

The rewritten program must give the same results as the program as written, bit for bit,
and may move only pure expressions of values fixed for the whole run.
"""

from __future__ import annotations

import ast
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from yaan_sim.engines.vector import VectorModel
from yaan_sim.engines.vector import functions as _f
from yaan_sim.engines.vector.codegen import build_program
from yaan_sim.engines.vector.optimise import optimise

HERE = Path(__file__).resolve().parent
CASES = HERE.parent.parent / "shared" / "test-models" / "tests"


def _both(vm: VectorModel, **run):
    """The run with the rewritten program and with the program as written."""
    out = []
    for optimised in (True, False):
        vm._programs.clear()
        vm._build = lambda kinds, returns, one_run=False, o=optimised: build_program(
            vm.plan, kinds, returns, optimised=o, one_run=one_run
        )
        out.append(vm.run(**run))
    del vm._build
    vm._programs.clear()
    return out


def _assert_bit_identical(a: xr.Dataset, b: xr.Dataset):
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


def test_test_model_bit_identical_with_schedules_and_samples():
    vm = VectorModel.from_mdl(HERE / "data" / "vector_parks.mdl")
    lit = [v for v in vm.plan.variables.values() if v.kind == "aux" and v.literal]
    scalar = next(v for v in lit if not v.roots)
    n = 7
    overrides = {
        scalar.name: xr.DataArray(
            vm._base[scalar.py_name][0] * np.linspace(0.8, 1.2, n), dims=["sample"]
        )
    }
    sched = next(v for v in lit if v is not scalar and not v.roots)
    overrides[sched.name] = xr.DataArray(
        [1.0, 2.0], dims=["time"], coords={"time": [vm._controls["initial_time"], 2030.0]}
    )
    _assert_bit_identical(*_both(vm, overrides=overrides, samples=n))
    _assert_bit_identical(*_both(vm, start=vm._controls["initial_time"] + 1, init_at="start"))


@pytest.mark.parametrize(
    "case", ["delay_pipeline", "subscripted_smooth", "forecast", "subrange_merge", "trend"]
)
def test_conformance_models_bit_identical(case):
    """Statefuls with stages and lists, piecewise variables written in place."""
    folder = CASES / case
    if not folder.is_dir():
        pytest.skip(f"the SDXorg test models are not at {CASES.parent.parent}")
    vm = VectorModel.from_mdl(sorted(folder.glob("*.mdl"))[0])
    lowered = case == "delay_pipeline"  # PySD's warning, as in the conformance tests
    with pytest.warns(UserWarning, match="casting delay order") if lowered else nullcontext():
        a, b = _both(vm)
    _assert_bit_identical(a, b)


_SOURCE = """
def _sim(P, SC, SCI, times, flags, t_init, ti_init, ti_run, _tf, _dt, _sp, recompute):
    v_a = P['a']
    v_w = np.empty((1, 3))
    v_w[:, 0:3] = v_a
    v_view = v_w[:, None]
    s0 = v_a
    K = len(times) - 1
    for k in range(K):
        t = times[k]
        v_b = v_a[:, None] * 2.0 + t
        v_c = np.sum(v_a[:, None] * 3.0, axis=(1,)) + np.sum(v_b, axis=(1,))
        v_d = v_view * 2.0
        v_e = np.empty((1, 3))
        S = [s * v_a[:, None] for s in [s0]]
        s0 = s0 + v_c * _dt
    k = K
    t = times[K]
    v_f = v_a[:, None] * 2.0
    return v_f
"""


def _hoisted(source: str = _SOURCE) -> dict[str, str]:
    fn = optimise(source).body[0]
    return {
        s.targets[0].id: ast.unparse(s.value)
        for s in fn.body
        if isinstance(s, ast.Assign)
        and isinstance(s.targets[0], ast.Name)
        and s.targets[0].id.startswith("_h")
    }


def test_only_fixed_pure_expressions_move_and_each_once():
    hoisted = _hoisted()
    # the largest fixed sub-expressions, shared between the loop and the final step
    assert sorted(hoisted.values()) == [
        "_f.sum_axis(v_a[:, None] * 3.0, 1)",
        "v_a[:, None] * 2.0",
    ]
    # not moved: anything reading t or a state, a view of an array written in place, an
    # allocation, a comprehension's own names
    text = ast.unparse(optimise(_SOURCE))
    assert "v_d = v_view * 2.0" in text
    assert "v_e = np.empty((1, 3))" in text
    assert "[s * v_a[:, None] for s in [s0]]" in text
    assert "_f.sum_axis(v_b, 1)" in text  # a sum over one axis, not moved


def test_sum_without_axis_keeps_np_sum():
    src = _SOURCE.replace("np.sum(v_b, axis=(1,))", "np.sum(v_b)")
    assert "np.sum(v_b)" in ast.unparse(optimise(src))


def test_sums_over_several_axes_and_other_reductions_call_the_ufunc():
    src = _SOURCE.replace(
        "np.sum(v_b, axis=(1,))", "np.sum(v_b, axis=(1, 2)) + np.max(v_b, axis=(1,))"
    )
    text = ast.unparse(optimise(src))
    assert "np.add.reduce(v_b, axis=(1, 2))" in text
    assert "np.maximum.reduce(v_b, axis=(1,))" in text


@pytest.mark.parametrize("samples", [1, 3, 700])
@pytest.mark.parametrize("view", ["contiguous", "transposed", "broadcast"])
def test_sum_axis_is_numpys_sum_bit_for_bit(samples, view):
    """Slices added in order give np.add.reduce's bits over axes of 2-7 elements (what
    the ensemble path takes) and call it directly otherwise."""
    rng = np.random.default_rng(samples)
    x = rng.standard_normal((samples, 9, 6, 4)) * 10.0 ** rng.integers(-8, 8, (samples, 9, 6, 4))
    if view == "transposed":
        x = x.transpose(0, 2, 1, 3)
    elif view == "broadcast":
        x = np.broadcast_to(x[:, :1], x.shape)
    for axis in range(1, x.ndim):
        assert np.array_equal(_f.sum_axis(x, axis), np.add.reduce(x, axis=axis))


def test_views_spread_over_the_context_are_written_out_once_before_the_loop():
    """A fixed view marked _f.ctx is hoisted as _f.widen; one of a value that changes in
    the loop is the plain view; no mark is left."""
    src = _SOURCE.replace(
        "v_d = v_view * 2.0",
        "v_d = v_b * _f.ctx(v_a[:, None], (3, 2)) + _f.ctx(v_b[:, None], (3, 2))",
    )
    text = ast.unparse(optimise(src))
    assert "_f.ctx" not in text
    assert "_f.widen(v_a[:, None], (3, 2))" in _hoisted(src).values()
    assert "v_b[:, None]" in text and "_f.widen(v_b" not in text


def test_widen_writes_the_view_out_with_its_lead():
    view = np.arange(6.0).reshape(2, 3)[:, None, :]  # 2 samples, a (1, 3) view
    out = _f.widen(view, (4, 3))
    assert out.shape == (2, 4, 3) and out.flags.c_contiguous
    assert np.array_equal(out, np.broadcast_to(view, (2, 4, 3)))
