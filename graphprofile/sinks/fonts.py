"""A font with Chinese glyphs for the report's charts (matplotlib), found on the system.

matplotlib's default font (DejaVu Sans) has no CJK glyphs: Chinese chart labels would be
drawn as boxes. :func:`cjk_family` finds a CJK font: the file named by
``GRAPHPROFILE_CJK_FONT``, else a known family matplotlib already lists, else a known font
file in the usual font folders (matplotlib's font cache does not see fonts installed after
it was built, so files are registered directly). ``scripts/test.sh`` installs Debian's
``fonts-wqy-microhei``; ``fonts-noto-cjk`` works as well.

Without any CJK font, :func:`chart_language` falls back to English chart labels (and the
report says how to install a font: ``report.charts.no_cjk_font``), so a chart never shows
missing-glyph boxes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from matplotlib import font_manager, rc_context

ENV_FONT = "GRAPHPROFILE_CJK_FONT"
#: Families with CJK glyphs, in order of preference.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "SimHei",
    "Droid Sans Fallback",
)
#: Font file name fragments (lower case) of those families.
FILE_HINTS = (
    "notosanscjk",
    "notosanssc",
    "sourcehansans",
    "wqy-microhei",
    "wqy-zenhei",
    "msyh",
    "pingfang",
    "hiragino sans gb",
    "simhei",
    "droidsansfallback",
)
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)


def _register(path: Path) -> str | None:
    try:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    except (OSError, RuntimeError, ValueError):
        return None


@cache
def cjk_family() -> str | None:
    """The name of a font family with CJK glyphs that matplotlib can draw, or ``None``."""
    env = os.environ.get(ENV_FONT)
    if env and Path(env).is_file():
        name = _register(Path(env))
        if name:
            return name
    listed = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in listed:
            return family
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            low = path.name.lower()
            if path.suffix.lower() in {".ttf", ".otf", ".ttc"} and any(
                h in low for h in FILE_HINTS
            ):
                name = _register(path)
                if name:
                    return name
    return None


def chart_language(lang: str) -> str:
    """The language chart labels can be drawn in: ``lang``, or English without a CJK font."""
    if lang == "zh" and cjk_family() is None:
        return "en"
    return lang


@contextlib.contextmanager
def chart_fonts(lang: str) -> Iterator[None]:
    """matplotlib settings under which ``lang``'s chart labels draw without missing glyphs.

    For Chinese: DejaVu Sans first (Latin letters and digits as in English charts), then the
    CJK family for every glyph DejaVu lacks (matplotlib's per-glyph font fallback).
    """
    family = cjk_family() if lang == "zh" else None
    if family is None:
        yield
        return
    with rc_context({"font.family": ["DejaVu Sans", family], "axes.unicode_minus": False}):
        yield


__all__ = ["ENV_FONT", "chart_fonts", "chart_language", "cjk_family"]
