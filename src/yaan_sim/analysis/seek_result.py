"""What a seek answer holds (:class:`SeekResult`): its tables, the scenario file that
sets the levers found, and its summary in English or Chinese."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from yaan_sim.analysis.seek_messages import (
    COLUMNS_ZH,
    CONSTRAINT_ZH,
    MEANING_ZH,
    TABLE_TITLES,
    cell_text,
)
from yaan_sim.outputs.results import write_atomic
from yaan_sim.outputs.scenario_file import (
    dump_scenario,
    extends_path,
    lever_setting,
    scenario_document,
)
from yaan_sim.protocols import ScenarioLike


@dataclass
class SeekResult:
    """What it takes.

    Attributes
    ----------
    feasible : bool
        Whether some values in range meet every chosen goal.
    levers : pandas.DataFrame
        label, units, base (the scenario's value, or its mean over time for a schedule),
        value (base + change), change, change_pct_of_range, min, max.
    goals : pandas.DataFrame
        outcome, goal_id, scope_name, unit, target, year, value_before, value_after,
        gap_before, gap_after, met_before, met_after.
    message : str
        The answer in one paragraph.
    info : dict
        runs, engine calls, screening size, scenario.
    money : pandas.DataFrame
        What the answer means in money, 亿元 (calendar-year totals of the run's flows over
        the parks whose levers move): year (then ``total``), investment_attracted_before,
        investment_attracted, park_fund, guaranteed_loans. Empty for a model without them.
    constraints : pandas.DataFrame
        The constraints in the goal year with the answer: constraint, place, value,
        meaning, binding (energy allocation, land, each lever's range).
    """

    feasible: bool
    levers: pd.DataFrame
    goals: pd.DataFrame
    message: str
    info: dict = field(default_factory=dict)
    money: pd.DataFrame = field(default_factory=pd.DataFrame)
    constraints: pd.DataFrame = field(default_factory=pd.DataFrame)
    shifts: dict = field(default_factory=dict, repr=False)
    values: dict = field(default_factory=dict, repr=False)

    def scenario_yaml(self, name: str = "what-it-takes", extends: str | None = None) -> str:
        """A scenario file that sets the moved levers to the values found.

        Every element of a moved lever is written (a child scenario's lever replaces the
        parent's wholly); a lever that follows a schedule is written as a step schedule at
        every time its value changes on the integration grid, which reproduces the run
        exactly.
        """
        doc = scenario_document(
            name, f"What it takes ({name})", f"达标所需({name})", extends=extends
        )
        doc["levers"] = {
            lever: lever_setting(da, note="found by yaan-sim seek")
            for lever, da in self.values.items()
        }
        return dump_scenario(doc, [f"Written by `yaan-sim seek`: {self.message}"])

    def write_scenario(
        self,
        path: str | Path,
        name: str | None = None,
        force: bool = False,
        base_scenario: ScenarioLike | None = None,
    ) -> Path:
        """Write :meth:`scenario_yaml` atomically (``extends`` the starting scenario)."""
        path = Path(path)
        text = self.scenario_yaml(name or path.stem, extends_path(base_scenario, path))
        return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)

    def summary(self, lang: str = "en") -> str:
        """The answer, then its tables (levers, goals, money, constraints) in ``lang``."""
        from yaan_sim.tables import text_table

        def table(df: pd.DataFrame) -> str:
            if lang == "zh" and "constraint" in df:
                df = df.assign(
                    constraint=[CONSTRAINT_ZH.get(c, c) for c in df["constraint"]],
                    meaning=[
                        MEANING_ZH.get(v, "杠杆取值范围" + ("（已到边界）" if b else ""))
                        for v, b in zip(df["variable"], df["binding"], strict=True)
                    ],
                )
            cols = list(df.columns)
            head = [COLUMNS_ZH.get(c, c) if lang == "zh" else c for c in cols]
            rows = [[cell_text(v, lang) for v in rec] for rec in df.itertuples(index=False)]
            return text_table(head, rows)

        parts = [self.message if lang == "en" else self.message_zh(), ""]
        titles = TABLE_TITLES[lang]
        for title, df in zip(
            titles, (self.levers, self.goals, self.money, self.constraints), strict=True
        ):
            if len(df):
                parts += [title, table(df), ""]
        return "\n".join(parts).rstrip() + "\n"

    def message_zh(self) -> str:
        """The answer in Chinese, short: the tables carry the numbers."""
        lev = self.levers[self.levers["change"].abs() > 0]
        if self.info.get("how") == "already met":
            return "无需调整：所选目标已经达到。"
        moved = "；".join(f"{r.lever} 由 {r.base:.4g} 调至 {r.value:.4g}" for r in lev.itertuples())
        start = self.info.get("from_year")
        when = f"自{start}年起" if start else "自规划期初起"
        head = f"{when}，{moved or '不调整杠杆'}" + (
            "，即可达到所选目标。"
            if self.feasible
            else "，仍无法达到所选目标（下表为最接近的结果）。"
        )
        cons = self.constraints
        binding = cons[cons["binding"]] if len(cons) else cons
        if len(binding):
            head += (
                "起约束作用的是："
                + "；".join(
                    f"{CONSTRAINT_ZH.get(r.constraint, r.constraint)}"
                    f"（{'全市' if r.place == 'city' else r.place}，{r.value:.3g}）"
                    for r in binding.itertuples()
                )
                + "。"
            )
        return head
