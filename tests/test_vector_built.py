"""Programs built once per process (yaan_sim.engines.vector.built), their code kept on disk
(codegen.compiled_code): a model loaded again reuses them, and a model that differs in
anything they read never gets another's."""

from __future__ import annotations

import marshal
from pathlib import Path

import numpy as np

from yaan_sim.engines.vector import VectorModel, codegen
from yaan_sim.engines.vector.built import BuiltPrograms, fingerprint

SMALL_MDL = Path(__file__).resolve().parent / "data" / "loops_exponential.mdl"


def test_the_fingerprint_sees_every_text_and_every_constant_value():
    constants = {"K0": np.array([1.0, 2.0]), "L": {"x": [None, np.zeros((1, 2))]}}
    key = fingerprint("source", constants=constants)
    copied = {"K0": np.array([1.0, 2.0]), "L": {"x": [None, np.zeros((1, 2))]}}
    assert fingerprint("source", constants=copied) == key
    assert fingerprint("source ", constants=constants) != key
    assert fingerprint("sour", "ce", constants=constants) != key  # texts are delimited
    changed = {"K0": np.array([1.0, 2.5]), "L": constants["L"]}
    assert fingerprint("source", constants=changed) != key
    reshaped = {"K0": np.array([[1.0, 2.0]]), "L": constants["L"]}
    assert fingerprint("source", constants=reshaped) != key
    assert fingerprint("source", constants={**constants, "IX": {}}) != key


def test_a_program_is_built_once_and_the_oldest_is_let_go():
    kept: BuiltPrograms[object] = BuiltPrograms(keep=2)
    built = []

    def build(name):
        built.append(name)
        return object()

    a = kept.get("a", lambda: build("a"))
    assert kept.get("a", lambda: build("a")) is a
    kept.get("b", lambda: build("b"))
    kept.get("a", lambda: build("a"))  # a is now the newest
    kept.get("c", lambda: build("c"))  # b goes
    assert len(kept) == 2
    assert kept.get("a", lambda: build("a")) is a
    kept.get("b", lambda: build("b"))
    assert built == ["a", "b", "c", "b"]


def test_a_model_loaded_again_reuses_its_programs():
    first, second = VectorModel.from_mdl(SMALL_MDL), VectorModel.from_mdl(SMALL_MDL)
    a, b = first.run(return_vars=["Stock"]), second.run(return_vars=["Stock"])
    ((_, one),), ((_, other),) = first._programs.items(), second._programs.items()
    assert one is other
    np.testing.assert_array_equal(a["stock"].values, b["stock"].values)


def test_a_model_with_another_constant_gets_its_own_program(tmp_path):
    text = SMALL_MDL.read_text(encoding="utf-8")
    assert "Growth rate=\n\t0.1\n" in text
    faster = tmp_path / SMALL_MDL.name  # the same file name: only the constant differs
    faster.write_text(text.replace("Growth rate=\n\t0.1\n", "Growth rate=\n\t0.2\n"), "utf-8")
    slow = VectorModel.from_mdl(SMALL_MDL).run(return_vars=["Stock"])["stock"]
    fast = VectorModel.from_mdl(faster).run(return_vars=["Stock"])["stock"]
    # Euler steps of 0.25 year, four to a saved year: each year multiplies by (1 + r/4)^4
    np.testing.assert_allclose(slow[1:].values / slow[:-1].values, 1.025**4, rtol=1e-12)
    np.testing.assert_allclose(fast[1:].values / fast[:-1].values, 1.05**4, rtol=1e-12)


def test_compiled_code_is_kept_on_disk_and_read_back(tmp_path, monkeypatch):
    """A new process (here: emptied in-process caches) reads the code object back; a damaged
    file or another engine's source makes it again."""
    monkeypatch.setenv("YAAN_SIM_CACHE", str(tmp_path))
    optimised: list[str] = []
    optimise = codegen.optimise
    monkeypatch.setattr(codegen, "optimise", lambda text: optimised.append(text) or optimise(text))

    def run() -> np.ndarray:
        codegen.PROGRAMS.clear()
        return VectorModel.from_mdl(SMALL_MDL).run(return_vars=["Stock"])["stock"].values

    first = run()
    (kept,) = (tmp_path / "programs").iterdir()
    np.testing.assert_array_equal(run(), first)
    assert len(optimised) == 1  # the second run read the file
    kept.write_bytes(marshal.dumps("a string, not code"))  # reads back, but cannot run
    np.testing.assert_array_equal(run(), first)
    assert len(optimised) == 2 and marshal.loads(kept.read_bytes()).co_filename
    monkeypatch.setattr(codegen, "code_digest", lambda: "an edited engine")
    np.testing.assert_array_equal(run(), first)
    assert len(optimised) == 3 and len(list((tmp_path / "programs").iterdir())) == 2
