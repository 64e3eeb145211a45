"""The parts of ``--engine gds`` that need no server: options, paging arithmetic, ordering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphprofile.analysis.gds_engine import analyse_gds
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.cli import main
from graphprofile.errors import ConfigError, StoreError
from graphprofile.pipeline import RunConfig, run_job
from graphprofile.store.gds import GdsGateway
from graphprofile.store.gds_read import _transactions, _txn_chunk


def test_engine_gds_needs_a_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--engine gds analyses a graph inside Neo4j"):
        run_job(RunConfig(data_dir=tmp_path, out_dir=tmp_path / "out", engine="gds"))


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown engine 'spark'; use 'embedded' or 'gds'"):
        run_job(RunConfig(data_dir=tmp_path, out_dir=tmp_path / "out", engine="spark"))


def test_cli_engine_gds_without_store_exits_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "--engine", "gds", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: --engine gds analyses a graph inside Neo4j")
    assert "Traceback" not in err


@pytest.mark.parametrize("concurrency", [0, 5, 16])
def test_concurrency_outside_the_community_cap(concurrency: int) -> None:
    with pytest.raises(ConfigError, match=r"between 1 and 4 \(the community edition's cap\)"):
        GdsGateway(object(), run_id="x", concurrency=concurrency)  # type: ignore[arg-type]


def test_a_store_without_gds_engine_is_refused() -> None:
    class Falkor:
        engine = "falkordb"

    with pytest.raises(StoreError, match=r"--engine gds needs a Neo4j store"):
        GdsGateway(Falkor(), run_id="x")  # type: ignore[arg-type]


def test_transaction_pages_flatten_and_sort_as_read_graph_does() -> None:
    page = pd.DataFrame(
        {
            "key": ["a2", "a1", "a1"],
            "to_account": ["a1", "a3", None],
            "txn_ids": [["t9", ""], ["t2"], None],
            "amounts": [[5.0, 6.0], [7.5], None],
            "ts": [
                ["2024-01-02T00:00:00.000000Z", "2024-01-01T00:00:00.000000Z"],
                ["2024-01-01T00:00:00.000000Z"],
                None,
            ],
        }
    )
    chunk = _txn_chunk(page, "to_account")
    assert chunk is not None and chunk.num_rows == 3
    txns = _transactions([chunk])
    # by ts, then from_account, then txn_id with nulls first ("" is a missing id)
    assert txns["from_account"].tolist() == ["a1", "a2", "a2"]
    assert txns["txn_id"].isna().tolist() == [False, True, False]
    assert txns["amount"].tolist() == [7.5, 6.0, 5.0]
    assert str(txns["ts"].dt.tz) == "UTC"
    assert _transactions([]).empty


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (AnalysisSettings(objective="cpm"), "optimises modularity on one graph"),
        (AnalysisSettings(multiplex=True), "optimises modularity on one graph"),
    ],
)
def test_settings_gds_cannot_honour_are_refused_before_any_query(
    settings: AnalysisSettings, why: str
) -> None:
    with pytest.raises(ConfigError, match=why):
        analyse_gds(
            object(),  # type: ignore[arg-type]  # never reached: refused first
            settings=settings,
            run_id="x",
            computed_at=pd.Timestamp("2026-01-01", tz="UTC"),
        )
