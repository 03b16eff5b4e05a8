"""The units check's report: one Issue per problem, the UnitsReport over a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One units problem of one equation.

    kind: ``equation`` (left and right sides differ), ``sum`` (terms of + or -),
    ``comparison``, ``branches`` (MIN, MAX, IF THEN ELSE, ...), ``argument`` (a function
    argument with the wrong units), ``power``, ``flow`` and ``initial`` (of a stock),
    ``declaration`` (one variable's equations declare different units), ``syntax``
    (units that cannot be read), ``time`` (the control variables disagree) for errors;
    ``lookup argument``, ``missing`` (no units declared) and ``not checked`` for warnings.
    """

    variable: str  # Vensim name with the subscripts of the equation
    kind: str
    message: str
    declared: str = ""  # the variable's declared units
    expected: str = ""  # units the term should have
    found: str = ""  # units the term has
    term: str = ""  # the part of the equation that disagrees, in Vensim syntax
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.variable}: {self.message}"
        return text + (f"\n    {self.term}" if self.term else "")


@dataclass
class UnitsReport:
    """What the check found in one model."""

    path: Path
    time_units: str  # the model's time unit ("" when not declared)
    errors: list = field(default_factory=list)  # Issue, severity "error"
    warnings: list = field(default_factory=list)  # Issue, severity "warning"
    checked: int = 0  # equations compared completely
    unchecked: list = field(default_factory=list)  # (variable, why) checked only in part

    @property
    def clean(self) -> bool:
        return not self.errors

    def render(self, verbose: bool = False) -> str:
        n, w = len(self.errors), len(self.warnings)
        try:  # models/yaan_parks.mdl rather than the absolute path, from a checkout
            shown = self.path.resolve().relative_to(Path.cwd())
        except ValueError:
            shown = self.path
        head = (
            f"{shown}: "
            + ("units are consistent" if not n else f"{n} units error{'s' if n != 1 else ''}")
            + (f", {w} warning{'s' if w != 1 else ''}" if w else "")
            + f" ({self.checked} equation{'s' if self.checked != 1 else ''} checked"
            + (f", {len(self.unchecked)} in part" if self.unchecked else "")
            + (f"; time unit {self.time_units})" if self.time_units else ")")
        )
        lines = [head]
        for issue in self.errors:
            lines.append(f"error   {issue}")
        for issue in self.warnings:
            lines.append(f"warning {issue}")
        if verbose:
            for var, why in self.unchecked:
                lines.append(f"partly  {var}: {why}")
        return "\n".join(lines) + "\n"
