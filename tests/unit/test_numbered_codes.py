"""Ids of one prefix and fixed-width decimal digits are looked up by their numbers (#16).

:func:`graphprofile._arrow.codes` reads ids such as ``A000000001`` as numbers and finds
values among them without hashing text; these known-answer tests check that it gives
Arrow's own ``index_in`` positions for every kind of value (nulls, other widths, other
prefixes, non-digits, chunked columns) and that other ids are still hashed by Arrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from graphprofile import _arrow as arrow
from graphprofile._arrow import _numbered_ids, arrow_strings, codes, is_in


@pytest.fixture(autouse=True)
def _numbered_from_few(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small id sets here take the path that large ones take (``_NUMBERED_FROM``)."""
    monkeypatch.setattr(arrow, "_NUMBERED_FROM", 1)


def _arrow_positions(values: pd.Series | np.ndarray, ids: pd.Index) -> np.ndarray:
    """The positions Arrow's hash lookup gives (-1: absent or null)."""
    found = pc.fill_null(pc.index_in(arrow_strings(values), value_set=arrow_strings(ids)), -1)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.array(values, dtype="string[pyarrow]"))


RNG = np.random.default_rng(0)
IDS = [f"A{i:09d}" for i in RNG.permutation(5000)]
ODD = [
    "A00000000x", "B000000001", "A0000000001", "A00000001", "", "a000000001", "A-00000001",
    "A000009999", "A999999999", "A00000000/", "A00000000:", "Ä00000001",
]  # fmt: skip
VALUES = [IDS[i] for i in RNG.integers(0, 5000, 20_000)]
SPARSE = [f"{i:012d}" for i in RNG.choice(10**11, 3000, replace=False)]  # a binary search


@pytest.mark.parametrize(
    ("values", "ids"),
    [
        (VALUES, IDS),  # every value an id: the numbers of a view of Arrow's bytes
        (VALUES + [None] * 50, IDS),  # nulls (empty in Arrow's bytes): still a view
        (VALUES[:3000] + ODD + [None] * 5, IDS),  # other widths: rows gathered
        ([SPARSE[i] for i in RNG.integers(0, 3000, 5000)] + ["0" * 12, "1234"], SPARSE),
        (
            [f"9{i:05d}" for i in range(99, -1, -1)] + ["900000", "99", "9é001"],
            [f"9{i:05d}" for i in range(100)],
        ),  # digits only, the same leading digit
    ],
)
def test_numbered_ids_give_arrows_positions(values: list[str | None], ids: list[str]) -> None:
    index = pd.Index(pd.array(ids, dtype="string[pyarrow]"))
    assert _numbered_ids(arrow_strings(index)) is not None  # the path meant
    column = _text(RNG.permutation(np.array(values, dtype=object)).tolist())
    expected = _arrow_positions(column, index)
    assert (expected >= 0).sum() > len(values) // 2
    got = codes(column, index)
    assert got.dtype == np.int64 and np.array_equal(got, expected)


def test_chunked_columns_and_object_arrays_give_arrows_positions() -> None:
    index = pd.Index(pd.array(IDS, dtype="string[pyarrow]"))
    values = VALUES[:7000] + ODD + [None]
    chunked = pa.chunked_array(
        [pa.array(values[:2500], pa.large_string()), pa.array(values[2500:], pa.large_string())]
    )
    column = pd.Series(pd.arrays.ArrowStringArray(chunked))
    assert np.array_equal(codes(column, index), _arrow_positions(column, index))
    objects = np.array(["A000000007", None, "zz", IDS[9]], dtype=object)
    assert codes(objects, index).tolist() == [IDS.index("A000000007"), -1, -1, 9]


@pytest.mark.parametrize(
    "ids",
    [
        [*IDS, "A12"],  # different widths
        [*IDS, IDS[3]],  # a duplicate: Arrow's first position
        ["C" + x[1:] for x in IDS[:10]] + IDS[10:],  # different prefixes
        [f"X{i:020d}" for i in range(50)] + ["X1" + "0" * 19],  # 20 digits: over int64
        ["ab", "cd"],  # no digits
    ],
)
def test_other_ids_are_hashed_by_arrow(ids: list[str]) -> None:
    index = pd.Index(pd.array(ids, dtype="string[pyarrow]"))
    assert _numbered_ids(arrow_strings(index)) is None
    column = _text(VALUES[:500] + ids[-5:] + ODD + [None, "X" + "0" * 19 + "1"])
    assert np.array_equal(codes(column, index), _arrow_positions(column, index))


def test_no_ids_and_no_values() -> None:
    empty = pd.Index(pd.array([], dtype="string[pyarrow]"))
    assert codes(_text(["A1", None]), empty).tolist() == [-1, -1]
    index = pd.Index(pd.array(IDS, dtype="string[pyarrow]"))
    assert codes(_text([]), index).tolist() == []


def test_columns_of_nulls_and_empty_text() -> None:
    index = pd.Index(pd.array(["A01", "A02"], dtype="string[pyarrow]"))
    nulls = pa.array([None, None], pa.large_string())
    blank = pa.array(["", ""], pa.large_string())
    mixed = pa.chunked_array([nulls, pa.array(["A02", None], pa.large_string()), blank])
    for arr, expected in ((nulls, [-1, -1]), (blank, [-1, -1]), (mixed, [-1, -1, 1, -1, -1, -1])):
        assert codes(pd.Series(pd.arrays.ArrowStringArray(arr)), index).tolist() == expected


@pytest.mark.parametrize("known", [IDS, [*IDS, IDS[3]], [*IDS, "A12"], [*IDS[:10], None]])
def test_membership_among_numbered_keys_is_arrows(known: list[str | None]) -> None:
    values = _text(
        RNG.permutation(np.array(VALUES[:3000] + ODD + [None] * 5, dtype=object)).tolist()
    )
    expected = pc.is_in(
        arrow_strings(values), value_set=pc.unique(pa.array(known, pa.large_string()).drop_null())
    )
    expected = expected.fill_null(False).to_numpy(zero_copy_only=False)
    got = is_in(values, pd.Series(known, dtype="string"))
    assert got.index.equals(values.index) and got.dtype == bool
    assert np.array_equal(got.to_numpy(), expected) and 0 < expected.sum() < len(values)
    assert is_in(values, set(IDS[:100])).sum() == sum(v in set(IDS[:100]) for v in values.dropna())


def test_few_ids_are_hashed_by_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(arrow, "_NUMBERED_FROM", 32_768)
    monkeypatch.setattr(arrow, "_numbered_codes", lambda *a: calls.append(a))
    index = pd.Index(pd.array(IDS, dtype="string[pyarrow]"))
    column = _text(VALUES[:100] + ODD)
    assert np.array_equal(codes(column, index), _arrow_positions(column, index))
    members = is_in(column, pd.Series(IDS, dtype="string"))
    assert members.tolist() == [v in set(IDS) for v in VALUES[:100] + ODD] and not calls


def _arrow_sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes in text order and the sorted distinct values, by Arrow's own text sort."""
    uniques = pc.array_sort_indices(pc.unique(arrow_strings(values).drop_null()))
    ordered = pc.unique(arrow_strings(values).drop_null()).take(uniques)
    found = pc.fill_null(pc.index_in(arrow_strings(values), value_set=ordered), -1)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return found.to_numpy(zero_copy_only=False).astype(np.int64), np.array(ordered.to_pylist())


@pytest.mark.parametrize(
    "values",
    [
        VALUES,  # repeated ids of one prefix: ranked by their numbers, densely
        [SPARSE[i] for i in RNG.integers(0, 3000, 5000)],  # sparse numbers: NumPy's sort
        [f"9{i:05d}" for i in RNG.integers(0, 100_000, 4000)],  # digits only
        [*VALUES[:3000], "B000000001"],  # another prefix: Arrow's text sort
        [*VALUES[:3000], None],  # a null: Arrow's text sort
        [*VALUES[:3000], "A00000001"],  # another width: Arrow's text sort
    ],
)
def test_sorted_codes_of_numbered_values_are_the_text_order(values: list[str | None]) -> None:
    column = _text(values)
    got, uniques = arrow.sorted_codes(column)
    want, want_uniques = _arrow_sorted_codes(column)
    assert np.array_equal(got, want)
    assert list(uniques) == list(want_uniques)
    assert str(uniques.dtype) == "string" and pa.types.is_large_string(pa.array(uniques).type)
    chunked = pd.Series(
        pd.arrays.ArrowStringArray(
            pa.chunked_array([arrow_strings(column)[:7], arrow_strings(column)[7:]])
        )
    )
    assert np.array_equal(arrow.sorted_codes(chunked)[0], want)
