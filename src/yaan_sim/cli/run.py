"""``yaan-sim run``: run scenarios (or the default set) and write the results."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.cli._common import (
    check_outputs,
    engine_option,
    force_option,
    is_goals_file,
    last_whole_year,
    model_option,
    nonfinite_option,
    run_horizon,
)
from yaan_sim.errors import YaanSimError
from yaan_sim.protocols import ModelLike, ScenarioLike

DEFAULT_OUT_DIR = Path("out")
#: What a package holds besides the results (outputs/package.py; charts/ is rewritten).
from yaan_sim.outputs.package import PACKAGE_FILES as MAIN_JOB_FILES  # noqa: E402


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        parents=[engine_option(), model_option(), force_option(), nonfinite_option()],
        help="run scenarios and write results (netCDF)",
        description=(
            "Run the model. With scenario files: run each, stack them on a "
            "`scenario` dim and write -o OUT.nc. With none: run the default "
            "scenario set of scenarios/ and write results, goal table, charts "
            "and report to --out-dir (the main job of `make run`). With another "
            "--model, the same from that model's profile: the scenarios of a "
            "scenarios/ folder beside its .mdl (else its own defaults), its goals "
            "file <model>.goals.yaml or goals.yaml beside it (else charts of its stocks)."
        ),
    )
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO.yaml",
        help="scenario files or names from scenarios/ (default: the shipped set)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="results file by its suffix: .nc, .csv, .parquet, .json (tidy table) or .xlsx "
        "(the evaluation workbook) (default: OUT_DIR/runs.nc)",
    )
    p.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="folder for the package: results (runs.nc), goal tables, the evaluation "
        "workbook, charts and reports in Chinese and English (default: out/); "
        "with -o only the results file is written",
    )
    p.add_argument(
        "--reference",
        metavar="NAME",
        help="the scenario the package's tables and workbook compare the others with",
    )
    p.add_argument(
        "--from",
        dest="from_year",
        type=int,
        metavar="YEAR",
        help="re-project from the observed state of YEAR (with --observed): the stocks are "
        "set so that the model reproduces YEAR's observed figures (calendar-year totals), "
        "then the scenarios run on under their levers (the mid-term review)",
    )
    p.add_argument(
        "--observed",
        metavar="FILE.csv",
        help="observed figures for --from (variable,park,year,value,unit,source,confidence; "
        "Chinese names and units such as 亿元 or 万元 are accepted)",
    )
    p.set_defaults(func=cmd_run)


def revenue_table(ds: xr.Dataset, year: float | None = None) -> str:
    """2020 (or the last whole year) revenue per park and the city total, as text: the
    calendar-year total where the results cover the year (as the goals are judged), else
    the rate at the start of the year."""
    from yaan_sim.outputs.calendar_years import calendar_years, plan_start_of, yearly

    times = ds["time"].values
    whole = calendar_years(times)
    if year is None:
        year = 2020.0 if 2020 in whole else float(whole[-1]) if whole else float(times[-1])
    if int(year) in whole and year == int(year):
        rev = yearly(ds["revenue"], "total", plan_start_of(ds)).sel(year=int(year))
        what = "calendar-year total, 亿元"
    else:
        rev = ds["revenue"].sel(time=year)
        what = f"the rate on 1 January {year:g}, 亿元 a year"
    cols = list(ds["scenario"].values) if "scenario" in rev.dims else ["value"]
    width = max(12, *(len(c) + 2 for c in cols))
    lines = [
        f"Revenue in {year:g} ({what})",
        f"{'park':<12}" + "".join(f"{c:>{width}}" for c in cols),
    ]

    def cells(da: xr.DataArray) -> str:
        vals = [float(da.sel(scenario=c)) for c in cols] if "scenario" in da.dims else [float(da)]
        return "".join(f"{v:>{width}.1f}" for v in vals)

    for park in ds["park"].values:
        lines.append(f"{park:<12}" + cells(rev.sel(park=park)))
    lines.append(f"{'City total':<12}" + cells(rev.sum("park", skipna=False)))  # NaN stays NaN
    return "\n".join(lines)


def final_values(ds: xr.Dataset, limit: int = 12) -> str:
    """The last saved value of the model's scalar variables (a model without parks)."""
    t = float(ds["time"].values[-1])
    names = [n for n in ds.data_vars if set(ds[n].dims) <= {"time", "scenario"}][:limit]
    if not names:
        return f"{len(ds.data_vars)} variables to {t:g}"
    last = ds[names].sel(time=t)
    lines = [f"Values at {t:g} (the first {len(names)} variables without subscripts)"]
    for n in names:
        v = np.atleast_1d(last[n].values).astype(float)
        lines.append(f"  {n:<40}" + "".join(f"{x:>14.6g}" for x in v))
    return "\n".join(lines)


def reprojection_text(ds: xr.Dataset) -> str:
    """What the re-projection pinned: each observed figure, the model before and after."""
    import json

    recs = json.loads(ds.attrs.get("reprojection", "[]"))
    year = int(ds.attrs.get("reprojected_from", 0))
    lines = [
        f"Re-projected from the observed state of {year} ({ds.attrs.get('observed_file', '')}):"
        f" stocks scaled so the model's {year} totals equal the observed ones",
        f"{'scenario':<16}{'figure':<20}{'place':<10}{'observed':>10}{'model':>10}{'factor':>9}",
    ]
    for r in recs:
        lines.append(
            f"{r['scenario']:<16}{r['variable']:<20}{r['place']:<10}{r['observed']:>10.4g}"
            f"{r['model_before']:>10.4g}{r['factor']:>9.3f}"
        )
    return "\n".join(lines) + "\n"


def check_reaches_goal_year(scenarios: Sequence[ScenarioLike], model: ModelLike) -> None:
    """The package judges the plan's goals on calendar-year totals of their year, so every
    scenario must run to the end of it: said before the run, not after it (where the run's
    results were written and the package then refused)."""
    from yaan_sim.outputs.goals import load_goals

    year = max(g.year for g in load_goals())
    for sc in scenarios:
        horizon = run_horizon(model, [sc])
        if last_whole_year(horizon) < year:
            raise YaanSimError(
                f"scenario {sc.name!r} runs to {horizon.stop:g}, but the package (--out-dir) "
                f"judges the plan's goals on {year}'s calendar-year totals, which need a run "
                f"to the end of {year}: set its horizon's stop to {year + 1} or later, or write "
                "only the results with -o"
            )


def cmd_run(args: argparse.Namespace) -> int:
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.outputs.export import check_suffix, export
    from yaan_sim.outputs.goals import profile_goals
    from yaan_sim.scenario import load_scenarios

    main_job = not args.scenarios
    # a package (results, tables, workbook, charts, reports) unless only -o is given
    package = main_job or args.output is None or args.out_dir is not None
    if args.reference is not None and not package:
        raise YaanSimError(
            "--reference names the reference scenario of the goal table, charts and reports; "
            "with only -o none is written: give --out-dir DIR too, or leave --reference out"
        )
    out_dir = Path(args.out_dir) if args.out_dir is not None else DEFAULT_OUT_DIR
    output = Path(args.output) if args.output is not None else out_dir / "runs.nc"
    check_suffix(output, hint="For the goal table, charts and reports give --out-dir DIR")
    # every output is checked before the work, not after
    inputs = [*args.scenarios, args.model, profile_for(args.model).goals_path]
    if package:
        for folder in (out_dir, out_dir / "charts"):
            if folder.exists() and not folder.is_dir():
                raise YaanSimError(f"{folder} is a file: --out-dir needs a folder there")
        out_dir.mkdir(parents=True, exist_ok=True)
        check_outputs(*(out_dir / n for n in MAIN_JOB_FILES), force=args.force, inputs=inputs)
    check_outputs(output, force=args.force, inputs=inputs)

    model = load_model(args.model)
    profile = profile_for(model)
    refs = [r for r in args.scenarios if not is_goals_file(r)]
    if len(refs) < len(args.scenarios):
        print(
            "yaan-sim run: notice: goals files (*-goals.yaml) are not scenarios; skipped",
            file=sys.stderr,
        )
        if not refs:
            raise YaanSimError("no scenario files given, only goals files")
    if not refs:
        refs = [str(p) for p in profile.scenario_files()]
    scenarios = load_scenarios([profile.scenario_ref(r) for r in refs], model) if refs else []
    if package and profile.is_yaan:
        check_reaches_goal_year(scenarios, model)
    if args.reference is not None:  # before the run: a name that is not run fails at once
        from yaan_sim.outputs.workbook import check_reference_name

        check_reference_name(args.reference, [s.name for s in scenarios])
    goals = profile_goals(profile) if main_job and not profile.is_yaan else None
    from_year = getattr(args, "from_year", None)
    if getattr(args, "observed", None) and from_year is None:
        raise YaanSimError(
            "--observed needs --from YEAR for a run (the year whose observed state the run "
            "starts from); to compare results with observed figures use yaan-sim evaluate "
            "--observed"
        )
    if from_year is not None:
        from yaan_sim.analysis.reproject import reproject

        if not profile.is_yaan:
            raise YaanSimError("--from re-projects the Ya'an parks model; it needs its stocks")
        ds = reproject(
            model,
            scenarios or [],
            args.observed,
            from_year,
            engine=args.engine,
            argv=sys.argv,
        )
        print(reprojection_text(ds))
    else:
        ds = simulate(model, scenarios or None, engine=args.engine, argv=sys.argv)
    if goals:  # the goals' variables and elements, checked before anything is written
        from yaan_sim.outputs.evaluate import evaluate
        from yaan_sim.outputs.goal_table import format_table, summary

        table = evaluate(ds, goals, year=None)
    export(ds, output, force=args.force)
    print(revenue_table(ds) if profile.is_yaan else final_values(ds))
    if goals:
        print("\n" + format_table(summary(table), "table").rstrip())
    print(f"\nwrote {output} (engine: {ds.attrs['engine']})")
    if package:
        from yaan_sim.outputs.package import write_package

        if not profile.is_yaan and not goals:
            print(
                f"yaan-sim run: notice: no goals file for {profile.model_name} "
                f"({profile.goals_hint()}): no goal table; the charts show its stocks",
                file=sys.stderr,
            )
        paths = write_package(
            ds, out_dir, force=args.force, reference=args.reference, profile=profile, model=model
        )
        for path in paths:
            print(f"wrote {path}")
    return 0
