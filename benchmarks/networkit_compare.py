"""networkit against igraph for the graph jobs the analysis runs (issue #16, point 5).

Usage (networkit is not a dependency of graphprofile: install it in a scratch virtualenv)::

    python3 -m venv /tmp/nk && /tmp/nk/bin/pip install networkit python-igraph pyarrow \\
        scikit-learn
    /tmp/nk/bin/python benchmarks/networkit_compare.py --nodes 100000 1000000 \\
        [--bank benchmarks/data/bank-100000-s1-csv] [--threads 2 1] [--json FILE]

On each graph it times, for igraph and for networkit: building the graph from NumPy edge
arrays, Leiden (igraph ``community_leiden``, modularity, 2 iterations; networkit
``ParallelLeiden``), Louvain with refinement (networkit ``PLM``), PageRank, connected
components. It reports the modularity of every partition (igraph's ``modularity`` on the
same weighted graph), the NMI against the planted communities, whether two runs with the
same seed give the same partition, and how far networkit's PageRank is from igraph's;
networkit once per ``--threads`` value (its parallel algorithms are not repeatable on more
than one thread).

Graphs: **planted** graphs with known communities (sizes 20–200, 8 edges a node inside its
community, 2 to random others, so 20 % of the edges leave the community), one per
``--nodes``; and with ``--bank``, the weighted customer money graph of a generated bank,
built as ``floor.py`` builds it (no ground truth there: modularity only).

Not a test: nothing here asserts a time. Results go to ``benchmarks/results/`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import igraph as ig
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def planted_graph(n: int, *, seed: int, k_in: float = 8, k_out: float = 2):
    """Edges (src, dst, weight) of a planted-partition graph and its true membership."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(20, 201)))
    sizes[-1] -= sum(sizes) - n
    truth = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    m_in = (np.asarray(sizes) * k_in / 2).astype(np.int64)
    comm = np.repeat(np.arange(len(sizes)), m_in)
    size_of = np.asarray(sizes)[comm]
    src = starts[comm] + rng.integers(0, size_of)
    dst = starts[comm] + rng.integers(0, size_of)
    m_out = int(n * k_out / 2)
    src = np.concatenate([src, rng.integers(0, n, m_out)])
    dst = np.concatenate([dst, rng.integers(0, n, m_out)])
    return _simple(src, dst, np.ones(len(src)), n), truth


def _simple(src, dst, weight, n):
    """Undirected simple graph: self-loops dropped, parallel edges merged (weights summed)."""
    ok = src != dst
    lo, hi = np.minimum(src[ok], dst[ok]), np.maximum(src[ok], dst[ok])
    pairs, inverse = np.unique(lo.astype(np.int64) * n + hi, return_inverse=True)
    return pairs // n, pairs % n, np.bincount(inverse, weights=weight[ok]), n


def bank_graph(data_dir: Path):
    """The weighted customer money graph of a bank, as ``floor.py`` builds it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    def read(name: str):
        path = data_dir / f"{name}.parquet"
        return pq.read_table(path) if path.is_file() else pacsv.read_csv(data_dir / f"{name}.csv")

    customers, accounts, txns = read("customers"), read("accounts"), read("transactions")
    owner = pc.index_in(accounts["customer_id"], value_set=customers["customer_id"])
    owner = owner.to_numpy(zero_copy_only=False)
    a = pc.index_in(txns["from_account"], value_set=accounts["account_id"])
    b = pc.index_in(txns["to_account"], value_set=accounts["account_id"])
    a, b = a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False)
    keep = ~(np.isnan(a) | np.isnan(b))
    src, dst = owner[a[keep].astype(np.int64)], owner[b[keep].astype(np.int64)]
    amount = pc.cast(txns["amount"], pa.float64()).to_numpy(zero_copy_only=False)[keep]
    return _simple(src.astype(np.int64), dst.astype(np.int64), amount, customers.num_rows)


def _timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - t, 3)


def run_igraph(src, dst, weight, n, seed):
    g, build = _timed(lambda: _ig_graph(src, dst, weight, n))
    out = {"build": build}

    def leiden():
        ig.set_random_number_generator(random.Random(seed))
        return g.community_leiden(
            objective_function="modularity", weights="weight", n_iterations=2
        ).membership

    memb, out["leiden"] = _timed(leiden)
    again, _ = _timed(leiden)
    pr, out["pagerank"] = _timed(lambda: g.pagerank(weights="weight"))
    _, out["components"] = _timed(g.connected_components)
    return g, out, {"leiden": (memb, again)}, np.asarray(pr)


def _ig_graph(src, dst, weight, n):
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]), directed=False)
    g.es["weight"] = weight
    return g


def run_networkit(src, dst, weight, n, seed, threads):
    import networkit as nk

    nk.setNumberOfThreads(threads)
    build = lambda: nk.graph.GraphFromCoo(  # noqa: E731
        (weight, (src.astype(np.uint64), dst.astype(np.uint64))),
        n=n,
        weighted=True,
        directed=False,
    )
    g, t_build = _timed(build)
    out = {"build": t_build}
    parts = {}
    for name, make in (
        ("parallel_leiden", lambda: nk.community.ParallelLeiden(g, iterations=3, randomize=True)),
        ("plm", lambda: nk.community.PLM(g, refine=True, turbo=True)),
    ):

        def detect(make=make):
            nk.setSeed(seed, False)
            algo = make()
            algo.run()
            return np.asarray(algo.getPartition().getVector())

        first, out[name] = _timed(detect)
        second, _ = _timed(detect)
        parts[name] = (first, second)

    def pagerank():
        algo = nk.centrality.PageRank(g, damp=0.85, tol=1e-9)
        algo.run()
        return np.asarray(algo.scores())

    pr, out["pagerank"] = _timed(pagerank)

    def components():
        algo = nk.components.ConnectedComponents(g)
        algo.run()
        return algo.numberOfComponents()

    _, out["components"] = _timed(components)
    return out, parts, pr


def compare(name: str, graph, truth, seed: int, threads: list[int]) -> dict:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    src, dst, weight, n = graph
    g, ig_times, ig_parts, ig_pr = run_igraph(src, dst, weight, n, seed)
    result = {
        "graph": name,
        "nodes": n,
        "edges": len(src),
        "igraph_seconds": ig_times,
        "partitions": {},
    }
    runs = [("igraph", ig_parts)]
    for t in threads:
        nk_times, nk_parts, nk_pr = run_networkit(src, dst, weight, n, seed, t)
        result[f"networkit_seconds_{t}_threads"] = nk_times
        runs.append((f"networkit-{t}t", nk_parts))
    for lib, parts in runs:
        for algo, (first, second) in parts.items():
            first, second = np.asarray(first), np.asarray(second)
            row = {
                "communities": len(np.unique(first)),
                "modularity": round(g.modularity(first.tolist(), weights="weight"), 4),
                "same_seed_same_partition": bool(np.array_equal(first, second)),
                "nmi_between_two_runs": round(nmi(first, second), 4),
            }
            if truth is not None:
                row["nmi_planted"] = round(nmi(truth, first), 4)
            result["partitions"][f"{lib}.{algo}"] = row
    ig_norm, nk_norm = ig_pr / ig_pr.sum(), nk_pr / nk_pr.sum()
    result["pagerank_max_relative_difference"] = float(
        np.max(np.abs(nk_norm - ig_norm) / np.maximum(ig_norm, 1e-300))
    )
    result["pagerank_top100_overlap"] = len(
        set(np.argsort(-ig_norm)[:100]) & set(np.argsort(-nk_norm)[:100])
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, nargs="*", default=[100_000])
    ap.add_argument("--bank", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "networkit.json")
    args = ap.parse_args()
    import networkit as nk

    results = []
    graphs = [(f"planted-{n}", lambda n=n: planted_graph(n, seed=args.seed)) for n in args.nodes]
    if args.bank:
        graphs.append((f"bank-money-{args.bank.name}", lambda: (bank_graph(args.bank), None)))
    for name, make in graphs:
        graph, truth = make()
        result = compare(name, graph, truth, args.seed, args.threads)
        results.append(result)
        print(json.dumps(result, indent=1))
    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": os.getloadavg(),
        "packages": {"networkit": nk.__version__, "igraph": ig.__version__},
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=1) + "\n")
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
