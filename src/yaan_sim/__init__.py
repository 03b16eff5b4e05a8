"""yaan-sim: a system-dynamics simulator of Ya'an's industrial parks (2016-2020 plan).

Typical use::

    import yaan_sim as ys
    model = ys.load_model()
    ds = ys.simulate(model)                 # the .mdl's defaults (the baseline)
"""

from .errors import ModelError, ResultsError, ScenarioError, YaanSimError
from .evaluate import evaluate
from .goals import load_goals
from .levers import lever_registry
from .model import Horizon, YaanModel, load_model
from .results import open_results, to_netcdf
from .scenario import load_scenario, validate_file
from .simulate import simulate

__all__ = [
    "Horizon", "ModelError", "ResultsError", "ScenarioError", "YaanModel", "YaanSimError",
    "evaluate", "lever_registry", "load_goals", "load_model", "load_scenario", "open_results", "simulate", "to_netcdf",
    "validate_file",
]
__version__ = "0.1.0"
