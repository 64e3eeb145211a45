"""``graphprofile generate``: write a synthetic bank with planted ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphprofile.cli.common import CustomersOpt, QuietOpt, SeedOpt, app, console, err_console
from graphprofile.generate import generate_bank


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Data directory to write (created if missing).")],
    customers: CustomersOpt = 10_000,
    seed: SeedOpt = 42,
    fmt: Annotated[
        str, typer.Option("--format", help="Table file format: csv or parquet.")
    ] = "csv",
    quiet: QuietOpt = False,
) -> None:
    """Write a synthetic bank (canonical tables) with planted communities, hubs and rings.

    Example: graphprofile generate data/ --customers 100000 --seed 1
    """
    if quiet:
        generate_bank(out_dir, customers=customers, seed=seed, fmt=fmt)
        return
    with err_console.status("generating …") as status:
        manifest = generate_bank(
            out_dir, customers=customers, seed=seed, fmt=fmt, progress=status.update
        )
    table = Table(title=f"Synthetic bank in {out_dir} (seed {seed})")
    table.add_column("table / planted")
    table.add_column("count", justify="right")
    for info in manifest["tables"].values():
        table.add_row(info["file"], f"{info['rows']:,}")
    planted = manifest["planted"]
    for key in ("communities", "influencers", "families", "public_devices"):
        table.add_row(key.replace("_", " "), f"{planted[key]:,}")
    for kind, info in planted["rings"].items():
        table.add_row(f"{kind} rings", f"{info['rings']:,} ({info['customers']:,} customers)")
    known = planted["known_fraud"]
    table.add_row("known_fraud", f"{known['ring_members']} ring + {known['innocent']} innocent")
    console.print(table)
    console.print(f"Ground truth in [bold]{out_dir / 'truth'}[/bold]")
