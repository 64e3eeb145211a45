"""Evaluation metrics against scikit-learn and a hand-made ring match."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from graphprofile.errors import InputError
from graphprofile.evaluate import average_precision, evaluate, ring_scores, roc_auc


def test_auc_and_ap_match_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.random(500) < 0.1
    scores = np.round(rng.random(500) + labels * 0.3, 1)  # many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores)
    )


def test_ring_match_needs_same_kind_and_jaccard_half():
    planted = pd.DataFrame(
        {"ring_id": ["p1"] * 4 + ["p2"] * 3, "kind": ["cycle"] * 4 + ["fan_in"] * 3,
         "member": ["a", "b", "c", "d", "x", "y", "z"]}
    )  # fmt: skip
    found = pd.DataFrame(
        {"ring_id": ["f1"] * 3 + ["f2"] * 2 + ["f3"] * 3,
         "kind": ["cycle"] * 3 + ["cycle"] * 2 + ["fan_out"] * 3,
         "member": ["a", "b", "c", "q", "r", "x", "y", "z"]}
    )  # fmt: skip
    scores = ring_scores(found, planted)
    assert scores["cycle"]["recall"] == 1.0  # f1 covers 3 of 4: Jaccard 0.75
    assert scores["cycle"]["precision"] == 0.5  # f2 matches nothing
    assert scores["fan_in"]["recall"] == 0.0  # f3 has the members but the wrong kind
    assert scores["fan_out"]["precision"] == 0.0


def test_missing_output_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"holds no run\.json, so no finished run"):
        evaluate(tmp_path, tmp_path)


def test_layer_kinds_are_scored_by_the_risk_of_their_members():
    from graphprofile.evaluate import _layer_scores

    t_rings = pd.DataFrame(
        {"ring_id": ["s1", "s1", "c1", "c1"], "kind": ["stack", "stack", "cycle", "cycle"],
         "customer_id": ["A", "B", "C", "D"], "account_id": ["a", "b", "c", "d"]}
    )  # fmt: skip
    cust = pd.Series(["A", "B", "C", "D", "E", "F", "G"])
    positives = cust.isin({"A", "B", "C", "D"}).to_numpy()
    # A outranks the three customers in no ring, B only one of them; C and D are left out
    score = np.array([0.9, 0.2, 0.0, 0.0, 0.5, 0.1, 0.3])
    layers = _layer_scores(t_rings, cust, positives, score)
    assert layers["stack"] == {"planted": 1, "customers": 2, "risk_auc": 4 / 6}
    assert layers["bipartite"]["planted"] == 0 and np.isnan(layers["bipartite"]["risk_auc"])


def test_a_ring_found_inside_a_planted_stack_is_not_a_false_ring():
    planted = pd.DataFrame({"ring_id": ["s1"] * 6, "kind": ["stack"] * 6, "member": list("abcdef")})
    found = pd.DataFrame(
        {"ring_id": ["f1"] * 4 + ["f2"] * 3, "kind": ["fan_in"] * 7,
         "member": ["a", "b", "c", "x", "p", "q", "a"]}
    )  # fmt: skip
    scores = ring_scores(found, planted)
    # f1 has 3 of its 4 members in the stack; f2 only 1 of 3
    assert scores["fan_in"]["matched"] == 1 and scores["fan_in"]["precision"] == 0.5
    # the stack itself is a ring kind: planted once, found by no stack ring here
    assert scores["stack"]["planted"] == 1 and scores["stack"]["recall"] == 0.0
