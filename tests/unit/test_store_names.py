"""Names formatted into Cypher pass the allow-list; Cypher files load with placeholders."""

from __future__ import annotations

import pytest

from graphprofile.errors import StoreError
from graphprofile.paths import cypher_dir
from graphprofile.store import validate_name
from graphprofile.store.cypher import split_statements, statement, statements
from graphprofile.store.writeback import property_name


@pytest.mark.parametrize("name", ["Customer", "gp_risk", "_x", "HAS_IDENTIFIER", "a1"])
def test_safe_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1abc",
        "has space",
        "back`tick",
        "x) DETACH DELETE n //",
        "a-b",
        "Zoë",
        "a.b",
        "a:b",
        "$param",
        "x\n",
        None,
        42,
    ],
)
def test_unsafe_names_fail(name: object) -> None:
    with pytest.raises(StoreError, match=r"unsafe label .* must match"):
        validate_name(name, "label")  # type: ignore[arg-type]


def test_feature_columns_map_to_gp_properties() -> None:
    assert property_name("community_id") == "gp_community"
    assert property_name("risk_score") == "gp_risk"
    assert property_name("ring_id") == "gp_ring"
    assert property_name("pagerank_pct") == "gp_pagerank_pct"
    assert property_name("gp_custom") == "gp_custom"
    with pytest.raises(StoreError, match="unsafe property"):
        property_name("risk score")


def test_placeholders_are_filled_with_validated_names() -> None:
    text = statement("writeback/label_set", LABEL="HighRisk")
    assert "SET c:HighRisk" in text and "__" not in text
    with pytest.raises(StoreError, match="unsafe label"):
        statement("writeback/label_set", LABEL="HighRisk SET c.x = 1")
    with pytest.raises(StoreError, match="needs names for"):
        statement("writeback/label_set")
    with pytest.raises(StoreError, match="no placeholder for"):
        statement("writeback/label_set", LABEL="HighRisk", KEY="x")


def test_missing_and_escaping_files_are_errors() -> None:
    with pytest.raises(StoreError, match="missing Cypher file"):
        statement("load/nodes_unicorn")
    with pytest.raises(StoreError, match="outside"):
        statement("../pyproject")


def test_statements_split_on_semicolons_at_line_ends() -> None:
    text = "// header\nMATCH (n)\nRETURN n;\n// only a comment;\nRETURN ';' AS s;  \nRETURN 2"
    assert split_statements(text) == ["MATCH (n)\nRETURN n", "RETURN ';' AS s", "RETURN 2"]
    assert len(statements("schema/neo4j_constraints")) == 9
    assert len(statements("schema/falkordb_indexes")) == 9


def test_every_cypher_file_uses_parameters_for_values() -> None:
    """No quoted literals with user data: the only string literal allowed is 'gp_'."""
    for path in cypher_dir().rglob("*.cypher"):
        code = "\n".join(
            line for line in path.read_text().splitlines() if not line.strip().startswith("//")
        )
        literals = [part for i, part in enumerate(code.split("'")) if i % 2 == 1]
        assert set(literals) <= {"gp_"}, (path, literals)
