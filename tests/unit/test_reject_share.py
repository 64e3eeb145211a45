"""Operators: amounts with thousands separators, and a run that rejects too much stops.

A mobile-money style extract: its own column names, amounts written ``1,184.66`` (quoted),
local timestamps. With ``thousands = ","`` it loads with no rejects; without it the amounts
of 1,000 or more are unparsable, the share is above 5 % and the run stops with exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from ingest_support import write_files

from graphprofile.cli import main
from graphprofile.errors import MappingError
from graphprofile.ingest.mapping import parse_mapping
from graphprofile.ingest.parse import parse_amount

AMOUNTS = ["250.00", "1,184.66", "75.50", "12,400.00", "980.10", "3,050.25", "40.00", "1,000.00"]
MAPPING = """version = 1
[options]
timezone = "Africa/Nairobi"
{extra}
[tables.transactions]
file = "mpesa_statement.csv"
[tables.transactions.columns]
txn_id = "Receipt No."
from_account = "Sender MSISDN"
to_account = "Recipient MSISDN"
amount = "Amount (KES)"
ts = "Completion Time"
"""


def _extract(folder: Path, *, thousands: bool) -> tuple[Path, Path]:
    rows = ["Receipt No.,Sender MSISDN,Recipient MSISDN,Amount (KES),Completion Time\n"]
    for i in range(40):
        amount = AMOUNTS[i % len(AMOUNTS)]
        rows.append(
            f'QK{i:06d},2547{i % 9:08d},2547{(i + 3) % 9:08d},"{amount}",'
            f"2024-05-{1 + i % 28:02d} 10:{i % 60:02d}:00\n"
        )
    data = write_files(folder / "data", {"mpesa_statement.csv": "".join(rows)})
    mapping = folder / "mpesa.toml"
    mapping.write_text(MAPPING.format(extra='thousands = ","' if thousands else ""))
    return data, mapping


def test_thousands_separator_loads_with_no_rejects(tmp_path: Path) -> None:
    data, mapping = _extract(tmp_path, thousands=True)
    out = tmp_path / "out"
    assert main(["run", str(data), "--mapping", str(mapping), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "complete"
    assert summary["tables"]["transactions"]["rejected"] == 0
    assert summary["rejects"]["transactions"]["top_reasons"] == []
    graph = pd.read_parquet(out / "graph" / "edges" / "TRANSFER.parquet")
    assert graph["total_amount"].sum() == pytest.approx(
        5 * sum(float(a.replace(",", "")) for a in AMOUNTS)
    )


def test_without_it_the_run_stops_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, mapping = _extract(tmp_path, thousands=False)
    out = tmp_path / "out"
    assert main(["run", str(data), "--mapping", str(mapping), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: too many rows rejected; the run stopped after reading")
    assert f"{data / 'mpesa_statement.csv'}: 20 of 40 rows rejected (50.0%, above " in err
    assert "20 × unparsable amount (e.g. row 3: unparsable amount '1,184.66')" in err
    assert "Traceback" not in err
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "failed" and "unparsable amount" in summary["error"]
    top = summary["rejects"]["transactions"]["top_reasons"]
    assert top[0]["reason"] == "unparsable amount" and top[0]["count"] == 20
    assert top[0]["examples"][0] == {"row": 3, "reason": "unparsable amount '1,184.66'"}
    assert len(pd.read_csv(out / "rejects" / "transactions.csv")) == 20  # written up to there
    assert not (out / "features.parquet").exists()
    # an operator who accepts the losses says so
    args = ["run", str(data), "--mapping", str(mapping), "--out", str(out), "-q"]
    assert main([*args, "--max-reject-share", "0.6"]) == 0
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_limit_per_table_in_the_mapping(tmp_path: Path) -> None:
    data, mapping = _extract(tmp_path, thousands=False)
    text = mapping.read_text().replace('file = "mpesa', 'max_reject_share = 0.5\nfile = "mpesa')
    mapping.write_text(text)
    assert main(["run", str(data), "--mapping", str(mapping), "--out", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize(
    ("text", "thousands", "decimal", "expected"),
    [
        ("1,184.66", ",", ".", 1184.66),
        ("12,400", ",", ".", 12400.0),
        ("1.184,66", ".", ",", 1184.66),
        ("1 184.66", " ", ".", 1184.66),
        ("12'000.5", "'", ".", 12000.5),
        ("-1,000,000.00", ",", ".", -1e6),
        ("184.66", ",", ".", 184.66),
    ],
)
def test_thousands_separators(text: str, thousands: str, decimal: str, expected: float) -> None:
    values, _ = parse_amount(
        pd.Series([text]), "amount", decimal=decimal, thousands=thousands, max_amount=1e12
    )
    assert values.iloc[0] == pytest.approx(expected)


def test_badly_grouped_thousands_are_unparsable_not_guessed() -> None:
    values, reason = parse_amount(
        pd.Series(["1,5", "12,34.00", "1,234"]),
        "amount",
        decimal=".",
        thousands=",",
        max_amount=1e12,
    )
    assert reason.tolist()[:2] == ["unparsable amount '1,5'", "unparsable amount '12,34.00'"]
    assert values.iloc[2] == 1234.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"thousands": ";"}, "options.thousands must be one of '', ',', '.', ' ', \"'\""),
        ({"thousands": ".", "decimal": "."}, "options.thousands and options.decimal are both"),
        ({"max_reject_share": 2}, "options.max_reject_share must be a number from 0 to 1"),
    ],
)
def test_mapping_options_are_checked(options: dict, message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("(", r"\(")):
        parse_mapping({"options": options, "tables": {"transactions": {}}}, "m.toml")
