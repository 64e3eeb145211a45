"""The report's scoped outputs answer exactly as the whole outputs for what it draws."""

from __future__ import annotations

import networkx as nx
import pytest

from graphprofile.generate import generate_bank
from graphprofile.outputs import RunOutputs, load_outputs
from graphprofile.pipeline import RunConfig, run_job
from graphprofile.sinks.report_graph import ring_keys, ring_subgraph, scope
from graphprofile.sinks.report_views import community_elements, customer_details


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> RunOutputs:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=11)
    out = tmp_path_factory.mktemp("out")
    run_job(RunConfig(data_dir=data, out_dir=out, seed=1, report=False))
    return load_outputs(out)


def _as_data(graph: nx.DiGraph) -> tuple[list, list]:
    return list(graph.nodes(data=True)), list(graph.edges(data=True))


def test_ring_subgraphs_of_the_scope_are_the_rings_subgraphs(outputs: RunOutputs) -> None:
    assert outputs.rings is not None and outputs.graph is not None
    ids = outputs.rings["ring_id"].astype(str).tolist()
    assert len(ids) >= 5
    small = scope(outputs, *ring_keys(outputs, ids[:5]))
    g, s = outputs.graph, small.graph
    assert s is not None
    assert sum(map(len, s.edges.values())) < sum(map(len, g.edges.values())) / 10
    for rid in ids[:5]:
        whole = ring_subgraph(outputs, rid)
        assert whole.number_of_nodes() > 2
        assert _as_data(ring_subgraph(small, rid)) == _as_data(whole)
        members = [str(d["key"]) for _, d in whole.nodes(data=True) if d["label"] == "customer"]
        assert customer_details(small, members) == customer_details(outputs, members)
    # a ring left out of the scope is missing from it: the check above can fail
    outside = ring_subgraph(outputs, ids[-1])
    assert _as_data(ring_subgraph(small, ids[-1])) != _as_data(outside)


def test_community_views_of_the_scope_are_the_community_views(outputs: RunOutputs) -> None:
    f = outputs.features
    assert f is not None
    largest = f["community_id"].value_counts().index[:2]
    members = f.loc[f["community_id"].isin(largest), "customer_id"].astype(str)
    small = scope(outputs, members)
    for cid in largest:
        whole = community_elements(outputs, cid)
        assert len(whole["nodes"]) > 3 and whole["edges"]
        assert community_elements(small, cid) == whole


def test_scope_by_the_builders_positions_is_the_scope_by_ids(
    outputs: RunOutputs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The running job's graph knows every edge's end positions (``edge_ends``): the scope
    found from them has the same rows, in the same order, as the one found by ids."""
    import dataclasses

    import pandas as pd

    from graphprofile.graph import build_graph
    from graphprofile.ingest import load_frames
    from graphprofile.sinks.report_graph import _scope_by_position

    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=11)  # the fixture's bank
    built = build_graph(load_frames(data))
    by_ids = dataclasses.replace(built, edge_ends={})
    f = outputs.features
    assert f is not None and outputs.rings is not None
    rings = outputs.rings["ring_id"].astype(str).tolist()
    largest = f["community_id"].value_counts().index[:2]
    members = f.loc[f["community_id"].isin(largest), "customer_id"].astype(str).tolist()
    customers, accounts = ring_keys(outputs, rings[:5])
    cases = [(customers, accounts), (set(members), set()), ({"no such id"}, {"nor this"})]
    for customers, accounts in cases:
        assert _scope_by_position(built, set(customers), set(accounts)) is not None
        assert _scope_by_position(by_ids, set(customers), set(accounts)) is None
        fast = scope(dataclasses.replace(outputs, graph=built), customers, accounts).graph
        slow = scope(dataclasses.replace(outputs, graph=by_ids), customers, accounts).graph
        assert fast is not None and slow is not None
        for kind in ("nodes", "edges"):
            got, expected = getattr(fast, kind), getattr(slow, kind)
            assert list(got) == list(expected)
            for name in expected:
                pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True)
    # a node table replaced since the graph was built: its rows are not the positions
    copied = {**built.nodes, "device": built.nodes["device"].copy()}
    replaced = dataclasses.replace(built, nodes=copied)
    assert _scope_by_position(replaced, set(members), set()) is None
    # the rings' scope is not empty (the comparison above says something)
    small = scope(dataclasses.replace(outputs, graph=built), *ring_keys(outputs, rings[:5]))
    assert small.graph is not None and len(small.graph.edges["TRANSFER"]) > 0
