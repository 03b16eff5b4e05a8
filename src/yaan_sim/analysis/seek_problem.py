"""Seek's problem: the goals' gaps and margins of candidate shifts, each batch of
candidates one engine call, every candidate run once (cached)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from yaan_sim.analysis.runner import run_design
from yaan_sim.analysis.seek_levers import LeverVar, lever_values
from yaan_sim.errors import YaanSimError
from yaan_sim.model.load import Horizon
from yaan_sim.outputs.gaps import goal_gaps, goal_variables
from yaan_sim.outputs.goals import GoalSet
from yaan_sim.protocols import ModelLike, ScenarioLike
from yaan_sim.scenario.fixed import FixedScenario


class SeekProblem:
    def __init__(
        self,
        model: ModelLike,
        scenario: ScenarioLike | None,
        variables: list[LeverVar],
        bases: dict[str, xr.DataArray],
        outcomes: list[str],
        goals: GoalSet,
        year: int | None,
        horizon: Horizon,
        engine: str,
        from_year: float | None = None,
    ):
        self.model, self.vars, self.bases = model, variables, bases
        self.from_year = from_year
        self.outcomes, self.goals, self.year = outcomes, goals, year
        self.h, self.engine = horizon, engine
        self.fixed = FixedScenario.of(scenario, model, horizon)
        self.runs = 0
        self.calls = 0
        self.cache: dict[tuple, np.ndarray] = {}
        self.meta: xr.DataArray | None = None

    def gaps(self, D: np.ndarray) -> np.ndarray:
        """(candidates, goals) gaps for shifts D (candidates, variables)."""
        D = np.atleast_2d(D)
        keys = [tuple(np.round(d, 15)) for d in D]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            ds = run_design(
                self.model,
                self.fixed,
                lever_values(self.bases, self.vars, D[todo], self.from_year),
                self.h,
                engine=self.engine,
                return_vars=self.return_vars(),
            )
            g = goal_gaps(ds, self.outcomes, self.goals, self.year)
            if self.meta is None:
                self.meta = g
            years = set(int(y) for y in np.atleast_1d(g["year"].values))
            if self.year is not None and years != {self.year}:
                raise YaanSimError(f"the run does not reach {self.year}: extend the horizon")
            vals = np.asarray(g.transpose("sample", "outcome").values, dtype=float)
            for i, row in zip(todo, vals, strict=True):
                self.cache[keys[i]] = row
            self.runs += len(todo)
            self.calls += 1
        return np.vstack([self.cache[k] for k in keys])

    def return_vars(self) -> list[str]:
        return goal_variables(self.goals, self.outcomes)

    def margins(self, D: np.ndarray) -> np.ndarray:
        """Sign-corrected gaps scaled by the target: >= 0 where the goal is met."""
        G = self.gaps(D)
        return G * self.sign / self.scale

    def setup_scale(self) -> None:
        self.gaps(np.zeros((1, len(self.vars))))
        m = self.meta
        assert m is not None  # set by the first gaps()
        self.sign = np.asarray(m["sign"].values, dtype=float)
        t = np.asarray(m["target"].values, dtype=float)
        self.scale = np.where(np.isfinite(t) & (np.abs(t) > 0), np.abs(t), 1.0)
