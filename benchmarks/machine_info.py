"""One line describing the machine and the versions that decide a benchmark's figures."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


def describe(*packages: str) -> str:
    """CPU, cores, OS and Python, then the version of each package named."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in packages)
    return (
        f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {versions}"
    )
