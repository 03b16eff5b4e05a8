"""The input boundary: YAML 1.2 numbers, goals through the hardened reader, observed data
with units, names and did-you-mean, and Chinese park names in every kind of input."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake_results import make_results

from tests.support.goals_text import ONE_GOAL
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import load_model
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goals import GoalsError, load_goals
from yaan_sim.outputs.observed import ObservedError, convert, load_observed
from yaan_sim.paths import DEFAULT_MODEL
from yaan_sim.scenario import load_scenario, validate_file
from yaan_sim.scenario.places import Places

FIXTURE_MDL = Path(__file__).parent / "data" / "levers_fixture.mdl"
HEADER = "variable,park,year,value,unit,source,confidence,note\n"


@pytest.fixture(scope="module")
def fx_model():
    return load_model(FIXTURE_MDL)


@pytest.fixture(scope="module")
def ds():
    return make_results()


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- YAML 1.1 number forms ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, words",
    [
        ("0150", ["'0150' is an octal number in YAML 1.1", "write 150"]),
        ("1:30", ["'1:30' is a base-60 number in YAML 1.1", "text in YAML 1.2"]),
        ("1_000", ["'1_000'", "write 1000"]),
        ("0b11", ["binary number in YAML 1.1"]),
    ],
)
def test_yaml11_numbers_are_refused_in_scenarios(tmp_path, fx_model, text, words):
    path = _write(tmp_path, "s.yaml", f"levers:\n  Entry threshold: {text}\n")
    (p,) = validate_file(path, fx_model)  # one problem: nothing else about that value
    assert p.line == 2 and p.path == "levers/Entry threshold"
    assert all(w in str(p) for w in words), str(p)


def test_yaml12_numbers_and_quoted_text_still_read(tmp_path, fx_model):
    # 1e-3 is a YAML 1.2 float (YAML 1.1 reads it as text); 0.25 and 150 read alike.
    path = _write(tmp_path, "s.yaml", "levers:\n  PPP share: 1e-3\n  Entry threshold: 150\n")
    sc = load_scenario(path, fx_model)
    assert sc.levers["PPP share"].base == 0.001 and sc.levers["Entry threshold"].base == 150


def test_yaml11_forms_as_schedule_years_and_in_goals(tmp_path, fx_model):
    # 02018 has an 8: YAML 1.1 reads text (not octal), YAML 1.2 the year 2018
    path = _write(tmp_path, "s.yaml", "levers:\n  PPP share: {02018: 0.1}\n")
    (p,) = validate_file(path, fx_model)
    assert "'02018' is text in YAML 1.1 but the number 2018 in YAML 1.2" in p.message
    goals = _write(tmp_path, "g.yaml", GOAL.replace("target: 2000", "target: 02000"))
    with pytest.raises(GoalsError, match=r"'02000' is an octal number in YAML 1.1"):
        load_goals(goals)


# --- goals through the hardened reader ------------------------------------------------------------
GOAL = ONE_GOAL


def test_duplicate_goal_keys_are_refused(tmp_path):
    path = _write(
        tmp_path, "g.yaml", GOAL.replace("target: 2000\n", "target: 2000\n    target: 20\n")
    )
    with pytest.raises(
        GoalsError, match=r"g.yaml:10: goals/0/target: duplicate key 'target' \(first at line 9\)"
    ):
        load_goals(path)


def test_goals_file_limits_apply(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_bytes(b"goals:\n" + b"# padding\n" * 40_000)
    with pytest.raises(GoalsError, match=r"cannot read the goals file .*over the limit"):
        load_goals(path)
    bomb = "a: &a [x, x]\n" + "".join(
        f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]\n" for i in range(70)
    )
    with pytest.raises(GoalsError, match=r"not valid YAML.*alias"):
        load_goals(_write(tmp_path, "bomb.yaml", bomb + "goals: []\n"))


def test_goal_park_targets_take_chinese_names(tmp_path):
    text = GOAL.replace("target: 2000", "target: {经开区: 1000, 汉源县: 200}").replace(
        "scope: city", "scope: park"
    )
    goals = load_goals(_write(tmp_path, "g.yaml", text))
    assert goals["g1"].target == {"ETDZ": 1000.0, "Hanyuan": 200.0}
    both = text.replace("汉源县: 200", "ETDZ: 900")
    with pytest.raises(GoalsError, match="'ETDZ' and '经开区' both name the park ETDZ"):
        load_goals(_write(tmp_path, "g2.yaml", both))
    typo = text.replace("汉源县", "汉园")
    with pytest.raises(GoalsError, match=r"unknown park '汉园' \(did you mean 'Hanyuan'\?\)"):
        load_goals(_write(tmp_path, "g3.yaml", typo))


def test_parks_and_regions_come_from_the_model():
    model = load_model()
    from_text = Places.from_mdl(DEFAULT_MODEL)
    from_model = Places.from_model(model)
    assert from_text.parks == tuple(model.subscripts["Park"]) == from_model.parks
    assert from_text.region_of == model.regions() == from_model.region_of
    assert load_goals().places.parks == from_text.parks


# --- observed data --------------------------------------------------------------------------------
def test_observed_units_are_converted(tmp_path, ds):
    text = HEADER + (
        "营业收入,经开区,2018,3400000,万元,test,M,\n"  # 340亿 written in 万元
        "revenue,Hanyuan,2018,5000000000,元,test,M,\n"  # 50亿 in yuan
        "energy_use,ETDZ,2018,12000,吨标煤,test,M,\n"  # 1.2万tce
        "rd_share,city,2018,0.009,比例,test,M,\n"  # a fraction -> %
        "COD,city,2018,1.5,万吨,test,M,\n"  # the emissions of one pollutant
    )
    obs = load_observed(_write(tmp_path, "o.csv", text), source=ds)
    got = {(r.variable, r.park): r.value for r in obs.itertuples()}
    assert got[("revenue", "ETDZ")] == pytest.approx(340.0)
    assert got[("revenue", "Hanyuan")] == pytest.approx(50.0)
    assert got[("energy_use", "ETDZ")] == pytest.approx(1.2)
    assert got[("rd_share", "city")] == pytest.approx(0.9)
    assert got[("emissions[COD]", "city")] == pytest.approx(15_000.0)
    assert list(obs["unit_as_given"])[:2] == ["万元", "元"]
    assert obs.attrs["path"].endswith("o.csv")


def test_observed_340yi_in_wanyuan_is_no_longer_met(tmp_path, ds):
    # The newcomer review: 3,400,000 万元 was read as 亿元 and ETDZ "met" by +339,900 %.
    path = _write(tmp_path, "o.csv", HEADER + "revenue,ETDZ,2018,3400000,万元,test,M,\n")
    t = evaluate(ds, year=2018, observed=load_observed(path, source=ds))
    etdz = t[(t["goal_id"] == "revenue_park") & (t["scope_name"] == "ETDZ")].iloc[0]
    assert etdz["value"] == pytest.approx(340.0) and etdz["value_source"] == "observed"
    assert etdz["gap"] == pytest.approx(340.0 - 1000.0)


@pytest.mark.parametrize(
    "row, words",
    [
        ("revenue,ETDZ,2018,340,亿美元,t,M,", ["unit '亿美元'", "unknown unit"]),
        (
            "energy_use,ETDZ,2018,5,万kWh,t,M,",
            ["unit '万kWh'", "cannot be converted to 'wantce/Year'"],
        ),
        ("revenu,ETDZ,2018,340,亿元,t,M,", ["variable 'revenu'", "did you mean 'revenue'?"]),
        ("营收,ETDZ,2018,340,亿元,t,M,", ["variable '营收'", "is not a results variable"]),
        (
            "revenue,汉园,2018,340,亿元,t,M,",
            ["park '汉园' is not a park", "did you mean 'Hanyuan'?"],
        ),
        ("revenue,ETDZ,2108,340,亿元,t,M,", ["year '2108' is not a year", "2000 to 2100"]),
        (
            'revenue,ETDZ,2018,"3,400",亿元,t,M,',
            ["is not a number", "write 3400 without separators"],
        ),
        ("revenue,ETDZ,2018,nan,亿元,t,M,", ["not a finite number"]),
    ],
)
def test_observed_rows_are_refused_with_a_reason(tmp_path, ds, row, words):
    path = _write(tmp_path, "o.csv", "# a comment line\n" + HEADER + row + "\n")
    with pytest.raises(ObservedError) as info:
        load_observed(path, source=ds)
    text = str(info.value)
    assert "o.csv:3: row 3:" in text  # the file's own line number, comments counted
    assert all(w in text for w in words), text


def test_observed_file_level_problems(tmp_path, ds):
    with pytest.raises(ObservedError, match="a header and no figures"):
        load_observed(_write(tmp_path, "h.csv", HEADER), source=ds)
    dup = HEADER + "revenue,ETDZ,2018,340,亿元,t,M,\n营业收入,经开区,2018,341,亿元,t,M,\n"
    with pytest.raises(ObservedError, match="given twice"):
        load_observed(_write(tmp_path, "d.csv", dup), source=ds)
    (tmp_path / "gbk.csv").write_bytes(HEADER.encode() + "营业收入".encode("gbk") + b",ETDZ\n")
    with pytest.raises(ObservedError, match="not UTF-8"):
        load_observed(tmp_path / "gbk.csv", source=ds)


def test_observed_goal_metric_is_used_as_given(tmp_path, ds):
    path = _write(tmp_path, "o.csv", HEADER + "R&D占比,全市,2018,0.9,%,统计公报,M,\n")
    t = evaluate(ds, year=2018, observed=load_observed(path, source=ds))
    rd = t[(t["goal_id"] == "rd_share") & (t["scope"] == "city")].iloc[0]
    assert rd["value"] == pytest.approx(0.9) and rd["value_source"] == "observed"


def test_unit_conversion_factors():
    assert convert(1, "亿元", "wanyuan") == pytest.approx(1e4)
    assert convert(1, "万吨标煤/亿元", "tce/wanyuan") == pytest.approx(1.0)
    assert convert(2, "万m³", "m3/Year") == pytest.approx(2e4)
    assert convert(1, "亿kWh", "万kWh") == pytest.approx(1e4)
    assert convert(50, "%", "Dmnl") == pytest.approx(0.5)
    with pytest.raises(YaanSimError, match="cannot be converted"):
        convert(1, "kWh", "tce")  # no single factor: calorific or coal-for-power basis


# --- Chinese park names in every kind of input ---------------------------------------------------
def test_chinese_park_names_in_scenarios(tmp_path, fx_model):
    path = _write(
        tmp_path,
        "s.yaml",
        "levers:\n  Entry threshold:\n    default: 150\n    经开区: 300\n    东部: 200\n",
    )
    sc = load_scenario(path, fx_model)
    parts = {key: els for key, _dim, els, _v in sc.levers["Entry threshold"].parts}
    assert parts["ETDZ"] == ("ETDZ",) and "Yucheng" in parts["East"]
    both = _write(tmp_path, "b.yaml", "levers:\n  Entry threshold: {ETDZ: 300, 飞地园区: 200}\n")
    (p,) = validate_file(both, fx_model)
    assert "'飞地园区' and 'ETDZ' both name ETDZ" in p.message
    typo = _write(tmp_path, "t.yaml", "levers:\n  Entry threshold: {汉园: 300}\n")
    (p,) = validate_file(typo, fx_model)
    assert "did you mean 'Hanyuan'?" in p.fix


def test_chinese_names_of_the_mdl_and_aliases():
    places = Places.from_mdl(DEFAULT_MODEL)
    cases = {
        "经开区": "ETDZ",
        "飞地园区(经开区)": "ETDZ",
        "飞地园区（经开区）": "ETDZ",
        "四川雅安经济开发区": "ETDZ",  # from the .mdl's zh: A（B）
        "石棉": "Shimian",  # 石棉工业园区 in the .mdl, suffix dropped
        "雨城区": "Yucheng",
        "名山区": "Chengya",
        "东部": "East",
        "雅安西北部工业园区": "Northwest",
        "全市": "city",
    }
    assert {name: places.resolve(name) for name in cases} == cases
    assert places.resolve("hanyuan") is None  # the model's own names match exactly
    assert places.resolve("东部", kinds=("park",)) is None
