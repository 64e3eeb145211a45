"""Profile-store URIs, SQL and Feast types, and the run a publish accepts (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.cli import main
from graphprofile.errors import ConfigError
from graphprofile.publish import parse_target_uri
from graphprofile.publish.feast_repo import feast_type
from graphprofile.publish.postgres import feature_columns, sql_type


def test_uris_parse_without_credentials() -> None:
    pg = parse_target_uri("postgresql://gp@db.example:6543/profiles")
    assert (pg.kind, pg.host, pg.port, pg.user, pg.database) == (
        "postgresql", "db.example", 6543, "gp", "profiles"
    )  # fmt: skip
    assert parse_target_uri("postgres://h/db").port == 5432
    r = parse_target_uri("rediss://app@cache:6380/2")
    assert (r.kind, r.port, r.user, r.database, r.tls) == ("redis", 6380, "app", "2", True)
    assert parse_target_uri("redis://cache").redacted() == "redis://cache:6379"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("postgresql://gp:s3cret@h/db", "contains a password; remove it and set PGPASSWORD"),
        ("redis://:s3cret@h:6379", "contains a password; remove it and set REDIS_PASSWORD"),
        ("postgresql://gp@h", "names no database"),
        ("redis://h/zero", "Redis database must be a number"),
        ("mysql://h/db", "unknown profile store scheme mysql://"),
        ("postgresql:///db", "names no host"),
    ],
)
def test_bad_uris_are_refused_without_echoing_secrets(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_target_uri(uri)
    assert "s3cret" not in str(err.value)


def test_sql_and_feast_types_follow_the_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["C1"],
            "flag": [True],
            "n": pd.array([1], dtype="Int64"),
            "x": [0.5],
            "at": [pd.Timestamp("2026-01-01", tz="UTC")],
            "risk_reasons": ["[]"],
            "label": ["a"],
        }
    )
    assert feature_columns(frame) == {
        "customer_id": "text",
        "flag": "boolean",
        "n": "bigint",
        "x": "double precision",
        "at": "timestamptz",
        "risk_reasons": "jsonb",
        "label": "text",
        "run_id": "text",
    }
    assert [feast_type(frame[c].dtype) for c in ("flag", "n", "x", "at", "label")] == [
        "Bool", "Int64", "Float64", "UnixTimestamp", "String"
    ]  # fmt: skip
    assert sql_type("label", pd.StringDtype()) == "text"


def test_unsafe_column_names_are_refused() -> None:
    from graphprofile.errors import PublishError

    with pytest.raises(PublishError, match="is not a plain lower-case name"):
        feature_columns(pd.DataFrame({"customer_id": ["C1"], 'x"; DROP TABLE t; --': [1]}))


def test_publish_refuses_an_incomplete_run_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "out"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"run_id": "r", "status": "failed"}))
    # no server listens on port 1: the run is refused before any connection is tried
    assert main(["publish", str(run), "--to", "postgresql://gp@127.0.0.1:1/db"]) == 2
    assert "has status 'failed', not 'complete'" in capsys.readouterr().err
