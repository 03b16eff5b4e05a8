"""The report's embedded font (yaan_sim.outputs.report_font): cut once, kept in the cache
folder, and cut again where the kept file is damaged or the characters differ."""

from __future__ import annotations

import io

import pytest
from fontTools.ttLib import TTFont

from yaan_sim.outputs import report_font
from yaan_sim.outputs.fonts import cjk_font_path

CHARS = frozenset(map(ord, "雅安园区 ETDZ 2020")) | frozenset(range(32, 127))


@pytest.fixture
def cuts(tmp_path, monkeypatch):
    """A fresh cache folder, and the list of the cuts actually made."""
    monkeypatch.setenv("YAAN_SIM_CACHE", str(tmp_path / "cache"))
    made: list[frozenset] = []
    cut = report_font._cut_font

    def counted(path, unicodes):
        made.append(unicodes)
        return cut(path, unicodes)

    monkeypatch.setattr(report_font, "_cut_font", counted)
    return made


def _glyphs_for(data: bytes) -> set[int]:
    with TTFont(io.BytesIO(data)) as font:
        return set(font.getBestCmap())


def test_a_subset_is_cut_once_and_read_back_from_the_cache_folder(tmp_path, cuts):
    first = report_font.font_subset(CHARS)
    assert _glyphs_for(first) >= {ord("雅"), ord("园"), ord("E")}
    assert ord("京") not in _glyphs_for(first)
    (kept,) = (tmp_path / "cache" / "fonts").iterdir()
    assert kept.read_bytes() == first
    assert report_font.font_subset(CHARS) == first  # from the file: no second cut
    assert cuts == [CHARS]
    more = report_font.font_subset(CHARS | {ord("京")})
    assert ord("京") in _glyphs_for(more)
    assert len(cuts) == 2 and len(list((tmp_path / "cache" / "fonts").iterdir())) == 2


def test_a_damaged_kept_subset_is_cut_again_and_replaced(tmp_path, cuts):
    good = report_font.font_subset(CHARS)
    (kept,) = (tmp_path / "cache" / "fonts").iterdir()
    kept.write_bytes(b"half a fi")
    assert report_font.font_subset(CHARS) == good
    assert kept.read_bytes() == good and len(cuts) == 2


def test_a_cache_folder_that_cannot_be_written_still_gives_the_font(tmp_path, monkeypatch, cuts):
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    monkeypatch.setenv("YAAN_SIM_CACHE", str(blocker))  # fonts/ cannot be made under a file
    assert report_font.font_subset(CHARS)[:4] == b"OTTO"
    assert len(cuts) == 1


def test_the_rule_embeds_the_cut_font():
    css = report_font.embedded_font_css("雅安")
    assert css.startswith('@font-face{font-family:"YaanSim CJK";src:url(data:font/otf;base64,')


def test_the_same_characters_give_the_same_bytes_on_another_day(monkeypatch):
    """A report written again from the same results is the same file."""
    import time

    font = report_font._cut_font
    path = cjk_font_path()
    today = font(path, CHARS)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86400 * 3)
    assert font(path, CHARS) == today
