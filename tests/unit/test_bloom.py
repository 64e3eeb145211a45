"""The Bloom perspective is structurally sound and only refers to what graphprofile writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from graphprofile import analysis
from graphprofile.cli import main
from graphprofile.errors import OutputError
from graphprofile.frames import TABLES
from graphprofile.paths import cypher_dir
from graphprofile.sinks import bloom, bloom_phrases, graphdb
from graphprofile.store.load import NODE_LABELS
from graphprofile.store.writeback import DEFAULT_LABELS, property_name

_STR = {"type": "string", "minLength": 1}
_PROPS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "exclude", "isCaption", "dataType"],
        "properties": {"name": _STR, "exclude": {"type": "boolean"}, "dataType": _STR},
    },
}
#: The keys Bloom needs, as seen in public exports (REFERENCE.md) and the newer keys.
SCHEMA = {
    "type": "object",
    "required": [
        "name",
        "id",
        "version",
        "createdAt",
        "lastEditedAt",
        "categories",
        "relationshipTypes",
        "palette",
        "templates",
        "hiddenRelationshipTypes",
        "hiddenCategories",
        "hideUncategorisedData",
        "parentPerspectiveId",
        "labels",
        "metadata",
    ],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f-]{36}$"},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "createdAt": {"type": "integer", "minimum": 1_500_000_000_000},
        "hideUncategorisedData": {"type": "boolean"},
        "categories": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "name", "color", "size", "icon", "labels", "properties"],
                "properties": {
                    "id": {"type": "integer"},
                    "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                    "size": {"type": "number", "exclusiveMinimum": 0},
                    "labels": {"type": "array", "minItems": 1, "items": _STR},
                    "properties": _PROPS,
                    "styleRules": {
                        "type": "array",
                        "items": {"type": "object", "required": ["id", "type", "basedOn"]},
                    },
                },
            },
        },
        "relationshipTypes": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "name", "properties"]},
        },
        "palette": {"type": "object", "required": ["colors", "currentIndex"]},
        "templates": {
            "type": "array",
            "minItems": 6,
            "items": {
                "type": "object",
                "required": ["name", "id", "text", "cypher", "params"],
                "properties": {
                    "text": _STR,
                    "cypher": _STR,
                    "params": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "dataType"],
                            "properties": {
                                "name": {"type": "string", "pattern": r"^\$[A-Za-z_]\w*$"},
                                "dataType": {"enum": ["String", "Integer", "Float", "Boolean"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def perspective() -> dict:
    return bloom.build_perspective(created_at=pd.Timestamp("2024-05-01", tz="UTC"))


def test_perspective_matches_the_json_schema(perspective: dict) -> None:
    jsonschema.validate(perspective, SCHEMA)
    assert perspective["version"] == bloom.FORMAT_VERSION
    assert perspective["createdAt"] == 1_714_521_600_000


def test_schema_rejects_a_perspective_missing_required_keys(perspective: dict) -> None:
    broken = json.loads(json.dumps(perspective))
    del broken["categories"][0]["labels"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_every_category_label_is_one_we_write(perspective: dict) -> None:
    written = set(NODE_LABELS.values()) | set(DEFAULT_LABELS) | {"Community", "Ring"}
    written |= {"GraphProfileRun"}
    labels = [label for cat in perspective["categories"] for label in cat["labels"]]
    assert set(labels) <= written
    assert set(labels) == written  # and every label we write has a category
    # customer labels take precedence over Customer (Bloom uses the first matching category)
    order = [cat["labels"][0] for cat in perspective["categories"]]
    assert all(order.index(label) < order.index("Customer") for label in DEFAULT_LABELS)


def test_written_schema_follows_the_canonical_contract_and_the_write_back() -> None:
    schema = bloom.written_schema()
    assert set(schema["Customer"]) >= set(TABLES["customers"])
    assert set(schema["Account"]) == set(TABLES["accounts"])
    for column in ("community_id", "ring_id", "risk_score", "pagerank", "pagerank_pct"):
        assert property_name(column) in schema["Customer"]
    assert {"gp_community", "gp_ring", "gp_risk", "gp_pagerank", "gp_pagerank_pct"} <= set(
        schema["Customer"]
    )


def test_every_styled_and_caption_property_is_one_we_write(perspective: dict) -> None:
    schema = bloom.written_schema()
    n_rules = 0
    for cat in perspective["categories"]:
        props = schema[cat["labels"][0]]
        assert {p["name"] for p in cat["properties"]} == set(props)
        assert set(cat["captionKeys"]) <= set(props), cat["name"]
        for rule in cat["styleRules"]:
            n_rules += 1
            assert rule["basedOn"] in props, (cat["name"], rule["basedOn"])
            assert rule["applyColor"] or rule["applySize"]
    assert n_rules >= 5
    rels = {r["name"]: r for r in perspective["relationshipTypes"]}
    assert set(rels) == set(bloom.RELATIONSHIPS)
    for rel in rels.values():
        keys = {p["propertyKey"] for p in rel["properties"]}
        assert all(rule["basedOn"] in keys for rule in rel["styleRules"])


def test_required_styling_is_present(perspective: dict) -> None:
    cats = {c["name"]: c for c in perspective["categories"]}
    assert cats["HighRisk"]["color"].upper() == "#E03131"
    rules = {
        (r["basedOn"], r["applyColor"], r["applySize"]) for r in cats["Customer"]["styleRules"]
    }
    assert ("gp_risk", True, False) in rules  # risk → colour scale
    assert ("gp_pagerank_pct", False, True) in rules  # PageRank → size
    assert ("gp_ring", True, False) in rules  # ring membership highlighted
    assert cats["RingMember"]["color"] != cats["Customer"]["color"]


def test_ids_are_unique(perspective: dict) -> None:
    for key in ("categories", "relationshipTypes", "templates"):
        ids = [item["id"] for item in perspective[key]]
        assert len(ids) == len(set(ids)), key
    rule_ids = [r["id"] for c in perspective["categories"] for r in c["styleRules"]]
    assert len(set(rule_ids)) == len(
        {r["basedOn"] for c in perspective["categories"] for r in c["styleRules"]}
    )
    names = [t["name"] for t in perspective["templates"]]
    assert len(names) == len(set(names))


def test_search_phrases_come_from_cypher_files(perspective: dict) -> None:
    texts = {t["text"]: t for t in perspective["templates"]}
    for wanted in (
        "Ring $ringId",
        "Rings with risk above $min",
        "Customers sharing devices with $customerId",
        "Top influencers in community $communityId",
        "Money path from $a to $b",
        "Why is $customerId high risk",
    ):
        assert wanted in texts
    files = {p.stem for p in (cypher_dir() / "bloom").glob("*.cypher")}
    assert files == set(bloom_phrases.PHRASE_FILES)
    for phrase in bloom_phrases.phrases():
        template = texts[phrase.text]
        source = (cypher_dir() / "bloom" / f"{phrase.file}.cypher").read_text()
        assert template["cypher"] in source  # the file's statement, comments removed
        assert "//" not in template["cypher"]
        used = set(re.findall(r"\$(\w+)", template["cypher"]))
        assert {p["name"][1:] for p in template["params"]} == used
        for param in template["params"]:
            if param["suggestionLabel"]:
                props = bloom.written_schema()[param["suggestionLabel"]]
                assert param["suggestionProp"] in props


def test_phrase_with_mismatched_parameters_is_refused() -> None:
    phrase = bloom_phrases.Phrase("Ring $id", "ring", (bloom_phrases.Param("id"),))
    with pytest.raises(OutputError, match=r"ring\.cypher uses parameters \['ringId'\]"):
        bloom_phrases.phrase_cypher(phrase)


def test_phrase_headers_declare_text_parameters_and_suggestions() -> None:
    money = bloom_phrases.read_phrase("money_path")
    assert money.text == "Money path from $a to $b"
    assert money.params == (
        bloom_phrases.Param("a", "String", "Customer", "customer_id"),
        bloom_phrases.Param("b", "String", "Customer", "customer_id"),
    )
    assert bloom_phrases.read_phrase("rings_risk_above").params == (
        bloom_phrases.Param("min", "Float"),
    )


def test_phrase_file_without_header_is_refused(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bloom").mkdir()
    (tmp_path / "bloom" / "bare.cypher").write_text("MATCH (n) RETURN n\n")
    monkeypatch.setenv("GRAPHPROFILE_CYPHER_DIR", str(tmp_path))
    with pytest.raises(OutputError, match=r"bare\.cypher has no '// bloom-phrase: <text>'"):
        bloom_phrases.read_phrase("bare")


def test_same_input_same_file() -> None:
    when = pd.Timestamp("2024-01-01", tz="UTC")
    assert bloom.build_perspective(created_at=when) == bloom.build_perspective(created_at=when)


class FakeStore:
    """Answers the two introspection statements like a loaded database would."""

    def run(self, query: str, params: dict | None = None) -> pd.DataFrame:
        if "keys(c)" in query:
            return pd.DataFrame({"key": ["customer_id", "gp_risk", "region"]})
        return pd.DataFrame({"low": [0.0], "high": [100.0]})


def test_schema_from_store_adds_source_columns_and_pagerank_range() -> None:
    schema, pr_range = bloom.schema_from_store(FakeStore())
    assert schema["Customer"]["region"] == "string"
    assert schema["HighRisk"]["region"] == "string"
    assert pr_range == (0.0, 100.0)
    persp = bloom.build_perspective(schema=schema, pagerank_range=pr_range)
    customer = next(c for c in persp["categories"] if c["name"] == "Customer")
    size_rule = next(r for r in customer["styleRules"] if r["applySize"])
    assert (size_rule["minValue"], size_rule["maxValue"]) == (0.0, 100.0)


def test_cli_writes_the_perspective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    assert main(["bloom", "perspective", "--output", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(out) and summary["search_phrases"] == len(
        bloom_phrases.PHRASE_FILES
    )
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)


def test_cli_unwritable_output_is_a_clear_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["bloom", "perspective", "--output", str(blocker / "p.json")]) == 2
    assert capsys.readouterr().err.startswith(f"Error: cannot write {blocker / 'p.json'}")


def test_feature_columns_match_the_analysis_and_the_graph_sink() -> None:
    """The gp_ properties styled in Bloom are the features the write-back really writes."""
    written = set(analysis.FEATURE_COLUMNS) - {"customer_id"}
    written |= set(graphdb.LABEL_TAGS)
    assert set(bloom.FEATURE_COLUMNS) == written
    assert set(graphdb.LABEL_TAGS) == set(DEFAULT_LABELS.values())
