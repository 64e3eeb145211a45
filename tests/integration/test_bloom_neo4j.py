"""The Bloom perspective against a real Neo4j holding a loaded, analysed and tagged bank.

Every search phrase of the generated perspective runs with sample parameters taken from the
database and must return the nodes its name promises; every label, relationship type and
property key the perspective names must exist in the written graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from neo4j_server import Neo4jServer, wipe

from graphprofile.cli import main
from graphprofile.generate import generate_bank
from graphprofile.sinks.bloom import generate_perspective
from graphprofile.store import open_store
from graphprofile.store.writeback import property_name

#: (open store, perspective, customer properties null for every customer of the run)
Tagged = tuple[Any, dict[str, Any], set[str]]


@pytest.fixture(scope="module")
def tagged(neo4j_server: Neo4jServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tagged]:
    """(open store, perspective) after ``graphprofile run --store`` on a generated bank."""
    data = tmp_path_factory.mktemp("bloom-bank")
    generate_bank(data, customers=1500, seed=3)
    out = tmp_path_factory.mktemp("bloom-out")
    with pytest.MonkeyPatch.context() as env:
        for key in ("NEO4J_USER", "NEO4J_PASSWORD"):
            if neo4j_server.env.get(key):
                env.setenv(key, neo4j_server.env[key])
        with open_store(neo4j_server.uri) as store:
            wipe(store)
            assert main(["run", str(data), "--out", str(out), "--store", neo4j_server.uri]) == 0
            generate_perspective(out / "perspective.json", store_uri=neo4j_server.uri)
            perspective = json.loads((out / "perspective.json").read_text())
            # Neo4j stores no nulls: a feature that is null for every customer of this run
            # (the learned score below 20 known-fraud customers) has no property key at all.
            features = pd.read_parquet(out / "features.parquet")
            all_null = {property_name(c) for c in features.columns if features[c].isna().all()}
            yield store, perspective, all_null
            wipe(store)


def _phrase(perspective: dict[str, Any], text: str) -> str:
    found = [t["cypher"] for t in perspective["templates"] if t["text"] == text]
    assert len(found) == 1, f"no search phrase {text!r}"
    return found[0]


def _ids(values: pd.Series, key: str) -> set[str]:
    return {node[key] for node in values if node is not None}


def _column(store: Any, query: str, params: dict[str, Any] | None = None) -> list[Any]:
    frame = store.run(query, params or {})
    return frame.iloc[:, 0].tolist()


def test_every_phrase_is_checked(tagged: Tagged) -> None:
    _, perspective, _ = tagged
    assert {t["text"] for t in perspective["templates"]} == {
        "Ring $ringId",
        "Rings with risk above $min",
        "Customers sharing devices with $customerId",
        "Top influencers in community $communityId",
        "Money path from $a to $b",
        "Why is $customerId high risk",
        "High-risk customers",
    }


def test_ring_returns_its_members_accounts_and_ties(tagged: Tagged) -> None:
    store, perspective, _ = tagged
    ring_id, members = store.run(
        "MATCH (g:Ring)<-[:MEMBER_OF]-(c:Customer) "
        "WITH g, collect(c.customer_id) AS members "
        "RETURN g.ring_id AS ring, members ORDER BY size(members) DESC, ring LIMIT 1"
    ).iloc[0]
    assert len(members) >= 2
    found = store.run(_phrase(perspective, "Ring $ringId"), {"ringId": ring_id})
    assert _ids(found["g"], "ring_id") == {ring_id}
    assert _ids(found["c"], "customer_id") == set(members)
    accounts = _column(
        store,
        "MATCH (c:Customer)-[:OWNS]->(a:Account) WHERE c.customer_id IN $m RETURN a.account_id",
        {"m": members},
    )
    assert _ids(found["a"], "account_id") == set(accounts)
    # shared devices/identifiers and transfers only ever lead to other members
    for x in found["x"].dropna():
        assert x.labels & {"Device", "Identifier"}
    for b in found["b"].dropna():
        assert b["account_id"] in set(accounts)


def test_rings_above_a_risk_are_exactly_those(tagged: Tagged) -> None:
    store, perspective, _ = tagged
    risks = sorted(_column(store, "MATCH (g:Ring) RETURN g.risk"))
    assert len(risks) >= 3
    threshold = risks[len(risks) // 2]
    found = store.run(_phrase(perspective, "Rings with risk above $min"), {"min": threshold})
    expected = _column(
        store, "MATCH (g:Ring) WHERE g.risk >= $t RETURN g.ring_id", {"t": threshold}
    )
    assert _ids(found["g"], "ring_id") == set(expected)
    assert 0 < len(expected) < len(risks)
    members = _column(
        store,
        "MATCH (g:Ring)<-[:MEMBER_OF]-(c) WHERE g.risk >= $t RETURN c.customer_id",
        {"t": threshold},
    )
    assert _ids(found["c"], "customer_id") == set(members)


def test_shared_devices_returns_every_co_user(tagged: Tagged) -> None:
    store, perspective, _ = tagged
    customer = _column(
        store,
        "MATCH (c:Customer)-[:USES_DEVICE]->(d:Device)<-[:USES_DEVICE]-(o:Customer) "
        "WHERE o <> c RETURN c.customer_id ORDER BY c.customer_id LIMIT 1",
    )[0]
    found = store.run(
        _phrase(perspective, "Customers sharing devices with $customerId"), {"customerId": customer}
    )
    co_users = _column(
        store,
        "MATCH (c:Customer {customer_id: $id})-[:USES_DEVICE]->(:Device)<-[:USES_DEVICE]-(o) "
        "WHERE o <> c RETURN DISTINCT o.customer_id",
        {"id": customer},
    )
    assert _ids(found["c"], "customer_id") == {customer}
    assert _ids(found["o"], "customer_id") == set(co_users) != set()
    devices = _column(
        store,
        "MATCH (:Customer {customer_id: $id})-[:USES_DEVICE]->(d) RETURN d.device_id",
        {"id": customer},
    )
    assert _ids(found["d"], "device_id") <= set(devices)


def test_community_influencers_are_the_top_ten_by_pagerank(
    tagged: Tagged,
) -> None:
    store, perspective, _ = tagged
    community, size = store.run(
        "MATCH (k:Community)<-[:MEMBER_OF]-(c) RETURN k.community_id AS k, count(c) AS n "
        "ORDER BY n DESC, k LIMIT 1"
    ).iloc[0]
    assert size > 10
    found = store.run(
        _phrase(perspective, "Top influencers in community $communityId"),
        {"communityId": str(community)},  # Bloom passes text; the phrase compares as text
    )
    top = _column(
        store,
        "MATCH (k:Community {community_id: $k})<-[:MEMBER_OF]-(c) "
        "RETURN c.gp_pagerank ORDER BY c.gp_pagerank DESC LIMIT 10",
        {"k": int(community)},
    )
    assert sorted((c["gp_pagerank"] for c in found["c"]), reverse=True) == top
    assert _ids(found["k"], "community_id") == {int(community)}
    assert all(c["gp_community"] == int(community) for c in found["c"])


def test_money_path_follows_transfers_between_the_two_customers(
    tagged: Tagged,
) -> None:
    store, perspective, _ = tagged
    a, b = store.run(
        "MATCH (a:Customer)-[:OWNS]->(:Account)-[:TRANSFER]->(:Account)-[:TRANSFER]->"
        "(:Account)<-[:OWNS]-(b:Customer) WHERE a <> b "
        "RETURN a.customer_id AS a, b.customer_id AS b ORDER BY a, b LIMIT 1"
    ).iloc[0]
    found = store.run(_phrase(perspective, "Money path from $a to $b"), {"a": a, "b": b})
    assert len(found) == 1
    row = found.iloc[0]
    path = row["p"]
    assert row["a"]["customer_id"] == a and row["b"]["customer_id"] == b
    assert {r.type for r in path.relationships} == {"TRANSFER"}
    assert 1 <= len(path) <= 2  # shortest: a two-hop chain exists
    for rel in path.relationships:  # money moves forward along the path
        assert rel.start_node.element_id != rel.end_node.element_id
    assert path.start_node.element_id == row["o1"].end_node.element_id
    assert path.end_node.element_id == row["o2"].end_node.element_id


def test_why_high_risk_shows_the_ring_evidence(tagged: Tagged) -> None:
    store, perspective, _ = tagged
    customer, ring = store.run(
        "MATCH (c:Customer:HighRisk)-[:MEMBER_OF]->(g:Ring) "
        "RETURN c.customer_id AS c, g.ring_id AS g ORDER BY c LIMIT 1"
    ).iloc[0]
    found = store.run(
        _phrase(perspective, "Why is $customerId high risk"), {"customerId": customer}
    )
    assert _ids(found["c"], "customer_id") == {customer}
    paths = [p for p in found["p"] if p is not None]
    assert paths and all(p.start_node["customer_id"] == customer for p in paths)
    rings = {n["ring_id"] for p in paths for n in p.nodes if "Ring" in n.labels}
    assert ring in rings


def test_high_risk_customers_are_the_riskiest_fifty(tagged: Tagged) -> None:
    store, perspective, _ = tagged
    found = store.run(_phrase(perspective, "High-risk customers"))
    customers = {c["customer_id"]: c for c in found["c"]}
    assert all("HighRisk" in c.labels for c in customers.values())
    top = _column(
        store, "MATCH (c:Customer:HighRisk) RETURN c.gp_risk ORDER BY c.gp_risk DESC LIMIT 50"
    )
    assert sorted((c["gp_risk"] for c in customers.values()), reverse=True) == top
    assert 0 < len(customers) <= 50
    for g in found["g"].dropna():
        assert "Ring" in g.labels


def test_perspective_names_only_what_the_graph_holds(tagged: Tagged) -> None:
    """Labels, relationship types and property keys of the perspective, checked in Neo4j."""
    store, perspective, all_null = tagged
    labels = set(_column(store, "CALL db.labels() YIELD label RETURN label"))
    types = set(_column(store, "CALL db.relationshipTypes() YIELD relationshipType RETURN *"))
    assert {c["name"] for c in perspective["categories"]} <= labels
    assert {r["name"] for r in perspective["relationshipTypes"]} <= types
    missing: dict[str, set[str]] = {}
    for label, props in perspective["labels"].items():
        held = set(_column(store, f"MATCH (n:`{label}`) UNWIND keys(n) AS k RETURN DISTINCT k"))
        # Customer properties (also on the Influencer/RingMember/HighRisk customers)
        named = {p["propertyKey"] for p in props} - all_null
        if named - held:
            missing[label] = named - held
    for rel in perspective["relationshipTypes"]:
        held = set(
            _column(
                store, f"MATCH ()-[r:`{rel['name']}`]->() UNWIND keys(r) AS k RETURN DISTINCT k"
            )
        )
        named = {p["propertyKey"] for p in rel["properties"]}
        if named - held:
            missing[rel["name"]] = named - held
    assert missing == {}
    for template in perspective["templates"]:
        for param in template["params"]:
            if param["suggestionLabel"]:
                assert param["suggestionLabel"] in labels
                held = _column(
                    store,
                    f"MATCH (n:`{param['suggestionLabel']}`) UNWIND keys(n) AS k RETURN DISTINCT k",
                )
                assert param["suggestionProp"] in held
