"""Load a :class:`~graphprofile.frames.CanonicalGraph` into a store, idempotently."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from graphprofile.errors import StoreError
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, CanonicalGraph
from graphprofile.store.base import Store, frame_to_rows
from graphprofile.store.cypher import statement

#: Graph label of each canonical node table.
NODE_LABELS = {
    "customer": "Customer",
    "account": "Account",
    "device": "Device",
    "identifier": "Identifier",
    "counterparty": "Counterparty",
}

#: ``progress(table, rows_done, rows_total)`` after every batch.
Progress = Callable[[str, int, int], None]


def node_rows(table: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows ``{key: id, props: {...}}`` for ``cypher/load/nodes_<table>.cypher``.

    Raises
    ------
    StoreError
        A key is missing, a column name is unsafe or a value cannot be a property.
    """
    key = NODE_KEYS[table]
    if key not in frame.columns:
        raise StoreError(f"node table {table!r} has no key column {key!r}")
    if frame[key].isna().any():
        raise StoreError(f"node table {table!r} has {int(frame[key].isna().sum())} null {key}s")
    rows = frame_to_rows(frame, table=table)
    return [{key: r.pop(key), "props": r} for r in rows]


def edge_rows(rel: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows ``{src_col, dst_col, props: {...}}`` for ``cypher/load/edges_<rel>.cypher``.

    Raises
    ------
    StoreError
        An end column is missing or null, or a value cannot be a property.
    """
    _, src, _, dst = EDGE_ENDS[rel]
    for col in (src, dst):
        if col not in frame.columns:
            raise StoreError(f"edge table {rel!r} has no column {col!r}")
        if frame[col].isna().any():
            raise StoreError(f"edge table {rel!r} has {int(frame[col].isna().sum())} null {col}s")
    rows = frame_to_rows(frame, table=rel)
    return [{src: r.pop(src), dst: r.pop(dst), "props": r} for r in rows]


def load_graph(
    store: Store,
    graph: CanonicalGraph,
    *,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the canonical graph with batched ``UNWIND … MERGE`` statements.

    Node tables are written first, then relationship tables, one batch at a time (never
    two relationship batches at once: writing a relationship locks both end nodes).
    Every statement is a ``MERGE`` on the key with ``SET += props``, so loading the same
    graph again changes nothing, and re-running a load that was interrupted completes it.
    Run :func:`graphprofile.store.apply_schema` first, or every ``MERGE`` scans its label.

    Parameters
    ----------
    store : Store
        Open store.
    graph : CanonicalGraph
        Node and edge tables (transactions are not loaded: edges carry their aggregates).
    batch_size : int, default 10000
        Rows per transaction.
    progress : callable, optional
        ``progress(table, rows_done, rows_total)`` after every batch.

    Returns
    -------
    dict
        ``tables``: per table ``rows`` (sent), ``written`` (reported by the database; fewer
        than ``rows`` for relationships whose end nodes are missing), ``seconds`` and
        ``rows_per_s``; plus ``nodes``, ``relationships``, ``seconds``, ``rows_per_s`` and
        ``batch_size``.

    Raises
    ------
    StoreError
        A statement failed; the message names the table and how many rows were committed.
    """
    if batch_size < 1:
        raise StoreError(f"--batch-size must be at least 1, got {batch_size}")
    tables: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    jobs: list[tuple[str, str, list[dict[str, Any]]]] = []
    for table in NODE_KEYS:
        frame = graph.nodes.get(table)
        if frame is not None:
            jobs.append((table, f"load/nodes_{table}", node_rows(table, frame)))
    for rel in EDGE_ENDS:
        frame = graph.edges.get(rel)
        if frame is not None:
            jobs.append((rel, f"load/edges_{rel.lower()}", edge_rows(rel, frame)))
    for table, name, rows in jobs:
        tables[table] = _write_table(store, table, name, rows, batch_size, progress)
    seconds = time.perf_counter() - started
    n_nodes = sum(tables[t]["written"] for t in NODE_KEYS if t in tables)
    n_rels = sum(tables[t]["written"] for t in EDGE_ENDS if t in tables)
    return {
        "tables": tables,
        "nodes": n_nodes,
        "relationships": n_rels,
        "seconds": round(seconds, 3),
        "rows_per_s": round((n_nodes + n_rels) / seconds, 1) if seconds > 0 else None,
        "batch_size": batch_size,
    }


def _write_table(
    store: Store,
    table: str,
    name: str,
    rows: list[dict[str, Any]],
    batch_size: int,
    progress: Progress | None,
) -> dict[str, Any]:
    query = statement(name)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(table, done, len(rows))

    t0 = time.perf_counter()
    if progress is not None:
        progress(table, 0, len(rows))
    try:
        written = store.write_batches(query, rows, batch_size, progress=step)
    except StoreError as exc:
        raise StoreError(
            f"loading {table} stopped after {done} of {len(rows)} rows: {exc}. "
            "Loading is idempotent: run the same load again to complete it"
        ) from None
    seconds = time.perf_counter() - t0
    return {
        "rows": len(rows),
        "written": written,
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(rows) / seconds, 1) if seconds > 0 else None,
    }
