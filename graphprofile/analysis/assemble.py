"""Assemble rings of every kind into one table with features, risk, reasons and stable ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.analysis._util import distinct_sorted
from graphprofile.analysis.communities import match_ids
from graphprofile.analysis.flows import Txns
from graphprofile.analysis.layers import evidence as layers_evidence
from graphprofile.analysis.lazy_evidence import LazyEvidence, RingRows
from graphprofile.analysis.projection import Projection
from graphprofile.analysis.rings import (
    RingBase,
    identity_rings,
    ring_base_features,
    ring_community_features,
)
from graphprofile.analysis.risk import ring_reasons, ring_risk
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.analysis.unusual import evidence as unusual_evidence
from graphprofile.domain import FLOW_PRIORITY, LATE_KINDS, RING_ORDER
from graphprofile.frames import CanonicalGraph

MAX_ITEMS = 20  # shared items / cycles listed per ring in reasons

#: Roles of the account that heads a fan ring (named in its reasons, not counted).
HEADS = ("collector", "source", "sink")

#: Published ``magnitude_ratio`` of a ring whose members pay nothing else (infinite).
MAGNITUDE_CAP = 1e6

RING_COLUMNS = {
    "ring_id": "str",
    "kind": "str",
    "size": "int64",
    "n_accounts": "int64",
    "customers": "object",
    "accounts": "object",
    "hops": "Int64",
    "n_shared_devices": "int64",
    "n_shared_identifiers": "int64",
    "identifier_kinds": "object",
    "density": "float64",
    "account_age_days": "float64",
    "young_account_share": "float64",
    "internal_flow": "float64",
    "external_flow": "float64",
    "known_fraud_share": "float64",
    "cash_out_share": "float64",
    "activity_ratio": "float64",
    "magnitude_ratio": "float64",
    "one_off_share": "float64",
    "cohesion": "float64",
    "first_ts": "datetime64[ns, UTC]",
    "last_ts": "datetime64[ns, UTC]",
    "risk": "float64",
    "reasons": "str",
}


def _iso(t0: int, seconds: np.ndarray) -> list[str]:
    return (
        pd.to_datetime(t0 + np.asarray(seconds), unit="s", utc=True)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .tolist()
    )


def identity_evidence(
    shared: pd.DataFrame, members: pd.DataFrame
) -> tuple[_SharedItems, pd.DataFrame]:
    """Reason objects and per-ring counts from the shared items of identity rings."""
    size = members.groupby("ring").size()
    dev = shared[shared["layer"] == "devices"]
    stats = pd.DataFrame(index=size.index)
    stats["n_shared_devices"] = dev.groupby("ring").size()
    stats["n_shared_identifiers"] = shared[shared["layer"] == "identifiers"].groupby("ring").size()
    stats = stats.fillna(0).astype("int64")
    stats["pattern"] = (dev.groupby("ring")["n_customers"].max() / size).fillna(0.0)
    stats["identifier_kinds"] = _kinds_per_ring(shared, stats.index)
    top = shared.sort_values(["ring", "n_customers", "item_id"], ascending=[True, False, True])
    top = top.groupby("ring").head(MAX_ITEMS)
    return _SharedItems(top), stats


def _kinds_per_ring(shared: pd.DataFrame, rings: pd.Index) -> list[list[str]]:
    """Per ring of ``rings``: the distinct ``kind`` values of its shared items, as sorted text.

    The kinds are few (device, phone, email, ...), so each ring's set of them is a bit mask
    summed over its distinct (ring, kind) pairs, and each distinct mask is turned into words
    once: a loop over the rings of a 1M-customer bank took seconds per ``Series.unique``
    and ``Series.get`` call (#16).
    """
    codes, originals = pd.factorize(shared["kind"], use_na_sentinel=False)
    if len(originals) > 62:  # more kinds than bits: one group at a time
        kinds = shared.groupby("ring")["kind"].unique()
        return [sorted(map(str, kinds.get(r, []))) for r in rings]
    # distinct pairs (sort-based, see distinct_sorted)
    pair = distinct_sorted(shared["ring"].to_numpy(dtype=np.int64) * 64 + codes.astype(np.int64))[0]
    masks = pd.Series(np.left_shift(1, pair % 64, dtype=np.int64)).groupby(pair // 64).sum()
    words = [str(k) for k in originals]
    combos = {
        mask: sorted(words[j] for j in range(len(words)) if mask >> j & 1)
        for mask in masks.unique().tolist()
    }
    mask_of = dict(zip(masks.index.tolist(), masks.tolist(), strict=True))
    return [list(combos[mask_of[r]]) if r in mask_of else [] for r in rings]


class _SharedItems:
    """Shared-item reason objects of identity rings, built only for the rings asked for."""

    def __init__(self, top: pd.DataFrame) -> None:
        self.top = top.reset_index(drop=True)
        rings = self.top["ring"].to_numpy()
        self.start = dict(zip(*np.unique(rings, return_index=True), strict=True))
        self.count = dict(zip(*np.unique(rings, return_counts=True), strict=True))
        # the four columns as lists once: a frame slice per ring cost ~0.1 ms each (#16)
        self.columns = [self.top[c].tolist() for c in ("item_id", "layer", "kind", "n_customers")]

    def get(self, ring: int, default: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if ring not in self.start:
            return default
        a = int(self.start[ring])
        b = a + int(self.count[ring])
        out = []
        for item, layer, kind, n in zip(*(c[a:b] for c in self.columns), strict=True):
            key = "shared_device" if layer == "devices" else "shared_identifier"
            obj = {"type": key, "id": item, "n_members": int(n)}
            if layer != "devices":
                obj["kind"] = kind
            out.append(obj)
        return out


def flow_evidence(
    kind: str,
    members: pd.DataFrame,
    per_ring_cycles: dict[int, list[dict[str, Any]]],
    tx: Txns,
    proj: Projection,
    *,
    min_fan: dict[str, int],
) -> tuple[Mapping[int, list[dict[str, Any]]], pd.DataFrame]:
    """Reason objects, hop counts, breadth and time span of the flow rings of one kind."""
    stats = pd.DataFrame(index=np.sort(members["ring"].unique()))
    stats["pattern"] = 1.0
    stats["data_span_s"] = float(tx.last)  # for ``burst``: the ring's span against the data's
    evidence: dict[int, list[dict[str, Any]]] = {}
    if kind == "cycle":
        acc_ids = proj.accounts.to_numpy()
        hops, first, last = {}, {}, {}
        for ring, cycles in per_ring_cycles.items():  # loops over found cycles only
            hops[ring] = max(len(c["txns"]) for c in cycles)
            times = np.concatenate([tx.ts[c["txns"]] for c in cycles])
            first[ring], last[ring] = int(times.min()), int(times.max())
            items = []
            # longest cycles first, then earliest: the most telling paths lead the reasons
            ranked = sorted(cycles, key=lambda c: (-len(c["txns"]), int(tx.ts[c["txns"][0]])))
            for c in ranked[:MAX_ITEMS]:
                t = np.asarray(c["txns"])
                items.append(
                    {
                        "type": "cycle_path",
                        "accounts": acc_ids[tx.src[t]].tolist(),
                        "amounts": [round(float(a), 2) for a in tx.amount[t]],
                        "times": _iso(tx.t0, tx.ts[t]),
                        "txn_ids": tx.txn_ids(t),
                    }
                )
            evidence[ring] = items
        stats["hops"] = pd.Series(hops)
        stats["first_s"], stats["last_s"] = pd.Series(first), pd.Series(last)
        return evidence, stats
    if kind in ("bipartite", "stack"):
        lay = tx.layer_rings
        if lay is None or len(members) == 0:
            return evidence, stats
        ev, st = layers_evidence(
            lay[lay["ring"].isin(stats.index)], proj.accounts.to_numpy(), relay=tx.relay
        )
        st["data_span_s"] = float(tx.last)
        # breadth: accounts against twice the smallest layer (two payers, two payees)
        n_acc = members.groupby("ring").size().reindex(st.index)
        st["breadth"] = np.minimum(1.0, n_acc / (2.0 * 4.0))
        st["first_s"], st["last_s"] = _ring_span(members, tx)
        return ev, st
    if kind == "unusual_transfers":
        links = tx.unusual_links
        if links is None or len(members) == 0:
            return evidence, stats
        links = links[links["ring"].isin(stats.index)]
        t0 = tx.t0  # the reasons, built later, keep this, not the transaction arrays

        def iso(seconds: int) -> str:
            return _iso(t0, [seconds])[0]

        # the reasons, built later, name accounts from the index, not from an object copy
        # of it (one copy per ring kind kept alive was ~90 MB each at 1M customers)
        return unusual_evidence(members, links, proj.accounts, iso)
    roles = members.groupby(["ring", "role"]).size().unstack(fill_value=0)
    fan_role = {"fan_in": "sender", "fan_out": "receiver", "scatter_gather": "intermediate"}[kind]
    n_fan = roles[fan_role] if fan_role in roles else pd.Series(0, index=roles.index)
    stats["breadth"] = np.minimum(1.0, n_fan / (2.0 * min_fan[kind])).reindex(stats.index)
    fan_ev = _fan_evidence(
        kind, members, roles, proj.accounts, min_fan[kind], single_shot=tx.single_shot
    )
    stats["first_s"], stats["last_s"] = _ring_span(members, tx)
    if kind == "fan_in":  # where the gathered money goes: the collector's account
        col = members[members["role"] == "collector"].drop_duplicates("ring")
        stats["head"] = col.set_index("ring")["acc"].reindex(stats.index).astype("float64")
    return fan_ev, stats


def _fan_evidence(
    kind: str,
    members: pd.DataFrame,
    roles: pd.DataFrame,
    acc_ids: pd.Index,
    min_fan: int,
    *,
    single_shot: np.ndarray | None = None,
) -> LazyEvidence:
    """The ``{kind}_pattern`` object of each fan ring with a head (collector, source or
    sink), built when the ring's reasons are asked for (:class:`LazyEvidence`).

    ``roles`` counts each ring's members per role (rings by roles); ``min_fan`` is the fan
    breadth named in the settings (a fan-in whose collector pays as many onwards is a
    gather-scatter). ``single_shot`` (per account): a fan-in names how many of its senders
    made no other transaction in the data (``n_single_shot``, when any did).
    """
    heads = members[members["role"].isin(HEADS)]
    head_role = heads["role"].to_numpy()
    head_acc = heads["acc"].to_numpy()
    rows_of = RingRows(heads["ring"].to_numpy())
    counts = roles.to_numpy()
    row_of = {r: i for i, r in enumerate(roles.index.tolist())}
    counted = [(j, role) for j, role in enumerate(roles.columns) if role not in HEADS]
    n_single = pd.Series(0, index=roles.index)
    if kind == "fan_in" and single_shot is not None:
        senders = members[members["role"] == "sender"]
        hit = single_shot[senders["acc"].to_numpy(dtype=np.int64)]
        n_single = senders["ring"][hit].value_counts().reindex(roles.index, fill_value=0)
    n_single_of = n_single.to_numpy()

    def build(ring: int) -> list[dict[str, Any]]:
        rows = rows_of(ring)
        obj: dict[str, Any] = {"type": f"{kind}_pattern"}
        for role, acc in zip(head_role[rows], head_acc[rows], strict=True):
            obj[role] = str(acc_ids[acc])
        for j, role in counted:
            obj[f"n_{role}s"] = int(counts[row_of[ring], j])
        if kind == "fan_in" and obj.get("n_onwards", 0) >= min_fan:
            obj["shape"] = "gather_scatter"  # gathered from many, scattered to many
        if n_single_of[row_of[ring]] > 0:
            obj["n_single_shot"] = int(n_single_of[row_of[ring]])
        return [obj]

    return LazyEvidence(rows_of.rings.tolist(), build)


def _ring_span(members: pd.DataFrame, tx: Txns) -> tuple[pd.Series, pd.Series]:
    """First and last time (seconds after ``tx.t0``) of the transfers between each ring's
    own accounts."""
    m = members[["ring", "acc"]].drop_duplicates()
    sel = np.flatnonzero(np.isin(tx.src, m["acc"].to_numpy()))
    pairs = pd.DataFrame({"acc": tx.src[sel], "dst": tx.dst[sel], "t": tx.ts[sel]}).merge(
        m, on="acc"
    )
    pairs = pairs.merge(m.rename(columns={"acc": "dst"}), on=["ring", "dst"])
    span = pairs.groupby("ring")["t"].agg(["min", "max"])
    return span["min"], span["max"]


#: What each detector hands to :func:`assemble_rings`: ``(kind, customer members,
#: account members or None, evidence, per-ring stats)``, members numbered within the kind.
RingPart = tuple[str, pd.DataFrame, pd.DataFrame | None, Any, pd.DataFrame]


def identity_part(proj: Projection) -> RingPart:
    """Identity rings (shared devices and identifiers) as a :data:`RingPart`."""
    members, shared = identity_rings(proj)
    evidence, stats = identity_evidence(shared, members)
    return ("identity", members, None, evidence, stats)


def flow_parts(
    kinds: dict[str, pd.DataFrame],
    per_ring_cycles: dict[int, list[dict[str, Any]]],
    tx: Txns,
    proj: Projection,
    settings: AnalysisSettings,
) -> list[RingPart]:
    """Money-flow rings of every kind as :data:`RingPart`: account members and their owners.

    Parameters
    ----------
    kinds : dict
        ``ring, acc, role`` members per flow kind (from
        :func:`~graphprofile.analysis.flows.flow_patterns`).
    per_ring_cycles : dict
        The cycles of each cycle ring.
    tx : Txns
        Transaction arrays (for reasons).
    proj : Projection
        Account owners and ids.
    settings : AnalysisSettings
        ``fan_min_degree`` and ``scatter_min_paths`` (named in reasons).

    Returns
    -------
    list
        One part per kind, in the order cycle, scatter-gather, fan-in, fan-out.
    """
    min_fan = {
        "fan_in": settings.fan_min_degree,
        "fan_out": settings.fan_min_degree,
        "scatter_gather": settings.scatter_min_paths,
    }
    parts: list[RingPart] = []
    for kind in FLOW_PRIORITY:
        am = kinds[kind]
        owners = proj.account_customer[am["acc"].to_numpy()]
        cm = pd.DataFrame({"ring": am["ring"].to_numpy(), "cust": owners})
        cm = cm[cm["cust"] >= 0].drop_duplicates()
        evidence, stats = flow_evidence(kind, am, per_ring_cycles, tx, proj, min_fan=min_fan)
        parts.append((kind, cm, am[["ring", "acc"]], evidence, stats))
    return parts


@dataclass
class CollectedRings:
    """The ring candidates of every kind in one numbering, with the features that do not
    read the communities (:func:`collect_rings`)."""

    stats: pd.DataFrame
    cust_members: pd.DataFrame
    acc_members: pd.DataFrame
    evidence: dict[str, tuple[Any, dict[int, int]]]
    base: RingBase


def collect_rings(
    parts: list[RingPart], proj: Projection, graph: CanonicalGraph, context: dict[str, Any]
) -> CollectedRings | None:
    """The first half of :func:`assemble_rings`, which needs no communities: the parts'
    candidates numbered across kinds (``ring``), their members and
    :func:`~graphprofile.analysis.rings.ring_base_features`. ``None``: no candidates.

    The analysis calls it while its graph worker still finds the communities (#16);
    ``context`` is read for everything but ``community``.
    """
    frames, cm_all, am_all = [], [], []
    evidence: dict[str, tuple[Any, dict[int, int]]] = {}  # kind -> (evidence, global -> local)
    offset = 0
    for kind, cm, am, ev, stats in parts:
        if len(cm) == 0:
            continue
        local = np.sort(cm["ring"].unique())
        glob = pd.Series(np.arange(offset, offset + len(local)), index=local)
        cm_all.append(pd.DataFrame({"ring": glob.loc[cm["ring"]].to_numpy(), "cust": cm["cust"]}))
        if am is None:
            acc = np.flatnonzero(proj.account_customer >= 0)
            own = pd.DataFrame({"cust": proj.account_customer[acc], "acc": acc})
            am = cm.merge(own, on="cust")[["ring", "acc"]]
        am = am[am["ring"].isin(local)]
        am_all.append(pd.DataFrame({"ring": glob.loc[am["ring"]].to_numpy(), "acc": am["acc"]}))
        st = stats.reindex(local).set_axis(glob.to_numpy())
        st["kind"] = kind
        frames.append(st)
        evidence[kind] = (ev, dict(zip(glob.to_numpy().tolist(), local.tolist(), strict=True)))
        offset += len(local)
    if not frames:
        return None
    cm_all_df = pd.concat(cm_all, ignore_index=True).drop_duplicates().astype("int64")
    am_all_df = pd.concat(am_all, ignore_index=True).drop_duplicates().astype("int64")
    rings = pd.concat(frames)
    base = ring_base_features(cm_all_df, am_all_df, proj, graph, context=context)
    return CollectedRings(rings, cm_all_df, am_all_df, evidence, base)


def assemble_rings(
    parts: list[RingPart],
    proj: Projection,
    graph: CanonicalGraph,
    context: dict[str, Any],
    *,
    t0: int,
    min_risk: float,
    previous: pd.DataFrame | None,
    match_min_share: float,
    collected: CollectedRings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """One ring table over every kind, filtered by risk, with stable ids.

    Parameters
    ----------
    parts : list
        ``(kind, cust_members, acc_members, evidence, stats)`` per kind; members use a
        local ``ring`` number within the kind.
    proj, graph, context
        Projections, canonical graph and bank lookups.
    t0 : int
        Epoch seconds of the first transaction (to turn ring times into timestamps).
    min_risk : float
        Candidate rings below this risk are not reported.
    previous : pandas.DataFrame or None
        ``id`` (int), ``key`` (kind|customer) memberships of the previous run's rings.
    match_min_share : float
        See :func:`graphprofile.analysis.communities.match_ids`.
    collected : CollectedRings, optional
        :func:`collect_rings` of these ``parts`` (computed here when omitted).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, dict)
        Rings (columns :data:`RING_COLUMNS`), memberships ``cust, ring_id, kind, risk,
        reasons``, and meta (candidates and reported rings per kind).
    """
    cust_ids = proj.customers.to_numpy()
    acc_ids = proj.accounts.to_numpy()
    if collected is None:
        collected = collect_rings(parts, proj, graph, context)
    if collected is None:
        empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in RING_COLUMNS.items()})
        members = pd.DataFrame(
            {"cust": [], "ring_id": [], "kind": [], "risk": [], "reasons": []}
        ).astype({"cust": "int64", "risk": "float64"})
        return empty, members, {"candidates": {}, "reported": {}}
    cm_all_df, am_all_df = collected.cust_members, collected.acc_members
    evidence = collected.evidence
    feats = ring_community_features(collected.base, proj, context.get("community"))
    rings = collected.stats.join(feats)
    if "head" in rings:  # fan-in: does the collector pass the money to a cash-out channel?
        head = rings["head"].to_numpy(dtype="float64")
        ok = np.isfinite(head)
        owner = np.full(len(head), -1, dtype=np.int64)
        owner[ok] = proj.account_customer[head[ok].astype(np.int64)]
        cash = np.zeros(len(head))
        cash[owner >= 0] = context["cash_out"][owner[owner >= 0]]
        rings["head_cash_out"] = np.where(ok, cash, np.nan)
    for col in (
        "hops",
        "breadth",
        "n_shared_devices",
        "n_shared_identifiers",
        "first_s",
        "last_s",
        "odd_share",
        "repeat_share",
        "data_span_s",
    ):
        if col not in rings:
            rings[col] = np.nan
    if "identifier_kinds" not in rings:
        rings["identifier_kinds"] = None
    risk, contrib = ring_risk(rings)
    rings["risk"] = risk
    candidates = rings.groupby("kind").size().to_dict()
    strength = rings["community_strength"].dropna()
    rings = rings[rings["risk"] >= min_risk].copy()
    # reasons only for the rings that are reported (identity candidates run to 100k+)
    ev_of = {}
    for ring, kind in zip(rings.index.tolist(), rings["kind"].tolist(), strict=True):
        ev, to_local = evidence[kind]
        ev_of[ring] = ev.get(to_local[ring], [])
    rings["reasons"] = ring_reasons(rings, contrib.loc[rings.index], ev_of)
    # a money-flow ring whose customers are mostly in a reported identity ring adds nothing
    # new (e.g. the bust-out transfers of a synthetic-identity ring): it is dropped
    in_identity = np.zeros(len(proj.customers), dtype=bool)
    ident = cm_all_df[cm_all_df["ring"].isin(rings.index[rings["kind"] == "identity"])]
    in_identity[ident["cust"].to_numpy()] = True
    flow_cm = cm_all_df[cm_all_df["ring"].isin(rings.index[rings["kind"] != "identity"])]
    share = (
        pd.Series(in_identity[flow_cm["cust"].to_numpy()])
        .groupby(flow_cm["ring"].to_numpy())
        .mean()
    )
    inside = share.index[share.to_numpy() >= 0.5]
    rings = rings.drop(index=inside)
    # a layer, stack or unusual-transfer group (LATE_KINDS: not dropped as candidates) mostly
    # inside reported rings of the kinds named for it says nothing those rings do not
    for kind, over in LATE_KINDS.items():
        mine = am_all_df[am_all_df["ring"].isin(rings.index[rings["kind"] == kind])]
        if len(mine) == 0:
            continue
        held = np.zeros(len(proj.accounts), dtype=bool)
        by = am_all_df[am_all_df["ring"].isin(rings.index[rings["kind"].isin(over)])]
        held[by["acc"].to_numpy()] = True
        covered = pd.Series(held[mine["acc"].to_numpy()]).groupby(mine["ring"].to_numpy()).mean()
        rings = rings.drop(index=covered.index[covered.to_numpy() >= 0.5])

    # canonical order, then stable ids matched on kind|customer
    cm_all_df = cm_all_df[cm_all_df["ring"].isin(rings.index)]
    am_all_df = am_all_df[am_all_df["ring"].isin(rings.index)]
    cm_all_df = cm_all_df.sort_values(["ring", "cust"], ignore_index=True)
    first_cust = cm_all_df.groupby("ring")["cust"].min()
    rings["_k"] = rings["kind"].map({k: i for i, k in enumerate(RING_ORDER)})
    rings["_first"] = first_cust
    rings = rings.sort_values(["_k", "size", "_first"], ascending=[True, False, True])
    group = pd.Series(np.arange(len(rings)), index=rings.index)
    key = rings["kind"].loc[cm_all_df["ring"]].to_numpy() + "|" + cust_ids[cm_all_df["cust"]]
    ids = match_ids(
        pd.DataFrame({"group": group.loc[cm_all_df["ring"]].to_numpy(), "key": key}),
        previous,
        key="key",
        min_share=match_min_share,
    )
    rings["ring_id"] = [f"R{i:06d}" for i in ids.loc[group.to_numpy()].to_numpy()]
    cust_lists = cm_all_df.groupby("ring")["cust"].agg(lambda c: cust_ids[c.to_numpy()].tolist())
    acc_lists = (
        am_all_df.sort_values(["ring", "acc"])
        .groupby("ring")["acc"]
        .agg(lambda a: acc_ids[a.to_numpy()].tolist())
    )
    rings["customers"] = cust_lists
    rings["accounts"] = acc_lists.reindex(rings.index)
    rings["accounts"] = [a if isinstance(a, list) else [] for a in rings["accounts"]]
    for src, dst in (("first_s", "first_ts"), ("last_s", "last_ts")):
        rings[dst] = pd.to_datetime(t0 + rings[src], unit="s", utc=True).astype(
            "datetime64[ns, UTC]"
        )
    rings["size"] = rings["size"].astype("int64")
    for col in ("n_shared_devices", "n_shared_identifiers"):
        rings[col] = rings[col].fillna(0).astype("int64")
    rings["hops"] = rings["hops"].astype("Int64")
    rings["identifier_kinds"] = [
        k if isinstance(k, list) else [] for k in rings["identifier_kinds"]
    ]
    members = pd.DataFrame(
        {
            "cust": cm_all_df["cust"].to_numpy(),
            "ring_id": rings["ring_id"].loc[cm_all_df["ring"]].to_numpy(),
            "kind": rings["kind"].loc[cm_all_df["ring"]].to_numpy(),
            "risk": rings["risk"].loc[cm_all_df["ring"]].to_numpy(),
            "reasons": rings["reasons"].loc[cm_all_df["ring"]].to_numpy(),
        }
    )
    # members who pay nothing but the ring's own transfers make the ratio infinite: the table
    # (and the stores, which refuse inf) get MAGNITUDE_CAP instead
    rings["magnitude_ratio"] = rings["magnitude_ratio"].clip(upper=MAGNITUDE_CAP)
    out = rings[list(RING_COLUMNS)].sort_values("ring_id", ignore_index=True)
    reported = out.groupby("kind").size().to_dict()
    meta = {
        "candidates": {k: int(v) for k, v in candidates.items()},
        "flow_rings_inside_identity_rings": len(inside),
        "reported": {k: int(v) for k, v in reported.items()},
        "community_strength": round(float(strength.iloc[0]), 4) if len(strength) else None,
    }
    return out, members, meta


def previous_ring_keys(rings: pd.DataFrame) -> pd.DataFrame:
    """``id, key`` memberships of a previous ``rings`` table (``R000123`` -> 123)."""
    rows = rings[["ring_id", "kind", "customers"]].explode("customers").dropna()
    customers = rows["customers"]
    if len(rows) and isinstance(rings["customers"].iloc[0], str):  # CSV: JSON text
        rows = rings.assign(customers=rings["customers"].map(json.loads)).explode("customers")
        customers = rows["customers"]
    return pd.DataFrame(
        {
            "id": rows["ring_id"].str.extract(r"(\d+)$")[0].astype("int64").to_numpy(),
            "key": (rows["kind"].astype("str") + "|" + customers.astype("str")).to_numpy(),
        }
    )
