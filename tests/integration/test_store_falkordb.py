"""The store suite against a real FalkorDB (the ``falkordb_server`` fixture); every
``cypher/`` file executed on FalkorDB and on Neo4j."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from servers import FalkorDBServer
from store_suite import StoreSuite, count, dump, run_one, run_two, small_graph

from graphprofile.errors import StoreError
from graphprofile.paths import cypher_dir
from graphprofile.store import apply_schema, load_graph, open_store, parse_store_uri, write_back
from graphprofile.store.cypher import PLACEHOLDER, statements
from graphprofile.store.falkordb_store import FalkorDBStore


class TestFalkorDB(StoreSuite):
    @pytest.fixture
    def store(self, falkordb_uri: str) -> Iterator[Any]:
        store = open_store(falkordb_uri)
        try:
            yield store
        finally:
            store.close()


# Sample names for the placeholders of cypher/ files (see graphprofile.store.cypher).
PLACEHOLDERS = {
    "LABEL": "Customer",
    "KEY": "customer_id",
    "TYPE": "OWNS",
    "SRC": "Customer",
    "SRC_KEY": "customer_id",
    "DST": "Account",
    "DST_KEY": "account_id",
}
PARAMS = {
    "rows": [],
    "run_id": "r0",
    "limit": 10,
    "after": None,
    "keys": ["c1"],
    "meta": {"seed": 1},
    "summary": {"n": 1},
    "started_at": "2024-01-01T00:00:00.000000Z",
    "completed_at": "2024-01-01T00:00:01.000000Z",
    "nulls": {"gp_x": None},
    # Bloom search phrases (cypher/bloom/)
    "a": "c1",
    "b": "c2",
    "customerId": "c1",
    "communityId": 0,
    "ringId": "R1",
    "min": 0.5,
}
PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def cypher_files() -> list[str]:
    root = cypher_dir()
    return sorted(
        str(p.relative_to(root).with_suffix(""))
        for p in root.rglob("*.cypher")
        # the GDS procedures need a projected graph: the GDS engine's tests run them
        if p.parent.name != "gds"
    )


ENGINE_FILES = [
    (engine, name)
    for engine in ("falkordb", "neo4j")
    for name in cypher_files()
    if not (engine == "falkordb" and name == "schema/neo4j_constraints")
]


@pytest.mark.parametrize(("engine", "name"), ENGINE_FILES)
def test_every_cypher_file_runs(engine: str, name: str, request: pytest.FixtureRequest) -> None:
    """Each statement parses and executes on FalkorDB and on Neo4j.

    FalkorDB cannot run ``schema/neo4j_constraints`` (see the next test); Neo4j runs every
    file, ``schema/falkordb_indexes`` included (its plain indexes are valid Neo4j DDL; the
    fixture drops them again).
    """
    store_uri = request.getfixturevalue(f"{engine}_uri")
    text = (cypher_dir() / f"{name}.cypher").read_text()
    names = {k: v for k, v in PLACEHOLDERS.items() if f"__{k}__" in text}
    with open_store(store_uri) as store:
        load_graph(store, small_graph())
        found = statements(name, **names)
        assert found, f"{name} holds no statement"
        for stmt in found:
            wanted = set(PARAM.findall(stmt))
            assert wanted <= set(PARAMS), f"{name}: add sample values for {wanted - set(PARAMS)}"
            # raises StoreError on anything the engine rejects
            store.run(stmt, {k: PARAMS[k] for k in wanted})


def test_neo4j_only_file_is_refused_by_falkordb(falkordb_uri: str) -> None:
    """The exclusion above is needed: FalkorDB really cannot run Neo4j constraint DDL."""
    with open_store(falkordb_uri) as store, pytest.raises(StoreError):
        store.run(statements("schema/neo4j_constraints")[0])


def test_placeholders_cover_every_file() -> None:
    assert "schema/neo4j_constraints" in cypher_files()
    for name in cypher_files():
        text = (cypher_dir() / f"{name}.cypher").read_text()
        assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDERS), name


def test_interrupted_write_back_is_visible_and_rerun_converges(falkordb_uri: str) -> None:
    """A write-back that stops midway leaves completed=false; a re-run finishes it."""
    with open_store(falkordb_uri) as store:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r1", run_meta={}, **run_one())
        reference = dump(store)

    class FailingStore:
        """Passes statements through until the Ring nodes are written, then fails."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.engine = inner, inner.engine

        def run(self, query: str, params: Any = None) -> Any:
            return self.inner.run(query, params)

        def write_batches(self, query: str, rows: Any, batch_size: int = 10_000, **kw: Any) -> Any:
            if "MERGE (g:Ring" in query:
                raise StoreError("connection lost (simulated)")
            return self.inner.write_batches(query, rows, batch_size, **kw)

    uri2 = falkordb_uri + "_b"
    with open_store(uri2) as store:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r0", run_meta={}, **run_two())
        with pytest.raises(StoreError, match=r"stopped at step 'Community and Ring nodes'.*again"):
            write_back(FailingStore(store), run_id="r1", run_meta={}, **run_one())
        run = store.run("MATCH (r:GraphProfileRun {run_id: 'r1'}) RETURN r.completed AS c")
        assert run["c"].tolist() == [False]
        write_back(store, run_id="r1", run_meta={}, **run_one())
        after = dump(store)
    without_runs = [n for n in after["nodes"] if "GraphProfileRun" not in n]
    assert without_runs == [n for n in reference["nodes"] if "GraphProfileRun" not in n]
    assert after["relationships"] == reference["relationships"]


def test_load_of_missing_end_nodes_is_counted(falkordb_uri: str) -> None:
    graph = small_graph()
    graph.edges["TRANSFER"].loc[0, "to_account"] = "nope"
    with open_store(falkordb_uri) as store:
        summary = load_graph(store, graph)
    assert summary["tables"]["TRANSFER"] == {
        **summary["tables"]["TRANSFER"],
        "rows": 4,
        "written": 3,
    }


def test_statement_held_longer_than_the_connect_timeout_completes(
    crashable_falkordb: FalkorDBServer,
) -> None:
    """``connect_timeout`` bounds the connection check only; statements get ``query_timeout``.

    A busy server (a loaded machine, an fsync per write) may take longer than the connect
    timeout to answer a schema statement or a batch; that is not a lost connection. The
    server is made to hold every reply for 2 s (``CLIENT PAUSE``), 4x the connect timeout.
    """
    uri = parse_store_uri(f"{crashable_falkordb.uri}/slow")
    with FalkorDBStore(uri, connect_timeout=0.5) as store:
        pauser = redis.Redis(host="127.0.0.1", port=crashable_falkordb.port)
        try:
            pauser.execute_command("CLIENT", "PAUSE", "2000", "ALL")
        finally:
            pauser.close()
        apply_schema(store)
        load_graph(store, small_graph())
        assert count(store, "MATCH (c:Customer) RETURN count(c)") == len(
            small_graph().nodes["customer"]
        )
