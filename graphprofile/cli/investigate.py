"""Investigator commands: ``bloom perspective``, ``report``, ``explain``, ``export-subgraph``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graphprofile.cli.common import (
    JsonOpt,
    LangOpt,
    OutDirArg,
    OutputFileOpt,
    QuietOpt,
    StoreOpt,
    app,
    console,
)
from graphprofile.i18n import messages, resolve_lang

bloom_app = typer.Typer(help="Neo4j Bloom support.", no_args_is_help=True)
app.add_typer(bloom_app, name="bloom")

PerspectiveOutOpt = Annotated[
    Path, typer.Option("--output", "-o", help="Perspective file to write (JSON).")
]


@bloom_app.command("perspective")
def bloom_perspective(
    output: PerspectiveOutOpt,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Write a Neo4j Bloom perspective for the graph graphprofile writes.

    Example: graphprofile bloom perspective --output perspective.json --lang zh
    """
    from graphprofile.sinks.bloom import generate_perspective

    result = generate_perspective(output, store_uri=store, lang=resolve_lang(lang))
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
    lang: LangOpt = None,
) -> None:
    """(Re)write OUT_DIR/report.html: an offline report with charts and ring pictures.

    Example: graphprofile report out/
    """
    from graphprofile.sinks.report import write_report_for

    path = write_report_for(out_dir, top_rings=top, lang=resolve_lang(lang))
    if not quiet:
        console.print(f"Wrote {path}")


@app.command()
def explain(
    out_dir: OutDirArg,
    customer_id: Annotated[str, typer.Argument(help="Customer id (as in features.customer_id).")],
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Everything graphprofile concluded about one customer, and why.

    Example: graphprofile explain out/ C00000123 --json
    """
    from graphprofile.explain import explain as explain_customer
    from graphprofile.explain import render

    say = messages(lang)
    doc = explain_customer(out_dir, customer_id, lang=say.lang)
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        render(doc, console, say)


@app.command("export-subgraph")
def export_subgraph(
    out_dir: OutDirArg,
    output: OutputFileOpt,
    ring: Annotated[str | None, typer.Option("--ring", help="A ring id.")] = None,
    community: Annotated[str | None, typer.Option("--community", help="A community id.")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="A customer id (with --hops).")
    ] = None,
    hops: Annotated[int, typer.Option("--hops", help="Neighbourhood radius for --customer.")] = 2,
    fmt: Annotated[str, typer.Option("--format", "-f", help="graphml or gexf.")] = "graphml",
    as_json: JsonOpt = False,
) -> None:
    """Write a ring, community or customer neighbourhood for Gephi/Cytoscape (GraphML/GEXF).

    Example: graphprofile export-subgraph out/ --ring R000001 --format graphml --output ring.graphml
    """
    from graphprofile.export_subgraph import export_subgraph as export

    result = export(
        out_dir, output, ring=ring, community=community, customer=customer, hops=hops, fmt=fmt
    )
    if as_json:
        print(json.dumps(result, indent=2))
        return
    kinds = ", ".join(f"{n} {label}" for label, n in result["labels"].items())
    console.print(
        f"Wrote {result['path']} ({result['format']}): {result['nodes']} nodes ({kinds}), "
        f"{result['edges']} edges"
    )
