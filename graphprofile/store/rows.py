"""Parameter rows as Arrow columns: built from frames and encoded without Python loops.

A load sends millions of rows as ``$rows``. Turning a frame into a list of dicts and
letting a driver walk every value costs more than the database's own work, so rows are
kept as a :class:`pyarrow.Table` (primitive columns, lists of primitives and one struct
column for the nested ``props`` map) and each engine turns a slice into what it sends:

- Neo4j: ``table.slice(...).to_pylist()`` (Arrow builds the dicts in C++);
- FalkorDB: :func:`cypher_literals`, the ``CYPHER rows=[...]`` parameter text built
  column-wise with Arrow compute kernels (FalkorDB's client would otherwise format every
  value in Python, which took longer than the server's work).

Nothing here imports a database driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile.errors import StoreError
from graphprofile.store.base import clean_value, validate_name


def column_array(series: pd.Series, *, table: str, column: str) -> pa.Array:
    """One frame column as an Arrow array of property values (vectorised).

    Timestamps become ISO 8601 UTC text with microseconds, floats stay floats (NaN
    becomes null; inf is refused), integers, booleans and text keep their type, and any
    other column goes value by value through :func:`~graphprofile.store.base.clean_value`.

    Raises
    ------
    StoreError
        Non-finite numbers, maps, mixed lists or unsupported values.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        s = series if isinstance(series.dtype, pd.DatetimeTZDtype) else series.dt.tz_localize("UTC")
        # TS_FORMAT, 4x faster than strftime: Arrow casts naive microseconds to
        # "2024-01-01 00:00:00.000000"; floor first so that pre-1970 values match %f.
        arr = pa.array(s.dt.tz_convert("UTC").dt.tz_localize(None), from_pandas=True)
        micros = pc.cast(pc.floor_temporal(arr, unit="microsecond"), pa.timestamp("us"))
        text = pc.replace_substring(pc.cast(micros, pa.string()), " ", "T", max_replacements=1)
        return pc.binary_join_element_wise(text, "Z", "")
    if pd.api.types.is_bool_dtype(series):
        return pa.array(series.astype("boolean"), type=pa.bool_(), from_pandas=True)
    if pd.api.types.is_integer_dtype(series):
        return pa.array(series.astype("Int64"), type=pa.int64(), from_pandas=True)
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(values).any():
            raise StoreError(
                f"{table}.{column}: non-finite numbers (inf) cannot be stored as properties"
            )
        return pa.array(values, type=pa.float64(), from_pandas=True)
    if pd.api.types.is_string_dtype(series) and pd.api.types.infer_dtype(series, skipna=True) in (
        "string",
        "empty",
    ):
        return pa.array(series.astype(object), type=pa.string(), from_pandas=True)
    try:
        values = [clean_value(v) for v in series.tolist()]
        return pa.array(values)
    except StoreError as exc:
        raise StoreError(f"{table}.{column}: {exc}") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"{table}.{column}: values of mixed types: {exc}") from None


def frame_to_table(
    frame: pd.DataFrame,
    *,
    table: str,
    top: Sequence[str],
    nest: str = "props",
    extra: dict[str, pa.Array] | None = None,
) -> pa.Table:
    """Rows ``{top columns..., nest: {other columns...}}`` as an Arrow table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Source rows; every column name is validated as a property name.
    table : str
        Table name for error messages.
    top : sequence of str
        Columns kept at the row's top level (keys, relationship ends).
    nest : str, default "props"
        Name of the struct column holding every other column (and ``extra``).
    extra : dict of str to pyarrow.Array, optional
        Additional nested properties already as Arrow arrays (e.g. transaction lists).

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    StoreError
        An unsafe column name or a value that cannot be a property.
    """
    arrays: dict[str, pa.Array] = {}
    for col in frame.columns:
        name = validate_name(str(col), f"property (column of {table})")
        arrays[name] = column_array(frame[col], table=table, column=name)
    for name, arr in (extra or {}).items():
        arrays[validate_name(name, f"property (of {table})")] = arr
    n = len(frame)
    nested = [c for c in arrays if c not in top]
    if nested:
        props = pa.StructArray.from_arrays([arrays[c] for c in nested], names=nested)
    else:
        props = pa.array([{}] * n, type=pa.struct([]))
    return pa.Table.from_arrays([*(arrays[c] for c in top), props], names=[*top, nest])


def table_to_dicts(table: pa.Table) -> list[dict[str, Any]]:
    """Plain Python rows (nested structs become dicts, nulls ``None``)."""
    return table.to_pylist()


def cypher_literals(table: pa.Table) -> list[str]:
    """Each row of ``table`` as a Cypher map literal, e.g. ``{`id`:"a",`props`:{`n`:1}}``.

    Strings are quoted the way FalkorDB's parameter header reads them (``\\`` and ``"``
    escaped, everything else verbatim), floats keep a decimal point or exponent so that
    they stay floats, nulls are ``null`` (``SET n += {p: null}`` removes ``p``).

    Raises
    ------
    StoreError
        A column of a type that is not a property value.
    """
    if table.num_rows == 0:
        return []
    fields = [(f.name, table.column(i).combine_chunks()) for i, f in enumerate(table.schema)]
    return _map_literal(fields, table.num_rows).to_pylist()


def _map_literal(fields: list[tuple[str, pa.Array]], n: int) -> pa.Array:
    if not fields:
        return pa.array(["{}"] * n, type=pa.string())
    pieces: list[Any] = []
    for i, (name, arr) in enumerate(fields):
        pieces.append(("{" if i == 0 else ",") + f"`{validate_name(name, 'property')}`:")
        pieces.append(_literal(arr))
    pieces.append("}")
    return pc.binary_join_element_wise(*pieces, "")


def _literal(arr: pa.Array) -> pa.Array:
    """Cypher literal text of every value (``null`` for nulls)."""
    kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.replace_substring(arr, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        out = pc.binary_join_element_wise('"', text, '"', "")
    elif pa.types.is_boolean(kind):
        out = pc.if_else(arr, "true", "false")
    elif pa.types.is_integer(kind):
        out = pc.cast(arr, pa.string())
    elif pa.types.is_floating(kind):
        text = pc.cast(pc.cast(arr, pa.float64()), pa.string())
        # "2" would read back as an integer: keep floats floats
        plain = pc.invert(pc.match_substring_regex(text, r"[.eEn]"))
        out = pc.if_else(plain, pc.binary_join_element_wise(text, ".0", ""), text)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = _literal(arr.values)
        lists = type(arr).from_arrays(arr.offsets, values)
        joined = pc.binary_join(lists, ",")
        out = pc.binary_join_element_wise("[", joined, "]", "")
    elif pa.types.is_struct(kind):
        names = [kind.field(i).name for i in range(kind.num_fields)]
        out = _map_literal(list(zip(names, arr.flatten(), strict=True)), len(arr))
    elif pa.types.is_null(kind):
        out = pa.array(["null"] * len(arr), type=pa.string())
    else:
        raise StoreError(f"cannot send values of Arrow type {kind} as properties")
    return pc.if_else(pc.is_valid(arr), out, "null") if arr.null_count else out
