"""Shared fixtures. Translations go to a per-session cache, never the user's home.

Under pytest-xdist (`make test`: `-n auto --dist loadscope`) the workers of one run share
that cache, so the model is translated once per run; each module's tests run on one worker,
so a module-scoped fixture (a translated test model, a shared run, a dask cluster, a
compiled JAX program, an executed notebook) is still built once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

# The JAX engine's tests run programs of a few steps, so XLA's compilation is most of their
# time: without LLVM's optimisation passes it takes about a third less (test_jax_engine: 78 s
# of CPU -> 61 s). It changes no IEEE result (no fast-math), and the tests still hold JAX to
# numpy at 1e-9. Set before any test imports jax; a user's own XLA_FLAGS wins.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

# Generated cases are the same in every run (a failure in CI repeats anywhere, and no run
# draws a case that costs minutes by chance); HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("yaan-sim", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "yaan-sim"))


def _session_cache() -> str:
    """One folder per test run; xdist's workers of a run share theirs (the run's uid)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return tempfile.mkdtemp(prefix="yaan-sim-test-cache-")
    folder = Path(tempfile.gettempdir()) / f"yaan-sim-test-cache-{run}"
    folder.mkdir(exist_ok=True)  # concurrent translations into it are safe (test_cache.py)
    return str(folder)


# Before yaan_sim is imported anywhere: keep the translation cache inside the test session.
_OWN_CACHE = "YAAN_SIM_CACHE" not in os.environ
os.environ.setdefault("YAAN_SIM_CACHE", _session_cache())
# One thread a run: pytest-xdist's workers fill the cores already (tests that run on
# several threads say so; test_vector_runtime.py tests the default).
os.environ.setdefault("YAAN_SIM_THREADS", "1")


def pytest_configure(config):
    """The main process names the run (xdist's --testrunuid), so that it knows the
    workers' shared cache folder and can remove it at the end."""
    if _OWN_CACHE and not hasattr(config, "workerinput") and hasattr(config.option, "testrunuid"):
        config.option.testrunuid = config.option.testrunuid or uuid.uuid4().hex


def pytest_unconfigure(config):
    """The session's cache folders go when the run ends (translations, compiled programs,
    fonts: megabytes a run, which were left in the temporary folder)."""
    if not _OWN_CACHE or hasattr(config, "workerinput"):
        return
    shutil.rmtree(os.environ["YAAN_SIM_CACHE"], ignore_errors=True)
    run = getattr(config.option, "testrunuid", None)
    if run:
        workers = Path(tempfile.gettempdir()) / f"yaan-sim-test-cache-{run}"
        shutil.rmtree(workers, ignore_errors=True)


REPO = Path(__file__).resolve().parents[1]
TEST_MODELS = REPO.parent / "shared" / "test-models" / "tests"


@pytest.fixture(scope="session")
def model():
    import yaan_sim as ys

    return ys.load_model()


@pytest.fixture(scope="session")
def baseline(model):
    """The .mdl's defaults, whole horizon, by the default engine: the vector engine, which
    equals PySD's run to 1e-9 at every variable and saved time (test_vector_engine, against
    the stored PySD reference); PySD's own run took ~15 s of each worker that asked."""
    import yaan_sim as ys

    return ys.simulate(model)


@pytest.fixture(scope="session", autouse=True)
def _compile_each_mutant():
    """Under mutmut (MUTANT_UNDER_TEST set), every mutant's tests compile the .mdl files
    themselves. Its forked test runs share one translation cache, and the plan cache's key
    (the engine's source) is the same for every mutant, so a plan compiled under one mutant
    of the compiler would be read back under the next."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        yield
        return
    from yaan_sim.engines.vector import compiler, plan_cache

    compiler._COMPILED.clear()
    patch = pytest.MonkeyPatch()
    patch.setattr(plan_cache, "cached", lambda _data, compile_plan: compile_plan())
    yield
    patch.undo()
