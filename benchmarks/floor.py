"""The floor: the least any tool must do with a bank's files, against ``graphprofile run``.

Usage::

    python benchmarks/floor.py --customers 100000 [--seed 1] [--format csv|parquet]
        [--data-root benchmarks/data] [--no-report] [--json FILE]

The **floor** is five steps with nothing of ours in them (issue #16):

1. read every table file of the bank with pyarrow (``pyarrow.csv.read_csv`` or
   ``pyarrow.parquet.read_table``, all columns, Arrow's own type inference);
2. map accounts to customers: each transaction's two accounts to their owners' row numbers
   (``pyarrow.compute.index_in`` twice, no Python per row);
3. build the customer money graph in igraph: customer pairs that paid each other, summed
   amounts as weights (NumPy ``unique``/``bincount``, then ``igraph.Graph``);
4. Leiden (modularity, 2 iterations, weighted) on it;
5. PageRank (weighted) and connected components.

``graphprofile run`` on the same files (report included unless ``--no-report``) runs in this
process; the floor runs in a fresh child process before and after it, so its page cache is
as warm as the run's and its memory does not count in the run's peak RSS. The smaller of
the two floors is the one divided by (the ratio is the conservative one). The printed
stage table gives each stage of the run in seconds and as a multiple of the floor.

The run gives NumPy's arrays ordinary memory pages (``graphprofile._pages``: on the
virtual machines measured here, zeroing transparent huge pages was a third of a 1M run's
CPU time). The floor gains from the same choice, so it is measured both ways, before and
after the run: the ratio is against the least of the four (``ratio``), and against the
floor with NumPy's default pages as well (``ratio_default_pages_floor``, the only floor
measured before 5 December).

Not a test: nothing here asserts a time. Results go to ``benchmarks/results/`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import igraph as ig
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
TABLE_FILES = ("customers", "accounts", "devices", "identifiers", "counterparties", "transactions")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class TreeRss:
    """Peak resident memory of this process and all its descendants together (the
    analysis' worker process among them), sampled every ``interval`` seconds from /proc.

    ``ru_maxrss`` gives each process's own peak only; this sums the processes alive at the
    same moment. Linux only (``peak_mb`` stays 0 elsewhere).
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _parents() -> dict[int, int]:
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
        return parents

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            parents = self._parents()
            tree, grown = {me}, True
            while grown:
                more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
                tree |= more
                grown = bool(more)
            total = sum(self._rss_kb(pid) for pid in tree) / 1024
            self.peak_mb = max(self.peak_mb, round(total, 1))


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pacsv.read_csv(path)


def floor(data_dir: Path, *, seed: int = 1) -> dict:
    """Run the five floor steps on ``data_dir`` and time each.

    Parameters
    ----------
    data_dir : Path
        A bank in the canonical contract (``graphprofile generate``): one ``.csv`` or
        ``.parquet`` file per table.
    seed : int, default 1
        Seed of igraph's random number generator for Leiden.

    Returns
    -------
    dict
        ``seconds`` per step, ``total_seconds``, ``peak_rss_mb`` of this process, ``rows``
        read, and the size of the graph and of its partition (to check it did real work).
    """
    times: dict[str, float] = {}
    t = time.perf_counter()
    tables: dict[str, pa.Table] = {}
    for name in TABLE_FILES:
        found = sorted(data_dir.glob(f"{name}.*"))
        found = [p for p in found if p.suffix in (".csv", ".parquet")]
        if found:
            tables[name] = _read(found[0])
    times["read files (pyarrow)"] = time.perf_counter() - t

    t = time.perf_counter()
    customers, accounts, txns = tables["customers"], tables["accounts"], tables["transactions"]
    owner = pc.index_in(accounts["customer_id"], value_set=customers["customer_id"])
    owner = owner.to_numpy(zero_copy_only=False)
    src_acc = pc.index_in(txns["from_account"], value_set=accounts["account_id"])
    dst_acc = pc.index_in(txns["to_account"], value_set=accounts["account_id"])
    src_acc = src_acc.to_numpy(zero_copy_only=False)
    dst_acc = dst_acc.to_numpy(zero_copy_only=False)
    keep = ~(np.isnan(src_acc) | np.isnan(dst_acc))  # payments to counterparties: no account
    src = owner[src_acc[keep].astype(np.int64)]
    dst = owner[dst_acc[keep].astype(np.int64)]
    amount = pc.cast(txns["amount"], pa.float64()).to_numpy(zero_copy_only=False)[keep]
    times["map accounts to customers"] = time.perf_counter() - t

    t = time.perf_counter()
    n = customers.num_rows
    ok = ~(np.isnan(src) | np.isnan(dst)) & (src != dst)
    lo = np.minimum(src[ok], dst[ok]).astype(np.int64)
    hi = np.maximum(src[ok], dst[ok]).astype(np.int64)
    pairs, inverse = np.unique(lo * n + hi, return_inverse=True)
    weight = np.bincount(inverse, weights=amount[ok])
    graph = ig.Graph(n=n, edges=np.column_stack([pairs // n, pairs % n]), directed=False)
    graph.es["weight"] = weight
    times["customer money graph (igraph)"] = time.perf_counter() - t

    ig.set_random_number_generator(random.Random(seed))
    t = time.perf_counter()
    partition = graph.community_leiden(
        objective_function="modularity", weights="weight", n_iterations=2
    )
    times["leiden (modularity, 2 iterations)"] = time.perf_counter() - t

    t = time.perf_counter()
    graph.pagerank(weights="weight")
    components = graph.connected_components()
    times["pagerank + components"] = time.perf_counter() - t
    return {
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "total_seconds": round(sum(times.values()), 3),
        "peak_rss_mb": _peak_rss_mb(),
        "rows": {name: table.num_rows for name, table in tables.items()},
        "graph": {
            "customers": n,
            "edges": graph.ecount(),
            "communities": len(partition),
            "components": len(components),
        },
    }


def _floor_child(data_dir: str, seed: int, small_pages: bool, queue: multiprocessing.Queue) -> None:
    if small_pages:  # NumPy's own switch: no huge-page advice on its arrays
        try:
            from numpy._core import multiarray
        except ImportError:  # NumPy 1.x
            from numpy.core import multiarray
        multiarray._set_madvise_hugepage(False)
    queue.put(floor(Path(data_dir), seed=seed))


def floor_in_child(data_dir: Path, *, seed: int = 1, small_pages: bool = False) -> dict:
    """:func:`floor` in a fresh (spawned) process, so that its memory is its own.
    ``small_pages``: NumPy asks for no transparent huge pages (as ``graphprofile run`` does,
    ``graphprofile._pages``)."""
    # the run's output files are flushed to disk first, outside the timing: at 1M on 5
    # December the floor's read after a run took 13.9 s against 2.7-5.4 s before it
    os.sync()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_floor_child, args=(str(data_dir), seed, small_pages, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def ensure_bank(root: Path, customers: int, seed: int, fmt: str) -> Path:
    """The generated bank under ``root`` (generated once, then reused)."""
    data = root / f"bank-{customers}-s{seed}-{fmt}"
    if not (data / "truth" / "manifest.json").is_file():
        sys.path.insert(0, str(ROOT))
        from graphprofile.generate import generate_bank

        generate_bank(data, customers=customers, seed=seed, fmt=fmt)
    return data


def run_and_floor(
    data: Path,
    *,
    seed: int,
    report: bool,
    workers: int | None = None,
    keep_output: bool = False,
) -> dict:
    """Floor, ``graphprofile run`` in this process, floor again; seconds and ratios.

    The run's output folder (a temporary one: 1.5 GB at 1M customers) is removed once
    everything is measured, unless ``keep_output`` (then ``run_out`` names it).
    """
    sys.path.insert(0, str(ROOT))
    from graphprofile.pipeline import RunConfig, run_job

    before = floor_in_child(data, seed=seed)
    small_before = floor_in_child(data, seed=seed, small_pages=True)
    out = Path(tempfile.mkdtemp(prefix="gp-floor-"))
    start = time.perf_counter()
    with TreeRss() as tree:
        summary = run_job(
            RunConfig(data_dir=data, out_dir=out, seed=seed, report=report, workers=workers)
        )
    total = time.perf_counter() - start
    after = floor_in_child(data, seed=seed)
    small_after = floor_in_child(data, seed=seed, small_pages=True)
    default = min(before["total_seconds"], after["total_seconds"])
    # the least of the four: the run gives NumPy ordinary pages, and so may the floor
    small = min(small_before["total_seconds"], small_after["total_seconds"])
    base = min(default, small)
    stages = {name: s["seconds"] for name, s in summary["stages"].items()}
    jobs = summary.get("analysis", {}).get("seconds", {})
    graph_jobs = summary.get("analysis", {}).get("graph_jobs", {})
    worker_rss = graph_jobs.get("peak_rss_mb", 0.0)
    n_txn = summary["tables"]["transactions"]["read"]
    if not keep_output:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "run_seconds": round(total, 2),
        "run_peak_rss_mb": summary["peak_rss_mb"],
        # the analysis' worker process (communities, influence), when it ran one; the sum
        # is an upper bound on the run's memory, as if both peaks were at the same time
        "graph_jobs": graph_jobs,
        "worker_peak_rss_mb": worker_rss,
        "run_and_worker_peak_rss_mb": round(summary["peak_rss_mb"] + worker_rss, 1),
        # this process and its descendants together, sampled every 0.2 s
        "run_tree_peak_rss_mb": tree.peak_mb,
        "stages_seconds": stages,
        "analysis_jobs_seconds": jobs,
        "floor_before": before,
        "floor_after": after,
        "floor_small_pages_before": small_before,
        "floor_small_pages_after": small_after,
        # the floor with NumPy's default (huge-page advice), as measured before 5 December
        "floor_default_pages_seconds": default,
        "floor_small_pages_seconds": small,
        "ratio_default_pages_floor": round(total / default, 2),
        "floor_seconds": base,
        "ratio": round(total / base, 2),
        "stage_ratios": {name: round(s / base, 2) for name, s in stages.items()},
        "transactions": n_txn,
        # microseconds per transaction read, of the run and of the floor (the least of the
        # four): per_transaction.py compares two banks' figures, the floor's beside the run's
        "run_us_per_transaction": round(1e6 * total / max(n_txn, 1), 3),
        "floor_us_per_transaction": round(1e6 * base / max(n_txn, 1), 3),
        "rows_read": summary["rows"]["read"],
        "run_out": str(out) if keep_output else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--data-root", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--no-report", action="store_true", help="run without the HTML report")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes the analysis may use (default: graphprofile's, two where two CPUs "
        "are usable)",
    )
    ap.add_argument(
        "--keep-output",
        action="store_true",
        help="keep the run's output folder (by default removed once measured)",
    )
    args = ap.parse_args()

    data = ensure_bank(args.data_root, args.customers, args.seed, args.format)
    result = {
        "customers": args.customers,
        "seed": args.seed,
        "format": args.format,
        "report": not args.no_report,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "packages": {"pyarrow": pa.__version__, "igraph": ig.__version__},
    }
    result.update(
        run_and_floor(
            data,
            seed=args.seed,
            report=not args.no_report,
            workers=args.workers,
            keep_output=args.keep_output,
        )
    )
    base = result["floor_seconds"]

    print(f"\n{args.customers:,} customers, {result['transactions']:,} transactions, {args.format}")
    print(f"{'floor step':<40}{'before s':>10}{'after s':>10}")
    for step, secs in result["floor_before"]["seconds"].items():
        print(f"{step:<40}{secs:>10.2f}{result['floor_after']['seconds'][step]:>10.2f}")
    print(f"{'floor (smaller of the two)':<40}{result['floor_default_pages_seconds']:>10.2f}")
    small = (result["floor_small_pages_before"], result["floor_small_pages_after"])
    print(f"{'same, NumPy on ordinary pages':<40}", end="")
    print(f"{small[0]['total_seconds']:>10.2f}{small[1]['total_seconds']:>10.2f}")
    print(f"{'floor (the least of the four)':<40}{base:>10.2f}")
    print(f"\n{'graphprofile run stage':<40}{'seconds':>10}{'× floor':>10}")
    for name, secs in result["stages_seconds"].items():
        print(f"{name:<40}{secs:>10.2f}{secs / base:>10.2f}")
    for name, secs in result["analysis_jobs_seconds"].items():
        print(f"  · {name:<36}{secs:>10.2f}{secs / base:>10.2f}")
    print(f"{'total':<40}{result['run_seconds']:>10.2f}{result['ratio']:>10.2f}")
    print(f"{'total against the default-pages floor':<40}{'':>10}", end="")
    print(f"{result['ratio_default_pages_floor']:>10.2f}")
    print(
        f"per transaction: run {result['run_us_per_transaction']:.2f} µs, "
        f"floor {result['floor_us_per_transaction']:.2f} µs (benchmarks/per_transaction.py "
        "compares two banks)"
    )
    print(
        f"peak RSS: run {result['run_peak_rss_mb']:.0f} MB "
        f"(+ worker {result['worker_peak_rss_mb']:.0f} MB; together, sampled: "
        f"{result['run_tree_peak_rss_mb']:.0f} MB), "
        f"floor {result['floor_before']['peak_rss_mb']:.0f} MB"
    )
    path = args.json or (
        ROOT / "benchmarks" / "results" / f"floor-{args.customers}-{args.format}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
