"""Observation operators of models/yaan_parks.mdl: like with like (DESIGN.md).

Park revenue (营业收入) is industrial output plus other revenue (trade, logistics,
services, data centres); energy, water and emissions come from industrial output only;
electricity converts to energy at one stated convention; above-scale figures are a share
of the park's industry; city figures are sums over the parks, and city-wide statistics
are compared through the parks' share of the city. R&D is paid from profit.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.scenario.fixed import FixedScenario

SHORT = ys.Horizon(2013, 2015, 0.125, 0.125)


def run(model, overrides=None, horizon=SHORT):
    ds = ys.simulate(
        model, [FixedScenario("case", overrides or {})], engine="vector", horizon=horizon
    )
    return ds.sel(scenario="case")


@pytest.fixture(scope="module")
def ds(model):
    return run(model, horizon=None)


def test_revenue_is_industrial_output_plus_other_revenue(ds, model):
    xr.testing.assert_allclose(ds["revenue"], ds["industrial_output"] + ds["other_revenue"])
    industrial = model.default_value("Is industrial")
    xr.testing.assert_allclose(
        ds["industrial_output"],
        (ds["output"] * industrial).sum("group").transpose(*ds["industrial_output"].dims),
    )
    xr.testing.assert_allclose(ds["city_revenue"], ds["revenue"].sum("park"))
    # ETDZ's revenue is mostly trade and services; a county park's mostly industry
    t = {"time": 2019.0}
    assert float(ds["other_revenue"].sel(park="ETDZ", **t)) > float(
        ds["industrial_output"].sel(park="ETDZ", **t)
    )
    assert float(ds["other_revenue"].sel(park="Hanyuan", **t)) < 0.2 * float(
        ds["revenue"].sel(park="Hanyuan", **t)
    )


def test_trade_and_data_use_no_industrial_energy_water_or_fuel(ds):
    for var in ("energy_demand", "fossil_energy_use", "water_use_by_group"):
        assert float(abs(ds[var].sel(group=["Trade", "Data"])).max()) == 0.0, var


def test_energy_per_unit_of_industry_does_not_depend_on_trade(model):
    """How much of ETDZ's 2013 revenue is trade changes its revenue, not its energy per
    unit of industrial output (the energy overstatement of review section 3)."""
    a = run(model)
    share = model.default_value("Initial industrial share").copy()
    share.loc[{"park": "ETDZ"}] = share.sel(park="ETDZ") / 2
    b = run(model, {"Initial industrial share": share})
    t = {"park": "ETDZ", "time": 2013.0}
    assert float(b["revenue"].sel(**t)) == pytest.approx(float(a["revenue"].sel(**t)))
    assert float(b["energy_use"].sel(**t)) == pytest.approx(float(a["energy_use"].sel(**t)) / 2)
    ratio = lambda d: float((d["energy_use"] / d["industrial_output"]).sel(**t))  # noqa: E731
    assert ratio(b) == pytest.approx(ratio(a), rel=1e-12)


def test_electricity_converts_at_the_calorific_equivalent(model):
    zero_fossil = xr.zeros_like(model.default_value("Base fossil energy intensity"))
    d = run(model, {"Base fossil energy intensity": zero_fossil})
    factor = float(model.default_value("Electricity calorific equivalent"))
    assert factor == pytest.approx(1.229)  # 0.1229 kgce per kWh: 1 yi kWh = 1.229 wan tce
    xr.testing.assert_allclose(d["energy_use"], d["electricity_use"] * factor)


def test_air_pollutants_come_from_fossil_energy_only(model):
    zero_fossil = xr.zeros_like(model.default_value("Base fossil energy intensity"))
    d = run(model, {"Base fossil energy intensity": zero_fossil})
    assert float(d["electricity_use"].min()) > 0
    air = d["emissions"].sel(pollutant=["SO2", "NOx"])
    assert float(air.max()) == 0.0  # hydropower electricity emits nothing where it is used
    assert float(d["emissions"].sel(pollutant="COD").min()) > 0


def test_treatment_coverage_falls_when_wastewater_outgrows_the_plants(model):
    d = run(model, {"Environmental infrastructure gap closure rate": 0.0}, horizon=None)
    share = d["treated_share"].sel(park="ETDZ")
    assert float(share.sel(time=2021.0)) < float(share.sel(time=2014.0)) <= 1


def test_above_scale_and_city_measures(ds, model):
    above = float(model.default_value("Above scale share"))
    xr.testing.assert_allclose(ds["above_scale_industrial_output"], ds["industrial_output"] * above)
    xr.testing.assert_allclose(ds["above_scale_electricity_use"], ds["electricity_use"] * above)
    share = float(model.default_value("Parks share of city above scale industry"))
    xr.testing.assert_allclose(ds["park_research_spending"], ds["research_spending"].sum("park"))
    xr.testing.assert_allclose(
        ds["city_above_scale_industrial_research"], ds["park_research_spending"] / share
    )
    xr.testing.assert_allclose(
        ds["city_above_scale_industrial_output"],
        ds["above_scale_industrial_output"].sum("park") / share,
    )
    # the parks are part of the city
    assert (ds["park_research_spending"] <= ds["city_above_scale_industrial_research"]).all()


def test_value_added_is_real_and_revenue_is_nominal(ds):
    """The producer-price index moves revenue, not value added (growth at comparable
    prices): from 2017 on, nominal industrial output outgrows real value added."""
    nominal = ds["industrial_output"].sel(park="ETDZ")
    real = ds["industrial_value_added"].sel(park="ETDZ")
    r16 = float(real.sel(time=2016.5) / nominal.sel(time=2016.5))
    r19 = float(real.sel(time=2019.5) / nominal.sel(time=2019.5))
    assert r19 < r16


def test_rd_is_paid_from_profit(model):
    """A higher propensity to do R&D leaves less profit to reinvest."""
    base = model.default_value("Base research intensity")
    a = run(model)
    b = run(model, {"Base research intensity": base * 2})
    t = {"time": 2014.0}
    assert float(b["research_spending"].sel(**t).sum()) > float(
        a["research_spending"].sel(**t).sum()
    )
    assert float(b["internal_investment"].sel(**t).sum()) < float(
        a["internal_investment"].sel(**t).sum()
    )


def test_productivity_follows_knowledge_per_unit_of_capital(model):
    """Growth alone does not raise productivity (review F6): a park that doubles its
    capital at the same R&D intensity keeps its knowledge per unit of capital."""
    d = run(model, horizon=None)
    idx = d["productivity_index"].sel(group=["Energy", "Materials", "Equipment", "Light"])
    # no knowledge of its own (a group new to a park) still works with bought technology
    k = float(model.default_value("Knowledge without own research"))
    floor = (k / (1 + k)) ** float(model.default_value("Knowledge elasticity"))
    assert float(idx.max()) < 1.05 and float(idx.min()) >= floor - 1e-12 > 0.85
    assert float(d["installed_capital"].sel(park="ETDZ").sum("group").sel(time=2021.0)) > 2 * float(
        d["installed_capital"].sel(park="ETDZ").sum("group").sel(time=2013.0)
    )
    np.testing.assert_allclose(d["productivity_index"].sel(group=["Trade", "Data"]).values, 1.0)
