"""The JAX engine (yaan_sim.engines.jax) against the numpy vector engine.

Every comparison is on every variable at every saved time, to 1e-9 relative (atol
1e-12), with the same dims, coords and attrs. The numpy engine is itself held to PySD by
tests/test_vector_engine.py and tests/test_vector_conformance.py, so this file only has to
show that the two backends of one compiled plan agree. XLA rounds a few operations
differently from numpy (see yaan_sim.engines.jax), so agreement is to ~1e-15, not bitwise.

Skipped only when jax cannot be imported (it is an optional extra).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

jax = pytest.importorskip(
    "jax",
    reason="jax is not installed: the JAX engine is an optional extra (pip install -e '.[jax]')",
)

from yaan_sim.engines.jax import JaxModel, engine_for  # noqa: E402
from yaan_sim.engines.jax.codegen import PackedCall  # noqa: E402
from yaan_sim.engines.jax.runtime import _chunk_length  # noqa: E402
from yaan_sim.engines.vector import VectorModel  # noqa: E402
from yaan_sim.errors import UnsupportedConstructError, YaanSimError  # noqa: E402

HERE = Path(__file__).resolve().parent
TEST_MODEL = HERE / "data" / "vector_parks.mdl"
PROJECT_MODEL = HERE.parent / "models" / "yaan_parks.mdl"
RTOL, ATOL = 1e-9, 1e-12


def assert_same(ours: xr.Dataset, numpy_ds: xr.Dataset, rtol=RTOL, atol=ATOL, skip=()):
    """Same variables, dims, coords, attrs; values equal to ``rtol``/``atol``."""
    assert list(ours.data_vars) == list(numpy_ds.data_vars)
    for name in ours.data_vars:
        a, b = ours[name], numpy_ds[name]
        assert a.dims == b.dims and a.attrs == b.attrs, name
        assert a.dtype == np.float64, name
        if name in skip:
            continue
        np.testing.assert_allclose(
            a.values, b.values, rtol=rtol, atol=atol, equal_nan=True, err_msg=name
        )
    for d in numpy_ds.coords:
        np.testing.assert_array_equal(ours[d].values, numpy_ds[d].values)


def _pair(path):
    vm = VectorModel.from_mdl(path)
    return vm, JaxModel.from_vector(vm)


@pytest.fixture(scope="module")
def project():
    return _pair(PROJECT_MODEL)


@pytest.fixture(scope="module")
def small():
    return _pair(TEST_MODEL)


# ---- the project's model -------------------------------------------------------------
def test_project_model_default_run_equals_numpy(project):
    vm, jm = project
    assert_same(jm.run(), vm.run())


def _shipped_scenarios():
    folder = HERE.parent / "scenarios"
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.glob("*.yaml")
        if not re.search(r"(?m)^goals:", p.read_text(encoding="utf-8"))
    )


@pytest.fixture(scope="module")
def user_model():
    """The project's model as ``ys.simulate`` loads it, shared so that the JAX programs
    compiled for it serve every test of this module."""
    import yaan_sim as ys

    return ys.load_model()


@pytest.mark.parametrize("scenario", _shipped_scenarios())
def test_project_model_under_each_shipped_scenario_equals_numpy(user_model, scenario):
    """Each shipped scenario's levers (scalars, per park, time schedules), whole horizon,
    as ``ys.simulate`` runs it: the JAX engine gets every lever as a schedule (the .mdl's
    value where the scenario leaves it), numpy only those the scenario sets."""
    import yaan_sim as ys

    scen = ys.load_scenario(HERE.parent / "scenarios" / scenario, user_model)
    ours = ys.simulate(user_model, [scen], engine="jax")
    assert_same(ours, ys.simulate(user_model, [scen], engine="vector"))


def test_every_shipped_scenario_runs_one_compiled_program(user_model):
    """Scenarios that set different levers share the JAX engine's program (one XLA
    compilation of ~10-16 s, not one per scenario)."""
    import yaan_sim as ys

    for scenario in _shipped_scenarios():
        ys.simulate(
            user_model,
            [ys.load_scenario(HERE.parent / "scenarios" / scenario, user_model)],
            engine="jax",
        )
    jm = user_model.vector_model(VectorModel)._jax_model
    assert len(jm._programs) == 1, list(jm._programs)


def _sampled(vm, n: int, seed: int = 0) -> dict:
    """Per-sample values (+-20%) of up to 6 scalar and 3 per-park constants, and a
    per-sample time schedule of one per-park lever."""
    rng = np.random.default_rng(seed)
    lits = [
        v
        for v in vm.plan.variables.values()
        if v.kind == "aux"
        and v.literal
        and not any(s in v.name.lower() for s in ("time", "year", "start"))
    ]
    out = {}
    for v in [v for v in lits if not v.roots][:6]:
        out[v.name] = xr.DataArray(vm._base[v.py_name][0] * rng.uniform(0.8, 1.2, n), dims="sample")
    park = [v for v in lits if len(v.roots) == 1]
    for v in park[:3]:
        dim = v.dims[0]
        out[v.name] = xr.DataArray(
            vm._base[v.py_name][0][None, :] * rng.uniform(0.8, 1.2, (n, 1)),
            dims=["sample", dim],
            coords={dim: v.coords[0]},
        )
    v = park[3]
    start = float(vm._controls["initial_time"])
    base = vm._base[v.py_name][0]
    out[v.name] = xr.DataArray(
        base[None, None, :] * rng.uniform(0.7, 1.3, (n, 2, 1)),
        dims=["sample", "time", v.dims[0]],
        coords={"time": [start, start + 2.5], v.dims[0]: v.coords[0]},
    )
    return out


def test_project_ensemble_with_sampled_parameters_equals_numpy(project):
    vm, jm = project
    n = 37  # chunks of 13 samples, run as 16 (the last padded)
    ov = _sampled(vm, n)
    assert_same(jm.run(overrides=ov, samples=n, chunk_size=16), vm.run(overrides=ov, samples=n))


def test_project_start_later_equals_numpy(project):
    vm, jm = project
    for init_at in ("model", "start"):
        kwargs = dict(start=2017, stop=2018.5, init_at=init_at)
        assert_same(jm.run(**kwargs), vm.run(**kwargs))


def test_return_vars_and_one_sample(project):
    vm, jm = project
    names = ["Revenue", "City revenue"] if "Revenue" in vm.plan.by_name else vm.variables[:2]
    ov = _sampled(vm, 1)
    assert_same(
        jm.run(overrides=ov, samples=1, return_vars=names),
        vm.run(overrides=ov, samples=1, return_vars=names),
    )


# ---- the test model: lookups, statefuls, per-sample tables ---------------------------
def test_lookup_tables_per_sample_equal_numpy(small):
    vm, jm = small
    x = [2016.0, 2017.5, 2019.0, 2021.0]
    ys = np.array([[1.0, 1.1, 1.4, 1.6], [0.9, 1.3, 1.2, 2.0], [1.0, 1.0, 1.0, 1.0]])
    ov = {
        "Demand index lookup": xr.DataArray(
            ys, coords={"lookup_x": x}, dims=["sample", "lookup_x"]
        ),
        "Growth elasticity": xr.DataArray([0.6, 0.8, 1.0], dims="sample"),
    }
    assert_same(jm.run(overrides=ov, samples=3), vm.run(overrides=ov, samples=3))


STATEFULS_MDL = """{UTF-8}
Park: a, b, c ~~|
Input[Park]= 10 + STEP(5, 2) + RAMP(1, 1, 4) + Curve[Park](Time) * Scale ~~|
Curve[a]([(0,0)-(8,4)],(0,0),(8,4)) ~~|
Curve[b]([(0,0)-(8,4)],(0,1),(3,3),(8,1)) ~~|
Curve[c]([(0,0)-(8,4)],(0,2),(8,2)) ~~|
Scale= 1 ~~|
Smooth time[Park]= 1, 1.5, 2 ~~|
Delay time= 1.5 ~~|
Smoothed[Park]= SMOOTH(Input[Park], Smooth time[Park]) ~~|
Smoothed3[Park]= SMOOTH3I(Input[Park], Smooth time[Park], 4) ~~|
Smoothed n[Park]= SMOOTH N(Input[Park], Smooth time[Park], 8, 2) ~~|
Delayed1[Park]= DELAY1(Input[Park], Delay time) ~~|
Delayed3[Park]= DELAY3I(Input[Park], Smooth time[Park] * 2, 6) ~~|
Delayed n[Park]= DELAY N(Input[Park], Smooth time[Park] + Time / 10, 9, 3) ~~|
Fixed[Park]= DELAY FIXED(Input[Park], 1, 7) ~~|
Trended[Park]= TREND(Input[Park], 2, 0.1) ~~|
Forecasted[Park]= FORECAST(Input[Park], 2, 1) ~~|
Sampled[Park]= SAMPLE IF TRUE(MODULO(Time, 2) = 0, Input[Park], 0) ~~|
First[Park]= INITIAL(Input[Park] * 2) ~~|
Active= ACTIVE INITIAL(Stock[a] / 2, 3) ~~|
Stock[Park]= INTEG(Input[Park] - Delayed n[Park] + Active / 10, First[Park]) ~~|
Total= SUM(Stock[Park!]) + VMAX(Smoothed[Park!])
  + WITH LOOKUP(Time, ([(0,0)-(8,2)],(0,0),(8,2))) ~~|
Ratio[Park]= ZIDZ(Stock[Park], Total) + XIDZ(1, Fixed[Park] - 7, 0) + QUANTUM(Input[Park], 0.5) ~~|
FINAL TIME = 8 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 0.5 ~~|
TIME STEP = 0.25 ~~|
"""


def test_statefuls_lookups_and_per_sample_times_equal_numpy(tmp_path):
    """Every stateful kind, lookups and reductions, with per-sample smooth and delay times."""
    mdl = tmp_path / "statefuls.mdl"
    mdl.write_text(STATEFULS_MDL)
    vm, jm = _pair(mdl)
    assert_same(jm.run(), vm.run())
    n = 5
    ov = {
        "Smooth time": xr.DataArray(
            np.outer(np.linspace(0.8, 1.6, n), [1.0, 1.5, 2.0]), dims=["sample", "park"]
        ),
        "Scale": xr.DataArray(np.linspace(0.5, 1.5, n), dims="sample"),
        "Curve": xr.DataArray(
            np.linspace(1, 2, n)[:, None, None] * np.array([[0.0, 1.0, 2.0], [4.0, 1.0, 2.0]]),
            coords={"lookup_x": [0.0, 8.0], "park": ["a", "b", "c"]},
            dims=["sample", "lookup_x", "park"],
        ),
    }
    assert_same(jm.run(overrides=ov, samples=n), vm.run(overrides=ov, samples=n))


def test_refused_constructs_are_refused_at_build(tmp_path):
    mdl = tmp_path / "refused.mdl"
    mdl.write_text(STATEFULS_MDL.replace("Scale= 1", "Scale= RANDOM UNIFORM(0, 1, 0)"))
    with pytest.raises(UnsupportedConstructError, match="RANDOM UNIFORM"):
        JaxModel.from_mdl(mdl)


def test_per_sample_delay_order_is_refused_as_by_numpy(tmp_path):
    mdl = tmp_path / "order.mdl"
    text = STATEFULS_MDL.replace("Scale= 1", "Scale= 1 ~~|\nOrder= 2")
    mdl.write_text(text.replace("Smooth time[Park], 8, 2)", "Smooth time[Park], 8, Order)"))
    vm, jm = _pair(mdl)
    ov = {"Order": xr.DataArray([1.0, 2.0], dims="sample")}
    for engine in (vm, jm):
        with pytest.raises(UnsupportedConstructError, match="order that differs"):
            engine.run(overrides=ov, samples=2)


# ---- PySD's conformance models ---------------------------------------------------------
def _conformance():
    from test_vector_conformance import CASES, CASES_DIR, LOWERED_ORDER, _model_file

    return CASES, CASES_DIR, LOWERED_ORDER, _model_file


# Cases built to put INTEGER/MODULO/QUANTUM exactly on their steps (Time/10, Time/100 - 1,
# ...): XLA computes x / 10 as x * 0.1, a unit in the last place away, which can land on
# the other side of a step. There, only these variables may differ, and only at some times.
ON_A_STEP = {
    "rounding": {"test_integer", "test_modulo"},
    "subscripted_round": {
        "var_integer",
        "var_integer2",
        "var_integer3",
        "var_modulo",
        "var_modulo3",
        "var_quantum1",
        "var_quantum2",
        "var_quantum3",
        "var_quantum4",
    },
}


@pytest.mark.parametrize("case", sorted(_conformance()[0]))
def test_conformance_case_equals_numpy(case):
    _, cases_dir, lowered, model_file = _conformance()
    if not cases_dir.is_dir():
        pytest.skip(f"the SDXorg test models are not at {cases_dir}")
    vm, jm = _pair(model_file(case))
    if case in lowered:  # the order is lowered (and said so) by both engines
        with pytest.warns(UserWarning, match="casting delay order"):
            expected = vm.run()
        with pytest.warns(UserWarning, match="casting delay order"):
            ours = jm.run()
    else:
        expected, ours = vm.run(), jm.run()
    step_vars = ON_A_STEP.get(case, set())
    assert_same(ours, expected, skip=step_vars)
    for name in step_vars:
        same = np.isclose(ours[name].values, expected[name].values, rtol=RTOL, atol=ATOL)
        assert same.mean() > 0.8, f"{name}: {same.size - same.sum()} of {same.size} cells differ"


# ---- the engine in the package ---------------------------------------------------------
def test_simulate_with_engine_jax_records_it(user_model):
    import yaan_sim as ys

    scen = ys.load_scenario(HERE.parent / "scenarios" / "plan.yaml", user_model)
    ours = ys.simulate(user_model, [scen], engine="jax")
    assert '"engine": "jax"' in ours.attrs["manifest"]
    assert '"engine": "vector"' in ys.simulate(user_model, [scen]).attrs["manifest"]


def test_engine_for_a_refused_model_says_why():
    with pytest.raises(YaanSimError, match="cannot run this model: x: a macro"):
        engine_for(None, ["x: a macro (:MACRO:) is not supported; using PySD"])


def test_float64_without_changing_the_users_jax_setting(small):
    jm = small[1]
    before = jax.config.jax_enable_x64
    ds = jm.run()
    assert jax.config.jax_enable_x64 == before
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars)


@pytest.mark.parametrize(
    "n, size, length",
    [
        (1, 16384, 1),  # one run
        (3, 16384, 4),  # small N: the next power of two
        (37, 16, 16),  # three chunks of 13 -> 16
        (10_000, 16384, 10_240),  # one chunk, a multiple of 1,024
        (100_000, 16384, 14_336),  # seven chunks of 14,286 -> 14 x 1,024
    ],
)
def test_chunk_length(n, size, length):
    assert _chunk_length(n, size) == length


def test_cpu_chunks_are_the_numpy_engines(project):
    """On a CPU a chunk's arrays stay in a core's cache, as the numpy engine's do: 512
    samples of the park model (10,000 samples in 1.2 s; 2.5 s in chunks of 16,384)."""
    vm, jm = project
    assert jax.default_backend() == "cpu"  # CI: the CPU wheels of the test extra
    assert jm.default_chunk_size() == vm.default_chunk_size() == 512
    assert _chunk_length(10_000, jm.default_chunk_size()) == 512  # 20 chunks of 500


def test_a_packed_call_gives_back_each_output_with_its_shape_and_type():
    """The program's outputs travel as one array; each call unpacks them by the layout of
    its own compilation (a constant's shape depends on whether its input is per sample)."""
    import jax.numpy as jnp

    def sim(P, scale):
        return {"c": P["k"] * 2.0}, {"b": jnp.arange(6.0).reshape(2, 3) * scale, "n": P["k"] > 1}

    call = PackedCall(sim)
    with jax.enable_x64(True):
        flat, unpack = call({"k": np.array([1.0, 3.0])}, 0.5)  # per sample
        flat1, unpack1 = call({"k": np.array([4.0])}, 2)  # shared: another compilation
        consts, outs = unpack(np.asarray(flat))
        consts1, outs1 = unpack1(np.asarray(flat1))
    assert np.asarray(flat).dtype == np.float64 and np.asarray(flat).shape == (2 + 6 + 2,)
    np.testing.assert_array_equal(consts["c"], [2.0, 6.0])
    np.testing.assert_array_equal(outs["b"], [[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]])
    assert outs["n"].dtype == bool and outs["n"].tolist() == [False, True]
    np.testing.assert_array_equal(consts1["c"], [8.0])
    np.testing.assert_array_equal(outs1["b"], np.arange(6.0).reshape(2, 3) * 2)
    assert outs1["n"].tolist() == [True]


_COMPILE_ONE = """
import sys
from yaan_sim.engines.jax import JaxModel
JaxModel.from_mdl(sys.argv[1]).run(return_vars=["Stock"])
"""


@pytest.mark.parametrize("users_own", [False, True])
def test_compiled_programs_are_kept_in_the_cache_folder_unless_jax_has_one(tmp_path, users_own):
    """A new process loads what an earlier one compiled (the first run of the park model,
    3.9 s -> 1.3 s); a cache folder the user gave JAX is left as it is."""
    mdl = Path(__file__).resolve().parent / "data" / "loops_exponential.mdl"
    env = {
        **os.environ,
        "YAAN_SIM_CACHE": str(tmp_path / "ours"),
        # keep every program, however quickly compiled (the default keeps those over 1 s)
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    if users_own:
        env["JAX_COMPILATION_CACHE_DIR"] = str(tmp_path / "theirs")
    subprocess.run([sys.executable, "-c", _COMPILE_ONE, str(mdl)], env=env, check=True)
    kept = tmp_path / ("theirs" if users_own else "ours/xla")
    assert [p.name for p in kept.iterdir() if p.name.startswith("jit__packed")]
    if users_own:
        assert not (tmp_path / "ours" / "xla").exists()
