"""Planted fraud rings: synthetic identities and money-flow typologies.

The shapes are those of the public AML simulators' typologies (e.g. IBM AMLSim):
time-ordered cycles that keep back a fee per hop, fan-in from many senders to one collector
that passes the money on, fan-out from one source to recipients that cash out,
scatter-gather from a source through intermediates to a sink, a bipartite layer (a group of
accounts each paying many of another group) and a stack (two or three such layers chained,
each layer passing on what it received). Each ring draws its own
style -- amounts from a fifth to a hundred times an everyday transfer, a window from a day
to four months, fees, delays, how many members use a fresh account -- from the wide ranges
in :class:`~graphprofile.generate.params.BankParams`: these are the generator's choices, not
facts about fraud. Members on their everyday account keep transacting normally. Loops run
per ring or per hop (a few thousand at a million customers), never per customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from graphprofile.errors import ConfigError
from graphprofile.generate.params import (
    DAY,
    HOUR,
    PLANTED_KINDS,
    BankParams,
    Txns,
    log_uniform,
    money,
)
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
    rings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLANTED_KINDS, 0))

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
        if kind == "identity":
            out.append(int(rng.integers(3, 9)))
        elif kind == "cycle":
            out.append(int(rng.integers(3, 13)))
        elif kind in ("fan_in", "fan_out"):
            out.append(1 + int(rng.integers(5, 31)))
        elif kind == "bipartite":
            out.append(int(rng.integers(4, 13)))
        elif kind == "stack":
            out.append(int(rng.integers(6, 16)))
        else:
            out.append(2 + int(rng.integers(3, 13)))
    return out


@dataclass(frozen=True)
class Style:
    """What one ring draws from the generator's ranges (see :class:`BankParams`)."""

    amount: float  # typical amount of the ring's first transfers
    window: int  # seconds over which the whole ring acts
    fee: float  # most a hop keeps back
    pass_share: tuple[float, float]  # share of money passed on, per forward
    onward: tuple[float, float]  # delay before passing on, seconds (log-uniform)

    @classmethod
    def draw(cls, rng: np.random.Generator, p: BankParams) -> Style:
        span = p.t1 - p.t0
        window = int(min(log_uniform(rng, *p.ring_window_days) * DAY, 0.6 * span))
        fee = float(rng.uniform(*p.ring_hop_fee))
        lo_pass = float(rng.uniform(*p.ring_pass_share))
        return cls(
            amount=float(p.p2p_amount * log_uniform(rng, *p.ring_amount_scale)),
            window=max(window, HOUR),
            fee=fee,
            pass_share=(lo_pass, max(lo_pass, p.ring_pass_share[1])),
            onward=(p.ring_onward_days[0] * DAY, p.ring_onward_days[1] * DAY),
        )

    def amounts(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Amounts around the ring's typical one (lognormal, sigma 0.4)."""
        return money(rng, self.amount, 0.4, size)

    def delays(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Seconds before money received is passed on."""
        return log_uniform(rng, *self.onward, size).astype(np.int64)

    def kept(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Share of an amount a hop passes on (it keeps back a fee of up to ``fee``)."""
        return 1.0 - rng.uniform(0.0, self.fee, size)


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
    thin activity; money-ring members may get a freshly opened account (which also pays a
    few merchants, like an everyday account).
    """
    plan = RingPlan()
    person = (pop.segment != SEGMENTS.index("business")) & ~pop.influencer
    taken = np.zeros(pop.n, bool)
    singles = _Pool(rng, np.flatnonzero(person & (pop.hh_size == 1)), taken)
    anyone = _Pool(rng, np.flatnonzero(person), taken)
    cash_cps = pop.cps("exchange")
    merchants = pop.cps("merchant")
    span = p.t1 - p.t0
    for kind in PLANTED_KINDS:
        for j, size in enumerate(_sizes(rng, p, kind)):
            rid = f"{kind}-{j + 1:04d}"
            plan.rings[kind] += 1
            style = Style.draw(rng, p)
            # the ring acts from t to t + window, and passing on may take a week more
            latest = span - style.window - int(style.onward[1]) - DAY
            t = p.t0 + int(rng.integers(0, max(latest, 1)))
            if kind == "identity":
                members = singles.take(size)
                _identity(rng, p, pop, plan, members, t, cash_cps, style)
                plan.add_row(rid, kind, members, np.full(size, -1))
                continue
            cash_account = kind == "fan_in" and rng.random() < 0.5
            members = anyone.take(size + cash_account)
            accs = _ring_accounts(rng, p, pop, plan, members, t, merchants)
            if kind == "cycle":
                txns = _cycle(rng, style, accs, t)
            elif kind == "fan_in":
                cash = accs[-1] if cash_account else -1
                txns = _fan_in(rng, style, accs[0], accs[1:size], cash, t, cash_cps)
            elif kind == "fan_out":
                txns = _fan_out(rng, style, accs[0], accs[1:], t, cash_cps)
            elif kind in ("bipartite", "stack"):
                n_layers = 2 if kind == "bipartite" else int(rng.integers(3, min(4, size // 2) + 1))
                txns = _layers(rng, style, np.array_split(accs, n_layers), t)
            else:
                txns = _scatter_gather(rng, style, accs[0], accs[1:-1], accs[-1], t)
            plan.txns.append(txns)
            plan.add_row(rid, kind, members, accs)
    return plan


def _ring_accounts(
    rng: np.random.Generator,
    p: BankParams,
    pop: Population,
    plan: RingPlan,
    members: np.ndarray,
    t: int,
    merchants: np.ndarray,
) -> np.ndarray:
    """The account each member uses: a fresh one (opened before ``t``) or its primary.

    The share of members on a fresh account is drawn per ring. A fresh account is opened 1
    to 120 days before the ring acts and also pays a few merchants up to the window's end,
    so it is not used for the ring alone.
    """
    accs = members.copy()
    new = rng.random(len(members)) < rng.uniform(*p.ring_new_account_share)
    k = int(new.sum())
    if k:
        opened = t - (log_uniform(rng, 1.0, 120.0, k) * DAY).astype(np.int64)
        fresh = pop.add_accounts(members[new], "checking", opened)
        accs[new] = fresh
        uses = rng.poisson(3.0, k)
        src = np.repeat(fresh, uses)
        lo = np.repeat(opened, uses)
        ts = lo + (rng.random(len(src)) * (p.t1 - lo)).astype(np.int64)
        plan.txns.append(
            Txns.make(src, money(rng, 28.0, 0.8, len(src)), ts, cp=rng.choice(merchants, len(src)))
        )
    return accs


def _times(rng: np.random.Generator, t: int, window: int, size: int) -> np.ndarray:
    """``size`` strictly increasing epoch seconds spread over ``[t, t + window]``."""
    return t + np.sort(rng.integers(0, max(window - size, 1), size)) + np.arange(size)


def _cycle(rng: np.random.Generator, style: Style, accs: np.ndarray, t: int) -> Txns:
    """1-3 rounds of money going once around ``accs`` in time order over the window.

    Each hop passes on what it received less a fee of up to ``style.fee``.
    """
    k = len(accs)
    rounds = int(rng.integers(1, 4))
    ts = _times(rng, t, style.window, rounds * k)
    amt = np.empty(rounds * k)
    for r in range(rounds):
        a = float(style.amounts(rng, 1)[0])
        keep = np.concatenate([[1.0], style.kept(rng, k - 1)])
        amt[r * k : (r + 1) * k] = np.round(a * np.cumprod(keep), 2)
    src = np.tile(accs, rounds)
    dst = np.tile(np.roll(accs, -1), rounds)
    return Txns.make(src, np.maximum(amt, 1.0), ts, dst=dst)


def _fan_in(
    rng: np.random.Generator,
    style: Style,
    hub: int,
    senders: np.ndarray,
    cash_account: int,
    t: int,
    cash_cps: np.ndarray,
) -> Txns:
    """Senders pay the hub over the window; the hub passes most of it on in 1-4 batches.

    Each batch forwards its receipts (less what the hub keeps) after a delay, to a cash-out
    counterparty or, when given, a ring member's cash account.
    """
    m = len(senders)
    ts = _times(rng, t, style.window, m)
    amt = style.amounts(rng, m)
    parts = [Txns.make(senders, amt, ts, dst=np.full(m, hub))]
    n_out = int(rng.integers(1, min(4, m) + 1))
    cuts = np.sort(rng.choice(np.arange(1, m), n_out - 1, replace=False)) if n_out > 1 else []
    batches = np.split(np.arange(m), cuts)
    out_amt = np.array([amt[b].sum() for b in batches]) * rng.uniform(*style.pass_share, n_out)
    out_ts = np.array([ts[b[-1]] for b in batches]) + style.delays(rng, n_out)
    src = np.full(n_out, hub)
    out_amt = np.round(out_amt, 2)
    if cash_account >= 0:
        parts.append(Txns.make(src, out_amt, out_ts, dst=np.full(n_out, cash_account)))
    else:
        parts.append(Txns.make(src, out_amt, out_ts, cp=np.full(n_out, rng.choice(cash_cps))))
    return Txns.concat(parts)


def _fan_out(
    rng: np.random.Generator,
    style: Style,
    source: int,
    recipients: np.ndarray,
    t: int,
    cash_cps: np.ndarray,
) -> Txns:
    """The source pays every recipient over the window; most recipients cash it out.

    The share of recipients that pass the money on is drawn per ring (half to all).
    """
    m = len(recipients)
    ts = _times(rng, t, style.window, m)
    amt = style.amounts(rng, m)
    out = rng.random(m) < rng.uniform(0.5, 1.0)
    k = int(out.sum())
    cash_ts = ts[out] + style.delays(rng, k)
    cash_amt = np.round(amt[out] * rng.uniform(*style.pass_share, k), 2)
    cps = rng.choice(cash_cps, k)
    return Txns.concat(
        [
            Txns.make(np.full(m, source), amt, ts, dst=recipients),
            Txns.make(recipients[out], cash_amt, cash_ts, cp=cps),
        ]
    )


def _scatter_gather(
    rng: np.random.Generator,
    style: Style,
    source: int,
    middle: np.ndarray,
    sink: int,
    t: int,
) -> Txns:
    """Source -> each intermediate -> sink over the window, each forward less a fee."""
    m = len(middle)
    ts1 = t + rng.integers(0, max(style.window // 2, 1), m)
    amt1 = style.amounts(rng, m)
    ts2 = ts1 + np.minimum(style.delays(rng, m), max(style.window // 2, HOUR))
    amt2 = np.round(amt1 * style.kept(rng, m), 2)
    return Txns.concat(
        [
            Txns.make(np.full(m, source), amt1, ts1, dst=middle),
            Txns.make(middle, amt2, ts2, dst=np.full(m, sink)),
        ]
    )


def _layers(rng: np.random.Generator, style: Style, layers: list[np.ndarray], t: int) -> Txns:
    """Money passed from layer to layer: each account pays many accounts of the next layer.

    Layer ``i`` acts in the ``i``-th slice of the window. The first layer pays amounts around
    the ring's typical one; every later account splits what it received (less a fee of up to
    ``style.fee``) over its payees in the next layer after a delay. Each account pays a share
    of the next layer drawn per ring (more than half to all of it, at least two accounts;
    AMLSim's bipartite layer is complete).
    """
    density = float(rng.uniform(0.5, 1.0))
    got = np.zeros(0)
    parts = []
    slot = max(style.window // (len(layers) - 1), HOUR)
    for i, (payers, payees) in enumerate(pairwise(layers)):
        # more than half the next layer each, so any two payers share two payees or more
        m = len(payees)
        k = min(m, max(2, (m + 3) // 2, round(density * m)))
        src = np.repeat(payers, k)
        dst = np.concatenate([rng.choice(payees, k, replace=False) for _ in payers])
        if i == 0:
            amt = style.amounts(rng, len(src))
        else:  # pass on what each payer received, less a fee, split over its payees
            amt = np.repeat(got * style.kept(rng, len(payers)) / k, k)
        ts = t + i * slot + rng.integers(0, slot, len(src))
        if i > 0:
            ts = ts + style.delays(rng, len(src)) // 4
        amt = np.maximum(np.round(amt, 2), 1.0)
        parts.append(Txns.make(src, amt, ts, dst=dst))
        got = np.array([amt[dst == a].sum() for a in payees])  # per payee (a few dozen)
    return Txns.concat(parts)


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
    style: Style,
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

    # bust-out: transfers inside the ring over the window, then cash-out to an exchange
    k = 1 + rng.integers(0, 2, m)
    src = np.repeat(members, k)
    shift = rng.integers(1, m, len(src))
    pos = np.repeat(np.arange(m), k)
    dst = members[(pos + shift) % m]
    ts = t + rng.integers(0, style.window, len(src))
    out = rng.random(m) < 0.7
    n_out = int(out.sum())
    plan.txns.append(
        Txns.concat(
            [
                Txns.make(src, style.amounts(rng, len(src)), ts, dst=dst),
                Txns.make(
                    members[out],
                    style.amounts(rng, n_out) * 2.5,
                    t + style.window + style.delays(rng, n_out),
                    cp=rng.choice(cash_cps, n_out),
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
