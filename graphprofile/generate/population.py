"""Customers, communities, households, accounts and counterparties of the synthetic bank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphprofile.generate.params import DAY, BankParams, group_index

SEGMENTS = ("retail", "premium", "student", "business")
ACCOUNT_TYPES = ("checking", "savings", "credit", "business")
CP_KINDS = ("merchant", "biller", "exchange")


@dataclass
class Population:
    """Integer-coded people and accounts; strings are only made when writing.

    Customer ``i`` owns account ``i`` (its primary account); further accounts follow.
    """

    n: int
    comm: np.ndarray  # community of each customer
    n_comm: int
    members: np.ndarray  # customers sorted by community (random order inside)
    comm_start: np.ndarray
    comm_size: np.ndarray
    pos_in_comm: np.ndarray  # position of each customer inside its community
    household: np.ndarray
    hh_size: np.ndarray  # size of each customer's household
    segment: np.ndarray  # index into SEGMENTS
    influencer: np.ndarray  # bool
    infl_items: np.ndarray  # influencers sorted by community (for pick_in_group)
    infl_start: np.ndarray
    infl_count: np.ndarray
    employers: np.ndarray  # customer index of each employer
    activity: np.ndarray  # P2P / spending multiplier
    employed: np.ndarray  # bool
    quiet: np.ndarray  # bool: synthetic identities (thin, recent activity)
    first: np.ndarray  # first-name word index
    last: np.ndarray  # last-name word index
    phone_key: np.ndarray
    address_key: np.ndarray
    # accounts
    acc_owner: np.ndarray
    acc_type: np.ndarray
    acc_opened: np.ndarray  # epoch seconds
    savings: np.ndarray  # account index or -1
    credit: np.ndarray  # account index or -1
    # counterparties
    cp_kind: np.ndarray  # index into CP_KINDS
    cp_home: np.ndarray  # community of a local merchant, -1 for chains and others

    def add_accounts(self, owner: np.ndarray, kind: str, opened: np.ndarray) -> np.ndarray:
        """Append accounts; returns their indices."""
        first = len(self.acc_owner)
        self.acc_owner = np.concatenate([self.acc_owner, owner.astype(np.int64)])
        self.acc_type = np.concatenate(
            [self.acc_type, np.full(len(owner), ACCOUNT_TYPES.index(kind), np.int8)]
        )
        self.acc_opened = np.concatenate([self.acc_opened, opened.astype(np.int64)])
        return np.arange(first, len(self.acc_owner))

    def cps(self, kind: str) -> np.ndarray:
        """Counterparty indices of one kind."""
        return np.flatnonzero(self.cp_kind == CP_KINDS.index(kind))


def community_sizes(rng: np.random.Generator, p: BankParams) -> np.ndarray:
    """Skewed (lognormal) community sizes summing to ``p.customers``."""
    n = p.customers
    hi = min(p.community_max, max(p.community_min * 2, n // 5))
    draws = rng.lognormal(np.log(p.community_median), p.community_sigma, n // p.community_min + 8)
    sizes = np.clip(np.round(draws), p.community_min, hi).astype(np.int64)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n))
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= cum[k] - n
    if sizes[-1] < p.community_min and len(sizes) > 1:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def _households(rng: np.random.Generator, p: BankParams, comm_sorted: np.ndarray) -> np.ndarray:
    """Household id per community-sorted position; households never cross communities."""
    n = len(comm_sorted)
    probs = np.asarray(p.household_sizes, dtype=float)
    sizes = rng.choice(np.arange(1, len(probs) + 1), size=n, p=probs / probs.sum())
    seq = np.searchsorted(np.cumsum(sizes), np.arange(n), side="right")
    boundary = np.ones(n, dtype=bool)
    boundary[1:] = (np.diff(comm_sorted) != 0) | (np.diff(seq) != 0)
    return np.cumsum(boundary) - 1


def build_population(rng: np.random.Generator, p: BankParams) -> Population:
    """Draw communities, households, segments, hubs, employers and accounts."""
    n = p.customers
    sizes = community_sizes(rng, p)
    n_comm = len(sizes)
    members = rng.permutation(n)
    comm_sorted = np.repeat(np.arange(n_comm), sizes)
    comm = np.empty(n, np.int64)
    comm[members] = comm_sorted
    comm_start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    pos_sorted = np.arange(n) - comm_start[comm_sorted]
    pos_in_comm = np.empty(n, np.int64)
    pos_in_comm[members] = pos_sorted

    hh_sorted = _households(rng, p, comm_sorted)
    household = np.empty(n, np.int64)
    household[members] = hh_sorted
    hh_size = np.bincount(household)[household]

    # hubs: the first k members of each big-enough community (the order is random)
    k = np.where(sizes >= p.influencer_min_community, 1 + sizes // p.influencer_per_members, 0)
    influencer = np.zeros(n, bool)
    influencer[members[pos_sorted < k[comm_sorted]]] = True

    # employers: single-person households that are not hubs
    segment = np.zeros(n, np.int8)
    cand = np.flatnonzero((hh_size == 1) & ~influencer)
    n_biz = min(len(cand) // 4, max(3, round(n * p.employer_share)))
    employers = np.sort(rng.choice(cand, n_biz, replace=False))
    segment[employers] = SEGMENTS.index("business")
    u = rng.random(n)
    person = segment != SEGMENTS.index("business")
    segment[person & (u < 0.08)] = SEGMENTS.index("premium")
    segment[person & (u >= 0.08) & (u < 0.18)] = SEGMENTS.index("student")

    activity = rng.lognormal(0.0, 0.5, n)
    activity[segment == SEGMENTS.index("premium")] *= 1.4
    activity[influencer] *= 6.0
    activity[~person] = 0.0
    v = rng.random(n)
    employed = person & np.where(
        segment == SEGMENTS.index("student"), v < p.employed_share / 3, v < p.employed_share
    )

    infl_items, infl_start, infl_count = _influencer_index(comm, influencer, n_comm)

    # names: families share a last name
    first = rng.integers(0, 1 << 20, n)
    last = rng.integers(0, 1 << 20, household.max() + 1)[household]
    # phones: own mobile unless the family shares a landline (keys >= n)
    fam = hh_size >= 2
    hh_phone = rng.random(household.max() + 1) < p.family_phone_share
    phone_key = np.where(fam & hh_phone[household], n + household, np.arange(n))
    address_key = household.copy()

    # accounts: customer i owns account i; savings and credit cards follow
    since = p.t0 - rng.integers(30, 15 * 365, n) * DAY - rng.integers(0, DAY, n)
    primary_type = np.where(person, 0, ACCOUNT_TYPES.index("business")).astype(np.int8)
    premium = segment == SEGMENTS.index("premium")
    has_sav = person & (rng.random(n) < np.where(premium, 0.6, p.savings_share))
    has_cred = person & (rng.random(n) < np.where(premium, 0.3, p.credit_share))
    sav_owner = np.flatnonzero(has_sav)
    cred_owner = np.flatnonzero(has_cred)
    extra_owner = np.concatenate([sav_owner, cred_owner])
    lo = since[extra_owner]
    extra_open = lo + (rng.random(len(extra_owner)) * (p.t1 - DAY - lo)).astype(np.int64)
    acc_owner = np.concatenate([np.arange(n), extra_owner])
    acc_type = np.concatenate(
        [
            primary_type,
            np.full(len(sav_owner), 1, np.int8),
            np.full(len(cred_owner), 2, np.int8),
        ]
    )
    acc_opened = np.concatenate([since, extra_open])
    savings = np.full(n, -1, np.int64)
    savings[sav_owner] = n + np.arange(len(sav_owner))
    credit = np.full(n, -1, np.int64)
    credit[cred_owner] = n + len(sav_owner) + np.arange(len(cred_owner))

    # counterparties: merchants (half local to a community), billers, exchanges
    n_m = max(20, n // 100)
    n_b = max(5, n // 4000)
    n_x = max(3, n // 25_000)
    cp_kind = np.concatenate(
        [np.zeros(n_m, np.int8), np.ones(n_b, np.int8), np.full(n_x, 2, np.int8)]
    )
    cp_home = np.full(len(cp_kind), -1, np.int64)
    local = rng.random(n_m) < 0.5
    cp_home[:n_m][local] = comm[rng.integers(0, n, int(local.sum()))]

    return Population(
        n=n,
        comm=comm,
        n_comm=n_comm,
        members=members,
        comm_start=comm_start,
        comm_size=sizes,
        pos_in_comm=pos_in_comm,
        household=household,
        hh_size=hh_size,
        segment=segment,
        influencer=influencer,
        infl_items=infl_items,
        infl_start=infl_start,
        infl_count=infl_count,
        employers=employers,
        activity=activity,
        employed=employed,
        quiet=np.zeros(n, bool),
        first=first,
        last=last,
        phone_key=phone_key,
        address_key=address_key,
        acc_owner=acc_owner,
        acc_type=acc_type,
        acc_opened=acc_opened,
        savings=savings,
        credit=credit,
        cp_kind=cp_kind,
        cp_home=cp_home,
    )


def _influencer_index(comm: np.ndarray, influencer: np.ndarray, n_comm: int):
    idx = np.flatnonzero(influencer)
    order, start, count = group_index(comm[idx], n_comm)
    return idx[order], start, count
