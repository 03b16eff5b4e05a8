"""The vector engine (yaan_sim.engines.vector) against PySD on the project's model and a test model.

Every comparison is on every variable at every saved time, to 1e-9 relative (atol
1e-12). PySD runs on a copy of the .mdl in tmp_path (its translation writes a .py next to
the model) and is reloaded before each run, since PySD keeps parameters between runs.

tests/data/vector_parks.mdl uses the constructs of the project's model: a Park range with
East/West sub-ranges, piecewise constants, a 2-D constant over sub-ranges of a second
dim, a 2-D table, SUM over one and two dims, MIN/MAX, ZIDZ/XIDZ, INITIAL, EXP, LN, ^,
INTEGER, MODULO, IF THEN ELSE with :AND:, SMOOTH, DELAY3, STEP/RAMP/PULSE and a named
lookup of Time times a subscripted constant.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from support import pysd_reference

from yaan_sim.engines.vector import VectorModel
from yaan_sim.engines.vector.check import compare_frames, flatten
from yaan_sim.errors import ModelError, UnsupportedConstructError, YaanSimError
from yaan_sim.model.load import with_initial_time

HERE = Path(__file__).resolve().parent
TEST_MODEL = HERE / "data" / "vector_parks.mdl"
PROJECT_MODEL = HERE.parent / "models" / "yaan_parks.mdl"
RTOL, ATOL = 1e-9, 1e-12


def _pysd_model(mdl: Path, tmp: Path):
    import pysd

    shutil.copy(mdl, tmp / mdl.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.read_vensim(str(tmp / mdl.name))


def _to_pysd_value(model, name, value):
    """Our override value -> PySD's params value (dims renamed to PySD's range names)."""
    if not isinstance(value, xr.DataArray):
        return value
    _, dims = model.get_coords(name) or ({}, [])
    rename = {d.lower(): d for d in dims}
    da = value.rename({k: v for k, v in rename.items() if k in value.dims})
    if "time" in da.dims:
        times = da["time"].values
        if da.ndim == 1:
            return pd.Series(da.values, index=times)
        return pd.Series([da.sel(time=t).drop_vars("time") for t in times], index=times)
    return da


def _pysd_run(model, params=None, **kwargs) -> pd.DataFrame:
    model.reload()
    params = {k: _to_pysd_value(model, k, v) for k, v in (params or {}).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.run(params=params or None, **kwargs)


def _assert_same(ds: xr.Dataset, df: pd.DataFrame, sample=None):
    ours = flatten(ds, sample)
    problems = compare_frames(ours, df, rtol=RTOL, atol=ATOL)
    assert not problems, "\n".join(problems[:20])


# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tmp_module(tmp_path_factory):
    return tmp_path_factory.mktemp("vector")


@pytest.fixture(scope="module")
def vm():
    return VectorModel.from_mdl(TEST_MODEL)


@pytest.fixture(scope="module")
def pm(tmp_module):
    return _pysd_model(TEST_MODEL, tmp_module)


@pytest.fixture(scope="module")
def project():
    return VectorModel.from_mdl(PROJECT_MODEL)


class _LazyPySD:
    """A .mdl PySD translates only when a run is not in the stored references (the
    translation of the project's model takes ~10 s)."""

    def __init__(self, mdl: Path, folder: Path):
        self.mdl, self.folder, self._model = mdl, folder, None

    def run(self, name: str, params=None, **kwargs) -> pd.DataFrame:
        """PySD's run, from tests/data/pysd_reference/<name> where it is current."""

        def compute():
            if self._model is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._model = _pysd_model(self.mdl, self.folder)
            return _pysd_run(self._model, params, **kwargs)

        return pysd_reference.reference(
            name, [self.mdl], pysd_reference.call_text(params, **kwargs), compute
        )


@pytest.fixture(scope="module")
def project_pysd(tmp_module):
    return _LazyPySD(PROJECT_MODEL, tmp_module / "project")


# ---- the test model ------------------------------------------------------------------
def test_default_run_equals_pysd(vm, pm):
    _assert_same(vm.run(), _pysd_run(pm))


def test_dataset_layout(vm):
    ds = vm.run()
    assert "productive_capital" in ds and "demand_index_lookup" not in ds
    assert "time_step" not in ds and "initial_time" not in ds
    da = ds["emissions"]
    assert da.dims == ("time", "park", "pollutant")
    assert da.attrs == {"units": "t/Year", "vensim_name": "Emissions"}
    assert list(ds["park"].values) == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert ds["time"].values[0] == 2016 and ds["time"].values[-1] == 2020
    assert len(ds["time"]) == 17
    assert ds["depreciation_rate"].dims == ("time",)  # constants too, over time
    # a variable on a sub-range keeps the full dim, NaN outside its elements
    bonus = ds["east_bonus"]
    assert bonus.dims == ("time", "park")
    assert np.isnan(bonus.sel(park=["p4", "p5", "p6"])).all()
    assert not np.isnan(bonus.sel(park=["p1", "p2", "p3"])).any()
    s = vm.run(samples=3)
    assert s["emissions"].dims == ("sample", "time", "park", "pollutant")
    np.testing.assert_array_equal(s["emissions"].values[2], ds["emissions"].values)


def test_control_arguments_equal_pysd(vm, pm):
    ds = vm.run(step=0.125, saveper=0.5, stop=2019)
    _assert_same(ds, _pysd_run(pm, time_step=0.125, saveper=0.5, final_time=2019))
    assert ds["time"].values.tolist() == [2016 + 0.5 * i for i in range(7)]


def test_saveper_follows_step_like_pysd(vm, pm):
    # SAVEPER = TIME STEP in the .mdl: a new step changes the saving period too.
    ds = vm.run(step=0.5)
    _assert_same(ds, _pysd_run(pm, time_step=0.5))
    assert len(ds["time"]) == 9


def test_scalar_and_per_park_overrides(vm, pm):
    rate = xr.DataArray(
        [0.1, 0.02, 0.03, 0.09, 0.05, 0.01],
        coords={"park": ["p1", "p2", "p3", "p4", "p5", "p6"]},
        dims=["park"],
    )
    params = {"Depreciation rate": 0.07, "Investment attraction rate": rate}
    _assert_same(vm.run(overrides=params), _pysd_run(pm, params))


def test_override_of_an_equation_and_coords_order(vm, pm):
    # coords in another order are put in the model's order; an aux can be replaced
    scale = xr.DataArray(
        [1.3, 1.2, 1.1, 1.0, 0.9, 0.8][::-1],
        coords={"park": ["p6", "p5", "p4", "p3", "p2", "p1"]},
        dims=["park"],
    )
    in_order = scale.sel(park=["p1", "p2", "p3", "p4", "p5", "p6"])  # PySD ignores coords
    _assert_same(
        vm.run(overrides={"Demand scale": scale}), _pysd_run(pm, {"Demand scale": in_order})
    )
    params = {"East capital": 5.0}  # an equation replaced by a constant
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same(vm.run(overrides=params), _pysd_run(pm, params))


def test_time_schedules(vm, pm):
    times = np.arange(2016, 2020.01, 0.25)
    effect = xr.DataArray(np.linspace(0.0, 0.08, len(times)), coords={"time": times}, dims=["time"])
    rate = xr.DataArray(
        np.outer(np.linspace(1, 2, len(times)), [0.05, 0.06, 0.07, 0.04, 0.05, 0.03]),
        coords={"time": times, "park": ["p1", "p2", "p3", "p4", "p5", "p6"]},
        dims=["time", "park"],
    )
    params = {"Policy effect": effect, "Investment attraction rate": rate}
    _assert_same(vm.run(overrides=params), _pysd_run(pm, params))


def test_sparse_schedule_is_interpolated_and_held(vm, pm):
    sched = xr.DataArray([0.0, 0.1], coords={"time": [2016.6, 2018.3]}, dims=["time"])
    params = {"Policy effect": sched}
    _assert_same(vm.run(overrides=params), _pysd_run(pm, params))


def test_per_sample_values_equal_separate_pysd_runs(vm, pm):
    n = 3
    elasticity = xr.DataArray([0.6, 0.8, 1.1], dims=["sample"])
    rate = xr.DataArray(
        np.array([[0.05, 0.06, 0.07, 0.04, 0.05, 0.03]]) * np.array([[0.5], [1.0], [1.7]]),
        coords={"park": ["p1", "p2", "p3", "p4", "p5", "p6"]},
        dims=["sample", "park"],
    )
    times = np.arange(2016, 2020.01, 0.25)
    effect = xr.DataArray(
        np.outer([0.01, 0.03, 0.05], np.linspace(0, 1, len(times))),
        coords={"time": times},
        dims=["sample", "time"],
    )
    ds = vm.run(
        overrides={
            "Growth elasticity": elasticity,
            "Investment attraction rate": rate,
            "Policy effect": effect,
        },
        samples=n,
    )
    assert ds.sizes["sample"] == n
    for i in range(n):
        params = {
            "Growth elasticity": float(elasticity[i]),
            "Investment attraction rate": rate.isel(sample=i),
            "Policy effect": effect.isel(sample=i),
        }
        _assert_same(ds, _pysd_run(pm, params), sample=i)


@pytest.mark.parametrize("start", [2017.5, 2016.75])
def test_start_time_equals_pysd_initial_condition(vm, pm, start):
    ds = vm.run(start=start)
    assert ds["time"].values[0] == start
    _assert_same(ds, _pysd_run(pm, initial_condition=(start, {})))


def test_return_vars_subset_is_the_same(vm):
    full = vm.run(
        samples=2, overrides={"Growth elasticity": xr.DataArray([0.7, 0.9], dims=["sample"])}
    )
    part = vm.run(
        samples=2,
        overrides={"Growth elasticity": xr.DataArray([0.7, 0.9], dims=["sample"])},
        return_vars=["Total emissions", "productive_capital"],
    )
    assert set(part.data_vars) == {"total_emissions", "productive_capital"}
    for name in part.data_vars:
        np.testing.assert_array_equal(part[name].values, full[name].values)


def test_bad_overrides_are_refused_clearly(vm):
    with pytest.raises(YaanSimError, match="not a variable"):
        vm.run(overrides={"No such thing": 1})
    with pytest.raises(YaanSimError, match="samples"):
        vm.run(
            overrides={"Growth elasticity": xr.DataArray([1.0, 2.0], dims=["sample"])}, samples=3
        )
    with pytest.raises(YaanSimError, match="stock"):
        vm.run(overrides={"Productive capital": 1.0})
    with pytest.raises(YaanSimError, match="dims"):
        vm.run(overrides={"Growth elasticity": xr.DataArray([1.0, 2.0], dims=["park"])})
    with pytest.raises(YaanSimError, match="no value"):
        vm.run(
            overrides={
                "Demand scale": xr.DataArray(
                    [1.0, 2.0], coords={"park": ["p1", "p2"]}, dims=["park"]
                )
            }
        )


_REFUSED = """{UTF-8}
Park: a, b ~~|
Per park[Park]= 1, 2 ~~|
Input= 5 ~~|
Average time= 2 ~~|
%s ~~|
FINAL TIME = 2 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
"""


@pytest.mark.parametrize(
    "equation, construct",
    [
        ("Picked= GET TIME VALUE(0, 0, 0)", "the function GET TIME VALUE"),
        ("Drawn= RANDOM UNIFORM(0, 1, 0)", "the function RANDOM UNIFORM"),
        ("Allocated= ALLOCATE AVAILABLE(Input, Input, 1)", "ALLOCATE AVAILABLE"),
        ("Npv= NPV(Input, 0.1, 0, 1)", "the function NPV"),
        ("Summed= SUM(Input, Input)", "SUM with 2 arguments is not supported"),
        ("Largest= VMAX(Input * 1)", "VMAX without a 'range!' subscript is not supported"),
        ("Absolute= ABS(Input, Input)", "ABS with 2 arguments is not supported"),
        ("Stepped= STEP(Input)", "STEP with 1 arguments is not supported"),
        ("Counted= ELMCOUNT(Input)", "ELMCOUNT of something other than a subscript range is"),
        (
            "Smoothed= SUM(Per park[Park!] * SMOOTH(Input, 1))",
            "a stateful function (SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N) inside SUM over "
            "Park! is not supported",
        ),
    ],
)
def test_unsupported_constructs_are_refused_at_build(tmp_path, equation, construct):
    mdl = tmp_path / "refused.mdl"
    mdl.write_text(_REFUSED % equation)
    name = equation.split("=")[0]
    with pytest.raises(UnsupportedConstructError) as err:
        VectorModel.from_mdl(mdl)
    msg = str(err.value)
    assert msg.startswith(f"{name}: {construct}") and "engine='pysd'" in msg


def test_subscripted_scalar_right_side_broadcasts(tmp_path):
    # PySD with numpy 2 fails on these equations; the vector engine broadcasts them.
    mdl = tmp_path / "bcast.mdl"
    mdl.write_text("""{UTF-8}
Park: a, b, c ~~|
Gate[Park]= IF THEN ELSE(Time > 1, 1, 0) ~~|
Ramped[Park]= RAMP(1, 1, 3) ~~|
Looked[Park]= Curve(Time) ~~|
Curve([(0,0)-(4,4)],(0,0),(4,2)) ~~|
Safe[Park]= XIDZ(1, Time - 2, 7) ~~|
FINAL TIME = 4 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
""")
    ds = VectorModel.from_mdl(mdl).run()
    assert ds["gate"].values.tolist() == [[0] * 3, [0] * 3, [1] * 3, [1] * 3, [1] * 3]
    assert ds["ramped"].values[:, 1].tolist() == [0, 0, 1, 2, 2]
    assert ds["looked"].values[:, 2].tolist() == [0, 0.5, 1, 1.5, 2]
    assert ds["safe"].values[:, 0].tolist() == [-0.5, -1, 7, 1, 0.5]


def test_circular_equations_are_refused_naming_the_cycle(tmp_path):
    mdl = tmp_path / "cycle.mdl"
    mdl.write_text("""{UTF-8}
Alpha= Beta + 1 ~~|
Beta= Gamma * 2 ~~|
Gamma= Alpha - Time ~~|
Stock= INTEG(Alpha, 0) ~~|
FINAL TIME = 4 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
""")
    with pytest.raises(ModelError, match="circular dependency") as err:
        VectorModel.from_mdl(mdl).run()
    # each name is used by the next: Gamma uses Alpha, Beta uses Gamma, Alpha uses Beta
    cycle = re.search(r"'(\w+)' -> '(\w+)' -> '(\w+)' -> '(\w+)'", str(err.value)).groups()
    assert cycle[0] == cycle[-1]
    used_by = {"Alpha": "Gamma", "Gamma": "Beta", "Beta": "Alpha"}
    assert all(used_by[a] == b for a, b in itertools.pairwise(cycle))


def test_stateful_classes_read_the_fields_pysd_parses():
    # a misspelt attribute would only fail on a model using that function
    from pysd.translators.structures import abstract_expressions as ae

    from yaan_sim.engines.vector.statefuls import BY_STRUCTURE, Stateful

    for name, cls in BY_STRUCTURE.items():
        assert issubclass(getattr(ae, name), ae.AbstractSyntax) and issubclass(cls, Stateful)
        fields = [attr for _, attr in cls.arguments]
        assert set(fields) <= set(getattr(ae, name).__dataclass_fields__), (name, fields)


# ---- the project's model -------------------------------------------------------------
def test_project_model_equals_pysd(project, project_pysd):
    _assert_same(project.run(), project_pysd.run("project-default"))


def test_project_model_start_and_overrides_equal_pysd(project, project_pysd):
    var = project.plan.lookup("Investment incentive rate")
    parks = var.coords[0]
    rate = xr.DataArray(np.linspace(0.0, 0.2, len(parks)), coords={"park": parks}, dims=["park"])
    params = {"Investment incentive rate": rate}
    _assert_same(
        project.run(overrides=params, stop=2018),
        project_pysd.run("project-incentive-to-2018", params, final_time=2018),
    )
    _assert_same(
        project.run(start=2017, stop=2018.5),
        project_pysd.run("project-from-2017", initial_condition=(2017, {}), final_time=2018.5),
    )


def test_project_model_init_at_start_equals_a_variant_mdl(project, tmp_module):
    # yaan_sim's PySD path starts elsewhere with a copy of the .mdl whose INITIAL TIME
    # is the new start (YaanModel.at_start); init_at="start" is that.
    d = tmp_module / "variant"
    (d / "src").mkdir(parents=True)
    text = with_initial_time(PROJECT_MODEL.read_text(encoding="utf-8"), 2017, PROJECT_MODEL)
    (d / "src" / PROJECT_MODEL.name).write_text(text, encoding="utf-8")
    pm = _LazyPySD(d / "src" / PROJECT_MODEL.name, d)
    _assert_same(
        project.run(start=2017, stop=2018.5, init_at="start"),
        pm.run("project-initial-time-2017", final_time=2018.5),
    )


def test_lookup_tables_per_sample_equal_pysd(vm, pm):
    x = [2016.0, 2017.5, 2019.0, 2021.0]
    ys = np.array([[1.0, 1.1, 1.4, 1.6], [0.9, 1.3, 1.2, 2.0]])
    table = xr.DataArray(ys, coords={"lookup_x": x}, dims=["sample", "lookup_x"])
    ds = vm.run(overrides={"Demand index lookup": table}, samples=2)
    for i in range(2):
        series = pd.Series(ys[i], index=x)
        _assert_same(ds, _pysd_run(pm, {"Demand index lookup": series}), sample=i)
    one = vm.run(overrides={"Demand index lookup": table.isel(sample=1)})
    np.testing.assert_allclose(one["demand"].values, ds["demand"].values[1], rtol=1e-15)


def test_subscripted_lookup_tables_per_sample(tmp_path):
    (tmp_path / "src").mkdir()
    mdl = tmp_path / "src" / "curves.mdl"
    mdl.write_text("""{UTF-8}
Park: a, b ~~|
Curve[a]([(0,0)-(4,4)],(0,0),(4,2)) ~~|
Curve[b]([(0,0)-(4,4)],(0,1),(2,3),(4,1)) ~~|
Out[Park]= Curve[Park](Time * 1.5) ~~|
FINAL TIME = 4 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 0.5 ~~|
TIME STEP = 0.5 ~~|
""")
    m = VectorModel.from_mdl(mdl)
    _assert_same(m.run(), _pysd_run(_pysd_model(mdl, tmp_path)))
    ys = np.array([[[0.0, 1.0], [1.0, 2.0], [2.0, 0.0]], [[5.0, 1.0], [4.0, 2.0], [3.0, 3.0]]])
    table = xr.DataArray(
        ys,
        coords={"lookup_x": [0.0, 2.0, 4.0], "park": ["a", "b"]},
        dims=["sample", "lookup_x", "park"],
    )
    ds = m.run(overrides={"Curve": table}, samples=2)
    for i in range(2):
        one = m.run(overrides={"Curve": table.isel(sample=i)})
        np.testing.assert_allclose(ds["out"].values[i], one["out"].values, rtol=1e-15)
    # hand check: sample 1, park b at Time 1 -> x = 1.5 -> between (0,1) and (2,2)
    assert ds["out"].sel(time=1.0, park="b").values[1] == pytest.approx(1.75)


def _shipped_scenarios():
    folder = HERE.parent / "scenarios"
    if not folder.is_dir():
        return []
    # plan-goals.yaml holds the plan's goals, not levers
    return sorted(
        p.name
        for p in folder.glob("*.yaml")
        if not re.search(r"(?m)^goals:", p.read_text(encoding="utf-8"))
    )


@pytest.mark.parametrize("scenario", _shipped_scenarios())
def test_project_model_under_each_shipped_scenario_equals_pysd(project, project_pysd, scenario):
    """Every shipped scenario's levers (time schedules per park) on both engines.

    The horizon is cut to its first year to keep the suite fast (PySD takes seconds per
    run with schedules), except for plan.yaml, which always runs its whole horizon so the
    schedules' later steps are compared in every run of the suite; YAAN_FULL_HORIZON=1
    runs every scenario's whole horizon.
    """
    from yaan_sim.engines.simulate import history_horizon, levers_from_plan_start
    from yaan_sim.model.load import load_model
    from yaan_sim.scenario import load_scenario

    model = load_model(PROJECT_MODEL)
    scen = load_scenario(HERE.parent / "scenarios" / scenario, model)
    h = scen.horizon or model.default_horizon
    # the levers as ys.simulate applies them: the .mdl's defaults over the history before
    # the plan start, so both engines can initialise at the model's start
    overrides = levers_from_plan_start(
        model, scen.overrides(model, h), history_horizon(model, h), h.start
    )
    if not overrides:
        pytest.skip(f"{scenario} sets no lever: test_project_model_equals_pysd covers it")
    full = scenario == "plan.yaml" or os.environ.get("YAAN_FULL_HORIZON")
    stop = h.stop if full else min(h.stop, h.start + 1)
    start = None if h.start == model.default_horizon.start else h.start
    ds = project.run(overrides=overrides, start=start, stop=stop, step=h.step, saveper=h.saveper)
    kwargs = dict(final_time=stop, time_step=h.step, saveper=h.saveper)
    if start is not None:
        kwargs["initial_condition"] = (start, {})
    _assert_same(ds, project_pysd.run(f"project-{Path(scenario).stem}", overrides, **kwargs))


def test_chunks_and_threads_give_the_same_result(vm):
    n = 5
    ov = {
        "Growth elasticity": xr.DataArray(np.linspace(0.6, 1.0, n), dims=["sample"]),
        "Demand index lookup": xr.DataArray(
            np.outer(np.linspace(1, 2, n), [1.0, 1.2, 1.5]),
            coords={"lookup_x": [2016.0, 2018.0, 2020.0]},
            dims=["sample", "lookup_x"],
        ),
        "Policy effect": xr.DataArray(
            np.outer(np.linspace(0, 0.1, n), [0, 1]),
            coords={"time": [2016, 2020]},
            dims=["sample", "time"],
        ),
    }
    whole = vm.run(overrides=ov, samples=n, chunk_size=n, threads=1)
    for threads in (1, 2):
        split = vm.run(overrides=ov, samples=n, chunk_size=2, threads=threads)
        xr.testing.assert_identical(split, whole)


def test_start_initialises_like_pysd(tmp_path):
    # PySD computes initial values at the .mdl's INITIAL TIME even when asked to start
    # later, and from then on INITIAL TIME reads the new start: the engine does the same.
    (tmp_path / "src").mkdir()
    mdl = tmp_path / "src" / "start.mdl"
    mdl.write_text("""{UTF-8}
Stock= INTEG(Rate, Time * 2) ~~|
Rate= Time - INITIAL TIME + Offset ~~|
Offset= INITIAL TIME / 100 ~~|
Remembered= INITIAL(Time + Offset) ~~|
Smoothed= SMOOTH3(Rate, 2) ~~|
FINAL TIME = 10 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 0.5 ~~|
""")
    vm = VectorModel.from_mdl(mdl)
    pm = _pysd_model(mdl, tmp_path)
    for start in (None, 3.0, 4.5):
        ds = vm.run(start=start)
        kwargs = {} if start is None else {"initial_condition": (start, {})}
        _assert_same(ds, _pysd_run(pm, **kwargs))
    assert vm.run(start=3.0)["stock"].values[0] == 0.0  # initialised at time 0
    # init_at="start": the .mdl with INITIAL TIME = start (yaan_sim's PySD path)
    for start in (3.0, 4.5):
        variant = tmp_path / f"v{start}"
        (variant / "src").mkdir(parents=True)
        text = re.sub(r"INITIAL TIME = 0", f"INITIAL TIME = {start}", mdl.read_text())
        (variant / "src" / "start.mdl").write_text(text)
        expected = _pysd_run(_pysd_model(variant / "src" / "start.mdl", variant))
        _assert_same(vm.run(start=start, init_at="start"), expected)
    assert vm.run(start=3.0, init_at="start")["stock"].values[0] == 6.0


def test_pickles_for_process_pools(vm):
    import pickle

    again = pickle.loads(pickle.dumps(vm))
    xr.testing.assert_identical(again.run(), vm.run())


@settings(max_examples=15, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.floats(0.3, 1.5), st.floats(0.0, 0.2), st.floats(0.5, 2.0)),
        min_size=1,
        max_size=4,
    )
)
def test_each_sample_equals_its_own_run(vm, values):
    elasticity, effect, scale = (np.asarray(v) for v in zip(*values, strict=True))
    n = len(values)
    ds = vm.run(
        overrides={
            "Growth elasticity": xr.DataArray(elasticity, dims=["sample"]),
            "Policy effect": xr.DataArray(effect, dims=["sample"]),
            "Demand scale": xr.DataArray(np.outer(scale, np.ones(6)), dims=["sample", "park"]),
        },
        samples=n,
        return_vars=["Emissions", "Pollution stock", "Delayed investment"],
    )
    for i in range(n):
        one = vm.run(
            overrides={
                "Growth elasticity": elasticity[i],
                "Policy effect": effect[i],
                "Demand scale": float(scale[i]),
            },
            return_vars=["Emissions", "Pollution stock", "Delayed investment"],
        )
        for name in one.data_vars:
            np.testing.assert_allclose(ds[name].values[i], one[name].values, rtol=1e-13)


def test_a_model_file_is_compiled_once_per_content(tmp_path):
    """compile_file keeps each compiled plan for the process (~2 s for the park model per
    load_model() otherwise), and compiles again when the file's text changes."""
    from yaan_sim.engines.vector.compiler import compile_file

    mdl = tmp_path / "m.mdl"
    shutil.copy(TEST_MODEL, mdl)
    first = compile_file(mdl)
    assert compile_file(mdl) is first
    mdl.write_text(mdl.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited = compile_file(mdl)
    assert edited is not first
    assert compile_file(mdl) is edited
    copy = tmp_path / "copy.mdl"
    shutil.copy(mdl, copy)
    assert compile_file(copy) is not edited  # another file: its own plan
    np.testing.assert_array_equal(
        VectorModel.from_mdl(copy).run()["demand"].values,
        VectorModel.from_mdl(mdl).run()["demand"].values,
    )
