"""A battery of broken goals files: each gives its own problems, word for word.

Each case edits one valid goal and lists every problem it must give, in order, as the
user reads it: the file, the line, the goal, the key, what is wrong and how to fix it.
The messages are written out in full (not key phrases) so that a reworded, truncated or
misplaced message fails; they are the goals file's documented interface.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.goals_text import ONE_GOAL
from yaan_sim.outputs.generic_goals import MODEL_SCOPE
from yaan_sim.outputs.goals import (
    DEFAULT_GOALS,
    GoalsError,
    GoalSet,
    Metric,
    goals_from_dict,
    load_goals,
    profile_goals,
    scope_label,
)
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario.places import Places

GOOD = ONE_GOAL
METRIC = "{variable: revenue, aggregate: sum}"
# the keys a goal of the plan's form takes, and a metric's, as the file format documents them
GOAL_KEYS = (
    "id, name_en, name_zh, section, note, note_zh, text_zh, metric, comparison, target, "
    "baseline_year, year, unit, scope, also_scopes"
)
METRIC_KEYS = "variable, numerator, denominator, aggregate, scale, select"
PARKS = "ETDZ, Hanyuan, Shimian, Lushan, Tianquan, Baoxing, Yingjing, Yucheng, Chengya"
ID_RULE = "must be a name of letters, digits and '_' starting with a letter"
G = "{f}:2: goal 'g1': key "  # where every problem of the one goal of GOOD is

# (id, [(old, new), ...] edits of GOOD, [every problem, in order]); {f} is the file
CASES = [
    (
        "unknown-key",
        [("target: 2000", "tagret: 2000")],
        [
            G + f"'tagret': unknown key (did you mean 'target'?); allowed: {GOAL_KEYS}",
            G + "'target': missing: give a number, a {park: number} map, or 'baseline'",
        ],
    ),
    (
        "unknown-key-no-hint",
        [("scope: city", "scope: city\n    zzz: 1")],
        [G + f"'zzz': unknown key; allowed: {GOAL_KEYS}"],
    ),
    (
        "variable-and-metric",  # 'variable:' alone is the generic form; beside 'metric:' a typo
        [("scope: city", "scope: city\n    variable: revenue")],
        [G + f"'variable': unknown key; allowed: {GOAL_KEYS}"],
    ),
    (
        "metric-missing",
        [(f"    metric: {METRIC}\n", "")],
        [G + "'metric': missing: give 'metric:' (the plan's form) or 'variable:' (any model)"],
    ),
    ("scope-missing", [("    scope: city\n", "")], [G + "'scope': missing"]),
    (
        "required-missing",
        [("    section: 一(三)\n", ""), ("    unit: yiyuan/Year\n", "")],
        [G + "'section': missing", G + "'unit': missing"],
    ),
    (
        "blank-name",
        [("name_en: City revenue", "name_en: '  '")],
        [G + "'name_en': must be non-empty text"],
    ),
    (
        "note-not-text",
        [("scope: city", "scope: city\n    note: 5")],
        [G + "'note': must be non-empty text"],
    ),
    (
        "note_zh-empty",
        [("scope: city", "scope: city\n    note_zh: ''")],
        [G + "'note_zh': must be non-empty text"],
    ),
    (
        "blank-texts",
        [
            ("name_zh: 全市营业收入", "name_zh: ''"),
            ("section: 一(三)", "section: ' '"),
            ("text_zh: 营业收入力争达到2000亿元", "text_zh: ''"),
            ("unit: yiyuan/Year", "unit: 3"),
        ],
        [
            G + "'name_zh': must be non-empty text",
            G + "'section': must be non-empty text",
            G + "'text_zh': must be non-empty text",
            G + "'unit': must be non-empty text",
        ],
    ),
    (
        "comparison",
        [('">="', '"=>"')],
        [
            G + "'comparison': '=>' is not one of '>=', '<=', 'falling_every_year' "
            "(did you mean '>='?)"
        ],
    ),
    (
        "year-text",
        [("year: 2020", "year: twenty")],
        [G + "'year': 'twenty' is not a year (an integer such as 2020)"],
    ),
    (
        "year-before-2000",
        [("year: 2020", "year: 1999")],
        [G + "'year': 1999 is not a year (an integer such as 2020)"],
    ),
    (
        "year-after-2100",
        [("year: 2020", "year: 2101")],
        [G + "'year': 2101 is not a year (an integer such as 2020)"],
    ),
    (
        "year-boolean",
        [("year: 2020", "year: true")],
        [G + "'year': True is not a year (an integer such as 2020)"],
    ),
    (
        "baseline-year-text",
        [("year: 2020", "year: 2020\n    baseline_year: x")],
        [G + "'baseline_year': 'x' is not a year (an integer such as 2016)"],
    ),
    (
        "baseline-year-boolean",
        [("year: 2020", "year: 2020\n    baseline_year: false")],
        [G + "'baseline_year': False is not a year (an integer such as 2016)"],
    ),
    (
        "baseline-year-not-before",
        [("year: 2020", "year: 2020\n    baseline_year: 2020")],
        [G + "'baseline_year': 2020 must be before the goal year 2020"],
    ),
    (
        "scope",
        [("scope: city", "scope: county")],
        [G + "'scope': 'county' is not one of city, region, park (did you mean 'city'?)"],
    ),
    (
        "scope-no-hint",
        [("scope: city", "scope: zz")],
        [G + "'scope': 'zz' is not one of city, region, park"],
    ),
    (
        "also-scopes-unknown",
        [("scope: city", "scope: city\n    also_scopes: [region, town]")],
        [G + "'also_scopes': ['region', 'town'] must be a list drawn from city, region, park"],
    ),
    (
        "also-scopes-not-a-list",
        [("scope: city", "scope: city\n    also_scopes: region")],
        [G + "'also_scopes': 'region' must be a list drawn from city, region, park"],
    ),
    (
        "also-scopes-binding",
        [("scope: city", "scope: city\n    also_scopes: [city]")],
        [G + "'also_scopes': repeats a scope (the binding scope is given by 'scope')"],
    ),
    (
        "also-scopes-twice",
        [("scope: city", "scope: city\n    also_scopes: [park, park]")],
        [G + "'also_scopes': repeats a scope (the binding scope is given by 'scope')"],
    ),
    (
        "also-scopes-bad-with-park-target",  # the bad list is dropped, not read as scopes
        [
            ("scope: city", "scope: park\n    also_scopes: region"),
            ("target: 2000", "target: {ETDZ: 1000}"),
        ],
        [G + "'also_scopes': 'region' must be a list drawn from city, region, park"],
    ),
    (
        "metric-not-a-mapping",
        [(METRIC, "revenue")],
        [G + "'metric': must be a mapping such as {variable: revenue, aggregate: sum}"],
    ),
    (
        "metric-unknown-key",
        [(METRIC, "{variable: revenue, aggregate: sum, scal: 2}")],
        [G + f"'metric': unknown key 'scal' (did you mean 'scale'?); allowed: {METRIC_KEYS}"],
    ),
    (
        "metric-unknown-key-no-hint",
        [(METRIC, "{variable: revenue, aggregate: sum, zz: 2}")],
        [G + f"'metric': unknown key 'zz'; allowed: {METRIC_KEYS}"],
    ),
    (
        "aggregate",
        [(METRIC, "{variable: revenue, aggregate: total}")],
        [G + "'metric': aggregate 'total' is not one of sum, ratio_of_sums"],
    ),
    (
        "aggregate-hint",
        [(METRIC, "{variable: revenue, aggregate: sums}")],
        [G + "'metric': aggregate 'sums' is not one of sum, ratio_of_sums (did you mean 'sum'?)"],
    ),
    (
        "aggregate-a-list",
        [(METRIC, "{variable: revenue, aggregate: [sum]}")],
        [G + "'metric': aggregate ['sum'] is not one of sum, ratio_of_sums (did you mean 'sum'?)"],
    ),
    (
        "aggregate-missing",
        [(METRIC, "{variable: revenue}")],
        [G + "'metric': aggregate None is not one of sum, ratio_of_sums"],
    ),
    (
        "variable-missing",
        [(METRIC, "{aggregate: sum}")],
        [G + "'metric': 'variable' must name a results variable, e.g. revenue (got None)"],
    ),
    (
        "variable-not-a-name",
        [(METRIC, "{variable: 'a b', aggregate: sum}")],
        [G + "'metric': 'variable' must name a results variable, e.g. revenue (got 'a b')"],
    ),
    (
        "ratio-denominator",
        [(METRIC, "{numerator: revenue, aggregate: ratio_of_sums}")],
        [G + "'metric': 'denominator' must name a results variable, e.g. revenue (got None)"],
    ),
    (
        "ratio-numerator",
        [(METRIC, "{denominator: revenue, aggregate: ratio_of_sums}")],
        [G + "'metric': 'numerator' must name a results variable, e.g. revenue (got None)"],
    ),
    (
        "sum-with-ratio-keys",
        [(METRIC, "{variable: revenue, numerator: a, denominator: b, aggregate: sum}")],
        [
            G + "'metric': 'numerator' does not apply to aggregate 'sum'",
            G + "'metric': 'denominator' does not apply to aggregate 'sum'",
        ],
    ),
    (
        "ratio-with-variable",
        [(METRIC, "{variable: v, numerator: a, denominator: b, aggregate: ratio_of_sums}")],
        [G + "'metric': 'variable' does not apply to aggregate 'ratio_of_sums'"],
    ),
    (
        "scale-zero",
        [(METRIC, "{variable: revenue, aggregate: sum, scale: 0}")],
        [G + "'metric': scale 0 must be a positive number"],
    ),
    (
        "scale-text",
        [(METRIC, "{variable: revenue, aggregate: sum, scale: big}")],
        [G + "'metric': scale 'big' must be a positive number"],
    ),
    (
        "select-not-text",
        [(METRIC, "{variable: revenue, aggregate: sum, select: {a: 1}}")],
        [G + "'metric': select {'a': 1} must map a dim to one label, e.g. {pollutant: COD}"],
    ),
    (
        "select-list",
        [(METRIC, "{variable: revenue, aggregate: sum, select: [a]}")],
        [G + "'metric': select ['a'] must map a dim to one label, e.g. {pollutant: COD}"],
    ),
    (
        "trend-with-target",
        [('">="', "falling_every_year")],
        [
            G + "'target': a 'falling_every_year' goal takes no target (it compares each "
            "year with the year before); remove the key",
            G + "'baseline_year': missing: the first year the fall is counted from (e.g. 2016)",
        ],
    ),
    (
        "target-missing",
        [("    target: 2000\n", "")],
        [G + "'target': missing: give a number, a {park: number} map, or 'baseline'"],
    ),
    (
        "baseline-target-without-year",
        [("target: 2000", "target: baseline")],
        [
            G + "'baseline_year': missing: 'target: baseline' needs the year whose value "
            "is the target (e.g. 2016)"
        ],
    ),
    (
        "target-text",
        [("target: 2000", "target: lots")],
        [G + "'target': 'lots' must be a number, a {park: number} map, or 'baseline'"],
    ),
    (
        "target-boolean",
        [("target: 2000", "target: true")],
        [G + "'target': True must be a number, a {park: number} map, or 'baseline'"],
    ),
    (
        "target-infinite",
        [("target: 2000", "target: .inf")],
        [G + "'target': inf must be a number, a {park: number} map, or 'baseline'"],
    ),
    (
        "park-target-city-scope",
        [("target: 2000", "target: {ETDZ: 1000}")],
        [G + "'target': a {park: number} target needs scope 'park'"],
    ),
    (
        "park-target-summed-ratio",
        [
            (METRIC, "{numerator: a, denominator: b, aggregate: ratio_of_sums}"),
            ("target: 2000", "target: {ETDZ: 1000}"),
            ("scope: city", "scope: park\n    also_scopes: [region]"),
        ],
        [
            G + "'also_scopes': a {park: number} target can be summed to regions or the city "
            "only for 'aggregate: sum' metrics"
        ],
    ),
    (
        "park-target-unknown",
        [("target: 2000", "target: {Hanyun: 200}"), ("scope: city", "scope: park")],
        [G + f"'target': unknown park 'Hanyun' (did you mean 'Hanyuan'?); parks: {PARKS}"],
    ),
    (
        "park-target-unknown-no-hint",
        [("target: 2000", "target: {Zz: 200}"), ("scope: city", "scope: park")],
        [G + f"'target': unknown park 'Zz'; parks: {PARKS}"],
    ),
    (
        "park-target-a-region",  # a region is not a park, even where the model knows it
        [("target: 2000", "target: {East: 200}"), ("scope: city", "scope: park")],
        [G + f"'target': unknown park 'East' (did you mean 'ETDZ'?); parks: {PARKS}"],
    ),
    (
        "park-target-near-a-region",  # suggestions are parks only
        [("target: 2000", "target: {Eastt: 200}"), ("scope: city", "scope: park")],
        [G + f"'target': unknown park 'Eastt'; parks: {PARKS}"],
    ),
    (
        "park-target-twice",
        [("target: 2000", "target: {Hanyuan: 200, 汉源: 300}"), ("scope: city", "scope: park")],
        [G + "'target': '汉源' and 'Hanyuan' both name the park Hanyuan"],
    ),
    (
        "park-target-zero",
        [("target: 2000", "target: {ETDZ: 0}"), ("scope: city", "scope: park")],
        [G + "'target': ETDZ: 0 must be a positive number"],
    ),
    (
        "park-target-text",
        [("target: 2000", "target: {ETDZ: x}"), ("scope: city", "scope: park")],
        [G + "'target': ETDZ: 'x' must be a positive number"],
    ),
    (
        "id-not-a-name",
        [("id: g1", "id: 1g")],
        ["{f}:2: goal '1g': key 'id': " + ID_RULE],
    ),
    (
        "id-a-number",
        [("id: g1", "id: 5")],
        ["{f}:2: goal 5: key 'id': " + ID_RULE],
    ),
    (
        "id-missing",
        [("  - id: g1\n    name_en", "  - name_en")],
        ["{f}:2: goal #1: key 'id': missing"],
    ),
    (
        "goal-not-a-mapping",
        [("goals:\n", "goals:\n  - 5\n")],
        ["{f}:2: goal #1: is not a mapping (write 'id: ...', 'metric: ...')"],
    ),
    (
        "top-level-key",
        [("goals:\n", "title: x\ngoals:\n")],
        ["{f}:1: (top level): unknown top-level key 'title'; allowed: goals, source"],
    ),
]


def _write(tmp_path: Path, text: str, name: str = "goals.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case_id, edits, expected", CASES, ids=[c[0] for c in CASES])
def test_broken_goal_gives_its_problems_word_for_word(tmp_path, case_id, edits, expected):
    text = GOOD
    for old, new in edits:
        assert old in text, f"{case_id}: the edit {old!r} does not apply"
        text = text.replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(GoalsError) as info:
        load_goals(path)
    want = [e.replace("{f}", str(path)) for e in expected]
    assert info.value.problems == want
    assert [str(p) for p in info.value.details] == want
    assert all(isinstance(p.path, str) for p in info.value.details)  # text, "" at the top
    # one problem is the whole message; several are counted and listed under a heading
    head = f"{len(want)} problem(s) in the goals file {path}:\n  " if len(want) > 1 else ""
    assert str(info.value) == head + "\n  ".join(want)


def test_goals_at_the_edges_of_what_is_allowed_load(tmp_path):
    # the first and last years allowed, a baseline the year before the goal, a small scale
    for year, base in ((2000, None), (2100, 2099)):
        text = GOOD.replace("year: 2020", f"year: {year}")
        if base is not None:
            text = text.replace("target: 2000", f"target: baseline\n    baseline_year: {base}")
        goal = load_goals(_write(tmp_path, text))["g1"]
        assert (goal.year, goal.baseline_year) == (year, base)
    text = GOOD.replace(
        METRIC, "{numerator: a, denominator: b, aggregate: ratio_of_sums, scale: 0.5}"
    )
    goal = load_goals(_write(tmp_path, text))["g1"]
    assert goal.metric == Metric("ratio_of_sums", None, "a", "b", 0.5, {})
    assert goal.metric.variables == ("a", "b")
    assert goal.metric.describe() == "0.5 * sum(a) / sum(b)"


def test_a_full_goal_keeps_every_key(tmp_path):
    text = GOOD.replace(METRIC, "{variable: emission, aggregate: sum, select: {pollutant: COD}}")
    text = text.replace(
        "text_zh: 营业收入力争达到2000亿元", "text_zh: |\n      营业收入\n      力争  达到"
    )
    text = text.replace('">="', '"<="').replace("target: 2000", "target: baseline")
    text += "    baseline_year: 2016\n    note: read so\n    note_zh: 如此\n"
    text += "source: the plan\n"
    goals = load_goals(_write(tmp_path, text))
    g = goals["g1"]
    assert (g.id, g.name_en, g.name_zh, g.section, g.unit) == (
        "g1",
        "City revenue",
        "全市营业收入",
        "一(三)",
        "yiyuan/Year",
    )
    assert g.text_zh == "营业收入 力争 达到"  # runs of blanks and line breaks become one space
    assert (g.comparison, g.target, g.baseline_year, g.scope) == ("<=", "baseline", 2016, "city")
    assert (g.note, g.note_zh, g.reading(), g.reading("zh")) == (
        "read so",
        "如此",
        "read so",
        "如此",
    )
    assert (g.name(), g.name("zh")) == ("City revenue", "全市营业收入")
    assert g.metric.select == {"pollutant": "COD"} and g.metric.variables == ("emission",)
    assert g.metric.describe() == "sum(emission[pollutant=COD])"
    assert (g.uses_baseline, g.is_trend, g.is_generic) == (True, False, False)
    assert g.fixed_target("city", "Ya'an") is None
    assert goals.source == "the plan" and goals.path == tmp_path / "goals.yaml"
    assert goals.places.parks == Places.from_mdl(DEFAULT_MODEL).parks


def test_a_note_only_in_english_is_read_in_english_for_chinese_too(tmp_path):
    g = load_goals(_write(tmp_path, GOOD + "    note: read so\n"))["g1"]
    assert (g.note_zh, g.reading("zh"), g.reading("en")) == ("", "read so", "read so")


def test_a_trend_goal_loads(tmp_path):
    text = GOOD.replace('">="', "falling_every_year").replace("target: 2000", "baseline_year: 2016")
    g = load_goals(_write(tmp_path, text))["g1"]
    assert (g.is_trend, g.target, g.baseline_year) == (True, None, 2016)
    assert g.fixed_target("city", "Ya'an") is None


def test_park_targets_by_chinese_name_and_their_sums(tmp_path):
    text = GOOD.replace("target: 2000", "target: {经开区: 1000, 汉源: 200}")
    text = text.replace("scope: city", "scope: park\n    also_scopes: [region, city]")
    g = load_goals(_write(tmp_path, text))["g1"]
    assert g.target == {"ETDZ": 1000.0, "Hanyuan": 200.0}
    assert g.scopes == ("park", "region", "city")
    assert g.fixed_target("park", "Hanyuan") == 200.0
    assert g.fixed_target("park", "Shimian") is None  # no target for that park
    assert g.fixed_target("region", "r", ["ETDZ", "Hanyuan"]) == 1200.0
    assert g.fixed_target("region", "r", ["ETDZ", "Shimian"]) is None  # a park without one
    assert g.fixed_target("city", "Ya'an", []) is None  # no parks: nothing to sum


def test_the_ids_must_differ_and_each_goal_is_named_by_its_own(tmp_path):
    item = GOOD.split("goals:\n", 1)[1]
    second = item.replace("target: 2000", "target: lots")
    path = _write(tmp_path, GOOD + second)
    with pytest.raises(GoalsError) as info:
        load_goals(path)
    assert info.value.problems == [
        f"{path}:13: goal 'g1': key 'id': duplicate id; every goal needs its own",
        f"{path}:13: goal 'g1': key 'target': 'lots' must be a number, a {{park: number}} map, "
        "or 'baseline'",
    ]
    third = item.replace("id: g1", "id: g3")
    goals = load_goals(_write(tmp_path, GOOD + third.replace("id: g3", "id: g2") + third))
    assert goals.ids == ["g1", "g2", "g3"] and len(goals) == 3
    assert [g.id for g in goals] == goals.ids and goals[1].id == "g2" and goals[-1].id == "g3"
    assert repr(goals) == f"GoalSet(['g1', 'g2', 'g3'], path='{tmp_path / 'goals.yaml'}')"
    with pytest.raises(KeyError, match=r"^\"no goal 'gg2' \(did you mean 'g2'\?\)\"$"):
        goals["gg2"]
    with pytest.raises(KeyError, match=r"^\"no goal 'zzzz'\"$"):
        goals["zzzz"]


def test_files_that_are_not_goals_files(tmp_path):
    missing = tmp_path / "nothing.yaml"
    with pytest.raises(GoalsError) as info:
        load_goals(missing)
    assert str(info.value) == (
        f"cannot read the goals file {missing}: cannot read the file: No such file or "
        f"directory. The plan's goals ship as {DEFAULT_GOALS}."
    )
    assert info.value.problems == [
        f"{missing}: (top level): cannot read the file: No such file or directory "
        "(expected: a readable goals file). Fix: check the path and permissions"
    ]
    empty = _write(tmp_path, "# nothing\n", "empty.yaml")
    with pytest.raises(GoalsError) as info:
        load_goals(empty)
    assert str(info.value) == f"{empty}: the file is empty (no YAML document)"
    assert info.value.problems == [
        f"{empty}:1: (top level): the file is empty (no YAML document) (expected: a goals "
        "file: a mapping of keys). Fix: write `goals:` and a list of goals"
    ]
    broken = _write(tmp_path, "goals: [\n", "broken.yaml")
    with pytest.raises(GoalsError) as info:
        load_goals(broken)
    (problem,) = info.value.problems  # the reader stops at the first YAML error
    assert str(info.value) == f"{broken}: not valid YAML: {problem}"
    assert problem.startswith(f"{broken}:2: (top level): invalid YAML: ")
    for text in ("- 1\n", "goals: 5\n", "source: x\n"):
        path = _write(tmp_path, text, "list.yaml")
        with pytest.raises(GoalsError) as info:
            load_goals(path)
        assert str(info.value) == (
            f"{path}: expected a mapping with a 'goals:' list at the top level."
        )
    with pytest.raises(GoalsError) as info:
        goals_from_dict({"goals": []})
    assert str(info.value) == "<goals>: (top level): the 'goals:' list is empty"
    assert info.value.details[0].path == ""  # a key path is text; none at the top level


def test_duplicate_keys_are_reported_with_the_other_problems(tmp_path):
    text = GOOD.replace("year: 2020", "year: 2020\n    year: 2021").replace(
        "target: 2000", "target: x"
    )
    path = _write(tmp_path, text)
    with pytest.raises(GoalsError) as info:
        load_goals(path)
    assert len(info.value.problems) == 2
    assert info.value.problems[0].startswith(f"{path}:11: goals/0/year: duplicate key 'year'")
    assert info.value.problems[1].startswith(f"{path}:2: goal 'g1': key 'target': 'x'")


def test_a_generic_goal_in_a_goals_file(tmp_path):
    text = (
        "goals:\n  - id: peak\n    variable: Infectious\n    comparison: at most\n"
        "    target: 400\n    year: 100\n"
    )
    g = load_goals(_write(tmp_path, text))["peak"]
    assert g.is_generic and (g.scope, g.target, g.year, g.comparison) == (
        MODEL_SCOPE,
        400,
        100,
        "<=",
    )
    path = _write(tmp_path, text.replace("year: 100", "year: soon"))
    with pytest.raises(GoalsError) as info:
        load_goals(path)
    assert len(info.value.problems) == 1 and "key 'year': 'soon' is not a whole number" in str(
        info.value
    )


def test_goals_from_dict_takes_the_places_given(tmp_path):
    places = Places.from_mdl(DEFAULT_MODEL)
    data = {
        "goals": [{"id": "g", "variable": "x", "comparison": "at least", "target": 1, "year": 5}]
    }
    goals = goals_from_dict(data, "mine.yaml", places)
    assert goals.places is places and goals.path == Path("mine.yaml") and goals.source == ""


def test_scope_labels():
    assert scope_label("city", "Ya'an", "zh") == "全市"
    assert scope_label("region", "East", "zh") == "东部"
    assert scope_label(MODEL_SCOPE, "Urban") == "Urban"
    assert scope_label(MODEL_SCOPE, 3) == "3"
    assert scope_label("park", "Hanyuan", "zh") == "汉源"
    assert scope_label("park", "Hanyuan") == "Hanyuan"


def test_profile_goals_use_the_parks_of_the_profile_model(tmp_path):
    from yaan_sim.model.profile import ModelProfile

    data = Path(__file__).parent / "data"
    assert profile_goals(ModelProfile("generic", "m.mdl", data / "loops_parks.mdl")) is None
    # a park target named by another model's parks (North): read with that model's parks
    text = GOOD.replace("target: 2000", "target: {North: 5}").replace("scope: city", "scope: park")
    path = _write(tmp_path, text)
    own = ModelProfile("generic", "loops_parks.mdl", data / "loops_parks.mdl", goals_path=path)
    assert profile_goals(own)["g1"].target == {"North": 5.0}
    # Ya'an's profile reads Ya'an's parks whatever .mdl it names (a copy may lack parks)
    yaan_text = text.replace("{North: 5}", "{Shimian: 5}")
    yaan_path = _write(tmp_path, yaan_text, "yaan.yaml")
    yaan = ModelProfile("yaan", "calib_parks.mdl", data / "calib_parks.mdl", goals_path=yaan_path)
    assert profile_goals(yaan)["g1"].target == {"Shimian": 5.0}
    with pytest.raises(GoalsError, match="unknown park 'North'"):
        profile_goals(ModelProfile("generic", "m.mdl", None, goals_path=path))


def test_the_shipped_goals_are_a_goal_set():
    goals = load_goals()
    assert isinstance(goals, GoalSet) and goals.path == DEFAULT_GOALS


def test_a_park_target_of_a_ratio_is_allowed_at_park_scope_only(tmp_path):
    text = GOOD.replace(METRIC, "{numerator: a, denominator: b, aggregate: ratio_of_sums}")
    # any positive number, below 1 too (a share)
    text = text.replace("target: 2000", "target: {ETDZ: 0.5}").replace("scope: city", "scope: park")
    assert load_goals(_write(tmp_path, text))["g1"].target == {"ETDZ": 0.5}


def test_metric_descriptions():
    two = Metric("sum", "emissions", select={"pollutant": "COD", "basin": "Qingyi"})
    assert two.describe() == "sum(emissions[pollutant=COD][basin=Qingyi])"
    assert Metric("ratio_of_sums", None, "a", "b").describe() == "sum(a) / sum(b)"
    assert Metric("ratio_of_sums", None, "a", "b", 2.0).describe() == "2 * sum(a) / sum(b)"


def test_a_goal_set_made_in_code_defaults_to_the_shipped_model():
    empty = GoalSet([])
    assert (empty.source, empty.path, len(empty), empty.ids) == ("", None, 0, [])
    assert ", ".join(empty.places.parks) == PARKS
