"""The HTML report: self-contained, escaped, with every chart and ring picture."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.image import imread
from test_report_data import XSS, make_run

from graphprofile.cli import main
from graphprofile.pipeline import EXTRA_STAGES
from graphprofile.sinks.report import build_report, top_rings, write_report_for
from graphprofile.sinks.report_data import load_outputs


class Images(HTMLParser):
    """Collects every <img> and every external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, dict[str, str]] = {}
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images[a["id"]] = a
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if key in a and not a[key].startswith(("data:", "#")):
                self.external.append(a[key])


@pytest.fixture
def report(tmp_path: Path) -> tuple[Path, str]:
    out = make_run(tmp_path / "out")
    path = write_report_for(out, top_rings=10)
    return path, path.read_text(encoding="utf-8")


def test_report_is_self_contained_with_every_picture(report: tuple[Path, str]) -> None:
    path, text = report
    assert path.name == "report.html"
    parser = Images()
    parser.feed(text)
    assert parser.external == [] and parser.scripts == 0
    assert "http://" not in text and "https://" not in text
    charts = {"chart-communities", "chart-pagerank", "chart-risk", "chart-ring-kinds"}
    assert set(parser.images) == charts | {"ring-img-1", "ring-img-2"}
    for ident, img in parser.images.items():
        assert img["src"].startswith("data:image/png;base64,")
        pixels = imread(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300, ident
        assert pixels.std() > 0.05, f"{ident} is blank"
        assert img["alt"]


def test_data_is_escaped(report: tuple[Path, str]) -> None:
    _, text = report
    assert XSS not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown, as text


def test_summary_quality_rings_influencers_and_churn(report: tuple[Path, str]) -> None:
    _, text = report
    plain = re.sub(r"<[^>]+>", " ", text)
    assert "20240501T120000Z-abc123" in plain
    # per-table reconciliation from run.json
    assert re.search(r"transactions\s+20\s+17\s+3\s+1", plain)
    assert re.search(r"all tables\s+33\s+29\s+4", plain)
    # rings riskiest first, with reasons in words and members
    assert plain.index("Ring R-0001") < plain.index("Ring R-0002")
    assert "3 members share device D1" in plain
    assert "money cycle A04 → A05 → A06 → A04: amounts 10,000.00 → 9,800.00 → 9,604.00" in plain
    assert (
        "6 nodes: members, their accounts, 0 shared devices/identifiers and 3 money flows" in plain
    )
    # R-0001: 3 members, 4 accounts (C01 has two), device D1 and email:h1 shared; A01 → A02
    assert (
        "9 nodes: members, their accounts, 2 shared devices/identifiers and 1 money flows" in plain
    )
    # influencers: C01 leads community 1, C12 community 2
    block = plain[plain.index("Top influencers per community") :]
    assert block.index("C01") < block.index("C02") < block.index("Community 2")
    assert block.index("Community 2") < block.index("C12") < block.index("C07")
    assert "Churn since the previous run" in plain and re.search(
        r"communities\s+1\s+0\s+0\s+2", plain
    )


def test_top_rings_orders_by_risk_then_size(tmp_path: Path) -> None:
    out = load_outputs(make_run(tmp_path / "out"))
    assert top_rings(out.rings, 1)["ring_id"].tolist() == ["R-0001"]
    assert top_rings(None, 3).empty


def test_report_without_analysis_says_what_is_missing(tmp_path: Path) -> None:
    out = make_run(tmp_path / "out")
    for name in ("features", "tags", "rings", "communities"):
        (out / f"{name}.parquet").unlink()
    text = build_report(load_outputs(out))
    assert "Not shown: community sizes (no communities in this run)" in text
    assert "No rings were found in this run." in text


def test_report_is_registered_as_a_pipeline_stage() -> None:
    assert [name for name, _ in EXTRA_STAGES].count("report") == 1


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = make_run(tmp_path / "out")
    assert main(["report", str(out), "--top", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote {out / 'report.html'}"
    assert 'id="ring-img-1"' in (out / "report.html").read_text()
    assert 'id="ring-img-2"' not in (out / "report.html").read_text()
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"Error: output directory {tmp_path / 'missing'} does not exist")
