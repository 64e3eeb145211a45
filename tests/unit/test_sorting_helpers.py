"""The sorting helpers give NumPy's own answers: same permutation, same positions."""

from __future__ import annotations

import numpy as np
import pytest

from graphprofile.analysis._util import distinct_sorted, search_sorted, stable_argsort


@pytest.mark.parametrize("n, high", [(0, 1), (1, 1), (2, 1), (1000, 5), (5000, 10**12)])
def test_stable_argsort_is_numpys_stable_permutation(n: int, high: int) -> None:
    key = np.random.default_rng(n).integers(0, high, n)
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
