"""The data ledger reader: the schema from the README, periods, and each kind of bad row."""

from __future__ import annotations

import csv

import pytest

from tests.support.ledger import COLUMNS, write_ledger
from yaan_sim.errors import YaanSimError
from yaan_sim.model.ledger import (
    LEDGER_DIR,
    LedgerError,
    parse_period,
    read_ledger,
    read_schema,
)


def test_the_schema_comes_from_the_readme():
    s = read_schema()
    with (LEDGER_DIR / "parks.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert list(s.columns) == header == COLUMNS
    assert {"revenue", "industrial_output_above_scale", "ppi", "rd_intensity_revenue"} <= set(
        s.variables
    )
    # words in the README's remarks are not variable names
    assert "measure_zh" not in s.variables and "growth" not in s.variables
    assert set(s.kinds) == {"level", "growth", "share", "change", "target"}
    assert set(s.confidences) == {"H", "M", "L"}
    assert "ETDZ" in s.scopes["park"] and "石棉县" in s.scopes["county"]
    assert "亿元" in s.units and "km2" in s.units


def test_the_project_ledger_reads_clean():
    led = read_ledger()
    rows = led.rows
    assert len(rows) > 100 and rows["id"].is_unique
    assert rows.loc["etdz-rev-2015", "value"] == 167.0
    assert rows.loc["etdz-rev-2015", "unit"] == "亿元"
    # a derived row names the rows it comes from; "-1" in the formula is arithmetic
    assert rows.loc["etdz-rev-2014-g", "refs"] == ("etdz-rev-2013", "etdz-rev-2014")
    assert rows.loc["etdz-rev-2013", "refs"] == ()
    assert led.where("etdz-rev-2013") == "parks.csv:2"
    assert len(led.sha256) == 64


@pytest.mark.parametrize(
    ("text", "start", "end", "form"),
    [
        ("2018", 2018, 2019, "year"),
        ("2018Q1", 2018, 2018.25, "subyear"),
        ("2018Q1-3", 2018, 2018.75, "subyear"),
        ("2018H2", 2018.5, 2019, "subyear"),
        ("2018M01-02", 2018, 2018 + 2 / 12, "subyear"),
        ("2016-2020", 2016, 2021, "span"),
        ("2018-12-31", 2019, 2019, "date"),
        ("2016-02-29", 2016 + 60 / 366, 2016 + 60 / 366, "date"),
    ],
)
def test_periods_map_onto_model_time(text, start, end, form):
    p = parse_period(text)
    assert (p.start, p.end, p.form) == (pytest.approx(start), pytest.approx(end), form)


@pytest.mark.parametrize("text", ["2018Q5", "2018M13", "2020-2016", "2018-02-30", "18", "2018Q3-1"])
def test_bad_periods_name_the_forms(text):
    with pytest.raises(ValueError, match="2018Q1"):
        parse_period(text)


BAD_ROWS = [
    ({"variable": "revenu"}, "did you mean 'revenue'"),
    ({"scope_kind": "town"}, "scope_kind 'town'"),
    ({"scope": "Paris"}, "not a park name"),
    ({"period": "2018Q5"}, "period '2018Q5'"),
    ({"kind": "flow"}, "kind 'flow'"),
    ({"value": "12亿"}, "not a number"),
    ({"unit": "亿圆"}, "unit '亿圆'"),
    ({"confidence": "X"}, "confidence 'X'"),
    ({"derivation": "guess"}, "derivation 'guess'"),
    ({"source_url": ""}, "source_url"),
    ({"variable": ""}, "column 'variable' is empty"),
    ({"id": "Bad Id"}, "lower-case"),
]


@pytest.mark.parametrize(("change", "message"), BAD_ROWS)
def test_each_kind_of_bad_row_is_named_with_its_line(tmp_path, change, message):
    good = {"id": "ok-1", "variable": "revenue", "period": "2015", "value": 1}
    bad = {"id": "bad-1", "variable": "revenue", "period": "2015", "value": 2, **change}
    path = write_ledger(tmp_path, [good, bad])
    with pytest.raises(LedgerError, match=message) as info:
        read_ledger(tmp_path)
    assert isinstance(info.value, YaanSimError)
    assert all(p.startswith(f"{path.name}:3:") for p in info.value.problems), info.value.problems


def test_duplicate_ids_name_both_places(tmp_path):
    write_ledger(tmp_path, [{"id": "a-1", "variable": "revenue", "period": "2015", "value": 1}])
    write_ledger(
        tmp_path, [{"id": "a-1", "variable": "revenue", "period": "2016", "value": 1}], "b.csv"
    )
    with pytest.raises(LedgerError, match=r"test.csv:2: id 'a-1' is already used at b.csv:2"):
        read_ledger(tmp_path)


def test_every_problem_is_reported_at_once_and_lines_count_comments_and_quotes(tmp_path):
    path = tmp_path / "x.csv"
    write_ledger(tmp_path, [])
    path.write_text(
        ",".join(COLUMNS)
        + "\n# a comment line\n"
        + "r-1,revenue,营业收入,park,ETDZ,2015,level,1,亿元,M,read,http://x,"
        + '"a title\nover two lines",q,n\n'
        + "r-2,revenue,营业收入,park,ETDZ,2015,level,1,亿元,Q,read,http://x,t,q,n\n"
        + "r-3,revenue,营业收入,park,ETDZ,2015,level,1,亿元,M,read,http://x,t,q\n",
        encoding="utf-8",
    )
    with pytest.raises(LedgerError) as info:
        read_ledger(tmp_path, files=[path])
    problems = info.value.problems
    assert problems[0].startswith("x.csv:5: confidence 'Q'")
    assert problems[1].startswith("x.csv:6: 14 fields where the header has 15")
    assert len(problems) == 2


def test_a_wrong_header_and_a_derived_row_without_address(tmp_path):
    (tmp_path / "h.csv").write_text("id,variable,value\nx,revenue,1\n", encoding="utf-8")
    write_ledger(tmp_path, [])
    with pytest.raises(LedgerError, match=r"h.csv:1: the header must be the README's columns"):
        read_ledger(tmp_path, files=[tmp_path / "h.csv"])
    rows = [
        {"id": "a-2014", "variable": "revenue", "period": "2014", "value": 10},
        {
            "id": "a-2014-g",
            "variable": "revenue",
            "period": "2014",
            "kind": "growth",
            "unit": "%",
            "value": 5,
            "derivation": "derived: a-2014/a-2013",
            "source_url": "",
        },
    ]
    write_ledger(tmp_path, rows)
    # it names a-2014, a row of the ledger: the source is that row's
    assert read_ledger(tmp_path, files=[tmp_path / "test.csv"]).rows.loc["a-2014-g", "refs"] == (
        "a-2014",
    )
    rows[0]["id"] = "other"
    write_ledger(tmp_path, rows)
    with pytest.raises(LedgerError, match=r"test\.csv:3: column 'source_url' is empty"):
        read_ledger(tmp_path, files=[tmp_path / "test.csv"])


def test_a_missing_folder_or_readme_is_a_clear_error(tmp_path):
    with pytest.raises(LedgerError, match="README"):
        read_ledger(tmp_path)
    write_ledger(tmp_path, []).unlink()
    with pytest.raises(LedgerError, match="no ledger CSV"):
        read_ledger(tmp_path)
