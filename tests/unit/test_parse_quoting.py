"""Values quoted in reject reasons are the same whether formatted for every row or on demand.

Typed timestamps (Parquet) and numeric amounts are formatted as text only for the rows a
reason quotes (#16: formatting every row cost seconds per million rows); the text must be
what formatting the whole column gives, since reasons are outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphprofile.ingest.parse import QuotedTimestamps, parse_amount, parse_timestamp

NOW = pd.Timestamp("2026-01-01", tz="UTC")
STEPS = [86400 * 10**9, 3600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1]


def _column(rng: np.random.Generator) -> pd.Series:
    """Random timestamps whose finest non-zero part is random (days … nanoseconds)."""
    n = int(rng.integers(1, 40))
    base = rng.integers(0, 40 * 365, n) * STEPS[0]
    finest = STEPS[int(rng.integers(0, len(STEPS)))]
    values = np.where(rng.random(n) < 0.3, base + rng.integers(0, 3, n) * finest, base)
    unit = str(rng.choice(["s", "ms", "us", "ns"]))
    s = pd.Series(pd.to_datetime(values, unit="ns")).astype(f"datetime64[{unit}]")
    if rng.random() < 0.3:
        s[rng.random(n) < 0.2] = pd.NaT
    if rng.random() < 0.5:
        zone = str(rng.choice(["UTC", "Asia/Shanghai", "Europe/Berlin"]))
        s = s.dt.tz_localize(zone, nonexistent="NaT", ambiguous="NaT")
    return s


@pytest.mark.parametrize("seed", range(4))
def test_quoted_timestamps_match_formatting_the_whole_column(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(50):
        s = _column(rng)
        mask = rng.random(len(s)) < 0.3
        whole = s.astype("string")[mask].fillna("<NA>").tolist()
        assert QuotedTimestamps(s)[mask].fillna("<NA>").tolist() == whole


def test_a_future_typed_timestamp_is_quoted_at_the_columns_precision() -> None:
    s = pd.Series(
        pd.to_datetime(["2025-01-02 03:04:05.123", "2031-05-06"], format="ISO8601").tz_localize(
            "UTC"
        )
    )
    _, reason = parse_timestamp(s, "ts", required=True, fmt="", timezone="UTC", now=NOW)
    assert reason.tolist()[1] == "ts in the future '2031-05-06 00:00:00.000+00:00'"
    assert pd.isna(reason.tolist()[0])


def test_numeric_amounts_are_quoted_as_before() -> None:
    values = pd.Series([12.5, -3.0, float("inf"), 2e12, None, 0.0], dtype="float64")
    parsed, reason = parse_amount(values, "amount", decimal=".", max_amount=1e9)
    assert reason.fillna("").tolist() == [
        "",
        "non-positive amount '-3.0'",
        "non-finite amount 'inf'",
        "amount '2000000000000.0' above the plausible maximum 1e+09 (mapping option max_amount)",
        "missing amount",
        "non-positive amount '0.0'",
    ]
    assert parsed.tolist()[0] == 12.5
