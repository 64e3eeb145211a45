"""PostgreSQL gateway (psycopg 3): the only module that imports ``psycopg``.

One publish is one transaction: ``COPY`` into temporary staging tables, then
``INSERT … ON CONFLICT DO UPDATE`` into ``gp_features`` and ``gp_tags``, deletion of the
customers and tags absent from this run, the type 2 history in ``gp_tag_history`` and the
lineage row in ``gp_runs``. Readers see the old profile or the new one, never a mix; a
publish that fails anywhere (server killed, disk full) leaves the old profile whole.

Schema migration rule: tables are created on first use. A feature column that a run has
and ``gp_features`` lacks is added with ``ALTER TABLE … ADD COLUMN`` (nullable) in the same
transaction; a column the run lacks is kept and set to NULL for the run's rows; nothing is
ever dropped or retyped (a column whose type differs from the run's is an error that names
it: migrate it by hand).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from graphprofile.errors import PublishError
from graphprofile.publish.source import FinishedRun
from graphprofile.publish.target import TargetURI

#: Feature and tag column names must match this before they become SQL identifiers.
COLUMN_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Text columns whose name ends like this hold JSON and are stored as ``jsonb``.
JSON_SUFFIX = "reasons"
#: Columns every ``gp_features`` row has besides the run's own feature columns.
LINEAGE_COLUMNS = {"run_id": "text"}
#: Rows per COPY chunk (Arrow CSV writer batch).
COPY_BATCH = 100_000
#: Session memory for the staging tables and the joins of one publish.
TEMP_BUFFERS = "512MB"
WORK_MEM = "256MB"
#: Key of the advisory lock that serialises concurrent publishes.
LOCK_KEY = 0x67700001

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS gp_runs (
    run_id text PRIMARY KEY,
    computed_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    published_at timestamptz NOT NULL DEFAULT now(),
    is_current boolean NOT NULL DEFAULT false,
    customers bigint,
    tags bigint,
    seed bigint,
    graphprofile text,
    parameters jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS gp_runs_one_current ON gp_runs (is_current) WHERE is_current;
CREATE TABLE IF NOT EXISTS gp_features (
    customer_id text PRIMARY KEY,
    run_id text NOT NULL
);
CREATE TABLE IF NOT EXISTS gp_tags (
    customer_id text NOT NULL,
    tag text NOT NULL,
    value text NOT NULL,
    score double precision,
    reasons jsonb,
    run_id text NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (customer_id, tag, value)
);
CREATE INDEX IF NOT EXISTS gp_tags_tag ON gp_tags (tag, value);
CREATE TABLE IF NOT EXISTS gp_tag_history (
    customer_id text NOT NULL,
    tag text NOT NULL,
    value text NOT NULL,
    score double precision,
    reasons jsonb,
    valid_from timestamptz NOT NULL,
    valid_to timestamptz,
    run_id text NOT NULL,
    closed_by_run_id text,
    PRIMARY KEY (customer_id, tag, value, valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS gp_tag_history_open
    ON gp_tag_history (customer_id, tag, value) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS gp_tag_history_tag_from ON gp_tag_history (tag, valid_from);
"""

TAG_STAGE_COLUMNS = {
    "customer_id": "text",
    "tag": "text",
    "value": "text",
    "score": "double precision",
    "reasons": "jsonb",
}


def sql_type(name: str, dtype: Any) -> str:
    """The PostgreSQL column type for a feature column of pandas dtype ``dtype``.

    bool → ``boolean``; integers (nullable or not) → ``bigint``; floats → ``double
    precision``; timestamps → ``timestamptz``; text ending in ``reasons`` → ``jsonb``;
    everything else → ``text``.
    """
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamptz"
    if name.endswith(JSON_SUFFIX):
        return "jsonb"
    return "text"


def feature_columns(features: pd.DataFrame) -> dict[str, str]:
    """Column name → SQL type for ``gp_features``, lineage columns included.

    Raises
    ------
    PublishError
        A column name that is not a plain lower-case SQL identifier.
    """
    columns: dict[str, str] = {}
    for name in features.columns:
        if not COLUMN_PATTERN.match(str(name)):
            raise PublishError(
                f"feature column {name!r} is not a plain lower-case name "
                "([a-z_][a-z0-9_]*); rename it before publishing"
            )
        columns[str(name)] = sql_type(str(name), features[name].dtype)
    for name, kind in LINEAGE_COLUMNS.items():
        columns.setdefault(name, kind)
    return columns


def _csv_chunks(frame: pd.DataFrame) -> Iterable[bytes]:
    """``frame`` as CSV (no header) in chunks, via Arrow's C++ writer.

    Empty text is written quoted (``""``), so only nulls arrive as NULL.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    for batch in table.to_batches(max_chunksize=COPY_BATCH):
        sink = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), sink, options)
        yield sink.getvalue()


def _copy_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Make a frame COPY-safe: timestamps in UTC with microseconds, lists as JSON text."""
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            s = out[col]
            if getattr(dtype, "tz", None) is None:
                s = s.dt.tz_localize("UTC")
            out[col] = s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        elif pd.api.types.is_object_dtype(dtype):
            sample = out[col].dropna()
            if len(sample) and not isinstance(sample.iloc[0], str):
                import json

                out[col] = out[col].map(
                    lambda v: None if v is None else json.dumps(getattr(v, "tolist", lambda: v)())
                )
    return out


class PostgresTarget:
    """A PostgreSQL database that receives published runs.

    Parameters
    ----------
    uri : TargetURI
        Parsed ``postgresql://[user@]host[:port]/database``; the password comes from
        ``PGPASSWORD`` (read by libpq), never from the URI.
    connect_timeout : int, default 5
        Seconds to wait for the connection.

    Raises
    ------
    PublishError
        Unreachable server, refused credentials, missing database: one line, no password.
    """

    kind = "postgresql"

    def __init__(self, uri: TargetURI, *, connect_timeout: int = 5) -> None:
        import psycopg  # the only module that imports the PostgreSQL driver

        self._psycopg = psycopg
        self.uri = uri
        try:
            self._conn = psycopg.connect(
                host=uri.host,
                port=uri.port,
                dbname=uri.database,
                user=uri.user,
                connect_timeout=connect_timeout,
                application_name="graphprofile",
            )
        except psycopg.Error as exc:
            raise PublishError(_connect_message(uri, exc)) from None
        self.version = self._conn.info.server_version
        # staging tables live in temp buffers: size them before the first temp table
        self._conn.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        self._conn.commit()

    def __enter__(self) -> PostgresTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def server_info(self) -> dict[str, Any]:
        v = self.version
        return {
            "engine": "postgresql",
            "version": f"{v // 10000}.{v % 10000}",
            "address": self.uri.address,
            "database": self.uri.database,
        }

    def publish(
        self,
        run: FinishedRun,
        *,
        force: bool = False,
        on_step: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Publish ``run`` in one transaction; see the module docstring.

        Parameters
        ----------
        run : FinishedRun
            The run to publish.
        force : bool, default False
            Publish even if a newer run is already published.
        on_step : callable, optional
            Called with the name of each step after it is done (progress; tests use it to
            crash the server mid-publish).

        Returns
        -------
        dict
            Counts (features upserted/deleted, tags upserted/deleted, history opened/closed),
            seconds and feature rows/s.

        Raises
        ------
        PublishError
            An older run than the published one without ``force``; a feature column whose
            type differs from ``gp_features``; the connection lost mid-publish (nothing is
            committed; run the same command again).
        """
        step = on_step or (lambda _name: None)
        start = time.perf_counter()
        psycopg = self._psycopg
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                counts = self._publish(cur, run, force=force, step=step)
        except psycopg.OperationalError as exc:
            raise PublishError(
                f"lost the connection to PostgreSQL at {self.uri.address} during the publish "
                f"({_first_line(exc)}); the transaction was rolled back and the previous "
                "profile is unchanged; run the same command again"
            ) from None
        except psycopg.Error as exc:
            raise PublishError(
                f"PostgreSQL at {self.uri.address} refused the publish: {_first_line(exc)}; "
                "nothing was changed"
            ) from None
        seconds = time.perf_counter() - start
        counts["seconds"] = round(seconds, 3)
        counts["feature_rows_per_s"] = round(len(run.features) / seconds) if seconds else None
        return counts

    def _publish(
        self, cur: Any, run: FinishedRun, *, force: bool, step: Callable[[str], None]
    ) -> dict[str, Any]:
        sql = self._psycopg.sql
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cur.execute(SCHEMA_SQL)
        current = self._current_run(cur)
        if current and not force and run.computed_at < current[1] and current[0] != run.run_id:
            raise PublishError(
                f"run {run.run_id} (computed {run.computed_at.isoformat()}) is older than the "
                f"published run {current[0]} (computed {current[1].isoformat()}); "
                "use --force to publish it anyway"
            )
        columns = feature_columns(run.features)
        table_columns = self._migrate(cur, columns)
        step("schema")

        features = run.features.assign(run_id=run.run_id)[list(columns)]
        _stage(cur, sql, "gp_stage_features", columns, _copy_frame(features))
        cur.execute("ANALYZE gp_stage_features")
        step("features staged")
        counts = {"customers": len(features)}
        counts.update(self._merge_features(cur, sql, columns, table_columns))
        step("features merged")

        tags = _tag_frame(run.tags)
        _stage(cur, sql, "gp_stage_tags", TAG_STAGE_COLUMNS, _copy_frame(tags))
        step("tags staged")
        counts.update(self._merge_tags(cur, run))
        self._record_run(cur, run)
        step("tags merged")
        return counts

    def _current_run(self, cur: Any) -> tuple[str, pd.Timestamp] | None:
        cur.execute("SELECT run_id, computed_at FROM gp_runs WHERE is_current")
        row = cur.fetchone()
        return (row[0], pd.Timestamp(row[1]).tz_convert("UTC")) if row else None

    def _migrate(self, cur: Any, columns: dict[str, str]) -> dict[str, str]:
        """Add the run's new feature columns to ``gp_features``; return all its columns."""
        cur.execute(
            "SELECT column_name, format_type(a.atttypid, a.atttypmod) FROM "
            "information_schema.columns c JOIN pg_attribute a ON a.attrelid = "
            "'gp_features'::regclass AND a.attname = c.column_name "
            "WHERE c.table_name = 'gp_features' AND c.table_schema = current_schema() "
            "ORDER BY c.ordinal_position"
        )
        existing = {name: kind for name, kind in cur.fetchall()}
        sql = self._psycopg.sql
        for name, kind in columns.items():
            if name not in existing:
                cur.execute(
                    sql.SQL("ALTER TABLE gp_features ADD COLUMN {} " + kind).format(
                        sql.Identifier(name)
                    )
                )
                existing[name] = kind
            elif _normal_type(existing[name]) != kind:
                raise PublishError(
                    f"gp_features.{name} is {existing[name]} but this run's {name} is {kind}; "
                    "graphprofile never retypes a column: migrate it by hand "
                    f"(ALTER TABLE gp_features ALTER COLUMN {name} TYPE {kind} USING …)"
                )
        return existing

    def _merge_features(
        self, cur: Any, sql: Any, columns: dict[str, str], table_columns: dict[str, str]
    ) -> dict[str, int]:
        targets = [c for c in table_columns if c != "customer_id"]
        ident = {c: sql.Identifier(c) for c in table_columns}
        select = [ident[c] if c in columns else sql.SQL("NULL") for c in table_columns]
        cur.execute(
            sql.SQL(
                "INSERT INTO gp_features ({cols}) SELECT {select} FROM gp_stage_features "
                "ON CONFLICT (customer_id) DO UPDATE SET {sets} "
                "WHERE ({old}) IS DISTINCT FROM ({new})"
            ).format(
                cols=sql.SQL(", ").join(ident[c] for c in table_columns),
                select=sql.SQL(", ").join(select),
                sets=sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(ident[c], ident[c]) for c in targets
                ),
                old=sql.SQL(", ").join(sql.SQL("gp_features.{}").format(ident[c]) for c in targets),
                new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(ident[c]) for c in targets),
            )
        )
        upserted = cur.rowcount
        cur.execute(
            "DELETE FROM gp_features f WHERE NOT EXISTS "
            "(SELECT 1 FROM gp_stage_features s WHERE s.customer_id = f.customer_id)"
        )
        return {"features_written": upserted, "features_deleted": cur.rowcount}

    def _merge_tags(self, cur: Any, run: FinishedRun) -> dict[str, int]:
        at, rid = run.computed_at.to_pydatetime(), run.run_id
        cur.execute("ANALYZE gp_stage_tags")
        cur.execute(
            "UPDATE gp_tag_history h SET valid_to = greatest(h.valid_from, %s), "
            "closed_by_run_id = %s "
            "WHERE h.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM gp_stage_tags s "
            "WHERE s.customer_id = h.customer_id AND s.tag = h.tag AND s.value = h.value)",
            (at, rid),
        )
        closed = cur.rowcount
        cur.execute(
            "INSERT INTO gp_tag_history (customer_id, tag, value, score, reasons, valid_from, "
            "run_id) SELECT s.customer_id, s.tag, s.value, s.score, s.reasons, %s, %s "
            "FROM gp_stage_tags s WHERE NOT EXISTS (SELECT 1 FROM gp_tag_history h "
            "WHERE h.valid_to IS NULL AND h.customer_id = s.customer_id AND h.tag = s.tag "
            "AND h.value = s.value) ON CONFLICT (customer_id, tag, value, valid_from) "
            "DO UPDATE SET valid_to = NULL, closed_by_run_id = NULL, score = EXCLUDED.score, "
            "reasons = EXCLUDED.reasons, run_id = EXCLUDED.run_id",
            (at, rid),
        )
        opened = cur.rowcount
        cur.execute(
            "INSERT INTO gp_tags (customer_id, tag, value, score, reasons, run_id, computed_at) "
            "SELECT customer_id, tag, value, score, reasons, %s, %s FROM gp_stage_tags "
            "ON CONFLICT (customer_id, tag, value) DO UPDATE SET score = EXCLUDED.score, "
            "reasons = EXCLUDED.reasons, run_id = EXCLUDED.run_id, "
            "computed_at = EXCLUDED.computed_at WHERE (gp_tags.score, gp_tags.reasons, "
            "gp_tags.run_id, gp_tags.computed_at) IS DISTINCT FROM (EXCLUDED.score, "
            "EXCLUDED.reasons, EXCLUDED.run_id, EXCLUDED.computed_at)",
            (rid, at),
        )
        written = cur.rowcount
        cur.execute(
            "DELETE FROM gp_tags t WHERE NOT EXISTS (SELECT 1 FROM gp_stage_tags s "
            "WHERE s.customer_id = t.customer_id AND s.tag = t.tag AND s.value = t.value)"
        )
        return {
            "tags": int(run.tags.shape[0]),
            "tags_written": written,
            "tags_deleted": cur.rowcount,
            "history_opened": opened,
            "history_closed": closed,
        }

    def _record_run(self, cur: Any, run: FinishedRun) -> None:
        from psycopg.types.json import Jsonb

        lineage = run.lineage()
        cur.execute("UPDATE gp_runs SET is_current = false WHERE is_current AND run_id <> %s",
                    (run.run_id,))  # fmt: skip
        cur.execute(
            "INSERT INTO gp_runs (run_id, computed_at, started_at, finished_at, is_current, "
            "customers, tags, seed, graphprofile, parameters) "
            "VALUES (%s, %s, %s, %s, true, %s, %s, %s, %s, %s) "
            "ON CONFLICT (run_id) DO UPDATE SET is_current = true WHERE NOT gp_runs.is_current",
            (
                run.run_id,
                run.computed_at.to_pydatetime(),
                lineage["started_at"],
                lineage["finished_at"],
                lineage["customers"],
                lineage["tags"],
                lineage["seed"],
                lineage["graphprofile"],
                Jsonb(lineage["parameters"]),
            ),
        )


def _tag_frame(tags: pd.DataFrame) -> pd.DataFrame:
    out = tags[["customer_id", "tag", "value", "score", "reasons"]].copy()
    for col in ("customer_id", "tag", "value"):
        out[col] = out[col].astype(str)
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype("float64")
    out["reasons"] = out["reasons"].fillna("[]").astype(str)
    return out.drop_duplicates(["customer_id", "tag", "value"])


def _stage(cur: Any, sql: Any, name: str, columns: dict[str, str], frame: pd.DataFrame) -> None:
    """Create temporary table ``name`` (dropped at commit) and COPY ``frame`` into it."""
    cur.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(name),
            sql.SQL(", ").join(
                sql.SQL("{} " + kind).format(sql.Identifier(col)) for col, kind in columns.items()
            ),
        )
    )
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with cur.copy(statement) as copy:
        for chunk in _csv_chunks(frame[list(columns)]):
            copy.write(chunk)


_TYPE_ALIASES = {
    "timestamp with time zone": "timestamptz",
    "integer": "bigint",
    "character varying": "text",
}


def _normal_type(kind: str) -> str:
    return _TYPE_ALIASES.get(kind, kind)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def _connect_message(uri: TargetURI, exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    where = f"PostgreSQL at {uri.address}"
    if "does not exist" in text and "database" in text:
        return (
            f"{where} has no database {uri.database!r}; create it (createdb {uri.database}) "
            "or name another in the --to URI"
        )
    if "no password supplied" in text:
        return f"{where} needs a password for user {uri.user!r}; set PGPASSWORD"
    if "authentication failed" in text or ("role" in text and "does not exist" in text):
        return (
            f"{where} refused the credentials of user {uri.user!r}; check the user in the "
            "--to URI and PGPASSWORD"
        )
    if "timeout" in text.lower():
        reason = "connection timed out"
    elif "refused" in text.lower():
        reason = "connection refused"
    else:
        reason = _first_line(exc)
    password = os.environ.get("PGPASSWORD")
    if password:
        reason = reason.replace(password, "***")
    return (
        f"cannot reach {where} ({reason}); check the host, the port (usually 5432) and that "
        "the server is up"
    )


__all__ = ["PostgresTarget", "feature_columns", "sql_type"]
