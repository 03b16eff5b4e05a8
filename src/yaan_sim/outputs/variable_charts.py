"""Charts of any model's variables over time (another model's stocks, when it has no goals).

>>> axes = plot_variables(ds, ["teacup_temperature"], lang="en")   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from yaan_sim.errors import YaanSimError
from yaan_sim.model.profile import label
from yaan_sim.outputs.charts import (
    _color,
    _draw_series,
    _scenario_name,
    _scenarios,
    _with_fonts,
    _year_axis,
)
from yaan_sim.outputs.i18n import scenario_titles, unit_label

#: Panels with more lines than this carry no legend (the title names the variable).
MAX_LEGEND_ENTRIES = 10


@_with_fonts
def plot_variables(
    ds,
    names: Sequence[str],
    *,
    fig=None,
    lang="zh",
    labels: Mapping[str, str] | None = None,
    scenarios=None,
    ncols: int = 3,
):
    """Small multiples: each variable of ``names`` over time, one line per scenario (a fan
    chart with a ``sample`` dim; one line per element for a subscripted variable).

    Panel titles are ``labels[name]``, else the variable's long name in ``lang`` (the
    .mdl's ``zh:``/``en:`` comment fields), else its Vensim name. Returns the 2-D array of
    axes (unused panels hidden).
    """
    import matplotlib.pyplot as plt

    missing = [n for n in names if n not in ds.data_vars]
    if not names or missing:
        raise YaanSimError(
            f"no variable {missing[0]!r} in the results" if missing else "no variables to draw"
        )
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    if fig is None:
        fig = plt.figure(figsize=(4.2 * ncols, 3.0 * nrows), layout="constrained")
    axes = np.array(fig.subplots(nrows, ncols, squeeze=False))
    scen = _scenarios(ds, scenarios)
    titles = scenario_titles(ds)
    for ax, name in zip(axes.flat, names, strict=False):  # the grid may have spare cells
        da = ds[name]
        extra = [d for d in da.dims if d not in ("scenario", "sample", "time")]
        for i, sc in enumerate(scen):
            s = da.sel(scenario=sc) if sc is not None else da
            if not extra:
                _draw_series(ax, s, _color(i), _scenario_name(sc, lang, titles), lang)
                continue
            if "sample" in s.dims:
                s = s.median("sample")
            combos = itertools.product(*(s[d].values for d in extra))
            for j, combo in enumerate(combos):
                line = s.sel(dict(zip(extra, combo, strict=True)))
                text = ",".join(map(str, combo))
                ax.plot(
                    line["time"].values,
                    line.values,
                    color=_color(j),
                    ls=("-", "--", ":", "-.")[i % 4],
                    label=f"{_scenario_name(sc, lang, titles)} {text}".strip(),
                    gid="trajectory",
                )
        title = (labels or {}).get(name) or label(None, da.attrs, lang, name)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit_label(str(da.attrs.get("units", "")), lang), fontsize=8)
        _year_axis(ax, lang, ds)
        ax.grid(alpha=0.3)
        handles = ax.get_legend_handles_labels()[0]
        # a legend of dozens of elements would crowd the panel out of the figure
        if handles and (len(scen) > 1 or extra) and len(handles) <= MAX_LEGEND_ENTRIES:
            ax.legend(fontsize=7, frameon=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    return axes
