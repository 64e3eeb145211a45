"""Interactive ring views for the report: cytoscape.js elements with positions laid out here.

Each ring becomes a list of nodes and edges (cytoscape.js "elements" JSON) with preset
positions, so the picture is the same on every machine and labels never sit on each other:

- **cycles** are loops: the accounts in the order the money went round, on a circle;
- **fans and scatter-gather** are layers: source(s) → intermediates → sink(s), top to bottom
  (fan-in: senders → collector; fan-out: source → receivers; scatter-gather: source →
  intermediates → sink; unusual-transfer groups: payers → pass-through accounts → payees);
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

from graphprofile.i18n import ENGLISH, Messages
from graphprofile.outputs import RunOutputs
from graphprofile.sinks.report_data import fmt_value, is_missing, reasons_in_words
from graphprofile.sinks.report_graph import DEFAULT_HUB_LIMIT

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
    "unusual_transfers": "mule",
    "bipartite": "mule",
    "stack": "mule",
    "identity": "member",
}
#: Unusual-transfer groups name their payers, pass-through accounts and payees: drawn as
#: layers like a fan (payers on top).
GROUP_ROLES = (("payers", "source"), ("throughs", "mule"), ("payees", "sink"))
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
            for key, role in GROUP_ROLES:
                for acc in r.get(key) or []:
                    if str(acc) in roles:
                        roles[str(acc)] = role
    # layers and stacks: the first layer's payers on top, the last layer's payees below,
    # the accounts passing money between layers in the middle
    layers = [r for r in parsed if isinstance(r, dict) and r.get("type") == "layer"]
    deepest = max((int(r.get("depth") or 0) for r in layers), default=0)
    for r in layers:
        depth = int(r.get("depth") or 0)
        for acc in (r.get("payers") or []) if depth == 0 else []:
            if str(acc) in roles:
                roles[str(acc)] = "source"
        for acc in (r.get("payees") or []) if depth == deepest else []:
            if str(acc) in roles and roles[str(acc)] != "source":
                roles[str(acc)] = "sink"
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


def _edge_title(d: dict[str, Any], say: Messages = ENGLISH) -> str:
    if d.get("type") == "TRANSFER":
        n = int(d.get("n_txns", 1) or 1)
        first, last = fmt_value(d.get("first_ts", "")), fmt_value(d.get("last_ts", ""))
        when = first if first == last else f"{first} → {last}"
        count = say("report.view.transfers", n=n) if n > 1 else ""
        return f"{count}{fmt_value(float(d.get('total_amount', 0.0)))} · {when}"
    return str(d.get("type", "")).replace("_", " ").lower()


def ring_elements(
    ring: dict[str, Any], graph: nx.DiGraph, say: Messages = ENGLISH
) -> dict[str, list[dict]]:
    """Elements (nodes with preset positions, edges) of one ring for cytoscape.js.

    Every node has ``kind``, ``label``, ``title`` (shown on hover, in the language of
    ``say``) and, for accounts and customers, ``customer`` (whose details a click shows) and
    ``role`` (an English key).
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
            data["title"] = say("report.view.account", key=key, customer=cust or "?",
                                role=_role(say, data["role"]))  # fmt: skip
            data["known_fraud"] = bool(_known(graph, cust))
        elif label == "customer":
            data.update(customer=key, role=cust_roles.get(key, OTHER_ROLE.get(kind, "member")))
            data["known_fraud"] = bool(_known(graph, key))
            data["title"] = say("report.view.customer", key=key, role=_role(say, data["role"]))
        else:
            item = str(d.get("kind", label))
            if not say.is_default:
                item = say.get(f"item_kind.{item}", item) or item
            data["label"] = item if label == "identifier" else key
            what = say.get(f"node_label.{label}", label)
            data["title"] = say("report.view.item", label=what, key=key,
                                n=d.get("n_customers", "?"))  # fmt: skip
        x, y = pos[n]
        nodes.append({"data": data, "position": {"x": round(x, 1), "y": round(y, 1)}})
    edges = []
    drawn = set(pos)
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        if u not in drawn or v not in drawn:
            continue
        data = {"id": f"e{len(edges)}", "source": u, "target": v, "type": d.get("type", "")}
        data["title"] = _edge_title(d, say)
        if d.get("type") == "TRANSFER":
            data["label"] = fmt_value(float(d.get("total_amount", 0.0)))
        edges.append({"data": data})
    return {"nodes": nodes, "edges": edges}


def _known(graph: nx.DiGraph, customer: str) -> bool:
    return graph.nodes.get(f"customer:{customer}", {}).get("known_fraud") is True


def _item_word(say: Messages, kind: str) -> str:
    return say.get(f"item_kind.{kind}", kind) or kind


def _role(say: Messages, role: str) -> str:
    return say.get(f"report.role.{role}", role) or role


def customer_details(
    outputs: RunOutputs, customers: list[str], say: Messages = ENGLISH
) -> dict[str, dict[str, Any]]:
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
    # the customers' tag rows, in table order, found in one pass over the tags table
    theirs: dict[str, list[dict[str, Any]]] = {}
    if tags is not None and "customer_id" in tags.columns:
        ids = tags["customer_id"].astype(str)
        for t in tags[ids.isin(customers)].to_dict("records"):
            theirs.setdefault(str(t["customer_id"]), []).append(t)
    for c in customers:
        info: dict[str, Any] = {"customer_id": c, "known_fraud": bool(known.get(c, False))}
        if c in frow.index:
            row = frow.loc[c]
            for col in ("risk_score", "community_id", "pagerank_pct"):
                if col in frow.columns and not is_missing(row[col]):
                    info[col] = fmt_value(row[col])
        info["tags"] = []
        if tags is not None and "customer_id" in tags.columns:
            for t in theirs.get(c, []):
                info["tags"].append(
                    {
                        "tag": str(t["tag"]),
                        "value": "" if is_missing(t.get("value")) else str(t["value"]),
                        "score": None if is_missing(t.get("score")) else fmt_value(t["score"]),
                        "reasons": reasons_in_words(t.get("reasons"), say),
                    }
                )
        out[c] = info
    return out


def as_script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    written as ``\\u`` escapes, so no data can close the element or read as markup."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: Members of a community drawn in its interactive view (the most influential first).
COMMUNITY_MEMBERS = 30


def community_elements(
    outputs: RunOutputs,
    community_id: Any,
    say: Messages = ENGLISH,
    *,
    members: int = COMMUNITY_MEMBERS,
) -> dict[str, list[dict]]:
    """The core of a community for cytoscape.js: its ``members`` most influential customers
    (PageRank) and what links them, laid out in rings by PageRank (the most influential in
    the centre).

    Two customers are linked by each device or identifier they share and by the money
    between their accounts (one edge per pair and kind, the amount summed). Devices and
    identifiers used by more than the report's hub limit are not links.
    """
    f = outputs.features
    if f is None or outputs.graph is None or "community_id" not in f.columns:
        return {"nodes": [], "edges": []}
    mine = f[f["community_id"].astype(str) == str(community_id)]
    top = mine.sort_values(["pagerank", "customer_id"], ascending=[False, True]).head(members)
    ids = top["customer_id"].astype(str).tolist()
    keep = set(ids)
    g = outputs.graph
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rel, col in (("USES_DEVICE", "device_id"), ("HAS_IDENTIFIER", "identifier_id")):
        table = g.edges[rel]
        table = table[table["customer_id"].astype(str).isin(keep)]
        for item, grp in table.groupby(col, sort=True):
            who = sorted(set(grp["customer_id"].astype(str)))
            if not 2 <= len(who) <= DEFAULT_HUB_LIMIT:
                continue
            for i, a in enumerate(who):
                for b in who[i + 1 :]:
                    e = edges.setdefault((a, b, rel), {"n": 0, "items": []})
                    e["n"] += 1
                    e["items"].append(str(item))
    owns = g.edges["OWNS"].astype(str)
    owner = owns.set_index("account_id")["customer_id"]
    theirs = owns.loc[owns["customer_id"].isin(keep), "account_id"]
    tr = g.edges["TRANSFER"]
    # only transfers between the members' own accounts are looked up (not every transfer)
    tr = tr[tr["from_account"].astype(str).isin(theirs) & tr["to_account"].astype(str).isin(theirs)]
    src = tr["from_account"].astype(str).map(owner)
    dst = tr["to_account"].astype(str).map(owner)
    sel = src.isin(keep) & dst.isin(keep) & (src != dst)
    money = pd.DataFrame(
        {"a": src[sel], "b": dst[sel], "amount": tr.loc[sel, "total_amount"].astype(float)}
    )
    for (a, b), amount in money.groupby(["a", "b"], sort=True)["amount"].sum().items():
        edges[(str(a), str(b), "TRANSFER")] = {"n": 1, "amount": float(amount)}
    pr = dict(zip(ids, top["pagerank"].astype(float), strict=True))
    order = sorted(ids, key=lambda c: (-pr[c], c))
    pos: dict[str, tuple[float, float]] = {}
    ring, start = 0, 0
    while start < len(order):  # 1 in the centre, then rings of 8, 14, 20 …
        size = 1 if ring == 0 else 6 * ring + 2
        chunk = order[start : start + size]
        radius = ring * LAYER_GAP * 0.8
        for k, c in enumerate(chunk):
            angle = -math.pi / 2 + 2 * math.pi * k / max(len(chunk), 1) + ring * 0.3
            pos[c] = (radius * math.cos(angle), radius * math.sin(angle))
        start += size
        ring += 1
    known = {}
    if "known_fraud" in g.nodes["customer"].columns:
        nodes = g.nodes["customer"]
        sel_nodes = nodes[nodes["customer_id"].astype(str).isin(keep)]
        known = dict(zip(sel_nodes["customer_id"].astype(str), sel_nodes["known_fraud"],
                         strict=True))  # fmt: skip
    risk = (
        dict(zip(ids, top["risk_score"].astype(float), strict=True))
        if "risk_score" in top.columns
        else {}
    )
    out_nodes = []
    for c in order:
        r = risk.get(c)
        data = {
            "id": f"customer:{c}",
            "kind": "customer",
            "label": c,
            "customer": c,
            "known_fraud": bool(known.get(c) is True),
            "title": say("report.view.community_customer", key=c, pagerank=f"{pr[c]:.3g}")
            + (say("report.view.community_risk", risk=f"{r:.2f}") if r is not None else ""),
        }
        x, y = pos[c]
        out_nodes.append({"data": data, "position": {"x": round(x, 1), "y": round(y, 1)}})
    out_edges = []
    for (a, b, rel), e in sorted(edges.items()):
        data = {"id": f"e{len(out_edges)}", "source": f"customer:{a}", "target": f"customer:{b}"}
        if rel == "TRANSFER":
            data.update(type="TRANSFER", label=fmt_value(e["amount"]))
            data["title"] = say("report.view.paid", a=a, b=b, amount=fmt_value(e["amount"]))
        else:
            what = _item_word(say, "device" if rel == "USES_DEVICE" else "identifier")
            items = ", ".join(e["items"][:3])
            data.update(type=rel, title=say("report.view.share", what=what, items=items))
        out_edges.append({"data": data})
    return {"nodes": out_nodes, "edges": out_edges}
