"""The parsed values of a scenario: schedules, lever settings, distributions, the scenario.

These are plain values: the checks that build them are in :mod:`yaan_sim.scenario.checks`
and :mod:`yaan_sim.scenario.settings`; the layering of files in
:mod:`yaan_sim.scenario.layering`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import xarray as xr

from yaan_sim.errors import ScenarioError
from yaan_sim.model.levers import Lever, lever_registry
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.dataset import build_dataarray
from yaan_sim.tables import format_exact as _fmt

TOL = 1e-9  # years closer than this are the same time
_EPS = 1e-12  # unit values are kept inside (0, 1) so inverse CDFs stay finite


@dataclass(frozen=True)
class Schedule:
    """A time schedule: values at years, held (``step``) or interpolated (``linear``).

    Before the first year the first value holds, after the last year the last value.
    ``step``: at time t the value of the last point at or before t.
    """

    years: tuple[float, ...]
    values: tuple[float, ...]
    interpolation: str = "step"

    def at(self, times) -> np.ndarray:
        """The schedule's value at each of ``times``."""
        t = np.asarray(times, dtype=float)
        years = np.asarray(self.years, dtype=float)
        values = np.asarray(self.values, dtype=float)
        if self.interpolation == "linear":
            return np.interp(t, years, values)
        tol = TOL * np.maximum(1.0, np.abs(t))
        idx = np.searchsorted(years, t + tol, side="right") - 1
        return values[np.clip(idx, 0, len(values) - 1)]

    def describe(self) -> str:
        pts = ", ".join(
            f"{_fmt(y)}: {_fmt(v)}" for y, v in zip(self.years, self.values, strict=True)
        )
        return "{" + pts + "}" + (" linear" if self.interpolation == "linear" else "")


Value = float | Schedule


def _value_at(value: Value, times: np.ndarray) -> np.ndarray:
    if isinstance(value, Schedule):
        return value.at(times)
    return np.full(times.shape, float(value))


def _positions(coords, elements: tuple[str, ...], dim: str) -> list[int]:
    where = {str(c): i for i, c in enumerate(coords)}
    missing = [e for e in elements if e not in where]
    if missing:
        raise KeyError(f"not all values found in index {dim!r}: {missing}")
    return [where[e] for e in elements]


def _grid(lever: Lever, times: np.ndarray) -> xr.Coordinates:
    """The coordinates of a lever on a time grid, made once (shared by every run)."""
    times = np.asarray(times)
    dims = tuple((d, tuple(lever.coords[d])) for d in lever.dims)
    return _grid_coords(times.dtype.str, tuple(times.tolist()), dims)


@functools.lru_cache(maxsize=256)
def _grid_coords(dtype: str, times: tuple, dims: tuple) -> xr.Coordinates:
    coords = {d: list(c) for d, c in dims}
    return xr.Coordinates({"time": np.asarray(times, dtype=dtype), **coords})


def _describe(value: Value) -> str:
    return value.describe() if isinstance(value, Schedule) else _fmt(value)


@dataclass(frozen=True)
class LeverSetting:
    """What one file sets for one lever.

    ``base`` applies to every element (``None``: the .mdl's default); ``parts`` then set
    selections ``(key, dim, elements, value)`` in order (sub-ranges before elements).
    """

    name: str
    base: Value | None
    parts: tuple[tuple[str, str, tuple[str, ...], Value], ...] = ()
    plan: str = ""
    note: str = ""
    file: str = ""
    line: int = 0
    origin: str = ""  # name of the scenario whose file sets it
    origin_path: Path | None = None
    scale: float | None = None  # the ``{scale: k}`` form: k times the .mdl's value

    def resolve(self, lever: Lever, times: np.ndarray) -> xr.DataArray:
        """The setting on the time grid: dims ``("time", *lever.dims)``."""
        shape = (len(times), *lever.default.shape)
        if self.base is None:
            default = lever.default.values.astype(float) * (self.scale or 1.0)
            data = np.broadcast_to(default, shape).copy()
        else:
            data = np.empty(shape)
            data[...] = _value_at(self.base, times).reshape((-1,) + (1,) * len(lever.dims))
        for _key, dim, elements, value in self.parts:  # in numpy: xarray's .loc costs ~1 ms
            series = _value_at(value, times).reshape((-1,) + (1,) * len(lever.dims))
            where: list[slice | list[int]] = [slice(None)] * data.ndim
            where[1 + lever.dims.index(dim)] = _positions(lever.coords[dim], elements, dim)
            data[tuple(where)] = series
        grid = _grid(lever, times)  # its variables and indexes: no index made per run
        attrs = {"units": lever.units, "long_name": lever.en, "long_name_zh": lever.zh}
        return build_dataarray(
            xr.Variable(("time", *lever.dims), data, attrs),
            {str(k): v for k, v in grid.variables.items()},
            {str(k): i for k, i in grid.xindexes.items()},
        )

    def describe(self) -> str:
        """A short text: ``0.2``, ``default 0.012; ETDZ 0.015``, ``{2016: 0, 2018: 0.1}``."""
        if self.scale is not None:
            return f"{_fmt(self.scale)} × .mdl"
        items = [] if self.base is None else [_describe(self.base)]
        if self.parts and items:
            items[0] = "default " + items[0]
        items += [f"{key} {_describe(v)}" for key, _d, _e, v in self.parts]
        return "; ".join(items) if items else "(.mdl default)"


@dataclass(frozen=True)
class Distribution:
    """A distribution for ensembles: uniform(low, high), triangular(low, mode, high), or
    normal(mean, sd) truncated to ``[low, high]`` (the lever's range where not given)."""

    kind: str
    params: dict
    low: float = -math.inf
    high: float = math.inf
    independent: bool = False  # draw each element on its own (else one draw shared)

    @cached_property
    def frozen(self):
        """The scipy.stats distribution (frozen): the one source of draws and quantiles."""
        from scipy import stats

        p = self.params
        if self.kind == "uniform":
            return stats.uniform(loc=p["low"], scale=p["high"] - p["low"])
        if self.kind == "triangular":
            width = p["high"] - p["low"]
            return stats.triang((p["mode"] - p["low"]) / width, loc=p["low"], scale=width)
        if self.kind == "normal":
            a = (self.low - p["mean"]) / p["sd"]
            b = (self.high - p["mean"]) / p["sd"]
            return stats.truncnorm(a, b, loc=p["mean"], scale=p["sd"])
        raise ScenarioError(
            f"unknown distribution {self.kind!r}: use uniform, triangular or normal"
        )

    def rvs(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` random draws using ``rng``."""
        return np.asarray(self.frozen.rvs(size=size, random_state=rng), dtype=float)

    def ppf(self, u) -> np.ndarray:
        """The inverse CDF at unit values ``u`` (kept inside (0, 1)), within [low, high]."""
        u = np.clip(np.asarray(u, dtype=float), _EPS, 1 - _EPS)
        return np.clip(self.frozen.ppf(u), self.low, self.high)

    def describe(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.kind}({args})"


@dataclass(frozen=True)
class UncertainSetting:
    """What one file draws for one constant: ``base`` for every element (None: the .mdl
    value, fixed), then ``parts`` for selections, as in :class:`LeverSetting`."""

    name: str
    base: Distribution | None
    parts: tuple[tuple[str, str, tuple[str, ...], Distribution], ...] = ()
    file: str = ""
    line: int = 0

    def sample(self, lever: Lever, rng: np.random.Generator, n: int) -> xr.DataArray:
        shape = (n, *lever.default.shape)
        data = np.broadcast_to(lever.default.values.astype(float), shape).copy()
        da = xr.DataArray(
            data,
            dims=("sample", *lever.dims),
            coords={"sample": np.arange(n), **{d: lever.coords[d] for d in lever.dims}},
        )
        pieces = [] if self.base is None else [(None, None, (), self.base)]
        for _key, dim, elements, dist in [*pieces, *self.parts]:
            target = da if dim is None else da.loc[{dim: list(elements)}]
            tshape = target.shape
            if dist.independent:
                draws = dist.rvs(rng, tshape)
            else:
                draws = np.broadcast_to(
                    dist.rvs(rng, n).reshape((n,) + (1,) * (len(tshape) - 1)), tshape
                )
            if dim is None:
                da.values[...] = draws
            else:
                da.loc[{dim: list(elements)}] = draws
        da.attrs.update(units=lever.units, long_name=lever.en, long_name_zh=lever.zh)
        return da


@dataclass
class Uncertainty:
    """The ``uncertain:`` block of a scenario, bound to the model's constants."""

    settings: dict[str, UncertainSetting]
    constants: dict[str, Lever] = field(repr=False, compare=False, default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.settings)

    def __len__(self) -> int:
        return len(self.settings)

    def __iter__(self):
        return iter(self.settings)

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, xr.DataArray]:
        """Draw ``n`` samples: ``{Vensim name: DataArray (sample, *dims)}``, each in range.

        Constants are drawn in sorted-name order, so a seed gives the same samples
        whatever the order of the file.
        """
        if not isinstance(rng, np.random.Generator):
            raise ScenarioError(
                "sample() needs a numpy.random.Generator, e.g. numpy.random.default_rng(0)"
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ScenarioError(f"sample() needs a whole number of samples >= 1, not {n!r}")
        return {
            name: self.settings[name].sample(self.constants[name], rng, int(n))
            for name in sorted(self.settings)
        }


# --- the scenario -----------------------------------------------------------------------
@dataclass
class Scenario:
    """A validated scenario, layered over its parents.

    Attributes
    ----------
    name : str
        The scenario's name (``name:``, else the file's stem).
    title : dict
        ``{"zh": ..., "en": ...}``.
    description : str
    horizon : Horizon or None
        The horizon the files set (missing fields from the model), None when none does.
    levers : dict
        ``{Vensim name: LeverSetting}`` after layering (child over parent, lever by lever).
    uncertain : Uncertainty
        The ``uncertain:`` block after layering, with ``sample(rng, n)``.
    sources : tuple of Path
        The files, the scenario's own first, then its parent, grandparent, ...
    text : str
        The raw YAML of every file of the chain, each headed by ``# --- <file name>``.
    sha256 : str
        SHA-256 of ``text``: changes when the file or any parent changes, not with the
        folder the files are read from.
    texts : tuple of str
        The raw YAML of each file of ``sources``, in the same order (what a run's
        manifest records).
    """

    name: str
    title: dict
    description: str
    horizon: Horizon | None
    levers: dict[str, LeverSetting]
    uncertain: Uncertainty
    sources: tuple[Path, ...]
    text: str
    sha256: str
    plan: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()

    @property
    def title_zh(self) -> str:
        return self.title.get("zh") or self.title.get("en") or self.name

    @property
    def title_en(self) -> str:
        return self.title.get("en") or self.title.get("zh") or self.name

    @property
    def path(self) -> Path:
        return self.sources[0]

    def overrides(self, model, horizon: Horizon | None = None) -> dict[str, xr.DataArray]:
        """Every lever the scenario sets, resolved onto the integration time grid.

        Parameters
        ----------
        model : YaanModel
        horizon : Horizon, optional
            Default: the scenario's horizon, else the model's.

        Returns
        -------
        dict
            ``{Vensim name: DataArray}`` with dims ``("time", *lever dims)``, time coord
            ``horizon.times()`` (every integration step, start to stop inclusive), units
            and long names in attrs. Levers the scenario does not set are left out (they
            keep the .mdl's value).
        """
        horizon = horizon or self.horizon or model.default_horizon
        times = horizon.times()
        registry = lever_registry(model)
        missing = [n for n in self.levers if n not in registry]
        if missing:
            raise ScenarioError(
                f"scenario {self.name!r} sets levers that {Path(model.mdl_path).name} does not "
                f"have: {', '.join(missing)}. Validate it against this model "
                f"(yaan-sim validate --model ...) or fix the names."
            )
        return {name: s.resolve(registry[name], times) for name, s in self.levers.items()}

    def describe_levers(self) -> dict[str, str]:
        """``{lever: short text}`` of the layered settings (for tables)."""
        return {name: s.describe() for name, s in self.levers.items()}
