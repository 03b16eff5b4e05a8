"""Reproducibility promises: the default seed, rerun's model check, and writes that fail.

The README promises that a result can be produced again from its manifest and that an
output is never left half-written. Each test here breaks one of those on purpose.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from tests.support.goals_text import PLAN_GOAL_VARIABLES
from yaan_sim.analysis.ensemble import run_ensemble
from yaan_sim.analysis.rerun import rerun
from yaan_sim.cli import main
from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.outputs.results import TEMP_MARK, read_manifest, to_netcdf, write_atomic
from yaan_sim.paths import PROJECT_ROOT
from yaan_sim.scenario import load_scenario

H = ys.Horizon(2016, 2017, 0.25, 0.5)
KEEP = ["Revenue"]


@pytest.fixture(scope="module")
def unc(model):
    return load_scenario("uncertain/plan-uncertain.yaml", model)


# ---- the default seed is 0, everywhere ----
def test_simulate_without_a_seed_draws_as_seed_0_and_records_it(model, unc):
    a = ys.simulate(model, [unc], horizon=H, samples=4, return_vars=KEEP)
    b = ys.simulate(model, [unc], horizon=H, samples=4, return_vars=KEEP)
    zero = ys.simulate(model, [unc], horizon=H, samples=4, seed=0, return_vars=KEEP)
    one = ys.simulate(model, [unc], horizon=H, samples=4, seed=1, return_vars=KEEP)
    np.testing.assert_array_equal(a["revenue"].values, b["revenue"].values)
    np.testing.assert_array_equal(a["revenue"].values, zero["revenue"].values)
    # the draws matter: another seed gives other numbers (else the test above proves nothing)
    assert not np.array_equal(a["revenue"].values, one["revenue"].values)
    assert read_manifest(a)["seed"] == 0 and read_manifest(one)["seed"] == 1


def test_an_ensemble_without_a_seed_is_seed_0(model, unc):
    a = run_ensemble(model, [unc], 6, horizon=H, method="lhs", return_vars=KEEP)
    zero = run_ensemble(model, [unc], 6, horizon=H, method="lhs", seed=0, return_vars=KEEP)
    np.testing.assert_array_equal(a["revenue"].values, zero["revenue"].values)
    assert read_manifest(a)["seed"] == 0


def test_the_cli_records_seed_0_when_none_is_given(tmp_path, capsys):
    out = tmp_path / "e.nc"
    args = ["ensemble", "uncertain/plan-uncertain.yaml", "-n", "4", "--horizon", "2016:2017"]
    assert main([*args, "-o", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert json.loads(xr.load_dataset(out).attrs["manifest"])["seed"] == 0


# ---- rerun checks the model ----
@pytest.fixture(scope="module")
def made(model, unc, tmp_path_factory):
    ds = ys.simulate(model, [unc], horizon=H, samples=3, seed=2, return_vars=KEEP)
    path = tmp_path_factory.mktemp("made") / "made.nc"
    to_netcdf(ds, path)
    return path


def _with_model_hash(src, dst, sha):
    ds = xr.load_dataset(src)
    manifest = json.loads(ds.attrs["manifest"])
    manifest["model_sha256"] = sha
    ds.attrs["manifest"] = json.dumps(manifest)
    ds.to_netcdf(dst)
    return dst


def test_rerun_reproduces_the_seeded_draws(model, made):
    again = rerun(made, model)
    first = xr.load_dataset(made)
    np.testing.assert_array_equal(again["revenue"].values, first["revenue"].values)
    assert set(again.data_vars) == set(first.data_vars)  # the variables kept, not all
    assert read_manifest(again)["seed"] == 2


def test_rerun_of_a_result_of_another_model_is_refused(model, made, tmp_path, capsys):
    other = _with_model_hash(made, tmp_path / "other.nc", "ab" * 32)
    with pytest.raises(ResultsError, match=r"the model has changed since .*\(model sha256 abab"):
        rerun(other, model)
    out = tmp_path / "again.nc"
    assert main(["rerun", str(other), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the model has changed" in err and "--model" in err and "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.nc"]  # nothing else written


def _with_manifest(src, dst, **changes):
    ds = xr.load_dataset(src)
    manifest = json.loads(ds.attrs["manifest"])
    manifest.update(changes)
    ds.attrs["manifest"] = json.dumps(manifest)
    ds.to_netcdf(dst)
    return dst


def test_what_rerun_cannot_replay_is_refused_with_the_command_to_run(model, made, tmp_path):
    command = ["yaan-sim", "batch", "plan", "-n", "64"]
    other = _with_manifest(made, tmp_path / "s.nc", kind="batch", command=command)
    with pytest.raises(ResultsError) as exc:
        rerun(other, model)
    assert str(exc.value) == (
        f"{other} was made by `batch`, which rerun does not replay; "
        "run its command again: yaan-sim batch plan -n 64"
    )
    gone = _with_manifest(made, tmp_path / "e.nc", engine="abacus")
    with pytest.raises(ResultsError, match=r"with the engine 'abacus', which this yaan-sim does "):
        rerun(gone, model)
    sha = "cd" * 32
    other = _with_manifest(made, tmp_path / "m.nc", model_sha256=sha)
    with pytest.raises(ResultsError) as exc:
        rerun(other, model)  # the hashes' first 12 characters, and what to do
    assert f"(model sha256 {sha[:12]}, now {model.mdl_sha256[:12]})" in str(exc.value)
    assert str(exc.value).endswith("or pass it with --model")


def test_rerun_with_an_edited_model_file_is_refused(made, tmp_path, capsys):
    """The model file itself changed (one comment line): its hash differs."""
    from yaan_sim.paths import DEFAULT_MODEL

    edited = tmp_path / "edited.mdl"
    edited.write_text(
        DEFAULT_MODEL.read_text(encoding="utf-8").replace(
            "zh: 飞地产业转移比例", "zh: 飞地产业转移比例(改)", 1
        ),
        encoding="utf-8",
    )
    assert edited.read_bytes() != DEFAULT_MODEL.read_bytes()
    out = tmp_path / "again.nc"
    assert main(["rerun", str(made), "--model", str(edited), "-o", str(out)]) == 2
    assert "the model has changed" in capsys.readouterr().err
    assert not out.exists()


# ---- an atomic write that fails half-way leaves the old file as it was ----
class Boom(RuntimeError):
    pass


def _half_then(exc):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("half of the new")
            f.flush()
            raise exc

    return write


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), Boom("netCDF failed")])
@pytest.mark.parametrize("force", [False, True])
def test_a_write_that_fails_half_way_keeps_the_old_file(tmp_path, exc, force):
    out = tmp_path / "r.txt"
    out.write_text("the old result", encoding="utf-8")
    expected = YaanSimError if isinstance(exc, OSError) else Boom
    if not force:  # without force the existing file is refused before any writing
        with pytest.raises(YaanSimError, match="exists already"):
            write_atomic(out, _half_then(exc), force=force)
    else:
        with pytest.raises(expected):
            write_atomic(out, _half_then(exc), force=force)
    assert out.read_text(encoding="utf-8") == "the old result"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]  # the temporary file is gone


def test_a_new_output_that_fails_half_way_is_not_created(tmp_path):
    out = tmp_path / "new.txt"
    with pytest.raises(YaanSimError, match=r"cannot write .*new.txt \(No space left on device\)"):
        write_atomic(out, _half_then(OSError(28, "No space left on device")))
    assert list(tmp_path.iterdir()) == []


def test_a_netcdf_that_cannot_be_written_keeps_the_old_results(model, made, tmp_path):
    out = tmp_path / "r.nc"
    out.write_bytes(made.read_bytes())
    bad = xr.load_dataset(made)
    bad.attrs["not storable"] = {"a": 1}  # netCDF refuses a dict attribute while writing
    with pytest.raises(Exception, match=r"(?i)attr|invalid|dict"):
        to_netcdf(bad, out, force=True)
    assert out.read_bytes() == made.read_bytes()
    assert not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]


def test_rerun_of_an_ensemble_keeps_its_variables_and_numbers(model, unc, tmp_path):
    ens = run_ensemble(model, [unc], 6, seed=3, horizon=H, return_vars=KEEP)
    path = tmp_path / "ens.nc"
    to_netcdf(ens, path)
    again = rerun(path, model)
    first = xr.load_dataset(path)
    assert set(again.data_vars) == set(first.data_vars)  # the variables kept, not all
    assert again.sizes == first.sizes
    np.testing.assert_array_equal(again["revenue"].values, first["revenue"].values)
    assert read_manifest(again)["kind"] == "ensemble"


# ---- what rerun passes on: each recorded setting reaches the run (spied, not run) ----
# The runs themselves are tested above on the default engine; here the recorded settings
# differ from every default (engine, keep, chunk size, manifest version), so a setting
# dropped on the way is seen.
def _spy(monkeypatch, target):
    seen: dict = {}

    def fake(*args, **kwargs):
        seen.update(kwargs, args=args)
        return xr.Dataset()

    monkeypatch.setattr(target, fake)
    return seen


HALF_YEARS = {"start": 2016, "stop": 2017, "step": 0.25, "saveper": 0.5}


@pytest.mark.parametrize(
    "version, recorded, passed",
    [
        (2, ["Revenue"], ["Revenue"]),
        (2, None, "all"),  # version 2 records what was kept: None is every variable
        (1, ["Revenue"], ["Revenue"]),
        (1, None, PLAN_GOAL_VARIABLES),  # version 1 recorded what was asked: None, the goals'
    ],
)
def test_rerun_of_an_ensemble_passes_its_recorded_settings(
    model, unc, made, tmp_path, monkeypatch, version, recorded, passed
):
    scenarios = read_manifest(xr.load_dataset(made))["scenarios"]
    if version == 1:  # version 1 kept each scenario as one text with "# --- name" headers
        scenarios = [
            {
                "name": s["name"],
                "sha256": s["sha256"],
                "sources": s["sources"],
                "text": "".join(f"# --- {f['name']}\n{f['text']}" for f in s["files"]),
            }
            for s in scenarios
        ]
    path = _with_manifest(
        made,
        tmp_path / "ens.nc",
        scenarios=scenarios,
        kind="ensemble",
        ensemble={"method": "lhs", "chunk_size": 2},
        engine="pysd",
        samples=5,
        seed=4,
        horizon=HALF_YEARS,
        return_vars=recorded,
        manifest_version=version,
    )
    seen = _spy(monkeypatch, "yaan_sim.analysis.ensemble.run_ensemble")
    rerun(path, model)
    got_model, scenarios, samples = seen.pop("args")
    assert got_model is model and samples == 5
    assert [s.name for s in scenarios] == [unc.name]
    assert seen == {
        "seed": 4,
        "method": "lhs",
        "horizon": ys.Horizon(2016, 2017, 0.25, 0.5),
        "engine": "pysd",
        "return_vars": passed,
        "chunk_size": 2,
        "keep": "all",
    }


def test_rerun_of_a_sampled_run_passes_its_recorded_settings(model, made, tmp_path, monkeypatch):
    path = _with_manifest(
        made, tmp_path / "s.nc", engine="pysd", samples=5, seed=4, horizon=HALF_YEARS
    )
    seen = _spy(monkeypatch, "yaan_sim.engines.simulate.simulate")
    rerun(path, model)
    got_model, scenarios = seen.pop("args")
    assert got_model is model and len(scenarios) == 1
    assert seen == {
        "engine": "pysd",
        "horizon": ys.Horizon(2016, 2017, 0.25, 0.5),
        "samples": 5,
        "seed": 4,
        "return_vars": ["Revenue"],
        "keep": "all",
    }


OBSERVED = """variable,park,year,value,unit,source,confidence
revenue,ETDZ,2019,350,亿元,test,M
"""


def test_rerun_of_a_re_projection_passes_its_recorded_settings(model, made, tmp_path, monkeypatch):
    obs = tmp_path / "obs.csv"
    obs.write_text(OBSERVED, encoding="utf-8")
    sha = hashlib.sha256(obs.read_bytes()).hexdigest()
    record = {"file": str(obs), "sha256": sha, "from_year": 2019}
    path = _with_manifest(
        made, tmp_path / "r.nc", engine="pysd", observed=record, horizon=HALF_YEARS
    )
    seen = _spy(monkeypatch, "yaan_sim.analysis.reproject.reproject")
    rerun(path, model)
    got_model, scenarios, table, from_year = seen.pop("args")
    assert got_model is model and len(scenarios) == 1 and from_year == 2019
    assert table.attrs["sha256"] == sha and list(table["value"]) == [350.0]
    assert seen == {"engine": "pysd", "horizon": ys.Horizon(2016, 2017, 0.25, 0.5)}


# ---- what rerun refuses, word for word ----
def _refusal(path, model) -> str:
    with pytest.raises(ResultsError) as exc:
        rerun(path, model)
    return str(exc.value)


def test_rerun_refuses_an_ensemble_drawn_from_a_posterior(model, made, tmp_path):
    path = _with_manifest(
        made,
        tmp_path / "p.nc",
        kind="ensemble",
        ensemble={"method": "mc", "chunk_size": 2, "posterior": "post.nc"},
        command=["yaan-sim", "ensemble", "plan", "--posterior", "post.nc"],
    )
    assert _refusal(path, model) == (
        f"{path} drew its calibrated constants from the posterior 'post.nc', which rerun "
        "does not replay: run its command again: yaan-sim ensemble plan --posterior post.nc"
    )


@pytest.mark.parametrize(
    "changes",
    [{"ensemble": None}, {"ensemble": {"method": "mc", "chunk_size": 2}, "samples": None}],
)
def test_rerun_refuses_an_ensemble_without_its_design(model, made, tmp_path, changes):
    path = _with_manifest(made, tmp_path / "e.nc", kind="ensemble", **changes)
    assert _refusal(path, model) == (
        f"{path}: the manifest of an ensemble lacks its `ensemble` or `samples`"
    )


def test_rerun_refusals_name_the_engines_the_model_and_the_file(model, made, tmp_path):
    gone = _with_manifest(made, tmp_path / "e.nc", engine="abacus")
    assert _refusal(gone, model).startswith(
        f"{gone} was made with the engine 'abacus', which this yaan-sim does not have "
        "(it has auto, vector, pysd"
    )
    sha, now = "cd" * 32, model.mdl_sha256[:12]
    for model_file, named in (("", "the model"), ("parks.mdl", "parks.mdl")):
        other = _with_manifest(made, tmp_path / "m.nc", model_sha256=sha, model_file=model_file)
        assert _refusal(other, model) == (
            f"the model has changed since {other} was made (model sha256 cdcdcdcdcdcd, now "
            f"{now}): check out the version of {named} that produced it, or pass it with --model"
        )
    bad = xr.load_dataset(made)
    bad.attrs["manifest"] = '{"engine": "vector"}'  # an object, but no manifest
    bad.to_netcdf(tmp_path / "bad.nc")
    assert _refusal(tmp_path / "bad.nc", model).startswith(f"{tmp_path / 'bad.nc'}: ")


def test_rerun_refuses_a_scenario_that_rebuilds_to_another_hash(model, unc, made, tmp_path):
    manifest = read_manifest(xr.load_dataset(made))
    manifest["scenarios"][0]["sha256"] = "ef" * 32
    path = _with_manifest(made, tmp_path / "h.nc", scenarios=manifest["scenarios"])
    assert _refusal(path, model) == (
        f"scenario {unc.name!r} rebuilt from the manifest hashes differently "
        f"({unc.sha256[:12]} vs efefefefefef)"
    )


# ---- the observed figures of a re-projection: where rerun looks, and their hash ----
COMMAND = ["yaan-sim", "run", "plan", "--from", "2019", "--observed", "obs.csv"]
AGAIN = "run its command again with the figures it used: " + " ".join(COMMAND)


def test_recorded_observed_figures_are_found_as_given_beside_the_results_or_in_the_project(
    model, tmp_path, monkeypatch
):
    from yaan_sim.analysis.rerun import recorded_observed
    from yaan_sim.outputs.manifest import ObservedRecord

    beside = tmp_path / "out"
    beside.mkdir()
    (beside / "obs.csv").write_text(OBSERVED, encoding="utf-8")
    sha = hashlib.sha256(OBSERVED.encode()).hexdigest()
    monkeypatch.chdir(tmp_path)  # not the results' folder: found beside them, not here
    table = recorded_observed(ObservedRecord("obs.csv", sha), beside / "r.nc", model, COMMAND)
    assert table.attrs["sha256"] == sha and table.attrs["path"] == str(beside / "obs.csv")
    # as given (relative to the working folder) comes first
    (tmp_path / "obs.csv").write_text(OBSERVED, encoding="utf-8")
    table = recorded_observed(ObservedRecord("obs.csv"), beside / "r.nc", model, COMMAND)
    assert table.attrs["path"] == "obs.csv"
    # in the project: the shipped figures named as the project names them
    shipped = Path("models") / "data" / "observed.csv"
    table = recorded_observed(ObservedRecord(str(shipped)), beside / "r.nc", model, COMMAND)
    assert table.attrs["path"] == str(PROJECT_ROOT / shipped)


def test_recorded_observed_figures_missing_or_changed_are_refused(model, tmp_path, monkeypatch):
    from yaan_sim.analysis.rerun import recorded_observed
    from yaan_sim.outputs.manifest import ObservedRecord

    monkeypatch.chdir(tmp_path)
    results = tmp_path / "out" / "r.nc"
    with pytest.raises(ResultsError) as exc:
        recorded_observed(ObservedRecord("obs.csv"), results, model, COMMAND)
    assert str(exc.value) == (
        f"{results} was re-projected from the observed figures in 'obs.csv', which rerun "
        f"cannot find (looked in obs.csv, {tmp_path / 'out' / 'obs.csv'}, "
        f"{PROJECT_ROOT / 'obs.csv'}): {AGAIN}"
    )
    gone = tmp_path / "gone.csv"  # an absolute path is looked for there only
    with pytest.raises(ResultsError, match=rf"\(looked in {re.escape(str(gone))}\): "):
        recorded_observed(ObservedRecord(str(gone)), results, model, COMMAND)
    obs = tmp_path / "obs.csv"
    obs.write_text(OBSERVED, encoding="utf-8")
    now = hashlib.sha256(obs.read_bytes()).hexdigest()[:12]
    with pytest.raises(ResultsError) as exc:
        recorded_observed(ObservedRecord("obs.csv", "ab" * 32), results, model, COMMAND)
    assert str(exc.value) == (
        f"the observed figures in obs.csv have changed since {results} was made "
        f"(sha256 abababababab, now {now}): restore them, or {AGAIN}"
    )


# ---- the model rerun is given is the one the scenarios and figures are read against ----
@pytest.fixture(scope="module")
def parks2():  # another model: two parks (ETDZ, Hanyuan) and none of Ya'an's levers
    return ys.load_model(Path(__file__).parent / "data" / "calib_parks.mdl")


def test_scenarios_are_rebuilt_against_the_model_given(made, parks2, tmp_path):
    from yaan_sim.analysis.rerun import rebuild_scenarios
    from yaan_sim.errors import ScenarioError
    from yaan_sim.outputs.manifest import Manifest

    raw = read_manifest(xr.load_dataset(made))
    text = "name: s\nlevers:\n  PPP share: 0.1\n"  # a lever of Ya'an's model only
    raw["scenarios"] = [{"name": "s", "files": [{"name": "s.yaml", "text": text}]}]
    with pytest.raises(ScenarioError, match="unknown lever 'PPP share'"):
        rebuild_scenarios(Manifest.from_dict(raw), parks2, tmp_path)


def test_recorded_observed_figures_are_read_against_the_model_given(parks2, tmp_path):
    from yaan_sim.analysis.rerun import recorded_observed
    from yaan_sim.outputs.manifest import ObservedRecord

    obs = tmp_path / "obs.csv"
    obs.write_text(OBSERVED.replace("ETDZ", "Shimian"), encoding="utf-8")  # not its park
    with pytest.raises(YaanSimError, match="park 'Shimian' is not a park"):
        recorded_observed(ObservedRecord(str(obs)), tmp_path / "r.nc", parks2, COMMAND)


def test_a_run_of_another_model_with_its_own_scenario_is_reproduced(parks2, tmp_path):
    """rerun rebuilds the scenario against the model it is given, end to end: a scenario
    of calib_parks.mdl's own constant reads back against that model (against Ya'an's it
    would be an unknown lever), and the numbers come back bit for bit."""
    scenario = tmp_path / "faster.yaml"
    scenario.write_text("name: faster\nlevers:\n  Growth rate:\n    ETDZ: 0.3\n", encoding="utf-8")
    sc = load_scenario(scenario, parks2)
    made = to_netcdf(ys.simulate(parks2, [sc], engine="vector"), tmp_path / "r.nc")
    again = rerun(made, parks2)
    first = xr.load_dataset(made)
    assert float(first["growth_rate"].sel(scenario="faster", park="ETDZ").isel(time=-1)) == 0.3
    for name in first.data_vars:
        np.testing.assert_array_equal(again[name].values, first[name].values)
