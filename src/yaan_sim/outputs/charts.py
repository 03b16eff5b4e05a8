"""Charts of results against the plan's goals, labelled in Chinese or English.

Every function takes ``ax=None`` (or ``fig=None`` for small multiples), draws, and returns
the axes; ``lang="zh"`` (default) or ``"en"``. The Chinese font comes from ``mplfonts``
and is registered on first use (:mod:`yaan_sim.outputs.fonts`); nothing happens at import.

>>> ax = plot_city_total(ds)                      # doctest: +SKIP
>>> axes = plot_park_trajectories(ds, observed=load_observed())   # doctest: +SKIP

Artists carry a ``gid`` so that tests and users can find them: ``"target"`` for target
lines, ``"observed"`` for observed points, ``"required"`` for the path the observed figure
would need, ``"band50"``/``"band90"`` for fan-chart bands.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.fonts import font_rc
from yaan_sim.outputs.goal_metrics import (
    annual_metric,
    goal_basis,
    goal_unit,
    metric_series,
    observed_figures,
    observed_metric,
    scope_members,
)
from yaan_sim.outputs.goals import CITY, MODEL_SCOPE, Goal, GoalSet, load_goals, scope_label
from yaan_sim.outputs.i18n import check_lang, scenario_label, scenario_titles, status_label
from yaan_sim.outputs.i18n import t as _tr
from yaan_sim.outputs.i18n import unit_label as _unit_label
from yaan_sim.outputs.results_check import check_results
from yaan_sim.outputs.rules import BASIS_END, BASIS_RATIO, BASIS_TOTAL
from yaan_sim.tables import display_width

STATUS_COLORS = {
    "met": "#1b7837",
    "on track": "#7fbf7b",
    "at risk": "#f1a340",
    "missed": "#d73027",
    "no data": "#bdbdbd",
}

__all__ = ["STATUS_COLORS", "status_label", "unit_label"]


def _t(key: str, lang: str, **kw) -> str:
    return _tr(f"chart.{key}", lang, **kw)


def unit_label(unit: str, lang: str = "zh") -> str:
    """A goal's unit as an axis shows it (a year's figure: 亿元, not 亿元/年)."""
    return _unit_label(unit, lang, annual=True)


def _with_fonts(func):
    """Draw inside an rc_context with the CJK font, then pin the family on every text.

    Pinning makes the figure render correctly when it is drawn later, outside the context
    (e.g. by a notebook), without changing matplotlib's global settings.
    """

    @functools.wraps(func)
    def wrapper(*args, lang: str = "zh", **kwargs):
        check_lang(lang)
        import matplotlib
        from matplotlib.text import Text

        rc = font_rc(lang)
        with matplotlib.rc_context(rc):
            out = func(*args, lang=lang, **kwargs)
            axes = [a for a in (np.ravel(out) if isinstance(out, np.ndarray) else [out]) if a]
            owned = [*axes]  # the axes drawn on, and the figure-level texts of the charts
            for fig in {a.figure for a in axes}:
                suptitle = getattr(fig, "_suptitle", None)  # no public getter for the Text
                owned += [*fig.legends, *([suptitle] if suptitle is not None else [])]
            for artist in owned:
                for text in artist.findobj(Text):
                    text.set_fontfamily(rc["font.family"])
        return out

    return wrapper


def _new_ax(ax, figsize=(6.4, 4.2)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _goal(goal: Goal | str, goals: GoalSet | None = None) -> Goal:
    if isinstance(goal, Goal):
        return goal
    goals = load_goals() if goals is None else goals
    try:
        return goals[goal]
    except KeyError as exc:
        raise YaanSimError(f"{exc.args[0]}; goals: {', '.join(goals.ids)}") from None


def _scope_of(ds, goal: Goal, scope_name: str | None) -> tuple[str, str, list[str]]:
    for scope in goal.scopes:
        for name, parks in scope_members(ds, scope, goal):
            if scope_name is None or name == scope_name:
                return scope, name, parks
    valid = [n for s in goal.scopes for n, _ in scope_members(ds, s, goal)]
    raise YaanSimError(
        f"goal {goal.id!r} is not evaluated for {scope_name!r}; choose one of {', '.join(valid)}"
    )


def _scenarios(ds, scenarios: Sequence[str] | None) -> list[str | None]:
    if "scenario" not in ds.dims:
        return [None]
    have = [str(s) for s in ds["scenario"].values]
    if scenarios is None:
        return list[str | None](have)
    bad = [s for s in scenarios if s not in have]
    if bad:
        raise YaanSimError(f"no scenario {bad[0]!r} in the results; they have {', '.join(have)}")
    return list(scenarios)


def _scenario_name(sc, lang: str, titles: dict | None) -> str:
    """A scenario as a legend shows it: its file's title in ``lang`` where known."""
    return scenario_label(sc, lang, titles) if sc is not None else ""


def year_offset(ds, goal: Goal) -> float:
    """Where in year Y the line of a goal's metric shows year Y's figure: a year's total
    (or a ratio of totals) is the rate's mean over the year, which a steadily changing rate
    passes mid-year (Y + 0.5: the 2020 revenue target beside the rate of mid-2020, not of
    1 January, which is lower where revenue grows); a stock's end-of-year value at Y + 1; a
    value at t = Y at Y."""
    return {BASIS_TOTAL: 0.5, BASIS_RATIO: 0.5, BASIS_END: 1.0}.get(goal_basis(ds, goal), 0.0)


def _baseline_levels(ds, goal: Goal, parks, scen: list[str | None]) -> list[float]:
    """The level each scenario is held to by a goal against a baseline year: its figure
    in that year as the goal table takes it (the calendar-year total; an ensemble's
    median). A baseline year before the plan is history, one level for every scenario."""
    figures = annual_metric(ds, goal, parks)
    if goal.baseline_year not in figures["year"].values:
        years = figures["year"].values
        raise YaanSimError(
            f"goal {goal.id!r} is measured against {goal.baseline_year}, which the results "
            f"do not cover ({years.min()}-{years.max()}): run from the model's start"
        )
    base = figures.sel(year=goal.baseline_year)
    if "sample" in base.dims:
        base = base.median("sample")
    return [float(base.sel(scenario=sc) if sc is not None else base) for sc in scen]


def _color(i: int) -> str:
    return f"C{i % 10}"


def _year_axis(ax, lang, ds=None):
    """Whole-number ticks, labelled "year", or "time (unit)" for a model whose time axis
    is in another unit (the results' ``time`` units)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    unit = "year" if ds is None else str(ds["time"].attrs.get("units", "year"))
    if unit.lower() in ("year", "years"):
        ax.set_xlabel(_t("year", lang))
    else:
        ax.set_xlabel(_t("time", lang) + (f" ({_unit_label(unit, lang)})" if unit else ""))


def _draw_series(ax, da, color, label, lang):
    """A line, or a fan (median, 50% and 90% bands) when ``da`` has a sample dim."""
    t = np.asarray(da["time"].values, dtype=float)
    if "sample" in da.dims:
        q = da.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="sample").transpose("quantile", "time")
        v = q.values
        ax.fill_between(
            t,
            v[0],
            v[4],
            color=color,
            alpha=0.15,
            lw=0,
            gid="band90",
            label=f"{label} {_t('band90', lang)}" if label else _t("band90", lang),
        )
        ax.fill_between(
            t,
            v[1],
            v[3],
            color=color,
            alpha=0.35,
            lw=0,
            gid="band50",
            label=f"{label} {_t('band50', lang)}" if label else _t("band50", lang),
        )
        ax.plot(
            t,
            v[2],
            color=color,
            lw=2,
            gid="median",
            label=f"{label} {_t('median', lang)}" if label else _t("median", lang),
        )
    else:
        ax.plot(t, da.values, color=color, lw=2, label=label, gid="trajectory")


def _plot_goal(ds, goal: Goal, scope_name, ax, lang, observed, scenarios, legend=True, title=True):
    scope, name, parks = _scope_of(ds, goal, scope_name)
    series = metric_series(ds, goal, parks)
    scen = _scenarios(ds, scenarios)
    titles = scenario_titles(ds)
    for i, sc in enumerate(scen):
        s = series.sel(scenario=sc) if sc is not None else series
        _draw_series(ax, s, _color(i), _scenario_name(sc, lang, titles), lang)
    same = _coinciding(series, scen)
    note = None
    if same:  # lines drawn over each other: say which, so no scenario seems missing
        groups = [[_scenario_name(sc, lang, titles) for sc in g] for g in same]
        note = _t("coincide", lang, s="\n".join(_wrapped(g, lang) for g in groups))
    t = np.asarray(ds["time"].values, dtype=float)
    if not goal.is_generic and t.min() < PLAN_START <= t.max():  # history, then the plan
        ax.axvline(PLAN_START, color="0.55", lw=1, ls="-.", gid="plan_start",
                   label=_t("plan_start", lang, y=PLAN_START))  # fmt: skip
    target = goal.fixed_target(scope, name, parks)
    if target is not None:
        ax.axhline(
            target,
            color="k",
            ls="--",
            lw=1.2,
            gid="target",
            label=f"{_t('target', lang)} {_when(goal)}: {target:g}",
        )
        at = goal.year + year_offset(ds, goal)
        ax.plot([at], [target], marker="*", color="k", ms=10, ls="none", gid="target_point")
    elif goal.uses_baseline:
        levels = _baseline_levels(ds, goal, parks, scen)
        one = np.allclose(levels, levels[0], rtol=1e-9, atol=0)
        for i, level in enumerate(levels[:1] if one else levels):
            ax.axhline(
                level,
                color="k" if one else _color(i),
                ls="--",
                lw=1.2,
                gid="target",
                label=_t("baseline", lang, y=goal.baseline_year) if i == 0 else "_nolegend_",
            )
    if observed is not None and len(observed):
        years = sorted({int(y) for y in observed["year"]})
        figures = observed_figures(observed)  # indexed once, read for every year
        pts = [(y, observed_metric(figures, goal, scope, name, parks, y)) for y in years]
        pts = [(y, v) for y, v in pts if np.isfinite(v)]
        if pts:
            ox, oy = zip(*pts, strict=True)
            off = year_offset(ds, goal)  # a year's figure where the line shows it
            ax.plot(
                [x + off for x in ox],
                oy,
                "o",
                color="k",
                mfc="white",
                ms=6,
                gid="observed",
                label=_t("observed", lang),
            )
            y0, v0 = pts[-1]
            if target is not None and y0 < goal.year and v0 > 0:
                rate = ((target / v0) ** (1 / (goal.year - y0)) - 1) * 100
                ax.plot(
                    [y0 + off, goal.year + off],
                    [v0, target],
                    ":",
                    color="0.3",
                    lw=1.2,
                    gid="required",
                    label=_t("required", lang, r=rate),
                )
    if title:
        place = scope_label(scope, name, lang)
        text = f"{place} · {goal.name(lang)}" if scope != MODEL_SCOPE else goal.name(lang)
        ax.set_title(text + (f" · {place}" if scope == MODEL_SCOPE and place else ""), fontsize=10)
    unit = unit_label(goal_unit(ds, goal), lang)
    falling = _t("falling_at" if goal.is_generic else "falling", lang)
    # the condition on a line of its own: on one line the label outgrew a panel's height
    ax.set_ylabel(unit if not goal.is_trend else f"{unit}\n({falling})")
    _year_axis(ax, lang, ds)
    ax.grid(alpha=0.3)
    _legend(ax, legend, note)
    return ax


def _wrapped(names: list[str], lang: str, width: int = 44) -> str:
    """``names`` joined (、 or a comma), on as many lines of about ``width`` display columns
    as they need: a note on one line ran past a panel's sides."""
    sep = "、" if lang == "zh" else ", "
    lines = [names[0]]
    for name in names[1:]:
        if display_width(lines[-1] + sep + name) > width:
            lines[-1] += sep.rstrip()
            lines.append(name)
        else:
            lines[-1] += sep + name
    return "\n".join(lines)


def _legend(ax, own: bool, note: str | None) -> None:
    """The axes' legend (``own``), with ``note`` (which lines coincide) as its last entry;
    where the panel has no legend of its own (a figure's shared one), ``note`` alone.
    Matplotlib places a legend where it covers the fewest lines, so the note stays
    readable (written at a fixed place, it lay on the target line or on the lines)."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels() if own else ([], [])
    if note is not None:
        handles.append(Line2D([], [], linestyle="none"))  # an entry with no mark
        labels.append(note)
    if not handles:
        return
    size = 7 if own else 6
    legend = ax.legend(handles, labels, fontsize=size, frameon=False, loc="best")
    if note is not None:
        text = legend.get_texts()[-1]
        text.set_gid("coincide")
        text.set_color("0.3")


#: The year the plan's levers start: history before, policy after (models/README.md).
PLAN_START = 2016


def _coinciding(series, scen, rtol: float = 0.005) -> list[list]:
    """Groups of scenarios whose paths differ by less than ``rtol`` everywhere."""
    if len(scen) < 2 or scen[0] is None:
        return []
    if "sample" in series.dims:
        series = series.median("sample")
    groups: list[list] = []
    for sc in scen:
        v = np.asarray(series.sel(scenario=sc).values, dtype=float)
        for g in groups:
            w = np.asarray(series.sel(scenario=g[0]).values, dtype=float)
            if np.allclose(v, w, rtol=rtol, atol=0, equal_nan=True):
                g.append(sc)
                break
        else:
            groups.append([sc])
    return [g for g in groups if len(g) > 1]


@_with_fonts
def plot_goal(
    ds,
    goal: Goal | str,
    scope_name: str | None = None,
    *,
    ax=None,
    lang="zh",
    goals: GoalSet | None = None,
    observed=None,
    scenarios=None,
):
    """One goal's metric over time for one place, with its target (and observed points).

    ``goal`` is a :class:`Goal` or a goal id; ``scope_name`` a park, region or ``"Ya'an"``
    (default: the goal's own scope). With a ``sample`` dim each scenario is a fan chart.
    """
    goal = _goal(goal, goals)
    check_results(ds, parks=not goal.is_generic)
    return _plot_goal(ds, goal, scope_name, _new_ax(ax), lang, observed, scenarios)


@_with_fonts
def plot_city_total(
    ds,
    *,
    ax=None,
    lang="zh",
    goals: GoalSet | None = None,
    observed=None,
    scenarios=None,
    goal_id: str = "revenue_city",
):
    """The city's park revenue over time against the 2000亿 line."""
    check_results(ds)
    return _plot_goal(ds, _goal(goal_id, goals), CITY, _new_ax(ax), lang, observed, scenarios)


@_with_fonts
def plot_fan(
    ds,
    goal: Goal | str = "revenue_city",
    scope_name: str | None = None,
    *,
    ax=None,
    lang="zh",
    goals: GoalSet | None = None,
    scenario: str | None = None,
    observed=None,
):
    """Fan chart of an ensemble: median, 50% and 90% bands, and the target."""
    check_results(ds)
    if "sample" not in ds.dims:
        raise YaanSimError(
            "a fan chart needs results with a 'sample' dim (an ensemble); "
            "use plot_goal for single runs."
        )
    scen = None if scenario is None else [scenario]
    if scen is None and "scenario" in ds.dims:
        scen = [str(ds["scenario"].values[0])]
    return _plot_goal(ds, _goal(goal, goals), scope_name, _new_ax(ax), lang, observed, scen)


@_with_fonts
def plot_park_trajectories(
    ds,
    *,
    fig=None,
    lang="zh",
    goals: GoalSet | None = None,
    observed=None,
    scenarios=None,
    goal_id: str = "revenue_park",
):
    """Small multiples: each park's trajectory against its 2020 target.

    Returns the 2-D array of axes (3 x 3 for the nine parks).
    """
    import matplotlib.pyplot as plt

    check_results(ds)
    goal = _goal(goal_id, goals)
    parks = [str(p) for p in ds["park"].values]
    ncol = 3
    nrow = math.ceil(len(parks) / ncol)
    if fig is None:
        fig = plt.figure(figsize=(10, 2.6 * nrow + 0.6), layout="constrained")
    axes = np.array(fig.subplots(nrow, ncol, squeeze=False))
    for ax, park in zip(axes.flat, parks, strict=False):  # the grid may have spare cells
        _plot_goal(ds, goal, park, ax, lang, observed, scenarios, legend=False, title=False)
        ax.set_title(scope_label("park", park, lang), fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel(unit_label(goal.unit, lang), fontsize=8)
    for ax in axes.flat[len(parks) :]:
        ax.set_visible(False)
    _figure_legend(fig, [(ax, goal) for ax in axes.flat[: len(parks)]], lang)
    fig.suptitle(_t("parks_title", lang, goal=goal.name(lang)))
    return axes


@_with_fonts
def plot_goal_panels(
    ds,
    goals_list: Sequence[Goal | str],
    *,
    fig=None,
    lang="zh",
    goals: GoalSet | None = None,
    observed=None,
    scenarios=None,
    ncols: int = 2,
):
    """Small multiples: each goal of ``goals_list`` at its own scope, with its target.

    Returns the 2-D array of axes (unused panels hidden).
    """
    import matplotlib.pyplot as plt

    glist = [_goal(g, goals) for g in goals_list]
    check_results(ds, parks=not all(g.is_generic for g in glist))
    if not glist:
        raise YaanSimError("no goals to draw")
    ncols = min(ncols, len(glist))
    nrows = math.ceil(len(glist) / ncols)
    if fig is None:
        # the panels, and under them their shared legend
        fig = plt.figure(figsize=(4.6 * ncols, 3.2 * nrows + 0.6), layout="constrained")
    axes = np.array(fig.subplots(nrows, ncols, squeeze=False))
    for ax, g in zip(axes.flat, glist, strict=False):  # the grid may have spare cells
        _plot_goal(ds, g, None, ax, lang, observed, scenarios, legend=False)
    for ax in axes.flat[len(glist) :]:
        ax.set_visible(False)
    _figure_legend(fig, list(zip(axes.flat, glist, strict=False)), lang)
    return axes


def _figure_legend(fig, panels: list, lang: str) -> None:
    """One legend below the panels (``[(axes, goal)]``) for what they draw: a legend in
    each small panel covered its lines. Each line's label once; a target is named by its
    year (its value is each panel's own); the required path differs per panel, whose
    dotted line says it; a level to stay under (a baseline year's) keeps its label."""
    handles, labels = [], []
    word = _t("target", lang)
    for ax, goal in panels:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if h.get_gid() == "required":
                continue
            if h.get_gid() == "target" and lab.startswith(word):
                lab = f"{word} {_when(goal)}"
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        _legend_under(fig, handles, labels)


def _legend_under(fig, handles, labels, ax=None, most: int = 5) -> None:
    """The legend under the figure's panels, in as many columns as its width holds; where
    the figure has no constrained layout to make room (one the caller made), inside
    ``ax`` if one is given."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    ncol = _legend_columns(fig, labels, size=8, most=most)
    if ax is not None and not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        ax.legend(handles, labels, fontsize=8, frameon=False, loc="best", ncol=ncol)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=8,
                   frameon=False)  # fmt: skip


def _legend_columns(fig, labels: list[str], size: float, most: int = 5) -> int:
    """As many legend columns (up to ``most``) as the figure's width holds: a legend
    wider than its figure is cut off at both sides. A label takes half an em a display
    column (a Chinese character is two), its line and the gaps about five ems more."""
    widest = max(display_width(lab) for lab in labels) / 2 + 5
    fits = int(fig.get_figwidth() * 72 / (widest * size))
    return max(1, min(len(labels), most, fits))


def _when(goal: Goal) -> str:
    """A goal's year as a label: ``2020``, or ``t = 10`` on another model's time axis."""
    return f"t = {goal.year}" if goal.is_generic else str(goal.year)


# The goal-table charts live in charts_goals (this module would pass 600 lines); the same
# names are importable from here, loaded on first use (either module may be imported first).
_GOAL_CHARTS = ("plot_goal_gaps", "plot_goal_table", "plot_scenario_comparison")


def __getattr__(name: str):
    if name in _GOAL_CHARTS:
        from yaan_sim.outputs import charts_goals

        return getattr(charts_goals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
