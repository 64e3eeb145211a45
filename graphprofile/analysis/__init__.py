"""Analysis stage: CanonicalGraph -> communities, influence, rings, risk and tags.

:func:`analyse` runs every job (one module each) and returns an :class:`AnalysisResult`
whose tables the sinks write as ``features``, ``tags``, ``rings`` and ``communities``, and
whose ``meta`` goes into ``run.json``. Analyses whose inputs are missing are skipped with
a one-line reason, never an error. See ``docs/ANALYSIS.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.analysis._util import build_graph, codes
from graphprofile.analysis.assemble import (
    assemble_rings,
    flow_evidence,
    identity_evidence,
    previous_ring_keys,
)
from graphprofile.analysis.communities import (
    churn,
    embeddedness,
    leiden,
    leiden_multiplex,
    match_ids,
)
from graphprofile.analysis.flows import flow_patterns
from graphprofile.analysis.influence import influence
from graphprofile.analysis.projection import LAYERS, project
from graphprofile.analysis.proximity import evidence_graph, fraud_proximity, neighbour_reasons
from graphprofile.analysis.rings import bank_context, identity_rings
from graphprofile.analysis.risk import customer_risk
from graphprofile.analysis.scores import SCORE_COLUMNS, behaviour_job, model_graph_features
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.analysis.tags import build_tags
from graphprofile.errors import InputError
from graphprofile.frames import CanonicalGraph

__all__ = ["AnalysisResult", "AnalysisSettings", "analyse"]

FEATURE_COLUMNS = [
    "customer_id", "community_id", "community_size", "pagerank", "pagerank_pct",
    "money_pagerank", "money_pagerank_pct", "degree", "strength", "betweenness", "core",
    "ring_id", "ring_kind", "ring_size", "ring_risk", "n_rings", "fraud_hops",
    "fraud_proximity", "known_fraud", *SCORE_COLUMNS, "risk_score", "risk_reasons",
    "computed_at",
]  # fmt: skip

COMMUNITY_COLUMNS = [
    "community_id", "size", "internal_flow", "external_flow", "density", "top_members",
    "risky_share",
]  # fmt: skip


@dataclass
class AnalysisResult:
    """Tables and run metadata produced by :func:`analyse`."""

    features: pd.DataFrame
    tags: pd.DataFrame
    rings: pd.DataFrame
    communities: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def _read_previous(previous: Path | None, name: str) -> pd.DataFrame | None:
    if previous is None:
        return None
    for ext, reader in (
        ("parquet", pd.read_parquet),
        ("jsonl", lambda p: pd.read_json(p, lines=True, dtype=False)),
        ("csv", lambda p: pd.read_csv(p, dtype=str)),
    ):
        path = Path(previous) / f"{name}.{ext}"
        if path.exists():
            try:
                return reader(path)
            except Exception as exc:  # unreadable previous output: say which file
                raise InputError(f"cannot read previous output {path}: {exc}") from exc
    return None


def _has(graph: CanonicalGraph, name: str) -> bool:
    frame = graph.edges.get(name)
    return frame is not None and len(frame) > 0


def analyse(
    graph: CanonicalGraph,
    *,
    settings: AnalysisSettings | None = None,
    previous: Path | None = None,
    run_id: str,
    computed_at: pd.Timestamp,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Run every analysis job on ``graph``.

    Parameters
    ----------
    graph : CanonicalGraph
        The canonical graph.
    settings : AnalysisSettings, optional
        Every knob; defaults when omitted.
    previous : Path, optional
        Output directory of a previous run: community and ring ids are matched to its
        ``features`` and ``rings`` tables by member overlap, and churn is reported.
    run_id : str
        Identifier written into every tag row.
    computed_at : pandas.Timestamp
        Event timestamp written into features and tags.
    seed : int, default 42
        Seed of every stochastic step (Leiden, betweenness sampling).
    progress : callable, optional
        Called with a short message as each job starts.

    Returns
    -------
    AnalysisResult
        ``features`` (one row per customer), ``tags`` (long format), ``rings``,
        ``communities`` and ``meta`` for ``run.json``.

    Raises
    ------
    InputError
        When a previous output file exists but cannot be read.
    """
    s = settings or AnalysisSettings()
    say = progress or (lambda _msg: None)
    computed_at = pd.Timestamp(computed_at)
    if computed_at.tzinfo is None:
        computed_at = computed_at.tz_localize("UTC")
    seconds: dict[str, float] = {}
    skipped: dict[str, str] = {}
    clock = time.perf_counter()

    def lap(job: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[job] = round(now - clock, 3)
        clock = now

    say("projections")
    proj = project(graph, settings=s)
    txns = graph.transactions
    # account positions of every transaction's ends: looked up once, shared by the jobs
    txn_src = txn_dst = None
    if txns is not None and len(txns):
        txn_src = codes(txns["from_account"], proj.accounts)
        if "to_account" in txns:
            txn_dst = codes(txns["to_account"], proj.accounts)
    context = bank_context(graph, proj, txn_src=txn_src)
    n = len(proj.customers)
    cust_ids = proj.customers.to_numpy()
    lap("projections")

    say("communities")
    if s.multiplex:
        layers = []
        for layer in LAYERS:
            e = proj.rel_edges[proj.rel_edges[layer] > 0]
            g = build_graph(n, e["src"].to_numpy(), e["dst"].to_numpy(), directed=False)
            g.es["weight"] = e[layer].to_numpy().tolist()
            layers.append(g)
        membership = leiden_multiplex(
            layers,
            layer_weights=[s.layer_weights[layer] for layer in LAYERS],
            n_iterations=s.n_iterations,
            resolution=s.resolution,
            seed=seed,
        )
    else:
        membership = leiden(
            proj.relationship,
            objective=s.objective,
            resolution=s.resolution,
            n_iterations=s.n_iterations,
            seed=seed,
        )
    prev_features = _read_previous(previous, "features")
    prev_comm = None
    if prev_features is not None and {"customer_id", "community_id"} <= set(prev_features):
        pf = prev_features.dropna(subset=["community_id"])
        prev_comm = pd.DataFrame(
            {
                "id": pd.to_numeric(pf["community_id"]).astype("int64").to_numpy(),
                "customer_id": pf["customer_id"].astype("str").to_numpy(),
            }
        )
    members = pd.DataFrame({"group": membership, "customer_id": cust_ids})
    comm_ids = match_ids(members, prev_comm, min_share=s.match_min_share)
    community = comm_ids.loc[membership].to_numpy() if n else np.zeros(0, dtype=np.int64)
    comm_size = pd.Series(community).map(pd.Series(community).value_counts()).to_numpy()
    churn_summary = churn(pd.DataFrame({"id": community, "customer_id": cust_ids}), prev_comm)
    modularity = (
        float(proj.relationship.modularity(membership.tolist(), weights="weight"))
        if proj.relationship.ecount()
        else 0.0
    )
    lap("communities")

    say("influence")
    infl, btw_mode = influence(
        proj.relationship,
        proj.money,
        proj.account_customer,
        exact_max=s.betweenness_exact_max,
        samples=s.betweenness_samples,
        budget=s.betweenness_budget,
        seed=seed,
    )
    if proj.money.ecount() == 0:
        skipped["money_pagerank"] = "no transfers between accounts"
    lap("influence")

    say("rings")
    parts = []
    if _has(graph, "USES_DEVICE") or _has(graph, "HAS_IDENTIFIER"):
        cm, shared = identity_rings(proj)
        ev, stats = identity_evidence(shared, cm)
        parts.append(("identity", cm, None, ev, stats))
    else:
        skipped["identity_rings"] = "no devices or identifiers table"
    lap("identity_rings")
    flow_meta: dict[str, Any] = {}
    has_transfers = txn_dst is not None and bool((txn_dst >= 0).any())
    t0 = 0
    if has_transfers:
        kinds, per_ring_cycles, tx, flow_meta = flow_patterns(
            graph, proj, s, src_codes=txn_src, dst_codes=txn_dst
        )
        t0 = tx.t0
        acc_owner = proj.account_customer
        min_fan = {
            "fan_in": s.fan_min_degree,
            "fan_out": s.fan_min_degree,
            "scatter_gather": s.scatter_min_paths,
        }
        for kind in ("cycle", "scatter_gather", "fan_in", "fan_out"):
            am = kinds[kind]
            owners = acc_owner[am["acc"].to_numpy()]
            cm = pd.DataFrame({"ring": am["ring"].to_numpy(), "cust": owners})
            cm = cm[cm["cust"] >= 0].drop_duplicates()
            ev, stats = flow_evidence(kind, am, per_ring_cycles, tx, proj, min_fan=min_fan)
            parts.append((kind, cm, am[["ring", "acc"]], ev, stats))
    else:
        skipped["flow_patterns"] = "no account-to-account transactions"
    lap("flow_patterns")

    prev_rings = _read_previous(previous, "rings")
    prev_keys = (
        previous_ring_keys(prev_rings) if prev_rings is not None and len(prev_rings) else None
    )
    rings, ring_members, ring_meta = assemble_rings(
        parts,
        proj,
        graph,
        context,
        t0=t0,
        min_risk=s.ring_min_risk,
        previous=prev_keys,
        match_min_share=s.match_min_share,
    )
    lap("ring_risk")

    say("proximity")
    known = context["known_fraud"]
    hops = None
    neighbours: dict[int, dict[str, Any]] = {}
    fraud_hops = pd.array([pd.NA] * n, dtype="Int64")
    fraud_prox = np.full(n, np.nan)
    evidence_meta: dict[str, Any] = {}
    if known.any() and n:
        evidence = evidence_graph(proj, settings=s)
        evidence_meta = evidence.meta
        px = fraud_proximity(evidence.graph, known)
        fraud_hops = px["fraud_hops"].array
        fraud_prox = px["fraud_proximity"].to_numpy()
        hops = px["fraud_hops"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64")
        neighbours = neighbour_reasons(evidence, px, known, cust_ids)
    else:
        skipped["fraud_proximity"] = "no customer is flagged known_fraud"
    lap("proximity")

    say("behaviour")
    graph_x = model_graph_features(infl, comm_size, parts, n)
    beh = behaviour_job(
        graph,
        proj.account_customer,
        txn_src=txn_src,
        txn_dst=txn_dst,
        graph_features=graph_x,
        known=known,
        settings=s,
        seed=seed,
    )
    if beh.meta.get("learned_notice"):
        skipped["learned_score"] = beh.meta["learned_notice"]
    learned_col = beh.table["learned_score"].to_numpy()
    lap("behaviour")

    say("risk and tags")
    best = (
        ring_members.sort_values(["cust", "risk", "ring_id"], ascending=[True, False, True])
        .drop_duplicates("cust")
        .set_index("cust")
    )
    ring_size = rings.set_index("ring_id")["size"] if len(rings) else pd.Series(dtype="int64")
    ring_risk_of = np.zeros(n)
    ring_risk_of[best.index.to_numpy()] = best["risk"].to_numpy()
    ring_reason_of: list[dict[str, Any] | None] = [None] * n
    for c, rid, kind, r in zip(  # loops over ring members only
        best.index, best["ring_id"], best["kind"], best["risk"], strict=True
    ):
        ring_reason_of[int(c)] = {
            "type": "ring",
            "ring_id": rid,
            "kind": kind,
            "weight": round(float(r), 4),
        }
    risk, reasons = customer_risk(
        n,
        ring_risk_of=ring_risk_of,
        ring_reason_of=ring_reason_of,
        known=known,
        hops=hops,
        neighbours=neighbours,
        young=context["young_customer"],
        cash_out=context["cash_out"],
        anomaly=beh.table["anomaly_score"].to_numpy(),
        anomaly_words=beh.anomaly_words,
        learned=None if np.isnan(learned_col).all() else learned_col,
        learned_reasons=beh.learned_reasons,
    )
    n_rings = (
        np.bincount(ring_members["cust"].to_numpy(dtype=np.int64), minlength=n)
        if len(ring_members)
        else np.zeros(n, dtype=np.int64)
    )
    features = pd.DataFrame(
        {
            "customer_id": cust_ids.astype(object),
            "community_id": pd.array(community, dtype="Int64"),
            "community_size": pd.array(comm_size, dtype="Int64"),
        }
    )
    features = pd.concat([features, infl.reset_index(drop=True)], axis=1)
    ring_id = pd.Series(pd.NA, index=range(n), dtype="string")
    ring_kind = pd.Series(pd.NA, index=range(n), dtype="string")
    ring_risk_col = pd.Series(np.nan, index=range(n))
    ring_id.iloc[best.index.to_numpy()] = best["ring_id"].to_numpy()
    ring_kind.iloc[best.index.to_numpy()] = best["kind"].to_numpy()
    ring_risk_col.iloc[best.index.to_numpy()] = best["risk"].to_numpy()
    features["ring_id"] = ring_id
    features["ring_kind"] = ring_kind
    features["ring_size"] = pd.array(ring_id.map(ring_size), dtype="Int64")
    features["ring_risk"] = ring_risk_col.to_numpy()
    features["n_rings"] = n_rings.astype("int64")
    features["fraud_hops"] = fraud_hops
    features["fraud_proximity"] = fraud_prox
    features["known_fraud"] = known
    for col in SCORE_COLUMNS:
        features[col] = beh.table[col].to_numpy()
    features["risk_score"] = risk
    features["risk_reasons"] = reasons
    features["computed_at"] = computed_at
    features = features[FEATURE_COLUMNS]

    rm = ring_members.assign(customer_id=cust_ids[ring_members["cust"].to_numpy(dtype=np.int64)])
    re_ = proj.rel_edges
    tags = build_tags(
        features,
        rm,
        settings=s,
        customer_reasons=reasons,
        run_id=run_id,
        computed_at=computed_at,
        embeddedness=embeddedness(
            re_["src"].to_numpy(), re_["dst"].to_numpy(), re_["weight"].to_numpy(), community
        ),
    )
    communities = _community_table(proj, community, features, risk_medium=s.risk_medium)
    lap("risk_and_tags")

    meta = {
        "settings": s.as_dict(),
        "seed": seed,
        "customers": n,
        "relationship_edges": int(proj.relationship.ecount()),
        "money_edges": int(proj.money.ecount()),
        "hub_thresholds": proj.hub_thresholds,
        "hubs_excluded": {
            "count": {k: int(v) for k, v in proj.hubs.groupby("layer").size().items()},
            "top": proj.hubs.head(20).to_dict(orient="records"),
        },
        "communities": {
            "count": len(np.unique(community)),
            "modularity": round(modularity, 6),
            "algorithm": "leidenalg.find_partition_multiplex"
            if s.multiplex
            else "igraph.community_leiden",
        },
        "churn": churn_summary,
        "betweenness": btw_mode,
        "rings": ring_meta,
        "flows": flow_meta,
        "fraud_evidence": evidence_meta,
        "behaviour": beh.meta,
        "skipped": [f"{name}: {why}" for name, why in skipped.items()],
        "seconds": seconds,
    }
    meta = json.loads(json.dumps(meta, default=_jsonable))
    return AnalysisResult(
        features=features, tags=tags, rings=rings, communities=communities, meta=meta
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _community_table(
    proj: Any, community: np.ndarray, features: pd.DataFrame, *, risk_medium: float
) -> pd.DataFrame:
    """``communities.parquet``: size, money flows, density, top members, risky share."""
    if len(community) == 0:
        return pd.DataFrame({c: [] for c in COMMUNITY_COLUMNS})
    cids = np.unique(community)
    out = pd.DataFrame(index=pd.Index(cids, name="community_id"))
    out["size"] = pd.Series(community).value_counts()
    me = proj.money_edges
    a = proj.account_customer[me["src"].to_numpy()]
    b = proj.account_customer[me["dst"].to_numpy()]
    ok = (a >= 0) & (b >= 0)
    ca, cb = community[a[ok]], community[b[ok]]
    amt = me["total_amount"].to_numpy()[ok]
    same = ca == cb
    out["internal_flow"] = pd.Series(amt[same]).groupby(ca[same]).sum()
    ext = pd.concat(
        [pd.Series(amt[~same], index=ca[~same]), pd.Series(amt[~same], index=cb[~same])]
    )
    out["external_flow"] = ext.groupby(level=0).sum()
    re = proj.rel_edges
    ra, rb = community[re["src"].to_numpy()], community[re["dst"].to_numpy()]
    n_in = pd.Series(ra[ra == rb]).value_counts()
    pairs = out["size"] * (out["size"] - 1) / 2
    out["density"] = (n_in.reindex(out.index).fillna(0) / pairs.where(pairs > 0)).fillna(0.0)
    out[["internal_flow", "external_flow"]] = out[["internal_flow", "external_flow"]].fillna(0.0)
    top = (
        features[["customer_id", "community_id", "pagerank"]]
        .sort_values(["community_id", "pagerank", "customer_id"], ascending=[True, False, True])
        .groupby("community_id")
        .head(5)
    )
    out["top_members"] = top.groupby("community_id")["customer_id"].agg(list)
    risky = features["risk_score"].to_numpy() >= risk_medium
    out["risky_share"] = pd.Series(risky).groupby(community).mean()
    out = out.reset_index()
    out["community_id"] = out["community_id"].astype("int64")
    out["size"] = out["size"].astype("int64")
    return out[COMMUNITY_COLUMNS].sort_values("community_id", ignore_index=True)
