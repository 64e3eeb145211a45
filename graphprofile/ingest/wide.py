"""Identifiers and devices read from columns of another table (a "wide" extract).

Core-banking extracts keep 身份证号, 手机号 and e-mail as columns of the customer master,
and device ids and IPs as columns of a login or channel log. A mapping says so with
``from_table`` (the table whose file is read; its file and parse options are inherited)
and, for identifiers, ``kinds`` (identifier kind = source column)::

    [tables.identifiers]
    from_table = "customers"
    separator = ";"              # optional: cells holding several values
    kinds = { national_id = "身份证号", phone = "手机号" }

Each non-empty cell (each part of it, with ``separator``) becomes one identifier row
``(customer_id, kind, value)`` that keeps the file and row number of its source row, so
its rejects point at the cell's row. An empty cell is no identifier (not a reject).
For devices, ``separator`` splits ``device_id`` cells the same way.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile.errors import InputError
from graphprofile.ingest.read import ROW, RawTable, _csv_header, _parquet_header, read_table

if TYPE_CHECKING:
    from graphprofile.ingest.mapping import Mapping, TableMapping


def explode(frame: pd.DataFrame, column: str, separator: str) -> pd.DataFrame:
    """One row per ``separator``-separated part of ``column``; empty parts are dropped.

    A row with no non-empty part is kept once with a null value (validation then says
    what is missing), so no source row disappears here.
    """
    arr = pa.array(frame[column].astype("string"), type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    parts = pc.split_pattern(arr, pattern=separator)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    parent = np.asarray(pc.list_parent_indices(parts).to_numpy(zero_copy_only=False))
    keep = np.asarray(pc.not_equal(flat, "").to_numpy(zero_copy_only=False), dtype=bool)
    empty = np.flatnonzero(np.bincount(parent[keep], minlength=len(frame)) == 0)
    out = frame.iloc[np.concatenate([parent[keep], empty])].copy()
    values = np.asarray(flat.filter(pa.array(keep)).to_pandas(), dtype=object)
    out[column] = pd.array(np.concatenate([values, [None] * len(empty)]), dtype="string")
    return out.sort_values(ROW, kind="stable")


def read_wide_identifiers(path: Path, tm: TableMapping) -> RawTable:
    """Read the ``kinds`` columns of ``path`` as long identifier rows (see module doc)."""
    header = _parquet_header(path) if path.suffix.lower() == ".parquet" else _csv_header(path, tm)
    for kind, src in tm.kinds.items():
        if src not in header:
            raise InputError(
                f"{path}: missing column {src!r} (mapping entry tables.{tm.table}.kinds.{kind}); "
                f"columns found: {', '.join(header[:20])}"
            )
    codes = {f"_kind{i}": kind for i, kind in enumerate(tm.kinds)}
    reading = replace(
        tm,
        attributes={code: tm.kinds[kind] for code, kind in codes.items()},
        explicit_columns=True,
    )
    raw = read_table(path, reading, {"customer_id"})
    frame = raw.frame
    parts = []
    for code, kind in codes.items():
        part = frame[["customer_id", ROW]].assign(value=frame[code].astype("string"))
        if tm.separator:
            part = explode(part, "value", tm.separator)
        part = part[part["value"].str.strip().fillna("") != ""]
        parts.append(part.assign(kind=kind))
    long = pd.concat(parts, ignore_index=True)
    long = long.sort_values(ROW, kind="stable").reset_index(drop=True)
    return RawTable(tm.table, path, long[["customer_id", "kind", "value", ROW]], raw.invalid)


def read_devices(path: Path, tm: TableMapping, required: set[str]) -> RawTable:
    """Read device uses (maybe from another table's file); ``separator`` splits device ids."""
    raw = read_table(path, tm, required)
    if tm.from_table:
        raw.ignored_columns = []  # the other columns belong to the source table
    if tm.separator:
        raw.frame = explode(raw.frame, "device_id", tm.separator).reset_index(drop=True)
    return raw


def read_by_others(mapping: Mapping, table: str) -> set[str]:
    """Source columns of ``table``'s file that other tables read (``from_table = table``)."""
    return {
        src
        for other in mapping.tables.values()
        if other.from_table == table
        for src in (*other.kinds.values(), *other.columns.values())
    }


__all__ = ["explode", "read_by_others", "read_devices", "read_wide_identifiers"]
