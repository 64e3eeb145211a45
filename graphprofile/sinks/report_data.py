"""A finished run's outputs, read back for the report, ``explain`` and ``export-subgraph``.

Also turns machine-readable ``reasons`` (JSON) into sentences an investigator can read.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphprofile.errors import InputError
from graphprofile.frames import CanonicalGraph
from graphprofile.graph import read_snapshot
from graphprofile.sinks.tables import read_table

TABLE_NAMES = ("features", "tags", "rings", "communities")


@dataclass
class RunOutputs:
    """What one run wrote: ``run.json``, the result tables and the graph snapshot.

    Tables that a run did not write are ``None``; so is ``graph`` without ``graph/``.
    """

    out_dir: Path
    summary: dict[str, Any]
    features: pd.DataFrame | None = None
    tags: pd.DataFrame | None = None
    rings: pd.DataFrame | None = None
    communities: pd.DataFrame | None = None
    graph: CanonicalGraph | None = None

    @property
    def analysis_meta(self) -> dict[str, Any]:
        meta = self.summary.get("analysis")
        return meta if isinstance(meta, dict) else {}


def load_outputs(out_dir: Path, *, graph: bool = True) -> RunOutputs:
    """Read a run's output directory.

    Parameters
    ----------
    out_dir : Path
        Output directory of ``graphprofile run``.
    graph : bool, default True
        Also read the ``graph/`` snapshot (when present).

    Returns
    -------
    RunOutputs

    Raises
    ------
    InputError
        The directory does not exist, or holds neither ``run.json`` nor ``features``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"output directory {out_dir} does not exist; run `graphprofile run` first")
    summary: dict[str, Any] = {}
    run_json = out_dir / "run.json"
    if run_json.is_file():
        try:
            summary = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {run_json}: {exc}") from None
    tables = {name: read_table(out_dir, name) for name in TABLE_NAMES}
    if not summary and tables["features"] is None:
        raise InputError(
            f"{out_dir} holds neither run.json nor features.parquet; "
            "is it the --out directory of `graphprofile run`?"
        )
    snapshot = None
    if graph and (out_dir / "graph" / "nodes").is_dir():
        try:
            snapshot = read_snapshot(out_dir)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the graph snapshot in {out_dir / 'graph'}: {exc}"
            ) from None
    return RunOutputs(out_dir=out_dir, summary=summary, graph=snapshot, **tables)


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


def fmt_value(value: Any) -> str:
    """A value as short readable text (amounts with thousands separators, dates short)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
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
        items = [fmt_value(v) for v in value[:8]]
        more = f" … (+{len(value) - 8})" if len(value) > 8 else ""
        return ", ".join(items) + more
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {fmt_value(v)}" for k, v in value.items())
    text = str(value)
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":  # ISO timestamp
        return text[:16].replace("T", " ")
    return text


_COMPONENTS = {
    "young": "young accounts",
    "cash_out": "payments to exchange-like counterparties",
    "thin": "members transacting less than usual",
    "length": "a long cycle",
    "known_fraud": "a known-fraud member",
    "size": "more than two customers sharing them",
    "breadth": "many accounts taking part",
    "magnitude": "amounts far larger than what the members usually pay",
    "one_off": "accounts that paid each other only once",
}
_PATTERNS = {
    "identity": "customers sharing devices or identifiers",
    "cycle": "money going round in a cycle",
    "fan_in": "many accounts paying one collector",
    "fan_out": "one account paying many that pass the money on",
    "scatter_gather": "money split across accounts and gathered again",
}


def _arrow(values: list[Any], money: bool = False) -> str:
    shown = [f"{v:,.2f}" if money and isinstance(v, int | float) else fmt_value(v) for v in values]
    return " → ".join(shown[:10]) + (" → …" if len(values) > 10 else "")


def _known_type(r: dict[str, Any]) -> str | None:
    """Sentences for the reason types documented in docs/ANALYSIS.md; None if unknown."""
    kind, w = r.get("type"), r.get("weight")
    weight = f" (+{float(w):.2f} risk)" if isinstance(w, int | float) and w else ""
    if kind == "shared_device":
        return f"{r.get('n_members', '?')} members share device {r.get('id', '?')}"
    if kind == "shared_identifier":
        what = r.get("kind") or "identifier"
        return f"{r.get('n_members', '?')} members share {what} {r.get('id', '?')}"
    if kind == "cycle_path" and isinstance(r.get("accounts"), list):
        accounts = [*r["accounts"], r["accounts"][0]] if r["accounts"] else []
        times = r.get("times") or []
        when = f", {fmt_value(times[0])} to {fmt_value(times[-1])}" if times else ""
        amounts = _arrow(r.get("amounts") or [], money=True)
        return f"money cycle {_arrow(accounts)}: amounts {amounts}{when}"
    if kind in _PATTERNS:
        return f"pattern: {_PATTERNS[str(kind)]}{weight}"
    if kind == "fan_in_pattern":
        onward = f", which sent it on to {r['n_onwards']:,}" if r.get("n_onwards") else ""
        return (
            f"{r.get('n_senders', '?')} accounts paid collector {r.get('collector', '?')} "
            f"within days{onward}"
        )
    if kind == "fan_out_pattern":
        return (
            f"{r.get('source', '?')} paid {r.get('n_receivers', '?')} accounts that passed "
            "the money on"
        )
    if kind == "scatter_gather_pattern":
        return (
            f"money from {r.get('source', '?')} went through {r.get('n_intermediates', '?')} "
            f"accounts and came together again at {r.get('sink', '?')}"
        )
    if kind == "known_fraud" and (w is None or w >= 1.0):  # the customer's own flag
        return "flagged as known fraud"
    if kind in _COMPONENTS:
        return f"risk raised by {_COMPONENTS[str(kind)]}{weight}"
    if kind == "ring":
        ring_kind = str(r.get("kind", "")).replace("_", "-")
        return f"member of {ring_kind} ring {r.get('ring_id', '?')}{weight}"
    if kind == "known_fraud_neighbour":
        hops = r.get("hops")
        who = r.get("customer")
        head = f"{_plural(hops, 'hop')} from known fraud" if hops else "near known fraud"
        head += (f" {who}" if who else "") + weight
        steps = path_in_words(r.get("steps") or [])
        return f"{head}: {steps}" if steps else head
    if kind == "young_accounts":
        return f"all accounts are young{weight}"
    return None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def link_in_words(link: dict[str, Any], other: str) -> str:
    """One evidence link seen from its first customer: "sent 3 transfers totalling …"."""
    if link.get("via") == "money":
        n, amount = int(link.get("n_txns") or 0), float(link.get("amount") or 0.0)
        if link.get("direction") == "received":
            return f"received {_plural(n, 'transfer')} totalling {amount:,.2f} from {other}"
        return f"sent {_plural(n, 'transfer')} totalling {amount:,.2f} to {other}"
    return f"shares {link.get('via', 'identifier')} {link.get('id', '?')} with {other}"


def path_in_words(steps: list[dict[str, Any]]) -> str:
    """Steps of a path to known fraud (``from``, ``to``, ``links``) as one sentence."""
    parts = []
    for k, step in enumerate(steps):
        links = [link_in_words(x, str(step.get("to"))) for x in step.get("links") or []]
        words = " and ".join(links) or f"is linked to {step.get('to')}"
        parts.append(words if k == 0 else f"{step.get('from')} {words}")
    return "; ".join(parts)


def reason_sentence(reason: Any) -> str:
    """One reason as a sentence: its own text field, a known type's template, or its fields."""
    if isinstance(reason, dict):
        for key in _TEXT_KEYS:
            if isinstance(reason.get(key), str) and reason[key].strip():
                return reason[key].strip()
        known = _known_type(reason)
        if known:
            return known
        kind = reason.get("kind") or reason.get("type") or reason.get("rule")
        rest = {k: v for k, v in reason.items() if k not in ("kind", "type", "rule")}
        body = fmt_value(rest) if rest else ""
        head = str(kind).replace("_", " ") if kind else ""
        return f"{head}: {body}" if head and body else (head or body)
    return fmt_value(reason)


def reasons_in_words(value: Any) -> list[str]:
    """Every reason of a ``reasons`` value (JSON text, list or dict) as a sentence."""
    parsed = parse_reasons(value)
    if isinstance(parsed, dict) and not any(k in parsed for k in (*_TEXT_KEYS, "kind", "type")):
        return [f"{k.replace('_', ' ')}: {fmt_value(v)}" for k, v in parsed.items()]
    items = parsed if isinstance(parsed, list) else [parsed]
    return [s for s in (reason_sentence(r) for r in items) if s]


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
