"""The report's Chinese font, embedded: Noto Sans CJK SC cut to the report's characters.

The report then shows its Chinese on a machine with no CJK font (about 200 KB for a
typical report). Cutting the font takes 1-2 s, so each cut is kept: in the process, and
in the cache folder (:mod:`yaan_sim.cache_files`) for the next run and the next process.
"""

from __future__ import annotations

import base64
import hashlib
import io
from functools import lru_cache
from pathlib import Path

from yaan_sim.cache_files import read_or_make
from yaan_sim.paths import cache_dir

FONT_FAMILY = "YaanSim CJK"


def embedded_font_css(text: str) -> str:
    """An ``@font-face`` rule embedding Noto Sans CJK SC, cut to the characters of ``text``.

    The report then shows its Chinese on a machine with no CJK font (about 200 KB for a
    typical report). Returns "" if the font cannot be subset (the system fonts are used).
    """
    return _font_face(frozenset({ord(c) for c in text} | set(range(32, 127))))


@lru_cache(maxsize=8)
def _font_face(unicodes: frozenset[int]) -> str:
    """The rule for these code points: cut once per process, and kept in the cache folder
    (:func:`font_subset`), since every report of a run, of a rerun and of the tests asks
    again for much the same characters."""
    try:
        data = font_subset(unicodes)
    except Exception:  # no font or fontTools: the report still renders with system fonts
        return ""
    b64 = base64.b64encode(data).decode("ascii")
    return (
        f'@font-face{{font-family:"{FONT_FAMILY}";'
        f'src:url(data:font/otf;base64,{b64}) format("opentype");}}'
    )


#: what decides a subset besides the font and the code points (change it with the options)
_SUBSET_RECIPE = "no-layout-features;no-hinting;notdef-outline;source-timestamp"


def font_subset(unicodes: frozenset[int]) -> bytes:
    """Noto Sans CJK SC cut to ``unicodes`` (an OpenType font file): read from the cache
    folder where an earlier run made it, else cut (1-2 s) and kept there."""
    from fontTools import version as fonttools_version

    from yaan_sim.outputs.fonts import cjk_font_path

    font = cjk_font_path()
    key = hashlib.sha256(
        f"{_file_digest(font)};{fonttools_version};{_SUBSET_RECIPE};".encode()
        + ",".join(map(str, sorted(unicodes))).encode()
    ).hexdigest()[:40]
    return read_or_make(
        cache_dir() / "fonts" / f"{key}.otf",
        lambda: _cut_font(font, unicodes),
        load=_opentype,
        dump=bytes,
    )


@lru_cache(maxsize=4)
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _opentype(data: bytes) -> bytes:
    if data[:4] != b"OTTO":  # a CFF OpenType font starts so
        raise ValueError("not an OpenType font file")
    return data


def _cut_font(path: Path, unicodes: frozenset[int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.layout_features = []  # no OpenType features: 3x faster, a third of the size
    opts.hinting = False
    opts.notdef_outline = True
    buf = io.BytesIO()
    # the source font's timestamp, not the time of the cut: same characters, same bytes
    with TTFont(str(path), lazy=True, recalcTimestamp=False) as font:
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=set(unicodes))
        sub.subset(font)
        font.save(buf)
    return buf.getvalue()
