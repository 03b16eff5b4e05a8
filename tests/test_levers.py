"""The lever registry read from the .mdl, its renderings and ``yaan-sim levers``."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from yaan_sim.cli import main
from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import (
    constants,
    lever_registry,
    plan_sections,
    render_levers,
    resolve_name,
)
from yaan_sim.model.load import load_model

FIXTURE_MDL = Path(__file__).parent / "data" / "levers_fixture.mdl"

LEVER_NAMES = {
    "Investment attraction rate",
    "Park fund investment",
    "Loan guarantee scale",
    "PPP share",
    "Enclave transfer share",
    "Research intensity target",
    "Energy efficiency policy rate",
    "Backward capacity exit rate",
    "Power price discount",
    "Idle land recovery rate",
    "Land quota release rate",
    "Entry threshold",
    "Standard factory share",
    "Environmental infrastructure rate",
    "Water efficiency rate",
    "Energy cap growth rate",
}

# Levers of models/yaan_parks.mdl that scenarios, notebooks and docs rely on.
REAL_MODEL_LEVERS = {
    "Park fund investment",
    "Loan guarantee scale",
    "PPP share",
    "Investment incentive rate",
    "Debt limit ratio",
    "Enclave transfer share",
    "Research subsidy rate",
    "Energy efficiency gap closure rate",
    "Water efficiency gap closure rate",
    "Backward capacity exit rate",
    "Power price discount",
    "Energy increment allowance",
    "Idle land disposal rate",
    "Land quota release",
    "Entry threshold",
    "Standard factory share",
    "Environmental infrastructure gap closure rate",
    "Air pollutant removal",
}


@pytest.fixture(scope="module")
def fx_model():
    return load_model(FIXTURE_MDL)


def test_registry_is_read_from_the_mdl(fx_model):
    levers = lever_registry(fx_model)
    assert set(levers) == LEVER_NAMES
    et = levers["Entry threshold"]
    assert (et.py_name, et.units, et.min, et.max) == ("entry_threshold", "wanyuan/mu", 50, 500)
    assert et.dims == ("park",) and et.subscripts == ("Park",)
    assert et.coords["park"][0] == "ETDZ" and len(et.coords["park"]) == 9
    assert et.ranges["park"]["East"] == ("ETDZ", "Yucheng", "Chengya", "Yingjing")
    assert et.zh == "入园投资强度门槛" and et.plan.startswith("三(二)3")
    assert float(et.default.sel(park="ETDZ")) == 150
    bce = levers["Backward capacity exit rate"]
    assert bce.dims == ("industry",) and bce.default_json()["TeBi"] == 0.02
    assert levers["PPP share"].dims == () and levers["PPP share"].default_json() == 0.05
    # An integer default in the .mdl still comes out as float.
    assert levers["Park fund investment"].default.dtype.kind == "f"


def test_non_levers_are_constants_but_not_levers(fx_model):
    assert "Depreciation rate" not in lever_registry(fx_model)
    c = constants(fx_model)
    assert not c["Depreciation rate"].is_lever and c["Output capital ratio"].dims == ("park",)
    assert not {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"} & set(c)


def test_names_resolve_from_py_names_and_case(fx_model):
    levers = lever_registry(fx_model)
    assert resolve_name("ppp_share", levers) == "PPP share"
    assert resolve_name("entry   THRESHOLD", levers) == "Entry threshold"
    assert resolve_name("Entry_threshold", levers) == "Entry threshold"
    assert resolve_name("Entry thresholds", levers) is None


def test_json_is_a_list_of_objects(fx_model):
    data = json.loads(render_levers(lever_registry(fx_model).values(), "json"))
    assert isinstance(data, list) and len(data) == len(LEVER_NAMES)
    by = {d["name"]: d for d in data}
    for d in data:
        assert {"name", "units", "min", "max", "default", "dims"} <= set(d)
    assert by["PPP share"]["default"] == 0.05 and by["PPP share"]["dims"] == []
    assert by["Investment attraction rate"]["default"]["ETDZ"] == 0.12
    assert by["Energy cap growth rate"]["min"] == -0.05


def test_csv_has_one_row_per_lever(fx_model):
    text = render_levers(lever_registry(fx_model).values(), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(LEVER_NAMES)
    row = next(r for r in rows if r["name"] == "Entry threshold")
    assert (row["units"], float(row["min"]), float(row["max"]), row["dims"]) == (
        "wanyuan/mu",
        50.0,
        500.0,
        "park",
    )
    assert json.loads(row["default"])["Chengya"] == 150


def test_table_lists_every_lever(fx_model):
    text = render_levers(lever_registry(fx_model).values(), "table", lang="zh")
    for name in LEVER_NAMES:
        assert name in text
    assert "[50, 500] wanyuan/mu" in text and "入园投资强度门槛" in text
    with pytest.raises(YaanSimError, match="unknown format"):
        render_levers([], "xml")


def test_plan_sections_drop_the_quoted_text():
    assert plan_sections('一(三) "不低于1.2%"; 二(五)1 "加大研发投入"') == "一(三); 二(五)1"


def test_cli_levers_json(capsys):
    assert main(["levers", "--format", "json", "--model", str(FIXTURE_MDL)]) == 0
    assert {d["name"] for d in json.loads(capsys.readouterr().out)} == LEVER_NAMES


def test_cli_levers_bad_combination_exits_2(capsys):
    assert main(["levers", "--format", "markdown", "--model", str(FIXTURE_MDL)]) == 2
    assert "--compare" in capsys.readouterr().err


def test_real_model_levers_are_documented(model):
    levers = lever_registry(model)  # `model`: the real model, from conftest.py
    # the real model's own levers (the fixture keeps the names it was written with)
    assert set(levers) >= REAL_MODEL_LEVERS
    for lv in levers.values():
        assert lv.units, lv.name
        assert not (math.isnan(lv.min) or math.isnan(lv.max)), f"{lv.name} has no [min,max]"
        assert lv.en and lv.zh and lv.plan, f"{lv.name} lacks en:, zh: or plan:"
        values = lv.default.values.ravel()
        assert ((values >= lv.min) & (values <= lv.max)).all(), f"{lv.name} default out of range"
