"""Raw PII and the pseudonymisation key never reach any output.

Raw phone numbers, emails, names, addresses, national ids and IPs are planted in every
place the contract allows (and in rows that get rejected), the whole job runs, and every
file under OUT_DIR — Parquet decoded value by value as well as byte for byte — is
searched for them.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from ingest_support import load, write_files

from graphprofile.cli import main

KEY = "s3cret-Pii-Key-9f8e7d"

NAMES = ["Margarethe Oberhuber-Schmidt", "Özlem Yıldırım", "Jean-Luc Picard"]
EMAILS = ["margarethe.oberhuber@example.org", "oezlem.y@mail.example", "jlp@enterprise.example"]
PHONES = ["+43 664 1234567", "+90 532 765 4321", "+1 (555) 010-1701"]
PHONE_DIGITS = ["+436641234567", "+905327654321", "+15550101701"]
ADDRESSES = ["Kärntner Straße 38, 1010 Wien", "Bağdat Caddesi 77, İstanbul"]
NATIONAL_IDS = ["AB1234567C", "TR98765432109"]
IPS = ["203.0.113.77", "198.51.100.23", "2001:db8::dead:beef"]

RAW = NAMES + EMAILS + PHONES + PHONE_DIGITS + ADDRESSES + NATIONAL_IDS + IPS


def _files() -> dict[str, str]:
    n0, n1, n2 = NAMES
    return {
        "customers.csv": "customer_id,name,segment,known_fraud,email,mobile_phone,tier\n"
        f"c1,{n0},retail,false,{EMAILS[0]},{PHONES[0]},gold\n"
        f"c2,{n1},retail,true,{EMAILS[1]},{PHONES[1]},silver\n"
        # rejected for its known_fraud value: the name must not show up in the reason
        f"c3,{n2},retail,perhaps,{EMAILS[2]},{PHONES[2]},gold\n"
        # conflicting duplicate of c1: rejected, with another raw name
        f"c1,{n2},business,false,{EMAILS[2]},{PHONES[2]},gold\n",
        "accounts.csv": "account_id,customer_id,opened_at\na1,c1,2020-01-01\na2,c2,2021-01-01\n",
        "identifiers.csv": "customer_id,kind,value\n"
        f"c1,phone,{PHONES[0]}\n"
        f"c2,phone,{PHONES[1]}\n"
        f"c1,email,{EMAILS[0]}\n"
        f'c2,address,"{ADDRESSES[1]}"\n'
        f"c1,national_id,{NATIONAL_IDS[0]}\n"
        f"c3,phone,{PHONES[2]}\n"  # dangling (c3 was rejected)
        f'c9,address,"{ADDRESSES[0]}"\n'  # dangling
        f"c9,national_id,{NATIONAL_IDS[1]}\n"  # dangling
        f",email,{EMAILS[2]}\n",  # missing customer id
        "devices.csv": "device_id,customer_id,account_id,seen_at,ip\n"
        f"d1,c1,,2024-01-01,{IPS[0]}\n"
        f"d1,c2,,2024-01-02,{IPS[1]}\n"
        f"d2,c9,,2024-01-02,{IPS[2]}\n",  # dangling
        "transactions.csv": "txn_id,from_account,to_account,amount,ts\n"
        "t1,a1,a2,10,2024-01-01\nt2,a2,a1,abc,2024-01-02\nt3,a2,a1,7,2024-01-03\n",
    }


def _variants(value: str) -> set[str]:
    return {value, value.lower(), value.casefold(), value.upper()}


def _parquet_values(path: Path) -> list[str]:
    """Every value of every column, and the schema metadata, as text."""
    table = pq.read_table(path)
    metadata = table.schema.metadata or {}
    texts = [k.decode() + "=" + v.decode() for k, v in metadata.items()]
    for column in table.columns:
        texts.extend(str(v) for v in column.to_pylist())
    return texts


def _find_leaks(out: Path, needles: list[str]) -> list[tuple[str, str]]:
    leaks = []
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        haystacks = [data.decode("utf-8", errors="replace"), data.decode("latin-1")]
        if path.suffix == ".parquet":
            haystacks.append("\n".join(_parquet_values(path)))
        for needle in needles:
            for variant in _variants(needle):
                if any(variant in h for h in haystacks) or variant.encode() in data:
                    leaks.append((str(path.relative_to(out)), needle))
    return leaks


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run the whole job once on the planted data; return OUT_DIR and the console text."""
    tmp = tmp_path_factory.mktemp("pii")
    data = write_files(tmp / "data", _files())
    out = tmp / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHPROFILE_PII_KEY", KEY)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            # planted bad rows are a large share of this tiny input: accept them
            argv = ["run", str(data), "--out", str(out), "--json", "--max-reject-share", "1"]
            rc = main(argv)
    assert rc == 0, stderr.getvalue()
    assert json.loads(stdout.getvalue())["status"] == "complete"
    return out, stdout.getvalue() + stderr.getvalue()


def test_the_job_really_ran_on_the_planted_rows(job: tuple[Path, str]) -> None:
    out, _ = job
    summary = json.loads((out / "run.json").read_text())
    assert {t: s["rejected"] for t, s in summary["tables"].items()} == {
        "accounts": 0,
        "customers": 2,
        "devices": 1,
        "identifiers": 4,
        "transactions": 1,
    }
    customers = pd.read_parquet(out / "graph" / "nodes" / "customer.parquet")
    assert list(customers["customer_id"]) == ["c1", "c2"]
    # PII-looking attributes are kept, but pseudonymised like names.
    assert customers["email"].str.fullmatch("[0-9a-f]{16}").all()
    assert customers["mobile_phone"].str.fullmatch("[0-9a-f]{16}").all()
    assert list(customers["tier"]) == ["gold", "silver"]
    assert len(pd.read_parquet(out / "graph" / "nodes" / "identifier.parquet")) == 5


def test_no_raw_pii_in_any_output_file(job: tuple[Path, str]) -> None:
    out, _ = job
    assert _find_leaks(out, RAW) == []


def test_no_raw_pii_on_the_console(job: tuple[Path, str]) -> None:
    _, console = job
    assert [v for v in RAW if v in console] == []


def test_the_key_is_written_nowhere(job: tuple[Path, str]) -> None:
    out, console = job
    assert _find_leaks(out, [KEY]) == []
    assert KEY not in console


def test_reject_reasons_and_keys_never_hold_pii(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", KEY)
    frames = load(write_files(tmp_path / "data", _files()))
    text = " ".join(
        frames.rejects[["reason", "key", "column"]].astype("string").fillna("").stack().tolist()
    )
    assert "unparsable known_fraud 'perhaps'" in text  # the c3 row is among the rejects
    for value in RAW:
        for variant in _variants(value):
            assert variant not in text, value


def test_the_leak_detector_finds_planted_values(tmp_path: Path) -> None:
    """The search itself works: raw values in CSV, JSON and Parquet are found."""
    (tmp_path / "a.csv").write_text(f"x\n{PHONES[0]}\n")
    (tmp_path / "b.json").write_text(json.dumps({"k": KEY}))
    pd.DataFrame({"n": [NAMES[1]]}).to_parquet(tmp_path / "c.parquet")
    assert sorted(_find_leaks(tmp_path, [PHONES[0], KEY, NAMES[1]])) == [
        ("a.csv", PHONES[0]),
        ("b.json", KEY),
        ("c.parquet", NAMES[1]),
    ]


def test_a_headerless_pii_file_is_not_echoed_in_the_error(tmp_path: Path, capsys) -> None:
    files = _files()
    files["customers.csv"] = files["customers.csv"].split("\n", 1)[1]  # drop the header
    data = write_files(tmp_path / "data", files)
    assert main(["run", str(data), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"Error: {data / 'customers.csv'}: missing column 'customer_id' (mapping entry "
        "tables.customers.columns.customer_id); no mapped column in the first row, so it is "
        "not shown (it may hold personal data); does the file lack its header row?"
    )
    assert [v for v in RAW if v in err] == []


def test_derived_key_reads_values_not_their_layout(monkeypatch) -> None:
    """The key derived without GRAPHPROFILE_PII_KEY depends on the values, nulls and order
    only: not on how Arrow chunks or slices them, nor on bytes a null slot may hold."""
    import pyarrow as pa

    from graphprofile.ingest.pii import key_from_env_or_data

    monkeypatch.delenv("GRAPHPROFILE_PII_KEY", raising=False)
    plain = pd.Series(["ab", None, "", "ü€x", "z"], dtype="string")
    large = pa.large_string()
    chunks = [pa.array(["ab", None], large), pa.array(["", "ü€x", "z"], large)]
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)))
    sliced = pd.Series(["skip", "ab", None, "", "ü€x", "z"], dtype="string").iloc[1:]
    # a null whose slot holds bytes: built from raw buffers (validity 0b11101, "ab|xx|..")
    data = "abxxü€xz".encode()
    offsets = pa.py_buffer(pa.array([0, 2, 4, 4, 10, 11], pa.int64()).buffers()[1])
    validity = pa.py_buffer(bytes([0b11101]))
    raw = pa.Array.from_buffers(pa.large_string(), 5, [validity, offsets, pa.py_buffer(data)])
    dirty = pd.Series(pd.arrays.ArrowStringArray(raw))
    key = key_from_env_or_data([plain])[0]
    for same in (chunked, sliced, dirty):
        assert key_from_env_or_data([same])[0] == key
    for other in (
        pd.Series(["ab", "", "", "ü€x", "z"], dtype="string"),  # empty, not null
        pd.Series(["a", "b", None, "ü€x", "z"], dtype="string"),  # same bytes, cut elsewhere
        pd.Series(["z", None, "", "ü€x", "ab"], dtype="string"),  # another order
    ):
        assert key_from_env_or_data([other])[0] != key
