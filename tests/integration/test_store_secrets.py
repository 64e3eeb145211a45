"""Issue 7 §4: a planted store password never shows up anywhere graphprofile writes.

FalkorDB runs with ``requirepass`` (given on the server's stdin, not its argv). The CLI
``load`` and ``run --store`` run with the password in ``FALKORDB_PASSWORD``; stdout,
stderr, every log record, every file under OUT (``run.json`` included) and every error
are searched for it, as are the errors for a wrong password.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _binaries
from servers import FalkorDBServer

from graphprofile.cli import main
from graphprofile.errors import StoreError
from graphprofile.generate import generate_bank
from graphprofile.store import open_store

PLANTED = "Pl4nted-S3cret-7f3a9c"
WRONG = "Wr0ng-Pl4nted-0b1e2d"


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalkorDBServer]:
    redis_server, module = _binaries()
    server = FalkorDBServer(
        redis_server, module, tmp_path_factory.mktemp("falkordb-auth"), password=PLANTED
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=1000, seed=5)
    return data


def _files_text(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*")) if p.is_file()
    )


def test_password_never_in_outputs_logs_or_run_json(
    protected: FalkorDBServer,
    bank: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    uri = f"{protected.uri}/secrets"
    seen: list[str] = []

    monkeypatch.setenv("FALKORDB_PASSWORD", PLANTED)
    assert main(["load", str(bank), "--store", uri]) == 0
    out = tmp_path / "out"
    assert main(["run", str(bank), "--out", str(out), "--store", uri, "--json"]) == 0
    captured = capsys.readouterr()
    seen += [captured.out, captured.err]
    assert "rows/s" in captured.out  # the load summary really was printed
    assert (out / "run.json").is_file()

    # the password is never an option: there is nothing to put in argv
    assert main(["load", str(bank), "--store", uri, "--password", PLANTED]) == 2
    assert "No such option" in capsys.readouterr().err

    monkeypatch.setenv("FALKORDB_PASSWORD", WRONG)
    assert main(["load", str(bank), "--store", uri]) == 2
    captured = capsys.readouterr()
    assert "refused the password; check FALKORDB_PASSWORD" in captured.err
    seen += [captured.out, captured.err]
    with pytest.raises(StoreError) as info:
        open_store(uri)
    seen += ["".join(traceback.format_exception(info.value)), repr(info.value)]

    seen += [caplog.text, _files_text(out)]
    text = "\n".join(seen)
    assert len(text) > 1000
    assert PLANTED not in text
    assert WRONG not in text


def test_store_objects_do_not_show_the_password(
    protected: FalkorDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALKORDB_PASSWORD", PLANTED)
    with open_store(f"{protected.uri}/secrets2") as store:
        shown = [repr(store), str(store.server_info()), str(vars(store))]
        # a failing statement's error names the statement, never the connection secrets
        with pytest.raises(StoreError) as info:
            store.run("RETURN $nope +")
        shown.append("".join(traceback.format_exception(info.value)))
    assert not [s for s in shown if PLANTED in s]


def test_neo4j_password_never_in_outputs_logs_or_run_json(
    neo4j_uri: str,
    bank: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same for Neo4j: the server's real password (NEO4J_PASSWORD) is the planted secret."""
    import os

    secret = os.environ["NEO4J_PASSWORD"]
    assert len(secret) >= 8
    caplog.set_level(logging.DEBUG)  # the neo4j driver logs every Bolt message at DEBUG
    seen: list[str] = []
    assert main(["load", str(bank), "--store", neo4j_uri]) == 0
    out = tmp_path / "out"
    assert main(["run", str(bank), "--out", str(out), "--store", neo4j_uri, "--json"]) == 0
    captured = capsys.readouterr()
    seen += [captured.out, captured.err]
    assert "rows/s" in captured.out
    assert (out / "run.json").is_file()
    with open_store(neo4j_uri) as store:
        seen += [repr(store), str(store.server_info()), str(vars(store))]
        with pytest.raises(StoreError) as info:
            store.run("RETURN $nope +")
        seen.append("".join(traceback.format_exception(info.value)))

    monkeypatch.setenv("NEO4J_PASSWORD", WRONG)
    assert main(["load", str(bank), "--store", neo4j_uri]) == 2
    captured = capsys.readouterr()
    assert "refused the credentials of user 'neo4j'; check NEO4J_USER and NEO4J_PASSWORD" in (
        " ".join(captured.err.split())
    )
    seen += [captured.out, captured.err]
    with pytest.raises(StoreError) as info:
        open_store(neo4j_uri)
    seen += ["".join(traceback.format_exception(info.value)), repr(info.value)]

    seen += [caplog.text, _files_text(out)]
    text = "\n".join(seen)
    assert len(text) > 1000 and "HELLO" in caplog.text  # the driver's Bolt log was captured
    assert secret not in text
    assert WRONG not in text
