"""Wide identifier/device columns, identifier normalisation and statement-format transactions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from ingest_support import PII_KEY, load, mapping_of, write_files

from graphprofile.errors import InputError, MappingError
from graphprofile.ingest.normalise import (
    REASON_CHECKSUM,
    REASON_FORMAT,
    national_id_check,
    normalise_identifiers,
)


@pytest.fixture(autouse=True)
def _pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", PII_KEY)


def gb11643(body: str) -> str:
    """The 18-character ID number for 17 digits (check digit by the standard's formula)."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


# --- normalisation (known answers) ---


def _norm(kinds: list[str], values: list[str | None], **kw) -> tuple[list, list]:
    opts = {"phone_country_code": "", "national_id_format": "any", **kw}
    out, reason = normalise_identifiers(
        pd.Series(kinds, dtype="string"), pd.Series(values, dtype="string"), **opts
    )
    return out.tolist(), [None if pd.isna(r) else r for r in reason]


def test_gb11643_known_answers() -> None:
    # 11010519491231002X is the standard's own example; changing any digit breaks it.
    ids = ["11010519491231002X", "110105194912310021", "440524188001010014", "12345", None]
    bad_format, bad_sum = national_id_check(pa.array(ids, type=pa.string()))
    assert bad_format.tolist() == [False, False, False, True, False]
    assert bad_sum.tolist() == [False, True, False, False, False]


def test_national_id_rules() -> None:
    valid = gb11643("32010219900909456")
    values = [
        valid,
        f" {valid[:6]} {valid[6:]} ",
        "１１０１０５１９４９１２３１００２x",
        valid[:-1] + "0",
    ]
    values[3] = values[3] if values[3] != valid else valid[:-1] + "1"
    out, reason = _norm(
        ["national_id"] * 4 + ["national_id"], [*values, "110105491231002"], national_id_format="cn"
    )
    assert out[:3] == [valid, valid, "11010519491231002X"]
    assert reason == [None, None, None, REASON_CHECKSUM, REASON_FORMAT]
    # without national_id_format = "cn" other countries' ids pass (normalised only)
    out, reason = _norm(["national_id"], ["ab 123456 c"])
    assert (out, reason) == (["AB123456C"], [None])


def test_phone_email_address_rules() -> None:
    kinds = ["phone"] * 5 + ["email", "address", "address"]
    values = [
        "138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "(0755) 8888-9999",
        "１３８００１３８０００",
        " Wang.Fang@Example.CN ",
        "北京市　朝阳区  建国路８８号 ",
        "Hauptstraße 1,\tBonn",
    ]
    out, reason = _norm(kinds, values, phone_country_code="86")
    assert out == [
        "+8613800138000",
        "+8613800138000",
        "+8613800138000",
        "+867558888999" + "9",
        "+8613800138000",
        "wang.fang@example.cn",
        "北京市 朝阳区 建国路88号",
        "Hauptstraße 1, Bonn",
    ]
    assert reason == [None] * 8
    # no default country code: national numbers keep their digits, 00 still becomes +
    out, _ = _norm(["phone", "phone"], ["0049-221 5550101", "0221 5550101"])
    assert out == ["+492215550101", "02215550101"]


# --- identifiers and devices from wide columns ---

CUSTOMERS = (
    "cust,name,idno,mobile,mail\n"
    "c1,A,{id1},138 0013 8000;+86 139 0000 1111,A@X.CN\n"
    "c2,B,{id2},+86-138-0013-8000,\n"
    "c3,C,{bad},,c@x.cn\n"
    ",D,{id3},150,\n"
)


def _wide_files(tmp_path: Path) -> Path:
    id1, id2, id3 = (
        gb11643(b) for b in ("11010519800101123", "31010419820214234", "44030419790630345")
    )
    bad = id1[:-1] + ("0" if id1[-1] != "0" else "1")
    return write_files(
        tmp_path,
        {
            "customers.csv": CUSTOMERS.format(id1=id1, id2=id2, bad=bad, id3=id3),
            "logins.csv": "cust,dev,addr\nc1,d1|d2,1.2.3.4\nc2,d2,1.2.3.5\nc3,,1.2.3.6\n",
            "transactions.csv": "txn_id,from_account,to_account,amount,ts\n",
        },
    )


WIDE_MAPPING = {
    "options": {"phone_country_code": "86", "national_id_format": "cn"},
    "tables": {
        "transactions": {},
        "customers": {"file": "customers.csv", "columns": {"customer_id": "cust", "name": "name"}},
        "identifiers": {
            "from_table": "customers",
            "separator": ";",
            "kinds": {"national_id": "idno", "phone": "mobile", "email": "mail"},
        },
        "devices": {
            "file": "logins.csv",
            "separator": "|",
            "columns": {"device_id": "dev", "customer_id": "cust", "ip": "addr"},
        },
    },
}


def test_identifiers_from_wide_columns(tmp_path: Path) -> None:
    frames = load(_wide_files(tmp_path), mapping_of(WIDE_MAPPING))
    ids = frames.identifiers
    stats = frames.stats["identifiers"]
    # c1: id, 2 phones, email; c2: id, phone; c3: bad id, email; row 5: id, phone (no customer)
    assert stats.source_file == str(tmp_path / "customers.csv")
    assert (stats.read, stats.accepted, stats.rejected) == (10, 7, 3)
    assert ids.groupby("customer_id")["kind"].apply(sorted).to_dict() == {
        "c1": ["email", "national_id", "phone", "phone"],
        "c2": ["national_id", "phone"],
        "c3": ["email"],
    }
    # two spellings of one phone are one identifier (normalised before the keyed hash)
    phones = ids[ids["kind"] == "phone"].set_index("customer_id")["value"]
    assert phones.loc["c2"] in set(phones.loc[["c1"]])
    # the identifier columns are read, not reported as ignored nor kept as attributes
    assert not any("idno" in n for n in frames.notices)
    assert not {"idno", "mobile", "mail"} & set(frames.customers.columns)


def test_identifier_rejects_point_at_source_rows(tmp_path: Path) -> None:
    frames = load(_wide_files(tmp_path), mapping_of(WIDE_MAPPING))
    rej = frames.rejects[frames.rejects["table"] == "identifiers"]
    assert (rej["source_file"] == str(tmp_path / "customers.csv")).all()
    got = sorted(zip(rej["source_row"].tolist(), rej["reason"].tolist(), strict=True))
    assert got == [(4, REASON_CHECKSUM), (5, "missing customer_id"), (5, "missing customer_id")]
    assert "c1" not in set(rej["key"].dropna())


def test_devices_with_multi_valued_cells(tmp_path: Path) -> None:
    frames = load(_wide_files(tmp_path), mapping_of(WIDE_MAPPING))
    dev = frames.devices
    assert dev[["device_id", "customer_id"]].values.tolist() == [
        ["d1", "c1"],
        ["d2", "c1"],
        ["d2", "c2"],
    ]
    stats = frames.stats["devices"]
    assert (stats.read, stats.accepted, stats.rejected) == (4, 3, 1)
    rej = frames.rejects[frames.rejects["table"] == "devices"]
    assert rej[["source_row", "reason"]].values.tolist() == [[4, "missing device_id"]]


def test_devices_from_another_tables_file(tmp_path: Path) -> None:
    files = {
        "transactions.csv": "txn_id,from_account,to_account,amount,ts,device,client_ip\n"
        "t1,a1,a2,10,2025-01-01,d9,10.0.0.1\nt2,a2,a1,5,2025-01-02,d9,10.0.0.2\n",
        "accounts.csv": "account_id,customer_id\na1,c1\na2,c2\n",
    }
    doc = {
        "tables": {
            "transactions": {"file": "transactions.csv"},
            "accounts": {},
            "devices": {
                "from_table": "transactions",
                "columns": {"device_id": "device", "account_id": "from_account", "ip": "client_ip"},
            },
        }
    }
    frames = load(write_files(tmp_path, files), mapping_of(doc))
    assert frames.devices[["device_id", "customer_id"]].values.tolist() == [
        ["d9", "c1"],
        ["d9", "c2"],
    ]
    assert frames.stats["devices"].source_file == str(tmp_path / "transactions.csv")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kinds": {"phone": "m"}}, "tables.identifiers.kinds needs tables.identifiers.from_table"),
        (
            {"from_table": "accounts", "kinds": {"phone": "m"}},
            "tables.identifiers.from_table 'accounts' must name another table of this mapping (customers)",  # noqa: E501
        ),
        (
            {"from_table": "customers"},
            'tables.identifiers.kinds must map identifier kinds to source columns, e.g. kinds = { phone = "mobile" }',  # noqa: E501
        ),
        (
            {"from_table": "customers", "kinds": {"phone": "m", "email": "m"}},
            "tables.identifiers.kinds reads column 'm' for two kinds",
        ),
        (
            {"from_table": "customers", "kinds": {"phone": "m"}, "separator": ""},
            "tables.identifiers.separator must be a non-empty string",
        ),
    ],
)
def test_wide_mapping_errors(table: dict, message: str) -> None:
    with pytest.raises(MappingError) as err:
        mapping_of({"tables": {"transactions": {}, "customers": {}, "identifiers": table}})
    assert str(err.value) == f"test-mapping.toml: {message}"


def test_missing_wide_column_names_the_entry(tmp_path: Path) -> None:
    doc = {
        "tables": {
            "transactions": {},
            "customers": {},
            "identifiers": {"from_table": "customers", "kinds": {"phone": "handy"}},
        }
    }
    data = write_files(
        tmp_path,
        {
            "customers.csv": "customer_id,name\nc1,A\n",
            "transactions.csv": "from_account,to_account,amount,ts\n",
        },
    )
    with pytest.raises(InputError) as err:
        load(data, mapping_of(doc))
    assert str(err.value) == (
        f"{tmp_path / 'customers.csv'}: missing column 'handy' (mapping entry "
        "tables.identifiers.kinds.phone); columns found: customer_id, name"
    )


# --- statement-format transactions ---

STATEMENT_COLUMNS = {
    "txn_id": "line",
    "reference": "ref",
    "account": "acct",
    "counterparty_account": "other",
    "counterparty": "other_name",
    "amount": "amt",
    "direction": "dc",
    "ts": "time",
}
ACCOUNTS = "account_id,customer_id\na1,c1\na2,c2\na3,c3\n"
HEADER = "line,ref,acct,other,other_name,amt,dc,time\n"


def _statement(tmp_path: Path, lines: str, **extra) -> tuple:
    doc = {
        "tables": {
            "accounts": {},
            "transactions": {
                "file": "statements.csv",
                "format": "statement",
                "columns": {**STATEMENT_COLUMNS, **extra.pop("columns", {})},
                **extra,
            },
        }
    }
    data = write_files(tmp_path, {"accounts.csv": ACCOUNTS, "statements.csv": lines})
    frames = load(data, mapping_of(doc))
    return frames.transactions, frames.stats["transactions"], frames.rejects


def test_statement_directions_become_from_and_to(tmp_path: Path) -> None:
    txns, stats, _ = _statement(
        tmp_path,
        HEADER
        + "l1,,a1,a2,,100.00,D,2025-01-01T10:00:00Z\n"  # a1 pays a2 (only a1's statement)
        + "l2,,a1,a3,,-7.5,-,2025-01-02T10:00:00Z\n"  # -/+ flags; the amount's sign dropped
        + "l3,,a2,a3,,20,C,2025-01-03T10:00:00Z\n"  # a2 receives from a3
        + "l4,,a3,,Shop,3,D,2025-01-04T10:00:00Z\n",  # a payment to a counterparty by name
        debit_values=["D", "-"],
        credit_values=["C", "+"],
    )
    assert txns[
        ["txn_id", "from_account", "to_account", "to_counterparty", "amount"]
    ].values.tolist() == [
        ["l1", "a1", "a2", pd.NA, 100.0],
        ["l2", "a1", "a3", pd.NA, 7.5],
        ["l3", "a3", "a2", pd.NA, 20.0],
        ["l4", "a3", pd.NA, "Shop", 3.0],
    ]
    assert (stats.read, stats.accepted, stats.rejected, stats.merged) == (4, 4, 0, 0)


def test_statement_direction_from_the_amount_sign(tmp_path: Path) -> None:
    """Without a direction column, a negative amount is a debit, anything else a credit."""
    columns = {k: v for k, v in STATEMENT_COLUMNS.items() if k != "direction"}
    doc = {
        "tables": {
            "accounts": {},
            "transactions": {"file": "s.csv", "format": "statement", "columns": columns},
        }
    }
    data = write_files(
        tmp_path,
        {
            "accounts.csv": ACCOUNTS,
            "s.csv": "line,ref,acct,other,other_name,amt,time\n"
            "l1,,a1,a2,,-100,2025-01-01T10:00:00Z\n"
            "l2,,a2,a1,,100,2025-01-01T10:00:05Z\n"
            "l3,,a3,a1,,+4,2025-01-02T10:00:00Z\n",
        },
    )
    frames = load(data, mapping_of(doc))
    txns, stats = frames.transactions, frames.stats["transactions"]
    assert txns[["from_account", "to_account", "amount"]].values.tolist() == [
        ["a1", "a2", 100.0],
        ["a1", "a3", 4.0],
    ]
    assert (stats.read, stats.accepted, stats.merged) == (3, 2, 1)


def test_mirror_lines_are_merged_once(tmp_path: Path) -> None:
    txns, stats, rejects = _statement(
        tmp_path,
        HEADER
        # shared reference: merged whatever the time
        + "l1,R1,a1,a2,,100,D,2025-01-01T10:00:00Z\n"
        + "l2,R1,a2,a1,,100,C,2025-01-01T12:00:00Z\n"
        # no reference: within the window (60 s) -> merged; outside (2 h) -> two transfers
        + "l3,,a2,a3,,50,D,2025-01-02T10:00:00Z\n"
        + "l4,,a3,a2,,50,C,2025-01-02T10:01:00Z\n"
        + "l5,,a2,a3,,50,D,2025-01-03T10:00:00Z\n"
        + "l6,,a3,a2,,50,C,2025-01-03T12:00:00Z\n"
        # two debits, one credit in between: the credit merges with the nearer debit only
        + "l7,,a1,a3,,9,D,2025-01-04T10:00:00Z\n"
        + "l8,,a1,a3,,9,D,2025-01-04T10:04:00Z\n"
        + "l9,,a3,a1,,9,C,2025-01-04T10:03:00Z\n"
        # a different amount is no mirror
        + "m1,,a1,a2,,30,D,2025-01-05T10:00:00Z\n"
        + "m2,,a2,a1,,31,C,2025-01-05T10:00:00Z\n"
        # rejects: unknown flag, credit from a counterparty without an account
        + "x1,,a1,a2,,5,Q,2025-01-06T10:00:00Z\n"
        + "x2,,a1,,Employer,5,C,2025-01-06T10:00:00Z\n",
        match_window_s=300,
    )
    assert (stats.read, stats.accepted, stats.rejected, stats.merged) == (13, 8, 2, 3)
    assert stats.read == stats.accepted + stats.rejected + stats.merged
    assert txns["txn_id"].tolist() == ["R1", "l3", "l5", "l6", "l7", "l8", "m1", "m2"]
    kept = txns.set_index("txn_id")
    assert kept.loc["l6", ["from_account", "to_account"]].tolist() == ["a2", "a3"]
    assert kept.loc["m2", ["from_account", "to_account"]].tolist() == ["a1", "a2"]
    assert rejects[["source_row", "column", "reason"]].values.tolist() == [
        [
            13,
            "direction",
            "unparsable direction 'Q' (debit_values ['借', 'D', 'DR', 'debit', '-'], credit_values ['贷', 'C', 'CR', 'credit', '+'])",  # noqa: E501
        ],
        [
            14,
            "counterparty",
            "credit from counterparty 'Employer' without an account: the canonical model has no payments from counterparties",  # noqa: E501
        ],
    ]


def test_identical_statement_line_twice_is_a_duplicate(tmp_path: Path) -> None:
    txns, stats, _ = _statement(
        tmp_path,
        HEADER
        + "l1,,a1,a2,,100,D,2025-01-01T10:00:00Z\n"
        + "l1,,a1,a2,,100,D,2025-01-01T10:00:00Z\n"
        + "l2,,a2,a1,,100,C,2025-01-01T10:00:30Z\n",
    )
    assert txns["txn_id"].tolist() == ["l1"]
    assert (stats.read, stats.accepted, stats.duplicates_merged, stats.merged) == (3, 2, 1, 1)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"format": "statement"},
            "[tables.transactions.columns] is required with format = 'statement'",
        ),
        (
            {"format": "statement", "columns": {"account": "a", "amount": "b", "ts": "c"}},
            "tables.transactions.columns needs counterparty_account or counterparty",
        ),
        (
            {"format": "statement", "columns": {"account": "a", "counterparty": "x", "ts": "c"}},
            "tables.transactions.columns.amount is required for statements",
        ),
        (
            {"format": "statement", "columns": {"from_account": "a"}},
            "unknown key 'from_account' in [tables.transactions.columns]; allowed with format = 'statement': txn_id, reference, account, counterparty_account, counterparty, amount, direction, currency, ts",  # noqa: E501
        ),
        ({"debit_values": ["D"]}, "tables.transactions.debit_values needs format = 'statement'"),
        ({"format": "ledger"}, "tables.transactions.format must be 'table' or 'statement'"),
        (
            {
                "format": "statement",
                "columns": {"account": "a", "counterparty": "x", "amount": "b", "ts": "c"},
                "debit_values": ["D"],
                "credit_values": ["d"],
            },
            "tables.transactions: 'd' is both a debit and a credit value",
        ),
    ],
)
def test_statement_mapping_errors(table: dict, message: str) -> None:
    with pytest.raises(MappingError) as err:
        mapping_of({"tables": {"transactions": table}})
    assert str(err.value) == f"test-mapping.toml: {message}"


def test_default_mapping_unchanged() -> None:
    """Plain tables keep the plain readers: no statement spec, no wide reading."""
    m = mapping_of({})
    tm = m.tables["transactions"]
    assert (tm.statement, tm.from_table, tm.kinds, tm.separator) == (None, None, {}, None)


@pytest.mark.parametrize("block", [None, 1, 7, 64])
def test_common_rules_skip_only_the_values_they_would_not_change(
    block: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:func:`common` leaves printable-ASCII values with single inner spaces as they are
    and runs the rules on the rest: the same result as the rules on every value (the
    bytes looked at in blocks of any size, a double space split between two too)."""
    from graphprofile.ingest import normalise
    from graphprofile.ingest.normalise import _common_rules, common

    if block is not None:
        monkeypatch.setattr(normalise, "BYTE_BLOCK", block)

    values = [
        "a b", "+44 7975 446955", "x@y.com", "", None, " lead", "trail ", "two  spaces",
        "tab\there", "line\nbreak", "\u3000ideographic", "\uff21\uff22", "café", "a\x0bb",
        "a\x1fb", "del\x7f", "nb\xa0sp", "~!", " ", "  ",
    ]  # fmt: skip
    arr = pa.array(values * 3, type=pa.string())
    for part in (arr, arr.slice(5, 31)):
        assert common(part).equals(_common_rules(part))
    settled = pa.array(["a b", "+44 7975 446955", None], type=pa.string())
    assert common(settled) is settled
    assert common(pa.array(["two  spaces", "a\tb"])).to_pylist() == ["two spaces", "a b"]
