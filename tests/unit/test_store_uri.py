"""Store URIs are parsed without the network, and credentials never come from them."""

from __future__ import annotations

import socket

import pytest

from graphprofile.errors import StoreError
from graphprofile.store import open_store, parse_store_uri


@pytest.mark.parametrize(
    ("uri", "engine", "host", "port", "database", "tls"),
    [
        ("neo4j://localhost:7687", "neo4j", "localhost", 7687, None, False),
        ("neo4j+s://db.example.com", "neo4j", "db.example.com", None, None, True),
        ("bolt://10.0.0.5:7687/fraud", "neo4j", "10.0.0.5", 7687, "fraud", False),
        ("bolt+s://db.example.com:7687/", "neo4j", "db.example.com", 7687, None, True),
        ("falkordb://127.0.0.1:6380/bank", "falkordb", "127.0.0.1", 6380, "bank", False),
        ("falkordb://localhost", "falkordb", "localhost", 6379, "graphprofile", False),
        ("  NEO4J://Host:7687  ", "neo4j", "host", 7687, None, False),
    ],
)
def test_valid_uris(
    uri: str, engine: str, host: str, port: int | None, database: str | None, tls: bool
) -> None:
    parsed = parse_store_uri(uri)
    assert (parsed.engine, parsed.host, parsed.port, parsed.database, parsed.tls) == (
        engine,
        host,
        port,
        database,
        tls,
    )


def test_address_is_printable() -> None:
    assert parse_store_uri("falkordb://h:1/g").address == "falkordb://h:1/g"
    assert parse_store_uri("bolt+s://h").address == "bolt+s://h"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("localhost:7687", "has no scheme"),
        ("http://localhost:7474", "unknown store URI scheme 'http'"),
        ("redis://localhost:6379", "unknown store URI scheme 'redis'"),
        ("neo4j://:7687", "names no host"),
        ("neo4j://host:notaport", "invalid port"),
        ("neo4j://host:7687/a/b", "one database/graph name"),
        ("falkordb://host:6379/bad name", "may only hold"),
        ("neo4j://host:7687?database=x", "query string"),
        ("", "has no scheme"),
    ],
)
def test_invalid_uris(uri: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        parse_store_uri(uri)


def test_credentials_in_the_uri_are_refused_and_not_echoed() -> None:
    with pytest.raises(StoreError) as info:
        parse_store_uri("neo4j://alice:s3cr3t-planted@db:7687")
    text = str(info.value)
    assert "NEO4J_PASSWORD" in text
    assert "s3cr3t-planted" not in text and "alice" not in text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["neo4j", "bolt", "falkordb"])
def test_unreachable_server_fails_fast_without_leaking_the_password(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEO4J_USER", "investigator")
    monkeypatch.setenv("NEO4J_PASSWORD", "planted-pw-123")
    monkeypatch.setenv("FALKORDB_PASSWORD", "planted-pw-123")
    port = _closed_port()
    with pytest.raises(StoreError) as info:
        open_store(f"{scheme}://127.0.0.1:{port}")
    text = str(info.value)
    assert text.startswith(f"cannot reach a {'FalkorDB' if scheme == 'falkordb' else 'Neo4j'}")
    assert f"127.0.0.1:{port}" in text
    assert "planted-pw-123" not in text and "planted-pw-123" not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
