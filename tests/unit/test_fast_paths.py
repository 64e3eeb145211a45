"""The analysis' fast paths give the answers of the plain computations they replace: the fan
windows of a doubling ladder, the fan-out receivers, components, the relationship edges'
per-pair sums (issue #16: same outputs, less time)."""

from __future__ import annotations

import igraph as ig
import numpy as np
import pandas as pd
import pytest

from graphprofile.analysis import AnalysisSettings
from graphprofile.analysis._util import (
    components,
    order_by_time,
    sorted_by_count,
    stable_argsort,
)
from graphprofile.analysis.flows import (
    _anchored_windows,
    _by_receiver,
    _FanBar,
    _FullWindows,
    _Ladder,
    _may_hold,
    _pair_runs,
    _reach,
    _receivers,
    _window_senders,
)
from graphprofile.analysis.projection import _distinct_memberships, sum_by_pair
from graphprofile.analysis.risk import _row_groups
from graphprofile.analysis.tags import _sorted_tags, rank_within

DAY = 86_400


def _sorted_rows(seed: int, n: int, accounts: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, accounts, n)
    ts = rng.integers(0, days * DAY, n)
    order = np.lexsort((ts, acc))
    return acc[order], ts[order]


@pytest.mark.parametrize("seed, n", [(1, 0), (2, 1), (3, 500), (4, 5000)])
def test_ladder_gives_the_anchored_windows_of_every_width(seed: int, n: int) -> None:
    acc, ts = _sorted_rows(seed, n, accounts=40, days=300)
    ladder = _Ladder(acc, ts)
    widths = [DAY * 2**k for k in range(10)] + [3 * DAY, 3 * DAY, DAY, DAY]
    for w in widths:  # doubling, then afresh, each of the last two asked twice
        first, start = ladder.at(w)
        want_first, want_start = _anchored_windows(acc, ts, w)
        assert np.array_equal(first, want_first)
        assert np.array_equal(start, want_start)


def test_may_hold_keeps_every_window_that_reaches_the_bar() -> None:
    acc, ts = _sorted_rows(5, 4000, accounts=30, days=200)
    end = int(ts.max()) + 1
    key = acc * end + ts
    counted = np.random.default_rng(5).random(len(acc)) < 0.4
    cum = np.concatenate([[0], np.cumsum(counted)])
    dropped = 0
    for w in [DAY * 2**k for k in range(9)]:
        first, start = _anchored_windows(acc, ts, w)
        hi = np.searchsorted(key, acc[first] * end + np.minimum(start + w, end))
        for need in (1, 3, 10, 40):
            exact = cum[hi] - cum[first] >= need
            may = _may_hold(first, len(acc), cum, need)
            assert not (exact & ~may).any()  # an upper bound: never drops a window
            every = _may_hold(first, len(acc), None, need)  # every row counted
            assert np.array_equal(every, _may_hold(first, len(acc), np.arange(len(acc) + 1), need))
            dropped += int((~may).sum())
    assert dropped > 0  # and it does drop some


@pytest.mark.parametrize("seed, n", [(1, 0), (2, 1), (3, 600), (4, 6000)])
@pytest.mark.parametrize("least", [0, 1, 3, 7])
@pytest.mark.parametrize("counted", [False, True])
def test_full_windows_are_the_anchored_windows_that_hold_enough_rows(
    seed: int, n: int, least: int, counted: bool
) -> None:
    acc, ts = _sorted_rows(seed, n, accounts=25, days=400)
    cum = None
    if counted:
        cum = np.concatenate([[0], np.cumsum(np.random.default_rng(seed).random(n) < 0.5)])
    end = int(ts.max()) + 1 if n else 1
    key = acc * end + ts
    rows = cum if cum is not None else np.arange(n + 1)
    ladder = [DAY * 2**k for k in range(10)]
    for widths in (ladder, [3 * DAY, 7 * DAY, 30 * DAY], [DAY // 2, DAY]):
        full = _FullWindows(acc, ts, widths, least, cum)
        for k, w in enumerate(widths):
            first, start = _anchored_windows(acc, ts, w)
            hi = np.searchsorted(key, acc[first] * end + np.minimum(start + w, end))
            want = first[rows[hi] - rows[first] >= least]  # counted by brute force
            got, got_start = full.at(k)
            assert np.array_equal(got, want)
            assert np.array_equal(got_start, ts[want])
    if n:  # the reach itself: the time to the least-th counted row from each row on
        reach = _reach(acc, ts, least, cum)
        for r in np.random.default_rng(seed).choice(n, min(n, 200), replace=False):
            mine = np.flatnonzero(acc == acc[r])
            mine = mine[mine >= r]
            if cum is not None:
                mine = mine[np.diff(cum)[mine] > 0]
            if least <= 0:
                assert reach[r] == 0
            elif len(mine) >= least:
                assert reach[r] == ts[mine[least - 1]] - ts[r]
            else:
                assert reach[r] == np.iinfo(np.int64).max


def test_receivers_match_pandas_groupbys() -> None:
    rng = np.random.default_rng(11)
    lo = np.sort(rng.choice(10**6, 30, replace=False))
    rows = np.sort(rng.integers(0, 30, 2000))
    recv = rng.integers(0, 60, 2000)
    passed = rng.random(2000) < 0.3
    frame = pd.DataFrame({"start": lo[rows], "recv": recv, "passed": passed})
    want = frame.groupby(["start", "recv"], as_index=False)["passed"].max()
    want_agg = want.groupby("start").agg(n=("recv", "size"), n_passed=("passed", "sum"))
    per_recv, agg = _receivers(lo, rows, recv, passed)
    pd.testing.assert_frame_equal(per_recv, want)
    pd.testing.assert_frame_equal(agg, want_agg, check_names=False)
    empty, empty_agg = _receivers(lo, rows[:0], recv[:0], passed[:0])
    assert len(empty) == 0 and len(empty_agg) == 0


def test_window_senders_match_a_pandas_groupby() -> None:
    # receipts sorted by (account, time), repeat senders; windows of 1-40 rows each
    rng = np.random.default_rng(12)
    acc = np.sort(rng.integers(0, 50, 3000))
    sender = rng.integers(0, 25, 3000)
    ts = np.cumsum(rng.integers(0, 3, 3000))  # non-decreasing, ties too
    span, prev = _pair_runs(acc, sender, ts)
    lo = np.sort(rng.choice(2960, 200, replace=False))
    hi = np.minimum(lo + rng.integers(1, 41, 200), 3000)
    rows = np.repeat(np.arange(200), hi - lo)
    pos = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
    # the established payers' receipts leave, a pair's all at once (as in find_fan_in);
    # some windows lose every receipt
    keep = span[pos] <= np.median(span)
    keep[rows < 5] = False
    rows, pos = rows[keep], pos[keep]
    # a window's rows restricted to one account, as a fan's window is
    same = acc[pos] == acc[lo[rows]]
    rows, pos = rows[same], pos[same]
    frame = pd.DataFrame({"start": lo[rows], "sender": sender[pos], "ts": ts[pos]})
    want = frame.groupby("start").agg(
        n=("sender", "nunique"), first=("ts", "min"), last=("ts", "max")
    )
    pd.testing.assert_frame_equal(_window_senders(lo, rows, pos, prev, ts), want)
    empty = _window_senders(lo, rows[:0], pos[:0], prev, ts)
    pd.testing.assert_frame_equal(empty, want.iloc[:0], check_index_type=False)


def test_pair_runs_link_each_transfer_to_its_pairs_previous() -> None:
    acc = np.array([0, 0, 0, 0, 1, 1, 1])
    other = np.array([5, 6, 5, 5, 5, 6, 6])
    ts = np.array([1, 2, 4, 9, 3, 3, 8])
    span, prev = _pair_runs(acc, other, ts)
    assert span.tolist() == [8, 0, 8, 8, 0, 5, 5]
    assert prev.tolist() == [-1, -1, 0, 2, -1, -1, 5]


@pytest.mark.parametrize("strong", [False, True])
def test_components_partition_like_igraph(strong: bool) -> None:
    rng = np.random.default_rng(3)
    for n, m in [(1, 0), (50, 30), (300, 400), (300, 900)]:
        src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
        g = ig.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist(), strict=True)), directed=strong)
        mode = "strong" if strong else "weak"
        want = np.asarray(g.connected_components(mode=mode).membership)
        got = components(n, src, dst, strong=strong)
        # the same partition: each label of one maps to exactly one label of the other
        pairs = np.unique(np.stack([want, got]), axis=1)
        assert pairs.shape[1] == len(np.unique(want)) == len(np.unique(got))


def test_sum_by_pair_is_pandas_groupby_sum_to_the_bit() -> None:
    rng = np.random.default_rng(9)
    n = 3000
    src = rng.integers(0, 400, n)
    frame = pd.DataFrame({"src": src, "dst": src + rng.integers(1, 400, n)})
    for col in ("money", "devices", "counterparties"):
        scale = rng.choice([1e-9, 1.0, 1e9], n)
        frame[col] = np.where(rng.random(n) < 0.5, rng.random(n) * scale, 0.0)
    frame = frame[frame.groupby(["src", "dst"]).cumcount() < 2].reset_index(drop=True)
    want = frame.groupby(["src", "dst"], as_index=False, sort=True).sum()
    pd.testing.assert_frame_equal(sum_by_pair(frame), want, check_exact=True)
    # more than two rows of a pair: pandas' own (compensated) sum
    triple = pd.concat([frame.head(1)] * 3, ignore_index=True)
    pd.testing.assert_frame_equal(
        sum_by_pair(triple),
        triple.groupby(["src", "dst"], as_index=False, sort=True).sum(),
        check_exact=True,
    )


def _plain_threshold(
    acc: np.ndarray, other: np.ndarray, ts: np.ndarray, w: int, floor: int, n_pop: int | None
) -> int:
    """The fan bar as first written: every window counted, then the percentile."""
    first, start = _anchored_windows(acc, ts, w)
    end = int(ts.max()) + 1
    hi = np.searchsorted(acc * end + ts, acc[first] * end + np.minimum(start + w, end))
    count = [len(np.unique(other[f:h])) for f, h in zip(first, hi, strict=True)]
    per_acc = pd.Series(count).groupby(acc[first]).max().to_numpy(dtype=np.float64)
    if n_pop is not None:
        per_acc = np.concatenate([per_acc, np.zeros(max(n_pop - len(per_acc), 0))])
    return max(floor, int(np.ceil(np.percentile(per_acc, 99.5))))


def _fan_rows(seed: int, accounts: int, fans: int) -> tuple[np.ndarray, ...]:
    """Rows sorted by ``(acc, ts)``: accounts paid now and then by a few regular payers,
    and ``fans`` accounts paid by 4-30 strangers within a few days."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(3, accounts)
    acc = np.repeat(np.arange(accounts), n)
    other = rng.integers(0, 8, len(acc)) + 10_000
    ts = rng.integers(0, 300 * DAY, len(acc))
    fan = rng.choice(accounts, fans, replace=False)
    size = rng.integers(4, 31, fans)
    acc = np.concatenate([acc, np.repeat(fan, size)])
    other = np.concatenate([other, 20_000 + np.arange(size.sum())])
    starts = np.repeat(rng.integers(0, 290 * DAY, fans), size)
    ts = np.concatenate([ts, starts + rng.integers(0, rng.integers(1, 9) * DAY, size.sum())])
    order = np.lexsort((ts, acc))
    return acc[order], other[order], ts[order]


@pytest.mark.parametrize(
    ("seed", "accounts", "fans", "population", "every_window"),
    [(1, 600, 12, False, 1), (2, 600, 1, False, 1), (3, 40, 3, False, 2), (4, 900, 30, True, 0)],
)
def test_fan_bar_counts_only_the_windows_its_percentile_reads(
    seed: int,
    accounts: int,
    fans: int,
    population: bool,
    every_window: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the bar of every width of the ladder (and one afresh) is that of counting every
    # window, though only ``every_window`` widths here count them all: the others count
    # the windows that may reach a bar, or settle on the floor
    acc, other, ts = _fan_rows(seed, accounts, fans)
    pop = np.arange(accounts + 200) if population else None
    floor = 3 if population else 5
    bars: list[int] = []
    counted = _FanBar._largest_counts

    def spy(self: _FanBar, *args: object) -> np.ndarray:
        bars.append(int(args[-1]))  # type: ignore[call-overload]
        return counted(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_FanBar, "_largest_counts", spy)
    bar = _FanBar(acc, other, ts, population=pop)
    n_pop = None if pop is None else len(pop)
    for w in [DAY * 2**k for k in range(9)] + [3 * DAY]:
        want = _plain_threshold(acc, other, ts, w, floor, n_pop)
        assert bar.need(w, AnalysisSettings(), floor=floor) == want, w
    assert bars.count(0) == every_window
    if population:  # the wider widths start from the narrower ones' counts
        assert max(bars) > floor + 1


@pytest.mark.parametrize("in_time_order", [True, False])
def test_receiver_order_is_the_stable_argsort_of_receiver_and_time(in_time_order: bool) -> None:
    # transfers by (sender, time), then by (receiver, time) with ties in that order:
    # rows stored in time order take the sort of distinct keys and put the ties of a
    # (receiver, second) back in sender order; other rows the stable argsort
    rng = np.random.default_rng(5)
    m, span = 6000, 10**6
    src = rng.integers(-1, 40, m)  # -1: a counterparty pays
    dst = rng.integers(-1, 40, m)
    ts = rng.integers(0, 300, m)  # many ties in time
    if in_time_order:
        ts = np.sort(ts)
    ok = src >= 0
    rows = order_by_time(src, ts, span, rows=np.flatnonzero(ok))
    rows = rows[dst[rows] >= 0]
    dkey = dst[rows].astype(np.int64) * span + ts[rows]
    got, keys = _by_receiver(dkey, rows, np.flatnonzero(ok & (dst >= 0)), dst, ts, span)
    assert np.array_equal(got, stable_argsort(dkey))
    assert np.array_equal(keys, dkey[got]) and keys.dtype == np.int64


@pytest.mark.parametrize("seed, n", [(1, 1), (2, 40), (3, 20_000)])
def test_row_groups_partition_rows_as_factorized_tuples_do(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    cols = (
        rng.choice([0.0, -0.0, 0.25, 0.5, 0.125], n),
        rng.integers(-1, 4, n),
        rng.choice([-1.0, 0.1234, 0.5], n),
        rng.random(n) < 0.3,
        rng.random(n) < 0.5,
    )
    plain = pd.factorize(pd.MultiIndex.from_arrays(cols))[0]
    fast = _row_groups(*cols)
    # the same partition: a one-to-one map between the two numberings
    pairs = np.unique(np.stack([plain, fast]), axis=1)
    assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]
    assert fast.min() == 0 and fast.max() == pairs.shape[1] - 1
    # a known answer: rows equal in every column, and only those, share a number
    assert _row_groups(np.array([1.0, 1.0, 2.0, 1.0]), np.array([0, 1, 0, 0])).tolist() == [
        0,
        1,
        2,
        0,
    ]


@pytest.mark.parametrize("seed, n", [(1, 1), (2, 50), (3, 20_000)])
def test_rank_within_is_pandas_first_rank_largest_first(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n // 5 + 1, n).astype("float64")
    group[rng.random(n) < 0.1] = np.nan  # no community
    values = rng.choice([0.0, 0.1, 0.2, 0.3], n)  # many ties: ranked in row order
    plain = (
        pd.DataFrame({"g": pd.array(np.where(np.isnan(group), None, group), dtype="Int64")})
        .assign(v=values)
        .groupby("g")["v"]
        .rank(method="first", ascending=False)
        .to_numpy()
    )
    np.testing.assert_array_equal(rank_within(group, values), plain)
    known = rank_within(np.array([0.0, 0.0, 1.0, np.nan, 0.0]), np.array([0.5, 0.9, 0.1, 0.2, 0.9]))
    np.testing.assert_array_equal(known, [3.0, 1.0, 1.0, np.nan, 2.0])


@pytest.mark.parametrize("ordered_ids", [True, False])
def test_sorted_tags_are_the_stable_text_sort(ordered_ids: bool) -> None:
    rng = np.random.default_rng(7)
    cid = np.array([f"C{i:04d}" for i in range(300)], dtype=object)
    if not ordered_ids:  # the fallback: the ids' order is not their positions'
        cid = cid[rng.permutation(len(cid))]
    rows = 2_000
    position = rng.integers(0, len(cid), rows)
    tags = pd.DataFrame(
        {
            "customer_id": cid[position],
            "_position": position,
            "tag": rng.choice(["community", "risk:high", "ring_member", "bridge:top1pct"], rows),
            "value": rng.choice(["10", "9", "R-2", "ring", ""], rows),
            "score": np.arange(rows, dtype="float64"),  # tells tied rows apart
        }
    ).astype({"customer_id": "str", "tag": "str", "value": "str"})
    plain = (
        tags.drop(columns="_position")
        .sort_values(["customer_id", "tag", "value"], kind="stable")
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(_sorted_tags(tags.copy(), cid), plain)


def test_distinct_memberships_are_the_filtered_concat_without_repeated_pairs() -> None:
    rng = np.random.default_rng(11)
    parts = []
    offset = 0
    for layer, rows, ordered in (
        ("devices", 400, True),
        ("identifiers", 300, True),
        ("counterparties", 500, False),
    ):
        cust = rng.integers(-1, 60, rows)
        item = rng.integers(0, 40, rows) + offset
        if ordered:  # as the builder gives them: sorted by customer and item, distinct
            pairs = np.unique(np.stack([cust, item]), axis=1)
            cust, item = pairs[0], pairs[1]
        parts.append(
            pd.DataFrame(
                {
                    "cust": cust,
                    "item_id": [f"{layer}-{i}" for i in item],
                    "item": item,
                    "layer": layer,
                    "kind": layer[:-1],
                }
            ).astype({"item_id": "str", "layer": "str", "kind": "str"})
        )
        offset = int(item.max()) + 1
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["cust"] >= 0]
    expected = frame.drop_duplicates(["item", "cust"], keep="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(_distinct_memberships(parts), expected)


def test_membership_texts_are_gathered_for_the_rows_asked() -> None:
    from graphprofile.analysis.projection import _Texts

    texts = _Texts()
    dev = texts.add("devices", pd.Series(["d0", "d1", "d2"]), "device")
    idf = texts.add("identifiers", pd.Series(["e0", "p1"]), pd.Series(["email", "phone"]))
    assert (dev, idf) == (0, 1)
    # rows grouped by part, in part order, as the memberships are
    cols = texts.columns(np.array([0, 0, 1, 1]), np.array([2, 0, 1, 0]))
    assert cols["item_id"].tolist() == ["d2", "d0", "p1", "e0"]
    assert cols["layer"].tolist() == ["devices", "devices", "identifiers", "identifiers"]
    assert cols["kind"].tolist() == ["device", "device", "phone", "email"]
    assert all(str(c.dtype) == "str" for c in cols.values())
    none = texts.columns(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert all(len(c) == 0 and str(c.dtype) == "str" for c in none.values())
    assert texts.part_of("identifiers", np.array([0, 1, 1])).tolist() == [False, True, True]
    assert not texts.part_of("counterparties", np.array([0, 1])).any()


def test_sorted_by_count_is_the_sort() -> None:
    assert sorted_by_count(np.array([3, 0, 3, 1]), 5).tolist() == [0, 1, 3, 3]
    values = np.random.default_rng(4).integers(0, 50, 1000)
    got = sorted_by_count(values, 60)
    assert got.dtype == np.int64 and np.array_equal(got, np.sort(values))
    assert len(sorted_by_count(np.zeros(0, dtype=np.int64), 0)) == 0
