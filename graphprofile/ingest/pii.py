"""Pseudonymisation of PII with a keyed hash, applied before values leave the loader.

Values are normalised first (trimmed, case-folded; phone numbers reduced to their digits)
so that the same phone written two ways gets the same pseudonym. The pseudonym is the
first 16 hex digits of keyed BLAKE2b(value, key): stable for a key, not reversible without
it, and no dictionary attack on phone numbers is possible without the key.

The key comes from ``GRAPHPROFILE_PII_KEY``. Without it, a key is derived from a digest
of the PII values themselves plus a random-looking constant: pseudonyms are then stable
for the same data (runs stay deterministic) but cannot be joined to another dataset's,
and only someone who already holds the raw data could recompute them. The key is never
written anywhere.
"""

from __future__ import annotations

import hashlib
import os

import pandas as pd

ENV_KEY = "GRAPHPROFILE_PII_KEY"
_DERIVE_SALT = b"graphprofile/pii/derived-key/v1"


class Pseudonymiser:
    """Keyed hashing of PII columns. The key is held only in memory."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("empty PII key")
        self.__key = hashlib.blake2b(key, digest_size=32).digest()

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(<key hidden>)"

    def hash_series(self, values: pd.Series, kind: str | None = None) -> pd.Series:
        """Pseudonymise a text column; nulls stay null. Hashing is done once per distinct value."""
        norm = normalise(values, kind)
        uniques = pd.unique(norm.dropna())
        key = self.__key
        hashed = {
            v: hashlib.blake2b(v.encode("utf-8"), key=key, digest_size=8).hexdigest()
            for v in uniques
        }
        return norm.map(hashed).astype("string")


def normalise(values: pd.Series, kind: str | None = None) -> pd.Series:
    """Trim, case-fold, and for phones keep only digits (and a leading +)."""
    s = values.astype("string").str.strip().str.casefold()
    if kind == "phone":
        s = s.str.replace(r"(?!^\+)[^0-9]", "", regex=True).str.replace(r"^00", "+", regex=True)
    s = s.mask(s == "")
    return s


def key_from_env_or_data(samples: list[pd.Series]) -> tuple[bytes, str]:
    """Return the PII key and a one-line notice saying where it came from."""
    env = os.environ.get(ENV_KEY)
    if env:
        return env.encode("utf-8"), f"PII pseudonymised with the key from {ENV_KEY}"
    digest = hashlib.blake2b(_DERIVE_SALT, digest_size=32)
    for s in samples:
        hashed = pd.util.hash_pandas_object(s.astype("string"), index=False)
        digest.update(hashed.to_numpy().tobytes())
    return digest.digest(), (
        f"no {ENV_KEY} set: PII pseudonymised with a key derived from this dataset and "
        "recorded nowhere (pseudonyms cannot be joined with other datasets); "
        f"set {ENV_KEY} to get pseudonyms that are stable across datasets"
    )
