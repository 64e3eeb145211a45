"""Ingest's orchestrator: every table read and validated, linked, then pseudonymised.

:func:`load_frames` reads the tables in :data:`~graphprofile.frames.LOAD_ORDER`
(:mod:`.table`), derives missing tables and rejects dangling references
(:mod:`.references`), pseudonymises PII (:mod:`.pii`) and returns the canonical
:class:`~graphprofile.frames.Frames` with every rejected row and the row accounting of a
:class:`~graphprofile.ingest.validate.LoadLog`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from graphprofile.errors import InputError
from graphprofile.frames import LOAD_ORDER, Frames
from graphprofile.ingest.mapping import Mapping, load_mapping
from graphprofile.ingest.pii import pseudonymise
from graphprofile.ingest.references import link_tables
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
    # the transactions, by far the largest table, are read in a thread while the other
    # tables are read here: Arrow's CSV reader and compute kernels and NumPy's sorts release
    # the GIL, so the two overlap on a second CPU. Each table has its own log, added to
    # ``log`` in LOAD_ORDER: rejects, accounting and notices come out as if read in turn.
    logs = {table: LoadLog() for table in LOAD_ORDER}
    with ThreadPoolExecutor(1, "graphprofile-read") as pool:
        txns = pool.submit(read_rows, "transactions", data_dir, mapping, now, logs["transactions"])
        for table in LOAD_ORDER:
            if progress:
                rows = sum(stat.read for stat in log.stats.values())
                progress(f"{table} ({rows:,} rows read)")
            if table == "transactions":
                tables[table] = txns.result()
            else:
                tables[table] = read_rows(table, data_dir, mapping, now, logs[table])
            log.absorb(logs[table])
    present = {t for t, df in tables.items() if df is not None}
    start = time.perf_counter()
    linked, n_derived, ends, positions = link_tables(tables, present, log)
    log.timed("references", start, sum(len(df) for df in tables.values() if df is not None))
    start = time.perf_counter()
    customers, devices, identifiers = pseudonymise(
        linked["customers"], linked["devices"], linked["identifiers"], log.notices
    )
    pii_rows = (customers, devices, identifiers)
    log.timed("pseudonymise", start, sum(len(df) for df in pii_rows if df is not None))
    for stat in log.stats.values():
        stat.accepted = stat.read - stat.rejected - stat.merged
    frames = Frames(
        transactions=complete("transactions", linked["transactions"]),
        accounts=complete("accounts", linked["accounts"]),
        customers=complete("customers", customers),
        devices=complete("devices", devices if devices is not None else empty("devices")),
        identifiers=complete(
            "identifiers", identifiers if identifiers is not None else empty("identifiers")
        ),
        counterparties=complete("counterparties", linked["counterparties"]),
        rejects=log.rejects.frame(),
        stats=log.stats,
        present=present,
        notices=log.notices,
        transaction_accounts=ends,
        customer_positions=positions,
        steps=log.steps,
    )
    for table, stat in log.stats.items():
        kept = len(frames.table(table)) - (n_derived if table == "customers" else 0)
        assert kept + stat.duplicates_merged == stat.accepted, (table, kept, stat)
    return frames
