"""Investigator commands: ``bloom perspective``, ``report``, ``explain``, ``export-subgraph``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graphprofile.cli.common import JsonOpt, OutDirArg, QuietOpt, StoreOpt, app, console

bloom_app = typer.Typer(help="Neo4j Bloom support.", no_args_is_help=True)
app.add_typer(bloom_app, name="bloom")

PerspectiveOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Perspective file to write (JSON).")
]


@bloom_app.command("perspective")
def bloom_perspective(
    out: PerspectiveOutOpt, store: StoreOpt = None, as_json: JsonOpt = False
) -> None:
    """Write a Neo4j Bloom perspective for the graph graphprofile writes.

    Example: graphprofile bloom perspective --out perspective.json
    """
    from graphprofile.sinks.bloom import generate_perspective

    result = generate_perspective(out, store_uri=store)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    console.print(
        f"Wrote {result['path']}: {result['categories']} categories, "
        f"{result['search_phrases']} search phrases (format {result['version']}). "
        "Import it in Bloom: Perspectives → Import."
    )


@app.command()
def report(
    out_dir: OutDirArg,
    top: Annotated[int, typer.Option("--top", min=1, help="Rings drawn in the report.")] = 10,
    quiet: QuietOpt = False,
) -> None:
    """(Re)write OUT_DIR/report.html: an offline report with charts and ring pictures.

    Example: graphprofile report out/
    """
    from graphprofile.sinks.report import write_report_for

    path = write_report_for(out_dir, top_rings=top)
    if not quiet:
        console.print(f"Wrote {path}")
