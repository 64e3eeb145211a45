"""Jobs of the in-database engine: GDS streams turned into the embedded engine's arrays.

Each function runs one or a few ``cypher/gds`` statements through the
:class:`~graphprofile.store.gds.GdsGateway` and returns what the embedded job of the same
name returns (see :mod:`graphprofile.analysis.gds_engine` for the whole run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphprofile._arrow import codes
from graphprofile.analysis._util import percentile_rank
from graphprofile.analysis.communities import community_table
from graphprofile.analysis.features import FEATURE_COLUMNS
from graphprofile.analysis.projection import LAYERS, Projection
from graphprofile.analysis.proximity import evidence_graph, fraud_proximity, neighbour_reasons
from graphprofile.analysis.risk import customer_risk
from graphprofile.analysis.scores import SCORE_COLUMNS, BehaviourResult
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.analysis.tags import build_tags
from graphprofile.store.gds import COMMUNITY, ITEM_KIND, LAYER_CODES, REL, WEIGHT, GdsGateway

#: PageRank iterations and tolerance: run to convergence so GDS agrees with PRPACK.
PR_ITERATIONS, PR_TOLERANCE = 100, 1e-10


def values(frame: pd.DataFrame, customers: pd.Index, fill: float = 0.0) -> np.ndarray:
    """``customer_id, value`` rows as an array in customer order."""
    out = np.full(len(customers), fill, dtype="float64")
    if len(frame):
        frame = frame[frame["customer_id"].notna()]
        pos = codes(frame["customer_id"].astype(str), customers)
        ok = pos >= 0
        out[pos[ok]] = pd.to_numeric(frame["value"]).to_numpy(dtype="float64")[ok]
    return out


def influence(
    gw: GdsGateway, s: AnalysisSettings, proj: Projection, seed: int, rel_on: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """PageRank, money PageRank, degree, strength, betweenness and k-core per customer."""
    customers, n = proj.customers, len(proj.customers)
    pr_conf = {
        "dampingFactor": 0.85,
        "maxIterations": PR_ITERATIONS,
        "tolerance": PR_TOLERANCE,
        "concurrency": 1,
    }
    pr = values(
        gw.node_values(
            "pagerank", "rel", {**rel_on, **pr_conf, "relationshipWeightProperty": WEIGHT}
        ),
        customers,
    )
    pr = pr / pr.sum() if pr.sum() > 0 else pr
    money_pr = np.zeros(n)
    if len(proj.accounts):
        mp = gw.node_values(
            "money_pagerank", "money", {**pr_conf, "relationshipWeightProperty": "amount"}
        )
        total = float(pd.to_numeric(mp["value"]).sum())
        money_pr = values(mp, customers) / (total if total > 0 else 1.0)
    conc = {"concurrency": gw.concurrency}
    degree = values(gw.node_values("degree", "rel", {**rel_on, **conc}), customers)
    strength = values(
        gw.node_values("degree", "rel", {**rel_on, **conc, "relationshipWeightProperty": WEIGHT}),
        customers,
    )
    edges = int(degree.sum()) // 2
    btw_conf: dict[str, Any] = {**rel_on, "concurrency": 1}
    samples = s.betweenness_samples
    if n <= s.betweenness_exact_max or samples >= n:
        mode = {"mode": "exact", "samples": n}
        scale = 1.0
    else:
        if s.betweenness_budget is not None:
            samples = min(samples, max(8, s.betweenness_budget // max(edges, 1)))
        btw_conf.update({"samplingSize": int(samples), "samplingSeed": int(seed)})
        mode = {"mode": "sampled", "samples": int(samples)}
        scale = n / samples
    btw = values(gw.node_values("betweenness", "rel", btw_conf), customers) * scale
    core = values(gw.node_values("kcore", "rel", {**rel_on, **conc}), customers)
    frame = pd.DataFrame(
        {
            "pagerank": pr,
            "pagerank_pct": percentile_rank(pr),
            "money_pagerank": money_pr,
            "money_pagerank_pct": percentile_rank(money_pr),
            "degree": degree.astype("int64"),
            "strength": strength,
            "betweenness": btw,
            "core": core.astype("int64"),
        }
    )
    return frame, mode


def identity_rings(gw: GdsGateway, proj: Projection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members ``ring, cust`` and shared items as :func:`rings.identity_rings` returns them."""
    empty = pd.DataFrame({"ring": [], "cust": []}).astype("int64")
    no_items = pd.DataFrame({"ring": [], "item_id": [], "layer": [], "kind": [], "n_customers": []})
    if gw.name("identity") not in gw.graph_names(gw.prefix):
        return empty, no_items
    comp = gw.node_values("wcc", "identity", {"concurrency": gw.concurrency})
    is_cust = comp["customer_id"].notna().to_numpy()
    cm = comp[is_cust]
    pos = codes(cm["customer_id"].astype(str), proj.customers)
    members = pd.DataFrame({"comp": cm["component"].to_numpy(dtype=np.int64), "cust": pos})
    members = members[members["cust"] >= 0]
    sizes = members.groupby("comp")["cust"].transform("size")
    members = members[sizes >= 2]
    if len(members) == 0:
        return empty, no_items
    first = members.groupby("comp")["cust"].min().sort_values()
    ring_no = pd.Series(np.arange(len(first)), index=first.index)
    ring_members = pd.DataFrame(
        {"ring": ring_no.loc[members["comp"]].to_numpy(), "cust": members["cust"].to_numpy()}
    ).sort_values(["ring", "cust"], ignore_index=True)
    items = comp[~is_cust]
    items = items[items["component"].isin(ring_no.index)]
    layer = items["layer"].astype(int).map(LAYER_CODES)
    shared = pd.DataFrame(
        {
            "ring": ring_no.loc[items["component"]].to_numpy(),
            "item_id": items["item_id"].astype(str).to_numpy(),
            "layer": layer.to_numpy(),
            "kind": [
                ITEM_KIND.get(lay) or str(kind)
                for lay, kind in zip(layer, items["kind"], strict=True)
            ],
            "n_customers": pd.to_numeric(items["n_customers"]).astype("int64").to_numpy(),
        }
    ).sort_values(["ring", "layer", "item_id"], ignore_index=True)
    return ring_members, shared


def edges_among(gw: GdsGateway, proj: Projection, custs: np.ndarray) -> pd.DataFrame:
    """Relationship-graph edges among the customers at positions ``custs``."""
    cols = {"src": [], "dst": [], **{c: [] for c in LAYERS}, WEIGHT: []}
    if len(custs) < 2:
        return pd.DataFrame(cols).astype({"src": "int64", "dst": "int64"})
    ids = proj.customers.to_numpy()[custs]
    found = gw.query(
        "edges_among",
        {"graph": gw.name("rel"), "types": [REL], "members": dict.fromkeys(map(str, ids), 1)},
    )
    a = codes(found["a"].astype(str), proj.customers) if len(found) else np.zeros(0, np.int64)
    b = codes(found["b"].astype(str), proj.customers) if len(found) else np.zeros(0, np.int64)
    out = pd.DataFrame({"src": np.minimum(a, b), "dst": np.maximum(a, b)})
    for c in [*LAYERS, WEIGHT]:
        out[c] = np.nan
    return out.sort_values(["src", "dst"], ignore_index=True)


def proximity(
    gw: GdsGateway, proj: Projection, known: np.ndarray, s: AnalysisSettings, k: dict[str, int]
) -> dict[str, Any]:
    """Hops, fraud_proximity and neighbour reasons, by the embedded proximity job.

    The known-fraud evidence graph (shared non-hub devices and identifiers, money links
    except payroll and billers) is built on the client from the accounts' money edges and
    the shared item links streamed here (items shared by 2..K customers only).
    """
    found = gw.query("shared_links", {"k": k})
    layer = found["layer"].astype(int).map(LAYER_CODES).to_numpy() if len(found) else []
    links = pd.DataFrame(
        {
            "cust": codes(found["customer_id"].astype(str), proj.customers)
            if len(found)
            else np.zeros(0, np.int64),
            "item_id": found["item_id"].astype(str).to_numpy() if len(found) else [],
            "layer": layer,
            "kind": [
                ITEM_KIND.get(lay) or str(kind)
                for lay, kind in zip(layer, found.get("kind", []), strict=True)
            ],
        }
    )
    links["item"] = pd.factorize(links["layer"].astype(str) + "|" + links["item_id"])[0]
    proj.links = links[links["cust"] >= 0].reset_index(drop=True)
    evidence = evidence_graph(proj, settings=s)
    px = fraud_proximity(evidence.graph, known)
    cust_ids = proj.customers.to_numpy()
    return {
        "hops": px["fraud_hops"].astype("Float64").fillna(np.nan).to_numpy(dtype="float64"),
        "prox": px["fraud_proximity"].to_numpy(),
        "fraud_hops": px["fraud_hops"].array,
        "neighbours": neighbour_reasons(evidence, px, known, cust_ids),
        "meta": evidence.meta,
    }


def _score_inputs(behaviour: BehaviourResult | None) -> dict[str, Any]:
    """Anomaly and learned inputs of ``customer_risk`` from the behaviour job."""
    if behaviour is None:
        return {}
    learned = behaviour.table["learned_score"].to_numpy()
    return {
        "anomaly": behaviour.table["anomaly_score"].to_numpy(),
        "anomaly_words": behaviour.anomaly_words,
        "learned": None if np.isnan(learned).all() else learned,
        "learned_reasons": behaviour.learned_reasons,
    }


def features_and_tags(
    s: AnalysisSettings,
    proj: Projection,
    community: np.ndarray,
    comm_size: np.ndarray,
    infl: pd.DataFrame,
    rings: pd.DataFrame,
    ring_members: pd.DataFrame,
    prox: dict[str, Any] | None,
    context: dict[str, Any],
    run_id: str,
    computed_at: pd.Timestamp,
    embedded: np.ndarray,
    *,
    behaviour: BehaviourResult | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Customer risk, the features table and the tags, exactly as the embedded engine.

    ``embedded`` is each customer's share of edge weight inside its community (the
    ``community`` tag's score, :func:`graphprofile.analysis.communities.embeddedness`).
    """
    n = len(proj.customers)
    cust_ids = proj.customers.to_numpy()
    known = context["known_fraud"]
    best = (
        ring_members.sort_values(["cust", "risk", "ring_id"], ascending=[True, False, True])
        .drop_duplicates("cust")
        .set_index("cust")
    )
    ring_size = rings.set_index("ring_id")["size"] if len(rings) else pd.Series(dtype="int64")
    ring_risk_of = np.zeros(n)
    ring_risk_of[best.index.to_numpy()] = best["risk"].to_numpy()
    ring_reason_of: list[dict[str, Any] | None] = [None] * n
    rows = zip(best.index, best["ring_id"], best["kind"], best["risk"], strict=True)
    for c, rid, kind, r in rows:
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
        hops=prox["hops"] if prox else None,
        neighbours=prox["neighbours"] if prox else {},
        young=context["young_customer"],
        cash_out=context["cash_out"],
        **_score_inputs(behaviour),
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
    features["fraud_hops"] = prox["fraud_hops"] if prox else pd.array([pd.NA] * n, dtype="Int64")
    features["fraud_proximity"] = prox["prox"] if prox else np.full(n, np.nan)
    features["known_fraud"] = known
    for col in SCORE_COLUMNS:
        features[col] = behaviour.table[col].to_numpy() if behaviour is not None else np.nan
    features["risk_score"] = risk
    features["risk_reasons"] = reasons
    features["computed_at"] = computed_at
    features = features[FEATURE_COLUMNS]
    rm = ring_members.assign(customer_id=cust_ids[ring_members["cust"].to_numpy(dtype=np.int64)])
    tags = build_tags(
        features,
        rm,
        settings=s,
        customer_reasons=reasons,
        run_id=run_id,
        computed_at=computed_at,
        embeddedness=embedded,
    )
    return features, tags, reasons


def communities_table(
    proj: Projection,
    community: np.ndarray,
    raw: np.ndarray,
    internal: pd.DataFrame,
    features: pd.DataFrame,
    s: AnalysisSettings,
) -> pd.DataFrame:
    """The embedded communities table; density from GDS's per-community edge counts."""
    table = community_table(proj, community, features, risk_medium=s.risk_medium)
    if len(table) == 0:
        return table
    stable = pd.Series(community, index=raw).groupby(level=0).first()
    edges = pd.Series(0.0, index=table["community_id"].to_numpy())
    if len(internal):
        got = pd.Series(
            pd.to_numeric(internal["edges"]).to_numpy(dtype="float64"),
            index=stable.reindex(pd.to_numeric(internal["community"]).to_numpy()).to_numpy(),
        )
        edges = edges.add(got.groupby(level=0).sum(), fill_value=0.0).reindex(edges.index)
    size = table["size"].to_numpy(dtype="float64")
    pairs = size * (size - 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        table["density"] = np.where(pairs > 0, edges.to_numpy() / pairs, 0.0)
    return table


def embeddedness(gw: GdsGateway, proj: Projection, strength: np.ndarray) -> np.ndarray:
    """Share of each customer's edge weight inside its community, computed in GDS."""
    kept = values(
        gw.query(
            "community_weight",
            {"graph": gw.name("rel"), "property": WEIGHT, "types": [REL], "community": COMMUNITY},
        ),
        proj.customers,
    )
    return np.divide(kept, strength, out=np.zeros(len(kept)), where=strength > 0)
