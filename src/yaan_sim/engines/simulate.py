"""Run scenarios through an engine and stack the results on a ``scenario`` dim."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from yaan_sim.engines.base import resolve_engine
from yaan_sim.engines.prerun import check_keep, prepare_runs
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.results import finish, stack_scenarios
from yaan_sim.protocols import ModelLike, ScenarioLike


def notice_printer(msg: str) -> None:
    """Show a notice on stderr, as the command line does."""
    print(f"yaan-sim: notice: {msg}", file=sys.stderr)


def simulate(
    model: ModelLike,
    scenarios: Sequence[ScenarioLike] | None = None,
    *,
    engine: str = "auto",
    horizon: Horizon | None = None,
    samples: int | None = None,
    seed: int | None = None,
    sample_overrides: Mapping[str, xr.DataArray] | None = None,
    return_vars: Sequence[str] | None = None,
    argv: Sequence[str] | None = None,
    notify: Callable[[str], None] | None = None,
    keep: str | None = None,
) -> xr.Dataset:
    """Run the model once per scenario and return one xarray.Dataset.

    ``scenarios`` None runs the .mdl's defaults (dims ``time, park, ...``); a list of
    Scenario objects adds a leading ``scenario`` dim. ``horizon`` overrides the
    scenarios' and the model's horizon.

    ``samples`` N runs an ensemble (a ``sample`` dim): each scenario's ``uncertain:``
    block is drawn with ``numpy.random.default_rng(seed)`` (the same draws for every
    scenario: common random numbers), and ``sample_overrides`` ({Vensim name: DataArray
    with a ``sample`` dim}, e.g. from a Latin hypercube) is applied on top.

    An ensemble keeps (``keep="needed"``, its default) the variables the goals and
    charts read, or ``return_vars``, at whole years: what evaluating and charting it
    needs, in a fraction of the time and memory. ``keep="all"`` keeps every variable
    (or ``return_vars``) at every saved time. A single run keeps everything.

    ``engine``: ``"auto"`` (the vector engine where it can run the model, else PySD),
    or a name of :func:`yaan_sim.engines.base.engine_names`. Notices (such as a fallback
    to PySD) go to ``notify``, by default stderr.
    """
    keep = check_keep(keep, samples)
    if keep == "needed" and return_vars is None:
        from yaan_sim.analysis.runner import resolve_return_vars

        return_vars = resolve_return_vars(None, model=model)
    plan = prepare_runs(
        model,
        scenarios,
        horizon=horizon,
        samples=samples,
        seed=seed,
        return_vars=return_vars,
        sample_overrides=sample_overrides,
        keep=keep,
    )
    runner, notices = resolve_engine(model, engine)
    for msg in notices:
        (notify or notice_printer)(msg)
    runs = []
    each: list[ScenarioLike | None] = list(plan.scenarios) or [None]
    for sc, h in zip(each, plan.horizons, strict=True):
        overrides = sc.overrides(model, h) if sc is not None else {}
        if plan.samples is not None:
            overrides.update(_draws(sc, plan.samples, plan.seed))
            overrides.update(sample_overrides or {})
        runs.append(runner.run(overrides, h, samples=plan.samples, return_vars=return_vars))
    ds = stack_scenarios(runs, plan.scenarios) if plan.scenarios else runs[0]
    return finish(
        ds,
        model,
        plan.scenarios,
        plan.horizon,
        engine=runner.name,
        seed=plan.seed,
        samples=plan.samples,
        argv=argv,
        kind="simulate" if not sample_overrides else "designed ensemble",
        return_vars=return_vars,
    )


def _draws(scenario: ScenarioLike | None, samples: int, seed: int | None) -> dict:
    """The scenario's uncertain block drawn for ``samples`` samples (fresh generator each)."""
    uncertain = scenario.uncertain if scenario is not None else None
    if not uncertain:
        return {}
    return uncertain.sample(np.random.default_rng(seed), samples)
