"""`graphprofile run --store` and `graphprofile analyze --store` on real FalkorDB and Neo4j."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from servers import FalkorDBServer

from graphprofile.cli import main
from graphprofile.errors import StoreError
from graphprofile.generate import generate_bank
from graphprofile.pipeline import RunConfig, run_job
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
    bank: Path, store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["run", str(bank), "--out", str(out), "--store", store_uri, "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["store"]["load"]["nodes"] > 0
    tags = pd.read_parquet(out / "tags.parquet")
    features = pd.read_parquet(out / "features.parquet")
    n_customers = len(features)
    assert _count(store_uri, "MATCH (c:Customer) RETURN count(c)") == n_customers
    high = tags.loc[tags["tag"] == "risk:high", "customer_id"].nunique()
    assert _count(store_uri, "MATCH (c:HighRisk) RETURN count(c)") == high
    members = tags.loc[tags["tag"] == "ring_member", "customer_id"].nunique()
    assert _count(store_uri, "MATCH (c:RingMember) RETURN count(c)") == members
    run_id = summary["run_id"]
    with open_store(store_uri) as store:
        run = store.run(
            "MATCH (r:GraphProfileRun {run_id: $id}) RETURN r.completed AS completed",
            {"id": run_id},
        )
        stale = store.run(
            "MATCH (c:Customer) WHERE c.gp_run_id <> $id RETURN count(c) AS n", {"id": run_id}
        )
    assert bool(run["completed"].iloc[0]) is True
    assert int(stale["n"].iloc[0]) == 0

    # Written tags equal features.parquet, customer by customer.
    with open_store(store_uri) as store:
        props = store.run(
            "MATCH (c:Customer) RETURN c.customer_id AS customer_id, c.gp_community AS "
            "community_id, c.gp_risk AS risk_score, c.gp_pagerank AS pagerank, "
            "c.gp_ring AS ring_id"
        )
    merged = features.merge(props, on="customer_id", suffixes=("", "_db"), validate="1:1")
    assert len(merged) == n_customers
    assert (merged["community_id"] == merged["community_id_db"].astype("int64")).all()
    for column in ("risk_score", "pagerank"):
        # FalkorDB replies with 15 significant digits, so compare to that precision
        # (Neo4j returns the stored doubles exactly).
        file_values, db_values = (
            merged[c].astype(float).to_numpy() for c in (column, f"{column}_db")
        )
        assert np.allclose(file_values, db_values, rtol=1e-13, atol=0), column
    ring_file = merged["ring_id"].astype("string").fillna("")
    ring_db = merged["ring_id_db"].astype("string").fillna("")
    assert (ring_file == ring_db).all()

    # Analysis from the database: same customers, every customer tagged with the new run.
    out2 = tmp_path / "from-store"
    assert main(["analyze", "--store", store_uri, "--out", str(out2), "--json"]) == 0
    summary2 = json.loads(capsys.readouterr().out)
    features2 = pd.read_parquet(out2 / "features.parquet")
    assert summary2["parameters"]["source"] == "store"
    # Analysis from the store equals analysis from the files (same seed), run stamps aside.
    stamps = ["computed_at"]
    pd.testing.assert_frame_equal(
        features.drop(columns=stamps).sort_values("customer_id").reset_index(drop=True),
        features2.drop(columns=stamps).sort_values("customer_id").reset_index(drop=True),
        check_dtype=False,
    )
    rings, rings2 = (pd.read_parquet(o / "rings.parquet") for o in (out, out2))
    assert rings["ring_id"].tolist() == rings2["ring_id"].tolist()
    assert (
        _count(
            store_uri,
            f"MATCH (c:Customer) WHERE c.gp_run_id = '{summary2['run_id']}' RETURN count(c)",
        )
        == n_customers
    )


class KillAtWriteBack:
    """A reporter that kills the store's server as the graph write-back stage starts."""

    def __init__(self, server: FalkorDBServer) -> None:
        self.server = server
        self.started: list[str] = []

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.started.append(name)
        if name == "graph write-back":
            self.server.kill()
        yield

    def notice(self, text: str) -> None:
        return None


def test_a_failed_write_back_keeps_this_runs_files_and_report(
    bank: Path, crashable_falkordb: FalkorDBServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    reporter = KillAtWriteBack(crashable_falkordb)
    config = RunConfig(data_dir=bank, out_dir=out, store=f"{crashable_falkordb.uri}/bank")
    with pytest.raises(StoreError, match=r"lost the connection to FalkorDB"):
        run_job(config, reporter)
    assert reporter.started[-4:] == ["exports", "report", "snapshot", "graph write-back"]
    # every file of this run is in place, the report and the graph snapshot included;
    # run.json is not, as the run did not complete (rerunning the same command converges)
    assert (out / "features.parquet").is_file() and (out / "report.html").is_file()
    assert (out / "graph" / "edges" / "TRANSFER.parquet").is_file()
    assert "Data quality" in (out / "report.html").read_text()
    assert not (out / "run.json").exists()


class _Bars:
    """A reporter recording what the CLI's progress bar of each stage would show."""

    def __init__(self) -> None:
        self.current = ""
        self.shown: dict[str, list[tuple[int, int, str]]] = {}

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        self.current = name
        return contextlib.nullcontext()

    def notice(self, text: str) -> None:
        return None

    def advance(self, done: int, total: int, item: str = "") -> None:
        self.shown.setdefault(self.current, []).append((done, total, item))


def test_store_stage_shows_rows_loaded_and_batches_written(
    bank: Path, store_uri: str, tmp_path: Path
) -> None:
    bars = _Bars()
    summary = run_job(RunConfig(data_dir=bank, out_dir=tmp_path / "out", store=store_uri), bars)
    shown = bars.shown["graph write-back"]
    load = [s for s in shown if s[2].startswith("load: ")]
    write = [s for s in shown if s[2].startswith("write-back: ")]
    # the load counts every row it sends; the write-back every row of every step
    assert load[-1][0] == load[-1][1] > 0
    assert write[-1][0] == write[-1][1]
    n_customers = summary["graph"]["nodes"]["customer"]
    assert any(s[2] == f"write-back: customers {n_customers:,}/{n_customers:,} rows" for s in write)
    assert write[-1][1] > n_customers  # labels, communities, rings, memberships too
    # counts only grow
    assert [s[0] for s in write] == sorted(s[0] for s in write)
