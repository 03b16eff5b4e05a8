"""The posterior shipped in models/data/posterior.nc (`make posterior`): what it holds, and
that `yaan-sim ensemble --posterior` runs with it and gives P(goal met)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yaan_sim.analysis.posterior import SHIPPED_POSTERIOR, read_posterior
from yaan_sim.model.levers import constants


@pytest.fixture(scope="module")
def post():
    return read_posterior(SHIPPED_POSTERIOR)


def test_the_shipped_posterior_is_small_and_made_by_the_documented_command(post):
    assert SHIPPED_POSTERIOR.stat().st_size < 1_000_000  # a few hundred draws, not chains
    assert 100 <= post.sizes["draw"] <= 1000
    man = json.loads(post.attrs["manifest"])
    # `make posterior`: every compared figure through 2020, model error 0.2, seed 0
    assert man["cutoff"] == 2020 and man["model_error"] == 0.2 and man["seed"] == 0
    assert man["obs_errors"]["growth"] == {"H": 3.2, "M": 3.6, "L": 5.8}
    assert man["n_fit"] >= 20
    make = (SHIPPED_POSTERIOR.parents[2] / "Makefile").read_text()
    assert "\nposterior:" in make and "--posterior models/data/posterior.nc" in make
    assert "--cutoff 2020 --model-error 0.2" in make and "H=3.2,M=3.6,L=5.8" in make
    assert "--moves de" in make and "DEMove" in man["sampler"]


def test_every_draw_lies_in_the_constants_range_and_moves(model, post):
    pool = constants(model)
    draws = post["draws"].values
    assert np.isfinite(draws).all()
    for j, name in enumerate(post["name"].values):
        c = pool[str(name)]
        assert (draws[:, j] >= c.min).all() and (draws[:, j] <= c.max).all(), name
        assert np.ptp(draws[:, j]) > 0, f"{name}: every draw the same (a stuck sampler)"


def test_ensemble_with_the_shipped_posterior_gives_p_goal_met(tmp_path, capsys):
    from yaan_sim.cli import main

    out = tmp_path / "ens.nc"
    argv = ["ensemble", "plan", "--posterior", str(SHIPPED_POSTERIOR), "--samples", "50"]
    argv += ["--horizon", "2013:2017", "--no-progress", "-o", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "p_met" in text and "revenue_city" in text
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert ds.sizes["sample"] == 50
        assert "posterior" in ds.attrs["manifest"]
        # the draws reach the run: ETDZ's 2013 revenue differs between samples
        rev = ds["revenue"].sel(park="ETDZ").isel(time=0)
        assert float(rev.std()) > 0


def test_the_readme_calibration_tables_are_current(model, tmp_path):
    from yaan_sim.analysis.posterior_readme import update_readme
    from yaan_sim.paths import MODELS_DIR

    copy = tmp_path / "README.md"
    copy.write_text((MODELS_DIR / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert not update_readme(copy, model), (
        "models/README.md's calibration tables are out of date: run "
        "`.venv/bin/python -m yaan_sim.analysis.posterior_readme`"
    )


def test_the_mdl_holds_values_inside_the_shipped_posterior(model, post):
    """The .mdl's calibrated values are the posterior's medians (models/README.md): each lies
    inside the shipped posterior's 90 % interval, so neither file can drift from the other
    unnoticed; a constant whose element is fitted says so in its `source:`."""
    names = [str(n) for n in post["name"].values]
    for j, name in enumerate(names):
        value = model.default_value(name)
        elements = str(post["elements"].values[j])
        if elements:
            dim = str(post["dim"].values[j])
            value = value.sel({dim: elements.split("+")})
        lo, hi = float(post["summary_q5"][j]), float(post["summary_q95"][j])
        assert (lo <= value).all() and (value <= hi).all(), (name, elements, value.values, lo, hi)
    for name in set(names) - {"Initial revenue"}:  # ETDZ's 2013 rate is set from its figure
        assert model.meta[name].fields["source"].startswith("calibrated"), name
