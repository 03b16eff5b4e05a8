"""The names people use for the model's places: parks, regions and the city.

The parks are the elements of the model's ``Park`` range and the regions the sub-ranges
that partition it (plan 二(二)): both come from the model, never from a table here. Their
Chinese names come from the .mdl's comments: a region's ``zh:`` is its name (雅安东部工业园区);
the ``Park`` range's ``zh:`` lists the parks in element order (``园区：A、B、C...``). From
those, the short forms are derived (石棉工业园区 -> 石棉; A（B） -> A and B), and a short
list of aliases adds the names the plan and the statistics use that the .mdl does not
spell out (飞地园区(经开区), 经开区, 汉源县, 雨城区, 名山区 ...).

>>> places = Places.from_model(load_model())          # doctest: +SKIP
>>> places.resolve("经开区"), places.resolve("东部"), places.resolve("全市")  # doctest: +SKIP
('ETDZ', 'East', 'city')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from yaan_sim.model.docmeta import parse_comment
from yaan_sim.model.levers import closest

CITY = "city"
#: What the city may be called (the scope word first).
CITY_NAMES = ("city", "Ya'an", "Yaan", "全市", "雅安", "雅安市")

#: Names of the Ya'an model's places beyond those derived from the .mdl: the plan's short
#: form 飞地园区(经开区) (一(三)), the county and district names of the statistics, and
#: the display labels of the report. Applied only to elements the model has.
ALIASES: dict[str, tuple[str, ...]] = {
    "ETDZ": (
        "飞地园区(经开区)",
        "飞地园区",
        "经开区",
        "雅安经开区",
        "芦天宝",
        "芦天宝飞地园区",
        "雅安经济技术开发区",
    ),
    "Hanyuan": ("汉源县", "汉源工业园区", "汉源县工业园区"),
    "Shimian": ("石棉县", "石棉县工业园区"),
    "Lushan": ("芦山县", "芦山县工业集中区", "芦山工业集中区"),
    "Tianquan": ("天全县", "天全县工业集中区", "天全工业集中区"),
    "Baoxing": ("宝兴县", "宝兴县工业集中区", "宝兴工业集中区"),
    "Yingjing": ("荥经县", "荥经县工业集中区", "荥经工业集中区"),
    "Yucheng": ("雨城区", "雨城区工业集中区"),
    "Chengya": ("成雅园区", "名山", "名山区"),
    "East": ("东部", "东部片区", "东部园区", "雅安东部"),
    "South": ("南部", "南部片区", "南部园区", "雅安南部"),
    "Northwest": ("西北部", "西北部片区", "西北部园区", "雅安西北部"),
}

_SUFFIXES = ("工业集中区", "工业园区", "产业园区", "园区")
_LIST_SPLIT = re.compile(r"[、，,;；]")


def _norm(name: str) -> str:
    """Compare names without case, spaces, '_' or the width of brackets."""
    text = str(name).translate(str.maketrans("（）", "()"))
    return re.sub(r"[\s_]+", "", text).lower()


def short_forms(zh: str) -> list[str]:
    """A Chinese place name and the forms derived from it: ``A（B）`` gives A and B, a
    trailing 工业园区 / 工业集中区 / 园区 is dropped (石棉工业园区 -> 石棉)."""
    forms = [zh.strip()]
    m = re.fullmatch(r"(.+?)[（(](.+)[）)]", zh.strip())
    if m:
        forms += [m.group(1).strip(), m.group(2).strip()]
    for f in list(forms):
        for suffix in _SUFFIXES:
            if f.endswith(suffix) and len(f) > len(suffix) + 1:
                forms.append(f[: -len(suffix)])
                break
    return [f for f in dict.fromkeys(forms) if f]


@lru_cache(maxsize=8)
def _subscript_docs(path: str, mtime: float) -> dict[str, tuple[tuple[str, ...], dict]]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    text = text.split("\\\\\\---///", 1)[0]  # the sketch follows this marker
    out = {}
    for entry in text.split("|"):
        parts = entry.split("~")
        if len(parts) < 3:
            continue
        m = re.fullmatch(r"\s*(?:\{[^}]*\}\s*)?([A-Za-z][^:=\[\]]*?)\s*:\s*([^=]*?)\s*", parts[0])
        if not m or ":=" in parts[0]:
            continue
        elements = m.group(2).split("->")[0]
        names = tuple(e.strip() for e in elements.split(",") if e.strip())
        if names and not any("(" in e for e in names):
            out[m.group(1).strip()] = (names, parse_comment(parts[2]))
    return out


def subscript_docs(mdl_path) -> dict[str, tuple[tuple[str, ...], dict]]:
    """``{range: (elements, comment fields)}`` for the subscript ranges of a .mdl file
    (``{}`` if it cannot be read)."""
    try:
        p = Path(mdl_path)
        return _subscript_docs(str(p.resolve()), p.stat().st_mtime)
    except OSError:
        return {}


def _listed(elements, zh: str) -> dict[str, str]:
    """``{element: name}`` when ``zh`` lists one name per element, in order
    (``园区：A、B、C``, perhaps followed by ``；a remark`` or ``。a remark``), else {}."""
    listing = re.sub(r"^[^：:]*[：:]", "", zh)
    # a remark after the list ends at the first "。", or "；" where "、" separates the names
    listing = re.split(r"[；;。]" if "、" in listing else "。", listing, maxsplit=1)[0]
    items = [i.strip() for i in _LIST_SPLIT.split(listing)]
    if len(items) != len(elements) or not all(items):
        return {}
    return dict(zip(elements, items, strict=True))


def element_names_zh(mdl_path) -> dict[str, str]:
    """``{element: Chinese name}`` for every subscript range of a .mdl whose ``zh:``
    lists its elements in order (parks, industries, pollutants)."""
    out: dict[str, str] = {}
    for elements, fields in subscript_docs(mdl_path).values():
        for el, name in _listed(elements, fields.get("zh", "").strip()).items():
            out.setdefault(el, name)
    return out


def _mdl_names(mdl_path, parks, regions) -> dict[str, str]:
    """``{park or region: Chinese name}`` from the .mdl's comments."""
    docs = subscript_docs(mdl_path) if mdl_path is not None else {}
    out: dict[str, str] = {}
    for rng, (elements, fields) in docs.items():
        zh = fields.get("zh", "").strip()
        if rng in regions and zh:
            out[rng] = zh
        elif zh and list(elements) == list(parks):
            out.update(_listed(parks, zh))
    return out


@dataclass(frozen=True)
class Places:
    """The parks and regions of a model, with every name they may be called by.

    Attributes
    ----------
    parks : tuple of str
        The ``Park`` elements, in the model's order.
    region_of : dict
        ``{park: region}`` (empty when the model has no regions).
    zh : dict
        ``{park or region: Chinese name from the .mdl}``.
    """

    parks: tuple[str, ...] = ()
    region_of: dict[str, str] = field(default_factory=dict)
    zh: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model) -> Places:
        """The places of a loaded model (no parks when it has no ``Park`` range)."""
        cache = model.__dict__.setdefault("_yaan_places", [])
        if not cache:
            parks = tuple(model.subscripts.get("Park", ()))
            regions = model.regions() if parks else {}
            cache.append(
                cls(parks, regions, _mdl_names(model.mdl_path, parks, set(regions.values())))
            )
        return cache[0]

    @classmethod
    def from_mdl(cls, mdl_path) -> Places:
        """The places of a .mdl file, read from its text (no translation, so it is cheap):
        the ``Park`` elements and the sub-ranges that partition them."""
        docs = subscript_docs(mdl_path)
        parks = docs.get("Park", ((), {}))[0]
        region_of: dict[str, str] = {}
        for rng, (elements, _fields) in docs.items():
            if rng != "Park" and parks and set(elements) < set(parks):
                region_of.update(dict.fromkeys(elements, rng))
        covered = sum(len(els) for r, (els, _f) in docs.items() if r in region_of.values())
        if sorted(region_of) != sorted(parks) or covered != len(parks):
            region_of = {}  # sub-ranges that do not partition the parks are not regions
        return cls(parks, region_of, _mdl_names(mdl_path, parks, set(region_of.values())))

    @classmethod
    def from_dataset(cls, ds, mdl_path=None) -> Places:
        """The places of a results Dataset (its ``park`` and ``region`` coords), named from
        ``mdl_path`` (default: the shipped model, if its parks are the same)."""
        from yaan_sim.paths import DEFAULT_MODEL

        if "park" not in getattr(ds, "coords", {}):
            return cls()
        parks = tuple(str(p) for p in ds["park"].values)
        regions = {}
        if "region" in ds.coords and ds["region"].dims == ("park",):
            regions = dict(zip(parks, (str(r) for r in ds["region"].values), strict=True))
        path = mdl_path if mdl_path is not None else DEFAULT_MODEL
        if not regions:  # older results: the regions of the .mdl, if its parks are these
            shipped = cls.from_mdl(path)
            regions = dict(shipped.region_of) if shipped.parks == parks else {}
        return cls(parks, regions, _mdl_names(path, parks, set(regions.values())))

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions, in the order of their first park."""
        return tuple(dict.fromkeys(self.region_of[p] for p in self.parks if p in self.region_of))

    def members(self, region: str) -> list[str]:
        """The parks of a region."""
        return [p for p in self.parks if self.region_of.get(p) == region]

    def names(self, place: str) -> list[str]:
        """Every name ``place`` (a park, a region or ``city``) may be called by."""
        if place == CITY:
            return list(CITY_NAMES)
        out = [place, *short_forms(self.zh[place])] if place in self.zh else [place]
        return list(dict.fromkeys([*out, *ALIASES.get(place, ())]))

    def _table(self) -> dict[str, str]:
        table = self.__dict__.get("_lookup")
        if table is None:
            table = {}
            for place in (CITY, *self.regions, *self.parks):
                for name in self.names(place):
                    if name not in (*self.parks, *self.regions):  # ids match exactly
                        table.setdefault(_norm(name), place)
            object.__setattr__(self, "_lookup", table)
        return table

    def resolve(self, name, kinds: tuple[str, ...] = ("park", "region", "city")) -> str | None:
        """The park, region or ``"city"`` that ``name`` means, or None; ``kinds`` limits
        what may match. The model's own names match exactly (as Vensim writes them);
        Chinese names and aliases match whatever the spaces and the width of brackets."""
        name = str(name)
        exact = name in self.parks or name in self.regions
        place = name if exact else self._table().get(_norm(name))
        if place is None:
            return None
        kind = "city" if place == CITY else "region" if place in self.regions else "park"
        return place if kind in kinds else None

    def suggest(self, name, kinds: tuple[str, ...] = ("park", "region", "city")) -> list[str]:
        """The closest valid names to ``name`` (for "did you mean"), English first."""
        pool = [p for p in self.parks if "park" in kinds]
        pool += [r for r in self.regions if "region" in kinds]
        pool += ["city"] if "city" in kinds else []
        hit = closest(str(name), pool)
        if hit:
            return hit
        every = {n: p for p in pool for n in self.names(p)}
        return [every[h] for h in closest(str(name), list(every))]
