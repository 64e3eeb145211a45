"""Known answers for customer risk reasons (risk.customer_risk): every path writes the
exact ``json.dumps(items, sort_keys=True)`` text of the items it lists."""

from __future__ import annotations

import json

import numpy as np

from graphprofile.analysis.risk import (
    ANOMALY_WEIGHT,
    LEARNED_WEIGHT,
    SCORE_POWER,
    customer_risk,
)
from graphprofile.analysis.tags import strongest_reason


def _r(x: float) -> float:
    return round(float(x), 4)


def test_reasons_of_every_kind_are_the_encoders_text() -> None:
    n = 7
    ring = {"type": "cycle", "ring_id": "R1", "weight": 0.8}
    anomaly = np.array([0.99, 0.5, 0.97, 0.999, 0.2, 0.98, 0.995])
    words = [["x"], [], ['many "new" payees', "深夜交易"], [], [], ["burst"], ["x"]]
    learned = np.array([0.1, 0.2, 0.3, 0.9, 0.05, 0.01, 0.95])
    learned_reasons = [
        [],
        [],
        [],
        [{"feature": "a", "words": "in-degree high", "contribution": 0.2}],
        [],
        [],
        [],
    ]
    young = np.array([False, True, True, False, False, False, True])
    cash_out = np.array([False, False, True, False, True, False, False])
    inputs = dict(
        ring_risk_of=np.array([0.8, 0, 0, 0, 0, 0, 0], dtype="float64"),
        ring_reason_of=[ring, None, None, None, None, None, None],
        known=np.array([False, False, False, False, False, True, False]),
        hops=np.array([np.nan, np.nan, np.nan, np.nan, 1.0, np.nan, np.nan]),
        neighbours={4: {"via": "shared device D9"}},
        young=young,
        cash_out=cash_out,
        anomaly=anomaly,
        anomaly_words=words,
        learned=learned,
        learned_reasons=learned_reasons,
        share=np.array([1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0]),
    )
    risk, reasons, drivers = customer_risk(n, **inputs)
    s_anom = ANOMALY_WEIGHT * anomaly**SCORE_POWER
    pct = np.array([0.5, 4 / 7, 5 / 7, 6 / 7, 2 / 7, 1 / 7, 1.0])  # ranks of ``learned``
    s_learn = LEARNED_WEIGHT * pct**SCORE_POWER

    def anom(i: int) -> dict:
        item = {"type": "behaviour_anomaly", "weight": _r(s_anom[i])}
        item["percentile"] = _r(100.0 * anomaly[i])
        if words[i]:
            item["unusual"] = words[i]
        return item

    def learn(i: int) -> dict:
        item = {"type": "learned", "weight": _r(s_learn[i]), "score": _r(learned[i])}
        if learned_reasons[i]:
            item["features"] = [c["words"] for c in learned_reasons[i]]
        return item

    young_item = {"type": "young_accounts", "weight": 0.15}
    cash_item = {"type": "cash_out", "weight": 0.1}
    expected = [
        [ring, anom(0)],
        [young_item],
        [young_item, cash_item, anom(2)] + ([learn(2)] if s_learn[2] >= 0.05 else []),
        [anom(3), learn(3)],
        [
            {
                "type": "known_fraud_neighbour",
                "weight": 0.1,  # with a learned model: the small, unscaled weight
                "hops": 1,
                "via": "shared device D9",
            },
            cash_item,
        ],
        [{"type": "known_fraud", "weight": 1.0}, anom(5)],
        [young_item, anom(6), learn(6)],
    ]
    for got, items in zip(reasons, expected, strict=True):
        assert got == json.dumps(items, sort_keys=True)
    # the one with nothing but a young account still has a (background) risk
    assert risk[1] > 0 and risk[0] >= 0.8
    assert '"unusual": ["many \\"new\\" payees", "\\u6df1\\u591c\\u4ea4\\u6613"]' in reasons[2]
    # the strongest reason's type, found from the items as they are written, is the one
    # read back from the text: by weight, then type (row 2: the anomaly outweighs the
    # young account and the cash-out; row 4: the neighbour's 0.1 ties the cash-out's and
    # "known_fraud_neighbour" sorts after "cash_out")
    assert drivers.tolist() == strongest_reason(reasons, np.ones(n, dtype=bool)).tolist()
    assert drivers.tolist() == [
        "cycle",  # the ring's own item (its type is the ring's kind here)
        "young_accounts",
        "behaviour_anomaly",
        "behaviour_anomaly",
        "known_fraud_neighbour",
        "known_fraud",
        "learned",
    ]
