"""What the layers ask of a model and of a scenario, as typing Protocols.

A loaded model (:class:`yaan_sim.model.load.YaanModel`) and a scenario
(:class:`yaan_sim.scenario.Scenario`, or :class:`yaan_sim.scenario.fixed.FixedScenario`
made in code) are passed through every layer; these Protocols name the members the
engines, the run layer and the outputs use, so the type checker can follow them without
the layers importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

    from yaan_sim.model.docmeta import VarMeta
    from yaan_sim.model.load import Horizon


class ModelLike(Protocol):
    """A loaded Vensim model: its file, its variables' metadata and its PySD object."""

    @property
    def mdl_path(self) -> Path: ...
    @property
    def mdl_sha256(self) -> str: ...
    @property
    def pysd_model(self) -> Any: ...
    @property
    def meta(self) -> Mapping[str, VarMeta]: ...
    @property
    def by_py_name(self) -> Mapping[str, VarMeta]: ...
    @property
    def subscripts(self) -> dict[str, list[str]]: ...
    @property
    def dim_of_range(self) -> Mapping[str, str]: ...
    @property
    def full_range_of_dim(self) -> Mapping[str, str]: ...
    @property
    def default_horizon(self) -> Horizon: ...

    def dims_of(self, name: str) -> tuple[str, ...]: ...
    def default_value(self, name: str, *, copy: bool = True) -> xr.DataArray: ...
    def regions(self) -> dict[str, str]: ...
    def vector_model(self, factory: Any) -> Any: ...
    def at_start(self, start: float) -> Any: ...


class UncertaintyLike(Protocol):
    """A scenario's ``uncertain:`` block: falsy when empty, drawn with ``sample``;
    ``settings`` maps the names of the constants it draws to their distributions."""

    @property
    def settings(self) -> Mapping[str, Any]: ...
    def __bool__(self) -> bool: ...
    def sample(self, rng: np.random.Generator, n: int) -> dict[str, xr.DataArray]: ...


class ScenarioLike(Protocol):
    """A scenario as the runs use it: a name, titles, lever values on a time grid.

    Where a scenario has them, the manifest also records ``sha256`` (of its files' text),
    ``sources`` (the files of its ``extends:`` chain, its own first) and ``texts`` (their
    text); it reads them with ``getattr``, so a scenario made in code may lack them.
    """

    @property
    def name(self) -> str: ...
    @property
    def title_en(self) -> str: ...
    @property
    def title_zh(self) -> str: ...
    @property
    def horizon(self) -> Horizon | None: ...
    @property
    def uncertain(self) -> UncertaintyLike | None: ...

    def overrides(
        self, model: ModelLike, horizon: Horizon | None = None
    ) -> dict[str, xr.DataArray]: ...
