"""The generated block of models/README.md, "Calibration and posterior": the shipped
model's error by series (in sample and held out) and the shipped posterior's table.
``python -m yaan_sim.analysis.posterior_readme`` rewrites it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from yaan_sim.analysis.posterior import SHIPPED_POSTERIOR, read_posterior
from yaan_sim.errors import YaanSimError

README_BEGIN = "<!-- calibration:generated (python -m yaan_sim.analysis.posterior_readme) -->"
README_END = "<!-- calibration:end -->"


def _fmt(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.3g}"


def series_error_markdown(table: pd.DataFrame) -> str:
    """Per series of a back-test table: in-sample and held-out error, as a Markdown table.

    Levels: mean absolute % error (MAPE); growth rates: root-mean-square error in points.
    """
    from yaan_sim.analysis.backtest import error_summary

    s = error_summary(table)
    lines = [
        "| series | scope | kind | in sample (n) | held out (n) |",
        "|---|---|---|---|---|",
    ]
    for (var, scope, kind, unit), g in s.groupby(["variable", "scope", "kind", "unit"]):
        cells = []
        for role in ("fit", "held-out"):
            r = g[g["role"] == role]
            if r.empty:
                cells.append("-")
                continue
            r = r.iloc[0]
            if kind in ("growth", "change"):
                cells.append(f"RMSE {_fmt(r['RMSE'])} points ({r['n']})")
            else:
                cells.append(f"MAPE {_fmt(r['MAPE'])} % ({r['n']})")
        what = var if kind in ("growth", "change") else f"{var} ({unit})"
        lines.append(f"| {what} | {scope} | {kind} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def posterior_markdown(file=None, model=None) -> str:
    """The posterior's parameters as a Markdown table: the .mdl's value, the prior, the
    posterior median and 90 % interval, R-hat; and the sampler's diagnostics."""
    from yaan_sim.model.levers import constants

    if model is None:
        from yaan_sim.model.load import load_model

        model = load_model()
    ds = read_posterior(SHIPPED_POSTERIOR if file is None else file)
    man = json.loads(ds.attrs.get("manifest", "{}"))
    dg = man.get("diagnostics", {})
    pool = constants(model)
    lines = [
        "| constant | units | .mdl value | prior | posterior median | 90 % interval | R-hat |",
        "|---|---|---|---|---|---|---|",
    ]
    draws = ds["draws"].values
    for j, label in enumerate(ds["parameter"].values):
        name = str(ds["name"].values[j])
        dim = str(ds["dim"].values[j]) or None
        els = str(ds["elements"].values[j]).split("+") if dim else []
        default = math.nan
        if name in pool:
            d = pool[name].default
            default = float(d.sel({dim: els[0]}) if dim and dim in d.dims else d.mean())
        q5, q50, q95 = np.quantile(draws[:, j], [0.05, 0.5, 0.95])
        rhat = dg.get("rhat", {}).get(str(label), math.nan)
        lines.append(
            f"| {label} | {ds['units'].values[j]} | {_fmt(default)} | {ds['prior'].values[j]} "
            f"| {_fmt(q50)} | {_fmt(q5)} - {_fmt(q95)} | {_fmt(rhat)} |"
        )
    if dg:
        lines.append("")
        lines.append(
            f"Sampler: {man.get('sampler', 'emcee')}, {dg['walkers']} walkers x {dg['steps']} "
            "steps, the last "
            f"{dg['steps'] - dg['burn']} kept, thinned by {dg['thin']}: {draws.shape[0]} draws; "
            f"acceptance {dg['acceptance_mean']:.2f}; largest autocorrelation time "
            f"{dg['tau_max']:.0f} steps (the chain is {dg['steps'] / dg['tau_max']:.1f} of them "
            f"long: {'converged' if dg['converged'] else 'NOT converged by the 50-tau rule'}); "
            f"largest split R-hat {dg['rhat_max']:.2f}; effective sample size about "
            f"{dg['ess']:.0f}. Fitted to {man.get('n_fit')} ledger figures (periods up to "
            f"{man.get('cutoff')}); errors: levels "
            f"{man.get('obs_errors', {}).get('level')} (log scale) with a model error of "
            f"{man.get('model_error')} in quadrature, growth rates "
            f"{man.get('obs_errors', {}).get('growth')} (points)."
        )
    return "\n".join(lines)


def readme_block(model=None, file=None) -> str:
    """The generated block of models/README.md, "Calibration and posterior"."""
    from yaan_sim.analysis.backtest import backtest

    if model is None:
        from yaan_sim.model.load import load_model

        model = load_model()
    table = backtest(model)
    return "\n\n".join(
        [
            README_BEGIN,
            "Error of the shipped model (the .mdl's values, the baseline) by series, "
            "in sample (periods up to 2017) and held out (after 2017):",
            series_error_markdown(table),
            "The posterior of the calibrated constants (models/data/posterior.nc):",
            posterior_markdown(file, model),
            README_END,
        ]
    )


def update_readme(path=None, model=None, file=None) -> bool:
    """Rewrite the generated block of ``path`` (models/README.md); True if it changed."""
    path = Path(path) if path else SHIPPED_POSTERIOR.parents[1] / "README.md"
    text = path.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        raise YaanSimError(f"{path}: no {README_BEGIN} ... {README_END} block to update")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    new = head + readme_block(model, file) + tail
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("updated" if update_readme() else "up to date")
