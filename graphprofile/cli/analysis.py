"""``graphprofile evaluate``: quality of a run against a generator's truth directory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphprofile.cli.common import JsonOpt, OutDirArg, app, console
from graphprofile.evaluate import evaluate


def _fmt(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else f"{value:,}"


@app.command("evaluate")
def evaluate_cmd(
    out_dir: OutDirArg,
    truth_dir: Annotated[Path, typer.Argument(help="Truth directory written by the generator.")],
    as_json: JsonOpt = False,
) -> None:
    """Score a run's rings, risk and communities against planted ground truth.

    Example: graphprofile evaluate out/ data/truth/ --json
    """
    result = evaluate(out_dir, truth_dir)
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
    render_evaluation(result)


def render_evaluation(result: dict) -> None:
    """Print evaluation metrics as a table and three summary lines."""
    table = Table(title="Rings (match: same kind, member Jaccard ≥ 0.5)")
    for col in ("kind", "planted", "found", "recall", "precision"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, m in result["rings"].items():
        table.add_row(kind, *(_fmt(m[k]) for k in ("planted", "found", "recall", "precision")))
    console.print(table)
    risk, comm = result["risk"], result["communities"]
    console.print(
        f"Customer risk: AUC {_fmt(risk['auc'])}, average precision "
        f"{_fmt(risk['average_precision'])} ({risk['positives']:,} positives)"
    )
    console.print(
        f"Communities: NMI {_fmt(comm['nmi'])} ({comm['found']:,} found, "
        f"{comm['planted']:,} planted)"
    )
    if "influencers" in result:
        console.print(
            f"Influencers: recall in PageRank top 5 % "
            f"{_fmt(result['influencers']['recall_top5pct'])}"
        )
