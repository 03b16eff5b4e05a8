"""Batch runs: every scenario of a folder, saved part by part, resumable.

Example::

    res = run_batch(model, "scenarios/", "out/batch.nc")
    res.summary          # one row per scenario and goal: status (or P(met))

Work is cut into *parts*: one per scenario, or, for ensembles (``samples``), one per chunk
of samples of each scenario. Each part is written atomically to ``OUTPUT.parts/`` as soon
as it is done, with ``batch.json`` recording what the batch is (model and scenario hashes,
samples, seed, method, horizon, variables, chunk size). So an interruption (Ctrl-C, a
killed process, a lost machine) leaves every finished part saved, and ``resume=True``
(``--resume``) runs only the missing ones, after checking that ``batch.json`` still
describes the same batch. When all parts are there they are combined into ``OUTPUT``
(netCDF, CSV or Excel by suffix), the parts folder is removed, and a summary against the
goals is returned.

Nothing is overwritten without ``force``: an existing ``OUTPUT`` or a parts folder of an
unfinished batch stop the run before any work, with a message saying which flag to use.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.runner import DEFAULT_CHUNK, Job, PartStore, resolve_return_vars, run_jobs
from yaan_sim.analysis.sampling import sample_design
from yaan_sim.engines.prerun import prepare_runs
from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.export import check_suffix, export
from yaan_sim.outputs.manifest import EnsembleRecord
from yaan_sim.outputs.results import check_writable, finish, remove_stale_temps, stack_scenarios
from yaan_sim.protocols import ModelLike
from yaan_sim.scenario.fixed import FixedScenario

if TYPE_CHECKING:
    from yaan_sim.scenario import Scenario

PARTS_SUFFIX = ".parts"
STATE_FILE = "batch.json"
# Version 2: a part holds one run (or chunk) without a scenario dim, as the run layer makes it.
PARTS_FORMAT = 2


@dataclass
class BatchResult:
    """A finished batch.

    Attributes
    ----------
    output : Path
    dataset : xarray.Dataset
    summary : pandas.DataFrame
        One row per scenario x binding goal row: status, value, target (and p_met).
    ran, reused : list of str
        Parts run now, and parts taken from an earlier, interrupted run.
    """

    output: Path
    dataset: xr.Dataset
    summary: pd.DataFrame
    ran: list = field(default_factory=list)
    reused: list = field(default_factory=list)
    #: why there is no summary (results without what the goals need), else ""
    no_summary: str = ""


def parts_dir(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + PARTS_SUFFIX)


def collect_scenarios(
    sources: str | Path | Sequence[str | Path], model: ModelLike
) -> list[Scenario]:
    """Scenario objects from folders and files; every file validated first, all problems
    reported at once."""
    from yaan_sim.paths import SCENARIOS_DIR
    from yaan_sim.scenario import load_scenarios, scenario_files

    files: list[Path] = []
    for src in [sources] if isinstance(sources, (str, Path)) else list(sources):
        p = Path(src)
        if not p.exists() and not p.is_absolute():  # a folder of the checkout's scenarios
            p = next((c for c in (SCENARIOS_DIR / p, SCENARIOS_DIR.parent / p) if c.is_dir()), p)
        if p.is_dir():
            found = scenario_files(p)
            if not found:
                raise YaanSimError(f"{p} holds no scenario file (*.yaml other than *-goals.yaml)")
            files += found
        else:
            files.append(p)
    return load_scenarios(files, model)


def _fingerprint(
    model: ModelLike,
    scenarios: Sequence[Scenario],
    samples: int | None,
    seed: int | None,
    method: str,
    horizon: Horizon,
    return_vars: Sequence[str] | None,
    chunk_size: int,
) -> dict:
    return {
        "parts_format": PARTS_FORMAT,
        "model_sha256": model.mdl_sha256,
        "scenarios": [{"name": s.name, "sha256": s.sha256} for s in scenarios],
        "samples": samples,
        "seed": seed if samples else None,
        "method": method if samples else None,
        "horizon": [horizon.start, horizon.stop, horizon.step, horizon.saveper],
        "return_vars": return_vars,
        "chunk_size": chunk_size if samples else None,
    }


def _prepare_parts(folder: Path, fingerprint: dict, resume: bool, force: bool) -> None:
    state = folder / STATE_FILE
    if folder.exists():
        if resume and state.is_file():
            try:
                old = json.loads(state.read_text(encoding="utf-8"))
            except ValueError:
                raise YaanSimError(
                    f"{state} is not readable: remove {folder} or pass --force "
                    "without --resume to start again"
                ) from None
            diff = [k for k in fingerprint if old.get(k) != fingerprint[k]]
            if diff:
                raise YaanSimError(
                    f"the saved parts in {folder} are from a different batch (it "
                    f"differs in: {', '.join(diff)}); pass --force without "
                    "--resume to start again, or restore the same inputs"
                )
            remove_stale_temps(folder)  # writes cut short by a kill
            return
        if not force and not resume:
            raise YaanSimError(
                f"{folder} holds the saved parts of an unfinished batch: pass "
                "--resume to continue it, or --force to start again"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tmp = folder / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(fingerprint, indent=1), encoding="utf-8")
    tmp.replace(state)


def run_batch(
    model: ModelLike,
    sources: str | Path | Sequence[str | Path],
    output: str | Path,
    *,
    samples: int | None = None,
    seed: int | None = 0,
    method: str = "mc",
    horizon: Horizon | None = None,
    return_vars: Any = None,
    engine: str = "auto",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    year: int | None = 2020,
    keep_parts: bool = False,
    on_part: Callable[[str], None] | None = None,
    argv: Sequence[str] | None = None,
) -> BatchResult:
    """Run every scenario of ``sources`` (folders and/or files) and write ``output``.

    Parameters
    ----------
    samples : int, optional
        Run each scenario as an ensemble of this many samples of its ``uncertain:`` block
        (every scenario of an ensemble batch needs one). Default: one run per scenario.
    resume : bool
        Continue an interrupted batch: reuse the saved parts.
    force : bool
        Overwrite ``output`` and discard saved parts of another batch.
    year : int, optional
        The summary's evaluation year; None: each goal at its own year (another model's).
    on_part : callable, optional
        ``on_part(name)`` after each part is saved (tests use it to interrupt).
    """
    output = Path(output)
    check_suffix(output)
    check_writable(output, force)
    scenarios = collect_scenarios(sources, model)
    if samples:
        rv = resolve_return_vars(return_vars, model=model)
    else:
        rv = None if return_vars in (None, "all") else list(return_vars)
        seed = None
    plan = prepare_runs(  # an ensemble batch keeps what `ensemble` keeps
        model, scenarios, horizon=horizon, samples=samples, seed=seed, return_vars=rv, keep="needed"
    )
    h = plan.horizon
    chunk = int(chunk_size or DEFAULT_CHUNK)
    if plan.samples:
        missing = [s.name for s in scenarios if not s.uncertain]
        if missing:
            raise YaanSimError(
                f"an ensemble batch needs an `uncertain:` block in every scenario; "
                f"{', '.join(missing)} have none: run them without --samples, or "
                "give the folder of uncertain scenarios"
            )
    folder = parts_dir(output)
    _prepare_parts(
        folder,
        _fingerprint(model, scenarios, plan.samples, plan.seed, method, h, rv, chunk),
        resume,
        force,
    )
    if not plan.samples and (scheduler or workers):
        print(
            "yaan-sim: notice: single runs take tens of milliseconds, so a batch without "
            "--samples runs in this process; --scheduler/--workers apply to ensembles",
            file=sys.stderr,
        )
        scheduler = workers = None
    jobs = [
        Job(
            FixedScenario.of(s, model, h),
            h,
            sample_design(s.uncertain, plan.samples, method, plan.seed) if plan.samples else None,
        )
        for s in scenarios
    ]
    label = (lambda key: key) if plan.samples else (lambda key: key.removesuffix(".nc"))
    out = run_jobs(
        model,
        jobs,
        return_vars=rv,
        engine=engine,
        chunk_size=chunk,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        desc="batch",
        unit="chunk" if plan.samples else "scenario",
        store=PartStore(folder),
        on_saved=None if on_part is None else (lambda key: on_part(label(key))),
    )
    ds = finish(
        stack_scenarios(out.datasets, scenarios),
        model,
        scenarios,
        h,
        seed=plan.seed,
        samples=plan.samples,
        argv=argv,
        engine=out.engine,
        kind="batch",
        return_vars=rv,
        ensemble=EnsembleRecord(method, chunk, scheduler, workers) if plan.samples else None,
        batch_sources=[
            str(x) for x in ([sources] if isinstance(sources, (str, Path)) else sources)
        ],
    )
    export(ds, output, force=force)
    if not keep_parts:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        summary, why = summarise(ds, year, goals=_profile_goals(model)), ""
    except ResultsError as exc:  # e.g. a model without the goals' variables: results kept
        summary, why = pd.DataFrame(), str(exc)
    return BatchResult(
        output, ds, summary, [label(k) for k in out.ran], [label(k) for k in out.reused], why
    )


def _profile_goals(model: ModelLike) -> Any:
    """The goals of the model's profile: the plan's, another model's goals file, or None."""
    from yaan_sim.model.profile import profile_for
    from yaan_sim.outputs.goals import load_goals, profile_goals

    profile = profile_for(model)
    return load_goals() if profile.is_yaan else profile_goals(profile)


def summarise(ds: xr.Dataset, year: int | None = 2020, goals: Any = None) -> pd.DataFrame:
    """The binding goal rows of every scenario: status, value, target, gap (and p_met);
    no rows for another model without goals (``goals`` None and no ``park`` dim).
    ``year`` None: each goal at its own year (another model's goals)."""
    from yaan_sim.outputs.calendar_years import calendar_years
    from yaan_sim.outputs.evaluate import evaluate

    if goals is None and "park" not in ds.dims:
        return pd.DataFrame(columns=["scenario", "goal_id", "scope", "scope_label", "status"])
    whole = calendar_years(ds["time"].values)
    if year is not None and whole:  # a shorter run: its last whole calendar year
        year = min(year, whole[-1])
    table = evaluate(ds, goals, year=year)
    table = table[table["binding"]]
    cols = [
        c
        for c in (
            "scenario",
            "goal_id",
            "scope",
            "scope_label",
            "target",
            "value",
            "unit",
            "gap",
            "status",
            "p_met",
        )
        if c in table.columns
    ]
    return table[cols].reset_index(drop=True)


def status_matrix(summary: pd.DataFrame) -> pd.DataFrame:
    """Scenario x goal: the status (or P(met) in % for ensembles), for printing."""
    df = summary.copy()
    df["goal"] = np.where(
        (df["scope"] == "city") | (df["scope_label"].astype(str) == ""),
        df["goal_id"],
        df["goal_id"] + ":" + df["scope_label"].astype(str),
    )
    if "p_met" in df.columns:
        df["cell"] = (100 * df["p_met"]).round(0).astype(int).astype(str) + "%"
    else:
        df["cell"] = df["status"]
    out = df.pivot(index="goal", columns="scenario", values="cell")
    return out.reindex(
        index=list(dict.fromkeys(df["goal"])), columns=list(dict.fromkeys(df["scenario"]))
    )
