"""What each lever does: a scenario's difference from a reference, split lever by lever.

Each lever whose setting differs is measured twice, on each headline goal value (the goal
table's value: 2020 city revenue, the R&D share, each pollutant's 2020 total, ...):

* **alone**: moved alone from the reference's setting to the scenario's, every other
  lever kept at the reference's;
* **last**: moved last, every other lever at the scenario's already: the scenario's value
  minus its value with this lever alone set back to the reference's.

What the levers do only together is the interaction: the scenario's whole change minus
the sum of the effects alone. Where the levers act through one another the two measures
differ (a lever that relieves a constraint the reference never meets does nothing alone
and something in the scenario) and no split is unique; the tables show both, and the
interaction, beside the whole change.

The runs are the model's deterministic runs (no samples) over the scenarios' horizon,
judged on simulated values only (observed figures would hide the levers' effect). Every
run sets the same levers (a lever one side leaves at the .mdl's value is set to it), so
that one compiled program serves them all.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.evaluate import evaluate, headline_rows
from yaan_sim.outputs.goals import GoalSet
from yaan_sim.protocols import ModelLike
from yaan_sim.scenario.types import LeverSetting, Scenario, Uncertainty

COLUMNS = ["scenario", "reference", "goal_id", "scope_name", "unit", "kind", "lever", "effect"]
#: ``kind`` of a row: one lever moved alone, one lever moved last, what the levers do only
#: together, the whole change
KINDS = ("alone", "last", "interaction", "total")


class LeverEffectsUnavailable(YaanSimError):
    """The lever effects cannot be worked out for these results. ``reason``: one of
    ``scenarios``, ``ensemble``, ``manifest``, ``kind``, ``model``, ``rebuild`` (the report
    words it)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _setting(scenario: Scenario, lever: str) -> LeverSetting:
    """The scenario's setting of ``lever``; the .mdl's value where it sets none."""
    return scenario.levers.get(lever) or LeverSetting(name=lever, base=None)


def _resolved(
    model: ModelLike, scenario: Scenario, levers: dict[str, LeverSetting], horizon: Horizon
) -> dict[str, xr.DataArray]:
    """``levers`` on the horizon's grid, as ``scenario`` with them would set them
    (:meth:`Scenario.overrides`: ``{Vensim name: DataArray (time, ...)}``)."""
    return dataclasses.replace(scenario, levers=levers).overrides(model, horizon)


def _full(scenario: Scenario, names: list[str]) -> dict[str, LeverSetting]:
    """The scenario's setting of each lever of ``names`` (the .mdl's where it sets none)."""
    return {n: _setting(scenario, n) for n in names}


def _differing(a: dict[str, xr.DataArray], b: dict[str, xr.DataArray]) -> list[str]:
    return [n for n in a if not np.array_equal(a[n].values, b[n].values)]


def differing_levers(
    model: ModelLike, scenario: Scenario, reference: Scenario, horizon: Horizon
) -> list[str]:
    """The levers whose values on the horizon's grid differ between the two scenarios,
    in the order of the model's levers."""
    names = sorted(set(scenario.levers) | set(reference.levers), key=str.lower)
    return _differing(
        _resolved(model, reference, _full(reference, names), horizon),
        _resolved(model, reference, _full(scenario, names), horizon),
    )


def lever_effects(
    model: ModelLike,
    scenarios: Sequence[Scenario],
    goals: GoalSet,
    *,
    reference: str | None = None,
    year: int | None = None,
    horizon: Horizon | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """The effect of each differing lever on each headline goal value, for every scenario
    against ``reference`` (default: the first).

    Returns a DataFrame with columns :data:`COLUMNS`: per (scenario, goal), one ``alone``
    row per lever, one ``last`` row per lever, then one ``interaction`` and one ``total``
    row (``lever`` empty). ``effect`` is in the goal value's ``unit`` (a goal's rate of
    change in % a year, a share in %). By construction the ``alone`` effects and the
    interaction add up to the total; the ``last`` effects need not.
    """
    by_name = {sc.name: sc for sc in scenarios}
    if reference is not None and reference not in by_name:
        raise YaanSimError(f"reference scenario {reference!r} is not among {', '.join(by_name)}")
    if len(scenarios) < 2:
        return pd.DataFrame(columns=COLUMNS)
    ref = by_name[reference] if reference is not None else scenarios[0]
    horizon = horizon or ref.horizon or model.default_horizon
    names = sorted({n for sc in scenarios for n in sc.levers}, key=str.lower)
    # every lever of every run on the grid, each setting resolved once
    base = _resolved(model, ref, _full(ref, names), horizon)
    runs: dict[str, dict[str, xr.DataArray]] = {"reference": base}
    moved: dict[str, list[str]] = {}
    for sc in scenarios:
        if sc.name == ref.name:
            continue
        own = runs[f"scenario:{sc.name}"] = _resolved(model, ref, _full(sc, names), horizon)
        moved[sc.name] = _differing(base, own)
        for lever in moved[sc.name]:
            runs[f"alone:{sc.name}:{lever}"] = base | {lever: own[lever]}
            runs[f"without:{sc.name}:{lever}"] = own | {lever: base[lever]}
    table = headline_rows(evaluate(_run_all(model, ref, runs, horizon, engine), goals, year=year))
    rows: list[dict] = []
    for sc_name, levers in moved.items():
        rows += _effects(table, sc_name, ref.name, levers)
    return pd.DataFrame(rows, columns=COLUMNS)


def _run_all(
    model: ModelLike,
    ref: Scenario,
    runs: dict[str, dict[str, xr.DataArray]],
    horizon: Horizon,
    engine: str,
) -> xr.Dataset:
    """Every run (its levers on the grid) as one sample of one vectorised run, returned with
    a ``scenario`` dim named by ``runs``' keys: ~40x faster than a run each."""
    from yaan_sim.analysis.runner import resolve_return_vars
    from yaan_sim.engines.simulate import simulate

    resolved = list(runs.values())
    by_lever = {
        lever: xr.concat([r[lever] for r in resolved], dim="sample", join="exact")
        for lever in resolved[0]
    }
    quiet = dataclasses.replace(ref, levers={}, uncertain=Uncertainty({}))
    ds = simulate(
        model,
        [quiet],
        horizon=horizon,
        engine=engine,
        samples=len(runs),
        sample_overrides=by_lever,
        keep="all",
        return_vars=resolve_return_vars(None, model=model),
    )
    ds = ds.isel(scenario=0, drop=True).drop_vars("sample")
    return ds.rename({"sample": "scenario"}).assign_coords(scenario=list(runs))


def _effects(table: pd.DataFrame, scenario: str, reference: str, levers: list[str]) -> list:
    rows = []
    for (gid, scope), g in table.groupby(["goal_id", "scope_name"], sort=False):
        value = dict(zip(g["scenario"], g["value"].astype(float), strict=True))
        ref = value["reference"]
        common = {
            "scenario": scenario,
            "reference": reference,
            "goal_id": gid,
            "scope_name": scope,
            "unit": str(g["unit"].iloc[0]),
        }
        alone = [value[f"alone:{scenario}:{lever}"] - ref for lever in levers]
        whole = value[f"scenario:{scenario}"]
        last = [whole - value[f"without:{scenario}:{lever}"] for lever in levers]
        total = whole - ref
        for kind, effects in (("alone", alone), ("last", last)):
            rows += [
                common | {"kind": kind, "lever": lever, "effect": e}
                for lever, e in zip(levers, effects, strict=True)
            ]
        rows.append(common | {"kind": "interaction", "lever": "", "effect": total - sum(alone)})
        rows.append(common | {"kind": "total", "lever": "", "effect": total})
    return rows


def lever_effects_of_results(
    ds: xr.Dataset,
    model: ModelLike,
    goals: GoalSet,
    *,
    reference: str | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """:func:`lever_effects` for the scenarios a results file was run with (rebuilt from
    its manifest, as ``rerun`` does). Raises :class:`LeverEffectsUnavailable` where the
    results cannot give them (one scenario, an ensemble, no manifest, another model)."""
    from yaan_sim.analysis.rerun import rebuild_scenarios
    from yaan_sim.outputs.manifest import Manifest

    if "scenario" not in ds.dims or ds.sizes["scenario"] < 2:
        raise LeverEffectsUnavailable("the results hold fewer than two scenarios", "scenarios")
    if "sample" in ds.dims:
        raise LeverEffectsUnavailable(
            "the results are an ensemble; the lever effects are worked out on single runs "
            "(run the scenarios with `yaan-sim run`)",
            "ensemble",
        )
    try:
        manifest = Manifest.from_json(ds.attrs.get("manifest"), "the results")
    except ResultsError as exc:
        raise LeverEffectsUnavailable(str(exc), "manifest") from None
    if manifest.kind not in ("simulate", "batch"):  # the scenarios' own runs
        raise LeverEffectsUnavailable(f"the results were made by `{manifest.kind}`", "kind")
    if manifest.model_sha256 != model.mdl_sha256:
        raise LeverEffectsUnavailable("the model has changed since the results were made", "model")
    with tempfile.TemporaryDirectory(prefix="yaan-sim-effects-") as tmp:
        try:
            scenarios = rebuild_scenarios(manifest, model, Path(tmp))
        except YaanSimError as exc:
            raise LeverEffectsUnavailable(str(exc), "rebuild") from None
    return lever_effects(
        model,
        scenarios,
        goals,
        reference=reference,
        year=year,
        horizon=manifest.horizon,
    )
