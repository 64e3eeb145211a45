"""Innocent look-alikes of the planted typologies, so ring detection has something to get wrong.

Real banks are full of ordinary money movements with the shape of a laundering pattern.
Each decoy is a small group of ordinary customers from one community (never ring
members, synthetic identities or employers), using their everyday primary accounts. Their
sizes, amounts and time spans are drawn from ranges as wide as the rings' (the generator's
choices, see ``docs/GENERATOR.md``):

- ``bill_split`` (looks like a cycle): 3 to 8 friends pass a shared cost round the group in
  time order over 1 to 120 days, each passing on 95 to 100.5 % of what it received; 1 to 3
  rounds; 0.2x to 30x an everyday transfer.
- ``flat_share`` (looks like a fan-in that passes money on): 4 to 12 housemates pay their
  rent to one of them within two days at the start of every month, who pays 97 to 100 %
  of it to a biller (the letting agent) within two days.
- ``club`` (looks like a large fan-in): a treasurer collects a fee from 5 to 30 members
  over 1 to 60 days, then pays 90 to 100 % of it to a merchant (the venue) within 1 h to
  10 days; 1 to 3 events.
- ``treasurer`` (looks like scatter-gather): a treasurer gives 3 to 12 organisers a float
  over 1 to 60 days, and each pays 95 to 100 % of it to the same supplier (a business
  customer's account) within 1 h to 10 days.
- ``payout`` (looks like a fan-out that passes money on): an organiser reimburses 5 to 30
  people over 1 to 60 days; half to all of them pay 80 to 100 % of it on to a merchant or
  a biller within 1 h to 7 days.

Decoys are counted in the manifest (``planted.decoys``), never in ``truth/rings``. Loops
run per decoy group (hundreds per 100k customers), never per customer.
"""

from __future__ import annotations

import numpy as np

from graphprofile.generate.params import DAY, HOUR, BankParams, Txns, log_uniform, money
from graphprofile.generate.population import SEGMENTS, Population

DECOY_KINDS = ("bill_split", "flat_share", "club", "treasurer", "payout")


def _group(rng: np.random.Generator, pop: Population, ok: np.ndarray, k: int) -> np.ndarray | None:
    """``k`` distinct eligible customers from one random community (None if too small)."""
    for _ in range(20):
        c = int(pop.comm[rng.integers(0, pop.n)])
        mem = pop.members[pop.comm_start[c] : pop.comm_start[c] + pop.comm_size[c]]
        mem = mem[ok[mem]]
        if len(mem) >= k:
            return rng.choice(mem, k, replace=False)
    return None


def _hours(rng: np.random.Generator, lo: float, hi: float, size: int) -> np.ndarray:
    return (rng.uniform(lo, hi, size) * HOUR).astype(np.int64)


def _seconds(rng: np.random.Generator, lo_days: float, hi_days: float, size: int) -> np.ndarray:
    """Log-uniform durations in seconds."""
    return (log_uniform(rng, lo_days, hi_days, size) * DAY).astype(np.int64)


def _start(rng: np.random.Generator, p: BankParams, window: int) -> int:
    """A start time leaving ``window`` plus ten days before the end of the data."""
    latest = p.t1 - p.t0 - window - 10 * DAY
    return p.t0 + int(rng.integers(0, max(latest, 1)))


def plant_decoys(
    rng: np.random.Generator, p: BankParams, pop: Population, ring_of: np.ndarray
) -> tuple[Txns, dict[str, dict[str, int]]]:
    """Decoy transactions and ``{kind: {"groups", "customers"}}`` counts.

    Parameters
    ----------
    rng : numpy.random.Generator
        The decoy stream.
    p : BankParams
        ``decoys_per_100k`` sets the number of groups of each kind.
    pop : Population
        Customers, communities and counterparties (not modified).
    ring_of : numpy.ndarray
        Ring number per customer (-1 outside rings); ring members are never decoys.
    """
    ok = (ring_of < 0) & ~pop.quiet & ~pop.influencer & (pop.segment != SEGMENTS.index("business"))
    ok[pop.employers] = False
    billers, merchants = pop.cps("biller"), pop.cps("merchant")
    suppliers = pop.employers
    span = p.t1 - p.t0
    long = min(120.0, 0.6 * span / DAY)  # longest decoy span, days
    mid = min(60.0, 0.6 * span / DAY)
    months = p.t0 + np.round(np.arange(p.months) * 30.4).astype(np.int64) * DAY
    parts: list[Txns] = []
    counts: dict[str, dict[str, int]] = {}
    for kind in DECOY_KINDS:
        n_groups = round(p.decoys_per_100k.get(kind, 0) * p.customers / 100_000)
        made, people = 0, 0
        for _ in range(n_groups):  # loops over decoy groups only
            if kind == "bill_split":
                g = _group(rng, pop, ok, int(rng.integers(3, 9)))
                if g is None:
                    continue
                rounds = int(rng.integers(1, 4))
                window = int(_seconds(rng, 1.0, long, 1)[0])
                ts = (
                    _start(rng, p, window)
                    + np.sort(rng.integers(0, window, rounds * len(g)))
                    + np.arange(rounds * len(g))
                )
                src, dst, amt = [], [], []
                base = p.p2p_amount * float(log_uniform(rng, 0.2, 30.0))
                for _round in range(rounds):
                    a = float(money(rng, base, 0.3, 1)[0])
                    order = rng.permutation(g)
                    for hop in range(len(order)):
                        src.append(order[hop])
                        dst.append(order[(hop + 1) % len(order)])
                        amt.append(round(a, 2))
                        a *= rng.uniform(0.95, 1.005)
                parts.append(Txns.make(np.array(src), np.array(amt), ts, dst=np.array(dst)))
            elif kind == "flat_share":
                g = _group(rng, pop, ok, int(rng.integers(5, 13)))
                if g is None:
                    continue
                collector, mates = g[0], g[1:]
                rent = money(rng, 450.0, 0.3, len(mates))
                agent = rng.choice(billers)
                for ms in months:
                    ts = ms + _hours(rng, 0.0, 48.0, len(mates))
                    amt = np.round(rent * (1 + rng.normal(0, 0.01, len(mates))), 2)
                    parts.append(Txns.make(mates, amt, ts, dst=np.full(len(mates), collector)))
                    out_ts = int(ts.max()) + int(_hours(rng, 2.0, 48.0, 1)[0])
                    total = round(float(amt.sum()) * rng.uniform(0.97, 1.0), 2)
                    parts.append(
                        Txns.make(np.array([collector]), np.array([total]), np.array([out_ts]),
                                  cp=np.array([agent]))
                    )  # fmt: skip
            elif kind == "club":
                g = _group(rng, pop, ok, int(rng.integers(6, 32)))
                if g is None:
                    continue
                treasurer, mem = g[0], g[1:]
                venue = rng.choice(merchants)
                for _event in range(int(rng.integers(1, 4))):
                    window = int(_seconds(rng, 1.0, mid, 1)[0])
                    t = _start(rng, p, window)
                    fee = float(money(rng, p.p2p_amount * log_uniform(rng, 0.5, 20.0), 0.3, 1)[0])
                    ts = t + rng.integers(0, window, len(mem))
                    amt = np.round(np.full(len(mem), fee) * rng.uniform(1.0, 1.1, len(mem)), 2)
                    parts.append(Txns.make(mem, amt, ts, dst=np.full(len(mem), treasurer)))
                    out_ts = int(ts.max()) + int(_seconds(rng, 0.04, 10.0, 1)[0])
                    total = round(float(amt.sum()) * rng.uniform(0.9, 1.0), 2)
                    parts.append(
                        Txns.make(np.array([treasurer]), np.array([total]), np.array([out_ts]),
                                  cp=np.array([venue]))
                    )  # fmt: skip
            elif kind == "treasurer":
                g = _group(rng, pop, ok, int(rng.integers(4, 14)))
                if g is None or len(suppliers) == 0:
                    continue
                boss, org = g[0], g[1:]
                sink = int(rng.choice(suppliers))
                window = int(_seconds(rng, 1.0, mid, 1)[0])
                ts1 = _start(rng, p, window) + rng.integers(0, window, len(org))
                amt1 = money(rng, p.p2p_amount * log_uniform(rng, 1.0, 50.0), 0.5, len(org))
                ts2 = ts1 + _seconds(rng, 0.04, 10.0, len(org))
                amt2 = np.round(amt1 * rng.uniform(0.95, 1.0, len(org)), 2)
                parts.append(Txns.make(np.full(len(org), boss), amt1, ts1, dst=org))
                parts.append(Txns.make(org, amt2, ts2, dst=np.full(len(org), sink)))
            else:  # payout
                g = _group(rng, pop, ok, int(rng.integers(6, 32)))
                if g is None:
                    continue
                payer, who = g[0], g[1:]
                window = int(_seconds(rng, 1.0, mid, 1)[0])
                ts = _start(rng, p, window) + rng.integers(0, window, len(who))
                amt = money(rng, p.p2p_amount * log_uniform(rng, 0.5, 30.0), 0.5, len(who))
                parts.append(Txns.make(np.full(len(who), payer), amt, ts, dst=who))
                on = rng.random(len(who)) < rng.uniform(0.5, 1.0)
                k = int(on.sum())
                shops = np.concatenate([merchants, billers])
                parts.append(
                    Txns.make(who[on], np.round(amt[on] * rng.uniform(0.8, 1.0, k), 2),
                              ts[on] + _seconds(rng, 0.04, 7.0, k), cp=rng.choice(shops, k))
                )  # fmt: skip
            made += 1
            people += len(g)
        counts[kind] = {"groups": made, "customers": people}
    if not parts:
        return Txns.concat([Txns.make(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64),
                                      dst=np.zeros(0, np.int64))]), counts  # fmt: skip
    txns = Txns.concat(parts)
    keep = (txns.ts >= pop.acc_opened[txns.src]) & (txns.ts < p.t1)
    keep &= (txns.dst < 0) | (txns.ts >= pop.acc_opened[np.maximum(txns.dst, 0)])
    return txns.where(keep), counts
