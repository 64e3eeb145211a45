"""Gateway to Neo4j Graph Data Science: projections, algorithm streams and clean-up.

The in-database engine (:mod:`graphprofile.analysis.gds_engine`) calls these methods; each
runs one statement of ``cypher/gds/`` through the :class:`~graphprofile.store.base.Store`
(so only the store classes import a driver) and returns a frame. Every projection this
gateway creates is named ``gp_<run>_<what>`` and dropped by :meth:`GdsGateway.close`, also
after a failure; a run that was killed before it could drop its projections leaves them
for :meth:`GdsGateway.drop_leftovers` at the start of the next run.

Configuration maps are parameters: GDS option names and values never enter statement text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.errors import ConfigError, StoreError
from graphprofile.store.base import Store
from graphprofile.store.cypher import statement

#: Prefix of every in-memory graph graphprofile projects (and may drop as a leftover).
GRAPH_PREFIX = "gp_"
#: GDS community edition runs algorithms on at most this many threads.
MAX_CONCURRENCY = 4
#: Layer codes used by the ``cypher/gds`` statements.
LAYER_CODES = {1: "devices", 2: "identifiers", 3: "counterparties"}
ITEM_KIND = {"devices": "device", "counterparties": "counterparty"}
#: Names inside the projections (labels and relationship types exist in memory only).
CUSTOMER = "Customer"
ANCHOR = "GpAnchor"
REL = "REL"
SEED = "SEED"
MONEY = "TRANSFER"
SHARES = "SHARES"
#: Relationship weight property of the customer graph; community property after Leiden.
WEIGHT = "weight"
COMMUNITY = "gp_community"

#: ``gds.debug.sysInfo`` keys read for the heap check (the open-source edition has no
#: ``gds.systemMonitor``); ``availableHeapInBytes`` is what GDS's own memory guard uses.
SYSINFO = {
    "available": "availableHeapInBytes",
    "max": "heapMaxInBytes",
    "total": "heapTotalInBytes",
    "free": "heapFreeInBytes",
}

_NO_GDS = re.compile(r"gds\.\w+|Unknown function|no procedure|not found", re.IGNORECASE)
_MEMORY = re.compile(r"memory|heap", re.IGNORECASE)


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class GdsGateway:
    """Graph Data Science procedures on an open Neo4j store.

    Parameters
    ----------
    store : Store
        An open Neo4j store (FalkorDB has no GDS).
    run_id : str
        Run identifier; projections are named ``gp_<run_id>_<what>``.
    concurrency : int, default 4
        Threads for GDS projections and integer-valued algorithms (1..4; the community
        edition's cap). PageRank, betweenness, Leiden and shortest paths always run on one
        thread so that repeated runs are bit-for-bit identical.
    heap_limit : int, optional
        Refuse to project when GDS's estimate exceeds this many bytes (default: the
        server's free heap).

    Raises
    ------
    ConfigError
        Concurrency outside 1..4.
    StoreError
        Not a Neo4j store, or GDS is not installed or not allowed.
    """

    def __init__(
        self,
        store: Store,
        *,
        run_id: str,
        concurrency: int = MAX_CONCURRENCY,
        heap_limit: int | None = None,
    ) -> None:
        if not 1 <= int(concurrency) <= MAX_CONCURRENCY:
            raise ConfigError(
                f"GDS concurrency must be between 1 and {MAX_CONCURRENCY} (the community "
                f"edition's cap), not {concurrency}"
            )
        if getattr(store, "engine", None) != "neo4j":
            raise StoreError(
                "--engine gds needs a Neo4j store with Graph Data Science (neo4j:// or "
                "bolt:// URI); use --engine embedded with this store"
            )
        self.store = store
        self.concurrency = int(concurrency)
        self.heap_limit = heap_limit
        self.database = str(getattr(store, "database", "neo4j"))
        self.prefix = GRAPH_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", run_id) + "_"
        self.created: list[str] = []
        self.version = self._version()

    # -- lifecycle -----------------------------------------------------------------------

    def _version(self) -> str:
        try:
            frame = self.store.run(statement("gds/version"))
        except StoreError as exc:
            if _NO_GDS.search(str(exc)):
                info = self.store.server_info()
                raise StoreError(
                    f"Neo4j at {info.get('address', '?')} has no Graph Data Science library "
                    "(gds.version() is unknown): install the GDS plugin matching the server "
                    "and allow it with dbms.security.procedures.unrestricted=gds.*, or use "
                    "--engine embedded"
                ) from None
            raise
        return str(frame["version"].iloc[0])

    def graph_names(self, prefix: str = GRAPH_PREFIX) -> list[str]:
        """Names of this database's in-memory graphs starting with ``prefix``."""
        frame = self.store.run(
            statement("gds/graphs"), {"prefix": prefix, "database": self.database}
        )
        return [str(g) for g in frame["graph"]] if len(frame) else []

    def drop_leftovers(self) -> list[str]:
        """Drop ``gp_`` graphs left by runs that did not finish; return their names."""
        names = self.graph_names()
        for name in names:
            self.drop(name)
        return names

    def drop(self, name: str) -> None:
        """Drop one in-memory graph (no error when it is gone)."""
        self.store.run(statement("gds/drop"), {"graph": name})

    def close(self) -> list[str]:
        """Drop every graph this gateway projected; return the names dropped."""
        dropped = []
        for name in reversed(self.created):
            self.drop(name)
            dropped.append(name)
        self.created.clear()
        return dropped

    def __enter__(self) -> GdsGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- projections ---------------------------------------------------------------------

    def check_memory(self, *, nodes: int, relationships: int) -> dict[str, Any]:
        """GDS's estimate for a graph of this size against the heap; raise when short.

        Raises
        ------
        StoreError
            The estimate's upper bound exceeds the free heap (or ``heap_limit``); the
            message gives both figures and the setting to raise.
        """
        frame = self.store.run(
            statement("gds/memory"),
            {
                "node_projection": "*",
                "relationship_projection": {REL: {"type": "*", "properties": {}}},
                "nodes": int(nodes),
                "relationships": int(relationships),
                "keys": SYSINFO,
            },
        )
        row = frame.iloc[0]
        free = int(row["free_heap"])
        limit = free if self.heap_limit is None else min(free, int(self.heap_limit))
        need = int(row["bytes_max"])
        out = {
            "estimate": str(row["required"]),
            "bytes_max": need,
            "free_heap": free,
            "max_heap": int(row["max_heap"]),
        }
        if need > limit:
            raise StoreError(
                f"not enough heap on Neo4j for the GDS projection: GDS estimates "
                f"{row['required']} for {nodes:,} customers and up to {relationships:,} "
                f"relationships, and {_bytes(limit)} is available; raise "
                "server.memory.heap.max_size in neo4j.conf (dbms.memory.heap.max_size before "
                "5.0), or use --engine embedded"
            )
        return out

    def graph_counts(self) -> dict[str, dict[str, int]]:
        """Nodes per canonical label and relationships per type in the database."""
        from graphprofile.frames import EDGE_ENDS
        from graphprofile.store.load import NODE_LABELS

        nodes = {
            table: int(self.store.run(statement("read/count_nodes", LABEL=label)).iloc[0, 0])
            for table, label in NODE_LABELS.items()
        }
        edges = {
            rel: int(self.store.run(statement("read/count_relationships", TYPE=rel)).iloc[0, 0])
            for rel in EDGE_ENDS
        }
        return {"nodes": nodes, "edges": edges}

    def heap(self) -> dict[str, int]:
        """Server heap in use now and the bytes held by this run's in-memory graphs."""
        row = self.store.run(statement("gds/heap"), {"prefix": self.prefix, "keys": SYSINFO})
        row = row.iloc[0]
        return {k: int(row[k] or 0) for k in ("used_heap", "max_heap", "graph_bytes")}

    def project(self, what: str, query: str, params: Mapping[str, Any]) -> dict[str, int]:
        """Run projection ``cypher/gds/<query>`` as graph ``gp_<run>_<what>``."""
        name = self.prefix + what
        self.created.append(name)  # dropped by close() even when the projection fails
        try:
            frame = self.store.run(
                statement(f"gds/{query}"),
                {"graph": name, "concurrency": self.concurrency, **params},
            )
        except StoreError as exc:
            if _MEMORY.search(str(exc)):
                raise StoreError(
                    f"GDS ran out of memory projecting {what}: {exc}; raise "
                    "server.memory.heap.max_size or use --engine embedded"
                ) from None
            raise
        if len(frame) == 0 or frame["graph"].iloc[0] is None:
            return {"nodes": 0, "relationships": 0}
        return {
            "nodes": int(frame["nodes"].iloc[0]),
            "relationships": int(frame["relationships"].iloc[0]),
        }

    def name(self, what: str) -> str:
        """Full in-memory graph name of projection ``what``."""
        return self.prefix + what

    # -- statements ----------------------------------------------------------------------

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run ``cypher/gds/<name>``; a GDS memory refusal becomes a clear error."""
        try:
            return self.store.run(statement(f"gds/{name}"), dict(params or {}))
        except StoreError as exc:
            if _MEMORY.search(str(exc)) and "gds." in str(exc):
                raise StoreError(
                    f"GDS refused {name} for lack of heap: {exc}; raise "
                    "server.memory.heap.max_size or use --engine embedded"
                ) from None
            raise

    def node_values(
        self, name: str, graph: str, config: Mapping[str, Any] | None = None, **params: Any
    ) -> pd.DataFrame:
        """``customer_id, value`` from an algorithm stream on ``graph``."""
        extra = {"config": dict(config)} if config is not None else {}
        return self.query(name, {"graph": self.name(graph), **extra, **params})

    def pages(self, name: str, *, page_size: int, **params: Any) -> Iterator[pd.DataFrame]:
        """Keyset pages of ``cypher/gds/<name>`` (``key`` column, ``$after``/``$limit``).

        Each statement pages over its driving nodes, so a page holds at most ``page_size``
        of them; the caller turns each page into arrays before asking for the next.
        """
        after: Any = None
        while True:
            page = self.query(name, {"after": after, "limit": int(page_size), **params})
            if page.empty:
                return
            yield page
            keys = page["key"].dropna()
            if len(keys) == 0:
                return
            last = keys.iloc[-1]
            if len(pd.unique(keys)) < page_size:
                return
            after = last


def hub_thresholds(
    gw: GdsGateway, *, percentile: float, floor: int, fixed: int | None
) -> dict[str, int]:
    """``K`` per layer, as :func:`graphprofile.analysis.projection.project` sets it.

    The percentile (linear interpolation, as NumPy's default) of customers per item over
    items shared by two or more customers, rounded up, at least ``floor``; ``fixed`` when
    given.
    """
    if fixed is not None:
        return {layer: int(fixed) for layer in LAYER_CODES.values()}
    stats = gw.query("hub_stats", {"percentile": float(percentile) / 100.0})
    out = {}
    for layer, pct in zip(stats["layer"], stats["pct"], strict=True):
        k = floor if pct is None or pd.isna(pct) else max(floor, int(np.ceil(float(pct))))
        out[LAYER_CODES[int(layer)]] = int(k)
    return {layer: out.get(layer, int(floor)) for layer in LAYER_CODES.values()}
