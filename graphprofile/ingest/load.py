"""Ingest's orchestrator: every table read and validated, linked, then pseudonymised.

:func:`load_frames` reads the tables in :data:`~graphprofile.frames.LOAD_ORDER`
(:mod:`.table`), derives missing tables and rejects dangling references
(:mod:`.references`), pseudonymises PII (:mod:`.pii`) and returns the canonical
:class:`~graphprofile.frames.Frames` with every rejected row and the row accounting of a
:class:`~graphprofile.ingest.validate.LoadLog`. The transactions are read in a thread
meanwhile, and checked last; the result is the same as reading and checking in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from graphprofile.errors import InputError
from graphprofile.frames import LOAD_ORDER, Frames
from graphprofile.ingest.mapping import Mapping, load_mapping
from graphprofile.ingest.pii import pseudonymise
from graphprofile.ingest.references import (
    People,
    derived_accounts,
    link_people,
    link_transactions,
)
from graphprofile.ingest.table import complete, empty, read_rows
from graphprofile.ingest.validate import LoadLog


def load_frames(
    data_dir: Path,
    mapping: Path | Mapping | None = None,
    *,
    now: pd.Timestamp | None = None,
    progress: Callable[[str], None] | None = None,
) -> Frames:
    """Read, validate and pseudonymise every table of ``data_dir`` into canonical frames.

    Parameters
    ----------
    data_dir : Path
        Directory with one ``.csv`` or ``.parquet`` file per table.
    mapping : Path or Mapping, optional
        Source mapping; default is ``loaders/default.toml`` (our own layout).
    now : pandas.Timestamp, optional
        Reference time for "timestamp in the future" (default: the current time).
    progress : callable, optional
        Called as each table is read, with its name and the rows read so far, e.g.
        ``accounts (100,000 rows read)``.

    Returns
    -------
    Frames
        Accepted rows of every table, the rejects, and per-table row accounting in which
        ``read == accepted + rejected`` holds.

    Raises
    ------
    InputError
        Missing data directory or required file, unreadable file, missing mapped column.
    MappingError
        Invalid mapping file.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"data directory {data_dir} does not exist")
    mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    log = LoadLog()
    tables: dict[str, pd.DataFrame | None] = {}
    later: list[str] = []  # the notices of linking and pseudonymising, after every table's
    # the transactions, by far the largest table, are read in a thread while the other
    # tables are read here: Arrow's CSV reader and compute kernels and NumPy's sorts release
    # the GIL, so the two overlap on a second CPU. Each table has its own log, added to
    # ``log`` in LOAD_ORDER: rejects, accounting and notices come out as if read in turn.
    logs = {table: LoadLog() for table in LOAD_ORDER}
    people: People | None = None
    with ThreadPoolExecutor(1, "graphprofile-read") as pool:
        reading = pool.submit(
            read_rows, "transactions", data_dir, mapping, now, logs["transactions"]
        )
        for table in LOAD_ORDER:
            if progress:
                rows = sum(stat.read for stat in log.stats.values())
                progress(f"{table} ({rows:,} rows read)")
            if table != "transactions":
                tables[table] = read_rows(table, data_dir, mapping, now, logs[table])
                log.absorb(logs[table])
        # the references and pseudonyms of everything but the transactions need nothing
        # from them: given an accounts table, they are done while the transactions are read
        present = {t for t, df in tables.items() if df is not None} | {"transactions"}
        accounts = tables["accounts"]
        hashed = False
        if accounts is not None:
            people = _linked(tables, present, log, accounts, later)
            if not reading.done():  # pseudonymise while the transactions are still read
                people, hashed = _pseudonymised(people, log, later), True
        tables["transactions"] = txns = reading.result()
        log.absorb(logs["transactions"])
        assert txns is not None  # a missing transactions file raised above
        if people is None:
            people = _linked(tables, present, log, derived_accounts(txns, later), later)
        # the transactions' references are checked in the read thread, free now, while the
        # PII is pseudonymised here: neither reads what the other makes (at 1M customers
        # the 1.2 s check ran alone on one CPU after the 3 s of pseudonyms)
        counterparties = tables["counterparties"]
        linking = pool.submit(_link_transactions, txns, people.accounts, counterparties, log)
        if not hashed:
            people = _pseudonymised(people, log, later)
        txns, counterparties, ends = linking.result()
    log.notices.extend(later)
    for stat in log.stats.values():
        stat.accepted = stat.read - stat.rejected - stat.merged
    frames = Frames(
        transactions=complete("transactions", txns),
        accounts=complete("accounts", people.accounts),
        customers=complete("customers", people.customers),
        devices=complete("devices", _or_empty(people.devices, "devices")),
        identifiers=complete("identifiers", _or_empty(people.identifiers, "identifiers")),
        counterparties=complete("counterparties", counterparties),
        rejects=log.rejects.frame(),
        stats=log.stats,
        present=present,
        notices=log.notices,
        transaction_accounts=ends,
        customer_positions=people.customer_positions,
        steps=log.steps,
    )
    for table, stat in log.stats.items():
        kept = len(frames.table(table)) - (people.n_derived if table == "customers" else 0)
        assert kept + stat.duplicates_merged == stat.accepted, (table, kept, stat)
    return frames


def _linked(
    tables: dict[str, pd.DataFrame | None],
    present: set[str],
    log: LoadLog,
    accounts: pd.DataFrame,
    notices: list[str],
) -> People:
    """:func:`~graphprofile.ingest.references.link_people`, timed."""
    start = time.perf_counter()
    people = link_people(tables, present, log, accounts, notices)
    read = [tables[t] for t in ("customers", "devices", "identifiers")]
    log.timed("references", start, len(accounts) + sum(len(df) for df in read if df is not None))
    return people


def _pseudonymised(people: People, log: LoadLog, notices: list[str]) -> People:
    """The PII of the kept customers, devices and identifiers pseudonymised (:mod:`.pii`)."""
    start = time.perf_counter()
    customers, devices, identifiers = pseudonymise(
        people.customers, people.devices, people.identifiers, notices
    )
    pii_rows = (customers, devices, identifiers)
    log.timed("pseudonymise", start, sum(len(df) for df in pii_rows if df is not None))
    return replace(people, customers=customers, devices=devices, identifiers=identifiers)


def _link_transactions(
    txns: pd.DataFrame, accounts: pd.DataFrame, counterparties: pd.DataFrame | None, log: LoadLog
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """:func:`~graphprofile.ingest.references.link_transactions`, timed. It only adds
    to ``log`` the transactions' rejects and its own step's seconds: it may run while
    :func:`_pseudonymised` (which only times its own step) runs in another thread."""
    start = time.perf_counter()
    rows = len(txns) + (len(counterparties) if counterparties is not None else 0)
    out = link_transactions(txns, accounts, counterparties, log)
    log.timed("references", start, rows)
    return out


def _or_empty(frame: pd.DataFrame | None, table: str) -> pd.DataFrame:
    return frame if frame is not None else empty(table)
