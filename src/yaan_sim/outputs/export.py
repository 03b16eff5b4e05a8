"""Results and tables written by suffix: netCDF, a tidy long CSV, or Excel.

Every writer is atomic and never replaces an existing file without ``force``
(:func:`yaan_sim.outputs.results.write_atomic`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
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


def _parquet(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    tidy = to_tidy(ds, variables)
    return write_atomic(path, lambda tmp: _table_parquet(tidy, tmp), force=force)


def _json(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    tidy = to_tidy(ds, variables)
    return write_atomic(path, lambda tmp: _table_json(tidy, tmp), force=force)


def _workbook(ds: xr.Dataset, path: Path, force: bool, variables: Sequence[str] | None) -> Path:
    from yaan_sim.outputs.workbook import write_workbook

    if variables is not None or not _has_parks(ds):  # not the Ya'an parks: the data as it is
        return _excel(ds, path, force, variables)
    return write_workbook(ds, path, force=force)


def _has_parks(ds: xr.Dataset) -> bool:
    return "park" in ds.dims and "revenue" in ds.data_vars


#: Every output format, by suffix: what it holds. The one table that every ``-o`` of the
#: CLI consults (results through :data:`WRITERS`, tables through :data:`TABLE_WRITERS`);
#: a suffix a command cannot write is refused before any work, with this list.
FORMATS: dict[str, str] = {
    ".nc": "netCDF: the results as they are (dims, units, manifest)",
    ".csv": "CSV: a tidy long table",
    ".xlsx": "Excel workbook: the evaluation workbook for results, one sheet for a table",
    ".parquet": "Parquet: a tidy long table (needs pyarrow)",
    ".json": "JSON: a list of records",
    ".md": "Markdown table",
    ".html": "HTML table",
}

_Writer = Callable[[xr.Dataset, Path, bool, Sequence[str] | None], Path]
#: Results (an xarray Dataset) writers by suffix.
WRITERS: dict[str, _Writer] = {
    ".nc": _netcdf,
    ".csv": _csv,
    ".xlsx": _workbook,
    ".parquet": _parquet,
    ".json": _json,
}
EXPORT_SUFFIXES = tuple(WRITERS)


def _refuse(path: Path, allowed: Sequence[str], what: str, hint: str = "") -> YaanSimError:
    listed = "; ".join(f"{s} ({FORMATS[s].split(':')[0]})" for s in allowed)
    return YaanSimError(
        f"{path}: {what} cannot be written as {path.suffix or '(no suffix)'}: use {listed}"
        + (f". {hint}" if hint else "")
    )


def check_suffix(path: str | Path, hint: str = "") -> Path:
    """``path`` if its suffix names a results format (:data:`WRITERS`), else a clear error."""
    path = Path(path)
    if path.suffix.lower() not in WRITERS:
        raise _refuse(path, EXPORT_SUFFIXES, "results", hint)
    if path.suffix.lower() == ".parquet":
        _need_pyarrow(path)
    return path


def check_table_suffix(path: str | Path, allowed: Sequence[str] | None = None) -> Path:
    """``path`` if its suffix names a table format (:data:`TABLE_WRITERS`, or ``allowed``),
    else a clear error."""
    path = Path(path)
    allowed = tuple(TABLE_WRITERS) if allowed is None else tuple(allowed)
    if path.suffix.lower() not in allowed:
        raise _refuse(path, allowed, "a table")
    if path.suffix.lower() == ".parquet":
        _need_pyarrow(path)
    return path


def _need_pyarrow(path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise YaanSimError(
            f"{path}: Parquet needs the pyarrow package: pip install pyarrow, or write .csv"
        ) from None


def export(
    ds: xr.Dataset, path: str | Path, force: bool = False, variables: Sequence[str] | None = None
) -> Path:
    """Write results by suffix (:data:`FORMATS`): ``.nc`` netCDF, ``.csv``/``.parquet``/
    ``.json`` the tidy long table, ``.xlsx`` the evaluation workbook.

    Atomic, and never over an existing file without ``force``. The Ya'an parks' results go
    to the evaluation workbook (:mod:`yaan_sim.outputs.workbook`: goals, annual park x
    year, levers, assumptions, observed figures; an ensemble as quantiles, so that any
    size fits). Another model's results, or a chosen list of ``variables``, go to a
    ``data`` sheet (the tidy table; at most 1,048,575 rows, else use CSV or netCDF), a
    ``variables`` sheet (units, English and Chinese names) and a ``manifest`` sheet.
    """
    path = check_suffix(path)
    return WRITERS[path.suffix.lower()](ds, path, force, variables)


def _table_csv(df: pd.DataFrame, tmp: Path) -> None:
    df.to_csv(tmp, index=False)


def _table_excel(df: pd.DataFrame, tmp: Path) -> None:
    from yaan_sim.outputs.workbook import write_sheets

    write_sheets({"table": df}, tmp)


def _table_parquet(df: pd.DataFrame, tmp: Path) -> None:
    df.to_parquet(tmp, index=False, engine="pyarrow")


def _table_json(df: pd.DataFrame, tmp: Path) -> None:
    tmp.write_text(records_json(df), encoding="utf-8")


def records_json(df: pd.DataFrame) -> str:
    """``df`` as a JSON array of records, one a line, every number written exactly (Python's
    shortest round-trip repr; ``DataFrame.to_json`` keeps 10 decimals, so
    1.2345678901234567e-07 came out as 1.235e-07); missing values are null."""
    cols = [str(c) for c in df.columns]
    cells = df.astype(object).where(df.notna(), None)
    lines = [
        json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False, default=_plain)
        for row in cells.itertuples(index=False, name=None)
    ]
    return "[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n")


def _plain(value: object) -> object:
    """A numpy scalar (an integer or boolean column) as the Python value JSON can write."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not a number, text or null")


def _table_md(df: pd.DataFrame, tmp: Path) -> None:
    from yaan_sim.tables import format_number, markdown_table

    cells = [[format_number(x) if not isinstance(x, str) else x for x in r] for r in df.values]
    tmp.write_text(markdown_table([str(c) for c in df.columns], cells), encoding="utf-8")


def _table_html(df: pd.DataFrame, tmp: Path) -> None:
    from yaan_sim.tables import format_number

    body = df.to_html(index=False, na_rep="", float_format=lambda x: format_number(x, 4), border=0)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>yaan-sim</title></head>'
        f"<body>\n{body}\n</body></html>\n"
    )
    tmp.write_text(page, encoding="utf-8")


#: Table writers by suffix (see :data:`FORMATS`).
TABLE_WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _table_csv,
    ".xlsx": _table_excel,
    ".parquet": _table_parquet,
    ".json": _table_json,
    ".md": _table_md,
    ".html": _table_html,
}


def write_table(
    df: pd.DataFrame,
    path: str | Path,
    force: bool = False,
    *,
    texts: dict[str, str] | None = None,
    inputs: Sequence = (),
) -> Path:
    """Write a table (goal gaps, indices, fits) by suffix (:data:`TABLE_WRITERS`),
    atomically. ``texts`` maps a suffix to the command's own rendering of the table
    (the goal table's Markdown for people, a JSON with its metadata), used instead."""
    path = check_table_suffix(path)
    suffix = path.suffix.lower()
    if texts and suffix in texts:
        data = texts[suffix].encode("utf-8")
        return write_atomic(path, lambda tmp: tmp.write_bytes(data), force=force, inputs=inputs)
    writer = TABLE_WRITERS[suffix]
    return write_atomic(path, lambda tmp: writer(df, tmp), force=force, inputs=inputs)
