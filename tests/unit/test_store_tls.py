"""TLS store URIs configure encrypted drivers; credentials stay out of reprs and errors.

No server is needed: the Neo4j driver is built without connecting (the connection check is
replaced), and the FalkorDB client is replaced by a recorder that refuses to connect.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from graphprofile.errors import StoreError
from graphprofile.store import open_store, parse_store_uri
from graphprofile.store.neo4j_store import Neo4jStore

PLANTED = "Pl4nted-TLS-S3cret-91ab"


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Neo4jStore, "_connect", lambda self, user: None)
    monkeypatch.setenv("NEO4J_USER", "analyst")
    monkeypatch.setenv("NEO4J_PASSWORD", PLANTED)


@pytest.mark.parametrize(
    ("uri", "encrypted", "trust", "routing"),
    [
        ("bolt+s://db.example.com:7687", True, "TrustSystemCAs", False),
        ("neo4j+s://db.example.com", True, "TrustSystemCAs", True),
        ("neo4j+ssc://db.example.com:7687/fraud", True, "TrustAll", True),
        ("bolt+ssc://db.example.com", True, "TrustAll", False),
        ("bolt://db.example.com:7687", False, None, False),
        ("neo4j://db.example.com:7687", False, None, True),
    ],
)
def test_tls_uris_configure_the_driver(
    no_connect: None, uri: str, encrypted: bool, trust: str | None, routing: bool
) -> None:
    import neo4j

    store = Neo4jStore(parse_store_uri(uri))
    try:
        driver = store._driver
        assert driver.encrypted is encrypted
        assert isinstance(driver, neo4j.Neo4jDriver) is routing
        config = driver._pool.pool_config
        if encrypted:
            assert type(config.trusted_certificates).__name__ == trust
            assert config.get_ssl_context() is not None
        else:
            assert config.get_ssl_context() is None
        assert store.database == (parse_store_uri(uri).database or "neo4j")
        assert PLANTED not in repr(store) and PLANTED not in repr(driver)
    finally:
        store.close()


def test_falkordbs_uri_asks_for_tls_and_errors_hide_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import falkordb
    import redis

    calls: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(kwargs)
            raise redis.exceptions.ConnectionError("Error 111 connecting. Connection refused.")

    monkeypatch.setattr(falkordb, "FalkorDB", Recorder)
    monkeypatch.setenv("FALKORDB_PASSWORD", PLANTED)
    with pytest.raises(StoreError, match="cannot reach a FalkorDB server at falkordbs://h:6390/g"):
        open_store("falkordbs://h:6390/g")
    assert calls[0]["ssl"] is True and calls[0]["password"] == PLANTED
    with pytest.raises(StoreError) as info:
        open_store("falkordb://h:6390/g")
    assert calls[1]["ssl"] is False
    assert PLANTED not in "".join(traceback.format_exception(info.value))


def test_credentials_in_the_uri_are_refused_and_redacted() -> None:
    with pytest.raises(StoreError) as info:
        parse_store_uri(f"neo4j+s://neo4j:{PLANTED}@db.example.com:7687")
    assert "NEO4J_PASSWORD" in str(info.value)
    assert PLANTED not in str(info.value)
