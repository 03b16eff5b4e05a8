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
from yaan_sim.outputs.evaluate import (
    annual,
    check_results,
    goal_unit,
    metric_series,
    observed_metric,
    scope_members,
)
from yaan_sim.outputs.fonts import font_rc
from yaan_sim.outputs.goals import CITY, MODEL_SCOPE, Goal, GoalSet, load_goals, scope_label
from yaan_sim.outputs.i18n import check_lang, scenario_label, scenario_titles, status_label
from yaan_sim.outputs.i18n import t as _tr
from yaan_sim.outputs.i18n import unit_label as _unit_label

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
        return have
    bad = [s for s in scenarios if s not in have]
    if bad:
        raise YaanSimError(f"no scenario {bad[0]!r} in the results; they have {', '.join(have)}")
    return list(scenarios)


def _scenario_name(sc, lang: str, titles: dict | None) -> str:
    """A scenario as a legend shows it: its file's title in ``lang`` where known."""
    return scenario_label(sc, lang, titles) if sc is not None else ""


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
        ax.plot([goal.year], [target], marker="*", color="k", ms=10, ls="none", gid="target_point")
    elif goal.uses_baseline:
        base = annual(series).sel(year=goal.baseline_year)
        for d in ("scenario", "sample"):
            if d in base.dims:
                base = base.median(d) if d == "sample" else base.isel({d: 0})
        ax.axhline(
            float(base),
            color="k",
            ls="--",
            lw=1.2,
            gid="target",
            label=_t("baseline", lang, y=goal.baseline_year),
        )
    if observed is not None and len(observed):
        years = sorted({int(y) for y in observed["year"]})
        pts = [(y, observed_metric(observed, goal, scope, name, parks, y)) for y in years]
        pts = [(y, v) for y, v in pts if np.isfinite(v)]
        if pts:
            ox, oy = zip(*pts, strict=True)
            ax.plot(
                ox,
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
                    [y0, goal.year],
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
    ax.set_ylabel(unit if not goal.is_trend else f"{unit} ({falling})")
    _year_axis(ax, lang, ds)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False)
    return ax


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
    handles, labels = [], []
    for ax in axes.flat[: len(parks)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if h.get_gid() == "required":
                continue  # differs per park; each panel's dotted line says it
            if h.get_gid() == "target":
                lab = _t("target", lang) + f" {goal.year}"
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=min(len(labels), 5),
        fontsize=8,
        frameon=False,
    )
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
        fig = plt.figure(figsize=(4.6 * ncols, 3.2 * nrows), layout="constrained")
    axes = np.array(fig.subplots(nrows, ncols, squeeze=False))
    for ax, g in zip(axes.flat, glist, strict=False):  # the grid may have spare cells
        _plot_goal(ds, g, None, ax, lang, observed, scenarios)
    for ax in axes.flat[len(glist) :]:
        ax.set_visible(False)
    return axes


def _rows_for_chart(table, scenario, binding_only):
    df = table
    if binding_only and "binding" in df.columns:
        df = df[df["binding"]]
    if scenario is not None:
        if "scenario" not in df.columns or scenario not in set(df["scenario"]):
            raise YaanSimError(f"no scenario {scenario!r} in the goal table")
        df = df[df["scenario"] == scenario]
    if len(df) == 0:
        raise YaanSimError("the goal table has no rows to draw")
    return df


def _row_label(rec, lang, with_scenario, names=None):
    goal = _goal_name(rec, lang, names)
    place = scope_label(rec["scope"], rec["scope_name"], lang)
    label = f"{goal} · {place}" if place else goal
    if with_scenario:
        label = f"{rec['scenario']}: {label}"
    return label


@functools.lru_cache(maxsize=64)
def _goal_names(lang: str) -> dict:
    try:
        return {g.id: g.name(lang) for g in load_goals()}
    except YaanSimError:
        return {}


def _goal_name(rec, lang, names=None):
    """A goal's name in ``lang``: from the table's own goals (``attrs["goal_names"]``),
    else from the plan's goals, else as the table has it."""
    if names and rec["goal_id"] in names:
        return names[rec["goal_id"]].get(lang) or rec["goal"]
    return _goal_names(lang).get(rec["goal_id"], rec["goal"])


def _when(goal: Goal) -> str:
    """A goal's year as a label: ``2020``, or ``t = 10`` on another model's time axis."""
    return f"t = {goal.year}" if goal.is_generic else str(goal.year)


def _title_key(df, key: str) -> str:
    """``key`` for the plan's goal tables; for another model's (generic goals, years are
    times) ``key_at``, or ``key_own`` where its goals are judged at different times."""
    if not (len(df) and (df["scope"] == MODEL_SCOPE).all()):
        return key
    return f"{key}_at" if df["eval_year"].nunique() == 1 else f"{key}_own"


@_with_fonts
def plot_goal_gaps(
    table, *, ax=None, lang="zh", scenario: str | None = None, binding_only: bool = True
):
    """Each level goal's distance from its target, % of the target, with one sign
    convention: positive is better than the target, negative worse (for a cap, ``<=``,
    a value below the target is better).

    One scenario (or ``scenario=`` given): horizontal bars coloured by status. Several
    scenarios: a dot plot, one marker per scenario on each row. ``table`` is
    :func:`yaan_sim.outputs.evaluate.evaluate`'s output; falling-every-year goals have no gap in %
    of a target and are left out (the goal table shows them).
    """
    df = _rows_for_chart(table, scenario, binding_only)
    df = df[df["comparison"] != "falling_every_year"].copy()
    if len(df) == 0:
        raise YaanSimError("the goal table has no level goals (>= or <=) to draw gaps for")
    # one sign for every row: + better than the target, - worse (a cap's gap is reversed)
    df["gap_pct"] = np.where(df["comparison"] == "<=", -df["gap_pct"], df["gap_pct"])
    scen = list(dict.fromkeys(df["scenario"])) if "scenario" in df.columns else [None]
    keys = list(dict.fromkeys(zip(df["goal_id"], df["scope"], df["scope_name"], strict=True)))
    ax = _new_ax(ax, figsize=(7.5, 0.3 * len(keys) + 1.4))
    y = np.arange(len(keys))[::-1]
    recs = df.to_dict("records")
    row_of = {k: i for i, k in enumerate(keys)}
    first = {}
    for r in recs:
        first.setdefault((r["goal_id"], r["scope"], r["scope_name"]), r)
    names = table.attrs.get("goal_names")
    ax.set_yticks(y, [_row_label(first[k], lang, False, names) for k in keys], fontsize=8)
    if len(scen) == 1:
        vals = [r["gap_pct"] if np.isfinite(r["gap_pct"]) else 0.0 for r in recs]
        ax.barh(
            [y[row_of[(r["goal_id"], r["scope"], r["scope_name"])]] for r in recs],
            vals,
            color=[STATUS_COLORS.get(r["status"], "#bdbdbd") for r in recs],
            gid="gaps",
        )
        from matplotlib.patches import Patch

        used = [s for s in STATUS_COLORS if s in {r["status"] for r in recs}]
        ax.legend(
            [Patch(color=STATUS_COLORS[s]) for s in used],
            [status_label(s, lang) for s in used],
            fontsize=8,
            frameon=False,
            loc="best",
        )
    else:
        markers = "osD^v<>ph*"
        for i, sc in enumerate(scen):
            rs = [r for r in recs if r["scenario"] == sc]
            ax.plot(
                [r["gap_pct"] for r in rs],
                [y[row_of[(r["goal_id"], r["scope"], r["scope_name"])]] for r in rs],
                ls="none",
                marker=markers[i % len(markers)],
                color=_color(i),
                ms=6,
                alpha=0.85,
                label=_scenario_name(sc, lang, table.attrs.get("scenario_titles")),
                gid=f"gap:{sc}",
            )
        ax.legend(fontsize=8, frameon=False, loc="best")
        ax.set_ylim(-0.7, len(keys) - 0.3)
    ax.axvline(0, color="k", lw=1, gid="zero")
    ax.set_xlabel(_t("gap_axis", lang))
    ax.set_title(_t(_title_key(df, "gap_title"), lang, y=int(recs[0]["eval_year"])))
    ax.grid(axis="x", alpha=0.3)
    return ax


def _status_text(r, lang: str) -> str:
    """A traffic-light cell: the status word, the value (and unit) and P(met) if sampled."""
    from yaan_sim.tables import format_number

    text = status_label(r["status"], lang)
    value = r.get("value")
    if value is not None and np.isfinite(value):
        unit = unit_label(str(r.get("unit", "")), lang)
        unit = unit if lang == "zh" or len(unit) <= 6 else ""  # "100 million yuan": the column says
        sep = "" if lang == "zh" or not unit or unit.startswith("%") else " "
        text += f" {format_number(value, 1 if abs(value) >= 10 else 2)}{sep}{unit}"
    p = r.get("p_met")
    if p is not None and np.isfinite(p):
        text += f" P={p:.2f}"
    return text


@_with_fonts
def plot_goal_table(table, *, ax=None, lang="zh", binding_only: bool = True):
    """Traffic-light table: one row per goal and place, one column per scenario."""
    df = _rows_for_chart(table, None, binding_only)
    scen = list(dict.fromkeys(df["scenario"])) if "scenario" in df.columns else [None]
    keys = list(dict.fromkeys(zip(df["goal_id"], df["scope"], df["scope_name"], strict=True)))
    cells, colors = [], []
    for gid, scope, name in keys:
        sub = df[(df["goal_id"] == gid) & (df["scope_name"] == name) & (df["scope"] == scope)]
        rec = sub.iloc[0].to_dict()
        row = [_goal_name(rec, lang, table.attrs.get("goal_names")), scope_label(scope, name, lang)]
        crow = ["white", "white"]
        for sc in scen:
            r = sub[sub["scenario"] == sc].iloc[0] if sc is not None else sub.iloc[0]
            mark = (
                f" ({_tr('source.observed', lang)})" if r.get("value_source") == "observed" else ""
            )
            row.append(_status_text(r, lang) + mark)
            crow.append(STATUS_COLORS.get(r["status"], "#bdbdbd"))
        cells.append(row)
        colors.append(crow)
    titles = table.attrs.get("scenario_titles")
    cols = [_t("goal", lang), _t("scope", lang)] + [_scenario_name(s, lang, titles) for s in scen]
    if all(not row[1] for row in cells):  # another model's goals without elements: no place
        cells = [r[:1] + r[2:] for r in cells]
        colors = [r[:1] + r[2:] for r in colors]
        cols = cols[:1] + cols[2:]

    def width(text: str) -> float:  # in em: CJK characters are twice as wide as Latin ones
        return sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in str(text)) + 1.0

    widths = [max(width(r[c]) for r in [cols, *cells]) for c in range(len(cols))]
    total = sum(widths)
    ax = _new_ax(ax, figsize=(min(max(total * 0.11, 5.0), 16.0), 0.25 * len(cells) + 0.8))
    ax.axis("off")
    tab = ax.table(
        cellText=cells,
        cellColours=colors,
        colLabels=cols,
        bbox=[0, 0, 1, 1],
        cellLoc="center",
        colLoc="center",
    )
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    for (_, c), cell in tab.get_celld().items():
        cell.set_width(widths[c] / total)
    for (r, c), cell in tab.get_celld().items():
        if r > 0 and colors[r - 1][c] in (STATUS_COLORS["met"], STATUS_COLORS["missed"]):
            cell.get_text().set_color("white")
    tab.set_gid("goal_table")
    year = int(df["eval_year"].iloc[0])
    ax.set_title(_t(_title_key(df, "table_title"), lang, y=year))
    return ax


@_with_fonts
def plot_scenario_comparison(
    ds,
    *,
    ax=None,
    lang="zh",
    goals: GoalSet | None = None,
    year: int = 2020,
    goal_id: str = "revenue_park",
    scenarios=None,
    relative: bool = True,
):
    """Grouped bars: each park's value in ``year`` for every scenario, with its target.

    ``relative`` (default): each bar as % of its park's target, so that parks of every
    size read on one axis (the target is the line at 100); else the values themselves.
    With a ``sample`` dim the bars are medians and the whiskers span 5-95%.
    """
    check_results(ds)
    goal = _goal(goal_id, goals)
    scen = _scenarios(ds, scenarios)
    members = scope_members(ds, goal.scope)
    ax = _new_ax(ax, figsize=(max(6.4, 0.8 * len(members) + 2), 4.2))
    titles = scenario_titles(ds)
    width = 0.8 / len(scen)
    x = np.arange(len(members))
    targets = [goal.fixed_target(goal.scope, name, parks) for name, parks in members]
    relative = relative and all(t for t in targets)
    for i, sc in enumerate(scen):
        vals, lo, hi = [], [], []
        for _name, parks in members:
            s = annual(metric_series(ds, goal, parks))
            if year not in s["year"].values:
                raise YaanSimError(f"the results have no year {year}")
            s = s.sel(year=year)
            if sc is not None:
                s = s.sel(scenario=sc)
            if "sample" in s.dims:
                q = np.quantile(s.values, [0.05, 0.5, 0.95])
                vals.append(q[1])
                lo.append(q[1] - q[0])
                hi.append(q[2] - q[1])
            else:
                vals.append(float(s))
        if relative:  # % of each park's own target
            scale = [100.0 / t for t in targets]
            vals = [v * k for v, k in zip(vals, scale, strict=True)]
            lo = [v * k for v, k in zip(lo, scale, strict=False)]
            hi = [v * k for v, k in zip(hi, scale, strict=False)]
        kw = {"yerr": [lo, hi], "capsize": 2} if lo else {}
        ax.bar(
            x - 0.4 + width * (i + 0.5),
            vals,
            width,
            color=_color(i),
            label=_scenario_name(sc, lang, titles),
            gid=f"bars:{sc}",
            **kw,
        )
    if relative:
        ax.axhline(100, color="k", ls="--", lw=1.5, gid="target", label=_t("target", lang))
    for j, target in enumerate([] if relative else targets):
        if target is not None:
            ax.hlines(
                target,
                j - 0.45,
                j + 0.45,
                color="k",
                ls="--",
                lw=1.5,
                gid="target",
                label=_t("target", lang) if j == 0 else None,
            )
    ax.set_xticks(
        x,
        [scope_label(goal.scope, n, lang) for n, _ in members],
        fontsize=8,
        rotation=30 if lang == "en" else 0,
    )
    if relative:  # room above the target line for one legend row
        ax.set_ylim(0, max(125.0, ax.get_ylim()[1] * 1.15))
        ax.set_ylabel(_t("pct_of_target", lang))
        ax.set_title(_t("compare_pct_title", lang, goal=goal.name(lang), y=year))
    else:
        ax.set_ylabel(unit_label(goal.unit, lang))
        ax.set_title(_t("compare_title", lang, goal=goal.name(lang), y=year))
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=len(scen) + 1)
    ax.grid(axis="y", alpha=0.3)
    return ax
