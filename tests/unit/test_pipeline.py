"""The main job's order of work and its run directory: stale outputs, fail-fast --store."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from graphprofile import pipeline
from graphprofile._arrow import POOL_VARIABLE
from graphprofile._pages import NUMPY_VARIABLE
from graphprofile.analysis.job import JOBS as ANALYSIS_JOBS
from graphprofile.analysis.job import TRANSACTION_COLUMNS
from graphprofile.cli import main
from graphprofile.generate import generate_bank
from graphprofile.pipeline import RunConfig, StageInput, run_job


@pytest.fixture(scope="module")
def banks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different banks: A, and B whose customer ids all start with ``B-``."""
    a = tmp_path_factory.mktemp("bank_a")
    generate_bank(a, customers=1000, seed=1)
    b = tmp_path_factory.mktemp("bank_b")
    generate_bank(b, customers=1000, seed=2)
    for table in b.glob("*.csv"):
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        if "customer_id" in frame.columns:
            frame["customer_id"] = "B-" + frame["customer_id"]
            frame.to_csv(table, index=False)
    return a, b


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def test_rerun_with_another_format_reads_the_new_run(
    banks: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = banks
    out = tmp_path / "out"
    assert main(["run", str(a), "--out", str(out), "--quiet"]) == 0
    assert (out / "features.parquet").is_file()
    assert main(["run", str(b), "--out", str(out), "--format", "csv", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]

    # the first run's Parquet tables are gone; run.json lists only this run's files
    assert sorted(p.name for p in out.glob("*.parquet")) == []
    listed = json.loads((out / "run.json").read_text())["outputs"]
    assert {listed[t] for t in ("features", "tags", "rings", "communities")} == {
        "features.csv", "tags.csv", "rings.csv", "communities.csv"
    }  # fmt: skip
    assert all((out / path).is_file() for path in listed.values())

    assert main(["explain", str(out), "B-C00000001", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == run_id
    assert main(["explain", str(out), "C00000001"]) == 2
    assert "customer 'C00000001' is not in" in capsys.readouterr().err

    (out / "report.html").unlink()
    assert main(["report", str(out), "--quiet"]) == 0
    text = (out / "report.html").read_text()
    assert run_id in text
    assert re.search(r"B-C\d{8}", text)
    shown = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", text)  # not embedded images
    assert not re.search(r"(?<!B-)C\d{8}", shown), "the report shows customers of the old run"


def test_a_run_that_stops_half_way_leaves_nothing_to_read(
    banks: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = banks
    out = tmp_path / "out"
    assert main(["run", str(a), "--out", str(out), "--quiet"]) == 0

    def fail(_: StageInput) -> None:
        raise RuntimeError("stage failed")

    config = RunConfig(data_dir=a, out_dir=out, report=False)
    with pytest.raises(RuntimeError, match="stage failed"):
        run_job(config, stages=[("failing", fail)])
    assert not (out / "run.json").exists() and not (out / "report.html").exists()
    assert main(["explain", str(out), "C00000001"]) == 2
    assert "holds no run.json, so no finished run" in capsys.readouterr().err


def test_extra_stages_run_after_the_built_in_ones_and_list_their_files(
    banks: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = banks
    out = tmp_path / "out"
    seen: list[str] = []

    def extra(given: StageInput) -> dict[str, str]:
        seen.append(given.run_id)
        # with extra stages the graph keeps every transaction column (without, only
        # what the analysis reads: analysis.job.TRANSACTION_COLUMNS)
        assert {"currency", "to_counterparty"} <= set(given.graph.transactions.columns)
        assert (out / "report.html").is_file() and not (out / "run.json").exists()
        (out / "extra.txt").write_text(str(len(given.analysis.features)))
        given.notice("extra stage ran")
        huge.append(_huge_pages())
        return {"extra": "extra.txt"}

    huge: list[bool | None] = []
    before = _huge_pages()
    summary = run_job(RunConfig(data_dir=a, out_dir=out), stages=[("extra", extra)])
    assert seen == [summary["run_id"]]
    # NumPy's arrays get ordinary pages within the run (graphprofile._pages), and NumPy's
    # setting is as it was after it
    if before is not None and not os.environ.get(NUMPY_VARIABLE):
        assert huge == [False]
    assert _huge_pages() == before
    assert list(summary["stages"])[-4:] == ["exports", "report", "snapshot", "extra"]
    assert summary["outputs"]["extra"] == "extra.txt" and "extra stage ran" in summary["notices"]
    # the run allocates Arrow memory from jemalloc (lower peak at 1M, #16) and says so
    pool = summary["packages"]["arrow_memory_pool"]
    assert pool == pa.default_memory_pool().backend_name
    if "jemalloc" in pa.supported_memory_backends() and not os.environ.get(POOL_VARIABLE):
        assert pool == "jemalloc"


def _huge_pages() -> bool | None:
    """NumPy's huge-page advice setting (``None``: this NumPy has no such switch)."""
    from numpy._core import multiarray

    get = getattr(multiarray, "_get_madvise_hugepage", None)
    return None if get is None else bool(get())


@pytest.mark.parametrize(("chosen", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_the_run_uses_jemalloc_unless_the_user_chose_a_pool(
    chosen: str | None, expected: str
) -> None:
    if "jemalloc" not in pa.supported_memory_backends():
        pytest.skip("this pyarrow is built without jemalloc")
    env = {k: v for k, v in os.environ.items() if k != POOL_VARIABLE}
    if chosen:
        env[POOL_VARIABLE] = chosen
    code = (
        "import pyarrow as pa; from graphprofile._arrow import use_lean_memory_pool; "
        "print(use_lean_memory_pool(), pa.default_memory_pool().backend_name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [expected, expected]


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("neo4jj://127.0.0.1:7687", "Error: unknown store URI scheme 'neo4jj'"),
        (
            "bolt://127.0.0.1:{port}",
            "Error: cannot reach a Neo4j server at bolt://127.0.0.1:{port}",
        ),
        (
            "falkordb://127.0.0.1:{port}/g",
            "Error: cannot reach a FalkorDB server at falkordb://127.0.0.1:{port}/g",
        ),
    ],
)
def test_bad_store_fails_before_any_work(
    banks: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store: str,
    message: str,
) -> None:
    a, _ = banks
    port = _closed_port()
    out = tmp_path / "out"
    args = ["run", str(a), "--out", str(out), "--store", store.format(port=port), "--quiet"]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(message.format(port=port))
    assert not out.exists()  # nothing read, analysed or written


class _Recorder:
    """A reporter that records stages and ``advance`` calls (what the CLI's bars show)."""

    def __init__(self) -> None:
        self.current = ""
        self.steps: dict[str, list[tuple[int, int, str]]] = {}

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        self.current = name
        self.steps.setdefault(name, [])
        return contextlib.nullcontext()

    def notice(self, text: str) -> None:
        return None

    def advance(self, done: int, total: int, item: str = "") -> None:
        self.steps[self.current].append((done, total, item))


def test_progress_counts_every_analysis_job_and_every_table(
    banks: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = banks
    rec = _Recorder()
    run_job(RunConfig(data_dir=a, out_dir=tmp_path / "out"), rec)
    shown = rec.steps["analysis"]
    jobs = [(done, item) for done, _, item in shown if item in ANALYSIS_JOBS]
    # one step per job, each announced as it starts, out of the right total
    assert jobs == list(enumerate(ANALYSIS_JOBS))
    assert {total for _, total, _ in shown} == {len(ANALYSIS_JOBS)}
    # within the rings job, which search runs and what was found so far, without counting
    rings = ANALYSIS_JOBS.index("rings")
    searches = [(done, item) for done, _, item in shown if item.startswith("rings: ")]
    assert [item.split(" (")[0] for _, item in searches] == [
        "rings: cycle search",
        "rings: scatter-gather search",
        "rings: fan-in search",
        "rings: fan-out search",
        "rings: layer search",
        "rings: unusual-transfer search",
    ]
    assert {done for done, _ in searches} == {rings}
    assert "cycles, " in searches[-1][1] and "layers and stacks found)" in searches[-1][1]
    read = [item for _, _, item in rec.steps["read+validate"]]
    assert read[0] == "customers (0 rows read)"
    # rows read so far grow table by table
    counts = [int(item.split("(")[1].split(" ")[0].replace(",", "")) for item in read]
    assert counts == sorted(counts) and counts[-1] > counts[1] > 0


def test_without_a_store_or_extra_stages_the_analysis_keeps_only_what_it_reads(
    banks: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = banks
    seen: list[list[str]] = []
    analysis = pipeline._analysis

    def spy(config: RunConfig, graph: Any, *args: Any) -> Any:
        seen.append(list(graph.transactions.columns))
        return analysis(config, graph, *args)

    monkeypatch.setattr(pipeline, "_analysis", spy)
    summary = run_job(RunConfig(data_dir=a, out_dir=tmp_path / "out", report=False))
    assert seen == [list(TRANSACTION_COLUMNS)]  # currency and to_counterparty dropped
    assert summary["tables"]["transactions"]["accepted"] > 1000
