"""Rebuild a :class:`~graphprofile.frames.CanonicalGraph` from a store (paged reads)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphprofile.errors import StoreError
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, TABLES, CanonicalGraph
from graphprofile.store.base import Store
from graphprofile.store.cypher import statement
from graphprofile.store.load import NODE_LABELS, TXN_LISTS, TXN_TARGETS

#: Canonical column order of each node/edge table (extra properties follow, sorted).
COLUMNS: dict[str, list[str]] = {
    "customer": ["customer_id", "name", "segment", "known_fraud"],
    "account": ["account_id", "customer_id", "opened_at", "account_type"],
    "device": ["device_id", "n_customers", "n_uses"],
    "identifier": ["identifier_id", "kind", "n_customers"],
    "counterparty": ["counterparty_id", "name", "kind"],
    "OWNS": ["customer_id", "account_id"],
    "USES_DEVICE": ["customer_id", "device_id", "n_uses", "first_seen", "last_seen"],
    "HAS_IDENTIFIER": ["customer_id", "identifier_id", "kind"],
    "TRANSFER": ["from_account", "to_account", "n_txns", "total_amount", "first_ts", "last_ts"],
    "PAYS": ["from_account", "counterparty_id", "n_txns", "total_amount", "first_ts", "last_ts"],
}
#: Properties stored as ISO 8601 text that come back as UTC timestamps.
TS_COLUMNS = {"opened_at", "first_seen", "last_seen", "first_ts", "last_ts", "seen_at"}
BOOL_COLUMNS = {"known_fraud"}
INT_COLUMNS = {"n_customers", "n_uses", "n_txns"}
FLOAT_COLUMNS = {"total_amount"}
#: Source table behind each node table (the names ``CanonicalGraph.present`` uses).
SOURCE_TABLES = {
    "customer": "customers",
    "account": "accounts",
    "device": "devices",
    "identifier": "identifiers",
    "counterparty": "counterparties",
}
#: Property prefix of analysis results written back; never part of the canonical graph.
RESULT_PREFIX = "gp_"


def read_graph(store: Store, *, page_size: int = 50_000) -> CanonicalGraph:
    """Read the canonical graph back from a store.

    Nodes are read in pages ordered by key (keyset paging on the indexed key), then the
    relationships leaving each page of source nodes. ``gp_`` properties (written-back
    results) are dropped. ``transactions`` is rebuilt from the per-transaction lists that
    :func:`~graphprofile.store.load_graph` keeps on ``TRANSFER``/``PAYS`` relationships
    (``txn_ids``, ``amounts``, ``ts``, ``currencies``); it is empty, with the canonical
    columns, for a graph whose relationships carry no such lists. FalkorDB returns floats
    with 15 significant digits, so amounts with more digits come back rounded.

    Parameters
    ----------
    store : Store
        Open store holding a graph loaded by :func:`graphprofile.store.load_graph` (or
        maintained by another system with the same labels, keys and properties).
    page_size : int, default 50000
        Nodes per read query (and source nodes per relationship query).

    Returns
    -------
    CanonicalGraph
        Tables with canonical columns first, rows ordered by key (edges by both ends);
        transactions ordered by ``ts``, ``from_account``, ``txn_id``; ``present`` names the
        source tables whose nodes exist, and ``transactions`` when any were stored.

    Raises
    ------
    StoreError
        A read failed, or a relationship's transaction lists differ in length.
    """
    nodes: dict[str, pd.DataFrame] = {}
    for table, key in NODE_KEYS.items():
        nodes[table] = _read_nodes(store, table, key, page_size)
    edges: dict[str, pd.DataFrame] = {}
    money: list[pd.DataFrame] = []
    for rel, (src_table, src_col, dst_table, dst_col) in EDGE_ENDS.items():
        keys = nodes[src_table][NODE_KEYS[src_table]].tolist()
        edges[rel], lists = _read_edges(
            store, rel, src_table, src_col, dst_table, dst_col, keys, page_size
        )
        if rel in TXN_TARGETS:
            money.append(_transactions(rel, lists))
    transactions = _concat_transactions(money)
    # Source tables the graph evidently came from (Frames.present vocabulary).
    present = {SOURCE_TABLES[t] for t, f in nodes.items() if len(f)}
    if len(transactions):
        present.add("transactions")
    return CanonicalGraph(nodes=nodes, edges=edges, transactions=transactions, present=present)


def _read_nodes(store: Store, table: str, key: str, page_size: int) -> pd.DataFrame:
    query = statement("read/nodes", LABEL=NODE_LABELS[table], KEY=key)
    records: list[dict[str, Any]] = []
    after: Any = None
    while True:
        page = store.run(query, {"after": after, "limit": page_size})
        if page.empty:
            break
        records.extend(_props(p) for p in page["props"])
        after = page["key"].iloc[-1]
        if len(page) < page_size:
            break
    return _frame(table, records, sort=[key])


def _read_edges(
    store: Store,
    rel: str,
    src_table: str,
    src_col: str,
    dst_table: str,
    dst_col: str,
    keys: list[Any],
    page_size: int,
) -> tuple[pd.DataFrame, list[tuple[Any, Any, dict[str, Any]]]]:
    query = statement(
        "read/edges",
        SRC=NODE_LABELS[src_table],
        SRC_KEY=NODE_KEYS[src_table],
        TYPE=rel,
        DST=NODE_LABELS[dst_table],
        DST_KEY=NODE_KEYS[dst_table],
    )
    records: list[dict[str, Any]] = []
    lists: list[tuple[Any, Any, dict[str, Any]]] = []
    for start in range(0, len(keys), page_size):
        page = store.run(query, {"keys": keys[start : start + page_size]})
        for src, dst, props in page[["src", "dst", "props"]].itertuples(index=False):
            record = _props(props)
            found = {k: record.pop(k) for k in TXN_LISTS if k in record}
            if found and rel in TXN_TARGETS:
                lists.append((src, dst, found))
            record.update({src_col: src, dst_col: dst})
            records.append(record)
    return _frame(rel, records, sort=[src_col, dst_col]), lists


def _transactions(rel: str, lists: list[tuple[Any, Any, dict[str, Any]]]) -> pd.DataFrame:
    """Individual transactions from the parallel lists on ``rel`` relationships."""
    lengths = np.zeros(len(lists), dtype=np.int64)
    flat: dict[str, list[Any]] = {name: [] for name in TXN_LISTS}
    for i, (src, dst, found) in enumerate(lists):
        sizes = {len(found.get(name) or []) for name in TXN_LISTS}
        if len(sizes) != 1:
            raise StoreError(
                f"{rel} relationship {src!r} -> {dst!r} has transaction lists of different "
                f"lengths ({', '.join(TXN_LISTS)}); reload the graph with graphprofile load"
            )
        lengths[i] = sizes.pop()
        for name in TXN_LISTS:
            flat[name].extend(found.get(name) or [])
    srcs = np.repeat(np.array([x[0] for x in lists], dtype=object), lengths)
    dsts = np.repeat(np.array([x[1] for x in lists], dtype=object), lengths)
    target = TXN_TARGETS[rel]
    other = "to_counterparty" if target == "to_account" else "to_account"
    frame = pd.DataFrame(
        {
            "txn_id": _blank_to_null(flat["txn_ids"]),
            "from_account": pd.array(srcs, dtype="string"),
            target: pd.array(dsts, dtype="string"),
            other: pd.array([None] * len(srcs), dtype="string"),
            "amount": pd.array(flat["amounts"], dtype="float64"),
            "currency": _blank_to_null(flat["currencies"]),
            "ts": pd.to_datetime(pd.Series(flat["ts"], dtype=object), utc=True, format="ISO8601"),
        }
    )
    return frame[list(TABLES["transactions"])]


def _blank_to_null(values: list[Any]) -> pd.Series:
    """Text column where ``""`` (stored for a missing value: lists hold no nulls) is null."""
    text = pd.Series(values, dtype="string")
    return text.mask(text == "")


def _concat_transactions(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TABLES["transactions"]})
    frame = pd.concat(parts, ignore_index=True)
    frame["ts"] = frame["ts"].astype("datetime64[ns, UTC]")
    order = ["ts", "from_account", "txn_id"]
    return frame.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


def _props(value: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(value).items() if not k.startswith(RESULT_PREFIX)}


def _frame(table: str, records: list[dict[str, Any]], *, sort: list[str]) -> pd.DataFrame:
    canonical = COLUMNS[table]
    extra = sorted({k for r in records for k in r} - set(canonical))
    frame = pd.DataFrame.from_records(records, columns=canonical + extra)
    for col in frame.columns:
        if col in TS_COLUMNS:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        elif col in BOOL_COLUMNS:
            frame[col] = frame[col].astype("boolean")
        elif col in INT_COLUMNS:
            frame[col] = frame[col].astype("Int64")
        elif col in FLOAT_COLUMNS:
            frame[col] = frame[col].astype("float64")
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)
