"""Ring risk and customer risk in [0, 1], each with machine-readable reasons.

**Ring risk** is a weighted sum of evidence components in [0, 1]; the weights of each kind
sum to 1, except fan-in's ``single_shot`` and stack's ``relay`` on top (see
:data:`RING_WEIGHTS` and ``docs/ANALYSIS.md``):

- ``pattern``: the ring's defining pattern itself (1 for every detected money-flow
  pattern; for identity rings, the share of members on the most shared device);
- ``size``: identity rings, ``min(1, (size - 2) / 2)`` (a pair sharing a device is usually a
  couple);
- ``length``: cycles only, ``min(1, (hops - 2) / 2)`` (longer cycles are rarely accidental;
  a two-hop "cycle" is often a loan and its repayment);
- ``breadth``: fans and scatter-gather, ``min(1, n / (2 * minimum))`` where ``n`` is the
  number of senders, receivers or intermediates and ``minimum`` the detection threshold;
- ``magnitude``: money-flow rings, how much larger the ring's own transfers are than what
  its members usually pay: ``clip(log10(ratio / 10**0.5), 0, 1)`` where ``ratio`` is the
  mean amount of the transfers between ring accounts over the median, across members, of
  each member's typical payment (geometric mean of everything it sends). The range
  (10**0.5 to 10**1.5) is a judgement checked on our generator only, whose rings move
  20x-100x; where laundering moves everyday or smaller amounts (AMLSim's does) this
  component is 0 and the other components, the anomaly and the learned score carry it;
- ``one_off``: fans and scatter-gather, the share of the ring's account pairs that moved
  money once only (a flat share collecting rent every month scores 0);
- ``single_shot``: fan-in, the share of the ring's accounts whose whole activity in the data
  is one transaction (senders that exist to make this one payment: the funnel typology).
  Weighted on top of the other fan-in components (:data:`SINGLE_SHOT_WEIGHT`, the sum is
  clipped to 1), so that a collector fed only by such accounts is reported on that
  evidence and the pattern alone; it is 0 wherever every account is otherwise active;
- ``relay``: stack, the share of the ring's accounts whose whole activity in the data is one
  receipt and one payment (a chain of pass-through accounts, ``flows.find_relays``), on
  top in the same way (:data:`RELAY_WEIGHT`);
- ``burst``: scatter-gather, layers and stacks, ``clip(1 - span / data span, 0, 1)``
  where ``span`` is the time from the first to the last transfer between the ring's own
  accounts: a structure acting within a short stretch of the data is one operation;
  acquaintances whose payments merely share the shape spread them over the whole data;
- ``young``: money-flow rings, the share of the ring's accounts opened less than 180 days
  before the data starts (or during it); identity rings, the share of members all of whose
  accounts are that young;
- ``cash_out``: share of members paying an exchange-like counterparty (fan-in: 1 when the
  collector does, since the gathered money leaves through it alone);
- ``thin``: ``clip(1 - activity_ratio, 0, 1)``, members transacting less than usual;
- ``known_fraud``: 1 when any member is known fraud.

**Customer risk** combines independent signals by noisy-OR,
``1 - prod(1 - s_i)``: the riskiest reported ring the customer belongs to (its ring risk),
being known fraud (1.0), known-fraud neighbours over links that carry evidence (up to 0.5
at one hop, 0.25 at two hops, each scaled by the customer's link share,
:func:`graphprofile.analysis.proximity.link_shares`: the share of its own money exchanged
with known fraud, or 1 over a shared device or identifier; 0.1 and 0.05, unscaled, when a
model learned from known fraud, since it then weighs proximity itself; farther away adds nothing, so
no reason too weak to change a tag is listed), a weak background (0.15
when every account is young, 0.1 when paying exchanges), the behaviour anomaly
(``ANOMALY_WEIGHT * anomaly_score ** SCORE_POWER``) and, when a model learned from known
fraud, the learned score (``LEARNED_WEIGHT * learned_pct ** SCORE_POWER``, ``learned_pct``
the percentile rank of the cross-fitted ``learned_score``). Both scores are percentile
ranks, so the power keeps the order of every customer (the risk ranks customers by
anomaly where nothing else is known) while only the top few percent get a weight that
matters: at ``SCORE_POWER = 8`` the 99th percentile gives 92 % of the weight, the 90th
43 %, the median 0.4 %. Alone, the anomaly never reaches ``risk:medium`` (weight 0.35 <
0.4): it ranks and explains, and takes a second signal to raise a tag; the learned score
(weight 0.6) does reach it alone for the top ~3 %, since it says "like the known fraud".

Reasons are JSON lists of objects with a ``type`` and the numbers behind it (see
``docs/ANALYSIS.md`` for every type).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

#: Weight of ``single_shot`` in a fan-in's risk (see :data:`RING_WEIGHTS`).
SINGLE_SHOT_WEIGHT = 0.45
#: Weight of ``relay`` in a stack's risk (see :data:`RING_WEIGHTS`): as ``single_shot``.
RELAY_WEIGHT = SINGLE_SHOT_WEIGHT

#: Weight of each evidence component per ring kind (each row sums to 1 but fan-in's and
#: stack's, whose ``single_shot`` / ``relay`` comes on top; ring risk is clipped to 1).
RING_WEIGHTS: dict[str, dict[str, float]] = {
    "identity": {
        "pattern": 0.15,
        "size": 0.15,
        "young": 0.35,
        "cash_out": 0.25,
        "thin": 0.1,
    },
    "cycle": {
        "pattern": 0.15,
        "length": 0.15,
        "magnitude": 0.1,
        "young": 0.1,
        "strangers": 0.4,
        "known_fraud": 0.1,
    },
    **{
        kind: {
            "pattern": 0.1,
            "breadth": 0.1,
            "magnitude": 0.05,
            "one_off": 0.1,
            "young": 0.15,
            "cash_out": 0.1,
            "strangers": 0.3,
            "known_fraud": 0.1,
            # fan-in only, on top of the others (the sum is clipped to 1): senders that exist
            # to make this one payment are the funnel typology itself, so with the pattern
            # alone they reach the reporting threshold (``ring_min_risk``, 0.55)
            **({"single_shot": SINGLE_SHOT_WEIGHT} if kind == "fan_in" else {}),
        }
        for kind in ("fan_in", "fan_out")
    },
    # money gathers at the sink, or passes from layer to layer between accounts, rather
    # than leaving to a cash-out channel
    **{
        kind: {
            "pattern": 0.1,
            "breadth": 0.1,
            "magnitude": 0.05,
            "one_off": 0.1,
            "young": 0.15,
            "strangers": 0.3,
            "burst": 0.1,
            "known_fraud": 0.1,
            # stack only, on top of the others (the sum is clipped to 1): a chain of
            # accounts that exist to pass one payment on (``flows.find_relays``)
            **({"relay": RELAY_WEIGHT} if kind == "stack" else {}),
        }
        for kind in ("scatter_gather", "bipartite", "stack")
    },
    # accounts linked by transfers unusual for the bank: the links themselves are evidence
    "unusual_transfers": {
        "pattern": 0.15,
        "size": 0.1,
        "odd_amounts": 0.25,
        "same_day_repeats": 0.15,
        "young": 0.05,
        "strangers": 0.2,
        "known_fraud": 0.1,
    },
}
#: ``magnitude`` is 0 up to this ratio of ring amounts to the members' usual amounts ...
MAGNITUDE_FROM = 10**0.5
#: ... and 1 from this ratio (log scale in between).
MAGNITUDE_TO = 10**1.5

#: Weight of a known-fraud neighbour one and two hops away in the customer noisy-OR:
#: fixed, or when a model learned from known fraud (it weighs proximity itself, from the
#: other folds' labels; the small weight keeps the neighbour named in the reasons).
PROXIMITY_WEIGHTS = {"fixed": (0.5, 0.25), "learned": (0.1, 0.05)}
#: Weight of the behaviour anomaly and of the learned score in the customer noisy-OR.
ANOMALY_WEIGHT = 0.35
LEARNED_WEIGHT = 0.6
#: Power applied to both percentile scores (see the module docstring).
SCORE_POWER = 8.0
#: Reasons name the anomaly / learned score from this component weight up.
SCORE_REASON_FROM = 0.05


def ring_components(rings: pd.DataFrame) -> pd.DataFrame:
    """Evidence components of every ring (columns of :data:`RING_WEIGHTS`)."""
    comp = pd.DataFrame(index=rings.index)
    comp["pattern"] = rings["pattern"].astype("float64")
    hops = rings["hops"].astype("float64").fillna(2.0)
    comp["length"] = np.clip((hops - 2.0) / 2.0, 0.0, 1.0)
    comp["size"] = np.clip((rings["size"].astype("float64") - 2.0) / 2.0, 0.0, 1.0)
    comp["breadth"] = rings["breadth"].astype("float64").fillna(0.0)
    ratio = rings["magnitude_ratio"].astype("float64").fillna(1.0).clip(lower=1e-9)
    lo, hi = np.log10(MAGNITUDE_FROM), np.log10(MAGNITUDE_TO)
    comp["magnitude"] = np.clip((np.log10(ratio) - lo) / (hi - lo), 0.0, 1.0)
    comp["one_off"] = rings["one_off_share"].astype("float64").fillna(0.0)
    for name in ("single_shot", "relay"):  # shares of dedicated accounts (0 where absent)
        share = rings[f"{name}_share"] if f"{name}_share" in rings else 0.0
        comp[name] = pd.Series(share, index=rings.index, dtype="float64").fillna(0.0)
    # identity rings: every account of the member is young; money rings: the ring accounts
    young = np.where(
        rings["kind"] == "identity", rings["young_share"], rings["young_account_share"]
    )
    comp["young"] = pd.Series(young, index=rings.index).astype("float64").fillna(0.0)
    comp["cash_out"] = rings["cash_out_share"].fillna(0.0)
    if "head_cash_out" in rings:  # fan-in: its money leaves through the collector alone
        comp["cash_out"] = np.fmax(comp["cash_out"], rings["head_cash_out"].astype("float64"))
    comp["thin"] = np.clip(1.0 - rings["activity_ratio"].fillna(1.0), 0.0, 1.0)
    # the share of the data's span the ring's own transfers leave out (0 where not known)
    if {"first_s", "last_s", "data_span_s"} <= set(rings.columns):
        span = (rings["last_s"] - rings["first_s"]).astype("float64")
        data_span = rings["data_span_s"].astype("float64")
        burst = np.clip(1.0 - span / data_span.where(data_span > 0), 0.0, 1.0)
        comp["burst"] = burst.fillna(0.0)
    else:
        comp["burst"] = 0.0
    comp["odd_amounts"] = rings["odd_share"].astype("float64").fillna(0.0)
    comp["same_day_repeats"] = rings["repeat_share"].astype("float64").fillna(0.0)
    comp["known_fraud"] = (rings["known_fraud_share"].fillna(0.0) > 0).astype("float64")
    cohesion = rings["cohesion"] if "cohesion" in rings else pd.Series(np.nan, index=rings.index)
    strength = (
        rings["community_strength"]
        if "community_strength" in rings
        else pd.Series(np.nan, index=rings.index)
    )
    # strangers says something only where money usually stays inside communities
    comp["strangers"] = (1.0 - cohesion.astype("float64").fillna(1.0)) * strength.astype(
        "float64"
    ).fillna(0.0)
    return comp


def ring_risk(rings: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Risk in [0, 1] of each ring and the weighted contribution of each component.

    Parameters
    ----------
    rings : pandas.DataFrame
        ``kind`` plus the features named in :func:`ring_components`.

    Returns
    -------
    (numpy.ndarray, pandas.DataFrame)
        Risk per ring and per-component contributions (weight x component).
    """
    comp = ring_components(rings)
    weights = pd.DataFrame(
        [RING_WEIGHTS[k] for k in rings["kind"]], index=rings.index, columns=comp.columns
    ).fillna(0.0)
    contrib = comp * weights
    return np.clip(contrib.sum(axis=1).to_numpy(), 0.0, 1.0), contrib


def _r(x: float) -> float:
    return round(float(x), 4)


def ring_reasons(
    rings: pd.DataFrame, contrib: pd.DataFrame, evidence: dict[int, list[dict[str, Any]]]
) -> list[str]:
    """JSON reasons per ring: the pattern evidence first, then each non-zero component."""
    out = []
    cols = list(contrib.columns)
    values = contrib.to_numpy(dtype="float64")
    for i, (idx, kind) in enumerate(zip(rings.index, rings["kind"], strict=True)):  # rings
        reasons: list[dict[str, Any]] = list(evidence.get(int(idx), []))
        row = dict(zip(cols, values[i].tolist(), strict=True))
        for name in RING_WEIGHTS[kind]:
            if name == "pattern" or row[name] <= 0:
                continue
            reasons.append({"type": name, "weight": _r(row[name])})
        reasons.insert(0, {"type": kind, "weight": _r(row["pattern"])})
        out.append(json.dumps(reasons, sort_keys=True))
    return out


_YOUNG_TEXT = json.dumps({"type": "young_accounts", "weight": 0.15}, sort_keys=True)
_CASH_OUT_TEXT = json.dumps({"type": "cash_out", "weight": 0.1}, sort_keys=True)


def _score_reason_texts(
    rows: np.ndarray,
    *,
    young: np.ndarray,
    cash_out: np.ndarray,
    s_anom: np.ndarray,
    anomaly: np.ndarray | None,
    anomaly_words: list[list[str]] | None,
    s_learn: np.ndarray,
    learned: np.ndarray | None,
    learned_reasons: list[list[dict[str, Any]]] | None,
    drivers: np.ndarray | None = None,
) -> np.ndarray:
    """JSON reasons of customers in no ring, not known fraud and with no scored neighbour
    (and, given ``drivers``, each one's :func:`driver` written into it at its row).

    The text is exactly ``json.dumps(items, sort_keys=True)`` of the items
    :func:`customer_risk` lists (background flags, ``behaviour_anomaly``, ``learned``),
    written from templates: a list's items joined by ``", "`` and each object's keys in
    sorted order, floats by ``repr`` as the encoder writes them. At 1M customers about a
    fifth of them have a score high enough to be listed, and the encoder's per-object cost
    was seconds of the run (#16). Lists of words are encoded once per distinct list.
    """
    out = np.empty(len(rows), dtype=object)
    if not len(rows):
        return out
    with_anom = (s_anom[rows] >= SCORE_REASON_FROM).tolist()
    with_learn = (s_learn[rows] >= SCORE_REASON_FROM).tolist()
    w_anom = s_anom[rows].tolist()
    w_learn = s_learn[rows].tolist()
    pct = (
        (100.0 * np.asarray(anomaly, dtype="float64")[rows]).tolist()
        if anomaly is not None
        else None
    )
    score = np.asarray(learned, dtype="float64")[rows].tolist() if learned is not None else None
    words_text: dict[tuple[str, ...], str] = {}

    def encoded(words: list[str]) -> str:
        key = tuple(words)
        text = words_text.get(key)
        if text is None:
            text = words_text[key] = json.dumps(list(words))
        return text

    for k, (i, y, c) in enumerate(
        zip(rows.tolist(), young[rows].tolist(), cash_out[rows].tolist(), strict=True)
    ):
        parts = []
        top = (0.0, "")  # the heaviest item's (weight, type), as driver() would find it
        if y:
            parts.append(_YOUNG_TEXT)
            top = (0.15, "young_accounts")
        if c:
            parts.append(_CASH_OUT_TEXT)
            top = max(top, (0.1, "cash_out"))
        if with_anom[k]:
            words = anomaly_words[i] if anomaly_words is not None else None
            unusual = f', "unusual": {encoded(words)}' if words else ""
            weight = _r(w_anom[k])
            parts.append(
                f'{{"percentile": {_r(pct[k])!r}, "type": "behaviour_anomaly"{unusual}, '  # type: ignore[index]
                f'"weight": {weight!r}}}'
            )
            top = max(top, (weight, "behaviour_anomaly"))
        if with_learn[k]:
            found = learned_reasons[i] if learned_reasons is not None else None
            features = f'"features": {encoded([c["words"] for c in found])}, ' if found else ""
            weight = _r(w_learn[k])
            parts.append(
                f'{{{features}"score": {_r(score[k])!r}, "type": "learned", '  # type: ignore[index]
                f'"weight": {weight!r}}}'
            )
            top = max(top, (weight, "learned"))
        out[k] = "[" + ", ".join(parts) + "]"
        if drivers is not None:
            drivers[i] = top[1]
    return out


def driver(items: list[dict[str, Any]]) -> str:
    """The ``type`` of the heaviest of a customer's reason items (by weight, then type;
    ``""`` for none): the value of its ``risk:high`` / ``risk:medium`` tag."""
    if not items:
        return ""
    top = max(items, key=lambda r: (float(r.get("weight") or 0.0), str(r.get("type"))))
    return str(top.get("type", ""))


def customer_risk(
    n: int,
    *,
    ring_risk_of: np.ndarray,
    ring_reason_of: list[dict[str, Any] | None],
    known: np.ndarray,
    hops: np.ndarray | None,
    neighbours: dict[int, dict[str, Any]],
    young: np.ndarray,
    cash_out: np.ndarray,
    anomaly: np.ndarray | None = None,
    anomaly_words: list[list[str]] | None = None,
    learned: np.ndarray | None = None,
    learned_reasons: list[list[dict[str, Any]]] | None = None,
    share: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Customer risk in [0, 1] by noisy-OR, JSON reasons and the strongest reason's type
    per customer.

    Parameters
    ----------
    n : int
        Number of customers.
    ring_risk_of : numpy.ndarray
        Risk of the riskiest reported ring per customer (0 outside rings).
    ring_reason_of : list
        Reason object of that ring per customer (``None`` outside rings).
    known : numpy.ndarray of bool
        Known-fraud flag.
    hops : numpy.ndarray or None
        Hops to known fraud over evidence links (NaN: unreachable); ``None`` when no
        customer is known fraud.
    neighbours : dict
        Position -> the nearest known-fraud customer and what each link on the way is
        (:func:`graphprofile.analysis.proximity.neighbour_reasons`).
    young, cash_out : numpy.ndarray of bool
        Background flags.
    anomaly : numpy.ndarray, optional
        ``anomaly_score`` (percentile rank in [0, 1]).
    anomaly_words : list of list of str, optional
        Plain words for what is unusual about each customer.
    learned : numpy.ndarray, optional
        Cross-fitted ``learned_score`` (probability); ``None`` without a model.
    learned_reasons : list, optional
        Top feature contributions per customer (``feature, words, contribution``).
    share : numpy.ndarray, optional
        Link share per customer (:func:`~graphprofile.analysis.proximity.link_shares`):
        scales the fixed known-fraud neighbour weight (not the small one used with a
        learned model); ``None`` counts every link fully.

    Returns
    -------
    (numpy.ndarray, list of str, numpy.ndarray)
        Risk, reasons (JSON text) and :func:`driver` of the reasons' items (object array,
        ``""`` without reasons) per customer: the type the risk tags name, worked out from
        the items as they are written rather than by reading the text back (#16).
    """
    s_known = known.astype("float64")
    if hops is not None:
        # with a learned model, proximity is one of its (fold-safe) features: the fixed
        # weight shrinks so that the model, not a constant, says how much it counts here
        w1, w2 = PROXIMITY_WEIGHTS["learned" if learned is not None else "fixed"]
        s_prox = np.where(hops == 1, w1, np.where(hops == 2, w2, 0.0))
        if share is not None and learned is None:
            # the fixed weight counts as much as the link carries of the customer's own
            # money (a learned model weighs the links itself; its small weight stays whole)
            s_prox = s_prox * np.asarray(share, dtype="float64")
        s_prox = np.where(known, 0.0, np.nan_to_num(s_prox))
    else:
        s_prox = np.zeros(n)
    s_bg = 1.0 - (1.0 - 0.15 * young) * (1.0 - 0.1 * cash_out)
    s_anom = np.zeros(n) if anomaly is None else ANOMALY_WEIGHT * np.asarray(anomaly) ** SCORE_POWER
    if learned is None:
        s_learn = np.zeros(n)
    else:
        pct = pd.Series(np.asarray(learned, dtype="float64")).rank(pct=True).to_numpy()
        s_learn = LEARNED_WEIGHT * pct**SCORE_POWER
    risk = 1.0 - (1.0 - ring_risk_of) * (1.0 - s_known) * (1.0 - s_prox) * (1.0 - s_bg)
    risk = 1.0 - (1.0 - risk) * (1.0 - s_anom) * (1.0 - s_learn)
    reasons = np.full(n, "[]", dtype=object)
    w_prox = np.round(s_prox, 4)
    h = np.full(n, -1, dtype=np.int64)
    if hops is not None:
        fin = np.isfinite(hops)
        h[fin] = hops[fin].astype(np.int64)
    has_ring = np.fromiter((r is not None for r in ring_reason_of), dtype=bool, count=n)
    special = has_ring | known | (s_anom >= SCORE_REASON_FROM) | (s_learn >= SCORE_REASON_FROM)
    if neighbours:
        special[np.fromiter(neighbours.keys(), dtype=np.int64)] = True

    def items_of(i: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if ring_reason_of[i] is not None:
            items.append(ring_reason_of[i])
        if known[i]:
            items.append({"type": "known_fraud", "weight": 1.0})
        if s_prox[i] > 0:
            item: dict[str, Any] = {"type": "known_fraud_neighbour", "weight": _r(s_prox[i])}
            if h[i] >= 0:
                item["hops"] = int(h[i])
            if share is not None and learned is None:  # the share the weight counts
                item["share"] = _r(share[i])
            if i in neighbours:
                item.update(neighbours[i])
            items.append(item)
        if young[i]:
            items.append({"type": "young_accounts", "weight": 0.15})
        if cash_out[i]:
            items.append({"type": "cash_out", "weight": 0.1})
        if s_anom[i] >= SCORE_REASON_FROM:
            item = {"type": "behaviour_anomaly", "weight": _r(s_anom[i])}
            item["percentile"] = _r(100.0 * float(anomaly[i]))  # type: ignore[index]
            if anomaly_words is not None and anomaly_words[i]:
                item["unusual"] = anomaly_words[i]
            items.append(item)
        if s_learn[i] >= SCORE_REASON_FROM:
            item = {"type": "learned", "weight": _r(s_learn[i])}
            item["score"] = _r(float(learned[i]))  # type: ignore[index]
            if learned_reasons is not None and learned_reasons[i]:
                item["features"] = [c["words"] for c in learned_reasons[i]]
            items.append(item)
        return items

    signal = risk > 0
    listed = np.flatnonzero(signal & special)
    # ring members, known fraud and known-fraud neighbours: their reasons carry objects of
    # their own, written by the encoder
    linked = has_ring[listed] | known[listed] | (s_prox[listed] > 0)
    drivers = np.full(n, "", dtype=object)
    for i in listed[linked].tolist():
        items = items_of(i)
        reasons[i] = json.dumps(items, sort_keys=True)
        drivers[i] = driver(items)
    # the rest (most of them: a high anomaly or learned score) from fixed templates
    plain = listed[~linked]
    reasons[plain] = _score_reason_texts(
        plain,
        young=young,
        cash_out=cash_out,
        s_anom=s_anom,
        anomaly=anomaly,
        anomaly_words=anomaly_words,
        s_learn=s_learn,
        learned=learned,
        learned_reasons=learned_reasons,
        drivers=drivers,
    )
    # everyone else: the reasons depend only on (proximity weight, hops, share, young,
    # cash-out), so each distinct combination is written once
    rest = np.flatnonzero(signal & ~special)
    if len(rest):
        shown = np.round(share, 4) if share is not None else np.zeros(n)
        group = _row_groups(
            w_prox[rest],
            np.where(s_prox[rest] > 0, h[rest], -1),
            np.where(s_prox[rest] > 0, shown[rest], -1.0),
            young[rest],
            cash_out[rest],
        )
        reps = rest[np.unique(group, return_index=True)[1]]
        rep_items = [items_of(int(i)) for i in reps]
        texts = np.array([json.dumps(items, sort_keys=True) for items in rep_items], dtype=object)
        reasons[rest] = texts[group]
        drivers[rest] = np.array([driver(items) for items in rep_items], dtype=object)[group]
    return np.clip(risk, 0.0, 1.0), reasons.tolist(), drivers


def _row_groups(*columns: np.ndarray) -> np.ndarray:
    """A group number per row, equal exactly where every column's values are equal.

    The numbers are dense (``0..k-1``) and ordered by the columns' values; rows are
    grouped as tuples of their values would be, without making the tuples.
    """
    group = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        _, codes = np.unique(column, return_inverse=True)
        group = np.unique(group * (int(codes.max(initial=0)) + 1) + codes, return_inverse=True)[1]
    return group
