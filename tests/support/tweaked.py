"""A shipped scenario with some of its levers replaced, for tests that ask what a lever
changes (the energy allocation loosened, the plan's R&D subsidy in place of another)."""

from __future__ import annotations


class Tweaked:
    """``base`` with the levers of ``replace`` set to the DataArray given (None: the
    .mdl's value), under ``name``."""

    def __init__(self, base, name, replace):
        self.base, self.name, self.replace = base, name, replace
        self.horizon, self.title_en, self.uncertain = base.horizon, name, None

    def overrides(self, model, horizon):
        out = self.base.overrides(model, horizon)
        for k, v in self.replace.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out
