"""The customer profiles: risk, the ``features`` table (one row per customer) and the tags.

Brings together what the jobs found about each customer: community, influence, the
riskiest reported ring, proximity to known fraud, behaviour scores and the customer risk
score. Both engines (embedded and ``--engine gds``) end with :func:`early_profiles`,
then :func:`customer_profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.analysis.projection import Projection
from graphprofile.analysis.proximity import Proximity
from graphprofile.analysis.risk import customer_risk
from graphprofile.analysis.scores import SCORE_COLUMNS, BehaviourResult, score_inputs
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.analysis.tags import TagParts, build_tags, graph_tag_parts

#: Every feature after ``customer_id``, with the type of the property it becomes in the graph
#: database (``gp_<column>``; Bloom's names: bigint, number, string, boolean).
FEATURE_TYPES: dict[str, str] = {
    "community_id": "bigint", "community_size": "bigint", "pagerank": "number",
    "pagerank_pct": "number", "money_pagerank": "number", "money_pagerank_pct": "number",
    "degree": "bigint", "strength": "number", "betweenness": "number", "core": "bigint",
    "ring_id": "string", "ring_kind": "string", "ring_size": "bigint", "ring_risk": "number",
    "n_rings": "bigint", "fraud_hops": "number", "fraud_proximity": "number",
    "known_fraud": "boolean", **dict.fromkeys(SCORE_COLUMNS, "number"),
    "risk_score": "number", "risk_reasons": "string", "computed_at": "string",
}  # fmt: skip
#: Columns of the ``features`` table, in order.
FEATURE_COLUMNS = ["customer_id", *FEATURE_TYPES]


def best_rings(ring_members: pd.DataFrame) -> pd.DataFrame:
    """Each ring member's riskiest reported ring (ties: the smallest ring id).

    Parameters
    ----------
    ring_members : pandas.DataFrame
        ``cust, ring_id, kind, risk`` per reported ring membership.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer position: ``ring_id``, ``kind``, ``risk``.
    """
    return (
        ring_members.sort_values(["cust", "risk", "ring_id"], ascending=[True, False, True])
        .drop_duplicates("cust")
        .set_index("cust")
    )


def ring_risk_of(best: pd.DataFrame, n: int) -> tuple[np.ndarray, list[dict[str, Any] | None]]:
    """Risk of each customer's riskiest ring (0 outside rings) and its reason object."""
    risk = np.zeros(n)
    risk[best.index.to_numpy()] = best["risk"].to_numpy()
    reason: list[dict[str, Any] | None] = [None] * n
    for c, rid, kind, r in zip(  # loops over ring members only
        best.index, best["ring_id"], best["kind"], best["risk"], strict=True
    ):
        reason[int(c)] = {
            "type": "ring",
            "ring_id": rid,
            "kind": kind,
            "weight": round(float(r), 4),
        }
    return risk, reason


def _graph_features(
    customers: pd.Index,
    *,
    community_ids: np.ndarray,
    community_sizes: np.ndarray,
    influence: pd.DataFrame,
    rings: pd.DataFrame,
    ring_members: pd.DataFrame,
    best: pd.DataFrame,
    proximity: Proximity,
    known: np.ndarray,
) -> pd.DataFrame:
    """The ``features`` columns up to ``known_fraud``: those that need neither the
    behaviour scores nor the risk (:func:`_with_scores` adds the rest).

    Parameters
    ----------
    customers : pandas.Index
        Customer ids by position.
    community_ids, community_sizes : numpy.ndarray
        Community id and size per customer position.
    influence : pandas.DataFrame
        PageRank, degree, betweenness… per customer position.
    rings, ring_members, best : pandas.DataFrame
        Reported rings, memberships (``cust``) and :func:`best_rings`.
    proximity : Proximity
        Hops and proximity to known fraud.
    known : numpy.ndarray of bool
        Known-fraud flag.

    Returns
    -------
    pandas.DataFrame
        One row per customer in position order.
    """
    n = len(customers)
    n_rings = (
        np.bincount(ring_members["cust"].to_numpy(dtype=np.int64), minlength=n)
        if len(ring_members)
        else np.zeros(n, dtype=np.int64)
    )
    ring_size = rings.set_index("ring_id")["size"] if len(rings) else pd.Series(dtype="int64")
    features = pd.DataFrame(
        {
            "customer_id": customers.to_numpy().astype(object),
            "community_id": pd.array(community_ids, dtype="Int64"),
            "community_size": pd.array(community_sizes, dtype="Int64"),
        }
    )
    features = pd.concat([features, influence.reset_index(drop=True)], axis=1)
    ring_id = pd.Series(pd.NA, index=range(n), dtype="string")
    ring_kind = pd.Series(pd.NA, index=range(n), dtype="string")
    ring_risk_col = pd.Series(np.nan, index=range(n))
    ring_id.iloc[best.index.to_numpy()] = best["ring_id"].to_numpy()
    ring_kind.iloc[best.index.to_numpy()] = best["kind"].to_numpy()
    ring_risk_col.iloc[best.index.to_numpy()] = best["risk"].to_numpy()
    features["ring_id"] = ring_id
    features["ring_kind"] = ring_kind
    # looked up for the ring members only (mapping a million mostly-missing ids costs ~1 s)
    size_col = pd.Series(pd.NA, index=range(n), dtype="Int64")
    size_col.iloc[best.index.to_numpy()] = pd.array(best["ring_id"].map(ring_size), dtype="Int64")
    features["ring_size"] = size_col.array
    features["ring_risk"] = ring_risk_col.to_numpy()
    features["n_rings"] = n_rings.astype("int64")
    features["fraud_hops"] = proximity.fraud_hops
    features["fraud_proximity"] = proximity.fraud_proximity
    features["known_fraud"] = known
    return features


def _with_scores(
    table: pd.DataFrame,
    scores: pd.DataFrame,
    risk: np.ndarray,
    reasons: list[str],
    computed_at: pd.Timestamp,
) -> pd.DataFrame:
    """:func:`_graph_features`' table with the behaviour scores (:data:`SCORE_COLUMNS`
    of ``scores``, in position order), the risk score, its JSON reasons and the stamp:
    the ``features`` table, columns :data:`FEATURE_COLUMNS` (``table`` is left as it is)."""
    features = table.copy(deep=False)
    for col in SCORE_COLUMNS:
        features[col] = scores[col].to_numpy()
    features["risk_score"] = risk
    features["risk_reasons"] = reasons
    features["computed_at"] = computed_at
    return features[FEATURE_COLUMNS]


@dataclass
class EarlyProfiles:
    """What of the customer profiles needs neither the behaviour scores nor the risk
    (:func:`early_profiles`)."""

    ring_risk: np.ndarray
    ring_reason: list[dict[str, Any] | None]
    table: pd.DataFrame
    ring_members: pd.DataFrame
    tag_parts: TagParts


def early_profiles(
    proj: Projection,
    *,
    settings: AnalysisSettings,
    community_ids: np.ndarray,
    community_sizes: np.ndarray,
    influence: pd.DataFrame,
    rings: pd.DataFrame,
    ring_members: pd.DataFrame,
    proximity: Proximity,
    known: np.ndarray,
    embedded: np.ndarray,
) -> EarlyProfiles:
    """The first half of the profiles, which reads neither the behaviour scores nor the
    risk: each customer's riskiest ring, the ``features`` columns up to ``known_fraud`` and
    every tag but the risk tags; :func:`customer_profiles` finishes them. The analysis
    makes it while the learned score is fitted (#16).

    Parameters
    ----------
    proj : Projection
        Customer ids by position.
    settings : AnalysisSettings
        Tag thresholds.
    community_ids, community_sizes : numpy.ndarray
        Community id and size per customer position.
    influence : pandas.DataFrame
        Centralities per customer position.
    rings, ring_members : pandas.DataFrame
        Reported rings and their ``cust, ring_id, kind, risk`` memberships.
    proximity : Proximity
        Closeness to known fraud (:func:`~graphprofile.analysis.proximity.no_proximity`
        when none is known).
    known : numpy.ndarray of bool
        The known-fraud flags.
    embedded : numpy.ndarray
        Each customer's share of edge weight inside its community (the ``community`` tag's
        score).

    Returns
    -------
    EarlyProfiles
    """
    best = best_rings(ring_members)
    ring_risk, ring_reason = ring_risk_of(best, len(proj.customers))
    table = _graph_features(
        proj.customers,
        community_ids=community_ids,
        community_sizes=community_sizes,
        influence=influence,
        rings=rings,
        ring_members=ring_members,
        best=best,
        proximity=proximity,
        known=known,
    )
    cust_ids = proj.customers.to_numpy()
    rm = ring_members.assign(customer_id=cust_ids[ring_members["cust"].to_numpy(dtype=np.int64)])
    parts = graph_tag_parts(table, rm, settings=settings, embeddedness=embedded)
    return EarlyProfiles(ring_risk, ring_reason, table, rm, parts)


def customer_profiles(
    proj: Projection,
    *,
    settings: AnalysisSettings,
    early: EarlyProfiles,
    proximity: Proximity,
    context: dict[str, Any],
    behaviour: BehaviourResult,
    run_id: str,
    computed_at: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Customer risk, the ``features`` table and the tags (the last analysis job), from
    what :func:`early_profiles` made of the graph jobs' results and the behaviour scores.

    Parameters
    ----------
    proj, settings, proximity
        As given to :func:`early_profiles`.
    early : EarlyProfiles
        :func:`early_profiles` of the communities, influence, rings and proximity (the
        analysis makes it while the learned score is fitted).
    context : dict
        :func:`~graphprofile.analysis.rings.bank_context` (known fraud, young customers,
        cash-out accounts).
    behaviour : BehaviourResult
        Behaviour features, anomaly and learned score.
    run_id : str
        Written into every tag.
    computed_at : pandas.Timestamp
        Stamp of the run.

    Returns
    -------
    tuple
        ``features``, ``tags`` and each customer's risk reasons (JSON text).
    """
    n = len(proj.customers)
    known = context["known_fraud"]
    risk, reasons, drivers = customer_risk(
        n,
        ring_risk_of=early.ring_risk,
        ring_reason_of=early.ring_reason,
        known=known,
        hops=proximity.hops,
        neighbours=proximity.neighbours,
        share=proximity.share,
        young=context["young_customer"],
        cash_out=context["cash_out"],
        **score_inputs(behaviour),
    )
    features = _with_scores(early.table, behaviour.table, risk, reasons, computed_at)
    tags = build_tags(
        features,
        early.ring_members,
        settings=settings,
        customer_reasons=reasons,
        run_id=run_id,
        computed_at=computed_at,
        parts=early.tag_parts,
        drivers=drivers,
    )
    return features, tags, reasons
