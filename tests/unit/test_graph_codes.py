"""Id columns coded once against the node tables' sorted ids (#16): same graph, fewer sorts.

The graph builder codes every customer, account and counterparty column by its position
in the node table's sorted ids (:class:`graphprofile.graph.SortedIds`) instead of hashing
and sorting each column on its own (:func:`graphprofile._arrow.sorted_codes`). These tests
build the same tables both ways and compare them, and check that the analysis gets the
same transaction account positions from the graph as from its own lookup.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from graphprofile._arrow import SortedIds, codes, sorted_codes
from graphprofile.analysis.projection import (
    _node_index,
    account_index,
    item_codes,
    project,
    transaction_accounts,
)
from graphprofile.frames import EDGE_ENDS, NODE_KEYS, CanonicalGraph, Frames, TableStats
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph, group_pairs, sort_by
from graphprofile.ingest import load_frames
from graphprofile.ingest.references import account_ends, dangling_positions
from graphprofile.ingest.validate import LoadLog


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Frames:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=5)
    return load_frames(data, now=pd.Timestamp("2030-01-01", tz="UTC"))


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="string")


def test_positions_in_sorted_ids_order_values_as_their_own_sorted_codes() -> None:
    ids = SortedIds(_text(["a", "b", "c", "d", "e"]))
    values = _text(["d", "a", "d", "b"])
    found, uniques = ids.codes(values)
    assert found.tolist() == [3, 0, 3, 1] and list(uniques) == ["a", "b", "c", "d", "e"]
    own, own_uniques = sorted_codes(values)
    assert list(own_uniques.take(own)) == list(uniques.take(found)) == ["d", "a", "d", "b"]
    assert np.array_equal(np.argsort(found, kind="stable"), np.argsort(own, kind="stable"))


@pytest.mark.parametrize(
    ("ids", "values"),
    [
        (["a", "b", "c"], ["c", None, "a"]),  # a null: sorted_codes gives it -1
        (["a", "b", "c"], ["c", "z", "a"]),  # an id that is not a node
        (["b", "a", "c"], ["c", "a"]),  # ids not sorted
        (["a", "a", "c"], ["c", "a"]),  # ids not unique
    ],
)
def test_columns_that_do_not_fit_the_ids_are_coded_on_their_own(
    ids: list[str], values: list[str | None]
) -> None:
    found, uniques = SortedIds(_text(ids)).codes(_text(values))
    own, own_uniques = sorted_codes(_text(values))
    assert found.tolist() == own.tolist() and list(uniques) == list(own_uniques)


def test_the_graph_equals_the_one_built_from_each_columns_own_codes(frames: Frames) -> None:
    graph = build_graph(frames)
    txns = frames.transactions
    aggs = {
        "n_txns": ("amount", "size"),
        "total_amount": ("amount", "sum"),
        "first_ts": ("ts", "min"),
        "last_ts": ("ts", "max"),
    }
    for name, target in (("TRANSFER", "to_account"), ("PAYS", "to_counterparty")):
        sel = txns[txns[target].notna()]
        expected = group_pairs(
            sel["from_account"], sel[target], {"amount": sel["amount"], "ts": sel["ts"]}, **aggs
        )
        expected["n_txns"] = expected["n_txns"].astype("int64")
        got = graph.edges[name].rename(columns={"counterparty_id": "to_counterparty"})
        assert len(got) > 10
        pd.testing.assert_frame_equal(got, expected.astype(got.dtypes.to_dict()))

    dev = frames.devices
    uses = group_pairs(
        dev["customer_id"],
        dev["device_id"],
        {"seen_at": dev["seen_at"]},
        n_uses=("seen_at", "size"),
        first_seen=("seen_at", "min"),
        last_seen=("seen_at", "max"),
    )
    uses["n_uses"] = uses["n_uses"].astype("int64")
    pd.testing.assert_frame_equal(graph.edges["USES_DEVICE"], uses)
    per_device = uses.groupby("device_id", sort=True)["customer_id"].size()
    assert graph.nodes["device"]["n_customers"].tolist() == per_device.tolist()
    assert graph.nodes["device"]["device_id"].tolist() == per_device.index.tolist()

    idf = frames.identifiers.dropna(subset=["value"])
    has_id = pd.DataFrame(
        {
            "customer_id": idf["customer_id"].astype("string"),
            "identifier_id": (idf["kind"] + ":" + idf["value"]).astype("string"),
            "kind": idf["kind"].astype("string"),
        }
    )
    has_id = sort_by(has_id, ["customer_id", "identifier_id"], unique=True)
    assert len(has_id) < len(idf) or len(has_id) > 100
    pd.testing.assert_frame_equal(graph.edges["HAS_IDENTIFIER"], has_id)
    owners = frames.accounts[["customer_id", "account_id"]]
    pd.testing.assert_frame_equal(
        graph.edges["OWNS"], sort_by(owners, ["customer_id", "account_id"])
    )


def test_the_analysis_takes_the_graphs_account_positions_only_when_they_fit(
    frames: Frames,
) -> None:
    graph = build_graph(frames)
    txns = graph.transactions
    accounts = account_index(graph)
    expected = (codes(txns["from_account"], accounts), codes(txns["to_account"], accounts))
    assert graph.transaction_accounts is not None
    src, dst = transaction_accounts(graph, accounts)
    assert src is graph.transaction_accounts[0]  # shared, not looked up again
    assert np.array_equal(src, expected[0]) and np.array_equal(dst, expected[1])
    assert (dst == -1).sum() == txns["to_account"].isna().sum() > 0

    # one account node fewer (as a graph read from a store may have): looked up afresh
    fewer = CanonicalGraph(
        nodes={**graph.nodes, "account": graph.nodes["account"].iloc[1:]},
        edges=graph.edges,
        transactions=txns,
        transaction_accounts=graph.transaction_accounts,
    )
    smaller = account_index(fewer)
    src, dst = transaction_accounts(fewer, smaller)
    assert src is not graph.transaction_accounts[0]
    assert np.array_equal(src, codes(txns["from_account"], smaller))
    assert np.array_equal(dst, codes(txns["to_account"], smaller))


def test_item_codes_from_the_item_nodes_keep_the_order_of_their_own_codes(
    frames: Frames,
) -> None:
    graph = build_graph(frames)
    for edge, column, label in (
        ("USES_DEVICE", "device_id", "device"),
        ("HAS_IDENTIFIER", "identifier_id", "identifier"),
        ("PAYS", "counterparty_id", "counterparty"),
    ):
        values = graph.edges[edge][column]
        ids = SortedIds(graph.nodes[label][column])
        assert ids.usable
        found, own = item_codes(values, ids), item_codes(values)
        # the same items in the same order: only the gaps of absent ids differ
        assert np.array_equal(np.unique(found, return_inverse=True)[1], own)
    money = project(graph).money_edges
    assert (np.diff(money["src"].to_numpy() * 10**7 + money["dst"].to_numpy()) > 0).all()


def test_the_reference_check_keeps_where_each_transactions_accounts_are() -> None:
    log = LoadLog()
    log.files["transactions"] = "transactions.csv"
    log.stats["transactions"] = TableStats("transactions", "transactions.csv", read=5)
    accounts = pd.DataFrame({"account_id": _text(["A3", "A1", "A2"])})
    txns = pd.DataFrame(
        {
            "_row": [2, 3, 4, 5, 6],
            "txn_id": _text(["T1", "T2", "T3", "T4", "T5"]),
            "from_account": _text(["A1", "A9", "A2", "A8", "A3"]),
            "to_account": _text(["A2", "A1", "A7", "A7", None]),
        }
    )
    kept, (src, dst) = account_ends(log, txns, accounts)
    assert kept["txn_id"].tolist() == ["T1", "T5"]
    assert src.tolist() == [1, 0] and dst.tolist() == [2, -1]  # rows of ``accounts``
    rejects = log.rejects.frame()
    # a transaction with both ends unknown is rejected once, for its sender
    assert rejects["source_row"].tolist() == [3, 4, 5]
    assert rejects["column"].tolist() == ["from_account", "to_account", "from_account"]
    assert rejects["reason"].tolist()[1] == "dangling reference: to_account 'A7' is not in accounts"


def test_loaded_frames_carry_the_positions_the_graph_codes_from(frames: Frames) -> None:
    assert frames.transaction_accounts is not None
    src, dst = frames.transaction_accounts
    ids = pd.Index(frames.accounts["account_id"])
    txns = frames.transactions
    assert np.array_equal(src, codes(txns["from_account"], ids))
    assert np.array_equal(dst, codes(txns["to_account"], ids))
    graph = build_graph(frames)
    assert graph.transaction_accounts is not None
    assert graph.transaction_accounts[0] is src  # taken over, not looked up again


def test_every_edge_tables_ends_are_the_positions_of_its_ids_in_the_nodes(
    frames: Frames,
) -> None:
    graph = build_graph(frames)
    assert set(graph.edge_ends) == {"OWNS", "USES_DEVICE", "HAS_IDENTIFIER", "TRANSFER", "PAYS"}
    for name, (src_label, src_col, dst_label, dst_col) in EDGE_ENDS.items():
        ends = graph.edge_ends[name]
        edges = graph.edges[name]
        assert ends.edges is edges
        src_ids = pd.Index(graph.nodes[src_label][NODE_KEYS[src_label]])
        dst_ids = pd.Index(graph.nodes[dst_label][NODE_KEYS[dst_label]])
        assert np.array_equal(ends.source, codes(edges[src_col], src_ids)), name
        assert np.array_equal(ends.target, codes(edges[dst_col], dst_ids)), name
        assert (ends.source >= 0).all() and (ends.target >= 0).all()
        assert ends.hold_for(edges)
        assert not ends.hold_for(edges.copy())  # another frame, even with the same rows
        assert not replace(ends, source=ends.source[:-1]).hold_for(edges)  # not one per row


def test_the_projection_is_the_same_with_the_builders_ends_or_without(frames: Frames) -> None:
    graph = build_graph(frames)
    bare = CanonicalGraph(
        nodes=graph.nodes,
        edges=graph.edges,
        transactions=graph.transactions,
        transaction_accounts=graph.transaction_accounts,
    )
    assert bare.edge_ends == {}
    built, looked_up = project(graph), project(bare)
    assert np.array_equal(built.account_customer, looked_up.account_customer)
    assert (built.account_customer >= 0).all()
    for name in ("links", "hubs", "money_edges", "rel_edges"):
        pd.testing.assert_frame_equal(getattr(built, name), getattr(looked_up, name))
    # the indexes: the node ids as they are, or the sorted union of every id column
    assert _node_index(graph, "account", ("OWNS", "TRANSFER")) is not None
    assert _node_index(bare, "account", ("OWNS", "TRANSFER")) is None
    for name in ("customers", "accounts"):
        pd.testing.assert_index_equal(getattr(built, name), getattr(looked_up, name), exact=True)
        assert getattr(built, name).dtype == "str"
    assert len(built.links) > 0 and len(built.rel_edges) > 0

    # an edge table replaced after the build (a subgraph): its ends are not used
    owns = graph.edges["OWNS"].copy()
    owns["customer_id"] = owns["customer_id"].to_numpy()[::-1]
    swapped = CanonicalGraph(
        nodes=graph.nodes,
        edges={**graph.edges, "OWNS": owns},
        transactions=graph.transactions,
        edge_ends=graph.edge_ends,
    )
    moved = project(swapped).account_customer
    expected = np.empty(len(owns), dtype=np.int64)
    expected[codes(owns["account_id"], built.accounts)] = codes(
        owns["customer_id"], built.customers
    )
    assert np.array_equal(moved, expected)
    assert not np.array_equal(moved, built.account_customer)


def test_loaded_frames_carry_each_device_and_identifier_rows_customer_position(
    frames: Frames,
) -> None:
    ids = pd.Index(frames.customers["customer_id"])
    for table in ("devices", "identifiers"):
        found = frames.customer_positions[table]
        expected = codes(frames.table(table)["customer_id"], ids)
        assert np.array_equal(found, expected) and (found >= 0).all(), table


def test_the_reference_check_finds_customers_of_the_rows_it_keeps() -> None:
    log = LoadLog()
    log.files["devices"] = "devices.csv"
    log.stats["devices"] = TableStats("devices", "devices.csv", read=4)
    devices = pd.DataFrame(
        {
            "_row": [2, 3, 4, 5],
            "device_id": _text(["D1", "D2", "D3", "D4"]),
            "customer_id": _text(["C2", "C9", None, "C1"]),
        }
    )
    kept, found = dangling_positions(
        log, "devices", devices, "customer_id", pd.Index(_text(["C1", "C2"])), "customers"
    )
    assert kept["device_id"].tolist() == ["D1", "D3", "D4"]
    assert found is not None and found.tolist() == [1, -1, 0]
    assert log.rejects.frame()["reason"].tolist() == [
        "dangling reference: customer_id 'C9' is not in customers"
    ]


def test_the_graph_is_the_same_without_the_reference_checks_positions(frames: Frames) -> None:
    with_found = build_graph(frames)
    without = build_graph(replace(frames, customer_positions={}))
    for name in with_found.edges:
        pd.testing.assert_frame_equal(with_found.edges[name], without.edges[name])
    for label in with_found.nodes:
        pd.testing.assert_frame_equal(with_found.nodes[label], without.nodes[label])
    for name, ends in with_found.edge_ends.items():
        assert np.array_equal(ends.source, without.edge_ends[name].source), name
        assert np.array_equal(ends.target, without.edge_ends[name].target), name


@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize(
    "ranges",
    [
        [(-1, 50), (-1, 7)],  # codes with nulls (-1), many ties
        [(0, 3), (5, 9), (-1, 4)],  # three keys, one not starting at 0
        [(0, 2**40), (0, 2**30)],  # too wide for one int64: numpy.lexsort itself
    ],
)
def test_sort_order_is_lexsorts_stable_order(ranges: list[tuple[int, int]], unique: bool) -> None:
    from graphprofile.graph import _sort_order

    rng = np.random.default_rng(3)
    keys = [rng.integers(low, high, 2000) for low, high in ranges]
    want = np.lexsort(keys[::-1])
    if unique:
        stacked = np.column_stack([k[want] for k in keys])
        want = want[np.r_[True, (stacked[1:] != stacked[:-1]).any(axis=1)]]
    assert np.array_equal(_sort_order(keys, unique=unique), want)


@pytest.mark.parametrize(
    ("kinds", "values"),
    [
        # pseudonyms (16 lowercase hex digits); "a-" sorts before "a" once ":" follows
        (["a", "a-", "email", "a", "a-", "email", "a"], None),
        (["phone", "a:b", "phone"], None),  # a kind with ":": text order of its own
        (["phone", "email", "phone"], ["0123456789abcdeF", "x", "0123"]),  # not hex
    ],
)
def test_identifier_codes_are_the_sorted_codes_of_kind_colon_value(
    kinds: list[str], values: list[str] | None
) -> None:
    from graphprofile.graph import _identifier_codes

    rng = np.random.default_rng(1)
    if values is None:  # few distinct words, so that pairs repeat
        words = rng.choice(rng.integers(0, 2**63, 4, dtype=np.uint64), len(kinds) * 40)
        values = [f"{w:016x}" for w in words]
        kinds = kinds * 40
    kind, value = _text(kinds), _text(values)
    ids = (kind + ":" + value).astype("string")
    got, got_uniques = _identifier_codes(kind, value, ids)
    want, want_uniques = sorted_codes(ids)
    assert np.array_equal(got, want)
    assert list(got_uniques) == list(want_uniques) and got_uniques.dtype == want_uniques.dtype


def test_hex_words_reads_only_16_lowercase_hex_digits() -> None:
    from graphprofile._arrow import hex_words

    words = hex_words(_text(["00000000000000ff", "ffffffffffffffff"]))
    assert words is not None and words.tolist() == [255, 2**64 - 1]
    for bad in (["00000000000000fF"], ["00ff"], [None], ["000000000000000g"]):
        assert hex_words(_text(bad)) is None
