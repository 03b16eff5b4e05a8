"""Results Datasets built directly (outputs/dataset.py, stack_scenarios) equal what
xarray's own constructor and ``xr.concat`` make."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from yaan_sim.outputs.dataset import build_dataarray, build_dataset
from yaan_sim.outputs.results import stack_scenarios

PARKS = ["ETDZ", "Hanyuan", "Shimian"]


def _run(times, seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {
            "revenue": (("time", "park"), rng.random((len(times), 3)), {"units": "亿元"}),
            "city_revenue": (("time",), rng.random(len(times)), {"units": "亿元"}),
        },
        coords={"time": np.asarray(times, dtype=float), "park": PARKS},
    )


def _scenario(name: str, title: str | None = None):
    return SimpleNamespace(name=name, title_en=title)


def test_build_dataset_equals_the_constructor():
    rng = np.random.default_rng(0)
    data = {
        "a": xr.Variable(("time", "park"), rng.random((4, 3)), {"units": "x"}),
        "b": xr.Variable(("time",), rng.random(4)),
    }
    coords = {
        "time": xr.Variable(("time",), np.arange(2016.0, 2020.0)),
        "park": xr.Variable(("park",), np.asarray(PARKS)),
        "region": xr.Variable(("park",), np.asarray(["East", "South", "South"])),
    }
    ours = build_dataset(data, coords, {"title": "t"})
    theirs = xr.Dataset(data, coords=coords, attrs={"title": "t"})
    xr.testing.assert_identical(ours, theirs)
    assert list(ours.variables) == list(theirs.variables)
    assert set(ours.xindexes) == {"time", "park"}
    assert float(ours["a"].sel(park="Shimian", time=2017.0)) == data["a"].values[1, 2]


def test_build_dataset_refuses_sizes_that_disagree():
    data = {"a": xr.Variable(("park",), np.zeros(4))}
    with pytest.raises(ValueError, match="'park'"):
        build_dataset(data, {"park": xr.Variable(("park",), np.asarray(PARKS))})


def test_one_scenario_is_a_view_equal_to_concat():
    run = _run([2016, 2017, 2018], 1)
    sc = [_scenario("plan", "The plan")]
    ours = stack_scenarios([run], sc)
    theirs = xr.concat([run], dim="scenario", coords="minimal", compat="override").assign_coords(
        scenario=["plan"], scenario_title=("scenario", ["The plan"])
    )
    xr.testing.assert_identical(ours, theirs)
    assert np.shares_memory(ours["revenue"].values, run["revenue"].values)


def test_a_run_made_with_its_scenario_dim_is_named_not_made_again():
    run = _run([2016, 2017, 2018], 1)
    led = xr.Dataset(  # what an engine's ``lead_dim="scenario"`` gives: no coordinate
        {k: v.expand_dims("scenario") for k, v in run.data_vars.items()}, coords=run.coords
    )
    sc = [_scenario("plan", "The plan")]
    ours = stack_scenarios([led], sc)
    xr.testing.assert_identical(ours, stack_scenarios([run], sc))
    assert np.shares_memory(ours["revenue"].values, led["revenue"].values)


def test_scenarios_on_one_horizon_stack_like_concat():
    runs = [_run([2016, 2017, 2018], s) for s in (1, 2, 3)]
    scs = [_scenario("a"), _scenario("b", "B"), _scenario("c")]
    ours = stack_scenarios(runs, scs)
    theirs = xr.concat(runs, dim="scenario", coords="minimal", compat="override").assign_coords(
        scenario=["a", "b", "c"], scenario_title=("scenario", ["a", "B", "c"])
    )
    xr.testing.assert_identical(ours, theirs)


def test_scenarios_on_other_horizons_are_aligned_on_all_times():
    runs = [_run([2016, 2017, 2018], 1), _run([2017, 2018, 2019], 2)]
    ours = stack_scenarios(runs, [_scenario("a"), _scenario("b")])
    assert ours["time"].values.tolist() == [2016.0, 2017.0, 2018.0, 2019.0]
    assert np.isnan(ours["revenue"].sel(scenario="b", time=2016.0)).all()
    assert ours["revenue"].sel(scenario="a", time=2017.0).values.tolist() == (
        runs[0]["revenue"].sel(time=2017.0).values.tolist()
    )


def test_build_dataarray_equals_the_constructor_and_owns_its_coordinates():
    grid = xr.Coordinates({"time": np.arange(3.0), "park": ["a", "b"]})
    coords = {str(k): v for k, v in grid.variables.items()}
    indexes = {str(k): i for k, i in grid.xindexes.items()}
    var = xr.Variable(("time", "park"), np.arange(6.0).reshape(3, 2), {"units": "x"})
    da = build_dataarray(var, coords, indexes)
    xr.testing.assert_identical(da, xr.DataArray(var, coords=grid))
    da.coords["time"].attrs["changed"] = True  # a cached grid stays as it was
    assert "changed" not in grid.variables["time"].attrs
    with pytest.raises(ValueError, match="elements along 'time'"):
        build_dataarray(xr.Variable(("time", "park"), np.zeros((4, 2))), coords, indexes)
