"""Scenario files: read, validate and layer YAML scenarios; resolve their lever values.

A scenario names the model's levers by their Vensim names and gives each a number, a
per-park (or per-industry) map, or a time schedule; it may ``extends:`` another
scenario and carry an ``uncertain:`` block for ensembles. scenarios/README.md is the
reference of the format; in short::

    name: plan
    title: {zh: 规划情景, en: The plan as written}
    extends: baseline
    horizon: {start: 2016, stop: 2020, step: 0.25}
    levers:
      PPP share: 0.2                                  # one number, every element
      Research intensity target:                      # per park (English or Chinese names)
        default: 0.012
        ETDZ: 0.015
        plan: 一(三)
      Power price discount:                           # a schedule
        schedule: {2016: 0, 2018: 0.1}
        interpolation: linear
    uncertain:
      Depreciation rate: {distribution: uniform, low: 0.06, high: 0.10}

Validation runs before anything else and reports every problem of a file at once
(:class:`Problem`: file, line, key path, what was expected, the fix); no YAML or Python
exception escapes: bad input always raises :class:`~yaan_sim.errors.ScenarioError`.

The package, one job a module:

- :mod:`~yaan_sim.scenario.reader`: the hardened YAML reader (limits, duplicate keys,
  tags, YAML 1.2 numbers) and :class:`Problem`; goals files use it too;
- :mod:`~yaan_sim.scenario.types`: the parsed values (:class:`Scenario`, ...);
- :mod:`~yaan_sim.scenario.checks` and :mod:`~yaan_sim.scenario.settings`: the rules;
- :mod:`~yaan_sim.scenario.layering`: file lookup, ``extends:``, load and validate;
- :mod:`~yaan_sim.scenario.places`: the names of parks and regions (English, Chinese);
- :mod:`~yaan_sim.scenario.table`: the lever comparison table.

>>> sc = load_scenario("plan")                       # doctest: +SKIP
>>> series = sc.overrides(load_model())              # doctest: +SKIP
>>> series["PPP share"].sel(time=2018.0)             # doctest: +SKIP
"""

from yaan_sim.scenario.layering import (
    MAX_CHAIN,
    find_scenario,
    load_scenario,
    load_scenarios,
    scenario_files,
    validate_file,
)
from yaan_sim.scenario.places import Places
from yaan_sim.scenario.reader import (
    MAX_ALIASES,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    Node,
    Problem,
    Reader,
    display_path,
)
from yaan_sim.scenario.table import lever_table
from yaan_sim.scenario.types import (
    Distribution,
    LeverSetting,
    Scenario,
    Schedule,
    UncertainSetting,
    Uncertainty,
)

__all__ = [
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_CHAIN",
    "MAX_DEPTH",
    "MAX_NODES",
    "Distribution",
    "LeverSetting",
    "Node",
    "Places",
    "Problem",
    "Reader",
    "Scenario",
    "Schedule",
    "UncertainSetting",
    "Uncertainty",
    "display_path",
    "find_scenario",
    "lever_table",
    "load_scenario",
    "load_scenarios",
    "scenario_files",
    "validate_file",
]
