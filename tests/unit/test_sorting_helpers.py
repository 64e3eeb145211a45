"""The sorting helpers give NumPy's and pandas' own answers: same permutation, positions, ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphprofile.analysis._util import (
    PairDays,
    dedicated_accounts,
    distinct_sorted,
    order_by_time,
    search_sorted,
    stable_argsort,
)
from graphprofile.analysis.behaviour import _pct, tail_surprise
from graphprofile.analysis.projection import _first_of_pairs


@pytest.mark.parametrize(
    "n, high",
    # many ties, few ties, none; keys whose range times n fits in int64 (one sort of
    # distinct keys) and wider ones (argsort, then the ties re-sorted)
    [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 2),
        (1000, 5),
        (20000, 10**6),
        (5000, 10**12),
        (3000, 2**62),
        (3000, 10**16),
    ],
)
@pytest.mark.parametrize("wide", [False, True])
def test_stable_argsort_is_numpys_stable_permutation(n: int, high: int, wide: bool) -> None:
    key = np.random.default_rng(n).integers(0, high, n)
    if wide and high < 2**40:  # the same ties, spread past the one-sort range
        key = key * 2**40
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


def test_stable_argsort_with_few_ties_orders_each_run_by_row() -> None:
    # 3 ties among 29 keys (at most n // 8): only the tied rows are sorted again
    key = np.array([50, 7, 30, 7, 90, 10, 30, 7, 60, *range(100, 120)])
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))
    assert stable_argsort(key)[:6].tolist() == [1, 3, 7, 5, 2, 6]
    rng = np.random.default_rng(9)
    key = rng.permutation(np.repeat(np.arange(10**5), rng.integers(1, 3, 10**5)))[:40_000]
    key = key * 2**45  # wider than the one-sort range: the argsort and the tie pass
    ties = int((np.diff(np.sort(key)) == 0).sum())
    assert 0 < ties <= len(key) // 8  # the path meant
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


def test_stable_argsort_keeps_row_order_among_ties() -> None:
    key = np.array([3, 1, 3, 1, 2, 3, 1])
    assert stable_argsort(key).tolist() == [1, 3, 6, 4, 0, 2, 5]
    # the fast sort alone need not: the check above can fail
    assert stable_argsort(np.arange(5)[::-1].copy()).tolist() == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("side", ["left", "right"])
def test_search_sorted_matches_numpy(side: str) -> None:
    rng = np.random.default_rng(7)
    haystack = np.sort(rng.integers(0, 1000, 5000))
    needles = rng.integers(-10, 1010, 3000)
    expected = np.searchsorted(haystack, needles, side=side)
    assert np.array_equal(search_sorted(haystack, needles, side=side), expected)
    order = np.argsort(needles)
    shifted = search_sorted(haystack, needles + 5, side=side, order=order)
    assert np.array_equal(shifted, np.searchsorted(haystack, needles + 5, side=side))
    assert len(search_sorted(haystack, needles[:0], side=side)) == 0


def test_distinct_sorted_matches_numpy_unique() -> None:
    key = np.random.default_rng(3).integers(0, 50, 2000)
    distinct, counts, where = distinct_sorted(key, inverse=True)
    u, inv, c = np.unique(key, return_inverse=True, return_counts=True)
    assert np.array_equal(distinct, u) and np.array_equal(counts, c)
    assert where is not None and np.array_equal(where, inv)


def test_percentile_rank_is_pandas_average_rank_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    for v in (
        rng.integers(0, 5, 1000).astype(float),
        rng.random(1000),
        np.array([1.0]),
        np.array([2.0, 2.0]),
        np.r_[rng.random(10), np.nan],  # with NaN: pandas itself
    ):
        expected = pd.Series(v).rank(method="average", pct=True).to_numpy()
        assert np.array_equal(_pct(v), expected, equal_nan=True)
    assert _pct(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [0.875, 0.25, 0.875, 0.5]


def test_tail_surprise_counts_rows_at_least_as_large() -> None:
    x = np.array([[0.0, 5.0], [1.0, 5.0], [1.0, 0.0], [3.0, 1.0]])
    # column 0: 4, 3, 3, 1 rows at least as large; column 1: 2, 2, 4, 3
    expected = np.log(4 / np.array([4, 3, 3, 1])) + np.log(4 / np.array([2, 2, 4, 3]))
    assert np.allclose(tail_surprise(x), expected)
    x = np.random.default_rng(1).integers(0, 4, (500, 6)).astype(float)
    slow = sum(
        np.log(500 / (500 - np.searchsorted(np.sort(x[:, j]), x[:, j], side="left")))
        for j in range(6)
    )
    assert np.array_equal(tail_surprise(x), slow)


def test_tail_surprise_is_the_search_of_each_value_in_its_sorted_column() -> None:
    # the runs of equal values (or, for whole numbers from 0 to the rows' count, their
    # counts) give the positions that searchsorted finds, bit for bit: ties, all-equal and
    # all-distinct columns, a column with NaN (NumPy's search), whole numbers past the
    # rows' count or below 0 (sorted)
    rng = np.random.default_rng(4)
    x = np.column_stack(
        [
            rng.integers(0, 3, 3000).astype(float),
            np.full(3000, 2.5),
            rng.random(3000),
            np.round(rng.exponential(size=3000), 1),
            np.where(rng.random(3000) < 0.01, np.nan, rng.integers(0, 9, 3000)),
            rng.integers(0, 10**9, 3000).astype(float),  # whole, past the rows' count
            rng.integers(-5, 5, 3000).astype(float),  # whole, below 0
            rng.integers(0, 3001, 3000).astype(float),  # whole, counted (up to the count)
        ]
    )
    slow = np.zeros(3000)
    for j in range(x.shape[1]):
        at = np.searchsorted(np.sort(x[:, j]), x[:, j], side="left")
        slow += np.log(3000 / (3000 - at))
    assert np.array_equal(tail_surprise(x), slow)


@pytest.mark.parametrize("n", [0, 1, 50, 5000])
def test_first_of_pairs_is_drop_duplicates(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.integers(-1, 30, n), rng.integers(0, 40, n)
    expected = pd.DataFrame({"a": a, "b": b}).drop_duplicates(["a", "b"]).index.to_numpy()
    assert np.array_equal(_first_of_pairs(a, b), expected)


def test_single_shot_accounts_counts_every_transaction_an_account_is_in() -> None:
    # accounts 0..5; rows: (sender, receiving account or -1 for a counterparty payment)
    src = np.array([0, 1, 2, 2, 3, -1])
    dst = np.array([4, 4, -1, 5, -1, 1])
    # 0 sends once (single); 1 sends once and receives once (from an unknown sender);
    # 2 sends twice; 3 pays a counterparty once (single); 4 receives twice; 5 receives once
    got, _relay = dedicated_accounts(6, src, dst)
    assert got.tolist() == [True, False, False, True, False, True]


def test_relay_accounts_received_one_transfer_and_sent_one_transaction() -> None:
    # accounts 0..5; rows: (sender, receiving account or -1 for a counterparty payment)
    src = np.array([0, 1, 1, 2, 3, -1, 4])
    dst = np.array([1, 2, 5, 3, -1, 4, 0])
    # 0 sends once, receives once from 4 (relay); 1 receives once, sends twice; 2 receives
    # once, sends once (relay); 3 receives once, pays a counterparty once (relay); 4
    # receives from an unknown sender and sends once (relay); 5 only receives
    _single, got = dedicated_accounts(6, src, dst)
    assert got.tolist() == [True, False, True, True, True, False]


@pytest.mark.parametrize("in_time_order", [True, False])
@pytest.mark.parametrize("subset", [False, True])
def test_order_by_time_is_the_stable_argsort_of_group_and_time(
    in_time_order: bool, subset: bool
) -> None:
    # rows in time order take the (group, row) sort; any other order the stable argsort
    rng = np.random.default_rng(3)
    m, span = 4000, 10**6
    ts = rng.integers(0, 1000, m)  # many ties in time
    if in_time_order:
        ts = np.sort(ts)
    group = rng.integers(-1, 50, m)
    rows = np.flatnonzero(group >= 0) if subset else None
    got = order_by_time(group, ts, span, rows=rows)
    picked = np.arange(m) if rows is None else rows
    expected = picked[stable_argsort(group[picked].astype(np.int64) * span + ts[picked])]
    assert np.array_equal(got, expected)


def test_pair_days_gives_what_each_sort_of_its_keys_gives() -> None:
    # one sort by (payer, payee, day): the distinct pairs with counts and inverse, the
    # same-day repeats and a subset's days per pair, as their own sorts and groupbys give
    rng = np.random.default_rng(8)
    m, n, days = 5000, 40, 30
    payer, payee, day = rng.integers(0, n, m), rng.integers(0, n, m), rng.integers(0, days, m)
    by_day = PairDays(payer, payee, day, n, days)
    pair = payer.astype(np.int64) * n + payee
    for got, expected in zip(by_day.pairs(), distinct_sorted(pair, inverse=True), strict=True):
        assert np.array_equal(got, expected)
    assert np.array_equal(by_day.distinct_pairs(), np.unique(pair))
    frame = pd.DataFrame({"pair": pair, "day": day})
    assert np.array_equal(by_day.repeated(), frame.duplicated(keep=False).to_numpy())
    rows = rng.random(m) < 0.3
    expected = frame[rows].drop_duplicates().groupby("pair").size()
    paid, n_days = by_day.days_per_pair(rows)
    assert np.array_equal(paid, expected.index.to_numpy())
    assert np.array_equal(n_days, expected.to_numpy())
