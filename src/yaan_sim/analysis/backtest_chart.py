"""The back-test chart: simulated against observed ledger figures (levels or growth rates)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from yaan_sim.analysis.backtest_observations import (
    GROWTH_KINDS,
)
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.charts import _with_fonts

_LABELS = {
    "en": {
        "title": "Model against published figures",
        "x": "observed",
        "y": "simulated",
        "fit": "fitted (in sample)",
        "held-out": "held out",
        "derived": "derived",
        "growth": "growth rates (points)",
        "levels": "levels (log scale)",
    },
    "zh": {
        "title": "模型与公开数据对照",
        "x": "公开数据",
        "y": "模型模拟",
        "fit": "拟合样本内",
        "held-out": "留出检验",
        "derived": "推算数据",
        "growth": "增速（百分点）",
        "levels": "水平值（对数坐标）",
    },
}


@_with_fonts
def backtest_chart(table: pd.DataFrame, ax=None, lang: str = "zh", kind: str = "levels"):
    """Simulated against observed, one point per compared figure; the 1:1 line.

    ``kind="levels"`` plots levels and shares as simulated/observed ratios by figure
    (log scale, so 2x over and 2x under are the same distance from 1);
    ``kind="growth"`` plots growth rates against their observed values. Fitted and
    held-out figures are told apart; returns the axes.
    """
    import matplotlib.pyplot as plt

    L = _LABELS[lang]
    if kind not in ("levels", "growth"):
        raise YaanSimError(f"unknown chart kind {kind!r}: use levels or growth")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    use = table[table["role"].isin(["fit", "held-out", "derived"]) & table["simulated"].notna()]
    growth = use["kind"].isin(GROWTH_KINDS)
    use = use[growth] if kind == "growth" else use[~growth]
    markers = {"fit": "o", "held-out": "s", "derived": "^"}
    if kind == "growth":
        for role, g in use.groupby("role"):
            ax.scatter(g["observed"], g["simulated"], marker=markers[role], label=L[role])
        lims = (
            [
                min(use["observed"].min(), use["simulated"].min(), 0) - 1,
                max(use["observed"].max(), use["simulated"].max(), 0) + 1,
            ]
            if len(use)
            else [0, 1]
        )
        ax.plot(lims, lims, color="0.5", lw=1)
        ax.set_xlabel(f"{L['x']} (%)")
        ax.set_ylabel(f"{L['y']} (%)")
        ax.set_title(f"{L['title']}: {L['growth']}")
    else:
        labels = list(use["id"])
        y = np.arange(len(labels))
        for role in ("fit", "held-out", "derived"):
            sel = (use["role"] == role).to_numpy()
            if sel.any():
                ax.scatter(
                    use["ratio"].to_numpy()[sel], y[sel], marker=markers[role], label=L[role]
                )
        from matplotlib.ticker import FormatStrFormatter

        ax.axvline(1.0, color="0.5", lw=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"{L['y']} / {L['x']}")
        ax.set_title(f"{L['title']}: {L['levels']}")
    if len(use):
        ax.legend(fontsize=8)
    return ax
