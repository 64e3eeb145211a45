"""Apply the engine's schema file (constraints on Neo4j, indexes on FalkorDB)."""

from __future__ import annotations

from graphprofile.errors import StoreError
from graphprofile.store.base import Store
from graphprofile.store.cypher import statements

#: Schema file per engine, relative to ``cypher/``.
SCHEMA_FILES = {
    "neo4j": "schema/neo4j_constraints",
    "falkordb": "schema/falkordb_indexes",
}


def apply_schema(store: Store) -> dict[str, int]:
    """Create the constraints/indexes every ``MERGE`` relies on. Idempotent.

    Parameters
    ----------
    store : Store
        An open store; its ``engine`` picks the schema file.

    Returns
    -------
    dict
        ``{"statements": n, "created": k, "existing": n - k}`` (on Neo4j ``IF NOT EXISTS``
        hides the difference: every statement counts as created).

    Raises
    ------
    StoreError
        The server refused a statement for another reason than "already exists".
    """
    try:
        name = SCHEMA_FILES[store.engine]
    except KeyError:
        raise StoreError(f"no schema file for engine {store.engine!r}") from None
    found = statements(name)
    existing = 0
    for stmt in found:
        try:
            store.run(stmt)
        except StoreError as exc:
            if "already indexed" in str(exc) or "already exists" in str(exc):
                existing += 1
                continue
            raise
    return {"statements": len(found), "created": len(found) - existing, "existing": existing}
