"""Arrow and NumPy helpers shared by the stages: text columns as Arrow, integer codes.

Text ids are Arrow-backed strings throughout graphprofile; these helpers hash, sort and look
them up in Arrow's C++ kernels instead of Python objects.
"""

from __future__ import annotations

import os
from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The environment variable with which Arrow lets a user choose its memory pool.
POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_lean_memory_pool() -> str:
    """Make Arrow's jemalloc pool the default, unless the user chose a pool; return its name.

    Measured at 1M customers (#16, ``benchmarks/RESULTS.md``): with jemalloc instead of
    Arrow's default mimalloc the run's resident memory was 180–320 MB lower at every point
    sampled, for the same outputs (the allocator hands back freed pages sooner). A pool
    chosen with ``ARROW_DEFAULT_MEMORY_POOL`` is left as it is, and so is a pyarrow built
    without jemalloc. Buffers already allocated stay with the pool that made them.

    Returns
    -------
    str
        The backend of Arrow's default pool afterwards (``"jemalloc"``, ``"mimalloc"``,
        ``"system"``).
    """
    if not os.environ.get(POOL_VARIABLE) and "jemalloc" in pa.supported_memory_backends():
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name


def arrow_strings(values: pd.Series | pd.Index | np.ndarray) -> pa.Array | pa.ChunkedArray:
    """``values`` as Arrow large strings, without a copy when they already are Arrow-backed."""
    arr = values.array if isinstance(values, pd.Series | pd.Index) else values
    if hasattr(arr, "__arrow_array__"):
        out = arr.__arrow_array__()
    else:
        out = pa.array(np.asarray(values, dtype=object), from_pandas=True)
    if not pa.types.is_large_string(out.type):
        out = out.cast(pa.large_string())
    return out


def contiguous_text(values: pd.Series) -> pa.Array:
    """A text column as one contiguous Arrow array: ``take`` of a few rows is then O(rows).

    (Positional indexing into a chunked 10M-row column cost ~20 ms a call.) A column that
    is one chunk already is returned without a copy.
    """
    arr = arrow_strings(values)
    if isinstance(arr, pa.ChunkedArray):
        # one chunk is already contiguous (combine_chunks would copy it)
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """Integer codes of a text column whose order is the text order, and the sorted uniques.

    Arrow's dictionary encoding does the hashing (about twice as fast as ``pd.factorize``
    on Arrow strings); only the uniques are sorted. Nulls get code -1. Many values that
    are all one prefix and a fixed number of decimal digits (``D00890644``) are ranked by
    their numbers instead (:func:`_numbered_sorted_codes`).
    """
    text = arrow_strings(values)
    if len(text) >= _NUMBERED_FROM:
        numbered = _numbered_sorted_codes(text)
        if numbered is not None:
            return numbered
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    dictionary = encoded.dictionary
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    idx = encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.indices.null_count:
        valid = ~np.asarray(encoded.indices.is_null())
        codes = np.full(len(idx), -1, dtype=np.int64)
        codes[valid] = rank[idx[valid].astype(np.int64)]
    else:
        codes = rank[idx.astype(np.int64)]
    uniques = pd.arrays.ArrowStringArray(dictionary.take(pa.array(order)).cast(pa.large_string()))
    return codes, uniques


def _dense(span: int, count: int) -> bool:
    """Whether ``count`` numbers spread over ``span`` are looked up in a table indexed by
    number (at most ~4 entries per number, or a million) rather than by sorting."""
    return span < 4 * count + 1_000_000


def _numbered_sorted_codes(
    text: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray] | None:
    """:func:`sorted_codes` of values that are all one prefix and a fixed number of
    decimal digits (:func:`_id_numbers`; ``None`` otherwise): the text order is the order
    of the numbers, so the codes are the numbers' ranks -- found by counting where the
    numbers are dense, else by NumPy's sort -- with no hashing nor sorting of text (the
    1M bank's 4.2M device ids: 1.6 s by Arrow's dictionary and text sort, #16)."""
    arr = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text  # once
    found = _id_numbers(arr)
    if found is None:
        return None
    numbers = found[2]
    low, top = int(numbers.min()), int(numbers.max())
    if _dense(top - low, len(numbers)):  # a table of present numbers
        present = np.zeros(top - low + 1, dtype=bool)
        present[numbers - low] = True
        rank = np.cumsum(present, dtype=np.int64) - 1
        codes = rank[numbers - low]
        n_unique = int(rank[-1]) + 1
    else:
        codes = np.unique(numbers, return_inverse=True)[1].astype(np.int64, copy=False)
        n_unique = int(codes.max()) + 1
    # each distinct value's text from one row that holds it (every such row spells it)
    row = np.empty(n_unique, dtype=np.int64)
    row[codes] = np.arange(len(codes), dtype=np.int64)
    uniques = pd.arrays.ArrowStringArray(arr.take(pa.array(row)).cast(pa.large_string()))
    return codes, uniques


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``numpy.argsort(key, kind="stable")`` of an integer ``key``: the same permutation,
    faster on unordered keys.

    Where ``(key - min) * n + row`` fits in int64, those distinct values are sorted and
    the row read back (one plain sort, no argsort). Otherwise the rows are ordered by
    NumPy's default argsort, then each run of equal keys is put back in row order by
    sorting ``run * n + row``: all rows where many keys tie, only the tied ones where few
    do (:func:`stable_ties`). Keys that are already almost in order (timsort's best case)
    are better served by ``numpy.argsort(kind="stable")`` itself.

    How these compare depends on the machine: on one, NumPy's default argsort (SIMD
    quicksort) took 0.056 s against 0.25 s for its stable sort (timsort) on 2M random
    int64 keys; on another (NumPy 2.4, 4 December 2026) 0.26 s against 0.28 s, and 10M
    random keys took 1.5 s stable against 1.9-2.1 s here. A plain sort of distinct keys
    was the fastest on both (``benchmarks/RESULTS.md``).
    """
    n = len(key)
    if n < 2:
        return np.argsort(key)
    low = int(key.min())
    if int(key.max()) - low < np.iinfo(np.int64).max // n:
        # ``(key - min) * n + row`` fits in int64: distinct values, whose plain sort is
        # the stable order (one sort, no argsort and no pass over ties; #16: 0.6 s
        # against 1.8 s for 7M keys of (account, counterparty) codes on the machine
        # measured)
        return rows_by_lead(key - low, n)
    order = np.argsort(key)
    sorted_key = key[order]
    tie = sorted_key[1:] == sorted_key[:-1]  # row i + 1 has row i's key
    del sorted_key
    n_tie = int(np.count_nonzero(tie))
    if n_tie == 0:  # no ties: the order is the stable one
        return order
    if n_tie <= n // 8:  # few ties: re-sort only the rows in runs of equal keys
        stable_ties(order, tie)
        return order
    run = np.zeros(n, dtype=np.int64)
    np.cumsum(~tie, out=run[1:])
    return rows_by_lead(run, n, order)


def rows_by_lead(lead: np.ndarray, n: int, rows: np.ndarray | None = None) -> np.ndarray:
    """``rows`` (default ``0 .. len(lead) - 1``) ordered by ``(lead, row)``: the distinct
    values ``lead * n + row`` sorted by a plain sort (no argsort) and read back modulo ``n``.

    Every row must lie in ``0 .. n - 1`` and ``lead * n + row`` within int64. ``lead``
    (int64) is used in place: pass an array the caller no longer needs.
    """
    lead *= n
    lead += np.arange(len(lead), dtype=np.int64) if rows is None else rows
    lead.sort()
    lead %= n
    return lead


def stable_ties(order: np.ndarray, tie: np.ndarray) -> None:
    """Put the rows of each run of equal keys in ``order`` (a sort of the keys) back in row
    order, in place; ``tie[i]``: position ``i + 1`` has the key of position ``i``.

    Only the tied positions are sorted (by ``run * n + row``): keys such as (account,
    second) have few ties. Measured on 10M random (account, second) keys: 0.89 s for the
    whole argsort against 1.18 s when every row was sorted again (#16).
    """
    n = len(order)
    tied = np.zeros(n, dtype=bool)
    tied[1:] = tie
    tied[:-1] |= tie
    at = np.flatnonzero(tied)
    begins = np.ones(len(at), dtype=bool)
    begins[1:] = ~tie[at[1:] - 1]  # a tied position whose predecessor is no tie starts a run
    order[at] = rows_by_lead(np.cumsum(begins, dtype=np.int64), n, order[at])


#: The value of each byte as a lowercase hex digit (255: not one).
_HEX_DIGIT = np.full(256, 255, dtype=np.uint8)
_HEX_DIGIT[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10, dtype=np.uint8)
_HEX_DIGIT[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _without_nulls(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray] | None:
    """A large-string column as one array and its ``n + 1`` offsets, or ``None`` when it is
    empty or holds a null (the byte-level readers below need every value's text)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    n = len(arr)
    if n == 0 or arr.null_count:
        return None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    return arr, offsets


def hex_words(values: pd.Series) -> np.ndarray | None:
    """Each value as the uint64 that its 16 lowercase hex digits spell, or ``None`` unless
    every value is exactly that (no nulls).

    The pseudonyms of :mod:`graphprofile.ingest.pii` are such: their text order is the
    order of these integers, which NumPy sorts several times faster than Arrow sorts text.
    """
    found = _without_nulls(arrow_strings(values))
    if found is None:
        return None
    arr, offsets = found
    n = len(arr)
    if offsets[-1] - offsets[0] != 16 * n or not (np.diff(offsets) == 16).all():
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    digits = _HEX_DIGIT[data]
    if (digits > 15).any():
        return None
    digits = digits.reshape(n, 16)
    octets = digits[:, 0::2] << np.uint8(4)  # two digits a byte, most significant first
    octets |= digits[:, 1::2]
    return octets.view(">u8").ravel().astype(np.uint64)


def codes(values: pd.Series | pd.Index | np.ndarray, categories: pd.Index) -> np.ndarray:
    """Integer positions of string ``values`` in ``categories`` (-1 where absent or null).

    A hash lookup in Arrow (``pyarrow.compute.index_in``): about 5x faster than
    ``pandas.Categorical`` on Arrow-backed strings, and it never copies the values into
    Python objects. Many categories (:data:`_NUMBERED_FROM`) that are one prefix and a
    fixed number of decimal digits (``A000000001``) are found by their numbers instead,
    the same positions without hashing text (:func:`_numbered_ids`; 2-2.5x faster on the
    1M bank's 11M account ids).
    """
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    value_set = arrow_strings(categories)
    numbered = _numbered_ids(value_set) if len(value_set) >= _NUMBERED_FROM else None
    if numbered is not None:  # the same positions from the ids' numbers (no hashing)
        return _numbered_codes(arrow_strings(values), *numbered)
    found = pc.index_in(arrow_strings(values), value_set=value_set)
    found = pc.fill_null(found, -1)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return found.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


#: Fewest ids looked up by their numbers: Arrow's hash table of fewer stays in the CPU
#: caches and is as fast (measured, 3M values: 10k ids 0.11 s hashed, 0.13 s by number;
#: 50k ids 0.44 s, 0.31 s; 500k ids 0.91 s, 0.27 s).
_NUMBERED_FROM = 32_768
#: Most decimal digits an id's number may have (it must fit an int64).
_MOST_DIGITS = 18
#: Longest ids read as numbers (bytes; longer ones are hashed by Arrow).
_LONGEST_NUMBERED = 64


def _text_matrix(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows of a large-string array that are ``width`` bytes long and not null, as a
    ``(rows, width)`` uint8 matrix, and their positions (``None``: every row, and the
    matrix is a view of Arrow's buffer)."""
    n = len(arr)
    _, offset_buffer, data_buffer = arr.buffers()
    if offset_buffer is None or data_buffer is None:  # no text at all
        return np.zeros((0, width), dtype=np.uint8), np.zeros(0, dtype=np.intp)
    offsets = np.frombuffer(offset_buffer, dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    lengths = np.diff(offsets)
    if not arr.null_count and (lengths == width).all():
        return data[offsets[0] : offsets[-1]].reshape(n, width), None
    ok = lengths == width
    if arr.null_count:
        ok &= ~np.asarray(arr.is_null())
    rows = np.flatnonzero(ok)
    if offsets[-1] - offsets[0] == width * len(rows):  # the others empty (nulls, ""): a view
        return data[offsets[0] : offsets[-1]].reshape(len(rows), width), rows
    at = offsets[:-1][rows]
    return data[at[:, None] + np.arange(width)], rows


def _numbered_ids(ids: pa.Array | pa.ChunkedArray) -> tuple[int, bytes, np.ndarray] | None:
    """``(width, prefix, numbers)`` when every id is one prefix and a fixed number of
    decimal digits (``A000000001``, ``C00025869``, ``100234``): each id's number, which
    names it as well as its text does; ``None`` for any other ids (a null, a duplicate,
    ids of different lengths or prefixes, more than :data:`_MOST_DIGITS` digits)."""
    found = _id_numbers(ids)
    if found is None:
        return None
    width, prefix, numbers = found
    ordered = np.sort(numbers)
    if (ordered[1:] == ordered[:-1]).any():  # duplicate ids: Arrow's first position, not ours
        return None
    return width, prefix, numbers


def _id_numbers(values: pa.Array | pa.ChunkedArray) -> tuple[int, bytes, np.ndarray] | None:
    """``(width, prefix, numbers)`` when every value is one prefix and a fixed number of
    decimal digits (repeats allowed): each value's number, whose order is the values'
    text order; ``None`` for any other values (a null, different lengths or prefixes, more
    than :data:`_MOST_DIGITS` digits)."""
    found = _without_nulls(values)
    if found is None:
        return None
    values, offsets = found
    width = int(offsets[1] - offsets[0])
    if not 0 < width <= _LONGEST_NUMBERED or not (np.diff(offsets) == width).all():
        return None
    text, _ = _text_matrix(values, width)
    all_digits = ((text >= ord("0")) & (text <= ord("9"))).all(axis=0)
    start = width  # the number: the last columns that are digits in every value
    while start > 0 and all_digits[start - 1]:
        start -= 1
    start = max(start, width - _MOST_DIGITS)
    prefix = text[0, :start]
    if start == width or not (text[:, :start] == prefix).all():
        return None
    numbers = _numbers(np.ascontiguousarray(text[:, start:].T))[0]
    return width, prefix.tobytes(), numbers


def _numbers(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int64 that each column of ASCII bytes spells in decimal (most significant
    byte first, one row per digit), and whether every byte of the column is a digit."""
    out = np.zeros(digits.shape[1], dtype=np.int64)
    ok = np.ones(digits.shape[1], dtype=bool)
    for row in digits:  # one pass per digit over contiguous bytes
        d = row - np.uint8(ord("0"))  # bytes below "0" wrap above 9
        ok &= d <= 9
        out *= 10
        out += d
    return out, ok


#: Rows parsed at once by :func:`_numbered_codes` (their bytes stay in the CPU caches).
_PARSE_ROWS = 32_768


def _numbered_codes(
    values: pa.Array | pa.ChunkedArray, width: int, prefix: bytes, numbers: np.ndarray
) -> np.ndarray:
    """:func:`codes` of ``values`` among ids of one ``prefix`` and ``width`` (see
    :func:`_numbered_ids`): a value is one of the ids exactly when it has their width,
    their prefix and decimal digits after it, and then it is the id with its number. The
    numbers are looked up in a table indexed by number when they are dense enough, else
    by a binary search."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    top = int(numbers.max())
    table = None
    if _dense(top, len(numbers)):  # a table indexed by number
        table = np.full(top + 1, -1, dtype=np.int64)
        table[numbers] = np.arange(len(numbers))
    else:
        order = np.argsort(numbers)
        ordered = numbers[order]
    head = np.frombuffer(prefix, dtype=np.uint8)
    out = [np.zeros(0, dtype=np.int64)]
    for chunk in chunks:
        for lo in range(0, len(chunk), _PARSE_ROWS):
            part = chunk.slice(lo, _PARSE_ROWS)
            text, rows = _text_matrix(part, width)
            columns = np.ascontiguousarray(text.T)  # one row of bytes per character
            number, ok = _numbers(columns[len(head) :])
            for j, byte in enumerate(head.tolist()):
                ok &= columns[j] == byte
            if table is not None:
                ok &= number <= top
                if rows is None and ok.all():  # every value an id's width, prefix, digits
                    out.append(table[number])
                    continue
                hit = table[number[ok]]
            else:
                at = np.minimum(np.searchsorted(ordered, number), len(ordered) - 1)
                ok &= ordered[at] == number
                hit = order[at[ok]]
            found = np.full(len(part), -1, dtype=np.int64)
            found[np.flatnonzero(ok) if rows is None else rows[ok]] = hit
            out.append(found)
    return np.concatenate(out)


def is_in(values: pd.Series, known: pd.Series | Collection[str]) -> pd.Series:
    """``values.isin(known)`` for text columns, done by Arrow (pandas loops in Python here).

    Arrow-backed text is looked up where it lies (no copy of a 10M-row column); other
    columns are compared as text (``astype(str).isin``). Nulls are in no ``known``.
    ``known`` is a text column or a collection of keys (the report scopes its 10M-row
    tables to a few hundred keys this way: pandas' ``astype(str)`` and ``isin`` took
    seconds at 1M customers, #16).
    """
    if not isinstance(known, pd.Series):
        known = pd.Series(sorted(known), dtype="string")
    arr = arrow_strings(values.astype("string"))
    value_set = pc.unique(arrow_strings(known.astype("string")).drop_null())
    numbered = _numbered_ids(value_set) if len(value_set) >= _NUMBERED_FROM else None
    if numbered is not None:  # the same answers from the keys' numbers (see codes)
        return pd.Series(_numbered_codes(arr, *numbered) >= 0, index=values.index)
    found = pc.is_in(arr, value_set=value_set, skip_nulls=True).fill_null(False)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return pd.Series(found.to_numpy(zero_copy_only=False).astype(bool), index=values.index)


def epoch_seconds(ts: pd.Series) -> np.ndarray:
    """Whole seconds since 1970-01-01 UTC of a timestamp column (floor, any resolution)."""
    values = pd.to_datetime(ts, utc=True)
    return values.array.as_unit("s").asi8.astype(np.int64, copy=False)


def is_sorted_unique(values: pd.Series) -> bool:
    """Whether a text column is already strictly increasing (Arrow compares, no Python loop)."""
    if len(values) < 2 or values.isna().any():
        return len(values) < 2
    arr = arrow_strings(values)
    return bool(pc.all(pc.greater(arr[1:], arr[:-1])).as_py())


class SortedIds:
    """A node table's key column, sorted and unique: other id columns are coded against it.

    A column whose every value is one of these ids gets its text-order codes from a hash
    lookup (:func:`codes`: the position of each value here), without
    hashing the column into a dictionary of its own and sorting that dictionary as
    :func:`sorted_codes` does (at 1M customers both cost seconds per
    id column). The codes differ from ``sorted_codes``' only by a gap for each id that the
    column lacks, so the text order, and every grouping and sort built on it, is the same.
    """

    def __init__(self, ids: pd.Series) -> None:
        self.ids = ids
        self.usable = bool(ids.notna().all()) and is_sorted_unique(ids)
        self.uniques = pd.arrays.ArrowStringArray(contiguous_text(ids)) if self.usable else None

    def codes(self, values: pd.Series) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
        """Text-order codes of ``values`` and the ids they index.

        Positions in these ids when every value is one of them; otherwise (a null, or an
        id not here) :func:`sorted_codes` of ``values``.
        """
        if self.usable and len(values):
            pos = codes(values, self.ids)
            if pos.min() >= 0:
                assert self.uniques is not None
                return pos, self.uniques
        return sorted_codes(values)
