"""The report in Chinese (``--lang zh``) in headless Chromium: Chinese headings, reasons,
chart labels and details panel, no missing glyphs, a screenshot.

Missing glyphs are checked twice: matplotlib warns for every glyph its fonts lack (and
warnings are errors here), and fontconfig (which Chromium uses) must list a font that
covers every Chinese character on the page. The screenshot is kept in
``GRAPHPROFILE_SCREENSHOT_DIR`` (as ``report-zh.png``) when that is set.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from conftest import missing
from matplotlib.image import imread
from test_report_browser import CLICK, RINGS_FIRST, console_messages, run_chromium

from graphprofile.cli.investigate import render_explanation
from graphprofile.explain import explain
from graphprofile.i18n import ENGLISH, Messages
from graphprofile.pipeline import RunConfig, run_job
from graphprofile.sinks import fonts
from graphprofile.sinks.report_charts import risk_chart
from graphprofile.sinks.report_views import cytoscape_js

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def cjk() -> str:
    family = fonts.cjk_family()
    if family is None:
        missing("no font with Chinese glyphs (apt-get install fonts-wqy-microhei)")
    assert family is not None
    return family


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, cjk: str) -> Path:
    out = tmp_path_factory.mktemp("cn_report")
    config = RunConfig(
        data_dir=ROOT / "tests" / "data" / "cn_bank",
        out_dir=out,
        mapping=ROOT / "loaders" / "example_cn_bank.toml",
        lang="zh",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib: "Glyph … missing from font(s)"
        run_job(config)
    return out


def test_headings_reasons_and_notes_are_chinese(out: Path) -> None:
    text = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert headings[:2] == ["运行摘要", "数据质量"] and "风险最高的团伙" in headings
    assert all(HAN.search(h) for h in headings), headings
    assert "3 名成员共用设备 DEV-7777" in text  # the identity ring's reason
    assert "资金闭环 6222020000000001 → 6222020000000002" in text  # the cycle's reason
    assert "对账合并" in text  # the merged statement lines column
    assert "Top rings" not in text and "Why it was flagged" not in text


def test_chart_labels_are_chinese_without_missing_glyphs(cjk: str) -> None:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fonts.chart_fonts("zh"):
            png = risk_chart(pd.Series([0.1, 0.5, 0.9]), 0.7, say=Messages("zh"))
        assert png[:4] == b"\x89PNG"
        # the check can fail: the same Chinese labels without the CJK font warn
        with pytest.raises(UserWarning, match="missing from font"):
            risk_chart(pd.Series([0.1, 0.5, 0.9]), 0.7, say=Messages("zh"))


def _fontconfig_covers(chars: set[str]) -> bool:
    charset = " ".join(f"{ord(c):x}" for c in sorted(chars))
    listed = subprocess.run(
        ["fc-list", f":charset={charset}", "family"], capture_output=True, text=True, timeout=60
    )
    return bool(listed.stdout.strip())


def test_every_chinese_character_has_a_font(out: Path, cjk: str) -> None:
    if shutil.which("fc-list") is None:
        missing("fc-list (fontconfig) not found: cannot check glyph coverage")
    raw = (out / "report.html").read_text(encoding="utf-8")
    page = raw.replace(cytoscape_js(), "")  # the library's own code, never shown
    text = html.unescape(page)
    chars = set(HAN.findall(text))
    assert len(chars) > 100
    assert _fontconfig_covers(chars)
    assert not _fontconfig_covers(chars | {"\U0010fffd"})  # the check can fail
    # no control character (drawn as a box) anywhere, CSS included; other symbols
    # (arrows, dashes, the sort marker written as a CSS escape) have a font too
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page)
    escapes = {chr(int(h, 16)) for h in re.findall(r'content: "[^"]*\\([0-9a-fA-F]{4})', page)}
    symbols = {c for c in text if ord(c) > 127 and not HAN.match(c)} | escapes
    symbols -= {"\u3000", "\ufeff"}
    assert "\u2195" in symbols
    for symbol in sorted(symbols):
        assert _fontconfig_covers({symbol}), f"no font has {symbol!r} (U+{ord(symbol):04X})"


def test_chinese_report_in_chromium(chromium: str, out: Path, tmp_path: Path) -> None:
    report = out / "report.html"
    text = report.read_text(encoding="utf-8")
    page = tmp_path / "click.html"
    page.write_text(text.replace("</body>", CLICK + "</body>", 1), encoding="utf-8")
    done = run_chromium(
        chromium,
        tmp_path / "profile-click",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    )
    assert console_messages(done.stderr) == []
    found = re.search(r'<pre id="__click">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["details"].startswith(f"客户 {result['customer']}"), result
    assert "已知欺诈：" in result["details"]
    shot = tmp_path / "report-zh.png"
    shown = tmp_path / "rings-first.html"
    shown.write_text(text.replace("</head>", RINGS_FIRST + "</head>", 1), encoding="utf-8")
    done = run_chromium(
        chromium,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
        shown.as_uri(),
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280) and pixels.std() > 0.05
    keep = os.environ.get("GRAPHPROFILE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-zh.png")


def test_explain_in_chinese(out: Path) -> None:
    from rich.console import Console

    doc = explain(out, "C007", lang="zh")
    ring = doc["rings"][0]
    assert ring["reasons"][0]["type"] == "identity"  # the data stays as stored
    assert "3 名成员共用设备 DEV-7777" in ring["reasons_in_words"]
    console = Console(record=True, width=120)
    render_explanation(doc, Messages("zh"), console)
    shown = console.export_text()
    for words in ("客户 C007", "团伙 R000000（身份关联", "标签及其原因", "高风险 (risk:high)"):
        assert words in shown, words
    english = Console(record=True, width=120)
    render_explanation(explain(out, "C007"), ENGLISH, english)
    assert not HAN.search(english.export_text())
