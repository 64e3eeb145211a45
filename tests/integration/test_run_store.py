"""`graphprofile run --store` and `graphprofile analyze --store` against a real FalkorDB."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.cli import main
from graphprofile.generate import generate_bank
from graphprofile.store import open_store


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1500, seed=3)
    return data


def _count(uri: str, query: str) -> int:
    with open_store(uri) as store:
        return int(store.run(query).iloc[0, 0])


def test_run_with_store_writes_tags_matching_the_files(
    bank: Path, falkordb_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["run", str(bank), "--out", str(out), "--store", falkordb_uri, "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["store"]["load"]["nodes"] > 0
    tags = pd.read_parquet(out / "tags.parquet")
    features = pd.read_parquet(out / "features.parquet")
    n_customers = len(features)
    assert _count(falkordb_uri, "MATCH (c:Customer) RETURN count(c)") == n_customers
    high = tags.loc[tags["tag"] == "risk:high", "customer_id"].nunique()
    assert _count(falkordb_uri, "MATCH (c:HighRisk) RETURN count(c)") == high
    members = tags.loc[tags["tag"] == "ring_member", "customer_id"].nunique()
    assert _count(falkordb_uri, "MATCH (c:RingMember) RETURN count(c)") == members
    run_id = summary["run_id"]
    with open_store(falkordb_uri) as store:
        run = store.run(
            "MATCH (r:GraphProfileRun {run_id: $id}) RETURN r.completed AS completed",
            {"id": run_id},
        )
        stale = store.run(
            "MATCH (c:Customer) WHERE c.gp_run_id <> $id RETURN count(c) AS n", {"id": run_id}
        )
    assert bool(run["completed"].iloc[0]) is True
    assert int(stale["n"].iloc[0]) == 0

    # Analysis from the database: same customers, every customer tagged with the new run.
    out2 = tmp_path / "from-store"
    assert main(["analyze", "--store", falkordb_uri, "--out", str(out2), "--json"]) == 0
    summary2 = json.loads(capsys.readouterr().out)
    features2 = pd.read_parquet(out2 / "features.parquet")
    assert sorted(features2["customer_id"]) == sorted(features["customer_id"])
    assert summary2["parameters"]["source"] == "store"
    assert (
        _count(
            falkordb_uri,
            f"MATCH (c:Customer) WHERE c.gp_run_id = '{summary2['run_id']}' RETURN count(c)",
        )
        == n_customers
    )
