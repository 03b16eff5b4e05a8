"""Loop dominance (Loops that Matter) on models whose dominant loops are known.

Expected values come from the models' own trajectories (run by the engine, not by the
loop analysis) and from the method's definitions worked out by hand for each model.
"""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.loops import MAX_LOOPS_LIMIT, dominant_loops, loop_dominance
from yaan_sim.cli import main
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.results import to_netcdf

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def logistic():
    return ys.load_model(DATA / "loops_logistic.mdl")


@pytest.fixture(scope="module")
def parks():
    return ys.load_model(DATA / "loops_parks.mdl")


def _every_step(model, step=None):
    """The model's own trajectory at every computation interval (the engine, not the
    loop code)."""
    h = model.default_horizon
    step = step or h.step
    return ys.simulate(model, horizon=Horizon(h.start, h.stop, step, step))


def _switch_time(ds) -> float:
    """End of the first interval where the balancing loop outweighs the reinforcing one."""
    r = ds["relative_score"].sel(loop="R1").values
    return float(ds["time"].values[np.argmax(r < 0.5)])


# --------------------------------------------------------------------------------------
# Models with a known answer
# --------------------------------------------------------------------------------------
def test_logistic_scores_follow_the_method_s_closed_form(logistic):
    """Population P, net growth g P C, crowding C = 1 - P/K. Over [t-dt, t] the ceteris
    paribus changes of the growth are g C dP (through P) and g P dC = -g P dP / K (through
    C); every other link scores 1 or -1. So the relative score of the R loop is
    C / (C + P/K) at t - dt, and the B loop has the rest, with a minus sign."""
    ds = loop_dominance(logistic)
    assert list(ds["polarity"].values) == ["R", "B"]
    assert ds["path"].sel(loop="R1").item() == "Population → Net growth → Population"
    assert ds["path"].sel(loop="B1").item() == ("Population → Crowding → Net growth → Population")
    run = _every_step(logistic)
    p = run["population"].values[:-1]
    c = run["crowding"].values[:-1]
    k = float(logistic.default_value("Capacity"))
    expected = c / (c + p / k)
    np.testing.assert_allclose(ds["relative_score"].sel(loop="R1"), expected, rtol=1e-9)
    np.testing.assert_allclose(ds["relative_score"].sel(loop="B1"), expected - 1, rtol=1e-9)
    assert ds["time"].values[0] == pytest.approx(run["time"].values[1])  # interval ends


def test_logistic_dominance_switches_at_the_inflection_point(logistic):
    """R dominates until the S-curve's inflection (P = K/2), B after it. The analytic
    inflection of dP/dt = r P (1 - P/K) is t* = ln((K - P0)/P0) / r. Euler integration
    grows at ln(1 + r dt)/dt instead of r, which delays the curve by about t* r dt / 2:
    0.072 at dt = 1/32 and 0.018 at dt = 1/128, so the switch converges to t* with dt."""
    k = float(logistic.default_value("Capacity"))
    p0 = float(logistic.default_value("Initial population"))
    r = float(logistic.default_value("Growth rate"))
    t_star = math.log((k - p0) / p0) / r
    h = logistic.default_horizon
    coarse = _switch_time(loop_dominance(logistic, horizon=Horizon(0, h.stop, 1 / 32, 1)))
    fine = _switch_time(loop_dominance(logistic, horizon=Horizon(0, h.stop, 1 / 128, 1)))
    assert abs(fine - t_star) < 0.03
    assert abs(coarse - t_star) < 0.1
    assert abs(fine - t_star) < abs(coarse - t_star) / 2
    # and exactly where the simulated population passes half the capacity
    run = _every_step(logistic, 1 / 128)
    crossed = float(run["time"].values[np.argmax(run["population"].values >= k / 2)])
    assert abs(fine - crossed) <= 2 / 128 + 1e-12


def test_logistic_table_names_r_then_b(logistic):
    table = dominant_loops(loop_dominance(logistic), period=1)
    first = table.groupby("period").first()
    assert (first.loc[:3, "loop"] == "R1").all() and (first.loc[:3, "share"] > 0.5).all()
    assert (first.loc[5:, "loop"] == "B1").all() and (first.loc[5:, "share"] < -0.5).all()
    assert set(table["polarity"]) == {"R", "B"}


def test_pure_exponential_has_one_reinforcing_loop_of_relative_score_one():
    ds = loop_dominance(ys.load_model(DATA / "loops_exponential.mdl"))
    assert ds.sizes["loop"] == 1
    assert ds["polarity"].item() == "R"
    assert ds["path"].item() == "Stock → Growth → Stock"
    np.testing.assert_allclose(ds["relative_score"], 1.0, rtol=1e-12)
    # a loop alone on its stock has loop score +1 whatever its gain (LTM, 2020)
    np.testing.assert_allclose(ds["loop_score"], 1.0, rtol=1e-9)


def test_goal_seeking_has_one_balancing_loop():
    ds = loop_dominance(ys.load_model(DATA / "loops_goal.mdl"))
    assert ds.sizes["loop"] == 1
    assert ds["polarity"].item() == "B"
    assert ds["path"].item() == "Stock → Gap → Adjustment → Stock"
    np.testing.assert_allclose(ds["relative_score"], -1.0, rtol=1e-12)


def test_smooth3_and_delay3_are_followed_through_their_stages():
    """A goal-seeking stock seen through SMOOTH3 and supplied through DELAY3: one
    balancing loop through six hidden stocks (the stages), shown by variable names; the
    stages' own first-order loops are internal to the functions and left out."""
    ds = loop_dominance(ys.load_model(DATA / "loops_delays.mdl"))
    assert ds.sizes["loop"] == 1
    assert ds["path"].item() == "Stock → Perceived stock → Orders → Arrivals → Stock"
    assert ds["polarity"].item() == "B"
    rel = ds["relative_score"].values[0]
    assert (rel[rel != 0] == -1).all()
    # the loop is closed only once a change has gone round all seven stocks
    assert (rel[:6] == 0).all() and (rel[10:] == -1).all()


@pytest.mark.parametrize(
    ("delay", "function"),
    [
        ("DELAY N(Orders, Delivery time, 0, 3)", "DELAY N"),
        ("DELAY FIXED(Orders, 1, 0)", "DELAY FIXED"),
    ],
)
def test_a_delay_it_cannot_follow_is_refused_by_name(tmp_path, delay, function):
    """DELAY N is a kind of DELAY in the engine (each stage keeps its delay time), so it
    must be refused, not followed with DELAY3's stage rates."""
    mdl = tmp_path / "delay.mdl"
    text = (DATA / "loops_delays.mdl").read_text(encoding="utf-8")
    mdl.write_text(text.replace("DELAY3(Orders, Delivery time)", delay), encoding="utf-8")
    with pytest.raises(YaanSimError, match=f"Arrivals: uses {function}, which the loop"):
        loop_dominance(ys.load_model(mdl))


def test_parks_sharing_a_capacity_per_park_and_per_element(parks):
    """Three logistic parks with one capacity: Crowding = 1 - SUM(Capital)/K. In park p
    the R loop is Capital[p] -> Growth[p]; the B loop runs through the total. As in the
    single logistic, the R loop's relative score in park p is C / (C + Capital[p]/K)."""
    ds = loop_dominance(parks)
    assert ds["relative_score"].dims == ("loop", "time", "park")
    assert list(ds["path"].values) == [
        "Capital → Growth → Capital",
        "Capital → Total capital → Crowding → Growth → Capital",
    ]
    run = _every_step(parks)
    c = run["crowding"].values[:-1, None]
    cap = run["capital"].transpose("time", "park").values[:-1]
    k = float(parks.default_value("Capacity"))
    np.testing.assert_allclose(
        ds["relative_score"].sel(loop="R1").transpose("time", "park"),
        c / (c + cap / k),
        rtol=1e-9,
    )
    # element level: six loops in one cycle partition (linked by the total)
    el = loop_dominance(parks, by=None)
    assert el.sizes["loop"] == 6 and set(el["partition"].values) == {1}
    np.testing.assert_allclose(np.abs(el["relative_score"]).sum("loop"), 1.0, rtol=1e-12)
    assert "Capital[West] → Total capital → Crowding → Growth[West]" in " ".join(el["path"].values)


def test_through_keeps_the_loops_of_one_variable(parks):
    ds = loop_dominance(parks, through="Total capital")
    assert list(ds["path"].values) == ["Capital → Total capital → Crowding → Growth → Capital"]
    # alone among the loops compared, the balancing loop explains all the change
    active = ds["relative_score"].values != 0
    assert active.mean() > 0.9
    np.testing.assert_allclose(ds["relative_score"].values[active], -1.0)
    with pytest.raises(YaanSimError, match="Did you mean 'Total capital'"):
        loop_dominance(parks, through="Total capitl")


def test_a_loop_cap_past_the_limit_is_refused_before_the_run(parks):
    # a cap of 1e20 walked every loop of the Ya'an model for minutes, gigabytes growing
    with pytest.raises(YaanSimError, match="from 1 to 100,000, got 100,001"):
        loop_dominance(parks, max_loops=MAX_LOOPS_LIMIT + 1)
    assert loop_dominance(parks, max_loops=MAX_LOOPS_LIMIT)["path"].size == 2


def test_strongest_path_search_finds_the_same_loops_here(parks):
    exhaustive = loop_dominance(parks, method="exhaustive")
    strongest = loop_dominance(parks, method="strongest")
    assert "strongest path" in strongest.attrs["loop_finding"]
    xr.testing.assert_allclose(exhaustive["relative_score"], strongest["relative_score"])


def test_a_model_without_loops_is_a_clear_error(tmp_path):
    mdl = tmp_path / "open.mdl"
    text = (DATA / "loops_exponential.mdl").read_text(encoding="utf-8")
    mdl.write_text(text.replace("Growth rate*Stock", "Growth rate"), encoding="utf-8")
    with pytest.raises(YaanSimError, match="no feedback loops"):
        loop_dominance(ys.load_model(mdl))


def test_the_park_model_names_reinvestment_and_depreciation_for_etdz(model):
    """The loops come from the model's own variable names; the check looks them up by
    the words of the documented loops (models/README.md), not by a fixed id."""
    h = model.default_horizon
    # one year, every loop of up to 18 links (Johnson's algorithm, ~3 s; 18 is the shortest
    # bound that reaches the reinvestment loop through the construction pipeline): the
    # default strongest-path search over the model's more than 5,000 loops takes ~45 s;
    # test_strongest_path_search_finds_the_same_loops_here checks that search on a small model
    one_year = Horizon(h.start, h.start + 1, h.step, 1)
    ds = loop_dominance(model, horizon=one_year, max_length=18)
    assert ds.attrs["loop_finding"].startswith("exhaustive")
    etdz = ds["relative_score"].sel(park="ETDZ").mean("time")
    paths = [p.lower() for p in ds["path"].values]
    reinvest = [
        i
        for i, p in enumerate(paths)
        if "productive capital" in p and "revenue" in p and "investment" in p
    ]
    depreciation = [
        i
        for i, p in enumerate(paths)
        if ds["length"].values[i] == 2 and "productive capital" in p and "depreciation" in p
    ]
    assert reinvest and depreciation
    assert any(ds["polarity"].values[i] == "R" and etdz.values[i] > 0 for i in reinvest)
    assert all(ds["polarity"].values[i] == "B" and etdz.values[i] < 0 for i in depreciation)
    # the park view normalises within each cycle partition
    for part in np.unique(ds["partition"].values):
        total = np.abs(ds["relative_score"].sel(park="ETDZ")[ds["partition"].values == part])
        np.testing.assert_allclose(total.sum("loop").where(total.sum("loop") > 0, 1), 1.0)
    # --through keeps exactly the loops through that variable
    rev = loop_dominance(model, horizon=one_year, max_length=18, through="Revenue")
    through = [p for p in ds["path"].values if "Revenue" in p.split(" → ")]
    assert sorted(rev["path"].values) == sorted(through) and through


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logistic_nc(logistic, tmp_path_factory):
    path = tmp_path_factory.mktemp("loops") / "logistic.nc"
    to_netcdf(ys.simulate(logistic), path)
    return path


def test_cli_table_csv_json_and_netcdf(logistic_nc, tmp_path, capsys):
    mdl = str(DATA / "loops_logistic.mdl")
    assert main(["loops", str(logistic_nc), "--model", mdl]) == 0
    out = capsys.readouterr().out
    assert "R1 +0.9" in out and "B1 -0.9" in out
    assert "Population → Crowding → Net growth → Population" in out

    assert main(["loops", str(logistic_nc), "--model", mdl, "--format", "csv"]) == 0
    table = pd.read_csv(StringIO(capsys.readouterr().out))
    assert list(table.columns[:4]) == ["partition", "period", "rank", "loop"]
    assert table.loc[table["period"] == 0, "loop"].tolist() == ["R1"]

    nc = tmp_path / "loops.nc"
    assert (
        main(["loops", str(logistic_nc), "--model", mdl, "--format", "json", "--netcdf", str(nc)])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert {e["loop"] for e in doc["loops"]} == {"R1", "B1"}
    assert "Loops that Matter" in doc["method"]
    again = xr.load_dataset(nc)
    assert list(again["polarity"].values) == ["R", "B"]
    assert json.loads(again.attrs["manifest"])["kind"] == "loops"
    from yaan_sim.outputs.manifest import Manifest

    assert Manifest.from_json(again.attrs["manifest"]).loops.max_loops == 5000


def test_the_command_reads_the_results_file_once(logistic_nc, monkeypatch, capsys):
    """The file is opened to check it before the work and read from then on (a second
    read of a whole results file took ~0.2 s of every call)."""
    import yaan_sim.outputs.results as results

    opened = []

    def counting(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    real = results.open_results
    monkeypatch.setattr(results, "open_results", counting)
    assert main(["loops", str(logistic_nc), "--model", str(DATA / "loops_logistic.mdl")]) == 0
    assert "R1 +0.9" in capsys.readouterr().out
    assert [str(p) for p in opened] == [str(logistic_nc)]


def test_cli_bad_input_exits_2(logistic_nc, parks, tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netCDF")
    assert main(["loops", str(bad)]) == 2
    assert "not a readable netCDF" in capsys.readouterr().err
    # the results were made with another model than the default one
    assert main(["loops", str(logistic_nc)]) == 2
    assert "--model" in capsys.readouterr().err

    parks_nc = tmp_path / "parks.nc"
    to_netcdf(ys.simulate(parks), parks_nc)
    mdl = str(DATA / "loops_parks.mdl")
    assert main(["loops", str(parks_nc), "--model", mdl, "--park", "Nort"]) == 2
    assert "Did you mean 'North'" in capsys.readouterr().err
    assert main(["loops", str(parks_nc), "--model", mdl, "--park", "north"]) == 0
    out = capsys.readouterr().out
    assert "park North" in out and "park South" not in out

    open_mdl = tmp_path / "open.mdl"
    text = (DATA / "loops_exponential.mdl").read_text(encoding="utf-8")
    open_mdl.write_text(text.replace("Growth rate*Stock", "Growth rate"), encoding="utf-8")
    open_nc = tmp_path / "open.nc"
    to_netcdf(ys.simulate(ys.load_model(open_mdl)), open_nc)
    assert main(["loops", str(open_nc), "--model", str(open_mdl)]) == 2
    assert "no feedback loops" in capsys.readouterr().err
