"""Known-answer tests of the unusual-transfer groups (graphprofile.analysis.unusual)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.analysis.unusual import (
    MAX_ACCOUNTS,
    find_unusual,
    shapes,
    unusual_transfer_flags,
)

DAY = 86_400
N_BG = 400  # background accounts 0 .. 399 pay each other everyday amounts


def _background(rng: np.random.Generator, n_txns: int = 4000) -> pd.DataFrame:
    src = rng.integers(0, N_BG, n_txns)
    dst = (src + rng.integers(1, N_BG, n_txns)) % N_BG
    return pd.DataFrame(
        {
            "src": src,
            "dst": dst,
            # distinct times: no same-day repeats by construction of the fixture
            "ts": np.arange(n_txns) * 3_000 + 60,
            "amount": np.round(np.exp(rng.normal(np.log(200.0), 0.5, n_txns)), 2),
        }
    )


def _run(extra: list[tuple[int, int, int, float]], seed: int = 0):
    rng = np.random.default_rng(seed)
    bg = _background(rng)
    # background pairs meet at most once a day: drop accidental same-day pairs
    bg = bg[~bg.assign(day=bg["ts"] // DAY).duplicated(["src", "dst", "day"], keep=False)]
    ex = pd.DataFrame(extra, columns=["src", "dst", "ts", "amount"])
    t = pd.concat([bg, ex], ignore_index=True)
    src, dst = t["src"].to_numpy(np.int64), t["dst"].to_numpy(np.int64)
    n_acc = int(max(src.max(), dst.max())) + 1
    return find_unusual(
        src,
        dst,
        t["ts"].to_numpy(np.int64),
        t["amount"].to_numpy(float),
        t["amount"].to_numpy(float),
        np.arange(n_acc),
        hub_percentile=95.0,
        hub_floor=10,
    )


def _burst(a: int, b: int, day: int, amount: float, k: int = 3) -> list[tuple]:
    """``k`` transfers of ``amount`` from ``a`` to ``b`` on one day (structuring)."""
    return [(a, b, day * DAY + 3_600 * (i + 1), amount) for i in range(k)]


def test_flags_mark_odd_amounts_and_same_day_repeats() -> None:
    src = np.array([0, 1, 2, 2, 3])
    dst = np.array([1, 2, 3, 3, 0])
    ts = np.array([0, DAY, 2 * DAY + 10, 2 * DAY + 20, 3 * DAY])
    amount = np.array([200.0, 210.0, 190.0, 205.0, 2.0])
    pop = np.exp(np.random.default_rng(1).normal(np.log(200), 0.3, 1000))
    odd, repeat = unusual_transfer_flags(src, dst, ts, amount, pop)
    assert odd.tolist() == [False, False, False, False, True]
    assert repeat.tolist() == [False, False, True, True, False]


def test_chain_of_small_bursts_is_one_group_with_its_links() -> None:
    # 401 -> 402 -> 403 -> 404, tiny amounts paid in same-day bursts, weeks apart and
    # not in flow order (the money need not move in order)
    extra = (
        _burst(401, 402, 40, 10.11)
        + _burst(402, 403, 12, 10.11)
        + _burst(403, 404, 90, 10.11)
        + [(401, 5, 3 * DAY, 180.0), (7, 404, 9 * DAY, 220.0)]  # ordinary payments too
    )
    members, links = _run(extra)
    assert members["ring"].nunique() == 1
    assert sorted(members["acc"]) == [401, 402, 403, 404]
    roles = dict(zip(members["acc"], members["role"], strict=True))
    assert roles == {401: "payer", 402: "through", 403: "through", 404: "payee"}
    assert sorted(zip(links["src"], links["dst"], strict=True)) == [
        (401, 402),
        (402, 403),
        (403, 404),
    ]
    assert links["n_txns"].tolist() == [3, 3, 3]
    assert links["odd"].all() and links["repeat"].all()
    assert shapes(members, links).tolist() == ["chain"]


def test_unordered_loop_is_a_cycle_and_a_fan_in_is_a_fan_in() -> None:
    loop = _burst(401, 402, 50, 12.5) + _burst(402, 403, 20, 12.5) + _burst(403, 401, 70, 12.5)
    fan = _burst(410, 414, 10, 3.9) + _burst(411, 414, 60, 3.9) + _burst(412, 414, 99, 3.9)
    members, links = _run(loop + fan)
    assert members["ring"].nunique() == 2
    shape = shapes(members, links)
    by_acc = members.groupby("ring")["acc"].min()
    assert shape[by_acc[by_acc == 401].index[0]] == "cycle"
    assert shape[by_acc[by_acc == 410].index[0]] == "fan_in"


def test_bipartite_layer_is_named_bipartite() -> None:
    layer = [t for a in (401, 402) for b in (403, 404) for t in _burst(a, b, 10 + a + b - 800, 6.0)]
    members, links = _run(layer)
    assert members["ring"].nunique() == 1
    assert shapes(members, links).tolist() == ["bipartite"]


def test_pairs_and_ordinary_traffic_make_no_group() -> None:
    # one pair bursting is a pair trading, not a structure
    members, _ = _run(_burst(401, 402, 5, 9.0))
    assert len(members) == 0
    # no unusual transfer at all: the background alone
    members, _ = _run([])
    assert len(members) == 0


def test_standing_relationship_is_not_unusual() -> None:
    # an employer paying three staff a large salary every month: odd for the bank, usual
    # for each pair (paid on many days), so no group
    salaries = [(401, e, (30 * m + 1) * DAY, 9_000.0) for e in (402, 403, 404) for m in range(5)]
    members, _ = _run(salaries)
    assert len(members) == 0


def test_an_account_whose_unusual_links_reach_the_hub_threshold_links_nothing() -> None:
    # 401 pays odd amounts to 40 accounts: more unusual payees than the contact threshold
    # (95th percentile of distinct payees, at least 10) -- a hub, not a ring
    hub = [(401, 500 + i, (i + 1) * DAY, 9.5) for i in range(40)]
    members, _ = _run(hub)
    assert len(members) == 0
    # the same account with three unusual payees is a fan-out group
    members, links = _run(hub[:3])
    assert sorted(members["acc"]) == [401, 500, 501, 502]
    assert shapes(members, links).tolist() == ["fan_out"]


def test_reason_in_words_names_the_links() -> None:
    from graphprofile.sinks.report_data import reason_sentence

    link = {"from": "A1", "to": "A2", "n_txns": 3, "amount": 30.33}
    link |= {"first": "2024-02-01T00:00:00Z", "why": ["odd_amount", "same_day_repeat"]}
    reason = {
        "type": "unusual_transfers_pattern",
        "shape": "chain",
        "accounts": ["A1", "A2", "A3"],
        "links": [link],
    }
    text = reason_sentence(reason)
    assert text.startswith("3 accounts linked by transfers unusual for this bank (chain)")
    assert "A1 → A2: 3 transfers totalling 30.33" in text
    assert "odd_amount, same_day_repeat" in text


def test_amlsim_like_loop_is_reported_with_its_members(tmp_path, monkeypatch) -> None:
    """End to end on AMLSim's format: a loop of small amounts paid in same-day bursts, in
    no time order, among accounts that also pay ordinarily, becomes one reported ring."""
    import json
    from pathlib import Path

    from ingest_support import PII_KEY, write_files

    from graphprofile.analysis import analyse
    from graphprofile.graph import build_graph
    from graphprofile.ingest import load_frames

    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", PII_KEY)
    rng = np.random.default_rng(7)
    n = 300
    rows = [
        (int(a), int((a + rng.integers(1, n)) % n), round(float(rng.uniform(100, 600)), 2), int(d))
        for a, d in zip(rng.integers(0, n, 3000), rng.integers(1, 120, 3000), strict=True)
    ]
    loop = [101, 102, 103, 104, 105]
    days = [90, 12, 55, 31, 70]  # hop k paid on days[k]: not in flow order
    for k, a in enumerate(loop):
        rows += [(a, loop[(k + 1) % 5], 10.11, days[k])] * 3
    txns = "sourceNodeId,targetNodeId,value,time\n" + "".join(
        f"{a},{b},{v},{d}\n" for a, b, v, d in rows
    )
    nodes = "nodeid,isFraud,init_balance,fraudStep\n" + "".join(f"{i},0,100,-1\n" for i in range(n))
    folder = write_files(tmp_path, {"nodes.csv": nodes, "transactions.csv": txns})
    mapping = Path(__file__).resolve().parents[2] / "loaders" / "amlsim.toml"
    graph = build_graph(load_frames(folder, mapping))
    result = analyse(graph, run_id="t", computed_at=pd.Timestamp("2026-01-01", tz="UTC"), seed=1)
    rings = result.rings[result.rings["kind"] == "unusual_transfers"]
    assert len(rings) == 1
    ring = rings.iloc[0]
    assert sorted(ring["accounts"]) == sorted(str(a) for a in loop)
    assert ring["risk"] >= 0.55
    reasons = json.loads(ring["reasons"])
    (pattern,) = [r for r in reasons if r["type"] == "unusual_transfers_pattern"]
    assert pattern["shape"] == "cycle"
    assert sorted(pattern["throughs"]) == sorted(str(a) for a in loop)
    assert {(x["from"], x["to"], x["n_txns"]) for x in pattern["links"]} == {
        (str(a), str(loop[(k + 1) % 5]), 3) for k, a in enumerate(loop)
    }
    f = result.features.set_index("customer_id")
    assert (f.loc[[str(a) for a in loop], "ring_kind"] == "unusual_transfers").all()


def test_a_group_past_max_accounts_is_the_links_percolating_not_a_ring() -> None:
    # a chain of same-day bursts through MAX_ACCOUNTS accounts is a group; one account
    # more and it is the unusual links running through the bank, not a structure
    for n, found in ((MAX_ACCOUNTS, True), (MAX_ACCOUNTS + 1, False)):
        chain = [a for k in range(n - 1) for a in _burst(1000 + k, 1001 + k, 10 + k, 10.11)]
        members, links = _run(chain)
        in_chain = members[members["acc"] >= 1000]
        if found:
            assert in_chain["ring"].nunique() == 1 and len(in_chain) == MAX_ACCOUNTS
        else:
            assert in_chain.empty and links[links["src"] >= 1000].empty
