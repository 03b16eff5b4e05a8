"""Load the Vensim model through PySD, with the translation cached on disk.

The cache key is the SHA-256 of the .mdl's bytes and PySD's version, so any edit of the
model or a PySD upgrade translates again, and an unchanged model never does. A
translation is built in a private temporary folder and moved into place with one
``rename``, so processes loading the model at the same time never see half a file.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from yaan_sim.errors import ModelError
from yaan_sim.model.docmeta import VarMeta, metadata_from_doc
from yaan_sim.paths import DEFAULT_MODEL, cache_dir


def _pysd() -> Any:
    import pysd

    return pysd


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cache_key(mdl_bytes: bytes, pysd_version: str) -> str:
    h = hashlib.sha256(mdl_bytes)
    h.update(b"\0pysd=" + pysd_version.encode())
    return h.hexdigest()[:32]


def translate_cached(mdl_path: Path, cache: Path | None = None) -> tuple[Path, bool]:
    """Return the translated .py for ``mdl_path`` and whether it came from the cache."""
    mdl_path = Path(mdl_path)
    try:
        data = mdl_path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read the model file {mdl_path}: {exc.strerror or exc}. "
            "Check the path (the default is models/yaan_parks.mdl in the checkout)."
        ) from None
    pysd = _pysd()
    key = _cache_key(data, pysd.__version__)
    root = Path(cache) if cache is not None else cache_dir()
    target = root / key
    py_file = target / (mdl_path.stem + ".py")
    if py_file.is_file():
        return py_file, True
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_work(root)
        work = Path(tempfile.mkdtemp(prefix=f".{key}{_WORK_MARK}{os.getpid()}-", dir=root))
    except OSError as exc:
        raise cache_error(root, exc) from None
    try:
        (work / mdl_path.name).write_bytes(data)
        try:
            pysd.read_vensim(str(work / mdl_path.name), initialize=False)
        except Exception as exc:  # PySD's parser raises many kinds; one clear message
            raise ModelError(
                f"{mdl_path}{_where(exc, data)}: PySD could not translate it: "
                f"{str(exc).rstrip('.')}. Fix the equation there (Vensim syntax) and run again."
            ) from None
        if target.exists() and not py_file.is_file():
            _discard(target)  # a damaged entry (e.g. a deleted file): replace it
        try:
            os.rename(work, target)
        except OSError as exc:
            # Another process finished the same translation first: use theirs.
            if not py_file.is_file():
                raise cache_error(target, exc) from None
    except OSError as exc:  # writing the translation (a full or read-only disk)
        raise cache_error(work, exc) from None
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return py_file, False


def _where(exc: Exception, data: bytes) -> str:
    """':LINE' of the .mdl where the text PySD choked on starts, when it can be found."""
    match = re.search(r"begins with '(.{3,40}?)'", str(exc))
    if not match:
        return ""
    text = data.decode("utf-8", errors="replace")
    at = text.find(match.group(1).strip())
    return f":{text.count(chr(10), 0, at) + 1}" if at >= 0 else ""


def cache_error(path: Path, exc: OSError) -> ModelError:
    """The translation cache cannot be used: say which path and how to fix it."""
    why = "a file, not a folder" if path.exists() and not path.is_dir() else exc.strerror
    return ModelError(
        f"the translation cache {path} cannot be used ({why or exc}): make it a "
        "writable folder, or point YAAN_SIM_CACHE at one (e.g. YAAN_SIM_CACHE=/tmp/yaan-cache)"
    )


#: A translation in progress is built in ``.{key}.yaan-tmp-{pid}-*`` inside the cache.
_WORK_MARK = ".yaan-tmp-"
_WORK_RE = re.compile(r"^\.(?:[0-9a-f]{32}\.yaan-tmp-|trash-[0-9a-f]{32}-)(\d+)")


def _remove_stale_work(root: Path) -> None:
    """Remove the work folders of translations cut short by a kill (their process is gone)."""
    from yaan_sim.outputs.results import pid_running

    for entry in os.scandir(root):
        m = _WORK_RE.match(entry.name)
        if m and entry.is_dir(follow_symlinks=False) and not pid_running(int(m.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)


def _discard(folder: Path) -> None:
    """Move a folder out of the way atomically, then delete it."""
    trash = folder.with_name(f".trash-{folder.name}-{os.getpid()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return  # someone else moved or replaced it
    shutil.rmtree(trash, ignore_errors=True)


#: The most integration steps a horizon may have (as a scenario file's ``horizon:``).
MAX_STEPS = 100_000


@dataclass
class Horizon:
    """Integration horizon in years: start, stop, integration step and saving period."""

    start: float
    stop: float
    step: float
    saveper: float

    def times(self) -> np.ndarray:
        """The integration step times from start to stop inclusive."""
        n = round((self.stop - self.start) / self.step)
        return self.start + self.step * np.arange(n + 1)

    def problems(self) -> list[str]:
        """What makes this not a horizon the engines can run; empty when it is one.

        The rules of a scenario file's ``horizon:``: finite numbers, start < stop, a step
        > 0 that divides stop - start into at most 100,000 steps, saveper >= step.
        """
        fields = {"start": self.start, "stop": self.stop, "step": self.step}
        fields["saveper"] = self.saveper
        bad = []
        for key, value in fields.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                bad.append(f"{key} is {value!r}, not a number")
            elif not np.isfinite(value):
                bad.append(f"{key} is {value!r}, not a finite number of years")
        if bad:
            return bad
        if self.stop <= self.start:
            return [f"stop {self.stop:g} is not after start {self.start:g}"]
        if self.step <= 0:
            return [f"step {self.step:g} is not positive"]
        n = (self.stop - self.start) / self.step
        if n > MAX_STEPS:
            return [f"{n:.3g} steps of {self.step:g}: at most {MAX_STEPS:,} are allowed"]
        if abs(n - round(n)) > 1e-6:
            return [
                f"stop - start = {self.stop - self.start:g} is not a whole number of steps "
                f"of {self.step:g} (the run would end at "
                f"{self.start + math.floor(n + 1e-6) * self.step:g}, not {self.stop:g})"
            ]
        if self.saveper < self.step:
            return [f"saveper {self.saveper:g} is below the step {self.step:g}"]
        k = self.saveper / self.step
        if abs(k - round(k)) > 1e-6:
            return [f"saveper {self.saveper:g} is not a whole number of steps of {self.step:g}"]
        m = (self.stop - self.start) / self.saveper
        if abs(m - round(m)) > 1e-6:
            return [
                f"stop - start = {self.stop - self.start:g} is not a whole number of saving "
                f"periods of {self.saveper:g} (the last value saved would be at "
                f"{self.start + math.floor(m + 1e-6) * self.saveper:g}, not {self.stop:g})"
            ]
        return []


@dataclass
class YaanModel:
    """A loaded model: the PySD model plus what the .mdl says about each variable."""

    mdl_path: Path
    mdl_sha256: str
    py_path: Path
    from_cache: bool
    pysd_model: Any = field(repr=False)  # pysd's Model (PySD has no type information)

    @cached_property
    def meta(self) -> dict[str, VarMeta]:
        """``{Vensim name: VarMeta}`` for every variable of the model."""
        return metadata_from_doc(self.pysd_model.doc)

    @cached_property
    def by_py_name(self) -> dict[str, VarMeta]:
        return {m.py_name: m for m in self.meta.values()}

    @property
    def subscripts(self) -> dict[str, list[str]]:
        """Vensim subscript ranges and sub-ranges with their elements."""
        return dict(self.pysd_model.subscripts)

    @cached_property
    def dim_of_range(self) -> dict[str, str]:
        """Map every range and sub-range to its dataset dim (``East`` -> ``park``)."""
        subs = self.subscripts
        # A full range is one not strictly contained in a larger one.
        full = [
            r
            for r, el in subs.items()
            if not any(set(el) < set(other) for o, other in subs.items() if o != r)
        ]
        out = {}
        for r, el in subs.items():
            parent = next((f for f in full if set(el) <= set(subs[f])), r)
            out[r] = parent.lower()
        return out

    @cached_property
    def full_range_of_dim(self) -> dict[str, str]:
        """Map each dataset dim back to its full Vensim range (``park`` -> ``Park``)."""
        return {dim: rng for rng, dim in self.dim_of_range.items() if rng.lower() == dim}

    def regions(self) -> dict[str, str]:
        """Park -> region, from the sub-ranges that partition the Park range (plan 二(二))."""
        parks = self.subscripts.get("Park", [])
        subs = [r for r, d in self.dim_of_range.items() if d == "park" and r != "Park"]
        out = {p: r for r in subs for p in self.subscripts[r]}
        covered = sorted(p for r in subs for p in self.subscripts[r])
        return out if covered == sorted(parks) else {}

    def dims_of(self, name: str) -> tuple[str, ...]:
        return tuple(self.dim_of_range[s] for s in self.meta[name].subscripts)

    @cached_property
    def default_horizon(self) -> Horizon:
        """The .mdl's own horizon (read from the translation, not the live model, whose
        control values PySD leaves at whatever the last run set)."""
        c = self.pysd_model.components._control_vars
        return Horizon(
            float(c["initial_time"]()),
            float(c["final_time"]()),
            float(c["time_step"]()),
            float(c["saveper"]()),
        )

    def vector_model(self, factory: Any) -> Any:
        """The vector engine's compiled form of this model, built once per loaded model."""
        if getattr(self, "_vector", None) is None:
            self._vector = factory.from_mdl(self.mdl_path)
        return self._vector

    def at_start(self, start: float) -> YaanModel:
        """The same model starting at ``start`` (a back-test): a variant .mdl, translated once.

        PySD initialises stocks at the .mdl's INITIAL TIME even when asked to start
        elsewhere, so a different start needs its own translation.
        """
        new = with_initial_time(self.mdl_path.read_text(encoding="utf-8"), start, self.mdl_path)
        key = hashlib.sha256(new.encode()).hexdigest()[:16]
        folder = cache_dir() / "variants" / key
        variant = folder / self.mdl_path.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not variant.exists():
                tmp = folder / f".{variant.name}.{os.getpid()}"
                tmp.write_text(new, encoding="utf-8")
                os.replace(tmp, variant)
        except OSError as exc:
            raise cache_error(folder, exc) from None
        return load_model(variant)

    def levers(self) -> list[VarMeta]:
        """The policy levers: constants whose documentation says ``role: lever``."""
        return [m for m in self.meta.values() if m.is_lever]

    def default_value(self, name: str, *, copy: bool = True) -> xr.DataArray:
        """The .mdl's value of a constant, dims renamed to dataset dims (a copy;
        ``copy=False``: the model's own, to read only, ~0.1 ms less for each lever)."""
        if name not in self._defaults:  # read once: every run of a scenario asks
            self._defaults[name] = self._read_default(name)
        return self._defaults[name].copy() if copy else self._defaults[name]

    @cached_property
    def _defaults(self) -> dict[str, xr.DataArray]:
        """The .mdl's values read so far, by name."""
        return {}

    def _read_default(self, name: str) -> xr.DataArray:
        meta = self.meta.get(name)
        if meta is None:
            raise ModelError(f"no variable named {name!r} in {self.mdl_path.name}")
        # PySD's model holds the .mdl's values: the PySD engine reloads it after each run
        value = getattr(self.pysd_model.components, meta.py_name)()
        if isinstance(value, xr.DataArray):
            value = value.rename(
                {d: self.dim_of_range.get(str(d), str(d).lower()) for d in value.dims}
            )
            return value.copy()
        return xr.DataArray(float(value))


def _pysd_load(py_file: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _pysd().load(str(py_file))


def with_initial_time(text: str, start: float, source: str | Path) -> str:
    """The .mdl text ``text`` (read from ``source``) with its INITIAL TIME set to ``start``:
    the variant PySD needs to start a run elsewhere (:meth:`YaanModel.at_start`)."""
    new, n = re.subn(r"(?m)^(INITIAL TIME\s*=\s*)[^\n~]+", lambda m: f"{m.group(1)}{start:g}", text)
    if n != 1:
        raise ModelError(f"cannot find INITIAL TIME in {source} to start at {start}")
    return new


def load_model(path: str | Path | None = None, *, cache: str | Path | None = None) -> YaanModel:
    """Load a Vensim model (default: models/yaan_parks.mdl), translating it only if needed."""
    mdl = Path(path) if path is not None else DEFAULT_MODEL
    cache_root = Path(cache) if cache is not None else None
    py_file, hit = translate_cached(mdl, cache_root)
    try:
        model = _pysd_load(py_file)
    except Exception as exc:
        if not hit:
            raise ModelError(
                f"PySD could not load its translation of {mdl} ({py_file}): {exc}"
            ) from None
        # A damaged cache entry (cut short, edited, or from a broken disk): translate again.
        _discard(py_file.parent)
        if py_file.is_file():
            raise ModelError(
                f"the cached translation {py_file} is damaged ({exc}) and cannot be removed: "
                "delete that folder, or point YAAN_SIM_CACHE at another folder"
            ) from None
        py_file, hit = translate_cached(mdl, cache_root)
        try:
            model = _pysd_load(py_file)
        except Exception as exc2:
            raise ModelError(
                f"PySD could not load its translation of {mdl} ({py_file}): {exc2}"
            ) from None
    return YaanModel(
        mdl_path=mdl.resolve(),
        mdl_sha256=file_sha256(mdl),
        py_path=py_file,
        from_cache=hit,
        pysd_model=model,
    )
