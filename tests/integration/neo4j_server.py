"""The Neo4j test server (``scripts/neo4j-test-server.sh``) as a test fixture helper.

One real Neo4j 5.26 (APOC, GDS) per test session, started from Maven Central artefacts in
a temporary directory, or the server ``NEO4J_URI`` names when that is set (with
``NEO4J_USER``/``NEO4J_PASSWORD``). Neo4j community has one user database, so tests share
it and :func:`wipe` empties it before each test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j-test-server.sh"


class Neo4jServer:
    """A Neo4j server for the tests: managed (started here, may be killed) or external."""

    def __init__(self, state: Path | None, env: dict[str, str]) -> None:
        self.state = state
        self.env = env

    @property
    def managed(self) -> bool:
        """Whether this session started the server (and so may kill and restart it)."""
        return self.state is not None

    @property
    def uri(self) -> str:
        return self.env["NEO4J_URI"]

    @property
    def password(self) -> str:
        return self.env.get("NEO4J_PASSWORD", "")

    @classmethod
    def external(cls) -> Neo4jServer:
        keys = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD")
        return cls(None, {k: os.environ[k] for k in keys if os.environ.get(k)})

    @classmethod
    def start_managed(cls, state: Path) -> Neo4jServer:
        server = cls(state, {})
        server.start()
        return server

    def _script(self, *args: str, cwd: Path | None = None) -> str:
        assert self.state is not None, "an external server cannot be started or stopped"
        env = {**os.environ, "NEO4J_TEST_DIR": str(self.state)}
        env.pop("NEO4J_PASSWORD", None)  # the script keeps the password it generated
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"neo4j-test-server.sh {args[0]} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def admin(self, *args: str, cwd: Path) -> str:
        """Run neo4j-admin (same Maven artefacts) on the stopped server's data."""
        return self._script("admin", *args, cwd=cwd)

    def start(self) -> None:
        """Start (or restart after :meth:`kill`, same port and data) and wait for Bolt."""
        self._script("start")
        assert self.state is not None
        lines = (self.state / "env").read_text().splitlines()
        self.env = dict(line.split("=", 1) for line in lines if "=" in line)

    def kill(self) -> None:
        """kill -9 the server JVM, as a crash would."""
        self._script("kill")

    def stop(self) -> None:
        if self.state is not None:
            self._script("stop")


def tools_missing() -> str | None:
    """Why the managed server cannot start here (no java or mvn), else None."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: no Neo4j test server (needs Java 17 and Maven)"
    return None


def wipe(store: Any) -> None:
    """Empty the database: every node and relationship (in pages), constraint and index.

    Afterwards the database is as fresh as a new FalkorDB graph, so every test applies the
    schema it needs (and may run ``falkordb_indexes.cypher``, which creates plain indexes
    that would clash with the constraints of ``neo4j_constraints.cypher``).
    """
    while int(
        store.run("MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n").iloc[0, 0]
    ):
        pass
    for name in store.run("SHOW CONSTRAINTS YIELD name RETURN name")["name"]:
        store.run(f"DROP CONSTRAINT `{name}`")
    indexes = store.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name")
    for name in indexes["name"]:
        store.run(f"DROP INDEX `{name}`")
