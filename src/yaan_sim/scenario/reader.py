"""The hardened YAML reader: one file -> a tree of :class:`Node`, every problem recorded.

Every YAML file the project reads (scenarios, goals) goes through :class:`Reader`:

- limits on size, nesting depth, alias uses and nodes after alias expansion (a YAML
  "billion laughs" cannot blow up memory);
- one document per file; no merge keys (``<<``), no tags, no duplicate keys;
- numbers as YAML 1.2 reads them. PyYAML implements YAML 1.1, where ``0150`` is octal
  (104), ``1:30`` is base 60 (90), ``1_000`` is 1000 and ``0b11`` is 3; YAML 1.2 reads
  the same text differently, so these forms are refused with a message saying what to
  write instead (and nothing else is said about that value). ``1e-3``, a YAML 1.2 float
  that YAML 1.1 reads as text, is read as a number.

Problems are :class:`Problem` objects, ``FILE:LINE: KEY/PATH: message (expected: ...).
Fix: ...``; nothing from PyYAML or Python escapes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import yaml

from yaan_sim.errors import ScenarioError

# --- limits on what a file may be -------------------------------------------------------
MAX_BYTES = 256 * 1024  # a scenario or goals file is a few KiB; anything near this is not one
MAX_DEPTH = 16  # deepest legitimate nesting is 6 (levers/lever/park/schedule/year)
MAX_ALIASES = 64  # alias uses (*name) in one file
MAX_NODES = 50_000  # nodes after alias expansion
MAX_LISTED = 50  # problems written into an error message; ``.problems`` keeps them all


# --- problems ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem in an input file.

    ``str(problem)`` reads ``FILE:LINE: KEY/PATH: message (expected: ...). Fix: ...``.
    """

    file: str
    line: int | None
    path: str
    message: str
    expected: str = ""
    fix: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        text = f"{where}: {self.path or '(top level)'}: {self.message}"
        if self.expected:
            text += f" (expected: {self.expected})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


def raise_problems(problems: list[Problem], what: str, error=ScenarioError) -> NoReturn:
    """Raise ``error`` listing ``problems`` (at most :data:`MAX_LISTED` in the text)."""
    n = len(problems)
    lines = "\n".join(f"  {p}" for p in problems[:MAX_LISTED])
    if n > MAX_LISTED:
        lines += f"\n  ... and {n - MAX_LISTED} more"
    raise error(f"{n} problem{'s' if n != 1 else ''} in {what}:\n{lines}", problems)


def path_text(keys) -> str:
    """A key path as ``levers/PPP share/2016``."""
    return "/".join(str(k) for k in keys)


def display_path(path) -> str:
    """The path as the user knows it: relative to the working directory where possible."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def kind_of(value) -> str:
    """How a YAML value reads to a person: ``the number 3``, ``a mapping``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value!s})"


def as_float(value) -> float | None:
    """``value`` as a float, or None when it is not a number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def is_float_text(x) -> bool:
    """Whether ``float(x)`` works (``"0.2"`` quoted by mistake)."""
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


# --- the YAML dialect ---------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as ``1e-3`` as numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")

# Plain scalars that YAML 1.1 (PyYAML) and YAML 1.2 read differently.
_OCTAL = re.compile(r"[-+]?0[0-9_]+")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_BINARY = re.compile(r"[-+]?0b[01_]+")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")  # 1.1: text when it has an 8 or 9; 1.2: a number
_STR_TAG = "tag:yaml.org,2002:str"


def yaml11_only(node) -> tuple[str, str] | None:
    """``(what YAML 1.1 makes of it, what to write)`` for a plain scalar that YAML 1.1 and
    YAML 1.2 read differently, else None."""
    if not isinstance(node, yaml.ScalarNode) or node.style is not None:
        return None
    text = node.value
    if node.tag == _STR_TAG and _LEADING_ZERO.fullmatch(text):
        digits = text.lstrip("+-").lstrip("0") or "0"
        return (
            f"text in YAML 1.1 but the number {digits} in YAML 1.2",
            f"write {digits} without the leading zero (or quote it for text)",
        )
    if node.tag not in _NUMBER_TAGS:
        return None
    if _SEXAGESIMAL.fullmatch(text):
        return (
            "a base-60 number in YAML 1.1 (1:30 is 90) but text in YAML 1.2",
            "write the number itself (e.g. 90), or quote the text",
        )
    if _BINARY.fullmatch(text):
        return (
            "a binary number in YAML 1.1 but text in YAML 1.2",
            "write the number in decimal",
        )
    if _OCTAL.fullmatch(text):
        digits = text.lstrip("+-").lstrip("0_") or "0"
        return (
            f"an octal number in YAML 1.1 (0150 is 104) but {digits} in YAML 1.2",
            f"write {digits} without the leading zero (or quote it for text)",
        )
    if "_" in text:
        return (
            "a number with '_' that YAML 1.1 reads without it and YAML 1.2 reads as text",
            f"write {text.replace('_', '')} without '_'",
        )
    return None


@dataclass
class Node:
    """A YAML value with where it came from: ``value`` is a scalar, ``dict`` or ``list``
    whose children are again ``Node``; ``line`` is 1-based."""

    value: object
    line: int
    key_line: int = 0  # line of the key this value belongs to, where it has one

    @property
    def at(self) -> int:
        """The line to point at: the key's where there is one, else the value's."""
        return self.key_line or self.line

    def plain(self):
        """The value with every child unwrapped (plain dicts, lists and scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    @classmethod
    def wrap(cls, data, line: int = 0) -> Node:
        """A tree of nodes (without line numbers) for already-parsed data."""
        if isinstance(data, dict):
            return cls({k: cls.wrap(v, line) for k, v in data.items()}, line)
        if isinstance(data, list):
            return cls([cls.wrap(v, line) for v in data], line)
        return cls(data, line)


class _TooBig(Exception):
    pass


_FAILED = object()  # what Reader._read_yaml returns when the text could not be read
_BAD = object()  # a scalar that could not be constructed


class Reader:
    """Reads one file into a tree of :class:`Node`, recording every problem on the way.

    ``what`` names the kind of file in messages ("scenario file", "goals file"); ``start``
    says how such a file starts (the fix offered for an empty one).
    After :meth:`read`, ``failure`` is ``"read"`` when the bytes could not be read as
    UTF-8 text within the size limit, ``"yaml"`` when the text is not YAML this reader
    accepts, else None.
    """

    def __init__(
        self,
        file: str,
        problems: list[Problem],
        *,
        what: str = "scenario file",
        start: str = "write e.g. `extends: baseline` and a `levers:` block",
    ):
        self.file = file
        self.problems = problems
        self.what = what
        self.start = start  # how to start a file of this kind (the fix for an empty one)
        self.nodes = 0
        self.text = ""
        self.failure: str | None = None
        self.refused: set[tuple[int, str]] = set()  # (line, key path) of refused values

    def problem(self, line, path, message, *, expected: str = "", fix: str = "") -> None:
        """Record one problem at ``line`` under the key path ``path`` (a tuple of keys)."""
        self.problems.append(Problem(self.file, line, path_text(path), message, expected, fix))

    def read(self, path: Path) -> Node | None:
        """The tree of the file at ``path``, or None (with problems recorded)."""
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except (OSError, ValueError) as exc:
            self.failure = "read"
            self.problem(
                None,
                (),
                f"cannot read the file: {getattr(exc, 'strerror', None) or exc}",
                expected=f"a readable {self.what}",
                fix="check the path and permissions",
            )
            return None
        if len(data) > MAX_BYTES:
            self.failure = "read"
            self.problem(
                None,
                (),
                f"the file is over the limit of {MAX_BYTES:,} bytes",
                expected=f"a {self.what} of a few KiB",
                fix=f"split it or remove what is not part of a {self.what}",
            )
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.failure = "read"
            line = data[: exc.start].count(b"\n") + 1
            self.problem(
                line,
                (),
                f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8",
                expected="a UTF-8 text file",
                fix="save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)",
            )
            return None
        self.text = text
        return self.parse(text)

    def parse(self, text: str) -> Node | None:
        """The tree of YAML ``text``, or None (with problems recorded)."""
        n0 = len(self.problems)
        node = None
        if self._read_yaml(text, self._scan_events) is True:
            node = self._read_yaml(text, lambda loader: loader.get_single_node())
        if len(self.problems) > n0 or node is _FAILED:
            self.failure = "yaml"
            return None
        if node is None:
            self.problem(
                1,
                (),
                "the file is empty (no YAML document)",
                expected=f"a {self.what}: a mapping of keys",
                fix=self.start,
            )
            return None
        self.constructor = _Loader("")
        try:
            return self._convert(node, (), 0)
        except _TooBig:
            self.failure = "yaml"
            self.problem(
                node.start_mark.line + 1,
                (),
                f"the document expands to more than {MAX_NODES:,} nodes (an alias-expansion bomb?)",
                expected="a small mapping",
                fix="write the values out instead of nesting aliases",
            )
            return None

    def _read_yaml(self, text: str, read):
        """``read(loader)`` on a fresh loader; a reading failure becomes a problem and
        ``_FAILED`` is returned (PyYAML can fail in odd ways: nothing may escape)."""
        loader = None
        try:
            loader = _Loader(text)
            return read(loader)
        except yaml.YAMLError as exc:
            self._yaml_problem(exc)
        except Exception as exc:
            self.problem(
                None,
                (),
                f"the YAML cannot be read: {exc}",
                expected="valid YAML",
                fix="check the file with a YAML linter",
            )
        finally:
            if loader is not None:
                loader.dispose()
        return _FAILED

    def _scan_events(self, loader) -> bool:
        """Check depth, alias count and document count on the event stream (no recursion)."""
        depth = aliases = docs = 0
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        f"nesting deeper than {MAX_DEPTH} levels",
                        expected="at most 6 levels",
                        fix="flatten the structure; see the shipped examples",
                    )
                    return False
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        f"more than {MAX_ALIASES} alias uses (*name)",
                        expected=f"at most {MAX_ALIASES} aliases",
                        fix="write the values out instead of using aliases",
                    )
                    return False
            elif isinstance(ev, yaml.DocumentStartEvent):
                docs += 1
                if docs > 1:
                    self.problem(
                        ev.start_mark.line + 1,
                        (),
                        "more than one YAML document (a second `---`)",
                        expected="one document per file",
                        fix=f"put each {self.what} in its own file",
                    )
                    return False
        return True

    def _yaml_problem(self, exc: yaml.YAMLError) -> None:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = " ".join(
            str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x
        ) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):
            what = f"character {exc.character!r} is not allowed in YAML ({exc.reason})"
            line = None
        self.problem(
            line,
            (),
            f"invalid YAML: {what}",
            expected="valid YAML",
            fix="fix the syntax at that line (indentation, a missing ':' or quote)",
        )

    def _convert(self, node, path, depth) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return Node(self._mapping(node, path, depth), line)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.problem(
                    line,
                    path,
                    f"unsupported tag {node.tag}",
                    expected="a plain list",
                    fix="remove the tag",
                )
            return Node(
                [self._convert(n, (*path, i), depth + 1) for i, n in enumerate(node.value)], line
            )
        value = self._scalar(node, path)
        return Node(None if value is _BAD else value, line)

    def _mapping(self, node, path, depth) -> dict:
        if node.tag != _MAP_TAG:
            self.problem(
                node.start_mark.line + 1,
                path,
                f"unsupported tag {node.tag}",
                expected="a plain mapping",
                fix="remove the tag",
            )
        out: dict = {}
        for knode, vnode in node.value:
            kline = knode.start_mark.line + 1
            if knode.tag == _MERGE_TAG:
                self.problem(
                    kline,
                    path,
                    "merge keys (<<) are not supported",
                    expected="keys written out",
                    fix="write the keys out, or use `extends:`",
                )
                continue
            if not isinstance(knode, yaml.ScalarNode):
                self.problem(
                    kline,
                    path,
                    "a key that is a mapping or a list",
                    expected="a name or a year as key",
                    fix="write the key as plain text",
                )
                continue
            key = self._scalar(knode, path)
            if key is _BAD:
                continue
            if key in out:
                self.problem(
                    kline,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {out[key].key_line})",
                    expected="each key once",
                    fix="remove or merge one of the two",
                )
                continue
            child = self._convert(vnode, (*path, key), depth + 1)
            child.key_line = kline
            out[key] = child
        return out

    def _scalar(self, node, path):
        ambiguous = yaml11_only(node)
        if ambiguous is not None:
            meaning, fix = ambiguous
            self.refused.add((node.start_mark.line + 1, path_text(path)))
            self.problem(
                node.start_mark.line + 1,
                path,
                f"{node.value!r} is {meaning}",
                expected="a value that YAML 1.1 and 1.2 read alike",
                fix=fix,
            )
            return _BAD
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:
            self.refused.add((node.start_mark.line + 1, path_text(path)))
            self.problem(
                node.start_mark.line + 1,
                path,
                f"cannot read the value {node.value!r}: {getattr(exc, 'problem', None) or exc}",
                expected="a number, a name or text",
                fix="remove the tag or quote the value",
            )
            return _BAD
