"""Hand-built cycle, fan-in and device ring: found with the right members and reasons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_analysis_support import small_bank

from graphprofile.analysis import AnalysisSettings, analyse
from graphprofile.analysis.tags import build_tags

NOW = pd.Timestamp("2025-06-01", tz="UTC")


@pytest.fixture(scope="module")
def result():
    return analyse(small_bank(), run_id="t1", computed_at=NOW, seed=42)


def _ring(result, kind):
    rings = result.rings[result.rings["kind"] == kind]
    assert len(rings) == 1, f"expected one {kind} ring, got {rings[['customers']]}"
    return rings.iloc[0]


def test_cycle_found_with_amounts_and_times(result):
    ring = _ring(result, "cycle")
    assert sorted(ring["accounts"]) == ["A-X1", "A-X2", "A-X3"]
    assert ring["hops"] == 3
    reasons = json.loads(ring["reasons"])
    assert reasons[0]["type"] == "cycle"
    path = next(r for r in reasons if r["type"] == "cycle_path")
    assert path["accounts"] == ["A-X1", "A-X2", "A-X3"]
    assert path["amounts"] == [1000.0, 980.0, 960.4]
    assert path["times"][0] == "2025-03-05T04:00:00Z"


def test_fan_in_found_with_collector_and_senders(result):
    ring = _ring(result, "fan_in")
    expected = ["A-F"] + [f"A-S{k:02d}" for k in range(1, 13)]
    assert sorted(ring["accounts"]) == expected
    pattern = next(r for r in json.loads(ring["reasons"]) if r["type"] == "fan_in_pattern")
    assert pattern["collector"] == "A-F"
    assert pattern["n_senders"] == 12
    # first and last transfer between the ring's own accounts (S01 at 202 h, S12 at 224 h)
    t0 = pd.Timestamp("2025-03-01", tz="UTC")
    assert ring["first_ts"] == t0 + pd.Timedelta(hours=202)
    assert ring["last_ts"] == t0 + pd.Timedelta(hours=224)


def test_device_ring_found_and_household_and_hub_are_not(result):
    ring = _ring(result, "identity")
    assert sorted(ring["customers"]) == ["D1", "D2", "D3", "D4"]
    reasons = json.loads(ring["reasons"])
    shared = {r["id"] for r in reasons if r["type"] in ("shared_device", "shared_identifier")}
    assert shared == {"dev-ring", next(i for i in shared if i.startswith("phone:"))}
    assert {"young", "cash_out"} <= {r["type"] for r in reasons}
    # the public terminal is a hub, reported and not a link; B00/B01 are only a household
    hubs = result.meta["hubs_excluded"]["top"]
    assert [h["item_id"] for h in hubs] == ["dev-public"]
    assert 10 <= result.meta["hub_thresholds"]["devices"] < 30  # P95 of 2 items, floor 10
    assert not any("B00" in c for c in result.rings["customers"])


def test_features_carry_rings_and_known_fraud_neighbours(result):
    f = result.features.set_index("customer_id")
    assert f.loc["D2", "ring_kind"] == "identity"
    assert f.loc["D2", "fraud_hops"] == 1
    reasons = json.loads(f.loc["D2", "risk_reasons"])
    neighbour = next(r for r in reasons if r["type"] == "known_fraud_neighbour")
    assert neighbour["customer"] == "D1" and neighbour["steps"][0]["to"] == "D1"
    assert f.loc["D2", "risk_score"] >= 0.7
    assert f.loc["B20", "risk_score"] < 0.4
    assert pd.isna(f.loc["B20", "ring_id"])


def test_tags_vocabulary(result):
    tags = result.tags
    assert list(tags.columns) == [
        "customer_id", "tag", "value", "score", "reasons", "run_id", "computed_at",
    ]  # fmt: skip
    d1 = tags[tags["customer_id"] == "D1"]
    assert {"community", "ring_member", "ring_member:identity", "risk:high"} <= set(d1["tag"])
    assert (tags["run_id"] == "t1").all()
    for text in tags["reasons"]:
        json.loads(text)


def test_missing_inputs_are_skipped_not_errors():
    graph = small_bank(known=())
    for name in ("USES_DEVICE", "HAS_IDENTIFIER"):
        graph.edges[name] = graph.edges[name].iloc[0:0]
    res = analyse(graph, run_id="t2", computed_at=NOW)
    skipped = res.meta["skipped"]
    assert "identity_rings: no devices or identifiers table" in skipped
    assert "fraud_proximity: no customer is flagged known_fraud" in skipped
    assert res.features["fraud_proximity"].isna().all()
    assert set(res.rings["kind"]) == {"cycle", "fan_in"}


def test_tag_semantics_a_profile_store_can_rely_on(result):
    tags = result.tags
    # score is the strength of the evidence, in [0, 1], for every tag
    assert tags["score"].between(0.0, 1.0).all(), tags.loc[~tags["score"].between(0, 1)]
    # value is never a placeholder
    assert not tags["value"].isin(["overall", "customer", ""]).any()
    f = result.features.set_index("customer_id")
    comm = tags[tags["tag"] == "community"].set_index("customer_id")
    # no community tag for a singleton; the value is the community id, not its size
    assert (comm["value"] == f.loc[comm.index, "community_id"].astype(str)).all()
    alone = result.features.assign(
        community_size=result.features["community_size"].where(
            result.features["customer_id"] != "B20", 1
        )
    )
    again = build_tags(
        alone,
        result.tags.iloc[0:0].assign(kind=[], risk=[]),
        settings=AnalysisSettings(),
        customer_reasons=alone["risk_reasons"].tolist(),
        run_id="t1",
        computed_at=NOW,
    )
    assert "B20" not in set(again.loc[again["tag"] == "community", "customer_id"])
    assert "B21" in set(again.loc[again["tag"] == "community", "customer_id"])
    infl = tags[tags["tag"].str.startswith("influencer:")]
    assert len(infl) and (infl["score"] > 0.9).all()
    high = tags[tags["tag"] == "risk:high"].set_index("customer_id")
    assert high.loc["D1", "value"] == "known_fraud"  # D1 is known fraud: its strongest reason
    assert high.loc["D2", "value"] == "ring"


def test_embeddedness_known_answer():
    from graphprofile.analysis.communities import embeddedness

    # two triangles joined by one edge 2-3 of weight 1; the rest weigh 2
    src = np.array([0, 0, 1, 3, 3, 4, 2])
    dst = np.array([1, 2, 2, 4, 5, 5, 3])
    w = np.array([2.0, 2, 2, 2, 2, 2, 1])
    got = embeddedness(src, dst, w, np.array([0, 0, 0, 1, 1, 1, 2]))
    assert got[:6].tolist() == [1.0, 1.0, 0.8, 0.8, 1.0, 1.0]
    assert got[6] == 0.0  # an isolated vertex


class _MoneyOnly:
    """The two things :func:`graphprofile.analysis.rings._circle_links` reads of a projection."""

    def __init__(self, a: np.ndarray, b: np.ndarray, n: int) -> None:
        self._a, self._b = a, b
        self.customers = pd.RangeIndex(n)

    def money_customers(self) -> tuple[np.ndarray, np.ndarray]:
        return self._a, self._b


def _circles(cust_members, proj, community) -> pd.DataFrame:
    """The members' circles as the cohesion finds them: their ties outside their rings
    (``_circle_links``, without the communities), then the communities' counts."""
    from graphprofile.analysis.rings import _circle_links, _circles_of

    return _circles_of(cust_members, _circle_links(cust_members, proj), community)


def _circles_every_edge(cust_members, proj, community) -> pd.DataFrame:
    """The members' circles as they were found first: every money edge joined against the
    members."""
    a, b = proj.money_customers()
    n = np.ones(len(a))
    ok = (a >= 0) & (b >= 0) & (a != b)
    both = pd.DataFrame(
        {
            "cust": np.concatenate([a[ok], b[ok]]),
            "other": np.concatenate([b[ok], a[ok]]),
            "weight": np.concatenate([n[ok], n[ok]]),
        }
    )
    links = cust_members[["ring", "cust"]].merge(both, on="cust")
    mates = cust_members[["ring", "cust"]].rename(columns={"cust": "other"}).assign(mate=True)
    links = links.merge(mates, on=["ring", "other"], how="left")
    links = links[links["mate"].isna()]
    links = links.assign(circle=community[links["other"].to_numpy()])
    w = links.groupby(["ring", "cust", "circle"], as_index=False)["weight"].sum()
    w = w.sort_values(["ring", "cust", "weight", "circle"], ascending=[True, True, False, True])
    w = w.drop_duplicates(["ring", "cust"])[["ring", "cust", "circle"]]
    out = cust_members[["ring", "cust"]].merge(w, on=["ring", "cust"], how="left")
    return out.assign(circle=out["circle"].fillna(-1).astype("int64"))


def test_circles_read_only_the_members_edges_with_the_same_answer() -> None:
    rng = np.random.default_rng(11)
    n = 300
    a = rng.integers(-1, n, 4000)  # -1: an account whose owner is unknown
    b = rng.integers(-1, n, 4000)
    b[:50] = a[:50]  # a customer paying itself
    community = rng.integers(0, 6, n)
    members = pd.DataFrame(
        {
            "ring": np.repeat(np.arange(12), 5),
            "cust": rng.choice(n, 60, replace=True),  # a customer may be in two rings
        }
    ).drop_duplicates()
    members.loc[len(members)] = [12, n - 1]  # a member paid by nobody: a stranger (-1)
    keep = (a != n - 1) & (b != n - 1)
    proj = _MoneyOnly(a[keep], b[keep], n)
    got = _circles(members, proj, community)
    want = _circles_every_edge(members, proj, community)
    pd.testing.assert_frame_equal(got, want)
    assert (got["circle"] == -1).sum() >= 1 and (got["circle"] >= 0).sum() > 40


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_circles_by_sorted_keys_are_the_merges_answer(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c, n_e = 400, 3000
    # -1: an account without a known owner; the last customer is in no money edge
    a = rng.integers(-1, n_c - 1, n_e)
    b = rng.integers(-1, n_c - 1, n_e)
    a[:50], b[:50] = a[50:100], b[50:100]  # the same customer pair over several edges
    community = rng.integers(0, 6, n_c)
    members = pd.DataFrame(
        {"ring": np.repeat(np.arange(60), 5), "cust": rng.choice(n_c, 300)}
    ).drop_duplicates(["ring", "cust"])
    members = members.iloc[rng.permutation(len(members))].reset_index(drop=True)
    members.loc[len(members)] = [99, n_c - 1]  # a member with no partner outside its ring
    expected = _circles_every_edge(members, _MoneyOnly(a, b, n_c), community)
    got = _circles(members, _MoneyOnly(a, b, n_c), community)
    pd.testing.assert_frame_equal(got, expected)
    assert (got["circle"] == -1).any() and (got["circle"] >= 0).mean() > 0.5


def test_member_rows_are_the_rows_of_an_inner_join_in_its_order() -> None:
    from graphprofile.analysis.rings import _member_rows

    rng = np.random.default_rng(2)
    edges = pd.DataFrame({"src": rng.integers(0, 50, 400), "dst": rng.integers(0, 50, 400)})
    edges["amount"] = rng.random(400)
    # account 7 in two rings, listed out of ring order; 11 twice in ring 1
    members = pd.DataFrame({"ring": [0, 2, 0, 1, 1, 1], "acc": [3, 7, 7, 11, 49, 11]})
    joined = edges.reset_index().merge(
        members.rename(columns={"acc": "src"}), on="src", how="inner"
    )
    edge, ring = _member_rows(
        edges["src"].to_numpy(), members["acc"].to_numpy(), members["ring"].to_numpy(), 50
    )
    assert edge.tolist() == joined["index"].tolist()
    assert ring.tolist() == joined["ring"].tolist()
    assert set(edges["src"].to_numpy()[edge]) == {3, 7, 11, 49}
