"""The HTML report: self-contained, escaped, with every chart and ring picture."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread
from test_report_data import XSS, make_run

from graphprofile.cli import main
from graphprofile.outputs import load_outputs
from graphprofile.pipeline import RunConfig, run_job
from graphprofile.sinks.report import build_report, top_rings, write_report_for
from graphprofile.sinks.report_charts import ring_kinds_figure
from graphprofile.sinks.report_views import cytoscape_js, layout

SVG = "{http://www.w3.org/2000/svg}"


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
    # inline only: cytoscape.js, the page script, its words (JSON, in the report's language),
    # one JSON block per interactive ring and per community view (2 rings, 2 communities)
    assert parser.external == [] and parser.scripts == 3 + 2 + 2
    assert 'cf.version="3.35.0"' in text or 'cf.version="3.35.0"' in text
    own = text.replace(cytoscape_js(), "")  # its licence comments name web sites
    assert "http://" not in own and "https://" not in own
    charts = {"chart-communities", "chart-pagerank", "chart-risk", "chart-ring-kinds"}
    assert set(parser.images) == charts | {"ring-img-1", "ring-img-2"}
    for ident in charts:
        img = parser.images[ident]
        assert img["src"].startswith("data:image/png;base64,")
        pixels = imread(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300, ident
        assert pixels.std() > 0.05, f"{ident} is blank"
        assert img["alt"]
    # ring pictures are SVG: R-0001 is 3 members, 4 accounts, device D1, identifier email:h1
    # and one flow A01 → A02; R-0002 three accounts paying round a cycle (+ their owners)
    for ident, nodes, flows, legend in (
        ("ring-img-1", 9, 1, "customer (3)"),
        ("ring-img-2", 6, 3, "account (3)"),
    ):
        img = parser.images[ident]
        assert img["src"].startswith("data:image/svg+xml;base64,") and img["alt"]
        svg = ET.fromstring(base64.b64decode(img["src"].split(",", 1)[1]))
        assert float(svg.get("width", 0)) > 300 and float(svg.get("height", 0)) > 200, ident
        group = {g.get("class"): g for g in svg.iter(f"{SVG}g")}
        assert len(group["nodes"]) == len(group["node-labels"]) == nodes, ident
        assert len(group["flows"].findall(f"{SVG}path")) == flows, ident
        assert len(group["flows"].findall(f"{SVG}text")) == flows, ident  # amount · dates
        texts = [t.text for t in group["legend"].iter(f"{SVG}text")]
        assert legend in texts and "money flow (amount · dates)" in texts, texts


def test_data_is_escaped(report: tuple[Path, str]) -> None:
    _, text = report
    assert XSS not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown, as text


def test_summary_quality_rings_influencers_and_churn(report: tuple[Path, str]) -> None:
    _, text = report
    plain = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", text, flags=re.S))
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
    summary = json.loads((out / "run.json").read_text())
    for name in ("features", "tags", "rings", "communities"):
        (out / f"{name}.parquet").unlink()
        del summary["outputs"][name]
    (out / "run.json").write_text(json.dumps(summary))
    text = build_report(load_outputs(out))
    assert "Not shown: community sizes (no communities in this run)" in text
    assert "No rings were found in this run." in text


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = make_run(tmp_path / "out")
    assert main(["report", str(out), "--top", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote {out / 'report.html'}"
    assert 'id="ring-img-1"' in (out / "report.html").read_text()
    assert 'id="ring-img-2"' not in (out / "report.html").read_text()
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"Error: output directory {tmp_path / 'missing'} does not exist")


def test_interactive_rings_members_and_high_risk_list(report: tuple[Path, str]) -> None:
    _, text = report
    blocks = re.findall(
        r'<script type="application/json" id="(cy-ring-\d)-data">(.*?)</script>', text
    )
    assert [b[0] for b in blocks] == ["cy-ring-1", "cy-ring-2"]
    ring1 = json.loads(blocks[0][1])
    kinds = sorted(n["data"]["kind"] for n in ring1["elements"]["nodes"])
    assert kinds == ["customer", "customer", "customer", "device", "identifier"]
    assert set(ring1["customers"]) == {"C01", "C02", "C03"}
    c02 = ring1["customers"]["C02"]
    assert c02["risk_score"] == "0.88" and c02["known_fraud"] is False
    assert any(t["tag"] == "ring_member" and "3 members share device D1" in t["reasons"]
               for t in c02["tags"])  # fmt: skip
    # the cycle A04 → A05 → A06 is a loop: accounts equidistant from the centre
    ring2 = json.loads(blocks[1][1])
    pos = [(n["position"]["x"], n["position"]["y"]) for n in ring2["elements"]["nodes"]]
    radii = {round(math.hypot(x, y)) for x, y in pos}
    assert len(pos) == 3 and len(radii) == 1
    transfer = [e["data"] for e in ring2["elements"]["edges"] if e["data"]["type"] == "TRANSFER"]
    assert len(transfer) == 3 and "2024-03-01" in transfer[0]["title"]
    plain = re.sub(r"<[^>]+>", " ", text)
    assert re.search(r"member\s+role\s+known fraud\s+risk", plain)
    assert re.search(r"C04\s+mule\s+no\s+0.8", plain)
    # every risk:high customer, riskiest first, sortable, with reasons in words
    table = text[text.index('id="high-risk-table"') :]
    table = table[: table.index("</table>")]
    order = re.findall(r"<tr><td>(C\d\d)</td>", table)
    assert order == ["C12", "C01", "C02", "C03", "C04", "C05", "C06"]
    assert 'class="sortable"' in text[text.index("High-risk customers") - 2000 :]
    assert "flagged as known fraud" in table and 'data-sort="0.97"' in table


def test_fan_and_scatter_gather_are_layers() -> None:
    g = nx.DiGraph()
    for acc in ("S1", "S2", "S3", "M1", "M2", "K"):
        g.add_node(f"account:{acc}", label="account", key=acc)
    for a, b in (("S1", "M1"), ("S1", "M2"), ("M1", "K"), ("M2", "K")):
        g.add_edge(f"account:{a}", f"account:{b}", type="TRANSFER", total_amount=1.0)
    reasons = [{"type": "scatter_gather_pattern", "source": "S1", "sink": "K"}]
    pos = layout("scatter_gather", reasons, g.subgraph(["account:S1", "account:M1",
                                                         "account:M2", "account:K"]))  # fmt: skip
    ys = {n.split(":")[1]: y for n, (_, y) in pos.items()}
    assert ys["S1"] < ys["M1"] == ys["M2"] < ys["K"]
    xs = sorted(x for x, _ in pos.values() if x is not None)
    assert len({(round(x), round(y)) for x, y in pos.values()}) == 4  # nothing on top of another
    fan = layout("fan_in", [{"type": "fan_in_pattern", "collector": "K"}], g)
    fy = {n.split(":")[1]: y for n, (_, y) in fan.items()}
    assert fy["K"] > fy["S1"] == fy["S2"] == fy["M1"]
    assert len(xs) == 4


def test_count_axes_have_whole_numbers() -> None:
    fig = ring_kinds_figure(pd.Series(["cycle", "cycle", "fan_in", "fan_in"]))
    FigureCanvasAgg(fig).draw()
    ticks = fig.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)


def test_report_run_time_equals_run_json(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    config = RunConfig(
        data_dir=root / "tests" / "data" / "foreign",
        out_dir=tmp_path / "out",
        mapping=root / "loaders" / "example_foreign.toml",
    )
    summary = run_job(config)
    plain = re.sub(r"<[^>]+>", " ", (tmp_path / "out" / "report.html").read_text())
    assert f"finished {summary['finished_at']}" in " ".join(plain.split())
    assert f"seconds {summary['seconds']:.3g}" in " ".join(plain.split())
    assert "report" in summary["stages"]


def test_interactive_community_view(report: tuple[Path, str]) -> None:
    _, text = report
    pattern = r'<script type="application/json" id="cy-community-1-data">(.*?)</script>'
    found = re.search(pattern, text)
    assert found
    view = json.loads(found.group(1))
    nodes = {n["data"]["customer"]: n["position"] for n in view["elements"]["nodes"]}
    assert set(nodes) == {"C01", "C02", "C03", "C04", "C05", "C06"}
    assert nodes["C01"] == {"x": 0.0, "y": 0.0}  # the most influential in the centre
    edges = {(e["data"]["source"], e["data"]["target"], e["data"]["type"])
             for e in view["elements"]["edges"]}  # fmt: skip
    assert ("customer:C01", "customer:C02", "USES_DEVICE") in edges  # D1
    assert ("customer:C02", "customer:C03", "HAS_IDENTIFIER") in edges  # email:h1
    assert ("customer:C01", "customer:C02", "TRANSFER") in edges  # A01 -> A02
    assert ("customer:C04", "customer:C05", "TRANSFER") in edges  # the cycle
    assert set(view["customers"]) == set(nodes)
