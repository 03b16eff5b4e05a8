"""The checks made before any run, by every way of running: one place for each rule.

:func:`prepare_runs` checks the scenarios (objects with distinct names), their horizons
(each a horizon, all stackable on one time axis), the number of samples, the seed and the
memory the results will take, and returns what the run will use. ``simulate`` and the
run layer (:mod:`yaan_sim.analysis.runner`) both start here, so a bad argument is refused
the same way, before any work, whichever command was used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.engines.base import output_names
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.model.memo import per_model
from yaan_sim.protocols import ModelLike, ScenarioLike

#: What an ensemble keeps: ``needed`` (the default) the variables the goals and charts read
#: (or ``return_vars``); ``all`` every variable (or ``return_vars``). Both at every saved
#: time: a year's figure is its total over the year, taken from the saved times as a single
#: run's is. A single run keeps everything.
KEEP = ("needed", "all")


def check_keep(keep: Any, samples: Any) -> str:
    """``keep`` checked; None is ``needed`` for an ensemble and ``all`` for one run."""
    if keep is None:
        return "all" if samples is None else "needed"
    if keep not in KEEP:
        raise YaanSimError(
            f"keep must be one of {', '.join(KEEP)}, not {keep!r}: 'needed' keeps what the "
            "goals and charts read, 'all' every variable, both at every saved time"
        )
    return str(keep)


@dataclass(frozen=True)
class RunPlan:
    """What was checked: the scenarios ([] for the model's defaults), each one's horizon
    (one horizon for the defaults), the samples and the seed."""

    scenarios: list[ScenarioLike]
    horizons: list[Horizon]
    samples: int | None
    seed: int | None

    @property
    def horizon(self) -> Horizon:
        """The horizon the results are recorded with (the first scenario's)."""
        return self.horizons[0]


def prepare_runs(
    model: ModelLike,
    scenarios: Sequence[ScenarioLike] | None,
    *,
    horizon: Horizon | None = None,
    samples: Any = None,
    seed: Any = None,
    return_vars: Sequence[str] | None = None,
    sample_overrides: Mapping[str, Any] | None = None,
    keep: str = "all",
) -> RunPlan:
    """Check everything about a run that can be checked before it starts.

    ``scenarios`` None means the model's defaults. Each scenario runs on ``horizon``,
    else its own, else the model's; those must share start, stop and saving period.
    """
    scenario_list = check_scenarios(scenarios)
    if horizon is not None:
        check_horizon(horizon, "horizon")
    horizons = [horizon or sc.horizon or model.default_horizon for sc in scenario_list]
    if not scenario_list:  # the model's defaults
        horizons = [horizon or model.default_horizon]
    if len({(h.start, h.stop, h.saveper) for h in horizons}) > 1:
        raise YaanSimError(
            "the scenarios have different horizons, so they cannot be stacked: "
            "give them the same `horizon:` or pass one horizon for all (--horizon)"
        )
    n = check_samples(samples, sample_overrides)
    checked_seed = check_seed(seed)
    # the run integrates from the model's start when the plan starts later (its history)
    h0 = horizons[0]
    history = Horizon(min(model.default_horizon.start, h0.start), h0.stop, h0.step, h0.saveper)
    check_memory(model, n, history, return_vars, max(1, len(scenario_list)))
    return RunPlan(scenario_list, horizons, n, checked_seed)


@dataclass(frozen=True)
class StartState:
    """The model's stocks at ``time``, to start a run from (``simulate(start_state=...)``).

    ``values``: {stock's Vensim name: DataArray in dataset dims (``park``, ``group``...)};
    a ``scenario`` dim gives each scenario its own state. Stocks not given take their
    initial values at ``time`` from the .mdl (so give them all, as
    :meth:`from_results` does, to continue a run).
    """

    time: float
    values: Mapping[str, xr.DataArray]

    @classmethod
    def from_results(cls, ds: xr.Dataset, time: float, model: ModelLike) -> StartState:
        """Every stock of ``model`` at ``time`` in results ``ds`` (which must hold them)."""
        out = {}
        for meta in stocks_of(model):
            if meta.py_name not in ds.data_vars:
                raise YaanSimError(
                    f"the results lack the stock {meta.name!r}: run with every variable "
                    "(no --vars) to start from their state"
                )
            out[meta.name] = ds[meta.py_name].sel(time=float(time), method="nearest", drop=True)
        return cls(float(time), out)

    def for_scenario(self, name: str | None) -> dict[str, xr.DataArray]:
        """The values for one scenario (a ``scenario`` dim selected, else as given)."""
        out = {}
        for k, v in self.values.items():
            if "scenario" in getattr(v, "dims", ()):
                if name is None or name not in [str(x) for x in v["scenario"].values]:
                    raise YaanSimError(
                        f"the start state of {k!r} has no scenario {name!r}: give one state "
                        "per scenario (a `scenario` dim) or one for all"
                    )
                v = v.sel(scenario=name, drop=True)
            out[k] = v
        return out


def stocks_of(model: ModelLike) -> list:
    """The metadata of every stock (INTEG) of ``model``."""
    return [m for m in model.meta.values() if m.role == "stock"]


def check_start_state(model: ModelLike, state: Any, horizon: Horizon) -> StartState:
    """``state`` as a :class:`StartState` that can start a run on ``horizon``."""
    from yaan_sim.model.levers import closest

    if not isinstance(state, StartState):
        raise YaanSimError(
            f"start_state must be a StartState(time, {{stock: values}}), not {type(state).__name__}"
            ": build one with StartState.from_results(ds, 2018, model) or "
            "yaan_sim.analysis.reproject.observed_state(...)"
        )
    if not horizon.start - 1e-9 <= state.time < horizon.stop:
        raise YaanSimError(
            f"the start state is at {state.time:g}, outside the horizon "
            f"{horizon.start:g}-{horizon.stop:g}: start within it"
        )
    names = {m.name: m for m in stocks_of(model)}
    by_py = {m.py_name: m for m in names.values()}
    values = {}
    for key, v in state.values.items():
        meta = names.get(key) or by_py.get(key)
        if meta is None:
            hint = closest(str(key), list(names))
            raise YaanSimError(
                f"start state: {key!r} is not a stock of the model"
                + (f": did you mean {hint[0]!r}?" if hint else f" (its stocks: {', '.join(names)})")
            )
        da = v if isinstance(v, xr.DataArray) else xr.DataArray(np.asarray(v, dtype=float))
        if not np.all(np.isfinite(np.asarray(da.values, dtype=float))):
            raise YaanSimError(f"start state of {meta.name!r}: the values must be finite numbers")
        values[meta.name] = da
    return StartState(float(state.time), values)


def check_scenarios(scenarios: Sequence[ScenarioLike] | None) -> list[ScenarioLike]:
    """The scenarios as a list ([] for None), with distinct names."""
    if scenarios is None:
        return []
    if isinstance(scenarios, (str, Path)) or not isinstance(scenarios, Sequence):
        raise YaanSimError(
            f"scenarios must be a list of scenario objects, not {scenarios!r}: load them "
            "first, e.g. [load_scenario('plan')], or pass None for the model's defaults"
        )
    out = list(scenarios)
    if not out:
        raise YaanSimError(
            "no scenarios given: pass at least one, or None for the model's defaults"
        )
    bad = [sc for sc in out if not (hasattr(sc, "name") and hasattr(sc, "overrides"))]
    if bad:
        raise YaanSimError(
            f"{bad[0]!r} is not a scenario: load scenario files with load_scenario(...)"
        )
    names = [sc.name for sc in out]
    if len(set(names)) != len(names):
        raise YaanSimError(f"scenario names repeat ({names}): each scenario needs its own name")
    return out


def check_horizon(horizon: Any, what: str = "horizon") -> Horizon:
    """``horizon`` if it is a :class:`Horizon` the engines can run, else a clear error."""
    if not isinstance(horizon, Horizon):
        raise YaanSimError(f"{what} must be a Horizon(start, stop, step, saveper), not {horizon!r}")
    problems = horizon.problems()
    if problems:
        raise YaanSimError(f"{what} {_horizon_text(horizon)}: {'; '.join(problems)}")
    return horizon


def _horizon_text(h: Horizon) -> str:
    return f"{h.start}:{h.stop}:{h.step}:{h.saveper}"


def check_samples(samples: Any, sample_overrides: Mapping[str, Any] | None = None) -> int | None:
    """``samples`` as a whole number >= 1 (or None), matching ``sample_overrides``."""
    if samples is None:
        if sample_overrides:
            raise YaanSimError("sample_overrides need samples=N (the length of their `sample` dim)")
        return None
    if isinstance(samples, bool):
        raise YaanSimError(f"samples must be a whole number, got {samples!r}")
    try:
        n = int(samples)
    except (TypeError, ValueError, OverflowError):
        raise YaanSimError(f"samples must be a whole number, got {samples!r}") from None
    if n != samples or n < 1:
        raise YaanSimError(f"samples must be a whole number of at least 1, got {samples!r}")
    for name, da in (sample_overrides or {}).items():
        if "sample" not in getattr(da, "dims", ()) or da.sizes["sample"] != n:
            raise YaanSimError(f"sample_overrides[{name!r}] needs a `sample` dim of length {n}")
    return n


def check_seed(seed: Any) -> int | None:
    """``seed`` as a whole number >= 0 (or None)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise YaanSimError(
            f"seed must be a whole number >= 0 (numpy's generators need one), got {seed!r}"
        )
    return int(seed)


def memory_budget() -> int:
    """Bytes a run may take: half the machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # not POSIX
        return 8 * 2**30


def estimate_bytes(
    model: ModelLike,
    samples: int | None,
    horizon: Horizon,
    return_vars: Sequence[str] | None = None,
    scenarios: int = 1,
) -> int:
    """Bytes of the results (float64) of ``samples`` x ``scenarios`` runs, before any is made."""

    def count() -> int:
        sizes = {d: len(model.subscripts[r]) for d, r in model.full_range_of_dim.items()}
        names = output_names(model, return_vars)
        return sum(math.prod(sizes[d] for d in model.dims_of(n)) for n in names)

    # every run checks its memory: the cells of a set of outputs counted once per model
    wanted = None if return_vars is None else tuple(return_vars)
    cells = per_model(model, ("cells", wanted), count)
    n_saved = round((horizon.stop - horizon.start) / horizon.saveper) + 1
    # results, plus about the same again of working state while integrating
    return 2 * 8 * cells * n_saved * (samples or 1) * scenarios


def check_memory(
    model: ModelLike,
    samples: int | None,
    horizon: Horizon,
    return_vars: Sequence[str] | None = None,
    scenarios: int = 1,
) -> None:
    """Refuse, with the numbers, a run whose results would not fit in memory."""
    need = estimate_bytes(model, samples, horizon, return_vars, scenarios)
    if need > memory_budget():
        raise YaanSimError(
            f"this run would need about {need / 2**30:.1f} GiB for its results, more than the "
            f"{memory_budget() / 2**30:.1f} GiB allowed (half this machine's memory): use fewer "
            "samples, keep only the variables you need (return_vars, --vars), or split the work"
        )
