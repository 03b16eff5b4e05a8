"""Observation operators against hand integrals on known curves, and the unit algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from yaan_sim.model.ledger import parse_period
from yaan_sim.outputs.measures import (
    MeasureError,
    conversion,
    flow_total,
    growth,
    how_for,
    parse_unit,
    period_mean,
    ratio_of_totals,
    stock_at_end,
    weights,
)

G = 0.3  # a fast-growing park: 30 % a year, continuously
H = 1 / 64  # saving period


def exp_rate(r0=100.0, g=G, start=2016.0, stop=2021.0, h=H, extra_dims=False):
    """A rate r(t) = r0 exp(g (t - 2018)) saved every h years."""
    t = np.round(np.arange(start, stop + h / 2, h), 12)
    v = r0 * np.exp(g * (t - 2018))
    da = xr.DataArray(v, dims="time", coords={"time": t})
    if extra_dims:  # a sample and a park dim: the operator acts along time only
        da = da * xr.DataArray([[1.0, 2.0], [3.0, 4.0]], dims=("sample", "park"))
    return da


def integral(r0, g, a, b):
    """The exact integral of r0 exp(g (t - 2018)) over [a, b]."""
    return r0 / g * (math.exp(g * (b - 2018)) - math.exp(g * (a - 2018)))


def trapezoid_bound(total, g, h):
    return total * (g * h) ** 2 / 12 * 1.01


def test_a_calendar_year_total_is_the_integral_not_the_1_january_rate():
    da = exp_rate()
    total = float(flow_total(da, parse_period("2018")))
    exact = integral(100, G, 2018, 2019)
    assert total == pytest.approx(exact, abs=trapezoid_bound(exact, G, H))
    # the 1 January rate (100) understates the year by (e^g - 1)/g - 1, about 17 %
    assert total / 100 == pytest.approx((math.exp(G) - 1) / G, rel=1e-4)
    assert total / 100 > 1.16


@pytest.mark.parametrize(
    ("period", "a", "b"),
    [
        ("2019Q1", 2019, 2019.25),
        ("2019H1", 2019, 2019.5),
        ("2019Q1-3", 2019, 2019.75),
        ("2019Q4", 2019.75, 2020),
        ("2019M01-02", 2019, 2019 + 2 / 12),  # ends between saved times
        ("2016-2020", 2016, 2021),
    ],
)
def test_sub_year_and_span_totals_are_integrals_over_the_period(period, a, b):
    total = float(flow_total(exp_rate(), parse_period(period)))
    exact = integral(100, G, a, b)
    assert total == pytest.approx(exact, abs=trapezoid_bound(exact, G, H) + 1e-9)


def test_quarters_add_up_to_the_year_and_a_seasonal_factor_scales_them():
    da = exp_rate()
    q = [float(flow_total(da, parse_period(f"2018Q{i}"))) for i in range(1, 5)]
    assert sum(q) == pytest.approx(float(flow_total(da, parse_period("2018"))), rel=1e-12)
    assert float(flow_total(da, parse_period("2018Q1"), seasonal=0.8)) == pytest.approx(0.8 * q[0])


def test_growth_on_the_same_period_a_year_before():
    da = exp_rate()
    # for exponential growth every period grows by e^g - 1 on the year before
    for period in ("2019", "2019Q1", "2019H1", "2019M01-02"):
        g = float(growth(da, parse_period(period), how="total"))
        assert g == pytest.approx(100 * (math.exp(G) - 1), rel=1e-6), period
    # a span's growth is the average annual rate (年均增长)
    assert float(growth(da, parse_period("2018-2019"), "total")) == pytest.approx(
        100 * (math.exp(G) - 1), rel=1e-6
    )


def test_a_stock_at_the_end_and_a_share_as_a_period_mean():
    t = np.round(np.arange(2013, 2020.0001, 0.25), 12)
    land = xr.DataArray(1000 + 300 * (t - 2013), dims="time", coords={"time": t})
    assert float(stock_at_end(land, parse_period("2017-12-31"))) == pytest.approx(2500)
    assert float(stock_at_end(land, parse_period("2017"))) == pytest.approx(2500)
    assert float(stock_at_end(land, parse_period("2017-07-02"))) == pytest.approx(
        1000 + 300 * (4 + 183 / 365)
    )
    share = xr.DataArray(0.004 + 0.0005 * (t - 2013), dims="time", coords={"time": t})
    assert float(period_mean(share, parse_period("2016"))) == pytest.approx(0.004 + 0.0005 * 3.5)
    assert float(growth(land, parse_period("2017"), how="end")) == pytest.approx(
        100 * (2500 / 2200 - 1)
    )


def test_a_ratio_of_totals():
    rev = exp_rate()
    rd = 0.012 * rev
    assert float(ratio_of_totals(rd, rev, parse_period("2018"), 100)) == pytest.approx(1.2)


def test_operators_keep_other_dims():
    da = exp_rate(extra_dims=True)
    total = flow_total(da, parse_period("2018"))
    assert total.dims == ("sample", "park")
    base = float(flow_total(exp_rate(), parse_period("2018")))
    np.testing.assert_allclose(total.values, base * np.array([[1, 2], [3, 4]]), rtol=1e-12)


def test_weights_are_an_exact_integral_of_the_linear_interpolant():
    t = np.array([0.0, 1.0, 3.0])
    w = weights(t, 0.5, 2.0, "total")
    # f = (0, 1, 3) is linear (f = t): integral of t over [0.5, 2] is 1.875
    assert w @ np.array([0.0, 1.0, 3.0]) == pytest.approx(1.875)
    assert weights(t, 0.5, 2.0, "mean") @ np.array([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert weights(t, 2.0, 2.0, "end") @ np.array([0.0, 1.0, 3.0]) == pytest.approx(2.0)


def test_a_period_outside_the_results_is_refused():
    da = exp_rate(start=2016, stop=2020)
    with pytest.raises(MeasureError, match=r"not inside the results' time \[2016, 2020\]"):
        flow_total(da, parse_period("2020"))
    with pytest.raises(MeasureError, match="not inside"):
        growth(da, parse_period("2016"), "total")  # needs 2015


def test_units_convert_like_with_like():
    assert parse_unit("wanyuan/(mu*Year)").dims() == {"CNY": 1, "mu": -1, "Year": -1}
    assert parse_unit("yiyuan/Year").per_year()
    assert conversion("yiyuan/Year", "亿元", "total") == 1
    assert conversion("yiyuan/Year", "万元", "total") == pytest.approx(1e4)
    assert conversion("yikWh/Year", "万kWh", "total") == pytest.approx(1e4)
    assert conversion("wantce/Year", "万tce", "total") == 1
    assert conversion("Dmnl", "%", "mean") == pytest.approx(100)
    assert conversion("mu", "km2", "end") == pytest.approx(1 / 1500)
    assert conversion("tce/wanyuan", "tce/万元", "mean") == pytest.approx(1)
    assert how_for("yiyuan/Year", "亿元", stateful=False) == "total"
    assert how_for("mu", "公顷", stateful=True) == "end"
    assert how_for("Dmnl", "%", stateful=False) == "mean"


def test_units_that_measure_different_things_are_refused():
    with pytest.raises(MeasureError, match="'yiyuan/Year' does not measure the data's unit 'km2'"):
        conversion("yiyuan/Year", "km2", "total")
    with pytest.raises(MeasureError, match="'wantce/Year' does not measure"):
        how_for("wantce/Year", "亿kWh", stateful=False)
    with pytest.raises(MeasureError, match="not known to the measures"):
        parse_unit("furlong/Year")
    with pytest.raises(MeasureError, match="not closed"):
        parse_unit("yiyuan/(mu*Year")
