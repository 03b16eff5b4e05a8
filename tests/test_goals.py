"""The plan's goals file: its arithmetic, its fidelity to the plan, and its validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.goals_text import ONE_GOAL, PLAN_GOAL_IDS
from yaan_sim.outputs.goals import GoalsError, goals_from_dict, load_goals
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario.places import Places

# the parks and regions as the model defines them (not restated in the package)
_PLACES = Places.from_mdl(DEFAULT_MODEL)
PARKS = _PLACES.parks
REGION_OF_PARK = _PLACES.region_of

# the plan's text, kept in the repository so that these checks always run
PLAN = Path(__file__).resolve().parent / "data" / "plan" / "yaan-park-plan-2017.txt"


@pytest.fixture  # per test (17 ms): a module-scoped one is credited by mutmut's coverage
def goals():  # to the first test only, so mutants of load_goals would skip the others
    return load_goals()


def test_every_goal_of_section_1_3_is_encoded(goals):
    assert goals.ids == PLAN_GOAL_IDS
    assert all(g.year == 2020 for g in goals)
    assert all(g.note and g.note_zh for g in goals)
    assert all(g.section.startswith("一(三)") for g in goals)
    pollutants = {g.metric.select["pollutant"] for g in goals if g.metric.select}
    assert pollutants == {"COD", "NH3N", "SO2", "NOx"}
    assert goals["rd_share"].target == 1.2 and goals["rd_share"].comparison == ">="
    assert goals["rd_share"].metric.describe() == "100 * sum(research_spending) / sum(revenue)"
    assert goals["energy_per_output"].is_trend and goals["water_per_output"].is_trend
    assert all(
        # the year before the plan period: history, the same level for every scenario
        goals[f"{p}_controlled"].uses_baseline and goals[f"{p}_controlled"].baseline_year == 2015
        for p in ("cod", "nh3n", "so2", "nox")
    )


def test_park_targets_add_up_to_the_city_target(goals):
    city = goals["revenue_city"]
    park = goals["revenue_park"]
    assert city.target == 2000
    assert set(park.target) == set(PARKS)
    assert sum(park.target.values()) == city.target
    assert park.target == {
        "ETDZ": 1000,
        "Hanyuan": 200,
        "Shimian": 200,
        "Lushan": 100,
        "Tianquan": 100,
        "Baoxing": 100,
        "Yingjing": 100,
        "Yucheng": 100,
        "Chengya": 100,
    }
    # the city's target recomputed from the parks, through the same code evaluate uses
    assert park.fixed_target("city", "Ya'an", list(PARKS)) == city.target


def test_region_targets_are_sums_of_their_parks(goals):
    park = goals["revenue_park"]
    regions = {}
    for p, r in REGION_OF_PARK.items():
        regions.setdefault(r, []).append(p)
    got = {r: park.fixed_target("region", r, ps) for r, ps in regions.items()}
    assert got == {"East": 1300, "South": 400, "Northwest": 300}
    assert sum(got.values()) == 2000


def test_each_goal_quotes_the_plan_verbatim(goals):
    plan = re.sub(r"\s+", "", PLAN.read_text(encoding="utf-8"))
    for g in goals:
        assert re.sub(r"\s+", "", g.text_zh) in plan, g.id


def test_goal_lookup_suggests_the_closest_id(goals):
    with pytest.raises(KeyError, match="did you mean 'revenue_city'"):
        goals["revenue_cty"]


def _write(tmp_path, text):
    p = tmp_path / "goals.yaml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD = ONE_GOAL


def test_a_minimal_file_loads(tmp_path):
    goals = load_goals(_write(tmp_path, GOOD))
    assert goals.ids == ["g1"] and goals["g1"].target == 2000.0
    assert goals["g1"].scopes == ("city",) and goals["g1"].note_zh == ""
    assert goals["g1"].note == "" and goals["g1"].baseline_year is None


def test_also_scopes_are_read_and_checked(tmp_path):
    goals = load_goals(_write(tmp_path, GOOD + "    also_scopes: [region, park]\n"))
    assert goals["g1"].scopes == ("city", "region", "park")
    for bad, why in (
        ("[region, town]", "also_scopes"),
        ("region", "also_scopes"),
        ("[city]", "repeats a scope (the binding scope is given by 'scope')"),
    ):
        with pytest.raises(GoalsError, match=re.escape(why)):
            load_goals(_write(tmp_path, GOOD + f"    also_scopes: {bad}\n"))


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        (
            "target: 2000",
            "tagret: 2000",
            r"goals.yaml:2: goal 'g1': key 'tagret': unknown key \(did you mean 'target'\?\)",
        ),
        ("    scope: city\n", "", r"goal 'g1': key 'scope': missing"),
        (
            'comparison: ">="',
            'comparison: "=>"',
            r"goal 'g1': key 'comparison': '=>' is not one of",
        ),
        (
            "target: 2000",
            "target: {ETDZ: 1000, Hanyun: 200}",
            r"key 'target': unknown park 'Hanyuan'"
            r"|key 'target': unknown park 'Hanyun' \(did you mean 'Hanyuan'\?\)",
        ),
        ("target: 2000", "target: lots", r"key 'target': 'lots' must be a number"),
        (
            "{variable: revenue, aggregate: sum}",
            "{variable: revenue, aggregate: total}",
            r"key 'metric': aggregate 'total' is not one of sum, ratio_of_sums",
        ),
        (
            "{variable: revenue, aggregate: sum}",
            "{numerator: revenue, aggregate: ratio_of_sums}",
            r"key 'metric': 'denominator' must name a results variable",
        ),
        ("year: 2020", "year: twenty", r"key 'year': 'twenty' is not a year"),
        ("scope: city", "scope: county", r"key 'scope': 'county' is not one of city, region, park"),
    ],
)
def test_invalid_goals_name_file_line_goal_and_key(tmp_path, old, new, pattern):
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(GoalsError, match=pattern) as info:
        load_goals(path)
    assert str(path) in str(info.value)


def test_all_problems_are_reported_at_once(tmp_path):
    item = GOOD.split("goals:\n", 1)[1]
    text = GOOD + item.replace('comparison: ">="', "comparison: falling_every_year")
    with pytest.raises(GoalsError) as info:
        load_goals(_write(tmp_path, text))
    msgs = info.value.problems
    assert any("duplicate id" in m for m in msgs)
    assert any("takes no target" in m for m in msgs)
    assert any("baseline_year" in m for m in msgs)
    assert "problem(s) in the goals file" in str(info.value)


def test_baseline_target_needs_a_baseline_year(tmp_path):
    path = _write(tmp_path, GOOD.replace('">="', '"<="').replace("2000\n", "baseline\n", 1))
    with pytest.raises(GoalsError, match="key 'baseline_year': missing"):
        load_goals(path)


def test_park_map_target_needs_park_scope_and_a_sum(tmp_path):
    text = GOOD.replace("target: 2000", "target: {ETDZ: 1000}")
    with pytest.raises(GoalsError, match="needs scope 'park'"):
        load_goals(_write(tmp_path, text))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(GoalsError, match=r"cannot read the goals file .*nothing.yaml"):
        load_goals(tmp_path / "nothing.yaml")
    with pytest.raises(GoalsError, match="not valid YAML"):
        load_goals(_write(tmp_path, "goals: [\n"))
    with pytest.raises(GoalsError, match="'goals:' list at the top level"):
        load_goals(_write(tmp_path, "- 1\n"))
    with pytest.raises(GoalsError, match="'goals:' list is empty"):
        goals_from_dict({"goals": []})


def test_a_goals_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    bad = tmp_path / "goals.yaml"
    bad.write_bytes(b"\xff\xfegoals: []\n")
    with pytest.raises(GoalsError, match="not UTF-8"):
        load_goals(bad)
