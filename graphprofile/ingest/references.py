"""References between tables: derive the tables the input lacks, reject dangling rows.

Tables missing from the input are derived where the contract says so (one customer per
account, customers from accounts, counterparties from transactions) and are not in
``Frames.present``. Rows that name an unknown customer, account or counterparty are
rejected ("dangling reference"), in :data:`~graphprofile.frames.LOAD_ORDER`, so rejects
cascade: the accounts of a rejected customer are dangling in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphprofile._arrow import codes, is_in
from graphprofile.ingest.parse import show
from graphprofile.ingest.table import empty
from graphprofile.ingest.validate import LoadLog


def dangling(
    log: LoadLog, table: str, df: pd.DataFrame, column: str, known: pd.Series, what: str
) -> pd.DataFrame:
    """Reject the rows of ``df`` whose ``column`` names something not in ``known``."""
    if column not in df:
        return df
    values = df[column]
    bad = values.notna() & ~is_in(values, known)
    if not bad.any():
        return df
    return _reject_dangling(log, table, df, bad, column, what)


def dangling_positions(
    log: LoadLog, table: str, df: pd.DataFrame, column: str, ids: pd.Index, what: str
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """:func:`dangling` by one position lookup: the rows kept, and where each kept row's
    ``column`` value is among ``ids`` (int64; -1 where null; ``None`` without the column).

    The same rows as ``dangling(..., ids.to_series(), what)``; the positions spare a later
    stage looking the column up again (issue #16: encode ids once).
    """
    if column not in df:
        return df, None
    values = df[column]
    has = values.notna().to_numpy(dtype=bool)
    pos = np.where(has, codes(values, ids), -1)
    bad = has & (pos < 0)
    if bad.any():
        df = _reject_dangling(log, table, df, pd.Series(bad, index=df.index), column, what)
        pos = pos[~bad]
    return df, pos


def _reject_dangling(
    log: LoadLog, table: str, df: pd.DataFrame, bad: pd.Series, column: str, what: str
) -> pd.DataFrame:
    """Reject the ``bad`` rows of ``df``, saying which ``column`` value is not in ``what``."""
    reason = pd.Series(pd.NA, index=df.index, dtype="string")
    reason[bad] = f"dangling reference: {column} " + show(df[column][bad]) + f" is not in {what}"
    return log.reject(table, df, bad, reason, column)


def _owners(pos: np.ndarray, index: pd.Index, accounts: pd.DataFrame) -> pd.Series:
    """The ``customer_id`` of the accounts at rows ``pos`` of ``accounts`` (null where -1),
    as a column with ``index``.

    A ``take`` at the positions the reference check found: ``Series.map`` over a text
    index made a Python object per row (~4x slower on 4M device rows).
    """
    owner = accounts["customer_id"].astype("string").array.take(pos, allow_fill=True)
    return pd.Series(owner, index=index, dtype="string")


def account_ends(
    log: LoadLog, txns: pd.DataFrame, accounts: pd.DataFrame
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """Reject transactions from or to unknown accounts; keep where the known ones are.

    :func:`dangling` for ``from_account``, then for ``to_account``, done by one position
    lookup per column (:func:`~graphprofile._arrow.codes`) instead of a membership test:
    the graph builder then codes the two 10M-row columns from these positions instead of
    looking them up again (issue #16: encode ids once).

    Returns
    -------
    (pandas.DataFrame, (numpy.ndarray, numpy.ndarray))
        The transactions kept, and for each its ``from_account`` and ``to_account``
        position among the rows of ``accounts`` (int64; -1 where the column is null or
        absent).
    """
    ids = pd.Index(accounts["account_id"])
    ends = []
    for column in ("from_account", "to_account"):
        if column not in txns:
            ends.append(np.full(len(txns), -1, dtype=np.int64))
            continue
        values = txns[column]
        has = values.notna().to_numpy(dtype=bool)
        pos = np.where(has, codes(values, ids), -1)
        bad = pd.Series(has & (pos < 0), index=txns.index)
        if bad.any():
            txns = _reject_dangling(log, "transactions", txns, bad, column, "accounts")
            kept = ~bad.to_numpy()
            ends = [earlier[kept] for earlier in ends]
            pos = pos[kept]
        ends.append(pos)
    return txns, (ends[0], ends[1])


@dataclass
class People:
    """The customers, accounts, devices and identifiers once their references are checked
    (:func:`link_people`).

    Attributes
    ----------
    customers, accounts : pandas.DataFrame
        Kept rows, derived ones included.
    devices, identifiers : pandas.DataFrame or None
        Kept rows (``None`` without the table).
    n_derived : int
        Customers derived from accounts because the customers table lacks them.
    customer_positions : dict
        For ``devices`` and ``identifiers`` (where present), the position of each kept
        row's ``customer_id`` among the rows of ``customers`` (-1: null).
    """

    customers: pd.DataFrame
    accounts: pd.DataFrame
    devices: pd.DataFrame | None
    identifiers: pd.DataFrame | None
    n_derived: int
    customer_positions: dict[str, np.ndarray]


def derived_accounts(txns: pd.DataFrame, notices: list[str]) -> pd.DataFrame:
    """Without an accounts table, one account per id the transactions name, each standing
    for its own customer."""
    ids = pd.concat([txns["from_account"], txns.get("to_account", pd.Series(dtype="string"))])
    ids = pd.Series(pd.unique(ids.dropna()), dtype="string")
    notices.append("no accounts table: each account stands for its own customer")
    return pd.DataFrame({"account_id": ids, "customer_id": ids})


def link_people(
    tables: dict[str, pd.DataFrame | None],
    present: set[str],
    log: LoadLog,
    accounts: pd.DataFrame,
    notices: list[str],
) -> People:
    """Derive the customers the input lacks and reject the dangling accounts, devices and
    identifiers. Nothing here reads the transactions.

    Parameters
    ----------
    tables : dict
        The accepted rows of each table read (``None`` for a table without a file).
    present : set of str
        The tables read from files.
    log : LoadLog
        Receives the rejects.
    accounts : pandas.DataFrame
        The accounts table read, or the accounts derived from the transactions
        (:func:`derived_accounts`).
    notices : list of str
        Receives the notices.
    """
    customers = tables["customers"]
    n_derived = 0
    if customers is None:
        customers = pd.DataFrame(
            {"customer_id": pd.Series(pd.unique(accounts["customer_id"].dropna()), dtype="string")}
        )
        if "accounts" in present:
            notices.append("no customers table: customers derived from accounts.customer_id")
    else:
        if "accounts" in present:
            accounts = dangling(
                log, "accounts", accounts, "customer_id", customers["customer_id"], "customers"
            )
        else:
            extra = accounts.loc[
                ~is_in(accounts["customer_id"], customers["customer_id"]), ["customer_id"]
            ]
            n_derived = len(extra)
            customers = pd.concat([customers, extra], ignore_index=True)

    customer_ids = pd.Index(customers["customer_id"])
    customer_positions: dict[str, np.ndarray] = {}
    devices = tables["devices"]
    if devices is not None:
        devices, account_pos = dangling_positions(
            log, "devices", devices, "account_id", pd.Index(accounts["account_id"]), "accounts"
        )
        if account_pos is not None:
            owner = _owners(account_pos, devices.index, accounts)
            if "customer_id" in devices:
                clash = (
                    devices["customer_id"].notna()
                    & owner.notna()
                    & (devices["customer_id"] != owner)
                )
                devices = log.reject(
                    "devices",
                    devices,
                    clash,
                    "customer_id differs from the owner of account_id",
                    "customer_id",
                )
                owner = owner[devices.index]
                devices = devices.assign(customer_id=devices["customer_id"].fillna(owner))
            else:
                devices = devices.assign(customer_id=owner)
        devices, pos = dangling_positions(
            log, "devices", devices, "customer_id", customer_ids, "customers"
        )
        if pos is not None:
            customer_positions["devices"] = pos
    identifiers = tables["identifiers"]
    if identifiers is not None:
        identifiers, pos = dangling_positions(
            log, "identifiers", identifiers, "customer_id", customer_ids, "customers"
        )
        if pos is not None:
            customer_positions["identifiers"] = pos
    return People(customers, accounts, devices, identifiers, n_derived, customer_positions)


def link_transactions(
    txns: pd.DataFrame,
    accounts: pd.DataFrame,
    counterparties: pd.DataFrame | None,
    log: LoadLog,
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """Reject the transactions of unknown counterparties and accounts; derive the
    counterparties the input lacks.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, (numpy.ndarray, numpy.ndarray))
        The kept transactions, the counterparties, and the position of each kept
        transaction's ``from_account`` and ``to_account`` among the rows of ``accounts``
        (-1 where there is none): see :func:`account_ends`.
    """
    if "to_counterparty" in txns:
        if counterparties is not None:
            txns = dangling(
                log,
                "transactions",
                txns,
                "to_counterparty",
                counterparties["counterparty_id"],
                "counterparties",
            )
        else:
            ids = pd.unique(txns["to_counterparty"].dropna())
            counterparties = pd.DataFrame({"counterparty_id": pd.Series(ids, dtype="string")})
    if counterparties is None:
        counterparties = empty("counterparties")
    txns, ends = account_ends(log, txns, accounts)
    return txns, counterparties, ends
