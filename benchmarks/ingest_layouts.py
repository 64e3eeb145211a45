"""Cost of identifier normalisation and statement mirror matching, as ratios (not a test).

Usage: python benchmarks/ingest_layouts.py [--n 1000000] [--json out.json]

- normalisation of ``n`` identifier values (a quarter each: 18-character ID numbers checked
  against GB 11643, phones with a country code, e-mails, addresses with full-width
  characters), against the keyed hash (pseudonymisation) of the same values that every
  load already pays;
- mirror matching of ``n`` statement lines (``n / 2`` transfers, each in both statements,
  half with a shared reference, half matched on accounts, amount and time), against
  sorting the same lines by account and time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graphprofile.ingest.layouts import StatementSpec
from graphprofile.ingest.normalise import normalise_identifiers
from graphprofile.ingest.pii import Pseudonymiser
from graphprofile.ingest.statements import mirror_mask


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def identifiers(n: int, rng: np.random.Generator) -> tuple[pd.Series, pd.Series]:
    q = n // 4
    ids = pd.Series(rng.integers(10**16, 10**17, q).astype(str)) + "X"
    phones = "+86 138-" + pd.Series(rng.integers(10**7, 10**8, q).astype(str))
    emails = "User" + pd.Series(rng.integers(0, 10**6, q).astype(str)) + "@Example.CN"
    addresses = "北京市　朝阳区  路" + pd.Series(rng.integers(0, 10**6, q).astype(str)) + "号"
    kind = pd.Series(np.repeat(["national_id", "phone", "email", "address"], q), dtype="string")
    value = pd.concat([ids, phones, emails, addresses], ignore_index=True).astype("string")
    return kind, value


def statement_lines(n: int, rng: np.random.Generator) -> pd.DataFrame:
    m = n // 2
    a = rng.integers(0, 100_000, m).astype(str)
    b = rng.integers(0, 100_000, m).astype(str)
    amount = rng.integers(1, 10**6, m) / 100.0
    ts = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 86_400 * 90, m), unit="s"
    )
    ref = np.where(np.arange(m) % 2 == 0, np.char.add("R", np.arange(m).astype(str)), None)
    return pd.DataFrame(
        {
            "from_account": pd.array(np.concatenate([a, a]), dtype="string"),
            "to_account": pd.array(np.concatenate([b, b]), dtype="string"),
            "amount": np.concatenate([amount, amount]),
            "ts": np.concatenate([ts, ts + pd.Timedelta(seconds=60)]),
            "_side": np.repeat(["D", "C"], m),
            "_reference": pd.array(np.concatenate([ref, ref]), dtype="string"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    kind, value = identifiers(args.n, rng)
    normalise_s = _timed(
        lambda: normalise_identifiers(kind, value, phone_country_code="86", national_id_format="cn")
    )
    hash_s = _timed(lambda: Pseudonymiser(b"benchmark").hash_series(value))
    lines = statement_lines(args.n, rng)
    merged = mirror_mask(lines, StatementSpec())
    assert int(merged.sum()) == args.n // 2
    mirror_s = _timed(lambda: mirror_mask(lines, StatementSpec()))
    sort_s = _timed(lambda: lines.sort_values(["from_account", "ts"]))
    result = {
        "n": args.n,
        "normalise_s": round(normalise_s, 3),
        "keyed_hash_s": round(hash_s, 3),
        "normalise_over_hash": round(normalise_s / hash_s, 2),
        "mirror_match_s": round(mirror_s, 3),
        "sort_s": round(sort_s, 3),
        "mirror_over_sort": round(mirror_s / sort_s, 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
