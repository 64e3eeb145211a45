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
