"""Graph database gateway: one :class:`Store` protocol, a Neo4j and a FalkorDB store.

Every statement comes from ``cypher/``; only :mod:`.neo4j_store` and
:mod:`.falkordb_store` import a driver (lazily, when a store is opened).
"""

from __future__ import annotations

from graphprofile.errors import StoreError
from graphprofile.store.base import Store, StoreURI, parse_store_uri, validate_name
from graphprofile.store.load import load_graph
from graphprofile.store.read import read_graph
from graphprofile.store.schema import apply_schema
from graphprofile.store.writeback import write_back


def open_store(uri: str | StoreURI) -> Store:
    """Connect to the database a store URI names and check its version.

    Parameters
    ----------
    uri : str or StoreURI
        ``neo4j://host:7687[/database]``, ``neo4j+s://``, ``bolt://``, ``bolt+s://`` or
        ``falkordb://host:6379/graph``. Credentials come from ``NEO4J_USER`` /
        ``NEO4J_PASSWORD`` (``FALKORDB_PASSWORD``), never from the URI.

    Returns
    -------
    Store
        A :class:`~graphprofile.store.neo4j_store.Neo4jStore` or
        :class:`~graphprofile.store.falkordb_store.FalkorDBStore`; close it when done (it
        is a context manager).

    Raises
    ------
    StoreError
        Bad URI, unreachable server, refused credentials, or a server too old.
    """
    parsed = uri if isinstance(uri, StoreURI) else parse_store_uri(uri)
    if parsed.engine == "neo4j":
        from graphprofile.store.neo4j_store import Neo4jStore

        return Neo4jStore(parsed)
    from graphprofile.store.falkordb_store import FalkorDBStore

    return FalkorDBStore(parsed)


__all__ = [
    "Store",
    "StoreError",
    "StoreURI",
    "apply_schema",
    "load_graph",
    "open_store",
    "parse_store_uri",
    "read_graph",
    "validate_name",
    "write_back",
]
