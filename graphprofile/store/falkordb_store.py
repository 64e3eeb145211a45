"""The FalkorDB store: the ``falkordb`` client behind the :class:`Store` protocol."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from graphprofile._redis_pool import set_reply_timeout
from graphprofile.errors import StoreError
from graphprofile.store.base import BatchStore, Rows, StoreURI, as_rows, batched, head
from graphprofile.store.rows import cypher_literals

#: Oldest FalkorDB module version supported (``MODULE LIST`` reports e.g. 41603 for 4.16.3).
MIN_FALKORDB_VERSION = (4, 0, 0)


class FalkorDBStore(BatchStore):
    """A FalkorDB graph reached through the ``falkordb`` client (Redis protocol).

    FalkorDB runs one write query at a time per graph, and each query is atomic, so a
    batch is committed whole or not at all. The password, if any, comes only from
    ``FALKORDB_PASSWORD``.

    Parameters
    ----------
    uri : StoreURI
        Parsed ``falkordb://host:port/graph`` URI.
    connect_timeout : float, default 5.0
        Seconds to wait for the TCP connection and the first reply.
    query_timeout : float, default 600.0
        Socket timeout for one statement (a batch or a read page).

    Raises
    ------
    StoreError
        Server unreachable, wrong password, not a FalkorDB server, or too old.
    """

    engine = "falkordb"

    def __init__(
        self, uri: StoreURI, *, connect_timeout: float = 5.0, query_timeout: float = 600.0
    ) -> None:
        import falkordb  # the only module besides neo4j_store that imports a driver
        import redis
        from falkordb.helpers import stringify_param_value

        self._redis_errors = redis.exceptions
        self._stringify = stringify_param_value
        self.uri = uri
        self.graph_name = uri.database or "graphprofile"
        try:
            self._db = falkordb.FalkorDB(
                host=uri.host,
                port=uri.port,
                password=os.environ.get("FALKORDB_PASSWORD") or None,
                socket_connect_timeout=connect_timeout,
                socket_timeout=connect_timeout,
                ssl=uri.tls,
            )
            self._info = self._check()
        except StoreError:
            raise
        except redis.exceptions.AuthenticationError:
            if not os.environ.get("FALKORDB_PASSWORD"):
                raise StoreError(
                    f"FalkorDB at {uri.address} needs a password; set FALKORDB_PASSWORD"
                ) from None
            raise StoreError(
                f"FalkorDB at {uri.address} refused the password; check FALKORDB_PASSWORD"
            ) from None
        except redis.exceptions.ResponseError as exc:
            if "NOAUTH" in str(exc) or "AUTH" in str(exc).upper():
                raise StoreError(
                    f"FalkorDB at {uri.address} needs a password; set FALKORDB_PASSWORD"
                ) from None
            raise StoreError(f"FalkorDB at {uri.address} refused: {_first_line(exc)}") from None
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreError(
                f"cannot reach a FalkorDB server at {uri.address}: {_first_line(exc)}; "
                "check the host, the port (usually 6379) and that the server is up"
            ) from None
        # Long statements are fine once connected: query_timeout, not connect_timeout.
        set_reply_timeout(self._db.connection.connection_pool, query_timeout)
        self._graph = self._db.select_graph(self.graph_name)

    def _check(self) -> dict[str, Any]:
        modules = self._db.connection.execute_command("MODULE", "LIST")
        version = None
        for entry in modules or []:
            fields = _pairs(entry)
            if str(fields.get("name", "")).lower() in ("graph", "falkordb"):
                version = int(fields.get("ver", 0))
        if version is None:
            raise StoreError(
                f"{self.uri.address} is a Redis server without the FalkorDB module; "
                "start it with --loadmodule falkordb.so or point --store at a FalkorDB server"
            )
        parts = (version // 10000, version // 100 % 100, version % 100)
        if parts < MIN_FALKORDB_VERSION:
            raise StoreError(
                f"FalkorDB at {self.uri.address} is version {'.'.join(map(str, parts))}; "
                f"graphprofile needs {'.'.join(map(str, MIN_FALKORDB_VERSION))} or later"
            )
        return {
            "engine": "falkordb",
            "version": ".".join(map(str, parts)),
            "address": self.uri.address,
            "database": self.graph_name,
            "tls": self.uri.tls,
        }

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one statement (atomic) and return its records.

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
        return self._query(query, dict(params) if params else None)

    def _query(self, query: str, params: dict[str, Any] | None, prefix: str = "") -> pd.DataFrame:
        try:
            result = self._graph.query(prefix + query, params)
        except self._redis_errors.ResponseError as exc:
            raise StoreError(
                f"FalkorDB at {self.uri.address} refused a statement: {_first_line(exc)}"
                f"\n  statement: {head(query)}"
            ) from None
        except (self._redis_errors.RedisError, OSError) as exc:
            raise StoreError(
                f"lost the connection to FalkorDB at {self.uri.address}: {_first_line(exc)}"
            ) from None
        except ValueError as exc:  # the client could not encode a parameter
            raise StoreError(f"a parameter cannot be sent to FalkorDB: {exc}") from None
        header = [h[1] if isinstance(h, list | tuple) else h for h in (result.header or [])]
        return pd.DataFrame(result.result_set or [], columns=header or None)

    def _encode(
        self, rows: Rows, batch_size: int, params: dict[str, Any]
    ) -> tuple[int, Iterator[tuple[str, dict[str, Any] | None]]]:
        """``(prefix, parameters)`` of each batch.

        An Arrow table (see :mod:`graphprofile.store.rows`) is encoded column-wise into
        Cypher map literals by Arrow kernels and sent pre-encoded as a ``CYPHER`` prefix,
        the fast path for loads.
        """
        if isinstance(rows, pa.Table):
            literals = cypher_literals(rows)
            extra = "CYPHER " + "".join(f"`{k}`={self._stringify(v)} " for k, v in params.items())
            return len(literals), (
                (extra + "`rows`=[" + ",".join(literals[i : i + batch_size]) + "] ", None)
                for i in range(0, len(literals), batch_size)
            )
        data = as_rows(rows)
        return len(data), (("", {**params, "rows": list(b)}) for b in batched(data, batch_size))

    def _execute(self, query: str, payload: Any, session: Any) -> pd.DataFrame:
        prefix, params = payload
        return self._query(query, params, prefix)

    def close(self) -> None:
        """Close the connection pool."""
        self._db.connection.close()


def _pairs(entry: Any) -> dict[str, Any]:
    if isinstance(entry, dict):
        return {_text(k): v for k, v in entry.items()}
    items = list(entry)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).rstrip(".:;")
    return text or type(exc).__name__
