"""The translation cache under concurrent loads, and its invalidation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
