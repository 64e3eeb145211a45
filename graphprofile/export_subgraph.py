"""Hand-off to other graph tools: a ring, community or neighbourhood as GraphML or GEXF.

The subgraph comes from a run's ``graph/`` snapshot with the run's results as attributes
(see :mod:`graphprofile.sinks.report_graph`) and is written with networkx's writers, for
Gephi, Cytoscape or yEd users. Attributes never hold null values (GraphML cannot store
them); lists are JSON text; timestamps are ISO 8601 text. Each node's ``label`` is its
id (what Gephi displays) and ``node_type`` is ``customer``, ``account``, ``device``,
``identifier`` or ``counterparty``; each edge's ``rel_type`` is its relationship type
(``OWNS``, ``TRANSFER`` …; GEXF reserves ``type``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from graphprofile.errors import ConfigError
from graphprofile.outputs import atomic_write, load_outputs
from graphprofile.sinks.report_graph import community_subgraph, customer_subgraph, ring_subgraph

FORMATS = ("graphml", "gexf")


def _select(
    out_dir: Path, ring: str | None, community: str | None, customer: str | None, hops: int
) -> nx.DiGraph:
    chosen = [
        name
        for name, v in (("--ring", ring), ("--community", community), ("--customer", customer))
        if v is not None
    ]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --ring, --community or --customer")
    if hops < 0:
        raise ConfigError(f"--hops must be 0 or more, not {hops}")
    outputs = load_outputs(out_dir)
    if ring is not None:
        return ring_subgraph(outputs, ring)
    if community is not None:
        return community_subgraph(outputs, community)
    assert customer is not None
    return customer_subgraph(outputs, customer, hops=hops)


def _consistent_types(graph: nx.DiGraph) -> None:
    """Give each attribute one type across nodes/edges (ints become floats where mixed)."""
    for items in (
        [d for _, d in graph.nodes(data=True)],
        [d for *_, d in graph.edges(data=True)],
    ):
        kinds: dict[str, set[type]] = {}
        for data in items:
            for key, value in data.items():
                kinds.setdefault(key, set()).add(type(value))
        for key, types in kinds.items():
            if types == {int, float}:
                for data in items:
                    if key in data:
                        data[key] = float(data[key])
            elif len(types) > 1:
                for data in items:
                    if key in data:
                        data[key] = str(data[key])


def export_subgraph(
    out_dir: Path,
    output: Path,
    *,
    ring: str | None = None,
    community: str | None = None,
    customer: str | None = None,
    hops: int = 2,
    fmt: str = "graphml",
) -> dict[str, Any]:
    """Write a ring, a community or a customer's neighbourhood as GraphML or GEXF.

    Parameters
    ----------
    out_dir : Path
        Output directory of ``graphprofile run`` (needs ``graph/``).
    output : Path
        File to write.
    ring, community, customer : str, optional
        Exactly one: what to export.
    hops : int, default 2
        Neighbourhood radius for ``customer`` (graph steps, either direction).
    fmt : {"graphml", "gexf"}, default "graphml"
        Output format.

    Returns
    -------
    dict
        ``path``, ``format``, ``nodes``, ``edges`` and node counts per ``node_type``.

    Raises
    ------
    ConfigError
        Not exactly one selection, negative hops or an unknown format.
    InputError
        The ring, community or customer is unknown, or the snapshot is missing.
    OutputError
        The file cannot be written.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    graph = _select(Path(out_dir), ring, community, customer, hops)
    for _, data in graph.nodes(data=True):  # Gephi shows "label": make it the id
        data["node_type"], data["label"] = data["label"], data["key"]
    for *_, data in graph.edges(data=True):  # GEXF reserves an edge's "type"
        data["rel_type"] = data.pop("type")
    _consistent_types(graph)
    write = nx.write_graphml if fmt == "graphml" else nx.write_gexf
    output = atomic_write(Path(output), lambda tmp: write(graph, tmp))
    labels: dict[str, int] = {}
    for _, data in graph.nodes(data=True):
        labels[data["node_type"]] = labels.get(data["node_type"], 0) + 1
    return {
        "path": str(output),
        "format": fmt,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "labels": dict(sorted(labels.items())),
    }
