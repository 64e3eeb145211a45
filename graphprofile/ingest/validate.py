"""Row-level validation of raw tables into canonical frames, with every reject accounted for.

Rules, applied in this order (the first failing rule gives the row's reason; the exact
reason texts are listed in ``docs/DATA.md``):

0. ragged CSV rows (in :mod:`graphprofile.ingest.read`) and rows with no value at all;
1. cell parsing (:mod:`graphprofile.ingest.parse`): missing required value, unparsable
   amount/timestamp/boolean, non-positive, non-finite or implausibly large amount,
   timestamp in the future;
2. row shape: a transaction needs exactly one of ``to_account``/``to_counterparty`` and
   may not send to itself; a device use needs ``customer_id`` or ``account_id``;
3. duplicate keys: a row identical to the first row with its key is merged (counted in
   ``duplicates_merged``); a row with the same key and different values is rejected;
4. references, in :data:`~graphprofile.frames.LOAD_ORDER`: accounts of unknown customers,
   transactions of unknown accounts or counterparties, devices and identifiers of unknown
   customers or accounts are rejected ("dangling reference"). Rejects cascade: the accounts
   of a rejected customer are dangling in turn.

Tables missing from the input are derived where the contract says so (one customer per
account, counterparties from transactions) and are not in ``Frames.present``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import arrow_strings
from graphprofile.frames import KEYS, REJECT_COLUMNS, TABLES, TableStats
from graphprofile.ingest.mapping import SAFE_NAME, TableMapping
from graphprofile.ingest.parse import (
    as_text,
    parse_amount,
    parse_bool,
    parse_text,
    parse_timestamp,
    shared_nulls,
    show,
    sparse_text,
)
from graphprofile.ingest.read import ROW, RawTable


class RejectLog:
    """Collects rejected rows of every table as (table, file, row, column, reason, key)."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        table: str,
        source_file: str,
        rows: pd.Series,
        reasons: pd.Series,
        keys: pd.Series | None = None,
        column: str | pd.Series | None = None,
    ) -> None:
        if len(rows) == 0:
            return
        part = pd.DataFrame(
            {
                "table": table,
                "source_file": source_file,
                "source_row": rows.to_numpy(),
                "column": column.to_numpy() if isinstance(column, pd.Series) else column,
                "reason": reasons.astype("string").to_numpy(),
                "key": keys.astype("string").to_numpy() if keys is not None else pd.NA,
            }
        )
        self._parts.append(part)

    def absorb(self, other: RejectLog) -> None:
        """Add ``other``'s rejected rows after this log's."""
        self._parts.extend(other._parts)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})
        out = pd.concat(self._parts, ignore_index=True)
        out["source_row"] = out["source_row"].astype("int64")
        return out.sort_values(["table", "source_file", "source_row"], kind="stable").reset_index(
            drop=True
        )


@dataclass
class LoadLog:
    """What loading the tables records besides the rows it keeps.

    Attributes
    ----------
    rejects : RejectLog
        Every rejected row (file, row, column, reason, key).
    stats : dict
        Row accounting per table (:class:`~graphprofile.frames.TableStats`).
    notices : list of str
        One-line notices for the user and ``run.json``.
    files : dict
        The source file read for each table.
    steps : dict
        Seconds and rows of each ingest step, summed over the tables (:meth:`timed`).
    """

    rejects: RejectLog = field(default_factory=RejectLog)
    stats: dict[str, TableStats] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)

    def absorb(self, other: LoadLog) -> None:
        """Add everything ``other`` recorded (one table read on its own log) to this log,
        after what this log holds: its rejects, row accounting, notices, files and step
        seconds."""
        self.rejects.absorb(other.rejects)
        self.stats.update(other.stats)
        self.notices.extend(other.notices)
        self.files.update(other.files)
        for step, entry in other.steps.items():
            self._add_step(step, entry["seconds"], entry["rows"])

    def timed(self, step: str, start: float, rows: int) -> None:
        """Add the seconds since ``start`` (a ``time.perf_counter()``) and ``rows`` to
        ``step`` in :attr:`steps`."""
        self._add_step(step, time.perf_counter() - start, rows)

    def _add_step(self, step: str, seconds: float, rows: int) -> None:
        entry = self.steps.setdefault(step, {"seconds": 0.0, "rows": 0})
        entry["seconds"] += seconds
        entry["rows"] += rows

    def reject(
        self,
        table: str,
        df: pd.DataFrame,
        mask: pd.Series,
        reason: pd.Series | str,
        column: str | pd.Series | None,
    ) -> pd.DataFrame:
        """Log ``df[mask]`` as rejected (counted in ``stats``) and return the rows that remain."""
        mask = mask.reindex(df.index).fillna(False).astype(bool)
        if not mask.any():
            return df
        bad = df[mask]
        reasons = (
            reason[mask] if isinstance(reason, pd.Series) else pd.Series(reason, index=bad.index)
        )
        col = column[mask] if isinstance(column, pd.Series) else column
        key = df[TABLE_KEY[table]][mask] if TABLE_KEY[table] in df else None
        self.rejects.add(table, self.files[table], bad[ROW], reasons, key, col)
        self.stats[table].rejected += int(mask.sum())
        return df[~mask]


#: The column that identifies a rejected row of each table (``key`` in the rejects).
TABLE_KEY = {
    "transactions": "txn_id",
    "accounts": "account_id",
    "customers": "customer_id",
    "devices": "device_id",
    "identifiers": "customer_id",
    "counterparties": "counterparty_id",
}
#: The column at fault when a duplicate key conflicts.
KEY_COLUMN = {
    "transactions": "txn_id",
    "accounts": "account_id",
    "customers": "customer_id",
    "counterparties": "counterparty_id",
}


def parse_cells(
    raw: RawTable, tm: TableMapping, now: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Parse every canonical column of ``raw``; returns (frame, reason, reason_column)."""
    with shared_nulls(len(raw.frame)):
        return _parse_cells(raw, tm, now)


def _parse_cells(
    raw: RawTable, tm: TableMapping, now: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    df = raw.frame
    spec = TABLES[raw.table]
    out = pd.DataFrame(index=df.index)
    out[ROW] = df[ROW]
    # The first failing column gives the row's reason; only rows with a reason are touched
    # (``has``: which rows have one); the reasons are kept for those rows only.
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # column -> (rows, reasons)
    has = np.zeros(len(df), dtype=bool)
    for column, (kind, required) in spec.items():
        if column not in df:
            continue
        values = df[column]
        if kind in {"id", "str", "pii"}:
            parsed, reason = parse_text(values, column, required)
        elif kind == "amount":
            parsed, reason = parse_amount(
                values,
                column,
                decimal=tm.options.decimal,
                thousands=tm.options.thousands,
                max_amount=tm.options.max_amount,
            )
        elif kind == "ts":
            parsed, reason = parse_timestamp(
                values,
                column,
                required=required,
                fmt=tm.options.timestamp_format,
                timezone=tm.options.timezone,
                now=now,
                origin=tm.options.origin,
            )
        elif kind == "bool":
            parsed, reason = parse_bool(
                values,
                column,
                true_values=tm.options.true_values,
                false_values=tm.options.false_values,
            )
        else:  # pragma: no cover - TABLES is fixed
            raise AssertionError(kind)
        out[column] = parsed
        new = reason.notna().to_numpy(dtype=bool) & ~has
        if new.any():
            rows = np.flatnonzero(new)
            found[column] = (rows, reason.iloc[rows].to_numpy(dtype=object))
            has |= new
    for extra in df.columns:
        if extra not in spec and extra != ROW:
            out[extra] = parse_text(df[extra], extra, False)[0]
    # A row with nothing in it (a blank line, or only delimiters) gets its own reason. Such
    # a row misses a required value, so only rows that already have a reason are checked.
    cells = [c for c in df.columns if c != ROW]
    flagged = np.flatnonzero(has)
    # each flagged row's reason and column, in row order (a row is found by one column)
    rows = np.concatenate([r for r, _ in found.values()] or [np.zeros(0, np.intp)])
    order = np.argsort(rows, kind="stable")
    reasons = np.concatenate([v for _, v in found.values()] or [np.zeros(0, object)])[order]
    columns = np.repeat(np.array(list(found), dtype=object), [len(r) for r, _ in found.values()])
    columns = columns[order]
    if cells and len(flagged):
        part = df.iloc[flagged]
        empty = pd.concat([as_text(part[c]).isna() for c in cells], axis=1).all(axis=1)
        empty = empty.to_numpy(dtype=bool)
        reasons[empty] = "empty row"
        columns[empty] = "(row)"
    return (
        out,
        sparse_text(reasons, flagged, df.index),
        sparse_text(columns, flagged, df.index),
    )


def shape_rules(table: str, df: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """Row-shape rules that involve more than one column."""
    if table == "transactions":
        to_acc = df["to_account"] if "to_account" in df else pd.Series(pd.NA, index=df.index)
        to_cp = (
            df["to_counterparty"] if "to_counterparty" in df else pd.Series(pd.NA, index=df.index)
        )
        neither = to_acc.isna() & to_cp.isna()
        both = to_acc.notna() & to_cp.notna()
        selfie = (to_acc == df["from_account"]).fillna(False)
        if not (neither | both | selfie).any():  # no rule applies: nothing to fill
            return reason
        reason = reason.fillna(
            pd.Series(pd.NA, index=df.index, dtype="string")
            .mask(neither, "missing to_account and to_counterparty (one is required)")
            .mask(both, "both to_account and to_counterparty are set (give one)")
            .mask(selfie & ~both, "self-transfer: from_account equals to_account")
        )
    elif table == "devices":
        cust = df["customer_id"] if "customer_id" in df else pd.Series(pd.NA, index=df.index)
        acc = df["account_id"] if "account_id" in df else pd.Series(pd.NA, index=df.index)
        if not (cust.isna() & acc.isna()).any():
            return reason
        reason = reason.fillna(
            pd.Series(pd.NA, index=df.index, dtype="string").mask(
                cust.isna() & acc.isna(), "missing customer_id and account_id (one is required)"
            )
        )
    return reason


def dedupe(table: str, df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Flag duplicate keys among valid rows: (merged mask, conflict mask, conflict reason)."""
    key = KEYS[table]
    none = pd.Series(False, index=df.index)
    if not key or key not in df or len(df) == 0:
        return none, none, pd.Series(pd.NA, index=df.index, dtype="string")
    has_key = df[key].notna()
    dup = repeated_keys(df[key]) & has_key
    if not dup.any():
        return none, none, pd.Series(pd.NA, index=df.index, dtype="string")
    content = [c for c in df.columns if c != ROW]
    row_hash = pd.util.hash_pandas_object(df[content], index=False)
    grouped = pd.DataFrame({"k": df[key], "h": row_hash, "r": df[ROW]}).groupby(
        "k", sort=False, dropna=True
    )
    first_hash = grouped["h"].transform("first")
    first_row = grouped["r"].transform("first")
    merged = dup & (row_hash == first_hash)
    conflict = dup & ~merged
    reason = (
        "duplicate "
        + key
        + " "
        + show(df[key])
        + " with different values than row "
        + first_row.astype("Int64").astype("string")
    ).where(conflict)
    return merged, conflict, reason


def repeated_keys(values: pd.Series) -> pd.Series:
    """Rows whose (non-null) key occurred on an earlier row: ``duplicated(keep="first")``.

    Arrow's dictionary encoding numbers the distinct keys in order of first appearance,
    so a row repeats an earlier key exactly when its code is not above every code before
    it (a running maximum). pandas' ``duplicated`` on Arrow strings builds a Python
    object per row (about 1 GB and 5 s per 5M keys); this holds one int32 per row. Keys
    in strictly increasing order (checked first, one comparison per row) never repeat.

    Parameters
    ----------
    values : pandas.Series
        Text keys (nulls are never reported as repeated).

    Returns
    -------
    pandas.Series
        Boolean, on ``values``' index.
    """
    text = arrow_strings(values)
    if len(text) > 1 and text.null_count == 0 and pc.all(pc.greater(text[1:], text[:-1])).as_py():
        # strictly increasing (files written in key order): nothing repeats, and one
        # comparison per row is cheaper than hashing every key
        return pd.Series(False, index=values.index)
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    seen = np.maximum.accumulate(np.r_[np.int64(-1), codes[:-1]]) if len(codes) else codes
    return pd.Series((codes >= 0) & (codes <= seen), index=values.index)


def keep_safe_attributes(df: pd.DataFrame, notices: list[str], source: str) -> pd.DataFrame:
    """Drop extra customer columns whose names cannot be property names (with a notice)."""
    extra = [c for c in df.columns if c not in TABLES["customers"] and c != ROW]
    unsafe = [c for c in extra if not SAFE_NAME.match(str(c))]
    if unsafe:
        notices.append(
            f"{source}: extra column(s) {', '.join(repr(c) for c in unsafe)} not kept as "
            "customer attributes (names must be letters, digits and _; map them with "
            "[tables.customers.attributes] to rename)"
        )
    return df.drop(columns=unsafe)


__all__ = [
    "LoadLog",
    "RejectLog",
    "dedupe",
    "keep_safe_attributes",
    "parse_cells",
    "repeated_keys",
    "shape_rules",
]
