"""The behaviour job: per-customer behaviour features, anomaly score and learned score.

:func:`behaviour_job`, from the transactions (account positions already looked up) and the
label-free graph features the other jobs computed, in two parts that the analysis calls
apart (the first needs no other job, so it runs while the graph worker computes
communities and influence):

1. :func:`unsupervised_behaviour`: the behaviour features per customer
   (:func:`~graphprofile.analysis.behaviour.features_and_partners`) and the label-free
   ``anomaly_score`` (IsolationForest on the scale-free behaviour features,
   :data:`ANOMALY_COLUMNS`);
2. :func:`learn_behaviour`: when ``known_fraud`` has at least ``learn_min_positives``
   customers, the cross-fitted ``learned_score`` (:mod:`graphprofile.analysis.learned`) on
   every label-free feature; otherwise a one-line notice and no learned score.

Money volumes (``out_amount``, ``in_amount``, ``through_amount``) and ``concentration`` are
published but left out of the anomaly forest: they measure how big a customer is more than
how it behaves, and a forest on them isolates the bank's largest customers. ``triangles``
(closed groups of counterparties) is left out too: where people pay within social circles
it is ordinary, so it says something only against the bank's own labels (learned score).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graphprofile._arrow import epoch_seconds
from graphprofile.analysis.behaviour import (
    BEHAVIOUR_COLUMNS,
    anomaly_scores,
    features_and_partners,
)
from graphprofile.analysis.graph_worker import resolve_workers
from graphprofile.analysis.learned import FEATURE_WORDS, learned_scores
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.domain import RING_ORDER
from graphprofile.frames import CanonicalGraph

#: Behaviour features the anomaly forest sees (scale-free: counts, shares, neighbourhood).
ANOMALY_COLUMNS = [c for c in BEHAVIOUR_COLUMNS if c not in {
    "out_amount", "in_amount", "through_amount", "concentration", "through_fast", "triangles",
}]  # fmt: skip
#: Columns this job adds to ``features``.
SCORE_COLUMNS = [*BEHAVIOUR_COLUMNS, "anomaly_score", "learned_score"]
#: Label-free graph features (besides behaviour) the learned score may use.
MODEL_GRAPH_COLUMNS = ["pagerank", "money_pagerank", "degree", "betweenness", "core"]
#: Ring kinds whose candidate counts the learned model sees (every kind, always a column).
PATTERN_KINDS = RING_ORDER


def model_graph_features(
    infl: pd.DataFrame, comm_size: np.ndarray, parts: list[tuple[Any, ...]], n: int
) -> pd.DataFrame:
    """Label-free graph features for the learned model: centralities, community size and
    the number of candidate patterns of each kind a customer is in (``parts`` as given to
    ``assemble_rings``: before any ring risk, which counts known-fraud members)."""
    x = infl[MODEL_GRAPH_COLUMNS].reset_index(drop=True).astype("float64")
    x["community_size"] = np.asarray(comm_size, dtype="float64")
    for kind in PATTERN_KINDS:
        x[f"pattern_{kind}"] = 0.0
    for kind, cm, *_rest in parts:
        x[f"pattern_{kind}"] = np.bincount(cm["cust"].to_numpy(dtype=np.int64), minlength=n).astype(
            "float64"
        )
    return x


def load_libraries() -> None:
    """Import the scikit-learn estimators this job uses (about a second: scikit-learn,
    SciPy's statistics) ahead of the job, e.g. while waiting for the graph worker, so that
    the wait does the loading instead of the job."""
    import sklearn.ensemble  # IsolationForest, HistGradientBoostingClassifier
    import sklearn.model_selection
    import sklearn.preprocessing  # noqa: F401


@dataclass
class BehaviourResult:
    """Output of :func:`behaviour_job` (rows in customer position order)."""

    table: pd.DataFrame
    anomaly_words: list[list[str]]
    learned_reasons: list[list[dict[str, Any]]] | None
    meta: dict[str, Any] = field(default_factory=dict)


def score_inputs(behaviour: BehaviourResult) -> dict[str, Any]:
    """The anomaly and learned inputs of
    :func:`~graphprofile.analysis.risk.customer_risk` from the behaviour job."""
    learned = behaviour.table["learned_score"].to_numpy()
    return {
        "anomaly": behaviour.table["anomaly_score"].to_numpy(),
        "anomaly_words": behaviour.anomaly_words,
        "learned": None if np.isnan(learned).all() else learned,
        "learned_reasons": behaviour.learned_reasons,
    }


def _anomaly_words(x: pd.DataFrame, anomaly: np.ndarray, *, top: int = 2) -> list[list[str]]:
    """Plain words for the features furthest above the population median (robust z),
    for customers in the top 10 % of the anomaly score; empty lists elsewhere."""
    none: list[str] = []  # shared by the customers without words (see learned_scores)
    out: list[list[str]] = [none] * len(x)
    rows = np.flatnonzero(anomaly >= 0.9)
    if len(rows) == 0:
        return out
    # one array of the customers' size: the frame's copy, clipped and logged in place
    v = x.to_numpy(dtype="float64", copy=True)
    np.clip(v, 0.0, None, out=v)
    np.log1p(v, out=v)
    top_rows = v[rows]
    # then each feature partitioned in place (the same values as along axis 0 of ``v``,
    # faster; each is contiguous in pandas' column order); a partition keeps each
    # column's values, so the quartiles after the median are those of ``v`` too
    columns = v.T
    med = np.median(columns, axis=1, overwrite_input=True)
    q1, q3 = np.percentile(columns, [25, 75], axis=1, overwrite_input=True)
    del columns, v
    scale = np.where(q3 - q1 > 0, q3 - q1, np.maximum(np.abs(med), 1.0))
    z = (top_rows - med) / scale
    order = np.argsort(-z, axis=1, kind="stable")[:, :top]
    # a row's words follow from its ``top`` features and which of them lie above 1: one
    # code per row (feature + 1 where it does, 0 where not, in base ``k + 1``), each
    # distinct code put into words once, each row given a list of its own
    k = len(x.columns)
    above = np.take_along_axis(z, order, axis=1) > 1.0
    code = np.zeros(len(rows), dtype=np.int64)
    for c in range(order.shape[1]):
        code = code * (k + 1) + np.where(above[:, c], order[:, c] + 1, 0)
    _, first, of_row = np.unique(code, return_index=True, return_inverse=True)
    cols = list(x.columns)
    words = [
        [FEATURE_WORDS[cols[j]] for j, up in zip(order[i], above[i], strict=True) if up]
        for i in first.tolist()
    ]
    for r, d in zip(rows.tolist(), of_row.tolist(), strict=True):  # top decile only
        out[r] = list(words[d])
    return out


def partner_matrix(partners: np.ndarray, n: int) -> Any:
    """Symmetric 0/1 adjacency of the customers who paid each other: the graph of the
    learned model's fold-safe proximity features.

    Parameters
    ----------
    partners : numpy.ndarray of int64
        Sorted distinct keys ``customer * n + partner``, each pair both ways (the second
        output of :func:`~graphprofile.analysis.behaviour.features_and_partners`).
    n : int
        Number of customers.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n``, 1.0 at ``(customer, partner)``: the keys in order are the rows of a CSR
        matrix with their columns in order, so no sort or sum of duplicates is needed.
    """
    from scipy.sparse import csr_matrix

    index = np.int32 if max(n, len(partners)) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n + 1, dtype=index)
    np.cumsum(np.bincount(partners // max(n, 1), minlength=n), out=indptr[1:])
    indices = (partners % max(n, 1)).astype(index)
    return csr_matrix((np.ones(len(partners)), indices, indptr), shape=(n, n))


@dataclass
class Unsupervised:
    """What the behaviour job finds without labels or other jobs' results
    (:func:`unsupervised_behaviour`), rows in customer position order.

    Attributes
    ----------
    features : pandas.DataFrame
        :data:`~graphprofile.analysis.behaviour.BEHAVIOUR_COLUMNS` per customer.
    partners : numpy.ndarray of int64 or None
        Sorted distinct keys ``customer * n + partner`` of the customers who paid each
        other, both ways (see :func:`partner_matrix`); ``None`` without payee accounts.
    anomaly : numpy.ndarray
        ``anomaly_score`` per customer.
    words : list of list of str, optional
        The anomaly's plain words per customer, once :meth:`anomaly_words` has put them
        into words (``None`` until then).
    """

    features: pd.DataFrame
    partners: np.ndarray | None
    anomaly: np.ndarray
    words: list[list[str]] | None = None
    _words_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def anomaly_words(self) -> list[list[str]]:
        """The anomaly in plain words per customer (:func:`_anomaly_words`), worked out on
        the first call: it needs nothing else, so the analysis asks while the learned
        score is fitted in another thread, and :func:`learn_behaviour` finds them done
        (a second thread asking meanwhile waits for the first's answer)."""
        with self._words_lock:
            if self.words is None:
                self.words = _anomaly_words(self.features[ANOMALY_COLUMNS], self.anomaly)
            return self.words

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_words_lock"]  # a lock does not pickle; each copy gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._words_lock = threading.Lock()


def unsupervised_behaviour(
    graph: CanonicalGraph,
    account_customer: np.ndarray,
    n: int,
    *,
    txn_src: np.ndarray | None,
    txn_dst: np.ndarray | None,
    settings: AnalysisSettings,
    seed: int,
) -> Unsupervised:
    """Behaviour features and the label-free anomaly score: the part of the behaviour job
    that needs neither labels nor the other jobs' results, so that it can run while the
    graph worker computes communities and influence.

    Parameters
    ----------
    graph : CanonicalGraph
        For the transactions (timestamps and amounts).
    account_customer : numpy.ndarray
        Customer position of each account position (-1: unknown owner).
    n : int
        Number of customers.
    txn_src, txn_dst : numpy.ndarray or None
        Account position of each transaction's ends (-1 where absent).
    settings : AnalysisSettings
        ``behaviour_window_days``, ``hub_percentile``, ``hub_floor``, ``anomaly_trees``.
    seed : int
        Seed of the forest.

    Returns
    -------
    Unsupervised
    """
    txns = graph.transactions
    pairs = np.zeros(0, dtype=np.int64)
    if txn_src is not None and len(txns):
        cust = np.concatenate([account_customer, [-1]])
        src = cust[np.where(txn_src >= 0, txn_src, -1)]
        dst = (
            cust[np.where(txn_dst >= 0, txn_dst, -1)]
            if txn_dst is not None
            else np.full(len(src), -1)
        )
        feats, pairs = features_and_partners(
            n,
            src=src,
            dst=dst,
            ts=epoch_seconds(txns["ts"]),
            amount=txns["amount"].to_numpy(dtype="float64"),
            window_days=settings.behaviour_window_days,
            hub_percentile=settings.hub_percentile,
            hub_floor=settings.hub_floor,
        )
    else:
        feats = pd.DataFrame(0.0, index=pd.RangeIndex(n), columns=BEHAVIOUR_COLUMNS)
    anomaly = anomaly_scores(
        feats[ANOMALY_COLUMNS],
        seed=seed,
        n_estimators=settings.anomaly_trees,
        threads=resolve_workers(None),  # two where two CPUs are usable; the same scores
    )
    has_pairs = txn_src is not None and txn_dst is not None and n > 0
    return Unsupervised(feats, pairs if has_pairs else None, anomaly)


def learn_behaviour(
    found: Unsupervised,
    *,
    graph_features: pd.DataFrame,
    known: np.ndarray,
    settings: AnalysisSettings,
    seed: int,
) -> BehaviourResult:
    """The behaviour job's result: :func:`unsupervised_behaviour`'s features and anomaly
    score, with (given enough known fraud) the cross-fitted learned score.

    Parameters
    ----------
    found : Unsupervised
        From :func:`unsupervised_behaviour`.
    graph_features : pandas.DataFrame
        Label-free per-customer features from the other jobs (centralities, pattern
        participation counts), in customer position order; fed to the learned model.
    known : numpy.ndarray of bool
        ``known_fraud`` per customer.
    settings : AnalysisSettings
        ``anomaly_trees``, ``learn_min_positives``, ``learn_folds``.
    seed : int
        Seed of the fold split and the boosted models.

    Returns
    -------
    BehaviourResult
        ``table`` (columns :data:`SCORE_COLUMNS`, ``learned_score`` NaN without a model),
        plain-word anomaly reasons, learned reasons and ``meta`` for ``run.json``.
    """
    n = len(known)
    feats, anomaly = found.features, found.anomaly
    table = feats.copy(deep=False)  # its own columns from here on (copy on write)
    table["anomaly_score"] = anomaly
    table["learned_score"] = np.nan
    meta: dict[str, Any] = {
        "anomaly": {
            "model": "sklearn.ensemble.IsolationForest",
            "trees": settings.anomaly_trees,
            "features": ANOMALY_COLUMNS,
        }
    }
    model_x = pd.concat(
        [feats.reset_index(drop=True), graph_features.reset_index(drop=True)], axis=1
    )
    model_x["anomaly_score"] = anomaly
    learned = None
    n_known = int(np.asarray(known, dtype=bool).sum())
    if n_known >= settings.learn_min_positives:
        learned = learned_scores(
            model_x,
            known,
            folds=settings.learn_folds,
            seed=seed,
            min_positives=settings.learn_min_positives,
            neighbours=partner_matrix(found.partners, n) if found.partners is not None else None,
        )
    if learned is None:
        meta["learned"] = None
        meta["learned_notice"] = (
            f"{n_known} customers flagged known_fraud, {settings.learn_min_positives} needed "
            "to learn from them; risk uses the unsupervised scores"
        )
        learned_reasons = None
    else:
        table["learned_score"] = learned.score
        meta["learned"] = learned.meta
        learned_reasons = learned.reasons
    return BehaviourResult(
        table=table,
        anomaly_words=found.anomaly_words(),
        learned_reasons=learned_reasons,
        meta=meta,
    )


def behaviour_job(
    graph: CanonicalGraph,
    account_customer: np.ndarray,
    *,
    txn_src: np.ndarray | None,
    txn_dst: np.ndarray | None,
    graph_features: pd.DataFrame,
    known: np.ndarray,
    settings: AnalysisSettings,
    seed: int,
) -> BehaviourResult:
    """Behaviour features, anomaly score and (with enough known fraud) learned score in one
    call: :func:`unsupervised_behaviour`, then :func:`learn_behaviour` (the GDS engine's
    order, with nothing to overlap); the parameters are theirs, with ``n = len(known)``.

    Returns
    -------
    BehaviourResult
    """
    found = unsupervised_behaviour(
        graph,
        account_customer,
        len(known),
        txn_src=txn_src,
        txn_dst=txn_dst,
        settings=settings,
        seed=seed,
    )
    return learn_behaviour(
        found, graph_features=graph_features, known=known, settings=settings, seed=seed
    )
