"""Behaviour features, the anomaly score and the cross-fitted learned score (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.analysis.behaviour import (
    BEHAVIOUR_COLUMNS,
    _pct,
    anomaly_scores,
    behaviour_features,
    distinct_rows,
    tail_surprise,
    triangle_counts,
)
from graphprofile.analysis.learned import _column_medians, _median, learned_scores

DAY = 86_400


def test_behaviour_features_known_answers() -> None:
    # 0 pays 1 twice on day 0 (a same-day repeat), 1 forwards 90 of the 100 to 2 within a
    # day; 3 pays a counterparty (dst -1)
    src = np.array([0, 0, 1, 3])
    dst = np.array([1, 1, 2, -1])
    ts = np.array([0, 3600, DAY // 2, 0])
    amount = np.array([50.0, 50.0, 90.0, 10.0])
    f = behaviour_features(4, src=src, dst=dst, ts=ts, amount=amount, window_days=7.0)
    assert list(f.columns) == BEHAVIOUR_COLUMNS
    assert f["out_txns"].tolist() == [2, 1, 0, 1]
    assert f["in_txns"].tolist() == [0, 2, 1, 0]
    assert f["out_partners"].tolist() == [1, 1, 0, 0]
    assert f["same_day_repeats"].tolist() == [2, 2, 0, 0]
    assert f.loc[1, "through_amount"] == 90.0
    assert f.loc[1, "through_fast"] == 0.9  # 90 of the 100 received left within the week
    assert f.loc[0, "repeat_share"] == 0.5  # two transfers, one partner
    # 0 -> 1 moved money twice, 1 -> 2 once: 1's three transfers hold one one-off
    assert np.allclose(f["one_off_share"], [0.0, 1 / 3, 1.0, 0.0])
    # counterparties' transfers with customers: 0 has 2, 1 has 3, 2 has 1; 0 dealt twice
    # with 1 (1/3 each), 1 twice with 0 (1/2 each) and once with 2 (1/1), 2 once with 1
    assert np.allclose(f["nb_thin"], [1 / 3, 2 / 3, 1 / 3, 0.0])
    # the counterparties' receipts per transfer: 0's two transfers meet 1 (2 receipts
    # each), 1's meet 0 twice (none) and 2 once (1), 2's meets 1 (2)
    assert f["nb_in_txns"].tolist() == [2.0, 1 / 3, 2.0, 0.0]
    assert f.loc[0, "concentration"] == 1.0


def test_flow_through_is_the_same_whatever_the_order_of_the_rows() -> None:
    # 1 receives 100 on day 0 and 40 on day 20; pays 30 on day 1, 50 on day 3 (both within
    # a week of the first receipt) and 40 on day 21: 80 of 100, then 40 of 40, passed on
    src = np.array([0, 1, 1, 2, 1, 0])
    dst = np.array([1, 3, -1, 1, 3, 2])
    ts = np.array([0, 1, 3, 20, 21, 25]) * DAY
    amount = np.array([100.0, 30.0, 50.0, 40.0, 40.0, 5.0])
    by_time = behaviour_features(4, src=src, dst=dst, ts=ts, amount=amount, window_days=7.0)
    assert by_time.loc[1, "through_fast"] == 120.0 / 140.0
    shuffled = np.array([4, 0, 5, 2, 1, 3])  # the rows out of time order
    mixed = behaviour_features(
        4, src=src[shuffled], dst=dst[shuffled], ts=ts[shuffled], amount=amount[shuffled],
        window_days=7.0,
    )  # fmt: skip
    assert mixed["through_fast"].tolist() == by_time["through_fast"].tolist()


def test_odd_amounts_are_relative_to_the_population() -> None:
    rng = np.random.default_rng(0)
    n = 200
    src = rng.integers(0, n, 2000)
    dst = (src + 1 + rng.integers(0, n - 1, 2000)) % n
    amount = rng.uniform(100, 600, 2000)
    amount[:5] = 0.5  # five transfers far below everything else, all sent by customer src[:5]
    f = behaviour_features(n, src=src, dst=dst, ts=np.arange(2000) * 600, amount=amount)
    odd = np.zeros(n)
    np.add.at(odd, src[:5], 1)
    np.add.at(odd, dst[:5], 1)
    assert np.array_equal(f["odd_amounts"].to_numpy(), odd)
    # scaled by 1000 (another currency): the same transfers are odd
    g = behaviour_features(n, src=src, dst=dst, ts=np.arange(2000) * 600, amount=amount * 1000)
    assert np.array_equal(g["odd_amounts"].to_numpy(), odd)


def test_anomaly_score_is_seeded_and_finds_the_outlier() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.poisson(3, size=(500, 4)).astype(float), columns=list("abcd"))
    x.loc[7] = [60.0, 0.0, 45.0, 80.0]
    a = anomaly_scores(x, seed=3)
    assert a.argmax() == 7 and a.max() == 1.0
    assert np.array_equal(a, anomaly_scores(x, seed=3))


def test_tail_surprise_known_answers() -> None:
    # column a: 0, 1, 1, 3 -> at least that value: 4, 3, 3, 1 of 4 rows
    x = np.array([[0.0, 5.0], [1.0, 5.0], [1.0, 5.0], [3.0, 5.0]])
    expected = np.log(4 / np.array([4, 3, 3, 1]))  # column b is constant: no surprise
    assert np.allclose(tail_surprise(x), expected)
    # only the order within a column matters
    assert np.allclose(tail_surprise(np.column_stack([x[:, 0] ** 3 + 7, x[:, 1]])), expected)


def test_anomaly_score_ranks_many_high_counts_above_one_low_outlier() -> None:
    # the tail half of the ensemble is one-sided: a customer far *below* everyone in one
    # count is less unusual than one moderately above everyone in all four
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.poisson(10, size=(400, 4)).astype(float), columns=list("abcd"))
    x.loc[3] = [0.0, 10.0, 10.0, 10.0]
    x.loc[5] = [19.0, 19.0, 19.0, 19.0]
    a = anomaly_scores(x, seed=1)
    assert a[5] > a[3] and a[5] > 0.99


def _labelled(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=bool)
    y[rng.choice(n, 60, replace=False)] = True
    x = pd.DataFrame(
        {
            "odd_amounts": rng.poisson(np.where(y, 4.0, 0.3)).astype(float),
            "in_txns": rng.poisson(np.where(y, 12.0, 6.0)).astype(float),
            "burst": rng.gamma(2.0, 1.0, n),
        }
    )
    return x, y


def test_learned_score_is_cross_fitted() -> None:
    x, y = _labelled()
    first = learned_scores(x, y, folds=5, seed=7)
    assert first is not None
    assert first.meta["oof_auc"] > 0.8 and first.meta["positives"] == 60
    for i in (int(np.flatnonzero(y)[0]), int(np.flatnonzero(~y)[0])):
        flipped = y.copy()
        flipped[i] = not flipped[i]
        again = learned_scores(x, flipped, folds=5, seed=7)
        assert again is not None
        # the customer's own score is untouched; customers in other folds do change
        assert again.score[i] == first.score[i]
        assert not np.array_equal(again.score, first.score)


def test_learned_reasons_name_features_in_plain_words() -> None:
    x, y = _labelled()
    result = learned_scores(x, y, seed=7)
    assert result is not None
    top = int(np.argmax(result.score))
    words = [r["words"] for r in result.reasons[top]]
    assert "transfers of unusual size for this bank" in words
    assert all(r["contribution"] > 0 for r in result.reasons[top])


def test_too_few_positives_learn_nothing() -> None:
    x, y = _labelled()
    y[np.flatnonzero(y)[19:]] = False  # 19 positives
    assert learned_scores(x, y, min_positives=20) is None


def _ring_graph(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, object]:
    """Noise features; positives in groups of four who all pay each other, negatives in
    random pairs: only proximity tells them apart."""
    from scipy.sparse import coo_matrix

    n = 1200
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=bool)
    y[:120] = True
    src, dst = [], []
    for g in range(30):  # 30 groups of 4 positives
        members = range(4 * g, 4 * g + 4)
        src += [a for a in members for b in members if a < b]
        dst += [b for a in members for b in members if a < b]
    pairs = rng.integers(120, n, (900, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    src += pairs[:, 0].tolist()
    dst += pairs[:, 1].tolist()
    a = np.array(src + dst)
    b = np.array(dst + src)
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    x = pd.DataFrame({"burst": rng.gamma(2.0, 1.0, n), "in_txns": rng.poisson(5.0, n) * 1.0})
    perm = rng.permutation(n)  # positives not first in position order
    return x.iloc[perm].reset_index(drop=True), y[perm], adj[perm][:, perm]


def test_learned_proximity_features_are_fold_safe_and_carry_the_signal() -> None:
    x, y, adj = _ring_graph()
    blind = learned_scores(x, y, folds=5, seed=7)
    near = learned_scores(x, y, folds=5, seed=7, neighbours=adj)
    assert blind is not None and near is not None
    assert blind.meta["oof_auc"] < 0.65  # the features are noise
    assert near.meta["oof_auc"] > 0.9  # known-fraud partners in the other folds tell
    assert near.meta["features"][-2:] == ["near_fraud_1", "near_fraud_2"]
    top = int(np.argmax(near.score))
    assert "pays or is paid by known-fraud customers" in [r["words"] for r in near.reasons[top]]
    # cross-fitted with the proximity features too: flipping a customer's own label leaves
    # its score alone, though its partners' scores move
    for i in (int(np.flatnonzero(y)[0]), int(np.flatnonzero(~y)[0])):
        flipped = y.copy()
        flipped[i] = not flipped[i]
        again = learned_scores(x, flipped, folds=5, seed=7, neighbours=adj)
        assert again is not None
        assert again.score[i] == near.score[i]
        assert not np.array_equal(again.score, near.score)


def test_bicliques_find_bipartite_layers_and_stacks_not_payroll() -> None:
    # a stack: layer 0-2 pays every account of layer 3-5 (a complete 3x3 layer), which pays
    # every account of layer 6-8; an employer 9 pays 24 staff 10-33 (a payroll batch) and
    # a second employer 34 pays the same staff; 35 and 36 each pay 37 once (a plain fan-in);
    # 200 others each pay the next two (everyday traffic: 2 payees, no shared pair)
    layers = [(u, w) for u in (0, 1, 2) for w in (3, 4, 5)]
    layers += [(u, w) for u in (3, 4, 5) for w in (6, 7, 8)]
    payroll = [(9, w) for w in range(10, 34)] + [(34, w) for w in range(10, 34)]
    everyday = [(38 + i, 38 + (i + k) % 200) for i in range(200) for k in (1, 2)]
    pairs = np.array(layers + payroll + [(35, 37), (36, 37)] + everyday)
    n = 238
    ts = np.arange(len(pairs)) * 3600
    f = behaviour_features(
        n, src=pairs[:, 0], dst=pairs[:, 1], ts=ts, amount=np.full(len(pairs), 100.0)
    )
    got = f["bicliques"].to_numpy()
    # a layer member shares all 3 counterparties with 2 others: 2 * C(3, 2) = 6 per side;
    # the middle layer is payee of one layer and payer of the next
    assert got[[0, 1, 2, 6, 7, 8]].tolist() == [6.0] * 6
    assert got[[3, 4, 5]].tolist() == [12.0] * 3
    # employers pay more distinct customers than the data's contact threshold: left out
    assert got[9:].sum() == 0.0


def test_triangles_count_closed_groups_of_counterparties() -> None:
    # 0-3 all pay one another (each pair once, 1 and 2 both ways): each is in C(3, 2) = 3
    # triangles; an employer 4 pays staff 5-29, of whom 5 paid 6 and 6 paid 7: triangles
    # 4-5-6 and 4-6-7 (so 4 is in 2, 6 in 2, 5 and 7 in 1); 30 -> 31 -> 32 -> 33 is a chain
    group = [(u, w) for u in range(4) for w in range(4) if u < w] + [(2, 1)]
    payroll = [(4, w) for w in range(5, 30)] + [(5, 6), (6, 7)]
    chain = [(30, 31), (31, 32), (32, 33)]
    pairs = np.array(group + payroll + chain)
    n = 34
    f = behaviour_features(
        n,
        src=pairs[:, 0],
        dst=pairs[:, 1],
        ts=np.arange(len(pairs)) * 3600,
        amount=np.full(len(pairs), 100.0),
    )
    got = f["triangles"].to_numpy()
    assert got[:4].tolist() == [3.0] * 4
    assert got[4:8].tolist() == [2.0, 1.0, 2.0, 1.0]
    assert got[8:].sum() == 0.0
    # against every triple of a random graph with hubs (both orders of a pair, repeats)
    rng = np.random.default_rng(3)
    payer = np.concatenate([rng.integers(0, 60, 400), np.zeros(50, dtype=np.int64)])
    payee = np.concatenate([rng.integers(0, 60, 400), rng.integers(1, 60, 50)])
    linked = np.zeros((60, 60), dtype=bool)
    linked[payer, payee] = linked[payee, payer] = True
    np.fill_diagonal(linked, False)
    expected = np.zeros(60)
    for a in range(60):
        for b in range(a + 1, 60):
            for c in range(b + 1, 60):
                if linked[a, b] and linked[b, c] and linked[a, c]:
                    expected[[a, b, c]] += 1
    assert expected.sum() > 0
    assert np.array_equal(triangle_counts(60, payer, payee), expected)
    assert triangle_counts(0, payer[:0], payee[:0]).tolist() == []


def test_load_libraries_imports_the_estimators_ahead_of_the_job() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from graphprofile.analysis.scores import load_libraries; "
        "assert 'sklearn.ensemble' not in sys.modules; load_libraries(); "
        "assert {'sklearn.ensemble', 'sklearn.model_selection'} <= set(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_features_are_the_same_whether_the_rows_come_in_time_order_or_not() -> None:
    # rows in time order take a shortcut to the (sender, time) order of the flow-through
    # feature; shuffled rows the general stable sort: the same features either way
    rng = np.random.default_rng(4)
    n, m = 60, 3000
    src = rng.integers(0, n, m)
    dst = np.where(rng.random(m) < 0.1, -1, rng.integers(0, n, m))
    ts = np.sort(rng.integers(0, 40 * DAY, m))
    ts[100:110] = ts[100]  # ties in time keep row order
    amount = rng.integers(1, 500, m).astype("float64")  # whole numbers: sums exact
    ordered = behaviour_features(n, src=src, dst=dst, ts=ts, amount=amount, window_days=3.0)
    assert (ordered["through_fast"] > 0).sum() > n // 2
    shuffle = rng.permutation(m)
    shuffled = behaviour_features(
        n, src=src[shuffle], dst=dst[shuffle], ts=ts[shuffle], amount=amount[shuffle],
        window_days=3.0,
    )  # fmt: skip
    pd.testing.assert_frame_equal(ordered, shuffled, check_exact=True)


def test_distinct_rows_groups_identical_rows_only() -> None:
    x = np.array([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0], [-0.0, 5.0], [1.0, 2.0], [3.0, 3.0]])
    first, group = distinct_rows(x)
    assert np.array_equal(x[first][group].view(np.uint64), x.view(np.uint64))  # same bits
    assert len(first) == 4  # -0.0 and 0.0 differ in bits: two groups
    assert group[0] == group[2] == group[4] and len({group[1], group[3], group[5]}) == 3


def test_anomaly_score_scores_each_distinct_row_as_the_forest_does() -> None:
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import RobustScaler

    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.poisson(1, size=(400, 3)).astype(float), columns=list("abc"))
    assert x.duplicated().sum() > 100  # many identical rows, scored once each
    scaled = RobustScaler().fit_transform(np.log1p(x.to_numpy()))
    forest = IsolationForest(n_estimators=50, random_state=5, n_jobs=1).fit(scaled)
    expected = -forest.score_samples(scaled)
    with_ties = anomaly_scores(x, seed=5, n_estimators=50)
    ecod = tail_surprise(x.to_numpy())
    assert np.array_equal(with_ties, _pct(_pct(expected) + _pct(ecod)))


def test_anomaly_words_name_each_top_customers_features_above_one_robust_z() -> None:
    from graphprofile.analysis.learned import FEATURE_WORDS
    from graphprofile.analysis.scores import ANOMALY_COLUMNS, _anomaly_words

    rng = np.random.default_rng(6)
    values = np.round(rng.exponential(size=(2000, len(ANOMALY_COLUMNS))), 1)
    values[:, 2] = 0.0  # a column without spread
    x = pd.DataFrame(values, columns=ANOMALY_COLUMNS)
    anomaly = rng.random(2000)
    v = np.log1p(values)
    med = np.median(v, axis=0)
    q1, q3 = np.percentile(v, [25, 75], axis=0)
    scale = np.where(q3 - q1 > 0, q3 - q1, np.maximum(np.abs(med), 1.0))
    for top in (1, 2, 3):
        words = _anomaly_words(x, anomaly, top=top)
        for r in range(2000):  # the rule, one customer at a time
            z = (v[r] - med) / scale
            best = np.argsort(-z, kind="stable")[:top]
            expected = [FEATURE_WORDS[ANOMALY_COLUMNS[j]] for j in best if z[j] > 1.0]
            assert words[r] == (expected if anomaly[r] >= 0.9 else [])
        lists = [w for w in words if w]
        assert len(lists) > 50 and len({id(w) for w in lists}) == len(lists)  # none shared


def test_partner_matrix_is_the_adjacency_of_customers_who_paid_each_other() -> None:
    from graphprofile.analysis.behaviour import features_and_partners
    from graphprofile.analysis.scores import partner_matrix

    rng = np.random.default_rng(8)
    n, m = 60, 400
    src, dst = rng.integers(-1, n, m), rng.integers(-1, n, m)
    src[:5], dst[:5] = 7, 7  # a customer's own transfers are no partners
    transfers = {"src": src, "dst": dst, "ts": np.arange(m) * 3600, "amount": rng.random(m) + 1}
    feats, partners = features_and_partners(n, **transfers)
    assert feats.equals(behaviour_features(n, **transfers))
    expected = np.zeros((n, n))
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        if a >= 0 and b >= 0 and a != b:
            expected[a, b] = expected[b, a] = 1.0
    assert expected.sum() > 100
    got = partner_matrix(partners, n)
    assert got.shape == (n, n) and got.has_canonical_format
    assert np.array_equal(got.toarray(), expected)
    empty = partner_matrix(np.zeros(0, dtype=np.int64), n)
    assert empty.shape == (n, n) and empty.nnz == 0


def _reference_pair_features(
    n: int, src: np.ndarray, dst: np.ndarray, ts: np.ndarray, window_days: float
) -> pd.DataFrame:
    """pandas groupbys of the features read from the (payer, payee, day) sort."""
    t = pd.DataFrame({"s": src, "d": dst, "ts": ts})
    t = t[(t["s"] >= 0) & (t["d"] >= 0) & (t["s"] != t["d"])].copy()
    t0 = int(ts.min())
    t["day"] = (t["ts"] - t0) // DAY
    t["w"] = (t["ts"] - t0) // max(int(window_days * DAY), 1)
    repeat = t.duplicated(["s", "d", "day"], keep=False).astype(float)
    same_day = repeat.groupby(t["s"]).sum().add(repeat.groupby(t["d"]).sum(), fill_value=0)
    both = pd.concat(
        [t[["s", "d", "w"]], t[["d", "s", "w"]].set_axis(["s", "d", "w"], axis=1)]
    ).drop_duplicates()
    per_window = both.groupby(["s", "w"]).size().groupby(level=0).max()
    pairs = t[["s", "d"]].drop_duplicates()
    out = pd.DataFrame(0.0, index=pd.RangeIndex(n), columns=["same_day_repeats"])
    out["same_day_repeats"] = same_day.reindex(out.index, fill_value=0.0)
    out["window_partners"] = per_window.reindex(out.index, fill_value=0).astype(float)
    out["out_partners"] = pairs.groupby("s").size().reindex(out.index, fill_value=0)
    out["in_partners"] = pairs.groupby("d").size().reindex(out.index, fill_value=0)
    return out.astype(float)


def test_pair_features_from_one_sort_match_groupbys_for_any_window() -> None:
    # windows of whole days come from the (payer, payee, day) order as runs; a window of
    # hours is sorted on its own: the same features as pandas' groupbys either way
    rng = np.random.default_rng(11)
    n, m = 80, 6000
    src = rng.integers(0, n, m)
    dst = np.where(rng.random(m) < 0.1, -1, rng.integers(0, n, m))
    ts = rng.integers(0, 50 * DAY, m)  # not in time order
    for window_days in (1.0, 3.0, 7.0, 0.4, 2.5):
        f = behaviour_features(
            n, src=src, dst=dst, ts=ts, amount=np.ones(m), window_days=window_days
        )
        expected = _reference_pair_features(n, src, dst, ts, window_days)
        pd.testing.assert_frame_equal(f[expected.columns], expected, check_exact=True)


def test_learned_scores_are_the_same_fitted_one_fold_or_two_at_a_time() -> None:
    x, y, adj = _ring_graph()
    one = learned_scores(x, y, folds=5, seed=7, neighbours=adj, threads=1)
    two = learned_scores(x, y, folds=5, seed=7, neighbours=adj, threads=2)
    assert one is not None and two is not None
    np.testing.assert_array_equal(two.score, one.score)
    assert two.reasons == one.reasons and two.meta == one.meta
    assert one.meta["oof_auc"] > 0.9  # a real model, not all-equal scores


def test_forest_scores_in_blocks_are_the_forest_s_own(monkeypatch) -> None:
    from sklearn.ensemble import IsolationForest

    from graphprofile.analysis import behaviour

    rng = np.random.default_rng(3)
    x = np.log1p(rng.gamma(0.5, 3.0, size=(1_001, 4)))
    forest = IsolationForest(n_estimators=30, random_state=7, n_jobs=1).fit(x)
    expected = forest.score_samples(x)
    monkeypatch.setattr(behaviour, "MIN_ROWS_PER_SCORING_THREAD", 100)
    for threads in (1, 2, 3, 64):  # 64 asked: at most 10 blocks of 100 rows
        got = behaviour.forest_scores(forest, x, threads=threads)
        assert np.array_equal(got, expected), threads  # the same bits, in row order
    feats = pd.DataFrame(rng.poisson(2, size=(600, 3)).astype(float), columns=list("abc"))
    one = anomaly_scores(feats, seed=4, n_estimators=30, threads=1)
    assert np.array_equal(anomaly_scores(feats, seed=4, n_estimators=30, threads=2), one)


def test_column_medians_are_the_medians_of_the_rows() -> None:
    """The learned model's occlusion medians, read from the frame's own columns, equal
    those of the row-major feature array (even and odd lengths, integer and float columns,
    and a column with NaN sending every column through the NaN-aware path)."""
    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 1000, 1001):
        frame = pd.DataFrame(
            {
                "count": rng.integers(0, 5, n),
                "amount": rng.lognormal(3, 2, n),
                "flag": rng.random(n) < 0.3,
                "share": rng.random(n),
            }
        )
        x = frame.to_numpy(dtype="float64")
        assert np.array_equal(_column_medians(frame, x), _median(x))
        frame.loc[0, "amount"] = np.nan
        x = frame.to_numpy(dtype="float64")
        assert np.array_equal(_column_medians(frame, x), _median(x))
