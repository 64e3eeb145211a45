"""``graphprofile publish --to redis://``: a real Redis server, no mocks.

Proves: every customer's hash holds its features and tags; ``gp:current`` names the run; a
second publish changes nothing; old runs expire beyond ``--keep-runs``; an older run is
refused without ``--force``; a server killed mid-publish leaves ``gp:current`` on the old
run and a re-run completes; passwords come from REDIS_PASSWORD and never show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import redis
from servers import RedisServer, free_port

from graphprofile.cli import main
from graphprofile.errors import PublishError
from graphprofile.publish import parse_target_uri, publish, read_finished_run
from graphprofile.publish.redis_store import RedisTarget


def _client(uri: str, password: str | None = None) -> redis.Redis:
    port = int(uri.rsplit(":", 1)[1].split("/")[0])
    return redis.Redis(port=port, password=password, decode_responses=True)


def _run_id(run: Path) -> str:
    return json.loads((run / "run.json").read_text())["run_id"]


def _dump(r: redis.Redis) -> dict[str, object]:
    """Every key with its type-specific content (hash fields, string, sorted set)."""
    out: dict[str, object] = {}
    for key in r.scan_iter(count=10_000):
        kind = r.type(key)
        if kind == "hash":
            out[key] = r.hgetall(key)
        elif kind == "string":
            out[key] = r.get(key)
        else:
            out[key] = r.zrange(key, 0, -1, withscores=True)
    return out


def test_publish_writes_one_hash_per_customer_and_switches(redis_uri: str, profile_runs) -> None:
    week1, _ = profile_runs
    result = publish(week1, redis_uri)
    r = _client(redis_uri)
    run = r.get("gp:current")
    assert run == _run_id(week1) == result["run_id"]
    features = pd.read_parquet(week1 / "features.parquet")
    tags = pd.read_parquet(week1 / "tags.parquet")
    keys = list(r.scan_iter(match=f"gp:{run}:customer:*", count=10_000))
    assert len(keys) == len(features) == result["keys_written"]
    assert r.hget(f"gp:{run}:meta", "status") == "complete"

    for row in features.sample(25, random_state=1).to_dict("records"):
        profile = r.hgetall(f"gp:{run}:customer:{row['customer_id']}")
        assert float(profile["risk_score"]) == row["risk_score"]
        assert float(profile["pagerank"]) == row["pagerank"]
        assert profile["known_fraud"] == ("true" if row["known_fraud"] else "false")
        assert json.loads(profile["risk_reasons"]) == json.loads(row["risk_reasons"])
        if pd.isna(row["ring_id"]):
            assert "ring_id" not in profile
        else:
            assert profile["ring_id"] == row["ring_id"]
        mine = tags[tags["customer_id"] == row["customer_id"]]
        stored = json.loads(profile["tags"])
        assert [(t["tag"], t["value"], t["score"]) for t in stored] == list(
            zip(mine["tag"], mine["value"], mine["score"], strict=True)
        )
        assert [t["reasons"] for t in stored] == [json.loads(x) for x in mine["reasons"]]


def test_same_run_twice_changes_nothing(redis_uri: str, profile_runs) -> None:
    week1, _ = profile_runs
    publish(week1, redis_uri)
    r = _client(redis_uri)
    before = _dump(r)
    publish(week1, redis_uri)
    assert _dump(r) == before
    assert all(r.ttl(k) == -1 for k in list(before)[:50])


def test_old_runs_expire_beyond_keep_runs(redis_uri: str, profile_runs) -> None:
    week1, week2 = profile_runs
    publish(week1, redis_uri, keep_runs=1)
    result = publish(week2, redis_uri, keep_runs=1)
    r = _client(redis_uri)
    old, new = _run_id(week1), _run_id(week2)
    assert result["runs_expired"] == [old]
    assert r.get("gp:current") == new
    assert r.zrange("gp:runs", 0, -1) == [new]
    old_keys = list(r.scan_iter(match=f"gp:{old}:*", count=10_000))
    assert old_keys and all(0 < r.ttl(k) <= 600 for k in old_keys if not k.endswith(":meta"))
    assert 600 < r.ttl(f"gp:{old}:meta") <= 660
    assert all(r.ttl(k) == -1 for k in r.scan_iter(match=f"gp:{new}:*", count=10_000))

    # publishing the expired run again makes a fresh copy: none of its keys keeps a TTL
    publish(week1, redis_uri, keep_runs=2, force=True)
    assert r.get("gp:current") == old
    again = list(r.scan_iter(match=f"gp:{old}:*", count=10_000))
    assert len(again) == len(old_keys) and all(r.ttl(k) == -1 for k in again)


def test_older_run_refused_unless_forced(
    redis_uri: str, profile_runs, capsys: pytest.CaptureFixture[str]
) -> None:
    week1, week2 = profile_runs
    publish(week2, redis_uri)
    assert main(["publish", str(week1), "--to", redis_uri, "--quiet"]) == 2
    assert "is older than the published run" in capsys.readouterr().err
    r = _client(redis_uri)
    assert r.get("gp:current") == _run_id(week2)
    assert main(["publish", str(week1), "--to", redis_uri, "--force", "--quiet"]) == 0
    assert r.get("gp:current") == _run_id(week1)


def test_server_killed_mid_publish_keeps_the_old_pointer(profile_runs, tmp_path: Path) -> None:
    week1, week2 = profile_runs
    server = RedisServer(tmp_path / "redis", persistent=True)
    server.start()
    try:
        publish(week1, server.uri)

        def kill(step: str) -> None:
            if step == "batch 1":  # customer hashes sent, pointer not yet switched
                server.kill()

        with pytest.raises(PublishError, match=r"gp:current still names the previous run"):
            publish(week2, server.uri, on_step=kill)
        server.start()  # replays the append-only file
        r = _client(server.uri)
        assert r.get("gp:current") == _run_id(week1)
        assert r.hget(f"gp:{_run_id(week2)}:meta", "status") == "writing"
        publish(week2, server.uri)
        assert r.get("gp:current") == _run_id(week2)
        assert r.hget(f"gp:{_run_id(week2)}:meta", "status") == "complete"
        n = len(pd.read_parquet(week2 / "features.parquet"))
        keys = list(r.scan_iter(match=f"gp:{_run_id(week2)}:customer:*", count=10_000))
        assert len(keys) == n
    finally:
        server.stop()


def test_replies_slower_than_the_connect_timeout_are_waited_for(
    redis_uri: str, profile_runs
) -> None:
    """``connect_timeout`` bounds the connection check only, not the publish's replies.

    A busy server may take longer than the connect timeout to answer a pipeline; that is not
    a lost connection. The server holds every reply for 2 s (``CLIENT PAUSE``), four times
    the connect timeout: the publish waits on one connection. (With the check's timeout
    left on the connection, redis-py's own retries hid the fault: each slow reply was
    abandoned, the connection re-opened and the command sent again, four connections here,
    and a pipeline the server takes longer than the timeout to run could never complete.)
    """
    week1, _ = profile_runs
    admin = _client(redis_uri)
    with RedisTarget(parse_target_uri(redis_uri), connect_timeout=0.5) as db:
        before = admin.info("stats")["total_connections_received"]
        admin.execute_command("CLIENT", "PAUSE", "2000", "ALL")
        counts = db.publish(read_finished_run(week1))
        opened = admin.info("stats")["total_connections_received"] - before
    assert opened == 1
    assert admin.get("gp:current") == _run_id(week1)
    assert counts["keys_written"] == len(pd.read_parquet(week1 / "features.parquet"))


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


def test_passwords_only_from_the_environment_and_never_shown(
    profile_runs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    week1, _ = profile_runs
    secret = "planted-redis-secret-42"
    server = RedisServer(tmp_path / "redis", password=secret)
    server.start()
    try:
        run, uri = str(week1), server.uri
        monkeypatch.delenv("REDIS_PASSWORD", raising=False)
        assert "needs a password; set REDIS_PASSWORD" in _one_line_error(
            capsys, ["publish", run, "--to", uri]
        )
        monkeypatch.setenv("REDIS_PASSWORD", "wrong")
        assert "refused the password" in _one_line_error(capsys, ["publish", run, "--to", uri])
        line = _one_line_error(
            capsys, ["publish", run, "--to", f"redis://:{secret}@127.0.0.1:{server.port}/0"]
        )
        assert "contains a password" in line and secret not in line
        monkeypatch.setenv("REDIS_PASSWORD", secret)
        assert main(["publish", run, "--to", uri, "--json"]) == 0
        out = capsys.readouterr()
        assert secret not in out.out + out.err
        assert json.loads(out.out)["target"] == f"redis://127.0.0.1:{server.port}/0"
        assert _client(uri, secret).get("gp:current") == _run_id(week1)
    finally:
        server.stop()
    line = _one_line_error(capsys, ["publish", run, "--to", f"redis://127.0.0.1:{free_port()}"])
    assert "cannot reach Redis at 127.0.0.1:" in line
