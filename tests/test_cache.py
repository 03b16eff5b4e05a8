"""The translation cache under concurrent loads, and its invalidation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from yaan_sim.model.load import _cache_key, load_model

# A nine-park test model: the cache's behaviour does not depend on the model, and it
# translates in a fraction of the project model's time (four processes translate it here).
MODEL = Path(__file__).resolve().parent / "data" / "vector_parks.mdl"


def test_processes_loading_at_once_on_an_empty_cache_all_succeed(tmp_path):
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import yaan_sim as ys
        m = ys.load_model({str(MODEL)!r}, cache={str(cache)!r})
        m.pysd_model.run(reload=True)
        print(m.py_path)
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    # one finished translation, no leftovers of the others
    assert [p.name for p in cache.iterdir()] == [next(iter(paths)).split("/")[-2]]


def test_cache_key_changes_with_the_model_and_with_pysd():
    text = b"x = 1 ~~|"
    assert _cache_key(text, "3.14.3") != _cache_key(text + b" ", "3.14.3")
    assert _cache_key(text, "3.14.3") != _cache_key(text, "3.14.4")


def test_a_corrupt_cache_entry_is_not_trusted_forever(tmp_path):
    first = load_model(MODEL, cache=tmp_path)
    assert load_model(MODEL, cache=tmp_path).from_cache
    first.py_path.unlink()
    again = load_model(MODEL, cache=tmp_path)
    assert not again.from_cache and again.py_path.is_file()


# --- compiled plans (yaan_sim.engines.vector.plan_cache) --------------------------------


def _fresh_plan(monkeypatch, cache: Path, mdl: Path):
    """compile_file as a new process sees it: nothing compiled in memory, this cache."""
    from yaan_sim.engines.vector import compiler

    monkeypatch.setenv("YAAN_SIM_CACHE", str(cache))
    monkeypatch.setattr(compiler, "_COMPILED", {})
    return compiler.compile_file(mdl)


def test_a_compiled_plan_is_read_back_by_a_new_process(tmp_path, monkeypatch):
    from yaan_sim.engines.vector import compiler
    from yaan_sim.engines.vector.runtime import VectorModel

    cache = tmp_path / "cache"
    first = _fresh_plan(monkeypatch, cache, MODEL)
    (kept,) = (cache / "plans").iterdir()
    compiled = []
    monkeypatch.setattr(compiler, "_compile", lambda p: compiled.append(p))  # must not run
    again = _fresh_plan(monkeypatch, cache, MODEL)
    assert compiled == [] and again is not first and again.path == MODEL
    assert [p.name for p in (cache / "plans").iterdir()] == [kept.name]
    a, b = VectorModel(first).run(), VectorModel(again).run()
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_plan_read_back_names_the_file_it_was_asked_for(tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere.mdl"
    copy.write_bytes(MODEL.read_bytes())
    _fresh_plan(monkeypatch, tmp_path / "cache", MODEL)
    assert _fresh_plan(monkeypatch, tmp_path / "cache", copy).path == copy


def test_a_damaged_plan_is_compiled_again_and_replaced(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _fresh_plan(monkeypatch, cache, MODEL)
    (kept,) = (cache / "plans").iterdir()
    size = kept.stat().st_size
    kept.write_bytes(kept.read_bytes()[: size // 2])  # cut short
    plan = _fresh_plan(monkeypatch, cache, MODEL)
    assert plan.path == MODEL and kept.stat().st_size == size
    assert [p.name for p in (cache / "plans").iterdir()] == [kept.name]  # no temporary left


def test_another_text_or_engine_source_gets_another_plan(tmp_path, monkeypatch):
    from yaan_sim.engines.vector import plan_cache

    monkeypatch.setenv("YAAN_SIM_CACHE", str(tmp_path))
    text = MODEL.read_bytes()
    assert plan_cache.plan_path(text) == plan_cache.plan_path(bytes(text))
    assert plan_cache.plan_path(text + b"\n") != plan_cache.plan_path(text)
    before = plan_cache.plan_path(text)
    monkeypatch.setattr(plan_cache, "code_digest", lambda: "an edited compiler")
    assert plan_cache.plan_path(text) != before


def test_a_cache_that_cannot_be_written_still_compiles(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    plan = _fresh_plan(monkeypatch, blocked, MODEL)
    assert plan.path == MODEL and blocked.read_text() == "not a folder"
