"""Profile tags in long format, one row per (customer, tag, value).

Every tag means the same two things: ``value`` identifies (an id, a hop count, a reason
type; never a placeholder, and stable from run to run so that a profile store's history
keyed on ``(customer, tag, value)`` does not churn) and ``score`` in [0, 1] is the strength
of the evidence for the tag. Raw metrics (PageRank, betweenness, community size) are in
``features``. Vocabulary (``tag`` -- ``value`` -- ``score`` -- ``reasons``):

- ``community`` -- community id -- embeddedness: the share of the customer's relationship
  weight that stays inside the community -- ``[]``; not for singleton communities
- ``influencer:top{p}pct`` -- community id -- PageRank percentile / 100 -- ``[]``: the top ``p`` %
  of customers by relationship PageRank, for each ``p`` of ``influence_percentiles``
- ``community_influencer:top{p}pct`` -- community id -- percentile of the customer's PageRank
  within the community / 100 -- ``[]``: the top ``p`` % of their community (at least one
  member) in communities of ``min_community_for_tags`` or more
- ``bridge:top1pct`` -- community id -- betweenness percentile / 100 -- ``[]``
- ``money_hub:top1pct`` -- community id -- money-flow PageRank percentile / 100 -- ``[]``
- ``ring_member`` -- ring id -- ring risk -- the ring's reasons (one row per ring the
  customer is in)
- ``ring_member:{kind}`` -- ring id -- ring risk -- ``[]`` (kind of ring, for filtering)
- ``near_known_fraud`` -- hops (``"1"``/``"2"``) -- fraud proximity -- ``[]``
- ``risk:high`` / ``risk:medium`` -- the type of the strongest reason (``ring``,
  ``known_fraud``, ``known_fraud_neighbour`` …) -- customer risk -- the customer's reasons

Every row carries ``run_id`` and ``computed_at`` (the feature-store event timestamp).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphprofile._arrow import is_sorted_unique
from graphprofile.analysis.risk import driver
from graphprofile.analysis.settings import AnalysisSettings

POSITION = "_position"  # a customer's row in ``features``, while the tags are built

TAG_COLUMNS = ["customer_id", "tag", "value", "score", "reasons", "run_id", "computed_at"]


def _fmt_pct(p: float) -> str:
    return f"{p:g}"


def strongest_reason(reasons: list[str], mask: np.ndarray) -> np.ndarray:
    """The ``type`` of the heaviest reason of each customer in ``mask`` ("" elsewhere),
    read back from the JSON text (:func:`~graphprofile.analysis.risk.driver` of its items)."""
    out = np.full(len(reasons), "", dtype=object)
    for i in np.flatnonzero(mask).tolist():  # tagged customers only
        out[i] = driver([r for r in json.loads(reasons[i]) if isinstance(r, dict)])
    return out


@dataclass
class TagParts:
    """The tags that do not read the customer risk (:func:`graph_tag_parts`): those the
    risk tags follow (community, influence, bridge, money hub, near known fraud) and those
    they precede (ring memberships). Each part has a ``_position`` column (the customer's
    row in ``features``)."""

    before_risk: list[pd.DataFrame]
    rings: list[pd.DataFrame]


def _part(
    cid: np.ndarray, mask: np.ndarray, tag: str, value, score, reasons="[]"
) -> pd.DataFrame | None:
    """The tag rows of the customers in ``mask`` (``None``: nobody)."""
    if not mask.any():
        return None
    return pd.DataFrame(
        {
            "customer_id": cid[mask],
            POSITION: np.flatnonzero(mask),
            "tag": tag,
            "value": np.asarray(value, dtype=object)[mask]
            if isinstance(value, np.ndarray)
            else value,
            "score": np.asarray(score, dtype="float64")[mask],
            "reasons": np.asarray(reasons, dtype=object)[mask]
            if not isinstance(reasons, str)
            else reasons,
        }
    )


def graph_tag_parts(
    features: pd.DataFrame,
    ring_members: pd.DataFrame,
    *,
    settings: AnalysisSettings,
    embeddedness: np.ndarray | None = None,
) -> TagParts:
    """Every tag of :func:`build_tags` but the risk tags: they read ``features``' columns
    up to ``known_fraud`` only, so the analysis makes them while the learned score is
    still fitted (#16). The parameters are :func:`build_tags`'."""
    cid = features["customer_id"].to_numpy()
    parts: list[pd.DataFrame | None] = []
    has_comm = ~pd.isna(features["community_id"]).to_numpy()
    comm_str = features["community_id"].astype("string").fillna("").to_numpy(dtype=object)
    size = features["community_size"].astype("float64").fillna(0).to_numpy()
    embedded = np.ones(len(cid)) if embeddedness is None else np.asarray(embeddedness, float)
    parts.append(
        _part(cid, has_comm & (size > 1), "community", comm_str, np.clip(embedded, 0.0, 1.0))
    )
    pr_pct = features["pagerank_pct"].to_numpy(dtype="float64")
    pr = features["pagerank"].to_numpy(dtype="float64")
    rank_in = rank_within(
        features["community_id"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64"), pr
    )
    pct_in = 1.0 - (rank_in - 1.0) / np.maximum(size, 1.0)
    for p in settings.influence_percentiles:
        tag = f"influencer:top{_fmt_pct(p)}pct"
        parts.append(_part(cid, pr_pct > 100.0 - p, tag, comm_str, pr_pct / 100.0))
        k = np.maximum(1, np.floor(size * p / 100.0))
        in_comm = has_comm & (size >= settings.min_community_for_tags) & (rank_in <= k)
        tag = f"community_influencer:top{_fmt_pct(p)}pct"
        parts.append(_part(cid, in_comm, tag, comm_str, pct_in))
    btw = features["betweenness"].to_numpy(dtype="float64")
    btw_pct = pd.Series(btw).rank(method="max", pct=True).to_numpy() * 100
    bridge = (btw_pct > 99.0) & (btw > 0)
    parts.append(_part(cid, bridge, "bridge:top1pct", comm_str, btw_pct / 100.0))
    mpr = features["money_pagerank_pct"].to_numpy(dtype="float64")
    parts.append(_part(cid, mpr > 99.0, "money_hub:top1pct", comm_str, mpr / 100.0))

    hops = features["fraud_hops"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64")
    near = (hops == 1) | (hops == 2)
    parts.append(
        _part(
            cid,
            near,
            "near_known_fraud",
            _hop_text(hops, near),
            features["fraud_proximity"].astype("Float64").fillna(0.0).to_numpy(dtype="float64"),
        )
    )
    rings: list[pd.DataFrame] = []
    if len(ring_members):
        rm = ring_members
        at = (
            rm["cust"].to_numpy(dtype=np.int64)
            if "cust" in rm
            else pd.Index(cid).get_indexer(rm["customer_id"].to_numpy())
        )
        rings.append(
            pd.DataFrame(
                {
                    "customer_id": rm["customer_id"].to_numpy(),
                    POSITION: at,
                    "tag": "ring_member",
                    "value": rm["ring_id"].to_numpy(),
                    "score": rm["risk"].to_numpy(dtype="float64"),
                    "reasons": rm["reasons"].to_numpy(),
                }
            )
        )
        rings.append(
            pd.DataFrame(
                {
                    "customer_id": rm["customer_id"].to_numpy(),
                    POSITION: at,
                    "tag": "ring_member:" + rm["kind"].astype("str"),
                    "value": rm["ring_id"].to_numpy(),
                    "score": rm["risk"].to_numpy(dtype="float64"),
                    "reasons": "[]",
                }
            )
        )
    return TagParts([part for part in parts if part is not None], rings)


def build_tags(
    features: pd.DataFrame,
    ring_members: pd.DataFrame,
    *,
    settings: AnalysisSettings,
    customer_reasons: list[str],
    run_id: str,
    computed_at: pd.Timestamp,
    embeddedness: np.ndarray | None = None,
    parts: TagParts | None = None,
    drivers: np.ndarray | None = None,
) -> pd.DataFrame:
    """Long-format tags from the features and ring memberships.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per customer (the ``features.parquet`` columns).
    ring_members : pandas.DataFrame
        ``customer_id, ring_id, kind, risk, reasons`` for every reported ring membership.
    settings : AnalysisSettings
        Percentiles and risk thresholds.
    customer_reasons : list of str
        Customer risk reasons (JSON) in ``features`` row order.
    run_id : str
        Run identifier.
    computed_at : pandas.Timestamp
        Event timestamp of the run.
    embeddedness : numpy.ndarray, optional
        Share of each customer's relationship weight inside its community (the
        ``community`` tag's score); 1.0 when omitted.
    parts : TagParts, optional
        :func:`graph_tag_parts` of these features, memberships and settings, when made
        already (then ``ring_members`` and ``embeddedness`` are not read).
    drivers : numpy.ndarray, optional
        The risk tags' values, each customer's strongest reason type
        (:func:`~graphprofile.analysis.risk.customer_risk`); read back from
        ``customer_reasons`` when omitted (:func:`strongest_reason`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TAG_COLUMNS`, sorted by customer, tag, value.
    """
    if parts is None:
        parts = graph_tag_parts(
            features, ring_members, settings=settings, embeddedness=embeddedness
        )
    cid = features["customer_id"].to_numpy()
    risk = features["risk_score"].to_numpy(dtype="float64")
    reasons = np.asarray(customer_reasons, dtype=object)
    high = risk >= settings.risk_high
    medium = (risk >= settings.risk_medium) & ~high
    if drivers is None:
        drivers = strongest_reason(customer_reasons, high | medium)
    risk_parts = [
        _part(cid, high, "risk:high", drivers, risk, reasons),
        _part(cid, medium, "risk:medium", drivers, risk, reasons),
    ]
    every = [*parts.before_risk, *(p for p in risk_parts if p is not None), *parts.rings]
    if not every:
        tags = pd.DataFrame({c: pd.Series([], dtype="str") for c in TAG_COLUMNS[:5]})
    else:
        tags = pd.concat(every, ignore_index=True)
    tags = tags.astype({"customer_id": "str", "tag": "str", "value": "str", "reasons": "str"})
    tags["score"] = tags["score"].astype("float64")
    tags["run_id"] = run_id
    tags["computed_at"] = pd.Timestamp(computed_at)
    return _sorted_tags(tags, cid)[TAG_COLUMNS]


def _hop_text(hops: np.ndarray, near: np.ndarray) -> np.ndarray:
    """``"1"`` / ``"2"`` where ``near``, ``""`` elsewhere (only the near ones are read)."""
    text = np.full(len(hops), "", dtype=object)
    text[near] = hops[near].astype(np.int64).astype(str).astype(object)
    return text


def rank_within(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's rank by ``values``, largest first, within its ``group``.

    As pandas' ``groupby(group).rank(method="first", ascending=False)``: ties ranked in
    row order, ``NaN`` where the group is missing (``NaN``); by one sort of the rows.

    Parameters
    ----------
    group : numpy.ndarray of float
        Group of each row, ``NaN`` for none.
    values : numpy.ndarray of float
        The values ranked (no ``NaN``: rows with one fall back to pandas).

    Returns
    -------
    numpy.ndarray of float
        Ranks from 1 within each group.
    """
    group = np.asarray(group, dtype="float64")
    values = np.asarray(values, dtype="float64")
    if np.isnan(values).any():
        frame = pd.DataFrame({"g": group, "v": values})
        return frame.groupby("g")["v"].rank(method="first", ascending=False).to_numpy()
    rank = np.full(len(values), np.nan)
    rows = np.flatnonzero(~np.isnan(group))
    if len(rows) == 0:
        return rank
    g = group[rows]
    order = np.lexsort((rows, -values[rows], g))
    ordered = g[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    within = np.empty(len(rows))
    within[order] = np.arange(len(order)) - first + 1
    rank[rows] = within
    return rank


def _sorted_tags(tags: pd.DataFrame, cid: np.ndarray) -> pd.DataFrame:
    """``tags`` sorted by customer, tag and value, ties in their order (a stable sort).

    Where the customers' ids are in increasing order (the projection's usual order), each
    row's customer position stands for its id, so the million ids are not sorted again.
    """
    position = tags.pop(POSITION).to_numpy(dtype=np.int64) if POSITION in tags else None
    if position is not None and (position >= 0).all() and is_sorted_unique(pd.Series(cid)):
        tag, tags_seen = pd.factorize(tags["tag"], sort=True)
        value, values_seen = pd.factorize(tags["value"], sort=True, use_na_sentinel=False)
        n_tag, n_value = max(len(tags_seen), 1), max(len(values_seen), 1)
        if (int(position.max(initial=0)) + 1) * n_tag * n_value < np.iinfo(np.int64).max:
            # one key, sorted stably: the parts are runs already in customer order, which
            # the merging sort only merges (the same order as the lexsort below)
            key = position * n_tag
            key += tag
            key *= n_value
            key += value
            order = np.argsort(key, kind="stable")
        else:
            order = np.lexsort((np.arange(len(tags)), value, tag, position))
        return tags.take(order).reset_index(drop=True)
    return tags.sort_values(["customer_id", "tag", "value"], kind="stable", ignore_index=True)
