"""The run layer: design -> chunks -> engine -> results, for every "many runs" feature.

Ensembles, batches, sensitivity analysis and goal-seeking all run through
:func:`run_jobs`. A :class:`Job` is one scenario's lever values (a
:class:`~yaan_sim.scenario.fixed.FixedScenario`), a horizon, and a design
(``{Vensim name: DataArray with a sample dim}``, from :mod:`yaan_sim.analysis.sampling`;
None for a single run). Each design is cut into chunks of ``chunk_size`` samples, and
each chunk is one engine call, made in this process, on local worker processes or on a
dask cluster (:mod:`yaan_sim.analysis.distributed`). Finished chunks go to a
:class:`PartStore`: memory, or a folder of netCDF files that a batch resumes from. Then
each job's chunks are joined in order, with the design's values as ``sampled_<name>``
variables so every run can be traced to its inputs. The same seed gives the same
numbers whatever the chunk size and wherever the chunks run.

The checks before a run (:func:`yaan_sim.engines.prerun.prepare_runs`) are the caller's:
it makes them before it writes anything.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from tqdm import tqdm

from yaan_sim.analysis.distributed import model_spec, run_chunks, worker_model
from yaan_sim.analysis.sampling import Design
from yaan_sim.engines.base import get_engine, resolve_engine
from yaan_sim.engines.prerun import check_memory
from yaan_sim.engines.simulate import history_then_policy
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.results import annotate
from yaan_sim.protocols import ModelLike
from yaan_sim.scenario.fixed import FixedScenario

DEFAULT_CHUNK = 5000
SAMPLED_PREFIX = "sampled_"


@dataclass(frozen=True)
class Job:
    """One scenario's runs: its lever values, its horizon and its design (None: one run).

    ``record_inputs`` adds the design's values to the results as ``sampled_*``.
    """

    scenario: FixedScenario
    horizon: Horizon
    design: Design | None = None
    record_inputs: bool = True

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass
class RunOutput:
    """The joined results of every job (in order), the engine used, and which chunks
    were run now and which were found saved (by their :meth:`PartStore.key`)."""

    datasets: list[xr.Dataset]
    engine: str
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


class PartStore:
    """Where finished chunks wait to be joined: in memory, or as netCDF files in
    ``folder`` (each written atomically as soon as it is done, so a batch can resume)."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, xr.Dataset] = {}

    @staticmethod
    def key(name: str, chunk: int | None) -> str:
        """``NAME.nc`` for a single run, ``NAME.chunk-00003.nc`` for chunk 3 of a design."""
        return f"{name}.nc" if chunk is None else f"{name}.chunk-{chunk:05d}.nc"

    def has(self, key: str) -> bool:
        if self.folder is None:
            return key in self._memory
        return (self.folder / key).is_file()

    def save(self, key: str, ds: xr.Dataset) -> None:
        if self.folder is None:
            self._memory[key] = ds
            return
        from yaan_sim.outputs.results import to_netcdf

        to_netcdf(ds, self.folder / key, force=True)

    def load(self, key: str) -> xr.Dataset:
        if self.folder is None:
            return self._memory[key]
        return xr.load_dataset(self.folder / key)


def chunk_bounds(n: int, chunk_size: int | None) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in chunks of ``chunk_size``."""
    size = int(chunk_size or DEFAULT_CHUNK)
    if size < 1:
        raise YaanSimError(f"chunk size must be at least 1, got {chunk_size}")
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def horizon_tuple(h: Horizon) -> tuple[float, float, float, float]:
    return (float(h.start), float(h.stop), float(h.step), float(h.saveper))


def resolve_return_vars(return_vars: Any, goals: Any = None, model: Any = None) -> list[str] | None:
    """``None``: the variables the goals and the charts need (default: the goals of
    ``model``'s profile, the plan's for the Ya'an model; for another model also the stocks
    its charts show; every variable where there is nothing to go by); ``"all"``: every
    variable (None); else a list."""
    if return_vars is None:
        from yaan_sim.model.profile import profile_for
        from yaan_sim.outputs.gaps import goal_variables
        from yaan_sim.outputs.goals import profile_goals

        profile = profile_for(model) if model is not None else None
        if goals is None and profile is not None and profile.is_yaan:
            return list(_plan_goal_variables()) or None
        if goals is None and profile is not None:
            goals = profile_goals(profile)
        names = goal_variables(goals) if goals else []
        if profile is not None and not profile.is_yaan:  # the stocks chart
            names += [s for s in profile.stocks(model) if s not in names]
        return names or None
    if return_vars == "all":
        return None
    return list(return_vars)


_GOAL_VARS: dict[tuple[int, int], tuple[str, ...]] = {}


def _plan_goal_variables() -> tuple[str, ...]:
    """The variables the plan's goals read: its goals file read again only when it
    changes (reading and validating it costs ~50 ms, each ensemble call asks)."""
    from yaan_sim.outputs.gaps import goal_variables
    from yaan_sim.outputs.goals import DEFAULT_GOALS, load_goals

    try:
        st = DEFAULT_GOALS.stat()
    except OSError:  # not cached: load_goals says what is wrong
        return tuple(goal_variables(load_goals()))
    key = (st.st_mtime_ns, st.st_size)
    if key not in _GOAL_VARS:  # one entry: the file as it is now
        _GOAL_VARS.clear()
        _GOAL_VARS[key] = tuple(goal_variables(load_goals()))
    return _GOAL_VARS[key]


_SPEC_CACHE: dict[str, dict] = {}


def _spec(model: ModelLike) -> dict:
    """What a worker needs to rebuild the model (read once per model)."""
    key = model.mdl_sha256
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = model_spec(model)
    return _SPEC_CACHE[key]


def make_payloads(
    model: ModelLike,
    job: Job,
    *,
    return_vars: Sequence[str] | None,
    engine: str,
    chunk_size: int | None = None,
    spec: dict | None = None,
) -> list[dict]:
    """The chunks of one job, as picklable payloads (see :func:`run_chunk`)."""
    base = job.scenario.overrides(model, job.horizon)
    common = {
        "spec": spec,
        "name": job.name,
        "overrides": base,
        "horizon": horizon_tuple(job.horizon),
        "return_vars": list(return_vars) if return_vars is not None else None,
        "engine": engine,
    }
    if job.design is None:
        return [common | {"design": None, "samples": None, "key": PartStore.key(job.name, None)}]
    bounds = chunk_bounds(job.design.samples, chunk_size)
    return [
        common
        | {
            "design": job.design.slice(a, b),
            "samples": b - a,
            "key": PartStore.key(job.name, i),
        }
        for i, (a, b) in enumerate(bounds)
    ]


def run_chunk(payload: Mapping[str, Any], model: ModelLike | None = None) -> xr.Dataset:
    """Run one chunk (a module-level function, so dask can send it to workers).

    ``payload``: ``spec`` (the model's text, for workers: ``model`` None), ``overrides``
    (the scenario's levers), ``design`` ({name: DataArray with ``sample``} or None),
    ``samples``, ``horizon`` (start, stop, step, saveper), ``return_vars``, ``engine``.
    """
    if model is None:
        model = worker_model(payload["spec"])
    engine = get_engine(model, payload["engine"])
    overrides = dict(payload["overrides"])
    overrides.update(payload.get("design") or {})
    # history, then policy: from the model's start, the levers acting from the plan start
    plan_horizon = Horizon(*payload["horizon"])
    horizon, overrides = history_then_policy(model, overrides, plan_horizon)
    ds = engine.run(
        overrides,
        horizon,
        samples=payload["samples"],
        return_vars=payload["return_vars"],
    )
    if horizon.start < plan_horizon.start:  # as results.finish records it: the goals'
        ds.attrs["plan_start"] = float(plan_horizon.start)  # yearly figures read it
    return ds


def assemble(chunks: Sequence[xr.Dataset], design: Design | None) -> xr.Dataset:
    """One job's results from its chunks (in order), with the design's values as
    ``sampled_<name>`` variables (none when ``design`` is None)."""
    ds = (
        xr.concat(list(chunks), dim="sample", coords="minimal", compat="override", join="override")
        if len(chunks) > 1
        else chunks[0]
    )
    if "sample" not in ds.dims:
        return ds
    ds = ds.assign_coords(sample=np.arange(ds.sizes["sample"]))
    for name, da in (design.values if design is not None else {}).items():
        key = SAMPLED_PREFIX + re.sub(r"\W+", "_", name.strip().lower())
        ds[key] = da.assign_coords(sample=np.arange(da.sizes["sample"]))
        ds[key].attrs.update(
            role="sampled input",
            vensim_name=name,
            long_name=f"sampled input: {da.attrs.get('long_name', name)}",
        )
    return ds


def run_jobs(
    model: ModelLike,
    jobs: Sequence[Job],
    *,
    return_vars: Sequence[str] | None = None,
    engine: str = "auto",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    desc: str | None = None,
    unit: str = "chunk",
    store: PartStore | None = None,
    on_saved: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunOutput:
    """Run every job's chunks (skipping those ``store`` already holds) and join them.

    ``engine`` is resolved once, here (notices go to ``notify``), so every chunk, local
    or remote, runs on the same engine. ``on_saved(key)`` is called after each chunk is
    stored (a batch uses it to report, tests to interrupt). ``progress`` shows a tqdm bar
    on stderr.
    """
    chosen, notices = resolve_engine(model, engine)
    for msg in notices:
        if notify is not None:
            notify(msg)
    store = store if store is not None else PartStore()
    remote = bool(scheduler) or bool(workers and workers > 1)
    spec = _spec(model) if remote else None
    per_job = [
        make_payloads(
            model,
            job,
            return_vars=return_vars,
            engine=chosen.name,
            chunk_size=chunk_size,
            spec=spec,
        )
        for job in jobs
    ]
    payloads = [p for ps in per_job for p in ps]
    reused = [p["key"] for p in payloads if store.has(p["key"])]
    todo = [p for p in payloads if not store.has(p["key"])]
    ran: list[str] = []
    bar = tqdm(
        total=len(payloads),
        initial=len(reused),
        unit=unit,
        desc=desc,
        disable=True if not progress else None,  # None: shown on a terminal only (in a
        file=sys.stderr,  # pipe or a log each update was a line of its own)
        dynamic_ncols=True,
    )

    def saved(i: int, result: xr.Dataset) -> None:
        key = todo[i]["key"]
        store.save(key, result)
        ran.append(key)
        bar.update(1)
        if on_saved is not None:
            on_saved(key)

    try:
        run_chunks(
            run_chunk, todo, scheduler=scheduler, workers=workers, model=model, on_result=saved
        )
    finally:
        bar.close()
    datasets = [
        assemble([store.load(p["key"]) for p in ps], job.design if job.record_inputs else None)
        for job, ps in zip(jobs, per_job, strict=True)
    ]
    return RunOutput(datasets, chosen.name, ran, reused)


def run_design(
    model: ModelLike,
    scenario: FixedScenario,
    values: Mapping[str, xr.DataArray],
    horizon: Horizon,
    *,
    engine: str = "auto",
    return_vars: Sequence[str] | None = None,
    chunk_size: int | None = None,
) -> xr.Dataset:
    """Candidate values (``{Vensim name: DataArray (sample, ...)}``) run in this process
    on ``scenario``'s levers: dims ``(sample, time, ...)``, with units and names."""
    design = Design("given", None, [], None, dict(values))
    check_memory(model, design.samples, horizon, return_vars)
    out = run_jobs(
        model,
        [Job(scenario, horizon, design, record_inputs=False)],
        return_vars=return_vars,
        engine=engine,
        chunk_size=chunk_size,
    )
    return annotate(out.datasets[0], model)
