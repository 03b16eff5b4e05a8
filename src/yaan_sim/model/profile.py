"""Model profiles: what a Vensim model brings with it besides its equations.

A profile names a model's ``.mdl``, its scenarios folder, its goals file, the labels of
its variables and the charts that make sense for it (the words of its title are in the
message catalogue, :func:`yaan_sim.outputs.i18n.model_title`). The outputs (goal
table, charts, report) and the commands read these from the profile, so nothing of the
Ya'an plan (parks, revenue, 2000亿, the plan's title) reaches another model's outputs.

- The Ya'an model (``models/yaan_parks.mdl``, or any file of that name such as a
  back-test's variant) has the Ya'an profile: ``scenarios/``, ``scenarios/plan-goals.yaml``
  and the plan's charts.
- Any other ``.mdl`` has a generic profile: the goals file ``<model>.goals.yaml`` or
  ``goals.yaml`` beside it, the scenario files of a ``scenarios/`` folder beside it, each
  where present; labels from the .mdl's ``en:``/``zh:`` comment fields, else the
  variable's own name; charts of its goals' variables against their targets, or of its
  stocks when it has no goals file.

>>> profile_for("models/yaan_parks.mdl").is_yaan            # doctest: +SKIP
True
>>> profile_for("teacup/teacup.mdl").goals_path            # doctest: +SKIP
PosixPath('teacup/teacup.goals.yaml')                       # when that file exists
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yaan_sim.paths import DEFAULT_MODEL, SCENARIOS_DIR

if TYPE_CHECKING:
    from yaan_sim.model.docmeta import VarMeta
    from yaan_sim.protocols import ModelLike

YAAN = "yaan"
GENERIC = "generic"

#: The charts that make sense for each kind of profile (the generic ones are the keys of
#: the charts :func:`yaan_sim.outputs.report_charts.render_charts` draws for another model).
CHARTS = {
    YAAN: (
        "city_total",
        "park_trajectories",
        "goal_table",
        "goal_gaps",
        "scenario_comparison",
        "fan",
        "goal_panels",
    ),
    GENERIC: ("goal_trajectories", "goal_table", "goal_gaps", "stocks"),
}

#: How many stocks the stocks chart shows at most (the first ones, in .mdl order).
MAX_STOCKS = 9


@dataclass(frozen=True)
class ModelProfile:
    """What a model brings with it: files, title, labels and charts.

    Attributes
    ----------
    kind : {"yaan", "generic"}
    model_name : str
        The .mdl's file name (``teacup.mdl``).
    mdl_path : Path or None
        The .mdl; None for results whose model file is not at hand (the manifest records
        only its name).
    scenarios_dir : Path or None
        The folder of the model's scenario files, where there is one.
    goals_path : Path or None
        The model's goals file, where there is one.
    """

    kind: str
    model_name: str
    mdl_path: Path | None = None
    scenarios_dir: Path | None = None
    goals_path: Path | None = None

    @property
    def is_yaan(self) -> bool:
        return self.kind == YAAN

    @property
    def stem(self) -> str:
        return Path(self.model_name).stem

    @property
    def charts(self) -> tuple[str, ...]:
        return CHARTS[self.kind]

    def scenario_files(self) -> list[Path]:
        """The model's scenario files (``*.yaml`` of its scenarios folder, goals files
        left out); none where it has no such folder."""
        if self.scenarios_dir is None or not self.scenarios_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.scenarios_dir.glob("*.yaml")
            if not p.stem.endswith("-goals") and not p.name.endswith(".goals.yaml")
        )

    def scenario_ref(self, ref: str) -> str:
        """A scenario reference as the scenario reader should see it: a bare name of a
        file in a generic model's scenarios folder becomes that file's path (the reader
        looks bare names up in the Ya'an scenarios/)."""
        if self.is_yaan or self.scenarios_dir is None or "/" in ref or "\\" in ref:
            return ref
        if Path(ref).suffix in (".yaml", ".yml"):
            return ref
        candidate = self.scenarios_dir / f"{ref}.yaml"
        return str(candidate) if candidate.is_file() else ref

    def goals_candidates(self) -> list[Path]:
        """The files this profile takes as its goals file, first found wins; none where
        its .mdl is not known."""
        if self.is_yaan:
            return [self.goals_path] if self.goals_path is not None else []
        if self.mdl_path is None:
            return []
        folder = self.mdl_path.parent
        return [folder / f"{self.stem}.goals.yaml", folder / "goals.yaml"]

    def goals_hint(self) -> str:
        """Where this profile looks for a goals file, in words (for notices)."""
        found = self.goals_candidates()
        if not found:
            return f"the results do not say where {self.model_name} is: pass --model"
        return "looked for " + " or ".join(map(str, found))

    def time_unit(self, model: ModelLike | None = None) -> str:
        """The unit of the model's time axis: ``year`` for Ya'an, else the units the .mdl
        gives INITIAL TIME or TIME STEP (``Minute``), or "" where it gives none."""
        if self.is_yaan:
            return "year"
        metas = getattr(model, "meta", None) or {}
        for name in ("INITIAL TIME", "TIME STEP", "FINAL TIME"):
            meta = metas.get(name)
            if meta is not None and meta.units:
                return str(meta.units)
        return ""

    def stocks(self, model: ModelLike | None, data_vars: Any = ()) -> list[str]:
        """The stocks to chart (Python names, in .mdl order, at most :data:`MAX_STOCKS`).

        From the model's ``INTEG`` variables where the model is at hand; otherwise (or if
        it has none) the first variables of the results that change over time.
        """
        names = list(data_vars)
        metas = list(getattr(model, "meta", {}).values()) if model is not None else []
        stocks = [m.py_name for m in metas if m.kind == "Stateful" and m.subtype == "Integ"]
        stocks = [s for s in stocks if not names or s in names]
        return stocks[:MAX_STOCKS] if stocks else names[:MAX_STOCKS]


def label(meta: VarMeta | None, attrs: Any = None, lang: str = "en", name: str = "") -> str:
    """A variable's label: the .mdl's ``zh:`` (in Chinese) or ``en:`` comment field where
    present, else the Vensim name, else ``name``.

    ``meta`` is the model's :class:`~yaan_sim.model.docmeta.VarMeta`; without it, the
    results variable's ``attrs`` (``long_name_zh``, ``long_name_en``, ``vensim_name``).
    """
    if meta is not None:
        if lang == "zh" and meta.long_name_zh:
            return meta.long_name_zh
        return meta.long_name_en or meta.name
    attrs = attrs or {}
    if lang == "zh" and attrs.get("long_name_zh"):
        return str(attrs["long_name_zh"])
    return str(attrs.get("long_name_en") or attrs.get("vensim_name") or name)


def is_yaan_model(mdl: str | Path | None) -> bool:
    """Whether a model file is the Ya'an model (by its name, as the manifest records it)."""
    return mdl is None or Path(mdl).name == DEFAULT_MODEL.name


def yaan_profile() -> ModelProfile:
    return ModelProfile(
        kind=YAAN,
        model_name=DEFAULT_MODEL.name,
        mdl_path=DEFAULT_MODEL,
        scenarios_dir=SCENARIOS_DIR,
        goals_path=SCENARIOS_DIR / "plan-goals.yaml",
    )


def profile_for(mdl: str | Path | ModelLike | None = None) -> ModelProfile:
    """The profile of a model: a path to its .mdl, a loaded model, or None (Ya'an)."""
    if mdl is not None and not isinstance(mdl, (str, Path)):
        mdl = mdl.mdl_path
    if is_yaan_model(mdl):
        return yaan_profile()
    path = Path(str(mdl))
    scenarios = path.parent / "scenarios"
    profile = ModelProfile(
        GENERIC, path.name, path, scenarios if scenarios.is_dir() else None, None
    )
    goals = next((p for p in profile.goals_candidates() if p.is_file()), None)
    return replace(profile, goals_path=goals)


def profile_for_results(ds: Any, mdl: str | Path | None = None) -> ModelProfile:
    """The profile of a results Dataset: that of ``mdl`` where given, else the one its
    manifest names (only the file name is recorded, so another model's profile then has
    no files: pass its .mdl to find its goals)."""
    if mdl is not None:
        return profile_for(mdl)
    try:
        name = json.loads(ds.attrs.get("manifest") or "{}").get("model_file")
    except (TypeError, ValueError, AttributeError):
        name = None
    if not isinstance(name, str) or not name:
        # no manifest: results that have the parks' revenue are the Ya'an model's
        return yaan_profile() if {"park"} <= set(ds.dims) else ModelProfile(GENERIC, "model")
    if is_yaan_model(name):
        return yaan_profile()
    return ModelProfile(GENERIC, Path(name).name)
