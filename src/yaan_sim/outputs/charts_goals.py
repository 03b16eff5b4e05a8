"""Charts of the goal table: the gap chart (one sign convention: better or worse than the
target), the traffic-light table (status, value, P(met)), and the scenario comparison (% of
each park's target). Split from :mod:`yaan_sim.outputs.charts`, which re-exports them."""

from __future__ import annotations

import functools

import numpy as np

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.calendar_years import annual
from yaan_sim.outputs.charts import (
    MODEL_SCOPE,
    STATUS_COLORS,
    GoalSet,
    _color,
    _goal,
    _legend_under,
    _new_ax,
    _scenario_name,
    _scenarios,
    _t,
    _tr,
    _with_fonts,
    check_results,
    load_goals,
    metric_series,
    scenario_titles,
    scope_label,
    scope_members,
    status_label,
    unit_label,
)
from yaan_sim.tables import display_width


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
    first: dict[tuple, dict] = {}
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
            scale = [100.0 / t if t else float("nan") for t in targets]
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
    names = [scope_label(goal.scope, n, lang) for n, _ in members]
    if lang == "zh":  # a long name on two lines, e.g. 飞地园区 / (经开区): side by side
        names = [n.replace("(", "\n(", 1) if display_width(n) > 10 else n for n in names]
    ax.set_xticks(x, names, fontsize=8, rotation=30 if lang == "en" else 0)
    if relative:  # the target line (100) below the top
        ax.set_ylim(0, max(110.0, ax.get_ylim()[1] * 1.05))
        ax.set_ylabel(_t("pct_of_target", lang))
        ax.set_title(_t("compare_pct_title", lang, goal=goal.name(lang), y=year))
    else:
        ax.set_ylabel(unit_label(goal.unit, lang))
        ax.set_title(_t("compare_title", lang, goal=goal.name(lang), y=year))
    _legend_below(ax)
    ax.grid(axis="y", alpha=0.3)
    return ax


def _legend_below(ax) -> None:
    """The chart's legend under it (one row across the top ran past the figure and over
    the bars), the target last; inside the axes on a figure the caller made."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()  # lines first: the target last
    last = [i for i, h in enumerate(handles) if isinstance(h, Line2D) and h.get_gid() == "target"]
    order = [i for i in range(len(handles)) if i not in last] + last
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    _legend_under(ax.figure, handles, labels, ax=ax, most=len(labels))
