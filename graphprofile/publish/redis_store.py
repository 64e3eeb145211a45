"""Redis gateway (redis-py): the only module that imports ``redis`` for publishing.

Key layout (``{run}`` is the run id, ``{id}`` the customer id):

- ``gp:current`` -- string: the run id readers should use. Switched in one ``MULTI/EXEC``
  after every key of the run is written, so readers never see half a run.
- ``gp:runs`` -- sorted set: published (or being published) run ids, scored by the run's
  ``computed_at`` (Unix seconds).
- ``gp:{run}:meta`` -- hash: ``run_id``, ``computed_at``, ``customers``, ``tags``,
  ``status`` (``writing`` until the switch, then ``complete``) and ``lineage`` (JSON).
- ``gp:{run}:customer:{id}`` -- hash: one field per feature column (text; nulls omitted;
  booleans ``true``/``false``; timestamps ISO 8601 UTC) and ``tags``, a JSON list of
  ``{"tag", "value", "score", "reasons"}`` (``[]`` when the customer has none).

Read one customer's profile::

    run = r.get("gp:current")
    profile = r.hgetall(f"gp:{run}:customer:C00000016")

Runs beyond the newest ``keep_runs`` (the current one always kept) get a TTL of
``expire_seconds`` on every key, so readers still holding an old run id have time to finish.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile._redis_pool import set_reply_timeout
from graphprofile.errors import PublishError
from graphprofile.publish.source import FinishedRun
from graphprofile.publish.target import TargetURI

CURRENT_KEY = "gp:current"
RUNS_KEY = "gp:runs"
#: Customers per pipeline round trip.
PIPELINE_BATCH = 10_000
#: Extra seconds the meta key of an expired run outlives its customer keys.
META_GRACE_SECONDS = 60
#: Seconds an expired run's keys live on (readers holding its id can finish).
DEFAULT_EXPIRE_SECONDS = 600


def customer_key(run_id: str, customer_id: str) -> str:
    """``gp:{run}:customer:{id}``."""
    return f"gp:{run_id}:customer:{customer_id}"


def meta_key(run_id: str) -> str:
    """``gp:{run}:meta``."""
    return f"gp:{run_id}:meta"


TEXT = pa.large_string()


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of Arrow text arrays and Python strings (as constants)."""
    args = [pa.scalar(p, TEXT) if isinstance(p, str) else p.cast(TEXT) for p in parts]
    return _flat(pc.binary_join_element_wise(*args, pa.scalar("", TEXT)))


def _flat(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _text(column: pd.Series) -> pa.Array:
    """A column as Arrow text (nulls stay null): Arrow's C++ casts, no Python loop."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(column, type=pa.bool_(), from_pandas=True)
        return pc.if_else(flags, pa.scalar("true", TEXT), pa.scalar("false", TEXT))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = column if getattr(dtype, "tz", None) else column.dt.tz_localize("UTC")
        stamps = pa.array(s.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), from_pandas=True)
        return pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ", locale="C").cast(TEXT)
    return pa.array(column, from_pandas=True).cast(TEXT)


def _json_string(text: pa.Array) -> pa.Array:
    """Arrow text as JSON string literals (quotes and backslashes escaped)."""
    escaped = pc.replace_substring(text, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    return _join('"', escaped, '"')


def _tags_json(tags: pd.DataFrame, customers: pa.Array) -> pa.Array:
    """Per customer (in ``customers`` order), the JSON list of its tags (``[]`` if none)."""
    if tags.empty:
        return pa.array(["[]"] * len(customers), type=TEXT)
    t = tags
    order = ["customer_id", "tag", "value"]
    key = t["customer_id"].astype(str)
    if not key.is_monotonic_increasing:
        t = t.sort_values(order, kind="stable")
        key = t["customer_id"].astype(str)
    score = pa.array(pd.to_numeric(t["score"], errors="coerce"), type=pa.float64())
    items = _join(
        '{"tag": ',
        _json_string(pa.array(t["tag"].astype(str), type=TEXT)),
        ', "value": ',
        _json_string(pa.array(t["value"].astype(str), type=TEXT)),
        ', "score": ',
        pc.fill_null(pc.cast(score, TEXT), pa.scalar("null", TEXT)),
        ', "reasons": ',
        pa.array(t["reasons"].fillna("[]").astype(str), type=TEXT),
        "}",
    )
    cust = key.to_numpy()
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(np.r_[starts, len(cust)].astype(np.int32)), items)
    owners = pa.array(cust[starts], type=TEXT)
    joined = _join("[", pc.binary_join(lists, pa.scalar(", ", TEXT)), "]")
    position = pc.index_in(customers, value_set=owners)
    return _flat(pc.fill_null(pc.take(joined, position), pa.scalar("[]", TEXT)))


def _bulk(text: pa.Array) -> pa.Array:
    """RESP bulk strings: ``$<bytes>\\r\\n<text>\\r\\n`` (null stays null)."""
    return _join("$", pc.cast(pc.binary_length(text), TEXT), "\r\n", text, "\r\n")


def hset_payloads(run: FinishedRun, batch: int) -> Iterator[tuple[memoryview, int]]:
    """``HSET`` commands, one per customer, as RESP bytes in batches of ``batch`` customers.

    Key ``gp:{run}:customer:{id}``; a field per feature column (nulls omitted) and ``tags``.
    Packed by Arrow's C++ string kernels: the Python client packs some 50k such commands
    per second on this machine, Arrow several times that. Yields the bytes of each batch
    and its number of commands.
    """
    features = run.features
    customers = pa.array(features["customer_id"].astype(str), type=TEXT)
    columns = {"customer_id": customers}
    for name in features.columns:
        if name != "customer_id":
            columns[str(name)] = _text(features[name])
    columns["tags"] = _tags_json(run.tags, customers)
    keys = _join(f"gp:{run.run_id}:customer:", customers)
    for start in range(0, len(features), batch):
        n = min(batch, len(features) - start)
        count = pa.array(np.zeros(n, dtype=np.int64))
        fields = []
        for name, full in columns.items():
            text = full.slice(start, n)
            prefix = f"${len(name.encode())}\r\n{name}\r\n"
            fields.append(pc.fill_null(_join(prefix, _bulk(text)), pa.scalar("", TEXT)))
            count = pc.add(count, pc.multiply(pc.cast(pc.is_valid(text), pa.int64()), 2))
        head = _join(
            "*", pc.cast(pc.add(count, 2), TEXT), "\r\n$4\r\nHSET\r\n", _bulk(keys.slice(start, n))
        )
        commands = _join(head, *fields)
        offsets = np.frombuffer(commands.buffers()[1], dtype=np.int64)
        first, last = offsets[commands.offset], offsets[commands.offset + n]
        yield memoryview(commands.buffers()[2])[first:last], n


class RedisTarget:
    """A Redis server that serves published runs online.

    Parameters
    ----------
    uri : TargetURI
        Parsed ``redis://[user@]host[:port][/db]`` (``rediss://`` for TLS); the password
        comes from ``REDIS_PASSWORD``, never from the URI.
    connect_timeout : float, default 5.0
        Seconds to wait for the connection and the first reply.

    Raises
    ------
    PublishError
        Unreachable server, refused or missing password: one line, no password.
    """

    kind = "redis"

    def __init__(self, uri: TargetURI, *, connect_timeout: float = 5.0) -> None:
        import redis  # the only publish module that imports the Redis client

        self._errors = redis.exceptions
        self.uri = uri
        password = os.environ.get("REDIS_PASSWORD") or None
        self._client = redis.Redis(
            host=uri.host,
            port=uri.port,
            db=int(uri.database or 0),
            username=uri.user,
            password=password,
            ssl=uri.tls,
            socket_connect_timeout=connect_timeout,
            socket_timeout=connect_timeout,
            decode_responses=True,
        )
        try:
            info = self._client.info("server")
        except redis.exceptions.AuthenticationError:
            self._client.close()
            raise PublishError(self._auth_message(password)) from None
        except redis.exceptions.ResponseError as exc:
            self._client.close()
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise PublishError(self._auth_message(password)) from None
            raise PublishError(f"Redis at {uri.address} refused: {_first_line(exc)}") from None
        except (redis.exceptions.RedisError, OSError) as exc:
            self._client.close()
            raise PublishError(
                f"cannot reach Redis at {uri.address} ({_first_line(exc)}); check the host, "
                "the port (usually 6379) and that the server is up"
            ) from None
        self.version = str(info.get("redis_version", "unknown"))
        # Long pipelines are fine once connected: no per-reply timeout.
        set_reply_timeout(self._client.connection_pool, None)

    def _auth_message(self, password: str | None) -> str:
        if not password:
            return f"Redis at {self.uri.address} needs a password; set REDIS_PASSWORD"
        return f"Redis at {self.uri.address} refused the password; check REDIS_PASSWORD"

    def __enter__(self) -> RedisTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def server_info(self) -> dict[str, Any]:
        return {
            "engine": "redis",
            "version": self.version,
            "address": self.uri.address,
            "database": int(self.uri.database or 0),
        }

    def current_run(self) -> str | None:
        """The run id ``gp:current`` names, or ``None``."""
        return self._client.get(CURRENT_KEY)

    def publish(
        self,
        run: FinishedRun,
        *,
        force: bool = False,
        keep_runs: int = 2,
        expire_seconds: int = DEFAULT_EXPIRE_SECONDS,
        on_step: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Write the run's customer hashes, then switch ``gp:current`` to it.

        Parameters
        ----------
        run : FinishedRun
            The run to publish.
        force : bool, default False
            Publish even if ``gp:current`` names a newer run.
        keep_runs : int, default 2
            Runs whose keys are kept, the current one included (at least 1).
        expire_seconds : int, default 600
            TTL given to the keys of runs beyond ``keep_runs``.
        on_step : callable, optional
            Called with each step's name once it is done (``"batch N"`` per pipeline).

        Returns
        -------
        dict
            customers, keys written, runs expired, seconds, customers/s.

        Raises
        ------
        PublishError
            An older run without ``force``; the connection lost mid-publish (``gp:current``
            still names the previous run; run the same command again).
        """
        if keep_runs < 1:
            raise PublishError("keep_runs must be at least 1 (the current run)")
        step = on_step or (lambda _name: None)
        start = time.perf_counter()
        try:
            counts = self._publish(run, force, keep_runs, expire_seconds, step)
        except self._errors.RedisError as exc:
            raise PublishError(
                f"lost the connection to Redis at {self.uri.address} during the publish "
                f"({_first_line(exc)}); {CURRENT_KEY} still names the previous run; "
                "run the same command again"
            ) from None
        seconds = time.perf_counter() - start
        counts["seconds"] = round(seconds, 3)
        counts["customers_per_s"] = round(len(run.features) / seconds) if seconds else None
        return counts

    def _publish(
        self,
        run: FinishedRun,
        force: bool,
        keep_runs: int,
        expire_seconds: int,
        step: Callable[[str], None],
    ) -> dict[str, Any]:
        r = self._client
        rid = run.run_id
        current = r.get(CURRENT_KEY)
        if current and current != rid and not force:
            score = r.zscore(RUNS_KEY, current)
            if score is not None and run.computed_at.timestamp() < score:
                raise PublishError(
                    f"run {rid} (computed {run.computed_at.isoformat()}) is older than the "
                    f"published run {current}; use --force to publish it anyway"
                )
        if current != rid and r.exists(meta_key(rid)):
            # leftovers of an interrupted attempt or of an expired copy of this run (every
            # attempt writes its meta key first)
            self._delete_run_keys(rid)
        r.hset(
            meta_key(rid),
            mapping={
                "run_id": rid,
                "computed_at": run.computed_at.isoformat(),
                "customers": len(run.features),
                "tags": len(run.tags),
                "status": "complete" if current == rid else "writing",
                "lineage": json.dumps(run.lineage(), default=str),
            },
        )
        r.zadd(RUNS_KEY, {rid: run.computed_at.timestamp()})
        written = self._write_customers(run, step)
        step("customers written")
        switch = r.pipeline(transaction=True)
        switch.hset(meta_key(rid), "status", "complete")
        switch.set(CURRENT_KEY, rid)
        switch.execute()
        step("switched")
        expired = self._expire_old_runs(rid, keep_runs, expire_seconds)
        return {"customers": len(run.features), "keys_written": written, "runs_expired": expired}

    def _write_customers(self, run: FinishedRun, step: Callable[[str], None]) -> int:
        """Pipeline the customers' ``HSET`` commands: send a batch, then read its replies."""
        pool = self._client.connection_pool
        conn = pool.get_connection()
        written = 0
        try:
            for number, (payload, n) in enumerate(_ahead(hset_payloads(run, PIPELINE_BATCH)), 1):
                conn.send_packed_command([payload], check_health=False)
                for _ in range(n):
                    conn.read_response()  # raises on an error reply
                written += n
                step(f"batch {number}")
        except BaseException:
            conn.disconnect()  # unread replies must not reach the next command
            raise
        finally:
            pool.release(conn)
        return written

    def _run_keys(self, run_id: str) -> Iterator[list[str]]:
        batch: list[str] = []
        for key in self._client.scan_iter(match=f"gp:{_glob_escape(run_id)}:*", count=10_000):
            batch.append(key)
            if len(batch) >= PIPELINE_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _delete_run_keys(self, run_id: str) -> None:
        for batch in self._run_keys(run_id):
            self._client.unlink(*batch)

    def _expire_old_runs(self, current: str, keep_runs: int, expire_seconds: int) -> list[str]:
        """Give every key of runs beyond the newest ``keep_runs`` a TTL; drop them from the set."""
        newest_first = self._client.zrevrange(RUNS_KEY, 0, -1)
        kept = [current, *[rid for rid in newest_first if rid != current][: keep_runs - 1]]
        expired = [rid for rid in newest_first if rid not in kept]
        for rid in expired:
            for batch in self._run_keys(rid):
                pipe = self._client.pipeline(transaction=False)
                for key in batch:
                    pipe.expire(key, expire_seconds)
                pipe.execute()
            # the meta key outlives the run's other keys: a later publish of this run id
            # sees it and clears every leftover key first (no TTL survives into a new copy)
            self._client.expire(meta_key(rid), expire_seconds + META_GRACE_SECONDS)
            self._client.zrem(RUNS_KEY, rid)
        return expired


def _ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Yield ``items`` produced by a background thread up to ``depth`` ahead.

    Packing a batch (Arrow kernels, which release the GIL) then overlaps with sending the
    previous one and reading its replies. An error in the producer is raised here.
    """
    done = object()
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(exc)

    thread = threading.Thread(target=produce, name="gp-redis-pack", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


__all__ = ["CURRENT_KEY", "RUNS_KEY", "RedisTarget", "customer_key", "meta_key"]
