"""Known-fraud proximity over links that carry evidence, and explain's paths on the same graph.

Hand-built bank (``small_bank``): a payment chain ``B00 -> … -> B39`` whose first 30 members
also share a public terminal (a hub), an employer paying salaries, a device ring.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_analysis_support import small_bank

from graphprofile.analysis import analyse
from graphprofile.explain import explain
from graphprofile.outputs import write_results, write_snapshot
from graphprofile.sinks.report_data import reasons_in_words

NOW = pd.Timestamp("2025-06-01", tz="UTC")
STAFF = tuple(f"B{i:02d}" for i in range(10, 26))  # 16 payees: E pays more than K = 10


def _neighbour(features: pd.DataFrame, cid: str) -> dict | None:
    reasons = json.loads(features.loc[cid, "risk_reasons"])
    return next((r for r in reasons if r["type"] == "known_fraud_neighbour"), None)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    graph = small_bank(known=("B05", "B12"), payroll=STAFF)
    result = analyse(graph, run_id="p1", computed_at=NOW, seed=42)
    out = tmp_path_factory.mktemp("prox")
    outputs = write_snapshot(graph, out) | write_results(result.tables(), out, "parquet")
    summary = {"run_id": "p1", "analysis": result.meta, "outputs": outputs}
    (out / "run.json").write_text(json.dumps(summary))
    return out, result.features.set_index("customer_id")


def test_money_link_says_what_it_is(run) -> None:
    _, f = run
    assert f.loc["B04", "fraud_hops"] == 1
    reason = _neighbour(f, "B04")
    # B04 received (37 + 29) * 4**1.3 from B03 and sent (37 + 29) * 5**1.3 to known-fraud
    # B05 (two transfers each way): the link carries that share of its money, and the 1-hop
    # weight 0.5 is scaled by it
    share = 5**1.3 / (4**1.3 + 5**1.3)
    assert reason["customer"] == "B05" and reason["hops"] == 1
    assert reason["share"] == round(share, 4) and reason["weight"] == round(0.5 * share, 4)
    link = reason["steps"][0]["links"][0]
    assert link["via"] == "money" and link["direction"] == "sent" and link["n_txns"] == 2
    words = reasons_in_words([reason])[0]
    assert words.startswith("1 hop from known fraud B05 (+0.29 risk): sent 2 transfers totalling ")
    assert words.endswith(" to B05")
    two = _neighbour(f, "B03")
    assert two["hops"] == 2 and [s["to"] for s in two["steps"]] == ["B04", "B05"]
    # two hops: B03's share of money with B04, times B04's own share
    assert two["share"] == round(4**1.3 / (3**1.3 + 4**1.3) * share, 4)
    assert "; B04 sent 2 transfers totalling" in reasons_in_words([two])[0]


def test_salary_hub_and_distance_carry_no_reason(run) -> None:
    _, f = run
    # the employer paid a known fraudster's salary: not evidence of anything
    assert pd.isna(f.loc["E", "fraud_hops"])
    assert _neighbour(f, "E") is None
    # B20 shares the public terminal with B05 and is paid by the same employer as B12:
    # neither is a link; 8 steps down the payment chain adds no risk and no reason
    assert f.loc["B20", "fraud_hops"] == 8
    assert _neighbour(f, "B20") is None
    carrying = f["risk_reasons"].str.contains("known_fraud_neighbour").sum()
    assert carrying == 8  # B03, B04, B06, B07 around B05; B10, B11, B13, B14 around B12
    tags = pd.read_parquet(run[0] / "tags.parquet")
    near = set(tags.loc[tags["tag"] == "near_known_fraud", "customer_id"])
    assert near == {"B03", "B04", "B06", "B07", "B10", "B11", "B13", "B14"}


def test_explain_paths_agree_with_the_tag(run) -> None:
    out, f = run
    for cid in ("B03", "B04", "B07", "B20", "E", "B14"):
        paths = explain(out, cid, hops=10)["paths_to_known_fraud"]
        hops = f.loc[cid, "fraud_hops"]
        if pd.isna(hops):
            assert paths == [], cid
            continue
        assert paths[0]["hops"] == hops, cid
        for p in paths:  # never through the public terminal or the employer
            assert "E" not in p["customers"]
            assert all(x.get("id") != "dev-public" for s in p["steps"] for x in s["links"])
    doc = explain(out, "B04")
    assert doc["paths_to_known_fraud"][0]["in_words"].startswith("sent 2 transfers totalling")


def test_fraud_hops_count_customer_steps() -> None:
    graph = small_bank(known=("D1",))
    f = analyse(graph, run_id="p2", computed_at=NOW).features.set_index("customer_id")
    hops = f.loc[["D1", "D2", "D3", "D4"], "fraud_hops"].to_numpy(dtype=np.int64)
    assert hops.tolist() == [0, 1, 1, 1]
    reason = _neighbour(f, "D2")
    vias = {x["via"] for x in reason["steps"][0]["links"]}
    assert vias == {"device", "phone"}
    assert "shares device dev-ring with D1" in reasons_in_words([reason])[0]


def test_link_share_weighs_the_link_by_the_customers_own_money() -> None:
    import igraph as ig

    from graphprofile.analysis.proximity import Evidence, link_shares

    # 0 is known fraud. 1 received 40 from it among 4,000 of its own payments; 2 sends all
    # its money (900) to 0; 3 shares a device with 1; 4 got 100 from 2 and paid 300 to 5;
    # 5 is 3 hops away (no share)
    links = pd.DataFrame(
        {
            "a": [0, 1, 2, 1, 2, 4],
            "b": [1, 9, 0, 3, 4, 5],
            "via": ["money", "money", "money", "device", "money", "money"],
            "item_id": ["", "", "", "dev-1", "", ""],
            "n_txns": [2, 50, 3, 0, 1, 1],
            "amount": [40.0, 3960.0, 900.0, 0.0, 100.0, 300.0],
        }
    )
    total = np.array([940.0, 4000.0, 1000.0, 0.0, 400.0, 300.0, 0, 0, 0, 3960.0])
    hops = np.array([0, 1, 1, 2, 2, 3, np.nan, np.nan, np.nan, 2], dtype="float64")
    ev = Evidence(graph=ig.Graph(10), links=links, money_total=total)
    share = link_shares(ev, hops)
    assert share[0] == 1.0
    assert share[1] == 40.0 / 4000.0  # two small payments among many: near 0
    assert share[2] == 0.9
    assert share[3] == share[1]  # a shared device carries the neighbour's share whole
    assert share[4] == 100.0 / 400.0 * 0.9
    assert share[9] == 3960.0 / 3960.0 * share[1]
    assert share[5] == 0.0 and np.isnan(hops[6]) and share[6] == 0.0


def test_evidence_links_are_sorted_by_their_text() -> None:
    from graphprofile.analysis.projection import project
    from graphprofile.analysis.proximity import LINK_COLUMNS, evidence_graph

    ev = evidence_graph(project(small_bank(known=("D1",))))
    assert list(ev.links.columns) == LINK_COLUMNS
    plain = ev.links.astype({"via": "str", "item_id": "str"})
    # already in the order of a stable sort on the text (ties: item links before money)
    again = plain.sort_values(["a", "b", "via", "item_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(plain, again)
    money = plain[plain["via"] == "money"]
    assert len(money) and (money["item_id"] == "").all() and (money["n_txns"] > 0).all()
    items = plain[plain["via"] != "money"]
    assert {"device", "phone"} <= set(items["via"]) and "dev-ring" in set(items["item_id"])
    assert (items["a"] < items["b"]).all() and (items["amount"] == 0.0).all()


def test_codes_keep_their_categories_sorted() -> None:
    from graphprofile.analysis.proximity import Codes

    c = Codes.of(np.array(["phone", "device", "phone"], dtype=object))
    assert c.categories.tolist() == ["device", "phone"] and c.codes.tolist() == [1, 0, 1]
    m = c.plus("money", 2)  # a new category, at its sorted place
    assert m.categories.tolist() == ["device", "money", "phone"]
    assert m.categories[m.codes].tolist() == ["phone", "device", "phone", "money", "money"]
    p = c.plus("phone", 1)  # already there
    assert p.categories.tolist() == ["device", "phone"] and p.codes.tolist() == [1, 0, 1, 1]
    assert c.plus("money", 0) is c
    e = Codes.of(np.array([], dtype=object)).plus("", 2)
    assert e.categories.tolist() == [""] and e.codes.tolist() == [0, 0]
    assert m.categorical(np.array([4, 0])).tolist() == ["money", "phone"]
