"""``graphprofile publish`` and ``graphprofile feast-repo``: feeding profile stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graphprofile.cli.common import JsonOpt, OutDirArg, QuietOpt, app, console, err_console

ToOpt = Annotated[
    str,
    typer.Option(
        "--to",
        help="postgresql://user@host:5432/db or redis://host:6379/0; passwords only from "
        "PGPASSWORD / REDIS_PASSWORD.",
    ),
]


@app.command()
def publish(
    run_dir: OutDirArg,
    to: ToOpt,
    force: Annotated[
        bool, typer.Option("--force", help="Publish even if a newer run is already published.")
    ] = False,
    keep_runs: Annotated[
        int, typer.Option("--keep-runs", min=1, help="Redis: runs kept; older runs expire.")
    ] = 2,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a finished run's features and tags to PostgreSQL or Redis (idempotent).

    Example: PGPASSWORD=… graphprofile publish out/ --to postgresql://gp@localhost:5432/profiles
    """
    from graphprofile.publish import publish as publish_run

    if quiet or as_json:
        result = publish_run(run_dir, to, force=force, keep_runs=keep_runs)
    else:
        with err_console.status("[bold]publishing[/bold] …"):
            result = publish_run(run_dir, to, force=force, keep_runs=keep_runs)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    elif not quiet:
        rate = result.get("feature_rows_per_s") or result.get("customers_per_s") or 0
        counts = ", ".join(
            f"{k.replace('_', ' ')} {v:,}"
            for k, v in result.items()
            if isinstance(v, int) and not isinstance(v, bool) and not k.endswith("_per_s")
        )
        console.print(
            f"Published run {result['run_id']} to {result['target']} in "
            f"{result['seconds']:.1f} s ({rate:,.0f} customers/s): {counts}",
            highlight=False,
        )


@app.command("feast-repo")
def feast_repo(
    run_dir: OutDirArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the Feast repo.")],
    redis: Annotated[
        str | None,
        typer.Option("--redis", help="host:port of a Redis online store (default: SQLite)."),
    ] = None,
) -> None:
    """Write a Feast feature repository over a finished run's features.parquet.

    Example: graphprofile feast-repo out/ --out feature_repo/ && cd feature_repo && feast apply
    """
    from graphprofile.publish import write_feast_repo

    written = write_feast_repo(run_dir, out, redis=redis)
    console.print(
        f"Feast repo written to {out}: {', '.join(p.name for p in written)}",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        f"Next: cd {out} && feast apply && feast materialize 2000-01-01T00:00:00 $(date -u +%FT%T)",
        soft_wrap=True,
        highlight=False,
    )
