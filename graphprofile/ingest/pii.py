"""Pseudonymisation of PII with a keyed hash, applied before values leave the loader.

Values are normalised first (trimmed, case-folded; phone numbers reduced to their digits)
so that the same phone written two ways gets the same pseudonym. The pseudonym is the
16 hex digits of SipHash-2-4(value) (a keyed pseudo-random function, vectorised by
pandas, which adds a bijective 64-bit mixing step) under a 96-bit key derived from the
configured key with BLAKE2b: stable for a key, not reversible without it, and no
dictionary attack on phone numbers is possible without the key.

The key comes from ``GRAPHPROFILE_PII_KEY``. Without it, a key is derived from a digest
of the PII values themselves plus a random-looking constant: pseudonyms are then stable
for the same data (runs stay deterministic) but cannot be joined to another dataset's,
and only someone who already holds the raw data could recompute them. The key is never
written anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._arrow import arrow_strings
from graphprofile.frames import TABLES
from graphprofile.ingest.read import ROW

ENV_KEY = "GRAPHPROFILE_PII_KEY"
#: v2: the digest reads each sample's UTF-8 bytes and lengths (v1 hashed every value with
#: pandas first: 4.4 s of a 1M-customer load against ~0.5 s)
_DERIVE_SALT = b"graphprofile/pii/derived-key/v2"


class Pseudonymiser:
    """Keyed hashing of PII columns. The key is held only in memory."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("empty PII key")
        digest = hashlib.blake2b(key, digest_size=32).digest()
        # SipHash-2-4 (a keyed PRF) through pandas' vectorised hasher, which takes its key
        # as 16 ASCII characters: 96 bits of the digest, base64-encoded.
        self.__key = base64.b64encode(digest[:12]).decode("ascii")

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(<key hidden>)"

    def hash_series(self, values: pd.Series, kind: str | None = None) -> pd.Series:
        """Pseudonymise a text column; nulls stay null. Each distinct value is hashed once."""
        norm = normalise(values, kind)
        codes, uniques = pd.factorize(norm, use_na_sentinel=True)
        hashed = pd.util.hash_array(
            np.asarray(uniques, dtype=object), hash_key=self.__key, categorize=False
        )
        hexes = binascii.hexlify(hashed.astype(">u8").tobytes())
        # the 16 hex digits of each hash as Arrow text straight from the bytes (a Python
        # string per value took ~0.3 s per million)
        offsets = np.arange(0, 16 * (len(hashed) + 1), 16, dtype=np.int64)
        pseudonyms = pd.arrays.ArrowStringArray(
            pa.LargeStringArray.from_buffers(
                len(hashed), pa.py_buffer(offsets), pa.py_buffer(hexes)
            )
        )
        out = pseudonyms.take(codes, allow_fill=True)
        return pd.Series(out, index=values.index, dtype="string")


#: Words that make a customer attribute PII (matched against the words of its name, so
#: ``email``, ``phone_number``, ``FirstName`` and ``home_address`` all count).
PII_WORDS = frozenset(
    {
        "name", "firstname", "lastname", "surname", "fullname", "forename", "vorname",
        "nachname", "phone", "mobile", "tel", "telephone", "telefon", "handy", "fax",
        "email", "mail", "address", "addr", "adresse", "street", "strasse", "zip", "postcode",
        "postal", "plz", "iban", "ssn", "passport", "national", "nationalid", "tax", "taxid",
        "birth", "birthdate", "birthday", "dob", "geburtsdatum", "ip", "ipaddress",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def pii_kind(column: str) -> str | None:
    """The PII kind an attribute column name suggests (``phone``, ``email``, ``pii``), or None."""
    words = {w.lower() for w in _WORD.findall(column)}
    if not words & PII_WORDS:
        return None
    if words & {"phone", "mobile", "tel", "telephone", "telefon", "handy", "fax"}:
        return "phone"
    if words & {"email", "mail"}:
        return "email"
    return "pii"


def normalise(values: pd.Series, kind: str | None = None) -> pd.Series:
    """Trim, case-fold, and for phones keep only digits (and a leading +)."""
    s = _casefold(values.astype("string").str.strip())
    if kind == "phone":
        s = _phone_digits(s).str.replace(r"^00", "+", regex=True)
    s = s.mask(s == "")
    return s


def _phone_digits(s: pd.Series) -> pd.Series:
    """``s.str.replace(r"(?!^\\+)[^0-9]", "", regex=True)``: every character but the digits
    and a leading ``+`` removed, by Arrow's regex engine (which has no look-ahead: pandas
    ran that pattern through Python's ``re`` one value at a time, ~1.6 s per million)."""
    arr = arrow_strings(s)
    plus = pc.fill_null(pc.starts_with(arr, "+"), False)
    digits = pc.replace_substring_regex(arr, pattern=r"[^0-9]+", replacement="")
    sign, none = pa.scalar("+", arr.type), pa.scalar("", arr.type)
    kept = pc.if_else(plus, pc.binary_join_element_wise(sign, digits, none), digits)
    if isinstance(kept, pa.ChunkedArray):
        kept = kept.combine_chunks()
    return pd.Series(pd.arrays.ArrowStringArray(kept), index=s.index, name=s.name)


def _casefold(s: pd.Series) -> pd.Series:
    """``s.str.casefold()``; text that is all ASCII is lower-cased by Arrow instead, which
    is the same there (pandas folds case one Python string at a time)."""
    arr = arrow_strings(s)
    if pc.all(pc.string_is_ascii(arr)).as_py() is not True:
        return s.str.casefold()
    lower = pc.utf8_lower(arr)
    if isinstance(lower, pa.ChunkedArray):
        lower = lower.combine_chunks()
    return pd.Series(pd.arrays.ArrowStringArray(lower), index=s.index, name=s.name)


def _text_bytes(values: pd.Series) -> tuple[np.ndarray, pa.Buffer]:
    """A text column as the UTF-8 length of each value (-1 for null) and all values' bytes
    end to end: the same for the same values in the same order, however Arrow chunks them."""
    arr = arrow_strings(values.astype("string"))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    lengths = pc.fill_null(pc.binary_length(arr), -1).to_numpy(zero_copy_only=False)
    filled = pc.fill_null(arr, "")  # a null's slot may hold bytes; an empty string's none
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int64)[
        filled.offset : filled.offset + len(filled) + 1
    ]
    data = filled.buffers()[2]
    if data is None or len(offsets) < 2:
        return lengths, pa.py_buffer(b"")
    return lengths, data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def key_from_env_or_data(samples: list[pd.Series]) -> tuple[bytes, str]:
    """Return the PII key and a one-line notice saying where it came from."""
    env = os.environ.get(ENV_KEY)
    if env:
        return env.encode("utf-8"), f"PII pseudonymised with the key from {ENV_KEY}"
    digest = hashlib.blake2b(_DERIVE_SALT, digest_size=32)
    for s in samples:
        lengths, data = _text_bytes(s)
        digest.update(lengths.astype("<i8").tobytes())
        digest.update(data)
    return digest.digest(), (
        f"no {ENV_KEY} set: PII pseudonymised with a key derived from this dataset and "
        "recorded nowhere (pseudonyms cannot be joined with other datasets); "
        f"set {ENV_KEY} to get pseudonyms that are stable across datasets"
    )


def pseudonymise(
    customers: pd.DataFrame,
    devices: pd.DataFrame | None,
    identifiers: pd.DataFrame | None,
    notices: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Replace every PII value by its keyed pseudonym before the frames leave ingest.

    Names, device IPs, identifier values and customer attributes whose names say they are
    PII (:func:`pii_kind`: email, phone_number, address…). The key comes from
    :data:`ENV_KEY` or is derived from the data (:func:`key_from_env_or_data`) and is
    dropped afterwards; where it came from is added to ``notices``.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame or None, pandas.DataFrame or None)
        ``customers``, ``devices`` and ``identifiers`` with pseudonyms (identifier kinds
        lower-cased).
    """
    pii_attributes = {
        c: kind
        for c in customers.columns
        if c not in TABLES["customers"] and c != ROW and (kind := pii_kind(c))
    }
    if pii_attributes:
        notices.append(
            "customers: attribute(s) "
            + ", ".join(sorted(pii_attributes))
            + " look like PII and are pseudonymised like names"
        )
    samples = [
        s
        for s in (
            customers.get("name"),
            *(customers[c] for c in sorted(pii_attributes)),
            devices.get("ip") if devices is not None else None,
            identifiers.get("value") if identifiers is not None else None,
        )
        if s is not None
    ]
    key, notice = key_from_env_or_data(samples)
    notices.append(notice)
    pseud = Pseudonymiser(key)
    del key
    # the device IPs are hashed in a thread while the rest is hashed here: Arrow's kernels
    # and the hasher's inner loop release the GIL
    with ThreadPoolExecutor(1, "graphprofile-pii") as pool:
        ips = None
        if devices is not None and "ip" in devices:
            ips = pool.submit(pseud.hash_series, devices["ip"], "ip")
        if "name" in customers:
            customers = customers.assign(name=pseud.hash_series(customers["name"]))
        for column, kind in pii_attributes.items():
            customers[column] = pseud.hash_series(customers[column], kind)
        if identifiers is not None:
            kind = identifiers["kind"].str.lower()
            identifiers = identifiers.assign(kind=kind, value=_by_kind(pseud, identifiers, kind))
        if ips is not None:
            devices = devices.assign(ip=ips.result())
    return customers, devices, identifiers


def _by_kind(pseud: Pseudonymiser, identifiers: pd.DataFrame, kind: pd.Series) -> pd.Series:
    """Each identifier value pseudonymised as its kind (lower-cased) says; null without a
    kind. The kinds' results are put back in row order by one Arrow ``take`` (a masked
    assignment per kind took ~2 s at 4M identifiers)."""
    n = len(identifiers)
    values = identifiers["value"]
    codes, kinds = pd.factorize(kind, sort=True)  # kinds in sorted order; -1: no kind
    order = np.argsort(codes, kind="stable")
    parts = [pa.array([], type=pa.large_string())]
    at = np.searchsorted(codes[order], np.arange(len(kinds) + 1))
    for j, k in enumerate(kinds):
        rows = np.sort(order[at[j] : at[j + 1]])
        part = pseud.hash_series(values.iloc[rows], k).array
        parts.append(pa.array(part).cast(pa.large_string()))
        order[at[j] : at[j + 1]] = rows
    combined = pa.chunked_array(parts).combine_chunks()
    where = np.full(n, -1, dtype=np.int64)  # row -> position in ``combined`` (-1: null)
    where[order[at[0] :]] = np.arange(n - at[0])
    taken = combined.take(pa.array(where, mask=where < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=identifiers.index, dtype="string")
