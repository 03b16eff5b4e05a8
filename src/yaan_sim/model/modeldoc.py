"""Tables of models/README.md generated from the .mdl, so the documentation cannot drift.

``python -m yaan_sim.model.modeldoc`` rewrites the part of models/README.md between the
``<!-- generated:start -->`` and ``<!-- generated:end -->`` markers; a test checks that
the committed file is current.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from yaan_sim.paths import MODELS_DIR

START, END = "<!-- generated:start -->", "<!-- generated:end -->"
README = MODELS_DIR / "README.md"


def _fmt(x) -> str:
    if isinstance(x, float) and math.isnan(x):
        return ""
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def _value(model, meta) -> str:
    try:
        value = model.default_value(meta.name)
    except Exception:  # lookups and expressions
        return ""
    vals = np.unique(np.asarray(value.values, dtype=float).round(6))
    if vals.size == 1:
        return _fmt(float(vals[0]))
    if value.ndim == 1 and value.size <= 11:
        return ", ".join(f"{_fmt(float(v))}" for v in value.values)
    return f"{_fmt(float(vals.min()))} to {_fmt(float(vals.max()))}"


def _cell(text: str) -> str:
    return (text or "").replace("|", "/").replace("\n", " ")


def render(model) -> str:
    metas = sorted(model.meta.values(), key=lambda m: m.name.lower())
    dims = lambda m: ", ".join(m.subscripts) if m.subscripts else "-"  # noqa: E731
    out = ["### Stocks", "", "| stock | 中文 | subscripts | units |", "|---|---|---|---|"]
    out += [
        f"| {m.name} | {m.long_name_zh} | {dims(m)} | {m.units} |"
        for m in metas
        if m.role == "stock"
    ]
    out += [
        "",
        "### Levers (policy constants a scenario may set)",
        "",
        "| lever | 中文 | subscripts | units | range | default | plan |",
        "|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {m.name} | {m.long_name_zh} | {dims(m)} | {m.units} | "
        f"[{_fmt(m.limits[0])}, {_fmt(m.limits[1])}] | {_value(model, m)} | "
        f"{_cell(m.fields.get('plan', ''))} |"
        for m in metas
        if m.is_lever
    ]
    out += [
        "",
        '### Parameters (constants with their sources; "assumed" marks an assumption)',
        "",
        "| parameter | subscripts | units | range | value | source |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| {m.name} | {dims(m)} | {m.units} | [{_fmt(m.limits[0])}, {_fmt(m.limits[1])}] | "
        f"{_value(model, m)} | {_cell(m.fields.get('source', m.fields.get('plan', '')))} |"
        for m in metas
        if m.role == "parameter"
    ]
    out += [
        "",
        "### Observation operators (outputs that measure a published quantity)",
        "",
        "| variable | observes (ledger variable) | subscripts | units |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {m.name} | {m.fields['observes']} | {dims(m)} | {m.units} |"
        for m in metas
        if m.fields.get("observes")
    ]
    counts = {"sourced": 0, "calibrated": 0, "set by hand": 0, "assumed": 0}
    for m in metas:
        if m.role in {"parameter", "lever"}:
            counts[_basis(m)] += 1
    out += [
        "",
        f"{sum(counts.values())} constants: {counts['sourced']} from a published figure, the plan "
        f"or a definition; {counts['calibrated']} calibrated (the posterior's median); "
        f"{counts['set by hand']} set by hand against published figures (their `source:` "
        f"names them); {counts['assumed']} assumed.",
    ]
    return "\n".join(out)


def _basis(meta) -> str:
    """How a constant's value was chosen: sourced, calibrated, set by hand against data, or
    assumed."""
    source = meta.fields.get("source", "").lower()
    if source.startswith("calibrated"):
        return "calibrated"
    if meta.fields.get("calibrate") or source.startswith("set by hand"):
        return "set by hand"
    if source.startswith("assumed"):
        return "assumed"
    return "sourced"


def update_readme(model, path=README) -> bool:
    """Rewrite the generated part of ``path``; return True if it changed."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render(model)}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover
    from yaan_sim.model.load import load_model

    changed = update_readme(load_model())
    print("models/README.md updated" if changed else "models/README.md is current")
    sys.exit(0)
