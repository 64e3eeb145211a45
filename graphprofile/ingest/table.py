"""One table, from its file to its valid rows: read, parse, shape rules, duplicates."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from graphprofile.errors import InputError
from graphprofile.frames import TABLES, TableStats
from graphprofile.ingest import statements, wide
from graphprofile.ingest.layouts import STATEMENT_REQUIRED
from graphprofile.ingest.mapping import Mapping, TableMapping
from graphprofile.ingest.normalise import normalise_identifiers
from graphprofile.ingest.read import ROW, find_file, read_table
from graphprofile.ingest.validate import (
    KEY_COLUMN,
    LoadLog,
    dedupe,
    keep_safe_attributes,
    parse_cells,
    shape_rules,
)

_DTYPES = {"id": "string", "str": "string", "pii": "string", "amount": "float64", "bool": "bool"}


def empty(table: str) -> pd.DataFrame:
    cols = {}
    for column, (kind, _) in TABLES[table].items():
        dtype = "datetime64[ns, UTC]" if kind == "ts" else _DTYPES[kind]
        cols[column] = pd.Series(dtype=dtype)
    return pd.DataFrame(cols)


def complete(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Add missing canonical columns (typed, null) and drop the row-number column."""
    canonical = empty(table)
    for column in canonical.columns:
        if column not in df:
            if canonical[column].dtype == bool:
                df[column] = False
            else:
                df[column] = pd.Series(pd.NA, index=df.index).astype(canonical[column].dtype)
    ordered = list(canonical.columns) + [c for c in df.columns if c not in canonical and c != ROW]
    return df[ordered].reset_index(drop=True)


def read_rows(
    table: str, data_dir: Path, mapping: Mapping, now: pd.Timestamp, log: LoadLog
) -> pd.DataFrame | None:
    """Read one table and keep its valid rows; every other row is logged in ``log``.

    Reading (:mod:`.read`, :mod:`.wide`, :mod:`.statements`), cell parsing, row-shape
    rules, identifier normalisation and duplicate keys, in that order (see
    :mod:`.validate`). References to other tables are checked later
    (:mod:`.references`).

    Returns
    -------
    pandas.DataFrame or None
        The accepted rows (with their source row numbers), or ``None`` when the table is
        optional and has no file.

    Raises
    ------
    InputError
        A required file or column is missing, or the file cannot be read.
    """
    tm = mapping.tables.get(table)
    if tm is None:
        return None
    path = find_file(data_dir, tm)
    if path is None:
        if table == "transactions" or tm.explicit_columns or not mapping.is_default:
            raise InputError(
                f"{data_dir}: no file for table '{table}' (mapping entry "
                f"tables.{table}.file = {tm.file!r}; looked for "
                f"{tm.file if '.' in tm.file else tm.file + '.parquet or .csv'})"
            )
        return None
    required = {c for c, (_, req) in TABLES[table].items() if req}
    start = time.perf_counter()
    if tm.kinds:
        raw = wide.read_wide_identifiers(path, tm)
    elif table == "devices" and (tm.from_table or tm.separator):
        raw = wide.read_devices(path, tm, required)
    elif tm.statement is not None:
        raw = read_table(path, tm, set(STATEMENT_REQUIRED))
    else:
        raw = read_table(path, tm, required)
    pre_reason = pre_column = None
    if tm.statement is not None:
        raw.frame, pre_reason, pre_column = statements.to_transfers(raw.frame, tm.statement)
    if table == "transactions" and not {"to_account", "to_counterparty"} & set(raw.frame):
        raise InputError(
            f"{path}: needs a to_account or a to_counterparty column (mapping entries "
            "tables.transactions.columns.to_account / .to_counterparty)"
        )
    # columns that identifiers or devices read from this file (from_table) belong to them:
    # neither ignored nor kept as customer attributes
    used = wide.read_by_others(mapping, table)
    own = {*TABLES[table], *tm.attributes}
    raw.frame = raw.frame.drop(columns=[c for c in used if c in raw.frame and c not in own])
    ignored = [c for c in raw.ignored_columns if c not in used]
    if ignored:
        log.notices.append(f"{path.name}: unmapped column(s) ignored: {', '.join(ignored)}")
    log.files[table] = str(path)
    log.stats[table] = TableStats(table=table, source_file=str(path), read=raw.read)
    n_read = raw.read
    log.timed("read", start, n_read)
    start = time.perf_counter()
    if raw.invalid:
        rows = pd.Series([r for r, _ in raw.invalid])
        log.rejects.add(
            table, str(path), rows, pd.Series([w for _, w in raw.invalid]), None, "(row)"
        )
        log.stats[table].rejected += len(raw.invalid)
    df, reason, column = parse_cells(raw, tm, now)
    raw.frame = pd.DataFrame(columns=raw.frame.columns)  # parsed: the text as read can go
    log.timed("parse cells", start, n_read)
    start = time.perf_counter()
    if pre_reason is not None:
        column = pre_column.where(pre_reason.notna(), column)
        reason = pre_reason.fillna(reason)
    reason = shape_rules(table, df, reason)
    # a row whose reason names no column is about the whole row (only those rows are set)
    whole_row = reason.notna().to_numpy(dtype=bool) & column.isna().to_numpy(dtype=bool)
    if whole_row.any():
        column = column.copy()
        column[whole_row] = "(row)"
    df = log.reject(table, df, reason.notna(), reason, column)
    if tm.statement is not None:
        mirrors = statements.mirror_mask(df, tm.statement)
        log.stats[table].merged = int(mirrors.sum())
        df = statements.drop_hidden(df[~mirrors])
    if table == "identifiers":
        df = _normalise_identifiers(df, tm, log)
    merged, conflict, why = dedupe(table, df)
    df = log.reject(table, df, conflict, why, KEY_COLUMN.get(table))
    log.stats[table].duplicates_merged = int(merged.sum())
    df = df[~merged.reindex(df.index).fillna(False).astype(bool)]
    if table == "customers":
        df = keep_safe_attributes(df, log.notices, path.name)
    log.timed("row rules, identifiers, duplicates", start, n_read)
    return df


def _normalise_identifiers(df: pd.DataFrame, tm: TableMapping, log: LoadLog) -> pd.DataFrame:
    """Normalise identifier values (:mod:`~graphprofile.ingest.normalise`); reject bad IDs."""
    values, reason = normalise_identifiers(
        df["kind"],
        df["value"],
        phone_country_code=tm.options.phone_country_code,
        national_id_format=tm.options.national_id_format,
    )
    df = df.assign(value=values)
    return log.reject("identifiers", df, reason.notna(), reason, "value")
