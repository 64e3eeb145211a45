"""Helpers shared by the loader tests: write a data directory, load it, check the accounting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from graphprofile.frames import Frames
from graphprofile.ingest import load_frames
from graphprofile.ingest.mapping import Mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[2]
FOREIGN_DATA = ROOT / "tests" / "data" / "foreign"
FOREIGN_MAPPING = ROOT / "loaders" / "example_foreign.toml"
NOW = pd.Timestamp("2025-06-01T00:00:00Z")
PII_KEY = "unit-test-pii-key"

Content = str | bytes | pd.DataFrame


def write_files(folder: Path, files: dict[str, Content]) -> Path:
    """Write ``files`` (CSV text, raw bytes, or a DataFrame saved as Parquet) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, pd.DataFrame):
            content.to_parquet(path, index=False)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def mapping_of(doc: dict) -> Mapping:
    """A mapping from a document; ``tables.transactions`` defaults to the canonical layout."""
    doc = {"tables": {"transactions": {}}, **doc}
    return parse_mapping(doc, "test-mapping.toml")


def load(folder: Path, mapping: Path | Mapping | None = None) -> Frames:
    frames = load_frames(folder, mapping, now=NOW)
    assert_reconciled(frames)
    return frames


def assert_reconciled(frames: Frames) -> None:
    """read = accepted + rejected per table, and the rejects hold exactly the rejected rows."""
    rejects = frames.rejects
    for table, stats in frames.stats.items():
        assert stats.read == stats.accepted + stats.rejected, stats
        mine = rejects[rejects["table"] == table]
        assert len(mine) == stats.rejected, (table, len(mine), stats)
        assert mine["source_row"].is_unique, mine
        assert mine["reason"].notna().all() and (mine["reason"].str.len() > 0).all()
        assert (mine["source_file"] == stats.source_file).all()
    assert len(rejects) == sum(s.rejected for s in frames.stats.values())


def rejected(frames: Frames, table: str) -> list[tuple[int, str, str]]:
    """(source_row, column, reason) of every reject of ``table``, in row order."""
    part = frames.rejects[frames.rejects["table"] == table]
    return [
        (int(r), str(c), str(why))
        for r, c, why in zip(part["source_row"], part["column"], part["reason"], strict=True)
    ]


def pseudonym(value: str, key: str = PII_KEY) -> str:
    """The documented pseudonym: keyed BLAKE2b-64 of the normalised value."""
    derived = hashlib.blake2b(key.encode(), digest_size=32).digest()
    return hashlib.blake2b(value.encode(), key=derived, digest_size=8).hexdigest()


def strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="string")


def utc(values: list) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).astype(
        "datetime64[ns, UTC]"
    )
