"""Compare the vector engine's results with PySD's (tests, benchmarks, a user's doubt).

``flatten(ds)`` turns a Dataset (without a sample dim, or one sample of it) into the
frame layout PySD returns: index ``time``, one column per cell named ``Name[e1,e2]``.
``compare_frames`` lists the columns that differ beyond ``rtol``/``atol``.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import xarray as xr


def _key(column: str) -> str:
    c = str(column).strip().strip('"').lower()
    c = re.sub(r"\s*,\s*", ",", c)
    c = re.sub(r"\s*\[\s*", "[", c)
    c = re.sub(r"\s*\]", "]", c)
    c = c.replace('"', "")
    return re.sub(r"[\s_]+", " ", c)


def flatten(ds: xr.Dataset, sample: int | None = None) -> pd.DataFrame:
    """Dataset -> frame with columns ``Vensim name[e1,e2]`` (NaN cells dropped)."""
    if "sample" in ds.dims:
        if sample is None:
            raise ValueError("give the sample to flatten")
        ds = ds.isel(sample=sample)
    cols = {}
    for name, da in ds.data_vars.items():
        vname = da.attrs.get("vensim_name", name)
        dims = [d for d in da.dims if d != "time"]
        values = da.transpose("time", *dims).values
        if not dims:
            cols[vname] = values
            continue
        coords = [list(map(str, da.coords[d].values)) for d in dims]
        for idx in itertools.product(*[range(len(c)) for c in coords]):
            cell: tuple = (slice(None), *idx)
            col = values[cell]
            if np.all(np.isnan(col)):
                continue
            label = ",".join(coords[i][j] for i, j in enumerate(idx))
            cols[f"{vname}[{label}]"] = col
    return pd.DataFrame(cols, index=pd.Index(ds["time"].values, name="time"))


def compare_frames(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    require_all: bool = True,
    skip_missing: bool = False,
) -> list[str]:
    """Problems found comparing ``actual`` (ours) with ``expected`` (PySD or canonical).

    Columns are matched case-, space- and underscore-insensitively; times by value.
    With ``require_all`` every column of ``actual`` must exist in ``expected``. With
    ``skip_missing`` a NaN in ``expected`` means "not given" (Vensim's canonical outputs
    give a constant only at the first time).
    """
    problems = []
    exp_cols = {_key(c): c for c in expected.columns}
    t_a = np.asarray(actual.index, dtype=float)
    t_e = np.asarray(expected.index, dtype=float)
    common_t = np.intersect1d(np.round(t_a, 9), np.round(t_e, 9))
    if require_all and len(common_t) != len(t_a):
        problems.append(f"times differ: ours {t_a.tolist()} vs {t_e.tolist()}")
    ia = np.searchsorted(np.round(t_a, 9), common_t)
    ie = np.searchsorted(np.round(t_e, 9), common_t)
    matched = 0
    for col in actual.columns:
        ecol = exp_cols.get(_key(col))
        if ecol is None:
            if require_all:
                problems.append(f"{col}: missing from the expected output")
            continue
        matched += 1
        a = np.asarray(actual[col].values, dtype=float)[ia]
        e = np.asarray(pd.to_numeric(expected[ecol], errors="coerce").values, dtype=float)[ie]
        ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        if skip_missing:
            ok |= np.isnan(e)
        if not ok.all():
            i = int(np.argmin(ok))
            rel = np.nanmax(np.abs(a - e) / np.maximum(np.abs(e), 1e-300))
            problems.append(
                f"{col}: at t={common_t[i]} ours {a[i]!r} expected {e[i]!r} (max rel err {rel:.3g})"
            )
    if matched == 0:
        problems.append("no column in common")
    return problems
