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
from graphprofile.analysis.projection import LAYERS, Projection
from graphprofile.analysis.proximity import Proximity, customer_proximity
from graphprofile.analysis.settings import AnalysisSettings
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
) -> Proximity:
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
    return customer_proximity(proj, known, settings=s)


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
