"""Engine-agnostic store checks, run against FalkorDB and (when configured) Neo4j.

A test module subclasses :class:`StoreSuite` and provides a ``store`` fixture that yields
an open store on an empty graph.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest

from graphprofile.errors import StoreError
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, TABLES, CanonicalGraph
from graphprofile.store import apply_schema, load_graph, read_graph, write_back

INJECTIONS = ["' OR 1=1", "})-[:X]->(", "$param", "`x` // c", 'q"uote\\', "a\nb"]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def small_graph() -> CanonicalGraph:
    """A hand-built canonical graph exercising every table and awkward values."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "name": ["h:aa", INJECTIONS[0], INJECTIONS[1], None, "Zoë 😀"],
            "segment": ["retail", "retail", "sme", None, "retail"],
            "known_fraud": [False, True, False, False, False],
            "region": ["north", INJECTIONS[2], "south", "west", INJECTIONS[4]],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c1"],
            "opened_at": [
                ts("2020-01-01T00:00:00"),
                ts("2021-06-30T12:34:56.123456"),
                pd.NaT,
                ts("2019-12-31T23:59:59"),
                ts("2022-02-02T02:02:02"),
                ts("2023-03-03T03:03:03"),
            ],
            "account_type": ["current", "savings", "current", INJECTIONS[3], None, "current"],
        }
    )
    devices = pd.DataFrame({"device_id": ["d1", "d2"], "n_customers": [3, 1], "n_uses": [7, 2]})
    identifiers = pd.DataFrame(
        {
            "identifier_id": ["email:h1", "phone:h2"],
            "kind": ["email", "phone"],
            "n_customers": [2, 1],
        }
    )
    counterparties = pd.DataFrame(
        {
            "counterparty_id": ["p1", "p2"],
            "name": [INJECTIONS[1], "Shop"],
            "kind": ["merchant", INJECTIONS[5]],
        }
    )
    owns = accounts[["customer_id", "account_id"]].copy()
    uses = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "device_id": ["d1", "d1", "d1", "d2"],
            "n_uses": [3, 2, 2, 2],
            "first_seen": [ts("2024-01-01")] * 4,
            "last_seen": [ts("2024-02-01T10:00:00")] * 4,
        }
    )
    has_id = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "identifier_id": ["email:h1", "email:h1", "phone:h2"],
            "kind": ["email", "email", "phone"],
        }
    )
    transfer = pd.DataFrame(
        {
            "from_account": ["a1", "a2", "a3", "a4"],
            "to_account": ["a2", "a3", "a1", "a4"],
            "n_txns": [2, 1, 5, 1],
            "total_amount": [150.5, 99.25, 1000.0, 12.0],
            "first_ts": [ts("2024-01-01"), ts("2024-01-02"), ts("2024-01-03"), ts("2024-01-04")],
            "last_ts": [ts("2024-01-05"), ts("2024-01-02"), ts("2024-03-03"), ts("2024-01-04")],
        }
    )
    pays = pd.DataFrame(
        {
            "from_account": ["a1", "a5"],
            "counterparty_id": ["p1", "p2"],
            "n_txns": [1, 3],
            "total_amount": [20.0, 75.75],
            "first_ts": [ts("2024-02-01"), ts("2024-02-02")],
            "last_ts": [ts("2024-02-01"), ts("2024-02-09")],
        }
    )
    return CanonicalGraph(
        nodes={
            "customer": customers,
            "account": accounts,
            "device": devices,
            "identifier": identifiers,
            "counterparty": counterparties,
        },
        edges={
            "OWNS": owns,
            "USES_DEVICE": uses,
            "HAS_IDENTIFIER": has_id,
            "TRANSFER": transfer,
            "PAYS": pays,
        },
        transactions=pd.DataFrame({c: [] for c in TABLES["transactions"]}),
    )


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def table_records(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """Rows as plain dicts (missing values dropped), ordered by ``keys``."""
    ordered = frame.sort_values(keys).reset_index(drop=True)
    out = []
    for row in ordered.to_dict("records"):
        plain = {k: _plain(v) for k, v in row.items()}
        out.append({k: v for k, v in plain.items() if v is not None})
    return out


def graph_records(graph: CanonicalGraph) -> dict[str, list[dict[str, Any]]]:
    out = {t: table_records(f, [NODE_KEYS[t]]) for t, f in graph.nodes.items()}
    for rel, (_, src, _, dst) in EDGE_ENDS.items():
        out[rel] = table_records(graph.edges[rel], [src, dst])
    return out


def dump(store: Any) -> dict[str, Any]:
    """Every node (labels, properties) and relationship of the database, sorted."""
    nodes = store.run("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels = store.run(
        "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(a) AS a, "
        "properties(b) AS b, properties(r) AS props"
    )
    node_items = sorted(
        json.dumps([sorted(lab), dict(p)], sort_keys=True, default=str)
        for lab, p in zip(nodes["labels"], nodes["props"], strict=True)
    )
    rel_items = sorted(
        json.dumps([t, dict(a), dict(b), dict(p)], sort_keys=True, default=str)
        for t, a, b, p in rels[["type", "a", "b", "props"]].itertuples(index=False)
    )
    return {"nodes": node_items, "relationships": rel_items}


def count(store: Any, query: str, params: dict[str, Any] | None = None) -> int:
    return int(store.run(query, params or {}).iloc[0, 0])


def customers(store: Any) -> dict[str, dict[str, Any]]:
    """customer_id -> {"labels": sorted labels, **properties}."""
    frame = store.run("MATCH (c:Customer) RETURN labels(c) AS labels, properties(c) AS props")
    return {
        p["customer_id"]: {"labels": sorted(lab), **dict(p)}
        for lab, p in zip(frame["labels"], frame["props"], strict=True)
    }


def run_one() -> dict[str, pd.DataFrame]:
    features = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "community_id": [0, 0, 1, 1, 1],
            "pagerank": [0.4, 0.2, 0.2, 0.1, 0.1],
            "pagerank_pct": [1.0, 0.75, 0.75, 0.25, 0.25],
            "risk_score": [0.9, 0.8, 0.1, 0.2, 0.05],
            "ring_id": ["R1", "R1", None, None, None],
            "ring_kind": ["cycle", "cycle", None, None, None],
            "is_influencer": [True, False, False, False, False],
            "is_ring_member": [True, True, False, False, False],
            "is_high_risk": [True, True, False, False, False],
        }
    )
    rings = pd.DataFrame(
        {
            "ring_id": ["R1"],
            "kind": ["cycle"],
            "size": [2],
            "customers": [["c1", "c2"]],
            "accounts": [["a1", "a2"]],
            "risk": [0.85],
            "reasons": [[{"rule": "cycle", "detail": INJECTIONS[1]}]],
        }
    )
    communities = pd.DataFrame(
        {
            "community_id": [0, 1],
            "size": [2, 3],
            "density": [1.0, 0.5],
            "top_members": [["c1", "c2"], ["c3"]],
        }
    )
    return {"features": features, "rings": rings, "communities": communities}


def run_two() -> dict[str, pd.DataFrame]:
    """A changed result: c1 leaves ring R1 (gone), c3/c4 form R2, c5 is not analysed,
    pagerank_pct is no longer computed and c3 becomes high risk."""
    features = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "community_id": [2, 2, 2, 3],
            "pagerank": [0.3, 0.3, 0.3, 0.1],
            "risk_score": [0.1, 0.2, 0.95, 0.7],
            "ring_id": [None, None, "R2", "R2"],
            "ring_kind": [None, None, "fan_in", "fan_in"],
            "is_influencer": [False, False, True, False],
            "is_ring_member": [False, False, True, True],
            "is_high_risk": [False, False, True, False],
        }
    )
    rings = pd.DataFrame(
        {
            "ring_id": ["R2"],
            "kind": ["fan_in"],
            "customers": [["c3", "c4"]],
            "risk": [0.9],
            "reasons": ['[{"rule": "fan_in"}]'],
        }
    )
    communities = pd.DataFrame({"community_id": [2, 3], "size": [3, 1]})
    return {"features": features, "rings": rings, "communities": communities}


class StoreSuite:
    """Checks every engine must pass. Subclasses provide the ``store`` fixture."""

    def test_schema_apply_is_idempotent(self, store: Any) -> None:
        first = apply_schema(store)
        second = apply_schema(store)
        assert first["statements"] == second["statements"] >= 9
        if store.engine == "falkordb":
            assert first["created"] == first["statements"]
            assert second["existing"] == second["statements"]

    def test_load_counts_match_the_canonical_graph(self, store: Any) -> None:
        graph = small_graph()
        apply_schema(store)
        summary = load_graph(store, graph, batch_size=2)
        labels = {"customer": "Customer", "account": "Account", "device": "Device"}
        labels |= {"identifier": "Identifier", "counterparty": "Counterparty"}
        for table, label in labels.items():
            assert count(store, f"MATCH (n:{label}) RETURN count(n)") == len(graph.nodes[table])
            assert summary["tables"][table]["written"] == len(graph.nodes[table])
        for rel, frame in graph.edges.items():
            assert count(store, f"MATCH ()-[r:{rel}]->() RETURN count(r)") == len(frame)
            assert summary["tables"][rel]["written"] == len(frame)
        assert summary["nodes"] == sum(len(f) for f in graph.nodes.values())
        assert summary["relationships"] == sum(len(f) for f in graph.edges.values())

    def test_second_load_changes_nothing(self, store: Any) -> None:
        apply_schema(store)
        load_graph(store, small_graph(), batch_size=3)
        before = dump(store)
        load_graph(store, small_graph(), batch_size=4)
        assert dump(store) == before
        assert len(before["nodes"]) == 17 and len(before["relationships"]) == 19

    def test_read_graph_round_trip(self, store: Any) -> None:
        graph = small_graph()
        apply_schema(store)
        load_graph(store, graph)
        back = read_graph(store, page_size=2)
        assert graph_records(back) == graph_records(graph)
        assert back.transactions.empty
        assert back.present == {"customers", "accounts", "devices", "identifiers", "counterparties"}
        assert list(back.transactions.columns) == list(TABLES["transactions"])

    def test_injection_like_values_are_stored_verbatim(self, store: Any) -> None:
        apply_schema(store)
        load_graph(store, small_graph())
        found = customers(store)
        assert found["c2"]["name"] == "' OR 1=1"
        assert found["c3"]["name"] == "})-[:X]->("
        assert found["c2"]["region"] == "$param"
        assert found["c5"]["region"] == 'q"uote\\'
        names = store.run("MATCH (p:Counterparty) RETURN p.name AS name ORDER BY name")
        assert names["name"].tolist() == ["Shop", "})-[:X]->("]
        # nothing but the loaded labels exists (no :X relationship was created)
        assert count(store, "MATCH ()-[r:X]->() RETURN count(r)") == 0

    def test_unsafe_names_are_rejected_before_writing(self, store: Any) -> None:
        graph = small_graph()
        graph.nodes["customer"]["bad name`) DETACH DELETE n //"] = 1
        with pytest.raises(StoreError, match="unsafe property"):
            load_graph(store, graph)
        assert count(store, "MATCH (n) RETURN count(n)") == 0

        load_graph(store, small_graph())
        results = run_one()
        with pytest.raises(StoreError, match="unsafe label"):
            write_back(
                store, run_id="r1", run_meta={}, labels={"Bad Label": "is_high_risk"}, **results
            )
        results["features"]["x) SET c.pwned = 1 //"] = 1
        with pytest.raises(StoreError, match="unsafe property"):
            write_back(store, run_id="r1", run_meta={}, **results)
        assert count(store, "MATCH (r:GraphProfileRun) RETURN count(r)") == 0
        assert count(store, "MATCH (c:Customer) WHERE c.gp_run_id IS NOT NULL RETURN count(c)") == 0

    def test_write_back_writes_tags_groups_and_run(self, store: Any) -> None:
        apply_schema(store)
        load_graph(store, small_graph())
        summary = write_back(
            store, run_id="r1", run_meta={"seed": 42, "params": {"a": 1}}, **run_one()
        )
        assert summary["customers"] == 5
        found = customers(store)
        assert found["c1"]["labels"] == ["Customer", "HighRisk", "Influencer", "RingMember"]
        assert found["c2"]["labels"] == ["Customer", "HighRisk", "RingMember"]
        assert found["c3"]["labels"] == ["Customer"]
        assert found["c1"]["gp_risk"] == pytest.approx(0.9)
        assert found["c1"]["gp_community"] == 0
        assert found["c1"]["gp_ring"] == "R1"
        assert found["c1"]["gp_pagerank_pct"] == pytest.approx(1.0)
        assert found["c1"]["gp_run_id"] == "r1"
        assert "gp_ring" not in found["c3"]
        ring = store.run("MATCH (g:Ring) RETURN properties(g) AS p")["p"].tolist()
        assert len(ring) == 1
        assert ring[0]["kind"] == "cycle" and ring[0]["accounts"] == ["a1", "a2"]
        assert json.loads(ring[0]["reasons"]) == [{"detail": "})-[:X]->(", "rule": "cycle"}]
        members = store.run(
            "MATCH (c:Customer)-[:MEMBER_OF]->(g:Ring) RETURN c.customer_id AS c ORDER BY c"
        )
        assert members["c"].tolist() == ["c1", "c2"]
        assert count(store, "MATCH (:Customer)-[:MEMBER_OF]->(:Community) RETURN count(*)") == 5
        run = store.run("MATCH (r:GraphProfileRun) RETURN properties(r) AS p")["p"].tolist()
        assert len(run) == 1 and run[0]["completed"] is True and run[0]["seed"] == 42
        assert json.loads(run[0]["params"]) == {"a": 1}

    def test_write_back_twice_changes_nothing(self, store: Any) -> None:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r1", run_meta={}, **run_one())
        before = dump(store)
        write_back(store, run_id="r1", run_meta={}, **run_one())
        after = dump(store)
        strip = [n for n in after["nodes"] if "GraphProfileRun" not in n]
        assert strip == [n for n in before["nodes"] if "GraphProfileRun" not in n]
        assert after["relationships"] == before["relationships"]

    def test_changed_run_removes_stale_tags(self, store: Any) -> None:
        apply_schema(store)
        load_graph(store, small_graph())
        write_back(store, run_id="r1", run_meta={}, **run_one())
        write_back(store, run_id="r2", run_meta={}, **run_two())
        found = customers(store)
        # c1 left ring R1: loses the label and the property
        assert found["c1"]["labels"] == ["Customer"]
        assert "gp_ring" not in found["c1"] and "gp_ring_kind" not in found["c1"]
        assert found["c3"]["labels"] == ["Customer", "HighRisk", "Influencer", "RingMember"]
        assert found["c4"]["labels"] == ["Customer", "RingMember"]
        # pagerank_pct no longer computed: gone from everyone
        assert not any("gp_pagerank_pct" in c for c in found.values())
        # c5 was not analysed in r2: no gp_ property, no label left
        assert found["c5"]["labels"] == ["Customer"]
        assert not [k for k in found["c5"] if k.startswith("gp_")]
        assert {c["gp_run_id"] for k, c in found.items() if k != "c5"} == {"r2"}
        rings = store.run("MATCH (g:Ring) RETURN g.ring_id AS r")["r"].tolist()
        assert rings == ["R2"]
        comms = store.run("MATCH (k:Community) RETURN k.community_id AS k ORDER BY k")
        assert comms["k"].tolist() == [2, 3]
        assert count(store, "MATCH ()-[m:MEMBER_OF]->() RETURN count(m)") == 4 + 2
        assert (
            count(store, "MATCH ()-[m:MEMBER_OF]->() WHERE m.gp_run_id <> 'r2' RETURN count(m)")
            == 0
        )
        done = store.run(
            "MATCH (r:GraphProfileRun) RETURN r.run_id AS id, r.completed AS done ORDER BY id"
        )
        assert done.values.tolist() == [["r1", True], ["r2", True]]
        # the canonical graph itself is untouched by write-back
        assert graph_records(read_graph(store)) == graph_records(small_graph())
