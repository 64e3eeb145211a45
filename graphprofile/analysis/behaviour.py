"""Per-customer behaviour features from individual transfers, and an anomaly score.

Every feature is computed from the data alone: no amount, count or time threshold is a
constant fitted to one data set. Amount outliers are judged against the population's own
distribution of log amounts (median and MAD), bursts against calendar days, windows are
a setting (:attr:`~graphprofile.analysis.settings.AnalysisSettings.behaviour_window_days`).

Features (one row per customer, transfers between a customer's own accounts left out):

- ``out_txns``, ``in_txns``: transfers sent / received (account-to-account; payments to
  counterparties count as sent);
- ``out_partners``, ``in_partners``: distinct customers paid / paid by;
- ``out_amount``, ``in_amount``: money sent / received;
- ``through_amount``: ``min(in_amount, out_amount)``, money that could have passed through;
- ``through_fast``: share of the money received that leaves again within
  ``behaviour_window_days`` of its arrival (flow-through speed);
- ``odd_amounts``: transfers (either way) whose log amount lies more than
  :data:`ODD_Z` robust standard deviations from the population median
  (``|log a - median| / (1.4826 * MAD)``);
- ``same_day_repeats``: transfers that repeat the same sender, receiver and calendar day;
- ``burst``: most transfers on one day over the mean per active day;
- ``window_partners``: most distinct counterparties (either way) within one window of
  ``behaviour_window_days`` (aligned windows from the first transfer);
- ``concentration``: Herfindahl index of the amounts sent across receivers;
- ``repeat_share``: ``1 - distinct partners / transfers`` (both ways);
- ``one_off_share``: share of the customer's transfers with other customers (both ways)
  whose payer and payee moved money only that once in the whole data (counterparty
  novelty: layering and mule transfers go to counterparties used once, while salaries,
  rent and bills recur);
- ``nb_odd``, ``nb_repeats``, ``nb_in_txns``: 2-hop aggregates, the mean over a customer's
  transfers of the counterparty's ``odd_amounts > 0``, ``same_day_repeats > 0`` and
  ``in_txns``;
- ``nb_thin``: 2-hop, the mean over a customer's transfers of ``1 / t`` for the
  counterparty's ``t`` transfers with customers (both ways): 1 when every counterparty
  deals with this customer alone and only once (drop and mule accounts that exist for one
  transfer), near 0 when they are busy accounts;
- ``nb_flagged``: distinct counterparties with ``odd_amounts > 0`` or
  ``same_day_repeats > 0``;
- ``bicliques``: 2x2 bicliques ("butterflies") the customer is in -- two payers who both
  paid the same two payees -- counted on either side (:func:`biclique_counts`). Bipartite
  layering (many accounts paying many accounts) and stacks (chains of such layers) make
  them; payroll and bill payments do not, since payers and payees with more distinct
  counterparties than the data's contact threshold are left out;
- ``triangles``: pairs of the customer's counterparties (either way) who also paid each
  other, the customer's triangles in the undirected payment graph (:func:`triangle_counts`):
  a closed group whose members all deal with one another. Published and seen by the learned
  model, not by the anomaly detectors: where people pay within social circles closed groups
  are ordinary, and only a bank's own labels can say whether they mark its fraud.

:func:`anomaly_scores` turns them into a label-free score, an equal-weight ensemble of two
detectors that make different assumptions (Aggarwal & Sathe 2017): scikit-learn's
``IsolationForest`` (Liu, Ting & Zhou 2008), seeded, on robust-scaled ``log1p`` features,
which isolates unusual *combinations*; and a one-sided empirical tail score in the manner of
ECOD (Li et al. 2022), :func:`tail_surprise`, which adds up how far into the upper tail of
the population each feature lies (every feature is a count or share where *more* is the
unusual direction), so a customer extreme in several features at once ranks high. The
score is the percentile rank of the mean of the two detectors' percentile ranks (1 = most
unusual).

References
----------
Liu, F. T., Ting, K. M., & Zhou, Z.-H. (2008). Isolation forest. *ICDM '08*, 413-422.
Li, Z. et al. (2022). ECOD: unsupervised outlier detection using empirical cumulative
distribution functions. *IEEE TKDE* 35(12), 12181-12193.
Aggarwal, C. C., & Sathe, S. (2017). *Outlier Ensembles*. Springer.
Blanuša, J. et al. (2024). Graph Feature Preprocessor. *ICAIF '24* (arXiv 2402.08593).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.analysis._util import (
    PairDays,
    count_threshold,
    distinct_sorted,
    order_by_time,
    run_starts,
    runs,
    search_sorted,
    sorted_by_count,
)

DAY = 86_400
#: Robust z beyond which an amount is an outlier of the population (the usual 3-sigma rule).
ODD_Z = 3.0

BEHAVIOUR_COLUMNS = [
    "out_txns", "in_txns", "out_partners", "in_partners", "out_amount", "in_amount",
    "through_amount", "through_fast", "odd_amounts", "same_day_repeats", "burst",
    "window_partners", "concentration", "repeat_share", "one_off_share", "nb_odd", "nb_repeats",
    "nb_in_txns", "nb_thin", "nb_flagged", "bicliques", "triangles",
]  # fmt: skip


def _key(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    """One int64 key per row from integer columns ``(values, cardinality)`` (mixed radix).

    Built in place in one array: no temporaries of the rows' length (each ~130 MB for
    the 16M directed transfers at 1M customers).
    """
    key = parts[0][0].astype(np.int64)  # a copy
    for values, size in parts[1:]:
        key *= np.int64(size)
        key += values
    return key


def _window_triples(
    by_day: PairDays, ts: np.ndarray, t_min: int, window: int, n_w: int
) -> np.ndarray:
    """Distinct ``(payer * n_w + window) * n + payee`` keys of the transfers sorted in
    ``by_day``, the window of a transfer at ``ts`` being ``(ts - t_min) // window``, in no
    particular order (``t_min``: the origin of the days ``by_day`` was sorted by).

    A window of whole days is a run of days, so (payer, payee, window) is in order along
    the sorted keys and its distinct values are runs; otherwise they are sorted.
    """
    n = by_day.n
    if window % DAY == 0:
        pair, day = np.divmod(by_day.sorted, by_day.n_days)
        day //= window // DAY
        key = pair * n_w
        del pair
        key += day  # (payer, payee, window): non-decreasing along the sorted keys
        del day
        key = runs(key)[0]
        pair, w = np.divmod(key, n_w)
        del key
        payer, payee = np.divmod(pair, n)
        del pair
        return _key((payer, n), (w, n_w), (payee, n))
    payer, payee = np.divmod(by_day.sorted // by_day.n_days, n)
    w = (ts[by_day.order] - t_min) // window
    return distinct_sorted(_key((payer, n), (w, n_w), (payee, n)), overwrite=True)[0]


def odd_amount(amount: np.ndarray, population: np.ndarray | None = None) -> np.ndarray:
    """The ``odd_amounts`` rule: whether each amount's log lies more than :data:`ODD_Z`
    robust standard deviations (``1.4826 x MAD``) from the median log amount of
    ``population`` (default: ``amount`` itself; amounts of 0 or less count as 1e-12 and
    do not enter a given population). All False when the population has no spread.
    """
    la = np.maximum(amount, 1e-12)
    np.log(la, out=la)  # one array of the rows' length (16M transfers at 1M customers)
    pop = la if population is None else np.log(population[population > 0])
    if len(pop) == 0:
        return np.zeros(len(la), dtype=bool)
    med = float(np.median(pop))
    mad = float(np.median(np.abs(pop - med))) * 1.4826
    if mad <= 0:
        return np.zeros(len(la), dtype=bool)
    return np.abs(la - med) > ODD_Z * mad


def behaviour_features(
    n: int,
    *,
    src: np.ndarray,
    dst: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    window_days: float = 7.0,
    hub_percentile: float = 95.0,
    hub_floor: int = 10,
) -> pd.DataFrame:
    """Behaviour features of ``n`` customers from their transfers.

    The features of :func:`features_and_partners` (the same parameters), without the
    partners.
    """
    return features_and_partners(
        n,
        src=src,
        dst=dst,
        ts=ts,
        amount=amount,
        window_days=window_days,
        hub_percentile=hub_percentile,
        hub_floor=hub_floor,
    )[0]


def features_and_partners(
    n: int,
    *,
    src: np.ndarray,
    dst: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    window_days: float = 7.0,
    hub_percentile: float = 95.0,
    hub_floor: int = 10,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Behaviour features of ``n`` customers from their transfers, and who paid whom.

    Parameters
    ----------
    n : int
        Number of customers (positions ``0 .. n-1``).
    src, dst : numpy.ndarray of int
        Sending and receiving customer of each transfer (``dst`` -1: paid to a
        counterparty outside the bank's customers; ``src`` -1 rows are ignored).
    ts : numpy.ndarray of int
        Seconds since any origin.
    amount : numpy.ndarray of float
        Transfer amounts (> 0).
    window_days : float, default 7.0
        Width of the sliding windows (``window_partners``, ``through_fast``).
    hub_percentile, hub_floor : float, int
        Contact threshold of ``bicliques``: payers (payees) with more distinct payees
        (payers) than this percentile of the customers with any, and at least
        ``hub_floor``, are left out (employers, billers).

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        One row per customer position, columns :data:`BEHAVIOUR_COLUMNS` (float64); and
        the customers who paid each other either way (transfers between customers, a
        customer's own left out) as the sorted distinct keys ``customer * n + partner``,
        both ``(a, b)`` and ``(b, a)`` for each pair (int64). The features' 2-hop
        aggregates need them; the behaviour job hands them on to the learned score.
    """
    ok = (src >= 0) & (src != dst)
    src, dst, ts, amount = src[ok], dst[ok], ts[ok].astype(np.int64, copy=False), amount[ok]
    if len(src) == 0 or n == 0:
        return _behaviour_frame(n, {}), np.zeros(0, dtype=np.int64)
    # the columns as float64 arrays, made into the frame once at the end (a frame of zeros
    # filled column by column, then cast, cost two 1M x 22 copies: ~2 s at 1M, #16)
    out: dict[str, np.ndarray] = {}
    inner = dst >= 0
    s_i, d_i, t_i, a_i = src[inner], dst[inner], ts[inner], amount[inner]
    out["out_txns"] = np.bincount(src, minlength=n).astype("float64")
    out["in_txns"] = np.bincount(d_i, minlength=n).astype("float64")
    t_min = int(ts.min())
    day = (t_i - t_min) // DAY
    n_days = int(day.max()) + 1 if len(day) else 1
    # one sort of the inner transfers by (payer, payee, day) gives the distinct pairs and
    # each transfer's pair, the same-day repeats and (below) the distinct pairs per window
    by_day = PairDays(s_i, d_i, day, n, n_days)
    pairs, pair_n, pair_of = by_day.pairs()
    out["out_partners"] = np.bincount(pairs // n, minlength=n).astype("float64")
    out["in_partners"] = np.bincount(pairs % n, minlength=n).astype("float64")
    out["out_amount"] = np.bincount(src, weights=amount, minlength=n)
    out["in_amount"] = np.bincount(d_i, weights=a_i, minlength=n)
    out["through_amount"] = np.minimum(out["in_amount"], out["out_amount"])
    out["through_fast"] = _through_fast(n, src, ts, amount, d_i, t_i, a_i, window_days)
    # transfers whose (payer, payee) pair moved money only that once, counted for both ends
    once = (pair_n == 1)[pair_of].astype("float64")
    one_off = np.bincount(s_i, weights=once, minlength=n) + np.bincount(
        d_i, weights=once, minlength=n
    )
    del once
    pair_sum = np.bincount(pair_of, weights=a_i, minlength=len(pairs))
    ps = pairs // n
    share = pair_sum / np.maximum(out["out_amount"][ps], 1e-12)
    out["concentration"] = np.bincount(ps, weights=share**2, minlength=n)
    # temporaries of the rows' length are dropped as soon as they are used (memory at 1M+)
    del pair_of, pair_sum, ps, share

    # amounts far from the population's typical amount (robust z of the log amount)
    odd = odd_amount(amount).astype("float64")
    out["odd_amounts"] = np.bincount(src, weights=odd, minlength=n) + np.bincount(
        d_i, weights=odd[inner], minlength=n
    )
    del odd

    rep = by_day.repeated().astype("float64")
    out["same_day_repeats"] = np.bincount(s_i, weights=rep, minlength=n) + np.bincount(
        d_i, weights=rep, minlength=n
    )
    del rep
    window = max(int(window_days * DAY), 1)
    n_w = int((int(t_i.max()) - t_min) // window) + 1 if len(t_i) else 1
    # distinct (payer, window, payee) of the transfers, in any order (window_partners)
    sent = _window_triples(by_day, t_i, t_min, window, n_w)
    del by_day

    # both directions: (customer, partner, time) for burst, windows and repeat share
    me = np.concatenate([s_i, d_i])
    both_day = np.concatenate([day, day])
    cd, counts, _ = distinct_sorted(_key((me, n), (both_day, n_days)), overwrite=True)
    c_day = cd // n_days
    mx = np.zeros(n)
    np.maximum.at(mx, c_day, counts.astype("float64"))
    active = np.bincount(c_day, minlength=n).astype("float64")
    total = np.bincount(c_day, weights=counts, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["burst"] = np.nan_to_num(mx / (total / np.maximum(active, 1.0)))
    del both_day, cd, counts, c_day
    # distinct (customer, window, other) -> (customer, window): the distinct (payer,
    # window, payee) of the transfers, then each also as (payee, window, payer)
    s_w, s_other = sent // n, sent % n
    turned = _key((s_other, n), (s_w % n_w, n_w), (s_w // n_w, n))
    del s_w, s_other
    cw = distinct_sorted(np.concatenate([sent, turned]), overwrite=True)[0] // n
    del sent, turned
    cw, per_window = runs(cw)  # in order already: the distinct keys' leading part
    mxw = np.zeros(n)
    np.maximum.at(mxw, cw // n_w, per_window.astype("float64"))
    out["window_partners"] = mxw
    del cw, per_window
    # distinct (customer, other) either way: the payer-payee pairs and their reverses
    nb_pairs = distinct_sorted(np.concatenate([pairs, (pairs % n) * n + pairs // n]))[0]
    partners = np.bincount(nb_pairs // n, minlength=n).astype("float64")
    both = np.bincount(me, minlength=n).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_share"] = np.nan_to_num(1.0 - partners / both)
        out["one_off_share"] = np.nan_to_num(one_off / both)
    del one_off

    # 2-hop aggregates over the counterparties of each transfer
    flagged = (out["odd_amounts"] > 0) | (out["same_day_repeats"] > 0)
    deg = both
    payer, payee, times = pairs // n, pairs % n, pair_n.astype("float64")
    # summed over each transfer's counterparty: per distinct pair, times its transfers
    # (the values are whole numbers, so their float sums are exact in any order: the
    # same bits as a sum over the transfers, from fewer lookups)
    for col, values in (
        ("nb_odd", (out["odd_amounts"] > 0).astype("float64")),
        ("nb_repeats", (out["same_day_repeats"] > 0).astype("float64")),
        ("nb_in_txns", out["in_txns"]),
    ):
        agg = np.bincount(payer, weights=times * values[payee], minlength=n)
        agg += np.bincount(payee, weights=times * values[payer], minlength=n)
        out[col] = agg / np.maximum(deg, 1.0)
    # quiet counterparties: 1 / (their transfers with customers), averaged per transfer;
    # summed per distinct pair in key order, so the row order cannot change a bit
    inv = 1.0 / np.maximum(deg, 1.0)
    thin = np.bincount(payer, weights=times * inv[payee], minlength=n)
    thin += np.bincount(payee, weights=times * inv[payer], minlength=n)
    out["nb_thin"] = thin * inv
    del inv, payer, payee, times, thin, pair_n
    out["nb_flagged"] = np.bincount(
        nb_pairs // n, weights=flagged[nb_pairs % n].astype("float64"), minlength=n
    )
    del me, agg, src, dst, ts, amount, s_i, d_i, t_i, a_i, day, inner
    out["bicliques"] = biclique_counts(
        n, pairs // n, pairs % n, percentile=hub_percentile, floor=hub_floor
    )
    out["triangles"] = triangle_counts(n, pairs // n, pairs % n)
    return _behaviour_frame(n, out), nb_pairs


def _behaviour_frame(n: int, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The behaviour features' frame: :data:`BEHAVIOUR_COLUMNS` in order, each float64,
    zeros where ``columns`` has none; the arrays become its columns as they are."""
    data = {
        name: np.asarray(columns[name], dtype="float64") if name in columns else np.zeros(n)
        for name in BEHAVIOUR_COLUMNS
    }
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def triangle_counts(n: int, payer: np.ndarray, payee: np.ndarray) -> np.ndarray:
    """Triangles of the undirected payment graph each customer is in.

    Two customers are linked when either paid the other; a customer's triangles are the
    pairs of its counterparties who are linked too. Every link is oriented from the end of
    lower (degree, position) to the higher one (Chiba & Nishizeki 1985; Latapy 2008), so
    each customer keeps at most ``sqrt(2m)`` out-links whatever its degree, and each
    triangle ``a -> b -> c`` (``a -> c``) is found once per corner: ``a`` and ``c`` by
    ``L @ L`` masked by ``L`` (paths of two links closed by a third), ``b`` by
    ``L.T @ L`` masked by ``L`` (two out-links of ``a`` joined by a link), for the 0/1
    oriented adjacency ``L``. Both products cost at most ``m sqrt(2m)`` for ``m`` links,
    so an employer or a biller with thousands of counterparties costs no more than its
    links. Nobody is left out: the learned model, which alone sees this count, weighs it.

    Parameters
    ----------
    n : int
        Number of customers.
    payer, payee : numpy.ndarray of int
        Distinct (payer, payee) customer pairs (either order may repeat a link).

    Returns
    -------
    numpy.ndarray
        Triangles per customer (float64).

    References
    ----------
    Chiba, N., & Nishizeki, T. (1985). Arboricity and subgraph listing algorithms. *SIAM
    Journal on Computing*, 14(1), 210-223.
    Latapy, M. (2008). Main-memory triangle computations for very large (sparse
    (power-law)) graphs. *Theoretical Computer Science*, 407, 458-473.
    """
    from scipy.sparse import csr_matrix

    out = np.zeros(n)
    payer = np.asarray(payer, dtype=np.int64)
    payee = np.asarray(payee, dtype=np.int64)
    ok = payer != payee
    lo = np.minimum(payer[ok], payee[ok])
    hi = np.maximum(payer[ok], payee[ok])
    if n == 0 or len(lo) == 0:
        return out
    link = distinct_sorted(lo * n + hi, overwrite=True)[0]  # each undirected link once
    lo, hi = link // n, link % n
    del link
    degree = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), degree))] = np.arange(n)
    up = rank[lo] < rank[hi]  # from the lower-ranked end
    tail, head = np.where(up, lo, hi), np.where(up, hi, lo)
    del lo, hi, up, rank, degree
    ones = np.ones(len(tail))
    oriented = csr_matrix((ones, (tail, head)), shape=(n, n))
    del tail, head, ones
    closed = (oriented @ oriented).multiply(oriented).tocoo()  # a -> b -> c, a -> c
    out += np.bincount(closed.row, weights=closed.data, minlength=n)  # a
    out += np.bincount(closed.col, weights=closed.data, minlength=n)  # c
    del closed
    joined = (oriented.T.tocsr() @ oriented).multiply(oriented).tocoo()  # b -> c, a -> b, c
    out += np.bincount(joined.row, weights=joined.data, minlength=n)  # b
    return out


def biclique_counts(
    n: int,
    payer: np.ndarray,
    payee: np.ndarray,
    *,
    percentile: float = 95.0,
    floor: int = 10,
    chunk: int = 65_536,
) -> np.ndarray:
    """2x2 bicliques of the payment graph each customer is in, as payer or as payee.

    A 2x2 biclique (a "butterfly") is two payers ``u, v`` who both paid the same two payees
    ``w, x``. As a payer, ``u`` is in ``sum over v != u of C(c_uv, 2)`` of them, where
    ``c_uv`` is the number of payees ``u`` and ``v`` share (a row of ``B @ B.T`` for the
    0/1 payer-by-payee matrix ``B``); as a payee likewise with ``B.T @ B``. Payers with more
    distinct payees, and payees with more distinct payers, than the contact threshold
    (``percentile`` of the customers with any, at least ``floor``) are left out first:
    an employer and its staff, or a utility and its customers, would otherwise make
    bicliques of everyone they pay or are paid by.

    Parameters
    ----------
    n : int
        Number of customers.
    payer, payee : numpy.ndarray of int
        Distinct (payer, payee) customer pairs.
    percentile : float, default 95.0
        Percentile of distinct contacts above which a payer or payee is left out.
    floor : int, default 10
        The threshold is at least this.
    chunk : int, default 65536
        Rows per sparse product (bounds memory on a large bank).

    Returns
    -------
    numpy.ndarray
        Bicliques per customer (float64).

    References
    ----------
    Wang, K. et al. (2019). Vertex priority based butterfly counting for large-scale
    bipartite networks. *PVLDB* 12(10), 1139-1152.
    """
    from scipy.sparse import csr_matrix

    out = np.zeros(n)
    if n == 0 or len(payer) == 0:
        return out
    n_payees = np.bincount(payer, minlength=n)
    n_payers = np.bincount(payee, minlength=n)
    max_payees = count_threshold(n_payees, percentile=percentile, floor=floor, min_count=1)
    max_payers = count_threshold(n_payers, percentile=percentile, floor=floor, min_count=1)
    keep = (n_payees[payer] <= max_payees) & (n_payers[payee] <= max_payers)
    ones = np.ones(int(keep.sum()))
    b = csr_matrix((ones, (payer[keep], payee[keep])), shape=(n, n))
    for side in (b, b.T.tocsr()):
        other = side.T.tocsr()
        for start in range(0, n, chunk):  # a block of rows at a time
            shared = (side[start : start + chunk] @ other).tocoo()
            row = shared.row.astype(np.int64) + start
            c = shared.data
            mine = (row != shared.col) & (c >= 2)
            out += np.bincount(row[mine], weights=c[mine] * (c[mine] - 1) / 2.0, minlength=n)
    return out


def _through_fast(
    n: int,
    src: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    d_i: np.ndarray,
    t_i: np.ndarray,
    a_i: np.ndarray,
    window_days: float,
) -> np.ndarray:
    """Share of received money paid out again within ``window_days`` of each receipt."""
    span = int(max(ts.max(), t_i.max() if len(t_i) else 0)) + int(window_days * DAY) + 2
    w = int(window_days * DAY)
    # payments by (payer, time): keys ``payer * span + time`` and the running total sent
    order = order_by_time(src, ts, span)
    skey = sorted_by_count(src, n) * span
    skey += ts[order]
    cum = np.empty(len(order) + 1)
    cum[0] = 0.0
    np.cumsum(amount[order], out=cum[1:])
    del order
    # receipts looked up in the same order (fewer cache misses)
    by_at = order_by_time(d_i, t_i, span)
    receiver = sorted_by_count(d_i, n)
    at = receiver * span
    at += t_i[by_at]
    lo = np.searchsorted(skey, at, side="left")
    at += w
    hi = np.searchsorted(skey, at, side="right")
    del at, skey
    onward = cum[hi]
    onward -= cum[lo]
    np.minimum(onward, a_i[by_at], out=onward)
    if not bool((t_i[1:] >= t_i[:-1]).all()):
        # back in row order, for the sums below to add each customer's receipts in it;
        # with the rows in time order, the order above already is (the same bits)
        receiver, onward[by_at] = d_i, onward.copy()
    got = np.bincount(d_i, weights=a_i, minlength=n)
    # each receipt counts what left within the window after it, at most its own amount;
    # receipts close together see the same payments, so the total is capped by all sent
    passed = np.minimum(
        np.bincount(receiver, weights=onward, minlength=n),
        np.bincount(src, weights=amount, minlength=n),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(passed / got)


def tail_surprise(x: np.ndarray) -> np.ndarray:
    """Upper-tail surprise of every row, summed over the columns (one-sided ECOD).

    For each column, a row's surprise is ``-log(share of rows whose value is at least the
    row's)``: 0 at the column's minimum, ``log(n)`` for a value no other row reaches. Ties
    share the same surprise, so the score depends only on the order within each column
    (any monotone rescaling of a feature gives the same score).

    Parameters
    ----------
    x : numpy.ndarray
        ``(rows, columns)`` features where larger values are the unusual direction.

    Returns
    -------
    numpy.ndarray
        Sum over the columns of the rows' surprise (float64, >= 0).

    References
    ----------
    Li, Z. et al. (2022). ECOD: unsupervised outlier detection using empirical cumulative
    distribution functions. *IEEE TKDE* 35(12), 12181-12193.
    """
    n = x.shape[0]
    total = np.zeros(n)
    for j in range(x.shape[1]):  # one sort per feature (a dozen)
        col = x[:, j]
        below = _counts_below(col)
        if below is not None:  # whole numbers: counted, no sort
            total += np.log(n / (n - below))
            continue
        order = np.argsort(col)
        ordered = col[order]
        if np.isnan(ordered[-1:]).any():  # NaN (sorted last): NumPy's own search
            at_least = n - search_sorted(ordered, col, side="left", order=order)
            total += np.log(n / at_least)
            continue
        # the rows at least as large as a value are all but those before its run of equal
        # values in the sorted column: ``n - start`` of the run (the position that
        # ``searchsorted(side="left")`` finds), one surprise per run put back in row order
        starts = run_starts(ordered)
        del ordered
        surprise = np.log(n / (n - starts))
        total[order] += np.repeat(surprise, np.diff(starts, append=n))
    return total


def _counts_below(col: np.ndarray) -> np.ndarray | None:
    """For a column of whole numbers from 0 to at most its length (counts of transfers,
    partners, repeats): how many rows hold a smaller value, per row, from one
    ``bincount``; ``None`` for any other column.

    The position where a row's run of equal values starts in the sorted column, which
    :func:`tail_surprise` otherwise finds by sorting (~0.15 s per feature at 1M rows, #16).
    """
    n = len(col)
    if n == 0:
        return None
    low, high = float(col.min()), float(col.max())  # NaN: neither comparison holds
    if not (low >= 0.0 and high <= n) or not np.array_equal(col, np.floor(col)):
        return None
    v = col.astype(np.int64)
    per_value = np.bincount(v)
    return (np.cumsum(per_value) - per_value)[v]


def _pct(values: np.ndarray) -> np.ndarray:
    """Percentile rank in (0, 1] (ties share their average rank).

    ``pandas.Series.rank(method="average", pct=True)``, computed from one NumPy sort: the
    rows of a run of equal values at sorted positions ``a .. a + c - 1`` share the rank
    ``a + (c + 1) / 2``, a half-integer that pandas' sum of the run's ranks divided by
    ``c`` gives exactly too (the same values, bit for bit). With NaN, pandas ranks.
    """
    v = np.asarray(values, dtype="float64")
    n = len(v)
    if n == 0 or np.isnan(v).any():
        return pd.Series(v).rank(method="average", pct=True).to_numpy()
    order = np.argsort(v)
    starts = run_starts(v[order])
    counts = np.diff(np.append(starts, n))
    out = np.empty(n)
    out[order] = np.repeat((2 * starts + counts + 1) / 2.0, counts)
    return out / n


def distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``x`` grouped by identical bits: one representative row per group and each
    row's group.

    A 64-bit hash of each row's bits is sorted, and neighbours in that order with equal
    hashes form a group only where their bits are equal too: a hash collision can split
    a group (an identical row is then represented twice), never merge different rows.

    Parameters
    ----------
    x : numpy.ndarray
        ``(rows, columns)`` float64 values.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``first``: a row of each group; ``group``: each row's group, so that
        ``x[first][group]`` has the bits of ``x``.
    """
    n = len(x)
    # the columns' bits one column at a time: ``x`` in column order (as pandas gives it)
    # is read where it lies, never gathered row by row (#16)
    columns = [
        np.ascontiguousarray(x[:, j], dtype=np.float64).view(np.uint64) for j in range(x.shape[1])
    ]
    h = np.full(n, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in columns:  # splitmix64-style mixing of each column into the hash
        h ^= column
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    order = np.argsort(h)
    ordered = h[order]
    new = np.ones(n, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    for column in columns:  # neighbours in hash order with equal hashes: equal bits too?
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(new)
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return order[starts], group


def anomaly_scores(
    features: pd.DataFrame, *, seed: int = 42, n_estimators: int = 200, threads: int = 1
) -> np.ndarray:
    """Label-free anomaly score in [0, 1] per row (percentile rank; 1 = most unusual).

    An equal-weight rank ensemble of an isolation forest and the one-sided tail score
    :func:`tail_surprise` (see the module docstring).

    Parameters
    ----------
    features : pandas.DataFrame
        Non-negative behaviour features (:func:`behaviour_features`).
    seed : int, default 42
        ``random_state`` of the forest (same seed, same scores).
    n_estimators : int, default 200
        Trees in the forest.
    threads : int, default 1
        Threads that score the rows (:func:`forest_scores`); the scores are the same for
        any number.

    Returns
    -------
    numpy.ndarray
        Percentile rank of the mean of two percentile ranks: ``-IsolationForest.score_samples``
        on ``RobustScaler(log1p(features))`` and :func:`tail_surprise` of the features;
        zeros when fewer than 10 rows.
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import RobustScaler

    n = len(features)
    if n < 10:
        return np.zeros(n)
    # few full-size temporaries: the frame's copy clipped in place, its logarithm scaled in
    # place (RobustScaler(copy=False)), and the trees' float32 rows (each array of 1M
    # customers is 64-128 MB of memory the machine may have to fetch fresh, #16)
    raw_x = features.to_numpy(dtype="float64", copy=True)
    np.clip(raw_x, 0.0, None, out=raw_x)
    x = RobustScaler(copy=False).fit_transform(np.log1p(raw_x))
    # the trees read float32 (the forest casts to it), row by row: in row order a row's
    # values share a cache line, in pandas' column order each is a page apart
    rows32 = x.astype(np.float32, order="C")
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    forest.fit(rows32)
    # a row's score depends on its values alone: identical rows (e.g. the many customers
    # with the same few transfers; 5 % of the 1M bank's) are scored once
    first, group = distinct_rows(x)
    isolated = -forest_scores(forest, rows32[first], threads=threads)[group]
    return _pct(_pct(isolated) + _pct(tail_surprise(raw_x)))


#: Fewest rows per thread worth scoring in a thread of its own.
MIN_ROWS_PER_SCORING_THREAD = 50_000


def forest_scores(forest: Any, x: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """``forest.score_samples(x)``, its rows in ``threads`` blocks scored side by side.

    A row's score is its own: the forest adds each tree's path length for that row, tree
    by tree in the forest's order, whatever other rows are scored with it, so the blocks
    give the very same numbers as one call. The trees' traversal releases the GIL, so the
    blocks run on as many CPUs (about 3 s of one CPU at 1M customers).

    Parameters
    ----------
    forest : sklearn.ensemble.IsolationForest
        A fitted forest.
    x : numpy.ndarray
        Rows to score.
    threads : int, default 1
        Threads; fewer where blocks would have under :data:`MIN_ROWS_PER_SCORING_THREAD`
        rows.

    Returns
    -------
    numpy.ndarray
        ``score_samples`` of every row.
    """
    blocks = min(max(int(threads), 1), max(len(x) // MIN_ROWS_PER_SCORING_THREAD, 1))
    if blocks == 1:
        return forest.score_samples(x)
    bounds = np.linspace(0, len(x), blocks + 1).astype(np.int64)
    with ThreadPoolExecutor(blocks, "graphprofile-forest") as pool:
        parts = pool.map(
            lambda k: forest.score_samples(x[bounds[k] : bounds[k + 1]]), range(blocks)
        )
        return np.concatenate(list(parts))
