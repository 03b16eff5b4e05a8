"""Numbers and tables as people read them: one renderer for terminal and Markdown tables.

Two number styles:

- :func:`format_exact` writes a number as a person would type it (``150``, ``0.012``,
  ``1e-06``): for settings, ranges and messages, where the exact value matters.
- :func:`format_number` writes a number for a table: fixed point (never ``2e+03`` or
  ``-1.11e-14``), values that round to zero shown as ``0``, thousands separators on
  every number with four or more integer digits.

:func:`text_table` aligns columns by display width, so Chinese text (two columns per
character in a terminal) lines up; :func:`markdown_table` writes GitHub-flavoured
Markdown. Both take a header and rows of already formatted cells.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence


def format_exact(x) -> str:
    """A number without noise: ``150``, ``0.012``, ``1e-06``; ``inf``/``nan`` as such."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) or (type(x).__module__ == "numpy" and hasattr(x, "dtype"))


def format_number(x, digits: int = 2, *, thousands: bool = True, missing: str = "") -> str:
    """A number for a human table.

    Parameters
    ----------
    x
        A number (Python or numpy); anything else is returned as ``str(x)``; ``None``,
        NaN and infinities give ``missing``.
    digits
        Decimals for numbers of magnitude 1 or more, and the number of significant
        digits kept for smaller ones (so 0.0123 keeps three decimals, not two zeros).
    thousands
        Separate thousands with commas (``12,345.6``).

    Whole numbers print without decimals (``2,000``); a value that rounds to zero at the
    precision shown prints as ``0`` (never ``-0`` or ``-1.11e-14``). No scientific
    notation is used: tiny values become 0, huge ones keep all their digits.
    """
    if x is None:
        return missing
    if isinstance(x, bool) or type(x).__name__ == "bool_":
        return "yes" if x else "no"
    if not _is_number(x):
        return str(x)
    xf = float(x)
    if not math.isfinite(xf):
        return missing
    sep = "," if thousands else ""
    if xf.is_integer():
        return f"{int(xf):{sep}d}"
    ax = abs(xf)
    # below 1, keep ``digits`` significant digits, but never more than 6 decimals
    small = min(6, max(digits, digits - 1 - math.floor(math.log10(ax)))) if ax else digits
    decimals = digits if ax >= 1 else small
    text = f"{xf:{sep}.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return "0"
    return text


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters
    take two, combining marks none."""
    width = 0
    for ch in str(text):
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int, align: str = "left") -> str:
    """``text`` padded with spaces to ``width`` display columns."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if align == "right" else text + fill


def _looks_numeric(cell: str) -> bool:
    s = cell.replace(",", "").replace("%", "").strip()
    if not s:
        return False
    try:
        float(s)
    except ValueError:
        return False
    return True


def text_table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    align: Sequence[str] | None = None,
    sep: str = "  ",
) -> str:
    """An aligned plain-text table: header, a rule of dashes, one line per row.

    ``align`` gives ``"left"`` or ``"right"`` per column; by default a column whose cells
    are all numbers is right-aligned. Trailing spaces are removed.
    """
    header = [str(h) for h in header]
    body = [[str(c) for c in r] for r in rows]
    ncol = len(header)
    widths = [display_width(h) for h in header]
    for r in body:
        for i, c in enumerate(r[:ncol]):
            widths[i] = max(widths[i], display_width(c))
    if align is None:
        align = [
            "right"
            if body
            and all(_looks_numeric(r[i]) or not r[i] for r in body)
            and any(r[i] for r in body)
            else "left"
            for i in range(ncol)
        ]

    def line(cells):
        return sep.join(
            pad(c, w, a) for c, w, a in zip(cells, widths, align, strict=False)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    return "\n".join(out)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped), ending with a newline."""

    def esc(x) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
