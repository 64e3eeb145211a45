"""Known-answer tests of bipartite layers and stacks (graphprofile.analysis.layers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.analysis.layers import evidence, find_layers, kind_of

DAY = 86_400
N_BG = 400  # background accounts 0 .. 399: a ring around which each pays its next one


def _run(extra: list[tuple[int, int, int]]):
    # background: everyone pays two neighbours once (no two payers share two payees)
    src = np.concatenate([np.arange(N_BG), np.arange(N_BG)])
    dst = np.concatenate([(np.arange(N_BG) + 1) % N_BG, (np.arange(N_BG) + 7) % N_BG])
    ts = np.arange(len(src)) * 1_000
    if extra:
        ex = np.asarray(extra, dtype=np.int64)
        src, dst, ts = (np.concatenate([a, ex[:, i]]) for i, a in enumerate((src, dst, ts)))
    n_acc = int(max(src.max(), dst.max())) + 1
    return find_layers(
        src.astype(np.int64),
        dst.astype(np.int64),
        ts.astype(np.int64),
        np.arange(n_acc),
        hub_percentile=95.0,
        hub_floor=10,
    )


def _layer(payers: list[int], payees: list[int], day: int) -> list[tuple[int, int, int]]:
    """Every payer pays every payee once, on ``day``."""
    return [
        (a, b, day * DAY + 60 * i)
        for i, (a, b) in enumerate((a, b) for a in payers for b in payees)
    ]


def test_a_complete_layer_is_one_bipartite_ring() -> None:
    members, layers = _run(_layer([401, 402, 403], [404, 405, 406], 10))
    assert members["ring"].nunique() == 1
    assert sorted(members["acc"]) == [401, 402, 403, 404, 405, 406]
    roles = dict(zip(members["acc"], members["role"], strict=True))
    assert {a for a, r in roles.items() if r == "payer"} == {401, 402, 403}
    assert {a for a, r in roles.items() if r == "payee"} == {404, 405, 406}
    assert kind_of(layers).tolist() == ["bipartite"]


def test_three_account_layers_chained_are_a_stack_with_its_layers_in_order() -> None:
    money = _layer([401, 402], [403, 404, 405], 10) + _layer([403, 404, 405], [406, 407], 20)
    members, layers = _run(money)
    assert members["ring"].nunique() == 1
    assert kind_of(layers).tolist() == ["stack"]
    assert layers["depth"].tolist() == [0, 1]
    assert layers["payers"].tolist() == [[401, 402], [403, 404, 405]]
    assert layers["payees"].tolist() == [[403, 404, 405], [406, 407]]
    roles = dict(zip(members["acc"], members["role"], strict=True))
    assert [roles[a] for a in (401, 403, 406)] == ["payer", "through", "payee"]
    ids = np.array([f"A{i}" for i in range(500)])
    ev, stats = evidence(layers, ids)
    (ring,) = ev
    assert ev[ring][0] == {"type": "layers_pattern", "n_layers": 2, "n_accounts": 7}
    assert ev[ring][1]["payers"] == ["A401", "A402"]
    assert ev[ring][2]["payees"] == ["A406", "A407"]
    assert stats.loc[ring, "hops"] == 3


def test_one_shared_payee_is_not_a_layer() -> None:
    # two payers sharing one payee are a fan, not a layer
    members, _ = _run([(401, 403, DAY), (402, 403, DAY), (401, 404, DAY), (402, 405, DAY)])
    assert len(members) == 0


def test_standing_payments_are_not_a_layer() -> None:
    # two parents paying their two children every month: a standing relationship
    monthly = [
        (a, b, (30 * m + 1) * DAY + 10 * a + b)
        for a in (401, 402)
        for b in (403, 404)
        for m in range(4)
    ]
    members, _ = _run(monthly)
    assert len(members) == 0
    members, _ = _run([t for t in monthly if t[2] < 31 * DAY])  # once: a layer
    assert sorted(members["acc"]) == [401, 402, 403, 404]


def test_a_biller_links_nothing() -> None:
    # 60 accounts pay the same two billers: more payers than the contact threshold
    bills = [(a, b, a * 100) for a in range(60) for b in (450, 451)]
    members, _ = _run(bills)
    assert len(members) == 0


def test_no_transfers() -> None:
    members, layers = find_layers(
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        hub_percentile=95.0,
        hub_floor=10,
    )
    assert len(members) == 0 and len(layers) == 0
    assert isinstance(members, pd.DataFrame)


def test_layers_in_words_and_in_the_ring_view() -> None:
    from graphprofile.sinks.report_data import reason_sentence
    from graphprofile.sinks.report_views import account_roles

    reasons = [
        {"type": "stack", "weight": 0.1},
        {"type": "layers_pattern", "n_layers": 2, "n_accounts": 5},
        {"type": "layer", "depth": 0, "payers": ["A1", "A2"], "payees": ["A3", "A4"]},
        {"type": "layer", "depth": 1, "payers": ["A3", "A4"], "payees": ["A5", "A6"]},
    ]
    assert reason_sentence(reasons[2]) == "layer 0: A1, A2 paid A3, A4"
    assert reason_sentence(reasons[1]) == "2 layer(s) of payments over 5 accounts"
    roles = account_roles("stack", reasons, ["A1", "A2", "A3", "A4", "A5", "A6"])
    assert roles == {"A1": "source", "A2": "source", "A3": "mule", "A4": "mule",
                     "A5": "sink", "A6": "sink"}  # fmt: skip
