"""Small data ledgers written for a test, and the exact Euler path of tests/data/calib_parks.mdl.

``write_ledger(folder, rows)`` writes the real README (the schema) and one CSV, filling the
columns a test does not care about. ``euler_revenue`` and ``year_total`` recompute the
test model's revenue by hand (numpy, not the package), so tests have answers that do
not come from the code they check.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
README = REPO / "models" / "data" / "ledger" / "README.md"
CALIB_MDL = REPO / "tests" / "data" / "calib_parks.mdl"
COLUMNS = [
    "id",
    "variable",
    "measure_zh",
    "scope_kind",
    "scope",
    "period",
    "kind",
    "value",
    "unit",
    "confidence",
    "derivation",
    "source_url",
    "source_title",
    "quote",
    "note",
]
DEFAULTS = {
    "variable": "revenue",
    "measure_zh": "营业收入",
    "scope_kind": "park",
    "scope": "ETDZ",
    "kind": "level",
    "unit": "亿元",
    "confidence": "M",
    "derivation": "read",
    "source_url": "https://example.org/test",
}

# tests/data/calib_parks.mdl: start 2013, step 1/16, revenue grows by g/16 a step
START, DT = 2013.0, 1 / 16
GROWTH = {"ETDZ": 0.1, "Hanyuan": 0.2}
INITIAL = {"ETDZ": 100.0, "Hanyuan": 50.0}
INDUSTRIAL_SHARE = 0.6
PARK_SHARE_OF_CITY = 0.8


def write_ledger(folder: Path, rows: list[dict], name: str = "test.csv") -> Path:
    """The README and one CSV of ``rows`` (missing columns filled) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "README.md").exists():
        shutil.copy(README, folder / "README.md")
    with (folder / name).open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({**DEFAULTS, **{k: str(v) for k, v in r.items()}})
    return folder / name


def euler_revenue(park: str, growth: float | None = None, initial: float | None = None):
    """(times, revenue) of the test model's Euler integration, 2013-2020, every step."""
    g = GROWTH[park] if growth is None else growth
    r0 = INITIAL[park] if initial is None else initial
    k = np.arange(round(7 / DT) + 1)
    return START + k * DT, r0 * (1 + g * DT) ** k


def year_total(times, values, year: float, end: float | None = None) -> float:
    """Trapezoid integral over [year, end or year + 1] on the saved points (hand-made)."""
    end = year + 1 if end is None else end
    sel = (times >= year - 1e-9) & (times <= end + 1e-9)
    t, v = times[sel], values[sel]
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(t)))
