"""Results as one xarray.Dataset: naming, attributes, the run manifest, safe writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.model.profile import profile_for
from yaan_sim.outputs.dataset import build_dataset
from yaan_sim.outputs.manifest import EnsembleRecord, Manifest
from yaan_sim.protocols import ModelLike, ScenarioLike


def read_manifest(ds: xr.Dataset) -> dict:
    """The manifest as a JSON object, unchecked (to show it); see :class:`Manifest` to use it."""
    raw = ds.attrs.get("manifest")
    if raw is None:
        raise ResultsError(
            "the dataset has no 'manifest' attribute: it was not written by yaan-sim"
        )
    try:
        out = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"the dataset's manifest is not valid JSON ({exc})") from None
    if not isinstance(out, dict):
        raise ResultsError(
            "the dataset's manifest is not a JSON object: it was not written by yaan-sim"
        )
    return out


def annotate(ds: xr.Dataset, model: ModelLike) -> xr.Dataset:
    """Give every variable its units, long names (en, zh), Vensim name and role."""
    for name, var in ds.data_vars.variables.items():  # Variables: no DataArray each
        meta = model.by_py_name.get(str(name))
        if meta is None:
            continue
        var.attrs.update(
            {
                "units": meta.units,
                "long_name": meta.long_name_en,
                "long_name_en": meta.long_name_en,
                "long_name_zh": meta.long_name_zh,
                "vensim_name": meta.name,
                "role": meta.role,
            }
        )
    profile = profile_for(model)
    if profile.is_yaan:
        time_attrs = {
            "units": "year",
            "long_name": "time (the value at Y.0 stands for year Y)",
            "long_name_zh": "年份",
        }
    else:  # another model: its own time unit (Minute, Day, ...)
        time_attrs = {
            "units": profile.time_unit(model),
            "long_name": "time",
            "long_name_zh": "时间",
        }
    ds.variables["time"].attrs.update(time_attrs)
    regions = model.regions()
    if regions and "park" in ds.dims:
        region = xr.Variable(
            ("park",),
            np.asarray([regions.get(p, "") for p in ds.variables["park"].values]),
            {"long_name": "region of the plan's section 二(二)"},
        )
        ds = _with_coords(ds, {"region": region})
    return ds


def _with_coords(ds: xr.Dataset, extra: dict[str, xr.Variable]) -> xr.Dataset:
    """``ds`` with more non-index coordinates (sharing its variables, not copying them)."""
    if ds.encoding or any(name in ds.variables for name in extra):
        return ds.assign_coords({k: xr.DataArray(v) for k, v in extra.items()})
    coords = {str(k): v for k, v in ds.coords.variables.items()}
    indexes = {str(k): v for k, v in ds.xindexes.items()}
    return build_dataset(ds.data_vars.variables, {**coords, **extra}, ds.attrs, indexes)


def stack_scenarios(runs: Sequence[xr.Dataset], scenarios: Sequence[ScenarioLike]) -> xr.Dataset:
    """One Dataset per scenario (same horizon) stacked on a ``scenario`` dim, with titles.

    Runs with the same variables and coordinates (scenarios over one horizon) are
    stacked array by array (one scenario: a view, no copy); others are aligned on the
    union of their times (``xr.concat``, outer join)."""
    scenario_coords = {
        "scenario": xr.Variable(("scenario",), np.asarray([sc.name for sc in scenarios])),
        "scenario_title": xr.Variable(
            ("scenario",), np.asarray([sc.title_en or sc.name for sc in scenarios])
        ),
    }
    first = runs[0]
    if not all(_same_layout(first, r) for r in runs[1:]) or any(
        n in first.variables for n in scenario_coords
    ):
        ds = xr.concat(
            list(runs), dim="scenario", coords="minimal", compat="override", join="outer"
        )
        return ds.assign_coords({k: xr.DataArray(v) for k, v in scenario_coords.items()})
    data = {}
    for name, var in first.data_vars.variables.items():
        if len(runs) == 1:
            values = var.data[None]
        else:
            values = np.stack([r.variables[name].data for r in runs])
        data[str(name)] = xr.Variable(
            ("scenario", *var.dims), values, dict(var.attrs), fastpath=type(values) is np.ndarray
        )
    coords = {str(k): v for k, v in first.coords.variables.items()}
    indexes = {str(k): v for k, v in first.xindexes.items()}
    return build_dataset(data, {**coords, **scenario_coords}, first.attrs, indexes)


def _same_layout(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Same data variables with the same dims, and equal coordinates."""
    va, vb = a.data_vars.variables, b.data_vars.variables
    if list(va) != list(vb) or any(va[k].dims != vb[k].dims for k in va):
        return False
    ca, cb = a.coords.variables, b.coords.variables
    return list(ca) == list(cb) and all(ca[k].equals(cb[k]) for k in ca)


def results_title(model: ModelLike) -> str:
    """The results' title: the Ya'an plan's for its model, else the model file's name."""
    if profile_for(model).is_yaan:
        return "yaan-sim results: Ya'an industrial parks, 2016-2020 plan"
    return f"yaan-sim results: {Path(model.mdl_path).name}"


def finish(
    ds: xr.Dataset,
    model: ModelLike,
    scenarios: Sequence[ScenarioLike],
    horizon: Horizon,
    *,
    engine: str,
    seed: int | None = None,
    samples: int | None = None,
    argv: Sequence[str] | None = None,
    kind: str = "simulate",
    return_vars: Sequence[str] | None = None,
    ensemble: EnsembleRecord | None = None,
    batch_sources: Sequence[str] | None = None,
) -> xr.Dataset:
    """Annotate a results Dataset and give it its manifest (every runner ends here)."""
    ds = annotate(ds, model)
    manifest = Manifest.create(
        model,
        engine=engine,
        horizon=horizon,
        scenarios=scenarios,
        seed=seed,
        samples=samples,
        argv=argv,
        kind=kind,
        return_vars=return_vars,
        ensemble=ensemble,
        batch_sources=batch_sources,
    )
    ds.attrs.update(
        {
            "title": results_title(model),
            "manifest": manifest.to_json(),
            "engine": engine,
            "model_sha256": model.mdl_sha256,
        }
    )
    return ds


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Refuse to overwrite without ``force`` and fail early on a missing or read-only folder."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise YaanSimError(
            f"the output folder {folder} does not exist: create it first "
            f"(mkdir -p {folder}) or choose another -o path"
        )
    if not os.access(folder, os.W_OK):
        raise YaanSimError(f"the output folder {folder} is not writable: choose another -o path")
    if path.exists() and not force:
        raise YaanSimError(
            f"{path} exists already: pass --force to overwrite it, or choose another -o path"
        )
    return path


def write_atomic(path: str | Path, write_to: Callable[[Path], Any], force: bool = False) -> Path:
    """Call ``write_to(tmp_path)`` then rename onto ``path``: never a half-written file."""
    path = check_writable(path, force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise YaanSimError(
            f"cannot write in {path.parent} ({exc.strerror or exc}): choose another -o path"
        ) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        write_to(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def to_netcdf(ds: xr.Dataset, path: str | Path, force: bool = False) -> Path:
    """Write a results Dataset to netCDF atomically."""
    return write_atomic(path, lambda tmp: ds.to_netcdf(tmp), force=force)


def open_results(path: str | Path) -> xr.Dataset:
    """Open a yaan-sim results file, with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results file {path} not found: run `yaan-sim run -o {path}` first")
    try:
        ds = xr.load_dataset(path)
    except Exception as exc:  # netCDF4/h5 raise many kinds for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(
            f"{path} is not a readable netCDF file ({first[:160]}); "
            "give a results file written by `yaan-sim run`"
        ) from None
    read_manifest(ds)
    return ds
