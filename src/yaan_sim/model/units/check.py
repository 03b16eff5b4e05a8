"""Check the units of a Vensim model: read it with PySD's parser and run the checker."""

from __future__ import annotations

import warnings
from pathlib import Path

from yaan_sim.errors import ModelError
from yaan_sim.model.units.algebra import UnitSystem
from yaan_sim.model.units.checker import _Checker
from yaan_sim.model.units.report import Issue, UnitsReport
from yaan_sim.model.units.values import _name_key


# --------------------------------------------------------------------------------------
# Reading the model
# --------------------------------------------------------------------------------------
def read_synonyms(text: str) -> list[list[str]]:
    """The unit synonym groups of a .mdl's settings (``22:Year,Years`` lines)."""
    marker = text.find("///---\\\\\\")
    if marker < 0:
        return []
    groups = []
    for line in text[marker:].splitlines():
        if line.startswith("22:"):
            groups.append([n.strip() for n in line[3:].split(",")])
    return groups


def check_units(path=None) -> UnitsReport:
    """Check the units of every equation of a Vensim model (default: the park model).

    Returns a :class:`UnitsReport`; raises ModelError when the file cannot be read or
    parsed.
    """
    from yaan_sim.paths import DEFAULT_MODEL

    path = Path(path) if path is not None else DEFAULT_MODEL
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read the model file {path}: {exc.strerror or exc}. Check the path."
        ) from None
    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            # the translator's notes (no encoding declared, ...) do not change units
            warnings.simplefilter("ignore")
            vf = VensimFile(path)
            vf.parse()
            model = vf.get_abstract_model()
    except Exception as exc:  # PySD's parser raises many kinds; one clear message
        raise ModelError(
            f"{path}: cannot be parsed: {str(exc).strip().rstrip('.') or type(exc).__name__}. "
            "Fix the equation there (Vensim syntax) and run again."
        ) from None
    main = [s for s in model.sections if s.name == "__main__"]
    if not main:
        raise ModelError(f"{path}: no main section found")
    macros = [s.name for s in model.sections if s.name != "__main__"]
    component_units: dict[str, list[str]] = {}
    for section in vf.sections:
        if section.name == "__main__":
            for comp in section.components:
                if getattr(comp, "units", ""):
                    component_units.setdefault(_name_key(comp.name), []).append(comp.units)
    system = UnitSystem(read_synonyms(raw.decode("utf-8", errors="replace")))
    checker = _Checker(path, main[0], system, macros, component_units)
    checker.run()
    for name in macros:
        checker.warn(
            Issue(name, "not checked", "macro definitions are not checked", severity="warning")
        )
    return UnitsReport(
        path=path,
        time_units="" if checker.time is None else str(checker.time),
        errors=checker.errors,
        warnings=checker.warnings,
        checked=checker.checked,
        unchecked=checker.unchecked,
    )
