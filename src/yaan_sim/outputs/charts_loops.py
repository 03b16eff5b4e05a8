"""The loop-dominance chart: which feedback loops drive a park's behaviour, when.

``plot_loop_dominance(loops, park="ETDZ")`` draws the relative loop scores (loops that
matter: each loop's share of the change of the stocks it connects, signed: reinforcing
above zero, balancing below) of the strongest loops over time, from a Dataset of
:func:`yaan_sim.analysis.loops.loop_dominance` (``yaan-sim loops --netcdf``).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import xarray as xr

from yaan_sim.outputs.fonts import font_rc
from yaan_sim.outputs.i18n import check_lang, place_label

_WORDS = {
    "en": {"y": "relative loop score", "x": "year", "title": "Dominant loops: {p}"},
    "zh": {"y": "回路相对得分", "x": "年份", "title": "主导反馈回路：{p}"},
}


def plot_loop_dominance(
    loops: xr.Dataset,
    park: str | None = None,
    *,
    scenario: str | None = None,
    top: int = 5,
    ax=None,
    lang: str = "zh",
):
    """Stacked areas of the ``top`` loops' relative scores (by mean absolute score) over
    time for one park (default: the first) and scenario (default: the first); the rest
    summed as "other". Returns the axes."""
    import matplotlib.pyplot as plt

    check_lang(lang)
    rel = loops["relative_score"]
    if "scenario" in rel.dims:
        rel = rel.sel(scenario=scenario) if scenario is not None else rel.isel(scenario=0)
    if "park" in rel.dims:
        park = str(rel["park"].values[0]) if park is None else park
        rel = rel.sel(park=park)
    rel = rel.fillna(0.0)
    strength = abs(rel).mean("time").values
    order = np.argsort(-strength)[:top]
    t = rel["time"].values
    w = _WORDS[lang]
    with matplotlib.rc_context(font_rc(lang)):
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
        colors = plt.get_cmap("tab10")
        pos = np.zeros(len(t))
        neg = np.zeros(len(t))
        for k, i in enumerate(order):
            v = rel.isel(loop=i).values
            name = str(loops["loop"].values[i])
            label = f"{name} ({loops['polarity'].values[i]})"
            lo = np.where(v >= 0, pos, neg)
            hi = lo + v
            ax.fill_between(t, lo, hi, color=colors(k), alpha=0.8, lw=0, label=label, gid=name)
            pos = np.where(v >= 0, hi, pos)
            neg = np.where(v < 0, hi, neg)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_ylabel(w["y"])
        ax.set_xlabel(w["x"])
        ax.set_title(w["title"].format(p=place_label("park", park, lang) if park else ""))
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(alpha=0.3)
    return ax
