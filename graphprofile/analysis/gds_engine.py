"""In-database analysis with Neo4j Graph Data Science (``analyze --engine gds``).

Produces the same ``features``, ``tags``, ``rings`` and ``communities`` tables as
:func:`graphprofile.analysis.analyse`, but the graph work runs inside Neo4j:

- **Projections** are Cypher projections (``cypher/gds/project_*.cypher``): the customer
  relationship graph with the embedded engine's four layers, weights and hub rule
  (thresholds computed by Cypher aggregation from the same percentile), the account
  money-flow graph, and the customer / shared-item graph. A Cypher projection computes
  the pair weights while it reads and writes nothing into the database; the alternative,
  ``gds.graph.project`` over precomputed relationships, would first have to write (and
  later clean up) a relationship per customer pair in the user's graph.
- **Communities**: ``gds.leiden`` (modularity, ``gamma`` = resolution, ``randomSeed`` =
  seed, ``concurrency: 1``), numbered canonically and matched to the previous run's ids by
  :func:`~graphprofile.analysis.communities.match_ids`, as embedded.
- **Influence**: weighted ``gds.pageRank`` (normalised to sum 1, as igraph's PRPACK),
  ``gds.degree`` (degree and strength), ``gds.betweenness`` (exact up to
  ``betweenness_exact_max`` customers, else ``samplingSize`` sources under the same work
  budget, seeded, scaled by ``n / samples``) and ``gds.kcore``; money PageRank on the
  account graph summed into owners.
- **Identity rings**: ``gds.wcc`` on the customer / shared-item projection.
- **Proximity** to known fraud: the embedded job on its own evidence graph, from the
  shared item links (streamed: items of 2..K customers) and the accounts' money edges.
- **Money-flow patterns, ring features, risk and tags** run on the client with the
  embedded engine's own functions, over accounts and transactions read in pages
  (:mod:`graphprofile.store.gds_read`): GDS has no time-ordered pattern search. The
  relationship graph itself never leaves the database; only the edges among ring
  members (for ring density) are streamed.

Every projection is dropped at the end, also on failure; leftovers of interrupted runs
(``gp_`` prefix) are dropped at the start. Differences from the embedded engine are listed
in ``docs/SCALE.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile._arrow import codes
from graphprofile.analysis._util import igraph_from_edges
from graphprofile.analysis.assemble import (
    assemble_rings,
    flow_parts,
    identity_evidence,
    previous_ring_keys,
)
from graphprofile.analysis.communities import canonical_labels, churn, match_ids
from graphprofile.analysis.features import customer_profiles, early_profiles
from graphprofile.analysis.flows import flow_patterns
from graphprofile.analysis.gds_jobs import (
    communities_table,
    edges_among,
    embeddedness,
    identity_rings,
    influence,
    proximity,
    values,
)
from graphprofile.analysis.job import AnalysisResult
from graphprofile.analysis.projection import LAYERS, Projection, account_index, customer_index
from graphprofile.analysis.proximity import no_proximity
from graphprofile.analysis.rings import bank_context
from graphprofile.analysis.scores import behaviour_job, model_graph_features
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.errors import ConfigError
from graphprofile.store.base import Store
from graphprofile.store.gds import (
    COMMUNITY,
    CUSTOMER,
    ITEM_KIND,
    LAYER_CODES,
    MONEY,
    REL,
    SHARES,
    WEIGHT,
    GdsGateway,
    hub_thresholds,
)
from graphprofile.store.gds_read import MoneySide, read_money_side

__all__ = ["analyse_gds"]


def analyse_gds(
    store: Store,
    *,
    settings: AnalysisSettings | None = None,
    previous_features: pd.DataFrame | None = None,
    previous_rings: pd.DataFrame | None = None,
    run_id: str,
    computed_at: pd.Timestamp,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    concurrency: int = 4,
    heap_limit: int | None = None,
    page_size: int = 20_000,
) -> AnalysisResult:
    """Analyse the graph in a Neo4j store with GDS; same outputs as the embedded engine.

    Parameters
    ----------
    store : Store
        An open Neo4j store with the GDS library.
    settings, previous_features, previous_rings, run_id, computed_at, seed, progress
        As :func:`graphprofile.analysis.analyse`.
    concurrency : int, default 4
        GDS threads for projections and integer-valued algorithms (1..4).
    heap_limit : int, optional
        Refuse to project when GDS's memory estimate exceeds this (bytes; default: the
        server's free heap).
    page_size : int, default 20000
        Accounts per read of transactions.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    ConfigError
        Settings GDS cannot honour (CPM objective, multiplex Leiden), bad concurrency.
    StoreError
        No GDS on the server, not enough heap (with GDS's estimate), a refused statement.
    """
    s = settings or AnalysisSettings()
    if s.objective != "modularity" or s.multiplex:
        raise ConfigError(
            "--engine gds runs gds.leiden, which optimises modularity on one graph: use "
            "objective='modularity' without multiplex, or --engine embedded"
        )
    computed_at = pd.Timestamp(computed_at)
    if computed_at.tzinfo is None:
        computed_at = computed_at.tz_localize("UTC")
    gw = GdsGateway(store, run_id=run_id, concurrency=concurrency, heap_limit=heap_limit)
    leftovers = gw.drop_leftovers()
    try:
        previous = (previous_features, previous_rings)
        result = _analyse(gw, s, previous, run_id, computed_at, seed, progress, page_size)
    finally:
        dropped = gw.close()
    result.meta["gds"] = {
        "version": gw.version,
        "concurrency": gw.concurrency,
        "leftovers_dropped": leftovers,
        "projections_dropped": dropped,
        **result.meta.get("gds", {}),
    }
    return result


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.t = time.perf_counter()

    def lap(self, job: str) -> None:
        now = time.perf_counter()
        self.seconds[job] = round(now - self.t, 3)
        self.t = now


def _projection(money: MoneySide, hubs: pd.DataFrame, thresholds: dict[str, int]) -> Projection:
    """The embedded engine's Projection, holding only what the client-side jobs read."""
    graph = money.graph
    customers, accounts = customer_index(graph), account_index(graph)
    acc_cust = np.full(len(accounts), -1, dtype=np.int64)
    owns = graph.edges["OWNS"]
    acc_cust[codes(owns["account_id"], accounts)] = codes(owns["customer_id"], customers)
    tr = graph.edges["TRANSFER"]
    money_edges = (
        pd.DataFrame(
            {
                "src": codes(tr["from_account"], accounts),
                "dst": codes(tr["to_account"], accounts),
                "n_txns": tr["n_txns"].to_numpy(dtype="int64"),
                "total_amount": tr["total_amount"].to_numpy(dtype="float64"),
            }
        )
        .groupby(["src", "dst"], as_index=False, sort=True)
        .sum()
        .reset_index(drop=True)
    )
    g = igraph_from_edges(
        len(accounts), money_edges["src"].to_numpy(), money_edges["dst"].to_numpy(), directed=True
    )
    g.es["weight"] = money_edges["total_amount"].to_numpy().tolist()
    g.es["n_txns"] = money_edges["n_txns"].to_numpy().tolist()
    cols = {"src": "int64", "dst": "int64", **dict.fromkeys(LAYERS, "float64"), WEIGHT: "float64"}
    proj = Projection(
        customers=customers,
        accounts=accounts,
        account_customer=acc_cust,
        rel_edges=pd.DataFrame({c: pd.Series([], dtype=t) for c, t in cols.items()}),
        money_edges=money_edges,
        links=pd.DataFrame({"cust": [], "item_id": [], "layer": [], "kind": []}),
        hubs=hubs,
        hub_thresholds=thresholds,
    )
    proj.relationship = ig.Graph(n=len(customers))
    proj.money = g
    return proj


def _project(gw: GdsGateway, s: AnalysisSettings, k: dict[str, int]) -> dict[str, Any]:
    """Hub list, memory check and the three projections; returns meta."""
    hubs = gw.query("hubs", {"k": k})
    hubs = pd.DataFrame(
        {
            "layer": [LAYER_CODES[int(x)] for x in hubs["layer"]],
            "item_id": hubs["item_id"].astype(str).to_numpy() if len(hubs) else [],
            "kind": [
                kind if kind is not None else ITEM_KIND.get(LAYER_CODES[int(x)], "")
                for x, kind in zip(hubs["layer"], hubs["kind"], strict=True)
            ],
            "n_customers": pd.to_numeric(hubs["n_customers"]).astype("int64").to_numpy()
            if len(hubs)
            else [],
        }
    ).astype({"layer": "str", "item_id": "str", "kind": "str", "n_customers": "int64"})
    hubs = hubs.sort_values(
        ["layer", "n_customers", "item_id"], ascending=[True, False, True], ignore_index=True
    )
    size = gw.query("size", {"k": k, "w": s.layer_weights}).iloc[0]
    memory = gw.check_memory(
        nodes=int(size["customers"]) + 1, relationships=2 * int(size["pairs"] or 0)
    )
    contacts = gw.query("money_contacts")
    meta: dict[str, Any] = {"memory": memory, "hubs": hubs}
    meta["relationship"] = gw.project(
        "rel",
        "project_relationship",
        {
            "k": k,
            "w": s.layer_weights,
            "contacts": dict(
                zip(
                    contacts["customer_id"].astype(str),
                    contacts["contacts"].astype(int),
                    strict=True,
                )
            )
            if len(contacts)
            else {},
            "customer_labels": [CUSTOMER],
            "rel_type": REL,
        },
    )
    meta["money"] = gw.project("money", "project_money", {"rel_type": MONEY})
    meta["identity"] = gw.project(
        "identity", "project_identity", {"k": k, "customer_labels": [CUSTOMER], "rel_type": SHARES}
    )
    return meta


def _analyse(
    gw: GdsGateway,
    s: AnalysisSettings,
    previous: tuple[pd.DataFrame | None, pd.DataFrame | None],
    run_id: str,
    computed_at: pd.Timestamp,
    seed: int,
    progress: Callable[[str], None] | None,
    page_size: int,
) -> AnalysisResult:
    say = progress or (lambda _msg: None)
    clock = _Clock()
    skipped: dict[str, str] = {}

    say("projections (GDS)")
    k = hub_thresholds(gw, percentile=s.hub_percentile, floor=s.hub_floor, fixed=s.hub_threshold)
    meta_p = _project(gw, s, k)  # checks the heap estimate first
    clock.lap("projections")

    say("reading accounts and transactions")
    money = read_money_side(gw, page_size=page_size)
    proj = _projection(money, meta_p.pop("hubs"), k)
    graph = money.graph
    txns = graph.transactions
    txn_src = codes(txns["from_account"], proj.accounts) if len(txns) else None
    txn_dst = codes(txns["to_account"], proj.accounts) if len(txns) else None
    context = bank_context(graph, proj, txn_src=txn_src, txn_dst=txn_dst)
    cash = np.zeros(len(proj.customers), dtype=bool)
    acc = codes(pd.Series(money.cash_accounts, dtype="string"), proj.accounts)
    c = proj.account_customer[acc[acc >= 0]]
    cash[c[c >= 0]] = True
    context["cash_out"] = cash
    n = len(proj.customers)
    cust_ids = proj.customers.to_numpy()
    rel_on = {"nodeLabels": [CUSTOMER], "relationshipTypes": [REL]}
    clock.lap("read_money_side")

    say("communities (gds.leiden)")
    leiden = gw.query(
        "leiden",
        {
            "graph": gw.name("rel"),
            "config": {
                **rel_on,
                "relationshipWeightProperty": WEIGHT,
                "gamma": float(s.resolution),
                "randomSeed": int(seed),
                "concurrency": 1,
                "mutateProperty": COMMUNITY,
            },
        },
    ).iloc[0]
    raw = gw.query(
        "node_property",
        {"graph": gw.name("rel"), "property": COMMUNITY, "labels": [CUSTOMER]},
    )
    raw_comm = values(raw, proj.customers, fill=-1).astype(np.int64)
    membership = canonical_labels(raw_comm) if n else np.zeros(0, dtype=np.int64)
    prev_features = previous[0]
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
    context["community"] = community  # ring evidence: do members share a social circle?
    churn_summary = churn(pd.DataFrame({"id": community, "customer_id": cust_ids}), prev_comm)
    clock.lap("communities")

    say("influence (gds.pageRank, degree, betweenness, kcore)")
    infl, btw_mode = influence(gw, s, proj, seed, rel_on)
    if proj.money.ecount() == 0:
        skipped["money_pagerank"] = "no transfers between accounts"
    clock.lap("influence")

    say("rings (gds.wcc, money-flow patterns)")
    parts = []
    ident_cm, shared = identity_rings(gw, proj)
    if meta_p["identity"]["nodes"] > 0 or len(ident_cm):
        ev, stats = identity_evidence(shared, ident_cm)
        parts.append(("identity", ident_cm, None, ev, stats))
    else:
        skipped["identity_rings"] = "no devices or identifiers shared by customers"
    clock.lap("identity_rings")
    flow_meta: dict[str, Any] = {}
    t0 = 0
    if txn_dst is not None and bool((txn_dst >= 0).any()):
        kinds, per_ring_cycles, tx, flow_meta = flow_patterns(
            graph,
            proj,
            s,
            src_codes=txn_src,
            dst_codes=txn_dst,
            single_shot=context["single_shot_account"],
            relay=context["relay_account"],
        )
        t0 = tx.t0
        parts += flow_parts(kinds, per_ring_cycles, tx, proj, s)
    else:
        skipped["flow_patterns"] = "no account-to-account transactions"
    clock.lap("flow_patterns")

    # ring density needs the relationship edges among candidate ring members only
    ring_custs = np.unique(np.concatenate([p[1]["cust"].to_numpy() for p in parts] or [[]]))
    proj.rel_edges = edges_among(gw, proj, ring_custs.astype(np.int64))
    prev_rings = previous[1]
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
    clock.lap("ring_risk")

    say("proximity (evidence graph)")
    known = context["known_fraud"]
    if known.any() and n:
        near = proximity(gw, proj, known, s, k)
    else:
        near = no_proximity(n)
        skipped["fraud_proximity"] = "no customer is flagged known_fraud"
    clock.lap("proximity")

    say("behaviour")
    beh = behaviour_job(
        graph,
        proj.account_customer,
        txn_src=txn_src,
        txn_dst=txn_dst,
        graph_features=model_graph_features(infl, comm_size, parts, n),
        known=known,
        settings=s,
        seed=seed,
    )
    if beh.meta.get("learned_notice"):
        skipped["learned_score"] = beh.meta["learned_notice"]
    clock.lap("behaviour")

    say("risk and tags")
    early = early_profiles(
        proj,
        settings=s,
        community_ids=community,
        community_sizes=comm_size,
        influence=infl,
        rings=rings,
        ring_members=ring_members,
        proximity=near,
        known=context["known_fraud"],
        embedded=embeddedness(gw, proj, infl["strength"].to_numpy(dtype="float64")),
    )
    features, tags, _reasons = customer_profiles(
        proj,
        settings=s,
        early=early,
        proximity=near,
        context=context,
        behaviour=beh,
        run_id=run_id,
        computed_at=computed_at,
    )
    heap = gw.heap()  # every projection still held: the run's peak on the server
    internal = gw.query(
        "community_edges",
        {"graph": gw.name("rel"), "types": [REL], "property": COMMUNITY},
    )
    communities = communities_table(proj, community, raw_comm, internal, features, s)
    clock.lap("risk_and_tags")

    rel_edges_total = int(infl["degree"].sum()) // 2
    meta = {
        "engine": "gds",
        "graph": gw.graph_counts(),
        "settings": s.as_dict(),
        "seed": seed,
        "customers": n,
        "relationship_edges": rel_edges_total,
        "money_edges": int(proj.money.ecount()),
        "hub_thresholds": k,
        "hubs_excluded": {
            "count": {key: int(v) for key, v in proj.hubs.groupby("layer").size().items()},
            "top": proj.hubs.head(20).to_dict(orient="records"),
        },
        "communities": {
            "count": len(np.unique(community)),
            "modularity": round(float(leiden["modularity"]), 6),
            "algorithm": "gds.leiden",
        },
        "churn": churn_summary,
        "betweenness": btw_mode,
        "rings": ring_meta,
        "flows": flow_meta,
        "fraud_evidence": near.meta,
        "behaviour": beh.meta,
        "skipped": [f"{name}: {why}" for name, why in skipped.items()],
        "seconds": clock.seconds,
        "gds": {"projections": {key: meta_p[key] for key in ("relationship", "money", "identity")}},
    }
    meta["gds"]["memory"] = {**meta_p["memory"], **heap}
    meta = json.loads(json.dumps(meta, default=_jsonable))
    return AnalysisResult(
        features=features, tags=tags, rings=rings, communities=communities, meta=meta
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
