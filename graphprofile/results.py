"""What a run found, in a few numbers: the ``results`` block of ``run.json``.

The console summary of ``graphprofile run`` renders it, ``--json`` prints it with the rest of
``run.json``, and the report shows the same counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphprofile.sinks.report_data import reasons_in_words

#: Rings listed in the summary (riskiest first).
TOP_RINGS = 5


def ring_headline(reasons: Any) -> str:
    """One line about a ring: its pattern evidence in words (the reason after the kind)."""
    words = reasons_in_words(reasons)
    return words[1] if len(words) > 1 else (words[0] if words else "")


def results_summary(
    features: pd.DataFrame | None,
    rings: pd.DataFrame | None,
    tags: pd.DataFrame | None,
    meta: dict[str, Any],
    *,
    top: int = TOP_RINGS,
) -> dict[str, Any]:
    """Counts of communities, rings per kind, tagged customers, the top rings and what was
    skipped.

    Parameters
    ----------
    features, rings, tags : pandas.DataFrame or None
        The analysis tables (``None`` when the analysis did not run).
    meta : dict
        The analysis ``meta`` (for ``skipped``).
    top : int, default 5
        Rings listed.

    Returns
    -------
    dict
        ``communities`` (``count``, ``singletons``, ``largest``), ``rings`` (per kind),
        ``rings_total``, ``risk_high``, ``risk_medium``, ``top_rings`` (``ring_id``,
        ``kind``, ``size``, ``risk``, ``reason``) and ``skipped`` (``what``, ``why``).
    """
    out: dict[str, Any] = {}
    if features is not None and "community_id" in features and len(features):
        sizes = features["community_id"].dropna().value_counts()
        out["communities"] = {
            "count": len(sizes),
            "singletons": int((sizes == 1).sum()),
            "largest": int(sizes.max()) if len(sizes) else 0,
        }
    if rings is not None:
        kinds = rings["kind"].astype(str).value_counts().sort_index() if len(rings) else {}
        out["rings"] = {str(k): int(v) for k, v in dict(kinds).items()}
        out["rings_total"] = len(rings)
        chosen = (
            rings.assign(_r=pd.to_numeric(rings["risk"], errors="coerce").fillna(0.0))
            .sort_values(["_r", "size", "ring_id"], ascending=[False, False, True])
            .head(top)
            if len(rings)
            else rings
        )
        out["top_rings"] = [
            {
                "ring_id": str(r["ring_id"]),
                "kind": str(r["kind"]),
                "size": int(r["size"]),
                "risk": round(float(r["risk"]), 4),
                "reason": ring_headline(r.get("reasons")),
            }
            for r in chosen.to_dict("records")
        ]
    if tags is not None and "tag" in tags:
        counts = tags["tag"].value_counts()
        out["risk_high"] = int(counts.get("risk:high", 0))
        out["risk_medium"] = int(counts.get("risk:medium", 0))
    skipped = []
    for line in meta.get("skipped", []) if isinstance(meta, dict) else []:
        what, _, why = str(line).partition(": ")
        skipped.append({"what": what.replace("_", " "), "why": why})
    out["skipped"] = skipped
    return json_ready(out)


def json_ready(value: Any) -> Any:
    """numpy scalars to Python (the summary goes into JSON)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
