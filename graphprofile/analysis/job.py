"""The analysis stage's orchestrator: calls each job in turn, times it and records skips.

Each job lives in its own module (see ``docs/ANALYSIS.md``); this one only decides what
runs, in which order, with which inputs. Jobs whose inputs are missing are skipped with a
one-line reason, never an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graphprofile._pages import release_freed_memory
from graphprofile.analysis import graph_worker
from graphprofile.analysis.assemble import (
    CollectedRings,
    assemble_rings,
    collect_rings,
    flow_parts,
    identity_part,
    previous_ring_keys,
)
from graphprofile.analysis.communities import (
    Communities,
    communities_from,
    community_base,
    community_table,
    embeddedness,
    partition,
)
from graphprofile.analysis.features import EarlyProfiles, customer_profiles, early_profiles
from graphprofile.analysis.flows import flow_patterns
from graphprofile.analysis.projection import Projection, project, transaction_accounts
from graphprofile.analysis.proximity import Proximity, customer_proximity, no_proximity
from graphprofile.analysis.rings import bank_context, known_fraud
from graphprofile.analysis.scores import (
    learn_behaviour,
    load_libraries,
    model_graph_features,
    unsupervised_behaviour,
)
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.frames import CanonicalGraph

#: The columns of ``CanonicalGraph.transactions`` the analysis reads (the report reads
#: none); a run without a store or extra stages keeps only these once the graph is built.
TRANSACTION_COLUMNS = ("txn_id", "from_account", "to_account", "amount", "ts")

#: The jobs :func:`analyse` announces through its ``progress`` callback, in order.
JOBS = (
    "projections",
    "communities",
    "influence",
    "rings",
    "proximity",
    "behaviour",
    "risk and tags",
)


@dataclass
class AnalysisResult:
    """Tables and run metadata produced by :func:`analyse`."""

    features: pd.DataFrame
    tags: pd.DataFrame
    rings: pd.DataFrame
    communities: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name: ``features``, ``tags``, ``rings``, ``communities``."""
        return {
            "features": self.features,
            "tags": self.tags,
            "rings": self.rings,
            "communities": self.communities,
        }


class _Log:
    """Seconds per job (time since the previous lap) and skipped jobs with their reason."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.say = progress or (lambda _msg: None)
        self.seconds: dict[str, float] = {}
        self.skipped: dict[str, str] = {}
        self._clock = time.perf_counter()

    def lap(self, job: str) -> None:
        """Add the time since the previous lap to ``job``'s seconds; the memory the job
        freed goes back to the system (:func:`~graphprofile._pages.release_freed_memory`)."""
        release_freed_memory()
        now = time.perf_counter()
        self.seconds[job] = round(self.seconds.get(job, 0.0) + now - self._clock, 3)
        self._clock = now

    def skip(self, job: str, why: str) -> None:
        self.skipped[job] = why

    def detail(self, job: str, text: str) -> None:
        """What a long job is doing now, as ``"<job>: <text>"``."""
        self.say(f"{job}: {text}")


def _has(graph: CanonicalGraph, name: str) -> bool:
    return _rows(graph, name) > 0


def _rows(graph: CanonicalGraph, name: str) -> int:
    frame = graph.edges.get(name)
    return 0 if frame is None else len(frame)


def analyse(
    graph: CanonicalGraph,
    *,
    settings: AnalysisSettings | None = None,
    previous_features: pd.DataFrame | None = None,
    previous_rings: pd.DataFrame | None = None,
    run_id: str,
    computed_at: pd.Timestamp,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    at_last_job: Callable[[], None] | None = None,
) -> AnalysisResult:
    """Run every analysis job on ``graph``.

    Parameters
    ----------
    graph : CanonicalGraph
        The canonical graph.
    settings : AnalysisSettings, optional
        Every knob; defaults when omitted.
    previous_features, previous_rings : pandas.DataFrame, optional
        A previous run's ``features`` and ``rings`` tables (see
        :func:`graphprofile.outputs.load_outputs`): community and ring ids are matched to
        them by member overlap, and churn is reported.
    run_id : str
        Identifier written into every tag row.
    computed_at : pandas.Timestamp
        Event timestamp written into features and tags.
    seed : int, default 42
        Seed of every stochastic step (Leiden, betweenness sampling).
    progress : callable, optional
        Called with the job's name (one of :data:`JOBS`) as each job starts, and within
        long jobs with ``"<job>: <what it does now>"`` (e.g. ``"rings: fan-in search
        (12 cycles, 3 scatter-gathers found)"``).
    workers : int, optional
        Processes the analysis may use. With two or more, on a large graph, communities
        and influence run in a worker process beside the ring search, proximity and the
        behaviour features (:mod:`graphprofile.analysis.graph_worker`); the results are
        the same either way. ``None``: two where this process may use two CPUs
        (:func:`~graphprofile.analysis.graph_worker.resolve_workers`).
    at_last_job : callable, optional
        Called once, with no arguments, as the last job (risk and tags) begins: from there
        on the analysis keeps one CPU busy, so the caller may start work of its own in a
        thread (``run_job`` writes the graph snapshot there). It must return at once.

    Returns
    -------
    AnalysisResult
        ``features`` (one row per customer), ``tags`` (long format), ``rings``,
        ``communities`` and ``meta`` for ``run.json``.
    """
    s = settings or AnalysisSettings()
    log = _Log(progress)
    computed_at = pd.Timestamp(computed_at)
    if computed_at.tzinfo is None:
        computed_at = computed_at.tz_localize("UTC")

    log.say("projections")
    # the graph worker's interpreter starts now, its imports beside the projections (the
    # account pairs that paid each other: about half the edges it will get)
    spare = graph_worker.prestart(2 * _rows(graph, "TRANSFER"), workers)
    proj = project(graph, settings=s)
    n = len(proj.customers)
    known = known_fraud(graph, proj)
    any_known = bool(known.any()) and n > 0
    identity = _has(graph, "USES_DEVICE") or _has(graph, "HAS_IDENTIFIER")
    # with two or more workers (the default where two CPUs are usable) and a large graph,
    # Leiden, influence and proximity run in the worker process while this one searches
    # rings and computes the behaviour features (graph_worker); otherwise here, in turn.
    # The worker starts as soon as the projection is built: the lookups below are for
    # this process's jobs only
    pending = graph_worker.start(
        proj,
        s,
        seed=seed,
        workers=workers,
        known=known if any_known else None,
        identity=identity,
        spare=spare,
    )
    # account positions of every transaction's ends: looked up once, shared by the jobs
    txn_src, txn_dst = transaction_accounts(graph, proj.accounts)
    context = bank_context(graph, proj, txn_src=txn_src, txn_dst=txn_dst, known=known)
    log.lap("projections")

    log.say("communities")
    where: dict[str, Any] = {"where": "this process"}
    if pending is None:
        membership, modularity = partition(proj.relationship, proj.rel_edges, s, seed=seed)
    log.lap("communities")
    log.say("influence")
    if pending is None:
        infl, btw_mode = graph_worker.influence_of(
            proj.relationship, proj.money, proj.account_customer, s, seed=seed
        )
    if len(proj.money_edges) == 0:
        log.skip("money_pagerank", "no transfers between accounts")
    log.lap("influence")

    log.say("rings")
    parts, t0, flow_meta = _ring_candidates(
        graph,
        proj,
        s,
        txn_src,
        txn_dst,
        log,
        single_shot=context["single_shot_account"],
        relay=context["relay_account"],
        identity=identity and pending is None,  # else the worker finds them
    )
    # what needs neither communities nor influence runs before ring risk (which reads the
    # communities), so that with the graph worker it runs while the worker does (the
    # worker computes proximity after its own jobs)
    log.say("proximity")
    near: Proximity | None = None
    if not any_known:
        near = no_proximity(n)
        log.skip("fraud_proximity", "no customer is flagged known_fraud")
    elif pending is None:
        near = customer_proximity(proj, known, settings=s)
    log.lap("proximity")

    log.say("behaviour")
    found = unsupervised_behaviour(
        graph, proj.account_customer, n, txn_src=txn_src, txn_dst=txn_dst, settings=s, seed=seed
    )
    log.lap("behaviour")
    collected: CollectedRings | None = None
    if pending is not None:
        if not pending.done():  # still running: take back its last jobs it has not begun,
            pending.share()  # and load the learned model's library meanwhile
            load_libraries()
            here = pending.taken("identity_rings")
            if not pending.done() and (here is not None or not identity):
                # every ring candidate is here: what of the rings needs no communities
                log.lap("graph_worker_wait")
                collected = collect_rings([here, *parts] if here else parts, proj, graph, context)
                log.lap("rings_collected")
        done = pending.result()
        membership, modularity, infl, btw_mode = (
            done.membership,
            done.modularity,
            done.influence,
            done.betweenness,
        )
        where = done.run
        if near is None:
            near = done.proximity
        if done.identity is not None:  # identity rings come first, as in this process
            parts.insert(0, done.identity)
        log.lap("graph_worker_wait")
    assert near is not None  # here, or from the worker
    comm = communities_from(proj, membership, modularity, s, previous_features=previous_features)
    context["community"] = comm.ids  # ring evidence: do members share a social circle?
    # the learned score is fitted in a thread while the rings are assembled here: neither
    # reads the other's result, and the boosted trees' fitting and prediction release the GIL
    with ThreadPoolExecutor(1, "graphprofile-learned") as pool:
        learning = pool.submit(
            learn_behaviour,
            found,
            graph_features=model_graph_features(infl, comm.sizes, parts, n),
            known=known,
            settings=s,
            seed=seed,
        )
        rings, ring_members, ring_meta = _assemble(
            graph, proj, s, context, parts, t0, previous_rings, log, collected
        )
        # while the model is still fitted: the anomaly in words, and what of the profiles
        # reads neither the learned score nor the risk
        found.anomaly_words()
        early, communities_base = _profiles_begun(
            proj, s, comm, infl, rings, ring_members, near, context
        )
        beh = learning.result()
    ring_meta["flows"] = flow_meta
    ring_meta["graph_jobs"] = where
    if beh.meta.get("learned_notice"):
        log.skip("learned_score", beh.meta["learned_notice"])
    log.lap("learned")

    log.say("risk and tags")
    if at_last_job is not None:  # no worker, no model: one CPU is free from here on
        at_last_job()
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
    communities = community_table(
        proj, comm.ids, features, risk_medium=s.risk_medium, base=communities_base
    )
    log.lap("risk_and_tags")

    meta = _meta(
        s,
        seed,
        proj,
        comm,
        btw_mode,
        ring_meta | {"fraud_evidence": near.meta, "behaviour": beh.meta},
        log,
    )
    return AnalysisResult(
        features=features, tags=tags, rings=rings, communities=communities, meta=meta
    )


def _ring_candidates(
    graph: CanonicalGraph,
    proj: Projection,
    s: AnalysisSettings,
    txn_src: np.ndarray | None,
    txn_dst: np.ndarray | None,
    log: _Log,
    *,
    single_shot: np.ndarray | None = None,
    relay: np.ndarray | None = None,
    identity: bool = True,
) -> tuple[list[tuple[Any, ...]], int, dict[str, Any]]:
    """Identity and money-flow ring candidates (the parts, before ring risk, that the
    learned model also counts per customer), the flows' time origin and the flow meta.
    ``identity=False``: no identity rings here (the graph worker finds them)."""
    parts = []
    if not (_has(graph, "USES_DEVICE") or _has(graph, "HAS_IDENTIFIER")):
        log.skip("identity_rings", "no devices or identifiers table")
    elif identity:
        parts.append(identity_part(proj))
    log.lap("identity_rings")
    flow_meta: dict[str, Any] = {}
    t0 = 0
    if txn_dst is not None and bool((txn_dst >= 0).any()):
        kinds, cycles, tx, flow_meta = flow_patterns(
            graph,
            proj,
            s,
            src_codes=txn_src,
            dst_codes=txn_dst,
            single_shot=single_shot,
            relay=relay,
            progress=lambda text: log.detail("rings", text),
        )
        t0 = tx.t0
        parts += flow_parts(kinds, cycles, tx, proj, s)
    else:
        log.skip("flow_patterns", "no account-to-account transactions")
    log.lap("flow_patterns")
    return parts, t0, flow_meta


def _profiles_begun(
    proj: Projection,
    s: AnalysisSettings,
    comm: Communities,
    infl: pd.DataFrame,
    rings: pd.DataFrame,
    ring_members: pd.DataFrame,
    near: Proximity,
    context: dict[str, Any],
) -> tuple[EarlyProfiles, pd.DataFrame]:
    """What of the profiles and of the communities table reads neither the learned score
    nor the risk: :func:`~graphprofile.analysis.features.early_profiles` (with each
    customer's embeddedness in its community) and
    :func:`~graphprofile.analysis.communities.community_base`."""
    edges = proj.rel_edges
    embedded = embeddedness(
        edges["src"].to_numpy(), edges["dst"].to_numpy(), edges["weight"].to_numpy(), comm.ids
    )
    early = early_profiles(
        proj,
        settings=s,
        community_ids=comm.ids,
        community_sizes=comm.sizes,
        influence=infl,
        rings=rings,
        ring_members=ring_members,
        proximity=near,
        known=context["known_fraud"],
        embedded=embedded,
    )
    return early, community_base(proj, comm.ids, early.table)


def _assemble(
    graph: CanonicalGraph,
    proj: Projection,
    s: AnalysisSettings,
    context: dict[str, Any],
    parts: list[tuple[Any, ...]],
    t0: int,
    previous_rings: pd.DataFrame | None,
    log: _Log,
    collected: CollectedRings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Ring candidates assembled, scored (ring risk) and filtered (``collected``: their
    :func:`~graphprofile.analysis.assemble.collect_rings`, when already done)."""
    prev_keys = (
        previous_ring_keys(previous_rings)
        if previous_rings is not None and len(previous_rings)
        else None
    )
    rings, members, meta = assemble_rings(
        parts,
        proj,
        graph,
        context,
        t0=t0,
        min_risk=s.ring_min_risk,
        previous=prev_keys,
        match_min_share=s.match_min_share,
        collected=collected,
    )
    log.lap("ring_risk")
    return rings, members, {"rings": meta}


def _meta(
    s: AnalysisSettings,
    seed: int,
    proj: Projection,
    comm: Communities,
    betweenness: dict[str, Any],
    ring_meta: dict[str, Any],
    log: _Log,
) -> dict[str, Any]:
    """``run.json`` ``analysis``: settings, seed, sizes, hubs, communities, rings, timings."""
    meta = {
        "settings": s.as_dict(),
        "seed": seed,
        "customers": len(proj.customers),
        "relationship_edges": len(proj.rel_edges),
        "money_edges": len(proj.money_edges),
        "hub_thresholds": proj.hub_thresholds,
        "hubs_excluded": {
            "count": {k: int(v) for k, v in proj.hubs.groupby("layer").size().items()},
            "top": proj.hubs.head(20).to_dict(orient="records"),
        },
        "communities": {
            "count": len(np.unique(comm.ids)),
            "modularity": round(comm.modularity, 6),
            "algorithm": comm.algorithm,
        },
        "churn": comm.churn,
        "betweenness": betweenness,
        **ring_meta,
        "skipped": [f"{name}: {why}" for name, why in log.skipped.items()],
        "seconds": log.seconds,
    }
    return json.loads(json.dumps(meta, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
