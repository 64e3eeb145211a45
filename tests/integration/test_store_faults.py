"""Issues 7 §2 and 12: the server killed (kill -9) mid-load and mid-write-back.

FalkorDB: a crashable server of the test's own keeps an fsynced append-only file. Neo4j:
the session's test server JVM is killed and started again on the same data directory
(Neo4j recovers every committed transaction from its transaction log). Either way, after
the restart the database holds exactly what was committed before the kill (the tests
check that the state is partial, not empty), and re-running the same operation must
converge to the state of an uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import missing
from neo4j_server import Neo4jServer, wipe
from servers import FalkorDBServer
from store_suite import count, customers, dump, run_one, run_two, small_graph

from graphprofile.errors import StoreError
from graphprofile.frames import CanonicalGraph
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.store import apply_schema, load_graph, open_store, parse_store_uri, write_back

ENGINE_NAMES = {"falkordb": "FalkorDB", "neo4j": "Neo4j"}


@dataclass
class Crashable:
    """A database a test may kill -9 and start again, and how to reach it."""

    engine: str
    uri: str
    kill: Callable[[], None]
    start: Callable[[], None]
    #: URI of a scratch graph for a reference run (the same database on Neo4j).
    reference_uri: str

    def open(self) -> Any:
        """An open store; on Neo4j the driver gives up retrying after 2 s (not 30 s)."""
        if self.engine == "neo4j":
            from graphprofile.store.neo4j_store import Neo4jStore

            return Neo4jStore(parse_store_uri(self.uri), max_retry_time=2.0)
        return open_store(self.uri)

    def reset(self) -> None:
        """Empty the database after a reference run that shares it (Neo4j)."""
        if self.engine == "neo4j":
            with open_store(self.uri) as store:
                wipe(store)


@pytest.fixture(params=["falkordb", "neo4j"])
def crashable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Crashable]:
    if request.param == "falkordb":
        server: FalkorDBServer = request.getfixturevalue("crashable_falkordb")
        session: FalkorDBServer = request.getfixturevalue("falkordb_server")
        name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[-40:]
        yield Crashable(
            "falkordb",
            f"{server.uri}/bank",
            server.kill,
            server.start,
            f"{session.uri}/ref_{name}",
        )
        return
    neo4j: Neo4jServer = request.getfixturevalue("neo4j_server")
    if not neo4j.managed:
        missing("the Neo4j fault tests kill the server: unset NEO4J_URI to use the test server")
    uri = request.getfixturevalue("neo4j_uri")
    yield Crashable("neo4j", uri, neo4j.kill, neo4j.start, uri)


@pytest.fixture(scope="module")
def bank_graph(tmp_path_factory: pytest.TempPathFactory) -> CanonicalGraph:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=7)
    return build_graph(load_frames(data))


def _total(snapshot: dict[str, Any]) -> int:
    return len(snapshot["nodes"]) + len(snapshot["relationships"])


@pytest.mark.parametrize("kill_in", ["identifier", "TRANSFER"])
def test_load_killed_midway_reports_progress_and_rerun_converges(
    kill_in: str, bank_graph: CanonicalGraph, crashable: Crashable
) -> None:
    with open_store(crashable.reference_uri) as store:  # an uninterrupted load
        apply_schema(store)
        load_graph(store, bank_graph, batch_size=1000)
        reference = dump(store)
    crashable.reset()
    batches = {"n": 0}

    def kill_after_two_batches(table: str, done: int, total: int) -> None:
        if table == kill_in and done > 0:
            batches["n"] += 1
            if batches["n"] == 2:
                crashable.kill()

    with crashable.open() as store:
        apply_schema(store)
        with pytest.raises(StoreError) as info:
            load_graph(store, bank_graph, batch_size=500, progress=kill_after_two_batches)
    message = str(info.value)
    assert f"loading {kill_in} stopped after 1,000 of" in message
    assert f"lost the connection to {ENGINE_NAMES[crashable.engine]}" in message
    assert "(batch 3 of" in message
    assert "Completed tables: customer, account, device" in message
    assert "run the same load command again" in message
    if kill_in == "TRANSFER":
        assert "identifier, counterparty, OWNS, USES_DEVICE, HAS_IDENTIFIER" in message
        assert "not started: PAYS" in message
    else:
        assert "not started: counterparty, OWNS" in message

    crashable.start()  # same port, same data directory
    with open_store(crashable.uri) as store:
        partial = dump(store)
        assert 0 < _total(partial) < _total(reference)  # what was committed survived
        summary = load_graph(store, bank_graph, batch_size=300)
        assert dump(store) == reference
    assert summary["nodes"] + summary["relationships"] == _total(reference)


def test_write_back_killed_midway_is_visible_then_rerun_converges(crashable: Crashable) -> None:
    with open_store(crashable.reference_uri) as store:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r0", run_meta={}, **run_two())
        write_back(store, run_id="r1", run_meta={}, batch_size=1, **run_one())
        reference = dump(store)
    crashable.reset()

    class KillingStore:
        """Forwards to the real store; kills the server before the first label is written."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.engine = inner, inner.engine

        def run(self, query: str, params: Any = None) -> Any:
            return self.inner.run(query, params)

        def write_batches(self, query: str, rows: Any, batch_size: int = 10_000, **kw: Any) -> Any:
            if "REMOVE c:Influencer" in query:
                crashable.kill()
            return self.inner.write_batches(query, rows, batch_size, **kw)

    with crashable.open() as store:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r0", run_meta={}, **run_two())
        with pytest.raises(StoreError) as info:
            write_back(KillingStore(store), run_id="r1", run_meta={}, batch_size=1, **run_one())
    message = str(info.value)
    assert "write-back of run r1 stopped at step 'labels'" in message
    assert "steps completed: run node, customer properties)" in message
    assert f"lost the connection to {ENGINE_NAMES[crashable.engine]}" in message
    assert "completed=false" in message and "run the same command again" in message

    crashable.start()
    with open_store(crashable.uri) as store:
        # What a Bloom user sees meanwhile: r1 is not complete, r0 is the last complete run,
        # customers already carry r1's gp_ properties while labels and rings are still r0's.
        runs = store.run(
            "MATCH (r:GraphProfileRun) RETURN r.run_id AS id, r.completed AS done ORDER BY id"
        )
        assert runs.values.tolist() == [["r0", True], ["r1", False]]
        found = customers(store)
        assert {c["gp_run_id"] for c in found.values()} == {"r1"}
        assert found["c1"]["gp_risk"] == pytest.approx(0.9)
        assert found["c1"]["labels"] == ["Customer"]  # r0's labels: c1 was nothing in r0
        assert found["c3"]["labels"] == ["Customer", "HighRisk", "Influencer", "RingMember"]
        assert count(store, "MATCH (g:Ring {ring_id: 'R2'}) RETURN count(g)") == 1

        write_back(store, run_id="r1", run_meta={}, batch_size=1, **run_one())
        after = dump(store)
        runs = store.run(
            "MATCH (r:GraphProfileRun) RETURN r.run_id AS id, r.completed AS done ORDER BY id"
        )
    assert runs.values.tolist() == [["r0", True], ["r1", True]]
    strip = [n for n in after["nodes"] if "GraphProfileRun" not in n]
    assert strip == [n for n in reference["nodes"] if "GraphProfileRun" not in n]
    assert after["relationships"] == reference["relationships"]
