"""Shared fixtures. Translations go to a per-session cache, never the user's home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before yaan_sim is imported anywhere: keep the translation cache inside the test session.
os.environ.setdefault("YAAN_SIM_CACHE", tempfile.mkdtemp(prefix="yaan-sim-test-cache-"))

REPO = Path(__file__).resolve().parents[1]
TEST_MODELS = REPO.parent / "shared" / "test-models" / "tests"


@pytest.fixture(scope="session")
def model():
    import yaan_sim as ys

    return ys.load_model()


@pytest.fixture(scope="session")
def baseline(model):
    """The .mdl's defaults run with PySD, the reference engine (one run per session)."""
    import yaan_sim as ys

    return ys.simulate(model, engine="pysd")
