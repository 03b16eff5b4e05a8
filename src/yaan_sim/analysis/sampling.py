"""Sample designs over a scenario's ``uncertain:`` block: Monte Carlo, Latin hypercube, Sobol.

A design turns the block's distributions into ``{Vensim name: DataArray (sample, *dims)}``,
the ``sample_overrides`` of :func:`yaan_sim.engines.simulate`. Every method is seeded (same seed,
same numbers) and every value lies in the constant's range.

- ``mc``: the scenario's own Monte Carlo draws, exactly what
  ``ys.simulate(model, [sc], samples=N, seed=S)`` uses (:meth:`Uncertainty.sample`).
- ``lhs`` and ``sobol``: a Latin hypercube (``scipy.stats.qmc.LatinHypercube``) or a
  scrambled Sobol sequence (``scipy.stats.qmc.Sobol``) in the unit cube, one column per
  *factor*, mapped through each distribution's inverse CDF (uniform, triangular,
  normal truncated to ``[low, high]``).

A factor is one independent draw: a distribution shared by the elements it covers (the
default in scenario files) is one factor; an ``independent: true`` distribution is one
factor per element. :func:`factors` lists them; :func:`design_from_unit` maps any unit
matrix (e.g. one from SALib) onto the model's constants.

Example::

    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    d = sample_design(sc.uncertain, 1000, method="lhs", seed=1)
    ys.simulate(model, [sc], samples=1000, sample_overrides=d.values)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from yaan_sim.engines.prerun import check_seed
from yaan_sim.errors import YaanSimError

if TYPE_CHECKING:
    import pandas as pd

    from yaan_sim.model.levers import Lever

METHODS = ("mc", "lhs", "sobol")


@dataclass(frozen=True)
class Factor:
    """One independent uncertain quantity of a design.

    Attributes
    ----------
    label : str
        ``"Depreciation rate"``, ``"Investment attraction rate[ETDZ]"`` (a map entry) or
        ``"Removal efficiency[COD]"`` (an element of an ``independent`` distribution).
    name : str
        The constant's Vensim name.
    cells : tuple of int
        Flat indices into the constant's array that this factor sets.
    dist : Distribution
        The distribution (``scenario.Distribution``): kind, params, truncation.
    """

    label: str
    name: str
    cells: tuple[int, ...]
    dist: object

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF of the factor's distribution at unit values ``u``."""
        return ppf(self.dist, u)


def ppf(dist: Any, unit: ArrayLike) -> np.ndarray:
    """Inverse CDF of a scenario ``Distribution`` (uniform, triangular, truncated normal)."""
    return np.asarray(dist.ppf(unit), dtype=float)


def _cell_labels(lever: Lever) -> list[str]:
    if not lever.dims:
        return [""]
    grids = np.meshgrid(*[lever.coords[d] for d in lever.dims], indexing="ij")
    return [",".join(str(g.flat[i]) for g in grids) for i in range(grids[0].size)]


def _cells_of(lever: Lever, dim: str | None, elements: Sequence[str]) -> np.ndarray:
    """Boolean mask (flat) of the cells a piece covers (all cells when dim is None)."""
    shape = lever.default.shape
    mask = np.zeros(shape, dtype=bool)
    if dim is None:
        mask[...] = True
    else:
        axis = lever.dims.index(dim)
        idx = [i for i, el in enumerate(lever.coords[dim]) if el in set(elements)]
        sl: list[slice | list[int]] = [slice(None)] * len(shape)
        sl[axis] = idx
        mask[tuple(sl)] = True
    return mask.ravel()


def factors(uncertainty: Any) -> list[Factor]:
    """The independent factors of an ``uncertain:`` block, in a fixed order.

    Constants in sorted-name order; within a constant the ``default`` entry, then the
    groups, then single elements (the order in which they are applied). Cells that a
    later entry overrides are not counted for an earlier one, and an entry left with no
    cell gives no factor.
    """
    out: list[Factor] = []
    for name in sorted(uncertainty.settings):
        setting = uncertainty.settings[name]
        lever = uncertainty.constants[name]
        pieces = [] if setting.base is None else [("default", None, (), setting.base)]
        pieces += list(setting.parts)
        n_cells = int(np.prod(lever.default.shape)) if lever.dims else 1
        owner = np.full(n_cells, -1)
        for i, (_key, dim, elements, _dist) in enumerate(pieces):
            owner[_cells_of(lever, dim, elements)] = i
        labels = _cell_labels(lever)
        for i, (key, _dim, _elements, dist) in enumerate(pieces):
            cells = tuple(int(c) for c in np.flatnonzero(owner == i))
            if not cells:
                continue
            if dist.independent and lever.dims:
                out += [Factor(f"{name}[{labels[c]}]", name, (c,), dist) for c in cells]
            else:
                label = (
                    name
                    if (not lever.dims or (key == "default" and len(pieces) == 1))
                    else f"{name}[{key}]"
                )
                out.append(Factor(label, name, cells, dist))
    return out


@dataclass
class Design:
    """A sample design: the unit matrix, its factors and the constants' values.

    Attributes
    ----------
    method : str
        ``mc``, ``lhs``, ``sobol`` (or ``unit`` for a matrix given by the caller).
    seed : int or None
    factors : list of Factor
    unit : numpy.ndarray or None
        ``(samples, factors)`` in the unit cube (None for ``mc``: native draws).
    values : dict
        ``{Vensim name: DataArray (sample, *dims)}`` for ``simulate(sample_overrides=...)``.
    """

    method: str
    seed: int | None
    factors: list[Factor]
    unit: np.ndarray | None
    values: dict[str, xr.DataArray]

    @property
    def samples(self) -> int:
        return next(iter(self.values.values())).sizes["sample"] if self.values else 0

    def slice(self, start: int, stop: int) -> dict[str, xr.DataArray]:
        """The values of samples ``start:stop``, renumbered from 0 (one chunk)."""
        return {
            k: v.isel(sample=slice(start, stop)).assign_coords(sample=np.arange(stop - start))
            for k, v in self.values.items()
        }

    def table(self) -> pd.DataFrame:
        """The factor values as a DataFrame: one row per sample, one column per factor."""
        import pandas as pd

        cols = {}
        for f in self.factors:
            da = self.values[f.name]
            flat = da.values.reshape(da.sizes["sample"], -1)
            cols[f.label] = flat[:, f.cells[0]]
        return pd.DataFrame(cols)


def design_from_unit(
    uncertainty: Any, unit: np.ndarray, method: str = "unit", seed: int | None = None
) -> Design:
    """Map a unit matrix ``(samples, factors)`` onto the block's constants via inverse CDFs."""
    facs = factors(uncertainty)
    unit = np.atleast_2d(np.asarray(unit, dtype=float))
    if unit.shape[1] != len(facs):
        raise YaanSimError(
            f"the unit matrix has {unit.shape[1]} columns but the uncertain block "
            f"has {len(facs)} factors ({', '.join(f.label for f in facs)})"
        )
    n = unit.shape[0]
    values = {}
    for name in sorted(uncertainty.settings):
        lever = uncertainty.constants[name]
        base = np.asarray(lever.default.values, dtype=float)
        data = np.broadcast_to(base.ravel(), (n, base.size)).copy()
        for j, f in enumerate(facs):
            if f.name == name:
                data[:, list(f.cells)] = f.ppf(unit[:, j])[:, None]
        values[name] = _as_da(data.reshape((n, *base.shape)), lever)
    return Design(method, seed, facs, unit, values)


def _as_da(data: np.ndarray, lever: Lever) -> xr.DataArray:
    da = xr.DataArray(
        data,
        dims=("sample", *lever.dims),
        coords={"sample": np.arange(data.shape[0]), **{d: lever.coords[d] for d in lever.dims}},
    )
    da.attrs.update(units=lever.units, long_name=lever.en, long_name_zh=lever.zh)
    return da


def unit_matrix(n: int, k: int, method: str, seed: int | None) -> np.ndarray:
    """``(n, k)`` points in the unit cube: ``mc`` (uniform), ``lhs`` or ``sobol``, seeded."""
    from scipy.stats import qmc

    seed = check_seed(seed)

    rng = np.random.default_rng(seed)
    if k == 0:
        return np.zeros((n, 0))
    if method == "mc":
        return rng.random((n, k))
    if method == "lhs":
        return qmc_engine(qmc.LatinHypercube, k, rng).random(n)
    if method == "sobol":
        with warnings.catch_warnings():
            # scipy warns that the balance of a Sobol sequence needs n = 2**m; any n is
            # still a valid (if slightly less balanced) low-discrepancy design.
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
            return qmc_engine(qmc.Sobol, k, rng, scramble=True).random(n)
    raise YaanSimError(f"unknown sampling method {method!r}: choose one of {', '.join(METHODS)}")


def qmc_engine(cls: Any, k: int, rng: np.random.Generator, **kw: Any) -> Any:
    """A scipy.stats.qmc engine seeded by ``rng`` (``rng=`` since scipy 1.15, ``seed=`` before)."""
    try:
        return cls(d=k, rng=rng, **kw)
    except TypeError:
        return cls(d=k, seed=rng, **kw)


def sample_design(uncertainty: Any, n: int, method: str = "mc", seed: int | None = 0) -> Design:
    """A seeded design of ``n`` samples over an ``uncertain:`` block.

    Parameters
    ----------
    uncertainty : Uncertainty
        ``scenario.uncertain`` (must not be empty).
    n : int
        Number of samples.
    method : {"mc", "lhs", "sobol"}
        ``mc`` gives the scenario's own draws (as ``simulate(samples=n, seed=seed)``);
        ``lhs`` and ``sobol`` map quasi-random unit points through inverse CDFs.
    seed : int
        The seed of ``numpy.random.default_rng``: same seed, same numbers.
    """
    if method not in METHODS:
        raise YaanSimError(
            f"unknown sampling method {method!r}: choose one of {', '.join(METHODS)}"
        )
    if not uncertainty:
        raise YaanSimError(
            "the scenario has no `uncertain:` block, so there is nothing to "
            "sample: add one (scenarios/README.md, 'uncertain') or use "
            "scenarios/uncertain/plan-uncertain.yaml"
        )
    n = int(n)
    if n < 1:
        raise YaanSimError(f"samples must be at least 1, got {n}")
    if method == "mc":
        values = uncertainty.sample(np.random.default_rng(seed), n)
        return Design("mc", seed, factors(uncertainty), None, values)
    facs = factors(uncertainty)
    return design_from_unit(uncertainty, unit_matrix(n, len(facs), method, seed), method, seed)


# ------------------------------------------------------------------ candidate values


def repeat_on_samples(base: xr.DataArray, n: int) -> xr.DataArray:
    """``base`` (a constant's value, any dims) repeated on a new leading ``sample`` dim."""
    return base.expand_dims(sample=np.arange(n)).copy()


def place_candidates(
    da: xr.DataArray,
    values: ArrayLike,
    *,
    mode: str = "shift",
    dim: str | None = None,
    elements: Sequence[str] = (),
    lo: float = math.nan,
    hi: float = math.nan,
) -> xr.DataArray:
    """One candidate value per sample put onto ``da`` (dims ``sample, ...``).

    ``mode="shift"`` adds each sample's value to ``da`` (a schedule moves as a whole),
    ``"set"`` replaces ``da`` by it; only the ``elements`` of ``dim`` when given, every
    cell otherwise. The result is clipped to ``[lo, hi]`` where those are finite. This
    is how goal-seeking, calibration and lever factors of sensitivity analysis turn a
    matrix of candidates (samples x decision variables) into ``sample_overrides``.
    """
    if mode not in ("shift", "set"):
        raise YaanSimError(f"mode must be 'shift' or 'set', not {mode!r}")
    v = xr.DataArray(
        np.asarray(values, dtype=float), dims=("sample",), coords={"sample": da["sample"]}
    )
    new = da + v if mode == "shift" else v.broadcast_like(da)
    if dim is not None and elements:
        labels = np.asarray(da[dim].values)
        mask = xr.DataArray(np.isin(labels, list(elements)), dims=(dim,), coords={dim: labels})
        new = xr.where(mask, new, da)
    low = float(lo) if math.isfinite(lo) else None
    high = float(hi) if math.isfinite(hi) else None
    if low is not None or high is not None:
        new = new.clip(low, high)
    return new.transpose(*da.dims).assign_attrs(da.attrs)
