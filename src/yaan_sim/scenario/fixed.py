"""A scenario made in code: fixed lever values, no file to read.

What a chunk of an ensemble runs, what goal-seeking and calibration move their levers
around, and what a test builds in one line::

    ys.simulate(model, [FixedScenario("truth", {"Output capital ratio": 1.62})])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from yaan_sim.model.load import Horizon
from yaan_sim.protocols import ModelLike, ScenarioLike


class FixedScenario:
    """A scenario given as resolved overrides ({Vensim name: value}).

    It keeps the name, titles, hash and files of the scenario it stands for (see
    :meth:`of`), so a manifest still names them; it has no ``uncertain`` block (a design
    is passed as ``sample_overrides``) and no horizon of its own.
    """

    uncertain = None
    horizon: Horizon | None = None

    def __init__(
        self,
        name: str,
        overrides: Mapping[str, Any],
        title_en: str | None = None,
        title_zh: str | None = None,
        sha256: str | None = None,
        text: str | None = None,
        sources: Sequence[Path] = (),
        texts: Sequence[str] | None = None,
    ):
        self.name = name
        self._overrides = dict(overrides)
        self.title_en = title_en or name
        self.title_zh = title_zh or self.title_en
        self.sha256 = sha256
        self.text = text
        self.sources = tuple(sources)
        self.texts = tuple(texts) if texts is not None else None

    @classmethod
    def of(
        cls,
        scenario: ScenarioLike | None,
        model: ModelLike,
        horizon: Horizon,
        extra: Mapping[str, Any] | None = None,
    ) -> FixedScenario:
        """``scenario``'s lever values on ``horizon``'s grid, plus ``extra`` overrides
        (the model's defaults when ``scenario`` is None)."""
        over = scenario.overrides(model, horizon) if scenario is not None else {}
        over.update(extra or {})
        if scenario is None:
            return cls("default", over)
        return cls(
            scenario.name,
            over,
            scenario.title_en,
            scenario.title_zh,
            getattr(scenario, "sha256", None),
            getattr(scenario, "text", None),
            getattr(scenario, "sources", ()),
            getattr(scenario, "texts", None),
        )

    def overrides(
        self, model: ModelLike | None = None, horizon: Horizon | None = None
    ) -> dict[str, xr.DataArray]:
        """The fixed values (the same on any model and horizon they were made for)."""
        return dict(self._overrides)
