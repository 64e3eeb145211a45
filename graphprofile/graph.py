"""Graph stage: canonical frames → the canonical property graph, and its Parquet snapshot.

Aggregations group on integer pair codes; there are no Python loops over rows.
The snapshot is deterministic: every table is sorted by its key columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from graphprofile.frames import EDGE_ENDS, NODE_KEYS, CanonicalGraph, Frames
from graphprofile.sinks.tables import write_table


def group_pairs(
    left: pd.Series, right: pd.Series, values: dict[str, pd.Series], **aggs: tuple[str, str]
) -> pd.DataFrame:
    """Aggregate ``values`` per (left, right) pair, sorted by the pair.

    Both id columns are factorised once (sorted, so code order is string order) and the
    groupby runs on one int64 pair key, which is many times faster than grouping on text.
    ``aggs`` are pandas named aggregations over ``values``'s keys.
    """
    lcodes, luniq = pd.factorize(left, sort=True)
    rcodes, runiq = pd.factorize(right, sort=True)
    width = max(len(runiq), 1)
    key = lcodes.astype(np.int64) * width + rcodes
    frame = pd.DataFrame({name: col.reset_index(drop=True) for name, col in values.items()})
    frame["_key"] = key
    agg = frame.groupby("_key", sort=True).agg(**aggs)
    k = agg.index.to_numpy()
    out = pd.DataFrame(
        {
            str(left.name): pd.array(luniq.take(k // width), dtype="string"),
            str(right.name): pd.array(runiq.take(k % width), dtype="string"),
        }
    )
    for column in agg.columns:
        out[column] = agg[column].to_numpy() if agg[column].dtype.kind != "M" else agg[column].array
    return out


def _flows(txns: pd.DataFrame, target: str) -> pd.DataFrame:
    """Aggregate transactions per (from_account, target) pair."""
    sel = txns[txns[target].notna()]
    out = group_pairs(
        sel["from_account"],
        sel[target],
        {"amount": sel["amount"], "ts": sel["ts"]},
        n_txns=("amount", "size"),
        total_amount=("amount", "sum"),
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
    )
    out["n_txns"] = out["n_txns"].astype("int64")
    out["first_ts"] = out["first_ts"].astype("datetime64[ns, UTC]")
    out["last_ts"] = out["last_ts"].astype("datetime64[ns, UTC]")
    return out


def build_graph(frames: Frames) -> CanonicalGraph:
    """Build the canonical graph (node and edge tables) from validated frames.

    Parameters
    ----------
    frames : Frames
        Output of :func:`graphprofile.ingest.load_frames`.

    Returns
    -------
    CanonicalGraph
        Nodes ``customer, account, device, identifier, counterparty``; edges ``OWNS,
        USES_DEVICE, HAS_IDENTIFIER, TRANSFER`` (aggregated per account pair with
        n_txns, total_amount, first_ts, last_ts) and ``PAYS`` (likewise per account →
        counterparty), plus the individual transactions.
    """
    customers = frames.customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    accounts = frames.accounts.sort_values("account_id", kind="stable").reset_index(drop=True)

    dev = frames.devices
    uses = group_pairs(
        dev["customer_id"],
        dev["device_id"],
        {"seen_at": dev["seen_at"]},
        n_uses=("seen_at", "size"),
        first_seen=("seen_at", "min"),
        last_seen=("seen_at", "max"),
    )
    uses["n_uses"] = uses["n_uses"].astype("int64")
    devices = (
        uses.groupby("device_id", sort=True)
        .agg(n_customers=("customer_id", "nunique"), n_uses=("n_uses", "sum"))
        .reset_index()
    )

    idf = frames.identifiers.dropna(subset=["value"])
    has_id = pd.DataFrame(
        {
            "customer_id": idf["customer_id"].astype("string"),
            "identifier_id": (idf["kind"] + ":" + idf["value"]).astype("string"),
            "kind": idf["kind"].astype("string"),
        }
    ).drop_duplicates(["customer_id", "identifier_id"])
    has_id = has_id.sort_values(["customer_id", "identifier_id"], kind="stable").reset_index(
        drop=True
    )
    identifiers = (
        has_id.groupby(["identifier_id", "kind"], sort=True)
        .agg(n_customers=("customer_id", "nunique"))
        .reset_index()
    )

    counterparties = frames.counterparties.sort_values("counterparty_id", kind="stable")
    txns = frames.transactions
    edges = {
        "OWNS": accounts[["customer_id", "account_id"]]
        .sort_values(["customer_id", "account_id"], kind="stable")
        .reset_index(drop=True),
        "USES_DEVICE": uses,
        "HAS_IDENTIFIER": has_id,
        "TRANSFER": _flows(txns, "to_account"),
        "PAYS": _flows(txns, "to_counterparty").rename(
            columns={"to_counterparty": "counterparty_id"}
        ),
    }
    nodes = {
        "customer": customers,
        "account": accounts,
        "device": devices,
        "identifier": identifiers,
        "counterparty": counterparties.reset_index(drop=True),
    }
    for label, key in NODE_KEYS.items():
        nodes[label][key] = nodes[label][key].astype("string")
    return CanonicalGraph(nodes=nodes, edges=edges, transactions=txns, present=set(frames.present))


def write_snapshot(graph: CanonicalGraph, out_dir: Path) -> dict[str, str]:
    """Write the graph as Parquet: ``graph/nodes/<label>.parquet``, ``graph/edges/<TYPE>.parquet``.

    Returns the written paths relative to ``out_dir``. Each file is replaced atomically.

    Raises
    ------
    OutputError
        When a file cannot be written (permissions, disk full).
    """
    written: dict[str, str] = {}
    for kind, tables in (("nodes", graph.nodes), ("edges", graph.edges)):
        folder = Path(out_dir) / "graph" / kind
        for name, df in tables.items():
            path = write_table(df, folder, name, "parquet")  # atomic: temp file + rename
            written[f"{kind}/{name}"] = str(path.relative_to(out_dir))
    return written


def read_snapshot(out_dir: Path) -> CanonicalGraph:
    """Read a snapshot written by :func:`write_snapshot` (transactions are not part of it)."""
    base = Path(out_dir) / "graph"
    nodes = {n: pd.read_parquet(base / "nodes" / f"{n}.parquet") for n in NODE_KEYS}
    edges = {e: pd.read_parquet(base / "edges" / f"{e}.parquet") for e in EDGE_ENDS}
    return CanonicalGraph(nodes=nodes, edges=edges, transactions=pd.DataFrame())
