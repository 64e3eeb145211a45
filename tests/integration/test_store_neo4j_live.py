"""The store suite against a real Neo4j 5.26 (the ``neo4j_server`` fixture).

By default the session starts the test server from Maven Central artefacts
(``scripts/neo4j-test-server.sh``). To run against another server instead::

    NEO4J_URI=neo4j://localhost:7687 NEO4J_USER=neo4j NEO4J_PASSWORD=... pytest tests/integration

The tests wipe every node of the database they use: point them at a scratch database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from neo4j_server import wipe
from store_suite import StoreSuite

from graphprofile.store import open_store


class TestNeo4jLive(StoreSuite):
    @pytest.fixture
    def store(self, neo4j_uri: str) -> Iterator[Any]:
        store = open_store(neo4j_uri)
        try:
            info = store.server_info()
            assert info["engine"] == "neo4j" and int(info["version"].split(".")[0]) >= 5
            yield store
            wipe(store)
        finally:
            store.close()


def test_server_has_apoc_and_gds(neo4j_uri: str) -> None:
    """The test server is Neo4j 5.26 with the APOC and GDS procedures loaded."""
    with open_store(neo4j_uri) as store:
        assert store.server_info()["version"].startswith("5.")
        gds = store.run("CALL gds.version() YIELD gdsVersion RETURN gdsVersion AS v")
        apoc = store.run("RETURN apoc.version() AS v")
        # a GDS algorithm really runs (not only the version procedure)
        store.run("CREATE (:Probe {id: 1})-[:R]->(:Probe {id: 2})-[:R]->(:Probe {id: 1})")
        ranks = store.run(
            "CALL gds.graph.project('gp_probe', 'Probe', 'R') YIELD graphName "
            "CALL gds.pageRank.stream(graphName) YIELD nodeId, score "
            "WITH graphName, count(*) AS n, sum(score) AS total "
            "CALL gds.graph.drop(graphName) YIELD graphName AS dropped "
            "RETURN n, total"
        )
    assert gds["v"].iloc[0].startswith("2.13.")
    assert apoc["v"].iloc[0].startswith("5.26.")
    assert int(ranks["n"].iloc[0]) == 3 and float(ranks["total"].iloc[0]) > 0


def test_server_notifications_stay_quiet(
    neo4j_uri: str, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    """Hints such as "property `labels` does not exist" (a first write-back reads labels
    and properties no node has yet) are not printed to users, even without --quiet."""
    caplog.set_level("DEBUG", logger="neo4j")
    with open_store(neo4j_uri) as store:
        got = store.run("MATCH (c:GpNoSuchLabel) RETURN c.gp_no_such_property AS p")
    assert len(got) == 0
    said = [r for r in caplog.records if r.name.startswith("neo4j.notifications")]
    assert said == []
    assert [w for w in recwarn if "notification" in type(w.message).__name__.lower()] == []
