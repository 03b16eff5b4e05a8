"""Results as one xarray.Dataset: naming, attributes, the run manifest, safe writing."""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.model.memo import per_model
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


def variable_attrs(model: ModelLike) -> dict[str, dict[str, str]]:
    """``{Python name: attrs}``: every variable's units, long names (en, zh), Vensim name
    and role (made once per model, as annotating is on every run's path; the dicts are
    shared: copy one to change it)."""
    return per_model(
        model,
        "variable attrs",
        lambda: {
            py: {
                "units": meta.units,
                "long_name": meta.long_name_en,
                "long_name_en": meta.long_name_en,
                "long_name_zh": meta.long_name_zh,
                "vensim_name": meta.name,
                "role": meta.role,
            }
            for py, meta in model.by_py_name.items()
        },
    )


def annotate(ds: xr.Dataset, model: ModelLike) -> xr.Dataset:
    """Give every variable its units, long names (en, zh), Vensim name and role."""
    attrs = variable_attrs(model)
    for name, var in ds.data_vars.variables.items():  # Variables: no DataArray each
        own = attrs.get(str(name))
        if own is not None:
            var.attrs.update(own)
    profile = profile_for(model)
    if profile.is_yaan:
        time_attrs = {
            "units": "year",
            "long_name": "time (t = Y.0 is 1 January of year Y)",
            "long_name_zh": "年份",
        }
    else:  # another model: its own time unit (Minute, Day, ...)
        time_attrs = {
            "units": profile.time_unit(model),
            "long_name": "time",
            "long_name_zh": "时间",
        }
    ds.variables["time"].attrs.update(time_attrs)
    if "park" in ds.dims:
        extra = region_coords(model, ds.variables["park"].values)
        have = ds.variables.get("region")
        if extra and (have is None or not have.identical(extra["region"])):
            ds = _with_coords(ds, extra)
    return ds


def region_coords(model: ModelLike, parks: Sequence | np.ndarray | None) -> dict[str, xr.Variable]:
    """``{"region": Variable}``: the region of each of ``parks`` (the plan's section 二(二),
    from the sub-ranges of the model's Park range); empty where the model has none."""
    regions = model.regions()
    if not regions or parks is None:
        return {}
    return {
        "region": xr.Variable(
            ("park",),
            np.asarray([regions.get(p, "") for p in parks]),
            {"long_name": "region of the plan's section 二(二)"},
        )
    }


def _with_coords(ds: xr.Dataset, extra: dict[str, xr.Variable]) -> xr.Dataset:
    """``ds`` with more non-index coordinates (sharing its variables, not copying them)."""
    if ds.encoding or any(name in ds.variables for name in extra):
        return ds.assign_coords({k: xr.DataArray(v) for k, v in extra.items()})
    coords = {str(k): v for k, v in ds.coords.variables.items()}
    indexes = {str(k): v for k, v in ds.xindexes.items()}
    data = {str(k): v for k, v in ds.data_vars.variables.items()}
    return build_dataset(data, {**coords, **extra}, ds.attrs, indexes)


def stack_scenarios(
    runs: Sequence[xr.Dataset],
    scenarios: Sequence[ScenarioLike],
    extra_coords: Mapping[str, xr.Variable] | None = None,
) -> xr.Dataset:
    """One Dataset per scenario (same horizon) stacked on a ``scenario`` dim, with titles
    and the non-index ``extra_coords`` given (the parks' regions: :func:`region_coords`,
    made here rather than by a second Dataset in :func:`annotate`).

    Runs with the same variables and coordinates (scenarios over one horizon) are
    stacked array by array (one scenario: a view, no copy); others are aligned on the
    union of their times (``xr.concat``, outer join)."""
    scenario_coords = {
        "scenario": xr.Variable(("scenario",), np.asarray([sc.name for sc in scenarios])),
        "scenario_title": xr.Variable(
            ("scenario",), np.asarray([sc.title_en or sc.name for sc in scenarios])
        ),
        **(extra_coords or {}),
    }
    first = runs[0]
    if len(runs) == 1 and "scenario" in first.dims and "scenario" not in first.variables:
        # run with its scenario dim already (an engine's ``lead_dim``): only named here
        return _with_coords(first, scenario_coords)
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
    """Annotate a results Dataset and give it its manifest (every runner ends here).

    Every variable is checked for NaN and inf, and every stock against its declared
    minimum (:mod:`yaan_sim.outputs.finite`): what is found is listed in the manifest
    (``nonfinite``) and raised as a :class:`~yaan_sim.outputs.finite.NonFiniteWarning`.
    """
    from yaan_sim.outputs import finite

    ds = annotate(ds, model)
    nonfinite = finite.describe(finite.scan(ds, finite.Expected.of(model)))
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
        nonfinite=nonfinite,
    )
    ds.attrs.update(
        {
            "title": results_title(model),
            "manifest": manifest.to_json(),
            "engine": engine,
            "model_sha256": model.mdl_sha256,
        }
    )
    if scenarios and horizon.start > model.default_horizon.start:
        # history, then policy (engines.simulate.history_then_policy): the levers act from
        # the horizon's start; the results begin at the model's start
        ds.attrs["plan_start"] = float(horizon.start)
        ds.attrs["history_start"] = float(model.default_horizon.start)
    if nonfinite:
        finite.warn(nonfinite)
    return ds


#: Temporary files are named ``.{output name}.yaan-tmp-{pid}-{n}`` beside their output, so
#: that one left by a killed process is recognised, and removed, by the next write there.
TEMP_MARK = ".yaan-tmp-"
_TEMP_RE = re.compile(r"^\..*" + re.escape(TEMP_MARK) + r"(\d+)-\d+$", re.DOTALL)
_temp_counter = itertools.count()


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when it cannot be told)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or cannot tell: keep its file
    return True


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writing process is no longer running
    on this machine (a write cut short by a kill); return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or pid_running(int(m.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass  # another process removed it first, or we may not: harmless
    return removed


def _temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``, within the folder's name length."""
    tail = f"{TEMP_MARK}{os.getpid()}-{next(_temp_counter)}"
    room = max(1, _name_max(path.parent) - len(tail.encode()) - 1)
    stem = path.name.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return path.with_name(f".{stem}{tail}")


def _create_temp(path: Path) -> Path:
    """Create (exclusively, with the usual permissions) a temporary file beside ``path``."""
    for _ in range(100):  # a name left by an earlier process with this pid: take the next
        tmp = _temp_path(path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise YaanSimError(
                f"cannot write in {path.parent} ({exc.strerror or exc}): choose another path"
            ) from None
    raise YaanSimError(
        f"cannot create a temporary file in {path.parent}: remove its .*{TEMP_MARK}* files"
    )


def check_output(
    path: str | Path,
    force: bool = False,
    *,
    inputs: Sequence[str | Path | None] = (),
    what: str = "output",
) -> Path:
    """Check an output path before any work; return it.

    Refused, with a message that says how to fix it: an empty name, a name too long for
    the folder, a missing or read-only folder, a folder or other non-file at the path
    (even with ``force``), an existing file or a broken symbolic link without ``force``,
    and a path that is one of ``inputs`` (the same file, by any name). Temporary files
    left in the folder by a killed writer are removed.
    """
    if str(path).strip() == "":
        raise YaanSimError(f"the {what} path is empty: give a file name")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        kind = "is a file, not a folder" if folder.exists() else "does not exist"
        raise YaanSimError(
            f"the {what} folder {folder} {kind}: create it first (mkdir -p {folder}) "
            f"or choose another path"
        )
    limit = _name_max(folder)
    if len(path.name.encode("utf-8")) > limit:
        raise YaanSimError(
            f"the {what} name {path.name[:40]}... is {len(path.name.encode('utf-8'))} bytes "
            f"long; the folder {folder} allows {limit}: choose a shorter name"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise YaanSimError(f"the {what} folder {folder} is not writable: choose another path")
    if os.path.lexists(path):
        if path.is_symlink() and not path.exists():
            if not force:
                raise YaanSimError(
                    f"{path} is a broken symbolic link (to {os.readlink(path)}): remove it, "
                    "choose another path, or pass --force to replace the link itself"
                )
        elif path.is_dir():
            raise YaanSimError(f"{path} is a folder: give a file name inside it, e.g. {path}/x")
        elif not path.is_file():
            raise YaanSimError(f"{path} is not a regular file (a device or pipe): choose a file")
        elif not force:
            raise YaanSimError(
                f"{path} exists already: pass --force to overwrite it, or choose another path"
            )
    for source in inputs:
        if source is None or not os.path.exists(source) or not path.exists():
            continue
        if os.path.samefile(source, path):
            alias = "" if os.path.abspath(source) == os.path.abspath(path) else f" ({source})"
            raise YaanSimError(
                f"{path} is also an input{alias}: writing it would destroy what is being "
                "read; choose another output path"
            )
    remove_stale_temps(folder)
    return path


def check_writable(path: str | Path, force: bool = False) -> Path:
    """:func:`check_output` without inputs (kept for callers that have none)."""
    return check_output(path, force)


def write_atomic(
    path: str | Path,
    write_to: Callable[[Path], Any],
    force: bool = False,
    *,
    inputs: Sequence[str | Path | None] = (),
) -> Path:
    """Call ``write_to(tmp_path)`` and put the file in place at once: never half a file.

    Without ``force`` the output is created exclusively (a hard link of the finished
    temporary file, which fails if anything appeared at ``path`` meanwhile), so of two
    processes writing the same output exactly one succeeds; the other gets a
    :class:`YaanSimError` and the file holds one complete result. With ``force`` the
    file is replaced in one rename.
    """
    path = check_output(path, force, inputs=inputs)
    tmp = _create_temp(path)
    try:
        try:
            write_to(tmp)
        except OSError as exc:
            raise YaanSimError(
                f"cannot write {path} ({exc.strerror or exc}); nothing was written there"
            ) from None
        _put_in_place(tmp, path, force)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def _put_in_place(tmp: Path, path: Path, force: bool) -> None:
    try:
        if force:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.ENOSYS,
                errno.EMLINK,
                errno.EXDEV,
            ):
                raise
            # no hard links here (some network and FUSE file systems): claim the name
            # with an exclusive create, then rename over the empty claim
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.replace(tmp, path)
    except FileExistsError:
        raise YaanSimError(
            f"{path} was created by another process while this one was working; it was not "
            "overwritten and this result was not kept: pass --force to replace it, or "
            "choose another path"
        ) from None
    except OSError as exc:
        raise YaanSimError(
            f"cannot put {path} in place ({exc.strerror or exc}); nothing was written there"
        ) from None


def to_netcdf(ds: xr.Dataset, path: str | Path, force: bool = False) -> Path:
    """Write a results Dataset to netCDF atomically."""
    return write_atomic(path, lambda tmp: ds.to_netcdf(tmp), force=force)


def _why_unreadable(exc: Exception, path: Path) -> str:
    """Why a file could not be read as netCDF, in a few words: xarray's own message when
    no reader knows the file is a paragraph about its IO backends, cut mid-sentence."""
    text = str(exc).strip()
    if "IO backends" in text or ("engine" in text and "installed" in text):
        if path.suffix and path.suffix != ".nc":
            return f"a {path.suffix} file, which no netCDF reader recognises"
        return "no netCDF reader recognises it"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + "..."


def open_results(path: str | Path) -> xr.Dataset:
    """Open a yaan-sim results file, with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results file {path} not found: run `yaan-sim run -o {path}` first")
    try:
        ds = xr.load_dataset(path)
    except Exception as exc:  # netCDF4/h5 raise many kinds for corrupt files
        raise ResultsError(
            f"{path} is not a readable netCDF file ({_why_unreadable(exc, path)}); "
            "give a results file written by `yaan-sim run` (a .nc file, such as out/runs.nc)"
        ) from None
    read_manifest(ds)
    return ds
