"""Property tests: whatever the bytes, the loader returns a Scenario or raises ScenarioError.

Random bytes, random text and random YAML documents (built from the words a scenario
uses, so the checks deep inside are reached) go through ``load_scenario``; anything but
a Scenario or a ScenarioError is a bug. Valid random scenarios must load and resolve
exactly to what they say.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yaan_sim.errors import ScenarioError
from yaan_sim.model.levers import lever_registry
from yaan_sim.model.load import load_model
from yaan_sim.scenario import Scenario, load_scenario

FIXTURE_MDL = Path(__file__).parent / "data" / "levers_fixture.mdl"
MODEL = load_model(FIXTURE_MDL)
LEVERS = lever_registry(MODEL)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    *LEVERS,
    "Depreciation rate",
    "ppp_share",
    "default",
    "schedule",
    "interpolation",
    "step",
    "linear",
    "value",
    "plan",
    "note",
    "ETDZ",
    "East",
    "Hanyuan",
    "TeBi",
    "levers",
    "uncertain",
    "horizon",
    "start",
    "stop",
    "step",
    "saveper",
    "extends",
    "name",
    "title",
    "zh",
    "en",
    "distribution",
    "uniform",
    "normal",
    "triangular",
    "low",
    "high",
    "mode",
    "mean",
    "sd",
    "independent",
    "baseline",
    "plan",
    "scale",
    "units",
    "a" * 300,
    "../x.yaml",
]
numbers = st.one_of(
    st.integers(2010, 2030),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.1, 0.5, 150, 2016, 2018.5, 2020, -1, 1e9]),
)
scalars = st.one_of(numbers, st.booleans(), st.none(), st.sampled_from(WORDS), st.text(max_size=8))
keys = st.one_of(st.sampled_from(WORDS), st.integers(2014, 2022), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
documents = st.one_of(
    values,
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "title",
                "horizon",
                "levers",
                "uncertain",
                "plan",
                "description",
                "extends",
                "note",
            ]
        ),
        values,
        max_size=6,
    ),
    st.fixed_dictionaries({"levers": st.dictionaries(st.sampled_from(WORDS), values, max_size=6)}),
)


def outcome(data: bytes):
    """Load ``data`` as a scenario file: a Scenario or a ScenarioError, else the test fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            sc = load_scenario(path, MODEL)
        except ScenarioError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)
            return exc
        assert isinstance(sc, Scenario)
        for da in sc.overrides(MODEL).values():  # a valid scenario must also resolve
            assert np.isfinite(da.values).all()
        if sc.uncertain:
            sc.uncertain.sample(np.random.default_rng(0), 3)
        return sc


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    outcome(data)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text):
    outcome(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(documents)
def test_random_yaml_documents(doc):
    outcome(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))


@FUZZ
@given(documents, st.sampled_from(["flow", "block"]))
def test_random_yaml_mutated(
    doc,
    style,
):
    # cut the dump at a random-ish point: broken YAML must still give a ScenarioError
    text = yaml.safe_dump(doc, allow_unicode=True, default_flow_style=style == "flow")
    outcome(text[: max(1, len(text) * 2 // 3)].encode("utf-8"))


def in_range(lever):
    lo = 0.0 if math.isnan(lever.min) else lever.min
    hi = lo + 1 if math.isnan(lever.max) else lever.max
    return st.floats(lo, hi, allow_nan=False)


@st.composite
def valid_scenarios(draw):
    names = draw(st.lists(st.sampled_from(sorted(LEVERS)), unique=True, max_size=5))
    levers, expected = {}, {}
    for name in names:
        lever = LEVERS[name]
        if draw(st.booleans()):
            v = draw(in_range(lever))
            levers[name], expected[name] = v, v
        else:
            years = sorted(
                draw(
                    st.lists(
                        st.sampled_from([2016, 2016.5, 2017, 2018, 2019.75, 2020]),
                        min_size=1,
                        max_size=4,
                        unique=True,
                    )
                )
            )
            vals = [draw(in_range(lever)) for _ in years]
            levers[name] = {
                "schedule": dict(zip(years, vals, strict=True)),
                "interpolation": draw(st.sampled_from(["step", "linear"])),
            }
            expected[name] = None
    return {"levers": levers}, expected


@settings(max_examples=40, deadline=None)
@given(valid_scenarios())
def test_valid_random_scenarios_resolve_exactly(case):
    doc, expected = case
    sc = outcome(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))
    assert isinstance(sc, Scenario), str(sc)
    out = sc.overrides(MODEL)
    assert set(out) == set(expected)
    for name, value in expected.items():
        lever, da = LEVERS[name], out[name]
        assert da.dims == ("time", *lever.dims)
        assert ((da.values >= lever.min) & (da.values <= lever.max)).all()
        if value is not None:
            assert (da.values == value).all()
        else:
            sched = doc["levers"][name]["schedule"]
            first_year = min(sched)
            assert (da.sel(time=first_year).values == sched[first_year]).all()


@pytest.mark.parametrize(
    "text",
    [
        "levers: {PPP share: &x 0.1}\nuncertain: *x\n",
        "a: &a [*a]\n",
        "? &k [1]\n: *k\n",
        "!!binary AAAA\n",
        "levers: !!set {a, b}\n",
        "levers: {2016-01-01: 1}\n",
    ],
)
def test_odd_yaml_is_a_scenario_error(text):
    assert isinstance(outcome(text.encode()), ScenarioError)
