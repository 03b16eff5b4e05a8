"""The status rules (outputs/rules.py) and every run's gap (outputs/gaps.py) at their edges.

Each expected value is worked out by hand from the rule as evaluate.py's docstring states
it: a value exactly at its target is met, a shortfall of exactly the at-risk margin is at
risk, a change of exactly zero is not a fall. The numbers are chosen to be exact in
binary floating point where an edge is tested (0.5, 0.25, 0.125, ...).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import xarray as xr
from support.fake_results import PARKS, TARGET, TIMES, make_results
from support.goals_text import PLAN_GOAL_VARIABLES

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.gaps import goal_gaps, goal_variables, parse_outcomes
from yaan_sim.outputs.goals import GoalSet, load_goals
from yaan_sim.outputs.rules import (
    AT_RISK_MARGIN,
    cagr,
    falls_every_year,
    goal_sign,
    holds,
    level_targets,
    project,
    project_level,
    status_level,
    status_trend,
    trend_rows,
    yoy_changes,
)

NAN = math.nan


@pytest.fixture(scope="module")
def goals():
    return load_goals()


def test_the_margin_is_five_points_a_year():
    assert AT_RISK_MARGIN == 0.05  # the documented default (evaluate.py, README)


# ---- status_level: (comparison, value, target, projected, g_need, g_sim, n, margin) ----
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # in the goal year (n = 0): exactly at the target is met, for both comparisons
        ((">=", 100.0, 100.0, NAN, NAN, NAN, 0, 0.05), "met"),
        ((">=", 99.5, 100.0, NAN, NAN, NAN, 0, 0.05), "missed"),
        (("<=", 100.0, 100.0, NAN, NAN, NAN, 0, 0.05), "met"),
        (("<=", 100.5, 100.0, NAN, NAN, NAN, 0, 0.05), "missed"),
        # after the goal year (n < 0) the same
        ((">=", 100.0, 100.0, NAN, NAN, NAN, -1, 0.05), "met"),
        # before it: met now and on the projection; exactly at the target counts
        ((">=", 100.0, 100.0, 100.0, 0.0, 0.0, 2, 0.05), "met"),
        ((">=", 50.0, 100.0, 100.0, 0.5, 0.5, 2, 0.05), "on track"),
        (("<=", 150.0, 100.0, 100.0, -0.25, -0.25, 2, 0.05), "on track"),
        # met now but not on the projection: judged by the rates
        ((">=", 100.0, 100.0, 99.0, 0.25, 0.125, 2, 0.125), "at risk"),
        # at risk: the needed rate exceeds the simulated one by exactly the margin
        ((">=", 50.0, 100.0, 90.0, 0.375, 0.25, 2, 0.125), "at risk"),
        ((">=", 50.0, 100.0, 90.0, 0.375, 0.25, 2, 0.0625), "missed"),
        ((">=", 50.0, 100.0, 90.0, 0.3750001, 0.25, 2, 0.125), "missed"),
        # <= goals: the simulated rate exceeds the needed one by at most the margin
        (("<=", 150.0, 100.0, 110.0, -0.25, -0.125, 2, 0.125), "at risk"),
        (("<=", 150.0, 100.0, 110.0, -0.25, -0.0625, 2, 0.125), "missed"),
        # rates unknown: missed, not at risk
        ((">=", 50.0, 100.0, 90.0, NAN, 0.25, 2, 0.125), "missed"),
        ((">=", 50.0, 100.0, 90.0, 0.375, NAN, 2, 0.125), "missed"),
        # no data: a value, a target or (before the goal year) a projection missing
        ((">=", NAN, 100.0, 100.0, 0.0, 0.0, 2, 0.05), "no data"),
        ((">=", 100.0, NAN, 100.0, 0.0, 0.0, 2, 0.05), "no data"),
        ((">=", math.inf, 100.0, NAN, NAN, NAN, 0, 0.05), "no data"),
        ((">=", 50.0, 100.0, NAN, 0.5, 0.5, 2, 0.05), "no data"),
        ((">=", 50.0, 100.0, math.inf, 0.5, 0.5, 2, 0.05), "no data"),
    ],
)
def test_status_level_at_its_edges(args, expected):
    assert status_level(*args) == expected


def test_a_shortfall_of_exactly_the_default_margin_is_at_risk():
    # 0.30 - 0.25 is 0.04999999999999999 in binary: the rule's tolerance keeps it at risk,
    # and a shortfall visibly above the margin is missed
    assert status_level(">=", 50.0, 100.0, 90.0, 0.30, 0.25, 2, AT_RISK_MARGIN) == "at risk"
    assert status_level(">=", 50.0, 100.0, 90.0, 0.3001, 0.25, 2, AT_RISK_MARGIN) == "missed"


# ---- status_trend: past and future year-on-year changes ----
@pytest.mark.parametrize(
    ("past", "future", "expected"),
    [
        ([-0.01, -0.02], [], "met"),
        ([-0.01, 0.0], [], "missed"),  # no change is not a fall
        ([0.0], [-0.1], "missed"),
        ([-0.01], [-0.02, -0.03], "on track"),
        ([-0.01], [-0.02, 0.0], "at risk"),
        ([-0.01], [0.01], "at risk"),
        ([], [-0.01], "on track"),
        ([], [], "met"),
        ([-0.01, NAN], [], "no data"),
        ([-0.01], [math.inf], "no data"),
    ],
)
def test_status_trend_at_its_edges(past, future, expected):
    assert status_trend(past, future) == expected


# ---- the arithmetic ----
def test_holds_is_inclusive_and_nan_never_holds():
    x = np.array([99.0, 100.0, 101.0, NAN])
    assert holds(x, 100.0, ">=").tolist() == [False, True, True, False]
    assert holds(x, 100.0, "<=").tolist() == [True, True, False, False]


def test_cagr_by_hand():
    assert cagr(100.0, 121.0, 2) == pytest.approx(0.1, rel=1e-12)
    assert cagr(100.0, 50.0, 1) == pytest.approx(-0.5, rel=1e-12)
    assert cagr(np.array([100.0, 200.0]), 400.0, 2).tolist() == pytest.approx([1.0, 2**0.5 - 1])
    for a, b, n in [(100.0, 121.0, 0), (100.0, 121.0, -1), (0.0, 1.0, 1), (1.0, 0.0, 1)]:
        assert np.isnan(cagr(a, b, n))
    assert np.isnan(cagr(-100.0, -121.0, 2))


def test_yoy_changes_by_hand():
    V = np.array([[100.0, 110.0, 99.0, 0.0, 5.0]])
    years = [2016, 2017, 2018, 2019, 2020]
    out = yoy_changes(V, years, 2017, 2020)
    assert out.shape == (1, 4)
    assert out[0, :3].tolist() == pytest.approx([0.1, -0.1, -1.0])
    assert np.isnan(out[0, 3])  # the year before is 0: no relative change
    # a year that is not simulated gives NaN; the range's first year needs its year before
    gap = yoy_changes(np.array([[100.0, 90.0, 81.0]]), [2016, 2017, 2019], 2016, 2019)
    assert np.isnan(gap[0]).tolist() == [True, False, True, True]
    assert gap[0, 1] == pytest.approx(-0.1)
    assert yoy_changes(V, years, 2019, 2018).shape == (1, 0)


def test_trend_rows_split_at_the_evaluation_year():
    years = [2016, 2017, 2018, 2019, 2020]
    v = [100.0, 90.0, 81.0, 85.05, 68.04]
    past, future = trend_rows(years, np.array(v), 2016, 2018, 2020)
    assert past == pytest.approx([-0.1, -0.1])
    assert future == pytest.approx([0.05, -0.2])
    past, future = trend_rows(years, np.array(v), 2016, 2020, 2020)
    assert len(past) == 4 and future == []


def test_project_uses_the_simulated_ratio_to_the_goal_year():
    years = [2016, 2017, 2018, 2019, 2020]
    V = np.array([[100.0, 110.0, 121.0, 133.1, 146.41]])
    rate, projected = project(V, years, 2018, 2020, np.array([200.0]))
    assert rate[0] == pytest.approx(0.1)
    assert projected[0] == pytest.approx(200.0 * 1.21)


def test_project_beyond_the_simulated_years_compounds_the_rate():
    years = [2016, 2017, 2018, 2019]
    V = np.array([[100.0, 110.0, 121.0, 145.2]])
    rate, projected = project(V, years, 2018, 2020, np.array([121.0]))
    assert rate[0] == pytest.approx(0.2)
    assert projected[0] == pytest.approx(121.0 * 1.2**2)
    # evaluation year = last simulated year: the last year's rate carries on
    rate, projected = project(V[:, :3], years[:3], 2018, 2020, np.array([121.0]))
    assert rate[0] == pytest.approx(0.1)
    assert projected[0] == pytest.approx(121.0 * 1.1**2)
    # one simulated year only: no rate
    rate, projected = project(V[:, :1], years[:1], 2016, 2020, np.array([100.0]))
    assert np.isnan(rate[0]) and np.isnan(projected[0])


def test_project_level_starts_from_the_observed_figure():
    years = [2016, 2017, 2018]
    V = np.array([[100.0, 120.0, 144.0]])
    rate, projected = project_level(V, years, 2017, 2018, 50.0)
    assert rate[0] == pytest.approx(0.2) and projected[0] == pytest.approx(60.0)
    rate, projected = project_level(V, years, 2017, 2018, NAN)
    assert projected[0] == pytest.approx(144.0)
    rate, start = project_level(V, years, 2018, 2018, NAN)  # in the goal year: no projection
    assert np.isnan(rate[0]) and start[0] == 144.0


def test_level_targets_fixed_per_park_summed_per_region_or_baseline(goals):
    V = np.array([[10.0, 20.0], [30.0, 40.0]])
    park = goals["revenue_park"]
    assert level_targets(park, "park", "Hanyuan", ["Hanyuan"], V, None).tolist() == [200, 200]
    south = level_targets(park, "region", "South", ["Hanyuan", "Shimian"], V, None)
    assert south.tolist() == [400.0, 400.0]
    assert level_targets(goals["revenue_city"], "city", "Ya'an", PARKS, V, None).tolist() == [
        2000.0,
        2000.0,
    ]
    cod = goals["cod_controlled"]
    assert level_targets(cod, "city", "Ya'an", PARKS, V, 1).tolist() == [20.0, 40.0]
    assert level_targets(cod, "city", "Ya'an", PARKS, V, 0).tolist() == [10.0, 30.0]
    with pytest.raises(ValueError, match="baseline"):
        level_targets(cod, "city", "Ya'an", PARKS, V, None)
    # a trend goal has no level target
    assert np.isnan(level_targets(goals["energy_per_output"], "city", "", PARKS, V, 0)).all()


def test_goal_sign(goals):
    assert goal_sign(goals["revenue_city"]) == 1.0
    assert goal_sign(goals["cod_controlled"]) == -1.0
    assert goal_sign(goals["energy_per_output"]) == -1.0


# ---- goal_gaps on hand-made results (support/fake_results.py: constant compound rates) ----
def year_total(rate, year, times=TIMES):
    """By hand: the trapezoid rule over the quarter-year points of ``rate ** (t - 2016)``
    in [year, year + 1]: the calendar-year total goals are judged on (a growth factor per
    year, or an array of them)."""
    t = times[(times >= year - 1e-9) & (times <= year + 1 + 1e-9)]
    r = np.asarray(rate, dtype=float)[..., None]
    v = r ** (t - 2016.0)
    return ((v[..., 1:] + v[..., :-1]) / 2 * np.diff(t)).sum(axis=-1)


def test_goal_gaps_by_hand(goals):
    ds = make_results(revenue_growth=0.25, energy_change=-0.03, emission_change=0.01)
    gaps = goal_gaps(
        ds, ["revenue_city", "revenue_park:汉源", "energy_per_output", "cod_controlled"], goals
    )
    assert gaps["outcome"].values.tolist() == [
        "revenue_city",
        "revenue_park:Hanyuan",
        "energy_per_output",
        "cod_controlled",
    ]
    city = sum(TARGET[p] / 3 * year_total(1.25, 2020) for p in PARKS)
    assert float(gaps.sel(outcome="revenue_city")) == pytest.approx(city - 2000)
    hanyuan = 200 / 3 * year_total(1.25, 2020) - 200
    assert float(gaps.sel(outcome="revenue_park:Hanyuan")) == pytest.approx(hanyuan)
    # energy per output changes by -3 % every year: the largest change is -3 (% a year)
    assert float(gaps.sel(outcome="energy_per_output")) == pytest.approx(-3.0)
    # COD grows 1 % a year from 1000 at the start of 2016: 2020's total minus 2015's
    cod = 1000 * (year_total(1.01, 2020) - year_total(1.01, 2015))
    assert float(gaps.sel(outcome="cod_controlled")) == pytest.approx(cod)
    assert gaps["sign"].values.tolist() == [1.0, 1.0, -1.0, -1.0]
    assert gaps["target"].values[:3].tolist() == [2000.0, 200.0, 0.0]
    assert np.isnan(gaps["target"].values[3])
    assert gaps["unit"].values.tolist() == ["yiyuan/Year", "yiyuan/Year", "%/yr", "t/Year"]
    assert gaps["year"].values.tolist() == [2020] * 4
    # met where gap * sign >= 0: energy per output falls (met), COD grows (not met)
    met = (gaps * gaps["sign"] >= 0).values.tolist()
    assert met == [city >= 2000, False, True, False]


def test_goal_gaps_read_an_earlier_year_and_each_sample(goals):
    ds = make_results(revenue_growth=0.2, samples=5, seed=3)
    gaps = goal_gaps(ds, ["revenue_park:ETDZ"], goals, year=2018)
    assert gaps["year"].values.tolist() == [2018]
    factor = np.random.default_rng(3).lognormal(0.0, 0.15, size=5)
    expected = 1000 / 3 * year_total(1 + 0.2 * factor, 2018) - 1000
    np.testing.assert_allclose(gaps.sel(outcome="revenue_park:ETDZ").values, expected)
    # a year after the goal year reads the goal year
    assert goal_gaps(ds, ["revenue_city"], goals, year=2030)["year"].values.tolist() == [2020]


def test_goal_gaps_of_a_region_and_errors(goals):
    ds = make_results()
    gaps = goal_gaps(ds, ["revenue_park:南部"], goals)
    assert gaps["outcome"].values.tolist() == ["revenue_park:South"]
    assert float(gaps["target"][0]) == 400.0
    assert float(gaps[0]) == pytest.approx(400 / 3 * year_total(1.2, 2020) - 400)
    with pytest.raises(YaanSimError, match="unknown goal 'revenue_town'"):
        goal_gaps(ds, ["revenue_town"], goals)
    with pytest.raises(YaanSimError, match="has no scope 'Atlantis'"):
        goal_gaps(ds, ["revenue_park:Atlantis"], goals)
    late = make_results(times=np.array([2021.0, 2022.0]))
    with pytest.raises(YaanSimError, match="the results start after 2020"):
        goal_gaps(late, ["revenue_city"], goals)
    short = make_results(times=np.array([2016.0, 2016.5]))
    with pytest.raises(YaanSimError, match="hold no whole calendar year"):
        goal_gaps(short, ["energy_per_output"], goals)  # no whole calendar year


def test_a_goal_id_alone_means_its_binding_scope(goals):
    ds = make_results()
    labels = [o.label for o in parse_outcomes(["revenue_park", "rd_share"], goals, ds)]
    assert labels == [f"revenue_park:{p}" for p in PARKS] + ["rd_share"]


def test_goal_variables_lists_each_once(goals):
    assert goal_variables(goals, ["revenue_city", "revenue_park:ETDZ", "rd_share"]) == [
        "revenue",
        "research_spending",
    ]
    everything = goal_variables(goals)
    assert everything[:2] == ["revenue", "research_spending"]
    assert len(everything) == len(set(everything))
    assert set(everything) == set(PLAN_GOAL_VARIABLES)


# ---- cases added for the mutants mutmut found alive (docs/testing.md) ----
def test_status_level_one_year_before_the_goal_year_uses_the_projection():
    assert status_level(">=", 50.0, 100.0, 100.0, 1.0, 1.0, 1, 0.05) == "on track"


def test_an_infinite_simulated_rate_is_not_at_risk():
    assert status_level(">=", 50.0, 100.0, 90.0, 0.375, math.inf, 2, 0.125) == "missed"


def test_the_at_risk_tolerance_is_inclusive():
    margin = 0.125
    assert status_level(">=", 50.0, 100.0, 90.0, margin + 1e-12, 0.0, 2, margin) == "at risk"


def test_cagr_needs_both_ends_positive_not_above_one():
    assert cagr(0.5, 1.0, 1) == pytest.approx(1.0)
    assert cagr(2.0, 0.5, 1) == pytest.approx(-0.75)
    assert cagr(np.ones((2, 1)), np.ones(3), 0).shape == (2, 3)


def test_yoy_changes_of_zero_over_zero_is_nan_without_a_warning():
    out = yoy_changes(np.array([[0.0, 0.0]]), [2016, 2017], 2017, 2017)
    assert np.isnan(out).all()


def test_falls_every_year_per_path_by_hand():
    years = [2015, 2016, 2017, 2018]
    V = np.array(
        [
            [100.0, 90.0, 80.0, 70.0],  # falls every year
            [100.0, 90.0, 95.0, 70.0],  # rises once
            [100.0, 90.0, 90.0, 70.0],  # flat once: not a fall
            [100.0, 90.0, NAN, 70.0],  # a year not known
            [100.0, 0.0, -1.0, -2.0],  # from zero: no change can be computed
            [100.0, 120.0, 80.0, 70.0],  # rises only in the base year's change, not counted
        ]
    )
    expected = [True, False, False, False, False, True]
    assert falls_every_year(V, years, 2016, 2018).tolist() == expected
    # the same per path as the single-path rule the goal table shows (trend_rows)
    for v, want in zip(V, expected, strict=True):
        past, future = trend_rows(years, v, 2016, 2017, 2018)
        assert (all(np.isfinite(past + future)) and all(c < 0 for c in past + future)) == want
    assert falls_every_year(V, years, 2018, 2018).all()  # no year after the base: nothing fails


def test_trend_rows_with_no_past_years():
    past, future = trend_rows([2016, 2017, 2018], np.array([100.0, 90.0, 81.0]), 2016, 2016, 2018)
    assert past == [] and future == pytest.approx([-0.1, -0.1])


def test_level_targets_of_a_park_need_no_member_list_and_are_floats(goals):
    park = goals["revenue_park"]
    V = np.array([[1, 2], [3, 4]])
    assert level_targets(park, "park", "Hanyuan", [], V, None).tolist() == [200.0, 200.0]
    assert level_targets(goals["cod_controlled"], "city", "", PARKS, V, 1).dtype == float


def test_project_reads_the_goal_year_not_the_year_before():
    years = [2016, 2017, 2018, 2019, 2020]
    V = np.array([[100.0, 110.0, 121.0, 133.1, 174.24]])  # +10 % to 2019, then +30.9 %
    rate, projected = project(V, years, 2018, 2020, np.array([10.0]))
    assert rate[0] == pytest.approx(0.2) and projected[0] == pytest.approx(14.4)


def test_project_with_two_simulated_years_carries_the_last_rate():
    rate, projected = project(np.array([[100.0, 110.0]]), [2017, 2018], 2018, 2020, np.array([1.0]))
    assert rate[0] == pytest.approx(0.1) and projected[0] == pytest.approx(1.21)


def test_project_with_no_year_up_to_the_goal_gives_nan_per_path():
    rate, projected = project(np.array([[1.0], [2.0]]), [2025], 2018, 2020, np.ones(2))
    assert rate.shape == (2,) and np.isnan(rate).all() and np.isnan(projected).all()


def test_project_divides_by_the_simulated_value_even_where_no_rate_exists():
    # the path falls to 0 in the goal year: no compound rate, but the projection is 0
    rate, projected = project(np.array([[100.0, 0.0]]), [2018, 2020], 2018, 2020, np.ones(1))
    assert np.isnan(rate[0]) and projected[0] == 0.0
    # a path at 0 in the evaluation year: x/0 and 0/0, quietly
    _, projected = project(np.array([[0.0, 5.0], [0.0, 0.0]]), [2018, 2020], 2018, 2020, np.ones(2))
    assert projected[0] == math.inf and np.isnan(projected[1])
    # the goal year itself: the start, whatever the path
    _, projected = project(np.array([[5.0, 0.0]]), [2017, 2018], 2018, 2018, np.array([7.0]))
    assert projected[0] == 7.0


def test_project_level_has_one_value_per_path():
    V = np.array([[1.0, 2.0, 4.0], [1.0, 3.0, 9.0]])
    rate, start = project_level(V, [2016, 2017, 2018], 2017, 2018, 10.0)
    assert rate.tolist() == pytest.approx([1.0, 2.0]) and start.tolist() == [20.0, 30.0]
    rate, start = project_level(V, [2016, 2017, 2018], 2018, 2018, 10.0)
    assert rate.shape == (2,) and start.tolist() == [10.0, 10.0]


def test_goal_gaps_labels_coords_and_default_goals():
    ds = make_results()
    gaps = goal_gaps(ds, ["revenue_park:ETDZ", "revenue_city:全市", "rd_share:city"])
    assert gaps.name == "gap" and gaps.attrs["long_name"].startswith("gap to the goal")
    assert gaps["goal_id"].values.tolist() == ["revenue_park", "revenue_city", "rd_share"]
    assert gaps["scope_name"].values.tolist() == ["ETDZ", "Ya'an", "Ya'an"]
    assert gaps["outcome"].values.tolist() == ["revenue_park:ETDZ", "revenue_city", "rd_share"]
    assert gaps["target"].dtype == float and gaps["sign"].dtype == float
    with pytest.raises(YaanSimError, match="choose from revenue_city, revenue_park, rd_share"):
        goal_gaps(ds, ["nope"])
    with pytest.raises(YaanSimError, match="choose from Ya'an, East, South, Northwest, ETDZ, "):
        goal_gaps(ds, ["rd_share:Atlantis"])


def test_a_rise_in_the_first_year_after_the_baseline_counts(goals):
    # energy per output (a ratio of calendar-year totals) rises 2 % in 2017 and falls after:
    # the goal's largest change is +2. Revenue is flat and the points are annual, so a
    # year's total is the mean of its two end points: points 1, 1, 1.04, 0.96, 1, 0.92 give
    # yearly means 1, 1.02, 1, 0.98, 0.96 (2016-2020).
    times = np.arange(2016.0, 2021.0 + 1e-9, 1.0)
    ds = make_results(times=times, revenue_growth=0.0, energy_change=0.0)
    points = np.array([1.0, 1.0, 1.04, 0.96, 1.0, 0.92])
    ds["energy_use"] = ds["energy_use"] * xr.DataArray(points, dims="time")
    gap = float(goal_gaps(ds, ["energy_per_output"], goals).squeeze())
    assert gap == pytest.approx(2.0)
    # results that start after the baseline year count from their first year
    late = make_results(times=np.arange(2017.0, 2020.0 + 1e-9, 1.0), energy_change=-0.03)
    assert float(goal_gaps(late, ["energy_per_output"], goals).squeeze()) == pytest.approx(-3.0)


def test_goal_variables_of_a_later_goal_only(goals):
    assert goal_variables(goals, ["rd_share"]) == ["research_spending", "revenue"]
    assert goal_variables(goals, ["revenue_park:ETDZ"]) == ["revenue"]


def test_the_goals_given_are_the_goals_judged(goals):
    # ETDZ's 2020 target of 1000亿 set to 500 in a GoalSet of our own
    ds = make_results(revenue_growth=0.25)
    own = dataclasses.replace(goals["revenue_park"], target={"ETDZ": 500.0})
    mine = GoalSet([own], places=goals.places)
    value = 1000 / 3 * year_total(1.25, 2020)  # support/fake_results: a third of the target
    shipped = float(goal_gaps(ds, ["revenue_park:ETDZ"], goals).squeeze())
    assert shipped == pytest.approx(value - 1000)
    assert float(goal_gaps(ds, ["revenue_park:ETDZ"], mine).squeeze()) == pytest.approx(value - 500)


def test_a_baseline_inside_the_results_is_where_the_trend_starts(goals):
    # results from 2013: energy per output rises up to the 2016 baseline and falls after.
    # Annual points, flat revenue: yearly means 1.05, 1.15, 1.25, 1.3 (2013-2016), then
    # 1.25, 1.15, 1.05, 0.95: the largest change from 2017 on is 1.25/1.3 - 1 = -3.85 %.
    assert goals["energy_per_output"].baseline_year == 2016
    times = np.arange(2013.0, 2021.0 + 1e-9, 1.0)
    ds = make_results(times=times, revenue_growth=0.0, energy_change=0.0)
    points = np.array([1.0, 1.1, 1.2, 1.3, 1.3, 1.2, 1.1, 1.0, 0.9])
    ds["energy_use"] = ds["energy_use"] * xr.DataArray(points, dims="time")
    gap = float(goal_gaps(ds, ["energy_per_output"], goals).squeeze())
    assert gap == pytest.approx(100 * (1.25 / 1.3 - 1))
    # judged in the baseline year itself there is no change yet to judge
    with pytest.raises(YaanSimError, match="needs at least two simulated years"):
        goal_gaps(ds, ["energy_per_output"], goals, year=2016)


def test_results_that_start_after_the_baseline_count_their_first_change(goals):
    # from 2017: yearly means 1.0, 1.02, 1.04, 1.04: the first change (+2 %) is the largest
    times = np.arange(2017.0, 2021.0 + 1e-9, 1.0)
    ds = make_results(times=times, revenue_growth=0.0, energy_change=0.0)
    ds["energy_use"] = ds["energy_use"] * xr.DataArray([1.0, 1.0, 1.04, 1.04, 1.04], dims="time")
    assert float(goal_gaps(ds, ["energy_per_output"], goals).squeeze()) == pytest.approx(2.0)


def test_each_scenario_keeps_its_own_trend_gap(goals):
    ds = make_results(
        scenarios={"falling": dict(energy_change=-0.03), "rising": dict(energy_change=0.01)}
    )
    gaps = goal_gaps(ds, ["energy_per_output"], goals)
    by = {str(s): float(gaps.sel(scenario=s).squeeze()) for s in gaps["scenario"].values}
    assert by == pytest.approx({"falling": -3.0, "rising": 1.0})
