"""Communities: Leiden on the customer relationship graph, stable ids and churn.

Detection uses igraph's ``Graph.community_leiden`` (Traag, Waltman & van Eck 2019) with
the modularity or CPM objective, edge weights and a seeded generator. With
``multiplex=True`` it uses ``leidenalg.find_partition_multiplex`` instead, the one
thing igraph cannot do: one partition optimised over the relationship layers as separate
graphs, each layer's quality scaled by its layer weight.

Community ids are made stable across runs by matching against a previous run's
``customer_id -> community_id`` table: a new community keeps an old id when the two are
each other's best match by member overlap and more than ``match_min_share`` of the new
community came from the old one. Unmatched communities get fresh ids above every id seen
before, in a canonical order (size descending, then smallest member).

References
----------
Traag, V. A., Waltman, L., & van Eck, N. J. (2019). From Louvain to Leiden: guaranteeing
well-connected communities. *Scientific Reports*, 9, 5233.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile._arrow import is_sorted_unique
from graphprofile.analysis._util import igraph_from_edges, igraph_seed
from graphprofile.analysis.projection import LAYERS, Projection
from graphprofile.analysis.settings import AnalysisSettings

COMMUNITY_COLUMNS = [
    "community_id", "size", "internal_flow", "external_flow", "density", "top_members",
    "risky_share",
]  # fmt: skip


def leiden(
    graph: ig.Graph,
    *,
    weight: str | None = "weight",
    objective: str = "modularity",
    resolution: float = 1.0,
    n_iterations: int = 2,
    seed: int = 42,
) -> np.ndarray:
    """Leiden membership of every vertex, canonically numbered.

    Parameters
    ----------
    graph : igraph.Graph
        Undirected graph.
    weight : str or None, default "weight"
        Edge attribute holding weights (``None``: unweighted).
    objective : {"modularity", "cpm"}, default "modularity"
        Quality function. CPM's resolution is a density threshold in weight units.
    resolution : float, default 1.0
        Resolution parameter.
    n_iterations : int, default 2
        Leiden iterations (negative: until stable).
    seed : int, default 42
        Seed of the generator igraph uses during the call.

    Returns
    -------
    numpy.ndarray
        Community number of each vertex; 0 is the largest community, ties broken by the
        smallest vertex id, so the numbering does not depend on igraph's internal labels.

    References
    ----------
    Traag, Waltman & van Eck (2019), Scientific Reports 9, 5233.
    """
    weights = weight if weight and weight in graph.es.attributes() else None
    with igraph_seed(seed):
        clustering = graph.community_leiden(
            objective_function="CPM" if objective.lower() == "cpm" else "modularity",
            weights=weights,
            resolution=resolution,
            n_iterations=n_iterations,
        )
    return canonical_labels(np.asarray(clustering.membership, dtype=np.int64))


def leiden_multiplex(
    layers: list[ig.Graph],
    *,
    layer_weights: list[float],
    n_iterations: int = 2,
    resolution: float = 1.0,
    seed: int = 42,
) -> np.ndarray:
    """Leiden on several layers at once (``leidenalg.find_partition_multiplex``).

    Parameters
    ----------
    layers : list of igraph.Graph
        Graphs on the same vertex set, each with an edge attribute ``weight``.
    layer_weights : list of float
        Multiplier of each layer's modularity.
    n_iterations : int, default 2
        Optimiser iterations.
    resolution : float, default 1.0
        Resolution of every layer's modularity.
    seed : int, default 42
        Seed passed to leidenalg.

    Returns
    -------
    numpy.ndarray
        Canonical community number of each vertex.

    References
    ----------
    Traag, Waltman & van Eck (2019), Scientific Reports 9, 5233.
    """
    import leidenalg

    membership, _ = leidenalg.find_partition_multiplex(
        layers,
        leidenalg.RBConfigurationVertexPartition,
        layer_weights=layer_weights,
        n_iterations=n_iterations,
        seed=seed,
        weights="weight",
        resolution_parameter=resolution,
    )
    return canonical_labels(np.asarray(membership, dtype=np.int64))


def canonical_labels(membership: np.ndarray) -> np.ndarray:
    """Renumber labels: largest group first, ties by smallest member position."""
    if len(membership) == 0:
        return membership.astype(np.int64)
    _, inverse, counts = np.unique(membership, return_inverse=True, return_counts=True)
    first = np.full(len(counts), len(membership), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(membership)))
    order = np.lexsort((first, -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse].astype(np.int64)


def match_ids(
    members: pd.DataFrame,
    previous: pd.DataFrame | None,
    *,
    key: str = "customer_id",
    min_share: float = 0.5,
) -> pd.Series:
    """Map local group numbers to ids that are stable across runs.

    Parameters
    ----------
    members : pandas.DataFrame
        ``group`` (local number, canonical order) and ``key`` (member id), one row per
        membership.
    previous : pandas.DataFrame or None
        ``id`` (int) and ``key`` of the previous run's memberships.
    key : str, default "customer_id"
        Member column.
    min_share : float, default 0.5
        A match needs more than this share of the new group's members in the old group.

    Returns
    -------
    pandas.Series
        Stable integer id indexed by local group number.
    """
    groups = np.sort(members["group"].unique())
    if previous is None or len(previous) == 0:
        return pd.Series(np.arange(len(groups), dtype=np.int64), index=groups, name="id")
    sizes = members.groupby("group").size()
    joined = members[["group", key]].merge(previous[["id", key]], on=key)
    overlap = joined.groupby(["group", "id"], as_index=False).size()
    # best old for each new (ties: smallest old id) and best new for each old (ties: lowest group)
    best_old = overlap.sort_values(["group", "size", "id"], ascending=[True, False, True])
    best_old = best_old.drop_duplicates("group")
    best_new = overlap.sort_values(["id", "size", "group"], ascending=[True, False, True])
    best_new = best_new.drop_duplicates("id")
    mutual = best_old.merge(best_new[["group", "id"]], on=["group", "id"])
    mutual = mutual[mutual["size"].to_numpy() > min_share * sizes.loc[mutual["group"]].to_numpy()]
    ids = pd.Series(-1, index=groups, dtype=np.int64, name="id")
    ids.loc[mutual["group"].to_numpy()] = mutual["id"].to_numpy(dtype=np.int64)
    fresh = ids.index[ids.to_numpy() < 0]
    start = int(previous["id"].max()) + 1
    ids.loc[fresh] = np.arange(start, start + len(fresh), dtype=np.int64)
    return ids


def churn(
    current: pd.DataFrame, previous: pd.DataFrame | None, *, key: str = "customer_id"
) -> dict[str, Any]:
    """Churn between two runs' memberships (``id`` and ``key`` columns each).

    Definitions: *moved* customers are in both runs with a different id; *born* ids are
    new; *dissolved* ids are gone; a new community is *merged* when it holds the largest
    share of two or more old communities; an old community is *split* when at least two
    new communities each hold 20 % or more of its members who are still present.

    Returns
    -------
    dict
        ``{"previous": bool, "moved", "born", "dissolved", "merged", "split"}`` counts.
    """
    if previous is None or len(previous) == 0:
        return {"previous": False, "moved": 0, "born": 0, "dissolved": 0, "merged": 0, "split": 0}
    joined = current[["id", key]].merge(previous[["id", key]], on=key, suffixes=("", "_old"))
    moved = int((joined["id"] != joined["id_old"]).sum())
    new_ids, old_ids = set(current["id"].unique()), set(previous["id"].unique())
    share = joined.groupby(["id_old", "id"]).size().rename("n").reset_index()
    share["frac"] = share["n"] / share.groupby("id_old")["n"].transform("sum")
    dest = share.sort_values(["id_old", "n", "id"], ascending=[True, False, True])
    dest = dest.drop_duplicates("id_old")
    merged = int((dest.groupby("id").size() >= 2).sum())
    split = int((share[share["frac"] >= 0.2].groupby("id_old").size() >= 2).sum())
    return {
        "previous": True,
        "moved": moved,
        "born": len(new_ids - old_ids),
        "dissolved": len(old_ids - new_ids),
        "merged": merged,
        "split": split,
    }


def embeddedness(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, membership: np.ndarray
) -> np.ndarray:
    """Share of each vertex's edge weight that stays inside its own community.

    The community analogue of the "embeddedness" of Granovetter (1985) and of the internal
    degree fraction used to judge community membership (Radicchi et al. 2004): 1 when every
    tie stays inside, 0 when none does; isolated vertices get 0.

    Parameters
    ----------
    src, dst : numpy.ndarray of int
        Edge ends (undirected, each edge once).
    weight : numpy.ndarray of float
        Edge weights.
    membership : numpy.ndarray of int
        Community of every vertex.

    Returns
    -------
    numpy.ndarray
        One share in [0, 1] per vertex.

    References
    ----------
    Radicchi, F., Castellano, C., Cecconi, F., Loreto, V., & Parisi, D. (2004). Defining and
    identifying communities in networks. *PNAS*, 101(9), 2658-2663.
    """
    n = len(membership)
    w = np.asarray(weight, dtype="float64")
    total = np.bincount(src, w, minlength=n) + np.bincount(dst, w, minlength=n)
    inside = membership[src] == membership[dst]
    kept = np.bincount(src[inside], w[inside], minlength=n)
    kept += np.bincount(dst[inside], w[inside], minlength=n)
    return np.divide(kept, total, out=np.zeros(n), where=total > 0)


@dataclass
class Communities:
    """One community per customer, with stable ids, and what ``run.json`` records about them.

    Attributes
    ----------
    ids : numpy.ndarray
        Community id (int64) per customer position.
    sizes : numpy.ndarray
        Size of each customer's community.
    churn : dict
        :func:`churn` against the previous run.
    modularity : float
        Modularity of the partition on the relationship graph (weighted).
    algorithm : str
        The Leiden implementation used.
    """

    ids: np.ndarray
    sizes: np.ndarray
    churn: dict[str, Any]
    modularity: float
    algorithm: str


def multiplex_layers(n: int, rel_edges: pd.DataFrame) -> list[ig.Graph]:
    """One weighted customer graph per relationship layer (:data:`LAYERS`), for multiplex
    Leiden: ``n`` customers, ``rel_edges`` as :attr:`Projection.rel_edges`."""
    layers = []
    for layer in LAYERS:
        e = rel_edges[rel_edges[layer] > 0]
        g = igraph_from_edges(n, e["src"].to_numpy(), e["dst"].to_numpy(), directed=False)
        g.es["weight"] = e[layer].to_numpy().tolist()
        layers.append(g)
    return layers


def previous_memberships(features: pd.DataFrame | None) -> pd.DataFrame | None:
    """``id, customer_id`` of a previous run's ``features`` (``None`` without communities)."""
    if features is None or not {"customer_id", "community_id"} <= set(features):
        return None
    pf = features.dropna(subset=["community_id"])
    return pd.DataFrame(
        {
            "id": pd.to_numeric(pf["community_id"]).astype("int64").to_numpy(),
            "customer_id": pf["customer_id"].astype("str").to_numpy(),
        }
    )


def partition(
    relationship: ig.Graph,
    rel_edges: pd.DataFrame,
    settings: AnalysisSettings,
    *,
    seed: int,
) -> tuple[np.ndarray, float]:
    """Leiden membership of the customers and its modularity on the relationship graph.

    Parameters
    ----------
    relationship : igraph.Graph
        The customer relationship graph (:attr:`Projection.relationship`).
    rel_edges : pandas.DataFrame
        Its edges with one weight column per layer (:attr:`Projection.rel_edges`), read
        only with ``settings.multiplex``.
    settings : AnalysisSettings
        ``multiplex``, ``objective``, ``resolution``, ``n_iterations`` and
        ``layer_weights``.
    seed : int
        Seed of Leiden.

    Returns
    -------
    (numpy.ndarray, float)
        Canonical community number of each customer (:func:`canonical_labels`), and the
        weighted modularity of that partition (0 without edges).
    """
    s = settings
    if s.multiplex:
        membership = leiden_multiplex(
            multiplex_layers(relationship.vcount(), rel_edges),
            layer_weights=[s.layer_weights[layer] for layer in LAYERS],
            n_iterations=s.n_iterations,
            resolution=s.resolution,
            seed=seed,
        )
    else:
        membership = leiden(
            relationship,
            objective=s.objective,
            resolution=s.resolution,
            n_iterations=s.n_iterations,
            seed=seed,
        )
    modularity = (
        float(relationship.modularity(membership.tolist(), weights="weight"))
        if relationship.ecount()
        else 0.0
    )
    return membership, modularity


def communities_from(
    proj: Projection,
    membership: np.ndarray,
    modularity: float,
    settings: AnalysisSettings,
    *,
    previous_features: pd.DataFrame | None = None,
) -> Communities:
    """Communities of a :func:`partition`, with ids kept from a previous run.

    Parameters
    ----------
    proj : Projection
        The projection the partition was found on (its customer ids).
    membership, modularity
        :func:`partition`'s result.
    settings : AnalysisSettings
        ``match_min_share`` and ``multiplex`` (the algorithm's name).
    previous_features : pandas.DataFrame, optional
        A previous run's ``features``: its community ids are kept (:func:`match_ids`).

    Returns
    -------
    Communities
    """
    s = settings
    n = len(proj.customers)
    cust_ids = proj.customers.to_numpy()
    previous = previous_memberships(previous_features)
    members = pd.DataFrame({"group": membership, "customer_id": cust_ids})
    comm_ids = match_ids(members, previous, min_share=s.match_min_share)
    community = comm_ids.loc[membership].to_numpy() if n else np.zeros(0, dtype=np.int64)
    sizes = pd.Series(community).map(pd.Series(community).value_counts()).to_numpy()
    return Communities(
        ids=community,
        sizes=sizes,
        churn=churn(pd.DataFrame({"id": community, "customer_id": cust_ids}), previous),
        modularity=modularity,
        algorithm="leidenalg.find_partition_multiplex"
        if s.multiplex
        else "igraph.community_leiden",
    )


def detect_communities(
    proj: Projection,
    settings: AnalysisSettings,
    *,
    seed: int,
    previous_features: pd.DataFrame | None = None,
) -> Communities:
    """Leiden communities of the customers, with ids kept from a previous run:
    :func:`partition` then :func:`communities_from`.

    Parameters
    ----------
    proj : Projection
        The customer relationship graph (and its layers).
    settings : AnalysisSettings
        See :func:`partition` and :func:`communities_from`.
    seed : int
        Seed of Leiden.
    previous_features : pandas.DataFrame, optional
        A previous run's ``features``: its community ids are kept (:func:`match_ids`).

    Returns
    -------
    Communities
    """
    membership, modularity = partition(proj.relationship, proj.rel_edges, settings, seed=seed)
    return communities_from(
        proj, membership, modularity, settings, previous_features=previous_features
    )


def community_table(
    proj: Projection,
    community: np.ndarray,
    features: pd.DataFrame,
    *,
    risk_medium: float,
    base: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``communities`` table: size, money flows, density, top members, risky share.

    Parameters
    ----------
    proj : Projection
        Projections (money edges, relationship edges, account owners).
    community : numpy.ndarray
        Community id per customer position.
    features : pandas.DataFrame
        ``customer_id``, ``community_id``, ``pagerank`` and ``risk_score`` per customer.
    risk_medium : float
        Risk score from which a customer counts as risky.
    base : pandas.DataFrame, optional
        :func:`community_base` of these projections, communities and features, when made
        already (before the risk was known).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMMUNITY_COLUMNS`, one row per community, by id.
    """
    if len(community) == 0:
        return pd.DataFrame({c: [] for c in COMMUNITY_COLUMNS})
    out = community_base(proj, community, features) if base is None else base.copy()
    risky = features["risk_score"].to_numpy() >= risk_medium
    out["risky_share"] = pd.Series(risky).groupby(community).mean()
    out = out.reset_index()
    out["community_id"] = out["community_id"].astype("int64")
    out["size"] = out["size"].astype("int64")
    return out[COMMUNITY_COLUMNS].sort_values("community_id", ignore_index=True)


def community_base(proj: Projection, community: np.ndarray, features: pd.DataFrame) -> pd.DataFrame:
    """:func:`community_table` but ``risky_share``, indexed by community id: everything
    that reads no risk (``features``: ``customer_id``, ``community_id`` and ``pagerank``
    per customer), so that the analysis makes it while the learned score is fitted."""
    cids = np.unique(community)
    out = pd.DataFrame(index=pd.Index(cids, name="community_id"))
    out["size"] = pd.Series(community).value_counts()
    me = proj.money_edges
    a, b = proj.money_customers()
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
    members = features[["customer_id", "community_id", "pagerank"]]
    if is_sorted_unique(members["customer_id"]):
        # rows in id order (the projection's): a row's place stands for its id, so a
        # stable sort of numbers gives the same order as sorting the ids' text too
        by_rank = np.lexsort(
            (
                -members["pagerank"].to_numpy(dtype="float64", na_value=np.nan),
                members["community_id"].to_numpy(dtype="float64", na_value=np.nan),
            )
        )
        ranked = members.take(by_rank)
    else:
        ranked = members.sort_values(
            ["community_id", "pagerank", "customer_id"], ascending=[True, False, True]
        )
    top = ranked.groupby("community_id").head(5)
    out["top_members"] = top.groupby("community_id")["customer_id"].agg(list)
    return out
