"""The bad-input corpus: each case either fails with a clear error (exit 2, naming the file,
row, column or mapping entry) or loads with exactly the expected rejects and reconciled
counts. Never a traceback, never a silently dropped row.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import NOW, Content, assert_reconciled, load, rejected, write_files

from graphprofile.cli import main
from graphprofile.errors import GraphProfileError
from graphprofile.frames import CanonicalGraph, Frames
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames, load_mapping
from graphprofile.ingest.mapping import parse_mapping

HEAD = "txn_id,from_account,to_account,amount,ts\n"
OK_ROW = "t0,a,b,5,2024-01-01\n"


def txns(*rows: str, head: str = HEAD) -> dict[str, Content]:
    return {"transactions.csv": head + "".join(rows)}


def _nan_parquet() -> bytes:
    buf = io.BytesIO()
    table = pa.table(
        {
            "txn_id": ["t1", "t2", "t3"],
            "from_account": ["a", "a", "a"],
            "to_account": ["b", "b", "b"],
            "amount": pa.array([1.0, None, float("nan")]),
            "ts": pa.array([1_700_000_000] * 3, pa.timestamp("s")),
        }
    )
    pq.write_table(table, buf)
    return buf.getvalue()


def _many_accounts() -> dict[str, Content]:
    n = 100_000
    ids = pd.Series([f"a{i}" for i in range(n)])
    accounts = pd.DataFrame({"account_id": ids, "customer_id": "whale"})
    tx = pd.DataFrame(
        {
            "from_account": ids[:-1:100].to_numpy(),
            "to_account": ids[1::100].to_numpy(),
            "amount": 1.0,
            "ts": "2024-01-01",
        }
    )
    return {
        "customers.csv": "customer_id\nwhale\n",
        "accounts.csv": accounts.to_csv(index=False),
        "transactions.csv": tx.to_csv(index=False),
    }


def _shared_device() -> dict[str, Content]:
    n = 20_000
    customers = [f"c{i}" for i in range(n)]
    return {
        "customers.csv": "customer_id\n" + "\n".join(customers) + "\n",
        "accounts.csv": "account_id,customer_id\n" + "".join(f"x{c},{c}\n" for c in customers),
        "devices.csv": "device_id,customer_id\n" + "".join(f"kiosk,{c}\n" for c in customers),
        "transactions.csv": HEAD + "t1,xc0,xc1,5,2024-01-01\n",
    }


@dataclass(frozen=True)
class Case:
    """One bad input. ``error``: the exact message after ``Error: `` ({data}, {mapping}
    are replaced). Otherwise ``rejects`` holds the exact rejects of every table that has
    any and ``accepted`` the accepted count of the named tables."""

    id: str
    files: dict[str, Content] | Callable[[], dict[str, Content]]
    rejects: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)
    mapping: dict | None = None
    error: str | None = None
    check: Callable[[Frames, CanonicalGraph], None] | None = None


def _equal(actual: object, expected: object) -> None:
    assert actual == expected


def _check_quoted_newline(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(frames.transactions["currency"]) == ["EU\nR", "GBP"]


def _check_emoji(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(graph.nodes["customer"]["customer_id"]) == ["客户-1", "😀"]
    assert list(graph.nodes["account"]["account_id"]) == ["Ünïcödé", "🏦"]
    names = list(frames.customers["name"])
    assert all(len(n) == 16 for n in names) and names[0] != names[1]


def _check_long(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(frames.transactions["from_account"]) == ["a" * 1_000_000]
    assert graph.edges["TRANSFER"]["from_account"].str.len().tolist() == [1_000_000]


def _check_whale(frames: Frames, graph: CanonicalGraph) -> None:
    owns = graph.edges["OWNS"]
    assert len(owns) == 100_000 and set(owns["customer_id"]) == {"whale"}
    assert len(graph.edges["TRANSFER"]) == 1000


def _check_kiosk(frames: Frames, graph: CanonicalGraph) -> None:
    device = graph.nodes["device"]
    assert device.to_dict("records") == [
        {"device_id": "kiosk", "n_customers": 20_000, "n_uses": 20_000}
    ]
    assert len(graph.edges["USES_DEVICE"]) == 20_000


def _check_no_accounts(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(graph.nodes["account"]["account_id"]) == ["a", "b", "c"]
    assert list(graph.edges["OWNS"]["customer_id"]) == ["a", "b", "c"]


INJECTIONS = ["' OR 1=1 --", "})-[:X]->(n) DETACH DELETE n //", "$param", "`backtick`"]


def _check_injection(frames: Frames, graph: CanonicalGraph) -> None:
    assert sorted(graph.nodes["account"]["account_id"]) == sorted(INJECTIONS)
    assert sorted(graph.nodes["customer"]["customer_id"]) == sorted(INJECTIONS)
    assert list(frames.customers["segment"]) == ["MATCH (n) RETURN n"] * 4


def _check_extra_columns(frames: Frames, graph: CanonicalGraph) -> None:
    assert "transactions.csv: unmapped column(s) ignored: note, branch code" in frames.notices
    assert list(frames.transactions.columns) == [
        "txn_id",
        "from_account",
        "to_account",
        "to_counterparty",
        "amount",
        "currency",
        "ts",
    ]


def _check_unsafe_attribute_names(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(frames.customers.columns) == [
        "customer_id",
        "name",
        "segment",
        "known_fraud",
        "tier",
    ]
    assert (
        "customers.csv: extra column(s) 'my label', '`x` SET n.evil=1' not kept as customer "
        "attributes (names must be letters, digits and _; map them with "
        "[tables.customers.attributes] to rename)"
    ) in frames.notices


def _check_mapped_odd_source_names(frames: Frames, graph: CanonicalGraph) -> None:
    assert list(frames.customers["branch"]) == ["north"]
    assert list(frames.transactions["amount"]) == [5.0]


CASES = [
    # --- CSV structure -------------------------------------------------------------------
    Case(
        "ragged_short_row",
        txns(OK_ROW, "t1,a,b,5\n", "t2,b,a,1,2024-01-02\n"),
        rejects={"transactions": [(3, "(row)", "row has 4 fields, header has 5")]},
        accepted={"transactions": 2},
    ),
    Case(
        "ragged_row_in_another_encoding",  # a Latin-1 "José" in an otherwise UTF-8 file
        {
            "customers.csv": b"customer_id,name,segment\nc1,Ann,retail\nc2,Jos\xe9\n"
            b"c3,Bob,retail\n",
            "transactions.csv": HEAD + OK_ROW,
        },
        rejects={
            "customers": [
                (3, "(row)", "row has 2 fields, header has 3; it is not valid utf-8 text either")
            ]
        },
        accepted={"customers": 2},
    ),
    Case(
        # the transactions are read in a thread beside the other tables, and pyarrow reports
        # both undecodable rows from its own threads: each table still rejects its own row
        "ragged_rows_in_another_encoding_in_two_tables_read_at_once",
        {
            "customers.csv": b"customer_id,name,segment\nc1,Ann,retail\nc2,Jos\xe9\n"
            b"c3,Bob,retail\n",
            "transactions.csv": (HEAD + OK_ROW).encode()
            + b"t1,Jos\xe9\n"
            + b"".join(b"t%d,a,b,5,2024-01-01\n" % i for i in range(2, 2000)),
        },
        rejects={
            "customers": [
                (3, "(row)", "row has 2 fields, header has 3; it is not valid utf-8 text either")
            ],
            "transactions": [
                (3, "(row)", "row has 2 fields, header has 5; it is not valid utf-8 text either")
            ],
        },
        accepted={"customers": 2, "transactions": 1999},
    ),
    Case(
        "well_formed_row_in_another_encoding",
        {
            "customers.csv": b"customer_id,name,segment\nc1,Ann,retail\nc2,Jos\xe9,x\n",
            "transactions.csv": HEAD + OK_ROW,
        },
        error="{data}/customers.csv: line 3 is not valid utf-8 text; set 'encoding' for this "
        'table in the mapping (tables.customers.encoding, e.g. encoding = "latin-1")',
    ),
    Case(
        "csv_and_parquet_for_one_table",
        lambda: {
            **txns(OK_ROW),
            "transactions.parquet": pd.DataFrame(
                {"from_account": ["a"], "to_account": ["b"], "amount": [5.0], "ts": ["2024-01-01"]}
            ),
        },
        error="{data}: two files for table 'transactions': transactions.parquet and "
        "transactions.csv; remove one, or name the one to read in the mapping "
        '(tables.transactions.file = "transactions.csv")',
    ),
    Case(
        "ragged_long_row",
        txns(OK_ROW, "t1,a,b,5,2024-01-01,extra\n"),
        rejects={"transactions": [(3, "(row)", "row has 6 fields, header has 5")]},
        accepted={"transactions": 1},
    ),
    Case(
        "wrong_delimiter",
        txns("t1;a;b;5;2024-01-01\n", head=HEAD.replace(",", ";")),
        error="{data}/transactions.csv: missing column 'from_account' (mapping entry "
        "tables.transactions.columns.from_account); columns found: "
        "txn_id;from_account;to_account;amount;ts; the header looks ';'-separated: "
        "set delimiter = ';'",
    ),
    Case(
        "utf8_bom",
        {"transactions.csv": ("\ufeff" + HEAD + OK_ROW).encode("utf-8")},
        accepted={"transactions": 1},
        check=lambda f, g: _equal(list(f.transactions.columns[:2]), ["txn_id", "from_account"]),
    ),
    Case(
        "latin1_without_mapping",
        {"transactions.csv": (HEAD + OK_ROW + "t1,Müller,b,5,2024-01-01\n").encode("latin-1")},
        error="{data}/transactions.csv: line 3 is not valid utf-8 text; set 'encoding' for "
        'this table in the mapping (tables.transactions.encoding, e.g. encoding = "latin-1")',
    ),
    Case(
        "latin1_with_mapping",
        {"transactions.csv": (HEAD + "t1,Müller,Weiß,5,2024-01-01\n").encode("latin-1")},
        mapping={"options": {"encoding": "latin-1"}},
        accepted={"transactions": 1},
        check=lambda f, g: _equal(list(f.transactions["from_account"]), ["Müller"]),
    ),
    Case(
        "utf16_file",
        {"transactions.csv": (HEAD + OK_ROW).encode("utf-16")},
        error="{data}/transactions.csv: line 1 is not valid utf-8 text; set 'encoding' for "
        'this table in the mapping (tables.transactions.encoding, e.g. encoding = "latin-1")',
    ),
    Case(
        "quoted_newline_keeps_row_numbers",
        {
            "transactions.csv": "txn_id,from_account,to_account,amount,currency,ts\n"
            't1,a,b,5,"EU\nR",2024-01-01\n'
            "t2,a,b,x,GBP,2024-01-01\n"
            "t3,a,b,5,GBP,2024-01-01\n"
        },
        rejects={"transactions": [(3, "amount", "unparsable amount 'x'")]},
        accepted={"transactions": 2},
        check=_check_quoted_newline,
    ),
    Case(
        "unclosed_quote",
        txns(OK_ROW, 't1,"a,b,5,2024-01-01\n', "t2,a,b,5,2024-01-01\n"),
        rejects={
            "transactions": [
                (
                    3,
                    "(row)",
                    "row has 2 fields, header has 5; a quote in it is never closed, so the "
                    "lines after it were read into it",
                )
            ]
        },
        accepted={"transactions": 1},
    ),
    Case(
        "empty_file",
        {"transactions.csv": ""},
        error="{data}/transactions.csv: the file is empty (expected a header row)",
    ),
    Case("header_only", txns(), accepted={"transactions": 0}),
    Case(
        "blank_lines_are_counted_rows",
        txns(OK_ROW, "\n", ",,,,\n", "t1,a,b,x,2024-01-01\n"),
        rejects={
            "transactions": [
                (3, "(row)", "empty row"),
                (4, "(row)", "empty row"),
                (5, "amount", "unparsable amount 'x'"),
            ]
        },
        accepted={"transactions": 1},
    ),
    Case(
        "crlf_line_endings",
        {"transactions.csv": (HEAD + OK_ROW + "t1,a,b,x,2024-01-01\n").replace("\n", "\r\n")},
        rejects={"transactions": [(3, "amount", "unparsable amount 'x'")]},
        accepted={"transactions": 1},
    ),
    Case(
        "duplicate_header_names",
        txns(head="txn_id,from_account,to_account,amount,amount,ts\n"),
        error="{data}/transactions.csv: duplicate column name(s) in the header: 'amount'; "
        "give every column a distinct name",
    ),
    # --- columns -------------------------------------------------------------------------
    Case(
        "missing_required_column",
        txns("a,b,2024-01-01\n", head="from_account,to_account,ts\n"),
        error="{data}/transactions.csv: missing column 'amount' (mapping entry "
        "tables.transactions.columns.amount); columns found: from_account, to_account, ts",
    ),
    Case(
        "unmapped_extra_columns",
        txns("t1,a,b,5,2024-01-01,hello,B7\n", head=HEAD.strip() + ",note,branch code\n"),
        accepted={"transactions": 1},
        check=_check_extra_columns,
    ),
    Case(
        "parquet_column_of_lists",
        lambda: {
            "transactions.parquet": pd.DataFrame(
                {"from_account": [["a"]], "to_account": ["b"], "amount": [1.0], "ts": ["2024"]}
            )
        },
        error="{data}/transactions.parquet: column 'from_account' has type "
        "list<element: string>, which cannot be read as text; store it as a string or "
        "number column",
    ),
    # --- values --------------------------------------------------------------------------
    Case(
        "wrong_types",
        {
            "customers.csv": "customer_id,known_fraud\nc1,maybe\nc2,no\n",
            "accounts.csv": "account_id,customer_id,opened_at\nx,c2,last week\nb,c2,2020-01-01\n",
            "transactions.csv": HEAD + "t1,b,b2,ten,2024-01-01\nt2,b,b,5,2024-01-01\n",
        },
        rejects={
            "customers": [(2, "known_fraud", "unparsable known_fraud 'maybe'")],
            "accounts": [(2, "opened_at", "unparsable opened_at 'last week'")],
            "transactions": [
                (2, "amount", "unparsable amount 'ten'"),
                (3, "(row)", "self-transfer: from_account equals to_account"),
            ],
        },
        accepted={"customers": 1, "accounts": 1, "transactions": 0},
    ),
    Case(
        "parquet_wrong_types",
        lambda: {
            "transactions.parquet": pd.DataFrame(
                {
                    "txn_id": [1, 2, 3],
                    "from_account": [10, 11, 12],
                    "to_account": [11, 12, 10],
                    "amount": ["5", "abc", "1,5"],
                    "ts": [1_700_000_000, 2, 3],
                }
            )
        },
        rejects={
            "transactions": [
                (1, "ts", "unparsable ts '1700000000'"),
                (2, "amount", "unparsable amount 'abc'"),
                (3, "amount", "unparsable amount '1,5'"),
            ]
        },
        accepted={"transactions": 0},
    ),
    Case(
        "nulls_in_keys",
        {
            "customers.csv": "customer_id,segment\n,retail\n  ,retail\nc1,retail\n",
            "accounts.csv": "account_id,customer_id\n,c1\na,\nb,c1\n",
            "transactions.csv": HEAD + ",b,b2,5,2024-01-01\nt1,,b,5,2024-01-01\n",
        },
        rejects={
            "customers": [
                (2, "customer_id", "missing customer_id"),
                (3, "customer_id", "missing customer_id"),
            ],
            "accounts": [
                (2, "account_id", "missing account_id"),
                (3, "customer_id", "missing customer_id"),
            ],
            "transactions": [
                (2, "to_account", "dangling reference: to_account 'b2' is not in accounts"),
                (3, "from_account", "missing from_account"),
            ],
        },
        accepted={"customers": 1, "accounts": 1, "transactions": 0},
    ),
    Case(
        "duplicate_identical_rows_merge",
        txns(OK_ROW, OK_ROW, OK_ROW),
        accepted={"transactions": 3},
        check=lambda f, g: _equal(
            (len(f.transactions), f.stats["transactions"].duplicates_merged), (1, 2)
        ),
    ),
    Case(
        "duplicate_conflicting_rows",
        txns(OK_ROW, "t0,a,b,6,2024-01-01\n", "t0,a,c,5,2024-01-01\n"),
        rejects={
            "transactions": [
                (3, "txn_id", "duplicate txn_id 't0' with different values than row 2"),
                (4, "txn_id", "duplicate txn_id 't0' with different values than row 2"),
            ]
        },
        accepted={"transactions": 1},
    ),
    Case(
        "dangling_references",
        {
            "customers.csv": "customer_id\nc1\n",
            "accounts.csv": "account_id,customer_id\na,c1\nb,c1\nz,ghost\n",
            "identifiers.csv": "customer_id,kind,value\nghost,email,g@x.org\n",
            "transactions.csv": HEAD + OK_ROW + "t1,z,a,5,2024-01-01\nt2,a,nope,5,2024-01-01\n",
        },
        rejects={
            "accounts": [
                (4, "customer_id", "dangling reference: customer_id 'ghost' is not in customers")
            ],
            "identifiers": [
                (2, "customer_id", "dangling reference: customer_id 'ghost' is not in customers")
            ],
            "transactions": [
                (3, "from_account", "dangling reference: from_account 'z' is not in accounts"),
                (4, "to_account", "dangling reference: to_account 'nope' is not in accounts"),
            ],
        },
        accepted={"accounts": 2, "transactions": 1},
    ),
    *[
        Case(
            f"amount_{name}",
            txns(OK_ROW, f"t1,a,b,{value},2024-01-01\n"),
            rejects={"transactions": [(3, "amount", reason)]},
            accepted={"transactions": 1},
        )
        for name, value, reason in [
            ("zero", "0", "non-positive amount '0'"),
            ("negative", "-12.5", "non-positive amount '-12.5'"),
            (
                "huge",
                "5e15",
                "amount '5e15' above the plausible maximum 1e+12 (mapping option max_amount)",
            ),
            ("nan", "NaN", "non-finite amount 'NaN'"),
            ("inf", "inf", "non-finite amount 'inf'"),
            ("minus_inf", "-Infinity", "non-finite amount '-Infinity'"),
            ("overflow", "1e400", "non-finite amount '1e400'"),
            ("empty", "", "missing amount"),
        ]
    ],
    Case(
        "parquet_nan_and_null_amounts",
        {"transactions.parquet": _nan_parquet()},
        rejects={
            "transactions": [
                (2, "amount", "missing amount"),
                (3, "amount", "non-finite amount 'nan'"),
            ]
        },
        accepted={"transactions": 1},
    ),
    # --- timestamps ----------------------------------------------------------------------
    Case(
        "timestamp_in_the_future",
        txns(OK_ROW, "t1,a,b,5,2031-01-01T00:00:00Z\n", "t2,a,b,5,2025-06-01T12:00:00Z\n"),
        rejects={"transactions": [(3, "ts", "ts in the future '2031-01-01T00:00:00Z'")]},
        accepted={"transactions": 2},  # within a day of now is tolerated (clock skew)
    ),
    Case(
        "timestamp_unparsable_or_out_of_range",
        txns(OK_ROW, "t1,a,b,5,31/02/2024\n", "t2,a,b,5,1500-01-01\n", "t3,a,b,5,2024-13-01\n"),
        rejects={
            "transactions": [
                (3, "ts", "unparsable ts '31/02/2024'"),
                (4, "ts", "ts '1500-01-01' out of range (1677-09-22 to 2262-04-11)"),
                (5, "ts", "unparsable ts '2024-13-01'"),
            ]
        },
        accepted={"transactions": 1},
    ),
    Case(
        "timezone_mix",
        txns(
            "t1,a,b,5,2024-01-01T10:00:00Z\n",
            "t2,a,b,5,2024-01-01T10:00:00+02:00\n",
            "t3,a,b,5,2024-01-01T10:00:00-0530\n",
            "t4,a,b,5,2024-01-01 10:00\n",
            "t5,a,b,5,2024-01-01\n",
        ),
        mapping={"tables": {"transactions": {"timezone": "Europe/Berlin"}}},
        accepted={"transactions": 5},
        check=lambda f, g: _check_tz_mix_berlin(f),
    ),
    Case(
        "local_time_in_dst_gap",
        txns(OK_ROW, "t1,a,b,5,2024-03-31 02:30\n"),
        mapping={"tables": {"transactions": {"timezone": "Europe/Berlin"}}},
        rejects={
            "transactions": [
                (
                    3,
                    "ts",
                    "ts '2024-03-31 02:30' does not exist or is ambiguous in time zone "
                    "Europe/Berlin (daylight-saving change); give an offset such as +01:00",
                )
            ]
        },
        accepted={"transactions": 1},
    ),
    Case(
        "epoch_garbage",
        txns("t1,a,b,5,1700000000\n", "t2,a,b,5,1e30\n", "t3,a,b,5,17e8x\n"),
        mapping={"tables": {"transactions": {"timestamp_format": "epoch_s"}}},
        rejects={
            "transactions": [
                (3, "ts", "unparsable ts '1e30'"),
                (4, "ts", "unparsable ts '17e8x'"),
            ]
        },
        accepted={"transactions": 1},
    ),
    # --- content -------------------------------------------------------------------------
    Case(
        "unicode_and_emoji",
        {
            "customers.csv": "customer_id,name\n客户-1,Zoë 🦄 Ñúñez\n😀,👩‍👩‍👧 family\n",
            "accounts.csv": "account_id,customer_id\nÜnïcödé,客户-1\n🏦,😀\n",
            "transactions.csv": HEAD + "t💸,Ünïcödé,🏦,5,2024-01-01\n",
        },
        accepted={"customers": 2, "accounts": 2, "transactions": 1},
        check=_check_emoji,
    ),
    Case(
        "extremely_long_strings",
        txns(
            "t1," + "a" * 1_000_000 + ",b,5,2024-01-01\n",
            "t2,a,b," + "9" * 100_000 + "x,2024-01-01\n",
        ),
        rejects={"transactions": [(3, "amount", "unparsable amount '" + "9" * 40 + "'")]},
        accepted={"transactions": 1},
        check=_check_long,
    ),
    Case(
        "customer_with_100k_accounts",
        _many_accounts,
        accepted={"accounts": 100_000},
        check=_check_whale,
    ),
    Case(
        "device_shared_by_everyone",
        _shared_device,
        accepted={"devices": 20_000},
        check=_check_kiosk,
    ),
    Case(
        "self_transfer",
        txns(OK_ROW, "t1,a,a,5,2024-01-01\n"),
        rejects={"transactions": [(3, "(row)", "self-transfer: from_account equals to_account")]},
        accepted={"transactions": 1},
    ),
    Case(
        "transactions_without_accounts",
        txns("t1,a,b,5,2024-01-01\n", "t2,b,c,5,2024-01-01\n"),
        accepted={"transactions": 2},
        check=_check_no_accounts,
    ),
    Case(
        "injection_like_values",
        {
            "customers.csv": "customer_id,segment\n"
            + "".join(f'"{v}",MATCH (n) RETURN n\n' for v in INJECTIONS),
            "accounts.csv": "account_id,customer_id\n"
            + "".join(f'"{v}","{v}"\n' for v in INJECTIONS),
            "transactions.csv": HEAD + f'"t1","{INJECTIONS[0]}","{INJECTIONS[1]}",5,2024-01-01\n'
            f'"t2","{INJECTIONS[2]}","{INJECTIONS[3]}",5,2024-01-01\n',
        },
        accepted={"customers": 4, "accounts": 4, "transactions": 2},
        check=_check_injection,
    ),
    Case(
        "unsafe_extra_column_names",
        {
            "customers.csv": "customer_id,tier,my label,`x` SET n.evil=1\nc1,gold,a,b\n",
            "transactions.csv": HEAD + OK_ROW,
        },
        accepted={"customers": 1},
        check=_check_unsafe_attribute_names,
    ),
    Case(
        "mapping_attribute_with_backticks",
        txns(OK_ROW),
        mapping={"tables": {"transactions": {}, "customers": {"attributes": {"`x`": "b"}}}},
        error="{mapping}: tables.customers.attributes key '`x`' is not a usable property "
        "name (letters, digits and _, not starting with a digit, not a canonical column)",
    ),
    Case(
        "mapping_attribute_with_space",
        txns(OK_ROW),
        mapping={"tables": {"transactions": {}, "customers": {"attributes": {"my x": "b"}}}},
        error="{mapping}: tables.customers.attributes key 'my x' is not a usable property "
        "name (letters, digits and _, not starting with a digit, not a canonical column)",
    ),
    Case(
        "mapping_odd_source_column_names",
        {
            "customers.csv": "Kunden `Nr`,Filiale (Ort)\nc1,north\n",
            "accounts.csv": "account_id,customer_id\na,c1\nb,c1\n",
            "transactions.csv": "from_account,to_account,Betrag $param,ts\na,b,5,2024-01-01\n",
        },
        mapping={
            "tables": {
                "transactions": {
                    "columns": {
                        "from_account": "from_account",
                        "to_account": "to_account",
                        "amount": "Betrag $param",
                        "ts": "ts",
                    }
                },
                "accounts": {},
                "customers": {
                    "columns": {"customer_id": "Kunden `Nr`"},
                    "attributes": {"branch": "Filiale (Ort)"},
                },
            }
        },
        accepted={"customers": 1, "transactions": 1},
        check=_check_mapped_odd_source_names,
    ),
    Case(
        "mapping_two_columns_one_source",
        txns(OK_ROW),
        mapping={
            "tables": {
                "transactions": {
                    "columns": {
                        "from_account": "from_account",
                        "to_account": "from_account",
                        "amount": "amount",
                        "ts": "ts",
                    }
                }
            }
        },
        error="{mapping}: tables.transactions.columns.from_account and "
        "tables.transactions.columns.to_account all read source column 'from_account'; map "
        "each canonical column or attribute to its own source column",
    ),
]


def _check_tz_mix_berlin(frames: Frames) -> None:
    expected = pd.to_datetime(
        [
            "2024-01-01T10:00:00Z",
            "2024-01-01T08:00:00Z",
            "2024-01-01T15:30:00Z",
            "2024-01-01T09:00:00Z",  # naive 10:00 in Berlin (UTC+1)
            "2023-12-31T23:00:00Z",  # a date is midnight in Berlin
        ],
        utc=True,
        format="ISO8601",
    ).astype("datetime64[ns, UTC]")
    assert list(frames.transactions["ts"]) == list(expected)


def _materialise(case: Case, tmp_path: Path) -> tuple[Path, Path | None]:
    files = case.files() if callable(case.files) else case.files
    data = write_files(tmp_path / "data", files)
    mapping = None
    if case.mapping is not None:
        mapping = tmp_path / "mapping.yaml"
        doc = {"tables": {"transactions": {}}, **case.mapping}
        mapping.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return data, mapping


def test_corpus_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, mapping = _materialise(case, tmp_path)
    if case.error is not None:
        argv = ["run", str(data), "--out", str(tmp_path / "out"), "--quiet"]
        argv += ["--mapping", str(mapping)] if mapping else []
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2
        assert err.strip() == "Error: " + case.error.format(data=data, mapping=mapping)
        return
    frames = load(data, mapping)
    graph = build_graph(frames)
    tables = set(frames.rejects["table"])
    assert tables == set(case.rejects), frames.rejects
    for table, expected in case.rejects.items():
        assert rejected(frames, table) == expected, table
    for table, n in case.accepted.items():
        assert frames.stats[table].accepted == n, frames.stats[table]
    if case.check:
        case.check(frames, graph)


def test_reads_at_once_put_the_decode_hook_back(tmp_path: Path) -> None:
    """Two tables with undecodable ragged rows, read in two threads: afterwards Python's
    unraisable-exception hook is the one that was there before."""
    before = sys.unraisablehook
    case = next(c for c in CASES if c.id.endswith("in_two_tables_read_at_once"))
    data, mapping = _materialise(case, tmp_path)
    assert len(load(data, mapping).rejects) == 2
    assert sys.unraisablehook is before


END_TO_END = ["injection_like_values", "unicode_and_emoji", "timezone_mix", "wrong_types"]


@pytest.mark.parametrize("case_id", END_TO_END)
def test_bad_input_end_to_end(case_id: str, tmp_path: Path, capsys) -> None:
    """The whole job runs on the case and writes the same rejects as the loader found."""
    case = next(c for c in CASES if c.id == case_id)
    data, mapping = _materialise(case, tmp_path)
    out = tmp_path / "out"
    # a few rows, several of them bad on purpose: accept any share of rejects
    argv = ["run", str(data), "--out", str(out), "--quiet", "--max-reject-share", "1"]
    assert main(argv + (["--mapping", str(mapping)] if mapping else [])) == 0, capsys.readouterr()
    summary = json.loads((out / "run.json").read_text())
    for table, stats in summary["tables"].items():
        written = pd.read_csv(out / "rejects" / f"{table}.csv", keep_default_na=False)
        assert len(written) == stats["rejected"] == len(case.rejects.get(table, []))
        assert stats["read"] == stats["accepted"] + stats["rejected"]
    assert summary["status"] == "complete"


# --- property-based: random mixes of good and bad rows --------------------------------

BAD_KINDS = {
    "amount_text": ("{id},a1,a2,lots,2024-01-01", "amount"),
    "amount_zero": ("{id},a1,a2,0,2024-01-01", "amount"),
    "amount_negative": ("{id},a1,a2,-1,2024-01-01", "amount"),
    "amount_inf": ("{id},a1,a2,inf,2024-01-01", "amount"),
    "ts_bad": ("{id},a1,a2,5,someday", "ts"),
    "ts_future": ("{id},a1,a2,5,2099-01-01", "ts"),
    "no_sender": ("{id},,a2,5,2024-01-01", "from_account"),
    "self": ("{id},a1,a1,5,2024-01-01", "(row)"),
    "dangling": ("{id},a1,zz,5,2024-01-01", "to_account"),
    "ragged": ("{id},a1,a2,5", "(row)"),
    "blank": (",,,,", "(row)"),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.one_of(
            st.tuples(st.just("good"), st.floats(0.01, 1e6, allow_nan=False)),
            st.tuples(st.sampled_from(sorted(BAD_KINDS)), st.just(0.0)),
        ),
        max_size=40,
    )
)
def test_random_good_and_bad_rows_reconcile(rows: list, tmp_path_factory) -> None:
    lines, good, bad = [], [], {}
    for i, (kind, amount) in enumerate(rows):
        txn = f"t{i}"
        if kind == "good":
            lines.append(f"{txn},a1,a2,{amount!r},2024-01-01")
            good.append(txn)
        else:
            template, column = BAD_KINDS[kind]
            lines.append(template.format(id=txn))
            bad[i + 2] = column
    folder = tmp_path_factory.mktemp("prop")
    write_files(
        folder,
        {
            "accounts.csv": "account_id,customer_id\na1,c1\na2,c2\n",
            "transactions.csv": HEAD + "".join(line + "\n" for line in lines),
        },
    )
    frames = load(folder)  # asserts read = accepted + rejected and rejects = rejected
    assert frames.stats["transactions"].read == len(rows)
    assert list(frames.transactions["txn_id"]) == good
    got = {row: column for row, column, _ in rejected(frames, "transactions")}
    assert got == bad


cell = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=st.lists(st.lists(cell, min_size=3, max_size=7), max_size=15))
def test_arbitrary_cells_never_crash(table: list[list[str]], tmp_path_factory) -> None:
    """Any text in any cell, any row length: a GraphProfileError or a reconciled load."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["txn_id", "from_account", "to_account", "amount", "ts"])
    writer.writerows(table)
    folder = tmp_path_factory.mktemp("cells")
    write_files(folder, {"transactions.csv": buf.getvalue()})
    try:
        frames = load_frames(folder, now=NOW)
    except GraphProfileError:
        return
    assert_reconciled(frames)
    assert frames.stats["transactions"].read == len(table)
    build_graph(frames)


def test_mapping_document_in_memory_equals_file(tmp_path: Path) -> None:
    doc = {"tables": {"transactions": {"delimiter": ";", "decimal": ","}}}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert load_mapping(path).tables == parse_mapping(doc, str(path)).tables
