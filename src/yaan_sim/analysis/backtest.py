"""The back-test table: each ledger figure beside the model's value, its error and role.

Which rows are compared and how is decided in :mod:`yaan_sim.analysis.backtest_observations`;
this module builds the table (:func:`backtest`) from their simulated values, summarises
its errors and formats it. The chart is in :mod:`yaan_sim.analysis.backtest_chart`.

Example::

    from yaan_sim.analysis.backtest import backtest
    table = backtest(model)                 # runs the baseline; one row per ledger figure
    table[table.role != "not comparable"]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.backtest_observations import (
    DEFAULT_CUTOFF,
    GROWTH_KINDS,
    ROLES,
    evaluate,
    observations,
)
from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import Ledger
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.export import records_json

# ------------------------------------------------------------------ the back-test table


TABLE_COLUMNS = [
    "id",
    "variable",
    "scope",
    "period",
    "kind",
    "measure_zh",
    "observed",
    "simulated",
    "ratio",
    "error",
    "unit",
    "role",
    "confidence",
    "reason",
    "model_variable",
    "operator",
    "source",
]


def backtest(
    model,
    results: xr.Dataset | None = None,
    ledger: Ledger | None = None,
    *,
    cutoff: int = DEFAULT_CUTOFF,
    scenario: str | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """One row per ledger figure: observed, simulated, ratio, role, confidence, reason.

    Parameters
    ----------
    model : YaanModel
        Says what each model variable observes.
    results : xarray.Dataset, optional
        Results to compare (their ``time`` must cover the periods); default: the .mdl's
        defaults (the baseline) run over the model's horizon at its finest step.
    scenario : str, optional
        Which scenario of ``results`` (default: the only one, else the first).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`; ``ratio`` = simulated / observed for levels and
        shares, ``error`` = 100 (ratio - 1) % for those and simulated - observed
        (points) for growth rates. With a ``sample`` dim, ``simulated`` is the median
        and ``p05``, ``p95`` give the 90 % interval, ``covered`` says whether the
        observed value lies in it.
    """
    h = model.default_horizon
    if results is None:
        from yaan_sim.engines.simulate import simulate

        run_h = Horizon(h.start, h.stop, h.step, h.step)
        obs = observations(model, ledger, cutoff=cutoff, horizon=run_h)
        results = simulate(model, engine=engine, horizon=run_h, return_vars=obs.return_vars or None)
    else:
        t = np.asarray(results["time"].values, dtype=float)
        run_h = Horizon(
            float(t[0]), float(t[-1]), h.step, float(t[1] - t[0]) if len(t) > 1 else h.step
        )
        if run_h.saveper > h.saveper + 1e-9:  # e.g. results saved once a year
            raise YaanSimError(
                f"the results are saved every {run_h.saveper:g}, the model every "
                f"{h.saveper:g}: quarterly and half-year figures need the model's saving "
                f"period; run again saving every {h.saveper:g} (the horizon's saving period)"
            )
        obs = observations(model, ledger, cutoff=cutoff, horizon=run_h)
        if "scenario" in results.dims:
            names = [str(s) for s in results["scenario"].values]
            if scenario is None:
                scenario = names[0]
            if scenario not in names:
                raise YaanSimError(
                    f"the results have no scenario {scenario!r}: choose from {', '.join(names)}"
                )
            results = results.sel(scenario=scenario)
    table = obs.table.copy()
    items = [o for o in obs.items]
    missing = sorted({o.py_name for o in items if o.py_name not in results.data_vars})
    if missing:
        for o in items:
            if o.py_name in missing:
                sel = table["id"] == o.id
                table.loc[sel, "role"] = "not comparable"
                table.loc[sel, "reason"] = f"the results do not hold {o.py_name} ({o.vensim})"
        items = [o for o in items if o.py_name not in missing]
    sim = evaluate(results, items)
    table["simulated"] = math.nan
    sampled = "sample" in results.dims and results.sizes["sample"] > 1
    if sampled:
        table["p05"] = math.nan
        table["p95"] = math.nan
    index = {rid: i for i, rid in enumerate(table["id"])}
    for j, o in enumerate(items):
        i = index[o.id]
        col = sim[:, j]
        table.iat[i, table.columns.get_loc("simulated")] = float(np.nanmedian(col))
        if sampled:
            table.iat[i, table.columns.get_loc("p05")] = float(np.nanquantile(col, 0.05))
            table.iat[i, table.columns.get_loc("p95")] = float(np.nanquantile(col, 0.95))
    growth = table["kind"].isin(GROWTH_KINDS)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table["simulated"] / table["observed"]
    table["ratio"] = np.where(growth, math.nan, ratio)
    table["error"] = np.where(growth, table["simulated"] - table["observed"], 100 * (ratio - 1))
    if sampled:
        table["covered"] = np.where(
            table["simulated"].notna(),
            (table["observed"] >= table["p05"]) & (table["observed"] <= table["p95"]),
            pd.NA,
        )
    cols = TABLE_COLUMNS + (["p05", "p95", "covered"] if sampled else [])
    out = table[cols].reset_index(drop=True)
    out.attrs.update(
        cutoff=int(cutoff),
        ledger_sha256=obs.ledger_sha256,
        model_sha256=model.mdl_sha256,
        horizon=[run_h.start, run_h.stop],
    )
    return out


def error_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per series (variable, scope, kind) and role (fit, held-out): n, RMSE, MAPE, bias.

    Levels and shares: ``RMSE`` in the series' unit, ``MAPE`` in %, ``log_rmse`` the
    root-mean-square log error. Growth rates: ``RMSE`` and ``bias`` in points.
    """
    use = table[table["role"].isin(["fit", "held-out"]) & table["simulated"].notna()]
    rows = []
    for (var, scope, kind, unit, role), g in use.groupby(
        ["variable", "scope", "kind", "unit", "role"], sort=True
    ):
        s = g["simulated"].to_numpy(float)
        a = g["observed"].to_numpy(float)
        row = {
            "variable": var,
            "scope": scope,
            "kind": kind,
            "unit": unit,
            "role": role,
            "n": len(g),
            "RMSE": float(np.sqrt(np.mean((s - a) ** 2))),
            "bias": float(np.mean(s - a)),
        }
        if kind in GROWTH_KINDS:
            row["MAPE"] = math.nan
            row["log_rmse"] = math.nan
        else:
            row["MAPE"] = float(100 * np.mean(np.abs(s / a - 1)))
            row["log_rmse"] = float(np.sqrt(np.mean(np.log(s / a) ** 2)))
        rows.append(row)
    cols = ["variable", "scope", "kind", "unit", "role", "n", "RMSE", "MAPE", "log_rmse", "bias"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------ formats

FORMATS = ("table", "json", "csv")


def format_backtest(table: pd.DataFrame, fmt: str = "table", all_rows: bool = False) -> str:
    """The table as text (compared rows; ``all_rows`` adds the not-comparable ones), JSON
    (every row, records) or CSV (every row)."""
    if fmt == "json":
        return records_json(table)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt != "table":
        raise YaanSimError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    shown = table if all_rows else table[table["role"] != "not comparable"]
    cols = [
        "id",
        "scope",
        "period",
        "kind",
        "observed",
        "simulated",
        "ratio",
        "error",
        "unit",
        "role",
        "confidence",
    ]
    if "p05" in shown.columns:
        cols += ["p05", "p95"]
    if all_rows:
        cols.append("reason")
    text = shown[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
    counts = table["role"].value_counts()
    summary = ", ".join(f"{counts.get(r, 0)} {r}" for r in ROLES)
    return f"{text}\n\n{len(table)} ledger figures: {summary}"
