"""Vectorised parsing of one column, returning values and a reject reason per row.

Each parser returns ``(values, reason)`` where ``reason`` is a string Series that is null
for rows that parsed (or were empty in an optional column).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
MAX_VALUE_IN_REASON = 40


def show(values: pd.Series) -> pd.Series:
    """Offending values as they appear in a reason: quoted and truncated."""
    s = values.astype("string").str.slice(0, MAX_VALUE_IN_REASON)
    return "'" + s + "'"


def _null_reasons(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def as_text(values: pd.Series) -> pd.Series:
    """Text ids and labels: trimmed; empty means missing."""
    s = values.astype("string").str.strip()
    return s.mask(s == "")


def parse_text(values: pd.Series, column: str, required: bool) -> tuple[pd.Series, pd.Series]:
    s = as_text(values)
    reason = _null_reasons(s.index)
    if required:
        reason = reason.mask(s.isna(), f"missing {column}")
    return s, reason


def parse_amount(
    values: pd.Series, column: str, *, decimal: str, max_amount: float
) -> tuple[pd.Series, pd.Series]:
    """Amounts must be finite, > 0 and at most ``max_amount``."""
    reason = _null_reasons(values.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.astype("float64")
        text = values.astype("string")
        missing = values.isna()
    else:
        text = as_text(values)
        missing = text.isna()
        cleaned = text.str.replace(" ", "", regex=False).str.replace("_", "", regex=False)
        if decimal != ".":
            cleaned = cleaned.str.replace(".", "", regex=False).str.replace(
                decimal, ".", regex=False
            )
        try:
            arr = pc.cast(pa.array(cleaned, from_pandas=True), pa.float64())
            num = pd.Series(arr.to_numpy(zero_copy_only=False), index=values.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            num = pd.to_numeric(cleaned, errors="coerce").astype("float64")
        lowered = cleaned.str.lower()
        spelled_nan = lowered.isin(["nan", "-nan", "+nan"]).fillna(False)
        num = num.mask(spelled_nan.to_numpy(), np.nan)
    num_np = num.to_numpy(dtype="float64", na_value=np.nan)
    unparsable = np.isnan(num_np) & ~missing.to_numpy()
    reason = reason.mask(missing.to_numpy(), f"missing {column}")
    reason = reason.mask(unparsable, "unparsable " + column + " " + show(text))
    isinf = np.isinf(num_np)
    reason = reason.mask(isinf & reason.isna().to_numpy(), f"non-finite {column}")
    finite = np.isfinite(num_np)
    reason = reason.mask(
        finite & (num_np <= 0) & reason.isna().to_numpy(),
        "non-positive " + column + " " + show(text),
    )
    reason = reason.mask(
        finite & (num_np > max_amount) & reason.isna().to_numpy(),
        f"{column} above the plausible maximum {max_amount:g} (mapping option max_amount)",
    )
    return pd.Series(num_np, index=values.index), reason


def parse_timestamp(
    values: pd.Series,
    column: str,
    *,
    required: bool,
    fmt: str,
    timezone: str,
    now: pd.Timestamp,
) -> tuple[pd.Series, pd.Series]:
    """Timestamps become UTC; naive ones are read in ``timezone``; the future is rejected."""
    reason = _null_reasons(values.index)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC")
        missing = ts.isna()
        bad = pd.Series(False, index=values.index)
        text = values.astype("string")
    elif pd.api.types.is_datetime64_dtype(values):
        ts = values.dt.tz_localize(timezone).dt.tz_convert("UTC")
        missing = ts.isna()
        bad = pd.Series(False, index=values.index)
        text = values.astype("string")
    else:
        text = as_text(values)
        missing = text.isna()
        ts = _parse_text_ts(text, fmt, timezone)
        bad = ts.isna() & ~missing
    if required:
        reason = reason.mask(missing, f"missing {column}")
    reason = reason.mask(bad, "unparsable " + column + " " + show(text))
    limit = now + pd.Timedelta(days=1)
    future = (ts > limit).fillna(False) & reason.isna()
    reason = reason.mask(future, "timestamp in the future " + show(text))
    return ts.astype("datetime64[ns, UTC]"), reason


def _parse_text_ts(text: pd.Series, fmt: str, timezone: str) -> pd.Series:
    if fmt in {"epoch_s", "epoch_ms"}:
        num = pd.to_numeric(text, errors="coerce")
        num = num.mask(~np.isfinite(num.astype("float64")))
        unit = "s" if fmt == "epoch_s" else "ms"
        ok = num.abs() < (1e11 if unit == "s" else 1e14)
        return pd.to_datetime(num.where(ok), unit=unit, utc=True, errors="coerce")
    if fmt == "iso":
        has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        if has_offset.any():
            out[has_offset] = pd.to_datetime(
                text[has_offset], format="ISO8601", utc=True, errors="coerce"
            )
        naive = ~has_offset & text.notna()
        if naive.any():
            parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            out[naive] = _localise(parsed, timezone)
        return out
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC")
    return _localise(parsed, timezone)


def _localise(parsed: pd.Series, timezone: str) -> pd.Series:
    return parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


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
    reason = reason.mask(bad, "unparsable " + column + " " + show(text))
    return is_true.astype(bool), reason


def first_reason(*reasons: pd.Series) -> pd.Series:
    """Combine reason columns: the first non-null reason of each row wins."""
    out = reasons[0]
    for r in reasons[1:]:
        out = out.fillna(r)
    return out
