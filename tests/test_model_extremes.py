"""Extreme-condition tests of models/yaan_parks.mdl (Sterman ch. 21.4.4).

A greenfield park starts; zero revenue gives no NaN; no investment decays capital; the
entry threshold works as a screen with the intended sign; the energy allocation and land
bind in the scenarios that claim them (relaxing them changes the outcome); no research
lets knowledge decay; stocks stay non-negative at the levers' limits. Runs use the vector
engine, which equals PySD to 1e-9 (test_vector_engine.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from support.fake_results import PARKS
from support.tweaked import Tweaked

import yaan_sim as ys
from yaan_sim.scenario import load_scenario
from yaan_sim.scenario.fixed import FixedScenario


def run(model, overrides=None, horizon=None):
    ds = ys.simulate(
        model, [FixedScenario("case", overrides or {})], engine="vector", horizon=horizon
    )
    return ds.sel(scenario="case")


def per_park(model, name, **values):
    da = model.default_value(name).copy()
    for park, v in values.items():
        da.loc[{"park": park}] = v
    return da


def no_nan(ds):
    # constants defined on a sub-range (Air pollutant) are NaN elsewhere by layout
    bad = [
        k
        for k, v in ds.data_vars.items()
        if v.attrs.get("role") not in {"parameter", "lever"} and bool(v.isnull().any())
    ]
    assert not bad, f"NaN in {bad}"


def test_a_greenfield_park_starts(model):
    """Lushan with no revenue, capital or developed land in 2013 draws investment from the
    pool (its attractiveness does not scale with its own size) and grows."""
    ds = run(model, {"Initial revenue": per_park(model, "Initial revenue", Lushan=0.0)})
    no_nan(ds)
    lushan = ds["revenue"].sel(park="Lushan")
    assert float(lushan.sel(time=2013.0)) == 0.0
    assert float(ds["investment_attracted"].sel(park="Lushan", time=2013.0)) > 0
    assert float(lushan.sel(time=2018.0)) > 1 and float(lushan.sel(time=2021.0)) > float(
        lushan.sel(time=2018.0)
    )
    assert float(ds["developed_land"].sel(park="Lushan", time=2021.0)) > 0
    # the fiscal loop: taxes from the new firms fund the park's infrastructure
    assert float(ds["local_fiscal_revenue"].sel(park="Lushan", time=2021.0)) > 0


def test_a_greenfield_park_with_a_fund_grows_faster(model):
    fund = xr.DataArray(
        np.where(np.array(PARKS) == "Lushan", 5.0, 0.0), dims=["park"], coords={"park": PARKS}
    )
    base = {"Initial revenue": per_park(model, "Initial revenue", Lushan=0.0)}
    plain = run(model, base)
    funded = run(model, base | {"Park fund investment": fund})
    assert float(funded["revenue"].sel(park="Lushan", time=2021.0)) > float(
        plain["revenue"].sel(park="Lushan", time=2021.0)
    )


def test_zero_revenue_everywhere_gives_no_nan(model):
    zero = xr.zeros_like(model.default_value("Initial revenue"))
    ds = run(model, {"Initial revenue": zero})
    no_nan(ds)
    assert float(ds["city_revenue"].sel(time=2013.0)) == 0.0
    assert float(ds["city_revenue"].sel(time=2021.0)) > 0  # the pool starts every park


def test_without_investment_capital_and_output_decay(model):
    zero_pool = {
        "Park attraction share": xr.zeros_like(model.default_value("Park attraction share")),
        "Reinvestment share": 0.0,
        "Loan guarantee scale": xr.zeros_like(model.default_value("Loan guarantee scale")),
        "Reconstruction realisation share": 0.0,
        "Big data realisation share": 0.0,
        "Capital growth before 2013": 0.0,
    }
    ds = run(model, zero_pool)
    no_nan(ds)
    assert float(ds["investment_commitments"].max()) == 0.0
    cap = (
        ds["productive_capital"]
        + ds["capital_ramping_up"]
        + ds["projects_under_construction"]
        + ds["projects_in_preparation"]
    ).sum("group")
    assert (cap.diff("time") < 0).all()
    assert (ds["revenue"].isel(time=-1) < ds["revenue"].isel(time=0)).all()


def test_a_stricter_entry_threshold_admits_fewer_denser_projects(model):
    """The threshold screens projects: with land to spare, a higher one admits less
    investment (monotone) and needs less land per yuan invested."""
    out = []
    for threshold in (50.0, 100.0, 200.0, 400.0):
        ds = run(model, {"Entry threshold": threshold})
        attracted = float(ds["investment_attracted"].sel(time=slice(2014, 2021)).sum())
        land_per_yuan = float(
            (ds["land_demand"] / ds["new_project_demand"].sum("group")).sel(
                park="ETDZ", time=2016.0
            )
        )
        out.append((attracted, float(ds["city_revenue"].sel(time=2021.0)), land_per_yuan))
    attracted, revenue, land = map(np.array, zip(*out, strict=True))
    assert (np.diff(attracted) < 0).all() and (np.diff(revenue) < 0).all()
    assert (np.diff(land) < 0).all()


def test_where_land_binds_a_stricter_threshold_still_screens(model):
    """The old artefact is gone: with the land quota exhausted (land-constrained), a higher
    threshold does not raise investment; it admits fewer projects, develops less land and so
    relieves the land constraint (review F3)."""
    lc = load_scenario("land-constrained", model)
    template = lc.overrides(model, lc.horizon)["Entry threshold"]
    runs = [
        Tweaked(lc, f"t{t}", {"Entry threshold": xr.full_like(template, t)})
        for t in (80.0, 150.0, 300.0)
    ]
    ds = ys.simulate(model, runs, engine="vector")
    after = {"time": slice(2016, 2021)}
    committed = ds["investment_commitments"].sel(after).sum(("time", "park", "group")).values
    developed = ds["land_development"].sel(after).sum(("time", "park")).values
    effect = ds["land_attraction_effect"].sel(park="ETDZ", time=2021.0).values
    assert effect[0] < 0.5  # land binds at the pre-plan threshold
    assert (np.diff(committed) < 0).all() and (np.diff(developed) < 0).all()
    assert (np.diff(effect) > 0).all()


def test_the_energy_allocation_binds_in_green_low_carbon(model):
    """The scenario cuts the allocation every year: rationing binds by 2021, falls on the
    energy-carrying group first, and relaxing the allocation restores its output."""
    green = load_scenario("green-low-carbon", model)
    loose = Tweaked(green, "loose", {"Energy increment allowance": None})
    ds = ys.simulate(model, [green, loose], engine="vector")
    g = ds.sel(scenario="green-low-carbon", time=2021.0)
    assert float(g["required_energy_cut"]) > 0.05
    util = g["energy_utilisation"].min("park")
    assert float(util.sel(group="Energy")) < 0.9 < float(util.sel(group="Light"))
    energy_out = ds["output"].sel(group="Energy", time=2021.0).sum("park")
    assert float(energy_out.sel(scenario="loose")) > float(
        energy_out.sel(scenario="green-low-carbon")
    )
    # the baseline stays under its allocation: rationing has not started by 2020
    base = ys.simulate(model, [load_scenario("baseline", model)], engine="vector")
    assert float(base["required_energy_cut"].sel(time=slice(2013, 2020)).max()) < 0.01


def test_land_binds_in_land_constrained(model):
    """No new quota from 2016: the quota runs out, land cuts attraction, and restoring the
    release raises the constrained parks' revenue."""
    lc = load_scenario("land-constrained", model)
    freed = Tweaked(lc, "freed", {"Land quota release": None})
    ds = ys.simulate(model, [lc, freed], engine="vector")
    effect = ds["land_attraction_effect"].sel(scenario="land-constrained", time=2021.0)
    assert float(effect.min()) < 0.5
    worst = str(effect.idxmin("park").values)
    rev = ds["revenue"].sel(park=worst, time=2021.0)
    assert float(rev.sel(scenario="freed")) > float(rev.sel(scenario="land-constrained"))


def test_no_land_quota_means_no_new_developed_land(model):
    ds = run(
        model,
        {
            "Initial quota share": 0.0,
            "Land quota release": 0.0,
            "Idle land disposal rate": 0.0,
        },
        horizon=ys.Horizon(2013, 2016, 0.125, 0.125),
    )
    assert float(ds["land_development"].max()) == 0.0
    assert (ds["developed_land"].diff("time") <= 0).all()
    # projects still come into standard factories, which need no land
    assert float(ds["investment_commitments"].sel(time=2015.0).sum()) > 0


def test_zero_research_lets_knowledge_decay(model):
    ds = run(
        model,
        {"Base research intensity": 0.0},
        horizon=ys.Horizon(2013, 2016, 0.125, 0.125),
    )
    assert float(ds["research_spending"].max()) == 0.0
    assert (ds["knowledge_stock"].diff("time") <= 1e-12).all()
    assert float(ds["productivity_index"].max()) <= 1 + 1e-12


@pytest.mark.parametrize("side", ["min", "max"])
def test_stocks_stay_non_negative_at_the_levers_limits(model, side):
    overrides = {}
    for meta in model.levers():
        lo, hi = meta.limits
        overrides[meta.name] = lo if side == "min" else hi
    ds = run(model, overrides)
    no_nan(ds)
    for meta in model.meta.values():
        if meta.role == "stock":
            assert float(ds[meta.py_name].min()) >= -1e-9, (side, meta.name)
