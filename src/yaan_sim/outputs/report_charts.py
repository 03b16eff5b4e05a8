"""The report's charts, drawn and kept as PNG bytes: the Ya'an plan's (city and park
revenue, the goal table and gaps, scenario comparison, fans of an ensemble, the other
goals by kind of metric) or, for another model, its profile's."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.profile import ModelProfile
from yaan_sim.outputs.goals import Goal, GoalSet, scope_label
from yaan_sim.outputs.i18n import scenario_label, scenario_titles
from yaan_sim.outputs.i18n import t as _tr


def _t(key: str, lang: str, **kw) -> str:
    return _tr(f"report.{key}", lang, **kw)


@dataclass
class Chart:
    """A rendered chart: key (file stem), caption, PNG bytes."""

    key: str
    caption: str
    png: bytes


def _fig_png(fig, dpi: int) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def render_charts(
    ds: xr.Dataset,
    table: pd.DataFrame,
    goals: GoalSet,
    *,
    lang: str = "zh",
    observed: pd.DataFrame | None = None,
    year: int | None = 2020,
    dpi: int = 90,
    profile: ModelProfile | None = None,
    model=None,
) -> list[Chart]:
    """Draw the report's charts and return them as PNG bytes: the profile's charts
    (default: the Ya'an plan's)."""
    import matplotlib

    from yaan_sim.outputs import charts

    if profile is not None and not profile.is_yaan:
        with matplotlib.rc_context({"figure.max_open_warning": 0}):
            return _model_charts(ds, table, goals, lang=lang, dpi=dpi, profile=profile, model=model)
    year = 2020 if year is None else year
    out: list[Chart] = []
    # Each figure is closed as soon as it is saved (_fig_png), so none piles up or shows.
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        ids = set(goals.ids)
        if "revenue_city" in ids:
            ax = charts.plot_city_total(ds, lang=lang, goals=goals, observed=observed)
            out.append(Chart("city_total", _t("c_city", lang), _fig_png(ax.figure, dpi)))
        if "revenue_park" in ids:
            axes = charts.plot_park_trajectories(ds, lang=lang, goals=goals, observed=observed)
            out.append(
                Chart("park_trajectories", _t("c_parks", lang), _fig_png(axes.flat[0].figure, dpi))
            )
        ax = charts.plot_goal_table(table, lang=lang)
        out.append(Chart("goal_table", _t("c_table", lang), _fig_png(ax.figure, dpi)))
        scen = list(dict.fromkeys(table["scenario"])) if "scenario" in table.columns else [None]
        try:
            ax = charts.plot_goal_gaps(table, lang=lang)
            out.append(Chart("goal_gaps", _t("c_gaps", lang), _fig_png(ax.figure, dpi)))
        except YaanSimError:
            pass  # no level goals
        if "revenue_park" in ids and ("scenario" in ds.dims or "sample" in ds.dims):
            ax = charts.plot_scenario_comparison(ds, lang=lang, goals=goals, year=year)
            out.append(
                Chart("scenario_comparison", _t("c_compare", lang), _fig_png(ax.figure, dpi))
            )
        if "sample" in ds.dims:
            import matplotlib.pyplot as plt

            from yaan_sim.outputs.fonts import font_families

            for gid, place in (("revenue_city", None), ("revenue_park", "ETDZ")):
                if gid not in ids:
                    continue
                g = goals[gid]
                ncol = min(len(scen), 3)
                nrow = -(-len(scen) // ncol)
                fig, axes = plt.subplots(
                    nrow,
                    ncol,
                    figsize=(4.6 * ncol, 3.3 * nrow),
                    squeeze=False,
                    sharey=True,
                    layout="constrained",
                )
                titles = scenario_titles(ds)
                for ax, sc in zip(axes.flat, scen, strict=False):
                    charts.plot_fan(
                        ds, g, place, ax=ax, lang=lang, goals=goals, scenario=sc, observed=observed
                    )
                    ax.set_title(
                        scenario_label(sc, lang, titles) if sc else "",
                        fontsize=10,
                        fontfamily=font_families(lang),
                    )
                for ax in axes.flat[len(scen) :]:
                    ax.set_visible(False)
                for ax in axes.flat[1 : len(scen)]:  # one legend is enough
                    if ax.get_legend() is not None:
                        ax.get_legend().remove()
                p = scope_label("park" if place else "city", place or "", lang)
                out.append(
                    Chart(f"fan_{gid}", _t("c_fan", lang, g=g.name(lang), p=p), _fig_png(fig, dpi))
                )
        # the other goals, grouped: one figure per kind of metric
        rest = [g for g in goals if g.id not in ("revenue_city", "revenue_park")]
        groups: dict[str, list[Goal]] = {}
        for g in rest:
            kind = "trend" if g.is_trend else "baseline" if g.uses_baseline else f"level_{g.id}"
            groups.setdefault(kind, []).append(g)
        for kind, members in groups.items():
            key = {"trend": "goals_per_output", "baseline": "goals_pollutants"}.get(
                kind, f"goal_{members[0].id}"
            )
            axes = charts.plot_goal_panels(ds, members, lang=lang, observed=observed)
            caption = "; ".join(g.name(lang) for g in members)
            out.append(Chart(key, caption, _fig_png(axes.flat[0].figure, dpi)))
    return out


def _model_charts(ds, table, goals, *, lang, dpi, profile: ModelProfile, model) -> list[Chart]:
    """Another model's charts: its goal variables against their targets, the goal table
    and the gaps; or, with no goals, its stocks."""
    from yaan_sim.outputs import charts
    from yaan_sim.outputs.variable_charts import plot_variables

    wanted = profile.charts
    out: list[Chart] = []
    if not goals:
        if "stocks" in wanted:
            axes = plot_variables(ds, profile.stocks(model, ds.data_vars), lang=lang)
            caption = _t("c_stocks", lang, m=profile.model_name)
            out.append(Chart("stocks", caption, _fig_png(axes.flat[0].figure, dpi)))
        return out
    if "goal_trajectories" in wanted:
        axes = charts.plot_goal_panels(ds, list(goals), lang=lang, ncols=3)
        fig = axes.flat[0].figure
        out.append(Chart("goal_trajectories", _t("c_goals", lang), _fig_png(fig, dpi)))
    if "goal_table" in wanted:
        ax = charts.plot_goal_table(table, lang=lang)
        out.append(Chart("goal_table", _t("c_table", lang), _fig_png(ax.figure, dpi)))
    if "goal_gaps" in wanted and (table["comparison"] != "falling_every_year").any():
        ax = charts.plot_goal_gaps(table, lang=lang)
        out.append(Chart("goal_gaps", _t("c_gaps", lang), _fig_png(ax.figure, dpi)))
    return out
