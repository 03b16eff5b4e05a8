"""Charts: structure (axes, target lines, labels) and Chinese text with no missing glyph."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from support.fake_results import TARGET, make_results

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs import charts
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goals import GoalSet, load_goals
from yaan_sim.outputs.observed import load_observed
from yaan_sim.tables import display_width

#: the quarter-year points of a year (the fake results' saved times)
Q = np.linspace(0.0, 1.0, 5)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ds():
    return make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}})


@pytest.fixture(scope="module")
def ens():
    return make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}}, samples=40)


@pytest.fixture(scope="module")
def table(ds):
    return evaluate(ds, load_goals(), year=2018)


def _render(fig):
    """Draw the figure to PNG outside any rc_context, recording every warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png", dpi=50)
    return [str(w.message) for w in caught]


def _gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_chinese_labels_render_without_missing_glyphs(ds):
    ax = charts.plot_city_total(ds, lang="zh")
    assert "全市" in ax.get_title() and ax.get_ylabel() == "亿元"
    assert _render(ax.figure) == []


def test_the_check_would_catch_a_missing_glyph():
    # Without the shipped CJK font matplotlib warns, so the test above is meaningful.
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title("全市园区营业收入")
    assert any("missing from font" in m for m in _render(fig))


def test_charts_module_has_no_import_side_effects():
    code = (
        "import matplotlib.font_manager as fm\n"
        "n = len(fm.fontManager.ttflist)\n"
        "import yaan_sim.outputs.charts, yaan_sim.outputs.report, yaan_sim.outputs.fonts\n"
        "assert len(fm.fontManager.ttflist) == n\n"
        "import matplotlib\n"
        "assert 'Noto Sans CJK SC' not in str(matplotlib.rcParams['font.family'])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_city_total_has_the_2000_line_and_a_line_per_scenario(ds):
    _, ax0 = plt.subplots()
    ax = charts.plot_city_total(ds, ax=ax0, lang="en")
    assert ax is ax0
    (target,) = _gid(ax, "target")
    assert list(target.get_ydata()) == [2000, 2000]
    lines = _gid(ax, "trajectory")
    assert [ln.get_label() for ln in lines] == ["baseline", "plan"]
    assert ax.get_ylabel() == "100 million yuan" and ax.get_xlabel() == "year"
    assert "Ya'an" in ax.get_title()
    assert _render(ax.figure) == []


# The parks as the plan names them (一(三)), in the model's order: written out, not built
# from the catalogue the charts use.
PARKS_ZH = ["飞地园区(经开区)", "汉源", "石棉", "芦山", "天全", "宝兴", "荥经", "雨城", "成雅"]


def test_park_small_multiples(ds):
    axes = charts.plot_park_trajectories(ds, lang="zh", observed=load_observed())
    assert axes.shape == (3, 3)
    titles = [a.get_title() for a in axes.flat]
    assert titles == PARKS_ZH
    for ax, park in zip(axes.flat, TARGET, strict=True):
        (target,) = _gid(ax, "target")
        assert target.get_ydata()[0] == TARGET[park]
        assert len(_gid(ax, "trajectory")) == 2
    # a year's total beside the rate of mid-year, where a steady rate passes its mean
    (star,) = _gid(axes[0, 0], "target_point")
    assert list(star.get_xdata()) == [2020.5]
    (obs,) = _gid(axes[0, 0], "observed")
    assert list(obs.get_xdata()) == [2013.5, 2014.5, 2015.5]
    assert list(obs.get_ydata()) == [112, 128, 167]
    (req,) = _gid(axes[0, 0], "required")
    assert "43.0%" in req.get_label()
    assert not _gid(axes[0, 1], "observed")
    assert axes[0, 0].figure.legends, "a shared legend"
    assert _render(axes[0, 0].figure) == []


def _coinciding_results():
    """Three scenarios, two of them on the same path, all below the plan's 2000 target: the
    target line runs along the top of the axes, where a note written there lay on it."""
    return make_results(scenarios={"baseline": {}, "copy": {}, "plan": {"revenue_growth": 0.1}})


def _note(ax):
    return [t for t in ax.get_legend().get_texts() if t.get_gid() == "coincide"]


def test_lines_drawn_over_each_other_are_named_in_the_legend_clear_of_the_lines():
    ax = charts.plot_city_total(_coinciding_results(), lang="en")
    (note,) = _note(ax)
    assert note.get_text() == "lines coincide:\nbaseline, copy"
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == ["baseline", "copy", "plan"]
    assert _render(ax.figure) == []
    # the legend (the note in it) lies where no line is: not on the target line, which a
    # note written at the top of the axes had covered
    box = ax.get_legend().get_window_extent()
    (target,) = _gid(ax, "target")
    y = ax.transData.transform((2016, target.get_ydata()[0]))[1]
    assert not box.y0 <= y <= box.y1
    for line in _gid(ax, "trajectory"):
        xy = ax.transData.transform(line.get_xydata())
        assert not box.count_contains(xy)


def test_no_note_where_no_lines_coincide(ds):
    ax = charts.plot_city_total(ds, lang="zh")
    assert not _note(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["baseline", "plan"]


def test_panels_share_one_legend_below_and_keep_each_note_in_the_panel():
    res = _coinciding_results()
    axes = charts.plot_goal_panels(res, ["revenue_city", "energy_per_output"], lang="zh")
    fig = axes[0, 0].figure
    (shared,) = fig.legends
    labels = [t.get_text() for t in shared.get_texts()]
    assert labels[:3] == ["baseline", "copy", "plan"] and "目标 2020" in labels
    # revenue: the copy on the baseline; energy intensity: the plan's growth leaves it alone
    for ax, same in zip(axes.flat, ["baseline、copy", "baseline、copy、plan"], strict=True):
        (note,) = _note(ax)  # a panel's legend holds its note only
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [note.get_text()]
        assert note.get_text() == f"曲线重合：\n{same}"
    assert _render(fig) == []
    # a goal against its 2015 level keeps that label beside another's target
    both = charts.plot_goal_panels(res, ["revenue_city", "so2_controlled"], lang="zh")
    labels = [t.get_text() for t in both[0, 0].figure.legends[0].get_texts()]
    assert "目标 2020" in labels and "2015年水平" in labels
    parks = charts.plot_park_trajectories(res, lang="zh")
    assert len(parks[0, 0].figure.legends) == 1 and _note(parks[0, 0])


def test_a_shared_legend_fits_its_figure():
    names = [
        "基准情景（规划前政策）",
        "飞地园区一体化情景",
        "绿色低碳情景",
        "规划情景（按实施方案）",
    ]
    res = make_results(
        scenarios={n: {"revenue_growth": 0.1 + 0.05 * i} for i, n in enumerate(names)}
    )
    for goals in (["rd_share"], ["rd_share", "revenue_city"]):  # one panel: 4.6 inches wide
        fig = charts.plot_goal_panels(res, goals, lang="zh")[0, 0].figure
        assert _render(fig) == []
        (legend,) = fig.legends
        box, page = legend.get_window_extent(), fig.bbox
        assert page.x0 <= box.x0 and box.x1 <= page.x1, (goals, box, page)
        assert [t.get_text() for t in legend.get_texts()][:4] == names
    # R&D's share is the same in every scenario: the note names all four, on lines short
    # enough for the panel
    (note,) = _note(fig.axes[0])
    head, *lines = note.get_text().split("\n")
    assert head == "曲线重合：" and len(lines) > 1
    assert "、".join(lines).replace("、、", "、") == "、".join(names)
    assert max(display_width(line) for line in lines) <= 44


def test_goal_gap_bars(table):
    ax = charts.plot_goal_gaps(table, lang="zh", scenario="plan")
    bars = ax.patches
    rows = table[
        (table["scenario"] == "plan")
        & table["binding"]
        & (table["comparison"] != "falling_every_year")
    ]
    assert len(bars) == len(rows)
    colors = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars]
    assert colors == [charts.STATUS_COLORS[s] for s in rows["status"]]
    # one sign convention: + better than the target; a cap's (<=) gap is reversed
    better = [
        -g if c == "<=" else g for g, c in zip(rows["gap_pct"], rows["comparison"], strict=True)
    ]
    assert [b.get_width() for b in bars] == pytest.approx(better)
    met = [b.get_width() for b, st in zip(bars, rows["status"], strict=True) if st == "met"]
    assert all(w >= 0 for w in met)  # a goal met is never drawn as worse than its target
    assert "优于" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("全市园区营业收入")  # the first row, drawn at the top
    assert ax.get_yticks()[0] == len(rows) - 1
    assert _render(ax.figure) == []


def test_goal_gaps_of_several_scenarios_is_a_dot_plot(table):
    ax = charts.plot_goal_gaps(table, lang="en")
    assert not ax.patches
    rows = table[
        (table["scenario"] == "plan")
        & table["binding"]
        & (table["comparison"] != "falling_every_year")
    ]
    for sc in ("baseline", "plan"):
        (dots,) = _gid(ax, f"gap:{sc}")
        assert len(dots.get_xdata()) == len(rows)
    (plan,) = _gid(ax, "gap:plan")
    better = [
        -g if c == "<=" else g for g, c in zip(rows["gap_pct"], rows["comparison"], strict=True)
    ]
    assert list(plan.get_xdata()) == pytest.approx(better)
    assert len(ax.get_yticks()) == len(rows)
    assert _render(ax.figure) == []


def test_traffic_light_table(table):
    ax = charts.plot_goal_table(table, lang="en")
    (tab,) = ax.tables
    cells = tab.get_celld()
    header = [cells[0, c].get_text().get_text() for c in range(4)]
    assert header == ["goal", "where", "baseline", "plan"]
    n = int(table["binding"].sum() / 2)
    assert max(r for r, _ in cells) == n
    first = [cells[1, c].get_text().get_text() for c in range(4)]
    city = table[table["goal_id"] == "revenue_city"].set_index("scenario")["value"]
    assert first[:2] == ["City park revenue", "Ya'an"]
    from yaan_sim.tables import format_number  # plain numbers, as every human table

    assert first[2] == f"missed {format_number(city['baseline'], 1)}"  # status and value
    assert first[3] == f"on track {format_number(city['plan'], 1)}"
    assert matplotlib.colors.to_hex(cells[1, 3].get_facecolor()) == charts.STATUS_COLORS["on track"]
    assert _render(ax.figure) == []


def test_scenario_comparison(ens):
    ax = charts.plot_scenario_comparison(ens, lang="zh")
    assert len(ax.patches) == 2 * 9
    targets = _gid(ax, "target")
    assert len(targets) == 1 and targets[0].get_ydata()[0] == 100  # % of each park's target
    heights = [b.get_height() for b in ax.patches[:9]]  # the first scenario, park by park
    first = str(ens["scenario"].values[0])
    rev = ens["revenue"].sel(scenario=first, time=2020.0).median("sample")
    want = [float(rev.sel(park=p)) / TARGET[p] * 100 for p in TARGET]
    assert heights == pytest.approx(want)
    # a long park name on two lines, so that neighbours do not run into each other
    assert [t.get_text().replace("\n", "") for t in ax.get_xticklabels()] == PARKS_ZH
    assert ax.get_xticklabels()[0].get_text() == "飞地园区\n(经开区)"
    assert _render(ax.figure) == []
    # the legend under the chart, inside the figure, the target last
    (legend,) = ax.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [*map(str, ens["scenario"].values), "目标"]
    box, page = legend.get_window_extent(), ax.figure.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and box.y1 <= ax.get_window_extent().y0


def test_scenario_comparison_on_the_callers_axes_keeps_its_legend_in_them(ds):
    fig, ax0 = plt.subplots()  # no constrained layout to make room below
    ax = charts.plot_scenario_comparison(ds, ax=ax0, lang="en")
    assert not fig.legends
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline", "plan", "target"]


def test_fan_chart(ens):
    ax = charts.plot_fan(ens, "revenue_park", "ETDZ", lang="en", scenario="plan")
    for gid in ("band50", "band90", "median", "target"):
        assert _gid(ax, gid), gid
    # the 90% band contains the 50% band
    b90 = _gid(ax, "band90")[0].get_paths()[0].vertices[:, 1]
    b50 = _gid(ax, "band50")[0].get_paths()[0].vertices[:, 1]
    assert b90.max() >= b50.max() and b90.min() <= b50.min()
    median = _gid(ax, "median")[0].get_ydata()
    expected = np.median(ens["revenue"].sel(scenario="plan", park="ETDZ").values, axis=0)
    assert median == pytest.approx(expected)
    with pytest.raises(YaanSimError, match="needs results with a 'sample' dim"):
        charts.plot_fan(make_results())


def test_trend_and_baseline_goals(ds):
    ax = charts.plot_goal(ds, "energy_per_output", lang="zh")
    assert not _gid(ax, "target") and "须逐年下降" in ax.get_ylabel()
    ax = charts.plot_goal(ds, "so2_controlled", lang="en")
    (base,) = _gid(ax, "target")
    # the goal table's target: SO2's 2015 calendar-year total (3000 on 1 January 2016,
    # falling 1 % a year), not its rate at a point in time
    expected = evaluate(ds, load_goals(), lang="en").query(
        "goal_id == 'so2_controlled' and scope_name == \"Ya'an\""
    )["target"]
    assert base.get_label() == "2015 level"
    assert base.get_ydata()[0] == pytest.approx(float(expected.iloc[0]), rel=1e-12)
    assert base.get_ydata()[0] == pytest.approx(3000 / 0.99 * float(np.trapezoid(0.99**Q, Q)))


def test_each_scenario_has_its_own_baseline_level_where_they_differ():
    """A baseline year inside the plan period (a user's goal file): each scenario is held
    to its own level, so each gets its own line, in its colour."""
    goal = load_goals()["so2_controlled"]
    late = dataclasses.replace(goal, baseline_year=2017)
    res = make_results(scenarios={"a": {}, "b": {"emission_change": -0.2}})
    ax = charts.plot_goal(res, late, lang="en")
    lines = _gid(ax, "target")
    assert [line.get_color() for line in lines] == ["C0", "C1"]
    assert [line.get_label() for line in lines] == ["2017 level", "_nolegend_"]
    table = evaluate(res, GoalSet([late]), lang="en")
    assert [line.get_ydata()[0] for line in lines] == pytest.approx(
        table[table["scope_name"] == "Ya'an"]["target"].tolist(), rel=1e-12
    )
    same = make_results(scenarios={"a": {}, "b": {"revenue_growth": 0.3}})
    ax = charts.plot_goal(same, goal, lang="en")  # the same level for both: one line
    assert [line.get_color() for line in _gid(ax, "target")] == ["k"]


def test_bad_arguments(ds):
    with pytest.raises(YaanSimError, match="lang must be 'zh' or 'en'"):
        charts.plot_city_total(ds, lang="fr")
    with pytest.raises(YaanSimError, match="is not evaluated for 'Atlantis'"):
        charts.plot_goal(ds, "revenue_park", "Atlantis")
    with pytest.raises(YaanSimError, match="no goal 'revenue_cty'"):
        charts.plot_goal(ds, "revenue_cty")
    with pytest.raises(YaanSimError, match="no scenario 'x'"):
        charts.plot_city_total(ds, scenarios=["x"])
