"""``graphprofile export-import``: CSVs for ``neo4j-admin database import full``.

The headers are checked against the documented format, and the files are imported with
the real import tool (``neo4j-admin`` from the same Maven artefacts as the test server)
into the stopped test server, which must then hold exactly what a transactional
``graphprofile load`` writes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import missing
from neo4j_server import Neo4jServer, wipe
from store_suite import INJECTIONS, dump, small_graph

from graphprofile.cli import main
from graphprofile.errors import StoreError
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.store import apply_schema, load_graph, open_store
from graphprofile.store.import_csv import export_import


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def test_headers_follow_the_import_format(tmp_path: Path) -> None:
    result = export_import(small_graph(), tmp_path)
    assert result["nodes"] == 17 and result["relationships"] == 19
    assert _header(tmp_path / "nodes_customer.csv") == [
        "customer_id:ID(Customer)",
        "name",
        "segment",
        "known_fraud:boolean",
        "region",
        ":LABEL",
    ]
    assert _header(tmp_path / "nodes_device.csv") == [
        "device_id:ID(Device)",
        "n_customers:long",
        "n_uses:long",
        ":LABEL",
    ]
    assert _header(tmp_path / "relationships_OWNS.csv") == [
        ":START_ID(Customer)",
        ":END_ID(Account)",
        ":TYPE",
    ]
    assert _header(tmp_path / "relationships_TRANSFER.csv") == [
        ":START_ID(Account)",
        ":END_ID(Account)",
        "n_txns:long",
        "total_amount:double",
        "first_ts",
        "last_ts",
        ":TYPE",
    ]
    assert _header(tmp_path / "relationships_PAYS.csv")[:2] == [
        ":START_ID(Account)",
        ":END_ID(Counterparty)",
    ]
    with (tmp_path / "nodes_customer.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["customer_id:ID(Customer)"] for r in rows] == ["c1", "c2", "c3", "c4", "c5"]
    assert rows[2]["name"] == INJECTIONS[1] and rows[4]["region"] == INJECTIONS[4]
    assert {r[":LABEL"] for r in rows} == {"Customer"}
    command = (tmp_path / "import.sh").read_text()
    assert "neo4j-admin database import full neo4j --nodes=nodes_customer.csv" in command
    assert "--relationships=relationships_PAYS.csv" in command


def test_a_list_element_holding_the_delimiter_is_refused(tmp_path: Path) -> None:
    graph = small_graph()
    graph.transactions = pd.DataFrame(
        {
            "txn_id": ["t;1"],
            "from_account": ["a1"],
            "to_account": ["a2"],
            "to_counterparty": [None],
            "amount": [1.0],
            "currency": ["GBP"],
            "ts": [pd.Timestamp("2024-01-01", tz="UTC")],
        }
    )
    with pytest.raises(StoreError, match=r"TRANSFER.txn_ids: a list element contains"):
        export_import(graph, tmp_path)


def test_neo4j_admin_import_equals_a_transactional_load(
    neo4j_server: Neo4jServer,
    neo4j_uri: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not neo4j_server.managed:
        missing("importing needs the test server (it is stopped): unset NEO4J_URI")
    data = tmp_path / "bank"
    generate_bank(data, customers=1000, seed=4)
    graph = build_graph(load_frames(data))
    with open_store(neo4j_uri) as store:
        load_graph(store, graph, batch_size=5000)
        reference = dump(store)
        wipe(store)
    out = tmp_path / "import"
    assert main(["export-import", str(data), str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["nodes"] + result["relationships"] == len(reference["nodes"]) + len(
        reference["relationships"]
    )
    neo4j_server.stop()
    try:
        log = neo4j_server.admin(*result["command"][1:], cwd=out)
    finally:
        neo4j_server.start()
    assert "IMPORT DONE" in log
    assert f"{result['nodes']} nodes" in log
    with open_store(neo4j_uri) as store:
        assert dump(store) == reference
        assert apply_schema(store)["statements"] == 9  # constraints hold on imported data
        wipe(store)
