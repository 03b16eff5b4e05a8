"""Observation operators: what a published figure measures, computed from a model run.

These are measurements of results, not model equations: the model gives rates (flows,
per year) and stocks at its saved times; a statistical office publishes totals over a
period, end-of-period stocks and growth on the same period a year before. Like with
like (docs/analysis.md, "Calibration"):

- a **flow** (a rate such as 亿元/Year) over a period is its integral over that period:
  the calendar year 2018 is ``[2018.0, 2019.0]``, 2018Q1 ``[2018.0, 2018.25]``, 2018H1
  ``[2018.0, 2018.5]``, 2018M01-02 ``[2018.0, 2018 + 2/12]``, a plan period 2016-2020
  ``[2016.0, 2021.0]``. The integral is exact for a piecewise-linear rate through the
  saved points (trapezoids, with linear interpolation at period ends that fall between
  saved times); for a smooth rate its error is about ``h**2 g**2 / 12`` of the total
  (``h`` the saving period, ``g`` the growth rate): 0.05 % at ``h = 0.25``, 30 %/yr.
- a **stock** (land, capital, firms) is its value at the end of the period (a date such
  as 2018-12-31 is the end of that day, 2019.0).
- an **intensive** quantity (a share, an intensity) is its mean over the period. Where
  the numerator and denominator are both observed, :func:`ratio_of_totals` is the
  statistical definition (total R&D / total revenue) and should be preferred.
- a **growth** rate is ``100 * (X(period) / X(same period a year before) - 1)`` %; over a
  span of years (``2014-2015``, "年均增长") it is the average annual rate
  ``100 * ((X(last year) / X(year before the span)) ** (1 / years) - 1)``.
- a **seasonal factor** ``s`` scales a sub-year total: ``s * integral``. ``s = 1`` (the
  default) says the period carries its share of time; Chinese industry's first
  quarter is usually lighter (Spring Festival), so a Q1 figure may need ``s < 1``; the
  calibration can fit it as a nuisance parameter. It cancels in growth rates.

Every operator is linear in the series before the final ratio, so it is a weight vector
over the saved times (:func:`weights`): applying it to an ensemble is one matrix product.

Example::

    from yaan_sim.model.ledger import parse_period
    from yaan_sim.outputs.measures import flow_total, growth
    q1 = flow_total(ds["revenue"], parse_period("2019Q1"))         # 亿元, per park, sample
    g = growth(ds["revenue"], parse_period("2019Q1"), how="total")  # % on 2018Q1
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from yaan_sim.errors import YaanSimError

HOWS = ("total", "end", "mean")
_TOL = 1e-9


class MeasureError(YaanSimError):
    """A measure cannot be taken from these results (period outside the run, bad unit)."""


# ------------------------------------------------------------------ weights over saved times


def weights(times, start: float, end: float, how: str) -> np.ndarray:
    """Weights ``w`` over ``times`` so that ``w @ series`` is the measure over [start, end].

    ``total``: integral of the piecewise-linear interpolant; ``mean``: that integral /
    (end - start); ``end``: the interpolated value at ``end``.
    """
    t = np.asarray(times, dtype=float)
    if how not in HOWS:
        raise MeasureError(f"unknown measure {how!r}: use one of {', '.join(HOWS)}")
    lo, hi = float(t[0]), float(t[-1])
    if start < lo - _TOL or end > hi + _TOL or end < start - _TOL:
        raise MeasureError(
            f"the period [{start:.4g}, {end:.4g}] is not inside the results' time [{lo:g}, {hi:g}]"
        )
    w = np.zeros(len(t))
    if how == "end" or end - start <= _TOL:
        return _point(t, min(max(end, lo), hi), w)
    for i in range(len(t) - 1):
        a, b = t[i], t[i + 1]
        left, right = max(a, start), min(b, end)
        if right <= left:
            continue
        h = b - a
        ul, ur = (left - a) / h, (right - a) / h
        w[i] += h * ((ur - ul) - (ur**2 - ul**2) / 2)
        w[i + 1] += h * (ur**2 - ul**2) / 2
    return w / (end - start) if how == "mean" else w


def _point(t: np.ndarray, x: float, w: np.ndarray) -> np.ndarray:
    i = int(np.searchsorted(t, x, side="right")) - 1
    if i >= len(t) - 1:
        w[-1] = 1.0
        return w
    u = (x - t[i]) / (t[i + 1] - t[i])
    w[i] += 1 - u
    w[i + 1] += u
    return w


def apply_weights(da: xr.DataArray, w: np.ndarray, dim: str = "time") -> xr.DataArray:
    """``sum_t w[t] * da[t]`` along ``dim`` (other dims kept)."""
    return xr.dot(da, xr.DataArray(w, dims=dim, coords={dim: da[dim].values}), dim=dim)


# ------------------------------------------------------------------ the operators on DataArrays


def _span(period) -> tuple[float, float]:
    return float(period.start), float(period.end)


def flow_total(da: xr.DataArray, period, seasonal: float = 1.0) -> xr.DataArray:
    """The integral of a rate over ``period`` (times a seasonal factor for sub-year periods)."""
    a, b = _span(period)
    return seasonal * apply_weights(da, weights(da["time"].values, a, b, "total"))


def stock_at_end(da: xr.DataArray, period) -> xr.DataArray:
    """A stock's value at the end of ``period``."""
    a, b = _span(period)
    return apply_weights(da, weights(da["time"].values, a, b, "end"))


def period_mean(da: xr.DataArray, period) -> xr.DataArray:
    """The time-mean of a quantity over ``period``."""
    a, b = _span(period)
    return apply_weights(da, weights(da["time"].values, a, b, "mean"))


def level(da: xr.DataArray, period, how: str, seasonal: float = 1.0) -> xr.DataArray:
    """The measure ``how`` (``total``, ``end`` or ``mean``) over ``period``."""
    if how == "total":
        return flow_total(da, period, seasonal)
    if how == "end":
        return stock_at_end(da, period)
    return period_mean(da, period)


def growth(da: xr.DataArray, period, how: str) -> xr.DataArray:
    """Growth in % on the same period a year before (average annual rate over a span)."""
    num, den, power = growth_parts(period)
    x1 = level(da, num, how)
    x0 = level(da, den, how)
    return 100 * ((x1 / x0) ** power - 1)


def growth_parts(period):
    """(period measured, base period, power): ``100 * ((X/X0) ** power - 1)``.

    A span (``2014-2015``) compares its last year with the year before the span, at the
    power 1 / (years in the span): the average annual rate.
    """
    if getattr(period, "form", "") == "span":
        years = round(period.end - period.start)
        last = _Shift(period.end - 1, period.end)
        return last, _Shift(period.start - 1, period.start), 1.0 / years
    return period, _Shift(period.start - 1, period.end - 1), 1.0


@dataclass(frozen=True)
class _Shift:
    start: float
    end: float
    form: str = "shifted"


def ratio_of_totals(num: xr.DataArray, den: xr.DataArray, period, scale: float = 1.0):
    """``scale * total(num) / total(den)`` over ``period`` (e.g. R&D / revenue, in %)."""
    return scale * flow_total(num, period) / flow_total(den, period)


# ------------------------------------------------------------------ units


#: Unit atoms: name -> (factor to the base unit, base unit). Ledger units (Chinese) and
#: the .mdl's ASCII units side by side; ``Year`` is the time base of flows.
UNIT_ATOMS = {
    "亿元": (1e8, "CNY"),
    "万元": (1e4, "CNY"),
    "元": (1.0, "CNY"),
    "yiyuan": (1e8, "CNY"),
    "wanyuan": (1e4, "CNY"),
    "yuan": (1.0, "CNY"),
    "%": (1e-2, None),
    "Dmnl": (1.0, None),
    "1": (1.0, None),
    "亿kWh": (1e8, "kWh"),
    "万kWh": (1e4, "kWh"),
    "yikWh": (1e8, "kWh"),
    "ykWh": (1e8, "kWh"),  # the .mdl's Vensim name for 亿kWh
    "wankWh": (1e4, "kWh"),
    "kWh": (1.0, "kWh"),
    "万tce": (1e4, "tce"),
    "wantce": (1e4, "tce"),
    "tce": (1.0, "tce"),
    "万m3": (1e4, "m3"),
    "wanm3": (1e4, "m3"),
    "m3": (1.0, "m3"),
    "万t": (1e4, "t"),
    "want": (1e4, "t"),
    "t": (1.0, "t"),
    "亩": (1.0, "mu"),
    "mu": (1.0, "mu"),
    "公顷": (15.0, "mu"),
    "hectare": (15.0, "mu"),
    "km2": (1500.0, "mu"),
    "个": (1.0, "item"),
    "firms": (1.0, "item"),
    "projects": (1.0, "item"),
    "人": (1.0, "person"),
    "person": (1.0, "person"),
    "persons": (1.0, "person"),
    "Year": (1.0, "Year"),
    "Years": (1.0, "Year"),
}


@dataclass(frozen=True)
class Unit:
    """A parsed unit: ``factor`` times the product of base units to ``powers``."""

    text: str
    factor: float
    powers: tuple  # sorted ((base, power), ...)

    def dims(self) -> dict:
        return dict(self.powers)

    def per_year(self) -> bool:
        """Whether this is a flow: per Year (``yiyuan/Year``)."""
        return self.dims().get("Year", 0) == -1


_TOKEN = re.compile(r"\s*(\(|\)|\*|/|[^\s()*/]+)")


def parse_unit(text: str) -> Unit:
    """``yiyuan/Year`` or ``wanyuan/(mu*Year)`` -> Unit; atoms from :data:`UNIT_ATOMS`."""
    s = str(text or "").strip() or "Dmnl"
    tokens = [m.group(1) for m in _TOKEN.finditer(s)]
    pos = 0

    def atom():
        nonlocal pos
        if pos >= len(tokens):
            raise MeasureError(f"unit {s!r}: ends too early")
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            out = expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise MeasureError(f"unit {s!r}: a '(' is not closed")
            pos += 1
            return out
        if tok not in UNIT_ATOMS:
            raise MeasureError(
                f"unit {tok!r} (in {s!r}) is not known to the measures: known units are "
                f"{', '.join(UNIT_ATOMS)}; add it to UNIT_ATOMS in outputs/measures.py"
            )
        f, base = UNIT_ATOMS[tok]
        return f, ({base: 1} if base else {})

    def expr():
        nonlocal pos
        f, d = atom()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            g, e = atom()
            sign = 1 if op == "*" else -1
            f = f * g if sign == 1 else f / g
            for k, v in e.items():
                d = {**d, k: d.get(k, 0) + sign * v}
        return f, d

    f, d = expr()
    if pos != len(tokens):
        raise MeasureError(f"unit {s!r}: cannot read it after {' '.join(tokens[:pos])!r}")
    return Unit(s, f, tuple(sorted((k, v) for k, v in d.items() if v)))


def conversion(model_unit: str, data_unit: str, how: str) -> float:
    """The factor that turns the model's measure into the data's unit.

    ``how="total"`` integrates over time, so the model unit must be the data unit per Year.
    Raises MeasureError naming both units where they do not measure the same thing.
    """
    m, d = parse_unit(model_unit), parse_unit(data_unit)
    md = m.dims()
    if how == "total":
        md = {**md, "Year": md.get("Year", 0) + 1}
    md = {k: v for k, v in md.items() if v}
    if md != d.dims():
        what = "a total over time of " if how == "total" else ""
        raise MeasureError(
            f"{what}the model's unit {model_unit!r} does not measure the data's unit {data_unit!r}"
        )
    return m.factor / d.factor


def how_for(model_unit: str, data_unit: str, stateful: bool) -> str:
    """``total`` for a flow whose integral has the data's unit, ``end`` for a stock,
    ``mean`` for another level (a share or an intensity)."""
    try:
        conversion(model_unit, data_unit, "total")
        return "total"
    except MeasureError:
        pass
    conversion(model_unit, data_unit, "end")  # raises where nothing fits
    return "end" if stateful else "mean"


def fmt_factor(f: float) -> str:
    if f == 1:
        return ""
    e = math.log10(abs(f)) if f else 0
    return f" x{f:g}" if abs(e - round(e)) > 1e-9 else f" x1e{round(e):d}"
