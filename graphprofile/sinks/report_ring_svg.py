"""The static picture of a ring for the report, written as SVG text (no plotting library).

The picture shows everything in the ring's subgraph (members, their accounts, the devices and
identifiers they share, counterparties) placed by a seeded spring layout (same ring, same
picture), with each kind of node in its own colour and shape, ownership and shared
devices/identifiers as thin lines, money flows as curved red arrows labelled with amount and
dates, a label under every node and a legend. It is the print twin of the ring's interactive
view (``print-only`` in the page) and is vector art, so it prints sharp at any size.

Written directly as SVG: drawing the same picture with matplotlib took about a quarter of a
second per ring (text layout and PNG encoding), the largest cost of the report (#16).
Every text is XML-escaped. Text is drawn by the viewer's fonts, so a Chinese legend needs a
font with CJK glyphs on the machine that shows or prints the page (the report falls back to
English labels when none is found on the machine that writes it,
:func:`graphprofile.sinks.fonts.chart_language`).
"""

from __future__ import annotations

import base64
import math
from html import escape
from typing import Any

import networkx as nx
import numpy as np

from graphprofile.i18n import ENGLISH, Messages
from graphprofile.sinks.report_data import fmt_value

#: Pixels per inch and per typographic point of the picture's size.
DPI = 100
PT = DPI / 72.0
NODE_STYLE = {  # label → (colour, shape, size: marker area in points², as matplotlib's)
    "customer": ("#e03131", "circle", 520),
    "account": ("#2f9e44", "square", 260),
    "device": ("#1c7ed6", "diamond", 300),
    "identifier": ("#f08c00", "triangle", 320),
    "counterparty": ("#868e96", "hexagon", 260),
}
#: Relationship → (dash pattern in pixels, colour) of the thin lines.
LINE_STYLE = {
    "OWNS": ("", "#adb5bd"),
    "USES_DEVICE": ("6.2 2.7", "#1c7ed6"),
    "HAS_IDENTIFIER": ("6.2 2.7", "#f08c00"),
    "PAYS": ("1.7 2.8", "#868e96"),
}
FLOW_COLOUR = "#c92a2a"
LABEL_COLOUR = "#862e9c"
#: Bend of a money flow's curve (as matplotlib's ``arc3,rad=0.12``): A→B and B→A part.
BEND = 0.12
#: Flows labelled with amount and dates (the rest are drawn without a label).
MAX_FLOW_LABELS = 40
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"


def svg_data_uri(svg: str) -> str:
    """A ``data:image/svg+xml;base64,…`` URI for an ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _short(text: str, n: int = 14) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _node_text(graph: nx.DiGraph, node: str) -> str:
    data = graph.nodes[node]
    if data["label"] == "identifier":
        return _short(str(data.get("kind", "id")), 10)
    return _short(str(data.get("key", node.split(":", 1)[-1])))


def flow_label(data: dict[str, Any]) -> str:
    """Amount and dates of an aggregated money flow, e.g. ``3× 12,000.00 · 03-01→03-09``."""
    amount = fmt_value(float(data.get("total_amount", 0.0)))
    n = int(data.get("n_txns", 1) or 1)
    first, last = str(data.get("first_ts", ""))[:10], str(data.get("last_ts", ""))[:10]
    when = first if first == last or not last else f"{first}→{last[5:]}"
    return f"{n}× {amount} · {when}" if n > 1 else f"{amount} · {when}"


def _text_width(text: str, size: float) -> float:
    """Rough width of ``text`` in pixels at font ``size`` (wide glyphs count double)."""
    return sum(size * (1.0 if ord(c) > 0x2E7F else 0.62) for c in text)


def _num(x: float) -> str:
    return f"{x:.1f}"


def marker(shape: str, x: float, y: float, area: float, colour: str, edge: str = "white") -> str:
    """One node marker centred at ``(x, y)``, of about ``area`` points² (matplotlib's sizes)."""
    r = math.sqrt(area) * PT / 2.0  # half the side of the marker's box
    paint = f'fill="{colour}" stroke="{edge}" stroke-width="{_num(PT)}"'
    if shape == "circle":
        return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" {paint}/>'
    if shape == "square":
        s = r * 0.9
        return (
            f'<rect x="{_num(x - s)}" y="{_num(y - s)}" width="{_num(2 * s)}" '
            f'height="{_num(2 * s)}" {paint}/>'
        )
    if shape == "diamond":
        points = [(x, y - r), (x + r * 0.8, y), (x, y + r), (x - r * 0.8, y)]
    elif shape == "triangle":
        points = [(x, y - r), (x + r * 0.95, y + r * 0.7), (x - r * 0.95, y + r * 0.7)]
    else:  # hexagon
        points = [
            (x + r * math.cos(a), y + r * math.sin(a))
            for a in (math.pi / 6 + k * math.pi / 3 for k in range(6))
        ]
    coords = " ".join(f"{_num(px)},{_num(py)}" for px, py in points)
    return f'<polygon points="{coords}" {paint}/>'


def _text(x: float, y: float, text: str, size: float, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}"{extra}>'
        f"{escape(text, quote=False)}</text>"
    )


def _shorten(p: np.ndarray, towards: np.ndarray, by: float) -> np.ndarray:
    d = towards - p
    norm = float(np.hypot(*d))
    return p if norm <= by * 1.5 else p + d * (by / norm)


def ring_picture(graph: nx.DiGraph, *, title: str, seed: int = 42, say: Messages = ENGLISH) -> str:
    """A drawing of a ring subgraph as SVG text: members, accounts, shared items, flows.

    Parameters
    ----------
    graph : networkx.DiGraph
        From :func:`graphprofile.sinks.report_graph.ring_subgraph`.
    title : str
        Shown above the picture.
    seed : int, default 42
        Seed of the spring layout (same ring, same picture).
    say : Messages, default English
        Language of the legend.

    Returns
    -------
    str
        A complete SVG document with its size in pixels (``width``, ``height``); groups
        ``links`` (ownership, shared devices/identifiers, payments to counterparties),
        ``flows`` (money flows and their labels), ``nodes`` (one marker per node),
        ``node-labels`` and ``legend``.
    """
    n = graph.number_of_nodes()
    side = float(min(11.0, 6.0 + 0.12 * n))
    legend: list[tuple[str, str, str]] = []  # (colour, shape or "line", text)
    counts = {label: 0 for label in NODE_STYLE}
    for _, d in graph.nodes(data=True):
        if d.get("label") in counts:
            counts[d["label"]] += 1
    for label, (colour, shape, _) in NODE_STYLE.items():
        if counts[label]:
            word = say.get(f"node_label.{label}", label)
            legend.append((colour, shape, say("chart.legend_node", label=word, n=counts[label])))
    flows = [(u, v) for u, v, d in graph.edges(data=True) if d.get("type") == "TRANSFER"]
    if flows:
        legend.append((FLOW_COLOUR, "line", say("chart.legend_flow")))
    legend_size = 8 * PT
    legend_w = (
        max((_text_width(t, legend_size) for *_, t in legend), default=0.0) + 60.0
        if legend
        else 0.0
    )
    plot_w, height = side * DPI, side * 0.75 * DPI
    width = plot_w + legend_w
    title_h = 11 * PT * 2.2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        _text(plot_w / 2, 11 * PT * 1.4, title, 11 * PT, text_anchor="middle", fill="#212529"),
    ]
    if n == 0:
        return "".join(parts) + "</svg>"
    k = 1.6 / max(np.sqrt(n), 1.0)
    raw = nx.spring_layout(graph.to_undirected(as_view=True), seed=seed, k=k)
    nodes = list(graph.nodes)
    xy = np.array([raw[v] for v in nodes], dtype=float).reshape(-1, 2)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, span = lo - 0.08 * span, span * 1.16  # margins as matplotlib's ax.margins(0.08)
    left, right, top, bottom = 12.0, plot_w - 12.0, title_h, height - 12.0
    px = left + (xy[:, 0] - lo[0]) / span[0] * (right - left)
    py = bottom - (xy[:, 1] - lo[1]) / span[1] * (bottom - top)
    pos = {v: np.array([px[i], py[i]]) for i, v in enumerate(nodes)}
    parts.append(
        f'<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="14" '
        f'markerHeight="14" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{FLOW_COLOUR}"/></marker></defs>'
    )
    parts.append('<g class="links">')
    for rel, (dash, colour) in LINE_STYLE.items():  # thin lines first, under the flows
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        for u, v, d in graph.edges(data=True):
            if d.get("type") == rel:
                (x1, y1), (x2, y2) = pos[u], pos[v]
                parts.append(
                    f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
                    f'stroke="{colour}" stroke-width="{_num(1.2 * PT)}"{dashes}/>'
                )
    shrink = math.sqrt(500) * PT / 2.0  # arrows end at the node's edge
    parts.append('</g><g class="flows">')
    labels = []
    for i, (u, v) in enumerate(flows):
        a, b = pos[u], pos[v]
        mid, (dx, dy) = (a + b) / 2.0, b - a
        c = mid + BEND * np.array([-dy, dx])  # the control point, left of A→B
        a2, b2 = _shorten(a, c, shrink), _shorten(b, c, shrink)
        parts.append(
            f'<path d="M{_num(a2[0])},{_num(a2[1])} Q{_num(c[0])},{_num(c[1])} '
            f'{_num(b2[0])},{_num(b2[1])}" fill="none" stroke="{FLOW_COLOUR}" '
            f'stroke-width="{_num(2.0 * PT)}" marker-end="url(#arrow)"/>'
        )
        if i < MAX_FLOW_LABELS:
            at = 0.25 * a + 0.5 * c + 0.25 * b  # the curve's middle
            angle = math.degrees(math.atan2(dy, dx))
            if angle > 90 or angle <= -90:  # keep the text upright
                angle -= 180 if angle > 0 else -180
            labels.append(
                _text(at[0], at[1], flow_label(graph.edges[u, v]), 7 * PT, text_anchor="middle",
                      dominant_baseline="central", fill=LABEL_COLOUR, stroke="white",
                      stroke_width="3", stroke_opacity="0.7", stroke_linejoin="round",
                      paint_order="stroke",
                      transform=f"rotate({angle:.1f} {at[0]:.1f} {at[1]:.1f})")
            )  # fmt: skip
    parts += labels
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for label, (colour, shape, area) in NODE_STYLE.items():
        for v in nodes:
            if graph.nodes[v].get("label") == label:
                parts.append(marker(shape, pos[v][0], pos[v][1], area, colour))
    parts.append('</g><g class="node-labels">')
    for v in nodes:
        parts.append(
            _text(pos[v][0], pos[v][1] + 1.0, _node_text(graph, v), 7 * PT, text_anchor="middle",
                  dominant_baseline="hanging", fill="black")
        )  # fmt: skip
    parts.append("</g>")
    if legend:
        x0, y0, row = plot_w + 8.0, title_h, legend_size * 1.8
        box_h = row * len(legend) + 10.0
        parts.append(
            f'<g class="legend"><rect x="{_num(x0)}" y="{_num(y0)}" '
            f'width="{_num(legend_w - 16.0)}" height="{_num(box_h)}" fill="white" '
            'stroke="#ced4da" rx="3"/>'
        )
        for i, (colour, shape, text) in enumerate(legend):
            cy = y0 + 5.0 + row * (i + 0.5)
            if shape == "line":
                parts.append(
                    f'<line x1="{_num(x0 + 8)}" y1="{_num(cy)}" x2="{_num(x0 + 30)}" '
                    f'y2="{_num(cy)}" stroke="{colour}" stroke-width="{_num(2 * PT)}"/>'
                )
            else:
                parts.append(marker(shape, x0 + 19.0, cy, 64.0, colour, edge=colour))
            parts.append(
                _text(x0 + 38.0, cy, text, legend_size, dominant_baseline="central", fill="black")
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["NODE_STYLE", "flow_label", "marker", "ring_picture", "svg_data_uri"]
