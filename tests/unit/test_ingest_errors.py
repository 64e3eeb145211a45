"""Missing files, missing columns and bad mappings exit 2 with a message naming what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ingest_support import FOREIGN_DATA, FOREIGN_MAPPING, write_files

from graphprofile.cli import main

TXNS = "txn_id,from_account,to_account,amount,ts\nt1,a,b,5,2024-01-01\n"


def _run(capsys: pytest.CaptureFixture[str], data: Path, out: Path, *extra: str) -> str:
    rc = main(["run", str(data), "--out", str(out), "--quiet", *extra])
    captured = capsys.readouterr()
    assert rc == 2, captured
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), captured.err
    return lines[0]


def _foreign_copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FOREIGN_DATA, data)
    return data


def test_missing_required_transactions_file(tmp_path: Path, capsys) -> None:
    data = write_files(tmp_path / "data", {"accounts.csv": "account_id,customer_id\na,c\n"})
    assert _run(capsys, data, tmp_path / "out") == (
        f"Error: {data}: no file for table 'transactions' (mapping entry "
        "tables.transactions.file = 'transactions'; looked for transactions.parquet or .csv)"
    )


def test_missing_file_named_by_a_mapping(tmp_path: Path, capsys) -> None:
    data = _foreign_copy(tmp_path)
    (data / "konten.csv").unlink()
    err = _run(capsys, data, tmp_path / "out", "--mapping", str(FOREIGN_MAPPING))
    assert err == (
        f"Error: {data}: no file for table 'accounts' (mapping entry "
        "tables.accounts.file = 'konten.csv'; looked for konten.csv)"
    )


def test_missing_mapped_column_names_file_column_and_entry(tmp_path: Path, capsys) -> None:
    data = _foreign_copy(tmp_path)
    path = data / "zahlungen.csv"
    text = path.read_text(encoding="latin-1").replace("betrag", "summe", 1)
    path.write_text(text, encoding="latin-1")
    err = _run(capsys, data, tmp_path / "out", "--mapping", str(FOREIGN_MAPPING))
    assert err == (
        f"Error: {path}: missing column 'betrag' (mapping entry "
        "tables.transactions.columns.amount); columns found: buchung_nr, konto_von, konto_an, "
        "empfaenger_nr, summe, waehrung, zeitpunkt"
    )


def test_missing_required_column_in_default_layout(tmp_path: Path, capsys) -> None:
    data = write_files(tmp_path / "data", {"transactions.csv": "from_account,to_account,ts\n"})
    assert _run(capsys, data, tmp_path / "out") == (
        f"Error: {data / 'transactions.csv'}: missing column 'amount' (mapping entry "
        "tables.transactions.columns.amount); columns found: from_account, to_account, ts"
    )


def test_missing_both_receiver_columns(tmp_path: Path, capsys) -> None:
    data = write_files(tmp_path / "data", {"transactions.csv": "from_account,amount,ts\n"})
    assert _run(capsys, data, tmp_path / "out") == (
        f"Error: {data / 'transactions.csv'}: needs a to_account or a to_counterparty column "
        "(mapping entries tables.transactions.columns.to_account / .to_counterparty)"
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "verison = 1\n[tables.transactions]\n",
            "unknown key 'verison' in the top level; allowed: description, name, options, "
            "tables, version",
        ),
        (
            "[options]\ndelimeter = ';'\n[tables.transactions]\n",
            "unknown key 'delimeter' in [options]; allowed: decimal, delimiter, encoding, "
            "false_values, max_amount, max_reject_share, national_id_format, origin, "
            "phone_country_code, thousands, timestamp_format, timezone, true_values",
        ),
        (
            "[tables.transaction]\n",
            "unknown key 'transaction' in [tables]; allowed: accounts, counterparties, "
            "customers, devices, identifiers, transactions",
        ),
        (
            "[tables.transactions]\nfiel = 'x.csv'\n",
            "unknown key 'fiel' in [tables.transactions]; allowed: attributes, columns, "
            "credit_values, debit_values, decimal, delimiter, encoding, false_values, file, "
            "format, from_table, kinds, match_window_s, max_amount, max_reject_share, "
            "national_id_format, origin, phone_country_code, separator, thousands, "
            "timestamp_format, timezone, true_values",
        ),
        (
            "[tables.transactions.columns]\nammount = 'betrag'\n",
            "unknown key 'ammount' in [tables.transactions.columns]; allowed: amount, currency, "
            "from_account, to_account, to_counterparty, ts, txn_id",
        ),
        (
            "[tables.transactions]\n[tables.customers.attributes]\n'my branch' = 'x'\n",
            "tables.customers.attributes key 'my branch' is not a usable property name "
            "(letters, digits and _, not starting with a digit, not a canonical column)",
        ),
        (
            "[tables.transactions]\ntimezone = 'Europe/Atlantis'\n",
            "tables.transactions.timezone 'Europe/Atlantis' is not a known time zone "
            "(use an IANA name such as 'UTC' or 'Europe/Berlin')",
        ),
        (
            "[tables.transactions]\nencoding = 'latin-9000'\n",
            "tables.transactions.encoding 'latin-9000' is not a known encoding "
            "(e.g. 'utf-8', 'latin-1', 'cp1252')",
        ),
        ("version = 2\n[tables.transactions]\n", "version 2 is not supported (use 1)"),
        ("[tables.accounts]\n", "[tables.transactions] is required"),
    ],
)
def test_bad_mapping_exits_2_naming_the_entry(
    tmp_path: Path, capsys, toml: str, message: str
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(toml)
    data = write_files(tmp_path / "data", {"transactions.csv": TXNS})
    err = _run(capsys, data, tmp_path / "out", "--mapping", str(mapping))
    assert err == f"Error: {mapping}: {message}"


def test_missing_mapping_file(tmp_path: Path, capsys) -> None:
    data = write_files(tmp_path / "data", {"transactions.csv": TXNS})
    err = _run(capsys, data, tmp_path / "out", "--mapping", str(tmp_path / "nope.toml"))
    assert err == f"Error: mapping file {tmp_path / 'nope.toml'} does not exist"


def test_mapping_that_is_not_toml(tmp_path: Path, capsys) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text("[tables.transactions\n")
    data = write_files(tmp_path / "data", {"transactions.csv": TXNS})
    err = _run(capsys, data, tmp_path / "out", "--mapping", str(mapping))
    assert err.startswith(f"Error: mapping file {mapping} is not valid: ")


def test_unreadable_parquet_file(tmp_path: Path, capsys) -> None:
    data = write_files(tmp_path / "data", {"transactions.parquet": b"PAR1 not really"})
    err = _run(capsys, data, tmp_path / "out")
    assert err.startswith(f"Error: {data / 'transactions.parquet'}: cannot read Parquet file: ")


def test_wrong_encoding_names_the_line(tmp_path: Path, capsys) -> None:
    data = write_files(
        tmp_path / "data",
        {"transactions.csv": (TXNS + "t2,Müller,b,5,2024-01-01\n").encode("latin-1")},
    )
    assert _run(capsys, data, tmp_path / "out") == (
        f"Error: {data / 'transactions.csv'}: line 3 is not valid utf-8 text; set 'encoding' "
        'for this table in the mapping (tables.transactions.encoding, e.g. encoding = "latin-1")'
    )
