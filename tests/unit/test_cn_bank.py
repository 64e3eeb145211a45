"""The Chinese-bank example (``tests/data/cn_bank`` with ``loaders/example_cn_bank.toml``).

GB18030 files with Chinese file and column names; identifiers from columns of the
customer master; account statements with 借贷标志; a login log. The run must find the
planted identity ring (C007-C009: one phone written three ways, one address written in
full-width and half-width digits, one device) and the money cycle (C001 -> C002 -> C003 ->
C001, every transfer in both accounts' statements), reject the ID numbers with a wrong
check digit or length, and merge each transfer's second statement line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.cli import main
from graphprofile.ingest.normalise import REASON_CHECKSUM, REASON_FORMAT
from graphprofile.pipeline import RunConfig, run_job

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cn_bank"
MAPPING = ROOT / "loaders" / "example_cn_bank.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("cn_bank_out")
    summary = run_job(RunConfig(data_dir=DATA, out_dir=out, mapping=MAPPING, report=False))
    return summary, out


def test_files_are_gb18030_with_chinese_names() -> None:
    names = sorted(p.name for p in DATA.iterdir())
    assert names == ["交易流水.csv", "客户信息.csv", "登录日志.csv", "账户信息.csv"]
    raw = (DATA / "客户信息.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030").startswith("客户号,姓名,身份证号,手机号")


def test_identity_ring_and_cycle_are_found(run: tuple[dict, Path]) -> None:
    _, out = run
    rings = pd.read_parquet(out / "rings.parquet")
    found = {(k, tuple(c)) for k, c in zip(rings["kind"], rings["customers"], strict=True)}
    assert found == {("identity", ("C007", "C008", "C009")), ("cycle", ("C001", "C002", "C003"))}
    identity = rings[rings["kind"] == "identity"].iloc[0]
    shared = {r["type"]: r for r in json.loads(identity["reasons"]) if "n_members" in r}
    assert shared["shared_device"]["id"] == "DEV-7777"
    kinds = {r.get("kind") for r in json.loads(identity["reasons"]) if "kind" in r}
    assert kinds == {"phone", "address"}  # normalised spellings are one identifier each
    cycle = rings[rings["kind"] == "cycle"].iloc[0]
    path = next(r for r in json.loads(cycle["reasons"]) if r["type"] == "cycle_path")
    assert path["amounts"] == [50000.0, 48500.0, 47200.0]
    assert path["txn_ids"] == ["R9001", "S0003", "R9003"]  # each transfer once


def test_invalid_id_numbers_are_rejected_with_reason(run: tuple[dict, Path]) -> None:
    _, out = run
    rej = pd.read_csv(out / "rejects" / "identifiers.csv", dtype=str)
    assert rej[["source_row", "column", "reason", "key"]].values.tolist() == [
        ["12", "value", REASON_CHECKSUM, "C011"],
        ["13", "value", REASON_FORMAT, "C012"],
    ]
    assert (rej["source_file"] == str(DATA / "客户信息.csv")).all()


def test_statement_lines_merged_and_rows_reconcile(run: tuple[dict, Path]) -> None:
    summary, out = run
    txns = summary["tables"]["transactions"]
    assert txns == {
        "source_file": str(DATA / "交易流水.csv"),
        "read": 53,
        "accepted": 45,
        "rejected": 2,
        "duplicates_merged": 1,
        "merged": 6,
    }
    for stats in summary["tables"].values():
        assert stats["read"] == stats["accepted"] + stats["rejected"] + stats["merged"]
    rows = summary["rows"]
    assert rows["read"] == rows["accepted"] + rows["rejected"] + rows["merged"]
    rej = pd.read_csv(out / "rejects" / "transactions.csv", dtype=str)
    assert rej["key"].tolist() == ["S3001", "S3002"]
    assert (
        rej["reason"].str.startswith(("unparsable direction 'X'", "credit from counterparty")).all()
    )


def test_identifiers_and_devices_counts(run: tuple[dict, Path]) -> None:
    summary, _ = run
    ids = summary["tables"]["identifiers"]
    # 12 customers: 11 ID numbers (C010 is a company), 13 phones (C003 has two),
    # 5 e-mails, 12 addresses; two ID numbers are rejected
    assert (ids["read"], ids["accepted"], ids["rejected"]) == (41, 39, 2)
    assert summary["tables"]["devices"]["read"] == 17  # 16 logins, one listing two devices
    # the ring's phone and its address are one node each (39 values, 35 identifiers)
    assert summary["graph"]["nodes"]["identifier"] == 35


def test_cli_example_as_in_the_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", str(DATA), "--mapping", str(MAPPING), "--out", str(tmp_path), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tables"]["transactions"]["merged"] == 6
    assert summary["analysis"]["rings"]["reported"] == {"cycle": 1, "identity": 1}
