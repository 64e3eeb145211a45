"""Normalisation of identifier values before pseudonymisation, so one value is one identifier.

Applied by the loader to ``identifiers.value`` after parsing and before the keyed hash
(:mod:`graphprofile.ingest.pii`), so that the same phone, ID number, e-mail or address
written two ways gets one pseudonym. Every rule is vectorised with Arrow compute kernels.

Rules, by identifier kind (``docs/DATA.md`` lists them with examples):

- every kind: Unicode NFKC (full-width letters, digits and punctuation become half-width;
  the ideographic space becomes a space), runs of whitespace collapsed to one space,
  trimmed;
- ``phone``: only digits and a leading ``+`` are kept (spaces, dashes, dots, brackets go);
  a leading ``00`` becomes ``+``; with the mapping option ``phone_country_code`` (e.g.
  ``"86"``) a number without ``+`` is national: one leading trunk ``0`` is dropped and
  ``+<code>`` prefixed, so ``138 0013 8000``, ``+86 138-0013-8000`` and
  ``0086 13800138000`` are one phone;
- ``national_id``: spaces removed, letters upper-cased; with the mapping option
  ``national_id_format = "cn"`` it must be a mainland resident ID number: 17 digits and a
  check character (digit or ``X``) satisfying GB 11643-1999 (ISO 7064 MOD 11-2); anything
  else is rejected (``invalid national_id checksum`` or ``invalid national_id format``);
- ``email``: lower-cased;
- ``address``: the common rules only (full-width to half-width, whitespace collapsed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile.errors import MappingError

#: Mapping options of this module and their defaults.
NORMALISE_DEFAULTS = {"phone_country_code": "", "national_id_format": "any"}
NATIONAL_ID_FORMATS = ("any", "cn")

#: GB 11643-1999 weights 2^(17-i) mod 11 and the check character for each sum mod 11.
_GB11643_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_GB11643_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)

REASON_CHECKSUM = "invalid national_id checksum"
REASON_FORMAT = (
    "invalid national_id format (18 characters expected: 17 digits and a check digit or X)"
)


def _arrow(values: pd.Series) -> pa.Array:
    """A text column as one contiguous Arrow string array (pandas may hold several chunks)."""
    arr = pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _series(arr: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(arr.to_pandas(), index=index, dtype="string")


def common(arr: pa.Array) -> pa.Array:
    """NFKC (full-width → half-width), whitespace runs collapsed to one space, trimmed.

    Values already in that form (:func:`_settled`: printable ASCII, single inner spaces)
    are kept as they are and the rules run on the others only: splitting every value at
    its whitespace and joining the words again was 1.1 of the 1.3 s these rules took on
    the 4M identifiers of a 1M-customer bank (#16).
    """
    if arr.type != pa.string():  # the byte test reads 32-bit offsets
        return _common_rules(arr)
    settled = _settled(arr)
    if settled.all():
        return arr
    rest = np.flatnonzero(~settled)
    done = _common_rules(pc.take(arr, pa.array(rest)))
    kept = np.flatnonzero(settled)
    order = np.empty(len(arr), dtype=np.int64)  # row -> its place in kept + done
    order[kept] = np.arange(len(kept))
    order[rest] = len(kept) + np.arange(len(rest))
    both = pa.concat_arrays([pc.take(arr, pa.array(kept)), done.cast(arr.type)])
    return pc.take(both, pa.array(order))


def _common_rules(arr: pa.Array) -> pa.Array:
    """The rules of :func:`common` on every value."""
    arr = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, form="NFKC"))
    return pc.binary_join(pc.utf8_split_whitespace(arr), " ")


#: Bytes :func:`_special_bytes` looks at in one go (4 MiB: two buffers of this size are
#: reused, where two temporaries the size of the column were made afresh).
BYTE_BLOCK = 1 << 22


def _special_bytes(chunk: np.ndarray) -> np.ndarray:
    """Positions of the bytes of ``chunk`` that are a space, a control character or not
    ASCII: below 0x21 wraps round above 0x7e - 0x21 in one subtraction. Block by block
    in two reused buffers: on the 1M bank's 89 MB of identifier values the whole-column
    form spent 1.8-2.1 s, mostly faulting in its fresh temporaries (#16)."""
    block = min(len(chunk), BYTE_BLOCK)
    shifted, wide = np.empty(block, dtype=np.uint8), np.empty(block, dtype=bool)
    found = [np.zeros(0, dtype=np.intp)]
    for at in range(0, len(chunk), BYTE_BLOCK):
        part = chunk[at : at + BYTE_BLOCK]
        k = len(part)
        np.subtract(part, np.uint8(0x21), out=shifted[:k])
        np.greater(shifted[:k], np.uint8(0x7E - 0x21), out=wide[:k])
        hits = np.flatnonzero(wide[:k])
        hits += at
        found.append(hits)
    return np.concatenate(found)


def _settled(arr: pa.Array) -> np.ndarray:
    """Rows that :func:`common` leaves as they are, found from the bytes: non-empty, every
    byte printable ASCII or a space (NFKC keeps ASCII), no space first, last or next to
    another (no whitespace to trim or collapse). Nulls count as settled (they stay null)."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    start, end = offsets[:-1], offsets[1:]
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lo, hi = int(offsets[0]), int(offsets[-1])
    chunk = data[lo:hi]
    # bytes that are a space, a control character or not ASCII, then, among them, those
    # that unsettle a row
    special = _special_bytes(chunk)
    is_space = chunk[special] == 0x20
    spaces = special[is_space]
    unsettling = np.concatenate(
        [special[~is_space], spaces[1:][spaces[1:] - spaces[:-1] == 1]]  # 2nd of 2 spaces
    )
    row_ends = end - lo
    bad = np.zeros(n, dtype=bool)
    bad[np.searchsorted(row_ends, unsettling, side="right")] = True
    bad |= end == start
    if len(chunk):  # each value's first and last byte (an empty value's, clipped, is moot)
        bad |= chunk.take(start - lo, mode="clip") == 0x20
        bad |= chunk.take(end - (lo + 1), mode="clip") == 0x20
    valid = (
        np.ones(n, dtype=bool)
        if arr.null_count == 0
        else np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    )
    return ~valid | ~bad


def phone(arr: pa.Array, country_code: str = "") -> pa.Array:
    """Digits and a leading ``+``; ``00`` → ``+``; national numbers get ``+<country_code>``."""
    plus = pc.fill_null(pc.starts_with(arr, "+"), False)
    digits = pc.replace_substring_regex(arr, pattern=r"[^0-9]+", replacement="")
    arr = pc.if_else(plus, pc.binary_join_element_wise("+", digits, ""), digits)
    arr = pc.replace_substring_regex(arr, pattern=r"^00", replacement="+")
    if country_code:
        national = pc.invert(pc.fill_null(pc.starts_with(arr, "+"), False))
        trunk = pc.replace_substring_regex(arr, pattern=r"^0", replacement="")
        prefixed = pc.binary_join_element_wise("+" + country_code, trunk, "")
        arr = pc.if_else(national, prefixed, arr)
    return arr


def national_id(arr: pa.Array) -> pa.Array:
    """Spaces removed, letters upper-cased (after :func:`common`)."""
    return pc.utf8_upper(pc.replace_substring(arr, " ", ""))


def email(arr: pa.Array) -> pa.Array:
    """Lower-cased (after :func:`common`)."""
    return pc.utf8_lower(arr)


def national_id_check(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Masks (bad format, bad checksum) of GB 11643-1999 for upper-cased, space-free values.

    The check character of ``d_1 … d_17`` is ``"10X98765432"[sum(d_i * 2^(18-i) mod 11) mod
    11]`` (ISO 7064 MOD 11-2). Nulls are neither.

    References
    ----------
    GB 11643-1999, Citizen identification number (公民身份号码), clause 7.
    """
    n = len(arr)
    valid = pc.fill_null(pc.match_substring_regex(arr, r"^[0-9]{17}[0-9X]$"), True)
    bad_format = ~np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
    bad_sum = np.zeros(n, dtype=bool)
    is_null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    ok = np.flatnonzero(~bad_format & ~is_null)
    if len(ok):
        # Every checked value is 18 ASCII bytes: read them as one (n, 18) byte grid.
        chosen = pc.take(arr, pa.array(ok))
        if isinstance(chosen, pa.ChunkedArray):
            chosen = chosen.combine_chunks()
        offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int32)[: len(ok) + 1]
        data = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)
        grid = data[offsets[0] : offsets[-1]].reshape(len(ok), 18)
        total = (grid[:, :17].astype(np.int64) - ord("0")) @ _GB11643_WEIGHTS
        bad_sum[ok] = _GB11643_CHECK[total % 11] != grid[:, 17]
    return bad_format, bad_sum


class _KindCodes:
    """Identifier kinds, lower-cased, as small integer codes (Arrow's dictionary encoding):
    ``are(name)`` compares integers, not 4M Python strings (converting the column to them
    took ~1 s at 1M customers, #16)."""

    def __init__(self, kind: pd.Series) -> None:
        lowered = pc.fill_null(pc.utf8_lower(_arrow(kind)), "")
        encoded = pc.dictionary_encode(lowered)
        self.names = encoded.dictionary.to_pylist()
        self.codes = encoded.indices.to_numpy(zero_copy_only=False)

    def are(self, name: str) -> np.ndarray:
        """Whether each row's kind is ``name`` (lower-case)."""
        if name not in self.names:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == self.names.index(name)


def normalise_identifiers(
    kind: pd.Series, value: pd.Series, *, phone_country_code: str, national_id_format: str
) -> tuple[pd.Series, pd.Series]:
    """Normalised identifier values and a reject reason per row (null where valid).

    Parameters
    ----------
    kind : pandas.Series
        Identifier kinds (compared lower-case).
    value : pandas.Series
        Raw values; nulls stay null.
    phone_country_code : str
        Digits of the country code given to phones written without one ("" = none).
    national_id_format : {"any", "cn"}
        ``"cn"`` checks ``national_id`` values as mainland ID numbers (GB 11643-1999).

    Returns
    -------
    (pandas.Series, pandas.Series)
        The values (``string``) and the reasons (``string``, null for valid rows).
    """
    index = value.index
    reason = pd.Series(pd.NA, index=index, dtype="string")
    if len(value) == 0:
        return value.astype("string"), reason
    arr = common(_arrow(value))
    kinds = _KindCodes(kind)
    # Each kind's rule runs on that kind's values only; the parts are put back in order.
    positions, parts = [], []
    rules = {
        "phone": lambda a: phone(a, phone_country_code),
        "national_id": national_id,
        "email": email,
    }
    ruled = np.zeros(len(arr), dtype=bool)
    for name, rule in rules.items():
        sel = np.flatnonzero(kinds.are(name))
        if len(sel):
            positions.append(sel)
            parts.append(rule(pc.take(arr, pa.array(sel))))
            ruled[sel] = True
    rest = np.flatnonzero(~ruled)
    positions.append(rest)
    parts.append(pc.take(arr, pa.array(rest)))
    order = np.argsort(np.concatenate(positions), kind="stable")
    out = pc.take(pa.concat_arrays(parts), pa.array(order))
    out = pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out)
    if national_id_format == "cn":
        is_nid = kinds.are("national_id")
        bad_format, bad_sum = national_id_check(out)
        reason = reason.mask(is_nid & bad_format & value.notna().to_numpy(), REASON_FORMAT)
        reason = reason.mask(is_nid & bad_sum, REASON_CHECKSUM)
    return _series(out, index), reason


def check_normalise_options(source: str, where: str, opts: dict) -> None:
    """Validate ``phone_country_code`` and ``national_id_format`` of a mapping section."""
    code = opts["phone_country_code"]
    if not isinstance(code, str) or not (code == "" or code.isdigit()) or len(code) > 4:
        raise MappingError(
            f"{source}: {where}.phone_country_code must be the digits of a country code "
            '(e.g. "86") or ""'
        )
    if opts["national_id_format"] not in NATIONAL_ID_FORMATS:
        raise MappingError(
            f"{source}: {where}.national_id_format must be one of "
            f"{', '.join(NATIONAL_ID_FORMATS)} ('cn': mainland ID numbers, GB 11643 checksum)"
        )
