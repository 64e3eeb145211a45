"""The store suite against a real FalkorDB (started by the ``falkordb_server`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from store_suite import StoreSuite

from graphprofile.store import open_store


class TestFalkorDB(StoreSuite):
    @pytest.fixture
    def store(self, falkordb_uri: str) -> Iterator[Any]:
        store = open_store(falkordb_uri)
        try:
            yield store
        finally:
            store.close()
