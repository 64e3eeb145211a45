"""Publish throughput into PostgreSQL and Redis (not a test: prints and writes JSON).

Usage: python benchmarks/publish_stores.py RUN_DIR [--customers 1000000] [--json out.json]
[--pg-uri postgresql://user@host/db] [--redis-uri redis://host:6379/0]

RUN_DIR is a real, finished run (100k customers or fewer: we do not run a 1M analysis on a
shared 2-core machine). Its features and tags are replicated, with customer ids renamed
(``C00000001`` → ``C00000001~k``), until there are ``--customers`` customers, and written as a
new finished run in a temporary directory (run.json copied, status complete). Without
``--pg-uri``/``--redis-uri`` the script starts PostgreSQL and Redis itself, as the test
fixtures do (tests/integration/servers.py). For each store it times a first publish into
empty tables/keys, then a second, idempotent publish of the same run, then a publish of a
second run (same rows, a new run id: every row rewritten, history closed/opened).

Besides wall seconds it records the CPU seconds of this process and of the server's
processes, and customers per CPU second: on a shared machine (the load average is
recorded too) the wall time mostly measures the other tenants.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from graphprofile.publish import publish

ROOT = Path(__file__).resolve().parents[1]


def replicate(run_dir: Path, out_dir: Path, customers: int, run_id: str | None = None) -> Path:
    """A finished run of ``customers`` customers made of copies of ``run_dir``'s tables."""
    summary = json.loads((run_dir / "run.json").read_text())
    features = pd.read_parquet(run_dir / "features.parquet")
    tags = pd.read_parquet(run_dir / "tags.parquet")
    copies = -(-customers // len(features))
    f_parts, t_parts = [], []
    for k in range(copies):
        suffix = "" if k == 0 else f"~{k}"
        f_parts.append(features.assign(customer_id=features["customer_id"] + suffix))
        t_parts.append(tags.assign(customer_id=tags["customer_id"] + suffix))
    big_f = pd.concat(f_parts, ignore_index=True).iloc[:customers]
    keep = set(big_f["customer_id"])
    big_t = pd.concat(t_parts, ignore_index=True)
    big_t = big_t[big_t["customer_id"].isin(keep)]
    out_dir.mkdir(parents=True, exist_ok=True)
    if run_id:
        summary["run_id"] = run_id
        stamp = pd.Timestamp(summary["started_at"]) + pd.Timedelta(days=1)
        summary["started_at"] = stamp.isoformat()
        big_f = big_f.assign(computed_at=stamp)
        big_t = big_t.assign(computed_at=stamp, run_id=run_id)
    big_f.to_parquet(out_dir / "features.parquet", index=False)
    big_t.to_parquet(out_dir / "tags.parquet", index=False)
    (out_dir / "run.json").write_text(json.dumps(summary, default=str))
    return out_dir


def _cpu_seconds(pids: set[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` and their children.

    Live children are read directly; children that have exited (a PostgreSQL backend once
    its connection closes) are in their parent's cumulative ``cutime``/``cstime``.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) in pids:  # utime, stime, then children reaped: cutime, cstime
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        elif int(fields[1]) in pids:  # fields[1]: parent pid
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _server_pids(server: object) -> set[int]:
    pid_file = getattr(server, "data", Path("/nonexistent")) / "postmaster.pid"
    if pid_file.is_file():
        return {int(pid_file.read_text().split()[0])}
    proc = getattr(server, "proc", None)
    return {proc.pid} if proc is not None else set()


def _time(run_dir: Path, uri: str, label: str, server: object) -> dict:
    pids = _server_pids(server)
    steps: dict[str, float] = {}
    start = time.perf_counter()
    cpu_client, cpu_server = time.process_time(), _cpu_seconds(pids)

    def step(name: str) -> None:
        if not name.startswith("batch"):
            steps[name] = round(time.perf_counter() - start, 2)

    result = publish(run_dir, uri, on_step=step)
    seconds = time.perf_counter() - start
    time.sleep(0.5)  # let the server reap the publish's backend (its CPU moves to cutime)
    cpu_client = time.process_time() - cpu_client
    cpu_server = _cpu_seconds(pids) - cpu_server
    n = result["customers"]
    row = {
        "publish": label,
        "customers": n,
        "tags": result.get("tags"),
        "seconds_total": round(seconds, 2),
        "seconds_store": result["seconds"],
        "per_s_total": round(n / seconds),
        "per_s_store": round(n / result["seconds"]),
        "cpu_client_s": round(cpu_client, 2),
        "cpu_server_s": round(cpu_server, 2),
        "per_cpu_s": round(n / (cpu_client + cpu_server)),
        "load_average_1m": os.getloadavg()[0],
        "steps_wall_s": steps,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pg-uri")
    parser.add_argument("--redis-uri")
    parser.add_argument("--stores", default="postgresql,redis")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # a terminated benchmark still stops the servers it started (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from servers import PostgresServer, RedisServer  # the test fixtures' server classes

    servers = []
    results: dict = {"source_run": str(args.run_dir), "customers": args.customers}
    with tempfile.TemporaryDirectory(prefix="gp-publish-bench-") as tmp:
        tmp_path = Path(tmp)
        start = time.perf_counter()
        first = replicate(args.run_dir, tmp_path / "run1", args.customers)
        second = replicate(args.run_dir, tmp_path / "run2", args.customers, run_id="bench-run-2")
        results["replicate_seconds"] = round(time.perf_counter() - start, 1)
        try:
            for store in args.stores.split(","):
                uri = args.pg_uri if store == "postgresql" else args.redis_uri
                server = None
                if not uri:
                    server = (PostgresServer if store == "postgresql" else RedisServer)(
                        tmp_path / store
                    )
                    server.start()
                    servers.append(server)
                    uri = server.uri
                    server.export_password()
                results[store] = [
                    _time(first, uri, "first (empty store)", server),
                    _time(first, uri, "same run again (idempotent)", server),
                    _time(second, uri, "next run (every row rewritten)", server),
                ]
        finally:
            for server in servers:
                server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
