"""The stored PySD references (tests/support/pysd_reference.py) are current.

A reference that no longer matches its inputs is never used (PySD runs instead), so a
stale one only slows the suite; this test makes it visible, and says how to refresh."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest
from support import pysd_reference

from yaan_sim.model.load import with_initial_time

REPO = Path(__file__).resolve().parents[1]
PROJECT_MODEL = REPO / "models" / "yaan_parks.mdl"
TEST_MODELS = (
    Path(os.environ.get("YAAN_SIM_TEST_MODELS") or REPO.parent / "shared" / "test-models") / "tests"
)
REFRESH = "run `make references` and commit tests/data/pysd_reference"


def _expected_inputs(name: str) -> dict[str, str] | None:
    """The digests the reference ``name`` must carry; None where its inputs are absent."""
    if name.startswith("conformance/"):
        folder = TEST_MODELS / name.removeprefix("conformance/")
        if not folder.is_dir():
            return None
        return pysd_reference.inputs_digest(p for p in folder.iterdir() if p.is_file())
    text = PROJECT_MODEL.read_text(encoding="utf-8")
    if name == "project-initial-time-2017":
        text = with_initial_time(text, 2017, PROJECT_MODEL)
    return {PROJECT_MODEL.name: pysd_reference.text_digest(text)}


def test_the_project_models_references_are_stored():
    names = {
        p.relative_to(pysd_reference.FOLDER).with_suffix("").as_posix()
        for p, _ in pysd_reference.stored()
    }
    assert {"project-default", "project-plan", "project-from-2017"} <= names, REFRESH


@pytest.mark.parametrize(
    "path, stamp", pysd_reference.stored(), ids=lambda v: getattr(v, "stem", "")
)
def test_each_reference_matches_its_inputs_and_pysd(path, stamp):
    name = path.relative_to(pysd_reference.FOLDER).with_suffix("").as_posix()
    assert stamp["pysd"] == version("pysd"), f"{name}: made by PySD {stamp['pysd']}; {REFRESH}"
    expected = _expected_inputs(name)
    if expected is None:
        pytest.skip(f"{name}: its model files are not here")
    assert stamp["inputs"] == expected, f"{name}: its model changed since it was made; {REFRESH}"


def test_a_reference_is_used_only_for_the_call_and_inputs_it_was_made_from(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setattr(pysd_reference, "FOLDER", tmp_path)
    monkeypatch.setenv(pysd_reference.WRITE_ENV, "1")
    mdl = tmp_path / "m.mdl"
    mdl.write_text("a = 1")
    made = []

    def compute(value):
        def run():
            made.append(value)
            return pd.DataFrame({"x": [value, value + 0.1]}, index=[0.0, 1.0])

        return run

    first = pysd_reference.reference("r", [mdl], "call 1", compute(1.0))
    again = pysd_reference.reference("r", [mdl], "call 1", compute(2.0))
    assert made == [1.0] and again.equals(first)  # stored, then read back exactly
    other_call = pysd_reference.reference("r", [mdl], "call 2", compute(3.0))
    assert made == [1.0, 3.0] and other_call["x"].tolist() == [3.0, 3.1]
    mdl.write_text("a = 2")
    monkeypatch.delenv(pysd_reference.WRITE_ENV)
    edited = pysd_reference.reference("r", [mdl], "call 2", compute(4.0))
    assert made == [1.0, 3.0, 4.0] and edited["x"].tolist() == [4.0, 4.1]
    # without the variable nothing is written: the stored frame, of the old .mdl, stays unused
    assert pysd_reference.reference("r", [mdl], "call 2", compute(5.0))["x"].tolist() == [5.0, 5.1]
