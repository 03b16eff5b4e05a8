"""A battery of broken scenario files: each must give its own clear problem.

Every case names the file, the line, the key path and words of the message (what was
wrong, what was expected, the fix). Checked on the fixture model (horizon 2016-2020).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import yaan_sim.scenario.checks as scenario_checks
from yaan_sim.errors import ScenarioError, YaanSimError
from yaan_sim.model.load import load_model
from yaan_sim.scenario import layering, load_scenario, validate_file
from yaan_sim.scenario.reader import (
    MAX_BYTES,
    Node,
    Problem,
    Reader,
    as_float,
    display_path,
    is_float_text,
    kind_of,
    path_text,
    raise_problems,
)

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


# --- the reader itself, word for word ------------------------------------------------------
# Reader, Problem and the helpers on text written here, without a model: every message in
# full (line, key path, what is wrong, what was expected, the fix), and the limits at their
# edges.

FIX_SYNTAX = (
    "(expected: valid YAML). Fix: fix the syntax at that line (indentation, a missing ':' or quote)"
)
ALIKE = "(expected: a value that YAML 1.1 and 1.2 read alike)"


def _parse(text, **kw):
    problems = []
    reader = Reader("f.yaml", problems, **kw)
    node = reader.parse(text)
    return reader, node, [str(p) for p in problems]


def test_a_problem_reads_file_line_path_message_expected_fix():
    assert str(Problem("f.yaml", 3, "a/b", "bad", "good", "mend")) == (
        "f.yaml:3: a/b: bad (expected: good). Fix: mend"
    )
    assert str(Problem("f.yaml", None, "", "bad")) == "f.yaml: (top level): bad"
    assert str(Problem("f.yaml", 0, "a", "bad", fix="mend")) == "f.yaml: a: bad. Fix: mend"
    assert str(Problem("f.yaml", 7, "a", "bad", expected="good")) == (
        "f.yaml:7: a: bad (expected: good)"
    )
    problems = []
    Reader("f.yaml", problems).problem(3, ("a", 2016), "bad")  # no expected form, no fix
    assert [str(p) for p in problems] == ["f.yaml:3: a/2016: bad"]


def test_raise_problems_counts_and_lists_at_most_50():
    one = [Problem("f.yaml", 1, "a", "bad")]
    with pytest.raises(ScenarioError) as info:
        raise_problems(one, "f.yaml")
    assert str(info.value) == "1 problem in f.yaml:\n  f.yaml:1: a: bad"
    assert info.value.problems == one
    many = [Problem("f.yaml", i, "a", f"bad {i}") for i in range(1, 53)]
    with pytest.raises(ScenarioError) as info:
        raise_problems(many, "the goals")
    listed = "\n".join(f"  f.yaml:{i}: a: bad {i}" for i in range(1, 51))
    assert str(info.value) == f"52 problems in the goals:\n{listed}\n  ... and 2 more"
    assert info.value.problems == many
    with pytest.raises(ScenarioError) as info:
        raise_problems(many[:50], "x")
    assert str(info.value).endswith("\n  f.yaml:50: a: bad 50")
    with pytest.raises(ScenarioError) as info:
        raise_problems(many[:2], "x")
    assert str(info.value) == "2 problems in x:\n  f.yaml:1: a: bad 1\n  f.yaml:2: a: bad 2"

    class Other(YaanSimError):
        def __init__(self, message, problems):
            super().__init__(message)
            self.problems = problems

    with pytest.raises(Other) as info:
        raise_problems(one, "y", Other)
    assert str(info.value) == "1 problem in y:\n  f.yaml:1: a: bad" and info.value.problems == one


def test_paths_kinds_and_numbers_as_a_person_reads_them(tmp_path, monkeypatch):
    import datetime

    assert path_text(("levers", "PPP share", 2016)) == "levers/PPP share/2016"
    assert path_text(()) == ""
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "sub" / "f.yaml") == str(Path("sub") / "f.yaml")
    assert display_path("sub/../f.yaml") == "f.yaml"
    outside = tmp_path.parent / "elsewhere" / "f.yaml"
    assert display_path(outside) == str(outside)
    assert kind_of(None) == "nothing (null)"
    assert (kind_of(True), kind_of(False)) == ("the boolean true", "the boolean false")
    assert (kind_of(3), kind_of(0.5)) == ("the number 3", "the number 0.5")
    assert kind_of("x" * 39) == f"the text '{'x' * 39}'"
    assert kind_of("x" * 40) == "a text"
    assert (kind_of({}), kind_of([])) == ("a mapping", "a list")
    assert kind_of(datetime.date(2020, 1, 2)) == "a date (2020-01-02)"
    assert as_float(True) is None and as_float("1") is None and as_float(None) is None
    assert as_float(3) == 3.0 and type(as_float(3)) is float
    assert as_float(10**400) == math.inf and as_float(-(10**400)) == -math.inf
    assert is_float_text("0.2") and is_float_text(" 1e3 ") and is_float_text(3)
    assert not is_float_text("0.2%") and not is_float_text(None)


def test_the_tree_keeps_each_values_line_and_its_keys_line():
    reader, node, problems = _parse("a:\n  - 1\n  -\n    b: x\nc: 2e3\n")
    assert problems == [] and reader.failure is None
    assert node.plain() == {"a": [1, {"b": "x"}], "c": 2000.0}
    a = node.value["a"]
    assert (node.line, node.key_line, node.at) == (1, 0, 1)
    assert (a.line, a.key_line, a.at) == (2, 1, 1)
    assert [(n.line, n.key_line, n.at) for n in a.value] == [(2, 0, 2), (4, 0, 4)]
    assert (a.value[1].value["b"].line, a.value[1].value["b"].key_line) == (4, 4)
    assert node.value["c"].at == 5
    wrapped = Node.wrap({"a": [1, {"b": None}]}, 7)
    assert wrapped.plain() == {"a": [1, {"b": None}]}
    assert wrapped.line == 7 and wrapped.value["a"].line == 7
    assert wrapped.value["a"].value[1].value["b"].line == 7
    assert Node.wrap(3).line == 0


@pytest.mark.parametrize(
    "value, read",
    [
        ("1e-3", 0.001),
        ("-2E+3", -2000.0),
        ("2e3", 2000.0),
        ("1.5", 1.5),
        ("0", 0),
        ("-7", -7),
        ("0x1F", 31),
        ("'0150'", "0150"),
        ('"1:30"', "1:30"),
        ("abc_1", "abc_1"),
        ("2018", 2018),
    ],
)
def test_values_yaml_11_and_12_read_alike(value, read):
    reader, node, problems = _parse(f"x: {value}\n")
    assert problems == [] and reader.refused == set()
    got = node.plain()["x"]
    assert got == read and type(got) is type(read)


@pytest.mark.parametrize(
    "value, meaning, fix",
    [
        (
            "0150",
            "an octal number in YAML 1.1 (0150 is 104) but 150 in YAML 1.2",
            "write 150 without the leading zero (or quote it for text)",
        ),
        (
            "-0_17",
            "an octal number in YAML 1.1 (0150 is 104) but 17 in YAML 1.2",
            "write 17 without the leading zero (or quote it for text)",
        ),
        (
            "00",
            "an octal number in YAML 1.1 (0150 is 104) but 0 in YAML 1.2",
            "write 0 without the leading zero (or quote it for text)",
        ),
        (
            "02018",
            "text in YAML 1.1 but the number 2018 in YAML 1.2",
            "write 2018 without the leading zero (or quote it for text)",
        ),
        (
            "+0089",
            "text in YAML 1.1 but the number 89 in YAML 1.2",
            "write 89 without the leading zero (or quote it for text)",
        ),
        (
            "1:30",
            "a base-60 number in YAML 1.1 (1:30 is 90) but text in YAML 1.2",
            "write the number itself (e.g. 90), or quote the text",
        ),
        (
            "-190:20:30.5",
            "a base-60 number in YAML 1.1 (1:30 is 90) but text in YAML 1.2",
            "write the number itself (e.g. 90), or quote the text",
        ),
        ("0b11", "a binary number in YAML 1.1 but text in YAML 1.2", "write the number in decimal"),
        (
            "1_000",
            "a number with '_' that YAML 1.1 reads without it and YAML 1.2 reads as text",
            "write 1000 without '_'",
        ),
        (
            "1_000.5",
            "a number with '_' that YAML 1.1 reads without it and YAML 1.2 reads as text",
            "write 1000.5 without '_'",
        ),
        (
            "0.5_",
            "a number with '_' that YAML 1.1 reads without it and YAML 1.2 reads as text",
            "write 0.5 without '_'",
        ),
    ],
)
def test_values_yaml_11_and_12_read_differently_word_for_word(value, meaning, fix):
    reader, node, problems = _parse(f"a: 1\nx:\n  y: {value}\n")
    assert problems == [f"f.yaml:3: x/y: {value!r} is {meaning} {ALIKE}. Fix: {fix}"]
    assert reader.refused == {(3, "x/y")}
    assert node.plain() == {"a": 1, "x": {"y": None}}  # the value is dropped, nothing else


@pytest.mark.parametrize(
    "text, problem, read",
    [
        (
            "a: 1\nb: 2\na: 3\n",
            "f.yaml:3: a: duplicate key 'a' (first at line 1) (expected: each key once). "
            "Fix: remove or merge one of the two",
            {"a": 1, "b": 2},
        ),
        (
            "b: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
            "f.yaml:3: c: merge keys (<<) are not supported (expected: keys written out). "
            "Fix: write the keys out, or use `extends:`",
            {"b": {"x": 1}, "c": {"y": 2}},
        ),
        (
            "a: 1\n? [a, b]\n: 1\nc: 2\n",
            "f.yaml:2: (top level): a key that is a mapping or a list (expected: a name or a "
            "year as key). Fix: write the key as plain text",
            {"a": 1, "c": 2},
        ),
        (
            "a:\n  x: !custom {b: 1}\n",
            "f.yaml:2: a/x: unsupported tag !custom (expected: a plain mapping). "
            "Fix: remove the tag",
            {"a": {"x": {"b": 1}}},
        ),
        (
            "a:\n  x: !custom [1]\n",
            "f.yaml:2: a/x: unsupported tag !custom (expected: a plain list). Fix: remove the tag",
            {"a": {"x": [1]}},
        ),
        (
            "a: 1\nx: !pct 12\n",
            "f.yaml:2: x: cannot read the value '12': could not determine a constructor for "
            "the tag '!pct' (expected: a number, a name or text). Fix: remove the tag or "
            "quote the value",
            {"a": 1, "x": None},
        ),
    ],
)
def test_keys_and_tags_the_reader_refuses_word_for_word(text, problem, read):
    """Refused while the tree is built: recorded, and the rest of the tree is still read
    (the checks of the file's keys run on it and report their own problems)."""
    reader, node, problems = _parse(text)
    assert problems == [problem]
    assert node.plain() == read and reader.failure is None


def test_every_refused_key_and_value_is_recorded_and_the_rest_read():
    text = "a: 1\nb: 2\na: 3\n? [k]\n: 4\nc: 0150\nd: !pct 1\ne: {f: 0b1}\n0_1: x\ng: 5\n"
    reader, node, problems = _parse(text)
    assert node.plain() == {"a": 1, "b": 2, "c": None, "d": None, "e": {"f": None}, "g": 5}
    assert node.value["a"].key_line == 1 and node.value["a"].value == 1
    assert [tuple(p.split(": ")[:2]) for p in problems] == [
        ("f.yaml:3", "a"),
        ("f.yaml:4", "(top level)"),
        ("f.yaml:6", "c"),
        ("f.yaml:7", "d"),
        ("f.yaml:8", "e/f"),
        ("f.yaml:9", "(top level)"),
    ]
    assert reader.refused == {(6, "c"), (7, "d"), (8, "e/f"), (9, "")}


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("", 1, "the file is empty (no YAML document)"),
        ("# only a comment\n\n", 1, "the file is empty (no YAML document)"),
    ],
)
def test_an_empty_file_word_for_word(text, line, problem):
    reader, node, problems = _parse(text)
    assert node is None and reader.failure is None
    assert problems == [
        f"f.yaml:{line}: (top level): {problem} (expected: a scenario file: a mapping of keys). "
        "Fix: write e.g. `extends: baseline` and a `levers:` block"
    ]
    reader, node, problems = _parse(text, what="goals file", start="write `goals:`")
    assert problems == [
        f"f.yaml:{line}: (top level): {problem} (expected: a goals file: a mapping of keys). "
        "Fix: write `goals:`"
    ]


def test_a_character_yaml_refuses_has_no_line():
    problems = []
    assert Reader("f.yaml", problems).parse("a: 1\nb: \x00\n") is None
    assert [(p.line, p.path) for p in problems] == [(None, "")]


def test_yaml_that_cannot_be_read_word_for_word():
    cases = [
        (
            "a: [\n",
            "f.yaml:2: (top level): invalid YAML: while parsing a flow node expected the node "
            "content, but found '<stream end>'",
        ),
        (
            "a: 1\n  b: 2\n",
            "f.yaml:2: (top level): invalid YAML: mapping values are not allowed here",
        ),
        (
            "a: \x00\n",
            "f.yaml: (top level): invalid YAML: character 0 is not allowed in YAML (special "
            "characters are not allowed)",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2: (top level): more than one YAML document (a second `---`) (expected: one "
            "document per file). Fix: put each scenario file in its own file",
        ),
    ]
    for text, problem in cases:
        reader, node, problems = _parse(text)
        full = problem if "Fix:" in problem else f"{problem} {FIX_SYNTAX}"
        assert problems == [full] and node is None and reader.failure == "yaml"
    _, _, problems = _parse("a: 1\n---\nb: 2\n", what="goals file")
    assert problems[0].endswith("Fix: put each goals file in its own file")


def test_the_limits_at_their_edges():
    def nested(n):  # a mapping holding n nested lists: n + 1 levels
        return "x: " + "[" * n + "]" * n + "\n"

    assert _parse(nested(15))[2] == []
    assert _parse(nested(16))[2] == [
        "f.yaml:1: (top level): nesting deeper than 16 levels (expected: at most 6 levels). "
        "Fix: flatten the structure; see the shipped examples"
    ]
    aliases = lambda n: "x: &x 1\n\nl: [" + ", ".join(["*x"] * n) + "]\n"  # noqa: E731
    reader, node, problems = _parse(aliases(64))
    assert problems == [] and node.plain()["l"] == [1] * 64
    assert _parse(aliases(65))[2] == [
        "f.yaml:3: (top level): more than 64 alias uses (*name) (expected: at most 64 "
        "aliases). Fix: write the values out instead of using aliases"
    ]
    bomb = (
        "f.yaml:1: (top level): the document expands to more than 50,000 nodes (an "
        "alias-expansion bomb?) (expected: a small mapping). Fix: write the values out "
        "instead of nesting aliases"
    )

    def expands(d):  # 1 + 99 + (1 + 50 * 99) + (1 + 9 * 4951) + (1 + d) nodes: 49,612 + d
        return (
            "a: &a [" + ", ".join(["1"] * 98) + "]\nb: &b [" + ", ".join(["*a"] * 50) + "]\n"
            "c: [" + ", ".join(["*b"] * 9) + "]\nd: [" + ", ".join(["1"] * d) + "]\n"
        )

    reader, node, problems = _parse(expands(388))
    assert problems == [] and reader.nodes == 50_000 and len(node.value["c"].value) == 9
    reader, node, problems = _parse(expands(389))
    assert problems == [bomb] and node is None and reader.failure == "yaml"
    # nesting that only an alias makes deep: within 16 levels as written, 31 expanded
    deep = "a: &a " + "[" * 15 + "]" * 15 + "\nb: " + "[" * 15 + "*a" + "]" * 15 + "\n"
    assert _parse(deep)[2] == [bomb]

    def aliased(n):  # 7 lists, reached through n lists under a key: n + 7 levels deep
        return "a: &a " + "[" * 7 + "]" * 7 + "\nb: " + "[" * n + "*a" + "]" * n + "\n"

    reader, node, problems = _parse(aliased(9))  # the innermost list at depth 16
    assert problems == [] and reader.nodes == 1 + 7 + 9 + 7
    assert _parse(aliased(10))[2] == [bomb]


def test_reading_a_file_word_for_word(tmp_path):
    def read(data, **kw):
        path = tmp_path / "f.yaml"
        if data is not None:
            path.write_bytes(data)
        problems = []
        reader = Reader("f.yaml", problems, **kw)
        return reader, reader.read(path), [str(p) for p in problems]

    reader, node, problems = read(b"\xef\xbb\xbfa: 1\n")
    assert problems == [] and node.plain() == {"a": 1} and reader.text == "a: 1\n"
    edge = b"a: 1\n" + b"#" * (MAX_BYTES - 6) + b"\n"
    assert len(edge) == MAX_BYTES
    reader, node, problems = read(edge)
    assert problems == [] and node.plain() == {"a": 1} and reader.failure is None
    reader, node, problems = read(edge + b"\n", what="goals file")
    assert node is None and reader.failure == "read" and reader.text == ""
    assert problems == [
        "f.yaml: (top level): the file is over the limit of 262,144 bytes (expected: a goals "
        "file of a few KiB). Fix: split it or remove what is not part of a goals file"
    ]
    reader, node, problems = read(b"a: 1\nb: \xff\n")
    assert node is None and reader.failure == "read"
    assert problems == [
        "f.yaml:2: (top level): byte 0xff at offset 8 is not UTF-8 (expected: a UTF-8 text "
        "file). Fix: save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
    ]
    (tmp_path / "f.yaml").unlink()
    reader, node, problems = read(None)
    assert node is None and reader.failure == "read"
    assert problems == [
        "f.yaml: (top level): cannot read the file: No such file or directory (expected: a "
        "readable scenario file). Fix: check the path and permissions"
    ]
    (tmp_path / "f.yaml").mkdir()
    assert read(None)[2][0].startswith("f.yaml: (top level): cannot read the file: Is a director")


def test_what_python_refuses_and_pyyaml_does_not_say_so_is_a_problem_too(tmp_path, monkeypatch):
    """A date that is no date, a path Python cannot open, a loader that fails in an odd
    way: each is a problem with its message, nothing escapes."""
    reader, node, problems = _parse("x: 2020-13-45\n")
    assert problems == [
        "f.yaml:1: x: cannot read the value '2020-13-45': month must be in 1..12 (expected: a "
        "number, a name or text). Fix: remove the tag or quote the value"
    ]
    found = []
    reader = Reader("f.yaml", found)
    assert reader.read(tmp_path / "a\0b.yaml") is None and reader.failure == "read"
    assert [str(p) for p in found] == [
        "f.yaml: (top level): cannot read the file: embedded null byte (expected: a readable "
        "scenario file). Fix: check the path and permissions"
    ]
    import yaan_sim.scenario.reader as reader_module

    def broken(text):
        raise RuntimeError("the loader broke")

    monkeypatch.setattr(reader_module, "_Loader", broken)
    reader, node, problems = _parse("a: 1\n")
    assert node is None and reader.failure == "yaml"
    assert problems == [
        "f.yaml: (top level): the YAML cannot be read: the loader broke (expected: valid "
        "YAML). Fix: check the file with a YAML linter"
    ]


def test_nesting_is_counted_back_down_and_a_deep_file_gives_one_problem():
    nested = (
        "f.yaml:1: (top level): nesting deeper than 16 levels (expected: at most 6 levels). "
        "Fix: flatten the structure; see the shipped examples"
    )
    # an inner list closed inside its outer one, then 15 more: 17 levels in all
    assert _parse("x: [[], " + "[" * 15 + "]" * 15 + "]\n")[2] == [nested]
    assert _parse("x: [[], " + "[" * 14 + "]" * 14 + "]\n")[2] == []
    assert _parse("a: " + "[" * 3000 + "]" * 3000 + "\n")[2] == [nested]  # not composed


# --- the file-level rules (scenario/checks.py), word for word ------------------------------
ALL_TOP_KEYS = "name, title, description, extends, horizon, levers, uncertain, plan, note"


@pytest.fixture
def checked(tmp_path, fx_model, monkeypatch):
    """Every problem of a scenario file ``case.yaml`` with ``text``, as a person reads it."""
    monkeypatch.chdir(tmp_path)

    def problems(text: str) -> list[str]:
        (tmp_path / "case.yaml").write_text(text, encoding="utf-8")
        return [str(p) for p in validate_file(tmp_path / "case.yaml", fx_model)]

    return problems


def test_the_top_level_word_for_word(checked):
    # the reader names what it reads: a scenario file
    assert checked("levers: {}\n---\nlevers: {}\n") == [
        "case.yaml:2: (top level): more than one YAML document (a second `---`) (expected: "
        "one document per file). Fix: put each scenario file in its own file"
    ]
    assert checked("- a\n") == [
        "case.yaml:1: (top level): the top level is a list (expected: a mapping of keys such "
        "as name, title, extends, horizon, levers). Fix: start the file with `name: ...` and "
        "`levers:`; see scenarios/README.md"
    ]
    assert checked("lever: {}\nzzz: 1\n1: x\nnote: kept\n") == [
        f"case.yaml:1: lever: unknown key 'lever' (expected: one of {ALL_TOP_KEYS}). "
        "Fix: did you mean 'levers'?",
        f"case.yaml:2: zzz: unknown key 'zzz' (expected: one of {ALL_TOP_KEYS}). "
        "Fix: remove it, or put a lever under `levers:`",
        f"case.yaml:3: 1: unknown key 1 (expected: one of {ALL_TOP_KEYS}). "
        "Fix: remove it, or put a lever under `levers:`",
    ]


def test_name_title_description_and_plan_word_for_word(checked):
    assert checked(
        "name: my plan!\ndescription: 5\ntitle: {fr: Plan, en: 5, zh: 规划}\nplan: [1, 一(三)]\n"
    ) == [
        "case.yaml:1: name: name 'my plan!' is not a simple name (expected: letters, digits, "
        "'-', '_' or '.' (e.g. green-low-carbon)). Fix: use a short name like the file's "
        "stem: 'case'",
        "case.yaml:2: description: description is the number 5 (expected: text). Fix: quote "
        'it: description: "..."',
        "case.yaml:3: title/fr: unknown language 'fr' (expected: zh or en). "
        "Fix: use `zh:` and `en:`",
        "case.yaml:3: title/en: title is the number 5 (expected: text). Fix: quote the title",
        "case.yaml:4: plan: plan is a list (expected: a list of the plan's sections, e.g. "
        "[一(三), 三(一)3]). Fix: write plan: [一(三), 三(一)3]",
    ]
    assert checked("name: 5\n") == [
        'case.yaml:1: name: name is the number 5 (expected: text). Fix: quote it: name: "..."'
    ]
    assert checked("name: -a\ntitle: [a]\nplan: 5\n") == [
        "case.yaml:1: name: name '-a' is not a simple name (expected: letters, digits, "
        "'-', '_' or '.' (e.g. green-low-carbon)). Fix: use a short name like the file's "
        "stem: 'case'",
        "case.yaml:2: title: title is a list (expected: {zh: ..., en: ...}). "
        "Fix: write title: {zh: 规划情景, en: The plan}",
        "case.yaml:3: plan: plan is the number 5 (expected: a list of the plan's sections, "
        "e.g. [一(三), 三(一)3]). Fix: write plan: [一(三), 三(一)3]",
    ]


HORIZON_FORM = "a finite number of years"


def test_the_horizon_word_for_word(checked):
    assert checked("horizon: [2016]\n") == [
        "case.yaml:1: horizon: horizon is a list (expected: a mapping {start: 2016, stop: "
        "2020, step: 0.25}). Fix: write horizon: {start: 2016, stop: 2020, step: 0.25}"
    ]
    # every key is checked, each with its own problem
    keys = "start, stop, step, saveper"
    assert checked(
        "horizon:\n  stopp: 2020\n  zzz: 1\n  start: soon\n  stop: .inf\n  step: []\n"
        "  saveper: true\n"
    ) == [
        f"case.yaml:2: horizon/stopp: unknown key 'stopp' (expected: one of {keys}). "
        "Fix: did you mean 'stop'?",
        f"case.yaml:3: horizon/zzz: unknown key 'zzz' (expected: one of {keys}). Fix: remove it",
        f"case.yaml:4: horizon/start: start is the text 'soon' (expected: {HORIZON_FORM}). "
        "Fix: write e.g. start: 2016",
        f"case.yaml:5: horizon/stop: stop is the number inf (expected: {HORIZON_FORM}). "
        "Fix: write e.g. stop: 2020",
        f"case.yaml:6: horizon/step: step is a list (expected: {HORIZON_FORM}). "
        "Fix: write e.g. step: 0.25",
        f"case.yaml:7: horizon/saveper: saveper is the boolean true (expected: "
        f"{HORIZON_FORM}). Fix: write e.g. saveper: 0.25",
    ]
    # a refused key: the horizon is not checked as a whole (step 0 is not reported too)
    assert checked("horizon: {zzz: 1, step: 0}\n") == [
        f"case.yaml:1: horizon/zzz: unknown key 'zzz' (expected: one of {keys}). Fix: remove it"
    ]
    assert checked("horizon: {stop: soon, step: 0}\n") == [
        f"case.yaml:1: horizon/stop: stop is the text 'soon' (expected: {HORIZON_FORM}). "
        "Fix: write e.g. stop: 2020"
    ]
    step = (
        "case.yaml:1: horizon/step: step {} is not positive (expected: a step > 0 (the model "
        "uses 0.25 or finer)). Fix: write step: 0.25"
    )
    assert checked("horizon: {step: 0}\n") == [step.format(0)]
    assert checked("horizon: {step: -0.5}\n") == [step.format(-0.5)]
    assert checked("horizon: {start: 2018, stop: 2018}\n") == [
        "case.yaml:1: horizon: stop 2018 is not after start 2018 (expected: start < stop). "
        "Fix: e.g. start: 2016, stop: 2020"
    ]
    assert checked("horizon: {start: 2019.75}\n") == []  # one step before the model's stop
    shorter = (
        "case.yaml:1: horizon: stop - start = {} is shorter than one step of 0.25 (expected: "
        "at least one step). Fix: a stop at least one step after start (e.g. stop: 2016.25)"
    )
    assert checked("horizon: {start: 2016, stop: 2016.0000001}\n") == [shorter.format("1e-07")]
    assert checked("horizon: {start: 2016, stop: 2016.125}\n") == [shorter.format(0.125)]
    assert checked("horizon: {start: 0, stop: 100001, step: 1}\n") == [
        "case.yaml:1: horizon: 100,001 steps (expected: at most 100,000 steps). "
        "Fix: use a coarser step or a shorter horizon"
    ]
    assert checked("horizon: {start: 0, stop: 100000, step: 1}\n") == []
    assert checked("horizon: {step: 0.3}\n") == [
        "case.yaml:1: horizon: stop - start = 4 is not a whole number of steps of 0.3 "
        "(expected: a whole number of steps). Fix: choose a step that divides the horizon "
        "(0.25, 0.125, ...)"
    ]
    assert checked("horizon: {step: 0.5, saveper: 0.25}\n") == [
        "case.yaml:1: horizon/saveper: saveper 0.25 is below the step 0.5 (expected: "
        "saveper >= step). Fix: write saveper: 0.5"
    ]
    # a refused horizon: the levers are checked against the model's, 2016-2020
    assert checked("horizon: {step: 0}\nlevers: {PPP share: {2019.5: 0.1, 2021: 0.2}}\n") == [
        step.format(0),
        "case.yaml:2: levers/PPP share/2021: year 2021 is outside the horizon 2016-2020 "
        "(expected: years from 2016 to 2020). Fix: remove the year or extend `horizon:`",
    ]


def test_the_names_of_the_levers_and_uncertain_blocks_word_for_word(checked):
    assert checked("levers: [PPP share]\nuncertain: 5\n") == [
        "case.yaml:1: levers: levers is a list (expected: a mapping {lever name: value}). "
        "Fix: write levers: then one lever per line",
        "case.yaml:2: uncertain: uncertain is the number 5 (expected: a mapping {constant "
        "name: distribution}). Fix: write uncertain: then one constant per line",
    ]
    not_text = (
        "case.yaml:{}: {}/1: lever name 1 is not text (expected: a lever's Vensim name). "
        "Fix: run `yaan-sim levers` for the names"
    )
    # after a refused name, and after a name given twice, the next names are still read
    assert checked(
        "levers:\n  1: 0.1\n  PPP shares: 0.1\n  Zzzz: 0.1\n  depreciation_rate: 0.1\n"
        "  PPP share: 0.1\n  ppp_share: 0.2\n  Power price discount: 0.1\n"
        "  power_price_discount: 0.2\n  Water efficiency rate: 7\n"
    ) == [
        not_text.format(2, "levers"),
        "case.yaml:3: levers/PPP shares: unknown lever 'PPP shares' (expected: a name from "
        "`yaan-sim levers`). Fix: did you mean 'PPP share'?",
        "case.yaml:4: levers/Zzzz: unknown lever 'Zzzz' (expected: a name from `yaan-sim "
        "levers`). Fix: run `yaan-sim levers` for the names",
        "case.yaml:5: levers/depreciation_rate: 'Depreciation rate' is a constant of the "
        "model but not a policy lever (expected: a lever (`role: lever` in the .mdl)). Fix: "
        "put it under `uncertain:` for ensembles, or mark it `role: lever` in the .mdl",
        "case.yaml:7: levers/ppp_share: 'ppp_share' and 'PPP share' both name 'PPP share' "
        "(expected: each lever once). Fix: keep one of the two",
        "case.yaml:9: levers/power_price_discount: 'power_price_discount' and 'Power price "
        "discount' both name 'Power price discount' (expected: each lever once). Fix: keep "
        "one of the two",
        "case.yaml:10: levers/Water efficiency rate: 7 is outside the range of 'Water "
        "efficiency rate', [0, 0.2] 1/Year (expected: a number in [0, 0.2] 1/Year). Fix: use "
        "a value within [0, 0.2] 1/Year (the range is the .mdl's [min,max]; change the model "
        "if the range is wrong)",
    ]
    uniform = "{distribution: uniform, low: 1, high: 2}"
    assert checked(
        f"uncertain:\n  1: {uniform}\n  Zzzz: {uniform}\n  Depreciation rte: {uniform}\n"
        f"  Output capital ratio: {uniform}\n  output_capital_ratio: {uniform}\n"
        "  Depreciation rate: {distribution: uniform, low: 0.1, high: 0.05}\n"
    ) == [
        not_text.format(2, "uncertain"),
        "case.yaml:3: uncertain/Zzzz: unknown constant 'Zzzz' (expected: a name from "
        "`yaan-sim levers`). Fix: run `yaan-sim levers` for the names",
        "case.yaml:4: uncertain/Depreciation rte: unknown constant 'Depreciation rte' "
        "(expected: a name from `yaan-sim levers`). Fix: did you mean 'Depreciation rate'?",
        "case.yaml:6: uncertain/output_capital_ratio: 'output_capital_ratio' and 'Output "
        "capital ratio' both name 'Output capital ratio' (expected: each constant once). "
        "Fix: keep one of the two",
        "case.yaml:7: uncertain/Depreciation rate: uniform needs low <= high with low < high, "
        "got low=0.1, high=0.05 (expected: low <= high). Fix: swap or correct the bounds",
    ]


def test_a_value_the_reader_refused_gives_one_problem(checked):
    """The reader's problem only: the checks that read the value after it say nothing."""
    (problem,) = checked("levers:\n  PPP share: !pct 12\n")
    assert problem.startswith("case.yaml:2: levers/PPP share: cannot read the value")


DISTRIBUTION_FORMS = "one of uniform, triangular, normal"


def test_a_distributions_form_word_for_word(checked):
    assert checked(
        "uncertain:\n"
        "  Depreciation rate: 0.1\n"
        "  PPP share: {low: 0, high: 0.1}\n"
        "  Energy cap growth rate: {distribution: uniforn, low: 0, high: 0.1}\n"
        "  Water efficiency rate: {distribution: 5}\n"
        "  Output capital ratio:\n"
        "    default: {low: 1, high: 2}\n"
    ) == [
        "case.yaml:2: uncertain/Depreciation rate: the number 0.1 is not a distribution "
        "(expected: {distribution: uniform|triangular|normal, ...}). "
        "Fix: write {distribution: uniform, low: a, high: b}",
        "case.yaml:3: uncertain/PPP share: 'PPP share' has no subscripts, so it takes one "
        "distribution (expected: {distribution: ..., ...}). "
        "Fix: write {distribution: uniform, low: a, high: b}",
        "case.yaml:4: uncertain/Energy cap growth rate/distribution: distribution 'uniforn' "
        f"(expected: {DISTRIBUTION_FORMS}). Fix: did you mean 'uniform'?",
        "case.yaml:5: uncertain/Water efficiency rate/distribution: distribution 5 "
        f"(expected: {DISTRIBUTION_FORMS}). "
        "Fix: write distribution: uniform (or triangular, normal)",
        "case.yaml:7: uncertain/Output capital ratio/default/distribution: distribution "
        f"missing (expected: {DISTRIBUTION_FORMS}). "
        "Fix: write distribution: uniform (or triangular, normal)",
    ]


def test_a_distributions_parameters_word_for_word(checked):
    range_ = "[0, 0.6] Dmnl"
    outside = (
        "{} is outside the range of 'PPP share', {r} (expected: a number in {r}). Fix: use a "
        "value within {r} (the range is the .mdl's [min,max]; change the model if the range "
        "is wrong)"
    )
    assert checked(
        "uncertain:\n"
        "  Depreciation rate: {distribution: uniform, low: 0.05, high: 0.1, mode: 0.07, sd: 1}\n"
        "  Enclave transfer share: {distribution: triangular, low: 0.1, wide: 1}\n"
        "  Energy cap growth rate: {distribution: normal, mean: 0.1, sd: 0, independent: x}\n"
        "  Water efficiency rate: {distribution: normal, mean: 0.1, sd: .inf, high: 0.15}\n"
        "  Power price discount: {distribution: normal, mean: 0.1, sd: big}\n"
        "  PPP share: {distribution: normal, mean: 0.7, sd: 0.1, high: 0.9}\n"
    ) == [
        "case.yaml:2: uncertain/Depreciation rate/mode: unknown parameter 'mode' for uniform "
        "(expected: high, independent, low). Fix: remove it",
        "case.yaml:2: uncertain/Depreciation rate/sd: unknown parameter 'sd' for uniform "
        "(expected: high, independent, low). Fix: remove it",
        "case.yaml:3: uncertain/Enclave transfer share/wide: unknown parameter 'wide' for "
        "triangular (expected: high, independent, low, mode). Fix: remove it",
        "case.yaml:3: uncertain/Enclave transfer share/mode: triangular needs 'mode' "
        "(expected: low, mode, high). Fix: add mode: ...",
        "case.yaml:3: uncertain/Enclave transfer share/high: triangular needs 'high' "
        "(expected: low, mode, high). Fix: add high: ...",
        "case.yaml:4: uncertain/Energy cap growth rate/sd: sd is the number 0 (expected: a "
        "positive number). Fix: write sd: 0.01 (in the constant's units)",
        "case.yaml:4: uncertain/Energy cap growth rate/independent: independent is the text "
        "'x' (expected: true or false). Fix: write independent: true",
        "case.yaml:5: uncertain/Water efficiency rate/sd: sd is the number inf (expected: a "
        "positive number). Fix: write sd: 0.01 (in the constant's units)",
        "case.yaml:6: uncertain/Power price discount/sd: sd is the text 'big' (expected: a "
        "positive number). Fix: write sd: 0.01 (in the constant's units)",
        "case.yaml:7: uncertain/PPP share/mean: " + outside.format(0.7, r=range_),
        "case.yaml:7: uncertain/PPP share/high: " + outside.format(0.9, r=range_),
    ]
    # each parameter is read once; after a refused sd, low and high are still read
    assert checked(
        "uncertain:\n  PPP share: {distribution: uniform, low: 0.7, high: 0.8}\n"
        "  Depreciation rate: {distribution: normal, mean: 0.1, sd: -1, low: 0.01}\n"
    ) == [
        "case.yaml:2: uncertain/PPP share/low: " + outside.format(0.7, r=range_),
        "case.yaml:2: uncertain/PPP share/high: " + outside.format(0.8, r=range_),
        "case.yaml:3: uncertain/Depreciation rate/sd: sd is the number -1 (expected: a "
        "positive number). Fix: write sd: 0.01 (in the constant's units)",
        "case.yaml:3: uncertain/Depreciation rate/low: 0.01 is outside the range of "
        "'Depreciation rate', [0.02, 0.2] 1/Year (expected: a number in [0.02, 0.2] 1/Year). "
        "Fix: use a value within [0.02, 0.2] 1/Year (the range is the .mdl's [min,max]; "
        "change the model if the range is wrong)",
    ]
    assert checked(
        "uncertain:\n  Depreciation rate: {distribution: normal, mean: 0.1, sd: -1, low: 0.05,"
        " high: 0.1, width: 2}\n"
    ) == [
        "case.yaml:2: uncertain/Depreciation rate/width: unknown parameter 'width' for normal "
        "(expected: high, independent, low, mean, sd). Fix: remove it",
    ]


def test_a_distributions_bounds_word_for_word(checked):
    def bad(line, name, what):
        return f"case.yaml:{line}: uncertain/{name}: {what}"

    swap = "Fix: swap or correct the bounds"
    inside = "(expected: low < mean < high). Fix: correct low/high or the mean"
    assert checked(
        "uncertain:\n"
        "  Depreciation rate: {distribution: uniform, low: 0.1, high: 0.1}\n"
        "  PPP share: {distribution: triangular, low: 0.1, mode: 0.3, high: 0.2}\n"
        "  Energy cap growth rate: {distribution: triangular, low: 0.1, mode: 0.1, high: 0.1}\n"
        "  Enclave transfer share: {distribution: triangular, low: 0.2, mode: 0.1, high: 0.3}\n"
        "  Water efficiency rate: {distribution: normal, mean: 0.1, sd: 0.01, low: 0.15,"
        " high: 0.15}\n"
        "  Power price discount: {distribution: normal, mean: 0.25, sd: 0.01, high: 0.2}\n"
        "  Idle land recovery rate: {distribution: normal, mean: 0.1, sd: 0.1, low: 0.2}\n"
        "  Investment attraction rate: {distribution: normal, mean: 0.15, sd: 0.01, low: 0.15,"
        " high: 0.15}\n"
    ) == [
        bad(2, "Depreciation rate", "uniform needs low <= high with low < high, got low=0.1, ")
        + f"high=0.1 (expected: low <= high). {swap}",
        bad(3, "PPP share", "triangular needs low <= mode <= high with low < high, got ")
        + f"low=0.1, mode=0.3, high=0.2 (expected: low <= mode <= high). {swap}",
        bad(4, "Energy cap growth rate", "triangular needs low <= mode <= high with low < ")
        + f"high, got low=0.1, mode=0.1, high=0.1 (expected: low <= mode <= high). {swap}",
        bad(5, "Enclave transfer share", "triangular needs low <= mode <= high with low < ")
        + f"high, got low=0.2, mode=0.1, high=0.3 (expected: low <= mode <= high). {swap}",
        bad(6, "Water efficiency rate", "normal mean 0.1 is not inside the truncation ")
        + f"[0.15, 0.15] {inside}",
        bad(7, "Power price discount", "normal mean 0.25 is not inside the truncation ")
        + f"[0, 0.2] {inside}",
        bad(8, "Idle land recovery rate", "normal mean 0.1 is not inside the truncation ")
        + f"[0.2, 1] {inside}",
        # a truncation of width 0 is refused, even with the mean on it
        bad(9, "Investment attraction rate", "normal mean 0.15 is not inside the truncation ")
        + f"[0.15, 0.15] {inside}",
    ]
    # per element: the default and each element are checked, each with its own problem
    assert checked(
        "uncertain:\n  Output capital ratio:\n"
        "    default: {distribution: uniform, low: 2, high: 1}\n"
        "    ETDZ: {distribution: uniform, low: 1, high: 2}\n"
        "    1999: {distribution: uniform, low: 1, high: 2}\n"
        "    East: {distribution: normal, mean: 1}\n"
    ) == [
        bad(3, "Output capital ratio/default", "uniform needs low <= high with low < high, ")
        + f"got low=2, high=1 (expected: low <= high). {swap}",
        "case.yaml:5: uncertain/Output capital ratio/1999: year 1999 among the park names "
        "(expected: `default` or one of the lever's park names or groups). Fix: a schedule "
        "per element goes under the element: ETDZ: {1999: ...}",
        "case.yaml:6: uncertain/Output capital ratio/East/sd: normal needs 'sd' (expected: "
        "mean, sd). Fix: add sd: ...",
    ]


# --- the extends chain and the files named (scenario/layering.py), word for word ----------
@pytest.fixture
def chain(tmp_path, fx_model, monkeypatch):
    """Files written in the test, read from their folder; the shipped scenarios are two
    files of ``shipped/`` (so the list a message gives is known)."""
    monkeypatch.chdir(tmp_path)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("beta.yaml", "alpha.yaml", "alpha-goals.yaml"):
        (shipped / name).write_text("levers: {}\n", encoding="utf-8")
    monkeypatch.setattr(layering, "SCENARIOS_DIR", shipped)

    def problems(files: dict[str, str], read: str = "case.yaml") -> list[str]:
        for name, text in files.items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        return [str(p) for p in validate_file(tmp_path / read, fx_model)]

    return problems


def test_an_extends_that_names_nothing_word_for_word(chain):
    expected = (
        "(expected: a scenario name (baseline) or a path (../x.yaml)). Fix: write extends: baseline"
    )
    assert chain({"case.yaml": "extends: 5\n"}) == [
        f"case.yaml:1: extends: extends is the number 5 {expected}"
    ]
    assert chain({"case.yaml": "levers: {}\nextends: '  '\n"}) == [
        f"case.yaml:2: extends: extends is the text '  ' {expected}"
    ]
    assert chain({"case.yaml": "extends: nope\n"}) == [
        "case.yaml:1: extends: parent scenario 'nope' not found (expected: a name in shipped "
        "or a path). Fix: available: alpha, beta"
    ]


def test_a_shipped_scenario_is_found_by_name_and_none_is_listed_when_there_are_none(
    chain, tmp_path, fx_model
):
    assert chain({"case.yaml": "extends: alpha\n"}) == []
    for shipped in (tmp_path / "shipped").iterdir():
        shipped.unlink()
    assert chain({"case.yaml": "extends: alpha\n"}) == [
        "case.yaml:1: extends: parent scenario 'alpha' not found (expected: a name in shipped "
        "or a path). Fix: available: (none)"
    ]


def test_an_extends_cycle_word_for_word(chain):
    assert chain({"case.yaml": "extends: b\n", "b.yaml": "levers: {}\nextends: case.yaml\n"}) == [
        "b.yaml:2: extends: extends cycle: case.yaml -> b.yaml -> case.yaml (expected: a chain "
        "of parents that ends). Fix: remove one `extends:` of the cycle"
    ]


def test_a_chain_of_16_parents_is_read_and_one_more_refused(chain, tmp_path, fx_model):
    """17 files in all (the scenario and 16 parents); the 17th may not name an 18th."""
    files = {f"s{i}.yaml": f"extends: s{i + 1}\n" for i in range(16)}
    files["s16.yaml"] = "levers: {PPP share: 0.3}\n"
    assert chain(files, read="s0.yaml") == []
    sc = load_scenario(tmp_path / "s0.yaml", fx_model)
    assert [p.name for p in sc.sources] == [f"s{i}.yaml" for i in range(17)]
    assert sc.levers["PPP share"].base == 0.3
    files["s16.yaml"] = "levers: {}\nextends: s17\n"
    files["s17.yaml"] = "levers: {}\n"
    assert chain(files, read="s0.yaml") == [
        "s16.yaml:2: extends: more than 16 files in the extends chain (expected: at most 16). "
        "Fix: flatten the chain"
    ]


def test_a_parent_that_cannot_be_read_is_named_after_its_problem(chain):
    assert chain({"case.yaml": "levers: {}\nextends: bad\n", "bad.yaml": "- a list\n"}) == [
        "bad.yaml:1: (top level): the top level is a list (expected: a mapping of keys such "
        "as name, title, extends, horizon, levers). Fix: start the file with `name: ...` and "
        "`levers:`; see scenarios/README.md",
        "case.yaml:2: extends: parent scenario bad.yaml cannot be read (see its problems) "
        "(expected: a valid parent). Fix: fix the parent file first",
    ]


def test_the_root_parents_problems_come_first_whatever_their_lines(chain):
    assert [
        p.split(":", 2)[:2]
        for p in chain(
            {
                "case.yaml": "extends: mid\nfoo: 1\n",
                "mid.yaml": "\n\nextends: root\nbar: 1\n",
                "root.yaml": "\n\n\n\n\nbaz: 1\n",
            }
        )
    ] == [["root.yaml", "6"], ["mid.yaml", "4"], ["case.yaml", "2"]]


def test_a_missing_file_is_one_problem_naming_it(chain, tmp_path, fx_model):
    assert validate_file("none.yaml", fx_model) == [
        Problem(
            "none.yaml",
            None,
            "",
            "file not found",
            "an existing .yaml file",
            "check the path; scenarios available by name: alpha, beta",
        )
    ]
    with pytest.raises(ScenarioError) as refused:
        load_scenario("none", fx_model)
    assert str(refused.value) == (
        "no scenario file 'none': give a path to a .yaml file or the name of one in shipped "
        "(available: alpha, beta)"
    )
    with pytest.raises(ScenarioError) as refused:  # a misspelt name: the closest one
        load_scenario("alhpa", fx_model)
    assert str(refused.value).startswith("no scenario file 'alhpa' (did you mean 'alpha'?): ")


def test_the_scenario_files_of_a_folder_leave_out_goal_files(tmp_path):
    for name in ("b.yaml", "a.yaml", "a-goals.yaml", "c.yml", "notes.txt"):
        (tmp_path / name).write_text("levers: {}\n", encoding="utf-8")
    assert layering.scenario_files(tmp_path) == [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    assert layering.scenario_files(str(tmp_path)) == [tmp_path / "a.yaml", tmp_path / "b.yaml"]


def test_several_scenarios_are_loaded_in_order_or_refused_together(chain, tmp_path, fx_model):
    # a lever of the fixture model only: each file is read against the model given
    chain({"a.yaml": "name: one\nlevers: {Water efficiency rate: 0.03}\n", "b.yaml": "name: two\n"})
    assert [s.name for s in layering.load_scenarios(["b.yaml", "a.yaml"], fx_model)] == [
        "two",
        "one",
    ]
    with pytest.raises(ScenarioError) as refused:
        layering.load_scenarios(["a.yaml", "x.yaml", "y"], fx_model)
    assert str(refused.value) == (
        "invalid scenario file(s); nothing was run or written:\n"
        "no scenario file 'x.yaml': give a path to a .yaml file or the name of one in shipped "
        "(available: alpha, beta)\n"
        "no scenario file 'y': give a path to a .yaml file or the name of one in shipped "
        "(available: alpha, beta)"
    )
    chain({"c.yaml": "name: two\n", "d.yaml": "name: one\n", "e.yaml": "name: three\n"})
    with pytest.raises(ScenarioError) as refused:
        layering.load_scenarios(["a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml"], fx_model)
    assert str(refused.value) == (
        "two files define the scenario name(s) one, two: give each its own `name:`"
    )


def test_a_missing_scenario_carries_its_problem(chain, fx_model):
    with pytest.raises(ScenarioError) as refused:
        load_scenario("nowhere/none", fx_model)
    assert refused.value.problems == [
        Problem(
            "nowhere/none",
            None,
            "",
            "file not found",
            "an existing .yaml file",
            "check the path; scenarios available by name: alpha, beta",
        )
    ]


def test_a_lever_scheduled_per_element_cannot_also_be_drawn_word_for_word(chain):
    """The draw is named where it is written (the parent), the schedule where it is set."""
    assert chain(
        {
            "p.yaml": "levers: {}\nuncertain:\n"
            "  Entry threshold: {distribution: uniform, low: 100, high: 200}\n",
            "case.yaml": "extends: p\nlevers:\n  Entry threshold: {default: 150, "
            "ETDZ: {2016: 100, 2018: 200}}\n",
        }
    ) == [
        "p.yaml:3: uncertain/Entry threshold: 'Entry threshold' follows a schedule in levers: "
        "(case.yaml:3) and is also drawn here (expected: a lever either scheduled or "
        "uncertain). Fix: remove it from one of the two blocks"
    ]


def test_a_schedule_drawn_too_is_checked_once_the_files_have_no_other_problem(chain):
    """The layered levers are compared only when every file was read without a problem."""
    assert chain(
        {
            "case.yaml": "foo: 1\nlevers: {PPP share: {2016: 0.1, 2018: 0.2}}\n"
            "uncertain:\n  PPP share: {distribution: uniform, low: 0.1, high: 0.2}\n"
        }
    ) == [
        "case.yaml:1: foo: unknown key 'foo' (expected: one of "
        f"{ALL_TOP_KEYS}). Fix: remove it, or put a lever under `levers:`"
    ]
