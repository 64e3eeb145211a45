"""The store protocol, store URIs, name validation and parameter cleaning.

Nothing here imports a database driver: :mod:`graphprofile.store.neo4j_store` and
:mod:`graphprofile.store.falkordb_store` are the only modules that do.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa

from graphprofile.errors import StoreError

#: Labels, relationship types and property names must match this before they are
#: formatted into a Cypher statement (they cannot be parameters).
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: URI schemes served by the official Neo4j driver.
NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
FALKORDB_SCHEMES = ("falkordb", "falkordbs")
#: FalkorDB graph used when the URI names none.
DEFAULT_FALKORDB_GRAPH = "graphprofile"
DEFAULT_FALKORDB_PORT = 6379
#: Timestamps are written as ISO 8601 UTC text with microseconds; fixed width, so
#: text order is time order (``datetime(n.first_ts)`` turns one into a Neo4j datetime).
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
#: What ``write_batches`` accepts as ``$rows``: dicts, a frame (flat rows) or an Arrow table
#: (see :mod:`graphprofile.store.rows`; the fast path for large loads).
Rows = Sequence[Mapping[str, Any]] | pd.DataFrame | pa.Table
#: ``progress(part, rows_done, rows_total)`` after every batch (part: a table or a step).
Progress = Callable[[str, int, int], None]


@runtime_checkable
class Store(Protocol):
    """A graph database that runs Cypher: the one gateway every other module uses."""

    engine: str

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one statement and return its records as a frame (columns as returned)."""
        ...

    def write_batches(
        self,
        query: str,
        rows: Rows,
        batch_size: int = 10_000,
        *,
        params: Mapping[str, Any] | None = None,
        progress: Any = None,
    ) -> int:
        """Send ``rows`` as ``$rows`` in write transactions of ``batch_size`` rows.

        Returns the number of rows the statement reported (the sum of its ``rows``
        column when it returns one, the number of rows sent otherwise).
        """
        ...

    def server_info(self) -> dict[str, Any]:
        """Engine, version and address of the server (never credentials)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True)
class StoreURI:
    """A parsed store URI. Holds no credentials: those come from the environment.

    Attributes
    ----------
    engine : str
        ``"neo4j"`` or ``"falkordb"``.
    scheme : str
        The URI scheme as given (``bolt+s``, ``falkordb``, ...).
    host, port : str, int | None
        Server address.
    database : str | None
        Neo4j database (URI path, e.g. ``neo4j://host/fraud``; ``None``: the server default
        ``neo4j``) or FalkorDB graph name.
    """

    engine: str
    scheme: str
    host: str
    port: int | None
    database: str | None

    @property
    def address(self) -> str:
        """``scheme://host:port[/database]`` — safe to print."""
        port = f":{self.port}" if self.port is not None else ""
        path = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{self.host}{port}{path}"

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted."""
        return self.scheme.endswith(("+s", "+ssc")) or self.scheme == "falkordbs"


def parse_store_uri(uri: str) -> StoreURI:
    """Parse a store URI without touching the network.

    Parameters
    ----------
    uri : str
        ``neo4j://``, ``neo4j+s://``, ``bolt://``, ``bolt+s://`` (optionally ``/database``)
        or ``falkordb://host:port/graph``.

    Returns
    -------
    StoreURI

    Raises
    ------
    StoreError
        Unknown scheme, missing host, bad port, credentials or a query string in the URI.
    """
    text = (uri or "").strip()
    if "://" not in text:
        raise StoreError(
            f"store URI {_redact(text)!r} has no scheme; use neo4j://host:7687, "
            "bolt+s://host:7687 or falkordb://host:6379/graph"
        )
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in NEO4J_SCHEMES:
        engine = "neo4j"
    elif scheme in FALKORDB_SCHEMES:
        engine = "falkordb"
    else:
        raise StoreError(
            f"unknown store URI scheme {scheme!r} in {_redact(text)!r}; use one of "
            f"{', '.join(s + '://' for s in (*NEO4J_SCHEMES, *FALKORDB_SCHEMES))}"
        )
    if "@" in parts.netloc:
        raise StoreError(
            "store URI must not contain credentials; set NEO4J_USER and NEO4J_PASSWORD "
            f"(FALKORDB_PASSWORD for FalkorDB) instead: {_redact(text)!r}"
        )
    if parts.query or parts.fragment:
        raise StoreError(f"store URI {_redact(text)!r} must not have a query string or fragment")
    host = parts.hostname
    if not host:
        raise StoreError(f"store URI {_redact(text)!r} names no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise StoreError(f"store URI {_redact(text)!r} has an invalid port") from exc
    path = unquote(parts.path).strip("/")
    if "/" in path:
        raise StoreError(f"store URI {_redact(text)!r}: the path must be one database/graph name")
    database = path or None
    if engine == "falkordb":
        port = port if port is not None else DEFAULT_FALKORDB_PORT
        database = database or DEFAULT_FALKORDB_GRAPH
    if database is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", database):
        raise StoreError(
            f"database/graph name {database!r} in the store URI may only hold letters, "
            "digits, '_', '.' and '-'"
        )
    return StoreURI(engine=engine, scheme=scheme, host=host, port=port, database=database)


def _redact(text: str) -> str:
    """Drop anything that looks like ``user:password@`` from a URI before showing it."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", text)


def validate_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is safe to format into Cypher, else raise.

    Parameters
    ----------
    name : str
        A label, relationship type or property name.
    what : str, default "name"
        What the name is, for the message (``"label"``, ``"property"``...).

    Returns
    -------
    str
        The name, unchanged.

    Raises
    ------
    StoreError
        The name does not match ``^[A-Za-z_][A-Za-z0-9_]*$``.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise StoreError(
            f"unsafe {what} {name!r}: labels, relationship types and property names must "
            "match ^[A-Za-z_][A-Za-z0-9_]*$ (letters, digits and '_', not starting with a digit)"
        )
    return name


def clean_value(value: Any) -> Any:
    """Turn one value into something both drivers accept as a property.

    numpy/pandas scalars become Python scalars, missing values (``None``, NaN, NaT, pd.NA)
    become ``None`` (which removes the property on ``SET``), timestamps become ISO text
    (:data:`TS_FORMAT`, UTC), arrays and lists become lists without nulls, and maps are
    rejected (not a valid property value).

    Raises
    ------
    StoreError
        For maps, lists mixing types, or values of an unsupported type.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isinf(f):
            raise StoreError(f"non-finite number {f} cannot be stored as a property")
        return None if math.isnan(f) else f
    if isinstance(value, str):
        return value if type(value) is str else str(value)
    if isinstance(value, pd.Timestamp | datetime | np.datetime64):
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            return None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime(TS_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        items = [clean_value(v) for v in value]
        items = [v for v in items if v is not None]
        kinds = {type(v) for v in items}
        if kinds == {int, float}:
            items = [float(v) for v in items]
        elif len(kinds) > 1:
            raise StoreError(
                f"list property values must hold one type, got {sorted(k.__name__ for k in kinds)}"
            )
        if any(isinstance(v, list) for v in items):
            raise StoreError("list property values must not hold lists")
        return items
    if isinstance(value, Mapping):
        raise StoreError("maps cannot be property values; store them as JSON text")
    raise StoreError(f"cannot store a value of type {type(value).__name__} as a property")


def frame_to_rows(frame: pd.DataFrame, *, table: str = "rows") -> list[dict[str, Any]]:
    """Turn a frame into a list of plain dicts of cleaned property values.

    Column names are validated as property names. Timestamp columns are formatted
    vectorised (a per-value loop only runs for object columns).

    Raises
    ------
    StoreError
        A column name is unsafe or a value cannot be a property.
    """
    columns: dict[str, list[Any]] = {}
    for col in frame.columns:
        validate_name(str(col), f"property (column of {table})")
        columns[str(col)] = _clean_column(frame[col], table=table, column=str(col))
    names = list(columns)
    return [dict(zip(names, vals, strict=True)) for vals in zip(*columns.values(), strict=True)]


def _clean_column(series: pd.Series, *, table: str, column: str) -> list[Any]:
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        s = series if isinstance(series.dtype, pd.DatetimeTZDtype) else series.dt.tz_localize("UTC")
        text = s.dt.tz_convert("UTC").dt.strftime(TS_FORMAT)
        return [None if pd.isna(v) else v for v in text.tolist()]
    if pd.api.types.is_bool_dtype(series) and not series.hasnans:
        return [bool(v) for v in series.tolist()]
    if pd.api.types.is_integer_dtype(series) and not series.hasnans:
        return [int(v) for v in series.tolist()]
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(values).any():
            raise StoreError(
                f"{table}.{column}: non-finite numbers (inf) cannot be stored as properties"
            )
        return [None if v != v else v for v in values.tolist()]
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        # text only (the common case): no per-value conversion beyond nulls
        values = series.astype(object)
        return [None if v is None or v is pd.NA or v != v else str(v) for v in values.tolist()]
    try:
        return [clean_value(v) for v in series.tolist()]
    except StoreError as exc:
        raise StoreError(f"{table}.{column}: {exc}") from None


def batched(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Yield consecutive slices of ``rows`` with at most ``size`` items."""
    if size < 1:
        raise StoreError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def as_rows(rows: Rows) -> list[dict[str, Any]]:
    """Accept a frame, an Arrow table or a list of dicts; return a list of cleaned dicts."""
    if isinstance(rows, pd.DataFrame):
        return frame_to_rows(rows)
    if isinstance(rows, pa.Table):
        return rows.to_pylist()
    return [dict(r) for r in rows]


def count_reported(frames: Iterable[pd.DataFrame], sent: int) -> int:
    """Sum the ``rows`` column of statement results, or fall back to rows sent."""
    total = 0
    seen = False
    for frame in frames:
        if "rows" in frame.columns:
            seen = True
            total += int(pd.to_numeric(frame["rows"]).fillna(0).sum())
    return total if seen else sent


def head(query: str) -> str:
    """The start of a statement on one line, for error messages."""
    text = " ".join(query.split())
    return text if len(text) <= 160 else text[:157] + "..."


class RowProgress:
    """Rows committed per part (table or step; thread-safe), reported to a
    :data:`Progress` callback: first 0 of every part's total, then after every batch.

    Parameters
    ----------
    totals : dict
        Rows to write per part.
    progress : callable or None
        The :data:`Progress` callback (``None``: only count).
    """

    def __init__(self, totals: dict[str, int], progress: Progress | None) -> None:
        self.totals = totals
        self.done = dict.fromkeys(totals, 0)
        self.progress = progress
        self._lock = threading.Lock()
        if progress is not None:
            for part, total in totals.items():
                progress(part, 0, total)

    def step(self, part: str, n: int) -> None:
        """``n`` more rows of ``part`` are committed."""
        with self._lock:
            self.done[part] += n
            done = self.done[part]
        if self.progress is not None:
            self.progress(part, done, self.totals[part])

    def batches(self, part: str) -> Callable[[int], None]:
        """The per-batch callback of :meth:`BatchStore.write_batches` for ``part``."""
        return lambda n: self.step(part, n)


class BatchStore:
    """What every engine shares: the batch loop, its error context, progress, ``with``.

    An engine sets :attr:`uri` and ``_info`` when it connects and implements :meth:`run`,
    :meth:`close`, :meth:`_encode` (how rows become the payload of each batch) and
    :meth:`_execute` (how one payload is sent); :meth:`_batch_session` may open what the
    batches share (a Neo4j session).
    """

    engine = ""
    uri: StoreURI
    _info: dict[str, Any]

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _encode(
        self, rows: Rows, batch_size: int, params: dict[str, Any]
    ) -> tuple[int, Iterator[Any]]:
        """Number of rows and one payload per batch of at most ``batch_size`` rows."""
        raise NotImplementedError

    def _execute(self, query: str, payload: Any, session: Any) -> pd.DataFrame:
        """Send one batch; raise :class:`StoreError` (connection lost, statement refused)."""
        raise NotImplementedError

    def _batch_session(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def write_batches(
        self,
        query: str,
        rows: Rows,
        batch_size: int = 10_000,
        *,
        params: Mapping[str, Any] | None = None,
        progress: Any = None,
    ) -> int:
        """Send ``rows`` as ``$rows``, one transaction (or atomic query) per batch.

        Parameters
        ----------
        query : str
            A statement starting ``UNWIND $rows AS row``.
        rows : list of dict, pandas.DataFrame or pyarrow.Table
            Rows with cleaned values (see :func:`clean_value`); an Arrow table is encoded
            one batch at a time by the engine's fast path.
        batch_size : int, default 10000
            Rows per batch.
        params : mapping, optional
            Extra parameters sent with every batch.
        progress : callable, optional
            Called with the number of rows of each finished batch.

        Returns
        -------
        int
            Rows the statement reported (its ``rows`` column), else rows sent.

        Raises
        ------
        StoreError
            A batch failed; earlier batches stay committed (the message says how many).
        """
        if batch_size < 1:
            raise StoreError(f"batch size must be at least 1, got {batch_size}")
        n, payloads = self._encode(rows, batch_size, dict(params or {}))
        n_batches = -(-n // batch_size)
        results: list[pd.DataFrame] = []
        with self._batch_session() as session:
            for i, payload in enumerate(payloads):
                try:
                    results.append(self._execute(query, payload, session))
                except StoreError as exc:
                    raise StoreError(
                        f"{exc} (batch {i + 1} of {n_batches}; "
                        f"{i * batch_size:,} rows committed before it)"
                    ) from None
                if progress is not None:
                    progress(min(batch_size, n - i * batch_size))
        return count_reported(results, n)

    def server_info(self) -> dict[str, Any]:
        """Engine, version, address, database and TLS flag (never credentials)."""
        return dict(self._info)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri.address!r})"

    def __enter__(self) -> BatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
