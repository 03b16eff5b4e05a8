"""The shipped model against the published figures (issue 11): fit and held-out errors,
the held-out rule, and the "done when" checks, each against the ledger's stated confidence.

The tolerances come from the ledger, not from the model's output. Each figure carries a
confidence (models/data/ledger/README.md) that the project translates into a standard
error (docs/analysis.md, "Observation errors"): levels 5 % (H), 10 % (M), 25 % (L) on the
log scale; growth rates 1, 2, 5 points. A model that agreed with every figure within
those errors would give z = error / sigma roughly standard normal: |z| above 3 about once
in 370 figures, and over n figures a root-mean-square z above the bounds below with
probability under 1 %. Figures the model is known to miss, for a stated structural
reason, are listed with the reason; any other figure outside 3 sigma fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.backtest import backtest
from yaan_sim.analysis.backtest_observations import DEFAULT_CUTOFF, OBS_ERRORS, observations
from yaan_sim.model.ledger import read_ledger
from yaan_sim.scenario import load_scenario

#: The ledger's confidence as a standard error (docs/analysis.md), restated here.
LEVEL_SIGMA = {"H": 0.05, "M": 0.10, "L": 0.25}
GROWTH_SIGMA = {"H": 1.0, "M": 2.0, "L": 5.0}

#: Figures the shipped model misses (each by more than 2.5 sigma), and why (models/README.md). The
#: city's 2014 rebound after the earthquake, missed by the hand-set values, is now within
#: 1 sigma: the calibrated pre-2013 capital growth gives the model's 2013 pipeline.
KNOWN_MISSES = {
    "etdz-fai-2018h1": "全社会固定资产投资 counts housing and urban works the model does not hold",
    "etdz-fai-2019q1": "全社会固定资产投资 counts housing and urban works the model does not hold",
    "etdz-fai-2018h1-g": "the same; the model's construction spending is a smooth pipeline",
    "etdz-inv-2018h1-g": "the park's 2018 surge in attracted funds is not in the city's pool table",
    "city-rd-ind-2020-g": "the city's R&D jumped 21 % in 2020; the model's adjusts over 3 years",
}
#: Root-mean-square z bounds: chi2 with n = 6 (fit) or 14 (held-out) degrees of freedom
#: exceeds n * bound**2 (24 for n = 6, 31.5 for n = 14) with probability 0.05 % and 0.5 %.
RMS_Z_BOUND = {"fit": 2.0, "held-out": 1.5}


def test_the_stated_errors_are_the_ones_the_calibration_uses():
    assert OBS_ERRORS == {"level": LEVEL_SIGMA, "growth": GROWTH_SIGMA}


@pytest.fixture(scope="module")
def table(model):
    """The back-test of the shipped model (the .mdl's defaults: the baseline)."""
    return backtest(model).set_index("id")


def z_scores(table, roles=("fit", "held-out")):
    use = table[table["role"].isin(roles)]
    z = {}
    for rid, r in use.iterrows():
        if r["kind"] in ("growth", "change"):
            z[rid] = (r["simulated"] - r["observed"]) / GROWTH_SIGMA[r["confidence"]]
        else:
            z[rid] = math.log(r["simulated"] / r["observed"]) / LEVEL_SIGMA[r["confidence"]]
    return z


def test_the_held_out_rule_is_every_period_ending_after_2017(model):
    assert DEFAULT_CUTOFF == 2017
    obs = observations(model)
    compared = [o for o in obs.items if o.role in ("fit", "held-out")]
    assert compared
    for o in compared:
        # a period ends after 2017 when it ends after 1 January 2018 (model time 2018.0)
        assert (o.role == "held-out") == (o.period.end > 2018.0 + 1e-9), (o.id, o.period)
    roles = {o.id: o.role for o in obs.items}
    assert roles["etdz-rev-2015"] == "fit"
    assert roles["etdz-rev-2018h1"] == "held-out"
    assert roles["etdz-elec-ias-2020h1"] == "held-out"
    # the calibration fits exactly the figures the rule leaves in sample
    from yaan_sim.analysis.calibrate import setup

    pb = setup(model)
    fitted = {pb.items[i].id for i in pb.fit_idx}
    assert fitted == {o.id for o in compared if o.role == "fit"}


def test_backtest_covers_enough_figures_and_sources(table):
    compared = table[table["role"].isin(["fit", "held-out"])]
    assert len(compared) >= 20
    assert compared["source"].nunique() >= 5
    assert (compared["role"] == "held-out").sum() >= 3
    assert compared["simulated"].notna().all()


def test_every_figure_outside_three_sigma_is_a_known_miss(table):
    z = z_scores(table)
    outside = {k: round(v, 1) for k, v in z.items() if abs(v) > 3}
    unexplained = sorted(set(outside) - set(KNOWN_MISSES))
    assert not unexplained, {k: outside[k] for k in unexplained}
    # a known miss must still be a compared figure (not silently dropped from the back-test)
    assert set(KNOWN_MISSES) <= set(z), sorted(set(KNOWN_MISSES) - set(z))


@pytest.mark.parametrize("role", ["fit", "held-out"])
def test_in_sample_and_held_out_error_within_the_stated_confidence(table, role):
    z = {k: v for k, v in z_scores(table, (role,)).items() if k not in KNOWN_MISSES}
    assert len(z) >= 4
    rms = math.sqrt(np.mean(np.square(list(z.values()))))
    assert rms <= RMS_Z_BOUND[role], (role, round(rms, 2), {k: round(v, 1) for k, v in z.items()})


# ------------------------------------------------------------------ done when (issue 11)


def ledger_value(rid):
    return float(read_ledger().rows.loc[rid, "value"])


def year_total(da, year):
    """Calendar-year total of a flow: the integral of the rate over the year."""
    part = da.sel(time=slice(float(year), float(year) + 1))
    return xr.DataArray(
        np.trapezoid(part.values, part.time.values, axis=part.dims.index("time")),
        dims=[d for d in part.dims if d != "time"],
    )


def test_plan_park_rd_stays_within_what_the_citys_firms_spent(model):
    """The nine parks are part of the city: their R&D cannot exceed what all of the
    city's above-scale industry reported (city-rd-ind-2019-read, city-rd-ind-2020)."""
    ds = ys.simulate(model, [load_scenario("plan", model)], engine="vector")
    if "scenario" in ds.dims:
        ds = ds.sel(scenario="plan")
    for year, rid in ((2019, "city-rd-ind-2019-read"), (2020, "city-rd-ind-2020")):
        parks = float(year_total(ds["research_spending"].sum("park"), year))
        assert 0 < parks <= ledger_value(rid), (year, parks)


#: ETDZ's published energy, revenue and growth figures (issue 11, "done when").
ETDZ_FIGURES = [
    "etdz-elec-ias-2020h1",  # energy: the park's only published energy figure
    "etdz-rev-2013",
    "etdz-rev-2014",
    "etdz-rev-2015",
    "etdz-rev-2018h1",
    "etdz-rev-2019q1",
    "etdz-va-2018h1-g",
    "etdz-vaas-2019q1-g",
    "etdz-rev-2019q1-g",
]
#: ETDZ's industrial output: two published figures (both L) that conflict, 58 for 2020 H1
#: and 320 for 2021 after 16 % growth (about 138 for half of 2020; doubtful, sources.md A1:
#: not used).
ETDZ_INDUSTRY = "etdz-ioas-2020h1"


@pytest.mark.parametrize("rid", ETDZ_FIGURES)
def test_etdz_energy_revenue_and_growth_within_two_sigma(table, rid):
    """ETDZ's electricity, revenue and growth within 2 sigma of the ledger's confidence, at
    the .mdl's values (the posterior's medians): the 2019 Q1 growth too, which the hand-set
    values missed (21 % against 26 %)."""
    assert table.loc[rid, "role"] in ("fit", "held-out")
    z = z_scores(table.loc[[rid]])[rid]
    assert abs(z) <= 2, (rid, table.loc[rid, "observed"], table.loc[rid, "simulated"], z)


def test_etdz_industry_lies_between_its_conflicting_figures(table):
    """The 2020 H1 figure is about 2 sigma below the model (L), the 2021 one far above it:
    the model sits between them, within 2.5 sigma of the first."""
    sim = table.loc[ETDZ_INDUSTRY, "simulated"]
    assert 58 < sim < 320 / 1.16 / 2
    assert abs(z_scores(table.loc[[ETDZ_INDUSTRY]])[ETDZ_INDUSTRY]) <= 2.5


@pytest.fixture(scope="module")
def posterior_table(model):
    """The back-test of the shipped posterior: 100 seeded draws, the median per figure."""
    from yaan_sim.analysis.ensemble import run_ensemble
    from yaan_sim.paths import MODELS_DIR

    posterior = MODELS_DIR / "data" / "posterior.nc"
    ds = run_ensemble(
        model, [load_scenario("baseline", model)], 100, seed=1, posterior=posterior, keep="all"
    )
    return backtest(model, ds).set_index("id")


@pytest.mark.parametrize("rid", [*ETDZ_FIGURES, ETDZ_INDUSTRY])
def test_etdz_figures_within_two_sigma_at_the_posterior_median(posterior_table, rid):
    """The calibration's answer to the figures above: the shipped posterior (fitted to every
    compared figure through 2020, so this is its in-sample fit) puts the median of each
    within 2 sigma, the 2019 Q1 growth and the industrial output included."""
    z = z_scores(posterior_table.loc[[rid]])[rid]
    assert abs(z) <= 2, (
        rid,
        posterior_table.loc[rid, "observed"],
        posterior_table.loc[rid, "simulated"],
        z,
    )
