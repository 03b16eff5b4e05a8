"""Check that a dataset is yaan-sim results that a goal table can be computed from."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from yaan_sim.errors import ResultsError


def open_results(path: str | Path) -> xr.Dataset:
    """Open a results file (:func:`yaan_sim.outputs.results.open_results`) and check that it holds
    what evaluation needs; any problem is a clear :class:`ResultsError`."""
    from yaan_sim.outputs.results import open_results as _open

    ds = _open(path)
    check_results(ds, source=str(path))
    return ds


def check_results(ds: xr.Dataset, source: str = "the dataset", *, parks: bool = True) -> None:
    """Raise :class:`ResultsError` unless ``ds`` follows the results contract: a ``time``
    dim, and (``parks``, the Ya'an plan's goals) the ``park`` dim and ``revenue``."""
    if not parks:
        if "time" not in ds.dims:
            raise ResultsError(
                f"{source} does not look like yaan-sim results: it has no dim 'time'. "
                "Give a results file written by 'yaan-sim run'."
            )
        return
    missing = [d for d in ("time", "park") if d not in ds.dims]
    if missing or "revenue" not in ds.data_vars:
        what = ", ".join(
            [f"dim {d!r}" for d in missing]
            + ([] if "revenue" in ds.data_vars else ["variable 'revenue'"])
        )
        raise ResultsError(
            f"{source} does not look like yaan-sim results: it has no {what}. "
            "Give a results file written by 'yaan-sim run'."
        )
