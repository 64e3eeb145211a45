"""Profile tags in long format, one row per (customer, tag, value).

Vocabulary (``tag`` -- ``value`` -- ``score`` -- ``reasons``):

- ``community`` -- community id -- community size -- ``[]``
- ``influencer:top{p}pct`` -- ``"overall"`` -- PageRank percentile -- ``[]``: the top ``p`` %
  of customers by relationship PageRank, for each ``p`` of ``influence_percentiles``
- ``community_influencer:top{p}pct`` -- community id -- PageRank -- ``[]``: the top ``p`` % of
  their community (at least one member) in communities of ``min_community_for_tags`` or more
- ``bridge:top1pct`` -- ``"overall"`` -- betweenness percentile -- ``[]``
- ``money_hub:top1pct`` -- ``"overall"`` -- money-flow PageRank percentile -- ``[]``
- ``ring_member`` -- ring id -- ring risk -- the ring's reasons (one row per ring the
  customer is in)
- ``ring_member:{kind}`` -- ring id -- ring risk -- ``[]`` (kind of ring, for filtering)
- ``near_known_fraud`` -- hops (``"1"``/``"2"``) -- fraud proximity -- ``[]``
- ``risk:high`` / ``risk:medium`` -- ``"customer"`` -- customer risk -- the customer's reasons

Every row carries ``run_id`` and ``computed_at`` (the feature-store event timestamp).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.analysis.settings import AnalysisSettings

TAG_COLUMNS = ["customer_id", "tag", "value", "score", "reasons", "run_id", "computed_at"]


def _fmt_pct(p: float) -> str:
    return f"{p:g}"


def build_tags(
    features: pd.DataFrame,
    ring_members: pd.DataFrame,
    *,
    settings: AnalysisSettings,
    customer_reasons: list[str],
    run_id: str,
    computed_at: pd.Timestamp,
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

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TAG_COLUMNS`, sorted by customer, tag, value.
    """
    cid = features["customer_id"].to_numpy()
    parts: list[pd.DataFrame] = []

    def add(mask: np.ndarray, tag: str, value, score, reasons="[]") -> None:
        if not mask.any():
            return
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": cid[mask],
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
        )

    has_comm = ~pd.isna(features["community_id"]).to_numpy()
    comm_str = features["community_id"].astype("string").fillna("").to_numpy(dtype=object)
    add(
        has_comm,
        "community",
        comm_str,
        features["community_size"].astype("float64").to_numpy(),
    )
    pr_pct = features["pagerank_pct"].to_numpy(dtype="float64")
    pr = features["pagerank"].to_numpy(dtype="float64")
    size = features["community_size"].astype("float64").fillna(0).to_numpy()
    rank_in = (
        features.assign(_pr=pr)
        .groupby("community_id")["_pr"]
        .rank(method="first", ascending=False)
        .to_numpy()
    )
    for p in settings.influence_percentiles:
        add(pr_pct > 100.0 - p, f"influencer:top{_fmt_pct(p)}pct", "overall", pr_pct)
        k = np.maximum(1, np.floor(size * p / 100.0))
        in_comm = has_comm & (size >= settings.min_community_for_tags) & (rank_in <= k)
        add(in_comm, f"community_influencer:top{_fmt_pct(p)}pct", comm_str, pr)
    btw = features["betweenness"].to_numpy(dtype="float64")
    btw_pct = pd.Series(btw).rank(method="max", pct=True).to_numpy() * 100
    add((btw_pct > 99.0) & (btw > 0), "bridge:top1pct", "overall", btw_pct)
    mpr = features["money_pagerank_pct"].to_numpy(dtype="float64")
    add(mpr > 99.0, "money_hub:top1pct", "overall", mpr)

    hops = features["fraud_hops"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64")
    near = (hops == 1) | (hops == 2)
    add(
        near,
        "near_known_fraud",
        np.where(near, np.nan_to_num(hops).astype(int).astype(str), "").astype(object),
        features["fraud_proximity"].astype("Float64").fillna(0.0).to_numpy(dtype="float64"),
    )
    risk = features["risk_score"].to_numpy(dtype="float64")
    reasons = np.asarray(customer_reasons, dtype=object)
    add(risk >= settings.risk_high, "risk:high", "customer", risk, reasons)
    add(
        (risk >= settings.risk_medium) & (risk < settings.risk_high),
        "risk:medium",
        "customer",
        risk,
        reasons,
    )
    if len(ring_members):
        rm = ring_members
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": rm["customer_id"].to_numpy(),
                    "tag": "ring_member",
                    "value": rm["ring_id"].to_numpy(),
                    "score": rm["risk"].to_numpy(dtype="float64"),
                    "reasons": rm["reasons"].to_numpy(),
                }
            )
        )
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": rm["customer_id"].to_numpy(),
                    "tag": "ring_member:" + rm["kind"].astype("str"),
                    "value": rm["ring_id"].to_numpy(),
                    "score": rm["risk"].to_numpy(dtype="float64"),
                    "reasons": "[]",
                }
            )
        )
    if not parts:
        tags = pd.DataFrame({c: pd.Series([], dtype="str") for c in TAG_COLUMNS[:5]})
    else:
        tags = pd.concat(parts, ignore_index=True)
    tags = tags.astype({"customer_id": "str", "tag": "str", "value": "str", "reasons": "str"})
    tags["score"] = tags["score"].astype("float64")
    tags["run_id"] = run_id
    tags["computed_at"] = pd.Timestamp(computed_at)
    tags = tags.sort_values(["customer_id", "tag", "value"], kind="stable", ignore_index=True)
    return tags[TAG_COLUMNS]
