"""Matching ledger rows to model variables, the back-test table and the backtest command.

The test model (tests/data/calib_parks.mdl) starts in 2013 with revenue growing by g/16 a
step; tests/support/ledger.py recomputes its path by hand, so the expected values here do
not come from the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.support.ledger import (
    CALIB_MDL,
    INDUSTRIAL_SHARE,
    PARK_SHARE_OF_CITY,
    euler_revenue,
    write_ledger,
    year_total,
)
from yaan_sim.analysis.backtest import backtest, format_backtest
from yaan_sim.analysis.backtest_observations import observations, observers
from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import read_ledger

ROWS = [
    {"id": "e-rev-2014", "period": "2014", "value": 110},
    {"id": "e-rev-2015", "period": "2015", "value": 125, "confidence": "H"},
    {
        "id": "e-rev-2015-g",
        "period": "2015",
        "kind": "growth",
        "unit": "%",
        "value": 13.6,
        "derivation": "derived: (e-rev-2015/e-rev-2014-1)*100",
    },
    {"id": "e-rev-2018h1", "period": "2018H1", "value": 80},
    {
        "id": "h-rev-2019q1-g",
        "scope": "Hanyuan",
        "period": "2019Q1",
        "kind": "growth",
        "unit": "%",
        "value": 20,
        "confidence": "L",
    },
    {
        "id": "c-io-2016",
        "variable": "industrial_output",
        "scope_kind": "city",
        "scope": "Ya'an",
        "period": "2016",
        "value": 180,
        "confidence": "H",
    },
    {
        "id": "e-elec-2019q1",
        "variable": "electricity_industrial_above_scale",
        "period": "2019Q1",
        "value": 2,
        "unit": "亿kWh",
        "confidence": "L",
    },
    {
        "id": "e-land-2017",
        "variable": "land_area_built",
        "period": "2017-12-31",
        "value": 1.6,
        "unit": "km2",
    },
    {
        "id": "e-rd-2016",
        "variable": "rd_intensity_revenue",
        "period": "2016",
        "kind": "share",
        "value": 0.6,
        "unit": "%",
    },
    # not comparable, each for its own reason
    {"id": "n-target", "period": "2020", "kind": "target", "value": 1000},
    {
        "id": "n-county",
        "variable": "gdp",
        "scope_kind": "county",
        "scope": "石棉县",
        "period": "2016",
        "value": 75,
    },
    {
        "id": "n-province",
        "variable": "ppi",
        "scope_kind": "province",
        "scope": "Sichuan",
        "period": "2016",
        "kind": "growth",
        "unit": "%",
        "value": -2,
    },
    {"id": "n-before", "period": "2012", "value": 100},
    {"id": "n-growth-2013", "period": "2013", "kind": "growth", "unit": "%", "value": 10},
    {"id": "n-after", "period": "2021H1", "value": 100},
    {"id": "n-no-observer", "variable": "industrial_va", "period": "2016", "value": 10},
    {
        "id": "n-city-revenue",
        "scope_kind": "city",
        "scope": "Ya'an",
        "period": "2016",
        "value": 300,
    },
    {"id": "n-park", "scope": "Shimian", "period": "2016", "value": 30},
    {
        "id": "n-unit",
        "variable": "industrial_output",
        "period": "2016",
        "value": 3,
        "unit": "万tce",
    },
]


@pytest.fixture(scope="module")
def calib():
    import yaan_sim as ys

    return ys.load_model(CALIB_MDL)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger")
    write_ledger(folder, ROWS)
    return read_ledger(folder)


@pytest.fixture(scope="module")
def table(calib, ledger):
    return backtest(calib, ledger=ledger).set_index("id")


def test_observers_come_from_the_mdl(calib):
    obs = observers(calib)
    assert obs[("revenue", "park")].vensim == "Revenue"
    assert obs[("industrial_output", "city")].vensim == "City industrial output"
    assert obs[("industrial_output", "park")].vensim == "Industrial output"
    assert obs[("land_area_built", "park")].stateful


def test_every_row_gets_a_role_and_the_not_comparable_say_why(table):
    assert len(table) == len(ROWS)
    roles = table["role"]
    assert set(roles[["e-rev-2014", "e-rev-2015", "c-io-2016", "e-land-2017", "e-rd-2016"]]) == {
        "fit"
    }
    assert set(roles[["e-rev-2018h1", "h-rev-2019q1-g", "e-elec-2019q1"]]) == {"held-out"}
    assert roles["e-rev-2015-g"] == "derived"
    assert "e-rev-2014, e-rev-2015" in table.loc["e-rev-2015-g", "reason"]
    reasons = table.loc[roles == "not comparable", "reason"]
    assert (reasons.str.len() > 0).all()
    expect = {
        "n-target": "plan target",
        "n-county": "no county scope",
        "n-province": "no province scope",
        "n-before": "the run covers 2013-2020",
        "n-growth-2013": "needs the model over 2012-2014",
        "n-after": "the run covers 2013-2020",
        "n-no-observer": "no model variable observes industrial_va",
        "n-city-revenue": "which the model does not hold (Revenue is per park)",
        "n-park": "'Shimian' is not a park of the model",
        "n-unit": "does not measure the data's unit '万tce'",
    }
    for rid, text in expect.items():
        assert text in table.loc[rid, "reason"], (rid, table.loc[rid, "reason"])


def test_simulated_values_match_hand_computation(table):
    t, e = euler_revenue("ETDZ")
    _, h = euler_revenue("Hanyuan")
    row = table.loc
    assert row["e-rev-2014", "simulated"] == pytest.approx(year_total(t, e, 2014), rel=1e-12)
    assert row["e-rev-2018h1", "simulated"] == pytest.approx(
        year_total(t, e, 2018, 2018.5), rel=1e-12
    )
    # growth of a geometric path on the same period a year before: (1 + g/16)^16 - 1
    assert row["h-rev-2019q1-g", "simulated"] == pytest.approx(100 * ((1 + 0.2 / 16) ** 16 - 1))
    city = INDUSTRIAL_SHARE * (year_total(t, e, 2016) + year_total(t, h, 2016))
    assert row["c-io-2016", "simulated"] == pytest.approx(city / PARK_SHARE_OF_CITY, rel=1e-12)
    elec = 0.05 * INDUSTRIAL_SHARE * year_total(t, e, 2019, 2019.25)  # 亿kWh
    assert row["e-elec-2019q1", "simulated"] == pytest.approx(elec, rel=1e-12)
    assert row["e-land-2017", "simulated"] == pytest.approx((1000 + 300 * 5) / 1500)  # km2
    assert row["e-rd-2016", "simulated"] == pytest.approx(100 * (0.004 + 0.0005 * 3.5))
    # ratio and error columns: levels as simulated / observed, growth in points
    assert row["e-rev-2014", "ratio"] == pytest.approx(row["e-rev-2014", "simulated"] / 110)
    assert row["e-rev-2014", "error"] == pytest.approx(100 * (row["e-rev-2014", "ratio"] - 1))
    assert math.isnan(row["h-rev-2019q1-g", "ratio"])
    assert row["h-rev-2019q1-g", "error"] == pytest.approx(row["h-rev-2019q1-g", "simulated"] - 20)
    assert math.isnan(row["n-target", "simulated"])


def test_the_cutoff_moves_figures_between_fit_and_held_out(calib, ledger):
    obs = observations(calib, ledger, cutoff=2018)
    roles = obs.table.set_index("id")["role"]
    assert roles["e-rev-2018h1"] == "fit" and roles["e-elec-2019q1"] == "held-out"
    assert (
        observations(calib, ledger, cutoff=2013).table.set_index("id")["role"]["e-rev-2014"]
        == "held-out"
    )


def test_observation_errors_follow_confidence(calib, ledger):
    obs = {o.id: o for o in observations(calib, ledger).items}
    assert obs["e-rev-2015"].sigma == 0.05 and obs["e-rev-2014"].sigma == 0.10
    assert obs["e-elec-2019q1"].sigma == 0.25 and obs["e-elec-2019q1"].scale == "log"
    assert obs["h-rev-2019q1-g"].sigma == 5.0 and obs["h-rev-2019q1-g"].scale == "linear"
    changed = observations(calib, ledger, obs_errors={"level": {"M": 0.2}})
    assert {o.id: o for o in changed.items}["e-rev-2014"].sigma == 0.2


def test_an_ensemble_gives_the_median_and_a_90_percent_interval(calib, ledger):
    import yaan_sim as ys
    from yaan_sim.scenario.fixed import FixedScenario

    rates = np.linspace(0.05, 0.15, 21)
    design = {
        "Growth rate": __import__("xarray").DataArray(
            np.column_stack([rates, np.full(21, 0.2)]),
            dims=("sample", "park"),
            coords={"sample": np.arange(21), "park": ["ETDZ", "Hanyuan"]},
        )
    }
    ds = ys.simulate(
        calib,
        [FixedScenario("s", {})],
        samples=21,
        sample_overrides=design,
        engine="vector",
        keep="all",
    )
    tab = backtest(calib, ds, ledger).set_index("id")
    t, _ = euler_revenue("ETDZ")
    median = year_total(t, euler_revenue("ETDZ", growth=0.10)[1], 2018, 2018.5)
    assert tab.loc["e-rev-2018h1", "simulated"] == pytest.approx(median, rel=1e-12)
    assert tab.loc["e-rev-2018h1", "p05"] < median < tab.loc["e-rev-2018h1", "p95"]
    assert tab.loc["e-rev-2014", "covered"] in (True, False)


def test_results_saved_at_whole_years_are_refused_with_the_fix(calib, ledger):
    import yaan_sim as ys
    from yaan_sim.scenario.fixed import FixedScenario

    design = {"Growth rate": __import__("xarray").DataArray([0.1, 0.12], dims="sample")}
    d = calib.default_horizon
    yearly = ys.Horizon(d.start, d.stop, d.step, 1.0)
    ds = ys.simulate(
        calib, [FixedScenario("s", {})], samples=2, sample_overrides=design, horizon=yearly
    )
    assert ds["time"].diff("time").min() == 1.0
    with pytest.raises(YaanSimError, match=f"run again saving every {d.saveper:g}"):
        backtest(calib, ds, ledger)
    # an ensemble's default keeps the saved times: no refusal
    kept = ys.simulate(calib, [FixedScenario("s", {})], samples=2, sample_overrides=design)
    assert kept["time"].diff("time").min() == d.saveper
    assert len(backtest(calib, kept, ledger))


def test_results_without_a_variable_say_so(calib, ledger):
    import yaan_sim as ys

    ds = ys.simulate(calib, return_vars=["Revenue"], engine="vector")
    tab = backtest(calib, ds, ledger).set_index("id")
    assert tab.loc["e-land-2017", "role"] == "not comparable"
    assert "do not hold developed_land" in tab.loc["e-land-2017", "reason"]
    assert tab.loc["e-rev-2014", "role"] == "fit"


def test_two_variables_observing_the_same_thing_is_an_error(calib, tmp_path):
    import yaan_sim as ys

    text = CALIB_MDL.read_text(encoding="utf-8")
    bad = tmp_path / "two.mdl"
    old = "observes: industrial_output\n\t|\n\nPark share"
    bad.write_text(text.replace(old, old.replace("industrial_output", "revenue"), 1), "utf-8")
    with pytest.raises(YaanSimError, match=r"both '.+' and '.+' observe 'revenue' at park scope"):
        observers(ys.load_model(bad))
    typo = tmp_path / "typo.mdl"
    typo.write_text(text.replace("observes: revenue", "observes: revenu"), encoding="utf-8")
    with pytest.raises(YaanSimError, match="did you mean 'revenue'"):
        observers(ys.load_model(typo))


def test_the_project_ledger_against_the_project_model(model):
    """Every ledger row is listed, with a role; the not comparable ones say why."""
    table = backtest(model)
    assert len(table) == len(read_ledger().rows)
    assert table["role"].isin(["fit", "held-out", "derived", "not comparable"]).all()
    nc = table[table["role"] == "not comparable"]
    assert (nc["reason"].str.len() > 0).all()


def test_formats(table):
    t = table.reset_index()
    text = format_backtest(t, "table")
    assert "e-rev-2014" in text and "n-target" not in text
    assert "19 ledger figures: 5 fit, 3 held-out, 1 derived, 10 not comparable" in text
    assert "plan target" in format_backtest(t, "table", all_rows=True)
    records = json.loads(format_backtest(t, "json"))
    assert len(records) == len(ROWS) and {"observed", "simulated", "ratio", "role"} <= set(
        records[0]
    )
    from io import StringIO

    csv = pd.read_csv(StringIO(format_backtest(t, "csv")))
    assert list(csv["id"]) == list(t["id"])
    with pytest.raises(YaanSimError, match="unknown format"):
        format_backtest(t, "xml")


def test_the_chart(table):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yaan_sim.analysis.backtest_chart import backtest_chart

    t = table.reset_index()
    ax = backtest_chart(t, lang="en")
    labels = [tk.get_text() for tk in ax.get_yticklabels()]
    assert "e-rev-2014" in labels and "h-rev-2019q1-g" not in labels
    ax2 = backtest_chart(t, lang="zh", kind="growth")
    assert "增速" in ax2.get_title()
    plt.close("all")


# ------------------------------------------------------------------ the command


def test_cli_backtest_formats_and_outputs(ledger, tmp_path, capsys):
    from yaan_sim.cli import main

    base = ["backtest", "--model", str(CALIB_MDL), "--ledger", str(ledger.files[0].parent)]
    assert main([*base, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(ROWS)
    out = tmp_path / "bt.csv"
    assert main([*base, "--format", "csv", "-o", str(out), "--chart", str(tmp_path / "c.png")]) == 0
    assert len(pd.read_csv(out)) == len(ROWS) and (tmp_path / "c.png").stat().st_size > 0
    capsys.readouterr()
    assert main([*base, "--format", "csv", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*base, "--cutoff", "2018"]) == 0
    assert "6 fit, 2 held-out" in capsys.readouterr().out


def test_cli_backtest_errors(ledger, tmp_path, capsys, model):
    import yaan_sim as ys
    from yaan_sim.cli import main

    base = ["backtest", "--model", str(CALIB_MDL), "--ledger", str(ledger.files[0].parent)]
    assert main([*base, str(tmp_path / "none.nc")]) == 2
    assert "not found" in capsys.readouterr().err
    other = tmp_path / "other.nc"
    ys.to_netcdf(ys.simulate(model, return_vars=["revenue"]), other)
    assert main([*base, str(other)]) == 2
    assert "made with another model" in capsys.readouterr().err
    bad = tmp_path / "bad"
    write_ledger(bad, [{"id": "x-1", "variable": "revnue", "period": "2016", "value": 1}])
    assert main(["backtest", "--model", str(CALIB_MDL), "--ledger", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "test.csv:2" in err and "did you mean 'revenue'" in err and "Traceback" not in err
