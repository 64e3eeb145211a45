"""Planted fraud rings: synthetic identities and money-flow typologies.

The shapes are those of the public AML simulators' typologies (e.g. IBM AMLSim), planted
the way this generator chooses: time-ordered cycles whose amounts shrink a little per hop,
fan-in from many senders to one collector in a short window then a cash-out, fan-out from
one source to many within a window, scatter-gather from a source through intermediates to a
sink. These are the generator's choices, not facts about fraud: laundering elsewhere (AMLSim
included) spreads a pattern over months, moves everyday or small amounts and mixes in the
members' ordinary activity; ``benchmarks/QUALITY.md`` measures detection on such data.
Loops here run per ring or per hop (a few thousand at a million customers), never per
customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphprofile.errors import ConfigError
from graphprofile.generate.params import DAY, HOUR, RING_KINDS, BankParams, Txns, money
from graphprofile.generate.population import SEGMENTS, Population


@dataclass
class RingPlan:
    """Ring membership (truth rows), ring transactions and ring device uses."""

    ring_id: list[str] = field(default_factory=list)  # one entry per truth row
    kind: list[str] = field(default_factory=list)
    customer: list[int] = field(default_factory=list)
    account: list[int] = field(default_factory=list)  # -1 for customer-level rings
    txns: list[Txns] = field(default_factory=list)
    dev_customer: list[np.ndarray] = field(default_factory=list)
    dev_local: list[np.ndarray] = field(default_factory=list)  # ring device number
    dev_ts: list[np.ndarray] = field(default_factory=list)
    dev_ip: list[np.ndarray] = field(default_factory=list)  # ring IP number
    n_devices: int = 0
    rings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RING_KINDS, 0))

    def add_row(self, rid: str, kind: str, customers: np.ndarray, accounts: np.ndarray) -> None:
        """Record the members of one ring in truth order."""
        self.ring_id += [rid] * len(customers)
        self.kind += [kind] * len(customers)
        self.customer += [int(c) for c in customers]
        self.account += [int(a) for a in accounts]

    def ring_of(self, n: int) -> np.ndarray:
        """Ring number of each customer, ``-1`` outside rings."""
        out = np.full(n, -1, np.int64)
        codes = {rid: i for i, rid in enumerate(dict.fromkeys(self.ring_id))}
        out[np.asarray(self.customer, np.int64)] = [codes[r] for r in self.ring_id]
        return out

    def all_txns(self) -> Txns:
        """Every planted ring transaction."""
        return Txns.concat(self.txns)


def _sizes(rng: np.random.Generator, p: BankParams, kind: str) -> list[int]:
    """Ring sizes (accounts) for one kind until its share of the budget is used."""
    budget = p.ring_share * p.customers * p.ring_kind_weights[kind]
    out: list[int] = []
    while sum(out) < budget or len(out) < p.rings_floor:
        if kind in ("identity", "cycle"):
            out.append(int(rng.integers(3, 9)))
        elif kind in ("fan_in", "fan_out"):
            out.append(1 + int(rng.integers(10, 31)))
        else:
            out.append(2 + int(rng.integers(3, 13)))
    return out


class _Pool:
    """Hands out distinct customers from a shuffled candidate list."""

    def __init__(self, rng: np.random.Generator, candidates: np.ndarray, taken: np.ndarray):
        self.items = rng.permutation(candidates)
        self.taken = taken
        self.pos = 0

    def take(self, k: int) -> np.ndarray:
        out: list[int] = []
        while len(out) < k:
            if self.pos >= len(self.items):
                raise ConfigError("too few customers for the planted rings: raise --customers")
            c = int(self.items[self.pos])
            self.pos += 1
            if not self.taken[c]:
                self.taken[c] = True
                out.append(c)
        return np.asarray(out, np.int64)


def plan_rings(rng: np.random.Generator, p: BankParams, pop: Population) -> RingPlan:
    """Choose ring members, open their accounts and plant the ring transactions.

    Mutates ``pop``: synthetic identities get recent accounts, shared phones/addresses and
    thin activity; money-ring members may get a freshly opened account.
    """
    plan = RingPlan()
    person = (pop.segment != SEGMENTS.index("business")) & ~pop.influencer
    taken = np.zeros(pop.n, bool)
    singles = _Pool(rng, np.flatnonzero(person & (pop.hh_size == 1)), taken)
    anyone = _Pool(rng, np.flatnonzero(person), taken)
    cash_cps = pop.cps("exchange")
    span = p.t1 - p.t0
    for kind in RING_KINDS:
        for j, size in enumerate(_sizes(rng, p, kind)):
            rid = f"{kind}-{j + 1:04d}"
            plan.rings[kind] += 1
            t = p.t0 + int(rng.integers(20 * DAY, span - 25 * DAY))
            if kind == "identity":
                members = singles.take(size)
                _identity(rng, p, pop, plan, members, t, cash_cps)
                plan.add_row(rid, kind, members, np.full(size, -1))
                continue
            cash_account = kind == "fan_in" and rng.random() < 0.5
            members = anyone.take(size + cash_account)
            accs = _ring_accounts(rng, p, pop, members, t)
            if kind == "cycle":
                txns = _cycle(rng, p, accs, t)
            elif kind == "fan_in":
                cash = accs[-1] if cash_account else -1
                txns = _fan_in(rng, p, accs[0], accs[1:size], cash, t, cash_cps)
            elif kind == "fan_out":
                txns = _fan_out(rng, p, accs[0], accs[1:], t, cash_cps)
            else:
                txns = _scatter_gather(rng, p, accs[0], accs[1:-1], accs[-1], t)
            plan.txns.append(txns)
            plan.add_row(rid, kind, members, accs)
    return plan


def _ring_accounts(
    rng: np.random.Generator, p: BankParams, pop: Population, members: np.ndarray, t: int
) -> np.ndarray:
    """The account each member uses: a fresh one (opened days before ``t``) or its primary."""
    accs = members.copy()
    new = rng.random(len(members)) < p.ring_new_account_share
    if new.any():
        opened = t - rng.integers(5 * DAY, 60 * DAY, int(new.sum()))
        accs[new] = pop.add_accounts(members[new], "checking", opened)
    return accs


def _hours(rng: np.random.Generator, lo: float, hi: float, size: int | None = None):
    return np.asarray(rng.uniform(lo, hi, size) * HOUR).astype(np.int64)


def _cycle(rng: np.random.Generator, p: BankParams, accs: np.ndarray, t: int) -> Txns:
    """1-3 rounds of money going once around ``accs``; each hop keeps 95-99 %."""
    k = len(accs)
    src, dst, amt, ts = [], [], [], []
    lo_h, hi_h = p.cycle_hop_hours
    for _ in range(int(rng.integers(1, 4))):
        if t + k * hi_h * HOUR >= p.t1:
            break
        a = float(money(rng, 4000.0, 0.5, 1)[0])
        for hop in range(k):
            src.append(accs[hop])
            dst.append(accs[(hop + 1) % k])
            amt.append(a)
            ts.append(t)
            t += int(_hours(rng, lo_h, hi_h))
            a = round(a * (1.0 - rng.uniform(*p.cycle_decay)), 2)
        t += int(rng.integers(14 * DAY, 30 * DAY))
    return Txns.make(np.array(src), np.array(amt), np.array(ts), dst=np.array(dst))


def _fan_in(
    rng: np.random.Generator,
    p: BankParams,
    hub: int,
    senders: np.ndarray,
    cash_account: int,
    t: int,
    cash_cps: np.ndarray,
) -> Txns:
    """Senders pay the hub within the window; the hub then cashes out 92-98 % onward."""
    m = len(senders)
    window = _hours(rng, 6.0, p.fan_window_hours)
    ts = t + np.sort(rng.integers(0, window, m))
    amt = money(rng, 800.0, 0.4, m)
    parts = [Txns.make(senders, amt, ts, dst=np.full(m, hub))]
    n_out = int(rng.integers(1, 4))
    total = amt.sum() * rng.uniform(0.92, 0.98)
    out_amt = np.round(np.full(n_out, total / n_out), 2)
    out_ts = int(ts[-1]) + np.cumsum(_hours(rng, 2.0, 24.0, n_out))
    src = np.full(n_out, hub)
    if cash_account >= 0:
        parts.append(Txns.make(src, out_amt, out_ts, dst=np.full(n_out, cash_account)))
    else:
        parts.append(Txns.make(src, out_amt, out_ts, cp=np.full(n_out, rng.choice(cash_cps))))
    return Txns.concat(parts)


def _fan_out(
    rng: np.random.Generator,
    p: BankParams,
    source: int,
    recipients: np.ndarray,
    t: int,
    cash_cps: np.ndarray,
) -> Txns:
    """The source pays every recipient within the window; most recipients cash out."""
    m = len(recipients)
    window = _hours(rng, 6.0, p.fan_window_hours)
    ts = t + np.sort(rng.integers(0, window, m))
    amt = money(rng, 900.0, 0.4, m)
    out = rng.random(m) < 0.7
    cash_ts = ts[out] + _hours(rng, 2.0, 96.0, int(out.sum()))
    cash_amt = np.round(amt[out] * rng.uniform(0.85, 0.95, int(out.sum())), 2)
    cps = rng.choice(cash_cps, int(out.sum()))
    return Txns.concat(
        [
            Txns.make(np.full(m, source), amt, ts, dst=recipients),
            Txns.make(recipients[out], cash_amt, cash_ts, cp=cps),
        ]
    )


def _scatter_gather(
    rng: np.random.Generator,
    p: BankParams,
    source: int,
    middle: np.ndarray,
    sink: int,
    t: int,
) -> Txns:
    """Source → each intermediate → sink inside the window, each forward keeps 95-99 %."""
    m = len(middle)
    window = p.fan_window_hours * HOUR
    ts1 = t + rng.integers(0, int(window / 3), m)
    amt1 = money(rng, 2000.0, 0.4, m)
    ts2 = ts1 + rng.integers(HOUR, int(2 * window / 3), m)
    amt2 = np.round(amt1 * (1.0 - rng.uniform(*p.cycle_decay, m)), 2)
    return Txns.concat(
        [
            Txns.make(np.full(m, source), amt1, ts1, dst=middle),
            Txns.make(middle, amt2, ts2, dst=np.full(m, sink)),
        ]
    )


def _subset(rng: np.random.Generator, m: int) -> np.ndarray:
    """All members (half the time) or a random subset of at least two."""
    if rng.random() < 0.5:
        return np.ones(m, bool)
    mask = np.zeros(m, bool)
    mask[rng.choice(m, int(rng.integers(2, m + 1)), replace=False)] = True
    return mask


def _identity(
    rng: np.random.Generator,
    p: BankParams,
    pop: Population,
    plan: RingPlan,
    members: np.ndarray,
    t: int,
    cash_cps: np.ndarray,
) -> None:
    """Synthetic identities: recent accounts, shared device, phone and address, bust-out."""
    m = len(members)
    r = plan.rings["identity"]  # 1-based number of this identity ring
    n = pop.n
    pop.phone_key[members[_subset(rng, m)]] = 2 * n + r
    pop.address_key[members[_subset(rng, m)]] = n + r  # households are numbered below n
    pop.quiet[members] = True
    pop.employed[members] = False
    pop.activity[members] *= 0.2
    owned = np.concatenate([members, pop.savings[members], pop.credit[members]])
    owned = owned[owned >= 0]
    pop.acc_opened[owned] = p.t0 - rng.integers(10 * DAY, 120 * DAY, len(owned))

    # one device used by every member, sometimes a second one used by a subset
    users = [np.ones(m, bool)] + ([_subset(rng, m)] if rng.random() < 0.4 else [])
    for mask in users:
        who = members[mask]
        uses = 1 + rng.poisson(2.0, len(who))
        cust = np.repeat(who, uses)
        plan.dev_customer.append(cust)
        plan.dev_local.append(np.full(len(cust), plan.n_devices))
        plan.dev_ts.append(p.t0 + rng.integers(0, p.t1 - p.t0, len(cust)))
        plan.dev_ip.append(np.full(len(cust), r))
        plan.n_devices += 1

    # bust-out: transfers inside the ring within two weeks, then cash-out to an exchange
    k = 1 + rng.integers(0, 2, m)
    src = np.repeat(members, k)
    shift = rng.integers(1, m, len(src))
    pos = np.repeat(np.arange(m), k)
    dst = members[(pos + shift) % m]
    ts = t + rng.integers(0, 14 * DAY, len(src))
    out = rng.random(m) < 0.7
    plan.txns.append(
        Txns.concat(
            [
                Txns.make(src, money(rng, 600.0, 0.5, len(src)), ts, dst=dst),
                Txns.make(
                    members[out],
                    money(rng, 1500.0, 0.5, int(out.sum())),
                    t + 14 * DAY + rng.integers(0, 3 * DAY, int(out.sum())),
                    cp=rng.choice(cash_cps, int(out.sum())),
                ),
            ]
        )
    )


def known_fraud(
    rng: np.random.Generator, p: BankParams, pop: Population, plan: RingPlan
) -> tuple[np.ndarray, int, int]:
    """Flag a few percent of ring members and a few innocent customers as known fraud.

    Returns the flag per customer and the number of flagged ring members and innocents.
    """
    flag = np.zeros(pop.n, bool)
    ring_members = np.unique(np.asarray(plan.customer, np.int64))
    k = max(1, round(p.known_fraud_ring_share * len(ring_members)))
    flag[rng.choice(ring_members, k, replace=False)] = True
    innocent = np.setdiff1d(np.flatnonzero(pop.segment != SEGMENTS.index("business")), ring_members)
    k_inn = max(1, round(p.known_fraud_innocent_share * pop.n))
    flag[rng.choice(innocent, k_inn, replace=False)] = True
    return flag, k, k_inn
