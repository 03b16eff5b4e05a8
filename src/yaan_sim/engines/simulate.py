"""Run scenarios through an engine and stack the results on a ``scenario`` dim."""

from __future__ import annotations

import os
import sys

import numpy as np
import xarray as xr

from yaan_sim.engines import pysd_engine as engine_pysd
from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.results import finish

ENGINES = ("auto", "vector", "jax", "pysd")


def _vector_engine(model, notices):
    """The vector engine for this model, or None (with a notice) where it cannot run it."""
    try:
        from yaan_sim.engines.vector import VectorModel
    except ImportError as exc:
        notices.append(f"vector engine unavailable ({exc}); using PySD")
        return None
    from yaan_sim.errors import UnsupportedConstructError

    try:
        return model.vector_model(VectorModel)
    except UnsupportedConstructError as exc:
        notices.append(f"{exc}; using PySD")
        return None


def resolve_engine(model, engine: str):
    """Return (engine name, vector model or None, notices)."""
    if engine not in ENGINES:
        raise YaanSimError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    notices: list[str] = []
    if engine == "pysd":
        return "pysd", None, notices
    vm = _vector_engine(model, notices)
    if engine == "jax":  # optional extra: the vector engine's plan run by XLA
        from yaan_sim.engines.jax import engine_for

        return "jax", engine_for(vm, notices), notices
    if vm is None and engine == "vector":
        raise YaanSimError(
            "the vector engine cannot run this model: " + "; ".join(notices) + ". Use --engine pysd"
        )
    return ("vector" if vm is not None else "pysd"), vm, notices


def simulate(
    model,
    scenarios=None,
    *,
    engine: str = "auto",
    horizon=None,
    samples=None,
    seed=None,
    sample_overrides=None,
    return_vars=None,
    argv=None,
    notify=None,
) -> xr.Dataset:
    """Run the model once per scenario and return one xarray.Dataset.

    ``scenarios`` None runs the .mdl's defaults (dims ``time, park, ...``); a list of
    Scenario objects adds a leading ``scenario`` dim. ``horizon`` overrides the
    scenarios' and the model's horizon.

    ``samples`` N runs an ensemble (a ``sample`` dim): each scenario's ``uncertain:``
    block is drawn with ``numpy.random.default_rng(seed)`` (the same draws for every
    scenario: common random numbers), and ``sample_overrides`` ({Vensim name: DataArray
    with a ``sample`` dim}, e.g. from a Latin hypercube) is applied on top.
    """
    name, vm, notices = resolve_engine(model, engine)
    for n in notices:
        (notify or (lambda msg: print(f"yaan-sim: notice: {msg}", file=sys.stderr)))(n)
    single = scenarios is None
    scenario_list = [] if single else list(scenarios)
    if not single and not scenario_list:
        raise YaanSimError(
            "no scenarios given: pass at least one, or None for the model's defaults"
        )
    names = [sc.name for sc in scenario_list]
    if len(set(names)) != len(names):
        raise YaanSimError(f"scenario names repeat ({names}): each scenario needs its own name")

    samples = _check_samples(samples, sample_overrides)
    seed = check_seed(seed)
    check_memory(
        model, samples, horizon or model.default_horizon, return_vars, max(1, len(scenario_list))
    )
    runs = []
    horizons = []
    for sc in scenario_list or [None]:
        h = (
            horizon
            or (sc.horizon if sc is not None and sc.horizon else None)
            or model.default_horizon
        )
        overrides = sc.overrides(model, h) if sc is not None else {}
        if samples is not None:
            overrides.update(_draws(sc, samples, seed))
            overrides.update(sample_overrides or {})
        horizons.append(h)
        if vm is not None:
            # init_at="start": a run starting elsewhere is initialised there, as the PySD
            # path does (a copy of the .mdl with that INITIAL TIME), e.g. the back-test.
            ds = vm.run(
                overrides=overrides,
                start=h.start,
                stop=h.stop,
                step=h.step,
                saveper=h.saveper,
                samples=samples,
                return_vars=_py_names(model, return_vars),
                init_at="start",
            )
        elif samples is not None:
            ds = _pysd_loop(model, overrides, h, return_vars, samples)
        else:
            ds = engine_pysd.run(model, overrides, h, return_vars)
        runs.append(ds)
    if len({(h.start, h.stop, h.saveper) for h in horizons}) > 1:
        raise YaanSimError(
            "the scenarios have different horizons, so they cannot be stacked: "
            "give them the same `horizon:` or pass one horizon for all"
        )
    if single:
        ds = runs[0]
    else:
        ds = xr.concat(runs, dim="scenario", coords="minimal", compat="override", join="outer")
        ds = ds.assign_coords(scenario=names)
        titles = [getattr(sc, "title_en", None) or sc.name for sc in scenario_list]
        ds = ds.assign_coords(scenario_title=("scenario", titles))
    return finish(
        ds,
        model,
        scenario_list,
        horizons[0],
        engine=name,
        seed=seed,
        samples=samples,
        argv=argv,
        extra={
            "kind": "simulate" if not sample_overrides else "designed ensemble",
            "return_vars": list(return_vars) if return_vars else None,
        },
    )


def memory_budget() -> int:
    """Bytes a run may take: half the machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # not POSIX
        return 8 * 2**30


def estimate_bytes(model, samples, horizon, return_vars=None, scenarios=1) -> int:
    """Bytes of the results (float64) of ``samples`` x ``scenarios`` runs, before any is made."""
    from yaan_sim.engines.pysd_engine import output_names

    sizes = {d: len(model.subscripts[r]) for d, r in model.full_range_of_dim.items()}
    cells = sum(
        int(np.prod([sizes[d] for d in model.dims_of(n)])) for n in output_names(model, return_vars)
    )
    n_saved = int(round((horizon.stop - horizon.start) / horizon.saveper)) + 1
    # results, plus about the same again of working state while integrating
    return 2 * 8 * cells * n_saved * (samples or 1) * scenarios


def check_memory(model, samples, horizon, return_vars=None, scenarios=1) -> None:
    """Refuse, with the numbers, a run whose results would not fit in memory."""
    need = estimate_bytes(model, samples, horizon, return_vars, scenarios)
    if need > memory_budget():
        raise YaanSimError(
            f"this run would need about {need / 2**30:.1f} GiB for its results, more than the "
            f"{memory_budget() / 2**30:.1f} GiB allowed (half this machine's memory): use fewer "
            "samples, keep only the variables you need (return_vars, --vars), or split the work"
        )


def check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise YaanSimError(
            f"seed must be a whole number >= 0 (numpy's generators need one), got {seed!r}"
        )
    return int(seed)


def _check_samples(samples, sample_overrides):
    if samples is None:
        if sample_overrides:
            raise YaanSimError("sample_overrides need samples=N (the length of their `sample` dim)")
        return None
    try:
        n = int(samples)
    except (TypeError, ValueError):
        raise YaanSimError(f"samples must be a whole number, got {samples!r}") from None
    if n != samples or n < 1:
        raise YaanSimError(f"samples must be a whole number of at least 1, got {samples!r}")
    for name, da in (sample_overrides or {}).items():
        if "sample" not in getattr(da, "dims", ()) or da.sizes["sample"] != n:
            raise YaanSimError(f"sample_overrides[{name!r}] needs a `sample` dim of length {n}")
    return n


def _draws(scenario, samples, seed):
    """The scenario's uncertain block drawn for ``samples`` samples (fresh generator each)."""
    import numpy as np

    uncertain = getattr(scenario, "uncertain", None)
    if not uncertain:
        return {}
    return uncertain.sample(np.random.default_rng(seed), samples)


def _pysd_loop(model, overrides, horizon, return_vars, samples):
    """The reference path for ensembles: one PySD run per sample (slow; for checks)."""
    runs = []
    for i in range(samples):
        one = {
            k: (v.isel(sample=i, drop=True) if "sample" in getattr(v, "dims", ()) else v)
            for k, v in overrides.items()
        }
        runs.append(engine_pysd.run(model, one, horizon, return_vars))
    return xr.concat(runs, dim="sample", coords="minimal", compat="override").assign_coords(
        sample=range(samples)
    )


def _py_names(model, return_vars):
    if return_vars is None:
        return None
    return [
        model.by_py_name[v].py_name if v in model.by_py_name else model.meta[v].py_name
        for v in return_vars
    ]
