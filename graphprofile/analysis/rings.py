"""Shared-identifier rings and the features every ring carries, whatever its kind.

A **shared-identifier ring** is a connected component, of size two or more, of the
bipartite graph customers -- (devices and identifiers shared by at least two customers
and by no more than the hub threshold ``K``). Components come from igraph's
``connected_components`` on that bipartite graph: no pair enumeration is needed.

:func:`ring_base_features` and :func:`ring_community_features` compute, for rings of any
kind given as member tables, the size,
account counts, money flowing inside the ring vs. in/out of it, relationship density,
account ages (days before the first transaction of the data), the share of members
known as fraud, the share who cash out to exchange-like counterparties and their
activity (transactions per member, relative to the bank's median).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphprofile._arrow import codes
from graphprofile.analysis._util import components, dedicated_accounts, distinct_sorted
from graphprofile.analysis.projection import Projection
from graphprofile.frames import CanonicalGraph

#: Counterparty kinds treated as cash-out channels (case-insensitive substring match).
CASH_OUT_KINDS = ("exchange", "crypto", "remittance", "money_transfer", "cash")
#: Accounts opened less than this many days before the data starts count as young.
YOUNG_DAYS = 180.0


def identity_rings(proj: Projection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Connected components of customers linked by shared non-hub devices/identifiers.

    Parameters
    ----------
    proj : Projection
        The projections (``links`` holds the non-hub shared items).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Members ``ring`` (local number), ``cust``; and shared items ``ring``, ``item_id``,
        ``layer``, ``kind``, ``n_customers`` (items used by two or more members).
    """
    links = proj.links[proj.links["layer"].isin(["devices", "identifiers"])]
    if len(links) == 0:
        empty = pd.DataFrame({"ring": [], "cust": []}).astype("int64")
        return empty, pd.DataFrame(
            {"ring": [], "item_id": [], "layer": [], "kind": [], "n_customers": []}
        )
    items = pd.Index(np.sort(links["item_id"].unique()))
    n_c = len(proj.customers)
    item_pos = n_c + pd.Categorical(links["item_id"], categories=items).codes.astype(np.int64)
    comp = components(n_c + len(items), links["cust"].to_numpy(), item_pos)
    cust_comp = comp[:n_c]
    # sort-based: NumPy 2.4's np.unique hashes, ~0.4 s against ~0.02 s at 1M customers
    linked = distinct_sorted(links["cust"].to_numpy(dtype=np.int64))[0]
    members = pd.DataFrame({"comp": cust_comp[linked], "cust": linked})
    sizes = members.groupby("comp")["cust"].transform("size")
    members = members[sizes >= 2]
    # canonical ring numbers: by smallest member position
    first = members.groupby("comp")["cust"].min().sort_values()
    ring_no = pd.Series(np.arange(len(first)), index=first.index)
    members = pd.DataFrame(
        {"ring": ring_no.loc[members["comp"]].to_numpy(), "cust": members["cust"].to_numpy()}
    ).sort_values(["ring", "cust"], ignore_index=True)
    shared = links.assign(comp=cust_comp[links["cust"].to_numpy()])
    shared = shared[shared["comp"].isin(ring_no.index)]
    shared = shared.assign(ring=ring_no.loc[shared["comp"]].to_numpy())
    shared = (
        shared.groupby(["ring", "item_id", "layer", "kind"], as_index=False)
        .agg(n_customers=("cust", "size"))
        .sort_values(["ring", "layer", "item_id"], ignore_index=True)
    )
    return members, shared


def _ring_accounts_of_customers(members: pd.DataFrame, proj: Projection) -> pd.DataFrame:
    """Every account owned by a ring member: ``ring, acc``."""
    acc = np.flatnonzero(proj.account_customer >= 0)
    owner = pd.DataFrame({"cust": proj.account_customer[acc], "acc": acc})
    return members.merge(owner, on="cust")[["ring", "acc"]]


def ring_base_features(
    cust_members: pd.DataFrame,
    acc_members: pd.DataFrame | None,
    proj: Projection,
    graph: CanonicalGraph,
    *,
    context: dict[str, object],
) -> RingBase:
    """Features of rings given their members (one row per ring, indexed by ``ring``), but
    those that read the communities (``cohesion`` and ``community_strength``, added by
    :func:`ring_community_features`), with what those need that the communities do not
    change.

    Everything here can be computed while the communities are still being found (the
    analysis does so while it waits for its graph worker, #16).

    Parameters
    ----------
    cust_members : pandas.DataFrame
        ``ring, cust`` memberships.
    acc_members : pandas.DataFrame or None
        ``ring, acc`` memberships; ``None``: every account of the member customers.
    proj : Projection
        Projections and lookups.
    graph : CanonicalGraph
        For account opening dates and known-fraud flags.
    context : dict
        Bank-wide lookups from :func:`bank_context`.

    Returns
    -------
    RingBase
        ``features``: ``size, n_accounts, internal_flow, external_flow, density,
        account_age_days, young_account_share, young_share, known_fraud_share,
        cash_out_share, activity_ratio`` and the rest.
    """
    if acc_members is None:
        acc_members = _ring_accounts_of_customers(cust_members, proj)
    rings = np.sort(cust_members["ring"].unique())
    out = pd.DataFrame(index=pd.Index(rings, name="ring"))
    out["size"] = cust_members.groupby("ring").size()
    out["n_accounts"] = acc_members.groupby("ring").size()
    out["n_accounts"] = out["n_accounts"].fillna(0).astype("int64")

    me = proj.money_edges
    n_a = len(proj.accounts)
    acc, ring = acc_members["acc"].to_numpy(dtype=np.int64), acc_members["ring"].to_numpy()
    # the money edges paid by a member account, once per ring of the payer, and those of
    # them paid to an account of the same ring: the rows (in their order) of inner joins
    # of the edges with the members on the payer, then on the payee (the same sums to
    # the bit), found by counting instead of hashing every edge
    sent_edge, sent_ring = _member_rows(me["src"].to_numpy(dtype=np.int64), acc, ring, n_a)
    row, row_ring = _member_rows(me["dst"].to_numpy(dtype=np.int64)[sent_edge], acc, ring, n_a)
    own = row_ring == sent_ring[row]
    inside = me.take(sent_edge[row[own]]).reset_index(drop=True).assign(ring=row_ring[own])
    del row, row_ring, own
    out["internal_flow"] = inside.groupby("ring")["total_amount"].sum()
    # how large the ring's own transfers are against what its members usually pay, and
    # how many of its account pairs moved money only once
    n_inside = inside.groupby("ring")["n_txns"].sum()
    out["magnitude_ratio"] = (out["internal_flow"] / n_inside) / _usual_amount(
        cust_members, inside, proj, context
    )
    out["one_off_share"] = (inside["n_txns"] == 1).groupby(inside["ring"]).mean()
    # accounts whose whole activity in the data is one transaction (a collector's funnel)
    # or one receipt and one payment (a chain's relays)
    for mark, column in (
        ("single_shot_account", "single_shot_share"),
        ("relay_account", "relay_share"),
    ):
        out[column] = pd.Series(context[mark][acc], dtype="float64").groupby(ring).mean()
    # money into member accounts, per ring: the rows an inner join of the edges with the
    # members on the payee gives, in its order (the same sums to the bit)
    edge, edge_ring = _member_rows(me["dst"].to_numpy(dtype=np.int64), acc, ring, n_a)
    received = pd.Series(me["total_amount"].to_numpy()[edge]).groupby(edge_ring).sum()
    sent = pd.Series(me["total_amount"].to_numpy()[sent_edge]).groupby(sent_ring).sum()
    del edge, edge_ring, sent_edge, sent_ring
    total_touching = sent.add(received, fill_value=0.0)
    out["external_flow"] = total_touching.sub(2 * out["internal_flow"].fillna(0.0), fill_value=0)
    out[["internal_flow", "external_flow"]] = out[["internal_flow", "external_flow"]].fillna(0.0)

    # relationship edges between two members of one ring, counted per ring
    n_c = len(proj.customers)
    c_ring = cust_members["ring"].to_numpy(dtype=np.int64)
    c_cust = cust_members["cust"].to_numpy(dtype=np.int64)
    edge, edge_ring = _member_rows(
        proj.rel_edges["src"].to_numpy(dtype=np.int64), c_cust, c_ring, n_c
    )
    other = proj.rel_edges["dst"].to_numpy(dtype=np.int64)[edge]
    other += edge_ring * n_c
    inside_ring = _sorted_match(np.sort(c_ring * n_c + c_cust), other)[1]
    n_in = pd.Series(edge_ring[inside_ring]).value_counts()
    del edge, edge_ring, other, inside_ring
    pairs = out["size"] * (out["size"] - 1) / 2
    out["density"] = (n_in.reindex(out.index).fillna(0) / pairs.where(pairs > 0)).fillna(0.0)

    age = context["account_age_days"]
    ages = pd.Series(age[acc_members["acc"].to_numpy()], index=acc_members["ring"].to_numpy())
    out["account_age_days"] = ages.groupby(level=0).mean()
    out["young_account_share"] = (ages < YOUNG_DAYS).groupby(level=0).mean()
    young = pd.Series(
        context["young_customer"][cust_members["cust"].to_numpy()],
        index=cust_members["ring"].to_numpy(),
    )
    out["young_share"] = young.groupby(level=0).mean()
    for col, key in (
        ("known_fraud_share", "known_fraud"),
        ("cash_out_share", "cash_out"),
    ):
        vals = pd.Series(
            context[key][cust_members["cust"].to_numpy()].astype("float64"),
            index=cust_members["ring"].to_numpy(),
        )
        out[col] = vals.groupby(level=0).mean()
    act = pd.Series(
        context["activity"][cust_members["cust"].to_numpy()],
        index=cust_members["ring"].to_numpy(),
    )
    med = float(context["activity_median"]) or 1.0
    out["activity_ratio"] = act.groupby(level=0).mean() / med
    return RingBase(out, _cohesion_base(cust_members, inside, proj))


@dataclass
class RingBase:
    """:func:`ring_base_features`: the features that do not read the communities, and
    the community-free part of ``cohesion`` (:func:`_cohesion_base`)."""

    features: pd.DataFrame
    cohesion: CohesionBase | None


def ring_community_features(
    base: RingBase, proj: Projection, community: np.ndarray | None
) -> pd.DataFrame:
    """The ring features from :func:`ring_base_features` and the communities (community id
    per customer position; ``None``: no cohesion): ``base.features`` with ``cohesion`` and
    ``community_strength`` added (a new frame)."""
    out = base.features.copy()
    out["cohesion"] = _cohesion(base.cohesion, community)
    out["community_strength"] = community_strength(proj, community)
    return out


def _member_rows(
    end: np.ndarray, member: np.ndarray, member_ring: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each edge whose ``end`` (positions ``0 .. n-1``) is a member, once per ring of that
    member: ``(edge, ring)``, edges in their order and each edge's rings in the members'
    order -- the rows of an inner join of the edges with ``(member, member_ring)`` on the
    end, in the join's order, by counting instead of hashing every edge. (Any values
    serve as ``member_ring``: :func:`_circle_links` joins member rows with their partners.)"""
    by_member = np.argsort(member, kind="stable")
    count = np.bincount(member, minlength=n)
    start = np.cumsum(count) - count
    k = count[end]
    edge = np.repeat(np.arange(len(end), dtype=np.int64), k)
    at = np.repeat(start[end] - (np.cumsum(k) - k), k)
    at += np.arange(len(edge), dtype=np.int64)
    return edge, member_ring[by_member[at]]


def _member_mask(members: pd.Series, n: int) -> np.ndarray:
    """Per position ``0 .. n-1``: is it one of ``members``."""
    member = np.zeros(n, dtype=bool)
    member[members.to_numpy(dtype=np.int64)] = True
    return member


def community_strength(proj: Projection, community: np.ndarray | None) -> float:
    """How much this bank's money stays inside communities, beyond chance, in [0, 1].

    ``(W - E) / (1 - E)``: ``W`` is the share of the money-flow customer pairs whose two
    customers are in one community, ``E`` the share expected by chance (the sum of the
    squared community shares). Near 1 where people pay within their social circles;
    near 0 where money flows at random (then being strangers says nothing). ``NaN``
    without communities.
    """
    if community is None or len(community) == 0:
        return float("nan")
    a, b = proj.money_customers()
    ok = (a >= 0) & (b >= 0) & (a != b)
    if not ok.any():
        return float("nan")
    within = float((community[a[ok]] == community[b[ok]]).mean())
    share = np.bincount(community) / len(community)
    chance = float((share**2).sum())
    return float(np.clip((within - chance) / (1.0 - chance), 0.0, 1.0)) if chance < 1 else 0.0


@dataclass
class CohesionBase:
    """What ``cohesion`` needs that the communities do not change (:func:`_cohesion_base`):
    the rings' own transfers between two customers (``ring, a, b``), whether each is
    answered by money the other way, and the members' partners outside their ring
    (:func:`_circle_links`)."""

    members: pd.DataFrame
    pairs: pd.DataFrame
    back: np.ndarray
    links: tuple[np.ndarray, np.ndarray]
    n_c: int


def _cohesion_base(
    cust_members: pd.DataFrame, inside: pd.DataFrame, proj: Projection
) -> CohesionBase | None:
    """The community-free part of :func:`_cohesion` (``None``: no ring transfers)."""
    if len(inside) == 0:
        return None
    a = proj.account_customer[inside["src"].to_numpy()]
    b = proj.account_customer[inside["dst"].to_numpy()]
    pairs = pd.DataFrame({"ring": inside["ring"].to_numpy(), "a": a, "b": b})
    pairs = pairs[(pairs["a"] >= 0) & (pairs["b"] >= 0) & (pairs["a"] != pairs["b"])]
    # people who pay each other both ways know each other, whatever their circles
    n_c = len(proj.customers)
    ea, eb = proj.money_customers()
    pa, pb = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    # only money edges from a ring pair's payee to its payer can answer: look among those
    payee, payer = np.zeros(n_c, dtype=bool), np.zeros(n_c, dtype=bool)
    payee[pb], payer[pa] = True, True
    ok = (ea >= 0) & (eb >= 0)
    ok[ok] = payee[ea[ok]] & payer[eb[ok]]
    back = np.isin(pb * n_c + pa, ea[ok] * n_c + eb[ok])
    return CohesionBase(cust_members, pairs, back, _circle_links(cust_members, proj), n_c)


def _cohesion(base: CohesionBase | None, community: np.ndarray | None) -> pd.Series:
    """Share of a ring's own transfers (account pairs) between people of one social circle.

    Groups of people who know each other -- friends settling a bill, a club, housemates
    -- share a social circle: their ring-shaped payments run between circle mates.
    Laundering recruits accounts that have nothing else to do with each other. Two
    members are of one circle when they also pay each other the other way, or when their
    circles match. A member's
    *circle* is the community most of its payment partners are in, leaving out the ring's
    other members (the ring's own transfers can pull its members into
    one community of their own). A member with no partner outside the ring -- an account
    kept for the pattern alone -- is a stranger to all. Transfers
    between one customer's own accounts are left out. The share is taken beyond chance:
    ``(same - expected) / (1 - expected)`` clipped to [0, 1], where ``expected`` is the
    mean share of customers in the first member's circle (members drawn at random from a
    bank with a few huge communities meet there by chance). ``NaN`` without communities
    or such transfers.
    """
    if community is None or base is None:
        return pd.Series(dtype="float64")
    circle = _circles_of(base.members, base.links, community)
    pairs, n_c = base.pairs, base.n_c
    # each end's circle in its ring (-1: none), looked up by one integer key
    known = _ring_keys(circle["ring"], circle["cust"], n_c)
    order = np.argsort(known, kind="stable")
    known, circles = known[order], circle["circle"].to_numpy(dtype=np.int64)[order]
    ring = pairs["ring"].to_numpy(dtype=np.int64)
    circ_a = _circle_of(known, circles, ring * n_c + pairs["a"].to_numpy(dtype=np.int64))
    circ_b = _circle_of(known, circles, ring * n_c + pairs["b"].to_numpy(dtype=np.int64))
    same = (circ_a == circ_b) & (circ_a >= 0)
    same |= base.back
    # chance that a random customer shares a's circle: big communities meet by chance
    sizes = np.bincount(community, minlength=int(community.max()) + 1) / len(community)
    chance = np.where(circ_a >= 0, sizes[np.maximum(circ_a, 0).astype(np.int64)], 0.0)
    per_ring = (
        pd.DataFrame(
            {"same": same.astype("float64"), "chance": chance}, index=pairs["ring"].to_numpy()
        )
        .groupby(level=0)
        .mean()
    )
    excess = (per_ring["same"] - per_ring["chance"]) / (1.0 - per_ring["chance"])
    return excess.clip(0.0, 1.0)


def _ring_keys(ring: pd.Series, cust: pd.Series, n_c: int) -> np.ndarray:
    """One integer per (ring, customer position): ``ring * n_c + cust``."""
    return ring.to_numpy(dtype=np.int64) * n_c + cust.to_numpy(dtype=np.int64)


def _circle_of(known: np.ndarray, circles: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The circle of each of ``keys`` among the sorted ``known`` keys; -1 where absent."""
    if len(known) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    pos, found = _sorted_match(known, keys)
    return np.where(found, circles[pos], -1)


def _sorted_match(known: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``keys`` is among the sorted ``known`` keys, and whether it is there."""
    if len(known) == 0:
        return np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    return pos, known[pos] == keys


def _circle_links(cust_members: pd.DataFrame, proj: Projection) -> tuple[np.ndarray, np.ndarray]:
    """Every (member row, partner) tie of :func:`_circles_of`, before any community is read:
    each money edge between the member and a customer not in the member's ring, once."""
    n_c = len(proj.customers)
    a, b = proj.money_customers()
    ok = (a >= 0) & (b >= 0) & (a != b)
    # only the ring members' own partners can matter: the money edges with a member at
    # either end
    member = _member_mask(cust_members["cust"], n_c)
    a_side, b_side = ok.copy(), ok.copy()
    a_side[ok], b_side[ok] = member[a[ok]], member[b[ok]]
    cust = np.concatenate([a[a_side], b[b_side]])
    other = np.concatenate([b[a_side], a[b_side]])
    # sorted by customer first (any order of each one's partners: only counts matter),
    # so that the stable sort in _member_rows finds them in order already
    order = np.argsort(cust)
    cust, other = cust[order], other[order]
    # every (member row, partner) link: each money edge is one tie, whatever its payments
    mc = cust_members["cust"].to_numpy(dtype=np.int64)
    ring = cust_members["ring"].to_numpy(dtype=np.int64)
    row, partner = _member_rows(mc, cust, other, n_c)
    # leaving out the ring's other members (only a partner that is a member of some ring
    # can be one)
    mates = np.sort(ring * n_c + mc)  # repeats, if any, change no match below
    maybe = np.flatnonzero(member[partner])
    keys = ring[row[maybe]]
    keys *= n_c
    keys += partner[maybe]
    keep = np.ones(len(row), dtype=bool)
    keep[maybe] = ~_sorted_match(mates, keys)[1]
    return row[keep], partner[keep]


def _circles_of(
    cust_members: pd.DataFrame, links: tuple[np.ndarray, np.ndarray], community: np.ndarray
) -> pd.DataFrame:
    """``ring, cust, circle``: each member's community by its payments outside the ring,
    from the ties :func:`_circle_links` found (``links``).

    The community most of its payment partners (accounts it paid or was paid by, each
    counted once) are in, leaving out the ring's other members; ``-1`` (a stranger to
    all) when it has no other partner. Of equally many, the lowest community id.

    One row per row of ``cust_members``, in its order. Sorted integer keys in place of
    pandas merges and a groupby (the same answer: ``tests/unit/test_analysis_rings.py``; the
    merges took 8.7 s at 3M customers).
    """
    row, partner = links
    mc = cust_members["cust"].to_numpy(dtype=np.int64)
    out = np.full(len(mc), -1, dtype=np.int64)
    if len(row):
        circle = community[partner].astype(np.int64)
        n_k = int(circle.max()) + 1
        # (row, community) counts, by row then community id
        found, weight = np.unique(row * n_k + circle, return_counts=True)
        r = found // n_k
        # per member row: the most partners, then the lowest community id (the first of
        # the row's largest counts)
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        most = np.repeat(np.maximum.reduceat(weight, starts), np.diff(np.r_[starts, len(r)]))
        best = np.flatnonzero(weight == most)
        first = best[np.r_[True, r[best[1:]] != r[best[:-1]]]]
        out[r[first]] = found[first] % n_k
    return cust_members[["ring", "cust"]].reset_index(drop=True).assign(circle=out)


def _usual_amount(
    cust_members: pd.DataFrame, inside: pd.DataFrame, proj: Projection, context: dict
) -> pd.Series:
    """Median, over a ring's members, of each member's typical payment outside the ring.

    A member's typical payment is the geometric mean of what it sends, leaving out the
    ring's own transfers (each internal pair counted at its mean amount). A member that
    pays nothing else -- an account that exists for the pattern alone -- counts as 0, so
    a ring mostly made of such members gets an infinite ``magnitude_ratio``.
    """
    own = pd.DataFrame(
        {
            "ring": inside["ring"].to_numpy(),
            "cust": proj.account_customer[inside["src"].to_numpy()],
            "n": inside["n_txns"].to_numpy(dtype="float64"),
            "logs": inside["n_txns"].to_numpy()
            * np.log(inside["total_amount"].to_numpy() / inside["n_txns"].to_numpy()),
        }
    )
    own = own.groupby(["ring", "cust"], as_index=False)[["n", "logs"]].sum()
    m = cust_members[["ring", "cust"]].merge(own, on=["ring", "cust"], how="left").fillna(0.0)
    c = m["cust"].to_numpy(dtype=np.int64)
    n_rest = context["activity"][c] - m["n"].to_numpy()
    logs_rest = context["log_amount_sum"][c] - m["logs"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        usual = np.where(n_rest > 0.5, np.exp(logs_rest / np.maximum(n_rest, 1.0)), 0.0)
    return pd.Series(usual, index=m["ring"].to_numpy()).groupby(level=0).median()


def known_fraud(graph: CanonicalGraph, proj: Projection) -> np.ndarray:
    """Per customer position: is it flagged ``known_fraud`` (``False`` where unknown)."""
    known = np.zeros(len(proj.customers), dtype=bool)
    cust_nodes = graph.nodes.get("customer")
    if cust_nodes is not None and "known_fraud" in cust_nodes:
        pos = codes(cust_nodes["customer_id"], proj.customers)
        kf = cust_nodes["known_fraud"].fillna(False).to_numpy(dtype=bool)
        known[pos[(pos >= 0) & kf]] = True
    return known


def bank_context(
    graph: CanonicalGraph,
    proj: Projection,
    *,
    young_days: float = YOUNG_DAYS,
    txn_src: np.ndarray | None = None,
    txn_dst: np.ndarray | None = None,
    known: np.ndarray | None = None,
) -> dict:
    """Per-customer and per-account lookups used by ring features and risk.

    ``account_age_days``: days between an account's opening and the first transaction of
    the data (negative: opened during the observed window; NaN: unknown).
    ``young_customer``: every account of the customer is younger than ``young_days``.
    ``cash_out``: the customer pays a counterparty whose kind names a cash-out channel.
    ``activity``: transactions sent per customer.
    ``log_amount_sum``: sum of the logs of the amounts each customer sends.
    ``single_shot_account`` / ``relay_account``: per account, is its whole activity in the
    data one transaction / one receipt and one payment
    (:func:`~graphprofile.analysis._util.dedicated_accounts`).
    ``txn_src`` / ``txn_dst``: account position of every transaction's sender / receiving
    account, when already computed; ``known``: :func:`known_fraud`, likewise.
    """
    n_c, n_a = len(proj.customers), len(proj.accounts)
    txns = graph.transactions
    start = txns["ts"].min() if len(txns) else pd.NaT
    age = np.full(n_a, np.nan)
    acc_nodes = graph.nodes.get("account")
    if acc_nodes is not None and "opened_at" in acc_nodes and pd.notna(start):
        pos = codes(acc_nodes["account_id"], proj.accounts)
        opened = pd.to_datetime(acc_nodes["opened_at"], utc=True)
        days = ((start - opened).dt.total_seconds() / 86400.0).to_numpy(dtype="float64")
        ok = pos >= 0
        age[pos[ok]] = days[ok]
    owned = proj.account_customer >= 0
    oldest = np.full(n_c, np.nan)
    frame = pd.DataFrame({"c": proj.account_customer[owned], "a": age[owned]})
    mx = frame.groupby("c")["a"].max()
    oldest[mx.index.to_numpy()] = mx.to_numpy()
    young = np.nan_to_num(oldest, nan=np.inf) < young_days

    if known is None:
        known = known_fraud(graph, proj)

    cash = np.zeros(n_c, dtype=bool)
    pays = graph.edges.get("PAYS")
    cps = graph.nodes.get("counterparty")
    if pays is not None and len(pays) and cps is not None and "kind" in cps:
        kind = cps["kind"].astype("str").str.lower()
        is_cash = kind.str.contains("|".join(CASH_OUT_KINDS), regex=True).fillna(False)
        cash_ids = set(cps.loc[is_cash.to_numpy(), "counterparty_id"].astype("str"))
        hit = pays["counterparty_id"].astype("str").isin(cash_ids).to_numpy()
        acc = codes(pays["from_account"][hit], proj.accounts)
        c = proj.account_customer[acc[acc >= 0]]
        cash[c[c >= 0]] = True

    activity = np.zeros(n_c)
    logs = np.zeros(n_c)
    single_shot = np.zeros(n_a, dtype=bool)
    relay = np.zeros(n_a, dtype=bool)
    if len(txns):
        acc = codes(txns["from_account"], proj.accounts) if txn_src is None else txn_src
        dst = codes(txns["to_account"], proj.accounts) if txn_dst is None else txn_dst
        single_shot, relay = dedicated_accounts(n_a, acc, dst)
        c = np.where(acc >= 0, proj.account_customer[np.maximum(acc, 0)], -1)
        activity = np.bincount(c[c >= 0], minlength=n_c).astype("float64")
        amount = txns["amount"].to_numpy(dtype="float64")
        ok = (c >= 0) & (amount > 0)
        logs = np.bincount(c[ok], weights=np.log(amount[ok]), minlength=n_c)

    return {
        "data_start": start,
        "account_age_days": age,
        "young_customer": young,
        "known_fraud": known,
        "cash_out": cash,
        "activity": activity,
        "single_shot_account": single_shot,
        "relay_account": relay,
        "log_amount_sum": logs,
        "activity_median": float(np.median(activity)) if n_c else 0.0,
    }
