"""A finished run read back for publishing: ``run.json`` (status complete), features, tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile.errors import InputError
from graphprofile.outputs import RUN_JSON, load_outputs


@dataclass
class FinishedRun:
    """What a publish sends: the run's identity and its features and tags tables."""

    run_dir: Path
    summary: dict[str, Any]
    features: pd.DataFrame
    tags: pd.DataFrame

    @property
    def run_id(self) -> str:
        return str(self.summary["run_id"])

    @property
    def computed_at(self) -> pd.Timestamp:
        """The run's event time (its start, as written in ``computed_at`` of every row)."""
        stamp = pd.Timestamp(self.summary["started_at"])
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

    def lineage(self) -> dict[str, Any]:
        """Run id, times, parameters and counts, as recorded in ``gp_runs`` / ``gp:{run}:meta``."""
        s = self.summary
        return {
            "run_id": self.run_id,
            "computed_at": self.computed_at.isoformat(),
            "started_at": s.get("started_at"),
            "finished_at": s.get("finished_at"),
            "parameters": s.get("parameters", {}),
            "seed": s.get("parameters", {}).get("seed"),
            "graphprofile": s.get("packages", {}).get("graphprofile"),
            "customers": len(self.features),
            "tags": len(self.tags),
        }


def read_finished_run(run_dir: Path) -> FinishedRun:
    """Read a run directory whose ``run.json`` says ``"status": "complete"``.

    Parameters
    ----------
    run_dir : Path
        Output directory of ``graphprofile run``.

    Returns
    -------
    FinishedRun

    Raises
    ------
    InputError
        No ``run.json`` (the run is unfinished or still running), a status other than
        complete, or no ``features``/``tags`` table.
    """
    run_dir = Path(run_dir)
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise InputError(
            f"{run_dir} has no run.json: the run is not finished (or this is not a run "
            "directory); publish only a run that completed"
        )
    outputs = load_outputs(run_dir, graph=False, tables=("features", "tags"))
    summary = outputs.summary
    status = summary.get("status")
    if status != "complete":
        raise InputError(
            f"{path} has status {status!r}, not 'complete'; publish only a run that completed"
        )
    if "run_id" not in summary or "started_at" not in summary:
        raise InputError(f"{path} lacks run_id or started_at; it was not written by a run")
    tables = {}
    for name in ("features", "tags"):
        table = getattr(outputs, name)
        if table is None:
            raise InputError(f"{run_dir} has no {name} table; it was not written by a run")
        tables[name] = table
    if "customer_id" not in tables["features"].columns:
        raise InputError(f"features in {run_dir} has no customer_id column")
    for table in tables.values():
        table["customer_id"] = table["customer_id"].astype(str)
        if "computed_at" in table.columns:  # text in CSV/JSONL runs
            table["computed_at"] = pd.to_datetime(table["computed_at"], utc=True)
    return FinishedRun(run_dir, summary, tables["features"], tables["tags"])


__all__ = ["FinishedRun", "read_finished_run"]
