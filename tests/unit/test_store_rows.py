"""Arrow parameter rows: same values as the per-value path, same text as the FalkorDB client."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from falkordb.helpers import stringify_param_value

from graphprofile.errors import StoreError
from graphprofile.store.base import frame_to_rows
from graphprofile.store.rows import cypher_literals, frame_to_table


def awkward_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.array(["a", 'q"u\\o', "Zoë 😀", "x\ny"], dtype="string"),
            "n": pd.array([1, None, -3, 2**40], dtype="Int64"),
            "x": [2.0, np.nan, 0.1, 1e-7],
            "flag": [True, False, True, False],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
            "t": pd.to_datetime(
                ["2024-01-01", None, "1969-12-31T23:59:59.9999995", "2024-02-29T12:00:00.123456"],
                utc=True,
                format="ISO8601",
            ),
            "tags": [["a", "b"], [], None, ["$param", "})-[:X]->("]],
            "s": pd.array(["' OR 1=1", None, "", "`x`"], dtype="string"),
        }
    )


def test_table_rows_equal_the_per_value_rows() -> None:
    frame = awkward_frame()
    table = frame_to_table(frame, table="t", top=["id"])
    expected = [{"id": r.pop("id"), "props": r} for r in frame_to_rows(frame, table="t")]
    assert table.to_pylist() == expected
    assert table.to_pylist()[2]["props"]["t"] == "1969-12-31T23:59:59.999999Z"


def test_cypher_literals_equal_the_falkordb_client_text() -> None:
    frame = awkward_frame()
    table = frame_to_table(frame, table="t", top=["id"])
    rows = table.to_pylist()
    ours = "[" + ",".join(cypher_literals(table)) + "]"
    # the client writes True/False for booleans (FalkorDB reads both); ours are lowercase
    theirs = stringify_param_value(rows).replace(":True", ":true").replace(":False", ":false")
    # and floats as Python repr: ours are the same shortest round-trip digits
    assert ours == theirs.replace("1e-07", "1e-7")
    # slices encode the same as the whole
    assert cypher_literals(table.slice(1, 2)) == cypher_literals(table)[1:3]


def test_extra_list_columns_and_empty_props() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": ["p", "q"]})
    amounts = pa.array([[1.0, 2.5], None], type=pa.list_(pa.float64()))
    table = frame_to_table(frame, table="t", top=["a", "b"], extra={"amounts": amounts})
    assert cypher_literals(table) == [
        '{`a`:"x",`b`:"p",`props`:{`amounts`:[1.0,2.5]}}',
        '{`a`:"y",`b`:"q",`props`:{`amounts`:null}}',
    ]
    bare = frame_to_table(frame, table="t", top=["a", "b"])
    assert bare.to_pylist()[0] == {"a": "x", "b": "p", "props": {}}
    assert cypher_literals(bare)[0] == '{`a`:"x",`b`:"p",`props`:{}}'


def test_bad_values_and_names_are_refused() -> None:
    with pytest.raises(StoreError, match="non-finite"):
        frame_to_table(pd.DataFrame({"k": ["a"], "x": [np.inf]}), table="t", top=["k"])
    with pytest.raises(StoreError, match="unsafe property"):
        frame_to_table(pd.DataFrame({"k": ["a"], "x y": [1]}), table="t", top=["k"])
    with pytest.raises(StoreError, match="maps cannot be property values"):
        frame_to_table(pd.DataFrame({"k": ["a"], "m": [{"a": 1}]}), table="t", top=["k"])
