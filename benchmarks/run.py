"""Benchmark the main job stage by stage, against the library floor and against networkx.

Usage::

    python benchmarks/run.py --customers 100000 [--seed 1] [--format csv]
        [--networkx-max 100000] [--data-root benchmarks/data] [--json FILE]

It generates (or reuses) a bank under ``--data-root``, runs ``graphprofile run`` in this
process stage by stage, and prints a table of seconds and peak RSS per stage, rows/s and
bytes per edge, and two ratios measured in the same process on the same arrays:

- **floor ratio**: the analysis stage (projections + jobs) ÷ the bare library calls it
  rests on (igraph graph builds, Leiden, both PageRanks, components, sampled betweenness,
  k-core, strongly connected components), run on the projection's arrays;
- **networkx ratio**: a straightforward networkx implementation of the same jobs ÷ ours
  (only up to ``--networkx-max`` customers: networkx gets slow).

Not a test: nothing here asserts a time. Results are written as JSON too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import igraph as ig
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphprofile.analysis import AnalysisSettings  # noqa: E402
from graphprofile.analysis.projection import project  # noqa: E402
from graphprofile.generate import generate_bank  # noqa: E402
from graphprofile.pipeline import RunConfig, run_job  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_bank(root: Path, customers: int, seed: int, fmt: str) -> tuple[Path, float | None]:
    data = root / f"bank-{customers}-s{seed}-{fmt}"
    if (data / "truth" / "manifest.json").is_file():
        return data, None
    start = time.perf_counter()
    generate_bank(data, customers=customers, seed=seed, fmt=fmt)
    return data, time.perf_counter() - start


def floor_calls(
    proj, settings: AnalysisSettings, seed: int, samples: int | None
) -> dict[str, float]:
    """Time the bare library calls the analysis rests on, on the projection's own arrays."""
    times: dict[str, float] = {}
    rel, money = proj.rel_edges, proj.money_edges
    n_c, n_a = len(proj.customers), len(proj.accounts)

    t = time.perf_counter()
    g = ig.Graph(n=n_c, edges=np.column_stack([rel["src"], rel["dst"]]), directed=False)
    g.es["weight"] = rel["weight"].to_numpy()
    m = ig.Graph(n=n_a, edges=np.column_stack([money["src"], money["dst"]]), directed=True)
    m.es["weight"] = money["total_amount"].to_numpy()
    times["graph build"] = time.perf_counter() - t

    import random

    ig.set_random_number_generator(random.Random(seed))
    t = time.perf_counter()
    g.community_leiden(
        objective_function="modularity",
        weights="weight",
        resolution=settings.resolution,
        n_iterations=settings.n_iterations,
    )
    times["leiden"] = time.perf_counter() - t

    t = time.perf_counter()
    g.pagerank(weights="weight")
    m.pagerank(weights="weight")
    times["pagerank x2"] = time.perf_counter() - t

    t = time.perf_counter()
    links = proj.links
    if len(links):
        items = pd.factorize(links["item_id"])[0].astype(np.int64)
        b = ig.Graph(
            n=n_c + int(items.max()) + 1,
            edges=np.column_stack([links["cust"].to_numpy(dtype=np.int64), items + n_c]),
        )
        b.connected_components()
    g.connected_components()
    times["components"] = time.perf_counter() - t

    t = time.perf_counter()
    if not samples:
        g.betweenness(directed=False)
    else:  # the same number of sampled sources as the analysis used (run.json)
        rng = np.random.default_rng(seed)
        sources = rng.choice(g.vcount(), size=samples, replace=False)
        g.betweenness(directed=False, sources=sources.tolist())
    times["betweenness"] = time.perf_counter() - t

    t = time.perf_counter()
    g.coreness()
    m.connected_components(mode="strong")
    times["k-core + SCC"] = time.perf_counter() - t
    return times


def networkx_jobs(
    proj, settings: AnalysisSettings, seed: int, samples: int | None
) -> dict[str, float]:
    """The same jobs written plainly with networkx."""
    import networkx as nx

    times: dict[str, float] = {}
    rel, money = proj.rel_edges, proj.money_edges
    t = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(range(len(proj.customers)))
    g.add_weighted_edges_from(zip(rel["src"], rel["dst"], rel["weight"], strict=True))
    m = nx.DiGraph()
    m.add_nodes_from(range(len(proj.accounts)))
    m.add_weighted_edges_from(zip(money["src"], money["dst"], money["total_amount"], strict=True))
    times["graph build"] = time.perf_counter() - t
    t = time.perf_counter()
    nx.community.louvain_communities(g, weight="weight", resolution=settings.resolution, seed=seed)
    times["communities (louvain)"] = time.perf_counter() - t
    t = time.perf_counter()
    nx.pagerank(g, weight="weight")
    nx.pagerank(m, weight="weight")
    times["pagerank x2"] = time.perf_counter() - t
    t = time.perf_counter()
    list(nx.connected_components(g))
    times["components"] = time.perf_counter() - t
    t = time.perf_counter()
    k = min(samples or g.number_of_nodes(), g.number_of_nodes())
    nx.betweenness_centrality(g, k=k, seed=seed)
    times["betweenness"] = time.perf_counter() - t
    t = time.perf_counter()
    g.remove_edges_from(nx.selfloop_edges(g))
    nx.core_number(g)
    list(nx.strongly_connected_components(m))
    times["k-core + SCC"] = time.perf_counter() - t
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--networkx-max", type=int, default=100_000)
    ap.add_argument("--data-root", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--keep-output",
        action="store_true",
        help="keep the run's output folder (by default removed once measured)",
    )
    args = ap.parse_args()

    data, gen_seconds = ensure_bank(args.data_root, args.customers, args.seed, args.format)
    out = Path(tempfile.mkdtemp(prefix="gp-bench-"))
    start = time.perf_counter()
    summary = run_job(RunConfig(data_dir=data, out_dir=out, seed=args.seed))
    total = time.perf_counter() - start

    stages = dict(summary["stages"])
    jobs = summary.get("analysis", {}).get("seconds", {})
    analysis_seconds = stages.get("analysis", {}).get("seconds", 0.0)
    n_txn = summary["tables"]["transactions"]["read"]
    rows_read = summary["rows"]["read"]
    edges = sum(summary["graph"]["edges"].values())
    graph_bytes = sum(f.stat().st_size for f in (out / "graph").rglob("*.parquet"))

    settings = AnalysisSettings()
    from graphprofile.outputs import read_snapshot

    proj = project(read_snapshot(out), settings=settings)
    btw = summary.get("analysis", {}).get("betweenness", {})
    samples = btw.get("samples") if btw.get("mode") == "sampled" else None
    floor = floor_calls(proj, settings, args.seed, samples)
    floor_total = sum(floor.values())
    if not args.keep_output:  # 1.5 GB at 1M customers, in the temporary folder
        shutil.rmtree(out, ignore_errors=True)
    result: dict = {
        "customers": args.customers,
        "seed": args.seed,
        "format": args.format,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "generate_seconds": gen_seconds,
        "total_seconds": round(total, 2),
        "peak_rss_mb": round(rss_mb(), 1),
        "stages": stages,
        "analysis_jobs_seconds": jobs,
        "transactions": n_txn,
        "rows_read": rows_read,
        "rows_per_second": round(rows_read / total),
        "graph_edges": edges,
        "relationship_edges": len(proj.rel_edges),
        "money_edges": len(proj.money_edges),
        "snapshot_bytes_per_edge": round(graph_bytes / max(edges, 1), 1),
        "seconds_per_million_txn": round(total / (n_txn / 1e6), 2),
        "floor_calls_seconds": {k: round(v, 3) for k, v in floor.items()},
        "floor_seconds": round(floor_total, 3),
        "floor_ratio": round(analysis_seconds / floor_total, 2) if floor_total else None,
    }
    if args.customers <= args.networkx_max:
        nx_times = networkx_jobs(proj, settings, args.seed, samples)
        result["networkx_seconds"] = {k: round(v, 3) for k, v in nx_times.items()}
        nx_total = sum(nx_times.values())
        result["networkx_total_seconds"] = round(nx_total, 2)
        # Conservative: our whole analysis stage (rings, flows, tags too) against networkx
        # doing only the graph jobs; the like-for-like ratio against the igraph calls is beside it.
        result["networkx_ratio"] = round(nx_total / analysis_seconds, 1)
        result["networkx_ratio_like_for_like"] = round(nx_total / floor_total, 1)

    print(f"\ngraphprofile benchmark: {args.customers:,} customers, {n_txn:,} transactions")
    print(f"{'stage':<28}{'seconds':>10}{'peak RSS MB':>14}")
    for name, s in stages.items():
        print(f"{name:<28}{s['seconds']:>10.2f}{s['peak_rss_mb']:>14.0f}")
    for name, secs in jobs.items():
        print(f"  analysis: {name:<16}{secs:>10.2f}")
    print(f"{'total':<28}{total:>10.2f}{rss_mb():>14.0f}")
    for key in (
        "rows_per_second",
        "snapshot_bytes_per_edge",
        "seconds_per_million_txn",
        "floor_seconds",
        "floor_ratio",
        "networkx_total_seconds",
        "networkx_ratio",
        "networkx_ratio_like_for_like",
    ):
        if key in result:
            print(f"{key:<28}{result[key]:>10}")
    path = args.json or ROOT / "benchmarks" / "results" / f"bench-{args.customers}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
