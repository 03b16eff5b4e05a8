"""Observed figures for the mid-term review: one reader, held to the standard of every input.

A CSV file, UTF-8, one figure a row; lines starting with ``#`` are comments::

    variable,park,year,value,unit,source,confidence,note
    营业收入,经开区,2018,340,亿元,2019年政府工作报告,M,
    rd_share,city,2018,0.9,%,统计公报,M,

- ``variable``: a results variable by its Python, Vensim or Chinese name (``revenue``,
  ``Revenue``, ``营业收入``; also 主营收入), a selection of one (``COD`` or 化学需氧量 for
  the emissions of one pollutant), or a goal's own metric (``rd_share``, R&D share;
  ``energy_per_output``; ``water_per_output``; ``cod_controlled`` ...);
- ``park``: a park, a region or the city, in English or Chinese (ETDZ, 经开区, 汉源, 东部, 全市);
- ``year``: the figure is that year's annual figure;
- ``value`` in ``unit``: checked and converted with pint into the unit of the results
  (亿元 / 万元 / 元, 万tce / tce, 万m³ / m³, t / 万t, %, kWh / 万kWh / 亿kWh); an annual
  figure needs no "/年". A unit that is unknown, or that measures something else (万kWh
  for an energy use in tce), is refused;
- ``source``, ``confidence`` (H, M, L or a range such as M-H), ``note`` (optional).

Every problem of the file is reported at once (file, line, what, the fix, did you mean).
:func:`load_observed` returns a DataFrame in the results' names and units, with the file
it came from in ``df.attrs`` (:func:`observed_file`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from yaan_sim.errors import YaanSimError
from yaan_sim.model.levers import closest
from yaan_sim.outputs.generic_goals import VariableMetric
from yaan_sim.paths import MODELS_DIR
from yaan_sim.scenario.places import Places
from yaan_sim.scenario.reader import Problem, display_path, raise_problems

DEFAULT_OBSERVED = MODELS_DIR / "data" / "observed.csv"
OBSERVED_COLUMNS = ("variable", "park", "year", "value", "unit", "source", "confidence", "note")
REQUIRED = ("variable", "park", "year", "value", "unit", "source", "confidence")
MAX_BYTES = 4 * 1024 * 1024  # a file of observed figures is a few KiB
YEARS = (2000, 2100)

#: Names statistics offices use for a measure, beyond the .mdl's own (key -> names).
ALIASES: dict[str, tuple[str, ...]] = {
    "revenue": ("主营收入", "主营业务收入", "园区营业收入"),
    "research_spending": ("R&D经费", "研发经费", "R&D经费支出"),
    "energy_use": ("能耗", "综合能耗", "能源消费总量"),
    "rd_share": ("R&D share", "R&D占比", "研发投入强度", "R&D经费占比"),
    "energy_per_output": ("单位产值能耗", "万元产值能耗"),
    "water_per_output": ("单位产值用水量", "万元产值用水量"),
}


class ObservedError(YaanSimError):
    """A file of observed figures is invalid. ``problems`` holds every problem found."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass(frozen=True)
class Measure:
    """Something an observed row may measure, and the unit its values are converted to."""

    key: str  # the name rows carry after reading: "revenue", "emissions[COD]", "rd_share"
    unit: str  # the results' (or the goal's) unit
    names: tuple[str, ...] = ()  # every name a file may use


def _norm(name) -> str:
    text = str(name).translate(str.maketrans("（）＆", "()&"))
    return re.sub(r"[\s_]+", "", text).lower()


def measures(source=None, goals=None) -> dict[str, Measure]:
    """The measures an observed file may name: the results variables by park (from a
    results Dataset or a loaded model; default the shipped model), one per element of
    a second dim (``emissions[COD]``), and the goals' own metrics."""
    from yaan_sim.outputs.goals import load_goals

    out: dict[str, Measure] = {}
    for key, unit, names in _variables(source):
        out[key] = Measure(key, unit, tuple(dict.fromkeys((*names, *ALIASES.get(key, ())))))
    for goal in goals if goals is not None else load_goals():
        m = goal.metric
        if isinstance(m, VariableMetric):  # another model's goal: not a Ya'an figure
            continue
        ids = (goal.id, goal.name_en, goal.name_zh, *ALIASES.get(goal.id, ()))
        key = m.variable + "".join(f"[{v}]" for v in m.select.values()) if m.variable else None
        if m.aggregate == "sum" and key in out:
            old = out[key]
            out[key] = Measure(key, old.unit, tuple(dict.fromkeys((*old.names, *ids))))
        elif m.aggregate == "ratio_of_sums" and not m.select:
            out[goal.id] = Measure(goal.id, goal.unit, tuple(dict.fromkeys(ids)))
    return out


def _variables(source):
    """``(key, unit, names)`` of every results variable that has a park dim."""
    if source is not None and hasattr(source, "data_vars"):
        for name, da in source.data_vars.items():
            if "park" not in da.dims:
                continue
            a = da.attrs
            yield from _selections(
                str(name),
                [d for d in da.dims if d not in ("park", "time", "scenario", "sample")],
                {d: [str(v) for v in da[d].values] for d in da.dims if d in da.coords},
                str(a.get("units", "")),
                (str(name), str(a.get("vensim_name", "")), str(a.get("long_name_zh", ""))),
            )
        return
    if source is None:
        from yaan_sim.model.load import load_model

        source = load_model()
    from yaan_sim.outputs.i18n import element_label

    for meta in source.meta.values():
        dims = source.dims_of(meta.name) if meta.subscripts else ()
        if "park" not in dims or meta.kind not in ("Auxiliary", "Stateful"):
            continue
        coords = {d: source.subscripts[source.full_range_of_dim.get(d, d)] for d in dims}
        other = [d for d in dims if d != "park"]
        names = (meta.py_name, meta.name, meta.long_name_zh)
        yield from _selections(meta.py_name, other, coords, meta.units, names, element_label)


def _selections(name, other, coords, unit, names, label=None):
    if not other:
        yield name, unit, tuple(n for n in names if n)
    elif len(other) == 1:
        for el in coords.get(other[0], []):
            zh = label(el, "zh") if label else el
            yield f"{name}[{el}]", unit, (f"{name}[{el}]", el, zh)


# --- units -------------------------------------------------------------------------------------
_UNIT_DEFS = """
yuan = [currency]
wanyuan = 1e4 * yuan
yiyuan = 1e8 * yuan
tce = [coal_equivalent]
wantce = 1e4 * tce
m3 = [water_volume]
wanm3 = 1e4 * m3
t = [mass]
kg = 1e-3 * t
want = 1e4 * t
kWh = [electricity]
wankWh = 1e4 * kWh
yikWh = 1e8 * kWh
mu = [land]
wanmu = 1e4 * mu
percent = 0.01
"""
#: How people write units (Chinese or not) -> the registry's names; longest first.
_SPELLINGS = {
    "亿元": "yiyuan",
    "万元": "wanyuan",
    "元": "yuan",
    "万吨标准煤": "wantce",
    "万吨标煤": "wantce",
    "万tce": "wantce",
    "吨标准煤": "tce",
    "吨标煤": "tce",
    "万立方米": "wanm3",
    "万m3": "wanm3",
    "万方": "wanm3",
    "立方米": "m3",
    "万吨": "want",
    "万t": "want",
    "吨": "t",
    "千克": "kg",
    "公斤": "kg",
    "亿千瓦时": "yikWh",
    "亿kwh": "yikWh",
    "亿度": "yikWh",
    "万千瓦时": "wankWh",
    "万kwh": "wankWh",
    "万度": "wankWh",
    "千瓦时": "kWh",
    "kwh": "kWh",
    "万亩": "wanmu",
    "亩": "mu",
    "%": "percent",
}
_SPELL_RE = re.compile("|".join(re.escape(k) for k in sorted(_SPELLINGS, key=len, reverse=True)))
_PER_YEAR = re.compile(r"(?:/|每)(?:年|a|yr|year)$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _registry():
    import pint

    ureg: pint.UnitRegistry = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=False)
    for line in _UNIT_DEFS.strip().splitlines():
        ureg.define(line)
    return ureg


def unit_expr(text: str) -> str:
    """A unit as written (亿元, 万m³, 吨标煤/万元, yiyuan/Year) as a registry expression; an
    annual figure's "/年" is dropped (a year's figure is the year's total)."""
    s = "".join(str(text).split()).translate(str.maketrans("％／（）³·", "%/()3*"))
    s = _PER_YEAR.sub("", s)
    if s.lower() in ("", "1", "dmnl", "比例", "fraction"):
        return ""
    s = _SPELL_RE.sub(
        lambda m: _SPELLINGS[m.group(0)], s.replace("KWh", "kwh").replace("kWh", "kwh")
    )
    s = re.sub(r"(?<![A-Za-z])kwh", "kWh", s)
    return s


def convert(value: float, unit: str, target: str) -> float:
    """``value`` in ``unit`` converted to ``target`` (pint); ``YaanSimError`` when a unit
    is unknown or measures something else."""
    import pint

    ureg = _registry()
    try:
        given = ureg.parse_units(unit_expr(unit)) if unit_expr(unit) else ureg.dimensionless
        want = ureg.parse_units(unit_expr(target)) if unit_expr(target) else ureg.dimensionless
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError) as e:
        raise YaanSimError(f"unknown unit ({e})") from None
    except Exception as e:  # pint's parser can fail in other ways on odd text
        raise YaanSimError(f"unknown unit {unit!r} ({type(e).__name__})") from None
    try:
        return float(ureg.Quantity(value, given).to(want).magnitude)
    except pint.errors.DimensionalityError:
        raise YaanSimError(f"{unit!r} cannot be converted to {target!r}") from None


# --- the reader -------------------------------------------------------------------------------
def load_observed(
    path: str | Path | None = None, *, source=None, goals=None, places: Places | None = None
) -> pd.DataFrame:
    """Read and check a file of observed figures (default ``models/data/observed.csv``).

    Parameters
    ----------
    path
        The CSV file.
    source
        A results Dataset or a loaded model whose variables, units and parks the figures
        are checked against (default: the shipped model).
    goals
        The goals whose metrics may be named (default: the plan's goals).
    places
        The parks and regions (default: those of ``source``).

    Returns
    -------
    pandas.DataFrame
        Columns ``variable`` (the measure's key: ``revenue``, ``emissions[COD]``,
        ``rd_share``), ``park`` (a park, a region or ``city``), ``year``, ``value`` (in
        ``unit``, the results' unit), ``unit``, ``source``, ``confidence``, ``note``, then
        what the file wrote (``variable_as_given``, ``park_as_given``, ``value_as_given``,
        ``unit_as_given``) and its ``line``. ``df.attrs`` holds ``path`` and ``sha256``.

    Raises
    ------
    ObservedError
        With every problem of the file.
    """
    path = Path(path) if path is not None else DEFAULT_OBSERVED
    file = display_path(path)
    text = _read_text(path, file)
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1)]
    data = [(n, ln) for n, ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not data:
        raise ObservedError(
            f"{file}: no header and no figures: see the format in {DEFAULT_OBSERVED}"
        )
    header = next(csv.reader([data[0][1]]))
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ObservedError(
            f"{file}:{data[0][0]}: missing column(s) {', '.join(missing)}; the columns are "
            f"{', '.join(OBSERVED_COLUMNS)} (note optional)."
        )
    if len(data) == 1:
        raise ObservedError(
            f"{file}: a header and no figures: add one row per figure, or leave out "
            "--observed (use --no-observed for none)"
        )
    if places is None:
        places = (
            Places.from_dataset(source)
            if hasattr(source, "data_vars")
            else Places.from_model(source)
            if source is not None
            else Places.from_mdl(_default_mdl())
        )
    checker = _RowCheck(file, measures(source, goals), places)
    rows = []
    for n, ln in data[1:]:
        cells = next(csv.reader([ln]))
        rec = dict(zip(header, (c.strip() for c in cells), strict=False))
        row = checker.row(n, rec, len(cells) - len(header))
        if row is not None:
            rows.append(row)
    if checker.problems:
        raise_problems(checker.problems, file, ObservedError)
    df = pd.DataFrame(rows, columns=[*OBSERVED_COLUMNS, *_GIVEN, "line"])
    df["year"] = df["year"].astype(int)
    df["value"] = df["value"].astype(float)
    df.attrs.update(path=str(path), sha256=hashlib.sha256(text.encode()).hexdigest())
    return df


_GIVEN = ("variable_as_given", "park_as_given", "value_as_given", "unit_as_given")


def _default_mdl():
    from yaan_sim.paths import DEFAULT_MODEL

    return DEFAULT_MODEL


def _read_text(path: Path, file: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ObservedError(
            f"no observed-data file at {file}; the shipped one is {DEFAULT_OBSERVED}."
        ) from None
    except (OSError, ValueError) as exc:
        raise ObservedError(
            f"cannot read the observed data {file}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    if len(raw) > MAX_BYTES:
        raise ObservedError(f"{file} is over the limit of {MAX_BYTES:,} bytes for observed figures")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ObservedError(
            f"{file}:{line}: byte 0x{raw[exc.start]:02x} is not UTF-8: save the file as UTF-8 "
            "(e.g. iconv -f GBK -t UTF-8)"
        ) from None


class _RowCheck:
    """Checks rows one by one, recording every problem."""

    def __init__(self, file: str, known: dict[str, Measure], places: Places):
        self.file = file
        self.known = known
        self.places = places
        self.problems: list[Problem] = []
        self.names = {_norm(n): m for m in known.values() for n in (m.key, *m.names) if n}
        self.seen: dict[tuple, int] = {}

    def bad(self, line: int, message: str, expected: str = "", fix: str = "") -> None:
        self.problems.append(Problem(self.file, line, f"row {line}", message, expected, fix))

    def row(self, n: int, rec: dict, extra: int):
        n0 = len(self.problems)
        if extra > 0:
            self.bad(n, f"{extra} cell(s) more than the header has", fix="quote cells with commas")
        measure = self.measure(n, rec.get("variable", ""))
        place = self.place(n, rec.get("park", ""))
        year = self.year(n, rec.get("year", ""))
        value = self.number(n, rec.get("value", ""))
        for col in ("source", "confidence"):
            if not rec.get(col):
                self.bad(n, f"{col} is empty", fix=f"say where the figure comes from ({col})")
        converted = None
        if measure is not None and value is not None:
            try:
                converted = convert(value, rec.get("unit", ""), measure.unit)
            except YaanSimError as exc:
                unit = rec.get("unit", "")
                self.bad(
                    n,
                    f"unit {unit!r} for {measure.key}: {exc}",
                    expected=f"a unit of {measure.unit!r}, e.g. {_example(measure.unit)}",
                    fix="write the figure in one of these units",
                )
        if len(self.problems) > n0:
            return None
        assert measure is not None  # else self.measure recorded a problem
        key = (measure.key, place, year)
        if key in self.seen:
            self.bad(
                n,
                f"{measure.key} for {place} in {year} is given twice "
                f"(also on line {self.seen[key]})",
                fix="keep one of the two",
            )
            return None
        self.seen[key] = n
        return [
            measure.key,
            place,
            year,
            converted,
            measure.unit,
            rec.get("source", ""),
            rec.get("confidence", ""),
            rec.get("note", ""),
            rec.get("variable", ""),
            rec.get("park", ""),
            value,
            rec.get("unit", ""),
            n,
        ]

    def measure(self, n: int, name: str) -> Measure | None:
        m = self.names.get(_norm(name))
        if m is None:
            pool = sorted({x for m in self.known.values() for x in (m.key, *m.names) if x})
            hint = closest(name, pool)
            self.bad(
                n,
                f"variable {name!r} is not a results variable or a goal's metric",
                expected="e.g. revenue (营业收入), research_spending, energy_use, rd_share",
                fix=f"did you mean {hint[0]!r}?"
                if hint
                else "see the header of models/data/observed.csv",
            )
        return m

    def place(self, n: int, name: str) -> str | None:
        place = self.places.resolve(name)
        if place is None:
            hint = self.places.suggest(name)
            self.bad(
                n,
                f"park {name!r} is not a park, a region or 'city'",
                expected=f"one of {', '.join([*self.places.parks, *self.places.regions, 'city'])}"
                " (or their Chinese names)",
                fix=f"did you mean {hint[0]!r}?" if hint else "use the model's park names",
            )
        return place

    def year(self, n: int, text: str) -> int | None:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x == int(x) and YEARS[0] <= x <= YEARS[1]):
            self.bad(
                n,
                f"year {text!r} is not a year",
                expected=f"a whole year from {YEARS[0]} to {YEARS[1]}",
                fix="write the year of the figure, e.g. 2018",
            )
            return None
        return int(x)

    def number(self, n: int, text: str) -> float | None:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
            fix = "write a plain number"
            if re.fullmatch(r"[-+]?[0-9,]+(\.[0-9]*)?", text or ""):
                fix = f"write {text.replace(',', '')} without separators"
            self.bad(n, f"value {text!r} is not a number", fix=fix)
            return None
        if not math.isfinite(x):
            self.bad(n, f"value {text!r} is not a finite number", fix="write the figure")
            return None
        return x


def _example(unit: str) -> str:
    u = unit_expr(unit)
    return {
        "yiyuan": "亿元 or 万元",
        "wantce": "万吨标煤 or 吨标煤",
        "wanm3": "万立方米 or 立方米",
        "t": "吨 or 万吨",
        "percent": "%",
        "tce/wanyuan": "吨标煤/万元",
        "m3/wanyuan": "立方米/万元",
    }.get(u, unit)


def observed_file(df) -> str | None:
    """The file the figures were read from (relative where possible), or None."""
    path = getattr(df, "attrs", {}).get("path") if df is not None else None
    return display_path(path) if path else None


def from_records(rows: list[dict], **kw) -> pd.DataFrame:
    """Observed figures from records (for notebooks and tests), checked like a file."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(OBSERVED_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return load_observed_text(buf.getvalue(), **kw)


def load_observed_text(text: str, name: str = "<observed>", **kw) -> pd.DataFrame:
    """:func:`load_observed` on CSV text."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / (Path(name).name or "observed.csv")
        p.write_text(text, encoding="utf-8")
        df = load_observed(p, **kw)
    df.attrs["path"] = name
    return df
