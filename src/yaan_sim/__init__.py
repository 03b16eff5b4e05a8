"""yaan-sim: a system-dynamics simulator of Ya'an's industrial parks (2016-2020 plan).

Typical use::

    import yaan_sim as ys
    model = ys.load_model()
    ds = ys.simulate(model)                 # the .mdl's defaults (the baseline)
"""

from yaan_sim.engines.simulate import simulate
from yaan_sim.errors import ModelError, ResultsError, ScenarioError, YaanSimError
from yaan_sim.model.levers import lever_registry
from yaan_sim.model.load import Horizon, YaanModel, load_model
from yaan_sim.outputs.evaluate import evaluate
from yaan_sim.outputs.goals import load_goals
from yaan_sim.outputs.results import open_results, to_netcdf
from yaan_sim.scenario import load_scenario, validate_file

__all__ = [
    "Horizon",
    "ModelError",
    "ResultsError",
    "ScenarioError",
    "YaanModel",
    "YaanSimError",
    "evaluate",
    "lever_registry",
    "load_goals",
    "load_model",
    "load_scenario",
    "open_results",
    "simulate",
    "to_netcdf",
    "validate_file",
]
__version__ = "0.1.0"
