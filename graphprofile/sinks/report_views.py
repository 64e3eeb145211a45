"""Interactive ring views for the report: cytoscape.js elements with positions laid out here.

Each ring becomes a list of nodes and edges (cytoscape.js "elements" JSON) with preset
positions, so the picture is the same on every machine and labels never sit on each other:

- **cycles** are loops: the accounts in the order the money went round, on a circle;
- **fans and scatter-gather** are layers: source(s) → intermediates → sink(s), top to bottom
  (fan-in: senders → collector; fan-out: source → receivers; scatter-gather: source →
  intermediates → sink);
- **identity rings** are two rows: the members, and the devices and identifiers they share.

Accounts carry their owner's customer id; every customer drawn has its tags and reasons in
words in :func:`customer_details`, which the page shows when the node is clicked. Roles
(collector, source, sink, mule, member) come from the ring's reasons.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

import networkx as nx
import pandas as pd

from graphprofile.sinks.report_data import RunOutputs, fmt_value, is_missing, reasons_in_words

#: Horizontal distance between nodes of one layer, and between layers (pixels).
SPACING = 140
LAYER_GAP = 170
#: Role of the accounts a pattern names, and of the other accounts of each kind of ring.
HEAD_ROLES = ("collector", "source", "sink")
OTHER_ROLE = {
    "fan_in": "source",
    "fan_out": "mule",
    "scatter_gather": "mule",
    "cycle": "mule",
    "identity": "member",
}
ROLE_ORDER = {"collector": 0, "source": 1, "sink": 2, "mule": 3, "member": 4}


def cytoscape_js() -> str:
    """The vendored cytoscape.js (MIT, see ``vendor/cytoscape.LICENSE``)."""
    return (resources.files("graphprofile.sinks") / "vendor" / "cytoscape.min.js").read_text(
        encoding="utf-8"
    )


def account_roles(kind: str, reasons: Any, accounts: list[str]) -> dict[str, str]:
    """Role of each account of a ring: the pattern's named accounts, the others by kind."""
    roles = dict.fromkeys(accounts, OTHER_ROLE.get(kind, "member"))
    parsed = reasons if isinstance(reasons, list) else []
    if isinstance(reasons, str):
        try:
            parsed = json.loads(reasons)
        except ValueError:
            parsed = []
    for r in parsed:
        if isinstance(r, dict) and str(r.get("type", "")).endswith("_pattern"):
            for role in HEAD_ROLES:
                if r.get(role) is not None:
                    roles[str(r[role])] = role
    return roles


def customer_roles(graph: nx.DiGraph, roles: dict[str, str]) -> dict[str, str]:
    """A customer's role: the strongest role among its accounts in the ring."""
    out: dict[str, str] = {}
    for u, v, d in graph.edges(data=True):
        if d.get("type") == "OWNS":
            acc = graph.nodes[v].get("key")
            cust = graph.nodes[u].get("key")
            role = roles.get(str(acc))
            if role and (cust not in out or ROLE_ORDER[role] < ROLE_ORDER[out[cust]]):
                out[str(cust)] = role
    return out


def _cycle_order(reasons: Any, accounts: list[str]) -> list[str]:
    parsed = reasons if isinstance(reasons, list) else json.loads(reasons or "[]")
    order: list[str] = []
    for r in parsed:
        if isinstance(r, dict) and r.get("type") == "cycle_path":
            order += [a for a in r.get("accounts", []) if a not in order]
    return order + sorted(a for a in accounts if a not in order)


def _row(nodes: list[str], y: float) -> dict[str, tuple[float, float]]:
    width = (len(nodes) - 1) * SPACING
    return {n: (i * SPACING - width / 2, y) for i, n in enumerate(nodes)}


def _circle(nodes: list[str]) -> dict[str, tuple[float, float]]:
    radius = max(120.0, len(nodes) * SPACING / (2 * math.pi))
    pos = {}
    for i, n in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / max(len(nodes), 1)
        pos[n] = (radius * math.cos(angle), radius * math.sin(angle))
    return pos


def _layers(kind: str, roles: dict[str, str]) -> list[list[str]]:
    by = {r: sorted(a for a, role in roles.items() if role == r) for r in ROLE_ORDER}
    if kind == "fan_in":
        return [by["source"], by["collector"]]
    if kind == "fan_out":
        return [by["source"], by["mule"]]
    return [by["source"], by["mule"], by["sink"]]


def view_nodes(kind: str, graph: nx.DiGraph) -> list[str]:
    """Nodes drawn: accounts of a money-flow ring; members and shared items of an identity
    ring (accounts of money-flow rings are labelled with their owner)."""
    labels = nx.get_node_attributes(graph, "label")
    has_accounts = any(d.get("type") == "TRANSFER" for *_, d in graph.edges(data=True))
    if kind != "identity" and has_accounts:
        return sorted(n for n, lab in labels.items() if lab == "account")
    return sorted(n for n, lab in labels.items() if lab in ("customer", "device", "identifier"))


def layout(kind: str, reasons: Any, graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Positions of the drawn nodes of a ring subgraph (node id → (x, y))."""
    drawn = view_nodes(kind, graph)
    labels = nx.get_node_attributes(graph, "label")
    if not drawn or labels[drawn[0]] != "account":
        customers = [n for n in drawn if labels[n] == "customer"]
        items = [n for n in drawn if labels[n] != "customer"]
        return {**_row(customers, 0.0), **_row(items, LAYER_GAP)}
    acc_node = {str(graph.nodes[n]["key"]): n for n in drawn}
    accounts = sorted(acc_node)
    if kind == "cycle":
        return _circle([acc_node[a] for a in _cycle_order(reasons, accounts)])
    roles = account_roles(kind, reasons, accounts)
    pos: dict[str, tuple[float, float]] = {}
    for depth, layer in enumerate(x for x in _layers(kind, roles) if x):
        pos.update(_row([acc_node[a] for a in layer], depth * LAYER_GAP))
    return pos


def _edge_title(d: dict[str, Any]) -> str:
    if d.get("type") == "TRANSFER":
        n = int(d.get("n_txns", 1) or 1)
        first, last = fmt_value(d.get("first_ts", "")), fmt_value(d.get("last_ts", ""))
        when = first if first == last else f"{first} → {last}"
        count = f"{n} transfers, " if n > 1 else ""
        return f"{count}{fmt_value(float(d.get('total_amount', 0.0)))} · {when}"
    return str(d.get("type", "")).replace("_", " ").lower()


def ring_elements(ring: dict[str, Any], graph: nx.DiGraph) -> dict[str, list[dict]]:
    """Elements (nodes with preset positions, edges) of one ring for cytoscape.js.

    Every node has ``kind``, ``label``, ``title`` (shown on hover) and, for accounts and
    customers, ``customer`` (whose details a click shows) and ``role``.
    """
    kind = str(ring.get("kind", ""))
    accounts = sorted(str(d["key"]) for _, d in graph.nodes(data=True) if d["label"] == "account")
    acc_roles = account_roles(kind, ring.get("reasons"), accounts)
    cust_roles = customer_roles(graph, acc_roles)
    pos = layout(kind, ring.get("reasons"), graph)
    owner = {
        str(graph.nodes[v]["key"]): str(graph.nodes[u]["key"])
        for u, v, d in graph.edges(data=True)
        if d.get("type") == "OWNS"
    }
    nodes = []
    for n in sorted(pos):
        d = graph.nodes[n]
        label, key = d["label"], str(d.get("key", n))
        data: dict[str, Any] = {"id": n, "kind": label, "label": key}
        if label == "account":
            cust = owner.get(key, "")
            data.update(customer=cust, role=acc_roles.get(key, ""), label=f"{key}\n{cust}")
            data["title"] = f"account {key} of customer {cust or '?'} · {data['role']}"
            data["known_fraud"] = bool(_known(graph, cust))
        elif label == "customer":
            data.update(customer=key, role=cust_roles.get(key, OTHER_ROLE.get(kind, "member")))
            data["known_fraud"] = bool(_known(graph, key))
            data["title"] = f"customer {key} · {data['role']}"
        else:
            data["label"] = f"{d.get('kind', label)}" if label == "identifier" else key
            data["title"] = f"{label} {key}: used by {d.get('n_customers', '?')} customers"
        x, y = pos[n]
        nodes.append({"data": data, "position": {"x": round(x, 1), "y": round(y, 1)}})
    edges = []
    drawn = set(pos)
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        if u not in drawn or v not in drawn:
            continue
        data = {"id": f"e{len(edges)}", "source": u, "target": v, "type": d.get("type", "")}
        data["title"] = _edge_title(d)
        if d.get("type") == "TRANSFER":
            data["label"] = fmt_value(float(d.get("total_amount", 0.0)))
        edges.append({"data": data})
    return {"nodes": nodes, "edges": edges}


def _known(graph: nx.DiGraph, customer: str) -> bool:
    return graph.nodes.get(f"customer:{customer}", {}).get("known_fraud") is True


def customer_details(outputs: RunOutputs, customers: list[str]) -> dict[str, dict[str, Any]]:
    """Per customer: risk, known-fraud flag, community and each tag with its reasons in words."""
    out: dict[str, dict[str, Any]] = {}
    f, tags = outputs.features, outputs.tags
    frow = (
        f[f["customer_id"].astype(str).isin(customers)].set_index("customer_id")
        if f is not None and "customer_id" in f.columns
        else pd.DataFrame()
    )
    known: dict[str, bool] = {}
    if outputs.graph is not None and "known_fraud" in outputs.graph.nodes["customer"].columns:
        nodes = outputs.graph.nodes["customer"]
        sel = nodes[nodes["customer_id"].astype(str).isin(customers)]
        known = dict(zip(sel["customer_id"].astype(str), sel["known_fraud"], strict=True))
    for c in customers:
        info: dict[str, Any] = {"customer_id": c, "known_fraud": bool(known.get(c, False))}
        if c in frow.index:
            row = frow.loc[c]
            for col in ("risk_score", "community_id", "pagerank_pct"):
                if col in frow.columns and not is_missing(row[col]):
                    info[col] = fmt_value(row[col])
        info["tags"] = []
        if tags is not None and "customer_id" in tags.columns:
            for t in tags[tags["customer_id"].astype(str) == c].to_dict("records"):
                info["tags"].append(
                    {
                        "tag": str(t["tag"]),
                        "value": "" if is_missing(t.get("value")) else str(t["value"]),
                        "score": None if is_missing(t.get("score")) else fmt_value(t["score"]),
                        "reasons": reasons_in_words(t.get("reasons")),
                    }
                )
        out[c] = info
    return out


def as_script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    written as ``\\u`` escapes, so no data can close the element or read as markup."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
