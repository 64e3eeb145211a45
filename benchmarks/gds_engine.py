"""``analyze --store`` with ``--engine gds`` against ``--engine embedded`` (not a test).

Usage: python benchmarks/gds_engine.py DATA_DIR --uri neo4j://127.0.0.1:PORT
[--json out.json] [--skip-load]

Loads DATA_DIR into the (empty) Neo4j database the URI names with ``graphprofile load``,
then runs ``graphprofile analyze --no-write-back`` once per engine, each in its own
process, and reports wall time, the client's peak resident memory (``peak_rss_mb`` from
the run's ``run.json``: ``getrusage`` of that process) and, for GDS, the server heap in
use while every projection was held and the bytes of the projections themselves
(``gds.debug.sysInfo`` and ``gds.graph.list``, from ``run.json``). Credentials come
from ``NEO4J_USER`` / ``NEO4J_PASSWORD`` (``source .neo4j-test/env``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphprofile", *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--engines", default="embedded,gds", help="comma-separated")
    args = parser.parse_args()
    results: dict[str, dict[str, float | int | str]] = {}
    if not args.skip_load:
        seconds = _cli("load", str(args.data_dir), "--store", args.uri, "--quiet")
        results["load"] = {"seconds": round(seconds, 1)}
    with tempfile.TemporaryDirectory(prefix="gp-gds-bench-") as tmp:
        for engine in args.engines.split(","):
            out = Path(tmp) / engine
            seconds = _cli(
                "analyze", "--store", args.uri, "--engine", engine, "--out", str(out),
                "--no-write-back", "--quiet",
            )  # fmt: skip
            run = json.loads((out / "run.json").read_text())
            row: dict[str, float | int | str] = {
                "seconds": round(seconds, 1),
                "analysis_seconds": run["stages"]["analysis"]["seconds"],
                "client_peak_rss_mb": run["peak_rss_mb"],
                "customers": run["analysis"]["customers"],
                "stages": {k: v["seconds"] for k, v in run["stages"].items()},
                "jobs": run["analysis"]["seconds"],
            }
            mem = run["analysis"].get("gds", {}).get("memory", {})
            if mem:
                row["server_heap_used_mb"] = round(mem["used_heap"] / 2**20, 1)
                row["server_projections_mb"] = round(mem["graph_bytes"] / 2**20, 1)
                row["gds_estimate"] = mem["estimate"]
            results[engine] = row
            print(engine, row, flush=True)
    if "embedded" in results and "gds" in results:
        emb, gds = results["embedded"], results["gds"]
        results["ratio"] = {
            "client_peak_rss_gds_over_embedded": round(
                float(gds["client_peak_rss_mb"]) / float(emb["client_peak_rss_mb"]), 3
            ),
            "seconds_gds_over_embedded": round(float(gds["seconds"]) / float(emb["seconds"]), 3),
        }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
