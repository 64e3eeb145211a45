"""Graph-database sink: ``graphprofile run --store URI`` loads the graph and writes tags back.

``run_job`` calls it after the file outputs and the report, so a failed write-back never
costs the files; it is idempotent (``MERGE`` loads, ``gp_run_id``-stamped tags, a
``(:GraphProfileRun)`` node marked complete only at the end), so re-running the same
command converges.

Labels for Bloom come from the tags table, so they always agree with it:
``:Influencer`` ← any ``influencer:*`` tag, ``:RingMember`` ← ``ring_member``,
``:HighRisk`` ← ``risk:high``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from graphprofile.analysis import AnalysisResult
from graphprofile.domain import CUSTOMER_LABELS
from graphprofile.frames import CanonicalGraph
from graphprofile.store.base import Store

#: Boolean feature column → (tag or tag prefix, is a prefix), from the one list of labels.
LABEL_TAGS = {c.column: (c.tag, c.prefix) for c in CUSTOMER_LABELS}


def label_columns(features: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """Features plus one boolean column per Bloom label, derived from the tags."""
    out = features.copy()
    for column, (tag, is_prefix) in LABEL_TAGS.items():
        hit = tags["tag"].str.startswith(tag) if is_prefix else tags["tag"] == tag
        holders = pd.Index(tags.loc[hit.fillna(False).astype(bool), "customer_id"].unique())
        out[column] = out["customer_id"].isin(holders).to_numpy()
    return out


def write_to_store(
    store: Store,
    graph: CanonicalGraph | None,
    result: AnalysisResult | None,
    *,
    run_id: str,
    run_meta: dict[str, Any],
    load: bool = True,
    notice: Callable[[str], None] = lambda _text: None,
    load_progress: Callable[[str, int, int], None] | None = None,
    write_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Load the canonical graph into ``store`` and write the results back as tags.

    Parameters
    ----------
    store : Store
        An open store (``graphprofile run`` opens it before any other work).
    graph : CanonicalGraph or None
        The graph to load (``MERGE``: loading it again converges); ``None`` with
        ``load=False`` (``--engine gds`` reads no graph).
    result : AnalysisResult or None
        The analysis results; ``None``: load only.
    run_id : str
        Stamped on every written tag and on the ``(:GraphProfileRun)`` node.
    run_meta : dict
        Recorded on the ``(:GraphProfileRun)`` node (start time, seed, input).
    load : bool, default True
        Load the graph first (``False`` when it was read from this store).
    notice : callable, optional
        Receives one-line progress messages.
    load_progress, write_progress : callable, optional
        ``progress(table_or_step, rows_done, rows_total)`` after every batch of the load
        (:func:`~graphprofile.store.load_graph`) and of the write-back
        (:func:`~graphprofile.store.write_back`).

    Returns
    -------
    dict
        ``load`` (nodes, relationships, rows/s) and ``write_back`` counts, for ``run.json``.

    Raises
    ------
    StoreError
        A statement failed; what was committed stays, and rerunning converges.
    """
    from graphprofile.store import apply_schema, load_graph, write_back

    summary: dict[str, Any] = {}
    if load:
        assert graph is not None
        apply_schema(store)
        notice("loading the canonical graph into the store")
        loaded = load_graph(store, graph, progress=load_progress)
        summary["load"] = {k: loaded[k] for k in ("nodes", "relationships", "rows_per_s")}
    if result is None:
        notice("store: graph loaded; no analysis results to write back")
        return summary
    written = write_back(
        store,
        run_id=run_id,
        features=label_columns(result.features, result.tags),
        rings=result.rings,
        communities=result.communities,
        run_meta=run_meta,
        progress=write_progress,
    )
    summary["write_back"] = {k: v for k, v in written.items() if isinstance(v, int | float | str)}
    return summary
