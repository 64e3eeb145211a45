"""Charts for the report, as PNG bytes (matplotlib Agg, no pyplot state).

Figures are :class:`matplotlib.figure.Figure` objects rendered by the Agg canvas, so
nothing here depends on or changes the user's matplotlib backend.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from graphprofile.i18n import ENGLISH, Messages

ACCENT = "#3b5bdb"


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG bytes with the Agg canvas."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,…`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


#: Margins of every chart (fractions of the figure), room for tick labels, axis labels and
#: the title. Fixed rather than computed by matplotlib's constrained layout, which measured
#: every tick label of every axis twice per chart: 60 % of the charts' drawing time (#16).
MARGINS = {"left": 0.12, "right": 0.98, "bottom": 0.2, "top": 0.9}


def _figure(width: float = 6.0, height: float = 3.4) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**MARGINS)
    return fig, fig.add_subplot()


def _title(ax: Any, text: str) -> None:
    """The chart's title at the top of its axes.

    The position is given (``y=1.0``, where matplotlib puts it anyway: these charts have no
    top ticks and no offset text) so that drawing does not measure every tick label of both
    axes again to place it: half of a chart's drawing time at 100k customers (#16).
    """
    ax.set_title(text, y=1.0)


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
    _title(ax, say("chart.community_title", n=f"{len(data):,}"))
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
    _title(ax, say("chart.pagerank_title"))
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
    _title(ax, say("chart.risk_title"))
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
    _title(ax, say("chart.rings_title", n=f"{int(counts.sum()):,}"))
    ax.tick_params(axis="x", labelrotation=15)
    return fig
