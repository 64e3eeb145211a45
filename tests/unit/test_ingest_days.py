"""``timestamp_format = "days"`` with an ``origin``, and the AMLSim mapping as shipped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_support import PII_KEY, ROOT, load, mapping_of, rejected, write_files

from graphprofile.errors import MappingError

AMLSIM_MAPPING = ROOT / "loaders" / "amlsim.toml"


@pytest.fixture(autouse=True)
def _pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", PII_KEY)


def test_days_after_origin_with_fractions_and_rejects(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path,
        {
            "transactions.csv": "from_account,to_account,amount,ts\n"
            "a,b,1,0\na,b,2,1.5\na,b,3,149\na,b,4,x\na,b,5,1e9\n"
        },
    )
    mapping = mapping_of(
        {
            "options": {"timestamp_format": "days", "origin": "2024-01-01"},
            "tables": {"transactions": {}},
        }
    )
    frames = load(folder, mapping)
    assert list(frames.transactions["ts"]) == [
        pd.Timestamp("2024-01-01T00:00:00Z"),
        pd.Timestamp("2024-01-02T12:00:00Z"),
        pd.Timestamp("2024-05-29T00:00:00Z"),
    ]
    assert rejected(frames, "transactions") == [
        (5, "ts", "unparsable ts 'x'"),
        (6, "ts", "unparsable ts '1e9'"),
    ]


def test_days_origin_in_the_mapping_time_zone(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path, {"transactions.csv": "from_account,to_account,amount,ts\na,b,1,1\n"}
    )
    mapping = mapping_of(
        {
            "options": {
                "timestamp_format": "days",
                "origin": "2024-01-01",
                "timezone": "Europe/Berlin",
            },
        }
    )
    frames = load(folder, mapping)
    assert frames.transactions["ts"].iloc[0] == pd.Timestamp("2024-01-01T23:00:00Z")


def test_bad_origin_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match=r"options.origin 'soon' is not an ISO date or time"):
        mapping_of({"options": {"timestamp_format": "days", "origin": "soon"}})


def test_amlsim_mapping_reads_nodes_and_steps_without_labels(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path,
        {
            "nodes.csv": "nodeid,isFraud,init_balance,fraudStep\n0,0,1.5,-1\n1,1,2.5,3\n2,0,3,-1\n",
            "transactions.csv": "sourceNodeId,targetNodeId,value,time\n0,1,10.5,1\n1,0,9.5,3\n",
        },
    )
    frames = load(folder, AMLSIM_MAPPING)
    assert list(frames.customers["customer_id"]) == ["0", "1", "2"]
    assert not frames.customers["known_fraud"].any()  # the label is never read as known fraud
    assert list(frames.accounts["account_id"]) == ["0", "1"]
    assert list(frames.accounts["customer_id"]) == ["0", "1"]
    assert list(frames.transactions["ts"]) == [
        pd.Timestamp("2024-01-02T00:00:00Z"),
        pd.Timestamp("2024-01-04T00:00:00Z"),
    ]
    assert list(frames.transactions["amount"]) == [10.5, 9.5]
