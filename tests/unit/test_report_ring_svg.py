"""The ring picture written as SVG: what it draws, escaping, same ring same picture."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import networkx as nx

from graphprofile.i18n import Messages
from graphprofile.sinks.report_ring_svg import flow_label, ring_picture, svg_data_uri

SVG = "{http://www.w3.org/2000/svg}"
XSS = "<img src=x onerror=alert(1)>"


def _ring() -> nx.DiGraph:
    g = nx.DiGraph()
    for c in ("C1", "C2"):
        g.add_node(f"customer:{c}", label="customer", key=c)
    g.add_node(f"customer:{XSS}", label="customer", key=XSS)
    for a, c in (("A1", "C1"), ("A2", "C2")):
        g.add_node(f"account:{a}", label="account", key=a)
        g.add_edge(f"customer:{c}", f"account:{a}", type="OWNS")
    g.add_node("device:D1", label="device", key="D1")
    g.add_node("identifier:email:h", label="identifier", key="email:h", kind="email")
    for c in ("C1", "C2"):
        g.add_edge(f"customer:{c}", "device:D1", type="USES_DEVICE")
        g.add_edge(f"customer:{c}", "identifier:email:h", type="HAS_IDENTIFIER")
    g.add_edge("account:A1", "account:A2", type="TRANSFER", n_txns=2, total_amount=1500.0,
               first_ts="2024-02-01T10:00", last_ts="2024-02-09T11:00")  # fmt: skip
    g.add_edge("account:A2", "account:A1", type="TRANSFER", n_txns=1, total_amount=700.0,
               first_ts="2024-02-10T10:00", last_ts="2024-02-10T10:00")  # fmt: skip
    return g


def _groups(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("class", ""): g for g in svg.iter(f"{SVG}g")}


def test_every_node_flow_and_legend_entry_is_drawn() -> None:
    svg = ET.fromstring(ring_picture(_ring(), title="Ring R1 (identity)"))
    assert float(svg.get("width", 0)) > 600 and float(svg.get("height", 0)) > 400
    g = _groups(svg)
    shapes = [e.tag.removeprefix(SVG) for e in g["nodes"]]
    assert sorted(shapes) == ["circle"] * 3 + ["polygon"] * 2 + ["rect"] * 2
    labels = sorted(t.text or "" for t in g["node-labels"])
    assert labels == sorted(["C1", "C2", "<img src=x on…", "A1", "A2", "D1", "email"])
    assert len(g["links"]) == 2 + 2 + 2  # OWNS, USES_DEVICE, HAS_IDENTIFIER
    flows = g["flows"]
    assert len(flows.findall(f"{SVG}path")) == 2
    texts = sorted(t.text or "" for t in flows.findall(f"{SVG}text"))
    assert texts == ["2× 1,500.00 · 2024-02-01→02-09", "700.00 · 2024-02-10"]
    legend = [t.text for t in g["legend"].iter(f"{SVG}text")]
    assert legend == [
        "customer (3)",
        "account (2)",
        "device (1)",
        "identifier (1)",
        "money flow (amount · dates)",
    ]
    title = svg.find(f"{SVG}text")
    assert title is not None and title.text == "Ring R1 (identity)"


def test_opposite_flows_bend_apart_and_stay_on_the_picture() -> None:
    svg = ET.fromstring(ring_picture(_ring(), title="R"))
    width, height = float(svg.get("width", 0)), float(svg.get("height", 0))
    controls = []
    for path in _groups(svg)["flows"].findall(f"{SVG}path"):
        d = path.get("d", "")
        assert d.startswith("M") and " Q" in d
        numbers = [float(x) for x in d[1:].replace("Q", " ").replace(",", " ").split()]
        assert all(0 <= x <= width for x in numbers[::2])
        assert all(0 <= y <= height for y in numbers[1::2])
        controls.append((numbers[2], numbers[3]))
    assert controls[0] != controls[1]  # A1→A2 and A2→A1 do not overlap


def test_text_is_escaped_and_the_picture_is_the_same_every_time() -> None:
    text = ring_picture(_ring(), title=f"Ring {XSS}")
    assert XSS not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert text == ring_picture(_ring(), title=f"Ring {XSS}")
    other = ring_picture(_ring(), title=f"Ring {XSS}", seed=7)
    assert other != text  # the seed is the layout's
    uri = svg_data_uri(text)
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == text


def test_legend_in_chinese_and_an_empty_ring() -> None:
    svg = ET.fromstring(ring_picture(_ring(), title="团伙", say=Messages("zh")))
    legend = [t.text or "" for t in _groups(svg)["legend"].iter(f"{SVG}text")]
    assert legend[0].endswith("（3）") and legend[-1].startswith("资金流")
    empty = ET.fromstring(ring_picture(nx.DiGraph(), title="none"))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["none"]


def test_flow_label() -> None:
    assert flow_label({"total_amount": 5.0, "first_ts": "2024-01-02"}) == "5 · 2024-01-02"
