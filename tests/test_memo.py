"""Values worked out once per model (yaan_sim.model.memo) and what uses them on every run."""

from __future__ import annotations

import pytest

import yaan_sim as ys
from yaan_sim.engines.prerun import estimate_bytes
from yaan_sim.model import memo
from yaan_sim.outputs.finite import Expected
from yaan_sim.outputs.results import variable_attrs


class Model:
    """A stand-in: memo only keys on the object."""


def test_a_value_is_made_once_per_model_and_question(monkeypatch):
    monkeypatch.setattr(memo, "_MEMO", {})
    made = []

    def make(tag):
        return lambda: made.append(tag) or tag

    a, b = Model(), Model()
    assert memo.per_model(a, "x", make("ax")) == "ax"
    assert memo.per_model(a, "x", make("again")) == "ax"  # kept
    assert memo.per_model(a, "y", make("ay")) == "ay"  # another question
    assert memo.per_model(b, "x", make("bx")) == "bx"  # another model
    assert made == ["ax", "ay", "bx"]


def test_the_oldest_goes_first_and_a_new_model_is_never_taken_for_an_old(monkeypatch):
    monkeypatch.setattr(memo, "_MEMO", {})
    monkeypatch.setattr(memo, "KEPT", 2)
    models = [Model() for _ in range(3)]
    for i, m in enumerate(models):
        memo.per_model(m, "x", lambda i=i: i)
    assert len(memo._MEMO) == 2
    assert memo.per_model(models[0], "x", lambda: "made again") == "made again"
    assert memo.per_model(models[2], "x", lambda: "no") == 2
    # an entry under a model's id is used only for that very object
    other = Model()
    memo._MEMO[(id(other), "x")] = (Model(), "stale")
    assert memo.per_model(other, "x", lambda: "fresh") == "fresh"


def test_what_every_run_reads_is_the_same_kept_or_made(model):
    assert variable_attrs(model) is variable_attrs(model)
    assert variable_attrs(model)["revenue"]["units"] == model.meta["Revenue"].units
    assert Expected.of(model) is Expected.of(model)
    assert Expected.of(model) == Expected._read(model)
    h = model.default_horizon
    revenue = ys.simulate(model)["revenue"]  # (time, park)
    for _ in range(2):  # made, then kept: the results and as much again while integrating
        assert estimate_bytes(model, 1, h, ["Revenue"]) == 2 * revenue.nbytes
        assert estimate_bytes(model, 3, h, ["Revenue"]) == 6 * revenue.nbytes
    assert estimate_bytes(model, 1, h, ["Revenue"]) < estimate_bytes(model, 1, h, None)
    for _ in range(2):  # an unknown output is refused every time, not kept
        with pytest.raises(ys.YaanSimError, match="unknown variable 'Nope'"):
            estimate_bytes(model, 1, h, ["Nope"])
