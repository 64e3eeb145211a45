"""Everyday money movement: P2P among friends, payroll, bills, card spending, savings.

Every function draws whole arrays at once; the only Python loops run over the months
of the window.
"""

from __future__ import annotations

import numpy as np

from graphprofile.generate.params import (
    DAY,
    HOUR,
    BankParams,
    Txns,
    group_index,
    money,
    pick_in_group,
    pick_weighted,
    random_times,
    time_of_day,
    zipf_weights,
)
from graphprofile.generate.population import SEGMENTS, Population


def month_starts(p: BankParams) -> np.ndarray:
    """Epoch seconds of the first day of each month of the window."""
    return p.t0 + np.round(np.arange(p.months) * 30.4).astype(np.int64) * DAY


def contacts(
    rng: np.random.Generator, p: BankParams, pop: Population, ring_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Directed P2P contact pairs ``(sender, receiver)``, sorted by sender, no duplicates.

    Most contacts stay inside the sender's community and a share of those go to the
    community's hubs; some are reciprocated; family members pay each other. Pairs inside
    one ring and pairs touching a synthetic identity are left out (rings get their own
    flows only).
    """
    n = pop.n
    senders = np.flatnonzero(pop.activity > 0)
    s = np.repeat(senders, 1 + rng.poisson(p.contacts_per_customer * pop.activity[senders]))
    d = rng.integers(0, n, len(s))
    within = rng.random(len(s)) < p.p2p_within
    ws = s[within]
    c = pop.comm[ws]
    j = (rng.random(len(ws)) * (pop.comm_size[c] - 1)).astype(np.int64)
    j += j >= pop.pos_in_comm[ws]
    mate = pop.members[pop.comm_start[c] + j]
    hub = pick_in_group(rng, c, pop.infl_start, pop.infl_count, pop.infl_items)
    to_hub = (rng.random(len(ws)) < p.influencer_share) & (hub >= 0)
    d[within] = np.where(to_hub, hub, mate)
    rec = rng.random(len(s)) < p.reciprocal_share
    s, d = np.concatenate([s, d[rec]]), np.concatenate([d, s[rec]])

    # families: each member pays the next one in the household (a cycle of 2-5)
    by_hh = np.argsort(pop.household, kind="stable")
    hh = pop.household[by_hh]
    first = np.searchsorted(hh, hh, side="left")
    nxt = np.arange(n) + 1
    wrap = (nxt >= n) | (hh[np.minimum(nxt, n - 1)] != hh)
    nxt[wrap] = first[wrap]
    fam = pop.hh_size[by_hh] >= 2
    s = np.concatenate([s, by_hh[fam]])
    d = np.concatenate([d, by_hh[nxt[fam]]])

    keep = (s != d) & ~pop.quiet[s] & ~pop.quiet[d]
    keep &= ~((ring_of[s] == ring_of[d]) & (ring_of[s] >= 0))
    key = np.unique(s[keep] * n + d[keep])
    return key // n, key % n


def p2p(rng: np.random.Generator, p: BankParams, pop: Population, ring_of: np.ndarray) -> Txns:
    """P2P transfers, each to one of the sender's contacts, spread over the window."""
    n = pop.n
    s, d = contacts(rng, p, pop, ring_of)
    deg = np.bincount(s, minlength=n)
    start = np.concatenate(([0], np.cumsum(deg)[:-1]))
    cnt = rng.poisson(p.p2p_per_customer * pop.activity) * (deg > 0)
    who = np.repeat(np.arange(n), cnt)
    e = start[who] + (rng.random(len(who)) * deg[who]).astype(np.int64)
    amt = money(rng, p.p2p_amount, 0.9, len(who))
    amt[pop.segment[who] == SEGMENTS.index("premium")] *= 2
    return Txns.make(who, np.round(amt, 2), random_times(rng, p, len(who)), dst=d[e])


def payroll(rng: np.random.Generator, p: BankParams, pop: Population) -> Txns:
    """Monthly salaries from employer (business) accounts, mostly local employers."""
    emp = np.flatnonzero(pop.employed)
    boss = pop.employers
    items, start, count = group_index(pop.comm[boss], pop.n_comm)
    local = pick_in_group(rng, pop.comm[emp], start, count, boss[items])
    glob = boss[pick_weighted(rng, zipf_weights(rng, len(boss), 1.0), len(emp))]
    use_local = (rng.random(len(emp)) < p.local_employer_share) & (local >= 0)
    employer = np.where(use_local, local, glob)
    base = rng.lognormal(np.log(2300.0), 0.35, len(emp))
    seg = pop.segment[emp]
    base[seg == SEGMENTS.index("premium")] *= 1.8
    base[seg == SEGMENTS.index("student")] *= 0.4
    payday = rng.integers(23, 29, pop.n)  # per employer
    batch = rng.integers(HOUR, 6 * HOUR, pop.n)  # payroll run time per employer
    parts = []
    for ms in month_starts(p):
        ts = ms + (payday[employer] - 1) * DAY + batch[employer] + rng.integers(0, 600, len(emp))
        amt = np.round(base * (1 + rng.normal(0, 0.02, len(emp))), 2)
        parts.append(Txns.make(employer, np.maximum(amt, 1.0), ts, dst=emp))
    return Txns.concat(parts)


def bills(rng: np.random.Generator, p: BankParams, pop: Population) -> Txns:
    """Monthly direct debits to billers (utilities, telecoms, rent, insurance)."""
    billers = pop.cps("biller")
    n_pairs = np.minimum(rng.poisson(p.bills_per_customer, pop.n), 3) * ~pop.quiet
    payer = np.repeat(np.arange(pop.n), n_pairs)
    biller = billers[pick_weighted(rng, zipf_weights(rng, len(billers), 0.8), len(payer))]
    base = rng.lognormal(np.log(65.0), 0.6, len(payer))
    varies = rng.random(len(payer)) < 0.5  # metered utilities vary, subscriptions do not
    day = rng.integers(1, 29, len(payer))
    parts = []
    for ms in month_starts(p):
        ts = ms + (day - 1) * DAY + time_of_day(rng, len(payer), 6.0, 1.5)
        amt = base * np.where(varies, 1 + rng.normal(0, 0.08, len(payer)), 1.0)
        parts.append(Txns.make(payer, np.maximum(np.round(amt, 2), 1.0), ts, cp=biller))
    return Txns.concat(parts)


def card_spend(rng: np.random.Generator, p: BankParams, pop: Population) -> Txns:
    """Card payments to merchants: local shops of the community or big chains."""
    merchants = pop.cps("merchant")
    act = np.clip(np.where(pop.activity > 0, pop.activity, 1.0), 0.2, 3.0)
    cnt = rng.poisson(p.merchant_per_customer * act)
    buyer = np.repeat(np.arange(pop.n), cnt)
    home = pop.cp_home[merchants]
    is_local = home >= 0
    items, start, count = group_index(home[is_local], pop.n_comm)
    local = pick_in_group(rng, pop.comm[buyer], start, count, merchants[is_local][items])
    chain = merchants[pick_weighted(rng, zipf_weights(rng, len(merchants), 1.1), len(buyer))]
    use_local = (rng.random(len(buyer)) < p.local_merchant_share) & (local >= 0)
    cp = np.where(use_local, local, chain)
    card = pop.credit[buyer]
    src = np.where((card >= 0) & (rng.random(len(buyer)) < 0.5), card, buyer)
    return Txns.make(
        src, money(rng, 28.0, 0.8, len(buyer)), random_times(rng, p, len(buyer)), cp=cp
    )


def own_transfers(rng: np.random.Generator, p: BankParams, pop: Population) -> Txns:
    """Monthly moves to one's own savings and credit-card repayments."""
    saver = np.flatnonzero((pop.savings >= 0) & (rng.random(pop.n) < 0.5))
    payer = np.flatnonzero(pop.credit >= 0)
    s_amt = money(rng, 250.0, 0.7, len(saver))
    parts = []
    for ms in month_starts(p):
        ts = ms + 27 * DAY + time_of_day(rng, len(saver), 9.0, 2.0)
        parts.append(Txns.make(saver, s_amt, ts, dst=pop.savings[saver]))
        ts = ms + rng.integers(10, 20) * DAY + time_of_day(rng, len(payer), 8.0, 2.0)
        parts.append(
            Txns.make(payer, money(rng, 350.0, 0.7, len(payer)), ts, dst=pop.credit[payer])
        )
    return Txns.concat(parts)


def exchange_use(rng: np.random.Generator, p: BankParams, pop: Population) -> Txns:
    """A few percent of ordinary customers buy crypto or send money abroad."""
    users = np.flatnonzero(
        (rng.random(pop.n) < p.exchange_user_share)
        & (pop.segment != SEGMENTS.index("business"))
        & ~pop.quiet
    )
    who = np.repeat(users, rng.integers(1, 4, len(users)))
    cps = pop.cps("exchange")
    return Txns.make(
        who,
        money(rng, 200.0, 0.8, len(who)),
        random_times(rng, p, len(who)),
        cp=cps[rng.integers(0, len(cps), len(who))],
    )


def normal_activity(
    rng: np.random.Generator,
    p: BankParams,
    pop: Population,
    ring_of: np.ndarray,
) -> tuple[Txns, dict[str, int]]:
    """All everyday transactions, dropped where they would predate an account's opening.

    Returns the transactions and their counts per activity kind.
    """
    parts = {
        "p2p": p2p(rng, p, pop, ring_of),
        "payroll": payroll(rng, p, pop),
        "bills": bills(rng, p, pop),
        "card": card_spend(rng, p, pop),
        "own_transfer": own_transfers(rng, p, pop),
        "exchange": exchange_use(rng, p, pop),
    }
    out = []
    counts = {}
    for name, t in parts.items():
        ok = (t.ts >= pop.acc_opened[t.src]) & (t.ts < p.t1)
        ok &= (t.dst < 0) | (t.ts >= pop.acc_opened[np.maximum(t.dst, 0)])
        t = t.where(ok)
        counts[name] = len(t)
        out.append(t)
    return Txns.concat(out), counts
