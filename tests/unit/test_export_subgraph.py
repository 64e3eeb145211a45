"""``export-subgraph``: GraphML/GEXF written by networkx and read back by networkx."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from test_report_data import make_run

from graphprofile.cli import main
from graphprofile.errors import ConfigError, InputError
from graphprofile.export_subgraph import export_subgraph

READ = {"graphml": nx.read_graphml, "gexf": nx.read_gexf}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "out")


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_ring_round_trips_with_tags_as_attributes(run_dir: Path, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"ring.{fmt}"
    result = export_subgraph(run_dir, path, ring="R-0001", fmt=fmt)
    graph = READ[fmt](path)
    assert result["nodes"] == graph.number_of_nodes() == 9
    assert result["labels"] == {"account": 4, "customer": 3, "device": 1, "identifier": 1}
    assert set(graph.nodes) == {
        "customer:C01",
        "customer:C02",
        "customer:C03",
        "account:A01",
        "account:A02",
        "account:A03",
        "account:A13",
        "device:D1",
        "identifier:email:h1",
    }
    c2 = graph.nodes["customer:C02"]
    assert c2["node_type"] == "customer" and c2["label"] == "C02"
    assert c2["tags"] == "community,ring_member,risk:high"
    assert float(c2["tag:risk:high:score"]) == pytest.approx(0.88)
    assert str(c2["tag:community"]) == "1"  # the community id, never its size
    assert c2["ring_id"] == "R-0001" and float(c2["risk_score"]) == pytest.approx(0.88)
    assert c2["is_ring_member"] in (True, "true")
    assert graph.has_edge("account:A01", "account:A02")
    flow = graph.edges["account:A01", "account:A02"]
    assert flow["rel_type"] == "TRANSFER" and float(flow["total_amount"]) == 1500.0
    assert flow["first_ts"].startswith("2024-02-01")
    assert graph.edges["customer:C02", "identifier:email:h1"]["rel_type"] == "HAS_IDENTIFIER"
    for _, data in graph.nodes(data=True):
        assert all(v is not None and v != "None" for v in data.values())
    assert int(c2["ring_size"]) == 3


def test_community_and_customer_neighbourhood(run_dir: Path, tmp_path: Path) -> None:
    community = export_subgraph(run_dir, tmp_path / "c.graphml", community="2")
    assert community["labels"]["customer"] == 6
    graph = nx.read_graphml(tmp_path / "c.graphml")
    assert graph.has_edge("account:A07", "account:A12")
    assert "ring_size" not in graph.nodes["customer:C07"]  # null: left out
    near = export_subgraph(run_dir, tmp_path / "n.gexf", customer="C07", hops=3, fmt="gexf")
    graph = nx.read_gexf(tmp_path / "n.gexf")
    # C07 → A07 → A12 → C12 (3 hops) and C07 → D3 (1 hop); A01 is 4+ hops away
    assert {"customer:C07", "account:A07", "account:A12", "customer:C12", "device:D3"} <= set(graph)
    assert "account:A01" not in graph
    assert near["nodes"] == graph.number_of_nodes()
    export_subgraph(run_dir, tmp_path / "one.graphml", customer="C07", hops=1)
    assert set(nx.read_graphml(tmp_path / "one.graphml")) == {
        "customer:C07",
        "account:A07",
        "device:D3",
    }


def test_selection_errors(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one of --ring, --community or --customer"):
        export_subgraph(run_dir, tmp_path / "x.graphml")
    with pytest.raises(ConfigError, match="unknown format 'dot'"):
        export_subgraph(run_dir, tmp_path / "x.dot", ring="R-0001", fmt="dot")
    with pytest.raises(InputError, match="ring 'R-9' is not in"):
        export_subgraph(run_dir, tmp_path / "x.graphml", ring="R-9")
    with pytest.raises(InputError, match="community '7' is not in"):
        export_subgraph(run_dir, tmp_path / "x.graphml", community="7")
    with pytest.raises(InputError, match="customer 'Z' is not in"):
        export_subgraph(run_dir, tmp_path / "x.graphml", customer="Z")


def test_cli(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ring.gexf"
    args = ["export-subgraph", str(run_dir), "--ring", "R-0002", "--format", "gexf"]
    assert main([*args, "--output", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {
        "path": str(out),
        "format": "gexf",
        "nodes": 6,
        "edges": 6,
        "labels": {"account": 3, "customer": 3},
    }
    assert main(["export-subgraph", str(run_dir), "--output", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "Error: give exactly one of --ring, --community or --customer"
    )
