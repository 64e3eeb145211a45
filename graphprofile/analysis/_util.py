"""Small helpers shared by the analysis jobs (seeding, threads, ranks, igraph construction).

Arrow/NumPy helpers (codes, lookups) live in :mod:`graphprofile._arrow`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import igraph as ig
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from graphprofile._arrow import rows_by_lead

# the graph stage sorts with it too: it lives with the stages' shared NumPy helpers
from graphprofile._arrow import stable_argsort as stable_argsort


@contextmanager
def single_openmp_thread() -> Iterator[None]:
    """Run OpenMP code (igraph's PRPACK PageRank) on one thread, then restore the limit.

    PRPACK's parallel loops sum in a varying order: with two threads, repeated calls on
    the same graph differ in the last bits (measured up to 9e-18), which is enough to flip
    percentile ties. On one thread the result is bit-for-bit repeatable.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@contextmanager
def igraph_seed(seed: int) -> Iterator[None]:
    """Run igraph's stochastic routines on ``random.Random(seed)``, then restore the default.

    igraph's default generator is the global :mod:`random` module; it is put back on exit
    so no other code sees our seeded generator (and we never touch the global state).
    """
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def igraph_from_edges(n: int, src: np.ndarray, dst: np.ndarray, *, directed: bool) -> ig.Graph:
    """An igraph graph on ``n`` vertices from two integer edge-end arrays (no Python loop)."""
    # pairs of Python ints are igraph's fastest input (~1.5x a 2-D array), and handed to
    # ``add_edges`` one by one rather than as a list of them all: 0.7 s against 1.1-1.2 s
    # for the 1M bank's 2.9M money edges (#16), the same edges in the same order
    graph = ig.Graph(n=int(n), directed=directed)
    graph.add_edges(zip(np.asarray(src).tolist(), np.asarray(dst).tolist(), strict=True))
    return graph


def components(n: int, src: np.ndarray, dst: np.ndarray, *, strong: bool = False) -> np.ndarray:
    """Component of each of ``n`` vertices joined by edges ``src -> dst``: weakly connected
    (edges either way), or strongly connected (``strong``). Labels ``0 .. k-1`` in no
    particular order -- for callers that only compare them or count their sizes.

    SciPy's ``csgraph.connected_components`` on a sparse matrix, with no igraph graph built
    for it: the strong components of the 1M bank's account money graph measured 1.1 s
    against igraph's 3.0 s (its graph built and the membership list converted).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    g = csr_matrix((np.ones(len(src)), (src, dst)), shape=(int(n), int(n)))
    _k, labels = connected_components(
        g, directed=strong, connection="strong" if strong else "weak", return_labels=True
    )
    return labels.astype(np.int64)


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """Percentile rank in [0, 100] (ties share the highest rank; NaN stays NaN)."""
    s = pd.Series(values, dtype="float64")
    return (s.rank(method="max", pct=True) * 100.0).to_numpy()


def count_threshold(counts: np.ndarray, *, percentile: float, floor: int, min_count: int) -> int:
    """The ``percentile`` of ``counts`` among those of at least ``min_count``, rounded up,
    and at least ``floor``.

    The one rule behind the data-derived hub thresholds: customers per shared device or
    identifier (``min_count=2``: an item of one customer shares nothing, and most items
    would pull the percentile down to 1) and distinct money contacts per customer
    (``min_count=1``: a customer paying or paid by more distinct customers than this is an
    employer or a biller, whose payments are ordinary, not evidence of a relationship).
    """
    counted = counts[counts >= min_count]
    if len(counted) == 0:
        return int(floor)
    return int(max(floor, np.ceil(np.percentile(counted, percentile))))


def distinct_sorted(
    key: np.ndarray, *, inverse: bool = False, overwrite: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sorted distinct keys, their counts and (``inverse``) each row's position among them.

    ``numpy.unique(key, return_counts=True[, return_inverse=True])`` for integer keys, but
    sort-based (``numpy.unique``'s hash path measured several times slower on int64 keys).
    Without ``inverse`` the keys are sorted in place of an argsort, which needs neither the
    row order nor the position arrays (three int64 arrays of the rows' length fewer); with
    ``overwrite`` too, ``key`` itself is sorted (no copy: for a key the caller drops).
    """
    if not inverse:
        if overwrite:
            key.sort()
            return (*runs(key), None)
        return (*runs(np.sort(key)), None)
    order = np.argsort(key)  # the order among equal keys does not change any output
    distinct, counts = runs(key[order])
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return distinct, counts, where


def order_by_time(
    group: np.ndarray, ts: np.ndarray, span: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """Rows (all, or ``rows``, ascending) in the stable order of ``group * span + ts``:
    ``rows[stable_argsort(group[rows] * span + ts[rows])]``, the same permutation.

    Where ``ts`` never decreases along the rows (transfers stored in time order), the
    stable order by (group, time) is the order by (group, row): one sort of the distinct
    keys ``group * m + row``, no argsort and no pass over tied keys (#16: 0.6 s against
    2.1 s for the 1M bank's 7.4M transfers between customers). Otherwise
    :func:`stable_argsort` of the combined key.
    """
    m = len(ts)
    g = group if rows is None else group[rows]
    fits = len(g) == 0 or int(g.max()) < np.iinfo(np.int64).max // max(m, 1) - 1
    if m > 1 and fits and bool((ts[1:] >= ts[:-1]).all()):
        return rows_by_lead(g.astype(np.int64), m, rows)
    t = ts if rows is None else ts[rows]
    order = stable_argsort(g.astype(np.int64) * span + t)
    return order if rows is None else rows[order]


class PairDays:
    """Transfers sorted once by (payer, payee, day): the distinct pairs, each transfer's
    pair, the same-day repeats and each pair's distinct days, without a sort of their own.

    Each method gives the values its own sort gives (``distinct_sorted`` of the pair key,
    the rows whose (payer, payee, day) key occurs more than once, the distinct days of a
    subset's pairs); one argsort serves them all (#16: the behaviour
    features, the layer search and the unusual-transfer search each sorted these keys two
    or three times, ~1 s per sort of the 10M transfers at 1M customers).

    Parameters
    ----------
    payer, payee : numpy.ndarray of int
        Positions in ``0 .. n-1``.
    day : numpy.ndarray of int
        Day slot of each transfer in ``0 .. n_days-1``.
    n, n_days : int
        Number of positions and of day slots.
    """

    def __init__(
        self, payer: np.ndarray, payee: np.ndarray, day: np.ndarray, n: int, n_days: int
    ) -> None:
        self.n, self.n_days = n, n_days
        key = payer.astype(np.int64)  # a copy, built in place (no temporaries)
        key *= n
        key += payee
        key *= n_days
        key += day
        #: row order of the sorted keys (the order among equal keys changes no output)
        self.order = np.argsort(key)
        #: ``(payer * n + payee) * n_days + day``, sorted
        self.sorted = key[self.order]

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct pair keys ``payer * n + payee`` in order, the transfers of each and
        each transfer's position among them (``distinct_sorted(key, inverse=True)``)."""
        distinct, counts = runs(self.sorted // self.n_days)  # the keys' leading part
        where = np.empty(len(self.order), dtype=np.int64)
        where[self.order] = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return distinct, counts, where

    def distinct_pairs(self) -> np.ndarray:
        """Distinct pair keys ``payer * n + payee``, in order."""
        return runs(self.sorted // self.n_days)[0]

    def repeated(self) -> np.ndarray:
        """Per transfer: does its (payer, payee, day) occur more than once?"""
        k = self.sorted
        out = np.zeros(len(k), dtype=bool)
        if len(k) < 2:
            return out
        same = k[1:] == k[:-1]
        twice = np.zeros(len(k), dtype=bool)
        twice[1:] = same
        twice[:-1] |= same
        out[self.order] = twice
        return out

    def days_per_pair(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Distinct pair keys of the transfers ``rows`` (a mask; all when ``None``) and on
        how many distinct days each paid."""
        k = self.sorted if rows is None else self.sorted[rows[self.order]]
        return runs(runs(k)[0] // self.n_days)


def sorted_by_count(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` (integers ``0 .. n-1``) sorted, by counting: each value repeated as often
    as it occurs, written in order (int64). Where rows are already in the order of
    ``values`` (sorted by them), the sorted values without a gather through that order."""
    return np.repeat(np.arange(n, dtype=np.int64), np.bincount(values, minlength=n))


def runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a non-decreasing ``key`` and how often each occurs (no sort).

    :func:`distinct_sorted` for keys already in order (rows sorted by account and time).
    """
    starts = run_starts(key)
    counts = np.empty(len(starts), dtype=np.int64)
    if len(starts):  # the gaps between run starts, without a copy of the starts
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1] = len(key) - starts[-1]
    return key[starts], counts


def run_starts(key: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values of a non-decreasing ``key`` begins."""
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return np.flatnonzero(first)


def search_sorted(
    haystack: np.ndarray,
    needles: np.ndarray,
    *,
    side: str = "left",
    order: np.ndarray | None = None,
) -> np.ndarray:
    """``numpy.searchsorted(haystack, needles, side)`` with the needles looked up in
    ascending order (``order``: an argsort of ``needles``).

    Searching needles in order walks the haystack once, in memory order; in row order every
    needle is a search of its own across the whole haystack (cache misses). Measured on the
    100k bank's 0.9M receipts against 1M payments: 0.29 s for two searches in row order,
    0.05 s sorted first (the argsort included). Pass the same ``order`` for needles that
    differ by a constant (``t`` and ``t + w``) to sort once.
    """
    if order is None:
        order = np.argsort(needles)
    out = np.empty(len(needles), dtype=np.intp)
    out[order] = np.searchsorted(haystack, needles[order], side=side)
    return out


def dedicated_accounts(
    n: int, txn_src: np.ndarray, txn_dst: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per account ``0 .. n-1``: is it *single-shot* (its whole activity in the data is one
    transaction) and is it a *relay* (one receipt and one payment, nothing else)?

    Counted over every transaction the account sends (to accounts or counterparties) and
    every transfer it receives; ``txn_src``/``txn_dst`` are the account positions of each
    transaction's ends (-1 where absent). Accounts that exist to make one payment, or to
    pass one on, are how money mules are often used: a collector fed by several single-shot
    accounts is the fan-in's single-shot form (``flows.find_collections``), relays paying
    one another a chain of relays (``flows.find_relays``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``single_shot`` and ``relay``, boolean per account.
    """
    src = np.asarray(txn_src, dtype=np.int64)
    dst = np.asarray(txn_dst, dtype=np.int64)
    sent = np.bincount(src[src >= 0], minlength=n)[:n]
    received = np.bincount(dst[dst >= 0], minlength=n)[:n]
    return sent + received == 1, (sent == 1) & (received == 1)
