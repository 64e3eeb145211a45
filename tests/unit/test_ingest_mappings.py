"""The default and the foreign mapping load exactly the expected canonical frames."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ingest_support import (
    FOREIGN_DATA,
    FOREIGN_MAPPING,
    PII_KEY,
    load,
    pseudonym,
    rejected,
    strings,
    utc,
    write_files,
)

from graphprofile.ingest import load_mapping


@pytest.fixture(autouse=True)
def _pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", PII_KEY)


def _eq(actual: pd.DataFrame, expected: dict[str, pd.Series]) -> None:
    pd.testing.assert_frame_equal(actual, pd.DataFrame(expected))


# --- foreign layout: semicolons, Latin-1, decimal commas, epoch seconds, German names ---


def test_foreign_transactions_exact() -> None:
    frames = load(FOREIGN_DATA, FOREIGN_MAPPING)
    _eq(
        frames.transactions,
        {
            "txn_id": strings(["B1", "B2", "B3", "B4"]),
            "from_account": strings(["DE01", "DE02", "DE03", "DE01"]),
            "to_account": strings(["DE02", "DE03", "DE01", None]),
            "to_counterparty": strings([None, None, None, "H17"]),
            "amount": pd.Series([1234.50, 99.99, 1200.00, 12.00]),
            "currency": strings(["EUR"] * 4),
            "ts": utc(
                [
                    "2025-01-01T10:00Z",
                    "2025-01-02T10:00Z",
                    "2025-01-03T10:00Z",
                    "2025-01-04T10:00Z",
                ]
            ),
        },
    )


def test_foreign_accounts_customers_identifiers_exact() -> None:
    frames = load(FOREIGN_DATA, FOREIGN_MAPPING)
    _eq(
        frames.accounts,
        {
            "account_id": strings(["DE01", "DE02", "DE03", "DE04"]),
            "customer_id": strings(["K1", "K2", "K3", "K4"]),
            "opened_at": utc(["2021-03-15", "2023-07-01", "2019-12-31", "2024-02-02"]),
            "account_type": strings(["giro", "giro", "geschaeft", "spar"]),
        },
    )
    # Latin-1 names are decoded, case-folded, then hashed with the key.
    _eq(
        frames.customers,
        {
            "customer_id": strings(["K1", "K2", "K3", "K4"]),
            "name": strings(
                [
                    pseudonym("jürgen müller"),
                    pseudonym("zoë schäfer"),
                    pseudonym("firma gross gmbh"),
                    pseudonym("anna weiss"),
                ]
            ),
            "segment": strings(["privat", "privat", "firma", "privat"]),
            "known_fraud": pd.Series([False, True, False, False]),
            "branch": strings(["Köln", "Bonn", "Köln", "Bonn"]),
        },
    )
    # Two spellings of one phone number get one pseudonym.
    _eq(
        frames.identifiers,
        {
            "customer_id": strings(["K1", "K2", "K3", "K4"]),
            "kind": strings(["phone", "phone", "email", "address"]),
            "value": strings(
                [
                    pseudonym("+492215550101"),
                    pseudonym("+492215550101"),
                    pseudonym("info@gross.example"),
                    pseudonym("hauptstrasse 1, bonn"),
                ]
            ),
        },
    )
    assert list(frames.counterparties["counterparty_id"]) == ["H17"]
    assert frames.devices.empty
    assert frames.present == {"transactions", "accounts", "customers", "identifiers"}


def test_foreign_rejects_and_counts() -> None:
    frames = load(FOREIGN_DATA, FOREIGN_MAPPING)
    assert rejected(frames, "transactions") == [
        (6, "from_account", "dangling reference: from_account 'DE05' is not in accounts"),
        (7, "amount", "unparsable amount 'null'"),
        (8, "ts", "unparsable ts 'gestern'"),
    ]
    assert rejected(frames, "accounts") == [
        (6, "customer_id", "dangling reference: customer_id 'K9' is not in customers")
    ]
    assert {t: (s.read, s.accepted, s.rejected) for t, s in frames.stats.items()} == {
        "customers": (4, 4, 0),
        "accounts": (5, 4, 1),
        "identifiers": (4, 4, 0),
        "transactions": (7, 4, 3),
    }
    assert set(frames.rejects["source_file"]) == {
        str(FOREIGN_DATA / "zahlungen.csv"),
        str(FOREIGN_DATA / "konten.csv"),
    }
    # the README's example (branch = "Filiale") is what the shipped mapping does
    assert not any(n.startswith("kunden.csv: unmapped") for n in frames.notices)


def test_yaml_mapping_equals_toml(tmp_path: Path) -> None:
    doc = tomllib.loads(FOREIGN_MAPPING.read_text(encoding="utf-8"))
    as_yaml = tmp_path / "foreign.yaml"
    as_yaml.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    toml_mapping, yaml_mapping = load_mapping(FOREIGN_MAPPING), load_mapping(as_yaml)
    assert toml_mapping.tables == yaml_mapping.tables
    a, b = load(FOREIGN_DATA, FOREIGN_MAPPING), load(FOREIGN_DATA, as_yaml)
    for table in ("transactions", "accounts", "customers", "identifiers", "rejects"):
        pd.testing.assert_frame_equal(a.table(table), b.table(table))
    yml = tmp_path / "foreign.yml"
    yml.write_text(as_yaml.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_mapping(yml).tables == toml_mapping.tables


# --- default layout: our own canonical tables, CSV and Parquet ---

DEFAULT_FILES = {
    "customers.csv": "customer_id,name,segment,known_fraud,branch\n"
    "c1,Ada Lovelace,retail,false,north\n"
    "c2,Alan Turing,business,true,south\n",
    "accounts.csv": "account_id,customer_id,opened_at,account_type\n"
    "a1,c1,2020-01-02,checking\n"
    "a2,c2,2021-05-06T07:08:09+02:00,savings\n",
    "counterparties.csv": "counterparty_id,name,kind\nm1,Corner Shop,merchant\n",
    "devices.csv": "device_id,customer_id,account_id,seen_at,ip\n"
    "d1,c1,,2024-01-01T00:00:00Z,10.0.0.1\n"
    "d1,,a2,2024-01-02T00:00:00Z,10.0.0.2\n",
    "identifiers.csv": "customer_id,kind,value\n"
    "c1,Email,Ada@Example.org\n"
    "c2,phone,+44 20 7946 0000\n",
    "transactions.csv": "txn_id,from_account,to_account,to_counterparty,amount,currency,ts\n"
    "t1,a1,a2,,10.5,GBP,2024-02-01T12:00:00Z\n"
    "t2,a2,,m1,3,GBP,2024-02-02\n",
}


def _expected_default() -> dict[str, dict[str, pd.Series]]:
    return {
        "transactions": {
            "txn_id": strings(["t1", "t2"]),
            "from_account": strings(["a1", "a2"]),
            "to_account": strings(["a2", None]),
            "to_counterparty": strings([None, "m1"]),
            "amount": pd.Series([10.5, 3.0]),
            "currency": strings(["GBP", "GBP"]),
            "ts": utc(["2024-02-01T12:00:00Z", "2024-02-02T00:00:00Z"]),
        },
        "accounts": {
            "account_id": strings(["a1", "a2"]),
            "customer_id": strings(["c1", "c2"]),
            "opened_at": utc(["2020-01-02T00:00Z", "2021-05-06T05:08:09Z"]),
            "account_type": strings(["checking", "savings"]),
        },
        "customers": {
            "customer_id": strings(["c1", "c2"]),
            "name": strings([pseudonym("ada lovelace"), pseudonym("alan turing")]),
            "segment": strings(["retail", "business"]),
            "known_fraud": pd.Series([False, True]),
            "branch": strings(["north", "south"]),
        },
        "devices": {
            "device_id": strings(["d1", "d1"]),
            "customer_id": strings(["c1", "c2"]),
            "account_id": strings([None, "a2"]),
            "seen_at": utc(["2024-01-01", "2024-01-02"]),
            "ip": strings([pseudonym("10.0.0.1"), pseudonym("10.0.0.2")]),
        },
        "identifiers": {
            "customer_id": strings(["c1", "c2"]),
            "kind": strings(["email", "phone"]),
            "value": strings([pseudonym("ada@example.org"), pseudonym("+442079460000")]),
        },
        "counterparties": {
            "counterparty_id": strings(["m1"]),
            "name": strings(["Corner Shop"]),
            "kind": strings(["merchant"]),
        },
    }


def test_default_mapping_csv_exact(tmp_path: Path) -> None:
    frames = load(write_files(tmp_path, DEFAULT_FILES))
    for table, expected in _expected_default().items():
        _eq(frames.table(table), expected)
    assert frames.rejects.empty
    assert frames.present == set(_expected_default())


def test_default_mapping_parquet_reads_the_same(tmp_path: Path) -> None:
    csv_dir = write_files(tmp_path / "csv", DEFAULT_FILES)
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    for path in csv_dir.iterdir():
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df = df.replace("", None)
        if "amount" in df:
            df["amount"] = df["amount"].astype(float)
        df.to_parquet(pq_dir / f"{path.stem}.parquet", index=False)
    a, b = load(csv_dir), load(pq_dir)
    for table in _expected_default():
        pd.testing.assert_frame_equal(a.table(table), b.table(table))
    assert (b.rejects.empty, b.stats["transactions"].read) == (True, 2)


def test_parquet_integer_ids_with_nulls_stay_integers_as_text(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path,
        {
            "accounts.parquet": pd.DataFrame({"account_id": [10, 11], "customer_id": [1, 2]}),
            "transactions.parquet": pd.DataFrame(
                {
                    "txn_id": [1, None],
                    "from_account": [10, 11],
                    "to_account": [11.0, None],
                    "to_counterparty": [None, "m1"],
                    "amount": [5.0, 6.0],
                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                }
            ),
        },
    )
    frames = load(folder)
    assert frames.rejects.empty
    assert list(frames.transactions["txn_id"]) == ["1", pd.NA]
    assert list(frames.transactions["to_account"]) == ["11", pd.NA]
    assert list(frames.customers["customer_id"]) == ["1", "2"]


def test_missing_tables_are_derived(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path,
        {
            "transactions.csv": "from_account,to_account,to_counterparty,amount,ts\n"
            "x,y,,1,2024-01-01\ny,,shop,2,2024-01-02\n"
        },
    )
    frames = load(folder)
    assert list(frames.accounts["account_id"]) == ["x", "y"]
    assert list(frames.accounts["customer_id"]) == ["x", "y"]
    assert list(frames.customers["customer_id"]) == ["x", "y"]
    assert list(frames.counterparties["counterparty_id"]) == ["shop"]
    assert frames.present == {"transactions"}
    assert "no accounts table: each account stands for its own customer" in frames.notices
