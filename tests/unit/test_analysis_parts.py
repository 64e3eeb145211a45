"""Known answers for the small pieces the analysis and ingest orchestrators call."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_analysis_support import small_bank

from graphprofile.analysis.features import best_rings, ring_risk_of
from graphprofile.analysis.projection import project
from graphprofile.analysis.proximity import customer_proximity, no_proximity
from graphprofile.analysis.rings import bank_context, known_fraud
from graphprofile.domain import FLOW_KINDS, FLOW_PRIORITY, RING_KINDS, RING_ORDER
from graphprofile.frames import TableStats
from graphprofile.ingest.read import ROW
from graphprofile.ingest.validate import LoadLog


def test_best_ring_is_the_riskiest_then_the_smallest_id() -> None:
    members = pd.DataFrame(
        {
            "cust": [0, 0, 1, 2, 2],
            "ring_id": ["R2", "R1", "R3", "R5", "R4"],
            "kind": ["cycle", "identity", "fan_in", "fan_out", "cycle"],
            "risk": [0.5, 0.9, 0.2, 0.6, 0.6],
        }
    )
    best = best_rings(members)
    assert best["ring_id"].to_dict() == {0: "R1", 1: "R3", 2: "R4"}
    risk, reason = ring_risk_of(best, 4)
    assert risk.tolist() == [0.9, 0.2, 0.6, 0.0]
    assert reason[0] == {"type": "ring", "ring_id": "R1", "kind": "identity", "weight": 0.9}
    assert reason[3] is None


def test_proximity_of_known_fraud_and_without_any() -> None:
    proj = project(small_bank())
    known = np.zeros(len(proj.customers), dtype=bool)
    known[0] = True
    near = customer_proximity(proj, known)
    assert near.fraud_hops[0] == 0 and near.hops is not None and near.hops[0] == 0.0
    assert all(near.hops[c] in (1.0, 2.0) for c in near.neighbours)
    assert all(r["customer"] == proj.customers[0] for r in near.neighbours.values())
    none = no_proximity(3)
    assert none.hops is None and none.neighbours == {} and np.isnan(none.fraud_proximity).all()


def test_load_log_rejects_count_and_keep_the_rest() -> None:
    log = LoadLog()
    log.files["accounts"] = "accounts.csv"
    log.stats["accounts"] = TableStats(table="accounts", source_file="accounts.csv", read=3)
    df = pd.DataFrame({ROW: [2, 3, 4], "account_id": ["A1", "A2", "A3"]})
    kept = log.reject("accounts", df, df["account_id"] == "A2", "bad account", "account_id")
    assert kept["account_id"].tolist() == ["A1", "A3"]
    assert log.stats["accounts"].rejected == 1
    rejects = log.rejects.frame()
    assert rejects[["source_row", "key", "reason"]].values.tolist() == [[3, "A2", "bad account"]]
    assert log.reject("accounts", kept, kept["account_id"] == "none", "x", None) is kept


def test_ring_kind_orders_name_the_same_kinds() -> None:
    assert sorted(FLOW_PRIORITY) == sorted(FLOW_KINDS)
    assert RING_ORDER[0] == RING_KINDS[0] == "identity"
    assert sorted(RING_ORDER) == sorted(RING_KINDS)


def test_known_fraud_flags_the_flagged_customers_by_position() -> None:
    graph = small_bank(known=("D1", "X2"))
    proj = project(graph)
    known = known_fraud(graph, proj)
    flagged = sorted(str(c) for c in proj.customers[known])
    assert flagged == ["D1", "X2"]
    # the context computes the same flags when not given them
    np.testing.assert_array_equal(bank_context(graph, proj)["known_fraud"], known)
    assert not known_fraud(small_bank(known=()), project(small_bank(known=()))).any()
