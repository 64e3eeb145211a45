"""A hand-made run output directory (shared by the report, explain and export tests) and
tests of reading it back and of reasons in words.

:func:`make_run` writes what ``graphprofile run`` writes, in the documented schemas:
``graph/`` snapshot, ``features``, ``tags``, ``rings``, ``communities`` and ``run.json``.
Two rings: R-0001 (identity: C01, C02, C03 share device D1 and C02, C03 an email) and
R-0002 (cycle: A04 → A05 → A06 → A04). C12 is known fraud; C07 sends money to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.errors import InputError
from graphprofile.frames import CanonicalGraph
from graphprofile.outputs import RUN_JSON, load_outputs, write_results, write_snapshot
from graphprofile.sinks.report_data import as_list, reasons_in_words, ring_members

XSS = "<img src=x onerror=alert(1)>"
RUN_ID = "20240501T120000Z-abc123"
T = pd.Timestamp


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


CUSTOMERS = [f"C{i:02d}" for i in range(1, 13)]
RING1_REASONS = [
    {"type": "identity", "weight": 1.0},
    {"type": "shared_device", "id": "D1", "n_members": 3},
    {"type": "shared_identifier", "id": "email:h1", "kind": "email", "n_members": 2},
    {"type": "young", "weight": 0.3},
    {"text": f"3 customers opened accounts within 2 days {XSS}"},
]
RING2_REASONS = [
    {"type": "cycle", "weight": 1.0},
    {
        "type": "cycle_path",
        "accounts": ["A04", "A05", "A06"],
        "amounts": [10000.0, 9800.0, 9604.0],
        "times": ["2024-03-01T09:00:00Z", "2024-03-02T09:00:00Z", "2024-03-03T09:00:00Z"],
        "txn_ids": ["T1", "T2", "T3"],
    },
]


def make_graph() -> CanonicalGraph:
    customers = pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "name": [f"h:{i:04x}" for i in range(12)],
            "segment": ["retail"] * 10 + ["sme", "retail"],
            "known_fraud": [False] * 11 + [True],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:02d}" for i in range(1, 14)],
            "customer_id": [*CUSTOMERS, "C01"],
            "opened_at": [ts("2023-01-01")] * 13,
            "account_type": ["current"] * 13,
        }
    )
    uses = pd.DataFrame(
        {
            "customer_id": ["C01", "C02", "C03", "C04", "C07"],
            "device_id": ["D1", "D1", "D1", "D2", "D3"],
            "n_uses": [4, 3, 2, 1, 5],
            "first_seen": [ts("2024-01-01")] * 5,
            "last_seen": [ts("2024-02-01")] * 5,
        }
    )
    devices = pd.DataFrame(
        {"device_id": ["D1", "D2", "D3"], "n_customers": [3, 1, 1], "n_uses": [9, 1, 5]}
    )
    has_id = pd.DataFrame(
        {
            "customer_id": ["C02", "C03", "C05"],
            "identifier_id": ["email:h1", "email:h1", "phone:h2"],
            "kind": ["email", "email", "phone"],
        }
    )
    identifiers = pd.DataFrame(
        {
            "identifier_id": ["email:h1", "phone:h2"],
            "kind": ["email", "phone"],
            "n_customers": [2, 1],
        }
    )
    transfer = pd.DataFrame(
        {
            "from_account": ["A01", "A04", "A05", "A06", "A07", "A08"],
            "to_account": ["A02", "A05", "A06", "A04", "A12", "A09"],
            "n_txns": [2, 1, 1, 1, 1, 3],
            "total_amount": [1500.0, 10000.0, 9800.0, 9604.0, 250.0, 90.0],
            "first_ts": [
                ts("2024-02-01"),
                ts("2024-03-01T09:00"),
                ts("2024-03-02T09:00"),
                ts("2024-03-03T09:00"),
                ts("2024-03-05"),
                ts("2024-01-01"),
            ],
            "last_ts": [
                ts("2024-02-09"),
                ts("2024-03-01T09:00"),
                ts("2024-03-02T09:00"),
                ts("2024-03-03T09:00"),
                ts("2024-03-05"),
                ts("2024-01-20"),
            ],
        }
    )
    pays = pd.DataFrame(
        {
            "from_account": ["A01", "A12"],
            "counterparty_id": ["P1", "P1"],
            "n_txns": [4, 1],
            "total_amount": [120.0, 30.0],
            "first_ts": [ts("2024-01-05"), ts("2024-02-05")],
            "last_ts": [ts("2024-03-05"), ts("2024-02-05")],
        }
    )
    counterparties = pd.DataFrame(
        {"counterparty_id": ["P1"], "name": ["Shop"], "kind": ["merchant"]}
    )
    return CanonicalGraph(
        nodes={
            "customer": customers,
            "account": accounts,
            "device": devices,
            "identifier": identifiers,
            "counterparty": counterparties,
        },
        edges={
            "OWNS": accounts[["customer_id", "account_id"]],
            "USES_DEVICE": uses,
            "HAS_IDENTIFIER": has_id,
            "TRANSFER": transfer,
            "PAYS": pays,
        },
        transactions=pd.DataFrame(),
    )


def make_tables() -> dict[str, pd.DataFrame]:
    ring_of = {"C01": "R-0001", "C02": "R-0001", "C03": "R-0001"}
    ring_of.update({"C04": "R-0002", "C05": "R-0002", "C06": "R-0002"})
    risk = [0.91, 0.88, 0.86, 0.8, 0.75, 0.74, 0.55, 0.1, 0.05, 0.02, 0.01, 0.97]
    features = pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "community_id": pd.array([1] * 6 + [2] * 6, dtype="Int64"),
            "community_size": pd.array([6] * 12, dtype="Int64"),
            "pagerank": [0.2, 0.1, 0.09, 0.08, 0.07, 0.06, 0.12, 0.05, 0.04, 0.03, 0.02, 0.14],
            "pagerank_pct": [1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.9, 0.3, 0.2, 0.1, 0.05, 0.95],
            "degree": pd.array([4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1], dtype="Int64"),
            "betweenness": [0.3] + [0.0] * 11,
            "core": pd.array([2] * 12, dtype="Int64"),
            "ring_id": [ring_of.get(c) for c in CUSTOMERS],
            "ring_kind": [
                {"R-0001": "identity", "R-0002": "cycle"}.get(ring_of.get(c, "")) for c in CUSTOMERS
            ],
            "ring_size": pd.array([3 if c in ring_of else None for c in CUSTOMERS], dtype="Int64"),
            "ring_risk": [0.9 if c in ring_of else None for c in CUSTOMERS],
            "fraud_proximity": [None] * 6 + [1.0, None, None, None, None, 0.0],
            "risk_score": risk,
            "is_influencer": [True] + [False] * 11,
            "is_ring_member": [c in ring_of for c in CUSTOMERS],
            "is_high_risk": [r >= 0.7 for r in risk],
        }
    )
    tag_rows = []
    for c in CUSTOMERS:
        row = features[features["customer_id"] == c].iloc[0]
        tag_rows.append((c, "community", str(row["community_id"]), None, json.dumps([])))
        if c in ring_of:
            reasons = RING1_REASONS if ring_of[c] == "R-0001" else RING2_REASONS
            tag_rows.append((c, "ring_member", ring_of[c], 0.9, json.dumps(reasons)))
        if row["risk_score"] >= 0.7:
            ring = {"type": "ring", "ring_id": ring_of.get(c), "weight": 0.9}
            why = [ring, {"text": f"risk {XSS}"}] if c in ring_of else [{"type": "known_fraud"}]
            tag_rows.append((c, "risk:high", "high", float(row["risk_score"]), json.dumps(why)))
    tag_rows.append(
        ("C01", "influencer:top5pct", "top5pct", 1.0, json.dumps([{"pagerank_pct": 1.0}]))
    )
    tags = pd.DataFrame(tag_rows, columns=["customer_id", "tag", "value", "score", "reasons"])
    tags["run_id"] = RUN_ID
    tags["computed_at"] = ts("2024-05-01T12:00")
    rings = pd.DataFrame(
        {
            "ring_id": ["R-0001", "R-0002"],
            "kind": ["identity", "cycle"],
            "size": [3, 3],
            "customers": [["C01", "C02", "C03"], ["C04", "C05", "C06"]],
            "accounts": [[], ["A04", "A05", "A06"]],
            "risk": [0.9, 0.85],
            "reasons": [json.dumps(RING1_REASONS), json.dumps(RING2_REASONS)],
        }
    )
    communities = pd.DataFrame(
        {
            "community_id": [1, 2],
            "size": [6, 6],
            "internal_flow": [30904.0, 90.0],
            "external_flow": [0.0, 250.0],
            "density": [0.4, 0.2],
            "top_members": [["C01", "C02", "C03"], ["C12", "C07", "C08"]],
            "risky_share": [1.0, 0.17],
        }
    )
    return {"features": features, "tags": tags, "rings": rings, "communities": communities}


def make_summary(graph: CanonicalGraph) -> dict:
    tables = {
        "customers": {
            "source_file": "customers.csv",
            "read": 13,
            "accepted": 12,
            "rejected": 1,
            "duplicates_merged": 0,
        },
        "transactions": {
            "source_file": "tx.csv",
            "read": 20,
            "accepted": 17,
            "rejected": 3,
            "duplicates_merged": 1,
        },
    }
    return {
        "run_id": RUN_ID,
        "status": "complete",
        "started_at": "2024-05-01T12:00:00+00:00",
        "finished_at": "2024-05-01T12:00:05+00:00",
        "seconds": 5.0,
        "parameters": {"data_dir": "data/", "seed": 42, "previous": "old-out/"},
        "packages": {"graphprofile": "0.1.0"},
        "tables": tables,
        "rows": {"read": 33, "accepted": 29, "rejected": 4},
        "graph": graph.counts(),
        "notices": [f"a notice with {XSS}"],
        "analysis": {
            "settings": {"risk_high": 0.7},
            "churn": {
                "communities": {
                    "previous": True,
                    "moved": 2,
                    "born": 1,
                    "dissolved": 0,
                    "merged": 0,
                    "split": 1,
                },
                "rings": {
                    "previous": True,
                    "moved": 0,
                    "born": 1,
                    "dissolved": 1,
                    "merged": 0,
                    "split": 0,
                },
            },
        },
    }


def make_run(out_dir: Path, fmt: str = "parquet") -> Path:
    """Write the hand-made run into ``out_dir`` (tables in ``fmt``) and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = make_graph()
    summary = make_summary(graph)
    summary["outputs"] = write_snapshot(graph, out_dir) | write_results(make_tables(), out_dir, fmt)
    (out_dir / RUN_JSON).write_text(json.dumps(summary, indent=2))
    return out_dir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "out")


def test_load_outputs_reads_every_table_and_the_snapshot(run_dir: Path) -> None:
    out = load_outputs(run_dir)
    assert out.summary["run_id"] == RUN_ID
    assert len(out.features) == 12 and len(out.rings) == 2 and len(out.communities) == 2
    assert out.graph is not None and len(out.graph.edges["TRANSFER"]) == 6
    assert ring_members(out.rings, "R-0002") == (["C04", "C05", "C06"], ["A04", "A05", "A06"])
    assert ring_members(out.rings, "nope") == ([], [])
    assert out.analysis_meta["settings"]["risk_high"] == 0.7


def test_load_outputs_errors_name_the_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"output directory .*nope does not exist"):
        load_outputs(tmp_path / "nope")
    with pytest.raises(InputError, match=r"holds no run\.json, so no finished run"):
        load_outputs(tmp_path)


def test_load_outputs_reads_the_files_run_json_lists(run_dir: Path) -> None:
    (run_dir / "features.parquet").rename(run_dir / "elsewhere.parquet")
    with pytest.raises(InputError, match=r"lists features\.parquet, but .* is missing"):
        load_outputs(run_dir)
    summary = json.loads((run_dir / RUN_JSON).read_text())
    summary["outputs"]["features"] = "elsewhere.parquet"
    (run_dir / RUN_JSON).write_text(json.dumps(summary))
    assert len(load_outputs(run_dir).features) == 12


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_formats_read_back_with_the_types_of_parquet(tmp_path: Path, fmt: str) -> None:
    parquet = load_outputs(make_run(tmp_path / "parquet"))
    text = load_outputs(make_run(tmp_path / fmt, fmt))
    for name in ("features", "rings", "communities"):
        a, b = getattr(parquet, name), getattr(text, name)
        assert list(a.columns) == list(b.columns)
        for column in ("customer_id", "ring_id", "community_id"):
            if column in a.columns:
                assert a[column].astype("object").where(a[column].notna(), None).tolist() == (
                    b[column].astype("object").where(b[column].notna(), None).tolist()
                ), (name, column)
    assert text.features["community_id"].dtype == "Int64"
    assert ring_members(text.rings, "R-0002") == (["C04", "C05", "C06"], ["A04", "A05", "A06"])


def test_lists_come_back_from_parquet_and_json_text() -> None:
    assert as_list('["a", "b"]') == ["a", "b"]
    assert as_list(None) == [] and as_list(float("nan")) == []
    assert as_list(pd.Series([["x"]]).to_numpy()[0]) == ["x"]


def test_reasons_in_words() -> None:
    words = reasons_in_words(json.dumps(RING1_REASONS))
    assert words[:4] == [
        "pattern: customers sharing devices or identifiers (+1.00 risk)",
        "3 members share device D1",
        "2 members share email email:h1",
        "risk raised by young accounts (+0.30 risk)",
    ]
    assert words[4] == f"3 customers opened accounts within 2 days {XSS}"
    assert reasons_in_words(json.dumps(RING2_REASONS))[1] == (
        "money cycle A04 → A05 → A06 → A04: amounts 10,000.00 → 9,800.00 → 9,604.00, "
        "2024-03-01 09:00 to 2024-03-03 09:00"
    )
    step = {"from": "C1", "to": "C9", "links": [{"via": "device", "id": "D7"}]}
    near = {"type": "known_fraud_neighbour", "weight": 0.5, "hops": 1, "customer": "C9"}
    near["steps"] = [step]
    assert reasons_in_words([near]) == [
        "1 hop from known fraud C9 (+0.50 risk): shares device D7 with C9"
    ]
    # every reason type the analysis writes reads as words, never "size: weight 0.15"
    analysis_reasons = [
        {"type": "fan_in_pattern", "collector": "A9", "n_senders": 12, "n_onwards": 2},
        {"type": "fan_out_pattern", "source": "A1", "n_receivers": 7},
        {"type": "scatter_gather_pattern", "source": "A1", "sink": "A5", "n_intermediates": 4},
        *({"type": t, "weight": 0.15} for t in ("size", "breadth", "magnitude", "one_off")),
        *({"type": t, "weight": 0.1} for t in ("length", "thin", "cash_out", "known_fraud")),
        {"type": "known_fraud", "weight": 1.0},
        {"type": "ring", "ring_id": "R1", "kind": "fan_in", "weight": 0.8},
        {"type": "fan_in_pattern", "collector": "Q", "n_senders": 6, "n_single_shot": 6},
        {"type": "single_shot", "weight": 0.3857},
        {"type": "layers_pattern", "n_layers": 4, "n_accounts": 5, "n_relay": 3},
        {"type": "relay", "weight": 0.27},
        {"type": "strangers", "weight": 0.111},
    ]
    words = reasons_in_words(analysis_reasons)
    assert words[-3:] == [
        "4 layer(s) of payments over 5 accounts; 3 of them made no other transaction than one"
        " receipt and one payment",
        "risk raised by accounts whose only transactions in the data are one receipt and one"
        " payment (+0.27 risk)",
        "risk raised by members from different social circles, where this bank's money usually"
        " stays within one (+0.11 risk)",
    ]
    words = words[:-3]
    assert words[-2:] == [
        "6 accounts paid collector Q; 6 of them made no other transaction in the data",
        "risk raised by accounts whose only transaction in the data is this one (+0.39 risk)",
    ]
    words = words[:-2]
    assert words[:3] == [
        "12 accounts paid collector A9 within days, which sent it on to 2",
        "A1 paid 7 accounts that passed the money on",
        "money from A1 went through 4 accounts and came together again at A5",
    ]
    assert words[3] == "risk raised by more than two customers sharing them (+0.15 risk)"
    assert words[-2:] == ["flagged as known fraud", "member of fan-in ring R1 (+0.80 risk)"]
    assert not any("weight" in w or ":" in w.split(" (")[0][-3:] for w in words)
    # unknown types still read: their fields in words
    assert reasons_in_words([{"type": "odd_pattern", "collector": "A9", "n_senders": 12}]) == [
        "odd pattern: collector A9; n senders 12"
    ]
    assert reasons_in_words(None) == [] and reasons_in_words("plain words") == ["plain words"]
    assert reasons_in_words({"shared_devices": 2}) == ["shared devices: 2"]
