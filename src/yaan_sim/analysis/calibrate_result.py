"""The result of a fit: fitted values with standard errors, its summary text and YAML document."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: The comment lines at the top of the YAML of a fit.
YAML_HEADER = (
    "Written by `yaan-sim calibrate`: constants fitted to the data ledger.",
    "Copy a value into the .mdl (with its interval in the source field) to adopt it;",
    "`yaan-sim calibrate --posterior` gives the full posterior ensemble.",
)

# ------------------------------------------------------------------ the result


@dataclass
class CalibrationResult:
    """A fit: parameters with uncertainty, per-series statistics, every figure compared.

    Attributes
    ----------
    params : pandas.DataFrame
        label, name, elements, units, prior, start, value, se, ci_low, ci_high (95 %,
        within the range), min, max, at_bound, informed (the fitted figures move it),
        identified (and pin it down: not free jointly with other parameters).
    stats : dict
        n_fit, n_held_out, n_params, dof, chi2, chi2_dof, birge, cost, success, message,
        engine calls and runs, seconds.
    series : pandas.DataFrame
        Per series (variable, scope, kind) and role: n, RMSE, MAPE, log_rmse, bias,
        theil_U, U_M, U_S, U_C.
    table : pandas.DataFrame
        The back-test table at the fitted values (every ledger row), with
        ``simulated_start`` (at the start values).
    correlation : pandas.DataFrame
    info : dict
    """

    params: pd.DataFrame
    stats: dict
    series: pd.DataFrame
    table: pd.DataFrame
    correlation: pd.DataFrame
    info: dict = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        return dict(zip(self.params["label"], self.params["value"], strict=True))

    def summary(self) -> str:
        """A text report: parameters, fit statistics, per-series errors."""
        lines = [
            "Fitted parameters (95% interval from the linearised covariance"
            + (
                f", inflated by the Birge ratio {self.stats['birge']:.3g}"
                if self.stats["birge"] > 1
                else ""
            )
            + "):"
        ]
        for r in self.params.itertuples():
            flag = "; AT BOUND" if r.at_bound else ""
            if not r.informed:
                flag += "; NOT INFORMED by the data"
            elif not r.identified:
                flag += "; NOT IDENTIFIED: the fitted figures move it only jointly with others"
            lines.append(
                f"  {r.label:<44} {r.value:.6g}  (se {r.se:.3g}; "
                f"[{r.ci_low:.4g}, {r.ci_high:.4g}]; start {r.start:.4g}; prior {r.prior}{flag})"
            )
        s = self.stats
        lines.append(
            f"Fit: {s['n_fit']} figures fitted, {s['n_held_out']} held out (periods after "
            f"{self.info['cutoff']}), {s['n_params']} parameters, dof {s['dof']}; "
            f"chi2 {s['chi2']:.4g} (chi2/dof {s['chi2_dof']:.3g})"
        )
        lines.append("Per series (fit = in sample, held-out = out of sample):")
        lines.append(
            self.series.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
            if len(self.series)
            else "  (no series)"
        )
        return "\n".join(lines)

    def to_yaml(self) -> str:
        """The fitted values and their uncertainty as YAML (see :meth:`write_yaml`)."""
        from yaan_sim.outputs.scenario_file import dump_yaml

        return dump_yaml(self._document(), YAML_HEADER)

    def write_yaml(self, path, force: bool = False) -> Path:
        """Write :meth:`to_yaml` atomically (never over a file without ``force``)."""
        from yaan_sim.outputs.scenario_file import write_yaml

        return write_yaml(path, self._document(), YAML_HEADER, force=force)

    def _document(self) -> dict:
        doc = {
            "kind": "yaan-sim calibration",
            "created_utc": self.info["created_utc"],
            "model": {"file": self.info["model_file"], "sha256": self.info["model_sha256"]},
            "ledger_sha256": self.info["ledger_sha256"],
            "cutoff": self.info["cutoff"],
            "scenario": self.info["scenario"],
            "observation_errors": self.info["obs_errors"],
            "model_error": self.info["model_error"],
            "parameters": {
                r.label: {
                    "value": _num(r.value),
                    "se": _num(r.se),
                    "ci95": [_num(r.ci_low), _num(r.ci_high)],
                    "start": _num(r.start),
                    "range": [_num(r.min), _num(r.max)],
                    "prior": r.prior,
                    "units": r.units,
                    "informed": bool(r.informed),
                    "identified": bool(r.identified),
                    "at_bound": bool(r.at_bound),
                }
                for r in self.params.itertuples()
            },
            "fit": {
                k: (_num(v) if isinstance(v, float) else v)
                for k, v in self.stats.items()
                if k in ("n_fit", "n_held_out", "n_params", "dof", "chi2", "chi2_dof", "birge")
            },
            "series": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.series.to_dict("records")
            ],
        }
        return doc


def _num(x):
    """A number as the YAML shows it: 6 significant digits; NaN as empty; infinity as
    YAML's own ``.inf`` (a number when read back, not the text '.inf')."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return x
    return float(f"{x:.6g}")
