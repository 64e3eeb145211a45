"""Graph stage: canonical frames → the canonical property graph.

Aggregations group on integer pair codes; there are no Python loops over rows.
Every table is sorted by its key columns, so the snapshot
(:func:`graphprofile.outputs.write_snapshot`) is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import sorted_codes
from graphprofile.frames import NODE_KEYS, CanonicalGraph, Frames

_REDUCERS = {"sum": np.add, "min": np.minimum, "max": np.maximum}


def _reduce(values: pd.Series, order: np.ndarray, starts: np.ndarray, how: str) -> object:
    """One aggregation of ``values`` over the sorted runs that start at ``starts``."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        nat, top = np.iinfo(np.int64).min, np.iinfo(np.int64).max
        ints = values.array.asi8[order]
        if how == "min":  # NaT is the smallest int64: keep it out of minima
            ints = np.where(ints == nat, top, ints)
        out = _REDUCERS[how].reduceat(ints, starts)
        out = np.where(out == top, nat, out)
        unit = dtype.unit if isinstance(dtype, pd.DatetimeTZDtype) else np.datetime_data(dtype)[0]
        stamps = pd.DatetimeIndex(out.view(f"M8[{unit}]"))
        if isinstance(dtype, pd.DatetimeTZDtype):
            stamps = stamps.tz_localize("UTC").tz_convert(dtype.tz)
        return stamps.array
    return _REDUCERS[how].reduceat(values.to_numpy(dtype="float64")[order], starts)


def _first_positions(codes: np.ndarray, n: int) -> np.ndarray:
    """Position of the first row with each code ``0..n-1`` (every code must occur)."""
    first = np.empty(n, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1, dtype=np.int64)
    return first


def _is_sorted_unique(values: pd.Series) -> bool:
    """Whether a text column is already strictly increasing (Arrow compares, no Python loop)."""
    if len(values) < 2 or values.isna().any():
        return len(values) < 2
    arr = pa.array(values, from_pandas=True, type=pa.string())
    return bool(pc.all(pc.greater(arr[1:], arr[:-1])).as_py())


def sort_by(df: pd.DataFrame, columns: list[str], *, unique: bool = False) -> pd.DataFrame:
    """``df`` sorted by text ``columns`` (stable), optionally keeping the first of duplicates.

    Sorting integer codes (:func:`sorted_codes`) instead of text is several times faster.
    """
    if len(df) == 0 or (len(columns) == 1 and _is_sorted_unique(df[columns[0]])):
        return df.reset_index(drop=True)
    keys = [sorted_codes(df[c])[0] for c in columns]
    order = np.lexsort(keys[::-1])
    if unique:
        stacked = np.column_stack([k[order] for k in keys])
        keep = np.r_[True, (stacked[1:] != stacked[:-1]).any(axis=1)]
        order = order[keep]
    return df.iloc[order].reset_index(drop=True)


def group_pairs(
    left: pd.Series, right: pd.Series, values: dict[str, pd.Series], **aggs: tuple[str, str]
) -> pd.DataFrame:
    """Aggregate ``values`` per (left, right) pair, sorted by the pair.

    Both id columns get integer codes in text order (:func:`sorted_codes`); one int64 pair
    key is sorted once and every aggregation (``size``, ``sum``, ``min``, ``max``) is a
    NumPy ``reduceat`` over its runs — no hashing of text, no Python loop.
    """
    lcodes, luniq = sorted_codes(left)
    rcodes, runiq = sorted_codes(right)
    width = max(len(runiq), 1)
    key = lcodes * width + rcodes
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(key) else key
    k = sorted_key[starts]
    out = pd.DataFrame(
        {
            str(left.name): luniq.take(k // width),
            str(right.name): runiq.take(k % width),
        }
    )
    sizes = np.diff(np.r_[starts, len(key)]).astype(np.int64)
    for name, (column, how) in aggs.items():
        if how == "size":
            out[name] = sizes
        else:
            out[name] = _reduce(values[column].reset_index(drop=True), order, starts, how)
    return out


def _flows(txns: pd.DataFrame, target: str) -> pd.DataFrame:
    """Aggregate transactions per (from_account, target) pair."""
    # only the four columns aggregated: a copy of every column would double the
    # transactions in memory for a moment
    sel = txns.loc[txns[target].notna(), ["from_account", target, "amount", "ts"]]
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
    customers = sort_by(frames.customers, ["customer_id"])
    accounts = sort_by(frames.accounts, ["account_id"])

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
    # ``uses`` has one row per (customer, device): customers per device is a row count.
    dcodes, duniq = sorted_codes(uses["device_id"])
    devices = pd.DataFrame(
        {
            "device_id": duniq,
            "n_customers": np.bincount(dcodes, minlength=len(duniq)).astype("int64"),
            "n_uses": np.bincount(
                dcodes, weights=uses["n_uses"].to_numpy(), minlength=len(duniq)
            ).astype("int64"),
        }
    )

    idf = frames.identifiers.dropna(subset=["value"])
    has_id = pd.DataFrame(
        {
            "customer_id": idf["customer_id"].astype("string"),
            "identifier_id": (idf["kind"] + ":" + idf["value"]).astype("string"),
            "kind": idf["kind"].astype("string"),
        }
    )
    has_id = sort_by(has_id, ["customer_id", "identifier_id"], unique=True)
    icodes, iuniq = sorted_codes(has_id["identifier_id"])
    identifiers = pd.DataFrame(
        {
            "identifier_id": iuniq,
            "kind": has_id["kind"].array.take(_first_positions(icodes, len(iuniq))),
            "n_customers": np.bincount(icodes, minlength=len(iuniq)).astype("int64"),
        }
    )

    counterparties = sort_by(frames.counterparties, ["counterparty_id"])
    txns = frames.transactions
    edges = {
        "OWNS": sort_by(accounts[["customer_id", "account_id"]], ["customer_id", "account_id"]),
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
