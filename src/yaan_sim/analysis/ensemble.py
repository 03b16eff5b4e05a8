"""Ensembles: each scenario's ``uncertain:`` block sampled, and the samples run.

Example::

    import yaan_sim as ys
    from yaan_sim.scenario import load_scenario
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.outputs.evaluate import evaluate
    model = ys.load_model()
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    ens = run_ensemble(model, [sc], samples=1000, seed=1, method="lhs")
    evaluate(ens)            # p_met: the probability of meeting each goal

The design (:mod:`yaan_sim.analysis.sampling`) is drawn once, here, and run in chunks by
the run layer (:mod:`yaan_sim.analysis.runner`): in this process, on local worker
processes or on a dask cluster. The same seed gives the same numbers whatever the chunk
size and wherever the chunks run.

The results are one Dataset with a ``sample`` dim (and ``scenario`` dim), the variables
the goals need (``return_vars`` to change), and the sampled inputs as ``sampled_<name>``
variables (dims ``scenario, sample, *dims``), so every run can be traced to its inputs.
:func:`yaan_sim.outputs.export.export` writes it as netCDF, CSV or Excel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import xarray as xr

from yaan_sim.analysis.runner import DEFAULT_CHUNK, Job, resolve_return_vars, run_jobs
from yaan_sim.analysis.sampling import Design, sample_design
from yaan_sim.engines.prerun import check_keep, prepare_runs
from yaan_sim.engines.simulate import notice_printer
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.manifest import EnsembleRecord
from yaan_sim.outputs.results import finish, stack_scenarios
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.fixed import FixedScenario


def run_ensemble(
    model: ModelLike,
    scenarios: ScenarioLike | Sequence[ScenarioLike],
    samples: int,
    *,
    seed: int | None = 0,
    method: str = "mc",
    horizon: Horizon | None = None,
    return_vars: Any = None,
    engine: str = "auto",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    argv: Sequence[str] | None = None,
    posterior: str | Path | xr.Dataset | None = None,
    keep: str = "needed",
) -> xr.Dataset:
    """Sample each scenario's ``uncertain:`` block and run the samples.

    Parameters
    ----------
    model : YaanModel
    scenarios : Scenario or list of Scenario
        Each needs an ``uncertain:`` block. The same seed gives every scenario the same
        unit design (common random numbers where the blocks agree).
    samples : int
    seed : int
    method : {"mc", "lhs", "sobol"}
        See :func:`yaan_sim.analysis.sampling.sample_design`.
    horizon : Horizon, optional
        Default: the scenarios' (or the model's).
    return_vars : list of str, optional
        Variables to keep (PySD or Vensim names); default: those the goals and charts
        need. ``"all"`` keeps every variable.
    keep : {"needed", "all"}
        ``needed``: the variables the goals and charts need; ``all``: every variable,
        unless ``return_vars`` names some; both at every saved time (a year's figure is
        its total over the year).
    chunk_size : int, optional
        Samples per engine call (default 5000).
    scheduler, workers
        Where chunks run: see :func:`yaan_sim.analysis.distributed.run_chunks`.
    progress : bool
        A progress bar (tqdm, on stderr) over the chunks.
    posterior : path, optional
        A posterior file (``yaan-sim calibrate --posterior``): its draws, resampled with
        ``seed``, set the calibrated constants of every sample
        (:func:`yaan_sim.analysis.posterior.posterior_design`); the scenario then needs
        no ``uncertain:`` block.

    Returns
    -------
    xarray.Dataset
        Dims ``scenario, sample, time, park, ...``; ``sampled_*`` inputs; manifest with
        the method, seed and chunk size.
    """
    if isinstance(scenarios, (list, tuple)):
        listed = list(scenarios)
    else:
        listed = [cast(ScenarioLike, scenarios)]
    if not listed:
        raise YaanSimError(
            "no scenario given: an ensemble needs a scenario with an "
            "`uncertain:` block, e.g. uncertain/plan-uncertain.yaml"
        )
    keep = check_keep(keep, samples)
    if keep == "needed":
        rv = resolve_return_vars(return_vars, model=model)
    else:
        rv = None if return_vars in (None, "all") else list(return_vars)
    plan = prepare_runs(
        model, listed, horizon=horizon, samples=samples, seed=seed, return_vars=rv, keep=keep
    )
    if plan.samples is None:
        raise YaanSimError(f"an ensemble needs samples: a whole number >= 1, not {samples!r}")
    jobs = [
        Job(
            FixedScenario.of(sc, model, h),
            h,
            _design(model, sc, plan.samples, method, plan.seed, posterior),
        )
        for sc, h in zip(plan.scenarios, plan.horizons, strict=True)
    ]
    out = run_jobs(
        model,
        jobs,
        return_vars=rv,
        engine=engine,
        chunk_size=chunk_size,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        unit="chunks",
        notify=notice_printer,
    )
    return finish(
        stack_scenarios(out.datasets, plan.scenarios),
        model,
        plan.scenarios,
        plan.horizon,
        seed=plan.seed,
        samples=plan.samples,
        argv=argv,
        engine=out.engine,
        kind="ensemble",
        return_vars=rv,  # the variables kept (None: all), so a rerun keeps the same
        ensemble=EnsembleRecord(
            method,
            int(chunk_size or DEFAULT_CHUNK),
            scheduler,
            workers,
            posterior=_posterior_label(posterior),
        ),
    )


def _design(
    model: ModelLike,
    sc: ScenarioLike,
    samples: int,
    method: str,
    seed: int | None,
    posterior: str | Path | xr.Dataset | None,
) -> Design:
    """The scenario's own design, with the posterior's draws on top when one is given (a
    scenario then needs no ``uncertain:`` block)."""
    uncertain = getattr(sc, "uncertain", None)
    design = (
        sample_design(uncertain, samples, method, seed) if posterior is None or uncertain else None
    )
    if posterior is None:
        assert design is not None
        return design
    from yaan_sim.analysis.posterior import combine, posterior_design

    return combine(design, posterior_design(posterior, samples, seed, model), sc)


def _posterior_label(posterior: str | Path | xr.Dataset | None) -> str | None:
    """What the manifest records of the posterior: its path, or that it was in memory."""
    if posterior is None:
        return None
    return str(posterior) if isinstance(posterior, (str, Path)) else "in memory"
