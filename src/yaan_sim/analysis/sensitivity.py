"""Global sensitivity analysis with SALib: which parameters and levers drive each goal's gap.

Example::

    res = run_sensitivity(model, sc, method="sobol", samples=256, seed=1)
    res.table                     # one row per outcome x factor: S1, ST (and confidence)
    res.plot(lang="zh")           # heat map of the total-order indices

Factors are

- every independent draw of the scenario's ``uncertain:`` block (see
  :func:`yaan_sim.analysis.sampling.factors`), over its distribution, and
- with ``levers`` (default ``"all"``), every policy lever the block does not already
  draw: a shift of the scenario's setting (at every time, every element) by up to
  ``lever_spread`` (default 10 %) of the lever's ``[min,max]`` range either way, clipped
  to the range, uniform. This asks "how much do the goals respond to moving each lever
  a little", not "what if the lever took any value in its range".

The unit cube is sampled by Saltelli's scheme on two independently scrambled Sobol'
sequences (:func:`saltelli_matrix`) for ``sobol`` and by SALib's Morris trajectories for
``morris``; SALib computes the indices. Each column goes through its factor's inverse
CDF, so the indices are those of the factors' own distributions. All samples run in
vectorised chunks (the run layer, :mod:`yaan_sim.analysis.runner`: in-process, local
processes or a dask cluster).

Outcomes are goal gaps (:func:`yaan_sim.outputs.gaps.goal_gaps`): by default city revenue
and ETDZ revenue in 2020 against 2000亿 and 1000亿, the city's R&D share against 1.2 %, and
the largest year-on-year change of energy use per unit output (the goal needs it below 0).

``sobol`` gives first-order (S1) and total (ST) indices with bootstrap confidence
intervals (95 %); ``samples`` N is the base sample (N (k+2) runs for k factors; a power
of two, rounded up). ``morris`` gives mu* (mean absolute elementary effect, in the gap's
unit per unit of the factor's quantile), mu and sigma, with N trajectories (N (k+1)
runs). Same seed, same indices.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.analysis.runner import Job, run_jobs
from yaan_sim.analysis.sampling import (
    Design,
    design_from_unit,
    factors,
    place_candidates,
    qmc_engine,
    repeat_on_samples,
)
from yaan_sim.engines.prerun import check_memory, check_seed
from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import constants, lever_registry, parse_lever_spec
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.export import write_table
from yaan_sim.outputs.gaps import DEFAULT_OUTCOMES, goal_gaps, goal_variables
from yaan_sim.outputs.goals import GoalSet, load_goals
from yaan_sim.outputs.results import annotate, write_atomic
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.fixed import FixedScenario
from yaan_sim.scenario.places import Places

METHODS = ("sobol", "morris")
DEFAULT_SPREAD = 0.1


@dataclass(frozen=True)
class LeverFactor:
    """A lever (or some of its elements) moved around the scenario's setting:
    ``value + (2u - 1) * spread * range``, clipped to the range."""

    label: str
    name: str
    base: xr.DataArray  # the scenario's value: dims (time?, *lever dims)
    lo: float
    hi: float
    spread: float
    dim: str | None = None
    elements: tuple[str, ...] = ()

    def values(self, u: np.ndarray, onto: xr.DataArray | None = None) -> xr.DataArray:
        """The lever's values (dims ``sample, ...``) for unit values ``u``, moved from
        ``onto`` (another factor's values of the same lever) or from the base."""
        shift = (2 * np.asarray(u, dtype=float) - 1) * self.spread * (self.hi - self.lo)
        da = onto if onto is not None else repeat_on_samples(self.base, len(shift))
        return place_candidates(
            da, shift, mode="shift", dim=self.dim, elements=self.elements, lo=self.lo, hi=self.hi
        )


def lever_factors(
    model: ModelLike,
    scenario: ScenarioLike | None,
    horizon: Horizon,
    levers: Any = "all",
    spread: float = DEFAULT_SPREAD,
    skip: Iterable[str] = (),
) -> list[LeverFactor]:
    """Lever factors for ``levers`` ("all", None, or specs such as ``Name`` or
    ``Name[ETDZ]``), minus the levers named in ``skip``."""
    if not levers:
        return []
    if not 0 < spread <= 1:
        raise YaanSimError(f"lever spread must be in (0, 1], got {spread}")
    reg = lever_registry(model)
    specs = list(reg) if levers == "all" else list(levers)
    resolve_place = Places.from_model(model).resolve  # Name[经开区]
    selections = [parse_lever_spec(key, reg, resolve_place=resolve_place) for key in specs]
    over = scenario.overrides(model, horizon) if scenario is not None else {}
    out: list[LeverFactor] = []
    for sel in selections:
        lv = sel.lever
        if sel.name in skip or math.isnan(lv.min) or math.isnan(lv.max):
            continue
        if any(f.label == sel.label for f in out):
            continue
        base = over.get(sel.name, lv.default)
        base = base.drop_vars([c for c in base.coords if c not in base.dims])
        out.append(
            LeverFactor(
                sel.label,
                sel.name,
                base.astype(float),
                lv.min,
                lv.max,
                spread,
                sel.dim,
                sel.elements,
            )
        )
    return out


@dataclass
class SensitivityResult:
    """Indices of every factor on every outcome, and what produced them.

    Attributes
    ----------
    method : str
    table : pandas.DataFrame
        One row per outcome x factor. Columns: outcome, goal_id, scope_name, unit, factor,
        factor_zh, kind (``uncertain`` or ``lever``), then for sobol S1, S1_conf, ST,
        ST_conf; for morris mu, mu_star, sigma, mu_star_conf; and gap_mean, gap_sd (the
        outcome's spread over the samples).
    gaps : xarray.DataArray
        The outcomes of every run (outcome, sample).
    unit : numpy.ndarray
        SALib's unit-cube sample (runs, factors).
    info : dict
        Scenario, samples, seed, runs, factors, outcomes, lever spread.
    """

    method: str
    table: pd.DataFrame
    gaps: xr.DataArray
    unit: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def main_index(self) -> str:
        return "ST" if self.method == "sobol" else "mu_star"

    def pivot(self, index: str | None = None) -> pd.DataFrame:
        """Factors x outcomes of one index (default ST or mu_star)."""
        index = index or self.main_index
        t = self.table.pivot(index="factor", columns="outcome", values=index)
        return t.reindex(
            index=list(dict.fromkeys(self.table["factor"])),
            columns=list(dict.fromkeys(self.table["outcome"])),
        )

    def plot(
        self, ax: Any = None, *, index: str | None = None, lang: str = "en", top: int | None = None
    ) -> Any:
        """Heat map of one index, factors (rows) by outcomes (columns); returns the axes.

        For morris, mu* is divided by its largest value in each outcome (0-1), since
        outcomes have different units.
        """
        return plot_sensitivity(self, ax=ax, index=index, lang=lang, top=top)


def run_sensitivity(
    model: ModelLike,
    scenario: ScenarioLike | None,
    *,
    method: str = "sobol",
    samples: int = 256,
    seed: int | None = 0,
    levers: Any = "all",
    lever_spread: float = DEFAULT_SPREAD,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    goals: GoalSet | None = None,
    year: int | None = None,
    horizon: Horizon | None = None,
    engine: str = "auto",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    second_order: bool = False,
    num_levels: int = 4,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> SensitivityResult:
    """Sobol or Morris indices of every uncertain parameter and lever on each goal's gap.

    See the module docstring. ``levers``: "all" (default), a list of lever names, or
    None for the ``uncertain:`` block alone. ``year``: the year the gaps are read
    (default: the goal year, else the last simulated year).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample

    if method not in METHODS:
        raise YaanSimError(f"unknown method {method!r}: choose sobol or morris")
    samples = int(samples)
    if samples < 2:
        raise YaanSimError(f"samples must be at least 2, got {samples}")
    goals = load_goals() if goals is None else goals
    h = horizon or getattr(scenario, "horizon", None) or model.default_horizon
    uncertainty = scenario.uncertain if scenario is not None else None
    ufac = factors(uncertainty) if uncertainty else []
    lfac = lever_factors(
        model,
        scenario,
        h,
        levers,
        lever_spread,
        skip=set(uncertainty.settings) if uncertainty else set(),
    )
    labels = [f.label for f in ufac] + [f.label for f in lfac]
    k = len(labels)
    if k == 0:
        raise YaanSimError(
            "nothing to vary: the scenario has no `uncertain:` block and no "
            "levers were chosen (use --levers all or give an uncertain block)"
        )
    problem = {"num_vars": k, "names": labels, "bounds": [[0.0, 1.0]] * k}
    seed = check_seed(seed)
    runs = (
        (1 << (samples - 1).bit_length()) * (2 * k + 2) if method == "sobol" else samples * (k + 1)
    )
    check_memory(model, runs, h, goal_variables(goals), 1)  # before the design or any run
    if method == "sobol":
        n = 1 << (samples - 1).bit_length()
        if n != samples and notify is not None:
            notify(f"Sobol' sampling needs a power of two: {samples} samples rounded up to {n}")
        samples = n
        X = saltelli_matrix(samples, k, seed, second_order)
    else:
        X = morris_sample.sample(problem, samples, num_levels=num_levels, seed=seed)
    runs = X.shape[0]
    values = dict(design_from_unit(uncertainty, X[:, : len(ufac)]).values) if ufac else {}
    for j, f in enumerate(lfac):
        values[f.name] = f.values(X[:, len(ufac) + j], values.get(f.name))
    design = Design(method, seed, ufac, X, values)

    for o in outcomes:
        gid = str(o).partition(":")[0]
        if gid not in goals.ids:
            raise YaanSimError(f"unknown goal {gid!r}: choose from {', '.join(goals.ids)}")
    rv = goal_variables(goals, outcomes)
    out = run_jobs(
        model,
        [Job(FixedScenario.of(scenario, model, h), h, design, record_inputs=False)],
        return_vars=rv,
        engine=engine,
        chunk_size=chunk_size,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        desc="sensitivity",
        unit="chunks",
    )
    gaps = goal_gaps(annotate(out.datasets[0], model), outcomes, goals, year)

    zh = {n: c.zh for n, c in constants(model).items()}
    rows = []
    for o in gaps["outcome"].values:
        g = gaps.sel(outcome=o)
        Y = np.asarray(g.values, dtype=float)
        if not np.all(np.isfinite(Y)):
            raise YaanSimError(
                f"outcome {o!r} is not finite in {int(np.sum(~np.isfinite(Y)))} "
                "runs: check the horizon covers the goal years"
            )
        res = _analyze(
            method, problem, X, Y, seed, num_levels, second_order, sobol_analyze, morris_analyze
        )
        for j, label in enumerate(labels):
            name = label.split("[")[0]
            rest = label[len(name) :]
            row = {
                "outcome": str(o),
                "goal_id": str(g["goal_id"].values),
                "scope_name": str(g["scope_name"].values),
                "unit": str(g["unit"].values),
                "year": int(g["year"].values),
                "factor": label,
                "factor_zh": (zh.get(name) or name) + rest,
                "kind": "uncertain" if j < len(ufac) else "lever",
            }
            row |= {key: float(val[j]) for key, val in res.items()}
            row |= {"gap_mean": float(Y.mean()), "gap_sd": float(Y.std())}
            rows.append(row)
    table = pd.DataFrame(rows)
    info = {
        "scenario": getattr(scenario, "name", None),
        "scenario_sha256": getattr(scenario, "sha256", None),
        "method": method,
        "samples": samples,
        "runs": runs,
        "seed": seed,
        "factors": labels,
        "outcomes": [str(o) for o in gaps["outcome"].values],
        "lever_spread": lever_spread,
        "horizon": [h.start, h.stop, h.step, h.saveper],
        "num_levels": num_levels,
        "model_sha256": model.mdl_sha256,
    }
    return SensitivityResult(method, table, gaps, X, info)


def saltelli_matrix(n: int, k: int, seed: int | None, second_order: bool = False) -> np.ndarray:
    """Saltelli's sample for Sobol' indices, in SALib's row layout, from independent A and B.

    A and B are two independently scrambled Sobol' sequences of ``k`` dims, paired at
    random (not the two halves of one ``2k``-dim sequence, as ``SALib.sample.sobol`` takes
    them: for small N some of its A and B columns are strongly correlated, e.g. r = 0.74
    at N = 64 with 27 factors, which biases ST and S1 towards 0). Rows, for each base
    sample i: A_i, then AB_j,i for every j (A_i with column j from B_i), [then BA_j,i
    with second order], then B_i.
    """
    from scipy.stats import qmc

    ra, rb, rp = np.random.default_rng(seed).spawn(3)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        A = qmc_engine(qmc.Sobol, k, ra, scramble=True).random(n)
        B = qmc_engine(qmc.Sobol, k, rb, scramble=True).random(n)
    # The i-th points of two Sobol' sequences fall in related elementary intervals, so
    # pairing them by index correlates A and B (|r| up to 0.95): pair them at random.
    B = B[rp.permutation(n)]
    blocks = [A]
    for j in range(k):
        ab = A.copy()
        ab[:, j] = B[:, j]
        blocks.append(ab)
    if second_order:
        for j in range(k):
            ba = B.copy()
            ba[:, j] = A[:, j]
            blocks.append(ba)
    blocks.append(B)
    return np.stack(blocks, axis=1).reshape(-1, k)


def _analyze(
    method: str,
    problem: dict,
    X: np.ndarray,
    Y: np.ndarray,
    seed: int | None,
    num_levels: int,
    second_order: bool,
    sobol_analyze: Any,
    morris_analyze: Any,
) -> dict[str, np.ndarray]:
    k = problem["num_vars"]
    if np.ptp(Y) == 0:  # the outcome does not move: every index is 0
        z = np.zeros(k)
        return (
            {"S1": z, "S1_conf": z, "ST": z, "ST_conf": z}
            if method == "sobol"
            else {"mu": z, "mu_star": z, "sigma": z, "mu_star_conf": z}
        )
    with warnings.catch_warnings():
        # SALib's bootstrap divides by resample variances that can be 0 for flat factors
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="SALib")
        if method == "sobol":
            r = sobol_analyze.analyze(
                problem, Y, calc_second_order=second_order, seed=seed, print_to_console=False
            )
            return {
                key: np.asarray(r[key], dtype=float) for key in ("S1", "S1_conf", "ST", "ST_conf")
            }
        r = morris_analyze.analyze(
            problem, X, Y, num_levels=num_levels, seed=seed, print_to_console=False
        )
        return {
            key: np.asarray(r[key], dtype=float)
            for key in ("mu", "mu_star", "sigma", "mu_star_conf")
        }


def plot_sensitivity(
    result: SensitivityResult,
    ax: Any = None,
    *,
    index: str | None = None,
    lang: str = "en",
    top: int | None = None,
) -> Any:
    """Heat map of a sensitivity index: factors (rows) by goal outcomes (columns)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from yaan_sim.outputs.fonts import font_rc

    if lang not in ("en", "zh"):
        raise YaanSimError(f"lang must be 'en' or 'zh', not {lang!r}")
    index = index or result.main_index
    piv = result.pivot(index)
    if result.method == "morris" and index in ("mu_star", "mu", "sigma"):
        piv = piv / piv.abs().max(axis=0).replace(0, 1)
    order = piv.max(axis=1).sort_values(ascending=False).index
    piv = piv.loc[order[:top] if top else order]
    # uncertain assumptions first, policy levers below a rule: two different questions
    kind = dict(zip(result.table["factor"], result.table["kind"], strict=True))
    piv = piv.loc[sorted(piv.index, key=lambda f: kind.get(f) == "lever")]  # stable
    conf_col = f"{index}_conf"
    conf = result.pivot(conf_col).loc[piv.index, piv.columns] if conf_col in result.table else None
    goals = load_goals()
    col_labels = []
    for o in piv.columns:
        gid, _, scope = o.partition(":")
        name = goals[gid].name(lang) if gid in goals.ids else gid
        col_labels.append(f"{name}\n{scope}" if scope else name)
    zh = dict(zip(result.table["factor"], result.table["factor_zh"], strict=True))
    tag = {"lever": "［杠杆］" if lang == "zh" else "[lever] "}
    row_labels = [
        tag.get(str(kind.get(f)), "") + (zh.get(f, f) if lang == "zh" else f) for f in piv.index
    ]
    rc = font_rc(lang)
    with matplotlib.rc_context(rc):
        if ax is None:
            _, ax = plt.subplots(
                figsize=(1.6 + 1.5 * len(piv.columns), 0.8 + 0.34 * len(piv)), layout="constrained"
            )
        data = piv.to_numpy(dtype=float)
        im = ax.imshow(np.clip(data, 0, 1), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                c = float(conf.iat[i, j]) if conf is not None else math.nan
                ax.text(
                    j,
                    i,
                    f"{v:.2f}" + (f"±{c:.2f}" if np.isfinite(c) else ""),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if v > 0.6 else "black",
                )
        ax.set_xticks(
            range(len(col_labels)),
            col_labels,
            fontsize=8,
            rotation=30,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
        what = {
            "ST": ("total-order Sobol index ST", "总效应指数 ST"),
            "S1": ("first-order Sobol index S1", "一阶指数 S1"),
            "mu_star": ("Morris mu* (scaled to the largest)", "Morris μ*(按最大值归一)"),
        }
        title = what.get(index, (index, index))[0 if lang == "en" else 1]
        if conf is not None:
            title += " (± 95 % CI)" if lang == "en" else "（±95%置信区间）"
        ax.set_title(title, fontsize=10)
        levers = [i for i, f in enumerate(piv.index) if kind.get(f) == "lever"]
        if levers and levers[0] > 0:
            ax.axhline(levers[0] - 0.5, color="k", lw=1.2)
        wide = conf is not None and bool(((conf.to_numpy(float) > 0.5 * np.abs(data))
                                          & (np.abs(data) > 0.05)).any())  # fmt: skip
        if (data > 1).any() or wide:  # sampling noise larger than the signal
            note = (
                "An index above 1 or an interval wider than half the index: too few samples "
                f"(N = {result.info.get('samples', '?')}); run again with a larger -n."
                if lang == "en"
                else f"存在大于1的指数或置信区间超过指数一半：样本数偏少（N = "
                f"{result.info.get('samples', '?')}），请增大 -n 重新计算。"
            )
            ax.figure.text(
                0.01, 0.0, note, fontsize=7, color="#b2182b", va="bottom", gid="n_warning"
            )
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
        for text in ax.figure.findobj(matplotlib.text.Text):
            text.set_fontfamily(rc["font.family"])
    return ax


def write_outputs(
    result: SensitivityResult,
    table_path: str | Path | None = None,
    chart_path: str | Path | None = None,
    *,
    force: bool = False,
    lang: str = "en",
) -> list[Path]:
    """Write the table (.csv or .xlsx; with the run info) and the chart (.png/.svg/.pdf)."""
    written = []
    if table_path is not None:
        df = result.table.copy()
        df.attrs = {}
        written.append(write_table(df, table_path, force=force))
        info_path = str(table_path) + ".json"
        written.append(
            write_atomic(
                info_path,
                lambda tmp: tmp.write_text(
                    json.dumps(result.info, ensure_ascii=False, indent=1), encoding="utf-8"
                ),
                force=force,
            )
        )
    if chart_path is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = result.plot(lang=lang)
        fmt = Path(chart_path).suffix.lstrip(".") or "png"
        written.append(
            write_atomic(
                chart_path,
                lambda tmp: ax.figure.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"),
                force=force,
            )
        )
        plt.close(ax.figure)
    return written


__all__ = [
    "LeverFactor",
    "SensitivityResult",
    "lever_factors",
    "plot_sensitivity",
    "run_sensitivity",
    "write_outputs",
]
