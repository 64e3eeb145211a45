"""Influence: PageRank, degree, strength, betweenness and k-core.

PageRank (Brin & Page 1998) runs with igraph's PRPACK solver, weighted, on the customer
relationship graph (undirected) and on the account money-flow graph (directed, weighted
by amount; an account's score is summed into its owner's). Betweenness counts
unweighted shortest paths: exact up to ``exact_max`` vertices, otherwise estimated from
``samples`` source vertices drawn with the seed and scaled by ``n / samples``
(Brandes & Pich 2007). Each sampled source costs one BFS over the whole graph, so above
a work budget (``sources x edges``) the sample shrinks, down to a floor of 8 sources;
the mode and sample size are returned for ``run.json``.

References
----------
Brin, S., & Page, L. (1998). The anatomy of a large-scale hypertextual Web search engine.
*Computer Networks and ISDN Systems*, 30(1-7), 107-117.
Brandes, U., & Pich, C. (2007). Centrality estimation in large networks. *International
Journal of Bifurcation and Chaos*, 17(7), 2303-2318.
"""

from __future__ import annotations

from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile.analysis._util import percentile_rank, single_openmp_thread


def pagerank(
    graph: ig.Graph, *, weight: str | None = "weight", damping: float = 0.85
) -> np.ndarray:
    """Weighted PageRank of every vertex (PRPACK).

    Parameters
    ----------
    graph : igraph.Graph
        Directed or undirected graph.
    weight : str or None, default "weight"
        Edge attribute holding weights.
    damping : float, default 0.85
        Damping factor.

    Returns
    -------
    numpy.ndarray
        Scores summing to 1 (empty for an empty graph).

    References
    ----------
    Brin & Page (1998), Computer Networks and ISDN Systems 30, 107-117.
    """
    if graph.vcount() == 0:
        return np.zeros(0)
    weights = weight if weight and weight in graph.es.attributes() else None
    with single_openmp_thread():  # bit-for-bit repeatable (see the helper)
        values = graph.pagerank(
            weights=weights, damping=damping, directed=graph.is_directed(), implementation="prpack"
        )
    return np.asarray(values, dtype="float64")


def betweenness(
    graph: ig.Graph,
    *,
    exact_max: int = 5_000,
    samples: int = 64,
    budget: int | None = None,
    min_samples: int = 8,
    seed: int = 42,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Unweighted betweenness, exact on small graphs and source-sampled on large ones.

    Parameters
    ----------
    graph : igraph.Graph
        Graph (direction is honoured).
    exact_max : int, default 5000
        Largest vertex count computed exactly.
    samples : int, default 64
        Number of source vertices sampled above ``exact_max``.
    budget : int, optional
        Work cap in edge visits (``sources x edges``, each source is one BFS over the
        graph): above ``exact_max`` the sample shrinks to ``budget // edges`` sources,
        but never below ``min_samples``. ``None``: no cap.
    min_samples : int, default 8
        Fewest sampled sources under the budget.
    seed : int, default 42
        Seed of the source sample (``numpy.random.default_rng``).

    Returns
    -------
    (numpy.ndarray, dict)
        Betweenness per vertex and ``{"mode": "exact"|"sampled", "samples": k}``.

    References
    ----------
    Brandes & Pich (2007), International Journal of Bifurcation and Chaos 17, 2303-2318.
    """
    n = graph.vcount()
    if n <= exact_max or samples >= n:
        values = np.asarray(graph.betweenness(directed=graph.is_directed()), dtype="float64")
        return values, {"mode": "exact", "samples": n}
    if budget is not None:
        samples = min(samples, max(min_samples, budget // max(graph.ecount(), 1)))
    rng = np.random.default_rng(seed)
    sources = np.sort(rng.choice(n, size=samples, replace=False)).tolist()
    values = np.asarray(
        graph.betweenness(directed=graph.is_directed(), sources=sources), dtype="float64"
    )
    return values * (n / samples), {"mode": "sampled", "samples": int(samples)}


def influence(
    relationship: ig.Graph,
    money: ig.Graph,
    account_customer: np.ndarray,
    *,
    exact_max: int = 5_000,
    samples: int = 64,
    budget: int | None = None,
    seed: int = 42,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Influence features of every customer (rows in relationship-graph vertex order).

    Parameters
    ----------
    relationship : igraph.Graph
        Undirected customer graph with edge attribute ``weight``.
    money : igraph.Graph
        Directed account graph with edge attribute ``weight``.
    account_customer : numpy.ndarray
        Owner position of each account (-1: unknown owner).
    exact_max, samples, budget, seed
        Betweenness settings, see :func:`betweenness`.

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``pagerank, pagerank_pct, money_pagerank, money_pagerank_pct, degree,
        strength, betweenness, core``, and the betweenness mode/sample size.
    """
    n = relationship.vcount()
    pr = pagerank(relationship)
    money_pr = np.zeros(n)
    if money.vcount():
        acc_pr = pagerank(money)
        owned = account_customer >= 0
        np.add.at(money_pr, account_customer[owned], acc_pr[owned])
    weights = "weight" if "weight" in relationship.es.attributes() else None
    btw, mode = betweenness(
        relationship, exact_max=exact_max, samples=samples, budget=budget, seed=seed
    )
    frame = pd.DataFrame(
        {
            "pagerank": pr,
            "pagerank_pct": percentile_rank(pr),
            "money_pagerank": money_pr,
            "money_pagerank_pct": percentile_rank(money_pr),
            "degree": np.asarray(relationship.degree(), dtype="int64"),
            "strength": np.asarray(relationship.strength(weights=weights), dtype="float64"),
            "betweenness": btw,
            "core": np.asarray(relationship.coreness(), dtype="int64"),
        }
    )
    return frame, mode
