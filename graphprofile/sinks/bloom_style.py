"""Bloom rule-based styling: risk → colour scale, PageRank → size, labels highlighted.

The shape of the individual rules was not seen in a real perspective export: check it
against one exported from the target Bloom version (see ``docs/INVESTIGATORS.md``).
"""

from __future__ import annotations

import uuid
from typing import Any

from graphprofile.store.writeback import property_name

#: Namespace of the deterministic ids (same input → same file, diffable).
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://graphprofile/bloom")
#: Range of ``gp_pagerank_pct`` when the store is not asked for the observed one.
PAGERANK_PCT_RANGE = (0.0, 100.0)

PALETTE = ["#FFE081", "#C990C0", "#F79767", "#57C7E3", "#F16667", "#D9C8AE", "#8DCC93"]
PALETTE += ["#ECB5C9", "#4C8EDA", "#FFC454", "#DA7194", "#569480", "#848484", "#D9D9D9"]


def range_rule(prop: str, low: float, high: float, *, colors=None, sizes=None) -> dict[str, Any]:
    """A range style rule: colour and/or size interpolated over ``[low, high]`` of ``prop``.

    Best-known shape of a Bloom rule-based style; not verified against an export.
    """
    rule: dict[str, Any] = {
        "id": str(uuid.uuid5(_NS, f"rule:{prop}:{colors}:{sizes}")),
        "type": "range",
        "basedOn": prop,
        "dataType": "number",
        "condition": "range",
        "minValue": low,
        "maxValue": high,
        "applyColor": colors is not None,
        "applySize": sizes is not None,
        "applyCaption": False,
        "disabled": False,
        "existingValues": [],
    }
    if colors is not None:
        rule.update(minColor=colors[0], midColor=colors[1], maxColor=colors[2])
    if sizes is not None:
        rule.update(minSize=sizes[0], maxSize=sizes[1])
    return rule


def single_rule(
    prop: str, condition: str, value: Any, *, color: str | None, size: float | None, dtype: str
) -> dict[str, Any]:
    """A single-condition style rule (``condition``: ``equals``, ``greater``, ``isNotNull``…).

    Best-known shape of a Bloom rule-based style; not verified against an export.
    """
    return {
        "id": str(uuid.uuid5(_NS, f"rule:{prop}:{condition}:{value}")),
        "type": "single",
        "basedOn": prop,
        "dataType": dtype,
        "condition": condition,
        "conditionValue": value,
        "applyColor": color is not None,
        "applySize": size is not None,
        "applyCaption": False,
        "color": color,
        "size": size,
        "disabled": False,
        "existingValues": [],
    }


def style_rules(
    pagerank_range: tuple[float, float] = PAGERANK_PCT_RANGE,
) -> dict[str, dict[str, Any]]:
    """The named style rules the categories refer to.

    Parameters
    ----------
    pagerank_range : tuple of float, default (0, 100)
        Range of ``gp_pagerank_pct`` mapped to node size (read from the store when given).
    """
    low, high = pagerank_range
    return {
        "risk_color": range_rule(
            property_name("risk_score"), 0.0, 1.0, colors=("#FFF3BF", "#FF922B", "#E03131")
        ),
        "pagerank_size": range_rule(property_name("pagerank_pct"), low, high, sizes=(1.0, 4.0)),
        "ring_highlight": single_rule(
            property_name("ring_id"), "isNotNull", None, color="#F59F00", size=None, dtype="string"
        ),
        "ring_risk_color": range_rule("risk", 0.0, 1.0, colors=("#FFC9C9", "#FA5252", "#862E9C")),
    }
