"""Values of a run's result tables in words: lists from any format, numbers, reasons.

Turns machine-readable ``reasons`` (JSON) into sentences an investigator can read; used by
the report, ``explain`` and ``export-subgraph`` (the tables come from
:func:`graphprofile.outputs.load_outputs`).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.domain import RING_KINDS
from graphprofile.i18n import ENGLISH, Messages


def as_list(value: Any) -> list[Any]:
    """A list from a list, array, tuple or JSON text (CSV/JSONL outputs); [] for null."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return parsed if isinstance(parsed, list) else [parsed]
    if is_missing(value):
        return []
    return [value]


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA (never raises on lists)."""
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def parse_reasons(value: Any) -> Any:
    """The reasons of a tag or ring as Python objects (JSON text parsed; null → [])."""
    if is_missing(value):
        return []
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


_TEXT_KEYS = ("text", "description", "message", "why", "reason", "summary")


def fmt_value(value: Any, say: Messages = ENGLISH) -> str:
    """A value as short readable text (amounts with thousands separators, dates short)."""
    if isinstance(value, bool):
        return say("yes_no.yes") if value else say("yes_no.no")
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return str(value)
        v = float(value)
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.3g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        items = [fmt_value(v, say) for v in value[:8]]
        more = f" … (+{len(value) - 8})" if len(value) > 8 else ""
        return ", ".join(items) + more
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {fmt_value(v, say)}" for k, v in value.items())
    text = str(value)
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":  # ISO timestamp
        return text[:16].replace("T", " ")
    return text


#: Reason types whose sentence is "risk raised by …" (``reason.components.*``).
_COMPONENTS = ("young", "cash_out", "thin", "length", "known_fraud", "size", "breadth",
               "magnitude", "one_off", "single_shot", "relay", "strangers", "burst",
               "odd_amounts", "same_day_repeats")  # fmt: skip
#: Ring kinds whose pattern reason is "pattern: …" (``reason.patterns.*``).
_PATTERNS = RING_KINDS


def _arrow(values: list[Any], money: bool = False) -> str:
    shown = [f"{v:,.2f}" if money and isinstance(v, int | float) else fmt_value(v) for v in values]
    return " → ".join(shown[:10]) + (" → …" if len(values) > 10 else "")


def _count(say: Messages, word: str, n: Any) -> str:
    """``n`` with its noun (``reason.count.<word>_one`` / ``_many``)."""
    if not isinstance(n, int | np.integer):
        return say(f"reason.count.{word}_many", n=n)
    return say(f"reason.count.{word}_{'one' if n == 1 else 'many'}", n=f"{int(n):,}")


def _item(say: Messages, kind: Any) -> str:
    """A device or identifier kind (``device``, ``phone`` …) in words."""
    return say.get(f"item_kind.{kind}", str(kind)) or str(kind)


def _known_type(r: dict[str, Any], say: Messages) -> str | None:
    """Sentences for the reason types documented in docs/ANALYSIS.md; None if unknown."""
    kind, w = r.get("type"), r.get("weight")
    weight = (
        say("reason.weight", weight=f"{float(w):.2f}") if isinstance(w, int | float) and w else ""
    )
    if kind == "shared_device":
        return say("reason.shared_device", n=r.get("n_members", "?"), id=r.get("id", "?"))
    if kind == "shared_identifier":
        what = _item(say, r["kind"]) if r.get("kind") else say("reason.identifier")
        return say("reason.shared_identifier", n=r.get("n_members", "?"), what=what,
                   id=r.get("id", "?"))  # fmt: skip
    if kind == "cycle_path" and isinstance(r.get("accounts"), list):
        accounts = [*r["accounts"], r["accounts"][0]] if r["accounts"] else []
        times = r.get("times") or []
        when = (
            say("reason.cycle_when", first=fmt_value(times[0]), last=fmt_value(times[-1]))
            if times
            else ""
        )
        amounts = _arrow(r.get("amounts") or [], money=True)
        return say("reason.cycle_path", accounts=_arrow(accounts), amounts=amounts, when=when)
    if kind in _PATTERNS:
        return say("reason.pattern", what=say(f"reason.patterns.{kind}"), weight=weight)
    if kind == "fan_in_pattern":
        onward = say("reason.fan_in_onward", n=f"{r['n_onwards']:,}") if r.get("n_onwards") else ""
        single = (
            say("reason.fan_in_single_shot", n=f"{r['n_single_shot']:,}")
            if r.get("n_single_shot")
            else ""
        )
        # a collection (every sender single-shot, flows.find_collections) has no window
        collection = bool(r.get("n_single_shot")) and r.get("n_single_shot") == r.get("n_senders")
        return say("reason.fan_in_collection" if collection else "reason.fan_in_pattern",
                   n=r.get("n_senders", "?"), collector=r.get("collector", "?"),
                   onward=onward, single=single)  # fmt: skip
    if kind == "fan_out_pattern":
        return say("reason.fan_out_pattern", source=r.get("source", "?"),
                   n=r.get("n_receivers", "?"))  # fmt: skip
    if kind == "scatter_gather_pattern":
        return say("reason.scatter_gather_pattern", source=r.get("source", "?"),
                   n=r.get("n_intermediates", "?"), sink=r.get("sink", "?"))  # fmt: skip
    if kind == "unusual_transfers_pattern":
        links = [
            say(
                "reason.unusual_link",
                src=x.get("from", "?"),
                dst=x.get("to", "?"),
                n=x.get("n_txns", "?"),
                amount=f"{float(x.get('amount') or 0.0):,.2f}",
                when=fmt_value(x.get("first")),
                why=", ".join(x.get("why") or []),
            )
            for x in (r.get("links") or [])[:5]
            if isinstance(x, dict)
        ]
        more = " …" if len(r.get("links") or []) > 5 else ""
        return say("reason.unusual_transfers_pattern", n=len(r.get("accounts") or []),
                   shape=str(r.get("shape", "?")).replace("_", "-"),
                   links="; ".join(links) + more)  # fmt: skip
    if kind == "layers_pattern":
        relay = say("reason.layers_relay", n=f"{r['n_relay']:,}") if r.get("n_relay") else ""
        return say("reason.layers_pattern", n_layers=r.get("n_layers", "?"),
                   n=r.get("n_accounts", "?"), relay=relay)  # fmt: skip
    if kind == "layer":
        return say("reason.layer", depth=r.get("depth", "?"),
                   payers=", ".join(map(str, r.get("payers") or [])),
                   payees=", ".join(map(str, r.get("payees") or [])))  # fmt: skip
    if kind == "known_fraud" and (w is None or w >= 1.0):  # the customer's own flag
        return say("reason.own_known_fraud")
    if kind in _COMPONENTS:
        return say("reason.component", what=say(f"reason.components.{kind}"), weight=weight)
    if kind == "ring":
        ring_kind = say.get(f"ring_kind.{r.get('kind')}", str(r.get("kind", "")).replace("_", "-"))
        return say("reason.ring", kind=ring_kind, ring_id=r.get("ring_id", "?"), weight=weight)
    if kind == "known_fraud_neighbour":
        hops, who = r.get("hops"), r.get("customer")
        head = (
            say("reason.near_hops", hops=_count(say, "hop", hops)) if hops else say("reason.near")
        )
        head += (say("reason.near_who", who=who) if who else "") + weight
        steps = path_in_words(r.get("steps") or [], say)
        return say("reason.near_steps", head=head, steps=steps) if steps else head
    if kind == "young_accounts":
        return say("reason.young_accounts", weight=weight)
    return None


def link_in_words(link: dict[str, Any], other: str, say: Messages = ENGLISH) -> str:
    """One evidence link seen from its first customer: "sent 3 transfers totalling …"."""
    if link.get("via") == "money":
        n, amount = int(link.get("n_txns") or 0), float(link.get("amount") or 0.0)
        key = "reason.link_received" if link.get("direction") == "received" else "reason.link_sent"
        return say(key, transfers=_count(say, "transfer", n), amount=f"{amount:,.2f}", other=other)
    via = _item(say, link.get("via", "identifier"))
    return say("reason.link_shared", via=via, id=link.get("id", "?"), other=other)


def path_in_words(steps: list[dict[str, Any]], say: Messages = ENGLISH) -> str:
    """Steps of a path to known fraud (``from``, ``to``, ``links``) as one sentence."""
    parts = []
    for k, step in enumerate(steps):
        links = [link_in_words(x, str(step.get("to")), say) for x in step.get("links") or []]
        words = say("reason.and").join(links) or say("reason.linked", other=step.get("to"))
        parts.append(
            words if k == 0 else say("reason.then_step", who=step.get("from"), words=words)
        )
    return say("reason.steps_separator").join(parts)


def reason_sentence(reason: Any, say: Messages = ENGLISH) -> str:
    """One reason as a sentence: its own text field, a known type's template, or its fields."""
    if isinstance(reason, dict):
        for key in _TEXT_KEYS:
            if isinstance(reason.get(key), str) and reason[key].strip():
                return reason[key].strip()
        known = _known_type(reason, say)
        if known:
            return known
        kind = reason.get("kind") or reason.get("type") or reason.get("rule")
        rest = {k: v for k, v in reason.items() if k not in ("kind", "type", "rule")}
        body = fmt_value(rest, say) if rest else ""
        head = str(kind).replace("_", " ") if kind else ""
        return f"{head}: {body}" if head and body else (head or body)
    return fmt_value(reason, say)


def reasons_in_words(value: Any, say: Messages = ENGLISH) -> list[str]:
    """Every reason of a ``reasons`` value (JSON text, list or dict) as a sentence, in the
    language of ``say`` (English by default)."""
    parsed = parse_reasons(value)
    if isinstance(parsed, dict) and not any(k in parsed for k in (*_TEXT_KEYS, "kind", "type")):
        return [f"{k.replace('_', ' ')}: {fmt_value(v, say)}" for k, v in parsed.items()]
    items = parsed if isinstance(parsed, list) else [parsed]
    return [s for s in (reason_sentence(r, say) for r in items) if s]


def closest_ids(wanted: str, known: Iterable[Any], *, n: int = 3) -> list[str]:
    """Up to ``n`` known ids most like ``wanted`` (for "not found" errors).

    Candidates are the ids next to ``wanted`` in sorted order and those with the same
    number in them (``C000123`` finds ``C00000123``); :mod:`difflib` ranks them. Cheap on
    millions of ids: it runs on the error path only.
    """
    ids = pd.Series(pd.unique(pd.Series(list(known), dtype="string").dropna())).sort_values()
    if ids.empty:
        return []
    values = ids.to_numpy(dtype=object)
    at = int(np.searchsorted(values, str(wanted)))
    near = values[max(0, at - 25) : at + 25].tolist()
    same_number: list[str] = []
    digits = re.sub(r"\D", "", str(wanted)).lstrip("0")
    if digits:
        numbers = ids.str.replace(r"\D", "", regex=True).str.lstrip("0")
        same_number = ids[(numbers == digits).to_numpy(dtype=bool)].head(n).tolist()
    ranked = difflib.get_close_matches(str(wanted), near, n=n, cutoff=0.5) or near[:n]
    return list(dict.fromkeys([*same_number, *ranked]))[:n]


def not_found(what: str, wanted: str, where: Path | str, known: Iterable[Any]) -> str:
    """``customer 'X' is not in FILE; closest ids: …`` (the message of a lookup error)."""
    close = closest_ids(wanted, known)
    hint = f"; closest ids: {', '.join(close)}" if close else ""
    return f"{what} {wanted!r} is not in {where}{hint}"


def ring_members(rings: pd.DataFrame | None, ring_id: str) -> tuple[list[str], list[str]]:
    """Customer and account ids of one ring (``([], [])`` when it is unknown)."""
    if rings is None or "ring_id" not in rings.columns:
        return [], []
    row = rings[rings["ring_id"].astype(str) == str(ring_id)]
    if row.empty:
        return [], []
    first = row.iloc[0]
    customers = [str(c) for c in as_list(first.get("customers"))]
    accounts = [str(a) for a in as_list(first.get("accounts")) if not is_missing(a)]
    return customers, accounts
