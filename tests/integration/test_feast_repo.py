"""``graphprofile feast-repo``: a real Feast applies, materialises and serves the features.

Feast pins pandas below 3, so it lives in a virtualenv of its own: ``.venv-feast`` (made by
``scripts/test.sh``; another with ``GRAPHPROFILE_FEAST_PYTHON=/path/to/python``). The repo is
written by graphprofile here; ``feast apply``, ``feast materialize`` and
``FeatureStore.get_online_features`` run in that virtualenv, and what they serve is compared
with ``features.parquet``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pandas as pd
from conftest import missing

from graphprofile.cli import main

ROOT = Path(__file__).resolve().parents[2]
LOOKUP = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
ids = json.loads(sys.argv[2])
names = json.loads(sys.argv[3])
result = store.get_online_features(
    features=[f"customer_graph_features:{n}" for n in names],
    entity_rows=[{"customer_id": c} for c in ids],
).to_dict()
print(json.dumps(result, default=str))
"""


def _feast_python() -> Path:
    python = Path(
        os.environ.get("GRAPHPROFILE_FEAST_PYTHON", ROOT / ".venv-feast" / "bin" / "python")
    )
    if not python.exists():
        missing(f"no Feast virtualenv at {python} (bash scripts/test.sh makes .venv-feast)")
    return python


def _feast(python: Path, repo: Path, *args: str) -> str:
    result = subprocess.run(
        [str(python.parent / "feast"), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FEAST_USAGE": "False", "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_feast_apply_materialize_and_online_lookup_match_features(
    profile_runs, tmp_path: Path
) -> None:
    python = _feast_python()
    _, week2 = profile_runs
    repo = tmp_path / "feature_repo"
    assert main(["feast-repo", str(week2), "--out", str(repo)]) == 0
    assert (repo / "feature_store.yaml").is_file()
    assert "type: sqlite" in (repo / "feature_store.yaml").read_text()

    _feast(python, repo, "apply")
    _feast(python, repo, "materialize", "2000-01-01T00:00:00", "2099-01-01T00:00:00")

    features = pd.read_parquet(week2 / "features.parquet")
    # customers with and without a ring, a known fraudster, a null community size if any
    picks = pd.concat(
        [
            features[features["ring_id"].notna()].head(2),
            features[features["ring_id"].isna()].head(2),
            features[features["known_fraud"]].head(1),
        ]
    ).drop_duplicates("customer_id")
    names = ["risk_score", "pagerank", "community_id", "ring_id", "known_fraud", "risk_reasons"]
    result = subprocess.run(
        [
            str(python),
            "-c",
            LOOKUP,
            str(repo),
            json.dumps(list(picks["customer_id"])),
            json.dumps(names),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FEAST_USAGE": "False", "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["customer_id"] == list(picks["customer_id"])
    for i, row in enumerate(picks.to_dict("records")):
        assert math.isclose(served["risk_score"][i], row["risk_score"], rel_tol=0, abs_tol=0)
        assert served["pagerank"][i] == row["pagerank"]
        assert served["community_id"][i] == (
            None if pd.isna(row["community_id"]) else int(row["community_id"])
        )
        assert served["ring_id"][i] == (None if pd.isna(row["ring_id"]) else row["ring_id"])
        assert served["known_fraud"][i] == bool(row["known_fraud"])
        assert json.loads(served["risk_reasons"][i]) == json.loads(row["risk_reasons"])
