"""Projections of the canonical graph: the customer relationship graph and the money-flow graph.

The **customer relationship graph** is undirected and weighted. Two customers are linked
by up to four layers, each with its own weight column:

- ``money``: transfers between their accounts (either direction), weighted
  ``2 / ln(2 + d)`` where ``d`` is the larger number of distinct money contacts of the
  two (1.82 for two customers who only pay each other, 0.5 when one of them has ~50
  contacts): an employer paying thousands says little about any one pair, as with
  counterparties below. Measured on a generated 100k bank: community NMI 0.88 with this
  weighting vs 0.70 with ``1 + log(n_txns)``, where payroll hubs merge communities;
- ``devices``: number of shared devices;
- ``identifiers``: number of shared identifiers (email, phone, address, ...);
- ``counterparties``: common counterparties, each contributing ``1 / (n - 1)`` where ``n``
  is the number of customers paying it (resource-allocation weighting: a counterparty
  shared by many says little about any one pair).

The edge ``weight`` is the sum of the layers times the configured layer weights.

A device, identifier or counterparty shared by more than ``K`` customers is a **public
hub** (a shop's Wi-Fi, a placeholder phone number, a utility company): it is reported and
not used as a link. ``K`` is chosen per layer from the data unless fixed in the settings.

The **account money-flow graph** is directed: one edge per ``TRANSFER`` (from, to) pair
with ``total_amount`` and ``n_txns``.

Everything is vectorised with pandas/numpy; pair generation is a self-join on the item
key, bounded by ``K`` (at most ``K**2 / 2`` pairs per item).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import SortedIds, arrow_strings, codes, is_sorted_unique, sorted_codes
from graphprofile.analysis._util import (
    count_threshold,
    distinct_sorted,
    igraph_from_edges,
    run_starts,
    stable_argsort,
)
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.frames import NODE_KEYS, CanonicalGraph

LAYERS = ("money", "devices", "identifiers", "counterparties")


@dataclass
class Projection:
    """The projected graphs and the lookups every job shares.

    Attributes
    ----------
    customers : pandas.Index
        Sorted customer ids; position = vertex id in :attr:`relationship`.
    accounts : pandas.Index
        Sorted account ids; position = vertex id in :attr:`money`.
    account_customer : numpy.ndarray
        Customer position of each account (-1 when the owner is unknown).
    rel_edges : pandas.DataFrame
        ``src, dst`` (customer positions, ``src < dst``), one column per layer, ``weight``.
    relationship : igraph.Graph
        Undirected customer graph of :attr:`rel_edges` (one edge per row, in row order),
        edge attribute ``weight``. Built on first use (:func:`relationship_graph`): with
        the graph worker, only the worker needs it (~1.3 s and ~190 MB at 1M customers).
    money_edges : pandas.DataFrame
        ``src, dst`` (account positions), ``n_txns``, ``total_amount``.
    money : igraph.Graph
        Directed account graph of :attr:`money_edges`, edge attribute ``weight`` (amount;
        ``n_txns`` is in ``money_edges``). Built on first use, like :attr:`relationship`;
        either may be assigned instead.
    links : pandas.DataFrame
        Non-hub shared items: ``cust`` (position), ``item_id``, ``layer``, ``kind``,
        ``n_customers`` (only items with at least two customers).
    hubs : pandas.DataFrame
        Excluded public hubs: ``layer, item_id, kind, n_customers``.
    hub_thresholds : dict
        ``K`` used per layer.
    """

    customers: pd.Index
    accounts: pd.Index
    account_customer: np.ndarray
    rel_edges: pd.DataFrame
    money_edges: pd.DataFrame
    links: pd.DataFrame
    hubs: pd.DataFrame
    hub_thresholds: dict[str, int]

    @cached_property
    def relationship(self) -> ig.Graph:
        """The customer relationship graph (see the class), built on first use."""
        return relationship_graph(len(self.customers), self.rel_edges)

    @cached_property
    def money(self) -> ig.Graph:
        """The account money-flow graph (see the class), built on first use."""
        return money_graph(len(self.accounts), self.money_edges)

    def money_customers(self) -> tuple[np.ndarray, np.ndarray]:
        """Customer positions of each money edge's sending and receiving account.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``a, b`` per row of :attr:`money_edges` (int64; -1 when the owner is unknown).
        """
        me = self.money_edges
        return (
            self.account_customer[me["src"].to_numpy(dtype=np.int64)],
            self.account_customer[me["dst"].to_numpy(dtype=np.int64)],
        )


def _edge(graph: CanonicalGraph, name: str) -> pd.DataFrame | None:
    frame = graph.edges.get(name)
    if frame is None or len(frame) == 0:
        return None
    return frame


def _sorted_unique(parts: list[pd.Series], name: str) -> pd.Index:
    """Sorted unique non-null strings of ``parts`` (Arrow hash + sort; code-point order)."""
    if not parts:
        return pd.Index([], dtype="str", name=name)
    chunks = []
    for part in parts:
        arr = arrow_strings(part)
        chunks += arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    ids = pc.unique(pa.chunked_array(chunks, type=pa.large_string())).drop_null()
    ids = ids.take(pc.sort_indices(ids))
    # Arrow text as the index's array, as it is (a detour through NumPy made a Python
    # string per id: ~0.4 s per million)
    return pd.Index(pd.array(ids, dtype="str"), name=name)


def _node_index(graph: CanonicalGraph, label: str, edges: tuple[str, ...]) -> pd.Index | None:
    """The ``label`` nodes' ids as the index that :func:`_sorted_unique` would build from
    them and the ids of ``edges``, when that is plain: the ids are sorted, unique and never
    null, and the graph builder found every end of those edge tables among the nodes
    (``CanonicalGraph.edge_ends``, held for these very tables). ``None`` otherwise.

    Hashing and sorting every id column again cost ~1.5 s at 1M customers for the accounts.
    """
    nodes = graph.nodes.get(label)
    if nodes is None or len(nodes) < 2:
        return None
    for name in edges:
        frame = _edge(graph, name)
        found = graph.edge_ends.get(name)
        if frame is not None and (found is None or not found.hold_for(frame)):
            return None
    ids = nodes[NODE_KEYS[label]]
    if not is_sorted_unique(ids):  # also False when an id is null
        return None
    arr = arrow_strings(ids)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pd.Index(pd.array(arr.cast(pa.large_string()), dtype="str"), name=NODE_KEYS[label])


def customer_index(graph: CanonicalGraph) -> pd.Index:
    """Sorted, unique customer ids (from the customer nodes and the ``OWNS`` edges)."""
    plain = _node_index(graph, "customer", ("OWNS",))
    if plain is not None:
        return plain
    parts = [graph.nodes["customer"]["customer_id"]] if "customer" in graph.nodes else []
    owns = _edge(graph, "OWNS")
    if owns is not None:
        parts.append(owns["customer_id"])
    return _sorted_unique(parts, "customer_id")


def account_index(graph: CanonicalGraph) -> pd.Index:
    """Sorted, unique account ids (account nodes, owners and transfer ends)."""
    plain = _node_index(graph, "account", ("OWNS", "TRANSFER"))
    if plain is not None:
        return plain
    parts = []
    if "account" in graph.nodes:
        parts.append(graph.nodes["account"]["account_id"])
    for name, cols in (("OWNS", ["account_id"]), ("TRANSFER", ["from_account", "to_account"])):
        frame = _edge(graph, name)
        if frame is not None:
            parts += [frame[c] for c in cols]
    return _sorted_unique(parts, "account_id")


def transaction_accounts(
    graph: CanonicalGraph, accounts: pd.Index
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Position of each transaction's ``from_account`` and ``to_account`` in ``accounts``.

    The graph builder's positions (``CanonicalGraph.transaction_accounts``, in the account
    nodes' sorted ids) when ``accounts`` holds exactly those ids: :func:`account_index` is
    their union with the accounts of the edges, sorted the same way, so equal sizes mean
    equal indexes. Otherwise two lookups of the text columns.

    Returns
    -------
    (numpy.ndarray or None, numpy.ndarray or None)
        int64 positions, -1 where a transaction has no such account; ``None`` without
        transactions (and for ``to_account`` without that column).
    """
    txns = graph.transactions
    if txns is None or len(txns) == 0:
        return None, None
    coded = graph.transaction_accounts
    nodes = graph.nodes.get("account")
    if (
        coded is not None
        and nodes is not None
        and len(nodes) == len(accounts)
        and len(coded[0]) == len(txns)
    ):
        return coded
    src = codes(txns["from_account"], accounts)
    dst = codes(txns["to_account"], accounts) if "to_account" in txns else None
    return src, dst


def _builder_ends(
    graph: CanonicalGraph, name: str, frame: pd.DataFrame, **index_sizes: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The graph builder's positions of the two ends of each row of edge table ``frame``
    (``CanonicalGraph.edge_ends``), when they are the codes the lookups here would give.

    They are positions among the node tables' sorted ids: the same as looking the ids up
    in the node ids (:func:`item_codes`), and in the customer and account indexes when
    each of those (``index_sizes``: node label -> length of the index) has as many ids as
    its node table (:func:`customer_index` and :func:`account_index` are sorted unions of
    the node ids with the ids of edges, so equal sizes mean equal indexes). ``None``
    otherwise (a graph read from a store, an edge table replaced since it was built).
    """
    found = graph.edge_ends.get(name)
    if found is None or not found.hold_for(frame):
        return None
    for label, size in index_sizes.items():
        nodes = graph.nodes.get(label)
        if nodes is None or len(nodes) != size:
            return None
    return found.source, found.target


@dataclass
class _Texts:
    """The text columns of the memberships (``item_id``, ``layer``, ``kind``), kept apart
    from their integer columns: the filters of :func:`project` move integers, and only the
    rows kept as links or hubs get their texts (at 1M customers about 8M membership rows,
    1.2M of them links; taking and repeating every row's strings took ~4 s).

    Part ``j`` is layer ``layers[j]``; ``item_ids[j]`` holds one string per row of that
    layer's edge table, and ``kinds[j]`` too, or one string for all (``one_kind[j]``).
    """

    layers: list[str] = field(default_factory=list)
    item_ids: list[pd.api.extensions.ExtensionArray] = field(default_factory=list)
    kinds: list[pd.api.extensions.ExtensionArray] = field(default_factory=list)
    one_kind: list[bool] = field(default_factory=list)

    def add(self, layer: str, item_id: pd.Series, kind: str | pd.Series) -> int:
        """Register a layer's texts; returns its part number."""
        self.layers.append(layer)
        self.item_ids.append(item_id.astype("str").array)
        self.one_kind.append(isinstance(kind, str))
        self.kinds.append(
            pd.array([kind], dtype="str") if isinstance(kind, str) else kind.astype("str").array
        )
        return len(self.layers) - 1

    def part_of(self, layer: str, part: np.ndarray) -> np.ndarray:
        """Per membership row: is it of ``layer``."""
        if layer not in self.layers:
            return np.zeros(len(part), dtype=bool)
        return part == self.layers.index(layer)

    def columns(self, part: np.ndarray, row: np.ndarray) -> dict[str, pd.Series]:
        """``item_id``, ``layer`` and ``kind`` of the rows ``row`` of parts ``part`` (grouped
        by part in part order, as memberships are)."""
        item_ids, kinds = [], []
        for j in range(len(self.layers)):
            rows = row[part == j]
            item_ids.append(pd.Series(self.item_ids[j].take(rows)))
            at = np.zeros_like(rows) if self.one_kind[j] else rows
            kinds.append(pd.Series(self.kinds[j].take(at)))
        empty = pd.Series([], dtype="str")
        layer = pd.array(self.layers or [""], dtype="str").take(part) if len(part) else empty
        return {
            "item_id": pd.concat(item_ids or [empty], ignore_index=True),
            "layer": pd.Series(layer, dtype="str"),
            "kind": pd.concat(kinds or [empty], ignore_index=True),
        }


def _memberships(
    graph: CanonicalGraph, customers: pd.Index, accounts: pd.Index, acc_cust: np.ndarray
) -> tuple[pd.DataFrame, _Texts]:
    """Customer-item memberships of the three item layers: ``cust, item, part, row`` (the
    layer's part number and row in its edge table), and their texts (:class:`_Texts`)."""
    parts = []
    texts = _Texts()

    def part(cust: np.ndarray, item: np.ndarray, number: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "cust": cust,
                "item": item,
                "part": np.full(len(item), number, dtype=np.int64),
                "row": np.arange(len(item), dtype=np.int64),
            }
        )

    dev = _edge(graph, "USES_DEVICE")
    if dev is not None:
        ends = _builder_ends(graph, "USES_DEVICE", dev, customer=len(customers))
        parts.append(
            part(
                ends[0] if ends else codes(dev["customer_id"], customers),
                ends[1] if ends else item_codes(dev["device_id"], _node_ids(graph, "device")),
                texts.add("devices", dev["device_id"], "device"),
            )
        )
    idf = _edge(graph, "HAS_IDENTIFIER")
    if idf is not None:
        kind = idf["kind"] if "kind" in idf else idf["identifier_id"].str.split(":").str[0]
        ends = _builder_ends(graph, "HAS_IDENTIFIER", idf, customer=len(customers))
        parts.append(
            part(
                ends[0] if ends else codes(idf["customer_id"], customers),
                ends[1]
                if ends
                else item_codes(idf["identifier_id"], _node_ids(graph, "identifier")),
                texts.add("identifiers", idf["identifier_id"], kind),
            )
        )
    pays = _edge(graph, "PAYS")
    if pays is not None:
        ends = _builder_ends(graph, "PAYS", pays, account=len(accounts))
        acc = ends[0] if ends else codes(pays["from_account"], accounts)
        parts.append(
            part(
                np.where(acc >= 0, acc_cust[np.maximum(acc, 0)], -1),
                ends[1]
                if ends
                else item_codes(pays["counterparty_id"], _node_ids(graph, "counterparty")),
                texts.add("counterparties", pays["counterparty_id"], "counterparty"),
            )
        )
    if not parts:
        return part(np.zeros(0, np.int64), np.zeros(0, np.int64), 0), texts
    # Item codes are per layer; shift them so that (layer, item_id) ↔ item one to one.
    offset = 0
    for frame in parts:
        frame["item"] += offset
        offset = int(frame["item"].max()) + 1 if len(frame) else offset
    return _distinct_memberships(parts), texts


def _distinct_memberships(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The layers' rows with a customer (``cust >= 0``), each ``(item, cust)`` pair once at
    its first row, in row order: ``concat(parts)`` filtered and ``drop_duplicates`` on
    ``item, cust`` (items are apart between layers, so pairs repeat only within one).

    A layer whose pairs are already strictly increasing (the builder's device and
    identifier edges come sorted by customer and item) is kept without a sort (at 1M:
    ~2 s of sorting and copying 8M rows).
    """
    kept = []
    for part in parts:
        part = part[part["cust"].to_numpy() >= 0]
        cust, item = part["cust"].to_numpy(), part["item"].to_numpy()
        if not _increasing_pairs(cust, item):
            part = part.iloc[_first_of_pairs(item, cust)]
        kept.append(part)
    return pd.concat(kept, ignore_index=True)


def _increasing_pairs(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the rows' ``(a, b)`` pairs are strictly increasing (so all distinct)."""
    if len(a) < 2:
        return True
    da, db = np.diff(a), np.diff(b)
    return bool(((da > 0) | ((da == 0) & (db > 0))).all())


def _first_of_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row positions of the first occurrence of each distinct ``(a, b)`` pair, in row order:
    ``drop_duplicates(keep="first")`` of two integer columns, from one integer key and one
    sort (pandas hashed each column: 2.7 s of the projections at 1M customers)."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    a = a.astype(np.int64) - int(a.min())
    b = b.astype(np.int64) - int(b.min())
    key = a * (int(b.max()) + 1) + b
    order = stable_argsort(key)
    return np.sort(order[run_starts(key[order])])


def money_graph(accounts: int, money_edges: pd.DataFrame) -> ig.Graph:
    """The directed account money-flow graph of :attr:`Projection.money_edges` (weight:
    ``total_amount``)."""
    money = igraph_from_edges(
        accounts, money_edges["src"].to_numpy(), money_edges["dst"].to_numpy(), directed=True
    )
    money.es["weight"] = money_edges["total_amount"].to_numpy().tolist()
    return money


def relationship_graph(customers: int, rel_edges: pd.DataFrame) -> ig.Graph:
    """The undirected customer relationship graph of :attr:`Projection.rel_edges` (weight:
    ``weight``)."""
    relationship = igraph_from_edges(
        customers, rel_edges["src"].to_numpy(), rel_edges["dst"].to_numpy(), directed=False
    )
    relationship.es["weight"] = rel_edges["weight"].to_numpy().tolist()
    return relationship


def item_codes(values: pd.Series, ids: SortedIds | None = None) -> np.ndarray:
    """Integer codes of item ids (devices, identifiers, counterparties) in text order, nulls -1.

    With ``ids`` (the item nodes' sorted ids), positions there: a hash lookup instead of
    a dictionary of ``values`` sorted anew (:class:`~graphprofile._arrow.SortedIds`); the
    codes then leave gaps for absent ids, which only equality and order ever see.
    """
    return (ids.codes(values) if ids is not None else sorted_codes(values))[0]


def _node_ids(graph: CanonicalGraph, label: str) -> SortedIds | None:
    """The sorted ids of a node table (``None`` when the graph has none)."""
    nodes = graph.nodes.get(label)
    key = NODE_KEYS[label]
    if nodes is None or key not in nodes or len(nodes) == 0:
        return None
    return SortedIds(nodes[key])


def _pairs(links: pd.DataFrame) -> pd.DataFrame:
    """All customer pairs sharing an item: ``src < dst``, ``layer``, ``n_customers``."""
    left = links[["layer", "item_id", "item", "cust", "n_customers"]]
    pairs = left.merge(links[["item", "cust"]], on="item")
    pairs = pairs[pairs["cust_x"] < pairs["cust_y"]]
    return pairs.rename(columns={"cust_x": "src", "cust_y": "dst"})


def project(graph: CanonicalGraph, *, settings: AnalysisSettings | None = None) -> Projection:
    """Build the relationship and money-flow projections of ``graph``.

    Parameters
    ----------
    graph : CanonicalGraph
        The canonical graph.
    settings : AnalysisSettings, optional
        Layer weights and hub threshold; defaults when omitted.

    Returns
    -------
    Projection
        Graphs, edge tables, shared-item links, excluded hubs and thresholds.
    """
    settings = settings or AnalysisSettings()
    customers = customer_index(graph)
    accounts = account_index(graph)
    acc_cust = np.full(len(accounts), -1, dtype=np.int64)
    owns = _edge(graph, "OWNS")
    if owns is not None:
        ends = _builder_ends(graph, "OWNS", owns, customer=len(customers), account=len(accounts))
        pos = ends[1] if ends else codes(owns["account_id"], accounts)
        acc_cust[pos] = ends[0] if ends else codes(owns["customer_id"], customers)

    members, texts = _memberships(graph, customers, accounts, acc_cust)
    item = members["item"].to_numpy()
    part, row = members["part"].to_numpy(), members["row"].to_numpy()
    per_item_count = np.bincount(item) if len(item) else np.zeros(0, dtype=np.int64)
    n_customers = per_item_count[item] if len(item) else item
    thresholds: dict[str, int] = {}
    hub_mask = np.zeros(len(members), dtype=bool)
    for layer in ("devices", "identifiers", "counterparties"):
        in_layer = texts.part_of(layer, part)
        present = np.flatnonzero(np.bincount(item[in_layer], minlength=len(per_item_count)))
        per_item = per_item_count[present]
        k = settings.hub_threshold
        if k is None:
            k = count_threshold(
                per_item, percentile=settings.hub_percentile, floor=settings.hub_floor, min_count=2
            )
        thresholds[layer] = int(k)
        hub_mask |= in_layer & (n_customers > k)
    # each hub once, at its first row (an item is one (layer, item_id))
    at = np.flatnonzero(hub_mask)
    at = at[np.sort(np.unique(item[at], return_index=True)[1])]
    hub_texts = texts.columns(part[at], row[at])
    hubs = (
        pd.DataFrame(
            {
                "layer": hub_texts["layer"],
                "item_id": hub_texts["item_id"],
                "kind": hub_texts["kind"],
                "n_customers": n_customers[at],
            }
        )
        .sort_values(["layer", "n_customers", "item_id"], ascending=[True, False, True])
        .reset_index(drop=True)
    )
    at = np.flatnonzero(~hub_mask & (n_customers >= 2))
    link_texts = texts.columns(part[at], row[at])
    links = pd.DataFrame(
        {
            "cust": members["cust"].to_numpy()[at],
            "item_id": link_texts["item_id"],
            "item": item[at],
            "layer": link_texts["layer"],
            "kind": link_texts["kind"],
            "n_customers": n_customers[at],
        }
    )

    # money-flow graph between accounts
    transfer = _edge(graph, "TRANSFER")
    if transfer is not None:
        ends = _builder_ends(graph, "TRANSFER", transfer, account=len(accounts))
        money_edges = pd.DataFrame(
            {
                "src": ends[0] if ends else codes(transfer["from_account"], accounts),
                "dst": ends[1] if ends else codes(transfer["to_account"], accounts),
                "n_txns": transfer["n_txns"].to_numpy(dtype="int64"),
                "total_amount": transfer["total_amount"].to_numpy(dtype="float64"),
            }
        )
        key = money_edges["src"].to_numpy() * len(accounts) + money_edges["dst"].to_numpy()
        if len(key) and not bool((np.diff(key) > 0).all()):  # the builder's are sorted pairs
            money_edges = (
                money_edges.groupby(["src", "dst"], as_index=False, sort=True)
                .sum()
                .reset_index(drop=True)
            )
    else:
        money_edges = pd.DataFrame({"src": [], "dst": [], "n_txns": [], "total_amount": []}).astype(
            {"src": "int64", "dst": "int64", "n_txns": "int64", "total_amount": "float64"}
        )
    return Projection(
        customers=customers,
        accounts=accounts,
        account_customer=acc_cust,
        rel_edges=_relationship_edges(money_edges, acc_cust, links, settings),
        money_edges=money_edges,
        links=links,
        hubs=hubs,
        hub_thresholds=thresholds,
    )


def sum_by_pair(edges: pd.DataFrame) -> pd.DataFrame:
    """``edges.groupby(["src", "dst"], as_index=False, sort=True).sum()`` of integer pair
    columns and float value columns, from one integer key and ``numpy.bincount``.

    Where no pair has more than two rows (a relationship edge's money row and shared-item
    row; fraud proximity's customer pairs, one per account pair where each customer has one
    account), pandas' compensated sum of one or two values is their plain sum in row order,
    which is what ``bincount`` adds, so the values are the same bits (pandas hashed two key
    columns: ~2 s at 1M customers); with more, pandas' own groupby. Value columns come
    back as float64 from ``bincount`` (integer ones too).
    """
    src = edges["src"].to_numpy().astype(np.int64)
    dst = edges["dst"].to_numpy().astype(np.int64)
    n = int(dst.max()) + 1 if len(dst) else 1
    pair, counts, where = distinct_sorted(src * n + dst, inverse=True)
    if len(counts) and int(counts.max()) > 2:  # not the money + items rows assumed above
        return edges.groupby(["src", "dst"], as_index=False, sort=True).sum()
    out = {"src": pair // n, "dst": pair % n}
    for col in edges.columns.drop(["src", "dst"]):
        out[col] = np.bincount(where, weights=edges[col].to_numpy(), minlength=len(pair))
    return pd.DataFrame(out, copy=False)  # the fresh columns as they are: no 2-D block copy


def _relationship_edges(
    money_edges: pd.DataFrame,
    acc_cust: np.ndarray,
    links: pd.DataFrame,
    settings: AnalysisSettings,
) -> pd.DataFrame:
    """Per-layer weights of every customer pair, summed into ``weight``."""
    parts = []
    if len(money_edges):
        a = acc_cust[money_edges["src"].to_numpy()]
        b = acc_cust[money_edges["dst"].to_numpy()]
        ok = (a >= 0) & (b >= 0) & (a != b)
        lo, hi = np.minimum(a, b)[ok].astype(np.int64), np.maximum(a, b)[ok].astype(np.int64)
        # the distinct customer pairs, in (src, dst) order
        n_c = int(hi.max()) + 1 if len(hi) else 1
        pair = distinct_sorted(lo * n_c + hi, overwrite=True)[0]
        m = pd.DataFrame({"src": pair // n_c, "dst": pair % n_c})
        deg = np.bincount(np.r_[m["src"].to_numpy(), m["dst"].to_numpy()])
        big = np.maximum(deg[m["src"].to_numpy()], deg[m["dst"].to_numpy()])
        m["money"] = 2.0 / np.log(2.0 + big)
        parts.append(m)
    used = [layer for layer in LAYERS[1:] if settings.layer_weights[layer] > 0]
    links = links[links["layer"].isin(used)]
    if len(links):
        pairs = _pairs(links)
        per_item = np.where(
            pairs["layer"].to_numpy() == "counterparties",
            1.0 / (pairs["n_customers"].to_numpy(dtype="float64") - 1.0),
            1.0,
        )
        pairs = pairs.assign(w=per_item)
        wide = pairs.pivot_table(
            index=["src", "dst"], columns="layer", values="w", aggfunc="sum", fill_value=0.0
        ).reset_index()
        wide.columns.name = None
        parts.append(wide)
    cols = ["src", "dst", *LAYERS]
    if not parts:
        out = pd.DataFrame(
            {
                c: pd.Series([], dtype="int64" if c in ("src", "dst") else "float64")
                for c in [*cols, "weight"]
            }
        )
        return out
    edges = pd.concat(parts, ignore_index=True)
    for layer in LAYERS:
        if layer not in edges:
            edges[layer] = 0.0
    edges = sum_by_pair(edges[cols].fillna(0.0))
    weight = np.zeros(len(edges))
    for layer in LAYERS:
        weight += settings.layer_weights[layer] * edges[layer].to_numpy()
    edges["weight"] = weight
    edges = edges[edges["weight"] > 0].reset_index(drop=True)
    edges[["src", "dst"]] = edges[["src", "dst"]].astype("int64")
    return edges
