"""``graphprofile schema apply`` and ``graphprofile load`` against real FalkorDB and Neo4j."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import FalkorDBServer, RedisServer, free_port

from graphprofile.cli import main
from graphprofile.store import open_store

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "foreign"
MAPPING = ROOT / "loaders" / "example_foreign.toml"


def test_schema_apply_twice(store_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "apply", "--store", store_uri, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["schema", "apply", "--store", store_uri, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    engine = second["server"]["engine"]
    assert engine == store_uri.split(":")[0].replace("bolt", "neo4j")
    assert first["statements"] == second["statements"] == 9
    if engine == "falkordb":
        assert first["existing"] == 0 and second["existing"] == 9
        return
    # Neo4j: IF NOT EXISTS hides the difference; the database shows what exists.
    with open_store(store_uri) as store:
        constraints = store.run(
            "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
            "RETURN name, type, labelsOrTypes[0] AS label, properties[0] AS key ORDER BY name"
        )
        indexes = store.run(
            "SHOW INDEXES YIELD name, type, state, owningConstraint "
            "WHERE type <> 'LOOKUP' RETURN name, state, owningConstraint ORDER BY name"
        )
    assert len(constraints) == 8 and set(constraints["type"]) == {"UNIQUENESS"}
    assert dict(zip(constraints["label"], constraints["key"], strict=True)) == {
        "Customer": "customer_id",
        "Account": "account_id",
        "Device": "device_id",
        "Identifier": "identifier_id",
        "Counterparty": "counterparty_id",
        "Community": "community_id",
        "Ring": "ring_id",
        "GraphProfileRun": "run_id",
    }
    assert len(indexes) == 9 and set(indexes["state"]) == {"ONLINE"}
    assert indexes["owningConstraint"].isna().sum() == 1  # gp_customer_run


def test_load_twice_reports_rows_and_changes_nothing(
    store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["load", str(DATA), "--mapping", str(MAPPING), "--store", store_uri, "--json"]
    assert main([*args, "--batch-size", "2"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    for summary in (first, second):
        assert summary["nodes"] == 12 and summary["relationships"] == 12
        assert summary["tables"]["customer"]["written"] == 4
        assert summary["tables"]["TRANSFER"]["written"] == 3
    assert first["batch_size"] == 2 and second["batch_size"] == 10_000
    with open_store(store_uri) as store:
        assert int(store.run("MATCH (n) RETURN count(n)").iloc[0, 0]) == 12
        assert int(store.run("MATCH ()-[r]->() RETURN count(r)").iloc[0, 0]) == 12


def _fails_fast(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    started = time.monotonic()
    rc = main(args)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert rc == 2, err
    assert elapsed < 15, f"took {elapsed:.1f}s"
    assert err.startswith("Error: ") and "Traceback" not in err
    return " ".join(err.split())


def test_unreachable_host_fails_in_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    err = _fails_fast(["schema", "apply", "--store", f"falkordb://127.0.0.1:{port}/g"], capsys)
    assert f"cannot reach a FalkorDB server at falkordb://127.0.0.1:{port}/g" in err
    err = _fails_fast(
        ["load", str(DATA), "-m", str(MAPPING), "--store", f"bolt://127.0.0.1:{port}"], capsys
    )
    assert f"cannot reach a Neo4j server at bolt://127.0.0.1:{port}" in err


def test_non_graph_port_fails_in_seconds(
    falkordb_server: FalkorDBServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Bolt URI pointed at the Redis-protocol port: no Bolt handshake
    err = _fails_fast(
        ["schema", "apply", "--store", f"neo4j://127.0.0.1:{falkordb_server.port}"], capsys
    )
    assert "cannot reach a Neo4j server" in err
    # a plain TCP service that is not a database at all
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        err = _fails_fast(["schema", "apply", "--store", f"falkordb://127.0.0.1:{port}/g"], capsys)
    assert f"FalkorDB server at falkordb://127.0.0.1:{port}/g" in err


@pytest.fixture
def plain_redis(falkordb_server: FalkorDBServer, tmp_path: Path) -> Iterator[int]:
    """A Redis server without the FalkorDB module, with a password."""
    server = RedisServer(tmp_path / "redis", password="right-pw", binary=falkordb_server.binary)
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


def test_password_and_module_checks(
    plain_redis: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"falkordb://127.0.0.1:{plain_redis}/g"
    monkeypatch.delenv("FALKORDB_PASSWORD", raising=False)
    err = _fails_fast(["schema", "apply", "--store", uri], capsys)
    assert err == f"Error: FalkorDB at {uri} needs a password; set FALKORDB_PASSWORD"
    monkeypatch.setenv("FALKORDB_PASSWORD", "planted-wrong-pw")
    err = _fails_fast(["schema", "apply", "--store", uri], capsys)
    assert err == f"Error: FalkorDB at {uri} refused the password; check FALKORDB_PASSWORD"
    assert "planted-wrong-pw" not in err
    monkeypatch.setenv("FALKORDB_PASSWORD", "right-pw")
    err = _fails_fast(["schema", "apply", "--store", uri], capsys)
    assert f"Error: {uri} is a Redis server without the FalkorDB module" in err


def test_missing_store_option(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails_fast(["schema", "apply"], capsys)
    assert err == "Error: --store is required, e.g. --store neo4j://localhost:7687"


@pytest.mark.parametrize("scheme", ["bolt+s", "bolt+ssc", "neo4j+s", "neo4j+ssc"])
def test_tls_uri_to_a_server_without_tls_is_refused_cleanly(
    scheme: str, neo4j_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The test server speaks plain Bolt: a TLS URI fails in seconds with a clear message."""
    uri = neo4j_uri.replace("bolt://", f"{scheme}://")
    err = _fails_fast(["schema", "apply", "--store", uri], capsys)
    assert err.startswith(f"Error: cannot reach a Neo4j server at {uri}"), err
    assert "check the host, the port" in err
    with open_store(neo4j_uri) as store:  # the plain URI still works: nothing was broken
        assert store.server_info()["tls"] is False
