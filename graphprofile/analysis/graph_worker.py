"""Communities and influence, the igraph-bound jobs, in a worker process beside the ring search.

igraph holds Python's global interpreter lock through every call and is not thread-safe, so
threads cannot overlap Leiden or PageRank with anything. On a machine with two or more cores,
and a graph large enough for it to pay, the analysis hands both jobs to a second process
(:func:`start`) and searches rings in its own meanwhile; neither needs the other's result
until ring risk (which reads the communities). At 1M customers the two jobs take about a
tenth of the run (``benchmarks/RESULTS.md``).

The worker gets the projection's edge arrays, rebuilds the same igraph graphs from them (same
vertices, edges in the same order, same weights) and runs the same functions with the same
seed as the analysis does in-process, so the results are identical either way
(``tests/unit/test_graph_worker.py``). If the worker process dies (killed, out of memory),
the jobs run again in this process and ``run.json`` says so.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile.analysis._util import igraph_from_edges
from graphprofile.analysis.communities import partition
from graphprofile.analysis.influence import influence
from graphprofile.analysis.projection import LAYERS, Projection
from graphprofile.analysis.settings import AnalysisSettings

#: Fewest relationship plus money-flow edges for which a worker process is started. Starting
#: one costs about a second (a fresh interpreter importing igraph and pandas, the edges
#: copied across); below this the two jobs take less than that, and run in this process.
WORKER_MIN_EDGES = 200_000


@dataclass
class GraphJobs:
    """What :func:`graph_jobs` found, and how.

    Attributes
    ----------
    membership : numpy.ndarray
        Canonical Leiden community number of each customer (:func:`~graphprofile.analysis.
        communities.partition`).
    modularity : float
        Its weighted modularity.
    influence : pandas.DataFrame
        :func:`~graphprofile.analysis.influence.influence`'s features.
    betweenness : dict
        Betweenness mode and sample size.
    run : dict
        ``where`` (``"this process"``, ``"worker process"`` or ``"this process, after
        the worker failed: ..."``), ``seconds`` of each job and the worker's
        ``peak_rss_mb``: for ``run.json``.
    """

    membership: np.ndarray
    modularity: float
    influence: pd.DataFrame
    betweenness: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)


def graph_jobs(
    relationship: ig.Graph,
    rel_edges: pd.DataFrame,
    money: ig.Graph,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    *,
    seed: int,
) -> GraphJobs:
    """Leiden communities and influence features, in this process.

    Parameters
    ----------
    relationship, rel_edges, money, account_customer
        As in :class:`~graphprofile.analysis.projection.Projection`.
    settings : AnalysisSettings
        Leiden and betweenness settings.
    seed : int
        Seed of Leiden and of the betweenness sample.

    Returns
    -------
    GraphJobs
    """
    start = time.perf_counter()
    membership, modularity = partition(relationship, rel_edges, settings, seed=seed)
    middle = time.perf_counter()
    infl, mode = influence_of(relationship, money, account_customer, settings, seed=seed)
    seconds = {
        "communities": round(middle - start, 3),
        "influence": round(time.perf_counter() - middle, 3),
    }
    return GraphJobs(membership, modularity, infl, mode, {"seconds": seconds})


def influence_of(
    relationship: ig.Graph,
    money: ig.Graph,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    *,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`~graphprofile.analysis.influence.influence` with the betweenness settings of
    ``settings``."""
    return influence(
        relationship,
        money,
        account_customer,
        exact_max=settings.betweenness_exact_max,
        samples=settings.betweenness_samples,
        budget=settings.betweenness_budget,
        seed=seed,
    )


def _in_worker(
    customers: int,
    rel_edges: pd.DataFrame,
    accounts: int,
    money_edges: pd.DataFrame,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    seed: int,
) -> GraphJobs:
    """:func:`graph_jobs` on graphs rebuilt from the projection's edge tables, as
    :func:`~graphprofile.analysis.projection.project` builds them."""
    relationship = igraph_from_edges(
        customers, rel_edges["src"].to_numpy(), rel_edges["dst"].to_numpy(), directed=False
    )
    relationship.es["weight"] = rel_edges["weight"].to_numpy().tolist()
    money = igraph_from_edges(
        accounts, money_edges["src"].to_numpy(), money_edges["dst"].to_numpy(), directed=True
    )
    money.es["weight"] = money_edges["total_amount"].to_numpy().tolist()
    out = graph_jobs(relationship, rel_edges, money, account_customer, settings, seed=seed)
    out.run["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


class Pending:
    """Graph jobs running in a worker process; :meth:`result` waits for them."""

    def __init__(self, proj: Projection, settings: AnalysisSettings, *, seed: int) -> None:
        self._args = (proj, settings, seed)
        methods = multiprocessing.get_all_start_methods()
        # a clean process, never a fork of this one (its Arrow and OpenMP threads)
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        rel_columns = ["src", "dst", "weight", *(LAYERS if settings.multiplex else ())]
        self._future = self._pool.submit(
            _in_worker,
            len(proj.customers),
            proj.rel_edges[rel_columns],
            len(proj.accounts),
            proj.money_edges[["src", "dst", "total_amount"]],
            proj.account_customer,
            settings,
            seed,
        )

    def result(self) -> GraphJobs:
        """The jobs' results; computed in this process instead if the worker died."""
        try:
            out = self._future.result()
            out.run["where"] = "worker process"
        except BrokenProcessPool as error:
            proj, settings, seed = self._args
            out = graph_jobs(
                proj.relationship,
                proj.rel_edges,
                proj.money,
                proj.account_customer,
                settings,
                seed=seed,
            )
            out.run["where"] = f"this process, after the worker failed: {error}"
        finally:
            self._pool.shutdown()
        return out


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def start(
    proj: Projection, settings: AnalysisSettings, *, seed: int, workers: int | None = None
) -> Pending | None:
    """Start the graph jobs in a worker process, where that pays.

    Parameters
    ----------
    proj : Projection
        The projections.
    settings : AnalysisSettings
        Leiden and betweenness settings.
    seed : int
        Seed of both jobs.
    workers : int, optional
        Processes the analysis may use (default: :func:`available_cores`); 1 keeps
        everything in this process.

    Returns
    -------
    Pending or None
        The running jobs, or ``None`` when they are to run in this process: one worker
        allowed, or fewer than :data:`WORKER_MIN_EDGES` edges.
    """
    workers = available_cores() if workers is None else workers
    edges = proj.relationship.ecount() + proj.money.ecount()
    if workers < 2 or edges < WORKER_MIN_EDGES:
        return None
    return Pending(proj, settings, seed=seed)
