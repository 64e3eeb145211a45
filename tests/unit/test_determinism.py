"""Same input → same outputs: graph snapshot, pseudonyms, and the analysis tables.

Timestamps of the run (``run_id``, ``computed_at``) are the only columns allowed to differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from ingest_support import FOREIGN_DATA, FOREIGN_MAPPING, NOW

from graphprofile.frames import EDGE_ENDS, NODE_KEYS
from graphprofile.generate import generate_bank
from graphprofile.ingest import load_frames
from graphprofile.pipeline import RunConfig, run_job

RUN_COLUMNS = ["run_id", "computed_at"]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic bank with planted rings (the generator's minimum size)."""
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=11)
    return data


def _run(data: Path, out: Path, *, seed: int = 42, mapping: Path | None = None) -> dict:
    return run_job(RunConfig(data_dir=data, out_dir=out, mapping=mapping, seed=seed, report=False))


def _snapshot_files(out: Path) -> list[Path]:
    names = [f"nodes/{n}.parquet" for n in NODE_KEYS] + [f"edges/{e}.parquet" for e in EDGE_ENDS]
    return [out / "graph" / name for name in names]


@pytest.mark.parametrize("source", ["foreign", "bank"])
def test_graph_snapshot_is_identical_across_runs(
    source: str, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", "determinism-key")
    data, mapping = (FOREIGN_DATA, FOREIGN_MAPPING) if source == "foreign" else (bank, None)
    a, b = tmp_path / "a", tmp_path / "b"
    _run(data, a, mapping=mapping)
    _run(data, b, mapping=mapping)
    for file_a, file_b in zip(_snapshot_files(a), _snapshot_files(b), strict=True):
        ta, tb = pq.read_table(file_a), pq.read_table(file_b)
        assert ta.schema.equals(tb.schema, check_metadata=True), file_a.name
        assert ta.equals(tb), file_a.name
        assert file_a.read_bytes() == file_b.read_bytes(), file_a.name
    assert pq.read_table(a / "graph" / "nodes" / "customer.parquet").num_rows > 0


def test_snapshot_does_not_depend_on_the_data_directory_path(tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(FOREIGN_DATA, moved)
    _run(FOREIGN_DATA, tmp_path / "a", mapping=FOREIGN_MAPPING)
    _run(moved, tmp_path / "b", mapping=FOREIGN_MAPPING)
    for file_a, file_b in zip(
        _snapshot_files(tmp_path / "a"), _snapshot_files(tmp_path / "b"), strict=True
    ):
        assert file_a.read_bytes() == file_b.read_bytes(), file_a.name


# --- pseudonyms ---------------------------------------------------------------------------


def _pseudonyms(monkeypatch: pytest.MonkeyPatch, key: str | None, data: Path = FOREIGN_DATA):
    if key is None:
        monkeypatch.delenv("GRAPHPROFILE_PII_KEY", raising=False)
    else:
        monkeypatch.setenv("GRAPHPROFILE_PII_KEY", key)
    frames = load_frames(data, FOREIGN_MAPPING, now=NOW)
    return list(frames.customers["name"]) + list(frames.identifiers["value"])


def test_pseudonyms_are_deterministic_for_the_same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _pseudonyms(monkeypatch, "key-one")
    assert first == _pseudonyms(monkeypatch, "key-one")
    assert all(isinstance(v, str) and len(v) == 16 for v in first)


def test_a_different_key_gives_different_pseudonyms(monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = _pseudonyms(monkeypatch, "key-one"), _pseudonyms(monkeypatch, "key-two")
    assert all(a != b for a, b in zip(one, two, strict=True))
    # Equal values stay equal under either key (K1 and K2 share a phone).
    assert one[4] == one[5] and two[4] == two[5]


def test_without_a_key_pseudonyms_are_stable_per_dataset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    derived = _pseudonyms(monkeypatch, None)
    assert derived == _pseudonyms(monkeypatch, None)
    assert all(a != b for a, b in zip(derived, _pseudonyms(monkeypatch, "key-one"), strict=True))
    # Another dataset (one more customer) derives another key: pseudonyms cannot be joined.
    other = tmp_path / "other"
    shutil.copytree(FOREIGN_DATA, other)
    with (other / "kunden.csv").open("a", encoding="latin-1") as fh:
        fh.write("K5;Neue Kundin;privat;nein;Bonn\n")
    changed = _pseudonyms(monkeypatch, None, other)
    assert changed[0] != derived[0]


# --- analysis outputs ---------------------------------------------------------------------


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in ("features", "tags", "rings"):
        df = pd.read_parquet(out / f"{name}.parquet")
        tables[name] = df.drop(columns=[c for c in RUN_COLUMNS if c in df])
    return tables


def test_analysis_outputs_identical_across_three_runs(
    bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", "determinism-key")
    runs = [_tables(tmp_path / f"run{i}") for i in range(3) if _run(bank, tmp_path / f"run{i}")]
    assert len(runs[0]["features"]) == 1000
    assert len(runs[0]["rings"]) > 0 and len(runs[0]["tags"]) > 0
    for other in runs[1:]:
        for name in ("features", "tags", "rings"):
            pd.testing.assert_frame_equal(runs[0][name], other[name], check_exact=True)


@pytest.mark.parametrize("seed", [1, 7])
def test_invariants_hold_for_any_seed(
    seed: int, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHPROFILE_PII_KEY", "determinism-key")
    out = tmp_path / "out"
    summary = _run(bank, out, seed=seed)
    assert summary["parameters"]["seed"] == seed
    customers = set(pd.read_parquet(out / "graph" / "nodes" / "customer.parquet")["customer_id"])
    t = _tables(out)
    features, rings = t["features"], t["rings"]
    # One feature row per customer, and the communities partition all customers.
    assert features["customer_id"].is_unique and set(features["customer_id"]) == customers
    assert features["community_id"].notna().all()
    communities = pd.read_parquet(out / "communities.parquet")
    assert communities["community_id"].is_unique
    assert communities["size"].sum() == len(customers)
    sizes = features.groupby("community_id").size().sort_index()
    declared = communities.set_index("community_id")["size"].sort_index()
    assert sizes.to_dict() == declared.to_dict()
    # Scores in range.
    assert features["risk_score"].between(0, 1).all()
    assert rings["risk"].between(0, 1).all()
    assert (rings["size"] >= 2).all()
