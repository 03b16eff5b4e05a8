"""The data ledger: read and check ``models/data/ledger/*.csv`` against its README.

The README's table is the schema: its first column names the columns, and the backticked
values of the ``scope_kind``, ``kind``, ``unit`` and ``confidence`` rows and the list of
controlled ``variable`` names are the allowed values. Nothing here restates them, so a
name added to the README is accepted at once.

Example::

    from yaan_sim.model.ledger import read_ledger
    ledger = read_ledger()                # every CSV of models/data/ledger/
    ledger.rows[["id", "variable", "scope", "period", "value", "unit"]]
    ledger.rows.loc["etdz-rev-2015", "value"]   # 167.0

Every problem of every file is collected and raised together as one :class:`LedgerError`
whose lines say ``file:line: what, and how to fix it``. A period is parsed into the
model's time (years; ``2018.0`` is 1 January 2018) by :func:`parse_period`.
"""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import difflib
import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from yaan_sim.errors import YaanSimError
from yaan_sim.paths import MODELS_DIR

LEDGER_DIR = MODELS_DIR / "data" / "ledger"
#: Columns that must hold a value in every row.
REQUIRED = (
    "id",
    "variable",
    "measure_zh",
    "scope_kind",
    "scope",
    "period",
    "kind",
    "value",
    "unit",
    "confidence",
    "derivation",
)
_ID_RE = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


class LedgerError(YaanSimError):
    """The ledger does not follow its README. ``problems`` lists every ``file:line: ...``."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


# ------------------------------------------------------------------ the schema (README)


@dataclass(frozen=True)
class Schema:
    """What the README allows: columns, controlled values, and scope names by kind."""

    columns: tuple[str, ...]
    variables: tuple[str, ...]
    scope_kinds: tuple[str, ...]
    kinds: tuple[str, ...]
    units: tuple[str, ...]
    confidences: tuple[str, ...]
    scopes: dict  # scope_kind -> tuple of names (empty tuple: any name)


def _ticks(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _unbracket(text: str) -> str:
    """The text without its parenthesised remarks (which may name other columns)."""
    while True:
        new = re.sub(r"\([^()]*\)", "", text)
        if new == text:
            return text
        text = new


def read_schema(readme: str | Path = LEDGER_DIR / "README.md") -> Schema:
    """The schema of the ledger from its README (table of columns, controlled names)."""
    path = Path(readme)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LedgerError(
            f"cannot read the ledger's README {path}: {exc.strerror or exc}"
        ) from None
    cells: dict[str, list[str]] = {}
    order: list[str] = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) >= 3 and line.lstrip().startswith("|"):
            name = _ticks(parts[0])
            if len(name) == 1:
                order.append(name[0])
                cells[name[0]] = parts[1:]
    m = re.search(r"Controlled `variable` names[^\n]*\n(.*?)(?:\n\s*\n|\Z)", text, re.S)
    need = {"id", "variable", "scope_kind", "scope", "kind", "value", "unit", "confidence"}
    if not m or not need <= set(order):
        raise LedgerError(
            f"{path}: cannot read the schema (a table whose first column holds the column "
            "names in backticks, and a paragraph 'Controlled `variable` names'); "
            "restore the README's layout"
        )
    variables = tuple(dict.fromkeys(_ticks(_unbracket(m.group(1)))))

    def values(col):  # the backticked values of a row, in its meaning and values cells
        return tuple(dict.fromkeys(_ticks(" ".join(cells[col]))))

    # scope: "model park name (`ETDZ`, ...), county (`雨城区`, ...), `Ya'an` or `Sichuan`"
    scope_text = " ".join(cells["scope"])
    groups = re.findall(r"\(([^()]*)\)", scope_text)
    loose = _ticks(re.sub(r"\([^()]*\)", "", scope_text))
    parks = tuple(_ticks(groups[0])) if groups else ()
    counties = tuple(_ticks(groups[1])) if len(groups) > 1 else ()
    scopes = {"park": parks, "county": counties, "city": tuple(loose), "province": tuple(loose)}
    return Schema(
        columns=tuple(order),
        variables=variables,
        scope_kinds=values("scope_kind"),
        kinds=values("kind"),
        units=values("unit"),
        confidences=values("confidence"),
        scopes=scopes,
    )


# ------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    """A ledger period on the model's time axis (years; ``2018.0`` = 1 January 2018).

    Attributes
    ----------
    text : str
        As written, e.g. ``2018Q1-3``.
    form : str
        ``year``, ``subyear`` (quarters, halves, months within one year), ``span`` (several
        whole years, e.g. a plan period) or ``date`` (a day, for stocks).
    start, end : float
        The interval the figure covers; equal for a date (the end of that day).
    """

    text: str
    form: str
    start: float
    end: float

    @property
    def year(self) -> int:
        """The calendar year the period ends in (its last day's year)."""
        return int(math.ceil(self.end) - 1) if self.form != "date" else int(self.start - 1e-9)

    @property
    def years(self) -> float:
        return self.end - self.start

    def shifted(self, years: int) -> Period:
        """The same period ``years`` earlier (negative) or later."""
        return Period(self.text, self.form, self.start + years, self.end + years)


_PERIOD_RES = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})Q([1-4])(?:-([1-4]))?$"), "quarter"),
    (re.compile(r"^(\d{4})H([12])$"), "half"),
    (re.compile(r"^(\d{4})M(\d{2})(?:-(\d{2}))?$"), "month"),
    (re.compile(r"^(\d{4})-(\d{4})$"), "span"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "date"),
]
PERIOD_FORMS = "2018, 2018Q1, 2018Q1-3, 2018H1, 2018M01, 2018M01-02, 2016-2020 or 2018-12-31"


def parse_period(text: str) -> Period:
    """``2018`` -> [2018, 2019); ``2018Q1-3`` -> [2018, 2018.75); ``2018-12-31`` -> 2019.0.

    Months are twelfths of a year (a month's length differs by at most 2 days in 30).
    """
    s = str(text).strip()
    for rx, kind in _PERIOD_RES:
        m = rx.match(s)
        if not m:
            continue
        y = int(m.group(1))
        if kind == "year":
            return Period(s, "year", y, y + 1)
        if kind == "quarter":
            a, b = int(m.group(2)), int(m.group(3) or m.group(2))
            if b < a:
                break
            return Period(s, "subyear", y + (a - 1) / 4, y + b / 4)
        if kind == "half":
            h = int(m.group(2))
            return Period(s, "subyear", y + (h - 1) / 2, y + h / 2)
        if kind == "month":
            a, b = int(m.group(2)), int(m.group(3) or m.group(2))
            if not 1 <= a <= b <= 12:
                break
            return Period(s, "subyear", y + (a - 1) / 12, y + b / 12)
        if kind == "span":
            y2 = int(m.group(2))
            if y2 <= y:
                break
            return Period(s, "span", y, y2 + 1)
        try:
            day = _dt.date(y, int(m.group(2)), int(m.group(3)))
        except ValueError:
            break
        n = 366 if calendar.isleap(y) else 365
        t = y + day.timetuple().tm_yday / n  # the end of that day
        return Period(s, "date", t, t)
    raise ValueError(f"period {s!r} is not one of the forms {PERIOD_FORMS}")


# ------------------------------------------------------------------ reading


@dataclass
class Ledger:
    """The ledger's rows, checked.

    Attributes
    ----------
    rows : pandas.DataFrame
        Indexed by ``id``; the README's columns plus ``value`` as float, ``file`` and
        ``line`` (where the row starts), and ``refs`` (the ledger ids a ``derived:``
        formula uses, a tuple).
    schema : Schema
    files : list of Path
    sha256 : str
        Hash of the files' bytes, in name order (recorded in manifests).
    """

    rows: pd.DataFrame
    schema: Schema
    files: list
    sha256: str

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, row_id: str) -> str:
        """``parks.csv:12`` for a row id."""
        r = self.rows.loc[row_id]
        return f"{Path(r['file']).name}:{r['line']}"


def _rows(path: Path):
    """(first line, fields) for each CSV record; ``#`` lines are skipped, line numbers kept."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = list(fh)
    keep = [(i + 1, ln) for i, ln in enumerate(lines) if not ln.lstrip().startswith("#")]
    reader = csv.reader([ln for _, ln in keep])
    before = 0  # physical lines consumed before this record (a quoted field may span lines)
    for fields in reader:
        yield keep[before][0], fields
        before = reader.line_num


def _closest(word: str, options) -> str:
    hits = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {hits[0]!r}?" if hits else ""


def read_ledger(
    folder: str | Path | None = None,
    files=None,
    *,
    schema: Schema | None = None,
) -> Ledger:
    """Read and check every ``*.csv`` of the ledger folder (default models/data/ledger).

    Parameters
    ----------
    folder : path, optional
        Folder holding ``README.md`` (the schema) and the CSVs.
    files : list of paths, optional
        Only these CSVs (their schema is still the folder's README).
    schema : Schema, optional
        Use this schema instead of the README's.

    Raises
    ------
    LedgerError
        Listing every problem as ``file:line: ...``.
    """
    folder = Path(folder) if folder is not None else LEDGER_DIR
    schema = schema or read_schema(folder / "README.md")
    paths = sorted(Path(f) for f in files) if files is not None else sorted(folder.glob("*.csv"))
    if not paths:
        raise LedgerError(f"{folder}: no ledger CSV found (expected *.csv beside README.md)")
    problems: list[str] = []
    records: list[dict] = []
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(path.read_bytes())
            rows = list(_rows(path))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: cannot read it as UTF-8 text ({exc})")
            continue
        except csv.Error as exc:
            problems.append(f"{path.name}: not a valid CSV ({exc})")
            continue
        if not rows:
            problems.append(
                f"{path.name}: empty (needs the header line {','.join(schema.columns)})"
            )
            continue
        header = rows[0][1]
        header = [h.strip() for h in header]
        missing = [c for c in schema.columns if c not in header]
        extra = [c for c in header if c not in schema.columns]
        if missing or extra:
            problems.append(
                f"{path.name}:{rows[0][0]}: the header must be the README's columns "
                f"({','.join(schema.columns)})"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
            continue
        for line, fields in rows[1:]:
            where = f"{path.name}:{line}"
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                problems.append(
                    f"{where}: {len(fields)} fields where the header has {len(header)} "
                    "(a comma inside a value needs the value in double quotes)"
                )
                continue
            rec = {h: f.strip() for h, f in zip(header, fields, strict=True)}
            row_problems = check_row(rec, schema)
            problems += [f"{where}: {p}" for p in row_problems]
            rid = rec["id"]
            if rid in seen:
                problems.append(
                    f"{where}: id {rid!r} is already used at {seen[rid]}; ids are unique"
                )
                continue
            if rid:
                seen[rid] = where
            if row_problems:
                continue
            rec["value"] = float(rec["value"])
            rec["file"] = str(path)
            rec["line"] = line
            records.append(rec)
    ids = [r["id"] for r in records]
    for rec in records:
        rec["refs"] = _refs(rec["derivation"], ids, rec["id"])
        if not rec["source_url"] and not rec["refs"]:
            problems.append(
                f"{Path(rec['file']).name}:{rec['line']}: column 'source_url' is empty; a row "
                "needs the address it was read at (or a derived: formula naming ledger ids)"
            )
    if problems:
        raise LedgerError(
            f"the data ledger has {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            problems,
        )
    frame = pd.DataFrame.from_records(records, columns=[*schema.columns, "file", "line", "refs"])
    frame = frame.set_index("id", drop=False)
    return Ledger(frame, schema, paths, digest.hexdigest())


def check_row(rec: dict, schema: Schema) -> list[str]:
    """The problems of one row (empty when it is good)."""
    out = []
    for col in REQUIRED:
        if col in schema.columns and not rec.get(col, ""):
            out.append(f"column {col!r} is empty; every row needs it")
    if out:
        return out
    if not _ID_RE.match(rec["id"]):
        out.append(f"id {rec['id']!r}: use lower-case letters, digits and '-' (e.g. etdz-rev-2015)")
    if rec["variable"] not in schema.variables:
        out.append(
            f"variable {rec['variable']!r} is not in the README's controlled list"
            + _closest(rec["variable"], schema.variables)
            + " (add new names to the README first)"
        )
    sk = rec["scope_kind"]
    if sk not in schema.scope_kinds:
        out.append(f"scope_kind {sk!r}: use one of {', '.join(schema.scope_kinds)}")
    else:
        allowed = schema.scopes.get(sk, ())
        if allowed and rec["scope"] not in allowed:
            out.append(
                f"scope {rec['scope']!r} is not a {sk} name of the README ({', '.join(allowed)})"
                + _closest(rec["scope"], allowed)
            )
    try:
        parse_period(rec["period"])
    except ValueError as exc:
        out.append(str(exc))
    if rec["kind"] not in schema.kinds:
        out.append(f"kind {rec['kind']!r}: use one of {', '.join(schema.kinds)}")
    try:
        v = float(rec["value"])
        if not math.isfinite(v):
            raise ValueError
    except ValueError:
        out.append(f"value {rec['value']!r} is not a number (write it without units or commas)")
    if rec["unit"] not in schema.units:
        out.append(
            f"unit {rec['unit']!r} is not in the README's list ({', '.join(schema.units)})"
            + _closest(rec["unit"], schema.units)
        )
    if rec["confidence"] not in schema.confidences:
        out.append(f"confidence {rec['confidence']!r}: use one of {', '.join(schema.confidences)}")
    d = rec["derivation"]
    if d != "read" and not (d.startswith("derived:") and d[len("derived:") :].strip()):
        out.append(f"derivation {d!r}: write 'read' or 'derived: <formula using ids>'")
    return out


def _refs(derivation: str, ids: list[str], own: str) -> tuple[str, ...]:
    """The ledger ids a ``derived:`` formula names (longest match; ``-1`` is arithmetic)."""
    if not derivation.startswith("derived:"):
        return ()
    text = derivation[len("derived:") :]
    found = []
    for rid in sorted(ids, key=len, reverse=True):
        if rid == own:
            continue
        pat = r"(?<![\w-])" + re.escape(rid) + r"(?![a-z0-9_]|-[a-z])"
        if re.search(pat, text):
            found.append(rid)
            text = re.sub(pat, " ", text)
    return tuple(sorted(found))
