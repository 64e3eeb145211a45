"""Proximity to known fraud over links that carry evidence: hop distance, PageRank, reasons.

Not every relationship says something about fraud. An employer paying a fraudster's salary,
or a utility collecting bills from thousands, links people who have nothing else in common.
The **evidence graph** keeps only:

- a shared device or identifier that is not a public hub (the projection's hub rule);
- money beyond ordinary salary and bill payments: a transfer from customer ``a`` to ``b``
  counts unless ``a`` pays more distinct customers than the data's payroll threshold
  (``a`` looks like an employer) or ``b`` is paid by more distinct customers than the
  biller threshold (``b`` collects bills or rent). Both thresholds come from the data, like
  the hub thresholds (:func:`~graphprofile.analysis._util.count_threshold`): the
  ``hub_percentile`` of distinct payees (payers) per customer among customers with any,
  and at least ``hub_floor``.

On that graph the hop distance is one breadth-first search from a virtual vertex joined to
every ``known_fraud`` customer (one BFS whatever the number of seeds); its BFS tree also
gives each customer the next step towards its nearest known-fraud customer, so a reason can
say what the link is ("sent 3 transfers totalling 4,200.00 to known-fraud C12").
Personalised PageRank (Brin & Page 1998; Haveliwala 2002) restarts on the known-fraud
customers (PRPACK solver). ``fraud_proximity`` is a customer's personalised PageRank over the
largest value among customers that are not known fraud, clipped to [0, 1].

How much a 1- or 2-hop link counts in the customer risk is the customer's **link share**
(:func:`link_shares`): the share of its own money exchanged with known fraud (at two hops,
with 1-hop customers, in proportion to their own share), or the neighbour's share whole over
a shared device or identifier.

``graphprofile explain`` finds its paths on the same graph (:func:`fraud_paths`), so hop
counts agree everywhere.

References
----------
Brin, S., & Page, L. (1998). Computer Networks and ISDN Systems, 30, 107-117.
Haveliwala, T. H. (2002). Topic-sensitive PageRank. *WWW '02*, 517-526.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile._arrow import sorted_codes
from graphprofile.analysis._util import count_threshold, igraph_from_edges, single_openmp_thread
from graphprofile.analysis.projection import Projection, sum_by_pair
from graphprofile.analysis.settings import AnalysisSettings

#: Columns of :attr:`Evidence.links`: ``a``/``b`` customer positions; for money ``a`` paid
#: ``b``; for a shared item ``a < b``.
LINK_COLUMNS = ["a", "b", "via", "item_id", "n_txns", "amount"]
#: Links described per step of a reason.
MAX_LINKS_PER_STEP = 3
#: Hops at which a customer gets a ``known_fraud_neighbour`` reason (and risk).
REASON_HOPS = (1, 2)


@dataclass
class Evidence:
    """The evidence graph between customers and what each of its links is.

    Attributes
    ----------
    graph : igraph.Graph
        Undirected, one vertex per customer (projection order), edge ``weight`` = number of
        evidence links between the pair.
    links : pandas.DataFrame
        One row per link (:data:`LINK_COLUMNS`), sorted by ``a, b, via, item_id``; ``via``
        is ``device``, an identifier kind (``email``, ``phone`` …) or ``money``; ``via`` and
        ``item_id`` are categoricals of text (``item_id`` is ``""`` for money).
    meta : dict
        Thresholds used and counts of links kept and dropped, for ``run.json``.
    money_total : numpy.ndarray or None
        Each customer's money sent to and received from other customers, ordinary payments
        included (the denominator of :func:`link_shares`).
    """

    graph: ig.Graph
    links: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    money_total: np.ndarray | None = None


@dataclass
class Codes:
    """Text as codes into its sorted distinct strings (a categorical, built by hand)."""

    codes: np.ndarray
    categories: np.ndarray

    @classmethod
    def of(cls, values: pd.Series | np.ndarray) -> Codes:
        """Encode ``values`` (strings) with sorted categories (:func:`sorted_codes`)."""
        codes, distinct = sorted_codes(values)
        return cls(codes, np.asarray(distinct, dtype=object))

    def plus(self, extra: str, n: int) -> Codes:
        """These codes followed by ``n`` times ``extra``, the categories still sorted."""
        if n == 0:
            return self
        at = int(np.searchsorted(self.categories, extra))
        cats, codes = self.categories, self.codes
        if at == len(cats) or cats[at] != extra:  # a new category, at its sorted place
            cats = np.insert(cats, at, extra)
            codes = codes + (codes >= at)
        return Codes(np.concatenate([codes, np.full(n, at, np.int64)]), cats)

    def categorical(self, order: np.ndarray) -> pd.Categorical:
        """The values in ``order`` as a pandas categorical of ``str``."""
        return pd.Categorical.from_codes(
            self.codes[order], categories=pd.Index(self.categories, dtype="str")
        )


def _item_links(proj: Projection) -> tuple[np.ndarray, np.ndarray, Codes, Codes]:
    """Customer pairs ``a < b`` that share a device or identifier, one row per shared item:
    ``a``, ``b`` and the item's ``kind`` and ``item_id`` as :class:`Codes`.

    Only integers go through the self-join; each distinct item's strings are encoded once.
    """
    links = proj.links
    rows = np.flatnonzero(links["layer"].isin(["devices", "identifiers"]).to_numpy())
    item = links["item"].to_numpy(dtype=np.int64)[rows]
    distinct, first = np.unique(item, return_index=True)
    kinds = Codes.of(links["kind"].iloc[rows[first]])
    ids = Codes.of(links["item_id"].iloc[rows[first]])
    pairs = pd.DataFrame({"item": item, "cust": links["cust"].to_numpy(dtype=np.int64)[rows]})
    pairs = pairs.merge(pairs, on="item")
    pairs = pairs[pairs["cust_x"] < pairs["cust_y"]]
    at = np.searchsorted(distinct, pairs["item"].to_numpy(dtype=np.int64))
    return (
        pairs["cust_x"].to_numpy(dtype=np.int64),
        pairs["cust_y"].to_numpy(dtype=np.int64),
        Codes(kinds.codes[at], kinds.categories),
        Codes(ids.codes[at], ids.categories),
    )


def _money_links(
    proj: Projection, settings: AnalysisSettings
) -> tuple[pd.DataFrame, dict, np.ndarray]:
    me = proj.money_edges
    a, b = proj.money_customers()
    ok = (a >= 0) & (b >= 0) & (a != b)
    n = len(proj.customers)
    # the money of each customer pair, in (a, b) order: pandas' groupby sum to the bit
    # (sum_by_pair; a customer pair with several account pairs is the exception)
    sums = sum_by_pair(
        pd.DataFrame(
            {
                "src": a[ok].astype(np.int64),
                "dst": b[ok].astype(np.int64),
                "n_txns": me["n_txns"].to_numpy()[ok],
                "amount": me["total_amount"].to_numpy()[ok],
            }
        )
    )
    flows = pd.DataFrame(
        {
            "a": sums["src"].to_numpy(dtype=np.int64),
            "b": sums["dst"].to_numpy(dtype=np.int64),
            "n_txns": sums["n_txns"].to_numpy().astype(np.int64),
            "amount": sums["amount"].to_numpy(dtype="float64"),
        }
    )
    payees = np.bincount(flows["a"].to_numpy(), minlength=n)
    payers = np.bincount(flows["b"].to_numpy(), minlength=n)
    k_out = count_threshold(
        payees, percentile=settings.hub_percentile, floor=settings.hub_floor, min_count=1
    )
    k_in = count_threshold(
        payers, percentile=settings.hub_percentile, floor=settings.hub_floor, min_count=1
    )
    ordinary = (payees[flows["a"].to_numpy()] > k_out) | (payers[flows["b"].to_numpy()] > k_in)
    kept = flows[~ordinary]
    meta = {
        "payroll_threshold": int(k_out),
        "biller_threshold": int(k_in),
        "money_links": len(flows),
        "ordinary_money_links_dropped": int(ordinary.sum()),
    }
    amount = flows["amount"].to_numpy(dtype="float64")
    total = np.bincount(flows["a"].to_numpy(), weights=amount, minlength=n) + np.bincount(
        flows["b"].to_numpy(), weights=amount, minlength=n
    )
    return kept.astype({"a": "int64", "b": "int64"}), meta, total


def evidence_graph(proj: Projection, *, settings: AnalysisSettings | None = None) -> Evidence:
    """The customer graph of links that carry evidence (see the module docstring).

    Parameters
    ----------
    proj : Projection
        The projections (hubs already excluded from ``proj.links``).
    settings : AnalysisSettings, optional
        ``hub_percentile`` and ``hub_floor`` for the payroll and biller thresholds.

    Returns
    -------
    Evidence
    """
    settings = settings or AnalysisSettings()
    money, meta, total = _money_links(proj, settings)
    item_a, item_b, item_via, item_ids = _item_links(proj)
    n = len(proj.customers)
    # ``via`` and ``item_id`` as categoricals (codes into their sorted distinct strings): a
    # money link is "money" and "", and millions of repeated strings would be copied at
    # every sort and take (several seconds at 1M customers)
    n_money = len(money)
    # item links first, then money links (via "money", no item), as one table
    via, item = item_via.plus("money", n_money), item_ids.plus("", n_money)
    a = np.concatenate([item_a, money["a"].to_numpy(dtype=np.int64)])
    b = np.concatenate([item_b, money["b"].to_numpy(dtype=np.int64)])
    n_txns = np.concatenate([np.zeros(len(item_a), np.int64), money["n_txns"].to_numpy()])
    amount = np.concatenate([np.zeros(len(item_a)), money["amount"].to_numpy()])
    # sorted by a, b, via, item_id (the strings' order) in one stable lexsort
    order = np.lexsort((item.codes, via.codes, a * n + b))
    links = pd.DataFrame(
        {
            "a": a[order],
            "b": b[order],
            "via": via.categorical(order),
            "item_id": item.categorical(order),
            "n_txns": n_txns[order].astype(np.int64),
            "amount": amount[order].astype("float64"),
        },
        columns=LINK_COLUMNS,
    )
    lo = np.minimum(links["a"].to_numpy(), links["b"].to_numpy())
    hi = np.maximum(links["a"].to_numpy(), links["b"].to_numpy())
    pair, count = np.unique(lo * n + hi, return_counts=True)  # sorted by (lo, hi)
    graph = igraph_from_edges(n, pair // n, pair % n, directed=False)
    graph.es["weight"] = count.astype("float64").tolist()
    meta.update({"item_links": len(item_a), "edges": int(graph.ecount())})
    return Evidence(graph=graph, links=links, meta=meta, money_total=total)


def link_shares(evidence: Evidence, hops: np.ndarray) -> np.ndarray:
    """How much of each customer's relationship with known fraud its links carry, in [0, 1].

    Known-fraud customers get 1. A customer ``h`` hops away (``h`` in :data:`REASON_HOPS`)
    gets the larger of

    - the share of its own money (sent and received, ordinary payments included:
      :attr:`Evidence.money_total`) exchanged over evidence links with customers ``h - 1``
      hops away, each weighted by that customer's own share;
    - for a shared device or identifier with a customer ``h - 1`` hops away, that
      customer's share (sharing a device says as much whatever the money).

    So a customer who received two small payments from a known-fraud customer among
    thousands of others gets a share near 0, and a mule whose money mostly comes from
    known fraud a share near 1; farther customers get 0.

    Parameters
    ----------
    evidence : Evidence
        The evidence graph (:func:`evidence_graph`).
    hops : numpy.ndarray
        Hops to the nearest known-fraud customer per position (NaN: unreachable).

    Returns
    -------
    numpy.ndarray
        Share per customer position (float64).
    """
    n = len(hops)
    share = np.where(hops == 0, 1.0, 0.0)
    links = evidence.links
    a = links["a"].to_numpy(dtype=np.int64)
    b = links["b"].to_numpy(dtype=np.int64)
    money = (links["via"] == "money").to_numpy()
    amount = np.where(money, links["amount"].to_numpy(dtype="float64"), 0.0)
    u, v = np.concatenate([a, b]), np.concatenate([b, a])  # both directions
    amount, money = np.concatenate([amount, amount]), np.concatenate([money, money])
    total = evidence.money_total if evidence.money_total is not None else np.zeros(n)
    for h in REASON_HOPS:  # each hop from the shares of the hop before
        step = (hops[u] == h) & (hops[v] == h - 1)
        by_money = np.bincount(u[step], weights=amount[step] * share[v[step]], minlength=n)
        by_money = by_money / np.maximum(total, 1e-12)
        by_item = np.zeros(n)
        item = step & ~money
        np.maximum.at(by_item, u[item], share[v[item]])
        at = hops == h
        share[at] = np.clip(np.maximum(by_money, by_item)[at], 0.0, 1.0)
    return share


def fraud_proximity(
    graph: ig.Graph, known: np.ndarray, *, weight: str | None = "weight", damping: float = 0.85
) -> pd.DataFrame:
    """Hop distance to, and personalised PageRank from, the known-fraud vertices.

    Parameters
    ----------
    graph : igraph.Graph
        Undirected customer graph (the evidence graph in the analysis).
    known : numpy.ndarray of bool
        Known-fraud flag per vertex (at least one must be set).
    weight : str or None, default "weight"
        Edge attribute with weights for PageRank.
    damping : float, default 0.85
        PageRank damping factor.

    Returns
    -------
    pandas.DataFrame
        ``fraud_hops`` (Int64, null when unreachable; 0 for known fraud), ``fraud_next``
        (vertex of the next step towards the nearest known-fraud vertex on a shortest path;
        -1 for known fraud and unreachable vertices), ``fraud_ppr`` and ``fraud_proximity``
        in [0, 1], in vertex order.
    """
    n = graph.vcount()
    seeds = np.flatnonzero(known)
    if n == 0 or len(seeds) == 0:
        raise ValueError("fraud_proximity needs at least one known-fraud vertex")
    g = graph.copy()
    g.add_vertices(1)
    g.add_edges(list(zip([n] * len(seeds), seeds.tolist(), strict=True)))
    # one breadth-first search gives both the hops (its layers) and the next steps
    vids, layers, parents = g.bfs(n, mode="all")
    depth = np.full(n + 1, np.inf)
    layers = np.asarray(layers, dtype=np.int64)
    depth[np.asarray(vids, dtype=np.int64)] = np.repeat(
        np.arange(len(layers) - 1, dtype="float64"), np.diff(layers)
    )
    dist = depth[:n] - 1.0
    reachable = np.isfinite(dist)
    hops = pd.array(np.where(reachable, dist, 0).astype("int64"), dtype="Int64")
    hops[~reachable] = pd.NA
    parents = np.asarray(parents[:n], dtype=np.int64)
    nxt = np.where(reachable & (dist > 0) & (parents >= 0) & (parents < n), parents, -1)
    weights = weight if weight and weight in graph.es.attributes() else None
    with single_openmp_thread():  # bit-for-bit repeatable
        ppr = np.asarray(
            graph.personalized_pagerank(
                reset_vertices=seeds.tolist(),
                weights=weights,
                damping=damping,
                implementation="prpack",
            ),
            dtype="float64",
        )
    others = ppr[~known]
    top = float(others.max()) if len(others) and others.max() > 0 else 1.0
    return pd.DataFrame(
        {
            "fraud_hops": hops,
            "fraud_next": nxt,
            "fraud_ppr": ppr,
            "fraud_proximity": np.clip(ppr / top, 0.0, 1.0),
        }
    )


def _describe(row: dict[str, Any], frm: int) -> dict[str, Any]:
    if row["via"] == "money":
        sent = int(row["a"]) == frm
        return {
            "via": "money",
            "direction": "sent" if sent else "received",
            "n_txns": int(row["n_txns"]),
            "amount": round(float(row["amount"]), 2),
        }
    return {"via": str(row["via"]), "id": str(row["item_id"])}


def _rows(links: pd.DataFrame, column: str, pos: np.ndarray) -> np.ndarray:
    """``links[column]`` at positions ``pos``, as NumPy (objects for text): the rows are
    taken before converting, never the whole column."""
    return links[column].iloc[pos].to_numpy()


def describe_steps(
    links: pd.DataFrame, ids: np.ndarray, u: np.ndarray, v: np.ndarray
) -> list[dict[str, Any]]:
    """What the evidence links between each pair ``u[k]``, ``v[k]`` are, in one join.

    Parameters
    ----------
    links : pandas.DataFrame
        :attr:`Evidence.links` (sorted by ``a, b, via, item_id``).
    ids : numpy.ndarray
        Customer id per position.
    u, v : numpy.ndarray of int
        Customer positions of each step (``u`` is the side a money link is described from).

    Returns
    -------
    list of dict
        Per step, ``{"from", "to", "links"}``: money first (the amounts matter most), then
        devices and identifiers, at most :data:`MAX_LINKS_PER_STEP` links.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    a = links["a"].to_numpy(dtype=np.int64)
    b = links["b"].to_numpy(dtype=np.int64)
    table = pd.DataFrame(
        {
            "lo": np.minimum(a, b),
            "hi": np.maximum(a, b),
            "pos": np.arange(len(links)),
        }
    )
    wanted = pd.DataFrame({"k": np.arange(len(u)), "lo": np.minimum(u, v), "hi": np.maximum(u, v)})
    hit = wanted.merge(table, on=["lo", "hi"], how="inner")
    pos = hit["pos"].to_numpy()
    via = _rows(links, "via", pos)
    hit = hit.assign(other=(via != "money"), via=via, item=_rows(links, "item_id", pos).astype(str))
    hit = hit.sort_values(["k", "other", "via", "item", "pos"], kind="stable")
    hit = hit[hit.groupby("k", sort=False).cumcount() < MAX_LINKS_PER_STEP]
    out = [{"from": str(ids[x]), "to": str(ids[y]), "links": []} for x, y in zip(u, v, strict=True)]
    pos = hit["pos"].to_numpy()
    cols = {c: _rows(links, c, pos) for c in ("a", "via", "item_id", "n_txns", "amount")}
    for j, k in enumerate(hit["k"].to_numpy().tolist()):
        row = {c: cols[c][j] for c in cols}
        out[k]["links"].append(_describe(row, int(u[k])))
    return out


def neighbour_reasons(
    evidence: Evidence, px: pd.DataFrame, known: np.ndarray, ids: np.ndarray
) -> dict[int, dict[str, Any]]:
    """For customers 1 or 2 hops from known fraud: the path and what each link is.

    Paths follow the BFS tree of :func:`fraud_proximity` (``fraud_next``); every step of
    every path is described in one join (:func:`describe_steps`).

    Returns
    -------
    dict
        Customer position → ``{"customer": known-fraud id, "steps": [{"from", "to",
        "links": [...]}, ...]}`` (one step per hop, along the BFS path), in position order.
    """
    hops = px["fraud_hops"].astype("Float64").fillna(-1).to_numpy(dtype="float64")
    nxt = px["fraud_next"].to_numpy(dtype=np.int64)
    start = np.flatnonzero(np.isin(hops, REASON_HOPS) & ~known)
    # walk every path one hop at a time (at most len(REASON_HOPS) hops)
    paths = [start]
    for _ in REASON_HOPS:
        last = paths[-1]
        step = np.where(last >= 0, nxt[np.maximum(last, 0)], -1)
        step[(last >= 0) & known[np.maximum(last, 0)]] = -1  # a path stops at known fraud
        paths.append(step)
    walk = np.vstack(paths)  # (hops + 1) x customers; -1 after the path ends
    length = (walk[1:] >= 0).sum(axis=0)
    end = walk[length, np.arange(walk.shape[1])] if walk.shape[1] else start
    keep = (length > 0) & known[np.maximum(end, 0)]
    walk, length, end, start = walk[:, keep], length[keep], end[keep], start[keep]
    hop_of, col_of = np.nonzero(walk[1:] >= 0)
    order = np.lexsort((hop_of, col_of))
    hop_of, col_of = hop_of[order], col_of[order]
    described = describe_steps(evidence.links, ids, walk[hop_of, col_of], walk[hop_of + 1, col_of])
    out: dict[int, dict[str, Any]] = {}
    k = 0
    for c, i in enumerate(start.tolist()):
        n_steps = int(length[c])
        out[i] = {"customer": str(ids[end[c]]), "steps": described[k : k + n_steps]}
        k += n_steps
    return out


def fraud_paths(
    evidence: Evidence, known: np.ndarray, ids: np.ndarray, source: int, *, hops: int, limit: int
) -> list[dict[str, Any]]:
    """Shortest evidence paths from one customer to its nearest known-fraud customers.

    Parameters
    ----------
    evidence : Evidence
        The evidence graph (:func:`evidence_graph`).
    known : numpy.ndarray of bool
        Known-fraud flag per customer position.
    ids : numpy.ndarray
        Customer id per position.
    source : int
        Position of the customer.
    hops : int
        Longest path, in customer-to-customer hops.
    limit : int
        Most paths returned (nearest first, ties by id).

    Returns
    -------
    list of dict
        ``to``, ``hops``, ``customers`` (the path) and ``steps`` (what each link is).
    """
    g = evidence.graph
    dist = np.asarray(g.distances(source=[source], mode="all")[0], dtype="float64")
    targets = np.flatnonzero(known & np.isfinite(dist) & (dist <= hops))
    targets = targets[targets != source]
    order = sorted(targets.tolist(), key=lambda t: (dist[t], str(ids[t])))[:limit]
    paths = []
    for t in order:
        path = g.get_shortest_paths(source, to=t, mode="all", output="vpath")[0]
        paths.append(
            {
                "to": str(ids[t]),
                "hops": len(path) - 1,
                "customers": [str(ids[v]) for v in path],
                "steps": describe_steps(
                    evidence.links, ids, np.array(path[:-1]), np.array(path[1:])
                ),
            }
        )
    return paths


@dataclass
class Proximity:
    """Closeness of every customer to known fraud, as the features and the risk use it.

    Attributes
    ----------
    fraud_hops : pandas.arrays.IntegerArray
        Hops to the nearest known-fraud customer over the evidence graph (Int64; null:
        unreachable or none known).
    fraud_proximity : numpy.ndarray
        ``fraud_proximity`` in [0, 1] (NaN when no customer is known fraud).
    hops : numpy.ndarray or None
        ``fraud_hops`` as floats for :func:`~graphprofile.analysis.risk.customer_risk`;
        ``None`` when no customer is known fraud.
    neighbours : dict
        :func:`neighbour_reasons` (customer position → path and links).
    meta : dict
        The evidence graph's thresholds and counts, for ``run.json``.
    share : numpy.ndarray or None
        :func:`link_shares` (``None`` when no customer is known fraud).
    """

    fraud_hops: pd.api.extensions.ExtensionArray
    fraud_proximity: np.ndarray
    hops: np.ndarray | None
    neighbours: dict[int, dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    share: np.ndarray | None = None


def no_proximity(n: int) -> Proximity:
    """:class:`Proximity` of ``n`` customers when none is known fraud."""
    return Proximity(
        fraud_hops=pd.array([pd.NA] * n, dtype="Int64"),
        fraud_proximity=np.full(n, np.nan),
        hops=None,
        neighbours={},
    )


def customer_proximity(
    proj: Projection, known: np.ndarray, *, settings: AnalysisSettings | None = None
) -> Proximity:
    """:func:`fraud_proximity` over the :func:`evidence_graph`, with :func:`neighbour_reasons`.

    Parameters
    ----------
    proj : Projection
        The projections.
    known : numpy.ndarray of bool
        Known-fraud flag per customer position (at least one set).
    settings : AnalysisSettings, optional
        Thresholds of the evidence graph.

    Returns
    -------
    Proximity
    """
    evidence = evidence_graph(proj, settings=settings)
    px = fraud_proximity(evidence.graph, known)
    hops = px["fraud_hops"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64")
    return Proximity(
        fraud_hops=px["fraud_hops"].array,
        fraud_proximity=px["fraud_proximity"].to_numpy(),
        hops=hops,
        neighbours=neighbour_reasons(evidence, px, known, proj.customers.to_numpy()),
        meta=evidence.meta,
        share=link_shares(evidence, hops),
    )
