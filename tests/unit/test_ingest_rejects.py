"""Every bad-row kind lands in the rejects with file, row and reason; counts reconcile."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from ingest_support import PII_KEY, load, rejected, write_files

from graphprofile.cli import main

FILES = {
    "customers.csv": "customer_id,name,segment,known_fraud\n"
    "c1,Ann,retail,false\n"
    ",Nobody,retail,false\n"  # 3: missing id
    "c2,Bob,retail,maybe\n"  # 4: unparsable boolean
    "c3,Cy,retail,true\n"
    "c3,Cy,business,true\n"  # 6: conflicting duplicate
    "c3,Cy,retail,true\n",  # 7: identical duplicate (merged)
    "accounts.csv": "account_id,customer_id,opened_at,account_type\n"
    "a1,c1,2020-01-01,checking\n"
    "a2,c9,2020-01-01,checking\n"  # 3: dangling customer
    "a3,c2,2020-01-01,checking\n"  # 4: customer c2 was rejected → dangling
    "a4,c3,not a date,checking\n"  # 5: unparsable optional timestamp
    "a5,c3,2020-01-01,checking\n"
    "a5,c1,2020-01-01,checking\n"  # 7: conflicting duplicate
    ",c1,2020-01-01,checking\n",  # 8: missing id
    "counterparties.csv": "counterparty_id,name,kind\nm1,Shop,merchant\nm1,Other Shop,merchant\n",
    "devices.csv": "device_id,customer_id,account_id,seen_at\n"
    "d1,c1,,2024-01-01\n"
    "d2,c9,,2024-01-01\n"  # 3: dangling customer
    "d3,,a9,2024-01-01\n"  # 4: dangling account
    "d4,,,2024-01-01\n"  # 5: neither
    ",c1,,2024-01-01\n"  # 6: missing id
    "d5,c3,a1,2024-01-01\n",  # 7: customer differs from account owner
    "identifiers.csv": "customer_id,kind,value\n"
    "c1,phone,+1 555 0100\n"
    "c9,phone,+1 555 0199\n"  # 3: dangling customer
    "c1,,x\n",  # 4: missing kind
    "transactions.csv": "txn_id,from_account,to_account,to_counterparty,amount,ts\n"
    "t1,a1,a5,,10,2024-01-01\n"
    "t2,a1,a5,,abc,2024-01-01\n"  # 3: unparsable amount
    "t3,a1,a5,,0,2024-01-01\n"  # 4: non-positive
    "t4,a1,a5,,-2,2024-01-01\n"  # 5: non-positive
    "t5,a1,a5,,10,yesterday\n"  # 6: unparsable timestamp
    "t6,a1,a5,,10,\n"  # 7: missing timestamp
    "t7,,a5,,10,2024-01-01\n"  # 8: missing from_account
    "t8,a1,a2,,10,2024-01-01\n"  # 9: a2 was rejected → dangling
    "t9,a1,,m9,10,2024-01-01\n"  # 10: unknown counterparty
    "t10,a1,,,10,2024-01-01\n"  # 11: no receiver
    "t11,a1,a5,m1,10,2024-01-01\n"  # 12: both receivers
    "t1,a1,a5,,11,2024-01-01\n"  # 13: conflicting duplicate
    "t1,a1,a5,,10,2024-01-01\n"  # 14: identical duplicate
    "t12,a1,,m1,5,2024-01-02\n",
}

EXPECTED = {
    "customers": [
        (3, "customer_id", "missing customer_id"),
        (4, "known_fraud", "unparsable known_fraud 'maybe'"),
        (6, "customer_id", "duplicate customer_id 'c3' with different values than row 5"),
    ],
    "accounts": [
        (3, "customer_id", "dangling reference: customer_id 'c9' is not in customers"),
        (4, "customer_id", "dangling reference: customer_id 'c2' is not in customers"),
        (5, "opened_at", "unparsable opened_at 'not a date'"),
        (7, "account_id", "duplicate account_id 'a5' with different values than row 6"),
        (8, "account_id", "missing account_id"),
    ],
    "counterparties": [
        (3, "counterparty_id", "duplicate counterparty_id 'm1' with different values than row 2"),
    ],
    "devices": [
        (3, "customer_id", "dangling reference: customer_id 'c9' is not in customers"),
        (4, "account_id", "dangling reference: account_id 'a9' is not in accounts"),
        (5, "(row)", "missing customer_id and account_id (one is required)"),
        (6, "device_id", "missing device_id"),
        (7, "customer_id", "customer_id differs from the owner of account_id"),
    ],
    "identifiers": [
        (3, "customer_id", "dangling reference: customer_id 'c9' is not in customers"),
        (4, "kind", "missing kind"),
    ],
    "transactions": [
        (3, "amount", "unparsable amount 'abc'"),
        (4, "amount", "non-positive amount '0'"),
        (5, "amount", "non-positive amount '-2'"),
        (6, "ts", "unparsable ts 'yesterday'"),
        (7, "ts", "missing ts"),
        (8, "from_account", "missing from_account"),
        (9, "to_account", "dangling reference: to_account 'a2' is not in accounts"),
        (
            10,
            "to_counterparty",
            "dangling reference: to_counterparty 'm9' is not in counterparties",
        ),
        (11, "(row)", "missing to_account and to_counterparty (one is required)"),
        (12, "(row)", "both to_account and to_counterparty are set (give one)"),
        (13, "txn_id", "duplicate txn_id 't1' with different values than row 2"),
    ],
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_files(tmp_path / "data", FILES)


def test_every_bad_row_kind_is_rejected_with_its_reason(data: Path) -> None:
    frames = load(data)
    for table, expected in EXPECTED.items():
        assert rejected(frames, table) == expected, table
    assert {
        t: (s.read, s.accepted, s.rejected, s.duplicates_merged) for t, s in frames.stats.items()
    } == {
        "customers": (6, 3, 3, 1),
        "accounts": (7, 2, 5, 0),
        "counterparties": (2, 1, 1, 0),
        "devices": (6, 1, 5, 0),
        "identifiers": (3, 1, 2, 0),
        "transactions": (14, 3, 11, 1),
    }
    assert list(frames.customers["customer_id"]) == ["c1", "c3"]
    assert list(frames.accounts["account_id"]) == ["a1", "a5"]
    assert list(frames.transactions["txn_id"]) == ["t1", "t12"]
    assert list(frames.devices["device_id"]) == ["d1"]


def test_reject_keys_name_the_row(data: Path) -> None:
    frames = load(data)
    tx = frames.rejects[frames.rejects["table"] == "transactions"]
    assert list(tx["key"]) == [
        "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t1"
    ]  # fmt: skip


def test_rejects_files_and_run_json_reconcile(data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", PII_KEY)
    out = tmp_path / "out"
    # a handful of rows, most of them bad on purpose: accept any share of rejects
    assert main(["run", str(data), "--out", str(out), "--quiet", "--max-reject-share", "1"]) == 0

    summary = json.loads((out / "run.json").read_text())
    total = 0
    for table, expected in EXPECTED.items():
        stats = summary["tables"][table]
        assert stats["read"] == stats["accepted"] + stats["rejected"]
        written = pd.read_csv(out / "rejects" / f"{table}.csv", keep_default_na=False)
        assert list(written.columns) == ["source_file", "source_row", "column", "reason", "key"]
        assert len(written) == stats["rejected"] == len(expected)
        assert set(written["source_file"]) == {str(data / f"{table}.csv")}
        assert [
            (int(r), c, why)
            for r, c, why in zip(
                written["source_row"], written["column"], written["reason"], strict=True
            )
        ] == expected
        total += len(written)
    assert summary["rows"]["rejected"] == total
    assert summary["rows"]["read"] == summary["rows"]["accepted"] + total
