"""The main job, ``graphprofile run``: its stages, called in this order and timed.

1. **connect store** (with ``--store``): open and ping it, so a wrong URI, host or password
   fails within seconds and nothing is written.
2. **previous run** (with ``--previous``): read its tables before ``OUT`` is touched
   (``--previous`` may be ``OUT`` itself).
3. **prepare OUT**: remove the previous run's ``run.json``, report, tables and rejects.
4. **read+validate** → **canonical graph** (or **read graph from store**; with
   ``--engine gds`` the graph stays in the database).
5. **rejects**: ``rejects/``; the frames cut down to their row accounting.
6. **analysis** (embedded, or inside Neo4j with ``--engine gds``). ``graph/`` is started in
   a thread as its last job begins (embedded; else after it) and written beside that job,
   the exports and the report.
7. **exports**: the tag vocabulary and, with ``--previous``, the tag ``changes``; the
   result tables and these, in ``--format``, started in a thread that writes them beside
   the report.
8. **report**: ``report.html``.
9. **snapshot**: ``graph/`` and the exports finished (waited for; a write error surfaces
   here).
10. **graph write-back** (with ``--store``): after every file, so a failed write-back never
   costs the files.
11. extra stages given as ``run_job(stages=...)``, in order.
12. ``run.json``, written last: a ``run.json`` says every file it lists is this run's.

Every file goes through :mod:`graphprofile.outputs`, the owner of the run directory.
"""

from __future__ import annotations

import contextlib
import platform
import resource
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

from graphprofile import __version__
from graphprofile._arrow import contiguous_text, use_lean_memory_pool
from graphprofile._gc import frozen_startup_objects
from graphprofile._pages import freed_memory_kept, release_freed_memory, small_pages_for_arrays
from graphprofile.analysis import AnalysisResult, AnalysisSettings, analyse
from graphprofile.analysis.job import JOBS as ANALYSIS_JOBS
from graphprofile.analysis.job import TRANSACTION_COLUMNS
from graphprofile.analysis.settings import load_settings
from graphprofile.changes import summarise_changes, tag_changes
from graphprofile.errors import ConfigError, RejectShareError
from graphprofile.frames import LOAD_ORDER, CanonicalGraph, Frames
from graphprofile.graph import build_graph
from graphprofile.i18n.vocabulary import tag_vocabulary
from graphprofile.ingest import load_frames, load_mapping
from graphprofile.ingest.mapping import Mapping as SourceMapping
from graphprofile.ingest.reject_summary import describe, over_limit, reject_summary
from graphprofile.outputs import (
    REPORT,
    RUN_JSON,
    RunOutputs,
    check_format,
    load_outputs,
    prepare_out_dir,
    write_json,
    write_rejects,
    write_results,
    write_snapshot,
)
from graphprofile.results import results_summary
from graphprofile.sinks.graphdb import write_to_store
from graphprofile.sinks.report import write_report
from graphprofile.store import Store, StoreURI, open_store, parse_store_uri, read_graph

PACKAGES = ["pandas", "pyarrow", "numpy", "igraph", "leidenalg", "networkx", "neo4j", "falkordb"]


class Reporter(Protocol):
    """Receives progress from the job; the CLI renders it, the library default is silent."""

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]: ...

    def notice(self, text: str) -> None: ...


def counter(
    reporter: Reporter, total: int, steps: Sequence[str] | None = None
) -> Callable[[str], None]:
    """A progress callback that reports ``n of total`` to ``reporter.advance`` (if it has
    one) each time it is called with the name of the step starting. With ``steps``, a
    message that is not one of them only updates what the bar says is under way (a detail
    of the current step), without counting."""
    done = 0
    advance = getattr(reporter, "advance", None)

    def step(item: str) -> None:
        nonlocal done
        if steps is not None and item not in steps:
            if advance is not None:
                advance(max(done - 1, 0), total, item)
            return
        if advance is not None:
            advance(done, total, item)
        done += 1

    return step


def rows_counter(reporter: Reporter, phase: str) -> Callable[[str, int, int], None]:
    """A ``progress(part, rows_done, rows_total)`` callback (per table or step, possibly
    from worker threads) that reports the rows of all parts together to
    ``reporter.advance`` (if it has one), e.g. ``write-back: labels 20,000/81,000``."""
    done: dict[str, int] = {}
    totals: dict[str, int] = {}
    lock = threading.Lock()
    advance = getattr(reporter, "advance", None)

    def step(part: str, rows_done: int, rows_total: int) -> None:
        with lock:
            done[part], totals[part] = rows_done, rows_total
            all_done, all_total = sum(done.values()), sum(totals.values())
        if advance is not None:
            advance(all_done, all_total, f"{phase}: {part} {rows_done:,}/{rows_total:,} rows")

    return step


class SilentReporter:
    """A reporter that shows nothing."""

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def notice(self, text: str) -> None:
        return None


@dataclass
class RunConfig:
    """Everything ``graphprofile run`` needs; every field is recorded in ``run.json``.

    ``store`` may be given as text: it is parsed into a :class:`~graphprofile.store.StoreURI`
    here, so a malformed URI fails before any work.

    Raises
    ------
    StoreError
        ``store`` is not a valid store URI.
    ConfigError
        ``settings_file`` cannot be read or holds an unknown or invalid setting.
    ConfigError
        ``from_store`` without ``store``.
    OutputError
        ``fmt`` is not a result-table format.
    """

    data_dir: Path
    out_dir: Path
    mapping: Path | None = None
    seed: int = 42
    fmt: str = "parquet"
    previous: Path | None = None
    store: StoreURI | str | None = None
    max_reject_share: float | None = None  # None: each table's mapping option (0.05)
    report: bool = True
    from_store: bool = False  # read the graph from ``store`` instead of ``data_dir``
    write_back: bool = True  # with ``store``: write the results back as tags
    engine: str = "embedded"  # with ``from_store``: "gds" analyses inside Neo4j (GDS)
    gds_concurrency: int = 4  # GDS threads (1..4) for --engine gds
    settings: AnalysisSettings | None = None  # None: defaults, or read from settings_file
    settings_file: Path | None = None  # --settings: a TOML file of AnalysisSettings
    lang: str = "en"  # language of the report (graphprofile.i18n.LANGS); not a result
    # processes the analysis may use (2+: the graph worker, see graph_worker); None: two
    # where this process may use two CPUs (graph_worker.resolve_workers)
    workers: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.store, str):
            self.store = parse_store_uri(self.store)
        if self.engine not in ("embedded", "gds"):
            raise ConfigError(f"unknown engine {self.engine!r}; use 'embedded' or 'gds'")
        if self.engine == "gds" and not (self.from_store and self.store):
            raise ConfigError(
                "--engine gds analyses a graph inside Neo4j: use graphprofile analyze --store "
                "neo4j://host:7687 --engine gds"
            )
        if self.from_store and self.store is None:
            raise ConfigError("reading the graph from a store needs --store URI")
        check_format(self.fmt)
        share = self.max_reject_share
        if share is not None and not 0 <= share <= 1:
            raise ConfigError(f"--max-reject-share must be from 0 to 1, not {share:g}")
        if self.settings is None and self.settings_file is not None:
            self.settings = load_settings(self.settings_file)

    @property
    def store_uri(self) -> StoreURI | None:
        """The parsed store URI (``None`` without ``--store``)."""
        assert not isinstance(self.store, str)  # parsed in __post_init__
        return self.store

    def parameters(self) -> dict[str, Any]:
        store = self.store_uri
        return {
            "data_dir": None if self.from_store else str(self.data_dir),
            "source": "store" if self.from_store else "files",
            "engine": self.engine,
            "out_dir": str(self.out_dir),
            "mapping": str(self.mapping) if self.mapping else "default",
            "seed": self.seed,
            "format": self.fmt,
            "previous": str(self.previous) if self.previous else None,
            "store": store.address if store else None,
            "max_reject_share": self.max_reject_share,
            "settings": str(self.settings_file) if self.settings_file else "default",
            "workers": "auto" if self.workers is None else self.workers,
        }


@dataclass(frozen=True)
class StageInput:
    """What an extra stage (``run_job(stages=...)``) is given: the run's finished results."""

    config: RunConfig
    run_id: str
    started_at: pd.Timestamp
    graph: CanonicalGraph
    analysis: AnalysisResult | None
    store: Store | None
    notice: Callable[[str], None]


#: An extra stage: returns the files it wrote (name → path relative to OUT) for ``run.json``.
Stage = Callable[[StageInput], Mapping[str, str] | None]


def ingest_steps(steps: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Seconds, rows and rows per second of each ingest step (``Frames.steps``), for
    ``run.json``: the read and parse steps count the rows read, ``references`` the rows
    accepted by then, ``pseudonymise`` the customer, device and identifier rows."""
    return {
        name: {
            "seconds": round(s["seconds"], 3),
            "rows": int(s["rows"]),
            "rows_per_second": round(s["rows"] / s["seconds"]) if s["seconds"] > 0 else None,
        }
        for name, s in steps.items()
    }


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "graphprofile": __version__}
    for name in PACKAGES:
        dist = "python-igraph" if name == "igraph" else name
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["arrow_memory_pool"] = pa.default_memory_pool().backend_name
    return versions


def new_run_id(now: pd.Timestamp) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


@dataclass
class RunRecord:
    """The job's own bookkeeping for ``run.json``: stage times, notices and files written."""

    run_id: str
    started_at: pd.Timestamp
    reporter: Reporter
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    rejects: dict[str, Any] = field(default_factory=dict)
    status: str = "complete"
    error: str | None = None
    #: When the results were complete; set by the report stage so that the report and
    #: ``run.json`` show the same run time (the report's own time is in ``stages``).
    finished_at: pd.Timestamp | None = None

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with self.reporter.stage(name):
            yield
        release_freed_memory()  # the stage's freed memory back to the system
        self.stages[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            "peak_rss_mb": _peak_rss_mb(),
        }

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self.reporter.notice(text)


def run_job(
    config: RunConfig, reporter: Reporter | None = None, *, stages: Sequence[tuple[str, Stage]] = ()
) -> dict[str, Any]:
    """Run the main job end to end and return the ``run.json`` document.

    Parameters
    ----------
    config : RunConfig
        Input directory, output directory, mapping, seed, output format, previous run, store.
    reporter : Reporter, optional
        Receives stage starts and notices (the CLI shows them); silent by default.
    stages : sequence of (name, Stage), optional
        Extra stages, run in order after the graph write-back and before ``run.json``.

    Returns
    -------
    dict
        The run summary, as written to ``OUT/run.json``.

    Raises
    ------
    InputError, MappingError, OutputError, StoreError
        As described on each; nothing is half-written where a rerun would not fix it.
    """
    started = pd.Timestamp.now(tz="UTC").floor("s")
    use_lean_memory_pool()  # jemalloc: a lower peak for the same outputs (#16)
    run = RunRecord(new_run_id(started), started, reporter or SilentReporter())
    out = Path(config.out_dir)
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(frozen_startup_objects())  # fewer objects per full gc pass
        cleanup.enter_context(small_pages_for_arrays())  # no huge-page zeroing per array
        cleanup.enter_context(freed_memory_kept())  # reused within a stage, not faulted again
        store = None
        if config.store_uri is not None:
            with run.timed("connect store"):
                store = cleanup.enter_context(open_store(config.store_uri))
        previous = read_previous(config.previous)
        prepare_out_dir(out)

        frames: Frames | None = None
        graph: CanonicalGraph | None = None
        if store is not None and config.from_store:
            if config.engine == "embedded":  # gds: the graph stays in the database
                with run.timed("read graph from store"):
                    graph = read_graph(store)
        else:
            with run.timed("read+validate"):
                mapping = load_mapping(config.mapping)
                progress = counter(run.reporter, len(LOAD_ORDER))
                frames = load_frames(config.data_dir, mapping, now=started, progress=progress)
            for text in frames.notices:
                run.notice(text)
            check_reject_share(run, config, frames, mapping)
            with run.timed("canonical graph"):
                graph = build_graph(frames)
        with run.timed("rejects"):
            if frames is not None:
                run.outputs.update(write_rejects(frames, out))
                # the graph holds what the analysis reads: keep only the row accounting;
                # without a store or extra stages, nothing later reads the transactions'
                # other columns either (currency, to_counterparty: ~240 MB at 1M)
                slim = graph is not None and store is None and not stages
                shared = graph.transactions if graph is not None and not slim else None
                frames = frames.accounting_only(keep=shared)
                if slim:
                    assert graph is not None
                    graph.transactions = _analysis_columns(graph.transactions)
        writer = cleanup.enter_context(ThreadPoolExecutor(1, "graphprofile-snapshot"))
        snapshots: list[Future[dict[str, str]]] = []

        def start_snapshot() -> None:
            # the node and edge tables, written in a thread (nothing changes them once
            # built; Arrow's Parquet writer releases the GIL) from where the analysis
            # leaves a CPU free, and waited for after the report
            if graph is not None and not snapshots:
                snapshots.append(writer.submit(write_snapshot, graph, out))

        with run.timed("analysis"):
            result = _analysis(config, graph, store, previous, run, start_snapshot)
            run.notices.extend(f"skipped: {text}" for text in result.meta.get("skipped", []))
        start_snapshot()  # where the analysis did not (in Neo4j, or it has no last job)
        with run.timed("exports"):
            vocabulary = tag_vocabulary(result.tags["tag"].unique())
            tables = result.tables() | {"tag_vocabulary": vocabulary}
            if previous is not None:
                tables["changes"] = _changes(previous, result, run)
            # written beside the report (which only reads the same tables), waited for after
            exporter = cleanup.enter_context(ThreadPoolExecutor(1, "graphprofile-exports"))
            exported = exporter.submit(write_results, tables, out, config.fmt)
        if config.report:
            with run.timed("report"):
                run.outputs["report"] = REPORT
                run.finished_at = pd.Timestamp.now(tz="UTC")  # run.json shows the same time
                summary = summarise(run, config, frames, graph, result)
                outputs = RunOutputs(
                    out, summary, graph=graph, changes=tables.get("changes"), **result.tables()
                )
                write_report(outputs, lang=config.lang)
            run.reporter.notice(f"report: {out / REPORT}")
        with run.timed("snapshot"):
            files = exported.result()  # the result tables, listed before the report
            report = {"report": run.outputs.pop("report")} if "report" in run.outputs else {}
            run.outputs.update(files | report)
            if snapshots:  # listed first in run.json, as in earlier versions
                run.outputs = snapshots[0].result() | run.outputs
        store_summary: dict[str, Any] = {}
        if store is not None and config.write_back:
            with run.timed("graph write-back"):
                store_summary = write_to_store(
                    store,
                    graph,
                    result,
                    run_id=run.run_id,
                    run_meta={
                        "started_at": started.isoformat(),
                        "seed": config.seed,
                        "data_dir": str(config.data_dir),
                    },
                    load=not config.from_store,
                    notice=run.notice,
                    load_progress=rows_counter(run.reporter, "load"),
                    write_progress=rows_counter(run.reporter, "write-back"),
                )
        for name, stage in stages:
            with run.timed(name):
                given = StageInput(config, run.run_id, started, graph, result, store, run.notice)
                run.outputs.update(stage(given) or {})

    summary = summarise(run, config, frames, graph, result, store_summary)
    write_json(summary, out / RUN_JSON)
    return summary


def _analysis_columns(txns: pd.DataFrame) -> pd.DataFrame:
    """The transactions with only the columns the analysis reads, ``txn_id`` in one chunk
    (the flow search's lookups of it then copy nothing)."""
    txns = txns[[c for c in TRANSACTION_COLUMNS if c in txns]]
    if "txn_id" in txns:
        txns = txns.assign(txn_id=pd.arrays.ArrowStringArray(contiguous_text(txns["txn_id"])))
    return txns


def read_previous(previous: Path | None) -> RunOutputs | None:
    """The ``features``, ``rings`` and ``tags`` of the run in ``previous`` (``--previous``).

    Raises
    ------
    InputError
        ``previous`` holds no finished run, or one of its listed tables is unreadable.
    """
    if previous is None:
        return None
    return load_outputs(previous, graph=False, tables=("features", "rings", "tags"))


def _analysis(
    config: RunConfig,
    graph: CanonicalGraph | None,
    store: Store | None,
    previous: RunOutputs | None,
    run: RunRecord,
    at_last_job: Callable[[], None] | None = None,
) -> AnalysisResult:
    """The analysis stage: embedded (on ``graph``, ``at_last_job`` as :func:`analyse`'s) or
    inside Neo4j (``--engine gds``)."""
    previous_features = previous.features if previous else None
    previous_rings = previous.rings if previous else None
    if config.engine == "gds":
        from graphprofile.analysis.gds_engine import analyse_gds

        assert store is not None
        return analyse_gds(
            store,
            settings=config.settings,
            previous_features=previous_features,
            previous_rings=previous_rings,
            run_id=run.run_id,
            computed_at=run.started_at,
            seed=config.seed,
            progress=run.reporter.notice,
            concurrency=config.gds_concurrency,
        )
    assert graph is not None
    return analyse(
        graph,
        settings=config.settings,
        previous_features=previous_features,
        previous_rings=previous_rings,
        run_id=run.run_id,
        computed_at=run.started_at,
        seed=config.seed,
        progress=counter(run.reporter, len(ANALYSIS_JOBS), ANALYSIS_JOBS),
        workers=config.workers,
        at_last_job=at_last_job,
    )


def check_reject_share(
    run: RunRecord, config: RunConfig, frames: Frames, mapping: SourceMapping
) -> None:
    """Summarise the rejects; above a table's limit, write what there is and stop.

    Raises
    ------
    RejectShareError
        After writing ``rejects/`` and a ``run.json`` with ``"status": "failed"``.
    """
    run.rejects = reject_summary(frames)
    override = config.max_reject_share
    limits = {
        table: override if override is not None else float(tm.options.max_reject_share)
        for table, tm in mapping.tables.items()
    }
    failed = over_limit(run.rejects, limits)
    if not failed:
        return
    message = describe(failed)
    out = Path(config.out_dir)
    run.outputs.update(write_rejects(frames, out))
    run.status, run.error = "failed", message
    write_json(summarise(run, config, frames, None, None), out / RUN_JSON)
    raise RejectShareError(message)


def _changes(previous: RunOutputs, result: AnalysisResult, run: RunRecord) -> pd.DataFrame | None:
    """``changes``: tags gained, lost or changed since ``--previous`` (graphprofile.changes)."""
    if previous.tags is None:
        run.notices.append(f"no tags in previous run {previous.out_dir}: changes not computed")
        return None
    changes = tag_changes(
        previous.tags,
        result.tags,
        previous_run_id=previous.summary.get("run_id"),
        run_id=run.run_id,
        computed_at=run.started_at,
    )
    result.meta["tag_changes"] = summarise_changes(changes)
    return changes


def summarise(
    run: RunRecord,
    config: RunConfig,
    frames: Frames | None,
    graph: CanonicalGraph | None,
    result: AnalysisResult | None,
    store_summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``run.json`` document for the job as far as it went."""
    finished = run.finished_at or pd.Timestamp.now(tz="UTC")
    stats = frames.stats if frames is not None else {}
    tables = {t: s.as_dict() for t, s in sorted(stats.items())}
    summary: dict[str, Any] = {
        "run_id": run.run_id,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "seconds": round((finished - run.started_at).total_seconds(), 3),
        "parameters": config.parameters(),
        "packages": package_versions(),
        "tables": tables,
        "rows": {
            "read": sum(s["read"] for s in tables.values()),
            "accepted": sum(s["accepted"] for s in tables.values()),
            "rejected": sum(s["rejected"] for s in tables.values()),
            "merged": sum(s["merged"] for s in tables.values()),
        },
        "rejects": run.rejects,
        # --engine gds reads no graph: the counts come from the database; a run stopped
        # for its rejects has neither
        "graph": graph.counts()
        if graph is not None
        else (result.meta.get("graph", {}) if result is not None else {}),
        "stages": dict(run.stages),
        "ingest_steps": ingest_steps(frames.steps) if frames is not None else {},
        "peak_rss_mb": _peak_rss_mb(),
        "notices": list(run.notices),
        "outputs": dict(run.outputs),
    }
    if run.error:
        summary["error"] = run.error
    if result is not None:
        summary["analysis"] = result.meta
        summary["results"] = results_summary(
            result.features, result.rings, result.tags, result.meta
        )
        if "report" in run.outputs:
            summary["results"]["report"] = str(Path(config.out_dir) / run.outputs["report"])
    store = config.store_uri
    if store is not None:
        summary["store"] = {"address": store.address, **(store_summary or {})}
    return summary
