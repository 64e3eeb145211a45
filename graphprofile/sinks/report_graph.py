"""Subgraphs of a run's graph snapshot as networkx graphs, with results as attributes.

Node ids are ``"<label>:<id>"`` (``customer:C1``, ``account:A1``, ``device:D1``,
``identifier:email:…``, ``counterparty:P1``); every node has ``label`` and ``key``.
Customers carry their ``features`` columns and their tags (``tags``: the tag names,
``tag:<name>``: the tag's value, e.g. the community id; ``tag:<name>:score``: its score).
Edges carry ``type`` and the snapshot's edge properties (``TRANSFER``: ``n_txns``,
``total_amount``, ``first_ts``, ``last_ts``).
Attributes never hold ``None``: missing values are left out (GraphML cannot store them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from graphprofile._arrow import is_in
from graphprofile.errors import InputError
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, CanonicalGraph
from graphprofile.outputs import RunOutputs
from graphprofile.sinks.report_data import is_missing, not_found, ring_members

#: Devices/identifiers used by more customers than this are hubs: not expanded through.
DEFAULT_HUB_LIMIT = 50


def clean_attr(value: Any) -> Any:
    """A value GraphML/GEXF can store: Python scalars, ISO text for times, JSON for lists."""
    if is_missing(value):
        return None
    if isinstance(value, np.ndarray | list | tuple | dict):
        return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, default=str)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        cleaned = clean_attr(value)
        if cleaned is not None:
            out[str(key)] = cleaned
    return out


def _need_graph(outputs: RunOutputs) -> None:
    if outputs.graph is None:
        raise InputError(
            f"{outputs.out_dir / 'graph'} is missing: the subgraph needs the graph snapshot "
            "that `graphprofile run` writes"
        )


def node_id(label: str, key: Any) -> str:
    """The node id used in subgraphs: ``"<label>:<key>"``."""
    return f"{label}:{key}"


def subgraph(
    outputs: RunOutputs,
    *,
    customers: Iterable[str] = (),
    accounts: Iterable[str] = (),
    devices: Iterable[str] = (),
    identifiers: Iterable[str] = (),
    counterparties: Iterable[str] = (),
    owned_accounts: bool = True,
) -> nx.DiGraph:
    """The subgraph induced by the given node ids, with results as attributes.

    Parameters
    ----------
    outputs : RunOutputs
        A run's outputs, graph snapshot included.
    customers, accounts, devices, identifiers, counterparties : iterable of str
        Node keys to include.
    owned_accounts : bool, default True
        Also include every account the given customers own.

    Returns
    -------
    networkx.DiGraph
        Nodes and every snapshot edge between them (``OWNS``, ``USES_DEVICE``,
        ``HAS_IDENTIFIER``, ``TRANSFER``, ``PAYS``).
    """
    _need_graph(outputs)
    g = outputs.graph
    assert g is not None
    keep = {
        "customer": {str(c) for c in customers},
        "account": {str(a) for a in accounts},
        "device": {str(d) for d in devices},
        "identifier": {str(i) for i in identifiers},
        "counterparty": {str(p) for p in counterparties},
    }
    if owned_accounts and keep["customer"]:
        owns = g.edges["OWNS"]
        keep["account"] |= set(owns.loc[owns["customer_id"].isin(keep["customer"]), "account_id"])
    graph = nx.DiGraph()
    for label, key in NODE_KEYS.items():
        table = g.nodes[label]
        rows = table[table[key].astype(str).isin(keep[label])]
        for row in rows.to_dict("records"):
            graph.add_node(node_id(label, row[key]), label=label, **_attrs(row))
            graph.nodes[node_id(label, row[key])]["key"] = str(row[key])
    _add_results(graph, outputs, keep["customer"])
    for rel, (src_label, src, dst_label, dst) in EDGE_ENDS.items():
        table = g.edges[rel]
        mask = table[src].astype(str).isin(keep[src_label]) & table[dst].astype(str).isin(
            keep[dst_label]
        )
        for row in table[mask].to_dict("records"):
            u, v = node_id(src_label, row.pop(src)), node_id(dst_label, row.pop(dst))
            if u in graph and v in graph:
                graph.add_edge(u, v, type=rel, **_attrs(row))
    return graph


def _add_results(graph: nx.DiGraph, outputs: RunOutputs, customers: set[str]) -> None:
    features, tags = outputs.features, outputs.tags
    if features is not None and "customer_id" in features.columns:
        rows = features[features["customer_id"].astype(str).isin(customers)]
        for row in rows.to_dict("records"):
            nid = node_id("customer", row.pop("customer_id"))
            if nid in graph:
                graph.nodes[nid].update(_attrs(row))
    if tags is not None and {"customer_id", "tag"} <= set(tags.columns):
        rows = tags[tags["customer_id"].astype(str).isin(customers)]
        for cid, group in rows.groupby(rows["customer_id"].astype(str), sort=True):
            nid = node_id("customer", cid)
            if nid not in graph:
                continue
            graph.nodes[nid]["tags"] = ",".join(sorted(group["tag"].astype(str).unique()))
            for row in group.to_dict("records"):
                value = clean_attr(row.get("value"))
                graph.nodes[nid][f"tag:{row['tag']}"] = True if value is None else value
                score = clean_attr(row.get("score"))
                if score is not None:
                    graph.nodes[nid][f"tag:{row['tag']}:score"] = score


def ring_subgraph(outputs: RunOutputs, ring_id: str) -> nx.DiGraph:
    """A ring: members, their accounts, the devices/identifiers 2+ members share.

    Raises
    ------
    InputError
        The ring is not in ``rings`` (nor in ``features.ring_id``).
    """
    _need_graph(outputs)
    customers, accounts = _ring_members(outputs, ring_id)
    g = outputs.graph
    assert g is not None
    shared = {}
    for rel, col in (("USES_DEVICE", "device_id"), ("HAS_IDENTIFIER", "identifier_id")):
        edges = g.edges[rel]
        edges = edges[edges["customer_id"].astype(str).isin(customers)]
        counts = edges.groupby(col)["customer_id"].nunique()
        shared[col] = counts[counts >= 2].index.astype(str).tolist()
    graph = subgraph(
        outputs,
        customers=customers,
        accounts=accounts,
        devices=shared["device_id"],
        identifiers=shared["identifier_id"],
        owned_accounts=not accounts,
    )
    graph.graph.update(ring_id=str(ring_id))
    return graph


def _ring_members(outputs: RunOutputs, ring_id: str) -> tuple[list[str], list[str]]:
    """Customer and account ids of a ring (from ``rings``, else ``features.ring_id``).

    Raises
    ------
    InputError
        The ring is not in ``rings`` (nor in ``features.ring_id``).
    """
    customers, accounts = ring_members(outputs.rings, ring_id)
    if not customers and outputs.features is not None and "ring_id" in outputs.features:
        f = outputs.features
        customers = f.loc[f["ring_id"].astype(str) == str(ring_id), "customer_id"].astype(str)
        customers = customers.tolist()
    if not customers:
        known = outputs.rings["ring_id"] if outputs.rings is not None else []
        raise InputError(not_found("ring", ring_id, outputs.out_dir / "rings.parquet", known))
    return customers, accounts


def ring_keys(outputs: RunOutputs, ring_ids: Iterable[str]) -> tuple[set[str], set[str]]:
    """The member customers and named accounts of the given rings: :func:`ring_subgraph`
    of any of these rings gives the same graph on ``scope(outputs, *ring_keys(...))`` as
    on ``outputs``."""
    customers: set[str] = set()
    accounts: set[str] = set()
    for rid in ring_ids:
        members, named = _ring_members(outputs, str(rid))
        customers.update(members)
        accounts.update(named)
    return customers, accounts


def scope(
    outputs: RunOutputs, customers: Iterable[str], accounts: Iterable[str] = ()
) -> RunOutputs:
    """``outputs`` with the graph snapshot, ``features`` and ``tags`` cut down to the rows
    that subgraphs and details of the given customers (and accounts) can read.

    :func:`subgraph` of these customers (their accounts, devices and identifiers), the
    report's ring and community views and member details of them, give the same answer on
    the result as on ``outputs`` (rows keep their order), but each looks through a few
    hundred rows instead of every row of the bank's tables: the report draws ten rings and
    three communities, and each used to scan every node and edge table (#16).

    Kept: the customers' rows of ``customer`` nodes, ``OWNS``, ``USES_DEVICE``,
    ``HAS_IDENTIFIER``, ``features`` and ``tags``; the given accounts and those the
    customers own, with their ``TRANSFER`` rows between each other and their ``PAYS`` rows;
    the devices, identifiers and counterparties those rows name. ``rings`` and
    ``communities`` are kept whole.
    """
    _need_graph(outputs)
    g = outputs.graph
    assert g is not None
    customers = {str(c) for c in customers}
    accounts = {str(a) for a in accounts}

    def rows(table: pd.DataFrame, column: str, keys: set[str]) -> pd.DataFrame:
        return table[is_in(table[column], keys)]

    f, tags = outputs.features, outputs.tags
    if f is not None and "customer_id" in f.columns:
        f = rows(f, "customer_id", customers)
    if tags is not None and "customer_id" in tags.columns:
        tags = rows(tags, "customer_id", customers)
    by_position = _scope_by_position(g, customers, accounts)
    if by_position is not None:
        nodes, edges = by_position
        return replace(outputs, graph=replace(g, nodes=nodes, edges=edges), features=f, tags=tags)
    edges = dict(g.edges)
    for rel in ("OWNS", "USES_DEVICE", "HAS_IDENTIFIER"):
        if rel in edges:
            edges[rel] = rows(edges[rel], "customer_id", customers)
    if "OWNS" in edges:
        accounts.update(edges["OWNS"]["account_id"].astype(str))
    if "TRANSFER" in edges:
        tr = rows(edges["TRANSFER"], "from_account", accounts)
        edges["TRANSFER"] = rows(tr, "to_account", accounts)
    if "PAYS" in edges:
        edges["PAYS"] = rows(edges["PAYS"], "from_account", accounts)
    named = {"customer": customers, "account": accounts}
    for rel, col, label in (
        ("USES_DEVICE", "device_id", "device"),
        ("HAS_IDENTIFIER", "identifier_id", "identifier"),
        ("PAYS", "counterparty_id", "counterparty"),
    ):
        named[label] = set(edges[rel][col].astype(str)) if rel in edges else set()
    nodes = {
        label: rows(table, NODE_KEYS[label], named[label]) if label in named else table
        for label, table in g.nodes.items()
    }
    return replace(outputs, graph=replace(g, nodes=nodes, edges=edges), features=f, tags=tags)


#: The edge tables :func:`scope` cuts down, each by the node whose chosen rows it follows
#: (``OWNS``' accounts also join the chosen accounts; ``TRANSFER`` needs both ends chosen).
_SCOPED_EDGES = ("OWNS", "USES_DEVICE", "HAS_IDENTIFIER", "TRANSFER", "PAYS")


def _scope_by_position(
    g: CanonicalGraph, customers: set[str], accounts: set[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]] | None:
    """:func:`scope`'s node and edge tables, found from the graph builder's positions of
    every edge's ends (``CanonicalGraph.edge_ends``) instead of looking each edge table's
    text ids up: the given ids are looked up in the customer and account nodes only, and
    the rest follows by position. The same rows, in the same order; ``None`` where the
    positions do not apply (a graph read back from files, a node or edge table replaced
    since it was built), and :func:`scope` looks the ids up.

    At 1M customers the report's views reach a few tens of thousands of customers (the
    largest communities), and looking those up in every table (17M ids) took about a
    second of the run (#16).
    """
    ends = {}
    for rel in _SCOPED_EDGES:
        if rel not in g.edges:
            continue
        found = g.edge_ends.get(rel)
        if found is None or not found.hold_for(g.edges[rel]) or found.nodes is None:
            return None
        source, _, target, _ = EDGE_ENDS[rel]
        # positions are rows of the very node tables the builder made in id order
        if found.nodes[0] is not g.nodes.get(source) or found.nodes[1] is not g.nodes.get(target):
            return None
        ends[rel] = found
    if not {"customer", "account"} <= set(g.nodes):
        return None
    for found in ends.values():
        if (len(found.source) and int(found.source.min()) < 0) or (
            len(found.target) and int(found.target.min()) < 0
        ):
            return None

    def chosen_rows(label: str, keys: set[str]) -> np.ndarray:
        table = g.nodes[label]
        return np.array(is_in(table[NODE_KEYS[label]], keys), dtype=bool)  # writable

    chosen = {
        "customer": chosen_rows("customer", customers),
        "account": chosen_rows("account", accounts),
    }
    for label in ("device", "identifier", "counterparty"):
        if label in g.nodes:
            chosen[label] = np.zeros(len(g.nodes[label]), dtype=bool)
    edges = dict(g.edges)
    for rel in ("OWNS", "USES_DEVICE", "HAS_IDENTIFIER"):
        if rel in ends:
            keep = chosen["customer"][ends[rel].source]
            edges[rel] = g.edges[rel][keep]
            target = EDGE_ENDS[rel][2]
            if target in chosen:
                chosen[target][ends[rel].target[keep]] = True
    if "TRANSFER" in ends:
        src, dst = ends["TRANSFER"].source, ends["TRANSFER"].target
        edges["TRANSFER"] = g.edges["TRANSFER"][chosen["account"][src] & chosen["account"][dst]]
    if "PAYS" in ends:
        keep = chosen["account"][ends["PAYS"].source]
        edges["PAYS"] = g.edges["PAYS"][keep]
        if "counterparty" in chosen:
            chosen["counterparty"][ends["PAYS"].target[keep]] = True
    nodes = {
        label: table[chosen[label]] if label in chosen else table
        for label, table in g.nodes.items()
    }
    return nodes, edges


def community_subgraph(outputs: RunOutputs, community_id: str) -> nx.DiGraph:
    """A community: its customers, their accounts, devices and identifiers.

    Raises
    ------
    InputError
        No customer has this ``community_id`` in ``features``.
    """
    f = outputs.features
    if f is None or "community_id" not in f.columns:
        raise InputError(f"{outputs.out_dir} has no features.community_id column")
    customers = f.loc[f["community_id"].astype(str) == str(community_id), "customer_id"]
    if customers.empty:
        where = outputs.out_dir / "features.parquet"
        raise InputError(not_found("community", community_id, where, f["community_id"]))
    _need_graph(outputs)
    g = outputs.graph
    assert g is not None
    ids = set(customers.astype(str))
    uses = g.edges["USES_DEVICE"]
    has = g.edges["HAS_IDENTIFIER"]
    graph = subgraph(
        outputs,
        customers=ids,
        devices=uses.loc[uses["customer_id"].astype(str).isin(ids), "device_id"].astype(str),
        identifiers=has.loc[has["customer_id"].astype(str).isin(ids), "identifier_id"].astype(str),
    )
    graph.graph.update(community_id=str(community_id))
    return graph


def neighbourhood(
    outputs: RunOutputs, customer_id: str, *, hops: int = 2, hub_limit: int = DEFAULT_HUB_LIMIT
) -> dict[str, set[str]]:
    """Node keys within ``hops`` steps of a customer, following edges either way.

    Devices and identifiers used by more than ``hub_limit`` customers, and
    counterparties, are included but not expanded through (they would pull in much of
    the bank).
    """
    _need_graph(outputs)
    g = outputs.graph
    assert g is not None
    found: dict[str, set[str]] = {label: set() for label in NODE_KEYS}
    found["customer"].add(str(customer_id))
    frontier = {label: set(v) for label, v in found.items()}
    hubs = {"device": _hubs(g.nodes["device"], "device_id", hub_limit)}
    hubs["identifier"] = _hubs(g.nodes["identifier"], "identifier_id", hub_limit)
    for _ in range(max(hops, 0)):
        new: dict[str, set[str]] = {label: set() for label in NODE_KEYS}
        for rel, (a_label, a, b_label, b) in EDGE_ENDS.items():
            table = g.edges[rel]
            for x_label, x, y_label, y in ((a_label, a, b_label, b), (b_label, b, a_label, a)):
                expand = frontier[x_label] - hubs.get(x_label, set())
                if x_label == "counterparty" or not expand:
                    continue
                hits = table.loc[table[x].astype(str).isin(expand), y].astype(str)
                new[y_label] |= set(hits)
        for label in NODE_KEYS:
            new[label] -= found[label]
            found[label] |= new[label]
        frontier = new
        if not any(frontier.values()):
            break
    return found


def _hubs(nodes: pd.DataFrame, key: str, limit: int) -> set[str]:
    if "n_customers" not in nodes.columns:
        return set()
    return set(nodes.loc[nodes["n_customers"] > limit, key].astype(str))


def customer_subgraph(outputs: RunOutputs, customer_id: str, *, hops: int = 2) -> nx.DiGraph:
    """Everything within ``hops`` steps of a customer (see :func:`neighbourhood`).

    Raises
    ------
    InputError
        The customer is not in the graph snapshot.
    """
    _need_graph(outputs)
    assert outputs.graph is not None
    known = outputs.graph.nodes["customer"]["customer_id"].astype(str)
    if not (known == str(customer_id)).any():
        raise InputError(not_found("customer", customer_id, outputs.out_dir / "graph", known))
    found = neighbourhood(outputs, customer_id, hops=hops)
    graph = subgraph(
        outputs,
        customers=found["customer"],
        accounts=found["account"],
        devices=found["device"],
        identifiers=found["identifier"],
        counterparties=found["counterparty"],
        owned_accounts=False,
    )
    graph.graph.update(customer_id=str(customer_id), hops=int(hops))
    return graph
