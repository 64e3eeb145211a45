"""Graph-database sink: ``graphprofile run --store URI`` loads the graph and writes tags back.

The stage runs after the file outputs, so a failed write-back never costs the files; it is
idempotent (``MERGE`` loads, ``gp_run_id``-stamped tags, a ``(:GraphProfileRun)`` node
marked complete only at the end), so re-running the same command converges.

Labels for Bloom come from the tags table, so they always agree with it:
``:Influencer`` ← any ``influencer:*`` tag, ``:RingMember`` ← ``ring_member``,
``:HighRisk`` ← ``risk:high``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from graphprofile.pipeline import EXTRA_STAGES, STAGE_ENABLED, JobState, Reporter

LABEL_TAGS = {
    "is_influencer": ("influencer:", True),
    "is_ring_member": ("ring_member", False),
    "is_high_risk": ("risk:high", False),
}


def label_columns(features: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """Features plus one boolean column per Bloom label, derived from the tags."""
    out = features.copy()
    for column, (tag, is_prefix) in LABEL_TAGS.items():
        hit = tags["tag"].str.startswith(tag) if is_prefix else tags["tag"] == tag
        holders = pd.Index(tags.loc[hit.fillna(False).astype(bool), "customer_id"].unique())
        out[column] = out["customer_id"].isin(holders).to_numpy()
    return out


def write_to_store(state: JobState, reporter: Reporter) -> None:
    """Load the canonical graph into ``state.config.store`` and write the results back."""
    uri = state.config.store
    if not uri:
        return
    from graphprofile.store import apply_schema, load_graph, open_store, write_back

    summary: dict[str, Any] = {}
    with open_store(uri) as store:
        if not state.config.from_store:
            assert state.graph is not None
            apply_schema(store)
            reporter.notice("loading the canonical graph into the store")
            loaded = load_graph(store, state.graph)
            summary["load"] = {k: loaded[k] for k in ("nodes", "relationships", "rows_per_s")}
        result = state.analysis
        if result is None:
            state.notices.append("store: graph loaded; no analysis results to write back")
        else:
            features = label_columns(result.features, result.tags)
            written = write_back(
                store,
                run_id=state.run_id,
                features=features,
                rings=result.rings,
                communities=result.communities,
                run_meta={
                    "started_at": state.started_at.isoformat(),
                    "seed": state.config.seed,
                    "data_dir": str(state.config.data_dir),
                },
            )
            summary["write_back"] = {
                k: v for k, v in written.items() if isinstance(v, int | float | str)
            }
    state.outputs["store"] = state.config.parameters()["store"] or ""
    state.store_summary = summary


if all(name != "graph write-back" for name, _ in EXTRA_STAGES):
    EXTRA_STAGES.append(("graph write-back", write_to_store))
    STAGE_ENABLED["graph write-back"] = lambda config: bool(config.store) and config.write_back
