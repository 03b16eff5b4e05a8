"""The lever registry: the policy levers as the .mdl declares them.

A lever is a constant of the model whose comment says ``role: lever``. Its name, units,
``[min,max]`` range, default value and documentation (``en:``, ``zh:``, ``plan:``,
``source:``) all come from the .mdl through PySD; nothing here restates them.

>>> from yaan_sim.model.load import load_model
>>> levers = lever_registry(load_model())          # doctest: +SKIP
>>> print(render_levers(levers.values(), "table"))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from yaan_sim.errors import YaanSimError
from yaan_sim.tables import format_exact, text_table

if TYPE_CHECKING:
    from yaan_sim.model.docmeta import VarMeta
    from yaan_sim.protocols import ModelLike

#: Formats of :func:`render_levers`.
FORMATS = ("table", "json", "csv")

#: Vensim's control constants: never levers, never uncertain.
CONTROL_NAMES = frozenset({"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER", "Time"})


@dataclass(frozen=True, eq=False)  # eq by identity: ``default`` is a DataArray
class Lever:
    """One policy lever (or any constant of the model), read from the .mdl.

    Attributes
    ----------
    name, py_name : str
        Vensim name (used in scenario files) and PySD's Python name (accepted as alias).
    units : str
        Units as the .mdl writes them.
    min, max : float
        The ``[min,max]`` range of the .mdl; ``nan`` where it gives no bound.
    default : xarray.DataArray
        The .mdl's value, with dataset dims (``park``, ``industry``), float.
    subscripts : tuple of str
        The Vensim ranges of the declaration (``("Park",)``).
    dims : tuple of str
        The dataset dims (``("park",)``).
    coords : dict
        ``{dim: [element, ...]}`` in the model's order.
    ranges : dict
        ``{dim: {range or sub-range name: (element, ...)}}``: the names a per-element
        map may use (``East`` selects the four eastern parks).
    en, zh, plan, source : str
        Documentation fields of the .mdl comment.
    is_lever : bool
        Whether the comment says ``role: lever``.
    """

    name: str
    py_name: str
    units: str
    min: float
    max: float
    default: xr.DataArray
    subscripts: tuple[str, ...]
    dims: tuple[str, ...]
    coords: dict
    ranges: dict
    en: str = ""
    zh: str = ""
    plan: str = ""
    source: str = ""
    is_lever: bool = True

    @property
    def range_text(self) -> str:
        """The range as ``[min, max] units``, ``?`` for a missing bound."""
        lo = "?" if math.isnan(self.min) else _fmt(self.min)
        hi = "?" if math.isnan(self.max) else _fmt(self.max)
        unit = f" {self.units}" if self.units else ""
        return f"[{lo}, {hi}]{unit}"

    def check_bounded(self, who: str) -> None:
        """Raise unless the .mdl gives both bounds (another model's constant may give none);
        ``who`` is what needs them, e.g. "seek searches"."""
        if math.isnan(self.min) or math.isnan(self.max):
            raise YaanSimError(
                f"{who} a lever's [min,max] range, and {self.name!r} has {self.range_text} "
                f"in the .mdl: give both bounds in its units field, e.g. ~ {self.units} [0,100] ~"
            )

    def in_range(self, value: float) -> bool:
        """Whether ``value`` lies in the lever's ``[min, max]`` (open where not given)."""
        return not (value < self.min or value > self.max)  # nan bounds compare False

    def element_names(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """``{name: (dim, elements)}`` for every element and (sub-)range of the lever's dims."""
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for dim in self.dims:
            for rng, elements in self.ranges[dim].items():
                out[rng] = (dim, tuple(elements))
            for el in self.coords[dim]:
                out[el] = (dim, (el,))
        return out

    def default_json(self) -> Any:
        """The default as JSON: a number, or ``{element: number}`` (nested for 2-D)."""
        return _nested(self.default.values, self.dims, self.coords)

    def default_text(self, limit: int | None = None) -> str:
        """A short exact text: ``150``, ``150 (all)``, or ``default 0.1; ETDZ 1; ...``
        (the most common value, then the elements that differ); cut at ``limit``."""
        values = np.asarray(self.default.values, dtype=float)
        if not self.dims:
            return _fmt(float(values))
        flat = values.ravel()
        if np.all(flat == flat[0]):
            return f"{_fmt(flat[0])} (all)"
        if len(self.dims) == 1:
            uniq, counts = np.unique(flat, return_counts=True)
            mode = uniq[np.argmax(counts)]
            text = "; ".join(
                [f"default {_fmt(mode)}"]
                + [
                    f"{el} {_fmt(v)}"
                    for el, v in zip(self.coords[self.dims[0]], flat, strict=True)
                    if v != mode
                ]
            )
        else:
            text = ", ".join(_fmt(v) for v in flat)
        if limit is None or len(text) <= limit:
            return text
        cut = text.rfind(";", 0, limit - 4)
        return text[: cut if cut > 0 else limit - 4] + "; ..."

    def to_dict(self) -> dict:
        """A JSON-ready dict: name, py_name, units, min, max, default, dims, coords, docs."""
        return {
            "name": self.name,
            "py_name": self.py_name,
            "units": self.units,
            "min": None if math.isnan(self.min) else self.min,
            "max": None if math.isnan(self.max) else self.max,
            "default": self.default_json(),
            "dims": list(self.dims),
            "coords": {d: list(v) for d, v in self.coords.items()},
            "en": self.en,
            "zh": self.zh,
            "plan": self.plan,
            "source": self.source,
        }


_fmt = format_exact  # a number without noise: 150, 0.012, 1e-06


def _nested(values: Any, dims: Sequence[str], coords: Mapping[str, Sequence[str]]) -> Any:
    if not dims:
        return float(values)
    return {el: _nested(values[i], dims[1:], coords) for i, el in enumerate(coords[dims[0]])}


def _constant(model: ModelLike, meta: VarMeta) -> Lever:
    default = model.default_value(meta.name).astype(float)
    dims = tuple(str(d) for d in default.dims)
    coords = {d: [str(v) for v in default.coords[d].values] for d in dims}
    ranges: dict[str, dict[str, tuple[str, ...]]] = {d: {} for d in dims}
    for rng, elements in model.subscripts.items():
        dim = model.dim_of_range.get(rng)
        if dim in ranges:
            ranges[dim][rng] = tuple(elements)
    lo, hi = meta.limits
    return Lever(
        name=meta.name,
        py_name=meta.py_name,
        units=meta.units,
        min=lo,
        max=hi,
        default=default,
        subscripts=tuple(meta.subscripts),
        dims=dims,
        coords=coords,
        ranges=ranges,
        en=meta.long_name_en,
        zh=meta.long_name_zh,
        plan=meta.fields.get("plan", ""),
        source=meta.fields.get("source", ""),
        is_lever=meta.is_lever,
    )


def constants(model: ModelLike) -> dict[str, Lever]:
    """Every constant of the model (levers and others), by Vensim name, in .mdl order.

    These are what an ``uncertain:`` block may draw; the control constants (INITIAL TIME,
    FINAL TIME, TIME STEP, SAVEPER) are left out.
    """
    cache = model.__dict__.setdefault("_yaan_constants", {})
    if not cache:
        for meta in model.meta.values():
            if meta.kind == "Constant" and meta.name not in CONTROL_NAMES:
                cache[meta.name] = _constant(model, meta)
    return cache


def lever_registry(model: ModelLike) -> dict[str, Lever]:
    """The policy levers (``role: lever`` in the .mdl), by Vensim name, sorted by name.

    A model that marks no constant ``role: lever`` (any Vensim model not written for
    yaan-sim) has every constant settable: they are its levers.
    """
    pool = constants(model)
    levers = {n: c for n, c in pool.items() if c.is_lever} or pool
    return dict(sorted(levers.items(), key=lambda kv: kv[0].lower()))


def marks_levers(model: ModelLike) -> bool:
    """Whether the model marks its levers (``role: lever``); if not, every constant is one."""
    return any(c.is_lever for c in constants(model).values())


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", " ", str(name)).strip().lower()


def resolve_name(key: str, candidates: dict[str, Lever]) -> str | None:
    """The Vensim name that ``key`` means, or None.

    Accepted: the Vensim name, PySD's py_name, or either with other case or with
    underscores/spaces exchanged (Vensim names are case-insensitive).
    """
    if key in candidates:
        return key
    norm = _norm(key)
    for name, lever in candidates.items():
        if _norm(name) == norm or lever.py_name == key or _norm(lever.py_name) == norm:
            return name
    return None


def closest(key: str, options: Iterable[str], n: int = 1) -> list[str]:
    """The closest valid names to ``key`` (case-insensitive), best first."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    hits = difflib.get_close_matches(str(key).lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


#: A lever spec: ``Name``, or ``Name[element, range, ...]``.
SPEC_RE = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(\[(?P<el>[^\[\]]*)\])?\s*$")
#: What separates the elements in the brackets: a comma, or the Chinese ， and 、.
ELEMENT_SEP = re.compile(r"[,，、]")


@dataclass(frozen=True, eq=False)
class LeverSelection:
    """A lever, or some elements of it, as a spec such as ``Name[ETDZ,East]`` names them.

    Attributes
    ----------
    spec : str
        The text as given.
    lever : Lever
    dim : str or None
        The dim the elements are of; None when the spec has no brackets.
    elements : tuple of str
        The elements chosen, in the order given, ranges expanded; empty when the spec has
        no brackets (the whole lever).
    """

    spec: str
    lever: Lever
    dim: str | None = None
    elements: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.lever.name

    @property
    def label(self) -> str:
        """``Name`` or ``Name[el,el]``."""
        return f"{self.name}[{','.join(self.elements)}]" if self.elements else self.name


def parse_lever_spec(
    spec: str,
    pool: dict[str, Lever],
    *,
    noun: str = "lever",
    resolve_place: Callable[[str], str | None] | None = None,
) -> LeverSelection:
    """The lever (from ``pool``, e.g. :func:`lever_registry` or :func:`constants`) and the
    elements that ``spec`` names, with "did you mean" for a name or element not found.

    ``Name`` selects the whole lever (any case, or its Python name); ``Name[ETDZ,Hanyuan]``
    those elements, and a range or sub-range name (``Name[East]``) its elements; all must
    belong to one dim of the lever. ``resolve_place`` (the model's
    :meth:`yaan_sim.scenario.places.Places.resolve`) lets parks and regions be named as
    people call them: ``Name[经开区]``, ``Name[东部, 汉源]``.
    """
    m = SPEC_RE.match(str(spec))
    if not m:
        raise YaanSimError(
            f"{noun} {spec!r}: write a {noun}'s name, optionally with elements in brackets, "
            "e.g. 'Investment attraction rate[ETDZ]'"
        )
    name = resolve_name(m["name"], pool)
    if name is None:
        hint = closest(m["name"], pool)
        raise YaanSimError(
            f"unknown {noun} {m['name']!r}"
            + (f": did you mean {hint[0]!r}?" if hint else "; see `yaan-sim levers`")
        )
    lever = pool[name]
    if m["el"] is None:
        return LeverSelection(str(spec), lever)
    if not lever.dims:
        raise YaanSimError(f"{spec!r}: {name!r} has no subscripts: write it without [..]")
    known = lever.element_names()
    chosen: dict[str, list[str]] = {}
    for e in (x.strip() for x in ELEMENT_SEP.split(m["el"])):
        if not e:
            continue
        place = resolve_place(e) if e not in known and resolve_place is not None else None
        if place is not None and place in known:  # 经开区 -> ETDZ, 东部 -> East
            e = place
        if e not in known:
            hint = closest(e, known)
            ranges = [r for d in lever.dims for r in lever.ranges[d]]
            raise YaanSimError(
                f"{spec!r}: {e!r} is not an element of {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f": {'/'.join(lever.dims)} has no element or range of that name (elements: "
                + ", ".join(el for d in lever.dims for el in lever.coords[d])
                + (f"; ranges: {', '.join(ranges)})" if ranges else ")")
            )
        dim, members = known[e]
        chosen.setdefault(dim, []).extend(members)
    if len(chosen) != 1:
        raise YaanSimError(
            f"{spec!r}: give elements of one subscript of {name!r}"
            + (f" ({', '.join(lever.dims)})" if chosen else ", or none")
        )
    ((dim, picked),) = chosen.items()
    return LeverSelection(str(spec), lever, dim, tuple(dict.fromkeys(picked)))


def render_levers(levers: Iterable[Lever], fmt: str = "table", lang: str = "en") -> str:
    """Render levers as a text table, JSON (a list of objects) or CSV.

    Parameters
    ----------
    levers : iterable of Lever
    fmt : {"table", "json", "csv"}
    lang : {"en", "zh"}
        Language of the description column of the table.
    """
    levers = list(levers)
    if fmt == "json":
        return json.dumps([lv.to_dict() for lv in levers], ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            ["name", "py_name", "units", "min", "max", "default", "dims", "en", "zh", "plan"]
        )
        for lv in levers:
            d = lv.to_dict()
            default = d["default"] if not lv.dims else json.dumps(d["default"], ensure_ascii=False)
            writer.writerow(
                [
                    lv.name,
                    lv.py_name,
                    lv.units,
                    "" if d["min"] is None else d["min"],
                    "" if d["max"] is None else d["max"],
                    default,
                    " ".join(lv.dims),
                    lv.en,
                    lv.zh,
                    lv.plan,
                ]
            )
        return buf.getvalue()
    if fmt != "table":
        raise YaanSimError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    header = ["name", "dims", "range", "default", "description", "plan"]
    rows = [
        [
            lv.name,
            ",".join(lv.dims) or "-",
            lv.range_text,
            lv.default_text(40),
            _clip((lv.zh or lv.en) if lang == "zh" else lv.en, 60),
            plan_sections(lv.plan),
        ]
        for lv in levers
    ]
    return _text_table(header, rows)


def plan_sections(plan: str) -> str:
    """The section references of a ``plan:`` field without the quoted plan text:
    ``三(二)3 "严格..."; 一(三) "..."`` -> ``三(二)3; 一(三)``."""
    text = re.sub(r'"[^"]*"|“[^”]*”', "", plan or "")
    return re.sub(r"\s*;\s*", "; ", re.sub(r"\s+", " ", text)).strip(" ;")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    return text_table(header, rows, align=["left"] * len(header))
