"""Communities and influence in a worker process give the same tables as in this process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.analysis import analyse, graph_worker
from graphprofile.analysis.projection import project
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames

NOW = pd.Timestamp("2025-08-01", tz="UTC")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    data: Path = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=2000, seed=5)
    return build_graph(load_frames(data))


def test_worker_process_gives_the_same_tables(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    here = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=1)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    there = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=2)
    assert here.meta["graph_jobs"]["where"] == "this process"
    assert there.meta["graph_jobs"]["where"] == "worker process"
    assert there.meta["graph_jobs"]["peak_rss_mb"] > 0
    assert set(there.meta["graph_jobs"]["seconds"]) == {"communities", "influence"}
    assert here.meta["communities"] == there.meta["communities"]
    assert here.meta["betweenness"] == there.meta["betweenness"]
    for name, table in here.tables().items():
        pd.testing.assert_frame_equal(table, there.tables()[name], obj=name)
    assert here.features["community_id"].nunique() > 1
    assert here.features["pagerank"].gt(0).all()


def test_small_graphs_and_one_core_stay_in_this_process(graph) -> None:
    proj = project(graph)
    s = AnalysisSettings()
    edges = proj.relationship.ecount() + proj.money.ecount()
    assert 0 < edges < graph_worker.WORKER_MIN_EDGES
    assert graph_worker.start(proj, s, seed=1, workers=8) is None
    assert graph_worker.start(proj, s, seed=1, workers=1) is None


def test_a_killed_worker_is_replaced_by_this_process(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(graph)
    s = AnalysisSettings()
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    pending = graph_worker.start(proj, s, seed=3, workers=2)
    assert pending is not None
    for pid in list(pending._pool._processes):  # the worker, killed as the OOM killer would
        os.kill(pid, signal.SIGKILL)
    out = pending.result()
    assert out.run["where"].startswith("this process, after the worker failed")
    expected = graph_worker.graph_jobs(
        proj.relationship, proj.rel_edges, proj.money, proj.account_customer, s, seed=3
    )
    assert (out.membership == expected.membership).all()
    pd.testing.assert_frame_equal(out.influence, expected.influence)
