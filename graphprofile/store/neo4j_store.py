"""The Neo4j store: the official ``neo4j`` driver behind the :class:`Store` protocol."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from graphprofile.errors import StoreError
from graphprofile.store.base import BatchStore, Rows, StoreURI, as_rows, batched, head
from graphprofile.store.cypher import statement

#: Oldest Neo4j major version supported (``IF NOT EXISTS`` constraints, ``REQUIRE`` syntax).
MIN_NEO4J_MAJOR = 5


class Neo4jStore(BatchStore):
    """A Neo4j database reached through the official driver.

    Credentials come only from ``NEO4J_USER`` (default ``neo4j``) and ``NEO4J_PASSWORD``
    (unset: no authentication). Writes run in managed ``execute_write`` transactions, which
    the driver retries on transient errors (deadlocks, leader switches), so every write
    statement graphprofile sends is idempotent. Every call names the database explicitly.

    Parameters
    ----------
    uri : StoreURI
        Parsed store URI (``neo4j``, ``neo4j+s``, ``bolt``, ``bolt+s``...).
    connection_timeout : float, default 5.0
        Seconds to wait for a connection before failing.
    max_retry_time : float, default 30.0
        Seconds the driver keeps retrying a transaction that failed transiently.

    Raises
    ------
    StoreError
        Server unreachable, not a Neo4j server, wrong credentials, or older than Neo4j 5.
    """

    engine = "neo4j"

    def __init__(
        self, uri: StoreURI, *, connection_timeout: float = 5.0, max_retry_time: float = 30.0
    ) -> None:
        import neo4j  # the only module besides falkordb_store that imports a driver

        self._neo4j = neo4j
        self.uri = uri
        self.database = uri.database or "neo4j"
        user = os.environ.get("NEO4J_USER") or "neo4j"
        password = os.environ.get("NEO4J_PASSWORD")
        auth = (user, password) if password else None
        target = f"{uri.scheme}://{uri.host}" + (f":{uri.port}" if uri.port else "")
        try:
            self._driver = neo4j.GraphDatabase.driver(
                target,
                auth=auth,
                connection_timeout=connection_timeout,
                max_transaction_retry_time=max_retry_time,
                connection_acquisition_timeout=connection_timeout,
                user_agent="graphprofile",
                # the server's hints (e.g. "property `labels` does not exist" before the
                # first write-back) are not the user's business; errors still raise
                notifications_min_severity="OFF",
            )
        except Exception as exc:  # driver configuration errors (bad scheme/port combos)
            raise StoreError(
                f"cannot configure a Neo4j connection to {uri.address}: {_first_line(exc)}"
            ) from None
        del password, auth
        self._info: dict[str, Any] = {}
        try:
            self._connect(user)
        except BaseException:
            self._driver.close()
            raise

    def _connect(self, user: str) -> None:
        exc_mod = self._neo4j.exceptions
        try:
            info = self._driver.get_server_info()  # opens a connection: auth, version
        except exc_mod.AuthError:
            raise StoreError(
                f"Neo4j at {self.uri.address} refused the credentials of user {user!r}; "
                "check NEO4J_USER and NEO4J_PASSWORD"
            ) from None
        except (exc_mod.ServiceUnavailable, exc_mod.DriverError, OSError) as exc:
            raise StoreError(
                f"cannot reach a Neo4j server at {self.uri.address}: {_first_line(exc)}; "
                "check the host, the port (Bolt is usually 7687) and that the server is up"
            ) from None
        except exc_mod.Neo4jError as exc:
            raise StoreError(
                f"Neo4j at {self.uri.address} refused the connection: {_first_line(exc)}"
            ) from None
        agent = info.agent or ""
        match = re.match(r"Neo4j/(\d+)\.(\d+)(?:\.(\d+))?", agent)
        if not match:
            raise StoreError(f"{self.uri.address} answered as {agent!r}, not as a Neo4j server")
        major = int(match.group(1))
        if major < MIN_NEO4J_MAJOR:
            raise StoreError(
                f"Neo4j at {self.uri.address} is version {agent.split('/')[1]}; "
                f"graphprofile needs Neo4j {MIN_NEO4J_MAJOR} or later"
            )
        try:
            self.run(statement("read/ping"))
        except StoreError as exc:
            raise StoreError(
                f"Neo4j at {self.uri.address} cannot use database {self.database!r}: {exc}"
            ) from None
        self._info = {
            "engine": "neo4j",
            "version": agent.split("/", 1)[1],
            "address": self.uri.address,
            "database": self.database,
            "tls": self.uri.tls,
            "protocol_version": ".".join(map(str, info.protocol_version)),
        }

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one statement in a managed write transaction and return its records.

        Parameters
        ----------
        query : str
            Cypher text (from ``cypher/``).
        params : mapping, optional
            Statement parameters (values only, already cleaned).

        Returns
        -------
        pandas.DataFrame
            One row per record, columns in the order the statement returns them.

        Raises
        ------
        StoreError
            The server refused the statement or the connection failed.
        """
        with self._session() as session:
            keys, values = self._call(session.execute_write, query, dict(params or {}))
        return pd.DataFrame(values, columns=keys)

    def _encode(
        self, rows: Rows, batch_size: int, params: dict[str, Any]
    ) -> tuple[int, Iterator[dict[str, Any]]]:
        """Parameters of each batch; an Arrow table becomes dicts per batch (``to_pylist``)."""
        if isinstance(rows, pa.Table):
            table = rows
            return table.num_rows, (
                {**params, "rows": table.slice(i, batch_size).to_pylist()}
                for i in range(0, table.num_rows, batch_size)
            )
        data = as_rows(rows)
        return len(data), ({**params, "rows": list(b)} for b in batched(data, batch_size))

    def _batch_session(self) -> Any:
        return self._session()

    def _execute(self, query: str, payload: Any, session: Any) -> pd.DataFrame:
        keys, values = self._call(session.execute_write, query, payload)
        return pd.DataFrame(values, columns=keys)

    def _session(self) -> Any:
        return self._driver.session(database=self.database)

    def _call(self, execute: Any, query: str, params: dict[str, Any]) -> tuple[list[str], list]:
        exc_mod = self._neo4j.exceptions

        def work(tx: Any) -> tuple[list[str], list]:
            result = tx.run(query, params)
            values = [list(record.values()) for record in result]
            return list(result.keys()), values

        try:
            return execute(work)
        except exc_mod.AuthError:
            raise StoreError(
                f"Neo4j at {self.uri.address} refused the credentials; "
                "check NEO4J_USER and NEO4J_PASSWORD"
            ) from None
        except exc_mod.Neo4jError as exc:
            raise StoreError(
                f"Neo4j at {self.uri.address} refused a statement "
                f"({getattr(exc, 'code', '')}): {_first_line(exc)}\n  statement: {head(query)}"
            ) from None
        except (exc_mod.DriverError, OSError) as exc:
            raise StoreError(
                f"lost the connection to Neo4j at {self.uri.address}: {_first_line(exc)}"
            ) from None
        except TypeError as exc:  # parameter the driver cannot serialise
            raise StoreError(f"a parameter cannot be sent to Neo4j: {exc}") from None

    def close(self) -> None:
        """Close the driver and its connection pool."""
        self._driver.close()


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "message", None) or exc).split()).rstrip(":;")
    return text or type(exc).__name__
