"""Reproducibility promises: the default seed, rerun's model check, and writes that fail.

The README promises that a result can be produced again from its manifest and that an
output is never left half-written. Each test here breaks one of those on purpose.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import yaan_sim as ys
from yaan_sim.analysis.ensemble import run_ensemble
from yaan_sim.analysis.rerun import rerun
from yaan_sim.cli import main
from yaan_sim.errors import ResultsError, YaanSimError
from yaan_sim.outputs.results import TEMP_MARK, read_manifest, to_netcdf, write_atomic
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
