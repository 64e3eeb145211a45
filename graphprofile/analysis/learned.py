"""Learning from known fraud: a cross-fitted gradient-boosted score and its reasons.

When at least ``min_positives`` customers are flagged ``known_fraud``, scikit-learn's
``HistGradientBoostingClassifier`` (Ke et al. 2017's histogram boosting, as implemented by
scikit-learn) learns ``known_fraud`` from the label-free graph features. Every customer is
scored by **cross-fitting**: the customers are split into ``folds`` parts by a seeded
shuffle of their positions (never by their labels), and each part is scored by the model
trained on the other parts. No customer is scored by a model that saw its own label, so
flipping one customer's label leaves that customer's score unchanged, and the out-of-fold
AUC and average precision are honest estimates.

The features handed in must not be derived from the labels (no ring risk that counts
known-fraud members): a neighbour's feature would otherwise carry a customer's label into
the models that score it. Proximity to known fraud is learned all the same, **fold-safe**:
given the customers' payment partners (``neighbours``), each fold's model gets two more
features computed from the labels of the *other* folds only -- the number of known-fraud
partners (``near_fraud_1``) and of known-fraud partners of partners (``near_fraud_2``,
walks of two steps, never back to the customer itself). A customer's own label, and the
labels of its own fold, never reach the model that scores it.

Reasons: a customer's top feature contributions, measured by occlusion -- the drop in its
score when one feature is set to the population median, in the model that scored it.

References
----------
Chernozhukov, V. et al. (2018). Double/debiased machine learning. *Econometrics Journal*,
21(1), C1-C68 (cross-fitting).
Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting decision tree. *NeurIPS*.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.evaluate import average_precision, roc_auc

#: Plain words for each model feature (reasons).
FEATURE_WORDS: dict[str, str] = {
    "out_txns": "many transfers sent",
    "in_txns": "many transfers received",
    "out_partners": "pays many different customers",
    "in_partners": "paid by many different customers",
    "out_amount": "large total sent",
    "in_amount": "large total received",
    "through_amount": "money received and sent on (pass-through volume)",
    "through_fast": "money received is sent on quickly",
    "odd_amounts": "transfers of unusual size for this bank",
    "same_day_repeats": "repeated transfers to the same customer on the same day",
    "burst": "bursts of many transfers on one day",
    "window_partners": "many counterparties within one week",
    "concentration": "money sent to few counterparties",
    "repeat_share": "pays the same counterparties again and again",
    "one_off_share": "transfers with counterparties it deals with only once",
    "nb_odd": "counterparties with unusual amounts",
    "nb_repeats": "counterparties with same-day repeats",
    "nb_in_txns": "counterparties receiving many transfers",
    "nb_thin": "counterparties that barely transact",
    "nb_flagged": "several counterparties with unusual behaviour",
    "bicliques": "pays the same customers as other payers do (bipartite layers)",
    "triangles": "its counterparties also pay each other (a closed group)",
    "anomaly_score": "unusual behaviour overall (anomaly score)",
    "pagerank": "central in the relationship graph",
    "money_pagerank": "central in the money-flow graph",
    "degree": "many relationships",
    "betweenness": "bridges groups of customers",
    "core": "in a dense core of the relationship graph",
    "community_size": "size of its community",
    "pattern_cycle": "on money cycles",
    "pattern_fan_in": "in fan-in patterns",
    "pattern_fan_out": "in fan-out patterns",
    "pattern_scatter_gather": "in scatter-gather patterns",
    "pattern_gather_scatter": "in gather-scatter patterns",
    "pattern_bipartite": "in bipartite layers",
    "pattern_stack": "in stacks of layers",
    "pattern_unusual_transfers": "linked to other accounts by unusual transfers",
    "pattern_identity": "shares devices or identifiers",
    "near_fraud_1": "pays or is paid by known-fraud customers",
    "near_fraud_2": "two payments away from known-fraud customers",
}
#: Rows predicted at once when occluding features (bounds the memory of the batch).
OCCLUSION_BATCH = 262_144
#: Rows per call of the boosted model's prediction (:func:`_predict`).
PREDICT_ROWS = 4_096
#: Fold-safe proximity features added per fold when payment partners are given.
NEAR_COLUMNS = ["near_fraud_1", "near_fraud_2"]


@dataclass
class LearnedResult:
    """Out-of-fold scores, their quality and the per-customer top contributions."""

    score: np.ndarray
    reasons: list[list[dict[str, float | str]]]
    meta: dict[str, object] = field(default_factory=dict)


def learned_scores(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 42,
    min_positives: int = 20,
    top: int = 3,
    max_iter: int = 50,
    explain_from: float = 0.05,
    negatives_per_positive: int = 50,
    neighbours: Any = None,
    threads: int | None = None,
) -> LearnedResult | None:
    """Cross-fitted probability of resembling the known-fraud customers.

    Parameters
    ----------
    features : pandas.DataFrame
        Label-free numeric features, one row per customer (NaN allowed).
    labels : numpy.ndarray of bool
        ``known_fraud`` per row.
    folds : int, default 5
        Cross-fitting folds (seeded shuffle of positions, independent of the labels).
    seed : int, default 42
        Seed of the fold split and of the models.
    min_positives : int, default 20
        Fewer positives (or fewer than ``folds`` negatives): no model, ``None``.
    top : int, default 3
        Contributions kept per customer.
    max_iter : int, default 50
        Boosting iterations per model (learning rate 0.1). A training part is small -- every
        positive and at most ``negatives_per_positive`` negatives each, a few thousand rows
        -- and 100 iterations overfit it: with 20 % labels, 50 gave the same or a higher
        AUC of ``learned_score`` on the customers not fed in, on all three benchmark banks
        tried (``benchmarks/QUALITY.md``: AMLSim 0.905 -> 0.912 and 0.939 -> 0.941, our
        generator's default preset 0.970 -> 0.971), in half the time.
    explain_from : float, default 0.05
        Contributions are computed for customers scoring at least this (others get none).
    negatives_per_positive : int, default 50
        Each model trains on every positive of its training part and at most this many
        negatives per positive (a seeded draw); probabilities are corrected for the
        sampling (``p / (p + (1 - p) / rate)``). Keeps training fast on a large bank.
    neighbours : scipy.sparse matrix, optional
        Symmetric 0/1 customer adjacency (payment partners). Given: each fold's model also
        sees :data:`NEAR_COLUMNS`, computed from the other folds' labels only.
    threads : int, optional
        Folds fitted at once, each on one thread (the scores are the same for any number);
        ``None``: two where this process may use two CPUs.

    Returns
    -------
    LearnedResult or None
        ``score`` in [0, 1] per row (out-of-fold predicted probability), ``reasons`` (the
        ``top`` positive contributions as ``{"feature", "words", "contribution"}``) and
        ``meta`` (``folds``, ``positives``, out-of-fold ``auc`` and ``average_precision``).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):  # repeatable, and shares 2 cores
        return _cross_fit(
            HistGradientBoostingClassifier,
            KFold,
            features,
            labels,
            folds=folds,
            seed=seed,
            min_positives=min_positives,
            top=top,
            max_iter=max_iter,
            explain_from=explain_from,
            negatives_per_positive=negatives_per_positive,
            neighbours=neighbours,
            threads=fold_threads(threads),
        )


def fold_threads(threads: int | None) -> int:
    """Folds fitted at once: ``threads`` as asked, or (``None``) two where this process
    may use two CPUs (:func:`~graphprofile.analysis.graph_worker.usable_cpus`)."""
    from graphprofile.analysis.graph_worker import resolve_workers

    return resolve_workers(threads)  # the same rule as the analysis' processes


def _near(
    neighbours: Any, positives: np.ndarray, n: int, degree: np.ndarray | None = None
) -> np.ndarray:
    """Known-fraud partners and partners of partners of every customer, from ``positives``
    only (two columns; two-step walks back to the customer itself are not counted).
    ``degree``: the row sums of ``neighbours`` (:func:`_degree`), when already known."""
    y = np.zeros(n)
    y[positives] = 1.0
    one = np.asarray(neighbours @ y, dtype="float64").ravel()
    deg = _degree(neighbours) if degree is None else degree
    two = np.asarray(neighbours @ one, dtype="float64").ravel() - deg * y
    return np.column_stack([one, two])


def _degree(neighbours: Any) -> np.ndarray:
    """Row sums of ``neighbours`` (partners per customer), float64."""
    return np.asarray(neighbours.sum(axis=1), dtype="float64").ravel()


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    """``model.predict_proba(x)[:, 1]``, :data:`PREDICT_ROWS` rows at a time.

    The model adds its trees one after the other over all the rows it is given, so rows
    that no longer fit in the CPU's cache are read from memory once per tree; in blocks
    that fit, once. A row's probability is its own, the same in any block: 0.55 -> 0.27 s
    for 200k rows of the 1M bank's 37 features (#16).
    """
    out = np.empty(len(x))
    for lo in range(0, len(x), PREDICT_ROWS):
        out[lo : lo + PREDICT_ROWS] = model.predict_proba(x[lo : lo + PREDICT_ROWS])[:, 1]
    return out


def _occlusion(
    model: Any, x: np.ndarray, score: np.ndarray, median: np.ndarray, rate: float
) -> np.ndarray:
    """Drop in each row's score when one feature at a time is set to its median.

    All features are occluded in one batch of predictions (copy ``j`` of the rows has
    feature ``j`` at the median), at most :data:`OCCLUSION_BATCH` rows at a time.
    """
    k = x.shape[1]
    out = np.zeros((len(x), k))
    step = max(1, OCCLUSION_BATCH // k)
    for lo in range(0, len(x), step):  # batches of rows (one for a few thousand rows)
        rows = x[lo : lo + step]
        occluded = np.tile(rows, (k, 1))
        feature = np.repeat(np.arange(k), len(rows))
        occluded[np.arange(len(occluded)), feature] = median[feature]
        p = _unshift(_predict(model, occluded), rate).reshape(k, len(rows))
        out[lo : lo + step] = score[lo : lo + step, None] - p.T
    return out


def _column_medians(features: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    """:func:`_median` of ``x``, the rows of ``features`` as one float array: without NaN,
    each column's median from the frame's own (contiguous) column -- the same values, but
    no transposed copy of ``x`` (1.3 s of the 1M bank's learned model, most of it that
    copy, #16)."""
    if np.isnan(x).any():
        return _median(x)
    columns = (features.iloc[:, j].to_numpy(dtype="float64", copy=True) for j in range(x.shape[1]))
    return np.array([np.median(c, overwrite_input=True) for c in columns])


def _median(x: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN (0 for a column of NaN only)."""
    if not np.isnan(x).any():
        # each column contiguous in a copy partitioned in place: the same medians as
        # ``np.median(x, axis=0)`` (which partitions a copy across the rows' stride),
        # 0.5 s faster for the 1M x 34 model features
        return np.median(np.array(x.T, order="C"), axis=1, overwrite_input=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        median = np.nanmedian(x, axis=0)
    return np.where(np.isnan(median), 0.0, median)


def _unshift(p: np.ndarray, rate: float) -> np.ndarray:
    """Probabilities of a model trained on a ``rate`` sample of the negatives, corrected."""
    if rate >= 1.0:
        return p
    return p / (p + (1.0 - p) / rate)


def _cross_fit(
    model_cls: Any,
    kfold_cls: Any,
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    folds: int,
    seed: int,
    min_positives: int,
    top: int,
    max_iter: int,
    explain_from: float,
    negatives_per_positive: int,
    neighbours: Any = None,
    threads: int = 1,
) -> LearnedResult | None:

    y = np.asarray(labels, dtype=bool)
    n_pos = int(y.sum())
    if n_pos < min_positives or int((~y).sum()) < folds:
        return None
    # row order: each fold gathers its rows from it, and pandas gives a frame of many
    # columns in column order, where gathering rows reads 37 pages per row (#16)
    base = np.ascontiguousarray(features.to_numpy(dtype="float64"))
    cols = list(features.columns) + (NEAR_COLUMNS if neighbours is not None else [])
    score = np.zeros(len(y))
    contrib = np.zeros((len(y), len(cols)))
    split = kfold_cls(n_splits=folds, shuffle=True, random_state=seed)
    base_median = _column_medians(features, base)  # the same for every fold
    degree = None if neighbours is None else _degree(neighbours)  # so are the partners

    def fold(train: np.ndarray, test: np.ndarray) -> None:
        """Fit on ``train``, score and explain ``test`` (its rows of ``score`` and
        ``contrib`` only: the folds' test parts are disjoint)."""
        near, median = None, base_median
        if neighbours is not None:  # from the other folds' labels only
            near = _near(neighbours, train[y[train]], len(y), degree)
            median = np.concatenate([base_median, _median(near)])

        def rows_of(rows: np.ndarray, near: np.ndarray | None = near) -> np.ndarray:
            """The feature rows a step needs (no full-width copy of every row per fold).
            Gathered by indexing, not ``np.take(..., out=<columns of out>)``: ``take``
            copies an input that is not in row order whole, and a part of ``out`` to a
            temporary and back (0.6 s a call at 1M customers, #16)."""
            if near is None:
                return base[rows]
            out = np.empty((len(rows), base.shape[1] + near.shape[1]))
            out[:, : base.shape[1]] = base[rows]
            out[:, base.shape[1] :] = near[rows]
            return out

        model = model_cls(
            max_iter=max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            early_stopping=False,
            random_state=seed,
        )
        if y[train].all() or not y[train].any():  # one class only in the training part
            return
        # at most ``negatives_per_positive`` negatives per positive, drawn by seed among
        # the training part (its labels only), then the prior shift undone
        neg = train[~y[train]]
        keep_neg = min(len(neg), negatives_per_positive * int(y[train].sum()))
        rate = keep_neg / len(neg)
        if keep_neg < len(neg):
            neg = np.sort(np.random.default_rng(seed).choice(neg, keep_neg, replace=False))
        fit_rows = np.sort(np.concatenate([train[y[train]], neg]))
        model.fit(rows_of(fit_rows), y[fit_rows])
        p = _unshift(_predict(model, rows_of(test)), rate)
        score[test] = p
        explain = test[p >= explain_from]  # reasons only where the score matters
        contrib[explain] = _occlusion(model, rows_of(explain), score[explain], median, rate)

    parts = list(split.split(base))
    if threads > 1 and len(parts) > 1:
        # each fold is fitted, scored and explained on its own (its own model, its own
        # seeded draw), so two at once give the same numbers; the boosted trees release the
        # GIL while they fit and predict
        def one_thread(train: np.ndarray, test: np.ndarray) -> None:
            from threadpoolctl import threadpool_limits

            # OpenMP's thread count is per calling thread: each fold thread sets its own
            with threadpool_limits(limits=1, user_api="openmp"):
                fold(train, test)

        with ThreadPoolExecutor(min(threads, len(parts)), "graphprofile-fold") as pool:
            for done in [pool.submit(one_thread, train, test) for train, test in parts]:
                done.result()
    else:
        for train, test in parts:
            fold(train, test)
    # one shared empty list for the customers without reasons (never appended to: each
    # explained customer gets a list of its own). A million empty lists, one each, cost
    # ~1 s at 1M customers, most of it the collector's passes over them (#16)
    none: list[dict[str, float | str]] = []
    reasons: list[list[dict[str, float | str]]] = [none] * len(y)
    explained = np.flatnonzero(score >= explain_from)  # explained customers only
    # each row is ordered on its own, so ordering only the explained rows gives the same
    # orders without three customers-by-features copies of ``contrib`` (~0.8 GB at 1M)
    order = np.argsort(-contrib[explained], axis=1, kind="stable")[:, :top]
    for i, row in zip(explained.tolist(), order, strict=True):
        items = reasons[i] = []
        for j in row:
            c = float(contrib[i, j])
            if c <= 0.005:
                break
            items.append(
                {
                    "feature": cols[j],
                    "words": FEATURE_WORDS.get(cols[j], cols[j]),
                    "contribution": round(c, 4),
                }
            )
    meta = {
        "model": "sklearn.ensemble.HistGradientBoostingClassifier",
        "folds": folds,
        "positives": n_pos,
        "customers": len(y),
        "features": cols,
        "oof_auc": round(roc_auc(y, score), 4),
        "oof_average_precision": round(average_precision(y, score), 4),
    }
    return LearnedResult(score=score, reasons=reasons, meta=meta)
