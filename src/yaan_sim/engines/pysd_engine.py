"""The reference engine: run the model with PySD and return an xarray.Dataset."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.engines.base import output_names
from yaan_sim.errors import ModelError, YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike


class PySDEngine:
    """PySD as an :class:`~yaan_sim.engines.base.Engine`: one PySD run per sample."""

    name = "pysd"

    def __init__(self, model: ModelLike):
        self.model = model

    def run(
        self,
        overrides: Mapping[str, Any],
        horizon: Horizon,
        *,
        samples: int | None = None,
        return_vars: Sequence[str] | None = None,
        start_state: Mapping[str, Any] | None = None,
    ) -> xr.Dataset:
        if samples is None:
            return run(self.model, overrides, horizon, return_vars, start_state)
        # The reference path for ensembles: slow, for checks.
        runs = []
        for i in range(samples):
            one = {
                k: (v.isel(sample=i, drop=True) if "sample" in getattr(v, "dims", ()) else v)
                for k, v in overrides.items()
            }
            state = {
                k: (v.isel(sample=i, drop=True) if "sample" in getattr(v, "dims", ()) else v)
                for k, v in (start_state or {}).items()
            }
            runs.append(run(self.model, one, horizon, return_vars, state))
        return xr.concat(runs, dim="sample", coords="minimal", compat="override").assign_coords(
            sample=range(samples)
        )


def _to_pysd_value(model: ModelLike, name: str, value: Any) -> Any:
    """An override in dataset dims -> what PySD's run(params=...) accepts."""
    dims = model.dims_of(name)
    ranges = model.meta[name].subscripts
    if not isinstance(value, xr.DataArray):
        value = xr.DataArray(float(value))
    extra = set(value.dims) - set(dims) - {"time"}
    if extra:
        raise YaanSimError(
            f"override of {name!r} has dims {sorted(extra)} the variable lacks "
            f"(its dims: {list(dims) or 'none'})"
        )
    # Full, float arrays in PySD's own range names: PySD under numpy 2 mishandles scalars.
    template = model.default_value(name)
    value = value.astype(float).broadcast_like(template) if dims else value.astype(float)
    value = value.rename({d: r for d, r in zip(dims, ranges, strict=True)})
    if "time" not in value.dims:
        return value if dims else float(value)
    value = value.transpose("time", *ranges)
    times = value["time"].values
    if dims:
        return pd.Series(
            [value.isel(time=i).drop_vars("time") for i in range(len(times))], index=times
        )
    return pd.Series(value.values, index=times)


def run(
    model: ModelLike,
    overrides: Mapping[str, Any] | None = None,
    horizon: Horizon | None = None,
    return_vars: Sequence[str] | None = None,
    start_state: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """One PySD run with ``overrides`` ({Vensim name: value}); dims (time, park, ...).

    ``start_state`` ({stock's Vensim name: value}) sets those stocks at the horizon's
    start (PySD's ``initial_condition=(start, {stock: value})``)."""
    horizon = horizon or model.default_horizon
    if horizon.start != model.default_horizon.start:
        model = model.at_start(horizon.start)
    pm = model.pysd_model
    params = {name: _to_pysd_value(model, name, v) for name, v in (overrides or {}).items()}
    names = output_names(model, return_vars)
    initial: Any = "original"
    if start_state:
        initial = (
            horizon.start,
            {name: _to_pysd_value(model, name, v) for name, v in start_state.items()},
        )
    pm.reload()  # overrides persist on a PySD model: start from the .mdl every time
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # Expected: scenario levers arrive as time series on every run.
            warnings.filterwarnings(
                "ignore", message="Replacing a constant value with a time-dependent value"
            )
            out = pm.run(
                params=params,
                initial_condition=initial,
                final_time=horizon.stop,
                time_step=horizon.step,
                saveper=horizon.saveper,
                return_columns=names,
                flatten_output=False,
            )
    except YaanSimError:
        raise
    except Exception as exc:
        raise ModelError(
            f"PySD failed to run {model.mdl_path.name}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        pm.reload()  # and leave it as the .mdl says: model.default_value() reads this object
    return frame_to_dataset(model, out)


def frame_to_dataset(model: ModelLike, frame: pd.DataFrame) -> xr.Dataset:
    """PySD's output (one column per variable, DataArray cells) as a Dataset in dataset dims."""
    times = np.asarray(frame.index, dtype=float)
    data = {}
    for name in frame.columns:
        meta = model.meta[name]
        cells = frame[name].tolist()
        if isinstance(cells[0], xr.DataArray):
            arr = xr.concat(cells, dim="time", coords="minimal", compat="override", join="outer")
            arr = arr.rename(
                {r: model.dim_of_range[r] for r in arr.dims if r in model.dim_of_range}
            )
        else:
            arr = xr.DataArray(np.asarray(cells, dtype=float), dims=("time",))
        data[meta.py_name] = arr.assign_coords(time=times).drop_vars(
            [c for c in arr.coords if c not in arr.dims and c != "time"]
        )
    # Variables defined on sub-ranges cover part of a dim: put every dim in the .mdl's order.
    full = {dim: model.subscripts[rng] for dim, rng in model.full_range_of_dim.items()}
    ds = xr.Dataset(data)
    return ds.reindex({d: full[d] for d in ds.dims if d in full})
