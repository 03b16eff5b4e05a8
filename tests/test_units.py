"""The units check (Vensim's Model > Units Check) and ``yaan-sim units``.

Expected units below are worked out by hand from the equations and their declared units,
never taken from the checker's output.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from yaan_sim.cli import main
from yaan_sim.errors import ModelError
from yaan_sim.model.units import (
    DMNL,
    Units,
    UnitsSyntaxError,
    UnitSystem,
    check_units,
    read_synonyms,
)
from yaan_sim.paths import DEFAULT_MODEL

DATA = Path(__file__).parent / "data" / "units"
CLEAN = DATA / "clean.mdl"
MISMATCHES = DATA / "mismatches.mdl"
# SDXorg/test-models beside the checkout (CI), or where YAAN_SIM_TEST_MODELS points
TEST_MODELS = Path(
    os.environ.get(
        "YAAN_SIM_TEST_MODELS", Path(__file__).resolve().parents[2] / "shared" / "test-models"
    )
)
needs_test_models = pytest.mark.skipif(
    not (TEST_MODELS / "samples").is_dir(),
    reason=f"the SDXorg test models are not at {TEST_MODELS} (../shared/test-models, "
    "or set YAAN_SIM_TEST_MODELS)",
)


def base(name: str) -> Units:
    return Units.base(name.lower(), name)


# --------------------------------------------------------------------------------------
# Units strings and their algebra
# --------------------------------------------------------------------------------------
def test_units_parse_products_quotients_and_parentheses():
    u = UnitSystem()
    yiyuan, wanyuan, mu, year = base("yiyuan"), base("wanyuan"), base("mu"), base("Year")
    assert u.parse("wanyuan/(mu*Year)") == wanyuan / mu / year
    assert u.parse("wanyuan/mu/Year") == wanyuan / (mu * year)
    assert u.parse("yiyuan*Dmnl/Year") == yiyuan / year
    assert u.parse("wantce/(Year*Year)") == base("wantce") / (year * year)
    assert u.parse("1/Year") == DMNL / year
    assert u.parse("Year/Year") == DMNL


@pytest.mark.parametrize("text", ["Dmnl", "dmnl", "Dimensionless", "1", " 1 "])
def test_dimensionless_names(text):
    assert UnitSystem().parse(text).dimensionless


def test_powers():
    u = UnitSystem()
    m, s = base("m"), base("s")
    assert u.parse("m^2") == m * m
    assert u.parse("m^-1") == DMNL / m
    assert u.parse("(m/s)^2") == (m * m) / (s * s)
    assert u.parse("m^(1/2)") * u.parse("m^0.5") == m
    assert (m * m) ** Fraction(1, 2) == m
    assert u.parse("m^0") == DMNL


def test_base_units_are_independent():
    """As in Vensim: yiyuan and wanyuan, tce and wantce are unrelated names."""
    u = UnitSystem()
    assert u.parse("yiyuan") != u.parse("wanyuan")
    assert u.parse("tce/wanyuan") * u.parse("yiyuan") != u.parse("wantce")
    conversion = u.parse("wanyuan/yiyuan")
    assert u.parse("yiyuan/Year") * conversion == u.parse("wanyuan/Year")


def test_names_ignore_case_and_repeated_spaces():
    u = UnitSystem()
    assert u.parse("Degrees  fahrenheit/Minute") == u.parse("Degrees Fahrenheit/minute")
    assert u.parse("Person Hours") != u.parse("Person*Hours")  # one name, not a product


def test_synonyms_make_names_equal():
    plain = UnitSystem()
    assert plain.parse("Years") != plain.parse("Year")
    u = UnitSystem([["Year", "Years"], ["Person", "People", "Persons"]])
    assert u.parse("Years") == u.parse("Year")
    assert u.parse("People/Years") == u.parse("Person/Year")
    assert str(u.parse("People/Years")) == "Person/Year"  # shown by the group's first name


def test_read_synonyms_from_the_settings_section():
    text = (
        "x = 1 ~ Year ~|\n\\\\\\---/// Sketch\n///---\\\\\\\n:L<%^E!@\n"
        "22:$,Dollar,Dollars\n22:Year,Years\n15:0,0\n"
    )
    assert read_synonyms(text) == [["$", "Dollar", "Dollars"], ["Year", "Years"]]
    assert read_synonyms("x = 1 ~ Year ~|\n22:Year,Years\n") == []  # no settings section


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (DMNL, "Dmnl"),
        (DMNL / base("Year"), "1/Year"),
        (base("yiyuan") / (base("Year") * base("Year")), "yiyuan/(Year*Year)"),
        (base("wanyuan") / (base("mu") * base("Year")), "wanyuan/(mu*Year)"),
        (base("m") ** Fraction(1, 2), "m^(1/2)"),
        (base("m") * base("m") / base("s"), "m*m/s"),
    ],
)
def test_units_are_written_in_vensim_notation(units, text):
    assert str(units) == text
    assert UnitSystem().parse(text) == units  # and read back


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("widget/(Month", "expected ')'"),
        ("widget*", "a unit is missing"),
        ("*widget", "a unit is missing"),
        ("1000*yuan", "no scale factors"),
        ("m^x", "is not a number"),
        ("m)", "unexpected ')'"),
        ("  ", "empty units"),
    ],
)
def test_unreadable_units_are_clear_errors(text, why):
    with pytest.raises(UnitsSyntaxError, match=why.replace("(", r"\(").replace(")", r"\)")):
        UnitSystem().parse(text)
    assert issubclass(UnitsSyntaxError, ModelError)


def write_model(path: Path, equations: str, time_units: str = "Month") -> Path:
    """A small .mdl: the equations given, and the four control variables."""
    controls = "".join(
        f"{name} = {value} ~ {time_units} ~|\n"
        for name, value in (
            ("FINAL TIME", 1),
            ("INITIAL TIME", 0),
            ("SAVEPER", 1),
            ("TIME STEP", 1),
        )
    )
    path.write_text("{UTF-8}\n" + equations + controls, encoding="utf-8")
    return path


def test_power_chains_and_negative_exponents(tmp_path):
    path = write_model(
        tmp_path / "powers.mdl",
        "L = 2 ~ m ~|\n"
        "Fourth = L^2^2 ~ m*m*m*m ~|\n"  # L^(2^2), right-associative as in PySD
        "Inverse = L^-1 ~ 1/m ~|\n"
        "Root = L^(1/2) ~ m ~|\n"  # wrong on purpose: m^(1/2)
        "Square = L^(3-1) ~ m*m ~|\n"  # a numeric exponent written as an expression
        "Undefined = L^(1/0) ~ m ~|\n",  # no value: not checked, and said so
    )
    report = check_units(path)
    assert [(i.variable, i.kind, i.found) for i in report.errors] == [
        ("Root", "equation", "m^(1/2)")
    ]
    assert report.checked == 4
    assert [var for var, _ in report.unchecked] == ["Undefined"]


# --------------------------------------------------------------------------------------
# A model with one deliberate mismatch of each kind
# --------------------------------------------------------------------------------------
def test_each_kind_of_mismatch_is_reported_exactly():
    report = check_units(MISMATCHES)
    got = {(i.variable, i.kind, i.expected, i.found, i.term) for i in report.errors}
    expected = {
        ("Shipments", "equation", "widget/Month", "widget", "Inventory*Ship fraction"),
        ("Net change", "sum", "widget/Month", "widget", "Inventory"),
        ("Overstocked", "comparison", "widget", "widget/Month", "Production"),
        ("Capped production", "branches", "widget/Month", "widget", "Inventory"),
        ("Chosen flow", "branches", "widget/Month", "widget", "Inventory"),
        ("Growth factor", "argument", "Dmnl", "widget", "Inventory"),
        ("Coverage", "argument", "Month", "widget", "Inventory"),
        ("Smoothed production", "argument", "Month", "widget", "Inventory"),
        ("Scaled ratio", "power", "Dmnl", "Month", "Adjustment time"),
        ("Area", "power", "", "m", "Length^Elasticity"),
        ("Backlog", "flow", "widget/Month", "widget", "Inventory"),
        ("Queue", "initial", "widget", "widget/Month", "Production"),
        ("Split", "declaration", "", "", ""),
        ("Bad units", "syntax", "", "", ""),
        ("SAVEPER", "time", "Month", "Week", ""),
        ("SAVEPER", "equation", "Week", "Month", "TIME STEP"),
    }
    assert got == expected
    assert not report.clean
    warnings = {(w.variable, w.kind, w.found, w.term) for w in report.warnings}
    assert warnings == {
        ("No units", "missing", "", ""),
        ("Demand effect", "lookup argument", "widget", "Inventory"),
    }
    # an equation using a variable with no units is checked only in part, and said so
    unchecked = dict(report.unchecked)
    assert set(unchecked) == {"Area", "No units", "Uses no units"}
    assert "No units" in unchecked["Uses no units"]


def test_messages_name_the_variable_the_units_and_the_term():
    report = check_units(MISMATCHES)
    by_var = {i.variable: str(i) for i in report.errors if i.kind != "time"}
    assert by_var["Shipments"] == (
        "Shipments: the right side has units widget, the left side is declared widget/Month "
        "(right/left = Month)\n    Inventory*Ship fraction"
    )
    assert "Split" in by_var and "widget, gadget" in by_var["Split"]
    assert "widget/(Month" in by_var["Bad units"]


# --------------------------------------------------------------------------------------
# A clean model that uses every construct the check knows
# --------------------------------------------------------------------------------------
def test_clean_model_is_clean():
    report = check_units(CLEAN)
    assert report.clean and report.errors == [] and report.warnings == []
    assert report.unchecked == []
    assert report.time_units == "Month"
    # every equation that is not a number or a table: 21 variables and SAVEPER = TIME STEP
    assert report.checked == 22


# Each edit breaks one rule of clean.mdl; the expected units are worked out by hand.
BREAKS = {
    "conversion constant dropped": (
        "*Price[Region]/Wanyuan per yiyuan",
        "*Price[Region]",
        ("Revenue[Region]", "equation", "yiyuan/Month", "wanyuan/Month"),
    ),
    "PROD over two elements": (
        "~	wanyuan*wanyuan/(widget*widget)",
        "~	wanyuan/widget",
        ("Price product", "equation", "wanyuan/widget", "wanyuan*wanyuan/(widget*widget)"),
    ),
    "SQRT removed": ("SQRT(Area)", "Area", ("Side", "equation", "m", "m*m")),
    "numeric power": ("Side^3", "Side^2", ("Volume", "equation", "m*m*m", "m*m")),
    "EXP of a rate": (
        "EXP(Demand trend*Adjustment time)",
        "EXP(Demand trend)",
        ("Growth factor", "argument", "Dmnl", "1/Month"),
    ),
    "RAMP of a flow": (
        "RAMP(Demand slope, 2, 8)",
        "RAMP(Base demand, 2, 8)",
        ("Demand", "sum", "widget/Month", "widget"),
    ),
    "stock drained without a time": (
        "-Stage[Region]/Adjustment time",
        "-Stage[Region]",
        ("Stage[Region]", "sum", "widget/Month", "widget"),
    ),
    "stock's initial value": (
        "		Initial inventory)",
        "		Base demand)",
        ("Inventory", "initial", "widget", "widget/Month"),
    ),
    "DELAY3I's initial value": (
        "DELAY3I(Shipments, Adjustment time, Base demand)",
        "DELAY3I(Shipments, Adjustment time, Inventory)",
        ("Delayed shipments", "branches", "widget/Month", "widget"),
    ),
    "PULSE is dimensionless": (
        "Base demand*PULSE(4, 1)",
        "Inventory*PULSE(4, 1)",
        ("Bonus", "equation", "widget/Month", "widget"),
    ),
    "Time has the time unit": (
        "Time-INITIAL TIME",
        "Time-Inventory",
        ("Elapsed", "sum", "Month", "widget"),
    ),
    "TREND has 1/time": (
        "~	1/Month",
        "~	Dmnl",
        ("Demand trend", "equation", "Dmnl", "1/Month"),
        # and Growth factor, which uses it, now takes EXP of Dmnl x Month
        ("Growth factor", "argument", "Dmnl", "Month"),
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_rule_of_the_clean_model_can_fail(case, tmp_path):
    old, new, *expected = BREAKS[case]
    text = CLEAN.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the edit for '{case}' no longer matches clean.mdl"
    path = tmp_path / "broken.mdl"
    path.write_text(text.replace(old, new), encoding="utf-8")
    report = check_units(path)
    assert [(i.variable, i.kind, i.expected, i.found) for i in report.errors] == expected


def test_synonyms_of_the_model_are_used(tmp_path):
    """clean.mdl declares Production in widgets/Month: clean only through 22:widget,widgets."""
    text = CLEAN.read_text(encoding="utf-8").replace("22:widget,widgets\n", "")
    path = tmp_path / "no_synonym.mdl"
    path.write_text(text, encoding="utf-8")
    errors = check_units(path).errors
    assert {(i.variable, i.kind) for i in errors} == {
        ("Production", "equation"),  # widget/Month against widgets/Month
        ("Inventory", "sum"),  # Production - Shipments
    }


def test_a_lookup_called_with_units_is_a_warning_not_an_error(tmp_path):
    text = CLEAN.read_text(encoding="utf-8").replace(
        "Demand effect(Inventory/Reference inventory)", "Demand effect(Inventory)"
    )
    path = tmp_path / "lookup.mdl"
    path.write_text(text, encoding="utf-8")
    report = check_units(path)
    assert report.clean
    assert [(w.variable, w.kind, w.found) for w in report.warnings] == [
        ("Shipments", "lookup argument", "widget")
    ]


# --------------------------------------------------------------------------------------
# SDXorg sample models whose units are consistent (and one whose units are not)
# --------------------------------------------------------------------------------------
@needs_test_models
@pytest.mark.parametrize(
    ("model", "checked", "time_units"),
    [
        # synonyms Day/Days and Person/Persons; Persons/Persons/Day is 1/Day
        ("samples/SIR/SIR.mdl", 6, "Day"),
        # synonym s/Second: TIME STEP is in Second, the stocks in m and m/s
        ("samples/simple_harmonic_oscillator/simple_harmonic_oscillator.mdl", 3, "s"),
        ("tests/limits/test_limits.mdl", 2, "Month"),
    ],
)
def test_sample_models_with_consistent_units_are_clean(model, checked, time_units):
    report = check_units(TEST_MODELS / model)
    assert report.errors == []
    assert report.checked == checked and report.unchecked == []
    assert report.time_units == time_units


@needs_test_models
def test_sample_workforce_model_has_its_known_units_errors():
    """Workforce declares 'Person Hours' (one name) beside Person*Hours, task times in
    Person*Hours (not per task), and takes MIN of a flow and a stock."""
    report = check_units(TEST_MODELS / "samples" / "Workforce" / "workforce.mdl")
    assert {(i.variable, i.kind) for i in report.errors} == {
        ("Expert Task Completion", "equation"),
        ("Rookie Task Completion", "equation"),
        ('"Rookie-Hours on Task per Week"', "equation"),
        ("Task Completion", "branches"),
    }


# --------------------------------------------------------------------------------------
# The park model
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def park_report():
    return check_units(DEFAULT_MODEL)


def test_every_park_model_equation_has_readable_units(park_report):
    """Issue 17: every variable declares units that parse, and every equation's right
    side is given units (nothing is left unchecked)."""
    assert [w for w in park_report.warnings if w.kind in ("missing", "not checked")] == []
    assert [i for i in park_report.errors if i.kind in ("syntax", "declaration", "time")] == []
    assert park_report.unchecked == []
    assert park_report.time_units == "Year"
    assert park_report.checked > 50


def test_park_model_units_are_clean(park_report):
    """models/yaan_parks.mdl: no mismatch, and no lookup called with a unit-bearing
    argument (its tables of calendar years take Time / One year)."""
    assert park_report.errors == []
    assert park_report.warnings == []


# --------------------------------------------------------------------------------------
# yaan-sim units
# --------------------------------------------------------------------------------------
def test_cli_clean_model_exits_0(capsys):
    assert main(["units", "--model", str(CLEAN)]) == 0
    out = capsys.readouterr().out
    assert "units are consistent (22 equations checked; time unit Month)" in out


def test_cli_lists_mismatches_and_exits_2(capsys):
    assert main(["units", "--model", str(MISMATCHES), "--verbose"]) == 2
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert sum(line.startswith("error   ") for line in lines) == 16
    assert sum(line.startswith("warning ") for line in lines) == 2
    assert sum(line.startswith("partly  ") for line in lines) == 3
    assert "error   Shipments: the right side has units widget" in captured.out
    assert "16 units errors" in captured.err and "Traceback" not in captured.err


def test_cli_bad_paths_and_files_exit_2(tmp_path, capsys):
    assert main(["units", "--model", str(tmp_path / "absent.mdl")]) == 2
    assert "cannot read the model file" in capsys.readouterr().err
    bad = tmp_path / "bad.mdl"
    bad.write_text("{UTF-8}\nx = (1 + ~ widget ~ |\n", encoding="utf-8")
    assert main(["units", "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cannot be parsed" in err and "Traceback" not in err
