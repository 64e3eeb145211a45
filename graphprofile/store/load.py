"""Load a :class:`~graphprofile.frames.CanonicalGraph` into a store, idempotently."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from graphprofile.errors import StoreError
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, CanonicalGraph
from graphprofile.store.base import Progress, RowProgress, Store
from graphprofile.store.cypher import statement
from graphprofile.store.rows import column_array, frame_to_table, table_to_dicts

#: Graph label of each canonical node table.
NODE_LABELS = {
    "customer": "Customer",
    "account": "Account",
    "device": "Device",
    "identifier": "Identifier",
    "counterparty": "Counterparty",
}

#: Per-transaction detail kept on every ``TRANSFER``/``PAYS`` relationship: list property
#: → transaction column. The lists run in the same order (by ``ts``, then ``txn_id``) and
#: hold no nulls: a missing ``txn_id`` or ``currency`` is stored as ``""``.
TXN_LISTS = {"txn_ids": "txn_id", "amounts": "amount", "ts": "ts", "currencies": "currency"}
#: Target column of the transactions table behind each money-flow relationship.
TXN_TARGETS = {"TRANSFER": "to_account", "PAYS": "to_counterparty"}


@dataclass
class LoadJob:
    """One table to write: its name, the ``cypher/`` statement and the rows as Arrow."""

    table: str
    statement: str
    rows: pa.Table
    nodes: bool


def node_table(table: str, frame: pd.DataFrame) -> pa.Table:
    """Rows ``{key: id, props: {...}}`` for ``cypher/load/nodes_<table>.cypher`` as Arrow.

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
    return frame_to_table(frame, table=table, top=[key])


def edge_table(rel: str, frame: pd.DataFrame, transactions: pd.DataFrame | None = None) -> pa.Table:
    """Rows ``{src_col, dst_col, props: {...}}`` for ``cypher/load/edges_<rel>.cypher``.

    ``TRANSFER`` and ``PAYS`` rows also get the :data:`TXN_LISTS` properties built from
    ``transactions`` (null, i.e. not stored, for a pair without transactions).

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
    extra = None
    if rel in TXN_TARGETS and transactions is not None:
        extra = transaction_lists(frame[[src, dst]], transactions, TXN_TARGETS[rel], dst)
    return frame_to_table(frame, table=rel, top=[src, dst], extra=extra)


def transaction_lists(
    ends: pd.DataFrame, transactions: pd.DataFrame, target: str, dst: str
) -> dict[str, pa.Array]:
    """The :data:`TXN_LISTS` of every edge in ``ends`` (vectorised: sort, offsets, take).

    Parameters
    ----------
    ends : pandas.DataFrame
        Edge rows: ``from_account`` and ``dst``.
    transactions : pandas.DataFrame
        Canonical transactions.
    target : str
        Transaction column the edge's end comes from (``to_account``/``to_counterparty``).
    dst : str
        Name of the end column in ``ends``.

    Returns
    -------
    dict of str to pyarrow.ListArray
        One list per edge row, aligned with ``ends``; null where the pair has no transaction.

    Raises
    ------
    StoreError
        Transactions lack a column.
    """
    needed = ["from_account", target, *TXN_LISTS.values()]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise StoreError(f"transactions have no column(s) {missing}")
    sel = transactions.loc[transactions[target].notna(), needed]
    sel = sel.sort_values(["from_account", target, "ts", "txn_id"], kind="stable")
    frm = sel["from_account"].to_numpy(dtype=object)
    to = sel[target].to_numpy(dtype=object)
    n = len(sel)
    change = np.ones(n, dtype=bool)
    if n:
        change[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
    starts = np.flatnonzero(change)
    offsets = pa.array(np.append(starts, n).astype(np.int32))
    groups = np.arange(len(starts))
    keys = pd.DataFrame({"from_account": frm[starts], dst: to[starts], "_group": groups})
    aligned = ends.astype(object).merge(keys, how="left", on=["from_account", dst])
    take = pa.array(aligned["_group"].to_numpy(dtype="float64"), from_pandas=True)
    take = take.cast(pa.int64())
    values = {}
    for name, col in TXN_LISTS.items():
        column = sel[col] if col in ("amount", "ts") else sel[col].fillna("")
        values[name] = column_array(column, table="transactions", column=col)
    if values["amounts"].null_count or values["ts"].null_count:
        raise StoreError("transactions with a null amount or ts cannot be stored on edges")
    return {name: pa.ListArray.from_arrays(offsets, arr).take(take) for name, arr in values.items()}


def node_rows(table: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows ``{key: id, props: {...}}`` as plain dicts (see :func:`node_table`)."""
    return table_to_dicts(node_table(table, frame))


def edge_rows(rel: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows ``{src_col, dst_col, props: {...}}`` as plain dicts (see :func:`edge_table`)."""
    return table_to_dicts(edge_table(rel, frame))


def prepare_rows(graph: CanonicalGraph) -> list[LoadJob]:
    """Every node table, then every relationship table, as Arrow parameter rows.

    Raises
    ------
    StoreError
        A key is missing or null, a column name is unsafe or a value cannot be a property.
    """
    jobs: list[LoadJob] = []
    for table in NODE_KEYS:
        frame = graph.nodes.get(table)
        if frame is not None:
            jobs.append(LoadJob(table, f"load/nodes_{table}", node_table(table, frame), True))
    txns = graph.transactions
    has_txns = txns is not None and len(txns) > 0
    for rel in EDGE_ENDS:
        frame = graph.edges.get(rel)
        if frame is not None:
            rows = edge_table(rel, frame, txns if has_txns else None)
            jobs.append(LoadJob(rel, f"load/edges_{rel.lower()}", rows, False))
    return jobs


def load_graph(
    store: Store,
    graph: CanonicalGraph,
    *,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Write the canonical graph with batched ``UNWIND … MERGE`` statements.

    Node tables are written first — with ``workers > 1``, tables of different labels at
    the same time, each on its own connection — then relationship tables, one batch at a
    time (never two relationship batches at once: writing a relationship locks both end
    nodes). ``TRANSFER``/``PAYS`` relationships also carry their individual transactions
    as parallel lists (:data:`TXN_LISTS`), so :func:`~graphprofile.store.read_graph` can
    rebuild them. Every statement is a ``MERGE`` on the key with ``SET += props``, so loading
    the same graph again changes nothing, and re-running an interrupted load completes it.
    Run :func:`graphprofile.store.apply_schema` first, or every ``MERGE`` scans its label.

    Parameters
    ----------
    store : Store
        Open store.
    graph : CanonicalGraph
        Node and edge tables and the transactions behind ``TRANSFER``/``PAYS``.
    batch_size : int, default 10000
        Rows per transaction.
    progress : callable, optional
        ``progress(table, rows_done, rows_total)`` after every batch (from worker threads
        when ``workers > 1``).
    workers : int, default 1
        Node tables written concurrently.

    Returns
    -------
    dict
        ``tables``: per table ``rows`` (sent), ``written`` (reported by the database; fewer
        than ``rows`` for relationships whose end nodes are missing), ``seconds`` and
        ``rows_per_s``; plus ``nodes``, ``relationships``, ``seconds``, ``rows_per_s``,
        ``prepare_seconds``, ``batch_size`` and ``workers``.

    Raises
    ------
    StoreError
        A statement failed; the message names the tables completed, the rows committed of
        the table that stopped, and says to run the same load again.
    """
    if batch_size < 1:
        raise StoreError(f"--batch-size must be at least 1, got {batch_size}")
    if workers < 1:
        raise StoreError(f"workers must be at least 1, got {workers}")
    started = time.perf_counter()
    jobs = prepare_rows(graph)
    prepared = time.perf_counter() - started
    tracker = _Tracker({j.table: j.rows.num_rows for j in jobs}, progress)
    tables: dict[str, dict[str, Any]] = {}
    node_jobs = [j for j in jobs if j.nodes]
    edge_jobs = [j for j in jobs if not j.nodes]
    try:
        if workers > 1 and len(node_jobs) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gp-load") as pool:
                futures = [
                    pool.submit(_write_table, store, j, batch_size, tracker) for j in node_jobs
                ]
                errors = []
                for job, future in zip(node_jobs, futures, strict=True):
                    try:
                        tables[job.table] = future.result()
                    except StoreError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
        else:
            for job in node_jobs:
                tables[job.table] = _write_table(store, job, batch_size, tracker)
        for job in edge_jobs:
            tables[job.table] = _write_table(store, job, batch_size, tracker)
    except StoreError as exc:
        raise StoreError(f"{tracker.report(exc)}. {_RESUME}") from None
    seconds = time.perf_counter() - started
    n_nodes = sum(tables[t]["written"] for t in NODE_KEYS if t in tables)
    n_rels = sum(tables[t]["written"] for t in EDGE_ENDS if t in tables)
    return {
        "tables": {j.table: tables[j.table] for j in jobs},
        "nodes": n_nodes,
        "relationships": n_rels,
        "seconds": round(seconds, 3),
        "rows_per_s": round((n_nodes + n_rels) / seconds, 1) if seconds > 0 else None,
        "prepare_seconds": round(prepared, 3),
        "batch_size": batch_size,
        "workers": workers,
    }


_RESUME = (
    "Nothing committed is lost and loading is idempotent: run the same load command again "
    "(once the database is reachable) to complete it"
)


class _Tracker(RowProgress):
    """Rows committed per table (thread-safe), for progress and for error messages."""

    def __init__(self, totals: dict[str, int], progress: Progress | None) -> None:
        super().__init__(totals, progress)
        self.finished: list[str] = []
        self.failed: dict[str, str] = {}

    def finish(self, table: str) -> None:
        with self._lock:
            self.finished.append(table)

    def fail(self, table: str, message: str) -> None:
        with self._lock:
            self.failed[table] = message

    def report(self, exc: StoreError) -> str:
        with self._lock:
            completed = [t for t in self.totals if t in self.finished]
            parts = []
            for table, message in self.failed.items():
                parts.append(
                    f"loading {table} stopped after {self.done[table]:,} of "
                    f"{self.totals[table]:,} rows: {message}"
                )
            if not parts:
                parts.append(str(exc))
            stopped = set(self.failed)
            partial = [
                f"{t} ({self.done[t]:,} of {self.totals[t]:,} rows)"
                for t in self.totals
                if t not in completed and t not in stopped and self.done[t]
            ]
            pending = [
                t
                for t in self.totals
                if t not in completed and t not in stopped and not self.done[t]
            ]
        text = "; ".join(parts)
        text += f". Completed tables: {', '.join(completed) if completed else 'none'}"
        if partial:
            text += f"; partly written: {', '.join(partial)}"
        if pending:
            text += f"; not started: {', '.join(pending)}"
        return text


def _write_table(store: Store, job: LoadJob, batch_size: int, tracker: _Tracker) -> dict[str, Any]:
    query = statement(job.statement)
    t0 = time.perf_counter()
    try:
        written = store.write_batches(
            query, job.rows, batch_size, progress=tracker.batches(job.table)
        )
    except StoreError as exc:
        tracker.fail(job.table, str(exc))
        raise
    tracker.finish(job.table)
    seconds = time.perf_counter() - t0
    n = job.rows.num_rows
    return {
        "rows": n,
        "written": written,
        "seconds": round(seconds, 3),
        "rows_per_s": round(n / seconds, 1) if seconds > 0 else None,
    }
