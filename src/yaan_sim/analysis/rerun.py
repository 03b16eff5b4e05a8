"""Re-run a result from its manifest: same model, scenario texts, engine, horizon and seed.

A re-projection (``run --from YEAR --observed FILE``) is re-projected again from the
recorded file, which must hash as it did. The manifest is read as untrusted input
(:class:`yaan_sim.outputs.manifest.Manifest`): its scenario files are written only inside
a fresh temporary folder, and loaded from there, and the model must be the one it names
(same SHA-256).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from yaan_sim.engines.base import engine_names
from yaan_sim.errors import ResultsError
from yaan_sim.model.load import load_model
from yaan_sim.outputs.manifest import Manifest, ObservedRecord
from yaan_sim.outputs.results import open_results
from yaan_sim.protocols import ModelLike

if TYPE_CHECKING:
    from yaan_sim.scenario import Scenario

REPLAYED = ("simulate", "ensemble")


def rebuild_scenarios(manifest: Manifest, model: ModelLike, folder: Path) -> list[Scenario]:
    """Write every recorded scenario chain into its own sub-folder of ``folder`` and load
    them again; each must hash as it did."""
    from yaan_sim.scenario import load_scenario

    scenarios = []
    for i, record in enumerate(manifest.scenarios):
        own = record.write_into(Path(folder) / f"s{i}")
        sc = load_scenario(own, model)
        if record.sha256 and sc.sha256 != record.sha256:
            raise ResultsError(
                f"scenario {sc.name!r} rebuilt from the manifest hashes differently "
                f"({sc.sha256[:12]} vs {record.sha256[:12]})"
            )
        scenarios.append(sc)
    return scenarios


def recorded_observed(
    record: ObservedRecord, results: Path, model: ModelLike, command: Sequence[str]
) -> pd.DataFrame:
    """The observed figures a re-projection used: the recorded file (as given, beside the
    results, or in the project), read again and hashing as it did."""
    from yaan_sim.outputs.observed import load_observed
    from yaan_sim.paths import PROJECT_ROOT

    given = Path(record.file)
    relative_to = (Path(), results.parent, PROJECT_ROOT)  # as given, beside, in the project
    where = [given] if given.is_absolute() else [base / given for base in relative_to]
    found = next((p for p in where if p.is_file()), None)
    again = f"run its command again with the figures it used: {' '.join(command)}"
    if found is None:
        raise ResultsError(
            f"{results} was re-projected from the observed figures in {record.file!r}, "
            f"which rerun cannot find (looked in {', '.join(str(p) for p in where)}): {again}"
        )
    table = load_observed(found, source=model)
    if record.sha256 and table.attrs.get("sha256") != record.sha256:
        raise ResultsError(
            f"the observed figures in {found} have changed since {results} was made "
            f"(sha256 {record.sha256[:12]}, now {str(table.attrs.get('sha256'))[:12]}): "
            f"restore them, or {again}"
        )
    return table


def rerun(
    path: str | Path, model: ModelLike | None = None, *, model_path: str | Path | None = None
) -> xr.Dataset:
    """The Dataset ``path`` holds, produced again from its manifest."""
    from yaan_sim.engines.simulate import simulate

    ds = open_results(path)
    manifest = Manifest.from_json(ds.attrs.get("manifest"), str(path))
    if manifest.kind not in REPLAYED:
        raise ResultsError(
            f"{path} was made by `{manifest.kind}`, which rerun does not replay; "
            f"run its command again: {' '.join(manifest.command)}"
        )
    posterior = manifest.ensemble.posterior if manifest.ensemble is not None else None
    if posterior is not None:  # its draws are not in the manifest
        raise ResultsError(
            f"{path} drew its calibrated constants from the posterior {posterior!r}, which "
            f"rerun does not replay: run its command again: {' '.join(manifest.command)}"
        )
    if manifest.engine not in engine_names():
        raise ResultsError(
            f"{path} was made with the engine {manifest.engine!r}, which this yaan-sim does "
            f"not have (it has {', '.join(engine_names())})"
        )
    model = model or (load_model(model_path) if model_path else load_model())
    if model.mdl_sha256 != manifest.model_sha256:
        raise ResultsError(
            f"the model has changed since {path} was made (model sha256 "
            f"{manifest.model_sha256[:12]}, now {model.mdl_sha256[:12]}): check out the "
            f"version of {manifest.model_file or 'the model'} that produced it, or pass it "
            "with --model"
        )
    with tempfile.TemporaryDirectory(prefix="yaan-sim-rerun-") as tmp:
        scenarios = rebuild_scenarios(manifest, model, Path(tmp))
        if manifest.kind == "ensemble":  # same design, chunks and engine: same numbers
            from yaan_sim.analysis.ensemble import run_ensemble
            from yaan_sim.analysis.runner import resolve_return_vars

            ens = manifest.ensemble
            if ens is None or manifest.samples is None:
                raise ResultsError(
                    f"{path}: the manifest of an ensemble lacks its `ensemble` or `samples`"
                )
            kept: Sequence[str] | None = manifest.return_vars
            # version 2 records the variables kept (None: all); version 1 what was asked
            # (None: the goals' variables)
            if kept is None and manifest.manifest_version < 2:
                kept = resolve_return_vars(None, model=model)
            return run_ensemble(
                model,
                scenarios,
                manifest.samples,
                seed=manifest.seed,
                method=ens.method,
                horizon=manifest.horizon,
                engine=manifest.engine,
                return_vars=list(kept) if kept is not None else "all",
                chunk_size=ens.chunk_size,
                keep="all",  # the recorded variables and horizon are what was kept
            )
        obs = manifest.observed
        if obs is not None and obs.from_year is not None:  # a re-projection: do it again
            from yaan_sim.analysis.reproject import reproject

            return reproject(
                model,
                scenarios,
                recorded_observed(obs, Path(path), model, manifest.command),
                obs.from_year,
                engine=manifest.engine,
                horizon=manifest.horizon,
            )
        return simulate(
            model,
            scenarios or None,
            engine=manifest.engine,
            horizon=manifest.horizon,
            samples=manifest.samples,
            seed=manifest.seed,
            return_vars=list(manifest.return_vars) if manifest.return_vars else None,
            keep="all",
        )
