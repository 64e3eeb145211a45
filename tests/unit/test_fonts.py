"""The CJK font lookup for Chinese chart labels, and its English fallback."""

from __future__ import annotations

import warnings
from pathlib import Path

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


def test_report_without_a_cjk_font_has_english_chart_labels_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_report_data import make_run

    from graphprofile.outputs import load_outputs
    from graphprofile.sinks.report import build_report

    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    out = load_outputs(make_run(tmp_path / "out"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Chinese label in DejaVu Sans would warn
        text = build_report(out, lang="zh")
    assert "<h2>图表</h2>" in text  # the page itself is Chinese
    assert "apt-get install fonts-noto-cjk" in text and fonts.ENV_FONT in text
    english = build_report(out)
    assert "apt-get install fonts-noto-cjk" not in english
