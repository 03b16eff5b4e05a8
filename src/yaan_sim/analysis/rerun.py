"""Re-run a result from its manifest: same model, scenario texts, engine, horizon and seed."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from yaan_sim.errors import ResultsError
from yaan_sim.model.load import Horizon, load_model
from yaan_sim.outputs.results import open_results, read_manifest

_HEADER = re.compile(r"^# --- (.+)$", re.M)


def split_chain(text: str) -> list[tuple[str, str]]:
    """Split a scenario's recorded text into (file name, file text), the scenario first."""
    parts = _HEADER.split(text)
    files = [
        (Path(name.strip()).name, body.lstrip("\n")) for name, body in zip(parts[1::2], parts[2::2])
    ]
    if not files:
        raise ResultsError("a scenario in the manifest has no recorded file text")
    return files


def rebuild_scenarios(manifest: dict, model, folder: Path):
    """Write every recorded scenario chain into ``folder`` and load them again."""
    from yaan_sim.scenario import load_scenario

    scenarios = []
    for i, entry in enumerate(manifest.get("scenarios", [])):
        text = entry.get("text")
        if not text:
            raise ResultsError(
                f"scenario {entry.get('name')!r} has no recorded text: it cannot be re-run"
            )
        sub = folder / f"s{i}"
        files = split_chain(text)
        # Lay the files out as they were (relative to their common folder): `extends:` may
        # name a parent by a relative path.
        sources = [Path(p) for p in entry.get("sources", [])]
        if len(sources) == len(files):
            root = Path(os.path.commonpath([p.parent for p in sources]))
            places = [sub / p.relative_to(root) for p in sources]
        else:
            places = [sub / name for name, _ in files]
        for place, (_, body) in zip(places, files):
            place.parent.mkdir(parents=True, exist_ok=True)
            place.write_text(body, encoding="utf-8")
        sc = load_scenario(places[0], model)
        if entry.get("sha256") and sc.sha256 != entry["sha256"]:
            raise ResultsError(
                f"scenario {sc.name!r} rebuilt from the manifest hashes differently "
                f"({sc.sha256[:12]} vs {entry['sha256'][:12]})"
            )
        scenarios.append(sc)
    return scenarios


def rerun(path, model=None, *, model_path=None):
    """The Dataset ``path`` holds, produced again from its manifest."""
    from yaan_sim.engines.simulate import simulate

    manifest = read_manifest(open_results(path))
    if manifest.get("kind", "simulate") not in ("simulate", "ensemble"):
        raise ResultsError(
            f"{path} was made by `{manifest.get('kind')}`, which rerun does not replay; "
            f"run its command again: {' '.join(manifest.get('command', []))}"
        )
    model = model or (load_model(model_path) if model_path else load_model())
    if model.mdl_sha256 != manifest.get("model_sha256"):
        raise ResultsError(
            f"the model has changed since {path} was made (model sha256 {manifest.get('model_sha256', '?')[:12]}, "
            f"now {model.mdl_sha256[:12]}): check out the version of {manifest.get('model_file')} "
            "that produced it, or pass it with --model"
        )
    h = manifest["horizon"]
    horizon = Horizon(h["start"], h["stop"], h["step"], h["saveper"])
    with tempfile.TemporaryDirectory(prefix="yaan-sim-rerun-") as tmp:
        scenarios = rebuild_scenarios(manifest, model, Path(tmp))
        if manifest.get("kind") == "ensemble":  # same design, chunks and engine: same numbers
            from yaan_sim.analysis.ensemble import run_ensemble

            ens = manifest["ensemble"]
            return run_ensemble(
                model,
                scenarios,
                manifest["samples"],
                seed=manifest.get("seed"),
                method=ens["method"],
                horizon=horizon,
                engine=manifest["engine"],
                return_vars=manifest.get("return_vars"),
                chunk_size=ens["chunk_size"],
            )
        return simulate(
            model,
            scenarios or None,
            engine=manifest["engine"],
            horizon=horizon,
            samples=manifest.get("samples"),
            seed=manifest.get("seed"),
            return_vars=manifest.get("return_vars"),
        )
