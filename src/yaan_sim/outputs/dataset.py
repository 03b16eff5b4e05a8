"""Datasets built directly from pieces that are consistent by construction.

``xr.Dataset(data_vars, coords)`` merges and aligns what it is given: about 15 us a
variable, 4-7 ms for the park model's 256 variables, more than a run of the model. The
engines and the results layer make their variables with known dims over one set of
coordinates, so they skip that step: the sizes are checked here, each dimension
coordinate gets the pandas index the constructor would give it, and xarray's own
shortcut (``Dataset._construct_direct``, what xarray uses internally after validating)
makes the Dataset (and, in the same way, :func:`build_dataarray` a DataArray). Where an
xarray lacks the shortcut the public constructor is used.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import xarray as xr
from xarray.indexes import Index, PandasIndex


def build_dataset(
    data_vars: Mapping[str, xr.Variable],
    coords: Mapping[str, xr.Variable],
    attrs: dict[str, Any] | None = None,
    indexes: Mapping[str, Index] | None = None,
) -> xr.Dataset:
    """The Dataset of ``data_vars`` and ``coords`` (a coordinate named like its only dim
    is that dim's index; ``indexes`` gives ones already made for such coordinates);
    raises ValueError where two of them disagree on a dim's size."""
    sizes: dict[str, int] = {}
    seen: set[tuple] = set()  # (dims, shape) checked already: most variables share a few
    for name, var in (*data_vars.items(), *coords.items()):  # the constructor's order
        key = (var.dims, var.shape)
        if key in seen:
            continue
        seen.add(key)
        for dim, n in zip(var.dims, var.shape, strict=True):
            if sizes.setdefault(str(dim), n) != n:
                raise ValueError(f"{name}: {n} elements along {dim!r}, {sizes[str(dim)]} elsewhere")
    construct = getattr(xr.Dataset, "_construct_direct", None)
    if construct is None:
        return xr.Dataset(dict(data_vars), coords=dict(coords), attrs=attrs)
    variables: dict[str, xr.Variable] = dict(data_vars)
    made: dict[str, Index] = {}
    for name, var in coords.items():
        if var.dims == (name,):
            index = (indexes or {}).get(name)
            if index is None or not isinstance(var, xr.IndexVariable):
                index = PandasIndex.from_variables({name: var}, options={})
                var = index.create_variables({name: var})[name]
            made[name] = index
        variables[name] = var
    return construct(variables, set(coords), sizes, dict(attrs) if attrs else None, made)


def build_dataarray(
    variable: xr.Variable, coords: Mapping[str, xr.Variable], indexes: Mapping[str, Index]
) -> xr.DataArray:
    """The DataArray of ``variable`` with ``coords`` (Variables) and their ``indexes``
    made already: xarray's fastpath, ~10 us against ~180 us for the constructor, which
    checks the coordinates and builds an index for each. Sizes are checked here."""
    sizes = dict(zip(variable.dims, variable.shape, strict=True))
    for name, var in coords.items():
        for dim, n in zip(var.dims, var.shape, strict=True):
            if dim not in sizes or sizes[dim] != n:
                raise ValueError(f"coordinate {name}: {n} elements along {dim!r}, not {sizes}")
    made: dict[Hashable, Index] = {k: i for k, i in indexes.items()}
    # shallow copies, as the constructor makes: coordinates shared between DataArrays
    # (a cached grid) must not share attrs a caller may change
    own = {k: v.copy(deep=False) for k, v in coords.items()}
    try:
        return xr.DataArray(variable, coords=own, indexes=made, fastpath=True)
    except TypeError:  # an xarray without the fastpath: the public constructor
        return xr.DataArray(variable, coords=xr.Coordinates(own, indexes=made))


def index_coordinate(dim: str, values) -> tuple[xr.Variable, PandasIndex]:
    """A dimension coordinate and its index, made once to share between DataArrays
    (:func:`build_dataarray`) on one grid."""
    var = xr.Variable((dim,), values)
    index = PandasIndex.from_variables({dim: var}, options={})
    return index.create_variables({dim: var})[dim], index


def on_time_grid(
    block, dims: tuple, like: xr.DataArray, time_index: tuple[xr.Variable, PandasIndex], attrs
) -> xr.DataArray:
    """``block`` (``dims``, time first) as a DataArray with ``like``'s coordinates other than
    time and the grid's time coordinate and index (:func:`index_coordinate`, made once and
    shared by every DataArray on the grid)."""
    coords = {str(k): c for k, c in like.coords.variables.items() if "time" not in c.dims}
    indexes = {str(k): i for k, i in like.xindexes.items() if k != "time"}
    coords["time"], indexes["time"] = time_index
    return build_dataarray(xr.Variable(dims, block, dict(attrs)), coords, indexes)
