"""Reading the transactions in a thread beside the other tables, and checking everything else
while they are read, changes nothing a user sees: the notices come in the order of reading
every table in turn, then linking, then pseudonymising, and every table's rows reconcile."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import PII_KEY, load, write_files

from graphprofile.ingest.pii import ENV_KEY

TXNS = (
    "txn_id,from_account,to_account,amount,ts,note\n"
    "t1,a1,a2,5,2024-01-01,x\n"
    "t2,a2,a9,5,2024-01-02,y\n"  # a9: no such account
)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, PII_KEY)


def test_notices_keep_the_order_of_reading_then_linking_then_pseudonymising(
    tmp_path: Path,
) -> None:
    data = write_files(
        tmp_path / "data",
        {
            "customers.csv": "customer_id,name,segment,email\nc1,Ann,retail,a@x\n"
            "c2,Bob,retail,b@x\n",
            "accounts.csv": "account_id,customer_id,opened_at,colour\na1,c1,2023-01-01,red\n"
            "a2,c2,2023-01-01,blue\na3,c9,2023-01-01,red\n",
            "transactions.csv": TXNS,
        },
    )
    frames = load(data)
    assert frames.notices == [
        "accounts.csv: unmapped column(s) ignored: colour",
        "transactions.csv: unmapped column(s) ignored: note",
        "customers: attribute(s) email look like PII and are pseudonymised like names",
        f"PII pseudonymised with the key from {ENV_KEY}",
    ]
    assert frames.stats["accounts"].rejected == 1  # a3: customer c9 is unknown
    assert frames.stats["transactions"].rejected == 1  # t2: account a9 is unknown
    assert list(frames.rejects["table"]) == ["accounts", "transactions"]


def test_without_an_accounts_table_the_transactions_are_waited_for(tmp_path: Path) -> None:
    data = write_files(tmp_path / "data", {"transactions.csv": TXNS})
    frames = load(data)
    assert frames.notices == [
        "transactions.csv: unmapped column(s) ignored: note",
        "no accounts table: each account stands for its own customer",
        f"PII pseudonymised with the key from {ENV_KEY}",
    ]
    assert sorted(frames.accounts["account_id"]) == ["a1", "a2", "a9"]
    assert frames.stats["transactions"].rejected == 0
