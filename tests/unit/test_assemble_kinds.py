"""Identifier kinds per identity ring: distinct kinds of its shared items, sorted, as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.analysis.assemble import _kinds_per_ring


def _slow(shared: pd.DataFrame, rings: pd.Index) -> list[list[str]]:
    kinds = shared.groupby("ring")["kind"].unique()
    return [sorted(map(str, kinds.get(r, []))) for r in rings]


def test_kinds_per_ring_known_answer() -> None:
    shared = pd.DataFrame(
        {
            "ring": [3, 1, 3, 3, 1, 5],
            "kind": pd.array(["phone", "email", "address", "phone", np.nan, "device"], "str"),
        }
    )
    rings = pd.Index([1, 2, 3, 5])
    got = _kinds_per_ring(shared, rings)
    assert got == [["email", "nan"], [], ["address", "phone"], ["device"]]
    assert got == _slow(shared, rings)
    got[0].append("x")  # each ring has a list of its own
    assert _kinds_per_ring(shared, rings)[0] == ["email", "nan"]


def test_kinds_per_ring_matches_groupby_on_many_rings_and_kinds() -> None:
    rng = np.random.default_rng(5)
    for n_kinds in (4, 70):  # 70: more kinds than mask bits, the group-by path
        shared = pd.DataFrame(
            {
                "ring": rng.integers(0, 300, 2000),
                "kind": pd.array([f"k{i}" for i in rng.integers(0, n_kinds, 2000)], "str"),
            }
        )
        rings = pd.Index(np.arange(320))
        assert _kinds_per_ring(shared, rings) == _slow(shared, rings)
