"""The main job: ingest → canonical graph → analysis → sinks, timed stage by stage.

:func:`run_job` is what ``graphprofile run`` calls. It writes ``OUT/graph/``,
``OUT/rejects/``, the result tables, ``OUT/run.json`` (written last, so a ``run.json``
with ``"status": "complete"`` means every other output of that run is in place).
"""

from __future__ import annotations

import contextlib
import json
import platform
import resource
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from graphprofile import __version__
from graphprofile.errors import ConfigError, OutputError, RejectShareError
from graphprofile.frames import LOAD_ORDER, CanonicalGraph, Frames
from graphprofile.graph import build_graph, write_snapshot
from graphprofile.i18n.vocabulary import tag_vocabulary
from graphprofile.ingest import load_frames, load_mapping
from graphprofile.ingest.mapping import Mapping
from graphprofile.ingest.reject_summary import describe, over_limit, reject_summary
from graphprofile.results import results_summary
from graphprofile.sinks.tables import FORMATS, read_table, write_json, write_table

#: Jobs :func:`graphprofile.analysis.analyse` announces through its ``progress`` callback.
ANALYSIS_JOBS = 6
PACKAGES = ["pandas", "pyarrow", "numpy", "igraph", "leidenalg", "networkx", "neo4j", "falkordb"]


class Reporter(Protocol):
    """Receives progress from the job; the CLI renders it, the library default is silent."""

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]: ...

    def notice(self, text: str) -> None: ...


def counter(reporter: Reporter, total: int) -> Callable[[str], None]:
    """A progress callback that reports ``n of total`` to ``reporter.advance`` (if it has
    one) each time it is called with the name of the step starting."""
    done = 0
    advance = getattr(reporter, "advance", None)

    def step(item: str) -> None:
        nonlocal done
        if advance is not None:
            advance(done, total, item)
        done += 1

    return step


class SilentReporter:
    """A reporter that shows nothing."""

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def notice(self, text: str) -> None:
        return None


@dataclass
class RunConfig:
    """Everything ``graphprofile run`` needs; every field is recorded in ``run.json``."""

    data_dir: Path
    out_dir: Path
    mapping: Path | None = None
    seed: int = 42
    fmt: str = "parquet"
    previous: Path | None = None
    store: str | None = None
    max_reject_share: float | None = None  # None: each table's mapping option (0.05)
    report: bool = True
    from_store: bool = False  # read the graph from ``store`` instead of ``data_dir``
    write_back: bool = True  # with ``store``: write the results back as tags
    engine: str = "embedded"  # with ``from_store``: "gds" analyses inside Neo4j (GDS)
    gds_concurrency: int = 4  # GDS threads (1..4) for --engine gds
    settings: Any = None  # graphprofile.analysis.AnalysisSettings; None: defaults
    lang: str = "en"  # language of the report (graphprofile.i18n.LANGS); not a result

    def parameters(self) -> dict[str, Any]:
        return {
            "data_dir": None if self.from_store else str(self.data_dir),
            "source": "store" if self.from_store else "files",
            "engine": self.engine,
            "out_dir": str(self.out_dir),
            "mapping": str(self.mapping) if self.mapping else "default",
            "seed": self.seed,
            "format": self.fmt,
            "previous": str(self.previous) if self.previous else None,
            "store": _redact_uri(self.store),
            "max_reject_share": self.max_reject_share,
        }


def _redact_uri(uri: str | None) -> str | None:
    if not uri or "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://{rest.split('@', 1)[1]}"


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
    return versions


def new_run_id(now: pd.Timestamp) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


@dataclass
class JobState:
    """What the job has produced so far; later stages read it, sinks write it."""

    config: RunConfig
    run_id: str
    started_at: pd.Timestamp
    frames: Frames | None = None
    graph: CanonicalGraph | None = None
    analysis: Any = None
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    store_summary: dict[str, Any] = field(default_factory=dict)
    rejects: dict[str, Any] = field(default_factory=dict)
    status: str = "complete"
    error: str | None = None
    #: When the results were complete; set by the report stage so that the report and
    #: ``run.json`` show the same run time (the report's own time is in ``stages``).
    finished_at: pd.Timestamp | None = None

    @contextlib.contextmanager
    def timed(self, name: str, reporter: Reporter) -> Iterator[None]:
        start = time.perf_counter()
        with reporter.stage(name):
            yield
        self.stages[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            "peak_rss_mb": _peak_rss_mb(),
        }


def _prepare_out_dir(out_dir: Path) -> None:
    """Check ``out_dir`` is writable and drop the previous run's ``run.json`` and rejects.

    Removing ``run.json`` first means a run that fails half-way leaves no ``run.json``
    claiming the (partly overwritten) outputs are complete.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(
            f"output directory {out_dir} exists and is not a directory; choose another --out"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".graphprofile-write-test"
        probe.write_text("ok")
        probe.unlink()
        (out_dir / "run.json").unlink(missing_ok=True)
        rejects = out_dir / "rejects"
        if rejects.is_dir():
            shutil.rmtree(rejects)
    except OSError as exc:
        raise OutputError(
            f"cannot write to output directory {out_dir}: {exc.strerror or exc}; "
            "choose another --out or fix its permissions"
        ) from None


def _write_rejects(frames: Frames, out_dir: Path) -> dict[str, str]:
    written = {}
    for table in sorted(frames.stats):
        part = frames.rejects[frames.rejects["table"] == table].drop(columns=["table"])
        path = write_table(part, out_dir / "rejects", table, "csv")
        written[f"rejects/{table}"] = str(path.relative_to(out_dir))
    return written


def _analysis_step(state: JobState, reporter: Reporter) -> None:
    try:
        from graphprofile.analysis import analyse
    except ImportError:  # pragma: no cover - the analysis package ships with graphprofile
        state.notices.append("analysis jobs not available in this installation")
        return
    if state.config.engine == "gds":
        state.analysis = _analyse_in_store(state, reporter)
        return
    assert state.graph is not None
    state.analysis = analyse(
        state.graph,
        settings=state.config.settings,
        previous=state.config.previous,
        run_id=state.run_id,
        computed_at=state.started_at,
        seed=state.config.seed,
        progress=counter(reporter, ANALYSIS_JOBS),
    )
    for notice in state.analysis.meta.get("skipped", []):
        state.notices.append(f"skipped: {notice}")


def _export_step(state: JobState) -> None:
    out = state.config.out_dir
    result = state.analysis
    if result is None:
        return
    # read before the exports: --previous may be --out itself
    previous = _previous_tags(state) if state.config.previous is not None else None
    for name in ("features", "tags", "rings", "communities"):
        df = getattr(result, name, None)
        if df is not None:
            path = write_table(df, out, name, state.config.fmt)
            state.outputs[name] = str(path.relative_to(out))
    if getattr(result, "tags", None) is not None:
        vocabulary = tag_vocabulary(result.tags["tag"].unique())
        path = write_table(vocabulary, out, "tag_vocabulary", state.config.fmt)
        state.outputs["tag_vocabulary"] = str(path.relative_to(out))
    if previous is not None and result.tags is not None:
        _changes_step(state, *previous)


def _previous_tags(state: JobState) -> tuple[pd.DataFrame, str | None] | None:
    """The ``--previous`` run's tags and run id (``None`` with a notice when it has no tags)."""
    previous = Path(state.config.previous)  # type: ignore[arg-type]
    old_tags = read_table(previous, "tags")
    try:
        previous_id = json.loads((previous / "run.json").read_text()).get("run_id")
    except (OSError, ValueError):
        previous_id = None  # --previous is --out: its run.json is gone; tags are enough
    if old_tags is None:
        state.notices.append(f"no tags in previous run {previous}: changes not computed")
        return None
    return old_tags, previous_id


def _changes_step(state: JobState, old_tags: pd.DataFrame, previous_id: str | None) -> None:
    """``changes.*``: tags gained, lost or changed since ``--previous`` (graphprofile.changes)."""
    from graphprofile.changes import summarise_changes, tag_changes

    changes = tag_changes(
        old_tags,
        state.analysis.tags,
        previous_run_id=previous_id,
        run_id=state.run_id,
        computed_at=state.started_at,
    )
    out = state.config.out_dir
    path = write_table(changes, out, "changes", state.config.fmt)
    state.outputs["changes"] = str(path.relative_to(out))
    state.analysis.meta["tag_changes"] = summarise_changes(changes)


#: Extra stages (report, graph write-back) register here: name → callable(state, reporter).
EXTRA_STAGES: list[tuple[str, Callable[[JobState, Reporter], None]]] = []
#: Optional condition per extra stage (by name): the stage runs only when it returns True.
STAGE_ENABLED: dict[str, Callable[[RunConfig], bool]] = {"report": lambda c: c.report}


def run_job(config: RunConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Run the main job end to end and return the ``run.json`` document.

    Parameters
    ----------
    config : RunConfig
        Input directory, output directory, mapping, seed, output format, previous run.
    reporter : Reporter, optional
        Receives stage starts and notices (the CLI shows them); silent by default.

    Returns
    -------
    dict
        The run summary, as written to ``OUT/run.json``.

    Raises
    ------
    InputError, MappingError, OutputError, StoreError
        As described on each; nothing is half-written where a rerun would not fix it.
    """
    reporter = reporter or SilentReporter()
    if config.fmt not in FORMATS:
        raise OutputError(f"unknown output format {config.fmt!r}; use one of {', '.join(FORMATS)}")
    started = pd.Timestamp.now(tz="UTC").floor("s")
    state = JobState(config=config, run_id=new_run_id(started), started_at=started)
    out = Path(config.out_dir)
    _prepare_out_dir(out)

    _check_engine(config)
    if config.from_store:
        if config.engine == "embedded":  # gds: the graph stays in the database
            with state.timed("read graph from store", reporter):
                state.graph = _read_store_graph(config)
    else:
        with state.timed("read+validate", reporter):
            mapping = load_mapping(config.mapping)
            state.frames = load_frames(
                config.data_dir, mapping, now=started, progress=counter(reporter, len(LOAD_ORDER))
            )
        for notice in state.frames.notices:
            state.notices.append(notice)
            reporter.notice(notice)
        _check_reject_share(state, mapping, out)
        with state.timed("canonical graph", reporter):
            state.graph = build_graph(state.frames)
    with state.timed("snapshot", reporter):
        if state.graph is not None:  # --engine gds: the graph stays in the database
            state.outputs.update(write_snapshot(state.graph, out))
        if state.frames is not None:
            state.outputs.update(_write_rejects(state.frames, out))
    with state.timed("analysis", reporter):
        _analysis_step(state, reporter)
    with state.timed("exports", reporter):
        _export_step(state)
    for name, step in EXTRA_STAGES:
        if not STAGE_ENABLED.get(name, lambda _c: True)(config):
            continue
        with state.timed(name, reporter):
            step(state, reporter)

    summary = summarise(state)
    write_json(summary, out / "run.json")
    return summary


def _check_engine(config: RunConfig) -> None:
    if config.engine not in ("embedded", "gds"):
        raise ConfigError(f"unknown engine {config.engine!r}; use 'embedded' or 'gds'")
    if config.engine == "gds" and not (config.from_store and config.store):
        raise ConfigError(
            "--engine gds analyses a graph inside Neo4j: use graphprofile analyze --store "
            "neo4j://host:7687 --engine gds"
        )


def _analyse_in_store(state: JobState, reporter: Reporter) -> Any:
    from graphprofile.analysis.gds_engine import analyse_gds
    from graphprofile.store import open_store

    assert state.config.store is not None
    with open_store(state.config.store) as store:
        return analyse_gds(
            store,
            settings=state.config.settings,
            previous=state.config.previous,
            run_id=state.run_id,
            computed_at=state.started_at,
            seed=state.config.seed,
            progress=reporter.notice,
            concurrency=state.config.gds_concurrency,
        )


def _check_reject_share(state: JobState, mapping: Mapping, out: Path) -> None:
    """Summarise the rejects; above a table's limit, write what there is and stop.

    Raises
    ------
    RejectShareError
        After writing ``rejects/`` and a ``run.json`` with ``"status": "failed"``.
    """
    assert state.frames is not None
    state.rejects = reject_summary(state.frames)
    override = state.config.max_reject_share
    if override is not None and not 0 <= override <= 1:
        raise ConfigError(f"--max-reject-share must be from 0 to 1, not {override:g}")
    limits = {
        table: override if override is not None else float(tm.option("max_reject_share"))
        for table, tm in mapping.tables.items()
    }
    failed = over_limit(state.rejects, limits)
    if not failed:
        return
    message = describe(failed)
    state.outputs.update(_write_rejects(state.frames, out))
    state.status, state.error = "failed", message
    write_json(summarise(state), out / "run.json")
    raise RejectShareError(message)


def _read_store_graph(config: RunConfig) -> CanonicalGraph:
    from graphprofile.store import open_store, read_graph

    if not config.store:
        raise ConfigError("reading the graph from a store needs --store URI")
    with open_store(config.store) as store:
        return read_graph(store)


def summarise(state: JobState) -> dict[str, Any]:
    """The ``run.json`` document for a finished job."""
    frames, graph = state.frames, state.graph
    finished = state.finished_at or pd.Timestamp.now(tz="UTC")
    stats = frames.stats if frames is not None else {}
    tables = {t: s.as_dict() for t, s in sorted(stats.items())}
    summary: dict[str, Any] = {
        "run_id": state.run_id,
        "status": state.status,
        "started_at": state.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "seconds": round((finished - state.started_at).total_seconds(), 3),
        "parameters": state.config.parameters(),
        "packages": package_versions(),
        "tables": tables,
        "rows": {
            "read": sum(s["read"] for s in tables.values()),
            "accepted": sum(s["accepted"] for s in tables.values()),
            "rejected": sum(s["rejected"] for s in tables.values()),
            "merged": sum(s["merged"] for s in tables.values()),
        },
        "rejects": state.rejects,
        # --engine gds reads no graph: the counts come from the database; a run stopped
        # for its rejects has neither
        "graph": graph.counts()
        if graph is not None
        else (state.analysis.meta.get("graph", {}) if state.analysis is not None else {}),
        "stages": state.stages,
        "peak_rss_mb": _peak_rss_mb(),
        "notices": state.notices,
        "outputs": state.outputs,
    }
    if state.error:
        summary["error"] = state.error
    if state.analysis is not None:
        summary["analysis"] = state.analysis.meta
        a = state.analysis
        summary["results"] = results_summary(a.features, a.rings, a.tags, a.meta)
        if "report" in state.outputs:
            summary["results"]["report"] = str(Path(state.config.out_dir) / state.outputs["report"])
    if state.store_summary:
        summary["store"] = state.store_summary
    return summary


# Sinks register their stages in EXTRA_STAGES when imported.
import graphprofile.sinks.graphdb  # noqa: E402
import graphprofile.sinks.report  # noqa: E402,F401
