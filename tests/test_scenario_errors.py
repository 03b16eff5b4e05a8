"""A battery of broken scenario files: each must give its own clear problem.

Every case names the file, the line, the key path and words of the message (what was
wrong, what was expected, the fix). Checked on the fixture model (horizon 2016-2020).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import yaan_sim.scenario.checks as scenario_checks
from yaan_sim.errors import ScenarioError, YaanSimError
from yaan_sim.model.load import load_model
from yaan_sim.scenario import load_scenario, validate_file

FIXTURE_MDL = Path(__file__).parent / "data" / "levers_fixture.mdl"


@pytest.fixture(scope="module")
def fx_model():
    return load_model(FIXTURE_MDL)


BOMB = """\
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
levers: {PPP share: 0.1}
"""

# (id, file text, [(line, key path, [words in str(problem)]), ...])
CASES = [
    (
        "unknown-lever",
        "levers:\n  PPP shares: 0.1\n",
        [(2, "levers/PPP shares", ["unknown lever 'PPP shares'", "did you mean 'PPP share'?"])],
    ),
    (
        "unknown-lever-no-hint",
        "levers:\n  Zzzz: 0.1\n",
        [(2, "levers/Zzzz", ["unknown lever", "yaan-sim levers"])],
    ),
    (
        "not-a-lever",
        "levers:\n  Depreciation rate: 0.1\n",
        [(2, "levers/Depreciation rate", ["not a policy lever", "uncertain:"])],
    ),
    (
        "unknown-park",
        "levers:\n  Entry threshold:\n    default: 200\n    ETDX: 300\n",
        [
            (
                4,
                "levers/Entry threshold/ETDX",
                ["unknown park 'ETDX'", "did you mean 'ETDZ'?", "Chengya"],
            )
        ],
    ),
    (
        "park-on-industry-lever",
        "levers:\n  Backward capacity exit rate: {ETDZ: 0.1}\n",
        [
            (
                2,
                "levers/Backward capacity exit rate/ETDZ",
                ["'ETDZ' is a park element", "subscripted by Industry", "TeBi"],
            )
        ],
    ),
    (
        "unknown-industry",
        "levers:\n  Backward capacity exit rate:\n    Tebi: 0.1\n",
        [(3, "levers/Backward capacity exit rate/Tebi", ["unknown industry", "'TeBi'"])],
    ),
    (
        "map-on-scalar-lever",
        "levers:\n  PPP share: {ETDZ: 0.1}\n",
        [(2, "levers/PPP share/ETDZ", ["has no subscripts", "one value"])],
    ),
    (
        "text-value",
        "levers:\n  PPP share: high\n",
        [(2, "levers/PPP share", ["the text 'high' is not a number", "[0, 0.6] Dmnl"])],
    ),
    (
        "percent-text",
        "levers:\n  PPP share: 12%\n",
        [(2, "levers/PPP share", ["'12%' is not a number", "write the fraction 0.12"])],
    ),
    (
        "quoted-number",
        "levers:\n  PPP share: '0.1'\n",
        [(2, "levers/PPP share", ["not a number", "remove the quotes: 0.1"])],
    ),
    (
        "boolean",
        "levers:\n  PPP share: yes\n",
        [(2, "levers/PPP share", ["the boolean true is not a number"])],
    ),
    (
        "null",
        "levers:\n  PPP share:\n",
        [(2, "levers/PPP share", ["nothing (null) is not a number"])],
    ),
    (
        "list",
        "levers:\n  PPP share: [0.1, 0.2]\n",
        [(2, "levers/PPP share", ["a list", "schedule"])],
    ),
    (
        "above-range",
        "levers:\n  Entry threshold: 600\n",
        [(2, "levers/Entry threshold", ["600 is outside the range", "[50, 500] wanyuan/mu"])],
    ),
    (
        "below-range-in-map",
        "levers:\n  Entry threshold:\n    default: 200\n    East: 10\n",
        [(4, "levers/Entry threshold/East", ["10 is outside", "[50, 500] wanyuan/mu"])],
    ),
    (
        "negative-range",
        "levers:\n  Energy cap growth rate: -0.2\n",
        [(2, "levers/Energy cap growth rate", ["[-0.05, 0.15] 1/Year"])],
    ),
    (
        "nan",
        "levers:\n  PPP share: .nan\n",
        [(2, "levers/PPP share", ["NaN is not a finite number"])],
    ),
    (
        "inf",
        "levers:\n  PPP share: .inf\n",
        [(2, "levers/PPP share", ["inf is not a finite number"])],
    ),
    (
        "huge-int",
        "levers:\n  PPP share: " + "9" * 400 + "\n",
        [(2, "levers/PPP share", ["not a finite number"])],
    ),
    (
        "year-after-horizon",
        "levers:\n  PPP share: {2016: 0.1, 2025: 0.2}\n",
        [
            (
                2,
                "levers/PPP share/2025",
                ["year 2025 is outside the horizon 2016-2020", "extend `horizon:`"],
            )
        ],
    ),
    (
        "year-before-own-horizon",
        "horizon: {start: 2017}\nlevers:\n  PPP share:\n    schedule: {2016: 0.1}\n",
        [(4, "levers/PPP share/schedule/2016", ["outside the horizon 2017-2020"])],
    ),
    (
        "unsorted-years",
        "levers:\n  PPP share:\n    2018: 0.2\n    2016: 0.1\n",
        [(4, "levers/PPP share/2016", ["comes after 2018", "sort the schedule"])],
    ),
    (
        "quoted-year",
        "levers:\n  PPP share:\n    schedule: {'2016': 0.1}\n",
        [(3, "levers/PPP share/schedule/2016", ["not a year", "remove the quotes"])],
    ),
    (
        "year-among-parks",
        "levers:\n  Entry threshold:\n    ETDZ: 200\n    2018: 300\n",
        [
            (
                4,
                "levers/Entry threshold/2018",
                ["year 2018 among the park names", "goes under the element"],
            )
        ],
    ),
    (
        "empty-schedule",
        "levers:\n  PPP share: {schedule: {}}\n",
        [(2, "levers/PPP share/schedule", ["an empty schedule"])],
    ),
    (
        "bad-interpolation",
        "levers:\n  PPP share:\n    schedule: {2016: 0.1}\n    interpolation: cubic\n",
        [(4, "levers/PPP share/interpolation", ["'cubic'", "step or linear"])],
    ),
    (
        "interpolation-beside-parks",
        "levers:\n  Entry threshold:\n    ETDZ: {2016: 200}\n    interpolation: linear\n",
        [(4, "levers/Entry threshold/interpolation", ["inside each schedule"])],
    ),
    (
        "key-beside-schedule",
        "levers:\n  PPP share:\n    schedule: {2016: 0.1}\n    ETDZ: 1\n",
        [(4, "levers/PPP share/ETDZ", ["unexpected key 'ETDZ' beside `schedule:`"])],
    ),
    (
        "plan-not-text",
        "levers:\n  PPP share: {value: 0.1, plan: [1, 2]}\n",
        [(2, "levers/PPP share/plan", ["plan is a list", "quote it"])],
    ),
    (
        "scale-out-of-range",
        "levers:\n  Entry threshold: {scale: 4}\n",
        [
            (
                2,
                "levers/Entry threshold/scale",
                ["scale 4 puts values outside [50, 500] wanyuan/mu", "ETDZ 600", "and 5 more"],
            )
        ],
    ),
    (
        "scale-negative",
        "levers:\n  PPP share: {scale: -1}\n",
        [(2, "levers/PPP share/scale", ["scale is the number -1", "factor >= 0"])],
    ),
    (
        "scale-beside-parks",
        "levers:\n  Entry threshold: {scale: 1.1, ETDZ: 200}\n",
        [(2, "levers/Entry threshold/ETDZ", ["unexpected key 'ETDZ' beside `scale:`"])],
    ),
    (
        "wrong-units",
        "levers:\n  Entry threshold:\n    value: 1.5\n    units: yiyuan/mu\n",
        [
            (
                4,
                "levers/Entry threshold/units",
                [
                    "'yiyuan/mu' are not the units",
                    "'wanyuan/mu'",
                    "convert the values to wanyuan/mu",
                ],
            )
        ],
    ),
    ("empty-map", "levers:\n  PPP share: {}\n", [(2, "levers/PPP share", ["an empty mapping"])]),
    (
        "duplicate-lever-key",
        "levers:\n  PPP share: 0.1\n  PPP share: 0.2\n",
        [(3, "levers/PPP share", ["duplicate key 'PPP share' (first at line 2)"])],
    ),
    (
        "duplicate-top-key",
        "levers: {}\nname: a\nlevers: {}\n",
        [(3, "levers", ["duplicate key 'levers' (first at line 1)"])],
    ),
    (
        "duplicate-year",
        "levers:\n  PPP share: {2016: 0.1, 2016.0: 0.2}\n",
        [(2, "levers/PPP share/2016.0", ["duplicate key"])],
    ),
    (
        "two-spellings",
        "levers:\n  PPP share: 0.1\n  ppp_share: 0.2\n",
        [(3, "levers/ppp_share", ["'ppp_share' and 'PPP share' both name 'PPP share'"])],
    ),
    (
        "unknown-top-key",
        "lever:\n  PPP share: 0.1\n",
        [(1, "lever", ["unknown key 'lever'", "did you mean 'levers'?"])],
    ),
    (
        "levers-not-a-map",
        "levers: [PPP share]\n",
        [(1, "levers", ["levers is a list", "one lever per line"])],
    ),
    ("bad-name", "name: my plan!\n", [(1, "name", ["not a simple name"])]),
    ("title-not-map", "title: [a]\n", [(1, "title", ["title is a list", "zh:"])]),
    ("title-bad-language", "title: {fr: Plan}\n", [(1, "title/fr", ["unknown language 'fr'"])]),
    ("horizon-step-zero", "horizon: {step: 0}\n", [(1, "horizon/step", ["not positive"])]),
    (
        "horizon-reversed",
        "horizon: {start: 2020, stop: 2016}\n",
        [(1, "horizon", ["stop 2016 is not after start 2020"])],
    ),
    (
        "horizon-uneven",
        "horizon: {step: 0.3}\n",
        [(1, "horizon", ["not a whole number of steps of 0.3"])],
    ),
    ("horizon-text", "horizon: {stop: soon}\n", [(1, "horizon/stop", ["stop is the text"])]),
    ("horizon-unknown-key", "horizon: {end: 2020}\n", [(1, "horizon/end", ["unknown key 'end'"])]),
    (
        "horizon-saveper",
        "horizon: {step: 0.5, saveper: 0.25}\n",
        [(1, "horizon/saveper", ["below the step"])],
    ),
    (
        "missing-parent",
        "extends: nowhere\n",
        [(1, "extends", ["parent scenario 'nowhere' not found", "available:"])],
    ),
    ("extends-impossible-name", "extends: " + "a" * 5000 + "\n", [(1, "extends", ["not found"])]),
    ("extends-not-text", "extends: [a, b]\n", [(1, "extends", ["extends is a list"])]),
    ("self-extends", "extends: case.yaml\n", [(1, "extends", ["extends cycle"])]),
    ("top-list", "- PPP share\n- 0.1\n", [(1, "", ["the top level is a list", "levers:"])]),
    ("top-scalar", "just text\n", [(1, "", ["the top level is the text"])]),
    ("empty", "", [(1, "", ["the file is empty"])]),
    ("comments-only", "# nothing here\n\n", [(1, "", ["the file is empty"])]),
    ("two-documents", "levers: {}\n---\nlevers: {}\n", [(2, "", ["more than one YAML document"])]),
    ("bad-syntax", "levers:\n  PPP share: 0.1\n bad: [\n", [(None, "", ["invalid YAML"])]),
    ("tab-indent", "levers:\n\tPPP share: 0.1\n", [(2, "", ["invalid YAML"])]),
    (
        "python-tag",
        "levers: !!python/object/apply:os.system ['echo hi']\n",
        [(1, "levers", ["unsupported tag"])],
    ),
    (
        "custom-scalar-tag",
        "levers:\n  PPP share: !pct 12\n",
        [(2, "levers/PPP share", ["cannot read the value", "remove the tag"])],
    ),
    (
        "merge-key",
        "base: &b {PPP share: 0.1}\nlevers:\n  <<: *b\n",
        [(3, "levers", ["merge keys (<<) are not supported"])],
    ),
    ("non-scalar-key", "levers:\n  ? [a, b]\n  : 1\n", [(2, "levers", ["a key that is a"])]),
    ("alias-bomb", BOMB, [(1, "", ["expands to more than", "alias"])]),
    (
        "too-many-aliases",
        "x: &x 1\nl: [" + ", ".join(["*x"] * 100) + "]\n",
        [(2, "", ["more than 64 alias uses"])],
    ),
    ("deep-nesting", "x: " + "[" * 100 + "]" * 100 + "\n", [(1, "", ["nesting deeper than 16"])]),
    ("recursive-alias", "x: &a [*a]\n", [(None, "", [])]),
    (
        "uncertain-unknown",
        "uncertain:\n  Depreciation rte: {distribution: uniform, low: 0.05, high: 0.1}\n",
        [(2, "uncertain/Depreciation rte", ["unknown constant", "'Depreciation rate'"])],
    ),
    (
        "uncertain-bad-distribution",
        "uncertain:\n  Depreciation rate:\n"
        "    distribution: gaussian\n    mean: 0.1\n    sd: 0.01\n",
        [(3, "uncertain/Depreciation rate/distribution", ["'gaussian'", "normal"])],
    ),
    (
        "uncertain-missing-param",
        "uncertain:\n  Depreciation rate: {distribution: triangular, low: 0.05, high: 0.1}\n",
        [(2, "uncertain/Depreciation rate/mode", ["triangular needs 'mode'"])],
    ),
    (
        "uncertain-swapped",
        "uncertain:\n  Depreciation rate: {distribution: uniform, low: 0.1, high: 0.05}\n",
        [(2, "uncertain/Depreciation rate", ["low < high"])],
    ),
    (
        "uncertain-out-of-range",
        "uncertain:\n  Depreciation rate: {distribution: uniform, low: 0.01, high: 0.1}\n",
        [(2, "uncertain/Depreciation rate/low", ["outside the range", "[0.02, 0.2] 1/Year"])],
    ),
    (
        "uncertain-bad-sd",
        "uncertain:\n  PPP share: {distribution: normal, mean: 0.1, sd: -1}\n",
        [(2, "uncertain/PPP share/sd", ["positive"])],
    ),
    (
        "uncertain-mean-outside-truncation",
        "uncertain:\n  PPP share: {distribution: normal,"
        " mean: 0.1, sd: 0.1, low: 0.2, high: 0.3}\n",
        [(2, "uncertain/PPP share", ["not inside the truncation [0.2, 0.3]"])],
    ),
    (
        "uncertain-unknown-param",
        "uncertain:\n  PPP share: {distribution: uniform, low: 0, high: 0.1, mode: 0}\n",
        [(2, "uncertain/PPP share/mode", ["unknown parameter 'mode'"])],
    ),
    (
        "uncertain-unknown-park",
        "uncertain:\n  Output capital ratio:\n    Etdz: {distribution: uniform, low: 1, high: 2}\n",
        [(3, "uncertain/Output capital ratio/Etdz", ["unknown park", "'ETDZ'"])],
    ),
    (
        "uncertain-independent-not-bool",
        "uncertain:\n  Output capital ratio:\n"
        "    default: {distribution: uniform, low: 1, high: 2, independent: maybe}\n",
        [(3, "uncertain/Output capital ratio/default/independent", ["true or false"])],
    ),
]


@pytest.mark.parametrize("case_id, text, expected", CASES, ids=[c[0] for c in CASES])
def test_broken_file_gives_its_problem(case_id, text, expected, tmp_path, fx_model):
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    problems = validate_file(path, fx_model)
    assert problems, f"{case_id}: no problem reported"
    for line, key_path, words in expected:
        hits = [
            p
            for p in problems
            if (line is None or p.line == line)
            and p.path == key_path
            and all(w in str(p) for w in words)
        ]
        assert hits, (
            f"{case_id}: no problem at line {line}, {key_path!r} with {words}; "
            f"got:\n" + "\n".join(map(str, problems))
        )
        p = hits[0]
        assert p.file.endswith("case.yaml") and str(p).startswith(p.file)
        assert p.fix or p.expected
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, fx_model)
    assert info.value.problems == problems
    assert isinstance(info.value, YaanSimError) and isinstance(info.value, ValueError)


def test_all_problems_of_a_file_at_once(tmp_path, fx_model):
    path = tmp_path / "many.yaml"
    path.write_text(
        "levers:\n  PPP shar: 0.1\n  Entry threshold: 900\n"
        "  Power price discount: {2019: 0.1, 2017: 0.2}\nfoo: 1\n",
        encoding="utf-8",
    )
    problems = validate_file(path, fx_model)
    assert [(p.line, p.path) for p in problems] == [
        (2, "levers/PPP shar"),
        (3, "levers/Entry threshold"),
        (4, "levers/Power price discount/2017"),
        (5, "foo"),
    ]
    with pytest.raises(ScenarioError, match=r"^4 problems in .*many\.yaml"):
        load_scenario(path, fx_model)


def test_non_utf8_bytes(tmp_path, fx_model):
    path = tmp_path / "gbk.yaml"
    path.write_bytes("name: x\ntitle: {zh: 规划情景}\n".encode("gbk"))
    (p,) = validate_file(path, fx_model)
    assert p.line == 2 and "is not UTF-8" in p.message and "iconv" in p.fix


def test_control_characters(tmp_path, fx_model):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"levers: {}\x00\n")
    (p,) = validate_file(path, fx_model)
    assert "not allowed in YAML" in p.message


def test_huge_file(tmp_path, fx_model):
    path = tmp_path / "huge.yaml"
    path.write_text("# x\n" * 100_000, encoding="utf-8")
    (p,) = validate_file(path, fx_model)
    assert "over the limit" in p.message


def test_extends_cycle_names_the_chain(tmp_path, fx_model):
    (tmp_path / "a.yaml").write_text("extends: b\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("levers: {}\nextends: a.yaml\n", encoding="utf-8")
    problems = validate_file(tmp_path / "a.yaml", fx_model)
    cycle = [p for p in problems if "cycle" in p.message]
    assert len(cycle) == 1 and cycle[0].file.endswith("b.yaml") and cycle[0].line == 2
    assert "a.yaml -> " in cycle[0].message and "b.yaml -> " in cycle[0].message


def test_parent_problems_name_the_parent(tmp_path, fx_model):
    (tmp_path / "parent.yaml").write_text("levers:\n  PPP share: 5\n", encoding="utf-8")
    (tmp_path / "child.yaml").write_text(
        "extends: parent\nlevers:\n  Entry threshold: 1\n", encoding="utf-8"
    )
    problems = validate_file(tmp_path / "child.yaml", fx_model)
    where = [(Path(p.file).name, p.line, p.path) for p in problems]
    assert where == [
        ("parent.yaml", 2, "levers/PPP share"),
        ("child.yaml", 3, "levers/Entry threshold"),
    ]


def test_overlapping_groups(tmp_path, fx_model, monkeypatch):
    from yaan_sim.model import levers as levers_mod

    lever = levers_mod.lever_registry(fx_model)["Entry threshold"]
    ranges = {"park": {**lever.ranges["park"], "Coast": ("ETDZ", "Hanyuan")}}
    patched = {
        **levers_mod.lever_registry(fx_model),
        "Entry threshold": levers_mod.Lever(**{**lever.__dict__, "ranges": ranges}),
    }
    monkeypatch.setattr(scenario_checks, "lever_registry", lambda m: patched)
    path = tmp_path / "o.yaml"
    path.write_text("levers:\n  Entry threshold: {East: 200, Coast: 300}\n", encoding="utf-8")
    (p,) = validate_file(path, fx_model)
    assert "ETDZ is in both East and Coast" in p.message


def test_missing_file(tmp_path, fx_model):
    (p,) = validate_file(tmp_path / "none.yaml", fx_model)
    assert p.message == "file not found"
    (p,) = validate_file("x" * 5000, fx_model)
    assert p.message == "file not found"
    with pytest.raises(ScenarioError, match="no scenario file"):
        load_scenario(tmp_path / "none.yaml", fx_model)


def test_overrides_against_a_model_without_the_lever(tmp_path, fx_model):
    path = tmp_path / "s.yaml"
    path.write_text("levers: {PPP share: 0.1}\n", encoding="utf-8")
    sc = load_scenario(path, fx_model)
    sc.levers["Not in the model"] = sc.levers["PPP share"]
    with pytest.raises(ScenarioError, match="does not have: Not in the model"):
        sc.overrides(fx_model)


def test_sample_needs_a_generator(tmp_path, fx_model):
    path = tmp_path / "u.yaml"
    path.write_text(
        "uncertain:\n  PPP share: {distribution: uniform, low: 0, high: 0.1}\n", encoding="utf-8"
    )
    uncertain = load_scenario(path, fx_model).uncertain
    with pytest.raises(ScenarioError, match=r"numpy.random.Generator"):
        uncertain.sample(0, 3)
    with pytest.raises(ScenarioError, match="whole number of samples"):
        uncertain.sample(np.random.default_rng(0), 0)
