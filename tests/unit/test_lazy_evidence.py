"""Ring evidence built on request (graphprofile.analysis.lazy_evidence) and the fan and
unusual-transfer reason objects built through it, against the plain group-by loops."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_unusual import _burst, _run

from graphprofile.analysis.assemble import _fan_evidence
from graphprofile.analysis.lazy_evidence import LazyEvidence, RingRows
from graphprofile.analysis.unusual import MAX_LINKS, evidence, shapes


def test_ring_rows_are_the_group_by_rows_in_row_order() -> None:
    ring = np.array([7, 2, 7, 5, 2, 7, 9])
    rows = RingRows(ring)
    assert rows.rings.tolist() == [2, 5, 7, 9]
    assert rows(7).tolist() == [0, 2, 5]
    assert rows(2).tolist() == [1, 4]
    assert rows(3).tolist() == []  # a ring without rows
    rng = np.random.default_rng(3)
    ring = rng.integers(0, 500, 5000)
    rows = RingRows(ring)
    groups = pd.Series(ring).groupby(ring).indices
    assert rows.rings.tolist() == sorted(groups)
    for r, where in groups.items():
        assert rows(r).tolist() == where.tolist()


def test_lazy_evidence_builds_each_asked_ring_once_and_only_those() -> None:
    calls: list[int] = []

    def build(ring: int) -> list[dict[str, Any]]:
        calls.append(ring)
        return [{"ring": ring}]

    ev = LazyEvidence(np.array([4, 1, 9]), build)
    assert len(ev) == 3 and list(ev) == [4, 1, 9]
    assert 9 in ev and np.int64(1) in ev and 2 not in ev and "x" not in ev
    assert calls == []  # neither membership nor listing builds anything
    assert ev.get(np.int64(9), []) == [{"ring": 9}]
    assert ev.get(9, []) is ev[9]
    assert ev.get(2, "none") == "none"
    with pytest.raises(KeyError):
        ev[2]
    assert calls == [9]
    assert dict(ev) == {4: [{"ring": 4}], 1: [{"ring": 1}], 9: [{"ring": 9}]}
    assert calls == [9, 4, 1]


def _plain_fan(kind: str, members: pd.DataFrame, acc_ids: np.ndarray, min_fan: int) -> dict:
    """The per-group loop :func:`_fan_evidence` replaces."""
    roles = members.groupby(["ring", "role"]).size().unstack(fill_value=0)
    out = {}
    heads = members[members["role"].isin(["collector", "source", "sink"])]
    for ring, grp in heads.groupby("ring"):
        obj: dict[str, Any] = {"type": f"{kind}_pattern"}
        for role, acc in zip(grp["role"], grp["acc"], strict=True):
            obj[role] = str(acc_ids[acc])
        for role in roles.columns:
            if role not in ("collector", "source", "sink"):
                obj[f"n_{role}s"] = int(roles.loc[ring, role])
        if kind == "fan_in" and obj.get("n_onwards", 0) >= min_fan:
            obj["shape"] = "gather_scatter"
        out[int(ring)] = [obj]
    return out


def test_fan_evidence_known_answer() -> None:
    members = pd.DataFrame(
        {
            "ring": [0, 0, 0, 0, 1, 1, 1, 1, 1],
            "acc": [3, 1, 2, 4, 5, 6, 7, 8, 9],
            "role": [
                *("sender", "collector", "sender", "onward"),
                *("collector", "sender", "onward", "onward", "sender"),
            ],
        }
    )
    acc_ids = pd.Index([f"A{i}" for i in range(10)])
    roles = members.groupby(["ring", "role"]).size().unstack(fill_value=0)
    ev = _fan_evidence("fan_in", members, roles, acc_ids, 2)
    assert dict(ev) == {
        0: [{"type": "fan_in_pattern", "collector": "A1", "n_onwards": 1, "n_senders": 2}],
        1: [
            {
                "type": "fan_in_pattern",
                "collector": "A5",
                "n_onwards": 2,
                "n_senders": 2,
                "shape": "gather_scatter",
            }
        ],
    }


@pytest.mark.parametrize(
    ("kind", "head_roles", "other"),
    [
        ("fan_in", ["collector"], ["sender", "onward"]),
        ("fan_out", ["source"], ["receiver"]),
        ("scatter_gather", ["source", "sink"], ["intermediate"]),
    ],
)
def test_fan_evidence_matches_the_group_by_loop(
    kind: str, head_roles: list[str], other: list[str]
) -> None:
    rng = np.random.default_rng(11)
    rows = []
    for ring in rng.permutation(300):
        if ring % 7 == 0:  # rings without a head have no evidence
            heads: list[str] = []
        else:
            heads = list(head_roles)
        for role in heads + [str(r) for r in rng.choice(other, rng.integers(1, 9))]:
            rows.append((int(ring), int(rng.integers(0, 1000)), role))
    members = pd.DataFrame(rows, columns=["ring", "acc", "role"]).sample(frac=1.0, random_state=2)
    acc_ids = pd.Index([f"acc-{i:04d}" for i in range(1000)])  # as the projection gives it
    roles = members.groupby(["ring", "role"]).size().unstack(fill_value=0)
    got = _fan_evidence(kind, members, roles, acc_ids, 4)
    want = _plain_fan(kind, members, acc_ids, 4)
    assert len(want) == 300 - 43
    assert list(got) == list(want)
    assert dict(got) == want  # key order inside each object too
    assert [list(v[0]) for v in got.values()] == [list(v[0]) for v in want.values()]


def _plain_unusual(members: pd.DataFrame, links: pd.DataFrame, acc_ids, iso) -> dict:
    """The per-group loop of :func:`evidence` before its objects were built on request."""
    shape = shapes(members, links)
    roles = members.groupby("ring")["role"]
    ev = {}
    for ring, grp in links.groupby("ring"):
        ranked = grp.sort_values(["n_txns", "amount"], ascending=False).head(MAX_LINKS)
        role = roles.get_group(ring)
        accs = members.loc[role.index, "acc"].to_numpy()
        obj: dict[str, Any] = {
            "type": "unusual_transfers_pattern",
            "shape": str(shape[ring]),
            "accounts": [str(a) for a in acc_ids[accs]],
            "n_links": len(grp),
            "n_odd_amount_links": int(grp["odd"].sum()),
            "n_repeated_links": int(grp["repeat"].sum()),
            "links": [
                {
                    "from": str(acc_ids[s]),
                    "to": str(acc_ids[d]),
                    "n_txns": int(k),
                    "amount": round(float(a), 2),
                    "first": iso(f),
                    "last": iso(la),
                    "why": [w for w, on in (("odd_amount", o), ("same_day_repeat", r)) if on],
                }
                for s, d, k, a, f, la, o, r in ranked[
                    ["src", "dst", "n_txns", "amount", "first", "last", "odd", "repeat"]
                ].itertuples(index=False)
            ],
        }
        for name in ("payer", "payee", "through"):
            got = accs[(role == name).to_numpy()]
            if len(got):
                obj[f"{name}s"] = [str(a) for a in acc_ids[got]]
        ev[int(ring)] = [obj]
    return ev


def test_unusual_evidence_matches_the_group_by_loop() -> None:
    loop = _burst(401, 402, 50, 12.5) + _burst(402, 403, 20, 12.5) + _burst(403, 401, 70, 12.5)
    fan = _burst(410, 414, 10, 3.9) + _burst(411, 414, 60, 3.9) + _burst(412, 414, 99, 3.9, k=4)
    chain = _burst(420, 421, 5, 7.7) + _burst(421, 422, 30, 7.7) + _burst(422, 423, 80, 7.7)
    members, links = _run(loop + fan + chain)
    assert members["ring"].nunique() == 3
    # rows out of ring order: each ring's rows must still come in their own order
    members = members.sample(frac=1.0, random_state=4)
    links = links.sample(frac=1.0, random_state=5)
    acc_ids = pd.Index([f"acc-{i}" for i in range(500)])  # as the projection gives it

    def iso(s: int) -> str:
        return f"t{s}"

    got, stats = evidence(members, links, acc_ids, iso)
    want = _plain_unusual(members, links, acc_ids, iso)
    assert list(got) == list(want) == sorted(want)
    assert dict(got) == want
    assert {v[0]["shape"] for v in got.values()} == {"cycle", "fan_in", "chain"}
    assert stats.index.tolist() == sorted(want)
