"""What a fit tells (analysis/calibrate_stats.py) on tables and matrices written here.

No model is loaded and nothing runs: the compared table is built from a matched ledger
written out row by row, the series statistics from a table with series split by unit,
scope, kind and role, and every expected number is worked out by hand in the comments
(never read from the code under test).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from yaan_sim.analysis.backtest import TABLE_COLUMNS
from yaan_sim.analysis.backtest_observations import Observation, ObservationSet
from yaan_sim.analysis.calibrate_stats import (
    compared_table,
    fit_statistics,
    identified_covariance,
    series_statistics,
)
from yaan_sim.model.ledger import parse_period

NAN = math.nan

# ------------------------------------------------------------------ the compared table

# A matched ledger as `observations` gives it (its columns, in its order): two levels, a
# growth rate and a change (in points), a level observed as 0, and a row the model cannot
# compare. id, variable, scope, period, kind, observed, unit, role, sigma
LEDGER = [
    ("r2015", "revenue", "ETDZ", "2015", "level", 100.0, "亿元", "fit", 0.10),
    ("g2016", "revenue", "ETDZ", "2016", "growth", 10.0, "%", "fit", 2.0),
    ("x2016", "revenue", "Lushan", "2016", "level", 50.0, "亿元", "not comparable", NAN),
    ("r2016", "revenue", "ETDZ", "2016", "level", 120.0, "亿元", "held-out", 0.10),
    ("c2017", "output", "city", "2017", "change", -2.0, "%", "held-out", 2.0),
    ("z2017", "output", "ETDZ", "2017", "share", 0.0, "%", "fit", 0.25),
]


def matched_ledger():
    rows, items = [], []
    for rid, var, scope, period, kind, value, unit, role, sigma in LEDGER:
        compared = role != "not comparable"
        rows.append(
            {
                "id": rid,
                "variable": var,
                "measure_zh": "营业收入",
                "scope": scope,
                "period": period,
                "kind": kind,
                "observed": value,
                "unit": unit,
                "confidence": "M",
                "role": role,
                "reason": "" if compared else "no model variable observes it",
                "model_variable": "Revenue" if compared else "",
                "operator": "total 2016 of Revenue" if compared else "",
                "sigma": sigma,
                "source": "a test",
                "refs": (),
            }
        )
        if compared:
            growth = kind in ("growth", "change")
            items.append(
                Observation(
                    id=rid,
                    variable=var,
                    scope=scope,
                    parks=None,
                    period=parse_period(period),
                    kind=kind,
                    value=value,
                    unit=unit,
                    confidence="M",
                    py_name="revenue",
                    vensim="Revenue",
                    how="total",
                    factor=1.0,
                    scale="linear" if growth else "log",
                    sigma=sigma,
                    role=role,
                )
            )
    # the items in another order than the table's rows: rows are found by id
    order = ["z2017", "c2017", "r2016", "g2016", "r2015"]
    items = sorted(items, key=lambda o: order.index(o.id))
    obs = ObservationSet(pd.DataFrame(rows), items, None, 2015, "0" * 64)
    return SimpleNamespace(obs=obs, items=obs.items)


# simulated values in the items' order: z2017, c2017, r2016, g2016, r2015
SIM = np.array([3.0, -1.5, 90.0, 12.5, 110.0])
SIM_START = np.array([1.0, -4.0, 100.0, 8.0, 95.0])

# by hand, in the table's order: r2015 110 / 100 = 1.1, error +10 %; g2016 a growth rate,
# no ratio, error 12.5 - 10 = +2.5 points; x2016 not compared; r2016 90 / 120 = 0.75,
# error -25 %; c2017 a change, error -1.5 - (-2) = +0.5 points; z2017 3 / 0 = inf.
EXPECTED = {
    "id": ["r2015", "g2016", "x2016", "r2016", "c2017", "z2017"],
    "simulated": [110.0, 12.5, NAN, 90.0, -1.5, 3.0],
    "simulated_start": [95.0, 8.0, NAN, 100.0, -4.0, 1.0],
    "ratio": [1.1, NAN, NAN, 0.75, NAN, math.inf],
    "error": [10.0, 2.5, NAN, -25.0, 0.5, math.inf],
}


def assert_column(table, name, expected):
    got = table[name]
    assert got.dtype == np.float64, name
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12, err_msg=name)


def test_the_compared_table_column_by_column():
    pb = matched_ledger()
    before = pb.obs.table.copy()
    table = compared_table(pb, SIM, SIM_START)
    assert list(table.columns) == [*TABLE_COLUMNS, "simulated_start", "sigma"]
    assert list(table.index) == list(range(6))
    assert table["id"].tolist() == EXPECTED["id"]
    for name in ("simulated", "simulated_start", "ratio", "error"):
        assert_column(table, name, EXPECTED[name])
    # the ledger's own columns pass through as written
    assert table["observed"].tolist() == [r[5] for r in LEDGER]
    assert table["kind"].tolist() == [r[4] for r in LEDGER]
    assert table["role"].tolist() == [r[7] for r in LEDGER]
    np.testing.assert_array_equal(table["sigma"], [r[8] for r in LEDGER])
    # and the matched ledger itself is left as it was
    pd.testing.assert_frame_equal(pb.obs.table, before)


def test_the_compared_table_without_a_start():
    table = compared_table(matched_ledger(), SIM)
    assert_column(table, "simulated_start", [NAN] * 6)
    for name in ("simulated", "ratio", "error"):
        assert_column(table, name, EXPECTED[name])


# ------------------------------------------------------------------ per series and role


def series_table():
    """Series that share all but one of variable, scope, kind, unit and role."""
    rows = [
        # revenue ETDZ level 亿元 fit: s 2, 4 against a 1, 3 (a failed simulation dropped)
        ("revenue", "ETDZ", "level", "亿元", "fit", 2.0, 1.0),
        ("revenue", "ETDZ", "level", "亿元", "fit", 4.0, 3.0),
        ("revenue", "ETDZ", "level", "亿元", "fit", NAN, 7.0),
        # the same series held out: s 3 against a 4
        ("revenue", "ETDZ", "level", "亿元", "held-out", 3.0, 4.0),
        # the same series in another unit: s 1, 2 against a 2, 1
        ("revenue", "ETDZ", "level", "万元", "fit", 1.0, 2.0),
        ("revenue", "ETDZ", "level", "万元", "fit", 2.0, 1.0),
        # another kind: growth, s 12 against a 10
        ("revenue", "ETDZ", "growth", "%", "fit", 12.0, 10.0),
        # another scope: s 4, 6 against a 5, 5
        ("revenue", "Hanyuan", "level", "亿元", "fit", 4.0, 5.0),
        ("revenue", "Hanyuan", "level", "亿元", "fit", 6.0, 5.0),
        # another variable: s 5, 5 against a 4, 6
        ("output", "ETDZ", "level", "亿元", "fit", 5.0, 4.0),
        ("output", "ETDZ", "level", "亿元", "fit", 5.0, 6.0),
        # not in any series: derived (simulated) and not comparable (not simulated)
        ("revenue", "ETDZ", "level", "亿元", "derived", 50.0, 1.0),
        ("revenue", "ETDZ", "level", "亿元", "not comparable", NAN, 9.0),
    ]
    cols = ["variable", "scope", "kind", "unit", "role", "simulated", "observed"]
    return pd.DataFrame(rows, columns=cols)


# (variable, scope, kind, unit, role): n, theil_U, U_M, U_S, U_C, by hand. Every series has
# MSE 1 but the growth one (4). Means, population sds and r:
# - revenue ETDZ 亿元 fit: errors 1, 1; U = 1 / (sqrt(20/2) + sqrt(10/2)); means 3 and 2,
#   U_M = 1; sds 1 and 1, U_S = 0; r = 1, U_C = 0.
# - held out: one figure, error -1; U = 1 / (3 + 4); U_M = 1, U_S = U_C = 0.
# - 万元: errors -1, 1; U = 1 / (2 sqrt(5/2)); means equal; sds 0.5 and 0.5; r = -1,
#   U_C = 2 (1 - -1) 0.25 / 1 = 1.
# - growth: error 2, MSE 4; U = 2 / (12 + 10); U_M = 1.
# - Hanyuan: errors -1, 1; U = 1 / (sqrt(52/2) + 5); sds 1 and 0: U_S = 1, r = 1, U_C = 0.
# - output: errors 1, -1; U = 1 / (5 + sqrt(52/2)); sds 0 and 1: U_S = 1, U_C = 0.
SERIES = {
    ("output", "ETDZ", "level", "亿元", "fit"): (2, 1 / (5 + math.sqrt(26)), 0, 1, 0),
    ("revenue", "ETDZ", "growth", "%", "fit"): (1, 2 / 22, 1, 0, 0),
    ("revenue", "ETDZ", "level", "万元", "fit"): (2, 1 / (2 * math.sqrt(2.5)), 0, 0, 1),
    ("revenue", "ETDZ", "level", "亿元", "fit"): (2, 1 / (math.sqrt(10) + math.sqrt(5)), 1, 0, 0),
    ("revenue", "ETDZ", "level", "亿元", "held-out"): (1, 1 / 7, 1, 0, 0),
    ("revenue", "Hanyuan", "level", "亿元", "fit"): (2, 1 / (math.sqrt(26) + 5), 0, 1, 0),
}


def test_series_statistics_split_by_unit_scope_kind_and_role():
    st = series_statistics(series_table())
    assert list(st.columns) == [
        *["variable", "scope", "kind", "unit", "role", "n", "RMSE", "MAPE", "log_rmse", "bias"],
        *["theil_U", "U_M", "U_S", "U_C"],
    ]
    assert len(st) == len(SERIES)
    rows = st.to_dict("records")
    got = {tuple(r[c] for c in ("variable", "scope", "kind", "unit", "role")): r for r in rows}
    assert set(got) == set(SERIES)
    for key, (n, u, um, us, uc) in SERIES.items():
        r = got[key]
        rmse = 2.0 if key[2] == "growth" else 1.0
        assert r["n"] == n, key
        want = pytest.approx([rmse, u, um, us, uc], rel=1e-12, abs=1e-12)
        assert [r["RMSE"], r["theil_U"], r["U_M"], r["U_S"], r["U_C"]] == want, key


def test_series_statistics_of_a_table_without_compared_rows():
    table = series_table()
    table["role"] = "not comparable"
    assert len(series_statistics(table)) == 0


# ------------------------------------------------------------------ fit statistics


def test_two_figures_moving_apart_are_all_covariance_error():
    """s 1, 2 against a 2, 1: errors -1, 1, MSE 1; equal means and sds 0.5, r = -1:
    U_M = U_S = 0, U_C = 2 (1 - -1) 0.5 0.5 / 1 = 1; U = 1 / (2 sqrt(2.5)). The same at a
    tenth of the size (sds under 1): errors 0.1, MSE 0.01, U_C = 2 * 2 * 0.0025 / 0.01."""
    st = fit_statistics([1.0, 2.0], [2.0, 1.0])
    assert st["r"] == pytest.approx(-1.0)
    assert st["U_C"] == pytest.approx(1.0) and st["U_M"] == pytest.approx(0.0, abs=1e-12)
    assert st["theil_U"] == pytest.approx(1 / (2 * math.sqrt(2.5)))
    small = fit_statistics([0.1, 0.2], [0.2, 0.1])
    assert small["r"] == pytest.approx(-1.0)
    assert small["U_C"] == pytest.approx(1.0) and small["U_S"] == pytest.approx(0.0, abs=1e-12)


def test_constant_observations_have_no_correlation_to_split():
    """s 4, 6 against a constant 5: errors -1, 1, MSE 1, equal means; sds 1 and 0, so
    U_S = 1, and r is taken as 1 (quietly: no correlation of a constant), U_C = 0."""
    st = fit_statistics([4.0, 6.0], [5.0, 5.0])
    assert st["r"] == 1.0
    assert st["U_S"] == pytest.approx(1.0) and st["U_C"] == 0.0
    assert st["U_M"] == pytest.approx(0.0, abs=1e-12)
    assert st["theil_U"] == pytest.approx(1 / (math.sqrt(26) + 5))


def test_integer_figures_give_the_same_statistics_as_floats():
    """s 4e9, 6e9 against a 3e9, 5e9, given as integers (their squares pass 2**63):
    errors 1e9, RMSE 1e9, MAPE (1/3 + 1/5) / 2 = 26.67 %, U = 1 / (sqrt(26) + sqrt(17))."""
    st = fit_statistics([4_000_000_000, 6_000_000_000], [3_000_000_000, 5_000_000_000])
    assert st["RMSE"] == pytest.approx(1e9)
    assert st["MAPE"] == pytest.approx(100 * (1 / 3 + 1 / 5) / 2)
    assert st["theil_U"] == pytest.approx(1 / (math.sqrt(26) + math.sqrt(17)))
    assert st["U_M"] == pytest.approx(1.0)


def test_an_observed_zero_gives_an_infinite_mape_quietly():
    """s 5, 3 against a 0, 3: |5 / 0| is infinite (no warning: warnings are errors here)."""
    st = fit_statistics([5.0, 3.0], [0.0, 3.0])
    assert st["MAPE"] == math.inf and st["RMSE"] == pytest.approx(math.sqrt(12.5))


# ------------------------------------------------------------------ identification


def test_no_figures_identify_nothing():
    """J with no rows: every parameter is free, whatever the caller calls informed."""
    identified, cov = identified_covariance(np.zeros((0, 2)), np.array([True, True]), 1.0)
    assert identified.tolist() == [False, False]
    assert np.isnan(cov).all()


def test_a_zero_column_called_informed_is_not_identified():
    identified, cov = identified_covariance(np.zeros((3, 1)), np.array([True]), 1.0)
    assert identified.tolist() == [False] and np.isnan(cov).all()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_identification_does_not_depend_on_the_units_of_j(scale):
    """diag(1, 1e-4) x scale: the small direction is 1e-4 of the large one, seen at any
    scale (cov = diag(1, 1e8) / scale**2, times birge**2 = 4); diag(1, 1e-9) x scale: 1e-9
    of it, never seen."""
    J = np.diag([1.0, 1e-4]) * scale
    identified, cov = identified_covariance(J, np.array([True, True]), birge=2.0)
    assert identified.tolist() == [True, True]
    np.testing.assert_allclose(np.diag(cov), [4 / scale**2, 4e8 / scale**2], rtol=1e-9)
    assert cov[0, 1] == pytest.approx(0.0, abs=1e-9 * 4e8 / scale**2)
    J = np.diag([1.0, 1e-9]) * scale
    identified, cov = identified_covariance(J, np.array([True, True]), birge=2.0)
    assert identified.tolist() == [True, False]
    assert cov[0, 0] == pytest.approx(4 / scale**2) and np.isnan(cov[1, 1])


def test_a_singular_value_at_the_rank_threshold_is_not_seen():
    """diag(1, 1e-8): the singular values are exactly 1 and 1e-8, the second at 1e-8 of the
    largest, which counts as unseen (only those above it are seen); at 2e-8 it is seen."""
    J = np.diag([1.0, 1e-8])
    assert np.linalg.svd(J)[1].tolist() == [1.0, 1e-8]  # the matrix does sit on it
    identified, cov = identified_covariance(J, np.array([True, True]), birge=1.0)
    assert identified.tolist() == [True, False]
    assert cov[0, 0] == pytest.approx(1.0) and np.isnan(cov[1, 1])
    identified, cov = identified_covariance(np.diag([1.0, 2e-8]), np.array([True, True]), 1.0)
    assert identified.tolist() == [True, True]
    assert cov[1, 1] == pytest.approx(1 / 4e-16)


def test_a_null_space_weight_at_the_threshold_is_identified(monkeypatch):
    """One figure moving two parameters, J = [[q, p]] with q**2 + p**2 = 1: the null
    direction is (p, -q), so the first parameter's weight in it is p. A weight of exactly
    1e-3 (not over it) counts as identified; the second (weight q, near 1) is free. Whether
    LAPACK's SVD gives exactly 1e-3 depends on its rounding, so the SVD is replaced by the
    exact one of this J (no machine can skip the case)."""
    p = 1e-3
    q = math.sqrt(1 - p * p)
    J = np.array([[q, p]])
    exact = (np.eye(1), np.array([1.0]), np.array([[q, p], [p, -q]]))
    with monkeypatch.context() as m:
        m.setattr(np.linalg, "svd", lambda a, full_matrices=True: exact)
        identified, cov = identified_covariance(J, np.array([True, True]), birge=1.0)
    assert identified.tolist() == [True, False]
    assert not np.isnan(cov[0, 0]) and np.isnan(cov[0, 1]) and np.isnan(cov[1, 1])
    # above the threshold, it is free too
    J = np.array([[math.sqrt(1 - 4e-6), 2e-3]])
    identified, _ = identified_covariance(J, np.array([True, True]), birge=1.0)
    assert identified.tolist() == [False, False]
