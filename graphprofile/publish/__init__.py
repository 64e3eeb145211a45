"""Publish a finished run to profile stores: PostgreSQL (offline), Redis (online), Feast.

One gateway per database kind: :mod:`.postgres` is the only module that imports
``psycopg`` and :mod:`.redis_store` the only one that imports ``redis``. Credentials come
from the environment only (``PGPASSWORD``, ``REDIS_PASSWORD``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphprofile.publish.feast_repo import write_feast_repo
from graphprofile.publish.source import FinishedRun, read_finished_run
from graphprofile.publish.target import TargetURI, parse_target_uri

#: Runs whose Redis keys are kept (the current one included); older ones expire.
DEFAULT_KEEP_RUNS = 2


def publish(
    run_dir: Path,
    uri: str,
    *,
    force: bool = False,
    keep_runs: int = DEFAULT_KEEP_RUNS,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Publish the features and tags of the finished run in ``run_dir`` to ``uri``.

    Parameters
    ----------
    run_dir : Path
        Output directory of a completed ``graphprofile run``.
    uri : str
        ``postgresql://[user@]host[:port]/database`` or ``redis://[user@]host[:port][/db]``
        (``rediss://`` for TLS); the password comes from ``PGPASSWORD`` / ``REDIS_PASSWORD``.
    force : bool, default False
        Publish even when a newer run is already published.
    keep_runs : int, default 2
        Redis only: runs whose keys are kept; keys of older runs expire.
    on_step : callable, optional
        Called with each step's name once it is done (progress, fault tests).

    Returns
    -------
    dict
        ``run_id``, ``target`` (redacted URI), ``server`` and the store's counts and rates.

    Raises
    ------
    InputError
        The run is not complete or lacks its tables.
    ConfigError
        A bad URI (unknown scheme, a password in it, no database).
    PublishError
        Unreachable server, refused credentials, missing database, an older run than the
        published one without ``force``, or a publish interrupted (nothing half-written).
    """
    target = parse_target_uri(uri)
    run = read_finished_run(run_dir)
    if target.kind == "postgresql":
        from graphprofile.publish.postgres import PostgresTarget

        with PostgresTarget(target) as db:
            counts = db.publish(run, force=force, on_step=on_step)
            server = db.server_info()
    else:
        from graphprofile.publish.redis_store import RedisTarget

        with RedisTarget(target) as db:
            counts = db.publish(run, force=force, keep_runs=keep_runs, on_step=on_step)
            server = db.server_info()
    return {"run_id": run.run_id, "target": target.redacted(), "server": server, **counts}


__all__ = [
    "DEFAULT_KEEP_RUNS",
    "FinishedRun",
    "TargetURI",
    "parse_target_uri",
    "publish",
    "read_finished_run",
    "write_feast_repo",
]
