"""The run manifest: what produced a result, typed, and checked when it is read back.

Every results Dataset carries one, as JSON in its ``manifest`` attribute: the model file
and its SHA-256, the engine, horizon, samples and seed, every scenario with the text of
each file of its ``extends:`` chain, the package versions, the platform and the command.
``yaan-sim rerun`` replays a result from it.

A manifest read back is untrusted input (a results file may come from anywhere):
:meth:`Manifest.from_json` checks every field's type, that the horizon is a horizon, and
that every scenario file is named by a plain file name (no ``/``, ``\\``, ``..``, drive or
absolute path) placed in plain sub-folder names, so :meth:`ScenarioRecord.write_into`
can never write outside the folder it is given. Any problem is a
:class:`~yaan_sim.errors.ResultsError` naming the field.

Manifests written before version 2 (one string per scenario with ``# --- name`` headers
between its files, plus the files' original paths) are read and converted, with the same
checks.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from yaan_sim.errors import ResultsError
from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike, ScenarioLike

MANIFEST_VERSION = 2
#: Packages whose versions decide the numbers: recorded in every manifest.
VERSIONED = ("yaan-sim", "pysd", "numpy", "xarray", "pandas", "scipy", "netCDF4")
KINDS = ("simulate", "designed ensemble", "ensemble", "batch", "loops")
_MAX_NAME_BYTES = 255


def package_versions() -> dict[str, str]:
    """The versions of Python and of the packages that decide the numbers (read once per
    process: reading installed-package metadata costs milliseconds a call)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    out = [("python", platform.python_version())]
    for name in VERSIONED:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


# ------------------------------------------------------------------ the records


@dataclass(frozen=True)
class ScenarioFile:
    """One file of a scenario's chain: a plain file name, its text, and the plain
    sub-folders it sat in below the chain's common folder (``("uncertain",)``)."""

    name: str
    text: str
    folder: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScenarioRecord:
    """A scenario as run: its name, the SHA-256 of its files' text, and the files (its
    own first, then its parent, ...). ``sources`` are the paths they were read from, for
    people; nothing is ever written there."""

    name: str
    sha256: str | None
    files: tuple[ScenarioFile, ...] = ()
    sources: tuple[str, ...] = ()

    def write_into(self, folder: Path) -> Path:
        """Lay the files out in ``folder`` as they were; return the scenario's own file."""
        if not self.files:
            raise ResultsError(
                f"scenario {self.name!r} has no recorded file text: it cannot be re-run"
            )
        root = Path(folder).resolve()
        places = [root.joinpath(*f.folder, f.name) for f in self.files]
        if len(set(places)) != len(places):
            raise ResultsError(
                f"the manifest gives two files of scenario {self.name!r} the same place"
            )
        for place, f in zip(places, self.files, strict=True):
            if not place.resolve().is_relative_to(root):  # the names are checked; be sure
                raise ResultsError(f"the manifest's file {f.name!r} lies outside {root}")
            try:
                data = f.text.encode("utf-8")
            except UnicodeEncodeError:
                raise ResultsError(
                    f"the manifest's text of {f.name!r} is not valid Unicode text"
                ) from None
            place.parent.mkdir(parents=True, exist_ok=True)
            place.write_bytes(data)
        return places[0]


@dataclass(frozen=True)
class EnsembleRecord:
    """How an ensemble's design was drawn and run; ``posterior``: the posterior file the
    calibrated constants were drawn from (``"in memory"`` for a Dataset), if any."""

    method: str
    chunk_size: int
    scheduler: str | None = None
    workers: int | None = None
    posterior: str | None = None


@dataclass(frozen=True)
class LoopsRecord:
    """How a loop-dominance analysis grouped and bounded its loops (``yaan-sim loops``)."""

    by: str
    max_loops: int
    max_length: int | None = None


@dataclass(frozen=True)
class ObservedRecord:
    """The observed figures a result used (``--observed``): the file as given and its
    SHA-256; ``from_year``: the year whose observed state the run started from, if any."""

    file: str
    sha256: str = ""
    from_year: int | None = None


@dataclass(frozen=True)
class Manifest:
    """Everything needed to say what produced a result, and to run it again."""

    model_file: str
    model_sha256: str
    engine: str
    horizon: Horizon
    kind: str = "simulate"
    seed: int | None = None
    samples: int | None = None
    scenarios: tuple[ScenarioRecord, ...] = ()
    return_vars: tuple[str, ...] | None = None
    ensemble: EnsembleRecord | None = None
    batch_sources: tuple[str, ...] | None = None
    loops: LoopsRecord | None = None
    #: NaN, inf and below-minimum stocks found in the results (outputs/finite.py), if any
    nonfinite: tuple[str, ...] = ()
    observed: ObservedRecord | None = None
    created_utc: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    platform: str = ""
    command: tuple[str, ...] = ()
    tool: str = "yaan-sim"
    manifest_version: int = MANIFEST_VERSION

    @classmethod
    def create(
        cls,
        model: ModelLike,
        *,
        engine: str,
        horizon: Horizon,
        scenarios: Iterable[ScenarioLike] = (),
        seed: int | None = None,
        samples: int | None = None,
        argv: Sequence[str] | None = None,
        kind: str = "simulate",
        return_vars: Sequence[str] | None = None,
        ensemble: EnsembleRecord | None = None,
        batch_sources: Sequence[str] | None = None,
        loops: LoopsRecord | None = None,
        nonfinite: Sequence[str] = (),
    ) -> Manifest:
        """The manifest of a run made now, in this environment."""
        return cls(
            model_file=Path(model.mdl_path).name,
            model_sha256=model.mdl_sha256,
            engine=engine,
            horizon=Horizon(
                float(horizon.start),
                float(horizon.stop),
                float(horizon.step),
                float(horizon.saveper),
            ),
            kind=kind,
            seed=seed,
            samples=samples,
            scenarios=tuple(scenario_record(sc) for sc in scenarios),
            return_vars=tuple(return_vars) if return_vars else None,
            ensemble=ensemble,
            batch_sources=tuple(batch_sources) if batch_sources is not None else None,
            loops=loops,
            nonfinite=tuple(nonfinite),
            created_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            versions=package_versions(),
            platform=platform.platform(),
            command=tuple(argv) if argv is not None else tuple(sys.argv),
        )

    # -- writing
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the layout every version-2 results file has)."""
        out: dict[str, Any] = {
            "tool": self.tool,
            "manifest_version": self.manifest_version,
            "created_utc": self.created_utc,
            "model_file": self.model_file,
            "model_sha256": self.model_sha256,
            "engine": self.engine,
            "kind": self.kind,
            "horizon": asdict(self.horizon),
            "seed": self.seed,
            "samples": self.samples,
            "scenarios": [
                {
                    "name": s.name,
                    "sha256": s.sha256,
                    "files": [
                        {"name": f.name, "folder": list(f.folder), "text": f.text} for f in s.files
                    ],
                    "sources": list(s.sources),
                }
                for s in self.scenarios
            ],
            "return_vars": list(self.return_vars) if self.return_vars is not None else None,
            "versions": dict(self.versions),
            "platform": self.platform,
            "command": list(self.command),
        }
        if self.ensemble is not None:
            out["ensemble"] = asdict(self.ensemble)
        if self.batch_sources is not None:
            out["batch"] = {"sources": list(self.batch_sources)}
        if self.loops is not None:
            out["loops"] = asdict(self.loops)
        if self.nonfinite:
            out["nonfinite"] = list(self.nonfinite)
        if self.observed is not None:
            out["observed"] = asdict(self.observed)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    # -- reading
    @classmethod
    def from_json(cls, text: Any, source: str = "the results") -> Manifest:
        """Parse and check a manifest; :class:`ResultsError` naming the field otherwise."""
        if not isinstance(text, str):
            raise ResultsError(f"{source}: the manifest is {_kind(text)}, not JSON text")
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ResultsError(f"{source}: the manifest is not valid JSON ({exc})") from None
        return cls.from_dict(raw, source)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "the results") -> Manifest:
        r = _Fields(raw, source, "the manifest")
        version = r.integer("manifest_version", default=1, low=1)
        if version > MANIFEST_VERSION:
            raise ResultsError(
                f"{source}: the manifest is version {version}, newer than this yaan-sim "
                f"reads ({MANIFEST_VERSION}): update yaan-sim"
            )
        scenarios = r.items("scenarios", default=[])
        records = tuple(
            _scenario(_Fields(s, source, f"scenarios[{i}]"), version)
            for i, s in enumerate(scenarios)
        )
        ens = r.get("ensemble")
        batch = r.get("batch")
        loops = r.get("loops")
        obs = r.get("observed")
        return cls(
            model_file=r.text("model_file", default=""),
            model_sha256=r.text("model_sha256", pattern=r"[0-9a-f]{64}"),
            engine=r.text("engine", pattern=r"[A-Za-z_][A-Za-z0-9_]*"),
            horizon=_horizon(_Fields(r.get("horizon", required=True), source, "horizon")),
            kind=r.choice("kind", KINDS, default="simulate"),
            seed=r.integer("seed", default=None, low=0),
            samples=r.integer("samples", default=None, low=1),
            scenarios=records,
            return_vars=r.texts("return_vars"),
            ensemble=None if ens is None else _ensemble(_Fields(ens, source, "ensemble")),
            batch_sources=None
            if batch is None
            else _Fields(batch, source, "batch").texts("sources"),
            loops=None if loops is None else _loops(_Fields(loops, source, "loops")),
            nonfinite=r.texts("nonfinite") or (),
            observed=None if obs is None else _observed(_Fields(obs, source, "observed")),
            created_utc=r.text("created_utc", default=""),
            versions=_string_map(r, "versions"),
            platform=r.text("platform", default=""),
            command=r.texts("command") or (),
            tool=r.text("tool", default="yaan-sim"),
            manifest_version=version,
        )


def scenario_record(sc: ScenarioLike) -> ScenarioRecord:
    """The record of a scenario: its files' names, texts and places (its own first)."""
    sources = [Path(p) for p in getattr(sc, "sources", ())]
    texts = getattr(sc, "texts", None)
    if texts is not None and len(texts) == len(sources):
        named = [(p.name, t) for p, t in zip(sources, texts, strict=True)]
    else:  # a scenario object that keeps only the joined text
        joined = getattr(sc, "text", None)
        named = _split_legacy(joined, "the scenario") if joined else []
    folders = _folders(sources, len(named))
    files = tuple(ScenarioFile(n, t, f) for (n, t), f in zip(named, folders, strict=True))
    return ScenarioRecord(
        sc.name, getattr(sc, "sha256", None), files, tuple(str(p) for p in sources)
    )


def _folders(sources: Sequence[Path | str], n: int) -> list[tuple[str, ...]]:
    """Each file's sub-folders below the files' common folder (none when unknown)."""
    if len(sources) != n or n == 0:
        return [()] * n
    parents = [os.path.dirname(os.path.abspath(p)) for p in sources]  # "a/../b" made "b"
    try:
        root = os.path.commonpath(parents)
    except ValueError:  # relative and absolute paths mixed
        return [()] * n
    return [tuple(Path(os.path.relpath(p, root)).parts) if p != root else () for p in parents]


# ------------------------------------------------------------------ reading, checked


class _Fields:
    """Typed access to one JSON object of an untrusted manifest."""

    def __init__(self, raw: Any, source: str, where: str):
        if not isinstance(raw, dict):
            what = where if where == "the manifest" else f"the manifest's {where}"
            raise ResultsError(f"{source}: {what} is {_kind(raw)}, not an object")
        self.raw, self.source, self.where = raw, source, where

    def fail(self, key: str, problem: str) -> ResultsError:
        parts = [p for p in ("" if self.where == "the manifest" else self.where, key) if p]
        where = ".".join(parts) or "JSON"
        return ResultsError(
            f"{self.source}: the manifest's {where} {problem}; it was not written by this "
            "yaan-sim or has been edited: run the command that made it again"
        )

    def get(self, key: str, required: bool = False) -> Any:
        if key not in self.raw or self.raw[key] is None:
            if required:
                raise self.fail(key, "is missing")
            return None
        return self.raw[key]

    def text(self, key: str, default: str | None = None, pattern: str | None = None) -> str:
        value = self.get(key, required=default is None)
        if value is None:
            return default or ""
        if not isinstance(value, str):
            raise self.fail(key, f"is {_kind(value)}, not text")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.fail(key, f"is {value[:80]!r}, not of the expected form")
        return value

    def choice(self, key: str, options: Sequence[str], default: str) -> str:
        value = self.text(key, default=default)
        if value not in options:
            raise self.fail(key, f"is {value[:80]!r}, not one of {', '.join(options)}")
        return value

    def integer(self, key: str, default: int | None, low: int) -> Any:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(key, f"is {_kind(value)}, not a whole number >= {low}")
        return value

    def number(self, key: str) -> float:
        value = self.get(key, required=True)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"is {_kind(value)}, not a number")
        return float(value)

    def items(self, key: str, default: list | None = None) -> list:
        value = self.get(key)
        if value is None:
            if default is None:
                raise self.fail(key, "is missing")
            return default
        if not isinstance(value, list):
            raise self.fail(key, f"is {_kind(value)}, not a list")
        return value

    def texts(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"is {_kind(value)}, not a list of texts")
        return tuple(value)


def _horizon(r: _Fields) -> Horizon:
    h = Horizon(r.number("start"), r.number("stop"), r.number("step"), r.number("saveper"))
    problems = h.problems()
    if problems:
        raise r.fail("", f"is not a horizon ({'; '.join(problems)})")
    return h


def _ensemble(r: _Fields) -> EnsembleRecord:
    chunk_size = r.integer("chunk_size", default=None, low=1)
    if chunk_size is None:
        raise r.fail("chunk_size", "is missing")
    return EnsembleRecord(
        method=r.text("method"),
        chunk_size=chunk_size,
        scheduler=r.text("scheduler", default="") or None,
        workers=r.integer("workers", default=None, low=0),
        posterior=r.text("posterior", default="") or None,
    )


def _observed(r: _Fields) -> ObservedRecord:
    return ObservedRecord(
        file=r.text("file", default=""),
        sha256=r.text("sha256", default=""),
        from_year=r.integer("from_year", default=None, low=0),
    )


def _loops(r: _Fields) -> LoopsRecord:
    max_loops = r.integer("max_loops", default=None, low=1)
    if max_loops is None:
        raise r.fail("max_loops", "is missing")
    return LoopsRecord(
        by=r.text("by", default=""),
        max_loops=max_loops,
        max_length=r.integer("max_length", default=None, low=1),
    )


def _string_map(r: _Fields, key: str) -> dict[str, str]:
    value = r.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise r.fail(key, f"is {_kind(value)}, not a map of texts")
    return dict(value)


def _scenario(r: _Fields, version: int) -> ScenarioRecord:
    name = r.text("name")
    sha = r.text("sha256", default="", pattern=r"[0-9a-f]{64}|") or None
    sources = r.texts("sources") or ()
    if version >= 2:
        files = []
        for i, raw in enumerate(r.items("files", default=[])):
            f = _Fields(raw, r.source, f"{r.where}.files[{i}]")
            folder = f.texts("folder") or ()
            for part in folder:
                _check_name(part, f, "folder")
            files.append(
                ScenarioFile(_check_name(f.text("name"), f, "name"), f.text("text"), folder)
            )
        return ScenarioRecord(name, sha, tuple(files), sources)
    joined = r.text("text", default="")
    named = _split_legacy(joined, f"{r.source}: {r.where}") if joined else []
    for file_name, _ in named:
        _check_name(file_name, r, "text")
    folders = _folders(sources, len(named))
    for parts in folders:
        for part in parts:
            _check_name(part, r, "sources")
    files = [ScenarioFile(n, t, f) for (n, t), f in zip(named, folders, strict=True)]
    return ScenarioRecord(name, sha, tuple(files), sources)


def _check_name(name: str, r: _Fields, key: str) -> str:
    """``name`` if it is one plain file or folder name, which no reader takes for a path."""
    plain = (
        name not in ("", ".", "..")
        and not any(c in name for c in "/\\\0")
        and not PurePosixPath(name).is_absolute()
        and not PureWindowsPath(name).drive
        and name == name.strip()
        and len(name.encode("utf-8", "surrogatepass")) <= _MAX_NAME_BYTES
        and name.isprintable()
        and name.encode("utf-8", "replace") == name.encode("utf-8", "surrogatepass")
    )
    if not plain:
        raise r.fail(key, f"names {name[:80]!r}, which is a path, not a plain file name")
    return name


_LEGACY_HEADER = re.compile(r"^# --- (.*)$", re.M)


def _split_legacy(text: str, where: str) -> list[tuple[str, str]]:
    """A version-1 scenario text (files joined under ``# --- name`` headers) split up."""
    parts = _LEGACY_HEADER.split(text)
    files = [
        (name.strip(), body[1:] if body.startswith("\n") else body)
        for name, body in zip(parts[1::2], parts[2::2], strict=True)
    ]
    if not files:
        raise ResultsError(f"{where}: the recorded scenario text has no file headers")
    return files


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value[:60]!r} (text)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
