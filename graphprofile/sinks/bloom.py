"""A Neo4j Bloom perspective for the graph graphprofile writes.

The perspective has a category per label we write (canonical nodes, ``Community``,
``Ring``, ``GraphProfileRun`` and the customer labels ``HighRisk``, ``RingMember``,
``Influencer``), rule-based styling (risk → colour scale, PageRank → size, ring
membership highlighted, ``:HighRisk`` red) and search phrases whose Cypher lives in
``cypher/bloom/`` (so the CI Cypher lint checks it).

Format
------
Targets Neo4j Bloom 2.x (Explore). The file carries the keys observed in public
perspective exports (format versions ``"1.4.0"``/``"1.9.1"``: ``categories``,
``relationshipTypes``, ``palette``, ``templates``, ``hiddenCategories`` …) plus the
keys newer exports add (``labels``, ``metadata``, ``captionKeys``, ``styleRules``,
``textSize``, ``sceneActions``) and declares :data:`FORMAT_VERSION`. The shape of the
individual style rules (:func:`range_rule`, :func:`single_rule`) was **not** seen in a
real export: check it against a perspective exported from the target Bloom version (see
``docs/INVESTIGATORS.md``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile.analysis.scores import SCORE_COLUMNS
from graphprofile.errors import OutputError
from graphprofile.frames import TABLES
from graphprofile.i18n import Messages, messages
from graphprofile.sinks.bloom_phrases import (
    Phrase,
    phrase_cypher,
    phrases,
)
from graphprofile.sinks.bloom_style import (
    _NS,
    PAGERANK_PCT_RANGE,
    PALETTE,
    range_rule,
    style_rules,
)
from graphprofile.store.load import NODE_LABELS
from graphprofile.store.writeback import DEFAULT_LABELS, property_name

#: Perspective format version written into the file (a Bloom 2.x export version).
FORMAT_VERSION = "2.3.0"
#: Namespace of the deterministic ids (same input → same file, diffable).


#: Columns of ``features.parquet`` (``graphprofile.analysis.FEATURE_COLUMNS``) plus the
#: label columns the graph-database sink adds; each becomes a ``gp_`` customer property.
def _spec(text: str) -> dict[str, str]:
    """``"a:bigint b:number"`` → ``{"a": "bigint", "b": "number"}``."""
    return dict(item.split(":") for item in text.split())


FEATURE_COLUMNS: dict[str, str] = (
    _spec(
        "community_id:bigint community_size:bigint pagerank:number pagerank_pct:number "
        "money_pagerank:number money_pagerank_pct:number degree:bigint strength:number "
        "betweenness:number core:bigint ring_id:string ring_kind:string ring_size:bigint "
        "ring_risk:number n_rings:bigint fraud_hops:number fraud_proximity:number "
        "known_fraud:boolean risk_score:number risk_reasons:string computed_at:string"
    )
    | dict.fromkeys(SCORE_COLUMNS, "number")
    | {column: "boolean" for column in DEFAULT_LABELS.values()}
)
#: Range of ``pagerank_pct`` (a percentile rank in [0, 100]) mapped to node size.

_DTYPE = {"id": "string", "str": "string", "pii": "string", "ts": "string"}
_DTYPE.update({"amount": "number", "bool": "boolean"})


def _table_props(table: str) -> dict[str, str]:
    return {col: _DTYPE[kind] for col, (kind, _) in TABLES[table].items()}


def written_schema() -> dict[str, dict[str, str]]:
    """Every label graphprofile writes and its properties with Bloom data types.

    Returns
    -------
    dict
        ``{label: {property: dataType}}``; timestamps are ISO 8601 text (``string``).
    """
    customer = _table_props("customers")
    customer.update({property_name(c): t for c, t in FEATURE_COLUMNS.items()})
    customer["gp_run_id"] = "string"
    schema = {
        NODE_LABELS["customer"]: customer,
        NODE_LABELS["account"]: _table_props("accounts"),
        NODE_LABELS["device"]: _spec("device_id:string n_customers:bigint n_uses:bigint"),
        NODE_LABELS["identifier"]: _spec("identifier_id:string kind:string n_customers:bigint"),
        NODE_LABELS["counterparty"]: _table_props("counterparties"),
        "Community": _spec(
            "community_id:bigint size:bigint internal_flow:number external_flow:number "
            "density:number top_members:array risky_share:number gp_run_id:string"
        ),
        "Ring": _spec(
            "ring_id:string kind:string size:bigint accounts:array risk:number "
            "reasons:string gp_run_id:string"
        ),
        "GraphProfileRun": _spec(
            "run_id:string started_at:string completed:boolean completed_at:string "
            "labels:array properties:array n_customers:bigint"
        ),
    }
    for label in DEFAULT_LABELS:  # customer labels carry the customer's properties
        schema[label] = dict(customer)
    return schema


#: Relationship types we write and their properties.
_FLOW = {"n_txns": "bigint", "total_amount": "number", "first_ts": "string", "last_ts": "string"}
RELATIONSHIPS: dict[str, dict[str, str]] = {
    "OWNS": {},
    "USES_DEVICE": {"n_uses": "bigint", "first_seen": "string", "last_seen": "string"},
    "HAS_IDENTIFIER": {"kind": "string"},
    "TRANSFER": dict(_FLOW),
    "PAYS": dict(_FLOW),
    "MEMBER_OF": {"gp_run_id": "string"},
}


@dataclass(frozen=True)
class CategorySpec:
    """How one label looks in Bloom."""

    label: str
    color: str
    icon: str
    caption: str
    size: float = 1.0
    rules: tuple[str, ...] = ()


_CUSTOMER_RULES = ("risk_color", "pagerank_size", "ring_highlight")
#: Categories, in precedence order: Bloom styles a node by the first category whose
#: label it has, so the customer labels come before ``Customer``.
CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("HighRisk", "#E03131", "alert", "customer_id", 2.0, ("pagerank_size",)),
    CategorySpec("RingMember", "#F59F00", "people", "customer_id", 1.5, ("risk_color",)),
    CategorySpec("Influencer", "#7048E8", "star", "customer_id", 1.5, ("pagerank_size",)),
    CategorySpec("Customer", "#4C8EDA", "person", "customer_id", 1.0, _CUSTOMER_RULES),
    CategorySpec("Account", "#8DCC93", "bank", "account_id", 0.75),
    CategorySpec("Device", "#57C7E3", "cellphone", "device_id", 0.75),
    CategorySpec("Identifier", "#D9C8AE", "card-account-details", "kind", 0.75),
    CategorySpec("Counterparty", "#ECB5C9", "store", "name", 0.75),
    CategorySpec("Ring", "#C92A2A", "ring", "ring_id", 2.5, ("ring_risk_color",)),
    CategorySpec("Community", "#C990C0", "account-group", "community_id", 3.0),
    CategorySpec("GraphProfileRun", "#848484", "history", "run_id", 1.0),
)


def _category(
    i: int, spec: CategorySpec, props: dict[str, str], rules: dict, msgs: Messages
) -> dict[str, Any]:
    return {
        "id": i,
        "name": msgs(f"bloom.category.{spec.label}"),
        "color": spec.color,
        "size": spec.size,
        "icon": spec.icon,
        "labels": [spec.label],
        "properties": [
            {"name": name, "exclude": False, "isCaption": name == spec.caption, "dataType": dtype}
            for name, dtype in props.items()
        ],
        "caption": [spec.caption],
        "captionKeys": [spec.caption],
        "textSize": 1,
        "styleRules": [rules[name] for name in spec.rules],
        "createdAt": 0,
        "lastEditedAt": 0,
    }


def _template(stamp: int, phrase: Phrase, msgs: Messages) -> dict[str, Any]:
    # English is the phrase declared in the Cypher file; other languages translate it with
    # the same $parameters (tests/unit/test_i18n.py checks).
    text = phrase.text if msgs.is_default else msgs(f"bloom.phrase.{phrase.file}")
    return {
        "name": text,
        "id": f"tmpl:{uuid.uuid5(_NS, phrase.file)}",
        "createdAt": stamp,
        "text": text,
        "cypher": phrase_cypher(phrase),
        "isUpdateQuery": False,
        "hasCypherErrors": False,
        "params": [
            {
                "name": f"${p.name}",
                "dataType": p.data_type,
                "suggestionLabel": p.suggestion_label,
                "suggestionProp": p.suggestion_prop,
                "suggestionBoolean": False,
                "cypher": None,
                "collapsed": False,
            }
            for p in phrase.params
        ],
    }


def build_perspective(
    *,
    name: str = "graphprofile",
    schema: dict[str, dict[str, str]] | None = None,
    pagerank_range: tuple[float, float] = PAGERANK_PCT_RANGE,
    created_at: pd.Timestamp | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """Build the Bloom perspective document.

    Parameters
    ----------
    name : str, default "graphprofile"
        Perspective name shown in Bloom.
    schema : dict, optional
        ``{label: {property: dataType}}``; default :func:`written_schema`. With a store,
        what the database holds (see :func:`schema_from_store`).
    pagerank_range : tuple of float, default (0, 100)
        Range of ``gp_pagerank_pct`` mapped to node size.
    created_at : pandas.Timestamp, optional
        Creation time recorded in the file (default: now).
    lang : str, optional
        Language of category names and search phrases (``en``, ``zh``; default
        ``GRAPHPROFILE_LANG`` or English). Labels, properties and Cypher do not change.

    Returns
    -------
    dict
        The perspective, ready for ``json.dumps``.

    Raises
    ------
    OutputError
        A search-phrase Cypher file is missing or disagrees with its phrase.
    """
    schema = written_schema() if schema is None else schema
    msgs = messages(lang)
    stamp = int((created_at or pd.Timestamp.now(tz="UTC")).timestamp() * 1000)
    rules = style_rules(pagerank_range)
    categories = [
        _category(i, spec, schema.get(spec.label, {}), rules, msgs)
        for i, spec in enumerate(CATEGORIES, start=1)
    ]
    for cat in categories:
        cat["createdAt"] = cat["lastEditedAt"] = stamp
    rel_types = [
        {
            "id": rel,
            "name": rel,
            "color": "#F16667" if rel == "TRANSFER" else "#A5ABB6",
            "size": 2 if rel == "TRANSFER" else 1,
            "properties": [
                {"propertyKey": key, "type": rel, "dataType": dtype} for key, dtype in props.items()
            ],
            "captionKeys": ["total_amount"] if "total_amount" in props else [],
            "styleRules": (
                [range_rule("total_amount", 0.0, 100_000.0, sizes=(1.0, 6.0))]
                if "total_amount" in props
                else []
            ),
        }
        for rel, props in RELATIONSHIPS.items()
    ]
    return {
        "name": name,
        "id": str(uuid.uuid5(_NS, f"perspective:{name}")),
        "version": FORMAT_VERSION,
        "type": "STANDARD_PERSPECTIVE",
        "createdAt": stamp,
        "lastEditedAt": stamp,
        "categories": categories,
        "labels": {
            label: [{"propertyKey": k, "type": label, "dataType": t} for k, t in props.items()]
            for label, props in schema.items()
        },
        "relationshipTypes": rel_types,
        "palette": {"colors": PALETTE, "currentIndex": len(categories) % len(PALETTE)},
        "templates": [_template(stamp + i, p, msgs) for i, p in enumerate(phrases())],
        "sceneActions": [],
        "hiddenRelationshipTypes": [],
        "hiddenCategories": [],
        "hideUncategorisedData": False,
        "parentPerspectiveId": None,
        "metadata": {"pathSegments": _path_segments(), "indexes": []},
    }


def _path_segments() -> list[dict[str, str]]:
    segments = [
        ("Customer", "OWNS", "Account"),
        ("Customer", "USES_DEVICE", "Device"),
        ("Customer", "HAS_IDENTIFIER", "Identifier"),
        ("Account", "TRANSFER", "Account"),
        ("Account", "PAYS", "Counterparty"),
        ("Customer", "MEMBER_OF", "Community"),
        ("Customer", "MEMBER_OF", "Ring"),
    ]
    return [{"source": s, "relationshipType": r, "target": t} for s, r, t in segments]


def schema_from_store(store: Any) -> tuple[dict[str, dict[str, str]], tuple[float, float]]:
    """What a loaded database holds: :func:`written_schema` plus extra customer properties.

    Parameters
    ----------
    store : graphprofile.store.Store
        An open store after ``graphprofile load`` and a write-back.

    Returns
    -------
    schema : dict
        :func:`written_schema` with the properties found on a sample of customers added
        (extra source columns appear in the perspective; their data type is taken as
        ``string``).
    pagerank_range : tuple of float
        Observed range of ``gp_pagerank_pct`` (:data:`PAGERANK_PCT_RANGE` when none is
        written yet).
    """
    from graphprofile.store.cypher import statement

    schema = written_schema()
    keys = store.run(statement("bloom/meta/customer_keys"))
    for key in keys.get("key", pd.Series(dtype=str)).dropna():
        for label in ("Customer", *DEFAULT_LABELS):
            schema[label].setdefault(str(key), "string")
    frame = store.run(statement("bloom/meta/pagerank_range"))
    low, high = PAGERANK_PCT_RANGE
    if len(frame) and frame["low"].notna().all() and frame["high"].notna().all():
        low, high = float(frame["low"].iloc[0]), float(frame["high"].iloc[0])
        if high <= low:
            high = low + 1.0
    return schema, (low, high)


def write_perspective(path: Path, perspective: dict[str, Any]) -> Path:
    """Write a perspective as JSON.

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(perspective, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def generate_perspective(
    out: Path, *, store_uri: str | None = None, lang: str | None = None
) -> dict[str, Any]:
    """Generate the perspective file, optionally tailored to a database's contents.

    Parameters
    ----------
    out : Path
        Where to write the perspective JSON.
    store_uri : str, optional
        A store URI; when given, extra customer properties and the PageRank range are
        read from the database.
    lang : str, optional
        Language of category names and search phrases (see :func:`build_perspective`).

    Returns
    -------
    dict
        ``path``, ``categories``, ``search_phrases``, ``version`` and ``from_store``.
    """
    schema, pr_range = None, PAGERANK_PCT_RANGE
    if store_uri:
        from graphprofile.store import open_store

        with open_store(store_uri) as store:
            schema, pr_range = schema_from_store(store)
    perspective = build_perspective(schema=schema, pagerank_range=pr_range, lang=lang)
    write_perspective(out, perspective)
    return {
        "path": str(out),
        "categories": len(perspective["categories"]),
        "search_phrases": len(perspective["templates"]),
        "version": perspective["version"],
        "from_store": bool(store_uri),
    }
