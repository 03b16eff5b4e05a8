"""The evaluation report: one self-contained HTML file (charts embedded as base64 PNG).

``write_report(ds, "report.html", lang="zh")`` writes, in order: a summary of goal
status, the scenarios (by their files' titles) and their levers (the variables the
scenario runner stores), the plan's goals as encoded, the goal tables (observed figures
marked), the mid-term view (the observed figures, from the file actually read, and the
growth they now need), the charts, the model's assumptions (its constants whose
``source:`` starts with "assumed"), the status rule, and the run manifest.

Another model's results get the same report from its profile (:mod:`yaan_sim.model.
profile`): its title, its goals file's goals judged by the same rules, charts of its goal
variables (or of its stocks when it has no goals file); the sections that need the Ya'an
data (the mid-term view) are left out.

This module prepares the data; ``templates/report.html.j2`` (Jinja2, autoescaped) and
``templates/report.css`` lay it out; every word comes from :mod:`yaan_sim.outputs.i18n`.

:func:`write_outputs` writes the same plus the goal table (CSV and Markdown) and each
chart as a PNG into a folder, for ``make run``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd
import xarray as xr

from yaan_sim.analysis.lever_effects import LeverEffectsUnavailable, lever_effects_of_results
from yaan_sim.errors import YaanSimError
from yaan_sim.model.profile import ModelProfile, profile_for, profile_for_results
from yaan_sim.outputs.evaluate import evaluate, in_language
from yaan_sim.outputs.goal_metrics import goal_unit
from yaan_sim.outputs.goal_table import format_table, summary
from yaan_sim.outputs.goals import GoalSet, load_goals, profile_goals
from yaan_sim.outputs.i18n import (
    RULES,
    RULES_MODEL,
    check_lang,
    model_title,
    scenario_titles,
)
from yaan_sim.outputs.i18n import t as _tr
from yaan_sim.outputs.observed import DEFAULT_OBSERVED, load_observed
from yaan_sim.outputs.report_charts import Chart, render_charts
from yaan_sim.outputs.report_findings import (
    backtest_section,
    bound_section,
    effects_note,
    goal_findings,
    loops_section,
    scenario_findings,
)
from yaan_sim.outputs.report_findings import heads as findings_heads
from yaan_sim.outputs.report_font import embedded_font_css
from yaan_sim.outputs.report_sections import (  # noqa: F401 (assumptions: public here too)
    Table,
    _assumptions,
    _display_path,
    _goal_rows,
    _goals_section,
    _levers_section,
    _manifest,
    _midterm,
    _summary,
    _wide_status,
    assumptions,
    without_empty_places,
)
from yaan_sim.outputs.results import check_writable, write_atomic
from yaan_sim.outputs.results_check import check_results
from yaan_sim.outputs.rules import AT_RISK_MARGIN

TEMPLATES = Path(__file__).parent / "templates"


def _t(key: str, lang: str, **kw) -> str:
    return _tr(f"report.{key}", lang, **kw)


def _resolve(ds, goals, year, profile, model):
    """The profile (from ``model`` or the results' manifest), its goals (None: another
    model without a goals file) and the evaluation year (None: each goal's own)."""
    if profile is None:
        path = getattr(model, "mdl_path", None)
        profile = profile_for(path) if path is not None else profile_for_results(ds)
    if profile.is_yaan:
        check_results(ds)
        return profile, (load_goals() if goals is None else goals), (2020 if year is None else year)
    check_results(ds, parks=False)
    return profile, (profile_goals(profile) if goals is None else goals), year


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


# ------------------------------------------------------------------ the report


def build_report(
    ds: xr.Dataset,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int | None = None,
    observed: pd.DataFrame | bool | None = None,
    model=None,
    dpi: int = 90,
    table: pd.DataFrame | None = None,
    charts: list[Chart] | None = None,
    embed_font: bool = True,
    profile: ModelProfile | None = None,
    reference: str | None = None,
    loops: xr.Dataset | str | Path | None = None,
    lever_effects: bool | pd.DataFrame | LeverEffectsUnavailable = True,
) -> str:
    """The report's HTML text. See :func:`write_report` for the parameters (and
    ``lever_effects``: also a table :func:`lever_effects_for` made already, or why it
    could not be)."""
    check_lang(lang)
    profile, goals, year = _resolve(ds, goals, year, profile, model)
    yaan = profile.is_yaan
    observed = _observed(observed, ds, goals) if yaan else None
    if table is None and goals:
        table = evaluate(ds, goals, year=year, observed=observed, lang=lang)
    model = _profile_model(profile) if model is None else model
    why_no_model = model if isinstance(model, str) else None
    model = None if why_no_model is not None else model
    if charts is None:
        charts = render_charts(
            ds,
            table,
            goals,
            lang=lang,
            observed=observed,
            year=year,
            dpi=dpi,
            profile=profile,
            model=model,
        )
    titles = scenario_titles(ds)
    heads: tuple[str, ...] = (
        "summary",
        "scenarios",
        "goals",
        "table",
        "binding_rows",
        "detail_rows",
    )
    heads += ("info_rows", "midterm", "observed_data", "charts", "assumptions", "rule")
    h = {k: _t(k, lang) for k in (*heads, "manifest")}
    if not yaan:
        h |= {k: _t(v, lang) for k, v in _MODEL_HEADS.items()}
    subtitle = _t("subtitle", lang, y=year)
    if not yaan:
        own = "subtitle_model_own" if goals else "subtitle_model_plain"
        subtitle = _t("subtitle_model", lang, y=year) if year is not None else _t(own, lang)
    context = {
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": model_title(profile, lang),
        "subtitle": subtitle,
        "h": h,
        "levers": _levers_section(ds, lang, model, titles, generic=not yaan),
        "no_goals": "" if goals else _no_goals(profile, lang),
        "midterm": _midterm(goals, observed, year, lang) if yaan else None,
        "charts": [
            {"key": c.key, "caption": c.caption, "b64": base64.b64encode(c.png).decode("ascii")}
            for c in charts
        ],
        "assumptions": _assumptions(model, why_no_model, lang),
        "manifest": _manifest(ds, lang),
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
        "font_css": "",
    }
    if goals:
        context |= _goal_context(ds, goals, table, lang, titles, yaan)
    context["fh"] = findings_heads(lang)
    context["findings"] = None
    context["backtest"] = context["loops"] = context["bound"] = None
    if yaan and goals:
        if lever_effects is True:
            lever_effects = lever_effects_for(ds, model, goals, year, reference)
        effects = lever_effects if isinstance(lever_effects, pd.DataFrame) else None
        context["findings"] = {
            "goals": goal_findings(ds, table, goals, lang, titles),
            "scenarios": scenario_findings(ds, table, lang, titles, model, reference, effects),
            "effects_note": effects_note(lever_effects, lang)
            if isinstance(lever_effects, LeverEffectsUnavailable)
            else "",
        }
        if model is not None:
            bt = backtest_section(ds, model, lang, titles, dpi=dpi)
            if "png" in bt:
                bt["b64"] = base64.b64encode(bt.pop("png")).decode("ascii")
            context["backtest"] = bt
        loops_ctx = _loops(loops, lang)
        if loops_ctx.get("png"):
            loops_ctx["b64"] = base64.b64encode(loops_ctx.pop("png")).decode()
        context["loops"] = loops_ctx
        context["bound"] = bound_section(ds, lang)
    template = _environment().get_template("report.html.j2")
    if embed_font:
        context["font_css"] = embedded_font_css(template.render(context))
    return template.render(context)


def lever_effects_for(
    ds: xr.Dataset, model, goals: GoalSet, year: int | None, reference: str | None
) -> pd.DataFrame | LeverEffectsUnavailable | bool:
    """The lever effects of the results' scenarios (False where there is no model or
    fewer than two scenarios: nothing to say), or why they cannot be worked out."""
    if model is None or isinstance(model, str) or ds.sizes.get("scenario", 0) < 2:
        return False
    try:
        return lever_effects_of_results(ds, model, goals, reference=reference, year=year)
    except LeverEffectsUnavailable as exc:
        return exc


def _loops(loops, lang: str) -> dict:
    """The loop-dominance section from a loops Dataset or file (None: how to get one)."""
    if isinstance(loops, (str, Path)):
        from yaan_sim.outputs.results import open_results

        return loops_section(open_results(loops), lang, _display_path(loops))
    return loops_section(loops, lang, "yaan-sim loops")


#: Another model's section headings (no "plan", no "year").
_MODEL_HEADS = {
    "goals": "goals_model",
    "binding_rows": "goal_rows",
    "detail_rows": "detail_rows_at",
}


def _no_goals(profile: ModelProfile, lang: str) -> str:
    """Why another model's report has no goal table."""
    where = profile.goals_candidates()
    if not where:
        return _t("no_goals_unknown", lang, m=profile.model_name)
    f = f" {_tr('or', lang)} ".join(_display_path(p) for p in where)
    return _t("no_goals", lang, m=profile.model_name, f=f)


def _goal_context(ds, goals, table, lang, titles, yaan: bool) -> dict:
    """The report's goal sections: summary, goals as encoded, goal tables, status rule."""
    obs_note = ""
    if "value_source" in table.columns and (table["value_source"] == "observed").any():
        obs_note = _t("obs_mark", lang)
    units = {} if yaan else {g.id: goal_unit(ds, g) for g in goals}

    def tidy(t: Table) -> Table:
        return t if yaan else without_empty_places(t, lang)

    return {
        "summary": _summary(table, lang, titles, generic=not yaan),
        "goals": _goals_section(goals, lang, units=None if yaan else units),
        "goal_tables": {
            "wide": tidy(_wide_status(table[table["binding"]], lang, titles)),
            "binding": tidy(_goal_rows(table[table["binding"]], lang, titles, generic=not yaan)),
            "info": _goal_rows(table[~table["binding"]], lang, titles),
            "obs_note": obs_note,
        },
        "rules": [s.format(m=AT_RISK_MARGIN * 100) for s in (RULES if yaan else RULES_MODEL)[lang]],
    }


def _observed(observed, ds=None, goals=None):
    if observed is False:
        return None
    if observed is None:
        return load_observed(source=ds, goals=goals) if DEFAULT_OBSERVED.exists() else None
    if isinstance(observed, (str, Path)):
        return load_observed(observed, source=ds, goals=goals)
    return observed


def _profile_model(profile: ModelProfile):
    """The profile's model, or why it could not be loaded (a string)."""
    if profile.is_yaan:
        return _try_model()
    if profile.mdl_path is None:
        return f"the results do not say where {profile.model_name} is; pass --model"
    return _try_model(profile.mdl_path)


def _try_model(path=None):
    """The model (default: the Ya'an model), or the reason it could not be loaded."""
    try:
        from yaan_sim.model.load import load_model

        return load_model(path)
    except YaanSimError as exc:
        return str(exc)
    except Exception as exc:  # PySD missing or broken: the report is still written
        return f"{type(exc).__name__}: {exc}"


def write_text_atomic(
    path: str | Path, text: str | bytes, force: bool = False, *, inputs: Sequence = ()
) -> Path:
    """Write text atomically; refuses to overwrite an existing file unless ``force``, or
    to write over one of ``inputs``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return write_atomic(path, lambda tmp: tmp.write_bytes(data), force=force, inputs=inputs)


def write_report(
    ds: xr.Dataset,
    path: str | Path,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int | None = None,
    observed: pd.DataFrame | str | Path | bool | None = None,
    model=None,
    dpi: int = 90,
    force: bool = False,
    embed_font: bool = True,
    profile: ModelProfile | None = None,
    reference: str | None = None,
    loops: xr.Dataset | str | Path | None = None,
    lever_effects: bool = True,
) -> Path:
    """Write the self-contained HTML report atomically and return its path.

    Parameters
    ----------
    ds
        Simulation results.
    path
        Where to write; an existing file is replaced only with ``force=True``.
    lang
        ``"zh"`` or ``"en"``.
    goals
        Default: the profile's goals (the plan's, ``scenarios/plan-goals.yaml``, for the
        Ya'an model; another model's goals file, or none).
    year
        Evaluation year (default: 2020 for the Ya'an plan, each goal's own for another
        model).
    observed
        Observed figures (a DataFrame or a CSV path); default the shipped
        ``models/data/observed.csv``; ``False`` for none.
    model
        A loaded model (for lever names and the assumptions); default ``load_model()``.
        If it cannot be loaded the report says so instead of listing assumptions.
    dpi
        Resolution of the embedded PNGs.
    force
        Replace an existing file.
    embed_font
        Embed the CJK font, cut to the characters used, so that the Chinese text shows on
        machines without a CJK font (about 200 KB more).
    profile
        The model's profile (:mod:`yaan_sim.model.profile`); default: that of ``model``,
        else the one the results' manifest names.
    reference
        The scenario the findings compare the others with (default: the first).
    loops
        Loop scores (``yaan-sim loops --netcdf`` file or Dataset) for the loop-dominance
        section; without them the section says how to get them.
    lever_effects
        Split each scenario's change from the reference lever by lever
        (:mod:`yaan_sim.analysis.lever_effects`: the scenarios rebuilt from the manifest
        and run again, one lever moved at a time; about a second for the shipped
        scenarios).
    """
    check_writable(Path(path), force)  # fail before the slow part
    html_text = build_report(
        ds,
        lang,
        goals,
        year=year,
        observed=observed,
        model=model,
        dpi=dpi,
        embed_font=embed_font,
        profile=profile,
        reference=reference,
        loops=loops,
        lever_effects=lever_effects,
    )
    return write_text_atomic(path, html_text, force=force)


def write_outputs(
    ds: xr.Dataset,
    out_dir: str | Path,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int | None = None,
    observed: pd.DataFrame | str | Path | bool | None = None,
    model=None,
    dpi: int = 90,
    force: bool = False,
    embed_font: bool = True,
    profile: ModelProfile | None = None,
    reference: str | None = None,
) -> dict[str, Path]:
    """Write the goal table (``goal_table.csv``, ``goal_table.md``), every chart
    (``charts/<key>.png``) and ``report.html`` into ``out_dir``; return the paths by name.

    Another model without a goals file gets no goal table (its charts show its stocks).
    The results file itself is written by the caller (``yaan-sim run``).
    """
    return _write_outputs(
        ds,
        out_dir,
        lang,
        goals,
        year=year,
        observed=observed,
        model=model,
        dpi=dpi,
        force=force,
        embed_font=embed_font,
        profile=profile,
        reference=reference,
    )[0]


def _write_outputs(
    ds: xr.Dataset,
    out_dir: str | Path,
    lang: str = "zh",
    goals: GoalSet | None = None,
    *,
    year: int | None = None,
    observed: pd.DataFrame | str | Path | bool | None = None,
    model=None,
    dpi: int = 90,
    force: bool = False,
    embed_font: bool = True,
    profile: ModelProfile | None = None,
    reference: str | None = None,
    lever_effects: bool | pd.DataFrame | LeverEffectsUnavailable = True,
) -> tuple[dict[str, Path], pd.DataFrame | None, dict]:
    """:func:`write_outputs`, also returning its goal table and what it resolved (goals,
    year, observed figures, profile, model) for a report in the other language."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(exist_ok=True)
    profile, goals, year = _resolve(ds, goals, year, profile, model)
    observed = _observed(observed, ds, goals) if profile.is_yaan else None
    if model is None:
        model = _profile_model(profile)
    table = evaluate(ds, goals, year=year, observed=observed, lang=lang) if goals else None
    targets = {"report.html": out_dir / "report.html"}
    if table is not None:
        targets = {f"goal_table.{x}": out_dir / f"goal_table.{x}" for x in ("csv", "md")} | targets
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise YaanSimError(f"{', '.join(existing)} exist(s); pass --force to overwrite.")
    charts = render_charts(
        ds,
        table,
        goals,
        lang=lang,
        observed=observed,
        year=year,
        dpi=dpi,
        profile=profile,
        model=None if isinstance(model, str) else model,
    )
    paths = {}
    if table is not None:
        paths["goal_table.csv"] = write_text_atomic(
            targets["goal_table.csv"], format_table(table, "csv"), force=force
        )
        paths["goal_table.md"] = write_text_atomic(
            targets["goal_table.md"], format_table(summary(table), "md", lang), force=force
        )
    for c in charts:
        paths[f"charts/{c.key}.png"] = write_text_atomic(
            out_dir / "charts" / f"{c.key}.png", c.png, force=True
        )
    effects = lever_effects
    if effects is True:
        effects = (
            lever_effects_for(ds, model, goals, year, reference)
            if profile.is_yaan and goals
            else False
        )
    html_text = build_report(
        ds,
        lang,
        goals,
        year=year,
        observed=observed,
        model=model,
        table=table,
        charts=charts,
        embed_font=embed_font,
        profile=profile,
        reference=reference,
        lever_effects=effects,
    )
    paths["report.html"] = write_text_atomic(targets["report.html"], html_text, force=force)
    resolved = {
        "goals": goals,
        "year": year,
        "observed": observed,
        "profile": profile,
        "model": model,
        "lever_effects": effects,
    }
    return paths, table, resolved


def write_main_job_outputs(
    ds: xr.Dataset,
    out_dir: str | Path,
    force: bool = False,
    year: int | None = None,
    *,
    profile: ModelProfile | None = None,
    model=None,
    reference: str | None = None,
    lever_effects: bool | pd.DataFrame | LeverEffectsUnavailable = True,
) -> list[Path]:
    """The evaluation part of ``make run``: :func:`write_outputs` in Chinese (``report.html``,
    goal tables, charts) plus the English report ``report.en.html``, from the same
    evaluation (:func:`~yaan_sim.outputs.evaluate.in_language`), and the report's lever
    effects as ``lever_effects.csv`` (where there are two scenarios or more)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # as write_outputs makes it
    en = Path(out_dir) / "report.en.html"
    effects_csv = Path(out_dir) / "lever_effects.csv"
    for path in (en, effects_csv):
        check_writable(path, force)  # before the slow part
    paths, table, resolved = _write_outputs(
        ds,
        out_dir,
        "zh",
        year=year,
        model=model,
        force=force,
        profile=profile,
        reference=reference,
        lever_effects=lever_effects,
    )
    html_text = build_report(
        ds,
        "en",
        **resolved,
        table=None if table is None else in_language(table, "en"),
        reference=reference,
    )
    paths["report.en.html"] = write_text_atomic(en, html_text, force=force)
    effects = resolved["lever_effects"]
    if isinstance(effects, pd.DataFrame) and len(effects):
        paths["lever_effects.csv"] = write_text_atomic(
            effects_csv, effects.to_csv(index=False), force=force
        )
    return list(paths.values())
