"""The package of an evaluation: everything ``make run`` writes, for any set of scenarios.

``write_package(ds, "out/", reference="plan")`` writes into the folder:

- ``goal_table.csv`` (every column) and ``goal_table.md`` (the main ones, in Chinese);
- ``goals_by_scenario.csv`` / ``.md``: one row per goal and scope, one column per
  scenario with the value (and status), and the difference from the reference scenario;
- ``评估.xlsx``: the evaluation workbook (:mod:`yaan_sim.outputs.workbook`), Chinese, and
  ``evaluation.en.xlsx`` in English;
- ``charts/*.png`` and ``report.html`` (Chinese) and ``report.en.html`` (English);
- ``lever_effects.csv``: each scenario's change from the reference split lever by lever
  (:mod:`yaan_sim.analysis.lever_effects`; the report's table), with two scenarios or more.

The results file itself is written by the caller (``yaan-sim run``, ``batch``). One
writer for ``make run``, ``yaan-sim run A B --out-dir D`` and ``yaan-sim batch --out-dir``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from yaan_sim.analysis.lever_effects import LeverEffectsUnavailable
from yaan_sim.outputs.i18n import scenario_label, scenario_titles, status_label, unit_label
from yaan_sim.tables import format_number, markdown_table

#: The files of a package besides the charts (checked before any work).
PACKAGE_FILES = (
    "goal_table.csv",
    "goal_table.md",
    "goals_by_scenario.csv",
    "goals_by_scenario.md",
    "评估.xlsx",
    "evaluation.en.xlsx",
    "report.html",
    "report.en.html",
    "lever_effects.csv",
)


def goals_by_scenario(
    table: pd.DataFrame, lang: str = "zh", reference: str | None = None, *, titles=None
) -> pd.DataFrame:
    """Goal x scenario: one row per binding goal and scope; per scenario its value, and
    with ``reference`` the difference from that scenario's value (numbers, for files)."""
    titles = titles if titles is not None else table.attrs.get("scenario_titles", {})
    df = table[table["binding"]] if "binding" in table else table
    key = ["goal", "scope_label", "target", "unit"]
    scen = list(dict.fromkeys(df["scenario"])) if "scenario" in df else [None]
    first = df[df["scenario"] == scen[0]] if scen[0] is not None else df
    out = first[key].reset_index(drop=True).copy()
    out["unit"] = out["unit"].map(lambda u: unit_label(str(u), lang, annual=True))
    names = _heads(lang)
    out.columns = [names[k] for k in key]
    for sc in scen:
        part = (df[df["scenario"] == sc] if sc is not None else df).reset_index(drop=True)
        label = scenario_label(sc, lang, titles) if sc is not None else names["value"]
        out[label] = part["value"].to_numpy()
        out[f"{label} {names['status']}"] = [status_label(str(s), lang) for s in part["status"]]
        if "p_met" in part:
            out[f"{label} {names['p_met']}"] = part["p_met"].to_numpy()
    if reference is not None and reference in scen:
        ref = df[df["scenario"] == reference].reset_index(drop=True)["value"].to_numpy()
        rname = scenario_label(str(reference), lang, titles)
        for sc in scen:
            if sc == reference:
                continue
            part = df[df["scenario"] == sc].reset_index(drop=True)
            label = scenario_label(str(sc), lang, titles)
            out[names["diff"].format(s=label, r=rname)] = part["value"].to_numpy() - ref
    return out


def _heads(lang: str) -> dict[str, str]:
    if lang == "zh":
        return {
            "goal": "目标",
            "scope_label": "范围",
            "target": "目标值",
            "unit": "单位",
            "value": "数值",
            "status": "判定",
            "p_met": "达标概率",
            "diff": "{s}−{r}",
        }
    return {
        "goal": "goal",
        "scope_label": "scope",
        "target": "target",
        "unit": "unit",
        "value": "value",
        "status": "status",
        "p_met": "P(met)",
        "diff": "{s} - {r}",
    }


def goals_by_scenario_md(df: pd.DataFrame) -> str:
    """The goal x scenario table as Markdown for people: plain numbers."""
    cells = [
        [x if isinstance(x, str) else format_number(x, 1) for x in row] for row in df.to_numpy()
    ]
    return markdown_table([str(c) for c in df.columns], cells)


def write_package(
    ds: xr.Dataset,
    out_dir: str | Path,
    *,
    force: bool = False,
    reference: str | None = None,
    year: int | None = None,
    profile=None,
    model=None,
) -> list[Path]:
    """Write the package (see the module docstring) into ``out_dir``; return the paths.

    Another model (its profile not the Ya'an model's) gets what :func:`yaan_sim.outputs.
    report.write_main_job_outputs` gives it: no workbook and no goal x scenario table.
    """
    from yaan_sim.model.profile import profile_for, profile_for_results
    from yaan_sim.outputs.report import write_main_job_outputs, write_text_atomic
    from yaan_sim.outputs.results import check_writable
    from yaan_sim.outputs.workbook import check_reference, write_workbook

    out_dir = Path(out_dir)
    if reference is not None:
        check_reference(ds, reference)
    if profile is None:
        path = getattr(model, "mdl_path", None)
        profile = profile_for(path) if path is not None else profile_for_results(ds)
    extra = [out_dir / n for n in PACKAGE_FILES[2:6]] if profile.is_yaan else []
    for p in extra:  # before the slow part
        check_writable(p, force)
    y = 2020 if year is None else year
    effects: bool | pd.DataFrame | LeverEffectsUnavailable = True  # another model: the report's
    if profile.is_yaan:
        from yaan_sim.outputs.goals import load_goals
        from yaan_sim.outputs.report import _try_model, lever_effects_for

        if model is None:
            model = _try_model()
            model = None if isinstance(model, str) else model
        # once, for both reports, lever_effects.csv and both workbooks
        effects = lever_effects_for(ds, model, load_goals(), y, reference)
    paths = write_main_job_outputs(
        ds,
        out_dir,
        force,
        year,
        profile=profile,
        model=model,
        reference=reference,
        lever_effects=effects,
    )
    if not profile.is_yaan:
        return paths
    from yaan_sim.outputs.evaluate import evaluate, in_language

    titles = scenario_titles(ds)
    zh = evaluate(ds, year=y, lang="zh")
    for lang, name in (("zh", "评估.xlsx"), ("en", "evaluation.en.xlsx")):
        table = zh if lang == "zh" else in_language(zh, lang)
        paths.append(
            write_workbook(
                ds,
                out_dir / name,
                lang,
                table=table,
                model=model,
                reference=reference,
                force=force,
                lever_effects=effects if isinstance(effects, pd.DataFrame) else None,
            )
        )
        if lang == "zh":
            matrix = goals_by_scenario(table, lang, reference, titles=titles)
            paths.append(
                write_text_atomic(
                    out_dir / "goals_by_scenario.csv", matrix.to_csv(index=False), force=force
                )
            )
            paths.append(
                write_text_atomic(
                    out_dir / "goals_by_scenario.md", goals_by_scenario_md(matrix), force=force
                )
            )
    return paths
