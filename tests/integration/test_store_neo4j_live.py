"""The store suite against a live Neo4j 5, when ``NEO4J_URI`` is set.

Start one with ``docker compose up -d`` (see docs/NEO4J.md), then::

    NEO4J_URI=neo4j://localhost:7687 NEO4J_USER=neo4j NEO4J_PASSWORD=... pytest tests/integration

The tests wipe every node of the database they use: point them at a scratch database
(``NEO4J_URI=neo4j://host:7687/scratch`` on Enterprise, or a throwaway container). Without
``NEO4J_URI`` the whole module is skipped with a visible reason (also under CI=true: CI has
no Neo4j server; the same checks run there against FalkorDB).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from store_suite import StoreSuite

from graphprofile.store import open_store

NEO4J_URI = os.environ.get("NEO4J_URI")

pytestmark = pytest.mark.skipif(
    not NEO4J_URI,
    reason="NEO4J_URI is not set: no live Neo4j to test (docker compose up -d, then set "
    "NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD)",
)


def _wipe(store: Any) -> None:
    while int(
        store.run("MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n").iloc[0, 0]
    ):
        pass


class TestNeo4jLive(StoreSuite):
    @pytest.fixture
    def store(self) -> Iterator[Any]:
        assert NEO4J_URI
        store = open_store(NEO4J_URI)
        try:
            info = store.server_info()
            assert info["engine"] == "neo4j" and int(info["version"].split(".")[0]) >= 5
            _wipe(store)
            yield store
            _wipe(store)
        finally:
            store.close()
