"""Where the project's files live: the model, scenarios, the translation cache."""

from __future__ import annotations

import os
from pathlib import Path

# The package runs from a checkout (``pip install -e .``): models/ and scenarios/ sit
# beside src/. YAAN_SIM_HOME points elsewhere when needed.
PROJECT_ROOT = Path(os.environ.get("YAAN_SIM_HOME", Path(__file__).resolve().parents[2]))
MODELS_DIR = PROJECT_ROOT / "models"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
DEFAULT_MODEL = MODELS_DIR / "yaan_parks.mdl"


def cache_dir() -> Path:
    """Folder of cached translations: $YAAN_SIM_CACHE, else ~/.cache/yaan-sim."""
    env = os.environ.get("YAAN_SIM_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "yaan-sim"
