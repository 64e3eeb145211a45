"""``explain``: the same reasons as tags.parquet, readable in a terminal and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_report_data import RING1_REASONS, RUN_ID, make_run

from graphprofile.cli import main
from graphprofile.errors import InputError
from graphprofile.explain import explain
from graphprofile.sinks.report_data import closest_ids


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "out")


def test_ring_member_shows_the_same_reasons_as_tags(run_dir: Path) -> None:
    doc = explain(run_dir, "C02")
    tags = pd.read_parquet(run_dir / "tags.parquet")
    stored = tags[tags["customer_id"] == "C02"]
    assert [t["tag"] for t in doc["tags"]] == stored["tag"].tolist()
    for tag, reasons in zip(doc["tags"], stored["reasons"], strict=True):
        assert tag["reasons"] == json.loads(reasons)
    ring = doc["rings"][0]
    assert ring["ring_id"] == "R-0001" and ring["members"] == ["C01", "C02", "C03"]
    assert ring["reasons"] == RING1_REASONS
    assert ring["reasons_in_words"][1] == "3 members share device D1"
    assert doc["run_id"] == RUN_ID and doc["risk_score"] == pytest.approx(0.88)


def test_community_and_influence_ranks(run_dir: Path) -> None:
    doc = explain(run_dir, "C02")
    assert doc["community"]["community_id"] == 1 and doc["community"]["size"] == 6
    leaders = [m["customer_id"] for m in doc["community"]["top_members_by_pagerank"]]
    assert leaders == ["C01", "C02", "C03", "C04", "C05"]
    assert doc["community"]["top_members"] == ["C01", "C02", "C03"]
    # PageRank 0.1: C01 0.2, C12 0.14, C07 0.12 are higher overall; only C01 in community 1
    assert doc["influence"]["rank_overall"] == 4
    assert doc["influence"]["rank_in_community"] == 2


def test_paths_to_known_fraud(run_dir: Path) -> None:
    path = explain(run_dir, "C07")["paths_to_known_fraud"]
    link = {"via": "money", "direction": "sent", "n_txns": 1, "amount": 250.0}
    assert path == [
        {
            "to": "C12",
            "hops": 1,
            "customers": ["C07", "C12"],
            "steps": [{"from": "C07", "to": "C12", "links": [link]}],
            "in_words": "sent 1 transfer totalling 250.00 to C12",
        }
    ]
    assert explain(run_dir, "C02")["paths_to_known_fraud"] == []
    # C01 and C12 both pay shop P1: a common merchant is not a path to fraud
    assert explain(run_dir, "C01")["paths_to_known_fraud"] == []
    assert explain(run_dir, "C12")["known_fraud"] is True


def test_unknown_customer_is_a_clear_error(run_dir: Path) -> None:
    with pytest.raises(InputError, match="customer 'X9' is not in"):
        explain(run_dir, "X9")


def test_cli_json_and_terminal(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(run_dir), "C02", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["customer_id"] == "C02" and doc["rings"][0]["ring_id"] == "R-0001"
    assert main(["explain", str(run_dir), "C02"]) == 0
    text = capsys.readouterr().out
    assert "Ring R-0001 (identity" in text
    assert "3 members share device D1" in text
    assert "<img src=x onerror=alert(1)>" in text  # printed as text, not eaten as markup
    assert "risk:high" in text


def test_cli_unknown_customer_exit_2(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(run_dir), "C2"]) == 2
    err = capsys.readouterr().err.strip()
    # the closest real ids, so a mistyped id is one copy-paste away
    assert err == (
        f"Error: customer 'C2' is not in {run_dir / 'features.parquet'}; closest ids: C02, C12"
    )


def test_closest_ids_find_the_same_number_in_a_million() -> None:
    ids = [f"C{i:08d}" for i in range(1_000_000)]
    assert closest_ids("C000123", ids)[0] == "C00000123"
    assert closest_ids("C00000124x", ids)[0] == "C00000124"
    assert closest_ids("nothing", []) == []
