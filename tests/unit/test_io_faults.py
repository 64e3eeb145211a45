"""Faults outside the data: unwritable or full output, input files vanishing mid-run.

Root ignores permissions, so "unwritable" is an OUT_DIR that is a regular file or lies
under one; "disk full" is a temporary output file that is a link to ``/dev/full``
(every write to it fails with ENOSPC, exactly as on a full disk).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ingest_support import FOREIGN_DATA, FOREIGN_MAPPING

import graphprofile.ingest.read as read_module
from graphprofile.cli import main
from graphprofile.errors import InputError
from graphprofile.ingest import load_frames

DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this OS")


def _run(out: Path, capsys, data: Path = FOREIGN_DATA) -> tuple[int, str]:
    rc = main(["run", str(data), "--mapping", str(FOREIGN_MAPPING), "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return rc, captured.err.strip()


def test_out_dir_is_a_regular_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.write_text("not a directory")
    assert _run(out, capsys) == (
        2,
        f"Error: output directory {out} exists and is not a directory; choose another --out",
    )
    assert out.read_text() == "not a directory"


def test_out_dir_under_a_regular_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "out"
    assert _run(out, capsys) == (
        2,
        f"Error: cannot write to output directory {out}: Not a directory; choose another "
        "--out or fix its permissions",
    )


def _full_at(path: Path) -> None:
    """Make the temporary file the writer uses for ``path`` a link to /dev/full."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / f".{path.name}.tmp").symlink_to(DEV_FULL)


@needs_dev_full
def test_disk_full_while_writing_the_graph_snapshot(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    target = out / "graph" / "nodes" / "customer.parquet"
    _full_at(target)
    rc, err = _run(out, capsys)
    assert rc == 2
    assert err.startswith(f"Error: cannot write {target}: ")
    assert "No space left on device" in err
    assert err.endswith("; free some disk space and run again")
    assert not (out / "run.json").exists()
    assert not target.exists() and not (target.parent / ".customer.parquet.tmp").exists()


@needs_dev_full
def test_disk_full_while_writing_run_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    _full_at(out / "run.json")
    rc, err = _run(out, capsys)
    assert (rc, err) == (
        2,
        f"Error: cannot write {out / 'run.json'}: No space left on device; free some disk "
        "space and run again",
    )
    assert not (out / "run.json").exists()


@needs_dev_full
def test_failed_rerun_leaves_no_stale_complete_run_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _run(out, capsys) == (0, "")
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    _full_at(out / "graph" / "edges" / "TRANSFER.parquet")
    rc, err = _run(out, capsys)
    assert rc == 2 and "No space left on device" in err
    # The previous run's run.json would vouch for a half-overwritten graph: it must be gone.
    assert not (out / "run.json").exists()
    # And a clean rerun converges.
    (out / "graph" / "edges" / ".TRANSFER.parquet.tmp").unlink(missing_ok=True)
    assert _run(out, capsys) == (0, "")
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(FOREIGN_DATA, copy)
    return copy


def test_input_file_vanishes_after_its_header_was_read(
    data: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = read_module._csv_header

    def header_then_vanish(path: Path, tm):  # the file is removed right after its header
        header = original(path, tm)
        if path.name == "zahlungen.csv":
            path.unlink()
        return header

    monkeypatch.setattr(read_module, "_csv_header", header_then_vanish)
    rc, err = _run(tmp_path / "out", capsys, data)
    assert (rc, err) == (
        2,
        f"Error: {data / 'zahlungen.csv'}: the file disappeared while it was being read; keep "
        "input files in place during a run and run again",
    )


def test_input_file_vanishes_before_it_is_read(data: Path) -> None:
    # the transactions are read in a thread from the start, so the file goes before the run
    # (the mapping names it; nothing looks for it before its read starts)
    (data / "zahlungen.csv").unlink()
    with pytest.raises(InputError) as info:
        load_frames(data, FOREIGN_MAPPING)
    assert str(info.value) == (
        f"{data}: no file for table 'transactions' (mapping entry tables.transactions.file = "
        "'zahlungen.csv'; looked for zahlungen.csv)"
    )


def test_parquet_input_vanishes_after_its_schema_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    data = tmp_path / "data"
    data.mkdir()
    path = data / "transactions.parquet"
    pd.DataFrame(
        {"from_account": ["a"], "to_account": ["b"], "amount": [1.0], "ts": ["2024-01-01"]}
    ).to_parquet(path)
    original = read_module._parquet_header

    def schema_then_vanish(p: Path) -> list[str]:
        names = original(p)
        p.unlink()
        return names

    monkeypatch.setattr(read_module, "_parquet_header", schema_then_vanish)
    with pytest.raises(InputError) as info:
        load_frames(data)
    assert str(info.value) == (
        f"{path}: the file disappeared while it was being read; keep input files in place "
        "during a run and run again"
    )
