"""The run manifest: typed, recorded file by file, and read back as untrusted input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import yaan_sim as ys
from yaan_sim.cli import main
from yaan_sim.errors import ResultsError
from yaan_sim.outputs.manifest import Manifest
from yaan_sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
H = ys.Horizon(2016, 2018, 0.25, 0.5)


@pytest.fixture(scope="module")
def made(model, tmp_path_factory):
    """A results file of the uncertain plan (a chain of three files in two folders)."""
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    ds = ys.simulate(model, [sc], horizon=H, return_vars=["Revenue"])
    path = tmp_path_factory.mktemp("made") / "made.nc"
    ys.to_netcdf(ds, path)
    return path, json.loads(ds.attrs["manifest"])


def test_each_file_of_the_chain_is_recorded_with_its_place(made):
    _, raw = made
    files = raw["scenarios"][0]["files"]
    assert [(f["folder"], f["name"]) for f in files] == [
        (["uncertain"], "plan-uncertain.yaml"),
        ([], "plan.yaml"),
        ([], "baseline.yaml"),
    ]
    text = (REPO / "scenarios/uncertain/plan-uncertain.yaml").read_text(encoding="utf-8")
    assert files[0]["text"] == text
    m = Manifest.from_dict(raw)
    assert m.to_dict() == raw  # read back unchanged
    assert m.horizon == H and m.kind == "simulate" and m.return_vars == ("Revenue",)


def test_the_scenario_gives_the_manifest_each_files_text(model, tmp_path):
    """Scenario.texts, not a split of the joined text: a file that holds a line like the
    old ``# --- name`` header is still recorded as one file, unchanged."""
    text = "name: tricky\n# --- not-a-file.yaml\nextends: baseline\n"
    (tmp_path / "tricky.yaml").write_text(text, encoding="utf-8")
    sc = load_scenario(tmp_path / "tricky.yaml", model)
    assert sc.texts == tuple(p.read_text(encoding="utf-8") for p in sc.sources)
    files = Manifest.create(model, engine="pysd", horizon=H, scenarios=[sc]).scenarios[0].files
    assert (files[0].name, files[0].text) == ("tricky.yaml", text)
    assert [f.name for f in files] == [p.name for p in sc.sources]


def _with(raw, path, value):
    out = copy.deepcopy(raw)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


FILE = ("scenarios", 0, "files", 0)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("horizon",), KeyError, "horizon is missing"),
        (("horizon",), [2016, 2020], "horizon is a list, not an object"),
        (("horizon", "start"), "2016", r"horizon.start is '2016' \(text\), not a number"),
        (("horizon", "stop"), 2000, "is not a horizon .stop 2000 is not after start"),
        (("horizon", "step"), 0, "is not a horizon .step 0 is not positive"),
        (("horizon", "step"), 0.3, "not a whole number of steps"),
        (("seed",), -1, "seed is -1 .a number., not a whole number >= 0"),
        (("samples",), True, "samples is true"),
        (("model_sha256",), "abc", "model_sha256 is 'abc', not of the expected form"),
        (("kind",), "anything", "kind is 'anything', not one of"),
        (("engine",), "rm -rf /", "engine is 'rm -rf /'"),
        (("scenarios",), {"plan": "x"}, "scenarios is an object, not a list"),
        (("scenarios", 0), "plan", r"manifest.s scenarios\[0\] is .plan. .text., not an object"),
        ((*FILE, "name"), "../evil.yaml", "names '../evil.yaml', which is a path"),
        ((*FILE, "name"), "/tmp/evil.yaml", "which is a path"),
        ((*FILE, "name"), "..\\evil.yaml", "which is a path"),
        ((*FILE, "name"), "C:evil.yaml", "which is a path"),
        ((*FILE, "name"), "..", "which is a path"),
        ((*FILE, "folder"), ["..", ".."], r"folder names '\.\.', which is a path"),
        ((*FILE, "folder"), "uncertain", "folder is 'uncertain' .text., not a list of texts"),
        ((*FILE, "text"), 3, "text is 3 .a number., not text"),
        (("manifest_version",), 99, "version 99, newer than this yaan-sim reads"),
    ],
)
def test_a_bad_manifest_names_the_field(made, path, value, message):
    _, raw = made
    with pytest.raises(ResultsError, match=message):
        Manifest.from_dict(_with(raw, path, value), "r.nc")


@pytest.mark.parametrize("text", ["[]", "3", '"x"', "null", "{", "NaN"])
def test_a_manifest_that_is_not_an_object_is_refused(text):
    with pytest.raises(ResultsError, match="manifest"):
        Manifest.from_json(text, "r.nc")


def _results_with(path: Path, src: Path, manifest) -> Path:
    ds = xr.load_dataset(src)
    ds.attrs["manifest"] = manifest if isinstance(manifest, str) else json.dumps(manifest)
    ds.to_netcdf(path)
    return path


def test_rerun_never_writes_outside_its_folder(made, tmp_path, capsys):
    src, raw = made
    evil = tmp_path / "evil.yaml"
    bad = _with(raw, (*FILE, "name"), "../../../../../../../.." + str(evil))
    hostile = _results_with(tmp_path / "hostile.nc", src, bad)
    assert main(["rerun", str(hostile), "-o", str(tmp_path / "again.nc")]) == 2
    err = capsys.readouterr().err
    assert "which is a path, not a plain file name" in err and "Traceback" not in err
    assert not evil.exists() and not (tmp_path / "again.nc").exists()


@pytest.mark.parametrize(
    "manifest",
    [
        "[1, 2]",
        json.dumps({"engine": "vector"}),
        json.dumps({"model_sha256": "0" * 64, "engine": "vector", "horizon": "2016:2020"}),
    ],
)
def test_rerun_of_a_malformed_manifest_exits_2(made, tmp_path, capsys, manifest):
    src, _ = made
    path = _results_with(tmp_path / "m.nc", src, manifest)
    assert main(["rerun", str(path), "-o", str(tmp_path / "again.nc")]) == 2
    assert "manifest" in capsys.readouterr().err


def _version_1(raw: dict) -> dict:
    """The manifest as yaan-sim wrote it before version 2: one text per scenario with
    ``# --- name`` headers, and the files' paths."""
    old = {k: v for k, v in raw.items() if k != "manifest_version"}
    scenarios = []
    for s in raw["scenarios"]:
        text = "".join(f"# --- {f['name']}\n{f['text']}" for f in s["files"])
        scenarios.append(
            {"name": s["name"], "sha256": s["sha256"], "sources": s["sources"], "text": text}
        )
    old["scenarios"] = scenarios
    return old


def test_a_version_1_manifest_is_read_and_rerun(made, model, tmp_path):
    from yaan_sim.analysis.rerun import rerun

    src, raw = made
    old = _version_1(raw)
    m = Manifest.from_dict(old)
    assert [(f.folder, f.name) for f in m.scenarios[0].files] == [
        (tuple(f["folder"]), f["name"]) for f in raw["scenarios"][0]["files"]
    ]
    again = rerun(_results_with(tmp_path / "v1.nc", src, old), model)
    assert again["revenue"].equals(xr.load_dataset(src)["revenue"])


# Any JSON a hostile file could hold, in the places a manifest has.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_PATHS = st.sampled_from(
    [
        ("horizon",),
        ("horizon", "step"),
        ("seed",),
        ("samples",),
        ("kind",),
        ("engine",),
        ("scenarios",),
        ("scenarios", 0),
        ("scenarios", 0, "name"),
        ("scenarios", 0, "files"),
        (*FILE,),
        (*FILE, "name"),
        (*FILE, "folder"),
        (*FILE, "text"),
        ("return_vars",),
        ("versions",),
        ("command",),
        ("manifest_version",),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(_PATHS, _JSON), min_size=1, max_size=3))
def test_any_manifest_is_read_or_refused_and_never_escapes(made, tmp_path_factory, changes):
    _, raw = made
    doc = copy.deepcopy(raw)
    for path, value in changes:
        try:
            doc = _with(doc, path, value)
        except (KeyError, IndexError, TypeError):  # an earlier change removed the place
            continue
    try:
        m = Manifest.from_dict(doc, "r.nc")
    except ResultsError:
        return
    folder = tmp_path_factory.mktemp("w")
    for record in m.scenarios:
        try:
            own = record.write_into(folder / "s")
        except ResultsError:
            continue
        assert own.resolve().is_relative_to(folder.resolve())
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(folder.resolve()) for p in written)
