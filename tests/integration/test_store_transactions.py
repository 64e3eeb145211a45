"""Individual transactions survive load → read_graph (time-aware jobs), FalkorDB and Neo4j."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from store_suite import dump

from graphprofile.frames import CanonicalGraph
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.store import apply_schema, load_graph, open_store, read_graph

SORT = ["ts", "from_account", "to_account", "to_counterparty", "amount"]


@pytest.fixture(scope="module")
def bank_graph(tmp_path_factory: pytest.TempPathFactory) -> CanonicalGraph:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=11)
    graph = build_graph(load_frames(data))
    txns = graph.transactions
    # a missing txn_id and currency must come back missing (stored as "" in the lists)
    txns.loc[txns.index[0], "txn_id"] = pd.NA
    txns.loc[txns.index[1], "currency"] = pd.NA
    return graph


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(
        {
            "txn_id": "string",
            "from_account": "string",
            "to_account": "string",
            "to_counterparty": "string",
            "amount": "float64",
            "currency": "string",
        }
    )
    out["ts"] = out["ts"].astype("datetime64[ns, UTC]")
    return out.sort_values(SORT, kind="stable").reset_index(drop=True)


def test_transactions_round_trip_exactly(bank_graph: CanonicalGraph, store_uri: str) -> None:
    original = bank_graph.transactions
    assert len(original) > 1000 and original["to_account"].notna().any()
    assert original["to_counterparty"].notna().any()
    with open_store(store_uri) as store:
        apply_schema(store)
        load_graph(store, bank_graph, batch_size=2000)
        back = read_graph(store, page_size=500)
        first = dump(store)
        # a re-load replaces the lists, never appends to them
        load_graph(store, bank_graph, batch_size=700)
        again = read_graph(store)
        assert dump(store) == first
    assert list(back.transactions.columns) == list(original.columns)
    assert str(back.transactions["ts"].dtype) == "datetime64[ns, UTC]"
    assert "transactions" in back.present
    pd.testing.assert_frame_equal(canonical(back.transactions), canonical(original))
    pd.testing.assert_frame_equal(canonical(again.transactions), canonical(original))
    # the aggregated edges still hold exactly the canonical columns
    assert list(back.edges["TRANSFER"].columns) == list(bank_graph.edges["TRANSFER"].columns)
    assert back.edges["TRANSFER"]["n_txns"].sum() == original["to_account"].notna().sum()


def test_edge_lists_are_parallel_and_ordered(bank_graph: CanonicalGraph, store_uri: str) -> None:
    with open_store(store_uri) as store:
        apply_schema(store)
        load_graph(store, bank_graph)
        edges = store.run(
            "MATCH ()-[r:TRANSFER]->() RETURN r.n_txns AS n, r.txn_ids AS ids, "
            "r.amounts AS amounts, r.ts AS ts, r.total_amount AS total"
        )
    assert len(edges) == len(bank_graph.edges["TRANSFER"])
    for n, ids, amounts, ts, total in edges.itertuples(index=False):
        assert len(ids) == len(amounts) == len(ts) == n
        assert ts == sorted(ts)
        assert sum(amounts) == pytest.approx(total)


def test_graph_without_transactions_reads_back_none(store_uri: str, tmp_path: Path) -> None:
    from store_suite import small_graph

    with open_store(store_uri) as store:
        load_graph(store, small_graph())
        back = read_graph(store)
    assert back.transactions.empty
    assert "transactions" not in back.present
