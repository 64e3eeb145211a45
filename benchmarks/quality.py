"""Detection quality on data we generated and on data we did not: writes benchmarks/QUALITY.md.

Usage::

    python benchmarks/quality.py [--customers 20000] [--seed 1] [--only NAME ...]
        [--data-root benchmarks/data] [--out benchmarks/QUALITY.md] [--json FILE]
        [--amlsim DIR ...]

Datasets:

- our generator at three contrasting presets (``default``, ``dense``: bigger communities,
  more rings and P2P traffic; ``long``: a 12-month window, sparser customers, twice the
  decoys), ``--customers`` each;
- every AMLSim sample ``../shared/benchmarks/amlsim/*.tgz`` (extracted once, git-ignored,
  under ``--data-root``), read with ``loaders/amlsim.toml``.
- a stress variant of each AMLSim sample with its laundering amounts scaled into the
  ordinary range (``*-ordinary-amounts``, :func:`_ordinary_amounts`);
- with ``--amlsim DIR ...``, also each given folder in the samples' format (``nodes.csv``
  ``nodeid,isFraud,init_balance,fraudStep`` and ``transactions.csv``), named
  ``amlsim:<folder name>`` and evaluated exactly like the samples (``--only`` applies).

Each dataset is analysed twice, with ``graphprofile.analysis.analyse`` exactly as
``graphprofile run`` calls it:

- **no labels**: every ``known_fraud`` flag cleared;
- **20 % labels**: 20 % of the laundering (planted-ring) customers, drawn with
  ``numpy.random.default_rng(seed)``, flagged ``known_fraud``; they are left out of the
  scoring.

Positives are the customers the dataset marks as laundering (AMLSim ``isFraud``; our
generator's ``truth/rings``). Scores: ``risk_score`` AUC and average precision, and the
same for the ``anomaly_score`` and ``learned_score`` columns when present. Baselines, on
the same customers: account in-degree alone, and a seeded IsolationForest on ten plain
per-customer counts. Ring recall: our generator, per planted ring (``graphprofile.evaluate``);
AMLSim, *alert recall* = the share of laundering accounts inside some reported ring, with
*ring precision* = the share of reported ring members that are laundering. AMLSim also:
risk AUC against only the positives that sent laundering money in the data (its own
``fraudStep >= 0``); about half of its ``isFraud`` accounts never did.

Not a test: nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphprofile.analysis import AnalysisSettings, analyse  # noqa: E402
from graphprofile.evaluate import average_precision, evaluate, roc_auc  # noqa: E402
from graphprofile.generate import BankParams, generate_bank  # noqa: E402
from graphprofile.graph import build_graph  # noqa: E402
from graphprofile.ingest import load_frames  # noqa: E402

AMLSIM_DIR = ROOT.parent / "shared" / "benchmarks" / "amlsim"
AMLSIM_MAPPING = ROOT / "loaders" / "amlsim.toml"
LABEL_SHARE = 0.2

#: Three contrasting generator presets (BankParams overrides).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "dense": {
        "community_median": 200.0,
        "p2p_per_customer": 5.0,
        "contacts_per_customer": 3.0,
        "ring_share": 0.01,
    },
    "long": {
        "months": 12,
        "community_median": 40.0,
        "p2p_per_customer": 1.5,
        "decoys_per_100k": {
            "bill_split": 120.0,
            "flat_share": 80.0,
            "club": 40.0,
            "treasurer": 40.0,
            "payout": 40.0,
        },
    },
}


def _amlsim_dirs(data_root: Path) -> list[Path]:
    out = []
    for tgz in sorted(AMLSIM_DIR.glob("*.tgz")):
        name = tgz.name.removesuffix(".tgz")
        folder = data_root / name
        if not (folder / "nodes.csv").is_file():
            with tarfile.open(tgz) as tar:
                tar.extractall(data_root, filter="data")
        out.append(folder)
    return out


def _ordinary_amounts(sample: Path, data_root: Path) -> Path:
    """A stress variant of an AMLSim sample whose laundering amounts look ordinary.

    The transfers whose amount is below every amount moved between two non-laundering
    accounts (AMLSim's laundering transfers of 10-20 and 3-5 here) are scaled by the ratio
    of the two groups' median amounts, into the ordinary range; nothing else changes. Other
    AMLSim configurations draw laundering amounts from the ordinary range: there the
    unusual amounts that mark these samples are gone, and this variant shows what is left.
    """
    folder = data_root / f"{sample.name}-ordinary-amounts"
    if not (folder / "transactions.csv").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        nodes = pd.read_csv(sample / "nodes.csv")
        txns = pd.read_csv(sample / "transactions.csv")
        fraud = set(nodes.loc[nodes["isFraud"] == 1, "nodeid"])
        plain = ~txns["sourceNodeId"].isin(fraud) & ~txns["targetNodeId"].isin(fraud)
        low = txns["value"] < txns.loc[plain, "value"].min()
        factor = txns.loc[~low, "value"].median() / txns.loc[low, "value"].median()
        txns.loc[low, "value"] = (txns.loc[low, "value"] * factor).round(2)
        nodes.to_csv(folder / "nodes.csv", index=False)
        txns.to_csv(folder / "transactions.csv", index=False)
    return folder


def _generator_code() -> str:
    """Short hash of the generator's source: a changed generator gets new folders."""
    src = sorted((ROOT / "graphprofile" / "generate").glob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in src)).hexdigest()[:8]


def _generator_dir(data_root: Path, preset: str, customers: int, seed: int) -> Path:
    folder = data_root / f"quality-{preset}-{customers}-s{seed}-g{_generator_code()}"
    if not (folder / "truth" / "manifest.json").is_file():
        params = BankParams(customers=customers, seed=seed, **PRESETS[preset])
        generate_bank(folder, customers=customers, seed=seed, fmt="parquet", params=params)
    return folder


def _plain_counts(graph: Any, cust: pd.Index) -> tuple[np.ndarray, pd.DataFrame]:
    """Customer in-degree and ten plain per-customer counts (the baselines' inputs)."""
    acc = graph.nodes["account"][["account_id", "customer_id"]]
    owner = pd.Series(acc["customer_id"].to_numpy(), index=acc["account_id"].to_numpy())
    t = graph.transactions
    src = t["from_account"].map(owner)
    dst = t["to_account"].map(owner)
    amount = t["amount"].to_numpy(dtype="float64")
    day = t["ts"].dt.floor("D")
    frame = pd.DataFrame({"s": src, "d": dst, "a": amount, "day": day})
    out = pd.DataFrame(index=cust)
    sent = frame.dropna(subset=["s"]).groupby("s")
    got = frame.dropna(subset=["d"]).groupby("d")
    out["out_txns"] = sent.size()
    out["in_txns"] = got.size()
    out["out_partners"] = sent["d"].nunique()
    out["in_partners"] = got["s"].nunique()
    out["out_amount"] = sent["a"].sum()
    out["in_amount"] = got["a"].sum()
    out["out_mean"] = sent["a"].mean()
    out["in_mean"] = got["a"].mean()
    out["out_days"] = sent["day"].nunique()
    out["in_days"] = got["day"].nunique()
    out = out.fillna(0.0)
    return out["in_partners"].to_numpy(dtype="float64"), out


def _iforest(counts: pd.DataFrame, seed: int) -> np.ndarray:
    from sklearn.ensemble import IsolationForest

    x = np.log1p(counts.to_numpy(dtype="float64"))
    return -IsolationForest(n_estimators=200, random_state=seed).fit(x).score_samples(x)


def _ceiling(features: pd.DataFrame, y: np.ndarray, keep: np.ndarray, seed: int) -> float:
    """AUC (on the ``keep`` customers) of a model that sees every customer's true label.

    Five-fold cross-fitted ``HistGradientBoostingClassifier`` on every numeric column of the
    published ``features`` table, trained on the benchmark's own labels of all customers
    (not the 20 % a bank would have): what the features can say at best, so how far the risk
    could go on this dataset with the graph evidence we compute.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import KFold

    cols = features.select_dtypes(include=["number", "bool"]).drop(columns=["community_id"])
    x = cols.dropna(axis=1, how="all").to_numpy(dtype="float64")  # no learned score: all NaN
    score = np.zeros(len(y))
    for train, test in KFold(5, shuffle=True, random_state=seed).split(x):
        model = HistGradientBoostingClassifier(
            max_iter=100, max_leaf_nodes=15, early_stopping=False, random_state=seed
        )
        score[test] = model.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    return round(roc_auc(y[keep], score[keep]), 4)


def _scores(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    return {"auc": round(roc_auc(y, s), 4), "ap": round(average_precision(y, s), 4)}


def run_dataset(
    name: str, folder: Path, *, kind: str, seed: int, settings: AnalysisSettings
) -> list[dict[str, Any]]:
    """Both conditions on one dataset: a list of two result rows."""
    mapping = AMLSIM_MAPPING if kind == "amlsim" else None
    frames = load_frames(folder, mapping)
    if kind == "amlsim":
        nodes = pd.read_csv(folder / "nodes.csv", dtype={"nodeid": str})
        positive_ids = set(nodes.loc[nodes["isFraud"] == 1, "nodeid"])
        # positives that sent a laundering transfer in the data (AMLSim's own fraudStep; older
        # AMLSim outputs, such as its first sample `amlsim_data`, have no such column)
        sender_ids = (
            set(nodes.loc[(nodes["isFraud"] == 1) & (nodes["fraudStep"] >= 0), "nodeid"])
            if "fraudStep" in nodes
            else None
        )
    else:
        truth = pd.read_parquet(folder / "truth" / "rings.parquet")
        positive_ids = set(truth["customer_id"].astype(str))
    rows = []
    for condition in ("none", "labels20"):
        cust = frames.customers["customer_id"].astype(str)
        fed: set[str] = set()
        if condition == "labels20":
            pos = np.sort(np.array(sorted(positive_ids & set(cust))))
            rng = np.random.default_rng(seed)
            k = int(np.ceil(LABEL_SHARE * len(pos)))
            fed = set(rng.choice(pos, size=k, replace=False).tolist())
        frames.customers["known_fraud"] = cust.isin(fed).to_numpy()
        graph = build_graph(frames)
        start = time.perf_counter()
        result = analyse(
            graph,
            settings=settings,
            run_id=f"quality-{name}-{condition}",
            computed_at=pd.Timestamp("2026-01-01T00:00:00Z"),
            seed=seed,
        )
        seconds = time.perf_counter() - start
        f = result.features.assign(customer_id=result.features["customer_id"].astype(str))
        keep = ~f["customer_id"].isin(fed).to_numpy()
        y = f["customer_id"].isin(positive_ids).to_numpy()[keep]
        row: dict[str, Any] = {
            "dataset": name,
            "condition": condition,
            "customers": int(keep.sum()),
            "positives": int(y.sum()),
            "fed": len(fed),
            "seconds": round(seconds, 2),
            "risk": _scores(y, f["risk_score"].to_numpy(dtype="float64")[keep]),
        }
        for col in ("anomaly_score", "learned_score"):
            if col in f and f[col].notna().any():
                row[col] = _scores(y, f[col].fillna(0.0).to_numpy(dtype="float64")[keep])
        indeg, counts = _plain_counts(graph, pd.Index(f["customer_id"]))
        row["baseline_in_degree"] = _scores(y, indeg[keep])
        row["baseline_iforest"] = _scores(y, _iforest(counts, seed)[keep])
        learned = result.meta.get("learned")
        if learned:
            row["learned_oof"] = learned
        rings = result.rings
        in_ring = f["n_rings"].to_numpy() > 0
        if kind == "amlsim":
            members = f["customer_id"].isin(positive_ids).to_numpy()
            row["alert_recall"] = round(float(in_ring[members].mean()), 4)
            row["ring_precision"] = (
                round(float(members[in_ring].mean()), 4) if in_ring.any() else None
            )
            row["rings_reported"] = len(rings)
            if sender_ids is not None:
                # risk AUC against the positives that sent laundering money in the data only
                senders = f["customer_id"].isin(sender_ids).to_numpy()[keep]
                pick = senders | ~y
                row["risk_senders"] = _scores(y[pick], f["risk_score"].to_numpy()[keep][pick])
                row["senders"] = int(senders.sum())
            all_y = f["customer_id"].isin(positive_ids).to_numpy()
            row["ceiling_auc"] = _ceiling(result.features, all_y, keep, seed)
        else:
            with _tmp_out(result) as out:
                ev = evaluate(out, folder / "truth")
            row["rings"] = {
                k: {
                    "recall": v["recall"],
                    "precision": v["precision"],
                    "planted": v["planted"],
                    "found": v["found"],
                }
                for k, v in ev["rings"].items()
            }
            row["nmi"] = round(ev["communities"]["nmi"], 4)
            row["layers"] = {
                k: round(v["risk_auc"], 4) if v["risk_auc"] is not None else None
                for k, v in ev.get("layers", {}).items()
                if v["planted"]
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


class _tmp_out:
    """A temporary output folder (the run's tables and a ``run.json``) for ``evaluate``."""

    def __init__(self, result: Any) -> None:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self.result = result

    def __enter__(self) -> Path:
        from graphprofile.outputs import write_json, write_results

        path = Path(self._dir.name)
        outputs = write_results(self.result.tables(), path, "parquet")
        write_json({"outputs": outputs}, path / "run.json")
        return path

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| dataset | cond. | pos./cust. | risk AUC | risk AP | anomaly AUC | anomaly AP | "
        "learned AUC | learned AP | in-degree AUC | IF counts AUC | IF counts AP | "
        "rings / alerts | analysis s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "rings" in r:
            rings = ", ".join(
                f"{k} {_fmt(v['recall'])}/{_fmt(v['precision'])}"
                for k, v in r["rings"].items()
                if v["planted"]
            )
            # kinds no generator plants (unusual_transfers): how many were reported anyway
            unplanted = ", ".join(
                f"{k} {v['found']} found ({_fmt(v['precision'])} inside planted layers)"
                for k, v in r["rings"].items()
                if not v["planted"] and v.get("found")
            )
            if unplanted:
                rings += f"; {unplanted}"
            rings = f"R/P {rings}; NMI {_fmt(r['nmi'])}"
            if r.get("layers"):
                layers = ", ".join(f"{k} {_fmt(v)}" for k, v in r["layers"].items())
                rings += f"; risk AUC of layer members: {layers}"
        else:
            rings = (
                f"alert recall {_fmt(r['alert_recall'])}, ring precision "
                f"{_fmt(r['ring_precision'])} ({r['rings_reported']} rings)"
            )
            if "risk_senders" in r:
                rings += (
                    f"; risk AUC {_fmt(r['risk_senders']['auc'])} on the {r['senders']} "
                    "positives that sent laundering money (fraudStep >= 0)"
                )
            if "ceiling_auc" in r:
                rings += f"; ceiling AUC {_fmt(r['ceiling_auc'])}"
        an, le = r.get("anomaly_score", {}), r.get("learned_score", {})
        lines.append(
            f"| {r['dataset']} | {'20%' if r['condition'] == 'labels20' else 'none'} | "
            f"{r['positives']}/{r['customers']} | {_fmt(r['risk']['auc'])} | "
            f"{_fmt(r['risk']['ap'])} | {_fmt(an.get('auc'))} | {_fmt(an.get('ap'))} | "
            f"{_fmt(le.get('auc'))} | {_fmt(le.get('ap'))} | "
            f"{_fmt(r['baseline_in_degree']['auc'])} | {_fmt(r['baseline_iforest']['auc'])} | "
            f"{_fmt(r['baseline_iforest']['ap'])} | {rings} | {r['seconds']} |"
        )
    return lines


def render(
    rows: list[dict[str, Any]], args: argparse.Namespace, before: list[dict[str, Any]] | None
) -> str:
    """QUALITY.md text from the result rows (and, optionally, the rows of an earlier run)."""
    lines = [
        "# Detection quality (produced by `benchmarks/quality.py`)",
        "",
        f"Command: `python benchmarks/quality.py --customers {args.customers} --seed {args.seed}`"
        " on this repository's 2-core machine. Regenerate it after any change to detection.",
        "",
        "Conditions: **none** = no customer flagged known_fraud; **20%** = 20 % of the "
        "laundering customers flagged (seeded draw), scored on the others. Positives: AMLSim "
        "`isFraud`, our generator's planted ring members. `risk` is `features.risk_score`; "
        "`anomaly` the label-free `anomaly_score`; `learned` the cross-fitted "
        "`learned_score` (only with ≥ 20 known-fraud customers). Baselines: in-degree "
        "(distinct senders) alone; IsolationForest on ten plain per-customer counts. "
        "`ceiling AUC` (AMLSim): a model cross-fitted on *every* customer's true label over "
        "the published `features` columns, scored on the same customers: the most these "
        "features separate on that dataset (see docs/ANALYSIS.md).",
        "",
        "Ring recall/precision (R/P) per kind on our generator: 10 planted rings per kind at "
        "20k customers, so one miss is 0.9 and one false ring about 0.91.",
        "",
        *_table(rows),
    ]
    if before:
        lines += [
            "",
            f"## Before ({args.before_label})",
            "",
            f"The same command on {args.before_label}:",
            "",
            *_table(before),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", nargs="*", default=None, help="dataset names to run")
    ap.add_argument("--data-root", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "QUALITY.md")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--before", type=Path, default=None, help="JSON rows of an earlier run")
    ap.add_argument("--before-label", default="the earlier code")
    ap.add_argument(
        "--amlsim",
        type=Path,
        nargs="+",
        default=[],
        metavar="DIR",
        help="extra AMLSim-format folders (nodes.csv, transactions.csv) to evaluate",
    )
    args = ap.parse_args(argv)
    args.data_root.mkdir(parents=True, exist_ok=True)
    settings = AnalysisSettings()
    datasets: list[tuple[str, Path, str]] = [
        (f"generator:{p}", Path(), "generator") for p in PRESETS
    ] + [(f"amlsim:{d.name}", d, "amlsim") for d in _amlsim_dirs(args.data_root)]
    datasets += [
        (f"amlsim:{d.name}-ordinary-amounts", _ordinary_amounts(d, args.data_root), "amlsim")
        for d in _amlsim_dirs(args.data_root)
    ]
    datasets += [(f"amlsim:{d.name}", d, "amlsim") for d in args.amlsim]
    rows: list[dict[str, Any]] = []
    for name, folder, kind in datasets:
        if args.only and name not in args.only and name.split(":")[1] not in args.only:
            continue
        if kind == "generator":
            folder = _generator_dir(args.data_root, name.split(":")[1], args.customers, args.seed)
        rows.extend(run_dataset(name, folder, kind=kind, seed=args.seed, settings=settings))
    before = json.loads(args.before.read_text(encoding="utf-8")) if args.before else None
    args.out.write_text(render(rows, args, before), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
