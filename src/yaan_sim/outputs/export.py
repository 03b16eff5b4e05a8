"""Results and tables written by suffix: netCDF, a tidy long CSV, or Excel.

Every writer is atomic and never replaces an existing file without ``force``
(:func:`yaan_sim.outputs.results.write_atomic`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.results import write_atomic

EXCEL_MAX_ROWS = 1_048_575
#: The order of dims in a tidy table (others follow).
TIDY_DIMS = ("scenario", "sample", "time", "park", "industry", "pollutant")


def to_tidy(ds: xr.Dataset, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """A tidy long table: one row per variable x coordinate combination.

    Columns: ``variable``, then the dims in the order ``scenario, sample, time, park,
    industry, pollutant`` (those present in any variable), ``value`` and ``units``.
    """
    names = list(variables) if variables is not None else [str(n) for n in ds.data_vars]
    frames: list[pd.DataFrame] = []
    dims: list[str] = []
    for name in names:
        da = ds[name]
        if da.dtype.kind not in "fiu":
            continue
        s = (
            da.drop_vars([c for c in da.coords if c not in da.dims]).to_series()
            if da.dims
            else pd.Series([float(da)])
        )
        df = s.rename("value").reset_index() if da.dims else pd.DataFrame({"value": s})
        df.insert(0, "variable", name)
        df["units"] = da.attrs.get("units", "")
        frames.append(df)
        dims += [str(d) for d in da.dims if d not in dims]
    order = [d for d in TIDY_DIMS if d in dims]
    order += [d for d in dims if d not in order]
    if not frames:
        return pd.DataFrame(columns=["variable", *order, "value", "units"])
    out = pd.concat(frames, ignore_index=True)
    return out.reindex(columns=["variable", *order, "value", "units"])


def _netcdf(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    sub = ds if variables is None else ds[list(variables)]
    return write_atomic(path, lambda tmp: sub.to_netcdf(tmp), force=force)


def _csv(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    tidy = to_tidy(ds, variables)
    return write_atomic(path, lambda tmp: tidy.to_csv(tmp, index=False), force=force)


def _excel(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    tidy = to_tidy(ds, variables)
    if len(tidy) > EXCEL_MAX_ROWS:
        raise YaanSimError(
            f"{path}: {len(tidy):,} rows do not fit an Excel sheet "
            f"({EXCEL_MAX_ROWS:,} at most): write .csv or .nc, or keep fewer "
            "variables or samples"
        )
    info = pd.DataFrame(
        [
            {
                "variable": n,
                "units": ds[n].attrs.get("units", ""),
                "long_name": ds[n].attrs.get("long_name", ""),
                "long_name_zh": ds[n].attrs.get("long_name_zh", ""),
                "dims": ", ".join(map(str, ds[n].dims)),
            }
            for n in tidy["variable"].unique()
        ]
    )
    manifest = ds.attrs.get("manifest")
    man = pd.DataFrame(
        sorted(json.loads(manifest).items()) if manifest else [], columns=["key", "value"]
    )
    man["value"] = man["value"].map(
        lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)[:32000]
    )

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            tidy.to_excel(xw, sheet_name="data", index=False)
            info.to_excel(xw, sheet_name="variables", index=False)
            man.to_excel(xw, sheet_name="manifest", index=False)

    return write_atomic(path, write, force=force)


_Writer = Callable[[xr.Dataset, Path, bool, Sequence[str] | None], Path]
#: Results writers by suffix.
WRITERS: dict[str, _Writer] = {".nc": _netcdf, ".csv": _csv, ".xlsx": _excel}
EXPORT_SUFFIXES = tuple(WRITERS)


def check_suffix(path: str | Path) -> Path:
    """``path`` if its suffix names a results format, else a clear error."""
    path = Path(path)
    if path.suffix.lower() not in WRITERS:
        raise YaanSimError(
            f"{path}: unknown output type {path.suffix or '(none)'}; use .nc "
            "(netCDF), .csv (tidy long table) or .xlsx (Excel)"
        )
    return path


def export(
    ds: xr.Dataset, path: str | Path, force: bool = False, variables: Sequence[str] | None = None
) -> Path:
    """Write results by suffix: ``.nc`` netCDF, ``.csv`` tidy long table, ``.xlsx`` Excel.

    Atomic, and never over an existing file without ``force``. The Excel workbook has a
    ``data`` sheet (the tidy table; at most 1,048,575 rows, else use CSV or netCDF), a
    ``variables`` sheet (units, English and Chinese names) and a ``manifest`` sheet.
    """
    path = check_suffix(path)
    return WRITERS[path.suffix.lower()](ds, path, force, variables)


def _table_csv(df: pd.DataFrame, tmp: Path) -> None:
    df.to_csv(tmp, index=False)


def _table_excel(df: pd.DataFrame, tmp: Path) -> None:
    with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="table", index=False)


#: Table writers by suffix.
TABLE_WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _table_csv,
    ".xlsx": _table_excel,
}


def write_table(df: pd.DataFrame, path: str | Path, force: bool = False) -> Path:
    """Write a table (goal gaps, indices, fits) as .csv or .xlsx, atomically."""
    path = Path(path)
    writer = TABLE_WRITERS.get(path.suffix.lower())
    if writer is None:
        raise YaanSimError(f"{path}: tables are written as .csv or .xlsx")
    return write_atomic(path, lambda tmp: writer(df, tmp), force=force)
