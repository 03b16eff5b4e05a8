"""Non-finite numbers and negative stocks in results: found after every run, never silent.

:func:`scan` looks at every numeric variable of a results Dataset for NaN, +inf and -inf,
and at every stock for values below the minimum its .mdl range declares (``[0,?]``: a
negative stock). Each :class:`Finding` says which variable, where (the element, scenario
and sample) and when (the first time). :func:`yaan_sim.outputs.results.finish`, where
every run ends, records them in the manifest (``nonfinite``) and warns with a
:class:`NonFiniteWarning`; :func:`nonfinite_policy` turns that warning into a notice or
into a :class:`NonFiniteError` (``--on-nonfinite warn|error`` on the command line).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.model.memo import per_model
from yaan_sim.protocols import ModelLike

POLICIES = ("warn", "error")
#: Findings kept in a manifest and shown in a notice (the count of the rest is given).
MAX_SHOWN = 20
#: A stock counts as below its minimum only beyond this share of its largest magnitude
#: (integration round-off puts a stock that drains to 0 at about -1e-15).
REL_TOL = 1e-9


class NonFiniteWarning(UserWarning):
    """A run produced NaN or infinite numbers, or a stock below its declared minimum."""


class NonFiniteError(YaanSimError):
    """The same, where the caller asked for an error (``--on-nonfinite error``)."""


@dataclass(frozen=True)
class Finding:
    """One variable's problem: what, how many values, and the first place and time."""

    variable: str
    problem: str  # "NaN", "+inf", "-inf" or "below its minimum 0 (negative)"
    count: int
    time: float | None
    where: str  # "park=ETDZ, scenario=plan", "" for a scalar
    value: float

    def text(self) -> str:
        at = f"[{self.where}]" if self.where else ""
        when = f" from t={self.time:g}" if self.time is not None else ""
        first = "" if self.problem in ("NaN", "+inf", "-inf") else f" (first {self.value:.6g})"
        return f"{self.variable}{at}: {self.problem}{when}{first}, {self.count} value(s)"


@dataclass(frozen=True)
class Expected:
    """What the model declares: each stock's minimum, and the elements each variable is
    defined on where that is a sub-range (``Raw wastewater concentration[Water
    pollutant]`` has no value for SO2: its NaN there is no finding)."""

    minimums: Mapping[str, float]
    domains: Mapping[str, Mapping[str, list[str]]]

    @classmethod
    def of(cls, model: ModelLike) -> Expected:
        """What ``model`` declares (worked out once per model: every run's results are
        scanned)."""
        return per_model(model, "expected", lambda: cls._read(model))

    @classmethod
    def _read(cls, model: ModelLike) -> Expected:
        minimums, domains = {}, {}
        dim_of = getattr(model, "dim_of_range", {})
        full = getattr(model, "full_range_of_dim", {})
        for meta in model.meta.values():
            is_stock = meta.role == "stock" or (meta.kind == "Stateful" and meta.subtype == "Integ")
            if is_stock and math.isfinite(meta.limits[0]):
                minimums[meta.py_name] = float(meta.limits[0])
            subs = {
                dim_of[r]: list(model.subscripts[r])
                for r in meta.subscripts
                if r in dim_of and full.get(dim_of[r]) not in (None, r)
            }
            if subs:
                domains[meta.py_name] = subs
        return cls(minimums, domains)


def scan(ds: xr.Dataset, expected: Expected | None = None) -> list[Finding]:
    """Every NaN, inf and below-minimum value of ``ds``, one :class:`Finding` per variable
    and problem, in the order of the variables."""
    expected = expected or Expected({}, {})
    found = []
    # Variables, not DataArrays (and their coords), for the clean ones
    numeric = [
        (str(name), var)
        for name, var in ds.data_vars.variables.items()
        if var.dtype.kind == "f" and var.size
    ]
    all_finite = _all_finite(numeric, expected)
    for name, var in numeric:
        lo = expected.minimums.get(name)
        doms = expected.domains.get(name, {})
        if name in all_finite:
            if lo is None or var.data.min() >= lo:
                continue
        elif _clean(_in_domain(ds, var, doms), lo):
            continue
        da = ds[name]
        domain = {
            d: [x for x in labels if x in set(map(str, da[d].values))]
            for d, labels in doms.items()
            if d in da.dims
        }
        if domain:
            da = da.sel(domain)
        a = da.values
        total = a.sum(dtype=float)  # NaN and inf reach the sum: one pass for the usual case
        if math.isfinite(total) and (lo is None or a.min() >= lo):
            continue
        masks = [("NaN", np.isnan(a)), ("+inf", np.isposinf(a)), ("-inf", np.isneginf(a))]
        if lo is not None:
            finite = np.isfinite(a)
            scale = float(np.abs(a, where=finite, out=np.zeros_like(a)).max())
            below = finite & (a < lo - REL_TOL * max(1.0, scale))
            label = f"below its minimum {lo:g}" + (" (negative)" if lo == 0 else "")
            masks.append((label, below))
        for problem, mask in masks:
            count = int(mask.sum())
            if count:
                found.append(_locate(name, da, mask, problem, count))
    return found


#: the most elements :func:`_all_finite` copies to check at once (a run of the park model: ~140k)
ALL_AT_ONCE = 1 << 20


def _all_finite(numeric: list[tuple[str, xr.Variable]], expected: Expected) -> set[str]:
    """The names of the variables defined on their whole dims, where all of them together
    hold no NaN or inf: one sum over their values side by side instead of one per variable
    (256 sums took ~0.9 ms of a ~25 ms run). Empty where they are too big to copy, not
    numpy arrays, or where something is not finite (each is then looked at)."""
    names, parts, size = [], [], 0
    for name, var in numeric:
        data = var.data
        if type(data) is not np.ndarray or name in expected.domains:
            continue
        size += data.size
        if size > ALL_AT_ONCE:
            return set()
        names.append(name)
        parts.append(data.ravel())
    if not parts or not math.isfinite(np.concatenate(parts).sum()):
        return set()
    return set(names)


def _clean(a: np.ndarray, lo: float | None) -> bool:
    """No NaN or inf (they reach the sum: one pass for the usual case), none below ``lo``."""
    return math.isfinite(a.sum(dtype=float)) and (lo is None or a.size == 0 or a.min() >= lo)


def _in_domain(ds: xr.Dataset, var: xr.Variable, doms: Mapping[str, list[str]]) -> np.ndarray:
    """``var``'s values on the elements it is defined on, selected in numpy (a DataArray
    and ``.sel`` cost ~0.5 ms a variable: the scan runs after every run)."""
    a = var.values
    for d, labels in doms.items():
        if d in var.dims and d in ds.variables:
            keep = set(labels)
            at = [i for i, x in enumerate(ds.variables[d].values) if str(x) in keep]
            a = np.take(a, at, axis=var.dims.index(d))
    return a


def _locate(name: str, da: xr.DataArray, mask: np.ndarray, problem: str, count: int) -> Finding:
    """The first bad value in time order (then in the order of the other dims)."""
    dims = list(da.dims)
    order = (["time"] if "time" in dims else []) + [d for d in dims if d != "time"]
    moved = np.transpose(mask, [dims.index(d) for d in order])
    index = np.unravel_index(int(np.flatnonzero(moved)[0]), moved.shape)
    at = dict(zip(order, (int(i) for i in index), strict=True))
    time = float(da["time"].values[at["time"]]) if "time" in at else None
    where = ", ".join(f"{d}={da[d].values[i]}" for d, i in at.items() if d != "time")
    value = float(da.values[tuple(at[d] for d in dims)])
    return Finding(name, problem, count, time, where, value)


def describe(findings: list[Finding], limit: int = MAX_SHOWN) -> list[str]:
    """One line per finding (at most ``limit``, then how many more)."""
    lines = [f.text() for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more variable(s)")
    return lines


def warn(lines: list[str]) -> None:
    """Warn that a run's results hold non-finite numbers or negative stocks."""
    warnings.warn(
        NonFiniteWarning(
            "the results hold non-finite numbers or stocks below their minimum: " + "; ".join(lines)
        ),
        stacklevel=3,
    )


@contextmanager
def nonfinite_policy(policy: str, notify: Callable[[str], None]) -> Iterator[None]:
    """Within the block, a :class:`NonFiniteWarning` is shown with ``notify`` (``"warn"``:
    the results are kept, flagged in their manifest) or raised as a :class:`NonFiniteError`
    before anything is written (``"error"``)."""
    if policy not in POLICIES:
        raise YaanSimError(f"on_nonfinite must be one of {', '.join(POLICIES)}, not {policy!r}")
    previous = warnings.showwarning

    def show(message, category, *args, **kwargs):
        if not issubclass(category, NonFiniteWarning):
            return previous(message, category, *args, **kwargs)
        if policy == "error":
            raise NonFiniteError(
                f"{message}. Nothing was written. Check the model and the scenario's "
                "values, or pass --on-nonfinite warn to keep such results (flagged)"
            )
        notify(f"{message} (kept; flagged in the manifest as `nonfinite`)")
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("always", NonFiniteWarning)
        warnings.showwarning = show
        yield
