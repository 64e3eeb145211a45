"""Read one source table (CSV or Parquet) as mapped, with source row numbers.

CSV cells are read as text so that every parse decision (and every reject reason) is made
in :mod:`graphprofile.ingest.validate`. Rows with the wrong number of fields are not
read; they come back as ``invalid`` rows with their row number and reason.

Row numbers: for CSV, the row as a spreadsheet shows it (the header is row 1, the first
data row is row 2; a quoted value spanning lines is still one row). For Parquet, the
1-based position of the row in the file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graphprofile.errors import InputError
from graphprofile.frames import TABLES
from graphprofile.ingest.mapping import TableMapping

ROW = "_row"


@dataclass
class RawTable:
    """A table as read: canonical column names, text or typed values, and ``_row``."""

    table: str
    path: Path
    frame: pd.DataFrame
    invalid: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return len(self.frame) + len(self.invalid)


def find_file(data_dir: Path, tm: TableMapping) -> Path | None:
    """The file a table maps to, or ``None`` when the data directory has none.

    Raises
    ------
    InputError
        When the mapping names a stem and both ``<stem>.parquet`` and ``<stem>.csv`` exist
        (one would be picked silently).
    """
    candidates = [data_dir / tm.file]
    if Path(tm.file).suffix.lower() not in {".csv", ".parquet"}:
        candidates = [data_dir / f"{tm.file}.parquet", data_dir / f"{tm.file}.csv"]
    found = [path for path in candidates if path.is_file()]
    if len(found) > 1:
        raise InputError(
            f"{data_dir}: two files for table '{tm.table}': {found[0].name} and "
            f"{found[1].name}; remove one, or name the one to read in the mapping "
            f'(tables.{tm.table}.file = "{found[1].name}")'
        )
    return found[0] if found else None


def _csv_header(path: Path, tm: TableMapping) -> list[str]:
    encoding = tm.options.encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"{path}: unknown encoding {encoding!r} (mapping option 'encoding')"
        ) from None
    if encoding.replace("-", "").replace("_", "").lower() == "utf8":
        encoding = "utf-8-sig"
    try:
        # bad bytes further down are the reader's business (a ragged row is rejected, any
        # other row is an encoding error): only the header line must decode here
        with path.open(encoding=encoding, errors="replace", newline="") as fh:
            header = next(csv.reader(fh, delimiter=tm.options.delimiter), None)
    except (OSError, csv.Error) as exc:
        raise _unreadable(path, exc) from None
    if header and any("\ufffd" in h for h in header):
        raise _encoding_error(path, tm)
    if not header or all(not h.strip() for h in header):
        raise InputError(f"{path}: the file is empty (expected a header row)")
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(
            f"{path}: duplicate column name(s) in the header: {', '.join(map(repr, dupes))}; "
            "give every column a distinct name"
        )
    return header


def _unreadable(path: Path, exc: Exception, what: str = "file") -> InputError:
    """The error for a file that could not be read, saying so when it vanished mid-run."""
    if not path.exists():
        return InputError(
            f"{path}: the file disappeared while it was being read; keep input files in place "
            "during a run and run again"
        )
    detail = getattr(exc, "strerror", None) or str(exc)
    return InputError(f"{path}: cannot read {what}: {detail}")


def _first_undecodable_line(path: Path, encoding: str) -> int | None:
    """Line number (1-based, physical line) of the first byte that is not ``encoding`` text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return line + chunk.count(b"\n", 0, max(exc.start - pending, 0))
                line += chunk.count(b"\n")
    except OSError:
        return None
    return None


def _encoding_error(path: Path, tm: TableMapping) -> InputError:
    encoding = tm.options.encoding
    line = _first_undecodable_line(path, encoding)
    where = f"line {line}" if line is not None else "the file"
    return InputError(
        f"{path}: {where} is not valid {encoding} text; set 'encoding' for this table in "
        f'the mapping (tables.{tm.table}.encoding, e.g. encoding = "latin-1")'
    )


def _check_columns(path: Path, tm: TableMapping, header: list[str], required: set[str]) -> None:
    missing = []
    for canon, src in tm.columns.items():
        if src in header:
            continue
        if canon in required or tm.explicit_columns:
            missing.append((canon, src))
    for prop, src in tm.attributes.items():
        if src not in header:
            missing.append((f"attributes.{prop}", src))
    if missing:
        canon, src = missing[0]
        section = "attributes" if canon.startswith("attributes.") else "columns"
        entry = canon if section == "attributes" else f"columns.{canon}"
        hint, cells = "", header
        if len(header) == 1:
            for sep in [";", "\t", "|", ","]:
                if sep != tm.options.delimiter and sep in header[0]:
                    hint = f"; the header looks {sep!r}-separated: set delimiter = {sep!r}"
                    cells = [c.strip() for c in header[0].split(sep)]
                    break
        found = f"columns found: {', '.join(header[:20])}"
        holds_pii = any(kind == "pii" for kind, _ in TABLES[tm.table].values())
        if holds_pii and not set(tm.columns.values()) & set(cells):
            # Probably no header row: the first row is data, and it may be personal data.
            found = (
                "no mapped column in the first row, so it is not shown (it may hold personal "
                "data); does the file lack its header row?"
            )
        raise InputError(
            f"{path}: missing column {src!r} (mapping entry tables.{tm.table}.{entry}); "
            f"{found}{hint}"
        )


_REPLACE_CODEC = "graphprofile_utf8_replace"


def _replace_codec_search(name: str) -> codecs.CodecInfo | None:
    if name != _REPLACE_CODEC:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=_REPLACE_CODEC,
        encode=utf8.encode,
        decode=functools.partial(utf8.decode, errors="replace"),
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=functools.partial(utf8.incrementaldecoder, errors="replace"),
    )


@functools.cache
def _replacing_utf8() -> str:
    """A codec name that decodes UTF-8 with U+FFFD for bad bytes (registered once, on use)."""
    codecs.register(_replace_codec_search)
    return _REPLACE_CODEC


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


class _DecodeErrors:
    """Errors pyarrow raises while decoding an invalid row for its callback, counted.

    pyarrow decodes a ragged row's text before calling the invalid-row handler; bytes that
    are not UTF-8 raise there, outside any ``try``, and Python reports them as "Exception
    ignored". While a CSV file is read, :func:`_decode_errors_in_callbacks` swaps in a hook
    that counts them instead, and the file is read again with replacement. Tables are read
    in two threads at once (:func:`graphprofile.ingest.load.load_frames`), and pyarrow calls
    the hook from its own threads, so the hook is installed once for every read under way
    and only counts: a read learns that one of its rows could not be decoded from the count
    together with its own error (:func:`_undecodable_ragged_row`).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.count = 0
        self.previous: Any = None

    def hook(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError):
            with self.lock:
                self.count += 1
        else:
            self.previous(unraisable)


_DECODE_ERRORS = _DecodeErrors()


@contextlib.contextmanager
def _decode_errors_in_callbacks() -> Iterator[Callable[[], bool]]:
    """While reading: yields a function that says whether a row's text failed to decode in
    an invalid-row callback since the read began (in this read or one beside it)."""
    errors = _DECODE_ERRORS
    with errors.lock:
        if errors.users == 0:
            errors.previous = sys.unraisablehook
            sys.unraisablehook = errors.hook
        errors.users += 1
        start = errors.count
    try:
        yield lambda: errors.count > start
    finally:
        with errors.lock:
            errors.users -= 1
            if errors.users == 0:
                sys.unraisablehook = errors.previous
                errors.previous = None


def _undecodable_ragged_row(exc: pa.ArrowInvalid, undecodable: Callable[[], bool]) -> bool:
    """Whether ``exc`` stopped a read at a ragged row whose text could not be decoded.

    The handler skips every ragged row it is called for, so a column-count error means it
    was not called, which happens when the row's text does not decode; the count of such
    failures (:class:`_DecodeErrors`) must have grown too.
    """
    return "Expected" in str(exc) and "columns, got" in str(exc) and undecodable()


def _read_csv(path: Path, tm: TableMapping, header: list[str], wanted: list[str]) -> RawTable:
    invalid: list[tuple[int | None, str]] = []
    replaced = False

    def on_invalid(row: pacsv.InvalidRow) -> str:
        why = f"row has {row.actual_columns} fields, header has {row.expected_columns}"
        if "\n" in row.text and row.text.count('"') % 2 == 1:
            why += "; a quote in it is never closed, so the lines after it were read into it"
        if replaced and "\ufffd" in row.text:
            why += f"; it is not valid {tm.options.encoding} text either"
        invalid.append((row.number, why))
        return "skip"

    def read(use_threads: bool, encoding: str) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding,
                use_threads=use_threads,
                column_names=header,
                skip_rows=1,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=tm.options.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                # large strings: what pandas holds text as (the 32-bit offsets of
                # ``string`` were widened in ``to_pandas``: 0.7 s for 11M rows x 7)
                column_types={c: pa.large_string() for c in header},
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        with _decode_errors_in_callbacks() as undecodable:
            try:
                table = read(True, tm.options.encoding)
                if invalid:
                    invalid.clear()
                    table = read(False, tm.options.encoding)
            except pa.ArrowInvalid as exc:
                if not (
                    _undecodable_ragged_row(exc, undecodable) and _is_utf8(tm.options.encoding)
                ):
                    raise
                # a ragged row holds bytes that are not UTF-8: read again with U+FFFD for
                # them, so that the row is rejected with its reason; a well-formed row
                # with such bytes is still an encoding error (below)
                invalid.clear()
                replaced = True
                table = read(False, _replacing_utf8())
                if any(pc.any(pc.match_substring(col, "\ufffd")).as_py() for col in table.columns):
                    raise _encoding_error(path, tm) from None
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "UTF8" in msg or "utf8" in msg.lower():
            raise _encoding_error(path, tm) from None
        raise InputError(f"{path}: cannot parse CSV: {msg}") from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    # pyarrow numbers records from the start of the file (the header is record 1).
    bad_rows = sorted(int(n) for n, _ in invalid if n is not None)
    n_total = table.num_rows + len(bad_rows)
    all_rows = np.arange(2, n_total + 2, dtype=np.int64)
    rows = np.setdiff1d(all_rows, np.asarray(bad_rows, dtype=np.int64), assume_unique=True)
    frame = table.to_pandas()
    frame[ROW] = rows
    reasons = [(int(n), why) for n, why in invalid if n is not None]
    return RawTable(tm.table, path, frame, invalid=sorted(reasons))


def _parquet_to_pandas(path: Path, table: pa.Table, kinds: dict[str, str]) -> pd.DataFrame:
    """Convert a Parquet table so that validation sees what the file holds.

    Text columns (ids, labels, PII, attributes) are cast to text by Arrow, so an integer id
    ``12`` is ``"12"`` even when the column has nulls (pandas would make it ``12.0``).
    Floating-point amounts keep null (missing) apart from NaN (not a number).
    """
    columns: dict[str, pd.Series] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = kinds.get(name, "str")
        typ = column.type
        if kind in {"id", "str", "pii"} and not (
            pa.types.is_string(typ) or pa.types.is_large_string(typ)
        ):
            try:
                column = pc.cast(column, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(
                    f"{path}: column {name!r} has type {typ}, which cannot be read as text; "
                    "store it as a string or number column"
                ) from None
        if kind == "amount" and pa.types.is_floating(typ):
            columns[name] = column.to_pandas(types_mapper=pd.ArrowDtype)
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _read_parquet(
    path: Path, tm: TableMapping, wanted: list[str], kinds: dict[str, str]
) -> RawTable:
    try:
        table = pq.read_table(path, columns=wanted)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, exc, "Parquet file") from None
    frame = _parquet_to_pandas(path, table, kinds)
    frame[ROW] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return RawTable(tm.table, path, frame)


def _parquet_header(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, exc, "Parquet file") from None


def read_table(path: Path, tm: TableMapping, required: set[str]) -> RawTable:
    """Read ``path`` as mapped by ``tm`` into canonical column names.

    Raises
    ------
    InputError
        When the file is empty, unreadable, in the wrong encoding, or lacks a mapped column.
    """
    is_parquet = path.suffix.lower() == ".parquet"
    header = _parquet_header(path) if is_parquet else _csv_header(path, tm)
    _check_columns(path, tm, header, required)
    rename = {src: canon for canon, src in tm.columns.items() if src in header}
    rename.update({src: prop for prop, src in tm.attributes.items()})
    extra = [h for h in header if h not in rename]
    if tm.table == "customers":  # any other customer column is kept as an attribute
        keep_extra = [h for h in extra if h and h not in rename.values()]
    else:
        keep_extra = []
    wanted = [h for h in header if h in rename or h in keep_extra]
    if is_parquet:
        kinds = {
            src: TABLES[tm.table][canon][0]
            for src, canon in rename.items()
            if canon in TABLES[tm.table]
        }
        raw = _read_parquet(path, tm, wanted, kinds)
    else:
        raw = _read_csv(path, tm, header, wanted)
    raw.frame = raw.frame.rename(columns=rename)
    raw.ignored_columns = [h for h in extra if h not in keep_extra]
    return raw
