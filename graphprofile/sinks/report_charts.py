"""Charts and ring pictures for the report, as PNG bytes (matplotlib Agg, no pyplot state).

Figures are :class:`matplotlib.figure.Figure` objects rendered by the Agg canvas, so
nothing here depends on or changes the user's matplotlib backend.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from graphprofile.i18n import ENGLISH, Messages
from graphprofile.sinks.report_data import fmt_value

ACCENT = "#3b5bdb"
NODE_STYLE = {  # label → (colour, marker, size)
    "customer": ("#e03131", "o", 520),
    "account": ("#2f9e44", "s", 260),
    "device": ("#1c7ed6", "D", 300),
    "identifier": ("#f08c00", "^", 320),
    "counterparty": ("#868e96", "h", 260),
}


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG bytes with the Agg canvas."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,…`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(width: float = 6.0, height: float = 3.4) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _finite(values: pd.Series) -> np.ndarray:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return arr[np.isfinite(arr)]


def _log_counts(ax: Any, n: int) -> None:
    """Log count axis once there are enough values for counts to span decades; otherwise a
    linear axis with whole-number ticks (counts are integers)."""
    if n > 200:
        ax.set_yscale("log")
    else:
        integer_counts(ax)


def integer_counts(ax: Any) -> None:
    """Whole-number ticks on the count (y) axis."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def community_sizes_chart(sizes: pd.Series, say: Messages = ENGLISH) -> bytes:
    """Histogram of community sizes (log-spaced bins, log count axis)."""
    fig, ax = _figure()
    data = _finite(sizes)
    data = data[data > 0]
    if len(data):
        top = max(float(data.max()), 2.0)
        bins = np.unique(np.geomspace(1, top + 1, num=min(30, int(top) + 1)).round())
        ax.hist(data, bins=bins, color=ACCENT, edgecolor="white")
        ax.set_xscale("log")
        _log_counts(ax, len(data))
    ax.set_xlabel(say("chart.community_x"))
    ax.set_ylabel(say("chart.community_y"))
    ax.set_title(say("chart.community_title", n=f"{len(data):,}"))
    return png_bytes(fig)


def pagerank_chart(pagerank: pd.Series, say: Messages = ENGLISH) -> bytes:
    """Distribution of customer PageRank (log-spaced bins)."""
    fig, ax = _figure()
    data = _finite(pagerank)
    data = data[data > 0]
    if len(data):
        low, high = float(data.min()), float(data.max())
        bins = np.geomspace(low, high * 1.0001, 40) if high > low else 10
        ax.hist(data, bins=bins, color="#7048e8", edgecolor="white")
        if high > low:
            ax.set_xscale("log")
        _log_counts(ax, len(data))
    ax.set_xlabel(say("chart.pagerank_x"))
    ax.set_ylabel(say("chart.customers"))
    ax.set_title(say("chart.pagerank_title"))
    return png_bytes(fig)


def risk_chart(risk: pd.Series, high: float | None = None, say: Messages = ENGLISH) -> bytes:
    """Histogram of customer risk scores in [0, 1], with the high-risk threshold."""
    fig, ax = _figure()
    data = _finite(risk)
    ax.hist(data, bins=np.linspace(0, 1, 21), color="#e8590c", edgecolor="white")
    _log_counts(ax, len(data))
    if high is not None:
        ax.axvline(
            high, color="#c92a2a", linestyle="--", label=say("chart.risk_line", value=f"{high:g}")
        )
        ax.legend(loc="upper right")
    ax.set_xlabel(say("chart.risk_x"))
    ax.set_ylabel(say("chart.customers"))
    ax.set_title(say("chart.risk_title"))
    return png_bytes(fig)


def ring_kinds_chart(kinds: pd.Series, say: Messages = ENGLISH) -> bytes:
    """Bar chart of rings per kind."""
    return png_bytes(ring_kinds_figure(kinds, say))


def ring_kinds_figure(kinds: pd.Series, say: Messages = ENGLISH) -> Figure:
    """The figure of :func:`ring_kinds_chart` (whole-number count axis)."""
    fig, ax = _figure()
    counts = kinds.astype("string").fillna("unknown").value_counts().sort_index()
    names = [k if say.is_default else say.get(f"ring_kind.{k}", k) for k in counts.index]
    ax.bar(names, counts.to_numpy(), color="#c92a2a")
    for i, n in enumerate(counts.to_numpy()):
        ax.annotate(f"{int(n):,}", (i, n), ha="center", va="bottom", fontsize=9)
    integer_counts(ax)
    ax.set_ylabel(say("chart.rings_y"))
    ax.set_title(say("chart.rings_title", n=f"{int(counts.sum()):,}"))
    ax.tick_params(axis="x", labelrotation=15)
    return fig


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


def ring_picture(
    graph: nx.DiGraph, *, title: str, seed: int = 42, say: Messages = ENGLISH
) -> bytes:
    """A drawing of a ring subgraph: members, accounts, shared devices/identifiers, flows.

    Parameters
    ----------
    graph : networkx.DiGraph
        From :func:`graphprofile.sinks.report_graph.ring_subgraph`.
    title : str
        Shown above the picture.
    seed : int, default 42
        Seed of the spring layout (same ring, same picture).
    say : Messages, default English
        Language of the legend (draw under :func:`graphprofile.sinks.fonts.chart_fonts`).
    """
    n = graph.number_of_nodes()
    side = float(min(11.0, 6.0 + 0.12 * n))
    fig, ax = _figure(side + 2.0, side * 0.75)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    if n == 0:
        return png_bytes(fig)
    layout_graph = graph.to_undirected(as_view=True)
    pos = nx.spring_layout(layout_graph, seed=seed, k=1.6 / max(np.sqrt(n), 1.0))
    by_type: dict[str, list[tuple[str, str]]] = {}
    for u, v, data in graph.edges(data=True):
        by_type.setdefault(data.get("type", ""), []).append((u, v))
    for rel, style, color in (
        ("OWNS", "solid", "#adb5bd"),
        ("USES_DEVICE", "dashed", "#1c7ed6"),
        ("HAS_IDENTIFIER", "dashed", "#f08c00"),
        ("PAYS", "dotted", "#868e96"),
    ):
        if by_type.get(rel):
            nx.draw_networkx_edges(
                graph, pos, edgelist=by_type[rel], ax=ax, style=style, edge_color=color,
                arrows=False, width=1.2,
            )  # fmt: skip
    flows = by_type.get("TRANSFER", [])
    if flows:
        nx.draw_networkx_edges(
            graph, pos, edgelist=flows, ax=ax, edge_color="#c92a2a", width=2.0, arrows=True,
            arrowsize=16, connectionstyle="arc3,rad=0.12", node_size=500,
        )  # fmt: skip
        labels = {(u, v): flow_label(graph.edges[u, v]) for u, v in flows[:40]}
        nx.draw_networkx_edge_labels(
            graph, pos, edge_labels=labels, ax=ax, font_size=7, font_color="#862e9c",
            connectionstyle="arc3,rad=0.12", bbox={"alpha": 0.7, "color": "white", "lw": 0},
        )  # fmt: skip
    handles = []
    for label, (color, marker, size) in NODE_STYLE.items():
        nodes = [v for v, d in graph.nodes(data=True) if d.get("label") == label]
        if not nodes:
            continue
        nx.draw_networkx_nodes(
            graph, pos, nodelist=nodes, ax=ax, node_color=color, node_shape=marker,
            node_size=size, edgecolors="white", linewidths=1.0,
        )  # fmt: skip
        handles.append(
            Line2D([], [], color=color, marker=marker, linestyle="", markersize=8,
                   label=say("chart.legend_node", label=say.get(f"node_label.{label}", label),
                             n=len(nodes)))
        )  # fmt: skip
    nx.draw_networkx_labels(
        graph, pos, labels={v: _node_text(graph, v) for v in graph}, ax=ax, font_size=7,
        verticalalignment="top",
    )  # fmt: skip
    if flows:
        handles.append(Line2D([], [], color="#c92a2a", lw=2, label=say("chart.legend_flow")))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.margins(0.08)
    return png_bytes(fig)
