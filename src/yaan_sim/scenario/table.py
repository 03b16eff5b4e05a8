"""The comparison table of scenarios' levers (``yaan-sim levers --compare``)."""

from __future__ import annotations

from yaan_sim.model.levers import lever_registry
from yaan_sim.scenario.types import Scenario
from yaan_sim.tables import markdown_table, text_table


def lever_table(scenarios: list[Scenario], model, fmt: str = "markdown") -> str:
    """A table comparing the levers of ``scenarios``: one row per lever, one column each.

    A cell shows what the scenario sets (after layering); ``= plan`` where it takes the
    setting unchanged from the scenario file ``plan.yaml`` it extends; ``·`` where it
    keeps the .mdl default (the ``.mdl default`` column). Regenerate the table of
    scenarios/README.md with ``yaan-sim levers --format markdown --compare ...``.
    """
    registry = lever_registry(model)
    header = ["lever", "units", ".mdl default", *[s.name for s in scenarios]]
    rows = []
    for name, lever in registry.items():
        cells = []
        for s in scenarios:
            setting = s.levers.get(name)
            if setting is None:
                cells.append("·")
            elif setting.origin_path != s.path.resolve():
                cells.append("= " + setting.origin)
            else:
                cells.append(setting.describe())
        rows.append([name, lever.units or "-", lever.default_text(), *cells])
    if fmt != "markdown":
        return text_table(header, rows, align=["left"] * len(header))
    return markdown_table(header, rows).rstrip("\n")
