"""Parameters we send are serialisable by the neo4j driver and valid property values."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from graphprofile.errors import StoreError
from graphprofile.store.base import clean_value, frame_to_rows
from graphprofile.store.load import edge_rows, node_rows

PRIMITIVES = (bool, int, float, str)


def assert_property_value(value: Any) -> None:
    """Neo4j/FalkorDB property rules: primitive, or a list of one primitive type, no nulls."""
    if value is None:
        return  # removes the property on SET
    if isinstance(value, list):
        assert all(v is not None for v in value), value
        assert len({type(v) for v in value}) <= 1, value
        assert all(type(v) in PRIMITIVES for v in value), value
        return
    assert type(value) in PRIMITIVES, (type(value), value)
    if isinstance(value, float):
        assert math.isfinite(value)


def pack(value: Any) -> bytes:
    """Serialise with the neo4j driver's own PackStream packer (no server needed)."""
    packstream = pytest.importorskip("neo4j._codec.packstream.v1")
    buf = io.BytesIO()
    packstream.Packer(buf).pack(value)
    return buf.getvalue()


def awkward_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "i64": np.array([1, 2, 3], dtype="int64"),
            "nullable_int": pd.array([1, None, 3], dtype="Int64"),
            "f": [1.5, np.nan, 2.0],
            "flag": pd.array([True, None, False], dtype="boolean"),
            "np_bool": np.array([True, False, True]),
            "ts": pd.to_datetime(
                ["2024-01-01T00:00:00.5", None, "2024-03-01"], utc=True, format="ISO8601"
            ),
            "naive_ts": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
            "text": ["' OR 1=1", None, "})-[:X]->("],
            "string_dtype": pd.array(["a", None, "$param"], dtype="string"),
            "tags": [["a", None, "b"], [], np.array(["x"])],
            "nums": [[1, 2.5], [np.int64(3)], None],
            "cat": pd.Categorical(["x", "y", None]),
        }
    )


def test_rows_hold_only_valid_property_values() -> None:
    rows = frame_to_rows(awkward_frame())
    assert len(rows) == 3
    for row in rows:
        for value in row.values():
            assert_property_value(value)
    first, second, third = rows
    assert first["ts"] == "2024-01-01T00:00:00.500000Z"
    assert first["naive_ts"] == "2024-01-01T00:00:00.000000Z"
    assert second["ts"] is None and second["f"] is None and second["flag"] is None
    assert second["nullable_int"] is None and third["nullable_int"] == 3
    assert first["tags"] == ["a", "b"] and third["tags"] == ["x"]
    assert first["nums"] == [1.0, 2.5] and second["nums"] == [3]
    assert first["text"] == "' OR 1=1" and third["string_dtype"] == "$param"
    assert first["cat"] == "x" and third["cat"] is None
    assert first["np_bool"] is True and type(first["i64"]) is int


def test_rows_pack_with_the_neo4j_driver() -> None:
    rows = frame_to_rows(awkward_frame())
    assert pack({"rows": rows, "run_id": "r1"})
    nodes = node_rows("customer", awkward_frame())
    assert pack({"rows": nodes})
    assert set(nodes[0]) == {"customer_id", "props"}


def test_the_packer_rejects_what_we_clean() -> None:
    """Guard the guard: the raw values really are unserialisable for the driver."""
    with pytest.raises((ValueError, TypeError)):
        pack({"v": pd.Timestamp("2024-01-01", tz="UTC")})
    with pytest.raises((ValueError, TypeError)):
        pack({"v": [pd.Timestamp("2024-01-01")]})


def test_edge_rows_split_ends_from_properties() -> None:
    frame = pd.DataFrame(
        {
            "from_account": ["a1"],
            "to_account": ["a2"],
            "n_txns": [2],
            "total_amount": [10.5],
            "first_ts": pd.to_datetime(["2024-01-01"], utc=True),
            "last_ts": pd.to_datetime(["2024-01-02"], utc=True),
        }
    )
    assert edge_rows("TRANSFER", frame) == [
        {
            "from_account": "a1",
            "to_account": "a2",
            "props": {
                "n_txns": 2,
                "total_amount": 10.5,
                "first_ts": "2024-01-01T00:00:00.000000Z",
                "last_ts": "2024-01-02T00:00:00.000000Z",
            },
        }
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, "maps cannot be property values"),
        ([1, "a"], "must hold one type"),
        ([[1], [2]], "must not hold lists"),
        (object(), "cannot store a value of type object"),
        (float("inf"), "non-finite"),
        ([1.0, float("-inf")], "non-finite"),
    ],
)
def test_invalid_property_values_are_refused(value: Any, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        clean_value(value)


def test_non_finite_floats_in_a_column_are_refused_with_the_column_name() -> None:
    frame = pd.DataFrame({"customer_id": ["c1"], "score": [float("inf")]})
    with pytest.raises(StoreError, match=r"customer\.score: .*non-finite"):
        frame_to_rows(frame, table="customer")


def test_null_keys_and_unsafe_columns_are_refused() -> None:
    with pytest.raises(StoreError, match="null customer_ids"):
        node_rows("customer", pd.DataFrame({"customer_id": ["c1", None]}))
    with pytest.raises(StoreError, match="unsafe property"):
        node_rows("customer", pd.DataFrame({"customer_id": ["c1"], "a b": [1]}))
