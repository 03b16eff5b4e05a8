"""``yaan-sim run``: run scenarios (or the default set) and write the results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.cli._common import (
    check_outputs,
    engine_option,
    force_option,
    model_option,
    nonfinite_option,
)
from yaan_sim.errors import YaanSimError

DEFAULT_OUT_DIR = Path("out")
#: What the main job writes in --out-dir besides the results (outputs/report.py
#: write_main_job_outputs; charts/ is rewritten with them).
MAIN_JOB_FILES = ("goal_table.csv", "goal_table.md", "report.html", "report.en.html")


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
        "-o", "--output", metavar="OUT.nc", help="results file (default: OUT_DIR/runs.nc)"
    )
    p.add_argument(
        "--out-dir",
        default=str(DEFAULT_OUT_DIR),
        metavar="DIR",
        help="folder for the main job's outputs (default: out/)",
    )
    p.set_defaults(func=cmd_run)


def _is_goals_file(ref: str) -> bool:
    name = Path(ref).name
    return name.endswith(("-goals.yaml", "-goals.yml", ".goals.yaml")) or name == "goals.yaml"


def revenue_table(ds: xr.Dataset, year: float | None = None) -> str:
    """2020 (or the last saved year) revenue per park and the city total, as text."""
    times = ds["time"].values
    year = year if year is not None else (2020.0 if 2020.0 in times else float(times[-1]))
    rev = ds["revenue"].sel(time=year)
    cols = list(ds["scenario"].values) if "scenario" in rev.dims else ["value"]
    width = max(12, *(len(c) + 2 for c in cols))
    lines = [
        f"Revenue in {year:g} (yiyuan = 亿元 per year)",
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


def cmd_run(args: argparse.Namespace) -> int:
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.model.load import load_model
    from yaan_sim.model.profile import profile_for
    from yaan_sim.outputs.goals import profile_goals
    from yaan_sim.outputs.results import to_netcdf
    from yaan_sim.scenario import load_scenarios

    main_job = not args.scenarios
    out_dir = Path(args.out_dir)
    output = Path(args.output) if args.output is not None else out_dir / "runs.nc"
    if output.suffix.lower() != ".nc":
        raise YaanSimError(f"{output}: `yaan-sim run` writes netCDF: give -o FILE.nc")
    # every output is checked before the work, not after
    inputs = [*args.scenarios, args.model, profile_for(args.model).goals_path]
    if main_job or args.output is None:
        for folder in (out_dir, out_dir / "charts") if main_job else (out_dir,):
            if folder.exists() and not folder.is_dir():
                raise YaanSimError(f"{folder} is a file: --out-dir needs a folder there")
        out_dir.mkdir(parents=True, exist_ok=True)
    if main_job:
        check_outputs(*(out_dir / n for n in MAIN_JOB_FILES), force=args.force, inputs=inputs)
    check_outputs(output, force=args.force, inputs=inputs)

    model = load_model(args.model)
    profile = profile_for(model)
    refs = [r for r in args.scenarios if not _is_goals_file(r)]
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
    goals = profile_goals(profile) if main_job and not profile.is_yaan else None
    ds = simulate(model, scenarios or None, engine=args.engine, argv=sys.argv)
    if goals:  # the goals' variables and elements, checked before anything is written
        from yaan_sim.outputs.evaluate import evaluate, format_table, summary

        table = evaluate(ds, goals, year=None)
    to_netcdf(ds, output, force=args.force)
    print(revenue_table(ds) if profile.is_yaan else final_values(ds))
    if goals:
        print("\n" + format_table(summary(table), "table").rstrip())
    print(f"\nwrote {output} (engine: {ds.attrs['engine']})")
    if main_job:
        from yaan_sim.outputs.report import write_main_job_outputs

        if not profile.is_yaan and not goals:
            print(
                f"yaan-sim run: notice: no goals file for {profile.model_name} "
                f"({profile.goals_hint()}): no goal table; the charts show its stocks",
                file=sys.stderr,
            )
        paths = write_main_job_outputs(ds, out_dir, force=args.force, profile=profile, model=model)
        for path in paths:
            print(f"wrote {path}")
    return 0
