"""Read the structured documentation written in the .mdl's comment fields.

Convention (models/README.md): a comment is a sequence of ``key: value`` fields, one per
line in the .mdl, keys from ``FIELDS``. PySD joins the lines with spaces, so fields are
split on the key tokens. Text before the first key is kept as ``description``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

FIELDS = ("en", "zh", "role", "plan", "source", "note", "observes", "calibrate")
_FIELD_RE = re.compile(r"(?:^|\s)(" + "|".join(FIELDS) + r"):\s")


def parse_comment(comment: str | None) -> dict[str, str]:
    """Split a comment into its fields; unknown text goes to ``description``."""
    text = (comment or "").strip()
    if not text or text.lower() == "none":
        return {}
    parts = _FIELD_RE.split(text)
    out: dict[str, str] = {}
    head = parts[0].strip()
    if head:
        out["description"] = head
    for key, value in zip(parts[1::2], parts[2::2], strict=True):  # one group: pairs
        out[key] = value.strip()
    return out


@dataclass(frozen=True)
class VarMeta:
    """What the .mdl says about one variable."""

    name: str  # Vensim name, e.g. "Investment attraction rate"
    py_name: str  # PySD's Python name, e.g. "investment_attraction_rate"
    subscripts: tuple[str, ...]  # Vensim subscript ranges, e.g. ("Park",)
    units: str
    limits: tuple[float, float]  # (min, max); nan where the .mdl gives none
    kind: str  # PySD Type: Constant, Auxiliary, Stateful, Lookup, ...
    subtype: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def long_name_en(self) -> str:
        return self.fields.get("en", self.name)

    @property
    def long_name_zh(self) -> str:
        return self.fields.get("zh", "")

    @property
    def role(self) -> str:
        return self.fields.get("role", "")

    @property
    def is_lever(self) -> bool:
        return self.role == "lever"


def _limits(value) -> tuple[float, float]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        return (math.nan, math.nan)
    return (float(lo) if lo is not None else math.nan, float(hi) if hi is not None else math.nan)


def metadata_from_doc(doc) -> dict[str, VarMeta]:
    """Build ``{vensim name: VarMeta}`` from PySD's ``model.doc`` DataFrame."""
    metas: dict[str, VarMeta] = {}
    for rec in doc.to_dict("records"):
        subs = rec.get("Subscripts")
        metas[rec["Real Name"]] = VarMeta(
            name=rec["Real Name"],
            py_name=rec["Py Name"],
            subscripts=tuple(subs) if isinstance(subs, (list, tuple)) else (),
            units=str(rec.get("Units") or "") if rec.get("Units") is not None else "",
            limits=_limits(rec.get("Limits")),
            kind=str(rec.get("Type")),
            subtype=str(rec.get("Subtype")),
            fields=parse_comment(rec.get("Comment")),
        )
    return metas
