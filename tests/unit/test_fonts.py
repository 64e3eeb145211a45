"""The CJK font lookup for Chinese chart labels, and its English fallback."""

from __future__ import annotations

import matplotlib
import pytest

from graphprofile.sinks import fonts


def test_without_a_cjk_font_charts_fall_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    assert fonts.chart_language("zh") == "en"
    assert fonts.chart_language("en") == "en"
    before = list(matplotlib.rcParams["font.family"])
    with fonts.chart_fonts("zh"):
        assert list(matplotlib.rcParams["font.family"]) == before


def test_with_a_cjk_font_chinese_labels_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "cjk_family", lambda: "Some CJK Sans")
    assert fonts.chart_language("zh") == "zh"
    with fonts.chart_fonts("zh"):
        assert list(matplotlib.rcParams["font.family"]) == ["DejaVu Sans", "Some CJK Sans"]
    with fonts.chart_fonts("en"):  # English charts are drawn exactly as before
        assert "Some CJK Sans" not in matplotlib.rcParams["font.family"]


def test_install_hint_names_the_packages_and_the_variable() -> None:
    assert "fonts-noto-cjk" in fonts.INSTALL_HINT
    assert fonts.ENV_FONT in fonts.INSTALL_HINT
