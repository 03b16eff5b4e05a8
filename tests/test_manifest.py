"""The run manifest: typed, recorded file by file, and read back as untrusted input."""

from __future__ import annotations

import copy
import json
import math
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


# ------------------------------------------------------------------ hand-written manifests
# A manifest written out by hand (no run), and every refusal word for word: the field,
# what is wrong with it, and the advice every checked field ends with.

SHA = "ab" * 32
TAIL = (
    "; it was not written by this yaan-sim or has been edited: run the command that made it again"
)


def _hand(**changes) -> dict:
    raw = {
        "tool": "yaan-sim",
        "manifest_version": 2,
        "created_utc": "2026-11-30T08:00:00+00:00",
        "model_file": "yaan.mdl",
        "model_sha256": SHA,
        "engine": "vector",
        "kind": "simulate",
        "horizon": {"start": 2016.0, "stop": 2018.0, "step": 0.25, "saveper": 0.5},
        "seed": 3,
        "samples": None,
        "scenarios": [
            {
                "name": "plan",
                "sha256": "cd" * 32,
                "files": [{"name": "plan.yaml", "folder": [], "text": "name: plan\n"}],
                "sources": ["scenarios/plan.yaml"],
            }
        ],
        "return_vars": None,
        "versions": {"numpy": "2.1.0"},
        "platform": "Linux",
        "command": ["yaan-sim", "run"],
    }
    raw.update(changes)
    return raw


def _refusal(raw, source="r.nc") -> str:
    with pytest.raises(ResultsError) as info:
        Manifest.from_dict(raw, source)
    return str(info.value)


SC = ("scenarios", 0)
F0 = (*SC, "files", 0)
LONG = "k" * 100


@pytest.mark.parametrize(
    "path, value, problem",
    [
        (("horizon",), KeyError, "horizon is missing"),
        (("horizon",), None, "horizon is missing"),
        (("horizon", "start"), "2016", "horizon.start is '2016' (text), not a number"),
        (("horizon", "start"), True, "horizon.start is true (a boolean), not a number"),
        (("horizon", "saveper"), KeyError, "horizon.saveper is missing"),
        (("horizon", "stop"), 2000, "horizon is not a horizon (stop 2000 is not after start 2016)"),
        (("horizon", "step"), 0, "horizon is not a horizon (step 0 is not positive)"),
        (("seed",), -1, "seed is -1 (a number), not a whole number >= 0"),
        (("seed",), 1.5, "seed is 1.5 (a number), not a whole number >= 0"),
        (("seed",), LONG, f"seed is '{'k' * 60}' (text), not a whole number >= 0"),
        (("samples",), 0, "samples is 0 (a number), not a whole number >= 1"),
        (("samples",), True, "samples is true (a boolean), not a whole number >= 1"),
        (("samples",), False, "samples is false (a boolean), not a whole number >= 1"),
        (("manifest_version",), 0, "manifest_version is 0 (a number), not a whole number >= 1"),
        (("model_sha256",), "abc", "model_sha256 is 'abc', not of the expected form"),
        (("model_sha256",), "AB" * 32, f"model_sha256 is '{'AB' * 32}', not of the expected form"),
        (("model_sha256",), SHA + "0", f"model_sha256 is '{SHA}0', not of the expected form"),
        (("model_sha256",), KeyError, "model_sha256 is missing"),
        (("model_sha256",), None, "model_sha256 is missing"),
        (("engine",), "rm -rf /", "engine is 'rm -rf /', not of the expected form"),
        (("engine",), "9pysd", "engine is '9pysd', not of the expected form"),
        (("engine",), KeyError, "engine is missing"),
        (("model_file",), 3, "model_file is 3 (a number), not text"),
        (("model_file",), [], "model_file is a list, not text"),
        (("model_file",), {}, "model_file is an object, not text"),
        (
            ("kind",),
            "anything",
            "kind is 'anything', not one of simulate, designed ensemble, ensemble, batch, loops",
        ),
        (
            ("kind",),
            LONG,
            f"kind is '{'k' * 80}', not one of simulate, designed ensemble, ensemble, batch, loops",
        ),
        (("engine",), LONG + " ", f"engine is '{'k' * 80}', not of the expected form"),
        (("scenarios",), {"plan": "x"}, "scenarios is an object, not a list"),
        ((*SC, "name"), KeyError, "scenarios[0].name is missing"),
        ((*SC, "sha256"), "xyz", "scenarios[0].sha256 is 'xyz', not of the expected form"),
        ((*SC, "files"), "x", "scenarios[0].files is 'x' (text), not a list"),
        ((*SC, "sources"), [1], "scenarios[0].sources is a list, not a list of texts"),
        (
            (*F0, "name"),
            "../evil.yaml",
            "scenarios[0].files[0].name names '../evil.yaml', which is a path, not a plain "
            "file name",
        ),
        (
            (*F0, "folder"),
            ["uncertain", ".."],
            "scenarios[0].files[0].folder names '..', which is a path, not a plain file name",
        ),
        (
            (*F0, "folder"),
            "uncertain",
            "scenarios[0].files[0].folder is 'uncertain' (text), not a list of texts",
        ),
        ((*F0, "text"), 3, "scenarios[0].files[0].text is 3 (a number), not text"),
        ((*F0, "text"), KeyError, "scenarios[0].files[0].text is missing"),
        (("return_vars",), ["Revenue", 1], "return_vars is a list, not a list of texts"),
        (("return_vars",), "Revenue", "return_vars is 'Revenue' (text), not a list of texts"),
        (("versions",), {"numpy": 2}, "versions is an object, not a map of texts"),
        (("versions",), ["numpy"], "versions is a list, not a map of texts"),
        (("command",), "yaan-sim run", "command is 'yaan-sim run' (text), not a list of texts"),
        (("nonfinite",), [None], "nonfinite is a list, not a list of texts"),
        (("created_utc",), 2026, "created_utc is 2026 (a number), not text"),
        (("platform",), False, "platform is false (a boolean), not text"),
        (("tool",), 1.0, "tool is 1.0 (a number), not text"),
        (("ensemble",), {"method": "lhs"}, "ensemble.chunk_size is missing"),
        (
            ("ensemble",),
            {"method": "lhs", "chunk_size": 0},
            "ensemble.chunk_size is 0 (a number), not a whole number >= 1",
        ),
        (("ensemble",), {"chunk_size": 4}, "ensemble.method is missing"),
        (
            ("ensemble",),
            {"method": "lhs", "chunk_size": 4, "workers": -1},
            "ensemble.workers is -1 (a number), not a whole number >= 0",
        ),
        (
            ("ensemble",),
            {"method": "lhs", "chunk_size": 4, "scheduler": 2},
            "ensemble.scheduler is 2 (a number), not text",
        ),
        (
            ("ensemble",),
            {"method": "lhs", "chunk_size": 4, "posterior": []},
            "ensemble.posterior is a list, not text",
        ),
        (
            ("batch",),
            {"sources": "a.yaml"},
            "batch.sources is 'a.yaml' (text), not a list of texts",
        ),
        (("loops",), {"by": "park"}, "loops.max_loops is missing"),
        (
            ("loops",),
            {"by": "park", "max_loops": 0},
            "loops.max_loops is 0 (a number), not a whole number >= 1",
        ),
        (
            ("loops",),
            {"by": "park", "max_loops": 5, "max_length": 0},
            "loops.max_length is 0 (a number), not a whole number >= 1",
        ),
        (("loops",), {"by": 1, "max_loops": 5}, "loops.by is 1 (a number), not text"),
        (
            ("observed",),
            {"file": "obs.csv", "from_year": -1},
            "observed.from_year is -1 (a number), not a whole number >= 0",
        ),
        (("observed",), {"file": 1}, "observed.file is 1 (a number), not text"),
        (("observed",), {"sha256": 1}, "observed.sha256 is 1 (a number), not text"),
    ],
)
def test_each_refusal_word_for_word(path, value, problem):
    assert _refusal(_with(_hand(), path, value)) == f"r.nc: the manifest's {problem}{TAIL}"


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("horizon",), [2016, 2020], "the manifest's horizon is a list, not an object"),
        (SC, "plan", "the manifest's scenarios[0] is 'plan' (text), not an object"),
        (F0, 3, "the manifest's scenarios[0].files[0] is 3 (a number), not an object"),
        (("ensemble",), "lhs", "the manifest's ensemble is 'lhs' (text), not an object"),
        (("batch",), ["a.yaml"], "the manifest's batch is a list, not an object"),
        (("loops",), 5, "the manifest's loops is 5 (a number), not an object"),
        (("observed",), True, "the manifest's observed is true (a boolean), not an object"),
        (
            ("manifest_version",),
            3,
            "the manifest is version 3, newer than this yaan-sim reads (2): update yaan-sim",
        ),
    ],
)
def test_a_part_that_is_not_an_object_or_a_newer_manifest_word_for_word(path, value, message):
    assert _refusal(_with(_hand(), path, value)) == f"r.nc: {message}"


def test_the_manifest_itself_must_be_an_object_and_json_text():
    assert _refusal([1, 2]) == "r.nc: the manifest is a list, not an object"
    with pytest.raises(ResultsError) as info:
        Manifest.from_dict("x")
    assert str(info.value) == "the results: the manifest is 'x' (text), not an object"
    cases = [
        (3, "the manifest is 3 (a number), not JSON text"),
        (None, "the manifest is empty, not JSON text"),
        (b"{}", "the manifest is bytes, not JSON text"),
        ({}, "the manifest is an object, not JSON text"),
    ]
    for value, message in cases:
        with pytest.raises(ResultsError) as info:
            Manifest.from_json(value, "r.nc")
        assert str(info.value) == f"r.nc: {message}"
    with pytest.raises(ResultsError) as info:
        Manifest.from_json("{")
    assert str(info.value) == (
        "the results: the manifest is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1))"
    )
    with pytest.raises(ResultsError) as info:
        Manifest.from_json('{"engine": "vector"}')
    assert str(info.value) == f"the results: the manifest's model_sha256 is missing{TAIL}"


def test_a_hand_written_manifest_is_read_field_by_field():
    from yaan_sim.outputs.manifest import EnsembleRecord, LoopsRecord, ObservedRecord

    raw = _hand(
        kind="designed ensemble",
        samples=20,
        return_vars=["Revenue", "GDP"],
        ensemble={
            "method": "lhs",
            "chunk_size": 8,
            "scheduler": "processes",
            "workers": 0,
            "posterior": "posterior.nc",
        },
        batch={"sources": ["a.yaml", "b.yaml"]},
        loops={"by": "park", "max_loops": 5, "max_length": 7},
        nonfinite=["Stock A"],
        observed={"file": "obs.csv", "sha256": "ef" * 32, "from_year": 2020},
    )
    m = Manifest.from_json(json.dumps(raw), "r.nc")
    assert (m.tool, m.manifest_version, m.created_utc) == (
        "yaan-sim",
        2,
        "2026-11-30T08:00:00+00:00",
    )
    assert (m.model_file, m.model_sha256, m.engine, m.kind) == (
        "yaan.mdl",
        SHA,
        "vector",
        "designed ensemble",
    )
    assert m.horizon == ys.Horizon(2016.0, 2018.0, 0.25, 0.5)
    assert (m.seed, m.samples, m.return_vars) == (3, 20, ("Revenue", "GDP"))
    [sc] = m.scenarios
    assert (sc.name, sc.sha256, sc.sources) == ("plan", "cd" * 32, ("scenarios/plan.yaml",))
    assert [(f.name, f.text, f.folder) for f in sc.files] == [("plan.yaml", "name: plan\n", ())]
    assert m.ensemble == EnsembleRecord("lhs", 8, "processes", 0, "posterior.nc")
    assert m.batch_sources == ("a.yaml", "b.yaml")
    assert m.loops == LoopsRecord("park", 5, 7)
    assert m.nonfinite == ("Stock A",)
    assert m.observed == ObservedRecord("obs.csv", "ef" * 32, 2020)
    assert dict(m.versions) == {"numpy": "2.1.0"}
    assert (m.platform, m.command) == ("Linux", ("yaan-sim", "run"))
    assert m.to_dict() == raw  # every section written back as it was read
    assert json.loads(m.to_json()) == raw


def test_what_a_manifest_may_leave_out():
    raw = {
        "model_sha256": SHA,
        "engine": "pysd",
        "horizon": {"start": 2016, "stop": 2020, "step": 1, "saveper": 1},
        "scenarios": [{"name": "plan", "sha256": ""}],
        "ensemble": {"method": "lhs", "chunk_size": 4, "scheduler": ""},
        "batch": {},
        "loops": {"max_loops": 3},
        "observed": {},
    }
    m = Manifest.from_dict(raw)
    assert m.manifest_version == 1 and m.tool == "yaan-sim" and m.kind == "simulate"
    assert (m.model_file, m.created_utc, m.platform) == ("", "", "")
    assert (m.seed, m.samples, m.return_vars) == (None, None, None)
    assert (m.command, m.nonfinite, dict(m.versions)) == ((), (), {})
    assert m.horizon == ys.Horizon(2016.0, 2020.0, 1.0, 1.0)
    assert type(m.horizon.start) is float
    [sc] = m.scenarios
    assert (sc.name, sc.sha256, sc.files, sc.sources) == ("plan", None, (), ())
    assert (m.ensemble.scheduler, m.ensemble.workers, m.ensemble.posterior) == (None, None, None)
    assert m.batch_sources is None
    assert (m.loops.by, m.loops.max_loops, m.loops.max_length) == ("", 3, None)
    assert (m.observed.file, m.observed.sha256, m.observed.from_year) == ("", "", None)
    out = m.to_dict()
    assert "batch" not in out and "nonfinite" not in out
    assert out["manifest_version"] == 1 and out["return_vars"] is None
    assert out["scenarios"] == [{"name": "plan", "sha256": None, "files": [], "sources": []}]
    bare = Manifest.from_dict({k: raw[k] for k in ("model_sha256", "engine", "horizon")})
    assert bare.scenarios == () and bare.ensemble is None and bare.loops is None
    assert bare.observed is None and bare.batch_sources is None
    assert set(bare.to_dict()) == {
        "tool",
        "manifest_version",
        "created_utc",
        "model_file",
        "model_sha256",
        "engine",
        "kind",
        "horizon",
        "seed",
        "samples",
        "scenarios",
        "return_vars",
        "versions",
        "platform",
        "command",
    }


def test_a_manifest_is_json_with_its_text_unescaped():
    m = Manifest.from_dict(_hand(scenarios=[{"name": "规划", "files": []}]))
    assert '"name": "规划"' in m.to_json()
    assert m.to_json().startswith('{"tool": "yaan-sim", "manifest_version": 2, ')


@pytest.mark.parametrize(
    "name",
    ["plan.yaml", "XY Plan.yaml", "规划.yaml", "x" * 255, "é" * 127 + "x", ".hidden", "a..b"],
)
def test_a_plain_file_name_is_accepted(name):
    raw = _with(_hand(), (*F0, "name"), name)
    assert Manifest.from_dict(raw).scenarios[0].files[0].name == name
    raw = _with(_hand(), (*F0, "folder"), [name])
    assert Manifest.from_dict(raw).scenarios[0].files[0].folder == (name,)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b.yaml",
        "a\\b.yaml",
        "a\0b.yaml",
        "C:plan.yaml",
        " plan.yaml",
        "plan.yaml ",
        "x" * 256,
        "é" * 128,
        "a\tb.yaml",
        "a\u200bb.yaml",
        "\ud800.yaml",
    ],
)
def test_a_name_that_is_no_plain_file_name_is_refused(name):
    raw = _with(_hand(), (*F0, "name"), name)
    assert _refusal(raw) == (
        f"r.nc: the manifest's scenarios[0].files[0].name names {name[:80]!r}, which is a "
        f"path, not a plain file name{TAIL}"
    )


def test_a_version_1_manifest_splits_its_text_under_the_headers():
    text = "# --- plan.yaml  \nname: plan\nextends: baseline\n# --- baseline.yaml\nname: baseline"
    raw = _hand(
        scenarios=[
            {
                "name": "plan",
                "sha256": "cd" * 32,
                "sources": ["/p/s/plan.yaml", "/p/baseline.yaml"],
                "text": text,
            }
        ]
    )
    del raw["manifest_version"]
    m = Manifest.from_dict(raw)
    assert m.manifest_version == 1
    assert [(f.name, f.text, f.folder) for f in m.scenarios[0].files] == [
        ("plan.yaml", "name: plan\nextends: baseline\n", ("s",)),
        ("baseline.yaml", "name: baseline", ()),
    ]
    assert m.scenarios[0].sources == ("/p/s/plan.yaml", "/p/baseline.yaml")
    assert (m.scenarios[0].name, m.scenarios[0].sha256) == ("plan", "cd" * 32)
    # sources that do not match the files one to one: no folders
    raw["scenarios"][0]["sources"] = ["/p/s/plan.yaml"]
    assert [f.folder for f in Manifest.from_dict(raw).scenarios[0].files] == [(), ()]
    raw["scenarios"][0] = {"name": "plan"}  # no text, no hash: a scenario with no files
    assert Manifest.from_dict(raw).scenarios[0].files == ()
    assert Manifest.from_dict(raw).scenarios[0].sha256 is None


@pytest.mark.parametrize(
    "scenario, message",
    [
        (
            {"name": "plan", "text": "name: plan\n"},
            "r.nc: scenarios[0]: the recorded scenario text has no file headers",
        ),
        (
            {"name": "plan", "text": "# --- ../plan.yaml\nname: plan\n"},
            f"r.nc: the manifest's scenarios[0].text names '../plan.yaml', which is a path, "
            f"not a plain file name{TAIL}",
        ),
        (
            {
                "name": "plan",
                "text": "# --- a.yaml\n# --- b.yaml\n",
                "sources": ["/p/ s/a.yaml", "/p/b.yaml"],
            },
            f"r.nc: the manifest's scenarios[0].sources names ' s', which is a path, not a "
            f"plain file name{TAIL}",
        ),
    ],
)
def test_a_bad_version_1_scenario_word_for_word(scenario, message):
    raw = _hand(manifest_version=1, scenarios=[scenario])
    assert _refusal(raw) == message


def test_write_into_lays_the_files_out_byte_for_byte(tmp_path):
    from yaan_sim.outputs.manifest import ScenarioFile, ScenarioRecord

    record = ScenarioRecord(
        "plan",
        None,
        (
            ScenarioFile("plan.yaml", "name: plan\r\nextends: baseline\r\n", ("a", "b")),
            ScenarioFile("plan.yaml", "name: baseline\n"),
            ScenarioFile("规划.yaml", "标题: 规划\n", ("a",)),
        ),
    )
    own = record.write_into(str(tmp_path / "new"))
    assert own == (tmp_path / "new" / "a" / "b" / "plan.yaml").resolve()
    assert own.read_bytes() == b"name: plan\r\nextends: baseline\r\n"
    assert (tmp_path / "new" / "plan.yaml").read_bytes() == b"name: baseline\n"
    assert (tmp_path / "new" / "a" / "规划.yaml").read_bytes() == "标题: 规划\n".encode()


def test_write_into_refuses_word_for_word(tmp_path):
    from yaan_sim.outputs.manifest import ScenarioFile, ScenarioRecord

    def refusal(*files):
        with pytest.raises(ResultsError) as info:
            ScenarioRecord("plan", None, files).write_into(tmp_path / "w")
        return str(info.value)

    assert refusal() == "scenario 'plan' has no recorded file text: it cannot be re-run"
    assert refusal(ScenarioFile("a.yaml", "x", ("s",)), ScenarioFile("a.yaml", "y", ("s",))) == (
        "the manifest gives two files of scenario 'plan' the same place"
    )
    root = (tmp_path / "w").resolve()
    assert refusal(ScenarioFile("../out.yaml", "x")) == (
        f"the manifest's file '../out.yaml' lies outside {root}"
    )
    assert refusal(ScenarioFile("a.yaml", "x"), ScenarioFile("b.yaml", "\ud800")) == (
        "the manifest's text of 'b.yaml' is not valid Unicode text"
    )
    assert not (tmp_path / "out.yaml").exists()


def test_the_record_of_a_scenario_made_in_code(tmp_path):
    from types import SimpleNamespace

    from yaan_sim.outputs.manifest import scenario_record

    own, parent = tmp_path / "s" / "t" / "plan.yaml", tmp_path / "baseline.yaml"
    sc = SimpleNamespace(
        name="plan",
        sources=[own, str(parent)],
        texts=("a: 1\n", "b: 2\n"),
        text="# --- x.yaml\nc: 3\n",
        sha256="cd" * 32,
    )
    r = scenario_record(sc)
    assert (r.name, r.sha256, r.sources) == ("plan", "cd" * 32, (str(own), str(parent)))
    assert [(f.name, f.text, f.folder) for f in r.files] == [
        ("plan.yaml", "a: 1\n", ("s", "t")),
        ("baseline.yaml", "b: 2\n", ()),
    ]
    # texts that do not match the sources: the joined text, split at its headers
    sc = SimpleNamespace(
        name="plan",
        sources=[own],
        texts=("a", "b"),
        text="# --- plan.yaml\na: 1\n# --- baseline.yaml\nb: 2\n",
    )
    r = scenario_record(sc)
    assert r.sha256 is None
    assert [(f.name, f.text, f.folder) for f in r.files] == [
        ("plan.yaml", "a: 1\n", ()),
        ("baseline.yaml", "b: 2\n", ()),
    ]
    one = scenario_record(SimpleNamespace(name="one", sources=[own], text="# --- p.yaml\nx\n"))
    assert [(f.name, f.folder) for f in one.files] == [("p.yaml", ())]  # one file: no sub-folder
    bare = scenario_record(SimpleNamespace(name="bare"))
    assert (bare.name, bare.sha256, bare.files, bare.sources) == ("bare", None, (), ())
    with pytest.raises(ResultsError) as info:
        scenario_record(SimpleNamespace(name="x", text="a: 1\n"))
    assert str(info.value) == "the scenario: the recorded scenario text has no file headers"


def test_create_records_this_run_and_this_environment(monkeypatch):
    import datetime as dt
    import platform
    import re
    import sys
    from importlib import metadata
    from types import SimpleNamespace

    from yaan_sim.outputs.manifest import EnsembleRecord, LoopsRecord

    fake = SimpleNamespace(mdl_path=Path("/models/x/yaan.mdl"), mdl_sha256=SHA)
    monkeypatch.setattr(sys, "argv", ["yaan-sim", "run", "plan"])
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    m = Manifest.create(fake, engine="vector", horizon=ys.Horizon(2016, 2020, 1, 1))
    after = dt.datetime.now(dt.UTC)
    assert (m.model_file, m.model_sha256, m.engine, m.kind) == (
        "yaan.mdl",
        SHA,
        "vector",
        "simulate",
    )
    assert m.horizon == ys.Horizon(2016.0, 2020.0, 1.0, 1.0)
    assert all(
        type(v) is float
        for v in (m.horizon.start, m.horizon.stop, m.horizon.step, m.horizon.saveper)
    )
    assert (m.seed, m.samples, m.scenarios, m.return_vars) == (None, None, (), None)
    assert (m.ensemble, m.batch_sources, m.loops, m.nonfinite) == (None, None, None, ())
    assert m.command == ("yaan-sim", "run", "plan")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", m.created_utc)
    assert before <= dt.datetime.fromisoformat(m.created_utc) <= after
    assert m.platform == platform.platform()
    assert list(m.versions) == [
        "python",
        "yaan-sim",
        "pysd",
        "numpy",
        "xarray",
        "pandas",
        "scipy",
        "netCDF4",
    ]
    assert m.versions["python"] == platform.python_version()
    assert m.versions["numpy"] == metadata.version("numpy")
    assert (m.tool, m.manifest_version) == ("yaan-sim", 2)

    ens, loops = EnsembleRecord("lhs", 4), LoopsRecord("park", 3)
    m = Manifest.create(
        fake,
        engine="pysd",
        horizon=ys.Horizon(2016, 2020, 0.5, 1),
        seed=7,
        samples=9,
        argv=[],
        kind="batch",
        return_vars=["Revenue"],
        ensemble=ens,
        batch_sources=[],
        loops=loops,
        nonfinite=["Stock"],
    )
    assert (m.seed, m.samples, m.command, m.kind) == (7, 9, (), "batch")
    assert (m.return_vars, m.ensemble, m.batch_sources) == (("Revenue",), ens, ())
    assert (m.loops, m.nonfinite) == (loops, ("Stock",))
    assert (
        Manifest.create(fake, engine="pysd", horizon=m.horizon, return_vars=[]).return_vars is None
    )
    assert Manifest.create(
        fake, engine="pysd", horizon=m.horizon, batch_sources=["a"]
    ).batch_sources == ("a",)


def test_a_package_that_is_not_installed_is_recorded_so(monkeypatch):
    from yaan_sim.outputs import manifest

    monkeypatch.setattr(manifest, "VERSIONED", ("numpy", "no-such-package-yaan"))
    manifest._package_versions.cache_clear()
    try:
        versions = manifest.package_versions()
    finally:
        manifest._package_versions.cache_clear()
    assert versions == {
        "python": __import__("platform").python_version(),
        "numpy": __import__("numpy").__version__,
        "no-such-package-yaan": "not installed",
    }


def test_every_problem_of_a_horizon_is_named():
    """JSON as Python reads it allows NaN and Infinity: each bad number is named."""
    text = json.dumps(_hand(horizon={"start": math.nan, "stop": math.inf, "step": 1, "saveper": 1}))
    with pytest.raises(ResultsError) as info:
        Manifest.from_json(text, "r.nc")
    assert str(info.value) == (
        "r.nc: the manifest's horizon is not a horizon (start is nan, not a finite number of "
        f"years; stop is inf, not a finite number of years){TAIL}"
    )


def test_the_observed_figures_may_start_from_year_0():
    m = Manifest.from_dict(_hand(observed={"file": "obs.csv", "from_year": 0}))
    assert (m.observed.file, m.observed.sha256, m.observed.from_year) == ("obs.csv", "", 0)


def test_what_a_version_2_manifest_may_leave_out():
    ensemble = {"method": "lhs", "chunk_size": 4}
    m = Manifest.from_dict(
        _hand(engine="JAX_gpu2", scenarios=[{"name": "plan"}], ensemble=ensemble)
    )
    assert m.engine == "JAX_gpu2" and m.manifest_version == 2
    assert m.scenarios[0].files == () and m.scenarios[0].sha256 is None
    assert (m.ensemble.scheduler, m.ensemble.workers, m.ensemble.posterior) == (None, None, None)
    assert Manifest.from_dict(_hand(engine="_x9")).engine == "_x9"
