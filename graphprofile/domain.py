"""Domain constants with one home: ring kinds and the customer labels derived from tags.

Every module that names a ring kind or a Bloom label imports it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Layered typologies (AMLSim's bipartite layer and stack of layers): a ring kind each,
#: found by ``graphprofile.analysis.layers``.
LAYER_KINDS = ("bipartite", "stack")
#: Ring kinds the generator plants (in this order; evaluation reports them so, and
#: reports recall for each).
PLANTED_KINDS = ("identity", "cycle", "fan_in", "fan_out", "scatter_gather", *LAYER_KINDS)
#: Ring kinds the analysis reports: the planted shapes, and groups of accounts linked by
#: transfers unusual for the bank (a kind no generator plants: it is read from the
#: transfers, whatever the shape; see ``graphprofile.analysis.unusual``).
RING_KINDS = (*PLANTED_KINDS, "unusual_transfers")
#: Money-flow ring kinds (members are accounts; identity rings' members are customers).
FLOW_KINDS = RING_KINDS[1:]
#: Money-flow kinds in priority order: an account already in a ring of an earlier kind
#: does not start a ring of a later one (see ``docs/ANALYSIS.md``).
FLOW_PRIORITY = (
    "cycle",
    "scatter_gather",
    "fan_in",
    "fan_out",
    "stack",
    "bipartite",
    "unusual_transfers",
)
#: Kinds whose candidates are not dropped by candidates of earlier kinds (their many
#: ordinary candidates would otherwise suppress, or be suppressed by, unreported ones): a
#: reported ring of one is dropped when half or more of its accounts lie in *reported*
#: rings of the kinds named here (``graphprofile.analysis.assemble``).
LATE_KINDS = {
    # a stack holding scatter-gathers or fans is the larger picture: both are reported
    "stack": ("cycle",),
    "bipartite": ("cycle", "stack"),
    "unusual_transfers": ("cycle", "scatter_gather", "fan_in", "fan_out", "stack", "bipartite"),
}
#: Order of the kinds in the ``rings`` table (and ring ids).
RING_ORDER = ("identity", *FLOW_PRIORITY)


@dataclass(frozen=True)
class CustomerLabel:
    """A label put on customers in the graph database (for Bloom), derived from the tags.

    Attributes
    ----------
    label : str
        Node label (``:HighRisk``).
    column : str
        Boolean column added to the features written back (``is_high_risk``).
    tag : str
        The tag that gives the label, or a tag prefix when ``prefix`` is true.
    prefix : bool
        Whether any tag starting with ``tag`` gives it.
    """

    label: str
    column: str
    tag: str
    prefix: bool = False


#: The labels graphprofile manages on ``:Customer`` nodes.
CUSTOMER_LABELS = (
    CustomerLabel("Influencer", "is_influencer", "influencer:", prefix=True),
    CustomerLabel("RingMember", "is_ring_member", "ring_member"),
    CustomerLabel("HighRisk", "is_high_risk", "risk:high"),
)

__all__ = [
    "CUSTOMER_LABELS",
    "FLOW_KINDS",
    "FLOW_PRIORITY",
    "LATE_KINDS",
    "LAYER_KINDS",
    "PLANTED_KINDS",
    "RING_KINDS",
    "RING_ORDER",
]
