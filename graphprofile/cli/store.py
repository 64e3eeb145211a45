"""``graphprofile schema apply``, ``load`` and ``export-import``: the graph database commands."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graphprofile.cli.common import (
    DataDirArg,
    ImportDirArg,
    JsonOpt,
    MappingOpt,
    QuietOpt,
    StoreOpt,
    app,
    console,
    err_console,
)
from graphprofile.errors import ConfigError

schema_app = typer.Typer(help="Database schema (constraints and indexes).", no_args_is_help=True)
app.add_typer(schema_app, name="schema")

BatchSizeOpt = Annotated[
    int,
    typer.Option("--batch-size", min=1, help="Rows per write transaction (10k-20k is typical)."),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=16,
        help="Node tables written at once (relationships are always written one batch at a time).",
    ),
]


def _uri(store: str | None) -> str:
    if not store:
        raise ConfigError("--store is required, e.g. --store neo4j://localhost:7687")
    return store


@schema_app.command("apply")
def schema_apply(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Create the constraints/indexes the loader relies on (idempotent).

    Example: graphprofile schema apply --store neo4j://localhost:7687
    """
    from graphprofile.store import apply_schema, open_store

    with open_store(_uri(store)) as db:
        result = apply_schema(db)
        info = db.server_info()
    if as_json:
        print(json.dumps({"server": info, **result}, indent=2))
        return
    console.print(
        f"Schema applied on {info['engine']} {info['version']} at {info['address']}: "
        f"{result['statements']} statements ({result['existing']} already there)"
    )


@app.command()
def load(
    data_dir: DataDirArg,
    store: StoreOpt = None,
    mapping: MappingOpt = None,
    batch_size: BatchSizeOpt = 10_000,
    workers: WorkersOpt = 2,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Load the canonical graph into Neo4j or FalkorDB (idempotent: re-run to resume).

    Example: graphprofile load data/ --store neo4j://localhost:7687 --batch-size 10000
    """
    from graphprofile.graph import build_graph
    from graphprofile.ingest import load_frames
    from graphprofile.store import apply_schema, load_graph, open_store

    uri = _uri(store)
    graph = build_graph(load_frames(data_dir, mapping))
    with open_store(uri) as db:
        schema = apply_schema(db)
        if quiet or as_json:
            summary = load_graph(db, graph, batch_size=batch_size, workers=workers)
        else:
            with _LoadProgress() as bar:
                summary = load_graph(
                    db, graph, batch_size=batch_size, workers=workers, progress=bar
                )
        summary = {"server": db.server_info(), "schema": schema, **summary}
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    elif not quiet:
        _render(summary)


@app.command("export-import")
def export_import(
    data_dir: DataDirArg,
    out_dir: ImportDirArg,
    mapping: MappingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write CSVs for neo4j-admin database import (first load of a very large graph).

    Example: graphprofile export-import data/ import/ && bash import/import.sh
    """
    from graphprofile.graph import build_graph
    from graphprofile.ingest import load_frames
    from graphprofile.store.import_csv import export_import as write_import_files

    result = write_import_files(build_graph(load_frames(data_dir, mapping)), out_dir)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    console.print(
        f"{result['nodes']:,} nodes and {result['relationships']:,} relationships in "
        f"{len(result['files'])} CSV files under {out_dir}; import into an empty, stopped "
        f"Neo4j with: bash {out_dir / 'import.sh'}"
    )


class _LoadProgress:
    """A rich progress bar per table, fed by ``load_graph``'s progress callback."""

    def __enter__(self) -> _LoadProgress:
        self._bar = Progress(
            TextColumn("{task.description:<15}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        )
        self._bar.__enter__()
        self._tasks: dict[str, Any] = {}
        return self

    def __call__(self, table: str, done: int, total: int) -> None:
        # called from load worker threads too: rich's Progress is thread-safe, the dict
        # is filled before any worker starts (load_graph reports every table at 0 first)
        if table not in self._tasks:
            self._tasks[table] = self._bar.add_task(table, total=total)
        self._bar.update(self._tasks[table], completed=done)

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


def _render(summary: dict[str, Any]) -> None:
    table = Table(title=f"Loaded into {summary['server']['engine']} {summary['server']['address']}")
    for col in ("table", "rows", "written", "seconds", "rows/s"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for name, t in summary["tables"].items():
        rate = f"{t['rows_per_s']:,.0f}" if t["rows_per_s"] else "-"
        table.add_row(name, f"{t['rows']:,}", f"{t['written']:,}", f"{t['seconds']:.2f}", rate)
    console.print(table)
    rate = summary["rows_per_s"] or 0
    console.print(
        f"{summary['nodes']:,} nodes and {summary['relationships']:,} relationships in "
        f"{summary['seconds']:.1f} s ({rate:,.0f} rows/s, batch size {summary['batch_size']:,}, "
        f"{summary.get('workers', 1)} node workers)"
    )
    skipped = {n: t["rows"] - t["written"] for n, t in summary["tables"].items()}
    for name, n in skipped.items():
        if n:
            err_console.print(f"  {name}: {n:,} rows not written (end nodes missing)")
