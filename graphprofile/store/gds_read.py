"""What the in-database engine reads to the client: accounts and transactions, in pages.

GDS has no time-ordered pattern search, so the money-flow detectors (cycles, fans,
scatter-gather) and the ring features still need individual transactions. They are read
page by page (``page_size`` accounts per statement) and turned into arrays at once, so
the client never holds more than one page of driver records. Devices, identifiers,
counterparties and the customer relationship graph stay in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import sorted_codes
from graphprofile.analysis.rings import CASH_OUT_KINDS
from graphprofile.frames import CanonicalGraph
from graphprofile.store.gds import GdsGateway


@dataclass
class MoneySide:
    """The money side of the bank, as the flow detectors and ring features need it.

    Attributes
    ----------
    graph : CanonicalGraph
        ``customer`` (``customer_id``, ``known_fraud``) and ``account`` (``account_id``,
        ``opened_at``) nodes; ``OWNS`` and aggregated ``TRANSFER`` edges; every transaction
        (``txn_id``, ``from_account``/``to_account`` as text, ``amount``, ``ts``) ordered as
        :func:`graphprofile.store.read_graph` orders them.
    cash_accounts : numpy.ndarray
        Ids of accounts that pay a counterparty whose kind names a cash-out channel.
    """

    graph: CanonicalGraph
    cash_accounts: np.ndarray


def _flat(lists: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Lengths of each list (None: 0) and all items in order."""
    values = [v if isinstance(v, list) else [] for v in lists.tolist()]
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values)), list(
        chain.from_iterable(values)
    )


def _txn_chunk(page: pd.DataFrame, target: str | None) -> pa.Table | None:
    """Transactions of one page of relationships as an Arrow table."""
    page = page[page["amounts"].notna()]
    if len(page) == 0:
        return None
    lengths, amounts = _flat(page["amounts"])
    _, ts = _flat(page["ts"])
    _, ids = _flat(page["txn_ids"])
    if not (len(ts) == len(ids) == len(amounts)):
        raise ValueError("transaction lists of different lengths")
    src = np.repeat(page["key"].to_numpy(dtype=object), lengths)
    dst = np.repeat(page[target].to_numpy(dtype=object), lengths) if target else None
    txn = pa.array(ids, type=pa.large_string())
    return pa.table(
        {
            "txn_id": pc.if_else(pc.equal(txn, ""), pa.scalar(None, pa.large_string()), txn),
            "from_account": pa.array(src, type=pa.large_string()),
            "to_account": pa.array(dst, type=pa.large_string())
            if dst is not None
            else pa.nulls(len(src), pa.large_string()),
            "amount": pa.array(amounts, type=pa.float64()),
            "ts": pa.array(ts, type=pa.large_string()),
        }
    )


def read_money_side(gw: GdsGateway, *, page_size: int = 20_000) -> MoneySide:
    """Read customers, accounts, transfers and payments from the database in pages.

    Parameters
    ----------
    gw : GdsGateway
        The gateway (its store runs the statements).
    page_size : int, default 20000
        Customers or accounts per statement.

    Returns
    -------
    MoneySide
    """
    cust: list[pd.DataFrame] = list(gw.pages("customers_page", page_size=page_size))
    customers = (
        pd.concat(cust, ignore_index=True) if cust else pd.DataFrame({"key": [], "known_fraud": []})
    )
    accs = list(gw.pages("accounts_page", page_size=page_size))
    accounts = (
        pd.concat(accs, ignore_index=True)
        if accs
        else pd.DataFrame({"key": [], "customer_id": [], "opened_at": []})
    )
    transfers, chunks = [], []
    for page in gw.pages("transfers_page", page_size=page_size):
        rows = page[page["to_account"].notna()]
        transfers.append(rows[["key", "to_account", "n_txns", "total_amount"]])
        chunk = _txn_chunk(rows, "to_account")
        if chunk is not None:
            chunks.append(chunk)
    cash: list[np.ndarray] = []
    for page in gw.pages("payments_page", page_size=page_size, cash_kinds=list(CASH_OUT_KINDS)):
        rows = page[page["counterparty_id"].notna()]
        cash.append(rows.loc[rows["cash_out"].astype(bool), "key"].to_numpy(dtype=object))
        chunk = _txn_chunk(rows, None)
        if chunk is not None:
            chunks.append(chunk)
    return MoneySide(
        graph=_graph(customers, accounts, transfers, chunks),
        cash_accounts=np.unique(np.concatenate(cash)) if cash else np.array([], dtype=object),
    )


def _graph(
    customers: pd.DataFrame,
    accounts: pd.DataFrame,
    transfers: list[pd.DataFrame],
    chunks: list[pa.Table],
) -> CanonicalGraph:
    nodes = {
        "customer": pd.DataFrame(
            {
                "customer_id": pd.array(customers["key"].astype(str), dtype="string"),
                "known_fraud": customers["known_fraud"].astype("boolean").to_numpy(),
            }
        ),
        "account": pd.DataFrame(
            {
                "account_id": pd.array(accounts["key"].astype(str), dtype="string"),
                "opened_at": pd.to_datetime(accounts["opened_at"], utc=True, format="ISO8601"),
            }
        ),
    }
    owned = accounts[accounts["customer_id"].notna()]
    tr = (
        pd.concat(transfers, ignore_index=True)
        if transfers
        else pd.DataFrame({"key": [], "to_account": [], "n_txns": [], "total_amount": []})
    )
    edges = {
        "OWNS": pd.DataFrame(
            {
                "customer_id": pd.array(owned["customer_id"].astype(str), dtype="string"),
                "account_id": pd.array(owned["key"].astype(str), dtype="string"),
            }
        ),
        "TRANSFER": pd.DataFrame(
            {
                "from_account": pd.array(tr["key"].astype(str), dtype="string"),
                "to_account": pd.array(tr["to_account"].astype(str), dtype="string"),
                "n_txns": pd.to_numeric(tr["n_txns"]).astype("int64"),
                "total_amount": pd.to_numeric(tr["total_amount"]).astype("float64"),
            }
        ),
    }
    return CanonicalGraph(
        nodes=nodes, edges=edges, transactions=_transactions(chunks), present=set()
    )


def _text(column: pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(column))


def _transactions(chunks: list[pa.Table]) -> pd.DataFrame:
    """All transactions, ordered by ``ts``, ``from_account``, ``txn_id`` (nulls first)."""
    if not chunks:
        return pd.DataFrame(
            {
                "txn_id": pd.Series([], dtype="string"),
                "from_account": pd.Series([], dtype="string"),
                "to_account": pd.Series([], dtype="string"),
                "amount": pd.Series([], dtype="float64"),
                "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            }
        )
    table = pa.concat_tables(chunks)
    ts = pd.to_datetime(
        pd.Series(table.column("ts").to_numpy(zero_copy_only=False)), utc=True, format="ISO8601"
    ).astype("datetime64[ns, UTC]")
    table = table.set_column(
        table.schema.get_field_index("ts"), "ts", pa.array(ts.array.asi8, pa.int64())
    )
    # the order of read_graph: ts, from_account, txn_id (code-point order, nulls first)
    order = np.lexsort(
        (
            sorted_codes(_text(table.column("txn_id")))[0],
            sorted_codes(_text(table.column("from_account")))[0],
            table.column("ts").to_numpy(),
        )
    )
    table = table.take(pa.array(order))
    return pd.DataFrame(
        {
            "txn_id": table.column("txn_id").to_pandas(types_mapper=pd.ArrowDtype).astype("string"),
            "from_account": table.column("from_account")
            .to_pandas(types_mapper=pd.ArrowDtype)
            .astype("string"),
            "to_account": table.column("to_account")
            .to_pandas(types_mapper=pd.ArrowDtype)
            .astype("string"),
            "amount": table.column("amount").to_numpy(),
            "ts": pd.to_datetime(table.column("ts").to_numpy(), unit="ns", utc=True),
        }
    )
