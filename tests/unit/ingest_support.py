"""Helpers shared by the loader tests: write a data directory, load it, check the accounting."""

from __future__ import annotations

import base64
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
    """read = accepted + rejected + merged per table; the rejects hold the rejected rows."""
    rejects = frames.rejects
    for table, stats in frames.stats.items():
        assert stats.read == stats.accepted + stats.rejected + stats.merged, stats
        mine = rejects[rejects["table"] == table]
        assert len(mine) == stats.rejected, (table, len(mine), stats)
        if table != "identifiers":  # wide identifier columns: one source row, several values
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


def _siphash24(key: bytes, msg: bytes) -> int:
    """Reference SipHash-2-4 (Aumasson & Bernstein), written out independently of pandas."""
    mask = (1 << 64) - 1

    def rotl(x: int, b: int) -> int:
        return ((x << b) | (x >> (64 - b))) & mask

    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:16], "little")
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261,
         k1 ^ 0x7465646279746573]  # fmt: skip

    def rounds(n: int) -> None:
        for _ in range(n):
            v[0] = (v[0] + v[1]) & mask
            v[1] = rotl(v[1], 13) ^ v[0]
            v[0] = rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & mask
            v[3] = rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & mask
            v[3] = rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & mask
            v[1] = rotl(v[1], 17) ^ v[2]
            v[2] = rotl(v[2], 32)

    tail = len(msg) % 8
    for i in range(0, len(msg) - tail, 8):
        m = int.from_bytes(msg[i : i + 8], "little")
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    last = ((len(msg) & 0xFF) << 56) | int.from_bytes(msg[len(msg) - tail :], "little")
    v[3] ^= last
    rounds(2)
    v[0] ^= last
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _finalise(v: int) -> int:
    """pandas' bijective 64-bit mixing step applied after SipHash (splitmix64 finaliser)."""
    mask = (1 << 64) - 1
    v ^= v >> 30
    v = (v * 0xBF58476D1CE4E5B9) & mask
    v ^= v >> 27
    v = (v * 0x94D049BB133111EB) & mask
    return v ^ (v >> 31)


def pseudonym(value: str, key: str = PII_KEY) -> str:
    """The documented pseudonym: SipHash-2-4 of the normalised value, 96-bit derived key."""
    derived = hashlib.blake2b(key.encode(), digest_size=32).digest()
    sip_key = base64.b64encode(derived[:12])
    return f"{_finalise(_siphash24(sip_key, value.encode())):016x}"


def strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="string")


def utc(values: list) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).astype(
        "datetime64[ns, UTC]"
    )
