"""A bound independent of the model: what each revenue and R&D goal would need in
investment, land, labour and R&D, set against the city's totals (issue 17, item 9).

Every figure comes from ``models/data/bound.csv`` (ledger figures by their id, read from the
data ledger; the others with their source); the start value is the results' own 2016
revenue of the nine parks. The arithmetic is that of models/README.md's section "A bound
independent of the model": the added revenue, if industrial, needs capital at the output
per yuan invested of new projects (output per mu over investment per mu), land at the
output per mu, and workers at the 2013 output per worker grown by the assumed productivity.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from yaan_sim.errors import YaanSimError
from yaan_sim.paths import MODELS_DIR

BOUND_CSV = MODELS_DIR / "data" / "bound.csv"


@dataclass(frozen=True)
class Figure:
    low: float
    high: float
    unit: str
    source: str


def read_bound(path: str | Path = BOUND_CSV) -> dict[str, Figure]:
    """The bound's figures by name; ledger figures read from the ledger by their id."""
    path = Path(path)
    if not path.is_file():
        raise YaanSimError(f"{path} not found: the independent bound needs its figures")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out = {}
    ledger = None
    for rec in csv.DictReader(lines):
        if rec["ledger_id"]:
            if ledger is None:
                from yaan_sim.model.ledger import read_ledger

                ledger = read_ledger().rows
            row = ledger.loc[rec["ledger_id"]]
            v = float(row["value"])
            out[rec["name"]] = Figure(v, v, str(row["unit"]), f"ledger {rec['ledger_id']}")
        else:
            out[rec["name"]] = Figure(
                float(rec["low"]), float(rec["high"]), rec["unit"], rec["source"]
            )
    return out


def independent_bound(
    start_revenue: float,
    target: float = 2000.0,
    *,
    start: int = 2016,
    year: int = 2020,
    rd_share: float = 0.012,
    figures: dict[str, Figure] | None = None,
) -> list[dict]:
    """Rows ``{need, low, high, unit, against, against_value, ratio_low, ratio_high}``: what
    ``target`` (亿元 of park revenue in ``year``) needs from ``start_revenue`` in ``start``."""
    f = read_bound() if figures is None else figures
    added = target - start_revenue
    years = year - start
    # yuan of output a year per yuan invested: output per mu over investment per mu
    yield_lo = f["output_per_mu"].low / f["investment_per_mu"].high
    yield_hi = f["output_per_mu"].high / f["investment_per_mu"].low
    inv_lo, inv_hi = added / yield_hi, added / yield_lo
    land_lo = added * 1e4 / f["output_per_mu"].high  # 亿元 -> 万元, over 万元 per mu
    land_hi = added * 1e4 / f["output_per_mu"].low
    per_worker = (f["above_scale_output_2014"].low * 1e4 / f["industrial_workers_2013"].low) * (
        1 + f["productivity_growth"].low
    ) ** (year - 2013)  # 万元 a worker in `year`
    workers = target * 1e4 / per_worker
    fai = f["city_fai_2018"].low
    rd_need = rd_share * target
    rows = [
        {"need": "growth", "low": ((target / start_revenue) ** (1 / years) - 1) * 100,
         "high": None, "unit": "%/yr", "against": None, "against_value": None},
        {"need": "investment_per_year", "low": inv_lo / years, "high": inv_hi / years,
         "unit": "亿元/yr", "against": "city_fai_2018", "against_value": fai},
        {"need": "land", "low": land_lo, "high": land_hi, "unit": "亩",
         "against": None, "against_value": None},
        {"need": "workers", "low": workers, "high": None, "unit": "人",
         "against": "industrial_workers_2013", "against_value": f["industrial_workers_2013"].low},
        {"need": "rd", "low": rd_need, "high": None, "unit": "亿元",
         "against": "city_rd_industrial_2020", "against_value": f["city_rd_industrial_2020"].low},
    ]  # fmt: skip
    for r in rows:
        a = r["against_value"]
        r["ratio_low"] = r["low"] / a if a else None
        r["ratio_high"] = r["high"] / a if a and r["high"] is not None else None
    return rows
