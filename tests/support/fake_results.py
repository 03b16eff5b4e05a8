"""Small hand-made results Datasets that follow the results contract, with known answers.

Every series grows at a constant compound rate from its 2016 value, so the value in any
year is ``v2016 * (1 + rate) ** (year - 2016)``; quarterly times are interpolated the same
way. Tests pick the rates so that each goal lands on a chosen status. The times start in
2015, the year before the plan period (history in a real run), which the pollutant goals
are measured against.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

PARKS = [
    "ETDZ",
    "Hanyuan",
    "Shimian",
    "Lushan",
    "Tianquan",
    "Baoxing",
    "Yingjing",
    "Yucheng",
    "Chengya",
]
REGION = {
    "ETDZ": "East",
    "Yucheng": "East",
    "Chengya": "East",
    "Yingjing": "East",
    "Hanyuan": "South",
    "Shimian": "South",
    "Tianquan": "Northwest",
    "Lushan": "Northwest",
    "Baoxing": "Northwest",
}
POLLUTANTS = ["COD", "NH3N", "SO2", "NOx"]
TARGET = {
    "ETDZ": 1000,
    "Hanyuan": 200,
    "Shimian": 200,
    "Lushan": 100,
    "Tianquan": 100,
    "Baoxing": 100,
    "Yingjing": 100,
    "Yucheng": 100,
    "Chengya": 100,
}
# to the start of 2021, so the 2020 calendar-year totals of the goals can be taken
TIMES = np.round(np.arange(2015.0, 2021.0 + 1e-9, 0.25), 2)


def _path(v0, rate, times=TIMES):
    return v0 * (1.0 + rate) ** (times - 2016.0)


def make_results(
    revenue_2016=None,
    revenue_growth=0.2,
    rd_share=0.013,
    energy_change=-0.03,
    water_change=-0.02,
    emission_change=-0.01,
    scenarios=None,
    samples=None,
    seed=0,
    times=TIMES,
    manifest=True,
    levers=True,
):
    """A results Dataset.

    ``revenue_2016`` and ``revenue_growth`` may be a number or a {park: number} map;
    ``scenarios`` a {name: dict of keyword overrides}; ``samples`` an int (the revenue
    growth of each sample is the given rate times a lognormal factor, seeded).
    """
    if scenarios:
        parts = []
        base = dict(
            revenue_2016=revenue_2016,
            revenue_growth=revenue_growth,
            rd_share=rd_share,
            energy_change=energy_change,
            water_change=water_change,
            emission_change=emission_change,
            samples=samples,
            seed=seed,
            times=times,
            manifest=False,
            levers=levers,
        )
        for name, over in scenarios.items():
            parts.append(make_results(**(base | over)).expand_dims(scenario=[name]))
        ds = xr.concat(parts, dim="scenario", combine_attrs="override")
        if manifest:
            ds.attrs["manifest"] = _manifest(list(scenarios))
        return ds
    rev0 = revenue_2016 if revenue_2016 is not None else {p: TARGET[p] / 3 for p in PARKS}
    rev0 = {p: float(rev0[p] if isinstance(rev0, dict) else rev0) for p in PARKS}
    growth = {
        p: float(revenue_growth[p] if isinstance(revenue_growth, dict) else revenue_growth)
        for p in PARKS
    }
    rev = np.stack([_path(rev0[p], growth[p], times) for p in PARKS], axis=1)  # (time, park)
    if samples:
        rng = np.random.default_rng(seed)
        factor = rng.lognormal(0.0, 0.15, size=samples)
        rev = np.stack(
            [
                np.stack([_path(rev0[p], growth[p] * f, times) for p in PARKS], axis=1)
                for f in factor
            ]
        )  # (sample, time, park)
        dims = ("sample", "time", "park")
    else:
        dims = ("time", "park")
    energy_int = _path(0.5, energy_change, times)[:, None]  # tce/wanyuan
    water_int = _path(40.0, water_change, times)[:, None]  # m3/wanyuan
    coords = {"time": times, "park": PARKS, "region": ("park", [REGION[p] for p in PARKS])}
    if samples:
        coords["sample"] = np.arange(samples)

    def var(data, units, en, zh, d=dims):
        return xr.DataArray(
            data, dims=d, attrs={"units": units, "long_name": en, "long_name_zh": zh}
        )

    em = np.stack([_path(1000.0 * (i + 1), emission_change, times) for i in range(4)], axis=-1)
    em = em[:, None, :] * (np.ones(len(PARKS)) / len(PARKS))[None, :, None]  # (time, park, pol)
    if samples:
        em = np.broadcast_to(em, (samples, *em.shape)).copy()
    ds = xr.Dataset(
        {
            "revenue": var(rev, "yiyuan/Year", "Revenue", "营业收入"),
            # all revenue industrial here, so energy and water per unit of industrial
            # output (the goals' measure) follow energy_change and water_change exactly
            "industrial_output": var(rev, "yiyuan/Year", "Industrial output", "工业总产值"),
            "research_spending": var(rev * rd_share, "yiyuan/Year", "R&D spending", "R&D经费支出"),
            "energy_use": var(rev * energy_int, "wantce/Year", "Energy use", "能源消费量"),
            "water_use": var(rev * water_int, "wanm3/Year", "Water use", "用水量"),
            "emissions": var(em, "t/Year", "Emissions", "污染物排放量", (*dims, "pollutant")),
        },
        coords=coords | {"pollutant": POLLUTANTS},
    )
    if levers:
        ds["research_intensity_target"] = xr.DataArray(
            np.full(len(times), rd_share),
            dims=("time",),
            coords={"time": times},
            attrs={"units": "Dmnl", "long_name": "R&D intensity target", "role": "lever"},
        )
    if manifest:
        ds.attrs["manifest"] = _manifest(["baseline"])
    return ds


def _manifest(names):
    return json.dumps(
        {
            "model_sha256": "0" * 64,
            "versions": {"yaan_sim": "0.1.0"},
            "scenarios": {n: "f" * 16 for n in names},
            "engine": "test",
            "time": "2026-01-01T00:00:00Z",
        }
    )
