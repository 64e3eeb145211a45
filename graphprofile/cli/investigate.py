"""Investigator commands: ``bloom perspective``, ``report``, ``explain``, ``export-subgraph``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
from graphprofile.i18n import ENGLISH, Messages, messages, resolve_lang
from graphprofile.i18n.vocabulary import describe_tag
from graphprofile.sinks.report_data import fmt_value

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

    say = messages(lang)
    doc = explain_customer(out_dir, customer_id, lang=say.lang)
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        render_explanation(doc, say)


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


def render_explanation(
    doc: dict[str, Any], say: Messages = ENGLISH, console: Console = console
) -> None:
    """Print an :func:`graphprofile.explain.explain` document for a person reading a
    terminal, in ``say``'s language (make the document with the same ``lang`` so its
    sentences match)."""
    e = escape
    console.print(say("explain.customer", customer_id=e(doc["customer_id"]),
                      run_id=e(str(doc["run_id"]))))  # fmt: skip
    risk, known = doc.get("risk_score"), doc.get("known_fraud", "—")
    console.print(
        say(
            "explain.risk",
            risk=fmt_value(risk) if risk is not None else "—",
            known=fmt_value(known if known is not None else "None", say),
        )
    )
    com = doc.get("community")
    if com:
        console.print(
            "\n"
            + say("explain.community", community_id=e(str(com["community_id"])), size=com["size"])
        )
        leaders = ", ".join(m["customer_id"] for m in com.get("top_members_by_pagerank", []))
        console.print(say("explain.top_members", members=e(leaders) or "—"))
    inf = doc.get("influence") or {}
    if inf:
        console.print("\n" + say("explain.influence"))
        for key, value in inf.items():
            name = say.get(f"explain.influence_keys.{key}", key.replace("_", " "))
            console.print(f"  {name}: {e(fmt_value(value))}")
    console.print("\n" + say("explain.rings", n=len(doc["rings"])))
    for ring in doc["rings"]:
        kind = str(ring["kind"])
        kind = kind if say.is_default else say.get(f"ring_kind.{kind}", kind) or kind
        console.print(
            say(
                "explain.ring",
                ring_id=e(ring["ring_id"]),
                kind=e(kind),
                risk=ring["risk"],
                members=e(", ".join(ring["members"])),
            )
        )
        for sentence in ring["reasons_in_words"]:
            console.print(f"    • {e(sentence)}")
    paths = doc["paths_to_known_fraud"]
    console.print("\n" + say("explain.paths", n=len(paths) or say("explain.none_found")))
    for p in paths:
        hops = say(f"reason.count.hop_{'one' if p['hops'] == 1 else 'many'}", n=p["hops"])
        console.print(say("explain.path", hops=hops, to=e(p["to"]), steps=e(p["in_words"])))
    table = Table(title=say("explain.tags_title"), show_lines=True)
    for col in ("tag", "value", "score", "reasons"):
        table.add_column(say(f"explain.{col}"))
    for tag in doc["tags"]:
        name = tag["tag"]
        if not say.is_default:  # the stable key, and its name in the reader's language
            name = f"{describe_tag(tag['tag'], say)[0]} ({tag['tag']})"
        table.add_row(
            e(name),
            e(str(tag["value"]) if tag["value"] is not None else "—"),
            e(
                f"{tag['score']:.3g}"
                if isinstance(tag["score"], float)
                else str(tag["score"] or "—")
            ),
            e("\n".join(tag["reasons_in_words"]) or "—"),
        )
    console.print(table)
