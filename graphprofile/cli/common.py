"""The typer app and the options shared by several commands (defined once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def _version(value: bool) -> None:
    if value:
        from graphprofile import __version__

        typer.echo(f"graphprofile {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="graphprofile",
    help="Turn a bank's customer data into a relationship graph and graph-based profile tags.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help and errors: no boxes, no <bool> placeholders
)
console = Console()
err_console = Console(stderr=True)

DataDirArg = Annotated[
    Path, typer.Argument(help="Directory with one .csv or .parquet file per table.")
]
OutDirOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
OutDirArg = Annotated[Path, typer.Argument(help="Output directory of a previous run.")]
ImportDirArg = Annotated[Path, typer.Argument(help="Folder for the neo4j-admin import CSVs.")]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", "-m", help="Source mapping file (TOML or YAML); default: ours."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same results).")]
SettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="Analysis settings file (TOML: risk_high, ring_min_risk, hub_threshold, "
        "resolution, windows…); default: ours. See docs/ANALYSIS.md.",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Graph database URI: neo4j://, neo4j+s://, bolt://, bolt+s:// or "
        "falkordb://host:port/graph. Credentials come from NEO4J_USER/NEO4J_PASSWORD.",
    ),
]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of what people read (summary, report, explain, Bloom): en or zh; "
        "default: GRAPHPROFILE_LANG, else en.",
    ),
]


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Turn a bank's customer data into a relationship graph and graph-based profile tags."""


CustomersOpt = Annotated[
    int, typer.Option("--customers", "-n", help="Number of customers (at least 1,000).")
]
OutputFileOpt = Annotated[Path, typer.Option("--output", "-o", help="File to write.")]
