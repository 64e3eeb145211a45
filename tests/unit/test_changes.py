"""Tag changes between two runs: known answers for gained, lost, changed and unchanged."""

from __future__ import annotations

import json

import pandas as pd

from graphprofile.changes import CHANGE_COLUMNS, summarise_changes, tag_changes

AT = pd.Timestamp("2026-12-01T00:00:00Z")


def _tags(rows: list[tuple[str, str, str, float, list]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "tag": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "score": [r[3] for r in rows],
            "reasons": [json.dumps(r[4]) for r in rows],
            "run_id": "x",
            "computed_at": AT,
        }
    )


RING = [{"type": "ring", "ring_id": "R2", "kind": "fan_in"}]
OLD = _tags(
    [
        ("C1", "risk:high", "customer", 0.9, [{"type": "known_fraud"}]),  # stays (score moves)
        ("C1", "community", "3", 40.0, []),  # community 3 -> 5: changed
        ("C2", "risk:medium", "customer", 0.5, [{"type": "young_accounts"}]),  # lost
        ("C3", "ring_member", "R1", 0.8, RING),  # R1 kept, R2 gained
        ("C4", "ring_member", "R7", 0.7, []),  # two rings -> one other ring
        ("C4", "ring_member", "R8", 0.7, []),
    ]
)
NEW = _tags(
    [
        ("C1", "risk:high", "customer", 0.95, [{"type": "known_fraud"}]),
        ("C1", "community", "5", 41.0, []),
        ("C2", "risk:high", "customer", 0.91, RING),  # gained (medium lost)
        ("C3", "ring_member", "R1", 0.8, RING),
        ("C3", "ring_member", "R2", 0.85, RING),
        ("C4", "ring_member", "R9", 0.6, []),
        ("C5", "near_known_fraud", "1", 0.5, []),  # a new customer
    ]
)


def test_known_answer() -> None:
    changes = tag_changes(OLD, NEW, previous_run_id="r1", run_id="r2", computed_at=AT)
    assert list(changes.columns) == CHANGE_COLUMNS
    got = [
        (r.customer_id, r.tag, r.change, r.old_value, r.new_value)
        for r in changes.astype(object).where(changes.notna(), None).itertuples()
    ]
    assert got == [
        ("C1", "community", "changed", "3", "5"),
        ("C2", "risk:high", "gained", None, "customer"),
        ("C2", "risk:medium", "lost", "customer", None),
        ("C3", "ring_member", "gained", None, "R2"),
        ("C4", "ring_member", "changed", "R7", "R9"),
        ("C4", "ring_member", "lost", "R8", None),
        ("C5", "near_known_fraud", "gained", None, "1"),
    ]
    by = changes.set_index(["customer_id", "tag", "change"])
    gained = by.loc[("C2", "risk:high", "gained")]
    assert json.loads(gained["reasons"]) == RING  # why it was gained: the new reasons
    assert pd.isna(gained["old_score"]) and gained["new_score"] == 0.91
    lost = by.loc[("C2", "risk:medium", "lost")]
    assert json.loads(lost["reasons"]) == [{"type": "young_accounts"}]  # why it was held
    assert lost["old_score"] == 0.5 and pd.isna(lost["new_score"])
    assert set(changes["previous_run_id"]) == {"r1"} and set(changes["run_id"]) == {"r2"}
    assert (changes["computed_at"] == AT).all()


def test_identical_runs_have_no_changes_and_order_does_not_matter() -> None:
    assert tag_changes(NEW, NEW).empty
    shuffled = NEW.sample(frac=1, random_state=3)
    assert tag_changes(OLD, shuffled).equals(tag_changes(OLD, NEW))


def test_swapping_runs_swaps_gained_and_lost() -> None:
    forward = tag_changes(OLD, NEW)
    backward = tag_changes(NEW, OLD)
    swap = {"gained": "lost", "lost": "gained", "changed": "changed"}
    f = {(r.customer_id, r.tag, swap[r.change]) for r in forward.itertuples()}
    b = {(r.customer_id, r.tag, r.change) for r in backward.itertuples()}
    assert f == b


def test_summary_counts_per_tag() -> None:
    summary = summarise_changes(tag_changes(OLD, NEW))
    assert summary["ring_member"] == {"gained": 1, "lost": 1, "changed": 1}
    assert summary["risk:high"] == {"gained": 1, "lost": 0, "changed": 0}
    assert summarise_changes(tag_changes(NEW, NEW)) == {}
