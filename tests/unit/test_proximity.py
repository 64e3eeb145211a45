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
    assert reason["customer"] == "B05" and reason["hops"] == 1 and reason["weight"] == 0.5
    link = reason["steps"][0]["links"][0]
    assert link["via"] == "money" and link["direction"] == "sent" and link["n_txns"] == 1
    words = reasons_in_words([reason])[0]
    assert words.startswith("1 hop from known fraud B05 (+0.50 risk): sent 1 transfer totalling ")
    assert words.endswith(" to B05")
    two = _neighbour(f, "B03")
    assert two["hops"] == 2 and [s["to"] for s in two["steps"]] == ["B04", "B05"]
    assert "; B04 sent 1 transfer totalling" in reasons_in_words([two])[0]


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
    assert doc["paths_to_known_fraud"][0]["in_words"].startswith("sent 1 transfer totalling")


def test_fraud_hops_count_customer_steps() -> None:
    graph = small_bank(known=("D1",))
    f = analyse(graph, run_id="p2", computed_at=NOW).features.set_index("customer_id")
    hops = f.loc[["D1", "D2", "D3", "D4"], "fraud_hops"].to_numpy(dtype=np.int64)
    assert hops.tolist() == [0, 1, 1, 1]
    reason = _neighbour(f, "D2")
    vias = {x["via"] for x in reason["steps"][0]["links"]}
    assert vias == {"device", "phone"}
    assert "shares device dev-ring with D1" in reasons_in_words([reason])[0]
