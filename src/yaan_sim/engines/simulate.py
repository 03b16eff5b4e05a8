"""Run scenarios through an engine and stack the results on a ``scenario`` dim."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
import xarray as xr
from xarray.indexes import PandasIndex

from yaan_sim.engines.base import Engine, resolve_engine
from yaan_sim.engines.prerun import StartState, check_keep, check_start_state, prepare_runs
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.dataset import index_coordinate, on_time_grid
from yaan_sim.outputs.results import finish, region_coords, stack_scenarios
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
    seed: int | None = 0,
    sample_overrides: Mapping[str, xr.DataArray] | None = None,
    return_vars: Sequence[str] | None = None,
    argv: Sequence[str] | None = None,
    notify: Callable[[str], None] | None = None,
    start_state: StartState | None = None,
    keep: str | None = None,
) -> xr.Dataset:
    """Run the model once per scenario and return one xarray.Dataset.

    ``scenarios`` None runs the .mdl's defaults (dims ``time, park, ...``); a list of
    Scenario objects adds a leading ``scenario`` dim. ``horizon`` overrides the
    scenarios' and the model's horizon.

    ``samples`` N runs an ensemble (a ``sample`` dim): each scenario's ``uncertain:``
    block is drawn with ``numpy.random.default_rng(seed)`` (the same draws for every
    scenario: common random numbers; seed 0 unless given, so a run repeats), and
    ``sample_overrides`` ({Vensim name: DataArray with a ``sample`` dim}, e.g. from a
    Latin hypercube) is applied on top.

    An ensemble keeps (``keep="needed"``, its default) the variables the goals and
    charts read, or ``return_vars``: what evaluating and charting it needs, in a fraction
    of the time and memory. ``keep="all"`` keeps every variable (or ``return_vars``). Both
    keep every saved time, so that a year's total is taken as a single run's is. A
    single run keeps everything.

    ``engine``: ``"auto"`` (the vector engine where it can run the model, else PySD),
    or a name of :func:`yaan_sim.engines.base.engine_names`. Notices (such as a fallback
    to PySD) go to ``notify``, by default stderr.

    History, then policy: when the horizon starts after the model's INITIAL TIME (2013,
    the first year with park data), the run starts at the model's start and the results
    keep those years as history; the scenarios' levers act from the horizon's start (the
    plan start, ``ds.attrs["plan_start"]``), the .mdl's defaults (the pre-plan policy)
    before it. See :func:`history_then_policy`.

    ``start_state`` (a :class:`~yaan_sim.engines.prerun.StartState`: the stocks at a time
    T, e.g. the observed 2018 state of :func:`yaan_sim.analysis.reproject.reproject`)
    starts the run at T from those stocks instead of from the model's start; the results
    begin at T (``ds.attrs["start_time"]``) and the scenarios' levers act as they would
    at T in a run from the start.
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
    state = None if start_state is None else check_start_state(model, start_state, plan.horizon)
    runner, notices = resolve_engine(model, engine)
    for msg in notices:
        (notify or notice_printer)(msg)
    runs = []
    each: list[ScenarioLike | None] = list(plan.scenarios) or [None]
    # one scenario's run made with its scenario dim (stack_scenarios then only names it)
    lead: dict[str, object] = (
        {"lead_dim": "scenario"}
        if len(plan.scenarios) == 1 and plan.samples is None and takes_lead_dim(type(runner))
        else {}
    )
    for sc, h in zip(each, plan.horizons, strict=True):
        overrides = sc.overrides(model, h) if sc is not None else {}
        if plan.samples is not None:
            overrides.update(_draws(sc, plan.samples, plan.seed))
            overrides.update(sample_overrides or {})
        if state is None:
            run_h, overrides = history_then_policy(model, overrides, h)
            extra = dict(lead)
        else:  # from the given state: the levers as they are from then on
            run_h = Horizon(state.time, h.stop, h.step, h.saveper)
            overrides = levers_from_plan_start(model, overrides, run_h, h.start)
            extra = {"start_state": state.for_scenario(getattr(sc, "name", None)), **lead}
        runs.append(
            runner.run(overrides, run_h, samples=plan.samples, return_vars=return_vars, **extra)
        )
    if plan.scenarios:
        park = runs[0].variables.get("park")
        regions = region_coords(model, None if park is None else park.values)
        ds = stack_scenarios(runs, plan.scenarios, regions)
    else:
        ds = runs[0]
    ds = finish(
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
    if state is not None:
        ds.attrs["start_time"] = state.time
    return ds


@functools.lru_cache(maxsize=32)
def takes_lead_dim(engine: type[Engine]) -> bool:
    """Whether an engine's ``run`` takes ``lead_dim`` (the vector engines: one run made
    with its ``scenario`` dim, so that stacking one scenario does not make every variable
    again); read from its signature, so that a subclass whose ``run`` lacks it is not
    given it."""
    try:
        return "lead_dim" in inspect.signature(engine.run).parameters
    except (AttributeError, TypeError, ValueError):
        return False


def _draws(scenario: ScenarioLike | None, samples: int, seed: int | None) -> dict:
    """The scenario's uncertain block drawn for ``samples`` samples (fresh generator each)."""
    uncertain = scenario.uncertain if scenario is not None else None
    if not uncertain:
        return {}
    return uncertain.sample(np.random.default_rng(seed), samples)


# --- history, then policy -----------------------------------------------------------------
def history_horizon(model: ModelLike, plan_horizon: Horizon) -> Horizon:
    """The horizon actually integrated: from the model's start (its history) when the
    plan's horizon starts later, so the plan-start state is what the history reaches."""
    start = min(model.default_horizon.start, plan_horizon.start)
    return Horizon(start, plan_horizon.stop, plan_horizon.step, plan_horizon.saveper)


def history_then_policy(
    model: ModelLike, overrides: Mapping[str, object], plan_horizon: Horizon
) -> tuple[Horizon, dict]:
    """The horizon to integrate and the overrides to apply for a run whose levers act from
    ``plan_horizon.start``: every run (``simulate`` and the run layer) goes through here."""
    run_h = history_horizon(model, plan_horizon)
    return run_h, levers_from_plan_start(model, overrides, run_h, plan_horizon.start)


def levers_from_plan_start(
    model: ModelLike, overrides: Mapping[str, object], run_horizon: Horizon, plan_start: float
) -> dict:
    """Each lever override holds the .mdl's default (the pre-plan policy) before the plan start.

    A scenario's levers act from its horizon's start (the plan start, 2016); over the
    history before it the model runs with the .mdl's lever defaults. Overrides of other
    constants (uncertain parameters, a design's values) apply over the whole run. Returns
    lever overrides on the run's integration grid, dims ``(time, [sample,] *lever dims)``.
    """
    times = run_horizon.times()
    before = times < plan_start - 1e-9
    if not before.any():
        return dict(overrides)
    out = {}
    time_index = None  # the run grid's index, made once for every lever
    seen: dict = {}  # checks of coordinates the levers share (one grid, one park list)
    after_t = times[~before]
    for name, value in overrides.items():
        meta = model.meta.get(name) or model.by_py_name.get(name)
        if meta is None or not meta.is_lever:
            out[name] = value
            continue
        if not isinstance(value, xr.DataArray):
            value = xr.DataArray(float(value))  # type: ignore[arg-type]  # a number, checked upstream
        if time_index is None:
            time_index = index_coordinate("time", times)
        out[name] = _history_then(
            value, model.default_value(meta.name, copy=False), after_t, before, time_index, seen
        )
    return out


def _history_then(
    value: xr.DataArray,
    default: xr.DataArray,
    after_t: np.ndarray,
    before: np.ndarray,
    time_index: tuple[xr.Variable, PandasIndex],
    seen: dict,
) -> xr.DataArray:
    """``default`` over the times ``before``, then ``value``, dims ``(time, *value's others)``.

    In numpy where the value is on the grid already and shares the default's labels (the
    usual case: one lever's settings, with or without a sample dim); else with xarray. Read
    through Variables and built with the shared time index: a DataArray per step (coords,
    transpose) cost ~0.7 ms a lever, more than the engine's work on it. ``seen`` keeps
    the answers of the coordinate checks for the coordinate objects the levers share
    (reading a coordinate's values and comparing them took ~60 us a lever)."""
    others = [d for d in value.dims if d != "time"]
    labels = value.coords.variables

    def same(a: object, b: object, compare: Callable) -> bool:
        key = (id(a), id(b))  # both kept alive in ``seen`` with the answer
        if key not in seen:
            seen[key] = (a, b, compare(np.asarray(a), np.asarray(b)))
        return seen[key][2]

    on_grid = "time" not in value.dims or same(_labels(value, "time"), after_t, _same_times)
    if on_grid and all(
        d in others and d in labels and same(_labels(default, d), _labels(value, d), np.array_equal)
        for d in default.dims
    ):
        var = value.variable
        after = var.values  # in numpy: a Variable's transpose makes a Variable
        if "time" in var.dims:
            after = np.moveaxis(after, var.dims.index("time"), 0)
        sizes = dict(zip(var.dims, var.shape, strict=True))
        after = np.broadcast_to(after, (after_t.size, *[sizes[d] for d in others]))
        order = [default.dims.index(d) for d in others if d in default.dims]
        history = np.transpose(default.variable.values, order)
        history = history.reshape([sizes[d] if d in default.dims else 1 for d in others])
        like, dims = value, ("time", *others)
    else:
        if "time" in value.dims:
            a = value.astype(float).interp(time=after_t, kwargs={"fill_value": "extrapolate"})
        else:
            a = value.astype(float).expand_dims(time=after_t)
        a = a.transpose("time", ...)
        # the default on the value's labels, in the value's order (an outer join would
        # keep the default's order under the value's labels)
        first = a.isel(time=0, drop=True)
        default, _ = xr.broadcast(xr.align(default, first, join="right")[0], first)
        history, after = default.transpose(*a.dims[1:]).values, a.values
        like, dims = a, a.dims
    n = int(before.sum())
    block = np.concatenate(  # one block, not xr.concat (which aligns each lever's coords)
        [np.broadcast_to(history, (n, *after.shape[1:])), after], dtype=float
    )
    return on_time_grid(block, dims, like, time_index, value.attrs)


def _labels(da: xr.DataArray, dim: Hashable) -> object:
    """The labels of ``da`` along ``dim``: its pandas index, one object for every DataArray
    made on one grid, where it has one; else the coordinate's values."""
    index = da.xindexes.get(dim)
    return index.index if isinstance(index, PandasIndex) else da.coords.variables[dim].values


def _same_times(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal to 1e-9 (``np.allclose(a, b, rtol=0, atol=1e-9)`` for finite times, 5x
    faster)."""
    return a.shape == b.shape and (a.size == 0 or float(np.max(np.abs(a - b))) <= 1e-9)
