"""Time-aware money-flow patterns on the account graph, from individual transactions.

Every detector works on NumPy arrays of account-to-account transactions sorted by
``(account, time)``: the transactions an account sends within a time range are one
``searchsorted`` away, and a range of ranges is expanded with ``repeat``/``arange`` --
no Python loop over transactions. Work is bounded by ``max_paths`` rows per step; when a
step would exceed it, the cut is counted and reported.

- **cycle**: a time-ordered chain ``a0 -> a1 -> ... -> a0`` of 2-12 hops
  (``cycle_min_hops`` to ``cycle_max_hops``), simple (no account twice), closing within
  ``flow_window_days`` of its first hop (default: any time within the data), each hop
  carrying between ``1 - tol`` and ``1 + tol/4`` of the previous hop's amount. Only
  transactions inside a strongly connected component of the money-flow graph (SciPy
  ``csgraph.connected_components(connection="strong")``) can be on a cycle, so the search
  starts from those alone. Cycles sharing an account form one ring.
- **fan_in**: an account receives from at least ``fan_min_degree`` distinct senders within
  ``fan_window_days`` and passes money through: at least ``fan_onward_share`` of the
  gathered amount leaves it (to accounts or counterparties) between the first receipt and
  ``onward_days`` after the last -- or later, while nothing new arrives, up to the window's
  width after the last receipt. Established payers -- whose transfers to the account
  span more than the window, such as an employer -- are neither senders nor gathered
  money. Members: the collector, the senders and onward receiving accounts. New payers
  just outside the window (after it, and up to one width before it) are senders too while
  the collector's pay-outs exceed what the senders paid in (:func:`_funded_receipts`).
  A collector paid by three or more accounts whose whole activity in the data
  is that one transfer is a fan-in too, with or without onward flow, when that many is
  unlikely at the bank's own rate (:func:`find_collections`).
- **fan_out**: an account pays at least ``fan_min_degree`` distinct receivers within
  ``fan_window_days``, of which the window's threshold of passing receivers (taken over
  every paying account, at least ``ceil(fan_pass_share * fan_min_degree)``) pass the money
  through within ``onward_days``, and they are at least ``fan_pass_share`` of its
  receivers or more than the bank's own rate of passing money on explains (binomial test
  at ``fan_pass_alpha``). Members: the source and the receivers.
- **scatter_gather**: a source pays intermediates that each forward to the same sink
  within ``fan_window_days`` with the amount roughly conserved, through at least
  ``scatter_min_paths`` distinct intermediates.

- **bipartite** / **stack**: payers sharing two or more payees (a layer), and layers
  passing money on to other layers: :mod:`graphprofile.analysis.layers`.
- **unusual_transfers**: accounts linked by transfers unusual for this bank (odd amounts,
  same-day repeats), in any time order: :mod:`graphprofile.analysis.unusual`.

A fan or scatter-gather ring that has half or more of its accounts in a ring of a more
specific kind (priority cycle > scatter_gather > fan_in > fan_out) is dropped. Layers,
stacks and unusual-transfer groups (:data:`~graphprofile.domain.LATE_KINDS`) are not dropped
here, but after ring risk by reported rings (see ``assemble_rings``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from graphprofile._arrow import codes, contiguous_text, epoch_seconds, stable_ties
from graphprofile.analysis._util import (
    components,
    dedicated_accounts,
    order_by_time,
    run_starts,
    runs,
    search_sorted,
    sorted_by_count,
    stable_argsort,
)
from graphprofile.analysis.layers import empty_layers, find_layers, layer_roles
from graphprofile.analysis.layers import kind_of as layers_kind_of
from graphprofile.analysis.projection import Projection
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.analysis.unusual import find_unusual, pair_day_sort
from graphprofile.domain import FLOW_PRIORITY, LATE_KINDS
from graphprofile.frames import CanonicalGraph

DAY = 86_400
#: a time longer than any data's span (seconds): "never" in :func:`_reach`
FAR = np.iinfo(np.int64).max
#: Accounts sampled (evenly by position) to set a fan width's count threshold.
FAN_SAMPLE = 100_000
#: Fewest single-shot senders of a collection (:func:`find_collections`): two accounts
#: paying one are a pair, three a structure (as for unusual-transfer groups). The evidence
#: is what the senders are, which the binomial test weighs, not how broad the fan is.
COLLECTION_MIN_SENDERS = 3
#: Fewest relay accounts of a chain (:func:`find_relays`): one relay between two accounts
#: is a payment passed on, two a pair; three paying one another are a structure.
RELAY_MIN = 3


class Txns:
    """Transactions as arrays, with sorted views by sender and by receiver.

    ``src_codes``/``dst_codes`` (account positions of every transaction's ends, -1 where
    absent), ``single_shot`` and ``relay``
    (:func:`~graphprofile.analysis._util.dedicated_accounts` of those codes) may be passed
    in when already computed, so each is worked out once per run.
    Transaction ids stay in the Arrow column and are fetched only for reasons
    (:meth:`txn_ids`).
    """

    def __init__(
        self,
        graph: CanonicalGraph,
        proj: Projection,
        *,
        src_codes: np.ndarray | None = None,
        dst_codes: np.ndarray | None = None,
        single_shot: np.ndarray | None = None,
        relay: np.ndarray | None = None,
    ) -> None:
        t = graph.transactions
        src = codes(t["from_account"], proj.accounts) if src_codes is None else src_codes
        dst = codes(t["to_account"], proj.accounts) if dst_codes is None else dst_codes
        ts = epoch_seconds(t["ts"])  # whole seconds whatever the stored resolution
        self.t0 = int(ts.min()) if len(ts) else 0
        ts = ts - self.t0
        self.last = int(ts.max()) if len(ts) else 0  # seconds from the first to the last
        amount = t["amount"].to_numpy(dtype="float64")
        ok = src >= 0
        if single_shot is None or relay is None:
            single_shot, relay = dedicated_accounts(len(proj.accounts), src, dst)
        #: accounts whose whole activity in the data is one transaction
        self.single_shot = single_shot
        #: accounts whose whole activity in the data is one receipt and one payment
        self.relay = relay
        # every outgoing payment (accounts and counterparties) for pass-through sums. Keys
        # are ``account * span + ts``: a bound past ``last`` would reach into the next
        # account's keys, so every search bound goes through :meth:`until`
        self.span = int(ts.max()) + 100 * DAY + 1 if len(ts) else 1
        key = src.astype(np.int64) * self.span + ts
        order = order_by_time(src, ts, self.span, rows=np.flatnonzero(ok))
        self.out_key = key[order]
        self.out_cum = np.concatenate([[0.0], np.cumsum(amount[order])])
        # account-to-account transfers sorted by (src, ts)
        order = order[dst[order] >= 0]
        self.row = order  # position in graph.transactions
        self.src = src[order].astype(np.int64)
        self.dst = dst[order].astype(np.int64)
        self.ts = ts[order]
        self.amount = amount[order]
        self.key = key[order]
        self._txn_id = contiguous_text(t["txn_id"]) if "txn_id" in t else None
        # the same transfers sorted by (dst, ts), ties in the (src, ts) order above
        dkey = self.dst * self.span + self.ts
        ascending = np.flatnonzero(ok & (dst >= 0))
        self.by_dst, self.dkey = _by_receiver(dkey, order, ascending, dst, ts, self.span)
        del ascending
        #: links of the ``unusual_transfers`` candidates (set by :func:`flow_patterns`)
        self.unusual_links: pd.DataFrame | None = None
        #: layers of the ``bipartite`` / ``stack`` candidates (set by :func:`flow_patterns`)
        self.layer_rings: pd.DataFrame | None = None

    def until(self, acc: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        """Search key of ``acc``'s time ``t``, clipped to its own keys: a window reaching
        past the data's last second (a wide fan window, a cycle bounded only by the data's
        span) ends there instead of running on into the next account's transfers."""
        return acc * self.span + np.minimum(t, self.last + 1)

    def txn_ids(self, pos: np.ndarray) -> list[str]:
        """Transaction ids of transfers at positions ``pos`` (for reasons)."""
        if self._txn_id is None:
            return [""] * len(pos)
        rows = pa.array(self.row[np.asarray(pos)].astype(np.int64))
        return [v if v is not None else "" for v in self._txn_id.take(rows).to_pylist()]

    def sent_between(self, acc: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Total amount each ``acc`` pays out (anywhere) with ``lo < ts <= hi``."""
        a = np.searchsorted(self.out_key, acc * self.span + lo, side="right")
        b = np.searchsorted(self.out_key, acc * self.span + hi, side="right")
        return self.out_cum[b] - self.out_cum[a]


def _by_receiver(
    dkey: np.ndarray,
    rows: np.ndarray,
    ascending: np.ndarray,
    dst: np.ndarray,
    ts: np.ndarray,
    span: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``stable_argsort(dkey)``: positions in ``rows`` (transfers sorted by sender and
    time) in the stable order of their (receiver, time) keys ``dkey``; and ``dkey`` in
    that order.

    With every row's ``ts`` in time order, the rows come in (receiver, time) order from
    :func:`~graphprofile.analysis._util.order_by_time` (one sort of distinct keys), ties
    in row order; the rows of a tied (receiver, second) are then put in position order
    (#16: on the 1M bank's 7.4M transfers between customers, the sort of distinct keys
    took 0.6 s where ``stable_argsort`` took 2.1 s, on the machine measured). The sorted
    keys are then the receivers by counting and the times read in row order, not a
    gather of ``dkey`` through the positions.
    """
    m = len(ts)
    if m < 2 or not bool((ts[1:] >= ts[:-1]).all()):
        order = stable_argsort(dkey)
        return order, dkey[order]
    by_row = order_by_time(dst, ts, span, rows=ascending)
    receivers = dst[ascending]
    ordered = sorted_by_count(receivers, int(receivers.max()) + 1 if len(receivers) else 0)
    del receivers
    ordered *= span
    ordered += ts[by_row]
    position = np.empty(m, dtype=np.int64)
    position[rows] = np.arange(len(rows), dtype=np.int64)
    order = position[by_row]
    del position, by_row
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        stable_ties(order, tie)
    return order, ordered


def _expand(lo: np.ndarray, hi: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Expand ranges ``[lo, hi)``: (query row, position) pairs, at most ``cap`` of them."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    cut = 0
    if total > cap:
        keep = np.cumsum(counts) <= cap
        cut = total - int(counts[keep].sum())
        counts = np.where(keep, counts, 0)
        total = int(counts.sum())
    rows = np.repeat(np.arange(len(lo)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.repeat(lo, counts) + (np.arange(total) - np.repeat(starts, counts))
    return rows, pos, cut


def find_cycles(
    tx: Txns, proj: Projection, s: AnalysisSettings
) -> tuple[list[dict[str, Any]], int]:
    """Time-ordered, amount-conserving simple cycles; returns (cycles, paths cut)."""
    if len(tx.src) == 0:
        return [], 0
    me = proj.money_edges
    scc = components(len(proj.accounts), me["src"].to_numpy(), me["dst"].to_numpy(), strong=True)
    scc_size = np.bincount(scc)
    cand = np.flatnonzero((scc[tx.src] == scc[tx.dst]) & (scc_size[scc[tx.src]] >= 2))
    window = tx.span if s.flow_window_days is None else int(s.flow_window_days * DAY)
    lo_r, hi_r = 1.0 - s.cycle_hop_tolerance, 1.0 + s.cycle_hop_tolerance / 4
    paths = cand[:, None]  # transaction positions of each partial path
    accs = np.column_stack([tx.src[cand], tx.dst[cand]])
    found: list[np.ndarray] = []
    cut_total = 0
    for hop in range(2, s.cycle_max_hops + 1):
        if len(paths) == 0:
            break
        last = paths[:, -1]
        start_ts = tx.ts[paths[:, 0]]
        q_acc = accs[:, -1]
        after = q_acc * tx.span + tx.ts[last]
        by_q = np.argsort(after)  # paths looked up in account order: a walk, not a scatter
        lo = search_sorted(tx.key, after, side="right", order=by_q)
        hi = search_sorted(tx.key, tx.until(q_acc, start_ts + window), side="right", order=by_q)
        rows, pos, cut = _expand(lo, hi, s.max_paths)
        cut_total += cut
        ratio = tx.amount[pos] / tx.amount[last[rows]]
        ok = (ratio >= lo_r) & (ratio <= hi_r) & (scc[tx.dst[pos]] == scc[accs[rows, 0]])
        rows, pos = rows[ok], pos[ok]
        nxt = tx.dst[pos]
        closes = nxt == accs[rows, 0]
        if hop >= s.cycle_min_hops and closes.any():
            found.append(np.column_stack([paths[rows[closes]], pos[closes]]))
        go = ~closes & ~(accs[rows][:, 1:] == nxt[:, None]).any(axis=1)
        if hop == s.cycle_max_hops:
            break
        paths = np.column_stack([paths[rows[go]], pos[go]])
        accs = np.column_stack([accs[rows[go]], nxt[go]])
    cycles: list[dict[str, Any]] = []
    for block in found:  # loops over found cycles only (few), not transactions
        for row in block:
            cycles.append(
                {
                    "accounts": tx.src[row].tolist(),
                    "txns": row.tolist(),
                }
            )
    return cycles, cut_total


def fan_scales(tx: Txns, s: AnalysisSettings) -> list[int]:
    """Window widths (seconds) the fan detectors look at.

    ``fan_window_days`` set: that one width. ``None`` (default): a ladder from one day,
    doubling, up to the span of the data -- a fan may gather over a day or over months.
    """
    if s.fan_window_days is not None:
        return [int(s.fan_window_days * DAY)]
    out = [DAY]
    while out[-1] < tx.last:
        out.append(2 * out[-1])
    return out


def _anchored_windows(acc: np.ndarray, ts: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[start, start + w)`` that begin at an account's first transaction in each
    half-width slot of a grid: ``(first row, start)`` per window. Rows sorted by
    ``(acc, ts)``.

    A window follows the account's own transactions, not a fixed calendar: a burst shorter
    than ``w / 2`` lies wholly inside one, and so does a longer one (up to ``w``) that
    begins the account's activity in its slot -- on a fixed half-overlapping grid a fan
    spread over 49 days fell into two 64-day windows of 14 and 10 of its 15 senders.
    """
    half = max(w // 2, 1)
    n_slots = int(ts.max()) // half + 1 if len(ts) else 1
    first = run_starts(acc * n_slots + ts // half)
    return first, ts[first]


class _Ladder:
    """:func:`_anchored_windows` of one ``(acc, ts)`` for a ladder of doubling widths.

    When a width's half-slot is twice the previous one's, every slot of the wider grid is
    two slots of the narrower (``ts // 2h == (ts // h) // 2``), so its windows begin at a
    subset of the previous windows' first rows: only those are looked at, not every row
    again. Any other width is computed afresh. The same windows as
    :func:`_anchored_windows`, row for row.
    """

    def __init__(self, acc: np.ndarray, ts: np.ndarray) -> None:
        self.acc, self.ts = acc, ts
        self._half = 0
        # the last width's windows: first row, account and start of each
        self._first = np.zeros(0, dtype=np.intp)
        self._acc, self._start = acc[:0], ts[:0]

    def at(self, w: int) -> tuple[np.ndarray, np.ndarray]:
        """``(first row, start)`` per window of width ``w`` (see :func:`_anchored_windows`)."""
        half = max(w // 2, 1)
        if self._half and half == 2 * self._half:
            a, slot = self._acc, self._start // half
            new = np.ones(len(a), dtype=bool)
            new[1:] = (a[1:] != a[:-1]) | (slot[1:] != slot[:-1])
            self._first, self._acc, self._start = self._first[new], a[new], self._start[new]
        else:
            self._first = _anchored_windows(self.acc, self.ts, w)[0]
            self._acc, self._start = self.acc[self._first], self.ts[self._first]
        self._half = half
        return self._first, self._start


def _may_hold(first: np.ndarray, n: int, cum: np.ndarray | None, need: int) -> np.ndarray:
    """Windows (of :func:`_anchored_windows`, first rows ``first`` of ``n`` rows) that may
    hold ``need`` counted rows (``cum``: cumulative counts, ``len(cum) == n + 1``; ``None``:
    every row counts).

    A window ``[start, start + w)`` ends within the second slot after its own (slots are
    ``w / 2`` wide), so before the first row of the third window after it, of this account
    or the next: counting up to there bounds its count from above. A cheap test before the
    exact end is searched for -- at the bar of a fan few windows come near it.
    """
    bound = np.full(len(first), n, dtype=np.int64)
    bound[:-3] = first[3:]
    if cum is None:
        return bound - first >= need
    return cum[bound] - cum[first] >= need


def _reach(acc: np.ndarray, ts: np.ndarray, least: int, cum: np.ndarray | None) -> np.ndarray:
    """Per row (rows sorted by ``(acc, ts)``): the time from it to the ``least``-th counted
    row from it on (itself included) of its own account; ``FAR`` where the account has
    fewer. ``cum``: cumulative counts of the counted rows (``len(cum) == len(acc) + 1``);
    ``None``: every row counts. A window that begins at the row holds ``least`` counted
    rows exactly when its width is more than this."""
    n = len(acc)
    out = np.full(n, FAR, dtype=np.int64)
    if least <= 0 or (least == 1 and cum is None):  # every window holds that many
        out[:] = 0
        return out
    if cum is None:
        m = n - least + 1
        if m > 0:
            same = acc[least - 1 :] == acc[:m]
            out[:m][same] = ts[least - 1 :][same] - ts[:m][same]
        return out
    counted = np.flatnonzero(np.diff(cum))  # rows that count, in order
    target = cum[:-1] + (least - 1)  # the counted rows before a row, then ``least`` on
    rows = np.flatnonzero(target < len(counted))
    j = counted[target[rows]]
    same = acc[j] == acc[rows]
    out[rows[same]] = ts[j[same]] - ts[rows[same]]
    return out


class _FullWindows:
    """The windows of :func:`_anchored_windows` (rows sorted by ``(acc, ts)``) for each of
    ``widths`` (ascending) that hold at least ``least`` counted rows (``cum`` as for
    :func:`_reach`): the only windows a fan of ``least`` or more may lie in.

    A row begins a window of width ``w`` while it is the first of its account's rows in its
    ``w / 2`` slot, and that window is full enough once ``w`` exceeds the row's
    :func:`_reach`. On the doubling ladder of :func:`fan_scales` (half-widths
    ``h * 2**k``: slot ``(ts // h) >> k``) a row stops beginning a window at the first
    level where its slot is its predecessor's -- the bit length of the two base slots'
    XOR -- and its window is full from the first width above its reach on: both are
    worked out once for every row, and each width then looks only at the rows between the
    two, not at every window again as :class:`_Ladder` does (the 1M bank's 7.4M transfers:
    1.9M rows ever begin a full fan-in window, 4,000-1.6M at a width; 106,000 ever begin
    a full fan-out window, 1,500-75,000 at a width). Other widths: each
    width's windows afresh, then kept where full. The same rows as
    ``_anchored_windows(acc, ts, w)`` filtered by ``reach < w``.
    """

    def __init__(
        self,
        acc: np.ndarray,
        ts: np.ndarray,
        widths: list[int],
        least: int,
        cum: np.ndarray | None = None,
    ) -> None:
        self.acc, self.ts, self.widths = acc, ts, list(widths)
        self.reach = _reach(acc, ts, least, cum)
        halves = [max(w // 2, 1) for w in self.widths]
        self._doubling = len(acc) > 0 and all(h == halves[0] << k for k, h in enumerate(halves))
        if not self._doubling:
            return
        n = len(acc)
        base = ts // halves[0]
        levels = len(self.widths)
        stay = np.full(n, levels, dtype=np.int64)  # the level a row stops beginning a window
        # the bit length of the XOR: the exponent of its float (exact below 2**53 base
        # slots), read from the float's bits (frexp's, without its array of mantissas)
        bits = (base[1:] ^ base[:-1]).astype(np.float64).view(np.int64)
        bits >>= 52
        bits -= 1022  # 2**(e - 1) <= x < 2**e; a zero XOR gives -1022, its bit length is 0
        stay[1:] = np.maximum(bits, 0, out=bits)
        del bits
        stay[1:][acc[1:] != acc[:-1]] = levels  # an account's first row always begins one
        stay[0] = levels
        full = np.searchsorted(np.asarray(self.widths), self.reach, side="right")
        self._rows = np.flatnonzero(full < stay)
        self._full, self._stay = full[self._rows], stay[self._rows]

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(first row, start)`` of the full windows of ``widths[k]``."""
        w = self.widths[k]
        if self._doubling:
            first = self._rows[(self._full <= k) & (k < self._stay)]
        else:
            first = _anchored_windows(self.acc, self.ts, w)[0]
            first = first[self.reach[first] < w]
        return first, self.ts[first]


def _count_threshold(
    acc: np.ndarray,
    other: np.ndarray,
    ts: np.ndarray,
    w: int,
    s: AnalysisSettings,
    *,
    population: np.ndarray | None = None,
    floor: int | None = None,
) -> int:
    """Distinct counterparties an account needs within ``w`` to count as a fan.

    Rows sorted by ``(acc, ts)``.

    ``fan_percentile`` of the accounts' largest number of distinct counterparties in one
    window of that width (the detectors' own windows, :func:`_anchored_windows`, over at
    most ``FAN_SAMPLE`` accounts taken evenly by position), and at least ``floor``
    (default ``fan_min_degree``). The accounts are those with a row, or ``population``
    when given (distinct account positions): its accounts without a row count 0 -- the
    fan-out's passing receivers are counted over every paying account, not only over those
    with a passing receiver. Busy accounts -- hubs, shops, employers -- set the bar; it rises
    with the width, so a long window needs a wide fan. The bar is measured on the very
    windows a fan is then counted in: a window that may hold more than a fixed bin of the
    same width would otherwise be judged against too low a bar, and the widest window
    would win over the day of a fan. (:class:`_FanBar` for several widths of one data.)
    """
    return _FanBar(acc, other, ts, population=population).need(w, s, floor=floor)


class _FanBar:
    """:func:`_count_threshold` for several widths of the same rows: the sample of
    accounts, its search keys and its windows (:class:`_Ladder`) are made once."""

    def __init__(
        self,
        acc: np.ndarray,
        other: np.ndarray,
        ts: np.ndarray,
        *,
        population: np.ndarray | None = None,
    ) -> None:
        pop = acc if population is None else population
        n_acc = int(pop.max()) + 1 if len(pop) else 1
        step = max(1, n_acc // FAN_SAMPLE)
        if step > 1:
            sel = acc % step == 0
            acc, other, ts = acc[sel], other[sel], ts[sel]
        self.a, self.o, self.t = acc, other, ts
        # the population's sampled accounts (those without a row count 0)
        self.n_pop = None if population is None else int(np.count_nonzero(population % step == 0))
        #: accounts counted: those with a row, and the population's without one (0)
        self.n = len(run_starts(acc))
        if self.n_pop is not None:
            self.n += max(self.n_pop - self.n, 0)
        # a count a wider window of the ladder is sure to reach at its percentile's place
        self._w, self._low = 0, 0
        self._ladder = _Ladder(acc, ts)
        if len(acc):
            self.end = int(ts.max()) + 1  # one account's keys stay below the next account's
            self.key = acc * self.end + ts
            self.n_o = int(other.max()) + 1

    def need(self, w: int, s: AnalysisSettings, *, floor: int | None = None) -> int:
        """The count threshold of width ``w`` (see :func:`_count_threshold`).

        Only the accounts' counts at and above the percentile's place matter: they are
        counted exactly in the windows that may reach a bar (``floor + 1``, or for a wider
        width of the ladder the count found at that place for the narrower one -- each
        narrower window lies inside a wider one), and every other account in no window at
        all. When the counts at the bar fill the places the percentile reads, the percentile
        is that of the exact counts; when too few accounts reach ``floor + 1``, the
        threshold is the floor; otherwise every window is counted.
        """
        floor = s.fan_min_degree if floor is None else floor
        if len(self.a) == 0:
            return floor
        first, t0 = self._ladder.at(w)
        place = (self.n - 1) * s.fan_percentile / 100  # sorted place the percentile reads
        low, high = int(np.floor(place)) - 1, int(np.ceil(place)) + 1  # a place to spare
        guess = self._low if w > self._w else 0
        for bar in dict.fromkeys((max(floor + 1, guess), floor + 1, 0)):
            top = self._largest_counts(first, t0, w, bar)
            if bar == 0 or self.n - len(top) <= low:  # every count from ``low`` on is exact
                counts = np.zeros(self.n, dtype=np.int64 if self.n_pop is None else np.float64)
                counts[: len(top)] = top  # the others lie below ``bar``: 0 keeps their places
                q = float(np.percentile(counts, s.fan_percentile))
                if low >= 0:
                    self._w, self._low = w, int(np.partition(counts, low)[low])
                return max(floor, int(np.ceil(q)))
            if bar <= floor + 1 and len(top) < self.n - high:  # the count at ``high`` < bar
                return floor
        raise AssertionError("unreachable: bar 0 counts every window")  # pragma: no cover

    def _largest_counts(self, first: np.ndarray, t0: np.ndarray, w: int, bar: int) -> np.ndarray:
        """Each account's largest count over the windows (first rows ``first``, starts
        ``t0``, width ``w``), for the accounts whose largest count is ``bar`` or more; the
        windows with fewer rows than ``bar`` are never searched nor expanded."""
        a, o, end, n_o = self.a, self.o, self.end, self.n_o
        if bar > 0:
            may = _may_hold(first, len(a), None, bar)
            first, t0 = first[may], t0[may]
        hi = np.searchsorted(self.key, a[first] * end + np.minimum(t0 + w, end))
        if bar > 0:
            ok = hi - first >= bar
            first, hi = first[ok], hi[ok]
        if len(first) == 0:
            return np.zeros(0, dtype=np.int64)
        rows, pos, _cut = _expand(first, hi, np.iinfo(np.int64).max)
        # rows come by window and time: a stable (run-merging) sort is near linear
        windows, counts = runs(runs(np.sort(rows * n_o + o[pos], kind="stable"))[0] // n_o)
        # windows come in account order: the largest count per account, without a groupby
        acc_of = a[first[windows]]
        per_acc = np.maximum.reduceat(counts, run_starts(acc_of))
        return per_acc[per_acc >= bar]


def _pick_windows(found: pd.DataFrame) -> pd.DataFrame:
    """One window per account from every qualifying window (``acc, w, t0, n_key, start``).

    The window whose count most exceeds its width's threshold (``n_key`` = count ÷
    threshold; then the narrowest, then the earliest) -- a wide window always holds more
    counterparties than a narrow one, so the plain count would pick a busy account's
    ordinary months over the day of its fan. When the window of twice that width that
    holds it qualified too, that one is taken instead (then the higher ``n_key``, the
    earlier): a fan straddling the edge of the narrow window is not cut in two.
    """
    order = ["acc", "n_key", "w", "t0"]
    found = found.sort_values(order, ascending=[True, False, True, True], ignore_index=True)
    best = found.drop_duplicates("acc")
    wide = found.merge(best[["acc", "w", "t0"]], on="acc", suffixes=("", "_best"))
    holds = (
        (wide["w"] == 2 * wide["w_best"])
        & (wide["t0"] <= wide["t0_best"])
        & (wide["t0_best"] + wide["w_best"] <= wide["t0"] + wide["w"])
    )
    wide = wide[holds].drop_duplicates("acc")[found.columns]
    return pd.concat([wide, best[~best["acc"].isin(wide["acc"])]]).sort_values(
        "acc", ignore_index=True
    )


def _pair_span(acc: np.ndarray, other: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per transfer: seconds between the first and the last transfer of its
    ``(acc, other)`` pair (0 for a pair that met once). Rows sorted by ``(acc, ts)``."""
    return _pair_runs(acc, other, ts)[0]


def _pair_runs(acc: np.ndarray, other: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per transfer: its pair's span (:func:`_pair_span`) and the row of the pair's
    previous transfer (-1 for its first), from one sort. Rows sorted by ``(acc, ts)``.

    A window's distinct counterparties are then its rows whose previous row of the same
    pair lies before the window: no sort of the window's rows.
    """
    n_other = int(other.max()) + 1 if len(other) else 1
    key = acc.astype(np.int64) * n_other + other
    order = np.argsort(key, kind="stable")  # time order kept within each pair
    k = key[order]
    first = np.concatenate([[True], k[1:] != k[:-1]])
    start = np.flatnonzero(first)
    size = np.diff(np.concatenate([start, [len(k)]]))
    t = ts[order]
    span = np.empty(len(acc), dtype=np.int64)
    span[order] = np.repeat(t[start + size - 1] - t[start], size)
    prev = np.empty(len(acc), dtype=np.int64)
    prev[order[1:]] = order[:-1]
    prev[order[first]] = -1
    return span, prev


def _held_until(
    d_acc: np.ndarray,
    d_ts: np.ndarray,
    pair_span: np.ndarray,
    hi: np.ndarray,
    onward: int,
    w: int | np.ndarray,
    end: int,
) -> np.ndarray:
    """End of the pass-through horizon of fan-in windows whose last receipt is at ``hi - 1``.

    Receipts sorted by ``(account, time)``; ``pair_span`` per receipt as in
    :func:`_pair_span`. The horizon is ``onward`` after the last receipt, or longer while
    nothing new arrives: up to the account's next receipt from a payer that is not an
    established one (``pair_span`` at most ``w``), and at most the window's width ``w``
    after the last receipt (never past ``end``, the data's last second). What leaves a
    collector before anything new arrives can only be what it gathered or its own income.
    ``w`` is one width or one per window.
    """
    last, acc = d_ts[hi - 1], d_acc[hi - 1]
    w = np.broadcast_to(np.asarray(w, dtype=np.int64), hi.shape)
    n = len(d_ts)
    # the account's next receipt from a new payer: step over established payers' receipts
    # (a few per window; only the windows' own positions are looked at)
    nxt = hi.copy()
    todo = np.flatnonzero(nxt < n)
    while len(todo):
        todo = todo[(d_acc[nxt[todo]] == acc[todo]) & (pair_span[nxt[todo]] > w[todo])]
        nxt[todo] += 1
        todo = todo[nxt[todo] < n]
    same = np.zeros(len(hi), dtype=bool)
    ok = nxt < n
    same[ok] = d_acc[nxt[ok]] == acc[ok]
    quiet = w.copy()
    quiet[same] = np.minimum(d_ts[nxt[same]] - last[same], w[same])
    return np.minimum(last + np.maximum(onward, quiet), end)


def find_fan_in(tx: Txns, s: AnalysisSettings) -> tuple[pd.DataFrame, int]:
    """Fan-in pass-throughs: ``ring, acc, role`` rows (role collector/sender/onward).

    Every width of :func:`fan_scales` is searched; a collector keeps the window whose
    distinct senders most exceed that width's threshold (:func:`_count_threshold`).
    """
    onward = int(s.onward_days * DAY)
    d_acc = tx.dst[tx.by_dst]
    d_ts = tx.ts[tx.by_dst]
    d_src = tx.src[tx.by_dst]
    d_amount = tx.amount[tx.by_dst]
    pair_span, pair_prev = _pair_runs(d_acc, d_src, d_ts)
    found, cut = [], 0
    bar = _FanBar(d_acc, d_src, d_ts)
    widths = fan_scales(tx, s)
    # every threshold is at least ``fan_min_degree``: windows with fewer rows never reach it
    windows = _FullWindows(d_acc, d_ts, widths, s.fan_min_degree)
    cum = np.zeros(len(d_amount) + 1)
    counted = np.empty(len(d_amount))  # one buffer for every width's amounts
    for k, w in enumerate(widths):
        need = bar.need(w, s)
        lo, t = windows.at(k)
        hi = np.searchsorted(tx.dkey, tx.until(d_acc[lo], t + w))
        ok = hi - lo >= need
        lo, hi, t = lo[ok], hi[ok], t[ok]
        if len(lo) == 0:
            continue
        # pass-through test before any expansion: money may leave while it is still being
        # gathered, so it is counted from the first receipt. What an established payer
        # sends (one that also pays the account outside any window of this width: an
        # employer's salary, a relative's allowance) is the account's own income, not
        # money the fan gathered
        np.copyto(counted, d_amount)
        np.putmask(counted, pair_span > w, 0.0)
        np.cumsum(counted, out=cum[1:])
        total = cum[hi] - cum[lo]
        until = _held_until(d_acc, d_ts, pair_span, hi, onward, w, tx.last)
        sent = tx.sent_between(d_acc[lo], d_ts[lo], until)
        ok = sent >= s.fan_onward_share * total
        lo, hi, t = lo[ok], hi[ok], t[ok]
        rows, pos, c = _expand(lo, hi, s.max_paths)
        cut += c
        new = pair_span[pos] <= w  # the fan's senders: not the account's established payers
        rows, pos = rows[new], pos[new]
        agg = _window_senders(lo, rows, pos, pair_prev, d_ts)
        agg = agg[agg["n"] >= need]
        if len(agg):
            start = agg.index.to_numpy()
            found.append(
                agg.assign(
                    w=w,
                    n_key=agg["n"] / need,
                    acc=d_acc[start],
                    t0=t[np.searchsorted(lo, start)],
                )
            )
    if not found:
        return _empty_members(), cut
    agg = _pick_windows(pd.concat(found).rename_axis("start").reset_index())
    agg["ring"] = np.arange(len(agg))
    lo = agg["start"].to_numpy()
    hi = np.searchsorted(
        tx.dkey, agg["acc"].to_numpy() * tx.span + agg["last"].to_numpy(), side="right"
    )
    r1, p1, c1 = _expand(lo, hi, s.max_paths)
    new = pair_span[p1] <= agg["w"].to_numpy()[r1]
    r1, p1 = r1[new], p1[new]
    gathered = np.bincount(r1, weights=d_amount[p1], minlength=len(lo))
    r3, p3, c3 = _funded_receipts(
        tx, (d_acc, d_ts, d_amount), pair_span, lo, hi, agg["w"].to_numpy(), gathered,
        onward, s.max_paths,
    )  # fmt: skip
    r1, p1 = np.concatenate([r1, r3]), np.concatenate([p1, p3])
    senders = pd.DataFrame({"ring": agg["ring"].to_numpy()[r1], "acc": d_src[p1]})
    senders = senders.assign(role="sender")
    # onward receiving accounts within the onward horizon
    lo = np.searchsorted(tx.key, agg["acc"].to_numpy() * tx.span + agg["last"].to_numpy())
    hi = np.searchsorted(
        tx.key, agg["acc"].to_numpy() * tx.span + agg["last"].to_numpy() + onward, side="right"
    )
    r2, p2, cut2 = _expand(lo, hi, s.max_paths)
    onward_rows = pd.DataFrame({"ring": agg["ring"].to_numpy()[r2], "acc": tx.dst[p2]})
    members = pd.concat(
        [
            agg[["ring", "acc"]].assign(role="collector"),
            senders,
            onward_rows.assign(role="onward"),
        ],
        ignore_index=True,
    )
    return _dedupe_members(members), cut + c1 + c3 + cut2


def _dealings(tx: Txns, mark: np.ndarray) -> tuple[np.ndarray, ...]:
    """How every account deals with the ``mark``-ed accounts (single-shot, relays).

    Returns ``from_mark``, ``to_mark`` (per transfer: sent by / received by a marked
    account) and ``k_in``, ``k_out`` (per account: its receipts from / payments to marked
    accounts).
    """
    from_mark, to_mark = mark[tx.src], mark[tx.dst]
    k_in = np.bincount(tx.dst[from_mark], minlength=len(mark))
    k_out = np.bincount(tx.src[to_mark], minlength=len(mark))
    return from_mark, to_mark, k_in, k_out


def _dealings_unlikely(
    tx: Txns, cand: np.ndarray, dealings: tuple[np.ndarray, ...], alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per ``cand`` account (from :func:`_dealings`): are its receipts from the marked
    accounts, and its payments to them, unlikely at the bank's own rates (the share of all
    transfers sent by, and received by, marked accounts; one-sided binomial test,
    :func:`passers_unlikely`)?"""
    from_mark, to_mark, k_in, k_out = dealings
    if len(cand) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    received = np.bincount(tx.dst, minlength=len(k_in))[cand]
    paid = np.bincount(tx.src, minlength=len(k_in))[cand]
    return (
        passers_unlikely(k_in[cand], received, float(from_mark.mean()), alpha),
        passers_unlikely(k_out[cand], paid, float(to_mark.mean()), alpha),
    )


def find_collections(tx: Txns, s: AnalysisSettings) -> pd.DataFrame:
    """Collectors fed by single-shot accounts: ``ring, acc, role`` (collector, sender,
    onward).

    A fan-in whose senders' whole activity in the data is the one transfer to the
    collector (:func:`~graphprofile.analysis._util.dedicated_accounts`): accounts that
    exist to make one payment, the funnel-account typology, whether or not the collector
    passes the money on. Kept when the collector's receipts from such accounts are unlikely
    at the bank's own rate (the share of all transfers sent by single-shot accounts;
    one-sided binomial test at ``fan_pass_alpha``: a busy account paid by many, a few of
    them one-off, is not one) and either at least :data:`COLLECTION_MIN_SENDERS` of them
    paid it, or fewer did and the collector paid on to single-shot accounts (whose whole
    activity is that one receipt) so that the two sides hold that many together, its
    payments to them being unlikely too at the bank's own rate (the share of all transfers
    received by single-shot accounts): a gather-scatter through accounts that exist for it.
    Such receivers are members (``onward``) of the collections they make, not of those
    whose senders alone suffice (AMLSim's ordinary accounts pay silent accounts too: the
    collectors of its fan-in sets, paying such accounts in the ordinary way, would bring 59
    ordinary accounts into 106 laundering rings). No window: a single-shot account has one
    transfer, whenever it is. On data where every account is active (our generator, the
    AMLSim samples) none is found.
    """
    dealings = _dealings(tx, tx.single_shot)
    from_single, to_single, k_in, k_out = dealings
    if not from_single.any():
        return _empty_members()
    n_acc = len(tx.single_shot)
    cand = np.flatnonzero((k_in >= 1) & (k_in + k_out >= COLLECTION_MIN_SENDERS))
    fed, pays = _dealings_unlikely(tx, cand, dealings, s.fan_pass_alpha)
    enough = k_in[cand] >= COLLECTION_MIN_SENDERS
    keep = fed & (enough | pays)
    # the receivers are members where they are evidence the collection needs
    cand, pays = cand[keep], (pays & ~enough)[keep]
    if len(cand) == 0:
        return _empty_members()
    ring_of = np.full(n_acc, -1, dtype=np.int64)
    ring_of[cand] = np.arange(len(cand))
    legs = np.flatnonzero(from_single & (ring_of[tx.dst] >= 0))
    pays_on = np.zeros(n_acc, dtype=bool)
    pays_on[cand[pays]] = True
    outs = np.flatnonzero(to_single & pays_on[tx.src])
    members = pd.concat(
        [
            pd.DataFrame({"ring": np.arange(len(cand)), "acc": cand, "role": "collector"}),
            pd.DataFrame({"ring": ring_of[tx.dst[legs]], "acc": tx.src[legs], "role": "sender"}),
            pd.DataFrame({"ring": ring_of[tx.src[outs]], "acc": tx.dst[outs], "role": "onward"}),
        ],
        ignore_index=True,
    )
    return _dedupe_members(members)


def _with_collections(fin: pd.DataFrame, coll: pd.DataFrame) -> pd.DataFrame:
    """Fan-in rings and, after them, the collections whose collector none of them has."""
    if len(coll) == 0:
        return fin
    heads = fin.loc[fin["role"] == "collector", "acc"].to_numpy()
    known = np.isin(coll.loc[coll["role"] == "collector", "acc"].to_numpy(), heads)
    rings = coll.loc[coll["role"] == "collector", "ring"].to_numpy()[~known]
    coll = coll[coll["ring"].isin(rings)]
    if len(coll) == 0:
        return fin
    first = int(fin["ring"].max()) + 1 if len(fin) else 0
    renumber = pd.Series(np.arange(len(rings)) + first, index=np.sort(rings))
    coll = coll.assign(ring=renumber.loc[coll["ring"].to_numpy()].to_numpy())
    return _dedupe_members(pd.concat([fin, coll], ignore_index=True))


def find_relays(tx: Txns, s: AnalysisSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chains of relay accounts, as stacks of one-account layers.

    A relay's whole activity in the data is one receipt and one payment
    (:func:`~graphprofile.analysis._util.dedicated_accounts`): an account that exists to pass
    one payment on, the pass-through mule. Relays paying one another make a chain, from
    the account that paid the first to the account the last paid (the same account when
    the chain closes a loop). A chain also runs on through a *joint*: an account that is no
    relay, paid by one relay and paying one relay (it continues the chain, it does not
    branch it), each side unlikely at the bank's own rates (the share of all transfers sent
    by relays for what it received, received by relays for what it paid; one-sided binomial
    test at ``fan_pass_alpha``, as for collections): a member of the scheme that also
    transacts in the ordinary way, not a busy account a few relays happened to pay. Kept
    when a chain holds at least :data:`RELAY_MIN` relays and that many is unlikely at the
    bank's own rate: ``q ** (k - 1) <= fan_pass_alpha`` for ``k`` relays, ``q`` the share of
    all transfers received by relays (the chance that a relay's one payment lands on
    another relay). No window and no order in time: a relay has one payment each way,
    whenever they are. On data where every account is otherwise active (our generator, the
    AMLSim samples) none is found.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        As :func:`~graphprofile.analysis.layers.find_layers`: members ``ring, acc, role``
        (``payer``, ``payee``, ``through``) and layers ``ring, layer, depth, payers,
        payees``, one layer per transfer into or out of the chain's relays, ``depth`` its
        place along the chain (:func:`_walk_depths`). Rings and layers are numbered from 0.
    """
    relay = tx.relay
    dealings = _dealings(tx, relay)
    from_relay, to_relay, k_in, k_out = dealings
    if not (from_relay.any() and to_relay.any()):
        return _empty_members(), empty_layers()
    n_acc = len(relay)
    alpha = s.fan_pass_alpha
    # joints: paid by one relay and paying one relay, each unlikely for the account's counts
    cand = np.flatnonzero(~relay & (k_in == 1) & (k_out == 1))
    fed, pays = _dealings_unlikely(tx, cand, dealings, alpha)
    joint = np.zeros(n_acc, dtype=bool)
    joint[cand[fed & pays]] = True
    inner = relay | joint
    link = (from_relay & inner[tx.dst]) | (inner[tx.src] & to_relay)
    if not link.any():
        return _empty_members(), empty_layers()
    comp = components(n_acc, tx.src[link], tx.dst[link])
    relays = np.flatnonzero(relay)
    k = np.bincount(comp[relays], minlength=n_acc)
    q = float(to_relay.mean())  # > 0: some transfer lands on a relay
    # q ** (k - 1) <= alpha, in logs (q < 1: not every transfer can land on a relay)
    long_enough = k >= RELAY_MIN
    if q < 1.0:
        long_enough &= (k - 1) * np.log(q) <= np.log(max(alpha, 1e-300))
    kept = relays[long_enough[comp[relays]]]
    if len(kept) == 0:
        return _empty_members(), empty_layers()
    chain = np.full(n_acc, -1, dtype=np.int64)
    comps = np.unique(comp[kept])
    chain[kept] = np.searchsorted(comps, comp[kept])
    # each chain's transfers: every payment into or out of one of its relays
    legs = np.flatnonzero((chain[tx.src] >= 0) | (chain[tx.dst] >= 0))
    ring = np.where(chain[tx.src[legs]] >= 0, chain[tx.src[legs]], chain[tx.dst[legs]])
    depth = _walk_depths(tx.src[legs], tx.dst[legs], ring)
    order = np.lexsort((legs, depth, ring))
    legs, ring, depth = legs[order], ring[order], depth[order]
    lay = pd.DataFrame(
        {
            "ring": ring,
            "layer": np.arange(len(legs)),
            "depth": depth,
            "payers": [[int(a)] for a in tx.src[legs]],
            "payees": [[int(b)] for b in tx.dst[legs]],
        }
    )
    ends = pd.DataFrame(
        {
            "ring": np.concatenate([ring, ring]),
            "acc": np.concatenate([tx.src[legs], tx.dst[legs]]),
            "pays": np.concatenate([np.ones(len(legs), bool), np.zeros(len(legs), bool)]),
            "paid": np.concatenate([np.zeros(len(legs), bool), np.ones(len(legs), bool)]),
        }
    )
    return _dedupe_members(layer_roles(ends)), lay


def _walk_depths(src: np.ndarray, dst: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Place of each transfer along its ring's chain: the payer's place on a walk that
    follows the money from each account no transfer of the ring pays (by account), then
    from the smallest account not yet reached (a loop). Loops over the rings' transfers
    (a few per ring), not the data's."""
    out: dict[tuple[int, int], list[int]] = {}
    paid: set[tuple[int, int]] = set()
    for r, a, b in zip(ring.tolist(), src.tolist(), dst.tolist(), strict=True):
        out.setdefault((r, a), []).append(b)
        paid.add((r, b))
    nodes = sorted({*out, *paid})
    place: dict[tuple[int, int], int] = {}
    step: dict[int, int] = {}
    for node in [n for n in nodes if n not in paid] + nodes:  # heads first, then loops
        todo = [node]
        while todo:
            cur = todo.pop()
            if cur in place:
                continue
            r = cur[0]
            place[cur] = step.get(r, 0)
            step[r] = place[cur] + 1
            todo += [(r, b) for b in reversed(sorted(out.get(cur, []))) if (r, b) not in place]
    return np.array([place[(r, a)] for r, a in zip(ring.tolist(), src.tolist(), strict=True)])


def _with_relays(
    layered: pd.DataFrame, layers: pd.DataFrame, relays: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Layer rings and, numbered after them, the relay chains (:func:`find_relays`)."""
    members, lay = relays
    if len(lay) == 0:
        return layered, layers
    ring0 = int(layered["ring"].max()) + 1 if len(layered) else 0
    layer0 = int(layers["layer"].max()) + 1 if len(layers) else 0
    members = members.assign(ring=members["ring"] + ring0)
    lay = lay.assign(ring=lay["ring"] + ring0, layer=lay["layer"] + layer0)
    both = pd.concat([layers, lay], ignore_index=True) if len(layers) else lay
    return pd.concat([layered, members], ignore_index=True), both


def _window_senders(
    lo: np.ndarray, rows: np.ndarray, pos: np.ndarray, prev: np.ndarray, ts: np.ndarray
) -> pd.DataFrame:
    """Distinct senders and first and last receipt time of fan-in windows.

    Parameters
    ----------
    lo : numpy.ndarray
        First row of each window (ascending).
    rows, pos : numpy.ndarray
        The windows' receipts: window (non-decreasing) and row (ascending within a
        window, of the window's account; rows sorted by ``(account, time)``). A pair's
        receipts within a window are all there or none (whole pairs left out).
    prev : numpy.ndarray
        Per row, the row of the same pair's previous receipt (-1 for none), as
        :func:`_pair_runs`.
    ts : numpy.ndarray
        Per row, its time.

    Returns
    -------
    pandas.DataFrame
        Per window with a receipt (index ``start``, its first row): ``n`` senders, whose
        pair's previous receipt lies before the window, and ``first``/``last``, the
        times of its first and last receipt -- a pandas groupby's ``nunique``, ``min`` and
        ``max``, without the sort.
    """
    if len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return pd.DataFrame(
            {"n": empty, "first": ts[:0], "last": ts[:0]}, index=pd.Index(lo[:0], name="start")
        )
    first = run_starts(rows)
    last = np.append(first[1:], len(rows)) - 1
    n = np.add.reduceat((prev[pos] < lo[rows]).astype(np.int64), first)
    return pd.DataFrame(
        {"n": n, "first": ts[pos[first]], "last": ts[pos[last]]},
        index=pd.Index(lo[rows[first]], name="start"),
    )


def _funded_receipts(
    tx: Txns,
    receipts: tuple[np.ndarray, np.ndarray, np.ndarray],
    pair_span: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    w: np.ndarray,
    gathered: np.ndarray,
    onward: int,
    cap: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Receipts just outside each fan-in window that the collector's pay-outs carry on too.

    A fan's senders may pay in over longer than the one window that clears the count bar
    (a collector gathering for ten weeks clears it in one four-week window). Each window
    (receipts ``[lo, hi)`` in ``tx.by_dst`` order, width ``w``, ``gathered`` from new
    payers) is followed by pay-outs: the collector pays ``paid`` from its first receipt up
    to the end of the pass-through horizon (:func:`_held_until`). ``receipts``: receiver,
    time and amount of every transfer in ``tx.by_dst`` order, as the caller holds them.
    New payers' receipts outside the window join the fan while the pay-outs still exceed
    what the fan's senders paid in: first those after the window and before its last
    pay-out (in time order), then those of the one width ``w`` before the window, latest
    first. Established payers (``pair_span`` over ``w``) never join: their money is the
    collector's own income.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, int)
        Window index and ``tx.by_dst`` position of each joining receipt, and the receipts
        cut by ``cap``.
    """
    d_acc, d_ts, d_amount = receipts
    acc, t_first = d_acc[lo], d_ts[lo]
    until = _held_until(d_acc, d_ts, pair_span, hi, onward, w, tx.last)
    a = np.searchsorted(tx.out_key, acc * tx.span + t_first, side="right")
    b = np.searchsorted(tx.out_key, acc * tx.span + until, side="right")
    paid = tx.out_cum[b] - tx.out_cum[a]
    # receipts after the window, before its last pay-out (none when nothing was paid)
    last_pay = np.where(b > a, tx.out_key[np.maximum(b - 1, 0)] - acc * tx.span, 0)
    after_hi = np.where(b > a, np.searchsorted(tx.dkey, acc * tx.span + last_pay), hi)
    rf, pf, cf = _expand(hi, np.maximum(after_hi, hi), cap)
    # receipts of the width before the window, latest first
    before_lo = np.searchsorted(tx.dkey, acc * tx.span + np.maximum(t_first - w, 0))
    rb, pb, cb = _expand(before_lo, lo, cap)
    order = np.lexsort((-pb, rb))
    rb, pb = rb[order], pb[order]
    ring = np.concatenate([rf, rb])
    pos = np.concatenate([pf, pb])
    order = np.argsort(ring, kind="stable")  # per window: after the window, then before
    ring, pos = ring[order], pos[order]
    new = pair_span[pos] <= w[ring]
    ring, pos = ring[new], pos[new]
    # a receipt joins while what the fan gathered before it (in this order) is short of paid
    cum = np.cumsum(d_amount[pos])
    first = run_starts(ring)
    size = np.diff(np.append(first, len(ring)))
    before = cum - d_amount[pos] - np.repeat(cum[first] - d_amount[pos[first]], size)
    join = gathered[ring] + before < paid[ring]
    return ring[join], pos[join], cf + cb


def passed_on(tx: Txns, s: AnalysisSettings) -> np.ndarray:
    """Per transfer: did its receiver pay out ``fan_onward_share`` of it within ``onward_days``?

    Computed in receiver order so the sorted lookups walk forward (several times faster
    than random order on ten million transfers).
    """
    onward = int(s.onward_days * DAY)
    o = tx.by_dst
    out = np.empty(len(o), dtype=bool)
    acc, ts = tx.dst[o], tx.ts[o]
    out[o] = tx.sent_between(acc, ts, ts + onward) >= s.fan_onward_share * tx.amount[o]
    return out


def passers_unlikely(
    n_passed: pd.Series | np.ndarray, n: pd.Series | np.ndarray, base: float, alpha: float
) -> np.ndarray:
    """Per window: are ``n_passed`` passing receivers out of ``n`` unlikely by chance?

    True when a binomial draw of ``n`` receivers, each passing money on with the bank's own
    rate ``base`` (the share of all its transfers that were passed on), reaches
    ``n_passed`` or more with probability at most ``alpha`` (a one-sided binomial test).
    """
    k = np.asarray(n_passed, dtype=np.int64)
    if len(k) == 0 or base >= 1.0:
        return np.zeros(len(k), dtype=bool)
    from scipy.stats import binom  # imported with scikit-learn by the behaviour job anyway

    return binom.sf(k - 1, np.asarray(n, dtype=np.int64), base) <= alpha


def find_fan_out(
    tx: Txns, s: AnalysisSettings, passed: np.ndarray | None = None
) -> tuple[pd.DataFrame, int]:
    """Fan-out with pass-through receivers: ``ring, acc, role`` (source/receiver).

    Every width of :func:`fan_scales` is searched, as for :func:`find_fan_in`.
    """
    if passed is None:
        passed = passed_on(tx, s)
    cp = np.concatenate([[0], np.cumsum(passed)])
    base = float(passed.mean()) if len(passed) else 0.0  # the bank's share of passed transfers
    found, cut = [], 0
    # thresholds count receivers that pass the money on: a payroll batch pays many, but
    # its employees do not forward their pay. They are taken over every paying account
    # (none passing: 0), and are at least the passers of a fan of ``fan_min_degree``
    # receivers with ``fan_pass_share`` of them passing; ``fan_min_degree`` counts receivers
    payers = tx.src[run_starts(tx.src)]
    floor = int(np.ceil(s.fan_pass_share * s.fan_min_degree))
    bar = _FanBar(tx.src[passed], tx.dst[passed], tx.ts[passed], population=payers)
    widths = fan_scales(tx, s)
    # every threshold is at least ``floor`` passing transfers: windows with fewer never reach it
    windows = _FullWindows(tx.src, tx.ts, widths, floor, cp)
    for k, w in enumerate(widths):
        need = bar.need(w, s, floor=floor)
        lo, t = windows.at(k)
        hi = np.searchsorted(tx.key, tx.until(tx.src[lo], t + w))
        # at least ``need`` passing transfers, counted by cumulative sums: windows that
        # fail are never expanded
        ok = cp[hi] - cp[lo] >= need
        lo, hi, t = lo[ok], hi[ok], t[ok]
        if len(lo) == 0:
            continue
        rows, pos, c = _expand(lo, hi, s.max_paths)
        cut += c
        per_recv, agg = _receivers(lo, rows, tx.dst[pos], passed[pos])
        agg = agg[
            (agg["n_passed"] >= need)
            & (agg["n"] >= s.fan_min_degree)
            & (
                (agg["n_passed"] >= s.fan_pass_share * agg["n"])
                | passers_unlikely(agg["n_passed"], agg["n"], base, s.fan_pass_alpha)
            )
        ]
        if len(agg):
            start = agg.index.to_numpy()
            found.append(
                (
                    agg.assign(
                        w=w,
                        n_key=agg["n_passed"] / need,
                        acc=tx.src[start],
                        t0=t[np.searchsorted(lo, start)],
                    ),
                    per_recv[per_recv["start"].isin(agg.index)].assign(w=w),
                )
            )
    if not found:
        return _empty_members(), cut
    agg = _pick_windows(pd.concat([f[0] for f in found]).rename_axis("start").reset_index())
    agg["ring"] = np.arange(len(agg))
    per_recv = pd.concat([f[1] for f in found])
    recvs = per_recv.merge(agg[["start", "w", "ring"]], on=["start", "w"])[["ring", "recv"]]
    members = pd.concat(
        [
            agg[["ring", "acc"]].assign(role="source"),
            recvs.rename(columns={"recv": "acc"}).assign(role="receiver"),
        ],
        ignore_index=True,
    )
    return _dedupe_members(members), cut


def _receivers(
    lo: np.ndarray, rows: np.ndarray, recv: np.ndarray, passed: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distinct receivers of fan-out windows (first rows ``lo``) from their expanded
    transfers (window ``rows``, non-decreasing; ``recv``; ``passed``).

    Returns ``start, recv, passed`` (did any of its transfers in the window pass on) in
    ``(start, recv)`` order, and per window (index ``start``) the receivers ``n`` and the
    passing ones ``n_passed`` -- a pandas groupby's rows and values, from one sort.
    """
    if len(rows) == 0:
        per_recv = pd.DataFrame({"start": lo[:0], "recv": recv[:0], "passed": passed[:0]})
        return per_recv, pd.DataFrame({"n": rows[:0], "n_passed": rows[:0]}, index=lo[:0])
    n_r = int(recv.max()) + 1
    key = rows.astype(np.int64) * n_r
    key += recv
    key *= 2
    key += passed
    key.sort(kind="stable")  # in window order already: the sort merges runs
    last = np.append(run_starts(key >> 1)[1:], len(key)) - 1  # a pair's last: passed if any
    pair = key[last] >> 1
    got = (key[last] & 1).astype(bool)
    window = pair // n_r
    per_recv = pd.DataFrame({"start": lo[window], "recv": pair % n_r, "passed": got})
    first = run_starts(window)
    n = np.diff(np.append(first, len(window)))
    n_passed = np.add.reduceat(got.astype(np.int64), first)
    agg = pd.DataFrame({"n": n, "n_passed": n_passed}, index=pd.Index(lo[window[first]]))
    return per_recv, agg


def find_scatter_gather(tx: Txns, s: AnalysisSettings) -> tuple[pd.DataFrame, int]:
    """Source -> intermediates -> sink: ``ring, acc, role`` (source/intermediate/sink).

    Each intermediate forwards within ``onward_days`` of receiving (the source's payments
    may be spread over the whole data).
    """
    w = int(s.onward_days * DAY)
    # first hops in receiver order: the lookups of each intermediate's onward payments
    # are sorted queries
    first = tx.by_dst
    lo = np.searchsorted(tx.key, tx.dkey, side="right")
    hi = np.searchsorted(tx.key, tx.dkey + w, side="right")
    rows, pos, cut = _expand(lo, hi, s.max_paths)
    rows = first[rows]
    ratio = tx.amount[pos] / tx.amount[rows]
    ok = (ratio >= 1.0 - s.cycle_hop_tolerance) & (ratio <= 1.0 + s.cycle_hop_tolerance / 4)
    ok &= tx.dst[pos] != tx.src[rows]
    frame = pd.DataFrame(
        {"src": tx.src[rows[ok]], "mid": tx.dst[rows[ok]], "sink": tx.dst[pos[ok]]}
    )
    agg = frame.groupby(["src", "sink"], as_index=False)["mid"].nunique()
    agg = agg[agg["mid"] >= s.scatter_min_paths].reset_index(drop=True)
    if len(agg) == 0:
        return _empty_members(), cut
    agg["ring"] = np.arange(len(agg))
    mids = frame.merge(agg[["src", "sink", "ring"]], on=["src", "sink"])[["ring", "mid"]]
    members = pd.concat(
        [
            agg[["ring", "src"]].rename(columns={"src": "acc"}).assign(role="source"),
            mids.rename(columns={"mid": "acc"}).assign(role="intermediate"),
            agg[["ring", "sink"]].rename(columns={"sink": "acc"}).assign(role="sink"),
        ],
        ignore_index=True,
    )
    return _dedupe_members(members), cut


def _empty_members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ring": pd.Series([], dtype="int64"),
            "acc": pd.Series([], dtype="int64"),
            "role": pd.Series([], dtype="str"),
        }
    )


def _dedupe_members(members: pd.DataFrame) -> pd.DataFrame:
    """One row per (ring, account); the first role listed wins."""
    members = members.astype({"ring": "int64", "acc": "int64"})
    return members.drop_duplicates(["ring", "acc"]).sort_values(["ring", "acc"], ignore_index=True)


def cycle_members(cycles: list[dict[str, Any]], n_accounts: int) -> tuple[pd.DataFrame, dict]:
    """Group cycles sharing an account into rings: members and cycles per ring."""
    if not cycles:
        return _empty_members(), {}
    src = np.concatenate([np.asarray(c["accounts"]) for c in cycles])
    dst = np.concatenate([np.roll(np.asarray(c["accounts"]), -1) for c in cycles])
    comp = components(n_accounts, src, dst)
    involved = np.unique(src)
    comps = pd.Series(comp[involved]).drop_duplicates()
    ring_of_comp = pd.Series(np.arange(len(comps)), index=comps.to_numpy())
    members = pd.DataFrame(
        {"ring": ring_of_comp.loc[comp[involved]].to_numpy(), "acc": involved, "role": "member"}
    )
    per_ring: dict[int, list[dict[str, Any]]] = {}
    for c in cycles:
        per_ring.setdefault(int(ring_of_comp.loc[comp[c["accounts"][0]]]), []).append(c)
    return _dedupe_members(members), per_ring


def flow_patterns(
    graph: CanonicalGraph,
    proj: Projection,
    settings: AnalysisSettings,
    *,
    src_codes: np.ndarray | None = None,
    dst_codes: np.ndarray | None = None,
    single_shot: np.ndarray | None = None,
    relay: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[int, list[dict[str, Any]]], Txns, dict[str, Any]]:
    """Run every flow detector.

    ``src_codes``, ``dst_codes``, ``single_shot`` and ``relay``: as for :class:`Txns`.

    ``progress`` (optional) is told which search starts and what was found so far, e.g.
    ``fan-in search (12 cycles, 3 scatter-gathers found)``.

    Returns
    -------
    (dict, dict, Txns, dict)
        Members (``ring, acc, role``) per kind, cycles per cycle ring, the transaction
        arrays (for reasons) and meta (paths cut per detector).
    """
    say = progress or (lambda _text: None)
    tx = Txns(
        graph,
        proj,
        src_codes=src_codes,
        dst_codes=dst_codes,
        single_shot=single_shot,
        relay=relay,
    )
    say(f"cycle search ({len(tx.src):,} transfers)")
    cycles, cut_c = find_cycles(tx, proj, settings)
    cyc, per_ring = cycle_members(cycles, len(proj.accounts))
    found = f"{len(cycles):,} cycles"
    say(f"scatter-gather search ({found} found)")
    sg, cut_s = find_scatter_gather(tx, settings)
    found += f", {sg['ring'].nunique():,} scatter-gathers"
    say(f"fan-in search ({found} found)")
    fin, cut_i = find_fan_in(tx, settings)
    fin = _with_collections(fin, find_collections(tx, settings))
    found += f", {fin['ring'].nunique():,} fan-ins"
    say(f"fan-out search ({found} found)")
    fout, cut_o = find_fan_out(tx, settings)
    found += f", {fout['ring'].nunique():,} fan-outs"
    say(f"layer search ({found} found)")
    by_day = pair_day_sort(tx.src, tx.dst, tx.ts)  # one sort for layers and unusual
    layered, tx.layer_rings = find_layers(
        tx.src,
        tx.dst,
        tx.ts,
        proj.account_customer,
        hub_percentile=settings.hub_percentile,
        hub_floor=settings.hub_floor,
        by_day=by_day,
    )
    layered, tx.layer_rings = _with_relays(layered, tx.layer_rings, find_relays(tx, settings))
    layer_kind = layers_kind_of(tx.layer_rings)
    found += f", {len(layer_kind):,} layers and stacks"
    say(f"unusual-transfer search ({found} found)")
    unusual, tx.unusual_links = find_unusual(
        tx.src,
        tx.dst,
        tx.ts,
        tx.amount,
        np.diff(tx.out_cum),
        proj.account_customer,
        hub_percentile=settings.hub_percentile,
        hub_floor=settings.hub_floor,
        by_day=by_day,
    )
    del by_day
    kinds = {
        "cycle": cyc,
        "scatter_gather": sg,
        "fan_in": fin,
        "fan_out": fout,
        **{
            kind: layered[layered["ring"].isin(layer_kind.index[layer_kind == kind])]
            for kind in ("stack", "bipartite")
        },
        "unusual_transfers": unusual,
    }
    taken = np.zeros(len(proj.accounts), dtype=bool)
    dropped = {}
    for kind in FLOW_PRIORITY:
        m = kinds[kind]
        if kind in LATE_KINDS:
            # dropped only when *reported* rings of earlier kinds hold them (assemble_rings)
            continue
        share = pd.Series(taken[m["acc"].to_numpy()]).groupby(m["ring"].to_numpy()).mean()
        keep = share.index[share.to_numpy() < 0.5]
        dropped[kind] = int(len(share) - len(keep))
        m = m[m["ring"].isin(keep)]
        kinds[kind] = m
        taken[m["acc"].to_numpy()] = True
    meta = {
        "paths_cut": {"cycle": cut_c, "scatter_gather": cut_s, "fan_in": cut_i, "fan_out": cut_o},
        "overlap_dropped": dropped,
        "cycles_found": len(cycles),
    }
    return kinds, per_ring, tx, meta
