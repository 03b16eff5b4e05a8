"""Scenario files: the value forms, schedules, layering, uncertainty, and the shipped set.

The value forms and layering are checked on the small fixture model
(tests/data/levers_fixture.mdl, step 0.25); the shipped scenarios against the real model.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from support.fake_results import PARKS

import yaan_sim.scenario.layering as scenario_layering
from yaan_sim.cli import main
from yaan_sim.errors import ScenarioError
from yaan_sim.model.levers import constants, lever_registry
from yaan_sim.model.load import Horizon, load_model
from yaan_sim.paths import SCENARIOS_DIR
from yaan_sim.scenario import Schedule, lever_table, load_scenario, scenario_files, validate_file
from yaan_sim.scenario.checks import Ctx, read_distribution, read_uncertain
from yaan_sim.scenario.reader import Reader
from yaan_sim.scenario.types import Distribution, LeverSetting, UncertainSetting, Uncertainty

FIXTURE_MDL = Path(__file__).parent / "data" / "levers_fixture.mdl"
SHIPPED = {
    "baseline",
    "plan",
    "green-low-carbon",
    "land-constrained",
    "innovation-push",
    "enclave-integration",
    "high-investment",
}
T = 2016 + 0.25 * np.arange(17)  # the fixture's grid: 2016..2020 by 0.25


@pytest.fixture(scope="module")
def fx_model():
    return load_model(FIXTURE_MDL)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def series(tmp_path, fx_model, levers_yaml: str, lever: str, **kw) -> xr.DataArray:
    path = write(tmp_path, "s.yaml", "levers:\n" + levers_yaml)
    return load_scenario(path, fx_model).overrides(fx_model, **kw)[lever]


# --- value forms -------------------------------------------------------------------------
def test_scalar_applies_to_every_time_and_element(tmp_path, fx_model):
    da = series(tmp_path, fx_model, "  Entry threshold: 200\n", "Entry threshold")
    assert da.dims == ("time", "park") and da.shape == (17, 9)
    np.testing.assert_array_equal(da.time.values, T)
    assert list(da.park.values) == PARKS
    assert (da.values == 200).all()
    assert da.attrs["units"] == "wanyuan/mu"


def test_dimensionless_lever_has_only_time(tmp_path, fx_model):
    da = series(tmp_path, fx_model, "  PPP share: 0.2\n", "PPP share")
    assert da.dims == ("time",) and (da.values == 0.2).all()


def test_per_park_map_default_group_and_element(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        """\
  Entry threshold:
    ETDZ: 400          # an element beats its group, whatever the order of the keys
    East: 300
    default: 200
""",
        "Entry threshold",
    ).isel(time=0)
    expected = {"ETDZ": 400, "Yucheng": 300, "Chengya": 300, "Yingjing": 300}
    assert {p: float(da.sel(park=p)) for p in PARKS} == {p: expected.get(p, 200) for p in PARKS}


def test_per_park_map_without_default_keeps_the_mdl_values(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        "  Investment attraction rate: {Hanyuan: 0.3}\n",
        "Investment attraction rate",
    ).isel(time=-1)
    default = fx_model.default_value("Investment attraction rate")
    assert float(da.sel(park="Hanyuan")) == 0.3
    np.testing.assert_array_equal(
        da.drop_sel(park="Hanyuan").values, default.drop_sel(park="Hanyuan").values
    )


def test_per_industry_map(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        "  Backward capacity exit rate: {default: 0.05, TeBi: 0.1}\n",
        "Backward capacity exit rate",
    )
    assert da.dims == ("time", "industry")
    assert float(da.sel(industry="TeBi")[0]) == 0.1
    assert (da.drop_sel(industry="TeBi").values == 0.05).all()


def test_scale_multiplies_the_mdl_values(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        "  Investment attraction rate: {scale: 1.5, plan: 二(一)1}\n",
        "Investment attraction rate",
    )
    default = fx_model.default_value("Investment attraction rate").values
    np.testing.assert_allclose(da.values, np.broadcast_to(default * 1.5, (17, 9)), rtol=1e-15)


def test_py_name_alias_is_normalised_to_the_vensim_name(tmp_path, fx_model):
    path = write(tmp_path, "s.yaml", "levers:\n  entry_threshold: 300\n")
    assert list(load_scenario(path, fx_model).overrides(fx_model)) == ["Entry threshold"]


# --- schedules ----------------------------------------------------------------------------
def test_step_schedule_holds_each_value_until_the_next_year(tmp_path, fx_model):
    da = series(
        tmp_path, fx_model, "  PPP share: {schedule: {2017: 0.1, 2018.5: 0.3}}\n", "PPP share"
    )
    # before the first year: the first value; at and after a year: that year's value
    expected = np.where(T < 2018.5, 0.1, 0.3)
    np.testing.assert_array_equal(da.values, expected)


def test_linear_schedule_interpolates_and_is_flat_beyond(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        """\
  PPP share:
    schedule: {2017: 0.1, 2019: 0.3}
    interpolation: linear
""",
        "PPP share",
    )
    expected = np.clip(0.1 + (T - 2017) * 0.1, 0.1, 0.3)
    np.testing.assert_allclose(da.values, expected, rtol=0, atol=1e-15)
    assert float(da.sel(time=2018.0)) == pytest.approx(0.2, abs=1e-15)


def test_shorthand_schedule_equals_the_canonical_form(tmp_path, fx_model):
    a = series(
        tmp_path,
        fx_model,
        "  PPP share: {2016: 0, 2018: 0.2, interpolation: linear}\n",
        "PPP share",
    )
    b = series(
        tmp_path,
        fx_model,
        "  PPP share: {schedule: {2016: 0, 2018: 0.2}, "
        "interpolation: linear, plan: 三(一)2, units: dmnl}\n",
        "PPP share",
    )
    xr.testing.assert_identical(a, b)


def test_per_park_schedules(tmp_path, fx_model):
    da = series(
        tmp_path,
        fx_model,
        """\
  Loan guarantee scale:
    default: 1
    ETDZ: {schedule: {2016: 1, 2020: 5}, interpolation: linear}
    South: {2018: 3}
""",
        "Loan guarantee scale",
    )
    np.testing.assert_allclose(da.sel(park="ETDZ").values, 1 + (T - 2016), atol=1e-14)
    assert (da.sel(park="Hanyuan").values == 3).all()  # one point: flat both ways
    assert (da.sel(park="Lushan").values == 1).all()


def test_value_form_with_plan_citation(tmp_path, fx_model):
    path = write(tmp_path, "s.yaml", "levers:\n  PPP share: {value: 0.25, plan: 三(一)2}\n")
    sc = load_scenario(path, fx_model)
    assert sc.levers["PPP share"].plan == "三(一)2"
    assert (sc.overrides(fx_model)["PPP share"].values == 0.25).all()


def test_step_is_exact_on_fine_grids():
    # 2016 + 0.1 * 10 is 2017.0000000000002: the 2017 value must hold there, not 2016's
    s = Schedule((2016.0, 2017.0), (1.0, 2.0))
    t = Horizon(2016, 2018, 0.1, 0.1).times()
    assert s.at(t)[10] == 2.0 and s.at(t)[9] == 1.0


def test_overrides_follow_the_given_horizon(tmp_path, fx_model):
    path = write(
        tmp_path,
        "s.yaml",
        "horizon: {stop: 2018, step: 0.5}\nlevers:\n  PPP share: {2016: 0.1, 2017: 0.2}\n",
    )
    sc = load_scenario(path, fx_model)
    assert sc.horizon == Horizon(2016, 2018, 0.5, 0.5)
    np.testing.assert_array_equal(
        sc.overrides(fx_model)["PPP share"].time, [2016, 2016.5, 2017, 2017.5, 2018]
    )
    short = sc.overrides(fx_model, Horizon(2016, 2017, 0.25, 0.25))["PPP share"]
    np.testing.assert_array_equal(short.values, [0.1, 0.1, 0.1, 0.1, 0.2])


def test_no_horizon_means_the_models(tmp_path, fx_model):
    sc = load_scenario(write(tmp_path, "s.yaml", "levers: {}\n"), fx_model)
    assert sc.horizon is None and sc.overrides(fx_model) == {}


# --- layering -----------------------------------------------------------------------------
def test_child_overrides_parent_lever_by_lever(tmp_path, fx_model):
    write(
        tmp_path,
        "grand.yaml",
        """\
name: grand
title: {zh: 祖, en: Grand}
horizon: {start: 2016, stop: 2020, step: 0.5}
levers:
  PPP share: 0.1
  Power price discount: 0.05
  Entry threshold: {default: 100, ETDZ: 300}
""",
    )
    write(
        tmp_path,
        "parent.yaml",
        """\
extends: grand
horizon: {stop: 2019}
levers:
  Entry threshold: {Hanyuan: 400}
  Water efficiency rate: {2016: 0.02, 2018: 0.05}
""",
    )
    child = write(
        tmp_path,
        "child.yaml",
        """\
name: child
extends: parent.yaml
levers:
  PPP share: 0.3
""",
    )
    sc = load_scenario(child, fx_model)
    o = sc.overrides(fx_model)
    assert set(o) == {
        "PPP share",
        "Power price discount",
        "Entry threshold",
        "Water efficiency rate",
    }
    assert (o["PPP share"].values == 0.3).all()  # child
    assert (o["Power price discount"].values == 0.05).all()  # grandparent
    # the parent replaced the whole lever: ETDZ and the default go back to the .mdl's 150
    et = o["Entry threshold"].isel(time=0)
    assert float(et.sel(park="Hanyuan")) == 400 and float(et.sel(park="ETDZ")) == 150
    np.testing.assert_array_equal(
        o["Water efficiency rate"].values, [0.02, 0.02, 0.02, 0.02, 0.05, 0.05, 0.05]
    )
    assert sc.horizon == Horizon(2016, 2019, 0.5, 0.5)  # horizon key by key
    assert sc.name == "child" and sc.title_en == "Grand"
    assert [p.name for p in sc.sources] == ["child.yaml", "parent.yaml", "grand.yaml"]
    assert "extends: parent.yaml" in sc.text and "name: grand" in sc.text


def test_sha256_changes_with_a_parent(tmp_path, fx_model):
    write(tmp_path, "p.yaml", "levers: {PPP share: 0.1}\n")
    child = write(tmp_path, "c.yaml", "extends: p\n")
    before = load_scenario(child, fx_model).sha256
    write(tmp_path, "p.yaml", "levers: {PPP share: 0.2}\n")
    assert load_scenario(child, fx_model).sha256 != before


def test_load_by_name_from_the_scenarios_folder(tmp_path, fx_model, monkeypatch):
    monkeypatch.setattr(scenario_layering, "SCENARIOS_DIR", tmp_path)
    write(tmp_path, "mine.yaml", "levers: {PPP share: 0.1}\n")
    write(tmp_path, "plan-goals.yaml", "goals: []\n")
    assert load_scenario("mine", fx_model).name == "mine"
    assert [p.name for p in scenario_files(tmp_path)] == ["mine.yaml"]
    with pytest.raises(ScenarioError, match="available: mine"):
        load_scenario("nope", fx_model)


# --- uncertainty --------------------------------------------------------------------------
UNCERTAIN = """\
uncertain:
  Depreciation rate: {distribution: uniform, low: 0.06, high: 0.1}
  Energy cap growth rate: {distribution: normal, mean: 0.1, sd: 1}
  Output capital ratio:
    default: {distribution: triangular, low: 1, mode: 1.2, high: 2}
    East: {distribution: uniform, low: 0.5, high: 0.6, independent: true}
"""


def test_uncertain_samples_are_in_range_and_reproducible(tmp_path, fx_model):
    sc = load_scenario(write(tmp_path, "u.yaml", UNCERTAIN), fx_model)
    assert set(sc.uncertain) == {
        "Depreciation rate",
        "Energy cap growth rate",
        "Output capital ratio",
    }
    s = sc.uncertain.sample(np.random.default_rng(1), 500)
    dep, cap, ocr = s["Depreciation rate"], s["Energy cap growth rate"], s["Output capital ratio"]
    assert dep.dims == ("sample",) and dep.shape == (500,)
    assert ((dep >= 0.06) & (dep <= 0.1)).all()
    assert ((cap >= -0.05) & (cap <= 0.15)).all()  # sd 1 truncated to the .mdl range
    assert ocr.dims == ("sample", "park")
    west = ocr.sel(park=["Hanyuan", "Shimian", "Lushan", "Tianquan", "Baoxing"]).values
    assert (west == west[:, :1]).all()  # one shared draw for the `default` parks
    east = ocr.sel(park=["ETDZ", "Yucheng", "Chengya", "Yingjing"]).values
    assert ((east >= 0.5) & (east <= 0.6)).all() and not (east == east[:, :1]).all()
    again = sc.uncertain.sample(np.random.default_rng(1), 500)
    for k in s:
        xr.testing.assert_identical(s[k], again[k])


def test_scheduled_lever_cannot_also_be_uncertain(tmp_path, fx_model):
    write(tmp_path, "p.yaml", "levers: {PPP share: {2016: 0.1, 2018: 0.2}}\n")
    path = write(
        tmp_path,
        "c.yaml",
        "extends: p\nuncertain:\n  PPP share: {distribution: uniform, low: 0.1, high: 0.2}\n",
    )
    (problem,) = validate_file(path, fx_model)
    assert problem.line == 3 and "schedule" in problem.message


def test_uncertain_distributions_read_as_written(tmp_path, fx_model, monkeypatch):
    """Each distribution's parameters, its bounds (the .mdl's range, narrowed by a normal's
    low and high) and `independent`; groups before elements, whatever the file's order."""
    monkeypatch.chdir(tmp_path)
    text = """\
uncertain:
  Depreciation rate: {distribution: uniform, low: 0.05, high: 0.1}
  PPP share: {distribution: triangular, low: 0.1, mode: 0.1, high: 0.2, independent: false}
  Enclave transfer share: {distribution: triangular, low: 0.1, mode: 0.2, high: 0.2}
  Energy cap growth rate: {distribution: normal, mean: 0.1, sd: 0.5}
  Water efficiency rate: {distribution: normal, mean: 0.05, sd: 0.01, low: 0.05, high: 0.1}
  Power price discount: {distribution: normal, mean: 0.3, sd: 0.01, low: 0.1}
  Output capital ratio:
    ETDZ: {distribution: uniform, low: 0.5, high: 0.6}
    East: {distribution: uniform, low: 1, high: 2, independent: true}
    default: {distribution: normal, mean: 1, sd: 0.1}
"""
    u = load_scenario(write(tmp_path, "u.yaml", text), fx_model).uncertain.settings
    assert {name: s.base for name, s in u.items() if name != "Output capital ratio"} == {
        "Depreciation rate": Distribution("uniform", {"low": 0.05, "high": 0.1}, 0.02, 0.2),
        "PPP share": Distribution("triangular", {"low": 0.1, "mode": 0.1, "high": 0.2}, 0, 0.6),
        "Enclave transfer share": Distribution(
            "triangular", {"low": 0.1, "mode": 0.2, "high": 0.2}, 0, 0.8
        ),
        "Energy cap growth rate": Distribution("normal", {"mean": 0.1, "sd": 0.5}, -0.05, 0.15),
        "Water efficiency rate": Distribution(
            "normal", {"mean": 0.05, "sd": 0.01, "low": 0.05, "high": 0.1}, 0.05, 0.1
        ),
        "Power price discount": Distribution(
            "normal", {"mean": 0.3, "sd": 0.01, "low": 0.1}, 0.1, 0.3
        ),
    }
    assert [(s.file, s.line, s.parts) for s in u.values()][:-1] == [
        ("u.yaml", line, ()) for line in range(2, 8)
    ]
    assert [name for name, s in u.items() if s.name == name] == list(u)
    ocr = u["Output capital ratio"]
    assert (ocr.name, ocr.file, ocr.line) == ("Output capital ratio", "u.yaml", 8)
    assert ocr.base == Distribution("normal", {"mean": 1, "sd": 0.1}, 0.3, 3)
    east = ("ETDZ", "Yucheng", "Chengya", "Yingjing")
    assert ocr.parts == (
        ("East", "park", east, Distribution("uniform", {"low": 1, "high": 2}, 0.3, 3, True)),
        ("ETDZ", "park", ("ETDZ",), Distribution("uniform", {"low": 0.5, "high": 0.6}, 0.3, 3)),
    )
    # without a default: the parts only
    path = write(
        tmp_path,
        "v.yaml",
        "uncertain:\n  Output capital ratio:\n    South: "
        + ("{distribution: uniform, low: 1, high: 2}\n"),
    )
    ocr = load_scenario(path, fx_model).uncertain.settings["Output capital ratio"]
    assert ocr.base is None and [p[:3] for p in ocr.parts] == [
        ("South", "park", ("Hanyuan", "Shimian"))
    ]


def test_a_constant_without_a_range_is_drawn_without_bounds(fx_model):
    problems = []
    ctx = Ctx(Path("x.yaml"), fx_model, problems)
    free = replace(constants(fx_model)["Depreciation rate"], min=math.nan, max=math.nan)

    def read(text):
        return read_distribution(ctx, Reader("x.yaml", []).parse(text), ("uncertain", "x"), free)

    assert read("{distribution: uniform, low: -5, high: 5}") == Distribution(
        "uniform", {"low": -5, "high": 5}, -math.inf, math.inf
    )
    assert read("{distribution: normal, mean: -5, sd: 1, high: 0}") == Distribution(
        "normal", {"mean": -5, "sd": 1, "high": 0}, -math.inf, 0
    )
    assert problems == []


def test_parks_and_regions_named_in_chinese_in_the_uncertain_block(tmp_path, fx_model):
    """经开区 is ETDZ and 东部 the East region (the model's places): read as those, the
    region before the park."""
    text = (
        "uncertain:\n  Output capital ratio:\n"
        "    经开区: {distribution: uniform, low: 1, high: 2}\n"
        "    东部: {distribution: uniform, low: 0.5, high: 1}\n"
    )
    ocr = load_scenario(write(tmp_path, "u.yaml", text), fx_model).uncertain.settings
    assert [p[:3] for p in ocr["Output capital ratio"].parts] == [
        ("East", "park", ("ETDZ", "Yucheng", "Chengya", "Yingjing")),
        ("ETDZ", "park", ("ETDZ",)),
    ]


def test_a_group_of_one_element_comes_before_the_elements(fx_model):
    """Groups first, then elements: told apart by the name, not only by the size (a group
    `Solo` of ETDZ alone, on a copy of the constant)."""
    c = constants(fx_model)["Output capital ratio"]
    solo = replace(c, ranges={"park": {**c.ranges["park"], "Solo": ("ETDZ",)}})
    ctx = Ctx(Path("x.yaml"), fx_model, [])
    node = Reader("x.yaml", []).parse(
        "ETDZ: {distribution: uniform, low: 1, high: 2}\n"
        "Solo: {distribution: uniform, low: 0.5, high: 1}\n"
    )
    u = read_uncertain(ctx, "Output capital ratio", node, ("uncertain", "x"), solo)
    assert [p[:3] for p in u.parts] == [("Solo", "park", ("ETDZ",)), ("ETDZ", "park", ("ETDZ",))]
    assert ctx.problems == []


def test_the_context_of_the_checks(fx_model):
    """Places given are kept; a problem recorded before any file was read has no refused
    values to skip, and leaves out the expected form and the fix when not given."""
    given = object()
    assert Ctx(Path("x.yaml"), fx_model, [], places=given).places is given
    assert Ctx(Path("x.yaml"), fx_model, []).places is not None  # the model's
    problems = []
    Ctx(Path("x.yaml"), fx_model, problems, file="given.yaml").problem(3, ("a", 1), "bad")
    assert [str(p) for p in problems] == ["given.yaml:3: a/1: bad"]


def test_name_title_description_and_plan_read_as_written(tmp_path, fx_model):
    sc = load_scenario(
        write(
            tmp_path,
            "s.yaml",
            "name: a.b-C_9\ntitle: {zh: 甲, en: A}\ndescription: words\nplan: [一(三), 三(一)3]\n",
        ),
        fx_model,
    )
    assert (sc.name, sc.title, sc.description, sc.plan) == (
        "a.b-C_9",
        {"zh": "甲", "en": "A"},
        "words",
        ("一(三)", "三(一)3"),
    )
    sc = load_scenario(write(tmp_path, "s.yaml", "title: Plan\nplan: 一(三)\n"), fx_model)
    assert (sc.name, sc.title, sc.description, sc.plan) == (
        "s",
        {"en": "Plan", "zh": "Plan"},
        "",
        ("一(三)",),
    )
    sc = load_scenario(write(tmp_path, "s.yaml", "title: {en: A}\nlevers: null\n"), fx_model)
    assert (sc.title, sc.levers) == ({"en": "A"}, {})
    text = "name: null\ntitle: null\ndescription: null\nplan: null\nuncertain: null\n"
    sc = load_scenario(write(tmp_path, "t.yaml", text), fx_model)
    assert (sc.name, sc.title, sc.description, sc.plan) == ("t", {}, "", ())
    assert not sc.uncertain


def test_the_horizon_read_key_by_key(tmp_path, fx_model):
    def horizon(text, name="h.yaml"):
        return load_scenario(write(tmp_path, name, text), fx_model).horizon

    assert horizon("horizon: {step: 0.5, saveper: 0.5}\n") == Horizon(2016, 2020, 0.5, 0.5)
    # no saveper: the model's 0.25 while the step is finer, else the step
    assert horizon("horizon: {step: 0.125}\n") == Horizon(2016, 2020, 0.125, 0.25)
    assert horizon("horizon: {step: 1}\n") == Horizon(2016, 2020, 1, 1)
    assert horizon("horizon: {start: 2017, stop: 2019.5, saveper: 1}\n") == Horizon(
        2017, 2019.5, 0.25, 1
    )
    # 3 / 0.3 is 10.000000000000002 in floating point: a whole number of steps
    assert horizon("horizon: {start: 2017, stop: 2020, step: 0.3}\n") == Horizon(
        2017, 2020, 0.3, 0.3
    )
    assert horizon("horizon: {start: 0, stop: 100000, step: 1}\n") == Horizon(0, 100000, 1, 1)
    assert horizon("horizon: null\n") is None
    # a child without a horizon, or with an empty one, has its parent's
    write(tmp_path, "p.yaml", "horizon: {step: 0.5}\n")
    assert horizon("extends: p\n", "c.yaml") == Horizon(2016, 2020, 0.5, 0.5)
    assert horizon("extends: p\nhorizon: null\n", "c.yaml") == Horizon(2016, 2020, 0.5, 0.5)
    assert horizon("extends: p\nhorizon: {stop: 2018}\n", "c.yaml") == Horizon(2016, 2018, 0.5, 0.5)


# --- CLI ----------------------------------------------------------------------------------
def test_cli_validate_exit_codes(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", "levers: {PPP share: 0.1}\n")
    bad = write(tmp_path, "bad.yaml", "levers: {PPP share: 7, Entry treshold: 100}\n")
    assert main(["validate", "--model", str(FIXTURE_MDL), str(good)]) == 0
    assert main(["validate", "--model", str(FIXTURE_MDL), str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:1: levers/PPP share: 7 is outside the range" in err
    assert "did you mean 'Entry threshold'?" in err and "Traceback" not in err


def test_cli_validate_checks_a_goals_file_as_goals(model, tmp_path, capsys):
    """`yaan-sim validate scenarios/*.yaml` (the README's command) takes in the goals file:
    it is checked as goals, not refused as a scenario with unknown keys."""
    shipped = sorted(str(p) for p in SCENARIOS_DIR.glob("*.yaml"))
    assert any(p.endswith("plan-goals.yaml") for p in shipped)
    assert main(["validate", *shipped]) == 0
    out = capsys.readouterr().out
    assert f"{len(shipped)} of {len(shipped)} files valid" in out
    bad = write(tmp_path, "my-goals.yaml", "goals:\n  - id: x\n    name_en: X\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "my-goals.yaml:2: goal 'x': key 'comparison': missing" in err
    assert "unknown key" not in err and "Traceback" not in err


# --- the shipped scenarios (real fx_model) ---------------------------------------------------
# `model` is the real model (models/yaan_parks.mdl), a session fixture of conftest.py.
def test_the_scenario_set_is_shipped():
    assert {p.stem for p in scenario_files()} >= SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_is_valid_and_cites_the_plan(name, model):
    path = SCENARIOS_DIR / f"{name}.yaml"
    assert validate_file(path, model) == []
    sc = load_scenario(path, model)
    assert sc.name == name and sc.title.get("zh") and sc.title.get("en")
    assert sc.description
    own = {lever: s for lever, s in sc.levers.items() if s.origin == name}
    for lever, setting in own.items():
        assert setting.plan, f"{name}: {lever} has no plan: citation"
    if name != "baseline":
        assert sc.plan and own
    out = sc.overrides(model, Horizon(2016, 2017, 0.25, 0.25))
    registry = lever_registry(model)
    for lever, da in out.items():
        lv = registry[lever]
        assert np.isfinite(da.values).all()
        assert ((da.values >= lv.min) & (da.values <= lv.max)).all()


def test_readme_table_is_current(model):
    readme = (SCENARIOS_DIR / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- lever-table:start -->\n(.*?)\n<!-- lever-table:end -->", readme, re.S)
    assert m, "scenarios/README.md lacks the lever-table markers"
    scenarios = [load_scenario(SCENARIOS_DIR / f"{n}.yaml", model) for n in README_ORDER]
    assert m.group(1).strip() == lever_table(scenarios, model).strip(), (
        "the table in scenarios/README.md is out of date: regenerate it with\n"
        "  yaan-sim levers --format markdown --compare " + " ".join(README_ORDER)
    )


README_ORDER = [
    "baseline",
    "plan",
    "green-low-carbon",
    "land-constrained",
    "innovation-push",
    "enclave-integration",
    "high-investment",
]


def test_readme_example_is_valid(tmp_path, model):
    readme = (SCENARIOS_DIR / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## The format\n\n```yaml\n(.*?)```", readme, re.S).group(1)
    write(tmp_path, "baseline.yaml", "levers: {}\n")
    sc = load_scenario(write(tmp_path, "example.yaml", example), model)
    assert len(sc.levers) == 8 and len(sc.uncertain) == 3
    pf = sc.overrides(model)["Park fund investment"]
    assert float(pf.sel(park="ETDZ", time=2017.0)) == pytest.approx(1.0)


def test_cli_compare_table(tmp_path, capsys):
    write(
        tmp_path, "a.yaml", "levers:\n  PPP share: {value: 0.1}\n  Entry threshold: {ETDZ: 300}\n"
    )
    b = write(
        tmp_path,
        "b.yaml",
        "extends: a\nlevers:\n  PPP share: {2016: 0.1, 2018: 0.2}\n"
        "  Investment attraction rate: {scale: 1.2}\n",
    )
    argv = [
        "levers",
        "--model",
        str(FIXTURE_MDL),
        "--format",
        "markdown",
        "--compare",
        str(tmp_path / "a.yaml"),
        str(b),
    ]
    assert main(argv) == 0
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()}
    assert rows["PPP share"].endswith("| 0.05 | 0.1 | {2016: 0.1, 2018: 0.2} |")
    assert rows["Entry threshold"].endswith("| 150 (all) | ETDZ 300 | = a |")
    assert rows["Investment attraction rate"].endswith("| · | 1.2 × .mdl |")
    assert rows["Water efficiency rate"].endswith("| 0.02 | · | · |")


def test_scenarios_compare_and_pickle(tmp_path, fx_model):
    import pickle

    path = write(tmp_path, "u.yaml", UNCERTAIN + "levers: {PPP share: {2016: 0.1}}\n")
    a, b = load_scenario(path, fx_model), load_scenario(path, fx_model)
    assert a == b and pickle.loads(pickle.dumps(a)) == a


def test_a_scenario_keeps_each_files_text_headed_by_its_name(tmp_path, fx_model):
    write(tmp_path, "p.yaml", "description: from the parent\nlevers: {PPP share: 0.1}\n")
    child = write(tmp_path, "c.yaml", "extends: p\nname: c")  # no newline at the end
    sc = load_scenario(child, fx_model)
    assert sc.text == (
        "# --- c.yaml\nextends: p\nname: c\n# --- p.yaml\n"
        "description: from the parent\nlevers: {PPP share: 0.1}\n"
    )
    assert sc.texts == (
        "extends: p\nname: c",
        "description: from the parent\nlevers: {PPP share: 0.1}\n",
    )
    assert sc.description == "from the parent"  # the child has none: the nearest parent's
    assert [p.name for p in sc.sources] == ["c.yaml", "p.yaml"]


def test_a_reference_is_a_path_when_it_has_a_slash_a_backslash_or_a_yaml_suffix(
    tmp_path, monkeypatch
):
    """Such a reference is taken as written (no `.yaml` added); a bare name gets `.yaml`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("sub/noext", "back\\slash", "short.yml", "plain.yaml", "plain"):
        (tmp_path / name).write_text("levers: {}\n", encoding="utf-8")
    find = scenario_layering.find_scenario
    assert find("sub/noext") == Path("sub/noext")
    assert find("back\\slash") == Path("back\\slash")
    assert find("short.yml") == Path("short.yml")
    assert find("plain") == Path("plain.yaml")
    assert find("sub/plain") is None  # a path, looked for as written only
    # relative to the referring file's folder, else scenarios/: not the working folder
    assert find("plain", base=tmp_path / "sub") is None
    assert find(tmp_path / "plain.yaml") == tmp_path / "plain.yaml"


# --- the parsed values (scenario/types.py) -------------------------------------------------
def test_a_step_schedule_treats_times_within_a_billionth_as_the_year():
    """The tolerance is relative (1e-9 of the time, at least 1e-9): about 2e-6 near 2017."""
    s = Schedule((2016.0, 2017.0), (1.0, 2.0))
    assert s.at([2017 - 1.5e-6, 2017 - 3e-6]).tolist() == [2.0, 1.0]
    near_one = Schedule((0.0, 1.0), (10.0, 20.0))
    assert near_one.at([1 - 1e-9, 1 - 1.5e-9]).tolist() == [20.0, 10.0]
    assert near_one.at([-5.0, 0.0, 0.5, 1.0, 7.0]).tolist() == [10.0, 10.0, 10.0, 20.0, 20.0]


def test_a_schedule_gives_floats_and_describes_itself():
    s = Schedule((2016, 2018), (1, 3))  # whole numbers, as made in code
    assert s.at([2016, 2017]).dtype == np.float64
    assert Schedule((2016, 2018), (1, 3), "linear").at([2017]).tolist() == [2.0]
    assert s.describe() == "{2016: 1, 2018: 3}"
    assert Schedule((2016.5,), (0.125,), "linear").describe() == "{2016.5: 0.125} linear"
    with pytest.raises(ValueError):  # years and values that do not pair up are no schedule
        Schedule((2016.0, 2017.0), (1.0,)).describe()


def test_a_setting_for_an_element_the_lever_lacks_names_it(fx_model):
    lever = lever_registry(fx_model)["Entry threshold"]
    setting = LeverSetting("Entry threshold", None, (("Atlantis", "park", ("Atlantis",), 1.0),))
    with pytest.raises(KeyError) as refused:
        setting.resolve(lever, T)
    assert refused.value.args == ("not all values found in index 'park': ['Atlantis']",)
    assert LeverSetting("Entry threshold", None).describe() == "(.mdl default)"


def test_a_distributions_quantiles_stay_inside_its_bounds():
    """The unit values are kept a trillionth inside (0, 1), so 0 and 1 give finite values
    next to the ends; the quantiles are clipped to the bounds."""
    uniform = Distribution("uniform", {"low": 0.0, "high": 10.0})
    q = uniform.ppf([0.0, 0.25, 1.0])
    assert 0.0 < q[0] < 1e-10 and q[1] == 2.5 and 10.0 - 1e-10 < q[2] < 10.0
    bounded = Distribution("uniform", {"low": 0.0, "high": 10.0}, low=2.0, high=8.0)
    assert bounded.ppf([0.1, 0.5, 0.9]).tolist() == [2.0, 5.0, 8.0]
    normal = Distribution("normal", {"mean": 0.0, "sd": 1.0}, low=-1.0, high=1.0)
    assert normal.ppf(0.5) == 0.0 and -1.0 < normal.ppf(0.0) < -0.999999


def test_distributions_describe_their_parameters():
    assert Distribution("triangular", {"low": 0.0, "mode": 0.5, "high": 2.0}).describe() == (
        "triangular(low=0, mode=0.5, high=2)"
    )
    assert Distribution("normal", {"mean": 1e-06, "sd": 0.25}).describe() == (
        "normal(mean=1e-06, sd=0.25)"
    )


def test_an_uncertainty_is_true_when_it_draws_something():
    assert not Uncertainty({})
    one = UncertainSetting("x", Distribution("uniform", {"low": 0.0, "high": 1.0}))
    assert Uncertainty({"x": one}) and len(Uncertainty({"x": one})) == 1


def _two_dim_lever(fx_model):
    """A lever over parks and industries, made from the fixture's per-park one (the fixture
    has none with two dims)."""
    base = lever_registry(fx_model)["Entry threshold"]
    coords = {"park": ["P1", "P2"], "industry": ["I1", "I2", "I3"]}
    default = xr.DataArray(np.full((2, 3), 7.0), dims=("park", "industry"), coords=coords)
    fields = {**base.__dict__, "default": default, "dims": ("park", "industry")}
    return type(base)(**{**fields, "coords": coords})


def test_a_setting_resolves_each_selection_along_its_own_dim(fx_model):
    lever = _two_dim_lever(fx_model)
    setting = LeverSetting(
        "Entry threshold", 1.0, (("I3", "industry", ("I3",), 3.0), ("P2", "park", ("P2",), 2.0))
    )
    da = setting.resolve(lever, np.array([2016.0, 2017.0]))
    assert da.dims == ("time", "park", "industry")
    for at_time in da.values:  # parts in order: I3 first, then the whole of P2
        assert at_time.tolist() == [[1.0, 1.0, 3.0], [2.0, 2.0, 2.0]]
    assert da.attrs == {
        "units": "wanyuan/mu",
        "long_name": "Entry threshold (investment per mu)",
        "long_name_zh": "入园投资强度门槛",
    }


def test_a_draw_for_some_elements_keeps_the_others_at_the_mdl_value(fx_model):
    lever = constants(fx_model)["Investment attraction rate"]
    dist = Distribution("uniform", {"low": 0.5, "high": 0.6})
    only_etdz = UncertainSetting(
        "Investment attraction rate", None, (("ETDZ", "park", ("ETDZ",), dist),)
    )
    da = only_etdz.sample(lever, np.random.default_rng(0), 3)
    assert da.dims == ("sample", "park") and da["sample"].values.tolist() == [0, 1, 2]
    assert ((da.sel(park="ETDZ") >= 0.5) & (da.sel(park="ETDZ") <= 0.6)).all()
    mdl = [0.08, 0.08, 0.05, 0.05, 0.05, 0.06, 0.06, 0.07]  # the .mdl's value, park by park
    assert da.drop_sel(park="ETDZ").values.tolist() == [mdl] * 3
    assert da.attrs == {
        "units": "1/Year",
        "long_name": "Investment attraction rate",
        "long_name_zh": "招商引资率",
    }
    everywhere = UncertainSetting("Investment attraction rate", dist)
    drawn = everywhere.sample(lever, np.random.default_rng(0), 2).values
    assert ((drawn >= 0.5) & (drawn <= 0.6)).all()
    assert (drawn == drawn[:, :1]).all()  # one draw shared by every park


def test_a_sample_needs_a_generator_and_a_whole_number_of_at_least_one(tmp_path, fx_model):
    sc = load_scenario(
        write(
            tmp_path,
            "u.yaml",
            "uncertain:\n  PPP share: {distribution: uniform, low: 0, high: 0.1}\n",
        ),
        fx_model,
    )
    rng = np.random.default_rng(0)
    assert sc.uncertain.sample(rng, 1)["PPP share"].shape == (1,)
    assert sc.uncertain.sample(rng, np.int64(2))["PPP share"].shape == (2,)
    for n in (0, -1, 1.5, True, "2"):
        with pytest.raises(ScenarioError) as refused:
            sc.uncertain.sample(rng, n)
        assert str(refused.value) == f"sample() needs a whole number of samples >= 1, not {n!r}"
    with pytest.raises(ScenarioError) as refused:
        sc.uncertain.sample(0, 2)
    assert str(refused.value) == (
        "sample() needs a numpy.random.Generator, e.g. numpy.random.default_rng(0)"
    )


def test_overrides_name_every_lever_the_model_lacks(tmp_path, fx_model):
    sc = load_scenario(write(tmp_path, "s.yaml", "name: s\nlevers: {PPP share: 0.1}\n"), fx_model)
    sc.levers["Atlantis rate"] = sc.levers["Mars rate"] = sc.levers["PPP share"]
    with pytest.raises(ScenarioError) as refused:
        sc.overrides(fx_model)
    assert str(refused.value) == (
        "scenario 's' sets levers that levers_fixture.mdl does not have: Atlantis rate, "
        "Mars rate. Validate it against this model (yaan-sim validate --model ...) or fix "
        "the names."
    )
