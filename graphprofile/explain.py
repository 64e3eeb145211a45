"""Everything graphprofile concluded about one customer, and why.

:func:`explain` reads a run's output directory and returns a JSON-ready document:
the customer's community (size, top members), influence ranks (overall and within the
community), ring memberships with each ring's reasons, paths to known-fraud customers
through the graph snapshot, and every tag with its reasons exactly as in ``tags``.
``graphprofile explain`` renders it for a terminal
(:func:`graphprofile.cli.investigate.render_explanation`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile.analysis.projection import project
from graphprofile.analysis.proximity import evidence_graph
from graphprofile.analysis.proximity import fraud_paths as find_paths
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.errors import InputError
from graphprofile.i18n import ENGLISH, Messages, messages
from graphprofile.outputs import RunOutputs, load_outputs
from graphprofile.sinks.report_data import (
    as_list,
    is_missing,
    not_found,
    parse_reasons,
    path_in_words,
    reasons_in_words,
)
from graphprofile.sinks.report_graph import clean_attr

INFLUENCE_COLUMNS = ("pagerank", "pagerank_pct", "degree", "betweenness", "core")


def _row(frame: pd.DataFrame | None, column: str, value: str) -> dict[str, Any] | None:
    if frame is None or column not in frame.columns:
        return None
    sel = frame[frame[column].astype(str) == str(value)]
    return None if sel.empty else sel.iloc[0].to_dict()


def _community(out: RunOutputs, features: pd.DataFrame, cid: Any, top: int) -> dict[str, Any]:
    members = features[features["community_id"].astype(str) == str(cid)]
    info: dict[str, Any] = {"community_id": clean_attr(cid), "size": len(members)}
    row = _row(out.communities, "community_id", str(cid))
    if row:
        for key, value in row.items():
            if key != "community_id":
                info[key] = as_list(value) if key == "top_members" else clean_attr(value)
    if "pagerank" in members.columns:
        leaders = members.nlargest(top, "pagerank")
        info["top_members_by_pagerank"] = [
            {"customer_id": str(r["customer_id"]), "pagerank": clean_attr(r["pagerank"])}
            for r in leaders.to_dict("records")
        ]
    return info


def _influence(features: pd.DataFrame, row: dict[str, Any]) -> dict[str, Any]:
    info = {c: clean_attr(row.get(c)) for c in INFLUENCE_COLUMNS if c in features.columns}
    if "pagerank" in features.columns and not is_missing(row.get("pagerank")):
        pr = features["pagerank"]
        info["rank_overall"] = int((pr > row["pagerank"]).sum()) + 1
        info["customers"] = len(features)
        if "community_id" in features.columns and not is_missing(row.get("community_id")):
            peers = features.loc[features["community_id"] == row["community_id"], "pagerank"]
            info["rank_in_community"] = int((peers > row["pagerank"]).sum()) + 1
    return {k: v for k, v in info.items() if v is not None}


def _rings(
    out: RunOutputs, customer_id: str, row: dict[str, Any], say: Messages = ENGLISH
) -> list[dict[str, Any]]:
    found = []
    rings = out.rings
    if rings is not None and "customers" in rings.columns:
        for ring in rings.to_dict("records"):
            if customer_id in {str(c) for c in as_list(ring.get("customers"))}:
                found.append(ring)
    if not found and not is_missing(row.get("ring_id")):
        found.append({"ring_id": row["ring_id"], "kind": row.get("ring_kind")})
    result = []
    for ring in found:
        reasons = parse_reasons(ring.get("reasons"))
        result.append(
            {
                "ring_id": str(ring["ring_id"]),
                "kind": clean_attr(ring.get("kind")),
                "size": clean_attr(ring.get("size")),
                "risk": clean_attr(ring.get("risk")),
                "members": [str(c) for c in as_list(ring.get("customers"))],
                "reasons": reasons,
                "reasons_in_words": reasons_in_words(reasons, say),
            }
        )
    return result


def _tags(out: RunOutputs, customer_id: str, say: Messages = ENGLISH) -> list[dict[str, Any]]:
    tags = out.tags
    if tags is None or "customer_id" not in tags.columns:
        return []
    sel = tags[tags["customer_id"].astype(str) == customer_id]
    result = []
    for tag in sel.to_dict("records"):
        reasons = parse_reasons(tag.get("reasons"))
        result.append(
            {
                "tag": str(tag["tag"]),
                "value": clean_attr(tag.get("value")),
                "score": clean_attr(tag.get("score")),
                "reasons": reasons,
                "reasons_in_words": reasons_in_words(reasons, say),
            }
        )
    return result


def analysis_settings(out: RunOutputs) -> AnalysisSettings:
    """The analysis settings a run used (from ``run.json``; defaults for what it lacks)."""
    recorded = out.analysis_meta.get("settings")
    known = {f.name for f in dataclasses.fields(AnalysisSettings)}
    given = {k: v for k, v in (recorded or {}).items() if k in known}
    try:
        return AnalysisSettings(**given)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{out.out_dir / 'run.json'}: unusable analysis settings: {exc}") from None


def fraud_paths(
    out: RunOutputs,
    customer_id: str,
    *,
    hops: int = 3,
    limit: int = 3,
    say: Messages = ENGLISH,
) -> list[dict[str, Any]]:
    """Shortest paths from a customer to known-fraud customers over links that carry evidence.

    The paths run on the same graph as the analysis's ``fraud_hops``
    (:func:`graphprofile.analysis.proximity.evidence_graph` over the run's projection, with
    the run's settings): public hubs, shared merchants and ordinary salary or bill payments
    are never a step, and a path's ``hops`` equals the customer's ``fraud_hops``.

    Returns
    -------
    list of dict
        ``to``, ``hops`` (customer-to-customer steps), ``customers`` (the path), ``steps``
        (what each link is) and ``in_words``.
    """
    if out.graph is None:
        return []
    proj = project(out.graph, settings=analysis_settings(out))
    ids = proj.customers.to_numpy()
    pos = proj.customers.get_indexer([customer_id])[0]
    customers = out.graph.nodes["customer"]
    if pos < 0 or "known_fraud" not in customers.columns:
        return []
    flag = customers.set_index(customers["customer_id"].astype(str))["known_fraud"]
    known = flag.reindex(ids.astype(str)).fillna(False).astype(bool).to_numpy()
    if not known.any():
        return []
    evidence = evidence_graph(proj, settings=analysis_settings(out))
    paths = find_paths(evidence, known, ids, int(pos), hops=hops, limit=limit)
    for p in paths:
        p["in_words"] = path_in_words(p["steps"], say)
    return paths


def explain(
    out_dir: Path,
    customer_id: str,
    *,
    top_members: int = 5,
    hops: int = 3,
    lang: str | None = None,
) -> dict:
    """Everything concluded about one customer.

    Parameters
    ----------
    out_dir : Path
        Output directory of ``graphprofile run``.
    customer_id : str
        The customer's id (ids are kept as given; names are pseudonymised).
    top_members : int, default 5
        Community members listed by PageRank.
    hops : int, default 3
        How far (customer-to-customer hops over links that carry evidence: a shared device
        or identifier, money beyond ordinary salary and bills) to look for known fraud.
    lang : str, optional
        Language of ``reasons_in_words`` and the paths' ``in_words`` (``en``, ``zh``; default
        ``GRAPHPROFILE_LANG`` or English); everything else is data and stays as stored.

    Returns
    -------
    dict
        ``customer_id``, ``run_id``, ``known_fraud``, ``risk_score``, ``community``,
        ``influence``, ``rings``, ``paths_to_known_fraud`` and ``tags`` (reasons exactly
        as stored, plus ``reasons_in_words``).

    Raises
    ------
    InputError
        The directory has no features, or the customer is not in them.
    """
    say = messages(lang)
    out = load_outputs(out_dir)
    features = out.features
    path = Path(out_dir) / out.files.get("features", "features.parquet")
    if features is None or "customer_id" not in features.columns:
        raise InputError(f"{path} is missing; run `graphprofile run DATA --out {out_dir}` first")
    customer_id = str(customer_id)
    row = _row(features, "customer_id", customer_id)
    if row is None:
        raise InputError(not_found("customer", customer_id, path, features["customer_id"]))
    known = _row(out.graph.nodes["customer"], "customer_id", customer_id) if out.graph else None
    doc: dict[str, Any] = {
        "customer_id": customer_id,
        "run_id": out.summary.get("run_id"),
        "known_fraud": clean_attr(known.get("known_fraud")) if known else None,
        "risk_score": clean_attr(row.get("risk_score")),
        "fraud_proximity": clean_attr(row.get("fraud_proximity")),
        "community": None,
        "influence": _influence(features, row),
        "rings": _rings(out, customer_id, row, say),
        "paths_to_known_fraud": fraud_paths(out, customer_id, hops=hops, say=say),
        "tags": _tags(out, customer_id, say),
    }
    if "community_id" in features.columns and not is_missing(row.get("community_id")):
        doc["community"] = _community(out, features, row["community_id"], top_members)
    return doc
