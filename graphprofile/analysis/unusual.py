"""Rings of accounts linked by transfers that are unusual for this bank.

The other flow detectors look for a shape (a time-ordered cycle, a fan with onward flow)
and need the money to move on within days. Laundering schedules need not: AMLSim's
cycles run their hops in any order over months (each mule pays from its own balance and
is made good later), its fans gather from a handful of senders over a season. What marks
such money is the transfers themselves. A transfer is **unusual** when

- its amount is far from what this bank's payments usually are: the log amount lies more
  than :data:`~graphprofile.analysis.behaviour.ODD_Z` robust standard deviations
  (``1.4826 x MAD``) from the median over every payment of the data (the ``odd_amounts``
  rule of the behaviour features), or
- it repeats the same sender, receiver and calendar day (several payments where one would
  do: structuring, the ``same_day_repeats`` rule).

Unusual transfers that share accounts make a structure: a group of three or more accounts
connected by them (a connected component of the unusual links) is a candidate ring of kind
``unusual_transfers``. Two accounts are a pair trading, not a structure, so a group needs
three; a group of more than :data:`MAX_ACCOUNTS` is the links percolating through the
bank's ordinary traffic, not a structure, and is not a candidate. Accounts whose unusual
transfers alone go to (come from) more distinct accounts than the bank's contact threshold
(the ``hub_percentile`` of distinct payees (payers) per account over all transfers, at
least ``hub_floor``: the payroll/biller rule of the evidence graph) link nothing: an
employer's or a utility's odd payments would join strangers into one group. A busy
account's few unusual transfers still count.

Each group's **shape** is read from its directed links: ``cycle`` (a loop of three or more
accounts), ``fan_in`` / ``fan_out`` (one account receives from / pays every other one),
``chain`` (each account pays and is paid by at most one other), ``bipartite`` (every
account only pays or only receives, at least two of each), otherwise ``layered`` (payers,
pass-through accounts and payees). Reasons name every account and list the links.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphprofile.analysis._util import (
    PairDays,
    count_threshold,
    distinct_sorted,
    igraph_from_edges,
)
from graphprofile.analysis.behaviour import odd_amount
from graphprofile.analysis.lazy_evidence import LazyEvidence, RingRows

DAY = 86_400
#: Accounts a group of unusual links needs to be a structure (two are a pair trading).
MIN_ACCOUNTS = 3
#: Most accounts a group of unusual links may have to be a structure. A larger one is the
#: links running through the bank's ordinary traffic (the rules mark too much of it), not
#: a ring anyone could investigate. Measured: the largest group is 3 accounts on our
#: generator, 14 and 10 on the two AMLSim samples, 33 on AMLSim's January-2019 code at
#: their configuration with other typologies and 88 on its first public sample
#: (``amlsim_data``); where links percolate, one group held 309 accounts (AMLSim's current
#: code, standard configuration: most of its accounts that transact), 5,619 (its 2019
#: ``dense`` typology) and 19,704 (its 2019 ``bipartite``, whose laundering transfers are
#: three quarters of the data, so that every ordinary amount is odd). Such a group's
#: accounts are left to the other detectors and the behaviour scores.
MAX_ACCOUNTS = 100
#: Distinct days on which a pair exchanged unusual transfers that make it a standing
#: relationship rather than an event: once is an event, twice a repeat, three times a habit.
RECURRING_DAYS = 3
#: Links listed per ring in reasons.
MAX_LINKS = 20


def unusual_transfer_flags(
    src: np.ndarray,
    dst: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    all_amounts: np.ndarray,
    by_day: PairDays | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per account-to-account transfer: is its amount odd, is it a same-day repeat?

    Parameters
    ----------
    src, dst : numpy.ndarray of int
        Sending and receiving account positions.
    ts : numpy.ndarray of int
        Seconds since the first transaction of the data.
    amount : numpy.ndarray of float
        Amounts of these transfers.
    all_amounts : numpy.ndarray of float
        Every payment of the data (to accounts and counterparties): the population whose
        median and MAD define an odd amount.
    by_day : PairDays, optional
        These transfers sorted by (payer, payee, day) (:func:`pair_day_sort`), when
        already sorted.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``odd`` and ``repeat`` flags (bool) per transfer.
    """
    by_day = pair_day_sort(src, dst, ts) if by_day is None else by_day
    return odd_amount(amount, all_amounts), by_day.repeated()


def pair_day_sort(src: np.ndarray, dst: np.ndarray, ts: np.ndarray) -> PairDays:
    """Account-to-account transfers sorted by (payer, payee, day slot ``ts // DAY``), for
    the unusual-transfer and the layer searches (one sort for both)."""
    n = int(max(src.max(), dst.max())) + 1 if len(src) else 1
    return PairDays(src, dst, ts // DAY, n, n_days(ts))


def n_days(ts: np.ndarray) -> int:
    """Number of day slots (``ts // DAY``) the data spans."""
    return int(ts.max()) // DAY + 1 if len(ts) else 1


def empty_members() -> pd.DataFrame:
    """A members frame (``ring, acc, role``) without rows."""
    return pd.DataFrame(
        {
            "ring": pd.Series([], dtype="int64"),
            "acc": pd.Series([], dtype="int64"),
            "role": pd.Series([], dtype="str"),
        }
    )


def contact_limits(
    pairs: np.ndarray, n: int, *, hub_percentile: float, hub_floor: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Distinct payees and payers of each of ``n`` accounts, from the distinct pairs
    ``payer * n + payee``, and the bank's contact threshold for each (the
    ``hub_percentile`` of the counts, at least ``hub_floor``: the payroll/biller rule)."""
    n_payees = np.bincount(pairs // n, minlength=n)
    n_payers = np.bincount(pairs % n, minlength=n)
    limits = [
        count_threshold(counts, percentile=hub_percentile, floor=hub_floor, min_count=1)
        for counts in (n_payees, n_payers)
    ]
    return n_payees, n_payers, limits[0], limits[1]


def find_unusual(
    src: np.ndarray,
    dst: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    all_amounts: np.ndarray,
    owner: np.ndarray,
    *,
    hub_percentile: float,
    hub_floor: int,
    by_day: PairDays | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Groups of accounts linked by unusual transfers.

    Parameters
    ----------
    src, dst, ts, amount, all_amounts
        As for :func:`unusual_transfer_flags`.
    owner : numpy.ndarray of int
        Customer position of every account (-1: none); transfers between one customer's
        own accounts link nothing.
    hub_percentile, hub_floor
        Contact threshold (see the module docstring).
    by_day : PairDays, optional
        The transfers sorted by (payer, payee, day) (:func:`pair_day_sort`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Members ``ring, acc, role`` (role ``payer``, ``payee`` or ``through``) and links
        ``ring, src, dst, n_txns, amount, first, last, odd, repeat`` (one row per directed
        account pair of the ring; ``odd``/``repeat``: any of its transfers is).
    """
    empty_m = empty_members()
    empty_l = pd.DataFrame(columns=["ring", "src", "dst", "n_txns", "amount", "first", "last",
                                    "odd", "repeat"])  # fmt: skip
    if len(src) == 0:
        return empty_m, empty_l
    by_day = pair_day_sort(src, dst, ts) if by_day is None else by_day
    odd, repeat = unusual_transfer_flags(src, dst, ts, amount, all_amounts, by_day)
    n = by_day.n
    pairs = by_day.distinct_pairs()
    *_, max_payees, max_payers = contact_limits(
        pairs, n, hub_percentile=hub_percentile, hub_floor=hub_floor
    )
    o_s, o_d = owner[src], owner[dst]
    sel = np.flatnonzero((odd | repeat) & ((o_s != o_d) | (o_s < 0)) & (src != dst))
    # a pair paying such amounts on several days has a standing relationship (a salary, a
    # rent): that amount is usual for the pair, whatever the bank's typical payment
    chosen = np.zeros(len(src), dtype=bool)
    chosen[sel] = True
    paid, n_days_paid = by_day.days_per_pair(chosen)
    del chosen
    standing = paid[n_days_paid >= RECURRING_DAYS]
    sel = sel[~np.isin(src[sel].astype(np.int64) * n + dst[sel], standing)]
    # a hub is an account whose *unusual* links alone reach the contact threshold: a busy
    # account's unusual payments are still unusual, but an employer paying odd amounts to
    # everyone would join strangers into one group
    flagged = distinct_sorted(src[sel].astype(np.int64) * n + dst[sel])[0]
    f_payees = np.bincount(flagged // n, minlength=n)
    f_payers = np.bincount(flagged % n, minlength=n)
    sel = sel[(f_payees[src[sel]] <= max_payees) & (f_payers[dst[sel]] <= max_payers)]
    if len(sel) == 0:
        return empty_m, empty_l
    g = igraph_from_edges(n, src[sel], dst[sel], directed=False)
    comp = np.asarray(g.connected_components().membership, dtype=np.int64)
    size = np.bincount(comp)
    group = size[comp[src[sel]]]
    sel = sel[(group >= MIN_ACCOUNTS) & (group <= MAX_ACCOUNTS)]
    if len(sel) == 0:
        return empty_m, empty_l
    t = pd.DataFrame(
        {
            "comp": comp[src[sel]],
            "src": src[sel],
            "dst": dst[sel],
            "amount": amount[sel],
            "ts": ts[sel],
            "odd": odd[sel],
            "repeat": repeat[sel],
        }
    )
    links = t.groupby(["comp", "src", "dst"], as_index=False).agg(
        n_txns=("amount", "size"),
        amount=("amount", "sum"),
        first=("ts", "min"),
        last=("ts", "max"),
        odd=("odd", "max"),
        repeat=("repeat", "max"),
    )
    # canonical ring numbers: by smallest account
    first_acc = (
        pd.concat(
            [
                links[["comp", "src"]].rename(columns={"src": "acc"}),
                links[["comp", "dst"]].rename(columns={"dst": "acc"}),
            ]
        )
        .groupby("comp")["acc"]
        .min()
        .sort_values()
    )
    ring_no = pd.Series(np.arange(len(first_acc)), index=first_acc.index)
    links.insert(0, "ring", ring_no.loc[links["comp"]].to_numpy())
    links = links.drop(columns="comp").sort_values(["ring", "src", "dst"], ignore_index=True)
    pays = links[["ring", "src"]].drop_duplicates().rename(columns={"src": "acc"})
    gets = links[["ring", "dst"]].drop_duplicates().rename(columns={"dst": "acc"})
    members = pays.merge(gets, on=["ring", "acc"], how="outer", indicator=True)
    members["role"] = members["_merge"].map(
        {"left_only": "payer", "right_only": "payee", "both": "through"}
    )
    members = members[["ring", "acc", "role"]].astype({"ring": "int64", "acc": "int64"})
    members = members.sort_values(["ring", "acc"], ignore_index=True)
    return members, links


def shapes(members: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    """Shape of each ring (indexed by ring) from its directed links (module docstring)."""
    out = {}
    n_acc = members.groupby("ring").size()
    roles = members.groupby(["ring", "role"]).size().unstack(fill_value=0)
    for role in ("payer", "payee", "through"):
        if role not in roles:
            roles[role] = 0
    n_out = links.groupby(["ring", "src"])["dst"].nunique()
    n_in = links.groupby(["ring", "dst"])["src"].nunique()
    max_out = n_out.groupby(level=0).max()
    max_in = n_in.groupby(level=0).max()
    for ring, grp in links.groupby("ring"):  # loops over rings (few), not transfers
        k = int(n_acc[ring])
        if _has_loop(grp):
            out[ring] = "cycle"
        elif int(max_in[ring]) == k - 1 and int(roles.loc[ring, "through"]) == 0:
            out[ring] = "fan_in"
        elif int(max_out[ring]) == k - 1 and int(roles.loc[ring, "through"]) == 0:
            out[ring] = "fan_out"
        elif int(max_in[ring]) <= 1 and int(max_out[ring]) <= 1:
            out[ring] = "chain"
        elif int(roles.loc[ring, "through"]) == 0:
            out[ring] = "bipartite"
        else:
            out[ring] = "layered"
    return pd.Series(out, dtype="object")


def _has_loop(links: pd.DataFrame) -> bool:
    """Whether the directed links hold a loop through three or more accounts."""
    accs, local = np.unique(np.concatenate([links["src"], links["dst"]]), return_inverse=True)
    m = len(links)
    g = igraph_from_edges(len(accs), local[:m], local[m:], directed=True)
    return bool(max(g.connected_components(mode="strong").sizes()) >= MIN_ACCOUNTS)


def evidence(
    members: pd.DataFrame, links: pd.DataFrame, acc_ids: pd.Index, iso: Any
) -> tuple[LazyEvidence, pd.DataFrame]:
    """Reason objects and per-ring stats (``odd_share``, ``repeat_share``, span).

    ``acc_ids`` names each account position (the projection's account index, kept as it is:
    the reasons are built late). ``iso`` turns seconds after the first transaction into ISO
    text. A ring's reason
    objects are built when they are asked for (:class:`LazyEvidence`: only reported rings'
    are), from its links and members in their row order.
    """
    shape = shapes(members, links)
    stats = pd.DataFrame(index=np.sort(members["ring"].unique()))
    stats["pattern"] = 1.0
    per = links.groupby("ring")
    stats["odd_share"] = per["odd"].mean().astype("float64")
    stats["repeat_share"] = per["repeat"].mean().astype("float64")
    stats["first_s"] = per["first"].min()
    stats["last_s"] = per["last"].max()
    link_rows = RingRows(links["ring"].to_numpy())
    member_rows = RingRows(members["ring"].to_numpy())
    member_role = members["role"].to_numpy()
    member_acc = members["acc"].to_numpy()

    def build(ring: int) -> list[dict[str, Any]]:
        grp = links.iloc[link_rows(ring)]
        ranked = grp.sort_values(["n_txns", "amount"], ascending=False).head(MAX_LINKS)
        rows = member_rows(ring)
        role, accs = member_role[rows], member_acc[rows]
        obj: dict[str, Any] = {
            "type": "unusual_transfers_pattern",
            "shape": str(shape[ring]),
            "accounts": [str(a) for a in acc_ids[accs]],
            "n_links": len(grp),
            "n_odd_amount_links": int(grp["odd"].sum()),
            "n_repeated_links": int(grp["repeat"].sum()),
            "links": [
                {
                    "from": str(acc_ids[s]),
                    "to": str(acc_ids[d]),
                    "n_txns": int(k),
                    "amount": round(float(a), 2),
                    "first": iso(f),
                    "last": iso(la),
                    "why": [w for w, on in (("odd_amount", o), ("same_day_repeat", r)) if on],
                }
                for s, d, k, a, f, la, o, r in ranked[
                    ["src", "dst", "n_txns", "amount", "first", "last", "odd", "repeat"]
                ].itertuples(index=False)
            ],
        }
        for name in ("payer", "payee", "through"):
            got = accs[role == name]
            if len(got):
                obj[f"{name}s"] = [str(a) for a in acc_ids[got]]
        return [obj]

    return LazyEvidence(link_rows.rings.tolist(), build), stats
