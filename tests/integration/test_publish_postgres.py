"""``graphprofile publish --to postgresql://``: a real PostgreSQL 15, no mocks.

Proves: tables equal the run's features and tags; a second publish changes nothing; the
type 2 history answers the documented "new high-risk customers this week" query with
exactly the run's ``changes``; older runs are refused without ``--force``; added feature
columns are migrated; a server crash mid-publish rolls back whole and a re-run completes;
bad servers, credentials and databases give one-line errors with exit code 2.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from servers import PostgresServer

from graphprofile.changes import tag_changes
from graphprofile.cli import main
from graphprofile.errors import PublishError
from graphprofile.publish import publish

ROOT = Path(__file__).resolve().parents[2]


def _connect(uri: str) -> psycopg.Connection:
    return psycopg.connect(uri, autocommit=True)


def _frame(uri: str, query: str) -> pd.DataFrame:
    with _connect(uri) as conn, conn.cursor() as cur:
        cur.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def _snapshot(uri: str) -> dict[str, str]:
    """An md5 of every row of every gp_ table (order-independent)."""
    out = {}
    for table, key in (
        ("gp_features", "customer_id"),
        ("gp_tags", "customer_id, tag, value"),
        ("gp_tag_history", "customer_id, tag, value, valid_from"),
        ("gp_runs", "run_id"),
    ):
        out[table] = _frame(uri, f"SELECT md5(string_agg(t::text, '|' ORDER BY {key})) AS h "
                                 f"FROM {table} t")["h"][0]  # fmt: skip
    return out


def _tags_key(tags: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(tags["customer_id"], tags["tag"], tags["value"].astype(str), strict=True))


def test_publish_writes_the_runs_features_and_tags(pg_uri: str, profile_runs) -> None:
    week1, _ = profile_runs
    result = publish(week1, pg_uri)
    features = pd.read_parquet(week1 / "features.parquet")
    tags = pd.read_parquet(week1 / "tags.parquet")
    assert result["customers"] == len(features) == result["features_written"]
    assert result["tags_written"] == len(tags) == result["history_opened"]

    db = _frame(pg_uri, "SELECT * FROM gp_features ORDER BY customer_id")
    assert list(db["customer_id"]) == sorted(features["customer_id"])
    mine = features.set_index("customer_id").loc[db["customer_id"]]
    assert (db["risk_score"].to_numpy() == mine["risk_score"].to_numpy()).all()
    assert (db["known_fraud"].to_numpy() == mine["known_fraud"].to_numpy()).all()
    assert db["community_id"].tolist() == mine["community_id"].astype(object).tolist()
    assert [r for r in db["risk_reasons"]] == [json.loads(r) for r in mine["risk_reasons"]]
    assert set(db["run_id"]) == {json.loads((week1 / "run.json").read_text())["run_id"]}
    types = _frame(pg_uri, "SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_name = 'gp_features'").set_index("column_name")  # fmt: skip
    assert types.loc["community_id", "data_type"] == "bigint"
    assert types.loc["risk_score", "data_type"] == "double precision"
    assert types.loc["known_fraud", "data_type"] == "boolean"
    assert types.loc["risk_reasons", "data_type"] == "jsonb"
    assert types.loc["computed_at", "data_type"] == "timestamp with time zone"

    db_tags = _frame(pg_uri, "SELECT customer_id, tag, value, score FROM gp_tags")
    assert _tags_key(db_tags) == _tags_key(tags)
    runs = _frame(pg_uri, "SELECT run_id, is_current, customers, tags FROM gp_runs")
    assert runs.to_dict("records") == [
        {"run_id": result["run_id"], "is_current": True, "customers": len(features),
         "tags": len(tags)}
    ]  # fmt: skip


def test_publishing_the_same_run_twice_changes_nothing(pg_uri: str, profile_runs) -> None:
    week1, _ = profile_runs
    publish(week1, pg_uri)
    before = _snapshot(pg_uri)
    again = publish(week1, pg_uri)
    assert _snapshot(pg_uri) == before
    assert again["features_written"] == again["tags_written"] == 0
    assert again["history_opened"] == again["history_closed"] == again["tags_deleted"] == 0


def _documented_query(name: str) -> str:
    doc = (ROOT / "docs" / "PROFILE_STORES.md").read_text()
    match = re.search(rf"<!-- query: {name} -->\s*```sql\n(.*?)```", doc, re.S)
    assert match, f"docs/PROFILE_STORES.md has no query marked {name}"
    return match.group(1)


def test_history_answers_new_high_risk_this_week(pg_uri: str, profile_runs) -> None:
    week1, week2 = profile_runs
    publish(week1, pg_uri)
    result = publish(week2, pg_uri)
    changes = pd.read_parquet(week2 / "changes.parquet")
    gained = changes[(changes["tag"] == "risk:high") & (changes["change"] == "gained")]
    assert len(gained) > 0, "the fixture must make some customers high-risk in week 2"

    answer = _frame(pg_uri, _documented_query("new-high-risk"))
    assert set(answer["customer_id"]) == set(gained["customer_id"])
    reasons = dict(zip(gained["customer_id"], gained["reasons"], strict=True))
    for row in answer.to_dict("records"):
        assert row["reasons"] == json.loads(reasons[row["customer_id"]])
        assert any(r["type"] for r in row["reasons"])

    # the current tags are week 2's exactly; history closed what week 2 lost
    tags2 = pd.read_parquet(week2 / "tags.parquet")
    assert _tags_key(_frame(pg_uri, "SELECT * FROM gp_tags")) == _tags_key(tags2)
    open_rows = _frame(pg_uri, "SELECT * FROM gp_tag_history WHERE valid_to IS NULL")
    assert _tags_key(open_rows) == _tags_key(tags2)
    lost = changes[changes["change"] != "gained"]
    assert result["history_closed"] >= len(lost[lost["change"] == "lost"])
    assert result["tags_deleted"] == result["history_closed"]


def test_new_high_risk_query_skips_a_changed_value(
    pg_uri: str, profile_runs, tmp_path: Path
) -> None:
    """A customer high-risk in both runs whose risk:high value changed is not 'new'."""
    week1, week2 = profile_runs
    tags1 = pd.read_parquet(week1 / "tags.parquet")
    high1 = set(tags1.loc[tags1["tag"] == "risk:high", "customer_id"])
    changed = tmp_path / "week2"
    shutil.copytree(week2, changed)
    tags2 = pd.read_parquet(changed / "tags.parquet")
    both = sorted(high1 & set(tags2.loc[tags2["tag"] == "risk:high", "customer_id"]))
    assert both, "the fixture must have customers high-risk in both weeks"
    moved = (tags2["customer_id"] == both[0]) & (tags2["tag"] == "risk:high")
    tags2.loc[moved, "value"] = "another_reason"
    tags2.to_parquet(changed / "tags.parquet", index=False)
    publish(week1, pg_uri)
    publish(changed, pg_uri)
    expected = tag_changes(tags1, tags2)
    gained = expected[(expected["tag"] == "risk:high") & (expected["change"] == "gained")]
    answer = _frame(pg_uri, _documented_query("new-high-risk"))
    assert set(answer["customer_id"]) == set(gained["customer_id"])
    assert both[0] not in set(answer["customer_id"])


def test_older_run_is_refused_unless_forced(
    pg_uri: str, profile_runs, capsys: pytest.CaptureFixture[str]
) -> None:
    week1, week2 = profile_runs
    publish(week2, pg_uri)
    before = _snapshot(pg_uri)
    assert main(["publish", str(week1), "--to", pg_uri, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is older than the published run" in err and "--force" in err
    assert _snapshot(pg_uri) == before
    assert main(["publish", str(week1), "--to", pg_uri, "--force", "--quiet"]) == 0
    current = _frame(pg_uri, "SELECT run_id FROM gp_runs WHERE is_current")["run_id"][0]
    assert current == json.loads((week1 / "run.json").read_text())["run_id"]
    # going back in time never makes a history period end before it starts
    bad = _frame(pg_uri, "SELECT count(*) AS n FROM gp_tag_history WHERE valid_to < valid_from")
    assert bad["n"][0] == 0
    week1_tags = pd.read_parquet(week1 / "tags.parquet")
    assert _tags_key(_frame(pg_uri, "SELECT * FROM gp_tags")) == _tags_key(week1_tags)


def test_new_feature_columns_are_added_and_missing_ones_nulled(
    pg_uri: str, profile_runs, tmp_path: Path
) -> None:
    week1, week2 = profile_runs
    publish(week1, pg_uri)
    changed = tmp_path / "run"
    shutil.copytree(week2, changed)
    features = pd.read_parquet(changed / "features.parquet")
    features = features.drop(columns=["betweenness"]).assign(new_score=features["risk_score"] * 2)
    features.to_parquet(changed / "features.parquet", index=False)
    publish(changed, pg_uri)
    db = _frame(pg_uri, "SELECT customer_id, betweenness, new_score, risk_score FROM gp_features")
    assert db["betweenness"].isna().all()
    assert (db["new_score"] == db["risk_score"] * 2).all()

    features.assign(new_score="text now").to_parquet(changed / "features.parquet", index=False)
    with pytest.raises(PublishError, match=r"gp_features.new_score is double precision .* text"):
        publish(changed, pg_uri, force=True)


def test_server_crash_mid_publish_rolls_back_and_rerun_completes(profile_runs, monkeypatch) -> None:
    week1, week2 = profile_runs
    server = PostgresServer()
    try:
        server.start()
        monkeypatch.setenv("PGPASSWORD", server.password)
        uri = server.uri
        publish(week1, uri)
        before = _snapshot(uri)

        def crash(step: str) -> None:
            if step == "features merged":  # gp_features rewritten, not yet committed
                server.crash()

        with pytest.raises(PublishError, match=r"rolled back .* run the same command again"):
            publish(week2, uri, on_step=crash)
        server.start()  # crash recovery
        assert _snapshot(uri) == before
        result = publish(week2, uri)
        assert result["features_written"] > 0
        run2 = json.loads((week2 / "run.json").read_text())["run_id"]
        assert set(_frame(uri, "SELECT DISTINCT run_id FROM gp_features")["run_id"]) == {run2}
        assert publish(week2, uri)["features_written"] == 0
    finally:
        server.stop()


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_bad_server_credentials_and_database_are_one_line_errors(
    postgres_server: PostgresServer,
    profile_runs,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    week1, _ = profile_runs
    run = str(week1)
    port = postgres_server.port
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    from servers import free_port

    line = _one_line_error(
        capsys, ["publish", run, "--to", f"postgresql://gp@127.0.0.1:{free_port()}/gp"]
    )
    assert "cannot reach PostgreSQL at 127.0.0.1:" in line
    line = _one_line_error(
        capsys, ["publish", run, "--to", f"postgresql://gp@127.0.0.1:{port}/nope"]
    )
    assert "has no database 'nope'" in line

    monkeypatch.setenv("PGPASSWORD", "wrong-password-123")
    line = _one_line_error(capsys, ["publish", run, "--to", postgres_server.uri])
    assert "refused the credentials of user 'gp'" in line and "wrong-password-123" not in line
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    line = _one_line_error(capsys, ["publish", run, "--to", postgres_server.uri])
    assert "needs a password for user 'gp'; set PGPASSWORD" in line

    secret = postgres_server.password
    line = _one_line_error(
        capsys, ["publish", run, "--to", f"postgresql://gp:{secret}@127.0.0.1:{port}/gp"]
    )
    assert "contains a password" in line and secret not in line
    # nothing was written by any of these
    monkeypatch.setenv("PGPASSWORD", secret)
    tables = _frame(
        postgres_server.uri, "SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'gp\\_%'"
    )
    assert tables["n"][0] == 0


def test_an_unfinished_run_is_refused(
    pg_uri: str, profile_runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    week1, _ = profile_runs
    run = tmp_path / "run"
    shutil.copytree(week1, run)
    summary = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**summary, "status": "running"}))
    line = _one_line_error(capsys, ["publish", str(run), "--to", pg_uri])
    assert "has status 'running', not 'complete'" in line
    (run / "run.json").unlink()
    line = _one_line_error(capsys, ["publish", str(run), "--to", pg_uri])
    assert "has no run.json: the run is not finished" in line
