"""Known answers: karate-club communities, PageRank and betweenness against networkx."""

from __future__ import annotations

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphprofile.analysis.communities import canonical_labels, churn, leiden, match_ids
from graphprofile.analysis.influence import betweenness, pagerank
from graphprofile.analysis.proximity import fraud_proximity


def test_karate_club_modularity_and_split():
    g = ig.Graph.Famous("Zachary")
    membership = leiden(g, weight=None, n_iterations=-1, seed=42)
    q = g.modularity(membership.tolist())
    assert q == pytest.approx(0.4198, abs=0.005)  # the known optimum is 0.4198
    assert len(set(membership)) == 4
    # the instructor (0) and the administrator (33) end up apart
    assert membership[0] != membership[33]


def test_leiden_is_seeded_and_restores_the_global_generator():
    import random

    g = ig.Graph.Famous("Zachary")
    state = random.getstate()
    a = leiden(g, weight=None, seed=7)
    b = leiden(g, weight=None, seed=7)
    np.testing.assert_array_equal(a, b)
    assert random.getstate() == state


def test_cpm_objective_at_high_resolution_gives_singletons():
    g = ig.Graph.Famous("Zachary")
    membership = leiden(g, weight=None, objective="cpm", resolution=1.0, seed=1)
    assert len(set(membership)) == g.vcount()


def test_pagerank_matches_networkx_weighted_directed_and_undirected():
    rng = np.random.default_rng(3)
    edges = rng.integers(0, 30, size=(120, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    weights = rng.uniform(0.5, 5.0, len(edges))
    for directed in (True, False):
        g = ig.Graph(n=30, edges=edges.tolist(), directed=directed)
        g.es["weight"] = weights.tolist()
        g.simplify(combine_edges="sum")
        nxg = nx.DiGraph() if directed else nx.Graph()
        nxg.add_nodes_from(range(30))
        for e in g.es:
            nxg.add_edge(*e.tuple, weight=e["weight"])
        ours = pagerank(g)
        theirs = nx.pagerank(nxg, alpha=0.85, weight="weight", tol=1e-12, max_iter=1000)
        np.testing.assert_allclose(ours, [theirs[i] for i in range(30)], atol=1e-6)


def test_betweenness_exact_matches_networkx_and_sampled_is_seeded():
    g = ig.Graph.Famous("Zachary")
    exact, mode = betweenness(g, exact_max=100)
    theirs = nx.betweenness_centrality(nx.karate_club_graph(), normalized=False)
    np.testing.assert_allclose(exact, [theirs[i] for i in range(34)], atol=1e-9)
    assert mode == {"mode": "exact", "samples": 34}
    a, mode = betweenness(g, exact_max=10, samples=20, seed=5)
    b, _ = betweenness(g, exact_max=10, samples=20, seed=5)
    assert mode == {"mode": "sampled", "samples": 20}
    np.testing.assert_array_equal(a, b)
    assert np.argmax(a) in (0, 33)  # the two leaders stay the top brokers


def test_canonical_labels_order_by_size_then_first_member():
    np.testing.assert_array_equal(
        canonical_labels(np.array([5, 5, 9, 9, 9, 2])), np.array([1, 1, 0, 0, 0, 2])
    )


def _members(groups):
    return pd.DataFrame(
        {"group": [g for g, ms in enumerate(groups) for _ in ms],
         "customer_id": [m for ms in groups for m in ms]}
    )  # fmt: skip


def test_stable_ids_keep_unchanged_groups_and_move_only_changed_customers():
    old_groups = [[f"a{i}" for i in range(10)], [f"b{i}" for i in range(8)], ["c0", "c1"]]
    old = _members(old_groups).rename(columns={"group": "id"})
    old["id"] += 100
    # three customers move from a to b; c dissolves; d is born
    new_groups = [
        [f"a{i}" for i in range(7)],
        [f"b{i}" for i in range(8)] + ["a7", "a8", "a9"],
        ["d0", "d1", "d2"],
    ]
    members = _members(new_groups)
    ids = match_ids(members, old)
    assert ids.tolist() == [100, 101, 103]  # kept, kept, fresh above every old id
    current = members.assign(id=ids.loc[members["group"]].to_numpy())
    c = churn(current, old)
    assert c == {"previous": True, "moved": 3, "born": 1, "dissolved": 1, "merged": 0, "split": 1}


def test_split_keeps_the_id_for_the_larger_part():
    old = _members([[f"a{i}" for i in range(10)]]).rename(columns={"group": "id"})
    ids = match_ids(_members([[f"a{i}" for i in range(7)], ["a7", "a8", "a9"]]), old)
    assert ids.tolist() == [0, 1]


def test_fraud_proximity_hops_and_ppr():
    g = ig.Graph(n=5, edges=[(0, 1), (1, 2), (2, 3)])  # 4 is isolated
    known = np.array([True, False, False, False, False])
    px = fraud_proximity(g, known, weight=None)
    assert px["fraud_hops"].tolist()[:4] == [0, 1, 2, 3]
    assert pd.isna(px["fraud_hops"].iloc[4])
    assert px["fraud_proximity"].iloc[1] == 1.0
    assert px["fraud_proximity"].iloc[4] == 0.0
