"""Write analysis results back onto the graph as ``gp_`` properties, labels and nodes.

What a Bloom user sees after :func:`write_back`:

- every analysed ``(:Customer)`` carries ``gp_`` properties (``gp_community``,
  ``gp_pagerank``, ``gp_pagerank_pct``, ``gp_risk``, ``gp_ring``, ...) and
  ``gp_run_id``; labels ``:Influencer``, ``:RingMember``, ``:HighRisk`` where they hold;
- ``(:Community {community_id, ...})`` and ``(:Ring {ring_id, kind, risk, reasons})`` nodes
  with ``(:Customer)-[:MEMBER_OF {gp_run_id}]->(...)``;
- one ``(:GraphProfileRun {run_id, started_at, completed, ...})`` node per run.

A write-back is a sequence of batches, not one transaction. While it runs (or if it was
interrupted) the run node has ``completed = false`` and customers carry a mix of the old
and the new ``gp_run_id``. Running it again (same or new ``run_id``) converges to exactly
the state of an uninterrupted run: every statement is a ``MERGE``/``SET`` keyed by ids,
and the final clean-up removes whatever the current run did not write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from graphprofile.domain import CUSTOMER_LABELS
from graphprofile.errors import StoreError
from graphprofile.store.base import (
    TS_FORMAT,
    Progress,
    RowProgress,
    Store,
    clean_value,
    frame_to_rows,
    validate_name,
)
from graphprofile.store.cypher import statement

#: Labels put on customers, each from a boolean column of ``features``.
DEFAULT_LABELS: dict[str, str] = {c.label: c.column for c in CUSTOMER_LABELS}
#: Feature columns whose property name is not simply ``gp_<column>``.
PROPERTY_NAMES: dict[str, str] = {
    "community_id": "gp_community",
    "ring_id": "gp_ring",
    "risk_score": "gp_risk",
}
PREFIX = "gp_"


def property_name(column: str) -> str:
    """The customer property a feature column is written to (validated)."""
    name = PROPERTY_NAMES.get(column)
    if name is None:
        name = column if column.startswith(PREFIX) else PREFIX + column
    return validate_name(name, f"property (from features column {column!r})")


def write_back(
    store: Store,
    *,
    run_id: str,
    features: pd.DataFrame,
    rings: pd.DataFrame,
    communities: pd.DataFrame,
    run_meta: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write one run's results onto the graph and remove what no longer holds.

    Parameters
    ----------
    store : Store
        Open store holding the loaded graph.
    run_id : str
        Identifier of this run; written as ``gp_run_id`` everywhere.
    features : pandas.DataFrame
        One row per customer: ``customer_id`` plus any columns, each written as a ``gp_``
        property (see :data:`PROPERTY_NAMES`; ``community_id`` and ``ring_id`` also make
        ``MEMBER_OF`` relationships). Null values remove the property.
    rings : pandas.DataFrame
        ``ring_id``, ``customers`` (list) and ring features (``kind``, ``risk``,
        ``reasons``...); lists stay lists, maps become JSON text.
    communities : pandas.DataFrame
        ``community_id`` and community features.
    run_meta : mapping
        Properties of the ``(:GraphProfileRun)`` node (maps become JSON text; never put
        credentials here).
    labels : mapping, optional
        ``{label: boolean column of features}``; default :data:`DEFAULT_LABELS`. A label
        whose column is missing is not given to anyone this run (and so is removed).
    batch_size : int, default 10000
        Rows per write transaction (and nodes per clean-up page).
    progress : callable, optional
        ``progress(step, rows_done, rows_total)`` for every step that writes rows
        (``customers``, ``labels``, ``communities``, ``rings``, ``member_of``): first with 0
        for every step once the rows are known, then after every batch.

    Returns
    -------
    dict
        Rows written per step, labels given, stale items removed, seconds.

    Raises
    ------
    StoreError
        Unsafe column or label name, bad values, or a failed statement (the message
        says which step; re-running ``write_back`` completes the run).
    """
    if not isinstance(run_id, str) or not run_id:
        raise StoreError("write-back needs a non-empty run_id")
    if "customer_id" not in features.columns:
        raise StoreError("features must have a customer_id column")
    if features["customer_id"].isna().any() or features["customer_id"].duplicated().any():
        raise StoreError("features.customer_id must be unique and not null")
    labels = dict(DEFAULT_LABELS if labels is None else labels)
    for label in labels:
        validate_name(label, "label")
    started = time.perf_counter()
    summary: dict[str, Any] = {"run_id": run_id}
    step = "start"
    done: list[str] = []
    try:
        # Names first: nothing is written if a column or label is unsafe.
        columns = [c for c in features.columns if c != "customer_id"]
        props_of = {c: property_name(str(c)) for c in columns}
        customer_rows = _customer_rows(features, props_of)
        community_nodes, community_members = _communities(features, communities)
        ring_nodes, ring_members = _rings(features, rings)
        label_ids = _label_ids(features, labels)
        row_progress = RowProgress(
            {
                "customers": len(customer_rows),
                "labels": sum(len(yes) + len(no) for yes, no in label_ids.values()),
                "communities": len(community_nodes),
                "rings": len(ring_nodes),
                "member_of": len(community_members) + len(ring_members),
            },
            progress,
        )

        done.append(step)
        step = "run node"
        previous = set(store.run(statement("writeback/previous_labels"))["label"].dropna())
        managed = sorted(set(labels) | set(DEFAULT_LABELS) | {str(x) for x in previous})
        meta = _meta(run_meta)
        meta.update(
            labels=sorted(labels),
            properties=sorted(set(props_of.values())),
            n_customers=len(features),
        )
        store.run(
            statement("writeback/run_start"),
            {"run_id": run_id, "meta": meta, "started_at": _now()},
        )

        done.append(step)
        step = "customer properties"
        existing = set(store.run(statement("writeback/customer_property_keys"))["key"])
        written = set(props_of.values()) | {"gp_run_id"}
        clear = {k: None for k in sorted(existing - written) if validate_name(k, "property")}
        for row in customer_rows:
            row["props"].update(clear)
        params = {"run_id": run_id}
        summary["customers"] = store.write_batches(
            statement("writeback/customers"),
            customer_rows,
            batch_size,
            params=params,
            progress=row_progress.batches("customers"),
        )
        summary["customers_missing"] = len(customer_rows) - summary["customers"]

        done.append(step)
        step = "labels"
        summary["labels"] = {}
        for label, (yes, no) in label_ids.items():
            store.write_batches(
                statement("writeback/label_remove", LABEL=label),
                [{"customer_id": i} for i in no],
                batch_size,
                progress=row_progress.batches("labels"),
            )
            summary["labels"][label] = store.write_batches(
                statement("writeback/label_set", LABEL=label),
                [{"customer_id": i} for i in yes],
                batch_size,
                progress=row_progress.batches("labels"),
            )

        done.append(step)
        step = "Community and Ring nodes"
        summary["communities"] = store.write_batches(
            statement("writeback/communities"),
            community_nodes,
            batch_size,
            params=params,
            progress=row_progress.batches("communities"),
        )
        summary["rings"] = store.write_batches(
            statement("writeback/rings"),
            ring_nodes,
            batch_size,
            params=params,
            progress=row_progress.batches("rings"),
        )
        done.append(step)
        step = "MEMBER_OF relationships"
        summary["member_of"] = store.write_batches(
            statement("writeback/member_of_community"),
            community_members,
            batch_size,
            params=params,
            progress=row_progress.batches("member_of"),
        ) + store.write_batches(
            statement("writeback/member_of_ring"),
            ring_members,
            batch_size,
            params=params,
            progress=row_progress.batches("member_of"),
        )

        done.append(step)
        step = "stale tag removal"
        page = {"run_id": run_id, "limit": batch_size}
        removed: dict[str, int] = {}
        removed["member_of"] = _until_zero(store, statement("writeback/stale_member_of"), page)
        removed["groups"] = _until_zero(store, statement("writeback/stale_groups"), page)
        removed["groups"] += _until_zero(store, statement("writeback/orphan_groups"), page)
        for label in managed:
            if label not in label_ids:
                # not asserted this run: nobody keeps it
                removed[label] = _until_zero(
                    store,
                    statement("writeback/label_remove_all", LABEL=label),
                    {"limit": batch_size},
                )
            else:
                removed[label] = _until_zero(
                    store, statement("writeback/stale_labels", LABEL=label), page
                )
        nulls = {k: None for k in sorted(existing | written)}
        removed["customers"] = _until_zero(
            store, statement("writeback/stale_properties"), {**page, "nulls": nulls}
        )
        summary["removed"] = removed

        done.append(step)
        step = "run completion"
        summary["seconds"] = round(time.perf_counter() - started, 3)
        store.run(
            statement("writeback/run_complete"),
            {"run_id": run_id, "completed_at": _now(), "summary": _flat(summary)},
        )
    except StoreError as exc:
        finished = [d for d in done if d != "start"]
        raise StoreError(
            f"write-back of run {run_id} stopped at step '{step}' (steps completed: "
            f"{', '.join(finished) if finished else 'none'}): {exc}. Until it completes, the "
            f"(:GraphProfileRun {{run_id: '{run_id}'}}) node says completed=false and customers "
            "carry a mix of old and new gp_run_id; run the same command again to complete it "
            "(write-back is idempotent)"
        ) from None
    return summary


def _customer_rows(features: pd.DataFrame, props_of: dict[str, str]) -> list[dict[str, Any]]:
    renamed = features.rename(columns=props_of)
    rows = frame_to_rows(_jsonify(renamed), table="features")
    return [{"customer_id": r.pop("customer_id"), "props": r} for r in rows]


def _label_ids(
    features: pd.DataFrame, labels: dict[str, str]
) -> dict[str, tuple[list[Any], list[Any]]]:
    out = {}
    for label, column in labels.items():
        if column not in features.columns:
            continue
        flag = _truthy(features[column])
        ids = features["customer_id"]
        out[label] = (ids[flag].tolist(), ids[~flag].tolist())
    return out


def _truthy(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.fillna(0).astype(bool)
    text = series.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "y", "t"]).fillna(False).astype(bool)


def _communities(
    features: pd.DataFrame, communities: pd.DataFrame
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    frame = communities.copy()
    if len(frame) and "community_id" not in frame.columns:
        raise StoreError("communities must have a community_id column")
    nodes = _group_rows(frame, "community_id", "communities")
    members: list[dict[str, Any]] = []
    if "community_id" in features.columns:
        pairs = features[["customer_id", "community_id"]].dropna()
        members = frame_to_rows(pairs, table="features")
        known = {n["community_id"] for n in nodes}
        for cid in dict.fromkeys(m["community_id"] for m in members):
            if cid not in known:
                nodes.append({"community_id": cid, "props": {}})
    return nodes, members


def _rings(
    features: pd.DataFrame, rings: pd.DataFrame
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    frame = rings.copy()
    if len(frame) and "ring_id" not in frame.columns:
        raise StoreError("rings must have a ring_id column")
    pairs: list[dict[str, Any]] = []
    if "customers" in frame.columns:
        exploded = frame[["ring_id", "customers"]].explode("customers").dropna()
        exploded = exploded.rename(columns={"customers": "customer_id"})
        pairs += frame_to_rows(exploded[["customer_id", "ring_id"]], table="rings")
        frame = frame.drop(columns=["customers"])
    if "ring_id" in features.columns:
        pairs += frame_to_rows(features[["customer_id", "ring_id"]].dropna(), table="features")
    members = list({(p["customer_id"], p["ring_id"]): p for p in pairs}.values())
    nodes = _group_rows(frame, "ring_id", "rings")
    known = {n["ring_id"] for n in nodes}
    for rid in dict.fromkeys(m["ring_id"] for m in members):
        if rid not in known:
            nodes.append({"ring_id": rid, "props": {}})
    return nodes, members


def _group_rows(frame: pd.DataFrame, key: str, table: str) -> list[dict[str, Any]]:
    if not len(frame):
        return []
    if frame[key].isna().any() or frame[key].duplicated().any():
        raise StoreError(f"{table}.{key} must be unique and not null")
    rows = frame_to_rows(_jsonify(frame), table=table)
    return [{key: r.pop(key), "props": r} for r in rows]


def _jsonify(frame: pd.DataFrame) -> pd.DataFrame:
    """Maps (and lists holding maps or lists) become JSON text; ``reasons`` always does."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        values = out[col]
        needs = values.map(_needs_json)
        if col == "reasons":
            needs = values.map(lambda v: v is not None and not isinstance(v, str) and not _na(v))
        if needs.any():
            out[col] = [_to_json(v) if n else v for v, n in zip(values, needs, strict=True)]
    return out


def _na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _needs_json(value: Any) -> bool:
    if isinstance(value, Mapping):
        return True
    if isinstance(value, list | tuple):
        return any(isinstance(v, Mapping | list | tuple) for v in value)
    return False


def _to_json(value: Any) -> str:
    if hasattr(value, "tolist"):
        value = value.tolist()
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def _meta(run_meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in run_meta.items():
        validate_name(str(key), "run_meta key")
        if isinstance(value, Mapping) or _needs_json(value):
            out[str(key)] = _to_json(value)
        else:
            out[str(key)] = clean_value(value)
    out.pop("run_id", None)
    return out


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key == "run_id":
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                out[validate_name(f"{key}_{sub}", "summary key")] = v
        else:
            out[key] = value
    return out


def _until_zero(store: Store, query: str, params: dict[str, Any]) -> int:
    total = 0
    while True:
        frame = store.run(query, params)
        n = int(frame["rows"].sum()) if "rows" in frame.columns and len(frame) else 0
        total += n
        if n == 0:
            return total


def _now() -> str:
    return datetime.now(UTC).strftime(TS_FORMAT)
