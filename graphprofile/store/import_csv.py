"""CSV files for ``neo4j-admin database import full``: the first load of a very large graph.

A transactional load (:func:`graphprofile.store.load_graph`) runs every row through Cypher
``MERGE``; the offline importer writes the store files directly and is much faster for a
first load into an empty database. :func:`export_import` writes one CSV per node label and
relationship type with the importer's typed headers, holding exactly the properties the
transactional load writes (same values, same ISO 8601 text timestamps, the same transaction
lists on ``TRANSFER``/``PAYS``), plus ``import.sh`` with the matching command.

Header format (Neo4j operations manual, "Import: CSV header format"): a node file starts
``customer_id:ID(Customer),...,:LABEL``; a relationship file
``:START_ID(Customer),:END_ID(Account),...,:TYPE``; other columns are ``name:type`` with
``type`` one of ``string`` (the default, written without a type), ``long``, ``double``,
``boolean`` or an array type (``string[]``, ``double[]``...) whose elements are separated by
:data:`ARRAY_DELIMITER`. Empty unquoted fields are missing properties; text is quoted.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graphprofile.errors import OutputError, StoreError
from graphprofile.frames import EDGE_ENDS, CanonicalGraph
from graphprofile.store.load import NODE_LABELS, prepare_rows

#: Separates the elements of array properties (``--array-delimiter`` of the importer).
ARRAY_DELIMITER = ";"
#: Database the generated command imports into (the community edition's only one).
DEFAULT_DATABASE = "neo4j"


def header_type(kind: pa.DataType) -> str:
    """The importer's type suffix for an Arrow type (``""`` for text, the default).

    Raises
    ------
    StoreError
        A type the importer cannot hold as a property (maps, nested lists).
    """
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        inner = header_type(kind.value_type)
        if inner.endswith("[]"):
            raise StoreError("nested lists cannot be imported as properties")
        return f"{inner or 'string'}[]"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ""
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "long"
    if pa.types.is_floating(kind):
        return "double"
    raise StoreError(f"cannot import values of Arrow type {kind} as properties")


def _array_text(arr: pa.Array, *, where: str) -> pa.Array:
    """A list column as delimited text (null stays null: no property)."""
    values = arr.values
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    if pa.types.is_string(values.type):
        clash = pc.any(pc.match_substring(text, ARRAY_DELIMITER)).as_py()
        if clash:
            raise StoreError(
                f"{where}: a list element contains the array delimiter {ARRAY_DELIMITER!r}; "
                "load this graph with graphprofile load instead"
            )
    lists = type(arr).from_arrays(arr.offsets, text, mask=arr.is_null())
    return pc.binary_join(lists, ARRAY_DELIMITER)


def _csv_table(rows: pa.Table, *, ends: list[tuple[str, str]], const: tuple[str, str]) -> pa.Table:
    """Flatten ``{ends..., props: {...}}`` rows into typed importer columns."""
    names: list[str] = []
    arrays: list[pa.Array] = []
    for column, header in ends:
        names.append(header)
        arrays.append(rows.column(column).combine_chunks())
    props = rows.column("props").combine_chunks()
    kind = props.type
    for i in range(kind.num_fields):
        field = kind.field(i)
        arr = props.field(i)
        if pa.types.is_null(field.type):  # every value missing: no property at all
            continue
        suffix = header_type(field.type)
        if suffix.endswith("[]"):
            arr = _array_text(arr, where=f"{const[1]}.{field.name}")
        names.append(f"{field.name}:{suffix}" if suffix else field.name)
        arrays.append(arr)
    names.append(const[0])
    arrays.append(pa.array([const[1]] * rows.num_rows, type=pa.string()))
    return pa.Table.from_arrays(arrays, names=names)


def export_import(
    graph: CanonicalGraph, out_dir: Path, *, database: str = DEFAULT_DATABASE
) -> dict[str, Any]:
    """Write the canonical graph as ``neo4j-admin database import full`` CSV files.

    Parameters
    ----------
    graph : CanonicalGraph
        The graph ``graphprofile load`` would write.
    out_dir : Path
        Output folder (created); holds ``nodes_<table>.csv``, ``relationships_<TYPE>.csv``
        and ``import.sh``.
    database : str, default "neo4j"
        Database name in the generated command.

    Returns
    -------
    dict
        ``files`` (``{table: {"path", "rows", "header"}}``), ``command`` (the import
        command as a list of arguments), ``nodes`` and ``relationships`` (row counts).

    Raises
    ------
    StoreError
        A value the importer cannot hold (see :func:`header_type`).
    OutputError
        The folder or a file cannot be written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror or exc}") from None
    files: dict[str, dict[str, Any]] = {}
    args = ["neo4j-admin", "database", "import", "full", database]
    counts = {"nodes": 0, "relationships": 0}
    for job in prepare_rows(graph):
        if job.nodes:
            label = NODE_LABELS[job.table]
            key = job.rows.column_names[0]
            table = _csv_table(
                job.rows, ends=[(key, f"{key}:ID({label})")], const=(":LABEL", label)
            )
            name, flag, kind = f"nodes_{job.table}.csv", "--nodes", "nodes"
        else:
            src_table, src, dst_table, dst = EDGE_ENDS[job.table]
            ends = [
                (src, f":START_ID({NODE_LABELS[src_table]})"),
                (dst, f":END_ID({NODE_LABELS[dst_table]})"),
            ]
            table = _csv_table(job.rows, ends=ends, const=(":TYPE", job.table))
            name, flag, kind = f"relationships_{job.table}.csv", "--relationships", "relationships"
        path = out / name
        options = pacsv.WriteOptions(include_header=True, quoting_style="all_valid")
        try:
            pacsv.write_csv(table, path, write_options=options)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        files[job.table] = {"path": str(path), "rows": table.num_rows, "header": table.column_names}
        counts[kind] += table.num_rows
        args.append(f"{flag}={name}")
    args += [
        f"--array-delimiter={ARRAY_DELIMITER}",
        "--multiline-fields=true",
        "--skip-bad-relationships=true",
        "--overwrite-destination=true",
    ]
    script = (
        "#!/usr/bin/env bash\n"
        "# Import these files into an empty, stopped Neo4j 5 (run from this folder):\n"
        "# the first load of a very large graph. Then start Neo4j, run graphprofile schema\n"
        "# apply (constraints) and analyse or write back as usual.\n"
        "set -euo pipefail\n"
        'cd "$(dirname "$0")"\n' + " ".join(shlex.quote(a) for a in args) + "\n"
    )
    try:
        (out / "import.sh").write_text(script, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {out / 'import.sh'}: {exc.strerror or exc}") from None
    return {"files": files, "command": args, **counts}
