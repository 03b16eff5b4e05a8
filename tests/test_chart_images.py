"""Image regression of the report's charts: a layout change is seen.

Each chart is drawn from synthetic results (tests/support/fake_results.py, fixed numbers)
and compared with its baseline PNG in tests/baseline/charts/ by a perceptual hash (a 32 x 32
grey-level thumbnail: the sign of each pixel against the mean, and of each pixel against
its right neighbour; 2,048 bits). Fonts and anti-aliasing move a few bits; a moved
legend, a new panel, bars flipped to the other side of zero or a lost table row move many.

The baselines were drawn by this code (`YAAN_SIM_UPDATE_BASELINES=1 pytest
tests/test_chart_images.py`) and checked by eye before they were committed (see
tests/baseline/charts/README.md). Redraw them only after looking at the new images.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image
from support.fake_results import make_results

from yaan_sim.outputs import charts
from yaan_sim.outputs.evaluate import evaluate

BASELINE = Path(__file__).parent / "baseline" / "charts"
#: Bits of 2,048 that may differ (measured: redraws on one machine differ by 0).
TOLERANCE = 60
UPDATE = os.environ.get("YAAN_SIM_UPDATE_BASELINES") == "1"


def phash_bits(png: bytes, size: int = 32) -> np.ndarray:
    """The image's perceptual bits: mean threshold and horizontal gradient signs."""
    img = Image.open(io.BytesIO(png)).convert("L").resize((size + 1, size), Image.LANCZOS)
    a = np.asarray(img, dtype=float)
    mean_bits = a[:, :size] > a[:, :size].mean()
    grad_bits = a[:, 1:] > a[:, :-1]
    return np.concatenate([mean_bits.ravel(), grad_bits.ravel()])


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    plt.close(fig)
    return buf.getvalue()


@pytest.fixture(scope="module")
def results():
    return make_results(scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35}})


@pytest.fixture(scope="module")
def table(results):
    return evaluate(results, year=2020, lang="zh")


CHARTS = {
    "goal_gaps_zh": lambda ds, t: charts.plot_goal_gaps(t, lang="zh").figure,
    "goal_gaps_one_en": lambda ds, t: charts.plot_goal_gaps(t, lang="en", scenario="plan").figure,
    "goal_table_zh": lambda ds, t: charts.plot_goal_table(t, lang="zh").figure,
    "scenario_comparison_zh": lambda ds, t: charts.plot_scenario_comparison(ds, lang="zh").figure,
    "city_total_en": lambda ds, t: charts.plot_city_total(ds, lang="en").figure,
    "goal_panels_zh": lambda ds, t: (
        charts.plot_goal_panels(ds, ["revenue_city", "energy_per_output"], lang="zh").flat[0].figure
    ),
    "park_trajectories_zh": lambda ds, t: (
        charts.plot_park_trajectories(ds, lang="zh").flat[0].figure
    ),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_matches_its_baseline(results, table, name):
    png = _png(CHARTS[name](results, table))
    path = BASELINE / f"{name}.png"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        pytest.skip(f"baseline {path.name} redrawn: look at it before committing")
    assert path.is_file(), f"no baseline {path}: draw it with YAAN_SIM_UPDATE_BASELINES=1"
    want_png = path.read_bytes()
    got, want = Image.open(io.BytesIO(png)).size, Image.open(io.BytesIO(want_png)).size
    assert got == want, f"{name}: size {got} against the baseline's {want}"
    diff = int((phash_bits(png) != phash_bits(want_png)).sum())
    assert diff <= TOLERANCE, f"{name}: {diff} of 2048 perceptual bits differ from the baseline"


def test_the_hash_sees_a_layout_change(results, table):
    """The test can fail: the gap chart with its bars on the other side of zero differs."""
    same = _png(charts.plot_goal_gaps(table, lang="en", scenario="plan").figure)
    flipped = table.copy()
    flipped["gap_pct"] = -flipped["gap_pct"]
    moved = _png(charts.plot_goal_gaps(flipped, lang="en", scenario="plan").figure)
    assert int((phash_bits(same) != phash_bits(moved)).sum()) > TOLERANCE
    again = _png(charts.plot_goal_gaps(table, lang="en", scenario="plan").figure)
    assert int((phash_bits(same) != phash_bits(again)).sum()) == 0
