"""Memory-saving paths of ingest (#16) give the same answers as the plain pandas ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import is_in
from graphprofile.frames import Frames, TableStats
from graphprofile.ingest.normalise import _KindCodes
from graphprofile.ingest.parse import (
    _empty_as_null,
    _has_empty,
    _may_contain,
    _nothing_to_trim,
    _null_reasons,
    as_text,
    nullable_text,
    shared_nulls,
    sparse_text,
)
from graphprofile.ingest.pii import _phone_digits
from graphprofile.ingest.validate import repeated_keys


def test_repeated_keys_match_pandas_duplicated() -> None:
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 50, 5_000):
        ids = pd.Series([f"k{i}" for i in rng.integers(0, n // 3 + 1, size=n)], dtype="string")
        ids[rng.random(n) < 0.1] = pd.NA
        expected = ids.duplicated(keep="first") & ids.notna()
        assert repeated_keys(ids).tolist() == expected.tolist()
    keys = pd.Series(["a", "b", "a", None, None, "b", "c"], dtype="string")
    assert repeated_keys(keys).tolist() == [False, False, True, False, False, True, False]
    # keys in increasing order take the comparison shortcut; a repeat breaks the order
    ordered = pd.Series([f"T{i:05d}" for i in range(100)], dtype="string")
    assert not repeated_keys(ordered).any()
    ordered[60] = "T00059"
    assert repeated_keys(ordered).tolist() == [i == 60 for i in range(100)]
    assert repeated_keys(pd.Series(["a", "a"], dtype="string")).tolist() == [False, True]


def test_as_text_trims_and_blanks_only_when_needed() -> None:
    clean = pd.Series(["A1", "B2", None], dtype="str")
    out = as_text(clean)
    assert out.dtype == "string" and out.tolist() == ["A1", "B2", pd.NA]
    messy = pd.Series([" A1", "B2\u3000", "  ", None], dtype="str")
    assert as_text(messy).tolist() == ["A1", "B2", pd.NA, pd.NA]
    blank = pd.Series(["A1", ""], dtype="str")
    assert as_text(blank).tolist() == ["A1", pd.NA]


def test_trim_check_never_misses_whitespace_the_trim_removes() -> None:
    # every single character with a value around it: the check may only say "nothing to
    # trim" where Arrow's trim indeed changes nothing (a sliced, chunked column too)
    chars = [chr(c) for c in range(0x3000 + 1) if c not in range(0xD800, 0xE000)]
    for text in (chars, [f"x{c}" for c in chars], [f"{c}x" for c in chars]):
        arr = pa.chunked_array(
            [pa.array(text[:50], pa.large_string()), pa.array(text, pa.large_string())[7:]]
        )
        for chunk in [arr, *arr.chunks]:
            trimmed = pc.utf8_trim_whitespace(chunk)
            changed = not trimmed.equals(chunk)
            assert not (changed and _nothing_to_trim(chunk))
    assert _nothing_to_trim(pa.array(["A1", "", None, "b"], pa.large_string()))
    assert not _nothing_to_trim(pa.array(["A1", "b\u00a0"], pa.large_string()))


def _chunked_text(seed: int) -> pa.ChunkedArray:
    """Short texts with empties, nulls, spaces and underscores, in sliced chunks."""
    rng = np.random.default_rng(seed)
    pool = ["", "A1", "b_2", "c 3", "é", "12.5", "_", " "]
    values = [None if rng.random() < 0.1 else pool[i] for i in rng.integers(0, 8, 400)]
    whole = pa.array(values, pa.large_string())
    return pa.chunked_array([whole[:0], whole[3:150], whole[150:151], whole[151:]])


def test_empty_values_become_null_as_pandas_masks_them() -> None:
    for seed in range(5):
        text = _chunked_text(seed)
        s = pd.Series(pd.arrays.ArrowStringArray(text), name="c")
        expected = s.mask(s == "")
        got = pd.Series(pd.arrays.ArrowStringArray(_empty_as_null(text)), name="c")
        pd.testing.assert_series_equal(got, expected)
        for chunk in _empty_as_null(text).chunks:
            chunk.validate(full=True)
        assert _has_empty(text) == bool((s == "").any())
        trimmed = s.str.strip()  # as_text: trimmed, then empty means missing
        pd.testing.assert_series_equal(as_text(s), trimmed.mask(trimmed == ""))
    no_empty = pa.chunked_array([pa.array(["a", None, "b"], pa.large_string())[1:]])
    assert not _has_empty(no_empty)
    assert _has_empty(pa.array(["a", ""], pa.large_string()))


def test_byte_search_finds_what_str_contains_finds() -> None:
    for seed in range(5):
        s = pd.Series(pd.arrays.ArrowStringArray(_chunked_text(seed)))
        for part in (" ", "_", ".", "x", "é"):
            if _may_contain(s, part) is False:  # "no" must be right; "maybe" may be either
                assert not s.str.contains(part, regex=False).any()
            else:
                assert s.str.contains(part, regex=False).any() or part.encode() != part
    assert not _may_contain(pd.Series(["ab", None, "cd"], dtype="string"), " ")
    assert _may_contain(pd.Series(["ab", None, "c d"], dtype="string"), " ")


def test_shared_null_reasons_are_separate_columns() -> None:
    index = pd.RangeIndex(4)
    with shared_nulls(4):
        a, b = _null_reasons(index), _null_reasons(index)
        a[1] = "bad"  # one column's reason never shows in another's
        assert b.isna().all() and a.tolist() == [pd.NA, "bad", pd.NA, pd.NA]
        other = pd.RangeIndex(3)  # another length: its own column
        pd.testing.assert_series_equal(_null_reasons(other), nullable_text(None, other))
    pd.testing.assert_series_equal(b, nullable_text(None, index))


def test_accounting_only_keeps_the_counts_and_the_shared_table() -> None:
    txns = pd.DataFrame({"txn_id": pd.Series(["t1"], dtype="string")})
    devices = pd.DataFrame({"device_id": pd.Series(["d1", "d2"], dtype="string")})
    stats = {"devices": TableStats("devices", "devices.csv", read=2, accepted=2)}
    frames = Frames(
        transactions=txns,
        accounts=devices.iloc[:0],
        customers=devices.iloc[:0],
        devices=devices,
        identifiers=devices.iloc[:0],
        counterparties=devices.iloc[:0],
        rejects=pd.DataFrame(),
        stats=stats,
        present={"devices", "transactions"},
        notices=["n"],
    )
    light = frames.accounting_only(keep=txns)
    assert light.transactions is txns
    assert len(light.devices) == 0 and list(light.devices.columns) == ["device_id"]
    assert light.devices["device_id"].dtype == "string"
    assert light.stats is stats and light.present == frames.present and light.notices == ["n"]


def test_sparse_text_is_nullable_text_of_the_same_values() -> None:
    rng = np.random.default_rng(3)
    for n, texts in (
        (0, []),
        (5, []),
        (5, [None]),
        (9, ["", "é", None, "(row)"]),
        (3000, ["r"] * 40),
    ):
        values = np.full(n, None, dtype=object)
        at = np.sort(rng.choice(n, size=min(len(texts), n), replace=False)).astype(np.int64)
        values[at] = texts[: len(at)]
        index = pd.RangeIndex(n)
        expected = nullable_text(values, index)
        got = sparse_text(values[at], at, index)
        pd.testing.assert_series_equal(got, expected)
        arrow = got.array.__arrow_array__()
        arrow.validate(full=True)
        assert arrow.equals(expected.array.__arrow_array__())


def test_phone_digits_match_the_look_ahead_pattern() -> None:
    values = ["+44 7314 625001", "0044 (0)20 7946", "++5", "+", "", "a+1", "+a\nb1", "٣45"]
    values += ["１２３", "+86-138\t0013", None, " +1 ", "x", "\n+1"]
    s = pd.Series(values, dtype="string", index=range(3, 3 + len(values)), name="v")
    expected = s.str.replace(r"(?!^\+)[^0-9]", "", regex=True)
    pd.testing.assert_series_equal(_phone_digits(s), expected)


def test_kind_codes_match_lower_cased_kinds() -> None:
    kind = pd.Series(["Phone", "EMAIL", None, "national_ID", "phone", "Ärger"], dtype="string")
    lowered = np.asarray(kind.str.lower().fillna("").to_numpy(dtype=object))
    codes = _KindCodes(kind)
    for name in ("phone", "email", "national_id", "ärger", "fax", ""):
        assert codes.are(name).tolist() == (lowered == name).tolist()


def test_is_in_a_set_of_keys_matches_pandas_isin_of_text() -> None:
    columns = [
        pd.Series(["a", "b", None, "c"], dtype="string"),
        pd.Series(["a", "b", None, "c"], dtype="str"),
        pd.Series(["a", "b", None, "c"], dtype=object),
        pd.Series([1, 2, 3]),
        pd.Series([], dtype="string"),
    ]
    for values in columns:
        for keys in ({"a", "c"}, set(), {"None", "nan", "<NA>"}, {"1", "3"}):
            expected = values.astype(str).isin(keys).to_numpy(dtype=bool)
            assert is_in(values, keys).tolist() == expected.tolist()
