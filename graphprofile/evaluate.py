"""Quality of an analysis run against a generator's truth directory.

Definitions (also in ``docs/ANALYSIS.md``):

- **Ring recall / precision per kind.** A ring's members are its accounts for money-flow
  kinds and its customers for ``identity`` rings. A planted ring is *recovered* when a
  found ring of the same kind has a member-set Jaccard similarity of at least
  ``min_jaccard`` (0.5) with it. Recall = recovered planted rings / planted rings; precision =
  found rings matching some planted ring of their kind / found rings of that kind.
- **Customer risk AUC and average precision.** Positives are the customers in any
  planted ring; the score is ``features.risk_score``. AUC is the Mann-Whitney statistic
  (ties count one half); average precision is the step-wise area under the
  precision-recall curve over distinct score thresholds (as scikit-learn computes it).
- **Community NMI.** Normalised mutual information (arithmetic mean normalisation,
  igraph ``compare_communities(method="nmi")``) between planted and found communities
  over the customers present in both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile.domain import FLOW_KINDS, LAYER_KINDS, RING_KINDS
from graphprofile.errors import InputError
from graphprofile.outputs import RUN_JSON, RunOutputs, load_outputs, read_table

KINDS = RING_KINDS
#: Kinds whose members are accounts (money flows), not customers.
ACCOUNT_KINDS = FLOW_KINDS


def _read_truth(truth_dir: Path, name: str) -> pd.DataFrame:
    path = Path(truth_dir) / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"{path} not found; is {truth_dir} a `graphprofile generate` truth/?")
    return read_table(path)


def _result(outputs: RunOutputs, name: str) -> pd.DataFrame:
    table = getattr(outputs, name)
    if table is None:
        raise InputError(f"{outputs.out_dir / RUN_JSON} lists no {name} table; run the analysis")
    return table


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [str(v) for v in json.loads(value)]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(v) for v in value]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count one half); NaN without both classes."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(scores, dtype="float64")).rank(method="average").to_numpy()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision over distinct thresholds (scikit-learn's definition)."""
    labels = np.asarray(labels, dtype=bool)
    if labels.sum() == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype="float64"), kind="stable")
    s, y = np.asarray(scores, dtype="float64")[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each tie block
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / labels.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def ring_scores(
    found: pd.DataFrame, planted: pd.DataFrame, *, min_jaccard: float = 0.5
) -> dict[str, dict[str, float | int]]:
    """Recall and precision per kind.

    Parameters
    ----------
    found : pandas.DataFrame
        ``ring_id, kind, member`` (one row per found ring member).
    planted : pandas.DataFrame
        ``ring_id, kind, member`` (one row per planted ring member).
    min_jaccard : float, default 0.5
        Member-set Jaccard needed for a match.

    Returns
    -------
    dict
        ``{kind: {"planted", "found", "recovered", "matched", "recall", "precision"}}`` per
        ring kind. A found ring with at least half its members in one planted ring of a
        layered kind (:data:`~graphprofile.domain.LAYER_KINDS`: a fan inside a layer, a
        layer inside a stack) counts as matched: it found laundering of another shape, not
        a false ring.
    """
    f_size = found.groupby("ring_id").size().rename("f_size")
    p_size = planted.groupby("ring_id").size().rename("p_size")
    both = found.merge(planted, on=["kind", "member"], suffixes=("_f", "_p"))
    inter = both.groupby(["ring_id_f", "ring_id_p", "kind"]).size().rename("inter").reset_index()
    inter = inter.join(f_size, on="ring_id_f").join(p_size, on="ring_id_p")
    inter["jaccard"] = inter["inter"] / (inter["f_size"] + inter["p_size"] - inter["inter"])
    ok = inter[inter["jaccard"] >= min_jaccard]
    # a found ring of any kind lying mostly inside one planted layered ring (a fan inside a
    # layer, one layer of a stack) found real laundering in another shape: not a false ring
    in_layer = found.merge(
        planted[planted["kind"].isin(LAYER_KINDS)][["ring_id", "member"]],
        on="member",
        suffixes=("_f", "_p"),
    )
    share = in_layer.groupby(["ring_id_f", "ring_id_p"]).size().div(f_size, level="ring_id_f")
    layered = set(share[share >= 0.5].index.get_level_values("ring_id_f"))
    out: dict[str, dict[str, float | int]] = {}
    for kind in KINDS:
        n_p = int(planted.loc[planted["kind"] == kind, "ring_id"].nunique())
        of_kind = found.loc[found["kind"] == kind, "ring_id"]
        n_f = int(of_kind.nunique())
        k = ok[ok["kind"] == kind]
        matched = set(k["ring_id_f"]) | (set(of_kind) & layered)
        rec, mat = int(k["ring_id_p"].nunique()), len(matched)
        out[kind] = {
            "planted": n_p,
            "found": n_f,
            "recovered": rec,
            "matched": mat,
            "recall": rec / n_p if n_p else float("nan"),
            "precision": mat / n_f if n_f else float("nan"),
        }
    return out


def evaluate(out_dir: Path, truth_dir: Path, *, min_jaccard: float = 0.5) -> dict[str, Any]:
    """Compare an analysis output directory with a truth directory.

    Parameters
    ----------
    out_dir : Path
        Output directory of ``graphprofile run`` (``features`` and ``rings``, any format).
    truth_dir : Path
        Generator truth with ``rings.parquet`` and ``communities.parquet``
        (``influencers.parquet`` optional).
    min_jaccard : float, default 0.5
        Member-set Jaccard for a found ring to match a planted one.

    Returns
    -------
    dict
        ``rings`` (per ring kind), ``layers`` (per layered kind the generator plants and
        also a ring kind: ``planted``, ``customers``, ``risk_auc`` of its
        members against customers in no planted ring), ``risk`` (``auc``,
        ``average_precision``, ``positives``),
        ``communities`` (``nmi``, counts) and ``influencers`` (recall in the top 5 %).

    Raises
    ------
    InputError
        No finished run in ``out_dir``, or a required file is missing or unreadable.
    """
    outputs = load_outputs(out_dir, graph=False, tables=("features", "rings"))
    features, rings = _result(outputs, "features"), _result(outputs, "rings")
    t_rings = _read_truth(truth_dir, "rings")
    t_comm = _read_truth(truth_dir, "communities")

    t_rings = t_rings.astype({"ring_id": "str", "kind": "str"})
    flow = t_rings["kind"].isin(ACCOUNT_KINDS) & t_rings["account_id"].notna()
    planted = pd.DataFrame(
        {
            "ring_id": t_rings["ring_id"],
            "kind": t_rings["kind"],
            "member": np.where(flow, t_rings["account_id"].astype("str"), t_rings["customer_id"]),
        }
    ).drop_duplicates()
    found_parts = []
    if len(rings):
        r = rings.assign(
            member=[
                _as_list(a) if k in ACCOUNT_KINDS else _as_list(c)
                for k, a, c in zip(
                    rings["kind"], rings["accounts"], rings["customers"], strict=True
                )
            ]
        )
        found_parts.append(r[["ring_id", "kind", "member"]].explode("member").dropna())
    found = (
        pd.concat(found_parts, ignore_index=True).astype("str").drop_duplicates()
        if found_parts
        else pd.DataFrame({"ring_id": [], "kind": [], "member": []})
    )
    ring_metrics = ring_scores(found, planted, min_jaccard=min_jaccard)

    cust = features["customer_id"].astype("str")
    positives = cust.isin(set(t_rings["customer_id"].astype("str"))).to_numpy()
    score = pd.to_numeric(features["risk_score"]).to_numpy(dtype="float64")
    risk = {
        "auc": roc_auc(positives, score),
        "average_precision": average_precision(positives, score),
        "positives": int(positives.sum()),
        "customers": len(features),
    }

    merged = features[["customer_id", "community_id"]].astype({"customer_id": "str"})
    merged = merged.merge(t_comm.astype({"customer_id": "str"}), on="customer_id").dropna()
    nmi = float("nan")
    if len(merged):
        a = pd.factorize(merged["community"])[0].tolist()
        b = pd.factorize(merged["community_id"])[0].tolist()
        nmi = float(ig.compare_communities(a, b, method="nmi"))
    communities = {
        "nmi": nmi,
        "planted": int(t_comm["community"].nunique()),
        "found": int(features["community_id"].nunique()),
        "customers_compared": len(merged),
    }
    result: dict[str, Any] = {
        "rings": ring_metrics,
        "layers": _layer_scores(t_rings, cust, positives, score),
        "risk": risk,
        "communities": communities,
    }
    infl_path = Path(truth_dir) / "influencers.parquet"
    if infl_path.exists() and "pagerank_pct" in features:
        hubs = set(pd.read_parquet(infl_path)["customer_id"].astype("str"))
        is_hub = cust.isin(hubs).to_numpy()
        top = pd.to_numeric(features["pagerank_pct"]).to_numpy() > 95.0
        result["influencers"] = {
            "planted": int(is_hub.sum()),
            "recall_top5pct": float((top & is_hub).sum() / is_hub.sum()) if is_hub.any() else None,
        }
    return _no_nan(result)


def _layer_scores(
    t_rings: pd.DataFrame, cust: pd.Series, positives: np.ndarray, score: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per layered kind (:data:`~graphprofile.domain.LAYER_KINDS`):
    planted rings, member customers, and the risk AUC of those members against the
    customers in no planted ring."""
    out: dict[str, dict[str, Any]] = {}
    for kind in LAYER_KINDS:
        rows = t_rings[t_rings["kind"] == kind]
        member = cust.isin(set(rows["customer_id"].astype("str"))).to_numpy()
        pick = member | ~positives
        out[kind] = {
            "planted": int(rows["ring_id"].nunique()),
            "customers": int(member.sum()),
            "risk_auc": roc_auc(member[pick], score[pick]) if member.any() else float("nan"),
        }
    return out


def _no_nan(value: Any) -> Any:
    """NaN (undefined ratio, e.g. no planted ring of a kind) becomes ``None`` for JSON."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
