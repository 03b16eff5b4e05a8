"""A CJK font for the charts, shipped by the ``mplfonts`` package.

Nothing happens at import. :func:`font_rc` registers Noto Sans CJK SC with matplotlib's
font manager on first use (once per process) and returns the rcParams that put it in the
font family list: first for Chinese charts, as the fallback after DejaVu Sans for English
ones (a place name or unit in Chinese still renders).
"""

from __future__ import annotations

import functools
from pathlib import Path

from yaan_sim.errors import YaanSimError

CJK_FAMILY = "Noto Sans CJK SC"
LATIN_FAMILY = "DejaVu Sans"
_CJK_FILE = "NotoSansCJKsc-Regular.otf"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC file inside the installed ``mplfonts`` package."""
    try:
        import mplfonts
    except ImportError:
        raise YaanSimError(
            "the package 'mplfonts' (which ships the Chinese font) is not "
            "installed; run: pip install -e ."
        ) from None
    path = Path(mplfonts.__file__).parent / "fonts" / _CJK_FILE
    if not path.is_file():
        raise YaanSimError(
            f"mplfonts is installed but {path} is missing; reinstall it with "
            "pip install --force-reinstall mplfonts"
        )
    return path


@functools.lru_cache(maxsize=1)
def register_cjk_font() -> str:
    """Add the CJK font to matplotlib's font manager (once) and return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    return CJK_FAMILY


def font_families(lang: str = "zh") -> list[str]:
    """Family list for ``lang``; the second family is the fallback for missing glyphs."""
    cjk = register_cjk_font()
    return [cjk, LATIN_FAMILY] if lang == "zh" else [LATIN_FAMILY, cjk]


def font_rc(lang: str = "zh") -> dict:
    """rcParams for :func:`matplotlib.rc_context` that render ``lang`` with no missing glyph."""
    return {"font.family": font_families(lang), "axes.unicode_minus": True}
