"""``analyze --engine gds`` against the real Neo4j + GDS test server.

One generated bank of 10k customers is loaded once (``graphprofile run --store``, which
also writes the embedded engine's tags back); the in-database engine then analyses the same
graph. Agreement with the embedded engine: community NMI >= 0.9, PageRank Spearman >= 0.98,
identical identity rings, and the same high-risk customers (any difference listed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd
import pytest
from neo4j_server import wipe
from typer.testing import CliRunner

from graphprofile.analysis import AnalysisSettings
from graphprofile.analysis.gds_engine import analyse_gds
from graphprofile.analysis.risk import RING_WEIGHTS
from graphprofile.cli import app
from graphprofile.errors import ConfigError, StoreError
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames
from graphprofile.outputs import load_outputs
from graphprofile.pipeline import RunConfig, run_job
from graphprofile.store import apply_schema, load_graph, open_store
from graphprofile.store.gds import GdsGateway

CUSTOMERS = 10_000
WHEN = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def bank(neo4j_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 10k bank loaded into Neo4j, and the embedded engine's outputs from the same files."""
    root = tmp_path_factory.mktemp("gds-bank")
    generate_bank(root / "data", customers=CUSTOMERS, seed=1)
    run_job(RunConfig(data_dir=root / "data", out_dir=root / "embedded", seed=7, report=False))
    with pytest.MonkeyPatch.context() as mp:
        for key in ("NEO4J_USER", "NEO4J_PASSWORD"):
            if neo4j_server.env.get(key):
                mp.setenv(key, neo4j_server.env[key])
        with open_store(neo4j_server.uri) as store:
            wipe(store)
            apply_schema(store)
            load_graph(store, build_graph(load_frames(root / "data")))
        yield {"uri": neo4j_server.uri, "root": root, "embedded": root / "embedded"}
        with open_store(neo4j_server.uri) as store:
            wipe(store)


@pytest.fixture(scope="module")
def gds_result(bank: dict[str, Any]) -> Any:
    with open_store(bank["uri"]) as store:
        return analyse_gds(store, run_id="t1", computed_at=WHEN, seed=7)


def _rings(rings: pd.DataFrame, kind: str) -> set[tuple[str, ...]]:
    part = rings[rings["kind"] == kind]
    return {tuple(sorted(map(str, c))) for c in part["customers"]}


def test_agreement_with_the_embedded_engine(bank: dict[str, Any], gds_result: Any) -> None:
    emb = load_outputs(bank["embedded"], graph=False).features.set_index("customer_id")
    gds = gds_result.features.set_index("customer_id")
    assert len(gds) == len(emb) == CUSTOMERS
    gds = gds.loc[emb.index]
    nmi = ig.compare_communities(
        pd.factorize(emb["community_id"])[0].tolist(),
        pd.factorize(gds["community_id"])[0].tolist(),
        method="nmi",
    )
    spearman = emb["pagerank"].astype(float).corr(gds["pagerank"].astype(float), "spearman")
    print(f"community NMI {nmi:.4f}, PageRank Spearman {spearman:.5f}")
    assert nmi >= 0.9
    assert spearman >= 0.98
    # the same columns, the same integer-valued influence features
    assert list(gds_result.features.columns) == list(
        load_outputs(bank["embedded"], graph=False).features
    )
    assert (gds["degree"].to_numpy() == emb["degree"].to_numpy()).all()
    assert (gds["core"].to_numpy() == emb["core"].to_numpy()).all()
    np.testing.assert_allclose(gds["strength"], emb["strength"], rtol=1e-9)
    np.testing.assert_allclose(gds["pagerank"], emb["pagerank"], rtol=1e-5, atol=1e-12)
    # identity rings: identical member sets
    emb_rings = load_outputs(bank["embedded"], graph=False).rings
    assert _rings(gds_result.rings, "identity") == _rings(emb_rings, "identity")
    assert len(_rings(emb_rings, "identity")) > 0
    # money-flow rings come from the same transactions: identical too, but for a ring that
    # only its `strangers` evidence (read from the engine's own communities, NMI above, not
    # 1) can carry across the reporting cut-off
    strength = {
        json.loads((bank["embedded"] / "run.json").read_text())["analysis"]["rings"][
            "community_strength"
        ],
        gds_result.meta["rings"]["community_strength"],
    }
    for kind in ("cycle", "scatter_gather", "fan_in", "fan_out"):
        found_g, found_e = _rings(gds_result.rings, kind), _rings(emb_rings, kind)
        assert len(found_g & found_e) >= 0.8 * len(found_e | found_g), kind
        for only, table in ((found_g - found_e, gds_result.rings), (found_e - found_g, emb_rings)):
            for members in only:
                ring = table[
                    table["customers"].map(lambda c, m=members: tuple(sorted(map(str, c))) == m)
                ]
                reach = RING_WEIGHTS[kind]["strangers"] * max(strength)
                assert float(ring["risk"].iloc[0]) - reach < AnalysisSettings().ring_min_risk, kind
    # high-risk customers: the same, or each difference explained by fraud proximity
    high_emb = set(emb.index[emb["risk_score"] >= 0.7])
    high_gds = set(gds.index[gds["risk_score"] >= 0.7])
    diff = sorted(high_emb ^ high_gds)
    print(f"high risk: embedded {len(high_emb)}, gds {len(high_gds)}, differ {diff}")
    assert len(high_emb) > 0
    # a money-flow ring's `strangers` evidence reads the engine's own communities (NMI above,
    # not 1): its ring risk may differ by exactly that, and only with a different cohesion
    gds_rings = gds_result.rings
    for cid in diff:
        same_ring_risk = abs(emb.loc[cid, "ring_risk"] - gds.loc[cid, "ring_risk"]) < 1e-9 or (
            pd.isna(emb.loc[cid, "ring_risk"]) and pd.isna(gds.loc[cid, "ring_risk"])
        )
        if not same_ring_risk:
            mine_e = emb_rings[emb_rings["customers"].map(lambda c, i=cid: i in list(c))]
            mine_g = gds_rings[gds_rings["customers"].map(lambda c, i=cid: i in list(c))]
            assert (mine_e["kind"] != "identity").any(), cid
            e = np.sort(mine_e["cohesion"].dropna().to_numpy(dtype=float))
            g = np.sort(mine_g["cohesion"].dropna().to_numpy(dtype=float))
            assert len(strength) == 2 or len(e) != len(g) or not np.allclose(e, g), cid
            continue
        learned_e, learned_g = emb.loc[cid, "learned_score"], gds.loc[cid, "learned_score"]
        if pd.notna(learned_e) and not np.isclose(learned_e, learned_g):
            # the learned model reads each engine's own centralities and community sizes
            continue
        # otherwise only proximity (personalised PageRank) may differ between engines
        hops_e, hops_g = emb.loc[cid, "fraud_hops"], gds.loc[cid, "fraud_hops"]
        assert (pd.isna(hops_e) and pd.isna(hops_g)) or hops_e == hops_g, cid
        assert pd.notna(hops_e), cid  # no proximity to differ by
    np.testing.assert_array_equal(
        emb["fraud_hops"].astype("Float64").fillna(-1).to_numpy(),
        gds["fraud_hops"].astype("Float64").fillna(-1).to_numpy(),
    )


def test_projections_are_dropped_and_meta_recorded(bank: dict[str, Any], gds_result: Any) -> None:
    meta = gds_result.meta
    assert meta["engine"] == "gds" and meta["communities"]["algorithm"] == "gds.leiden"
    assert len(meta["gds"]["projections_dropped"]) == 3
    with open_store(bank["uri"]) as store:
        assert GdsGateway(store, run_id="probe").graph_names() == []


def test_analyze_engine_gds_end_to_end(bank: dict[str, Any], gds_result: Any) -> None:
    out = bank["root"] / "gds-out"
    done = CliRunner().invoke(
        app,
        [*("analyze", "--store", bank["uri"], "--engine", "gds", "--seed", "7"), "--out", str(out)],
    )
    assert done.exit_code == 0, done.output
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and run["parameters"]["engine"] == "gds"
    assert run["analysis"]["engine"] == "gds"
    tags = load_outputs(out, graph=False).tags
    assert set(tags["run_id"]) == {run["run_id"]}
    # written back: every risk:high tag is a HighRisk customer stamped with this run
    high = set(tags.loc[tags["tag"] == "risk:high", "customer_id"])
    with open_store(bank["uri"]) as store:
        got = store.run(
            "MATCH (c:Customer:HighRisk) WHERE c.gp_run_id = $run RETURN c.customer_id AS id",
            {"run": run["run_id"]},
        )
        assert set(got["id"]) == high and high
        assert GdsGateway(store, run_id="probe").graph_names() == []

    # the same seed twice (this run and gds_result): identical tags, features and rings
    def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
        drop = [c for c in ("run_id", "computed_at") if c in a]
        pd.testing.assert_frame_equal(
            a.drop(columns=drop).reset_index(drop=True),
            b.drop(columns=drop).reset_index(drop=True),
            check_dtype=False,
        )

    same(tags, gds_result.tags)
    same(load_outputs(out, graph=False).features, gds_result.features)


def test_interrupted_run_drops_its_projections_and_leftovers_go_next_run(
    bank: dict[str, Any],
) -> None:
    def stop_after_projections(msg: str) -> None:
        if msg.startswith("reading accounts"):
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run

    with open_store(bank["uri"]) as store:
        gw = GdsGateway(store, run_id="probe")
        # a leftover of a client that was killed (no finally ran)
        gw.project("leftover", "project_money", {"rel_type": "TRANSFER"})
        gw.created.clear()
        assert gw.graph_names() == ["gp_probe_leftover"]
        seen: list[list[str]] = []

        def spy(msg: str) -> None:
            seen.append(gw.graph_names())  # what the server holds as each job starts
            stop_after_projections(msg)

        with pytest.raises(KeyboardInterrupt):
            analyse_gds(store, run_id="int", computed_at=WHEN, progress=spy)
        assert seen[0] == []  # the leftover was dropped before anything was projected
        assert seen[-1] == ["gp_int_identity", "gp_int_money", "gp_int_rel"]
        assert gw.graph_names() == []  # and the interrupted run dropped its own


def test_not_enough_heap_names_the_estimate(bank: dict[str, Any]) -> None:
    with open_store(bank["uri"]) as store:
        with pytest.raises(StoreError) as err:
            analyse_gds(store, run_id="heap", computed_at=WHEN, heap_limit=1024)
        text = str(err.value)
        assert "not enough heap on Neo4j for the GDS projection: GDS estimates" in text
        assert "server.memory.heap.max_size" in text and "\n" not in text
        assert GdsGateway(store, run_id="probe").graph_names() == []


class _NoGds:
    """The real server, but GDS's functions renamed as if the plugin were absent."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.engine, self.database = inner, inner.engine, inner.database

    def run(self, query: str, params: Any = None) -> pd.DataFrame:
        return self.inner.run(query.replace("gds.", "gdsmissing."), params)

    def server_info(self) -> dict[str, Any]:
        return self.inner.server_info()


def test_no_gds_is_one_line_naming_the_fix(bank: dict[str, Any]) -> None:
    with open_store(bank["uri"]) as store, pytest.raises(StoreError) as err:
        analyse_gds(_NoGds(store), run_id="x", computed_at=WHEN)
    text = str(err.value)
    assert "has no Graph Data Science library" in text and "\n" not in text
    assert "dbms.security.procedures.unrestricted=gds.*" in text


def test_concurrency_above_the_community_cap_is_refused(bank: dict[str, Any]) -> None:
    with open_store(bank["uri"]) as store, pytest.raises(ConfigError, match="between 1 and 4"):
        analyse_gds(store, run_id="x", computed_at=WHEN, concurrency=8)
