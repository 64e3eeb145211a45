"""The communities table's top members: by PageRank, ties by customer id, either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphprofile.analysis import communities
from graphprofile.analysis.communities import community_table
from graphprofile.analysis.projection import project
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory):
    data: Path = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=3)
    return project(build_graph(load_frames(data)))


def _features(proj) -> tuple[np.ndarray, pd.DataFrame]:
    n = len(proj.customers)
    community = np.arange(n) % 7
    rank = np.random.default_rng(1).choice([0.001, 0.002, 0.003], n)  # many ties
    features = pd.DataFrame(
        {
            "customer_id": proj.customers.to_numpy(),
            "community_id": community,
            "pagerank": rank,
            "risk_score": np.linspace(0.0, 1.0, n),
        }
    )
    return community, features


def test_top_members_by_pagerank_then_id(proj) -> None:
    community, features = _features(proj)
    table = community_table(proj, community, features, risk_medium=0.5)
    for row in table.itertuples():
        mine = features[features["community_id"] == row.community_id]
        expected = mine.sort_values(["pagerank", "customer_id"], ascending=[False, True])
        assert row.top_members == expected["customer_id"].head(5).tolist()
    assert table["size"].sum() == len(features)


def test_ids_out_of_order_are_sorted_as_text(proj, monkeypatch: pytest.MonkeyPatch) -> None:
    community, features = _features(proj)
    by_position = community_table(proj, community, features, risk_medium=0.5)
    # the general path (ids not known to be in order) sorts the ids' text: the same table
    monkeypatch.setattr(communities, "is_sorted_unique", lambda _values: False)
    by_text = community_table(proj, community, features, risk_medium=0.5)
    pd.testing.assert_frame_equal(by_position, by_text, check_exact=True)


def test_the_part_made_before_the_risk_gives_the_same_table(proj) -> None:
    """community_base, made before the risk is known (no risk_score column), then the
    risky share: the table community_table makes at once."""
    community, features = _features(proj)
    whole = community_table(proj, community, features, risk_medium=0.5)
    base = communities.community_base(proj, community, features.drop(columns="risk_score"))
    assert "risky_share" not in base
    halves = community_table(proj, community, features, risk_medium=0.5, base=base)
    pd.testing.assert_frame_equal(whole, halves, check_exact=True)
    assert whole["risky_share"].between(0.0, 1.0).all() and whole["risky_share"].gt(0).any()
