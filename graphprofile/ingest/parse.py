"""Vectorised parsing of one column, returning values and a reject reason per row.

Each parser returns ``(values, reason)`` where ``reason`` is a string Series that is null
for rows that parsed (or were empty in an optional column).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import arrow_strings

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
MAX_VALUE_IN_REASON = 40


def show(values: pd.Series) -> pd.Series:
    """Offending values as they appear in a reason: quoted and truncated."""
    s = values.astype("string").str.slice(0, MAX_VALUE_IN_REASON).fillna("")
    return "'" + s + "'"


def flag(
    reason: pd.Series, mask: np.ndarray | pd.Series, text: pd.Series, before: str, after: str = ""
) -> pd.Series:
    """Set ``before + 'value' + after`` as the reason of rows in ``mask`` that have none yet.

    The quoted value is built only for the flagged rows, so clean columns cost nothing.
    """
    mask = np.asarray(mask, dtype=bool) & reason.isna().to_numpy(dtype=bool)
    if not mask.any():
        return reason
    reason = reason.copy()
    reason[mask] = (before + show(text[mask]) + after).to_numpy()
    return reason


_SHARED = threading.local()


@contextlib.contextmanager
def shared_nulls(n: int) -> Iterator[None]:
    """Within the block, this thread's columns of ``n`` null reasons share one all-null
    Arrow array (its ``n + 1`` zero offsets are made once, not once per column: ~0.07 s
    a column of the 1M bank's 11M transactions, #16). Arrow arrays are immutable, and each
    column is its own Series."""
    _SHARED.nulls = pa.nulls(n, pa.large_string())
    try:
        yield
    finally:
        del _SHARED.nulls


def _null_reasons(index: pd.Index) -> pd.Series:
    nulls = getattr(_SHARED, "nulls", None)
    if nulls is None or len(nulls) != len(index):
        return nullable_text(None, index)
    return pd.Series(pd.arrays.ArrowStringArray(nulls), index=index)


def nullable_text(values: np.ndarray | None, index: pd.Index) -> pd.Series:
    """A ``"string"`` Series of ``values`` (``str`` or ``None``; all null when ``None``).

    Arrow converts the object array in C; pandas' ``Series(values, dtype="string")``
    checks each value in Python (about a second per 10M rows, twice per table).
    """
    if values is None:
        arr = pa.nulls(len(index), pa.large_string())
    else:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)


def sparse_text(values: np.ndarray, at: np.ndarray, index: pd.Index) -> pd.Series:
    """:func:`nullable_text` of a column of ``len(index)`` values in which only the rows
    ``at`` (sorted positions) may hold text, ``values`` (``str`` or ``None``, one per row of
    ``at``), and every other value is ``None``.

    Only those rows are converted; the Arrow column is assembled from its buffers (offsets
    and validity from NumPy). A table's reason columns are such: at 1M customers 11M
    ``None`` per column, of which a handful are reasons; converting them all cost ~0.25 s
    a column, and testing them for ``None`` ~0.1 s a column each time (#16).
    """
    n = len(index)
    given = pa.array(values, type=pa.large_string(), from_pandas=True)
    if given.null_count == len(given):
        return nullable_text(None, index)
    if given.null_count:  # keep only the rows with text
        keep = np.asarray(given.is_valid())
        at, given = at[keep], given.filter(pa.array(keep))
    lengths = np.zeros(n + 1, dtype=np.int64)
    given_offsets = np.frombuffer(given.buffers()[1], dtype=np.int64)
    given_offsets = given_offsets[given.offset : given.offset + len(given) + 1]
    lengths[np.asarray(at) + 1] = np.diff(given_offsets)
    offsets = np.cumsum(lengths, out=lengths)
    data = given.buffers()[2]
    data = data.slice(int(given_offsets[0]), int(given_offsets[-1] - given_offsets[0]))
    valid = np.zeros(n, dtype=bool)
    valid[at] = True
    bitmap = np.packbits(valid, bitorder="little")
    arr = pa.Array.from_buffers(
        pa.large_string(),
        n,
        [pa.py_buffer(bitmap), pa.py_buffer(offsets), data],
        null_count=n - len(at),
    )
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)


#: Bytes that may start or end whitespace Arrow's ``utf8_trim_whitespace`` removes: ASCII
#: 9-13 and 28-32, and every byte of a multi-byte character (a superset: the trim decides).
_MAY_TRIM = np.zeros(256, dtype=bool)
_MAY_TRIM[9:14] = _MAY_TRIM[28:33] = _MAY_TRIM[128:] = True


def _offsets(chunk: pa.Array) -> np.ndarray:
    """The ``len(chunk) + 1`` offsets of a large-string array (its slice's own)."""
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
    return offsets[chunk.offset : chunk.offset + len(chunk) + 1]


def _chunks(text: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return text.chunks if isinstance(text, pa.ChunkedArray) else [text]


def _nothing_to_trim(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether no value of large-string ``text`` can start or end with whitespace, from
    each value's first and last byte (no trimmed copy of the column is made)."""
    for chunk in _chunks(text):
        data = chunk.buffers()[2]
        if len(chunk) == 0 or data is None:
            continue
        bytes_ = np.frombuffer(data, dtype=np.uint8)
        offsets = _offsets(chunk)
        lo, hi = offsets[:-1], offsets[1:]
        filled = hi > lo  # empty values (and most nulls) have no bytes to look at
        if len(bytes_) == 0:
            continue
        # every value's first and last byte, clipped into the buffer (``take``: no copy of
        # the offsets of the filled values; what an empty value reads is masked out)
        edge = _MAY_TRIM.take(bytes_.take(lo, mode="clip"))
        edge &= filled
        if edge.any():
            return False
        edge = _MAY_TRIM.take(bytes_.take(hi - 1, mode="clip"))
        edge &= filled
        if edge.any():
            return False
    return True


def _empty_values(chunk: pa.Array) -> np.ndarray:
    """Rows of a large-string array that hold an empty value (not a null)."""
    offsets = _offsets(chunk)
    empty = offsets[1:] == offsets[:-1]
    if chunk.null_count:
        empty &= np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return empty


def _has_empty(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value of large-string ``text`` is empty, from its offsets (Arrow's
    ``binary_length`` makes an 11M-row integer column of each of them first: ~0.12 s a
    column of the 1M bank's transactions, #16)."""
    return any(_empty_values(chunk).any() for chunk in _chunks(text) if len(chunk))


def _empty_as_null(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Large-string ``text`` with its empty values null: each chunk's offsets and bytes
    are kept and only a new validity bitmap is made (pandas' ``mask(s == "")`` rewrote
    the column: ~0.47 s a column of the 1M bank's transactions, #16)."""
    out = []
    for chunk in _chunks(text):
        n = len(chunk)
        offsets = _offsets(chunk)
        keep = offsets[1:] > offsets[:-1]  # not empty, and not null (below)
        if chunk.null_count:
            keep &= np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        own = chunk.buffers()[1].slice(chunk.offset * 8, (n + 1) * 8)
        data = chunk.buffers()[2] if chunk.buffers()[2] is not None else pa.py_buffer(b"")
        bitmap = pa.py_buffer(np.packbits(keep, bitorder="little"))
        nulls = n - int(np.count_nonzero(keep))
        out.append(
            pa.Array.from_buffers(pa.large_string(), n, [bitmap, own, data], null_count=nulls)
        )
    if isinstance(text, pa.ChunkedArray):
        return pa.chunked_array(out, type=pa.large_string())
    return out[0]


def as_text(values: pd.Series) -> pd.Series:
    """Text ids and labels: trimmed; empty means missing.

    A column with nothing to trim and no empty value comes back sharing the values it was
    given (no copy): at 1M customers each id column of the transactions is ~200 MB, and
    most files hold no stray spaces. Whether anything was trimmed or is empty is decided
    on Arrow byte lengths (pandas' ``str.len`` builds a nullable integer Series).
    """
    s = values.astype("string")
    text = arrow_strings(s)
    if not _nothing_to_trim(text):  # trimming copies the column: only when it may change
        stripped = pc.utf8_trim_whitespace(text)
        if pc.any(pc.not_equal(pc.binary_length(stripped), pc.binary_length(text))).as_py():
            s = pd.Series(pd.arrays.ArrowStringArray(stripped), index=s.index, name=s.name)
            text = stripped
        del stripped
    if not _has_empty(text):
        return s
    blank = pd.arrays.ArrowStringArray(_empty_as_null(text))
    return pd.Series(blank, index=s.index, name=s.name)


def parse_text(values: pd.Series, column: str, required: bool) -> tuple[pd.Series, pd.Series]:
    s = as_text(values)
    reason = _null_reasons(s.index)
    if required:
        reason = _mark(reason, s.isna().to_numpy(dtype=bool), f"missing {column}")
    return s, reason


def _mark(reason: pd.Series, mask: np.ndarray, text: str) -> pd.Series:
    """``reason.mask(mask, text)``, or ``reason`` itself where no row is marked (pandas
    rewrites the whole Arrow column on each mask: ~60 ms a column of 11M rows, #16)."""
    if not mask.any():
        return reason
    return reason.mask(mask, text)


def _drop(text: pd.Series, part: str) -> pd.Series:
    """``text.str.replace(part, "", regex=False)``, or ``text`` itself where no value holds
    ``part`` (a search copies nothing; a replacement copies the column: ~11M amounts at
    1M customers)."""
    if not _may_contain(text, part):
        return text
    return text.str.replace(part, "", regex=False)


def _may_contain(text: pd.Series, part: str) -> bool:
    """Whether a value of ``text`` may contain ``part``: a one-byte ``part`` is looked for
    in the column's bytes at once (``str.contains`` made an 11M-row boolean column per
    search of the 1M bank's amounts: 0.18 s, #16), a longer one with ``str.contains``."""
    code = part.encode()
    if len(code) != 1:
        return bool(text.str.contains(part, regex=False).any())
    for chunk in _chunks(arrow_strings(text)):
        data = chunk.buffers()[2]
        if len(chunk) == 0 or data is None:
            continue
        offsets = _offsets(chunk)
        region = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
        if (region == code[0]).any():  # a null's bytes, if it has any, only say "maybe"
            return True
    return False


def parse_amount(
    values: pd.Series, column: str, *, decimal: str, max_amount: float, thousands: str = ""
) -> tuple[pd.Series, pd.Series]:
    """Amounts must be finite, > 0 and at most ``max_amount``.

    With a ``thousands`` separator, a text amount that contains it must group the digits
    before the decimal separator in threes (``1,184.66``, ``12'000``); ``1,5`` is unparsable
    rather than read as 15.
    """
    reason = _null_reasons(values.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        missing = values.isna().to_numpy(dtype=bool)
        num_np = values.to_numpy(dtype="float64", na_value=np.nan)
        unparsable = np.zeros(len(values), dtype=bool)
        # the value as text only where a reason will quote it (not finite, <= 0, too large)
        quoted = ~missing & (~np.isfinite(num_np) | (num_np <= 0) | (num_np > max_amount))
        text = pd.Series(pd.NA, index=values.index, dtype="string")
        if quoted.any():
            text[quoted] = num_np[quoted].astype(str)
    else:
        text = as_text(values)
        missing = text.isna().to_numpy(dtype=bool)
        if thousands:
            sep, dec = re.escape(thousands), re.escape(decimal)
            has_sep = text.str.contains(thousands, regex=False).fillna(False).astype(bool)
            pattern = rf"[+-]?\d{{1,3}}(?:{sep}\d{{3}})+(?:{dec}\d*)?"
            well = text.str.fullmatch(pattern).fillna(False).astype(bool)
            grouped = has_sep & ~well  # badly grouped: unparsable
            text_for_number = text.str.replace(thousands, "", regex=False).mask(grouped, "x")
        else:
            text_for_number = text
        cleaned = _drop(_drop(text_for_number, " "), "_")
        if decimal != ".":
            cleaned = _drop(cleaned, ".").str.replace(decimal, ".", regex=False)
        try:
            arr = pc.cast(pa.array(cleaned, from_pandas=True), pa.float64())
            num_np = arr.to_numpy(zero_copy_only=False).astype("float64")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            num_np = pd.to_numeric(cleaned, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
        # "nan" spelled out is not a number either way; only rows read as NaN can be one
        spelled_nan = np.zeros(len(num_np), dtype=bool)
        nan_rows = np.flatnonzero(np.isnan(num_np))
        if len(nan_rows):
            spelled = cleaned.iloc[nan_rows].str.lower().str.lstrip("+-").isin(["nan"])
            spelled_nan[nan_rows] = spelled.to_numpy(dtype=bool, na_value=False)
        unparsable = np.isnan(num_np) & ~missing & ~spelled_nan
    not_finite = ~np.isfinite(num_np) & ~missing & ~unparsable
    finite = np.isfinite(num_np)
    reason = _mark(reason, missing, f"missing {column}")
    reason = flag(reason, unparsable, text, f"unparsable {column} ")
    reason = flag(reason, not_finite, text, f"non-finite {column} ")
    reason = flag(reason, finite & (num_np <= 0), text, f"non-positive {column} ")
    reason = flag(
        reason,
        finite & (num_np > max_amount),
        text,
        f"{column} ",
        f" above the plausible maximum {max_amount:g} (mapping option max_amount)",
    )
    return pd.Series(num_np, index=values.index, copy=False), reason


class QuotedTimestamps:
    """Typed timestamps as text for reasons, formatted only for the rows asked for.

    ``text[mask]`` equals ``values.astype("string")[mask]``: pandas formats a timestamp
    column at the finest resolution any of its values needs (and naive midnight-only
    columns as dates), so the rows asked for are formatted together with one witness row
    of each resolution the whole column has. Formatting every row would cost seconds per
    million rows that only rejected rows need.
    """

    def __init__(self, values: pd.Series) -> None:
        self.values = values
        wall = values.dt.tz_localize(None) if values.dt.tz is not None else values
        ticks = wall.array.asi8
        valid = ~wall.isna().to_numpy(dtype=bool)
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[wall.dt.unit]
        seconds = ticks // per_second
        subsecond_ns = (ticks % per_second) * (10**9 // per_second)
        parts = (
            subsecond_ns % 1000,
            subsecond_ns // 1000 % 1000,
            subsecond_ns // 10**6,
            seconds % 60,
            seconds // 60 % 60,
            seconds // 3600 % 24,
        )
        self.witnesses = sorted(
            {int(np.argmax(hit)) for part in parts if (hit := valid & (part != 0)).any()}
        )

    def __getitem__(self, mask: np.ndarray) -> pd.Series:
        part = self.values[mask]
        both = pd.concat([part, self.values.iloc[self.witnesses]]).astype("string")
        return both.iloc[: len(part)]


#: Timestamps the canonical ``datetime64[ns, UTC]`` columns can hold.
_TS_MIN = pd.Timestamp.min.tz_localize("UTC").ceil("s")
_TS_MAX = pd.Timestamp.max.tz_localize("UTC").floor("s")


def parse_timestamp(
    values: pd.Series,
    column: str,
    *,
    required: bool,
    fmt: str,
    timezone: str,
    now: pd.Timestamp,
    origin: str = "1970-01-01",
) -> tuple[pd.Series, pd.Series]:
    """Timestamps become UTC; naive ones are read in ``timezone``; the future is rejected.

    ``fmt="days"`` reads numbers of days (fractions allowed) after ``origin``, an ISO date
    or time read in ``timezone`` when it carries no offset: simulators such as AMLSim
    number their steps in days.

    A local time that does not exist or is ambiguous in ``timezone`` (a daylight-saving
    change) is rejected rather than guessed. Timestamps outside 1677-09-22 … 2262-04-11
    (what a nanosecond timestamp holds) are rejected as out of range.
    """
    reason = _null_reasons(values.index)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC")
        missing = ts.isna()
        bad = pd.Series(False, index=values.index)
        no_local = bad
        text = QuotedTimestamps(values)
    elif pd.api.types.is_datetime64_dtype(values):
        ts = _localise(values, timezone)
        missing = values.isna()
        bad = pd.Series(False, index=values.index)
        no_local = ts.isna() & ~missing
        text = QuotedTimestamps(values)
    else:
        text = as_text(values)
        missing = text.isna()
        ts, no_local = _parse_text_ts(text, fmt, timezone, origin)
        bad = ts.isna() & ~missing & ~no_local
    if required:
        reason = _mark(reason, missing.to_numpy(dtype=bool), f"missing {column}")
    reason = flag(reason, bad, text, f"unparsable {column} ")
    reason = flag(
        reason,
        no_local,
        text,
        f"{column} ",
        f" does not exist or is ambiguous in time zone {timezone} (daylight-saving change); "
        "give an offset such as +01:00",
    )
    future = (ts > now + pd.Timedelta(days=1)).fillna(False)
    reason = flag(reason, future, text, f"{column} in the future ")
    out_of_range = ((ts < _TS_MIN) | (ts > _TS_MAX)).fillna(False)
    reason = flag(
        reason, out_of_range, text, f"{column} ", " out of range (1677-09-22 to 2262-04-11)"
    )
    ts = ts.mask(reason.notna().to_numpy() | ((ts < _TS_MIN) | (ts > _TS_MAX)).fillna(False))
    return ts.astype("datetime64[ns, UTC]"), reason


#: Day numbers beyond this (about 270 years) cannot be a timestamp after any origin.
_MAX_DAYS = 100_000


def _parse_text_ts(
    text: pd.Series, fmt: str, timezone: str, origin: str = "1970-01-01"
) -> tuple[pd.Series, pd.Series]:
    """Parse text timestamps to UTC: (timestamps, mask of local times lost to DST changes)."""
    none = pd.Series(False, index=text.index)
    if fmt == "days":
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        num = num.where(np.isfinite(num) & (num.abs() < _MAX_DAYS))
        start = pd.Timestamp(origin)
        start = start.tz_localize(timezone) if start.tzinfo is None else start
        micros = (num * 86_400e6).round().astype("Int64")
        offset = pd.to_timedelta(micros, unit="us")
        out = (start.tz_convert("UTC") + offset).astype("datetime64[us, UTC]")
        return out, none
    if fmt in {"epoch_s", "epoch_ms"}:
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        # Anything beyond ±3e11 s (year ~11,500) cannot be a timestamp; keep it unparsable.
        limit = 3e11 if fmt == "epoch_s" else 3e14
        num = num.where(np.isfinite(num) & (num.abs() < limit))
        seconds = num if fmt == "epoch_s" else num / 1000.0
        micros = (seconds * 1e6).round()
        out = pd.to_datetime(micros.astype("Int64"), unit="us", utc=True).astype(
            "datetime64[us, UTC]"
        )
        return out, none
    if fmt == "iso":
        fast = _arrow_iso(text, timezone)
        if fast is not None:
            return fast, none
        has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        no_local = none.copy()
        if has_offset.any():
            parsed = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
            out[has_offset] = parsed.astype("datetime64[us, UTC]")
        naive = ~has_offset & text.notna()
        if naive.any():
            parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            local = _localise(parsed, timezone)
            out[naive] = local
            no_local[naive] = local.isna() & parsed.notna()
        return out, no_local
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), none
    local = _localise(parsed, timezone)
    return local, local.isna() & parsed.notna()


def _arrow_iso(text: pd.Series, timezone: str) -> pd.Series | None:
    """Fast path: Arrow's ISO-8601 parser, when every value parses and all carry an offset
    (or, in UTC, none does). ``None`` sends the column to the careful path."""
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    try:
        parsed = pc.cast(arr, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if timezone != "UTC":
            return None
        try:
            parsed = pc.assume_timezone(pc.cast(arr, pa.timestamp("us")), timezone="UTC")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    values = parsed.to_pandas()
    values.index = text.index
    return values.astype("datetime64[us, UTC]")


def _localise(parsed: pd.Series, timezone: str) -> pd.Series:
    """Naive local times → UTC (``datetime64[us, UTC]``); DST gaps and overlaps become NaT."""
    parsed = parsed.astype("datetime64[us]")
    local = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC")


def parse_bool(
    values: pd.Series, column: str, *, true_values: list[str], false_values: list[str]
) -> tuple[pd.Series, pd.Series]:
    """Booleans from text; empty counts as false when "" is among false_values."""
    reason = _null_reasons(values.index)
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool), reason
    text = values.astype("string").str.strip().str.lower().fillna("")
    is_true = text.isin([v.lower() for v in true_values])
    is_false = text.isin([v.lower() for v in false_values])
    bad = ~(is_true | is_false)
    reason = flag(reason, bad, text, f"unparsable {column} ")
    return is_true.astype(bool), reason
