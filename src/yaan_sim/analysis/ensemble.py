"""Ensembles: a scenario's ``uncertain:`` block sampled, run in vectorised chunks.

Example::

    import yaan_sim as ys
    from yaan_sim.scenario import load_scenario
    from yaan_sim.analysis.ensemble import run_ensemble, goal_gaps
    from yaan_sim.outputs.evaluate import evaluate
    model = ys.load_model()
    sc = load_scenario("uncertain/plan-uncertain.yaml", model)
    ens = run_ensemble(model, [sc], samples=1000, seed=1, method="lhs")
    evaluate(ens)            # p_met: the probability of meeting each goal

The design (:mod:`yaan_sim.analysis.sampling`) is drawn once, here, then cut into chunks of
``chunk_size`` samples; each chunk is one call of the vector engine, run in this process,
on local worker processes or on a dask cluster (:mod:`yaan_sim.analysis.distributed`). The same
seed gives the same numbers whatever the chunk size and wherever the chunks run.

The results are one Dataset with a ``sample`` dim (and ``scenario`` dim), the variables
the goals need (``return_vars`` to change), and the sampled inputs as ``sampled_<name>``
variables (dims ``scenario, sample, *dims``), so every run can be traced to its inputs.
:func:`export` writes netCDF, CSV (a tidy long table) or Excel, chosen by the suffix.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.outputs.results import finish, write_atomic

DEFAULT_CHUNK = 5000
EXCEL_MAX_ROWS = 1_048_575
SAMPLED_PREFIX = "sampled_"
#: The outcomes of sensitivity analysis and the default of goal_gaps: city 2020 revenue,
#: ETDZ 2020 revenue, the city's R&D share and the change of energy use per unit output.
DEFAULT_OUTCOMES = ("revenue_city", "revenue_park:ETDZ", "rd_share", "energy_per_output")


# ------------------------------------------------------------------ scenarios made in code


class FixedScenario:
    """A scenario given as resolved overrides (no file): what a chunk runs.

    It keeps the name, title, hash and text of the scenario it stands for, so the
    manifest still names the file; it has no ``uncertain`` block (the design is passed
    as ``sample_overrides``).
    """

    uncertain = None
    horizon = None

    def __init__(
        self,
        name: str,
        overrides: dict,
        title_en: str | None = None,
        title_zh: str | None = None,
        sha256: str | None = None,
        text: str | None = None,
        sources=(),
    ):
        self.name = name
        self._overrides = dict(overrides)
        self.title_en = title_en or name
        self.title_zh = title_zh or self.title_en
        self.sha256 = sha256
        self.text = text
        self.sources = tuple(sources)

    @classmethod
    def of(cls, scenario, model, horizon, extra: dict | None = None) -> FixedScenario:
        """The scenario's lever values on ``horizon``'s grid, plus ``extra`` overrides."""
        over = scenario.overrides(model, horizon) if scenario is not None else {}
        over.update(extra or {})
        name = scenario.name if scenario is not None else "default"
        return cls(
            name,
            over,
            getattr(scenario, "title_en", None),
            getattr(scenario, "title_zh", None),
            getattr(scenario, "sha256", None),
            getattr(scenario, "text", None),
            getattr(scenario, "sources", ()),
        )

    def overrides(self, model, horizon=None) -> dict:
        return dict(self._overrides)


# ------------------------------------------------------------------ chunks


def chunk_bounds(n: int, chunk_size: int | None) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in chunks of ``chunk_size``."""
    size = int(chunk_size or DEFAULT_CHUNK)
    if size < 1:
        raise YaanSimError(f"chunk size must be at least 1, got {chunk_size}")
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def horizon_tuple(h) -> tuple[float, float, float, float]:
    return (float(h.start), float(h.stop), float(h.step), float(h.saveper))


def run_chunk(payload: dict, model=None) -> xr.Dataset:
    """Run one chunk (a module-level function, so dask can send it to workers).

    ``payload``: ``spec`` (model spec, used where ``model`` is None), ``name``,
    ``title``, ``overrides`` (the scenario's levers), ``design`` ({name: DataArray with
    ``sample``}), ``samples``, ``horizon`` (start, stop, step, saveper), ``return_vars``,
    ``engine``.
    """
    from yaan_sim.engines.simulate import simulate
    from yaan_sim.model.load import Horizon

    if model is None:
        from yaan_sim.analysis.distributed import worker_model

        model = worker_model(payload["spec"])
    sc = FixedScenario(payload["name"], payload["overrides"], payload.get("title"))
    design = payload.get("design") or {}
    ds = simulate(
        model,
        [sc],
        engine=payload.get("engine", "auto"),
        horizon=Horizon(*payload["horizon"]),
        samples=payload["samples"],
        sample_overrides=design or None,
        return_vars=payload.get("return_vars"),
        notify=lambda msg: None,
    )
    ds = ds.isel(scenario=0, drop=True).drop_vars("scenario_title", errors="ignore")
    ds.attrs = {}
    return ds


def make_payloads(
    model,
    scenario,
    design,
    horizon,
    *,
    return_vars,
    engine="auto",
    chunk_size=None,
    spec=None,
    extra_overrides=None,
) -> list[dict]:
    """The chunks of one scenario's ensemble, as picklable payloads."""
    fixed = FixedScenario.of(scenario, model, horizon, extra_overrides)
    base = fixed.overrides(model)
    n = design.samples
    spec = spec if spec is not None else _spec(model)
    out = []
    for a, b in chunk_bounds(n, chunk_size):
        out.append(
            {
                "spec": spec,
                "name": fixed.name,
                "title": fixed.title_en,
                "overrides": base,
                "design": design.slice(a, b),
                "samples": b - a,
                "horizon": horizon_tuple(horizon),
                "return_vars": return_vars,
                "engine": engine,
                "bounds": (a, b),
            }
        )
    return out


_SPEC_CACHE: dict[str, dict] = {}


def _spec(model) -> dict:
    from yaan_sim.analysis.distributed import model_spec

    key = model.mdl_sha256
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = model_spec(model)
    return _SPEC_CACHE[key]


def assemble(chunks: Sequence[xr.Dataset], design, scenario=None) -> xr.Dataset:
    """One scenario's ensemble from its chunks (in order) and the design's inputs."""
    ds = (
        xr.concat(list(chunks), dim="sample", coords="minimal", compat="override", join="override")
        if len(chunks) > 1
        else chunks[0]
    )
    ds = ds.assign_coords(sample=np.arange(ds.sizes["sample"]))
    for name, da in design.values.items():
        var = da.assign_coords(sample=np.arange(da.sizes["sample"]))
        key = SAMPLED_PREFIX + _py(name)
        ds[key] = var
        ds[key].attrs.update(
            role="sampled input",
            vensim_name=name,
            long_name=f"sampled input: {da.attrs.get('long_name', name)}",
        )
    return ds


def _py(name: str) -> str:
    import re

    return re.sub(r"\W+", "_", name.strip().lower())


def default_return_vars(goals=None) -> list[str]:
    """The variables the goals need (e.g. revenue, research_spending, energy_use)."""
    from yaan_sim.outputs.goals import load_goals

    goals = load_goals() if goals is None else goals
    out: list[str] = []
    for g in goals:
        for v in g.metric.variables:
            if v not in out:
                out.append(v)
    return out


def run_ensemble(
    model,
    scenarios,
    samples: int,
    *,
    seed: int | None = 0,
    method: str = "mc",
    horizon=None,
    return_vars=None,
    engine: str = "auto",
    chunk_size=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    argv=None,
    posterior=None,
) -> xr.Dataset:
    """Sample each scenario's ``uncertain:`` block and run the samples.

    Parameters
    ----------
    model : YaanModel
    scenarios : Scenario or list of Scenario
        Each needs an ``uncertain:`` block. The same seed gives every scenario the same
        unit design (common random numbers where the blocks agree).
    samples : int
    seed : int
    method : {"mc", "lhs", "sobol"}
        See :func:`yaan_sim.analysis.sampling.sample_design`.
    horizon : Horizon, optional
        Default: the scenarios' (or the model's).
    return_vars : list of str, optional
        Variables to keep (PySD or Vensim names); default: those the goals need. ``"all"``
        keeps every variable (memory: about 120 kB a sample for 2016-2020).
    chunk_size : int, optional
        Samples per engine call (default 5000).
    scheduler, workers
        Where chunks run: see :func:`yaan_sim.analysis.distributed.run_chunks`.
    progress : bool
        A progress bar (tqdm, on stderr) over the chunks.
    posterior : path, optional
        A posterior file (``yaan-sim calibrate --posterior``): its draws, resampled with
        ``seed``, set the calibrated constants of every sample
        (:func:`yaan_sim.analysis.posterior.posterior_design`); the scenario then needs
        no ``uncertain:`` block.

    Returns
    -------
    xarray.Dataset
        Dims ``scenario, sample, time, park, ...``; ``sampled_*`` inputs; manifest with
        the method, seed and chunk size.
    """
    from yaan_sim.analysis.distributed import run_chunks
    from yaan_sim.analysis.sampling import sample_design
    from yaan_sim.engines.simulate import check_memory, check_seed

    scenarios = [scenarios] if not isinstance(scenarios, (list, tuple)) else list(scenarios)
    if not scenarios:
        raise YaanSimError(
            "no scenario given: an ensemble needs a scenario with an "
            "`uncertain:` block, e.g. uncertain/plan-uncertain.yaml"
        )
    names = [sc.name for sc in scenarios]
    if len(set(names)) != len(names):
        raise YaanSimError(f"scenario names repeat ({names}): each scenario needs its own name")
    rv = _return_vars(return_vars)
    seed = check_seed(seed)
    horizons = [horizon or sc.horizon or model.default_horizon for sc in scenarios]
    check_memory(model, samples, horizons[0], rv, len(scenarios))  # before any design is drawn
    engine_used = _engine_notice(model, engine)
    if len({horizon_tuple(h)[:2] + horizon_tuple(h)[3:] for h in horizons}) > 1:
        raise YaanSimError(
            "the scenarios have different horizons: give them the same "
            "`horizon:` or pass one horizon"
        )
    payloads, designs, owner = [], [], []
    for k, (sc, h) in enumerate(zip(scenarios, horizons)):
        design = (
            sample_design(sc.uncertain, samples, method, seed)
            if posterior is None or sc.uncertain
            else None
        )
        if posterior is not None:
            from yaan_sim.analysis.posterior import combine, posterior_design

            design = combine(design, posterior_design(posterior, samples, seed, model), sc)
        designs.append(design)
        ps = make_payloads(
            model, sc, design, h, return_vars=rv, engine=engine, chunk_size=chunk_size
        )
        payloads += ps
        owner += [k] * len(ps)
    bar = _progress(len(payloads), "chunks", progress)
    try:
        results = run_chunks(
            run_chunk,
            payloads,
            scheduler=scheduler,
            workers=workers,
            model=model,
            on_result=lambda i, r: bar.update(1),
        )
    finally:
        bar.close()
    per = [
        assemble([r for r, o in zip(results, owner) if o == k], designs[k])
        for k in range(len(scenarios))
    ]
    ds = xr.concat(per, dim="scenario", coords="minimal", compat="override", join="outer")
    ds = ds.assign_coords(
        scenario=names, scenario_title=("scenario", [sc.title_en for sc in scenarios])
    )
    return finish(
        ds,
        model,
        scenarios,
        horizons[0],
        seed=seed,
        samples=samples,
        argv=argv,
        engine=engine_used,
        extra={
            "kind": "ensemble",
            "return_vars": list(return_vars) if return_vars else None,
            "posterior": (
                None
                if posterior is None
                else str(posterior)
                if isinstance(posterior, (str, Path))
                else "in memory"
            ),
            "ensemble": {
                "method": method,
                "chunk_size": chunk_size or DEFAULT_CHUNK,
                "scheduler": scheduler,
                "workers": workers,
            },
        },
    )


def _engine_notice(model, engine: str) -> str:
    """The engine the chunks will use; a notice on stderr when it is not the vector one."""
    from yaan_sim.engines.simulate import resolve_engine

    name, _vm, notices = resolve_engine(model, engine)
    for msg in notices:
        print(f"yaan-sim: notice: {msg}", file=sys.stderr)
    return name


def _return_vars(return_vars):
    if return_vars is None:
        return default_return_vars()
    if return_vars == "all":
        return None
    return list(return_vars)


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress(total: int, unit: str, enabled: bool, desc: str | None = None):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)


# ------------------------------------------------------------------ goals per sample


def parse_outcomes(specs, goals, ds) -> list[tuple[str, object, str, str, list[str]]]:
    """``"goal_id"`` or ``"goal_id:scope_name"`` -> (label, goal, scope, name, parks).

    A goal id alone means its binding scope: one outcome where that scope is the city,
    one per member otherwise (``revenue_park`` gives the nine parks).
    """
    from yaan_sim.outputs.evaluate import scope_members
    from yaan_sim.outputs.goals import CITY

    out = []
    for spec in specs:
        gid, _, want = str(spec).partition(":")
        try:
            goal = goals[gid]
        except (KeyError, IndexError, TypeError):
            raise YaanSimError(
                f"unknown goal {gid!r}: choose from {', '.join(goals.ids)}"
            ) from None
        found = False
        for scope in [goal.scope] if not want else goal.scopes:
            for name, parks in scope_members(ds, scope):
                if want and name != want and not (want == "city" and name == CITY):
                    continue
                label = gid if scope == "city" else f"{gid}:{name}"
                out.append((label, goal, scope, name, parks))
                found = True
            if found:
                break
        if not found:
            names = [n for s in goal.scopes for n, _ in scope_members(ds, s)]
            raise YaanSimError(
                f"goal {gid!r} has no scope {want!r}: choose from {', '.join(names)}"
            )
    return out


def goal_gaps(
    ds: xr.Dataset, outcomes: Sequence[str] = DEFAULT_OUTCOMES, goals=None, year: int | None = None
) -> xr.DataArray:
    """Every sample's gap to each goal, as in the goal table (``gap`` = value - target).

    Parameters
    ----------
    ds : xarray.Dataset
        Results with optional ``scenario`` and ``sample`` dims.
    outcomes : sequence of str
        ``goal_id`` or ``goal_id:scope_name`` (see :func:`parse_outcomes`).
    year : int, optional
        The year read (default: the goal year, else the last simulated year before it).

    Returns
    -------
    xarray.DataArray
        Dims ``(outcome, [scenario,] [sample])``; coords ``goal_id``, ``scope_name``,
        ``target``, ``unit``, ``year`` and ``sign`` (+1 where a larger value is better,
        -1 otherwise), so ``gap * sign >= 0`` means the goal is met. For level goals
        the gap is value - target in the goal's unit; for "falling every year" goals it is
        the largest year-on-year change (% a year, the goal needs it below 0).
    """
    from yaan_sim.outputs.evaluate import annual, metric_series
    from yaan_sim.outputs.goals import load_goals

    goals = load_goals() if goals is None else goals
    rows, meta = [], []
    for label, goal, scope, name, parks in parse_outcomes(outcomes, goals, ds):
        series = annual(metric_series(ds, goal, parks))
        years = [int(y) for y in series["year"].values]
        g = goal.year if year is None else min(int(year), goal.year)
        y = g if g in years else max((v for v in years if v <= g), default=None)
        if y is None:
            raise YaanSimError(f"goal {goal.id!r}: the results start after {g}")
        if goal.is_trend:
            base = goal.baseline_year if goal.baseline_year in years else years[0]
            ch = [
                (series.sel(year=v) / series.sel(year=v - 1) - 1) * 100
                for v in range(base + 1, y + 1)
                if v - 1 in years and v in years
            ]
            if not ch:
                raise YaanSimError(f"goal {goal.id!r} needs at least two simulated years")
            gap = xr.concat(ch, dim="year").max("year")
            target, sign, unit = 0.0, -1.0, "%/yr"
        else:
            if goal.uses_baseline:
                target_da = series.sel(
                    year=goal.baseline_year if goal.baseline_year in years else years[0]
                )
                target = math.nan
            else:
                target = goal.fixed_target(scope, name, parks)
                target = math.nan if target is None else float(target)
                target_da = target
            gap = series.sel(year=y) - target_da
            sign = 1.0 if goal.comparison == ">=" else -1.0
            unit = goal.unit
        rows.append(gap.drop_vars([c for c in gap.coords if c not in gap.dims]))
        meta.append((label, goal.id, name, target, unit, y, sign))
    out = xr.concat(rows, dim="outcome")
    cols = list(zip(*meta))
    out = out.assign_coords(
        outcome=list(cols[0]),
        goal_id=("outcome", list(cols[1])),
        scope_name=("outcome", list(cols[2])),
        target=("outcome", np.asarray(cols[3], float)),
        unit=("outcome", list(cols[4])),
        year=("outcome", list(cols[5])),
        sign=("outcome", np.asarray(cols[6], float)),
    )
    out.name = "gap"
    out.attrs = {"long_name": "gap to the goal: value - target (see the unit coordinate)"}
    return out


# ------------------------------------------------------------------ exports

EXPORT_SUFFIXES = (".nc", ".csv", ".xlsx")


def to_tidy(ds: xr.Dataset, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """A tidy long table: one row per variable x coordinate combination.

    Columns: ``variable``, then the dims in the order ``scenario, sample, time, park,
    industry, pollutant`` (those present in any variable), ``value`` and ``units``.
    """
    names = list(variables) if variables is not None else list(ds.data_vars)
    frames, dims = [], []
    for name in names:
        da = ds[name]
        if da.dtype.kind not in "fiu":
            continue
        s = (
            da.drop_vars([c for c in da.coords if c not in da.dims]).to_series()
            if da.dims
            else pd.Series([float(da)])
        )
        df = s.rename("value").reset_index() if da.dims else pd.DataFrame({"value": s})
        df.insert(0, "variable", name)
        df["units"] = da.attrs.get("units", "")
        frames.append(df)
        dims += [d for d in da.dims if d not in dims]
    order = [
        d for d in ("scenario", "sample", "time", "park", "industry", "pollutant") if d in dims
    ]
    order += [d for d in dims if d not in order]
    if not frames:
        return pd.DataFrame(columns=["variable", *order, "value", "units"])
    out = pd.concat(frames, ignore_index=True)
    return out.reindex(columns=["variable", *order, "value", "units"])


def export(
    ds: xr.Dataset, path: str | Path, force: bool = False, variables: Sequence[str] | None = None
) -> Path:
    """Write results by suffix: ``.nc`` netCDF, ``.csv`` tidy long table, ``.xlsx`` Excel.

    Atomic, and never over an existing file without ``force``. The Excel workbook has a
    ``data`` sheet (the tidy table; at most 1,048,575 rows, else use CSV or netCDF), a
    ``variables`` sheet (units, English and Chinese names) and a ``manifest`` sheet.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise YaanSimError(
            f"{path}: unknown output type {suffix or '(none)'}; use .nc "
            "(netCDF), .csv (tidy long table) or .xlsx (Excel)"
        )
    if suffix == ".nc":
        sub = ds if variables is None else ds[list(variables)]
        return write_atomic(path, lambda tmp: sub.to_netcdf(tmp), force=force)
    tidy = to_tidy(ds, variables)
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: tidy.to_csv(tmp, index=False), force=force)
    if len(tidy) > EXCEL_MAX_ROWS:
        raise YaanSimError(
            f"{path}: {len(tidy):,} rows do not fit an Excel sheet "
            f"({EXCEL_MAX_ROWS:,} at most): write .csv or .nc, or keep fewer "
            "variables or samples"
        )
    info = pd.DataFrame(
        [
            {
                "variable": n,
                "units": ds[n].attrs.get("units", ""),
                "long_name": ds[n].attrs.get("long_name", ""),
                "long_name_zh": ds[n].attrs.get("long_name_zh", ""),
                "dims": ", ".join(ds[n].dims),
            }
            for n in tidy["variable"].unique()
        ]
    )
    manifest = ds.attrs.get("manifest")
    man = pd.DataFrame(
        sorted(json.loads(manifest).items()) if manifest else [], columns=["key", "value"]
    )
    man["value"] = man["value"].map(
        lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)[:32000]
    )

    def write(tmp):
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            tidy.to_excel(xw, sheet_name="data", index=False)
            info.to_excel(xw, sheet_name="variables", index=False)
            man.to_excel(xw, sheet_name="manifest", index=False)

    return write_atomic(path, write, force=force)


def write_table(df: pd.DataFrame, path: str | Path, force: bool = False) -> Path:
    """Write a table (goal gaps, indices, fits) as .csv or .xlsx, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False), force=force)
    if suffix == ".xlsx":

        def write(tmp):
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                df.to_excel(xw, sheet_name="table", index=False)

        return write_atomic(path, write, force=force)
    raise YaanSimError(f"{path}: tables are written as .csv or .xlsx")
