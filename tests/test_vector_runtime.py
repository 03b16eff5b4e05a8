"""VectorModel's run-time side (yaan_sim.engines.vector.runtime) on small models worked by hand.

Each expected value here is Euler's integration done on paper (or the rule the docstring
states), not a value read back from the engine; the refusals are checked word for word.
The models are compiled per test (a few ms each), so that mutation testing credits every
test with the construction it runs.
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from yaan_sim.engines.vector import VectorModel, runtime
from yaan_sim.errors import ModelError, UnsupportedConstructError, YaanSimError

# Stock(t) = 1 + Gain * Feed * t with the defaults: 1, 7, 13 at t = 0, 1, 2
SIMPLE = """{UTF-8}
Stock= INTEG(Rate, 1) ~~|
Rate= Gain * Feed ~~|
Gain= 2 ~~|
Feed= 3 ~~|
Curve([(0,0)-(10,10)],(0,0),(10,10)) ~~|
Looked= Curve(Time) ~~|
FINAL TIME = 2 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 0.5 ~~|
"""

# two parks; Level[p](t) = Start[p] + Gain[p] * t
PARKS = """{UTF-8}
Park: a, b ~~|
Level[Park]= INTEG(Gain[Park], Start[Park]) ~~|
Start[Park]= 10, 20 ~~|
Gain[Park]= 1, 2 ~~|
Table[Park]([(0,0)-(10,10)],(0,0),(10,10)) ~~|
Read[Park]= Table[Park](Time) ~~|
FINAL TIME = 2 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
"""


def _model(tmp_path, text: str, name: str = "m.mdl") -> VectorModel:
    mdl = tmp_path / name
    mdl.write_text(text, encoding="utf-8")
    return VectorModel.from_mdl(mdl)


def _controls(final="2", initial="0", saveper="1", step="0.5", extra="") -> str:
    return (
        "{UTF-8}\nStock= INTEG(1, 0) ~~|\n"
        + extra
        + f"FINAL TIME = {final} ~~|\nINITIAL TIME = {initial} ~~|\n"
        + f"SAVEPER = {saveper} ~~|\nTIME STEP = {step} ~~|\n"
    )


# ---- defaults, the time grid and the control variables -------------------------------
def test_default_run_by_hand(tmp_path):
    ds = _model(tmp_path, SIMPLE).run()
    assert ds["time"].values.tolist() == [0.0, 1.0, 2.0]
    assert ds["stock"].values.tolist() == [1.0, 7.0, 13.0]
    assert ds["rate"].values.tolist() == [6.0, 6.0, 6.0]
    assert ds["looked"].values.tolist() == [0.0, 1.0, 2.0]
    assert ds["stock"].dims == ("time",)
    assert "sample" not in ds.dims


def test_variables_are_the_auxiliaries(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    assert sorted(vm.variables) == ["feed", "gain", "looked", "rate", "stock"]
    assert sorted(vm.run().data_vars) == ["feed", "gain", "looked", "rate", "stock"]


def test_control_arguments_by_hand(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    ds = vm.run(stop=1, step=0.25, saveper=0.5)
    assert ds["time"].values.tolist() == [0.0, 0.5, 1.0]
    assert ds["stock"].values.tolist() == [1.0, 4.0, 7.0]
    # a step alone keeps the .mdl's SAVEPER and FINAL TIME
    assert vm.run(step=0.25)["time"].values.tolist() == [0.0, 1.0, 2.0]
    # the defaults again afterwards (the controls given are not kept)
    assert vm.run()["time"].values.tolist() == [0.0, 1.0, 2.0]


def test_saved_times_when_saveper_is_not_a_multiple_of_the_step(tmp_path):
    vm = _model(tmp_path, _controls(final="3", step="0.5", saveper="0.75"))
    # integration times 0, 0.5, ..., 3; saved where (t - 0) % 0.75 is ~0
    assert vm.run()["time"].values.tolist() == [0.0, 1.5, 3.0]
    # the end is not reached exactly: times stop before FINAL TIME + dt
    vm = _model(tmp_path, _controls(final="1.2", step="0.5", saveper="0.5"), "b.mdl")
    assert vm.run()["time"].values.tolist() == [0.0, 0.5, 1.0, 1.5]


def test_the_last_step_stops_short_of_final_time_by_a_millionth_of_a_step(tmp_path):
    # t + dt * 1e-5 < FINAL TIME: 2 + 1e-5 is not below 2.00001, so 2 is the last time
    vm = _model(tmp_path, _controls(final="2.00001", step="1", saveper="1"))
    assert vm.run()["time"].values.tolist() == [0.0, 1.0, 2.0]


def test_saved_times_are_rounded_like_pysd(tmp_path):
    # 0.1 added 30 times is 3.0000000000000013 in floating point; saved as 3.0
    vm = _model(tmp_path, _controls(final="3", step="0.1", saveper="1"))
    times = vm.run()["time"].values
    assert times.tolist() == [0.0, 1.0, 2.0, 3.0]
    stock = vm.run(return_vars="Stock")["stock"].values
    np.testing.assert_allclose(stock, [0.0, 1.0, 2.0, 3.0], rtol=1e-12)


def test_saved_times_with_a_start_off_the_saving_grid(tmp_path):
    vm = _model(tmp_path, _controls(final="3", step="0.5", saveper="1"))
    # saved 0, 1, 2, ... after the start: (t - start) % saveper
    assert vm.run(start=0.5)["time"].values.tolist() == [0.5, 1.5, 2.5]
    vm = _model(tmp_path, _controls(final="3", step="0.25", saveper="1"), "b.mdl")
    assert vm.run(start=0.25)["time"].values.tolist() == [0.25, 1.25, 2.25]


def test_a_time_is_saved_only_when_it_is_strictly_within_the_precision(tmp_path):
    # dt = 3125 * 2**-12, so dt * 1e-5 is exactly 2**-17 (PySD's precision) and the
    # remainders below are exact: dt % (dt - 2**-17) and -dt % (dt + 2**-17) are 2**-17,
    # which is not below it: only the start is saved
    vm = _model(tmp_path, _controls())
    dt = 3125 * 2**-12
    for saveper in (dt - 2**-17, dt + 2**-17):
        ds = vm.run(stop=2 * dt, step=dt, saveper=saveper)
        assert ds["time"].values.tolist() == [0.0]
    # a SAVEPER of dt itself saves every step (rounded to 5 decimals)
    ds = vm.run(stop=2 * dt, step=dt, saveper=dt)
    assert ds["time"].values.tolist() == [0.0, 0.76294, 1.52588]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"step": 0}, "TIME STEP must be positive, got 0.0"),
        ({"step": -0.5}, "TIME STEP must be positive, got -0.5"),
        ({"saveper": 0}, "SAVEPER must be positive, got 0.0"),
        ({"saveper": -1}, "SAVEPER must be positive, got -1.0"),
        ({"samples": 0}, "samples must be at least 1, got 0"),
        ({"init_at": "end"}, "init_at must be 'model' or 'start', not 'end'"),
    ],
)
def test_bad_run_arguments_are_refused_word_for_word(tmp_path, kwargs, message):
    vm = _model(tmp_path, SIMPLE)
    with pytest.raises(YaanSimError) as err:
        vm.run(**kwargs)
    assert str(err.value) == message


def test_control_variables_from_numbers_constants_and_each_other(tmp_path):
    extra = "Horizon= 2 ~~|\nHalf= 0.5 ~~|\n"
    text = _controls(
        final="INITIAL TIME + Horizon * 2 - 1 + -(Half) + 0.5", step="Half ^ 2 / 0.5", extra=extra
    )
    text = text.replace("SAVEPER = 1", "SAVEPER = -(-TIME STEP)")
    vm = _model(tmp_path, text)
    # FINAL TIME 0 + 2 * 2 - 1 - 0.5 + 0.5 = 3; TIME STEP 0.25 / 0.5 = 0.5; SAVEPER = TIME STEP
    assert vm.run()["time"].values.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    # a new step changes SAVEPER with it; a new FINAL TIME is taken as given
    assert vm.run(step=1, stop=2)["time"].values.tolist() == [0.0, 1.0, 2.0]


def test_control_arguments_reach_the_controls_that_read_them(tmp_path):
    vm = _model(tmp_path, _controls(final="SAVEPER * 4"))
    assert vm.run()["time"].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    # SAVEPER 0.5 given: FINAL TIME = 2
    assert vm.run(saveper=0.5)["time"].values.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_control_variables_that_cannot_be_worked_out_are_refused(tmp_path):
    text = _controls(step="SAVEPER", saveper="TIME STEP")
    with pytest.raises(ModelError) as err:
        _model(tmp_path, text)
    assert str(err.value) == (
        "control variables depend on each other in a circle: ('time_step', 'saveper')"
    )
    # the same circle through arithmetic
    text = _controls(step="SAVEPER * 1", saveper="TIME STEP + 0")
    with pytest.raises(ModelError) as err:
        _model(tmp_path, text, "c.mdl")
    assert str(err.value) == (
        "control variables depend on each other in a circle: ('time_step', 'saveper')"
    )
    text = _controls(extra="Feed= 3 ~~|\nOther= Feed * Time ~~|\n", final="Other")
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, text, "b.mdl")
    assert str(err.value) == (
        "final_time: a control variable defined by an equation other than numbers, "
        "constants and other control variables is not supported by the vector engine; "
        "run with engine='pysd'"
    )
    # the control variables on the way are named
    text = _controls(extra="Feed= 3 ~~|\nOther= Feed * Time ~~|\n", step="SAVEPER", saveper="Other")
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, text, "e.mdl")
    assert str(err.value).startswith("time_step/saveper: a control variable defined by")
    text = "\n".join(ln for ln in _controls().splitlines() if not ln.startswith("TIME STEP"))
    with pytest.raises(ModelError) as err:
        _model(tmp_path, text, "f.mdl")
    assert str(err.value) == "the model does not define TIME STEP"
    # named also when the equation is found inside arithmetic
    text = _controls(extra="Feed= 3 ~~|\nOther= Feed * Time ~~|\n", final="Other * 2")
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, text, "d.mdl")
    assert str(err.value).startswith("final_time: a control variable defined by an equation")


# ---- overrides --------------------------------------------------------------------------
def test_scalar_overrides_by_hand(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    ds = vm.run(overrides={"Gain": 1, "feed": np.float32(4.0)})
    assert ds["stock"].values.tolist() == [1.0, 5.0, 9.0]
    assert ds["gain"].values.tolist() == [1.0, 1.0, 1.0]
    # an equation (Rate) replaced by a constant
    assert vm.run(overrides={"Rate": "0.5"})["stock"].values.tolist() == [1.0, 1.5, 2.0]


def test_a_schedule_is_interpolated_and_held_flat_beyond_its_ends(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    # Feed 1 until 0.5, then linear to 3 at 1, then 3: Rate = 2, 2, 6, 6 over the steps
    sched = xr.DataArray([3.0, 1.0], coords={"time": [1.0, 0.5]}, dims=["time"])  # unsorted
    ds = vm.run(overrides={"Feed": sched})
    assert ds["feed"].values.tolist() == [1.0, 3.0, 3.0]
    assert ds["stock"].values.tolist() == [1.0, 3.0, 9.0]
    series = pd.Series([0.0, 4.0], index=[0.0, 2.0])  # Feed = 2t: Rate 0, 2, 4, 6
    ds = vm.run(overrides={"Feed": series})
    assert ds["feed"].values.tolist() == [0.0, 2.0, 4.0]
    assert ds["stock"].values.tolist() == [1.0, 2.0, 7.0]


def test_points_of_a_schedule_at_one_time_keep_the_order_given(tmp_path):
    # 21 points given newest first (numpy's default sort is not stable beyond 16), with a
    # step at 1 written as two points, 0 then 10: Feed = 0 before 1 and 10 from 1 on
    vm = _model(tmp_path, SIMPLE)
    times = [float(t) for t in range(19, 1, -1)] + [1.0, 1.0, 0.0]
    values = [10.0] * 18 + [0.0, 10.0, 0.0]
    sched = xr.DataArray(values, coords={"time": times}, dims=["time"])
    ds = vm.run(overrides={"Feed": sched})
    assert ds["feed"].values.tolist() == [0.0, 10.0, 10.0]
    # Rate = 2 * Feed: 0, 0, 20, 20 over the steps of 0.5
    assert ds["stock"].values.tolist() == [1.0, 1.0, 21.0]


def test_a_schedule_is_read_at_the_initial_time_for_initial_values(tmp_path):
    text = SIMPLE.replace("INTEG(Rate, 1)", "INTEG(Rate, Feed)")
    vm = _model(tmp_path, text)
    sched = xr.DataArray([5.0, 9.0], coords={"time": [0.0, 2.0]}, dims=["time"])
    # Feed = 5 + 2t; Stock starts at Feed(0) = 5 and gains 0.5 * 2 * Feed each step:
    # 5 + 5 + 6 = 16 at 1, 16 + 7 + 8 = 31 at 2
    ds = vm.run(overrides={"Feed": sched})
    assert ds["stock"].values.tolist() == [5.0, 16.0, 31.0]
    # started at 1 but initialised at the .mdl's INITIAL TIME 0: Stock(1) = Feed(0) = 5,
    # then + 7 + 8
    ds = vm.run(overrides={"Feed": sched}, start=1)
    assert ds["stock"].values.tolist() == [5.0, 20.0]
    # initialised at the start: Stock(1) = Feed(1) = 7
    ds = vm.run(overrides={"Feed": sched}, start=1, init_at="start")
    assert ds["stock"].values.tolist() == [7.0, 22.0]


def test_a_schedule_on_the_integration_times_is_read_as_given(tmp_path, monkeypatch):
    # SIMPLE integrates at 0, 0.5, 1, 1.5 and 2 (the last update unused). A schedule given
    # at exactly those times (ys.simulate's lever schedules) is taken as it is, not
    # interpolated; where the initial time is elsewhere it is read there by interpolation.
    text = SIMPLE.replace("INTEG(Rate, 1)", "INTEG(Rate, Feed)")
    vm = _model(tmp_path, text)
    grid = [0.0, 0.5, 1.0, 1.5, 2.0]
    on_grid = xr.DataArray([1.0, 2.0, 4.0, 8.0, 16.0], coords={"time": grid}, dims=["time"])

    def never(*args):
        raise AssertionError("a schedule on the integration times was interpolated")

    with monkeypatch.context() as m:
        m.setattr(runtime._f, "interp_columns", never)
        ds = vm.run(overrides={"Feed": on_grid})
    # Stock starts at Feed(0) = 1 and gains 0.5 * 2 * Feed each step: 2, 4, 8, 16
    assert ds["feed"].values.tolist() == [1.0, 4.0, 16.0]
    assert ds["stock"].values.tolist() == [1.0, 4.0, 16.0]
    # run from 0.5, initialised at the .mdl's 0: Feed(0) is the schedule's first value held
    ds = vm.run(overrides={"Feed": on_grid.sel(time=grid[1:])}, start=0.5)
    assert ds["stock"].values.tolist()[0] == 2.0


def test_a_schedule_on_the_grid_reads_as_its_interpolation_would():
    # what the interpolation gives at its own knots, bit for bit, NaN included (a value
    # that is not finite falls back to interpolating, whose NaN spreads to the knot before)
    pts = np.asarray([0.0, 0.5, 1.0, 1.5, 0.25])
    rng = np.random.default_rng(0)
    for vals in (
        rng.random((4, 3, 2)),
        np.broadcast_to(rng.random((1, 3, 2)), (4, 3, 2)),  # a held lever: a view
        np.where(np.arange(4)[:, None, None] == 3, np.nan, rng.random((4, 3, 2))),
    ):
        for at in (pts, np.r_[pts[:-1], 0.0]):
            got = runtime._on_grid(at, at[:-1], vals)
            out = runtime._f.interp_columns(at, at[:-1], vals.reshape(4, -1))
            want = out.reshape((5, 3, 2))
            np.testing.assert_array_equal(got[0], want[:-1])
            np.testing.assert_array_equal(got[1], want[-1])
            assert got[0].flags.c_contiguous


def test_per_sample_and_per_park_overrides_by_hand(tmp_path):
    vm = _model(tmp_path, PARKS)
    ds = vm.run()
    assert ds["level"].dims == ("time", "park")
    assert ds["level"].values.tolist() == [[10.0, 20.0], [11.0, 22.0], [12.0, 24.0]]
    gain = xr.DataArray([[3.0, 4.0], [5.0, 6.0]], dims=["sample", "park"])
    ds = vm.run(overrides={"Gain": gain}, samples=2)
    assert ds["level"].dims == ("sample", "time", "park")
    assert ds["level"].values[:, -1].tolist() == [[16.0, 28.0], [20.0, 32.0]]
    # parks in another order are put in the model's order
    gain = xr.DataArray([7.0, 5.0], coords={"park": ["b", "a"]}, dims=["park"])
    assert vm.run(overrides={"Gain": gain})["level"].values[-1].tolist() == [20.0, 34.0]
    # a park dim without coords is taken in the model's order
    gain = xr.DataArray([5.0, 7.0], dims=["park"])
    assert vm.run(overrides={"Gain": gain})["level"].values[-1].tolist() == [20.0, 34.0]
    # one value for every sample and park; a value per sample for every park
    ds = vm.run(overrides={"Gain": xr.DataArray([0.0, 1.0], dims=["sample"])}, samples=2)
    assert ds["level"].values[:, -1].tolist() == [[10.0, 20.0], [12.0, 22.0]]


def test_a_schedule_per_sample_and_park(tmp_path):
    vm = _model(tmp_path, PARKS)
    gain = xr.DataArray(
        [[[0.0, 2.0], [1.0, 1.0]], [[4.0, 0.0], [4.0, 0.0]]],
        coords={"park": ["b", "a"], "time": [0.0, 1.0]},
        dims=["park", "sample", "time"],
    )
    ds = vm.run(overrides={"Gain": gain}, samples=2)
    # Gain read at t = 0 and 1 (held after 1); sample 0: a 4 then 0, b 0 then 2;
    # sample 1: a 4 then 0, b 1 then 1
    assert ds["level"].values[0].tolist() == [[10.0, 20.0], [14.0, 20.0], [14.0, 22.0]]
    assert ds["level"].values[1].tolist() == [[10.0, 20.0], [14.0, 21.0], [14.0, 22.0]]


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "Nothing",
            1,
            "'Nothing' is not a variable of m.mdl; give the Vensim name "
            "(e.g. 'Investment attraction rate') or the Python name",
        ),
        ("Level", 1.0, "'Level' is a stock: its value cannot be overridden"),
        ("FINAL TIME", 3, "'FINAL TIME' is a control variable: use start/stop/step/saveper"),
        ("Gain", "many", "override of 'Gain': 'many' is not a number"),
        ("Gain", None, "override of 'Gain': None is not a number"),
        (
            "Gain",
            [1.0, 2.0],
            "override of 'Gain': give a scalar or an xarray.DataArray with "
            "dims among ['sample', 'time', 'park'], not a list",
        ),
        (
            "Gain",
            np.array([1.0, 2.0]),
            "override of 'Gain': give a scalar or an "
            "xarray.DataArray with dims among ['sample', 'time', 'park'], not a ndarray",
        ),
        (
            "Gain",
            xr.DataArray([1.0], dims=["region"]),
            "override of 'Gain': dims ['region'] are not among ['sample', 'time', 'park']",
        ),
        (
            "Gain",
            xr.DataArray([1.0, 2.0, 3.0], dims=["park"]),
            "override of 'Gain': 3 values along 'park', 2 expected",
        ),
        (
            "Gain",
            xr.DataArray([1.0], coords={"park": ["b"]}, dims=["park"]),
            "override of 'Gain': no value for park=['a']",
        ),
        (
            "Gain",
            xr.DataArray([1.0, 2.0], dims=["sample"]),
            "override of 'Gain' has 2 samples but samples=None",
        ),
        (
            "Gain",
            xr.DataArray([1.0, 2.0], dims=["time"]),
            "override of 'Gain': the time dim has no coords",
        ),
    ],
)
def test_bad_overrides_are_refused_word_for_word(tmp_path, name, value, message):
    vm = _model(tmp_path, PARKS)
    with pytest.raises(YaanSimError) as err:
        vm.run(overrides={name: value})
    assert str(err.value) == message


def test_a_sample_count_that_differs_is_refused(tmp_path):
    vm = _model(tmp_path, PARKS)
    with pytest.raises(YaanSimError) as err:
        vm.run(overrides={"Gain": xr.DataArray([1.0, 2.0], dims=["sample"])}, samples=3)
    assert str(err.value) == "override of 'Gain' has 2 samples but samples=3"


# ---- lookups ----------------------------------------------------------------------------
def test_a_new_lookup_table_by_hand(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    # y = 2x until 1, then 4 (held); given unsorted
    table = xr.DataArray([4.0, 0.0, 2.0], coords={"lookup_x": [2.0, 0.0, 1.0]}, dims=["lookup_x"])
    assert vm.run(overrides={"Curve": table})["looked"].values.tolist() == [0.0, 2.0, 4.0]
    series = pd.Series([5.0, 3.0], index=[0.0, 2.0])  # y = 5 - x
    assert vm.run(overrides={"Curve": series})["looked"].values.tolist() == [5.0, 4.0, 3.0]


def test_a_lookup_table_per_park_and_sample(tmp_path):
    vm = _model(tmp_path, PARKS)
    table = xr.DataArray(
        [[[0.0, 1.0], [2.0, 3.0]], [[0.0, 0.0], [4.0, 8.0]]],
        coords={"lookup_x": [0.0, 2.0], "park": ["a", "b"]},
        dims=["sample", "lookup_x", "park"],
    )
    ds = vm.run(overrides={"Table": table}, samples=2)
    # sample 0: a = x, b = 1 + x; sample 1: a = 2x, b = 4x (at x = Time)
    assert ds["read"].values[0].tolist() == [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    assert ds["read"].values[1].tolist() == [[0.0, 0.0], [2.0, 4.0], [4.0, 8.0]]


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "Curve",
            1.0,
            "override of the lookup 'Curve': give an xarray.DataArray with a "
            "'lookup_x' dim (and optionally 'sample' and [])",
        ),
        (
            "Table",
            pd.Series([1.0], index=[0.0]),
            "override of the lookup 'Table': give an "
            "xarray.DataArray with a 'lookup_x' dim (and optionally 'sample' and ['park'])",
        ),
        (
            "Table",
            xr.DataArray([1.0], dims=["time"]),
            "override of the lookup 'Table': give "
            "an xarray.DataArray with a 'lookup_x' dim (and optionally 'sample' and ['park'])",
        ),
        (
            "Table",
            xr.DataArray([[1.0]], coords={"lookup_x": [0.0]}, dims=["lookup_x", "region"]),
            "override of 'Table': unexpected dims ['region']",
        ),
        (
            "Curve",
            xr.DataArray([1.0, 2.0], dims=["lookup_x"]),
            "override of 'Curve': the lookup_x dim needs coords",
        ),
        (
            "Curve",
            xr.DataArray([1.0, 2.0], coords={"lookup_x": [1.0, 1.0]}, dims=["lookup_x"]),
            "override of 'Curve': repeated lookup_x values",
        ),
    ],
)
def test_bad_lookup_tables_are_refused_word_for_word(tmp_path, name, value, message):
    vm = _model(tmp_path, PARKS if name == "Table" else SIMPLE)
    with pytest.raises(YaanSimError) as err:
        vm.run(overrides={name: value})
    assert str(err.value) == message


# ---- start state, returned variables, chunks ------------------------------------------
def test_start_state_sets_stocks_at_the_start(tmp_path):
    vm = _model(tmp_path, PARKS)
    ds = vm.run(start=1, start_state={"Level": 50.0})
    assert ds["level"].values.tolist() == [[50.0, 50.0], [51.0, 52.0]]
    state = xr.DataArray([[0.0, 1.0], [2.0, 3.0]], dims=["sample", "park"])
    ds = vm.run(start_state={"level": state}, samples=2)
    assert ds["level"].values[:, 0].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert ds["level"].values[:, -1].tolist() == [[2.0, 5.0], [4.0, 7.0]]


def test_bad_start_states_are_refused_word_for_word(tmp_path):
    vm = _model(tmp_path, PARKS)
    with pytest.raises(YaanSimError) as err:
        vm.run(start_state={"Gain": 1.0})
    assert str(err.value) == "start state: 'Gain' is not a stock (an INTEG)"
    sched = xr.DataArray([1.0, 2.0], coords={"time": [0.0, 1.0]}, dims=["time"])
    with pytest.raises(YaanSimError) as err:
        vm.run(start_state={"Level": sched})
    assert str(err.value) == "start state of 'Level': one value per element, no time"


def test_return_vars(tmp_path):
    vm = _model(tmp_path, PARKS)
    ds = vm.run(return_vars="Level")
    assert list(ds.data_vars) == ["level"]
    ds = vm.run(return_vars=["Read", "level", "Level"])
    assert list(ds.data_vars) == ["read", "level"]
    for name, kind in (("Table", "lookup"), ("TIME STEP", "lookup or control")):
        with pytest.raises(YaanSimError) as err:
            vm.run(return_vars=[name])
        assert str(err.value) == f"'{name}' is a lookup or control variable", kind


def test_a_lead_dim_gives_one_run_a_leading_axis_and_nothing_else(tmp_path):
    vm = _model(tmp_path, PARKS)
    plain, led = vm.run(), vm.run(lead_dim="scenario")
    assert led["level"].dims == ("scenario", "time", "park")
    assert led["level"].values.tolist() == [[[10.0, 20.0], [11.0, 22.0], [12.0, 24.0]]]
    assert "scenario" not in led.variables  # a dim without a coordinate: the caller names it
    xr.testing.assert_identical(led.isel(scenario=0), plain)
    with pytest.raises(YaanSimError) as err:
        vm.run(samples=2, lead_dim="scenario")
    assert str(err.value) == "lead_dim is for one run: give samples=None"


def test_chunks_and_threads_split_the_samples(tmp_path):
    vm = _model(tmp_path, PARKS)
    n = 2100
    gain = xr.DataArray(np.arange(n, dtype=float), dims=["sample"])
    table = xr.DataArray(
        np.outer(np.arange(n, dtype=float), [0.0, 4.0]),
        coords={"lookup_x": [0.0, 8.0]},
        dims=["sample", "lookup_x"],
    )
    sched = xr.DataArray(
        np.outer(np.ones(n), [0.0, 2.0]), coords={"time": [0.0, 2.0]}, dims=["sample", "time"]
    )
    overrides = {"Gain": gain, "Table": table, "Start": sched.isel(time=0) + 10}
    for chunk_size, threads in ((None, 1), (1000, 1), (700, 2), (None, 2), (0, 1)):
        ds = vm.run(overrides=overrides, samples=n, chunk_size=chunk_size, threads=threads)
        # Level = 10 + gain * t; Read = sample / 2 * t (the table's y is 4 * sample at 8)
        np.testing.assert_array_equal(ds["level"].values[:, -1, 1], 10 + 2 * np.arange(n))
        np.testing.assert_array_equal(ds["read"].values[:, 2, 0], np.arange(n))


def test_default_threads(monkeypatch):
    from yaan_sim.engines.vector.runtime import THREADS_VARIABLE, default_threads

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    assert default_threads() == len(os.sched_getaffinity(0))
    off_main: list[int] = []
    worker = threading.Thread(target=lambda: off_main.append(default_threads()))
    worker.start()
    worker.join()
    assert off_main == [1]  # a dask task's thread: its caller runs tasks side by side
    monkeypatch.setenv(THREADS_VARIABLE, " 3 ")
    assert default_threads() == 3
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(THREADS_VARIABLE, bad)
        with pytest.raises(YaanSimError, match=f"{THREADS_VARIABLE}='{re.escape(bad)}': give"):
            default_threads()


def test_threads_of_a_run_the_run_then_the_model_then_the_default(tmp_path, monkeypatch):
    from yaan_sim.engines.vector.runtime import THREADS_VARIABLE

    vm = _model(tmp_path, PARKS)
    used: list[int] = []
    integrate = vm._integrate

    def spy(*args):
        used.append(args[7])  # workers
        return integrate(*args)

    monkeypatch.setattr(vm, "_integrate", spy)
    monkeypatch.setenv(THREADS_VARIABLE, "5")
    vm.run(samples=3)
    vm.run(samples=3, threads=2)
    vm.threads = 4
    vm.run(samples=3)
    vm.run(samples=3, threads=0)
    assert used == [5, 2, 4, 1]


def test_default_chunk_size(tmp_path):
    # about 65,536 cells per chunk, a power of two, between 256 and 8,192 samples
    assert _model(tmp_path, SIMPLE).default_chunk_size() == 8192
    assert _model(tmp_path, PARKS, "p.mdl").default_chunk_size() == 8192
    wide = "{UTF-8}\nX: (x1-x100) ~~|\nY: (y1-y9) ~~|\nV[X]= 1 ~~|\n%s\n" + _controls()[8:]
    # 65536 / 100 = 655 -> 2^9; 65536 / 900 = 73 -> 2^6, raised to 256
    assert _model(tmp_path, wide % "", "w.mdl").default_chunk_size() == 512
    assert _model(tmp_path, wide % "W[X, Y]= 1 ~~|", "v.mdl").default_chunk_size() == 256
    vm = _model(tmp_path, PARKS, "q.mdl")
    vm.chunk_size = 3
    assert vm._chunk(None) == 3 and vm._chunk(5) == 5 and vm._chunk(-4) == 1


def test_program_source_names_the_overrides(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    assert vm.program_source(return_vars=["Stock"]) != vm.program_source()
    source = vm.program_source({"Feed": "sched"}, return_vars=["Stock"])
    assert "feed" in source
    assert re.search(r"\bstock\b", source)
    assert source != vm.program_source()


# ---- construction -------------------------------------------------------------------
def test_constants_with_except_on_a_sub_range(tmp_path):
    text = """{UTF-8}
Park: p1, p2, p3, p4 ~~|
West: p3, p4 ~~|
Rate[p1]= 1 ~~|
Rate[p2]= 2 ~~|
Rate[p4]= 9 ~~|
Rate[West] :EXCEPT: [p4]= 7 ~~|
""" + _controls()[8:]
    ds = _model(tmp_path, text).run()
    assert ds["rate"].values[0].tolist() == [1.0, 2.0, 7.0, 9.0]


def test_a_control_variable_may_name_a_constant_whose_python_name_differs(tmp_path):
    # "Input" is input_1 in Python (input is a builtin): FINAL TIME = Input reads it
    text = _controls(final="Input", extra="Input= 3 ~~|\n")
    assert _model(tmp_path, text).run()["time"].values.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_scalar_arrays_and_other_values(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    # a 0-d array is a scalar; a range is no number
    assert vm.run(overrides={"Gain": np.array(1.0)})["stock"].values.tolist() == [1.0, 4.0, 7.0]
    with pytest.raises(YaanSimError) as err:
        vm.run(overrides={"Gain": range(2)})
    assert str(err.value) == "override of 'Gain': range(0, 2) is not a number"


def test_a_model_pickles_after_runs(tmp_path):
    import pickle

    vm = _model(tmp_path, SIMPLE)
    before = vm.run()
    vm._jax_model = lambda: None  # the JAX engine's own (it cannot be pickled)
    again = pickle.loads(pickle.dumps(vm))
    assert again._programs == {} and not hasattr(again, "_jax_model")
    xr.testing.assert_identical(again.run(), before)


def test_a_boolean_override_is_a_number(tmp_path):
    vm = _model(tmp_path, SIMPLE.replace("Rate= Gain * Feed", "Rate= -Gain * Feed"))
    ds = vm.run(overrides={"Gain": xr.DataArray(True)})
    assert ds["stock"].values.tolist() == [1.0, -2.0, -5.0]


def test_an_override_over_some_of_two_dims(tmp_path):
    text = """{UTF-8}
Park: a, b ~~|
Kind: k1, k2, k3 ~~|
Level[Park, Kind]= INTEG(Gain[Park, Kind], 0) ~~|
Gain[Park, Kind]= 1 ~~|
""" + _controls()[8:]
    vm = _model(tmp_path, text)
    # only the second dim, its coords in another order: every park takes them
    gain = xr.DataArray([3.0, 2.0, 1.0], coords={"kind": ["k3", "k2", "k1"]}, dims=["kind"])
    ds = vm.run(overrides={"Gain": gain}, return_vars="Level")
    assert ds["level"].values[-1].tolist() == [[2.0, 4.0, 6.0], [2.0, 4.0, 6.0]]
    # the first dim without coords (in the model's order), the second in another order
    gain = xr.DataArray(
        [[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]],
        coords={"kind": ["k3", "k2", "k1"]},
        dims=["park", "kind"],
    )
    ds = vm.run(overrides={"Gain": gain}, return_vars="Level")
    assert ds["level"].values[-1].tolist() == [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]


def test_two_samples_in_chunks_of_one(tmp_path):
    vm = _model(tmp_path, SIMPLE)
    # one run (no sample dim) in chunks of one
    assert vm.run(chunk_size=1)["stock"].values.tolist() == [1.0, 7.0, 13.0]
    # the lookup table is shared by the samples, Gain is per sample
    gain = xr.DataArray([1.0, 3.0], dims=["sample"])
    ds = vm.run(overrides={"Gain": gain}, samples=2, chunk_size=1)
    assert ds["stock"].values.tolist() == [[1.0, 4.0, 7.0], [1.0, 10.0, 19.0]]
    assert ds["looked"].values.tolist() == [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]
    # a table per sample: y = x, then y = 3x
    table = xr.DataArray(
        [[0.0, 10.0], [0.0, 30.0]], coords={"lookup_x": [0.0, 10.0]}, dims=["sample", "lookup_x"]
    )
    ds = vm.run(overrides={"Curve": table}, samples=2, chunk_size=1)
    assert ds["looked"].values.tolist() == [[0.0, 1.0, 2.0], [0.0, 3.0, 6.0]]


def _interp_by_formula(x_new, xp, fp):
    """Linear interpolation between the knots, ends held, written out for every point."""
    out = np.empty((len(x_new), *fp.shape[1:]))
    for m, x in enumerate(np.clip(x_new, xp[0], xp[-1])):
        i = min(max(int(np.searchsorted(xp, x, side="right")) - 1, 0), len(xp) - 2)
        w = (x - xp[i]) / (xp[i + 1] - xp[i])
        out[m] = fp[i] + w * (fp[i + 1] - fp[i])
    return out


@pytest.mark.parametrize(
    "x_new",
    [
        [2013.0, 2013.5, 2014.0, 2014.5, 2015.0, 2013.0],  # the grid, then the initial time
        [2013.25, 2014.0, 2014.75, 2016.0, 2012.0],  # between knots and beyond the ends
    ],
)
def test_schedules_are_interpolated_on_and_between_their_knots(x_new):
    from yaan_sim.engines.vector.functions import interp_columns

    xp = np.array([2013.0, 2013.5, 2014.0, 2014.5, 2015.0])
    fp = np.random.default_rng(3).normal(size=(5, 4, 3))
    fp[1, 0, 0] = -0.0
    got = interp_columns(np.array(x_new), xp, fp)
    np.testing.assert_array_equal(got, _interp_by_formula(np.array(x_new), xp, fp))
    fp[2, 1, 1] = np.inf  # a non-finite value: the formula's NaN (0 * inf) where it reaches
    with np.errstate(invalid="ignore"):  # as the engine runs
        got = interp_columns(np.array(x_new), xp, fp)
        np.testing.assert_array_equal(got, _interp_by_formula(np.array(x_new), xp, fp))
