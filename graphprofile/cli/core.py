"""``graphprofile run`` and ``graphprofile demo``: the main job."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graphprofile.cli.common import (
    CustomersOpt,
    DataDirArg,
    JsonOpt,
    LangOpt,
    MappingOpt,
    OutDirOpt,
    QuietOpt,
    SeedOpt,
    SettingsOpt,
    StoreOpt,
    app,
    console,
    err_console,
)
from graphprofile.i18n import ENGLISH, Messages, messages
from graphprofile.pipeline import RunConfig, run_job


class RichReporter:
    """Progress on stderr (stdout stays clean for ``--json``): a bar per stage with counts
    (tables read, analysis jobs done) where the stage reports them, and notices.

    ``--quiet`` hides the bars and notices; a stderr that is not a terminal (a log file, a
    pipe, CI) hides the bars and keeps one line per finished stage and the notices.
    """

    def __init__(self, quiet: bool, console: Console | None = None) -> None:
        self.console = console or err_console
        self.quiet = quiet
        self.bars = not quiet and self.console.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.quiet:
            yield
            return
        start = time.perf_counter()
        if self.bars:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[item]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self._progress.add_task(name, total=None, item="")
            with self._progress:
                yield
            self._progress = None
        else:
            yield
        seconds = time.perf_counter() - start
        self.console.print(f"[green]✓[/green] {escape(name)} ({seconds:.1f} s)", highlight=False)

    def advance(self, done: int, total: int, item: str = "") -> None:
        """``done`` of ``total`` steps of the current stage (``item``: what is under way)."""
        if self._progress is not None:
            self._progress.update(
                self._task, completed=done, total=max(total, done), item=escape(item)
            )
            self._progress.refresh()  # each step shows, however fast the stage

    def notice(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"  [dim]{escape(text)}[/dim]", highlight=False)


def render_summary(summary: dict[str, Any], msgs: Messages = ENGLISH) -> None:
    """Print the per-table reconciliation, graph counts and stage times (in ``msgs``' language).

    The ``merged`` column (statement lines merged with their mirror) appears when a table
    has such lines.
    """
    t = msgs
    keys = ["read", "accepted", "rejected", "duplicates_merged"]
    if any(s.get("merged") for s in summary["tables"].values()):
        keys.append("merged")
    tables = Table(
        title=t("summary.rows_title_merged" if "merged" in keys else "summary.rows_title")
    )
    tables.add_column(t("summary.table"), justify="left")
    for key in keys:
        tables.add_column(t(f"summary.{key}"), justify="right")
    for name, s in summary["tables"].items():
        tables.add_row(name, *(f"{s[k]:,}" for k in keys))
    console.print(tables)
    graph = Table(title=t("summary.graph_title"))
    graph.add_column(t("summary.element"))
    graph.add_column(t("summary.count"), justify="right")
    for kind in ("nodes", "edges"):
        for name, n in summary["graph"][kind].items():
            graph.add_row(t(f"summary.{kind[:-1]}", name=name), f"{n:,}")
    console.print(graph)
    stages = Table(title=t("summary.stages_title"))
    stages.add_column(t("summary.stage"))
    stages.add_column(t("summary.seconds"), justify="right")
    stages.add_column(t("summary.peak_rss"), justify="right")
    for name, s in summary["stages"].items():
        stages.add_row(name, f"{s['seconds']:.2f}", f"{s['peak_rss_mb']:.0f}")
    console.print(stages)
    render_results(summary, msgs)


def render_results(summary: dict[str, Any], msgs: Messages = ENGLISH) -> None:
    """What the run found and rejected, and where the report is (the ``results`` block)."""
    e, say = escape, msgs
    res = summary.get("results") or {}
    console.print(f"[bold]{say('results.title')}[/bold]")
    if "communities" in res:
        console.print("  " + say("results.communities", **res["communities"]))
    if "rings" in res:
        if res.get("rings_total"):
            by_kind = " — " + ", ".join(
                f"{say.get(f'ring_kind.{k}', k)} {n:,}" for k, n in res["rings"].items()
            )
            console.print("  " + say("results.rings", total=res["rings_total"], by_kind=by_kind))
        else:
            console.print("  " + say("results.rings_none"))
    if "risk_high" in res:
        console.print(
            "  " + say("results.risk", high=res["risk_high"], medium=res.get("risk_medium", 0))
        )
    if res.get("top_rings"):
        console.print("  " + say("results.top_rings"))
        for rank, ring in enumerate(res["top_rings"], start=1):
            console.print("    " + e(say("results.top_ring", rank=rank, **ring)), highlight=False)
    for item in res.get("skipped", []):
        console.print("  [yellow]" + e(say("results.skipped", **item)) + "[/yellow]")
    for table, info in (summary.get("rejects") or {}).items():
        if not info.get("rejected"):
            continue
        console.print("  " + e(say("results.rejects", table=table, **info)), highlight=False)
        for r in info.get("top_reasons", []):
            # row numbers only: the offending values are data (any language, maybe personal)
            rows = ", ".join(str(x["row"]) for x in r["examples"])
            line = say("results.reject_reason", count=r["count"], reason=r["reason"], rows=rows)
            console.print("    " + e(line), highlight=False)
    if res.get("report"):
        console.print("  " + e(say("results.report", path=res["report"])))
    out = summary["parameters"]["out_dir"]
    console.print(say("summary.complete", run_id=summary["run_id"], out=escape(out)))


def _finish(summary: dict[str, Any], quiet: bool, as_json: bool, msgs: Messages = ENGLISH) -> None:
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    elif not quiet:
        render_summary(summary, msgs)


FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Format of result tables: parquet, csv or jsonl.")
]
ReportOpt = Annotated[
    bool, typer.Option("--report/--no-report", help="Write OUT/report.html (default) or not.")
]
MaxRejectShareOpt = Annotated[
    float | None,
    typer.Option(
        "--max-reject-share",
        min=0.0,
        max=1.0,
        help="Stop (exit 2) when a table rejects more than this share of its rows; "
        "default: the mapping's max_reject_share (0.05).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Processes the analysis may use (default: 2 where this process may use two "
        "CPUs, else 1); with two or more, communities and influence run beside the ring "
        "search on large graphs. Same results either way.",
    ),
]
PreviousOpt = Annotated[
    Path | None,
    typer.Option(
        "--previous",
        help="A previous run's output dir: keep its community/ring ids, write changes.*.",
    ),
]


@app.command()
def run(
    data_dir: DataDirArg,
    out: OutDirOpt,
    mapping: MappingOpt = None,
    seed: SeedOpt = 42,
    fmt: FormatOpt = "parquet",
    previous: PreviousOpt = None,
    store: StoreOpt = None,
    max_reject_share: MaxRejectShareOpt = None,
    report: ReportOpt = True,
    settings: SettingsOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Run the main job: load tables, build the graph, analyse it, write tags.

    Example: graphprofile run data/ --out out/ --seed 7
    """
    msgs = messages(lang)
    config = RunConfig(
        data_dir=data_dir,
        out_dir=out,
        mapping=mapping,
        seed=seed,
        fmt=fmt,
        previous=previous,
        store=store,
        settings_file=settings,
        lang=msgs.lang,
        max_reject_share=max_reject_share,
        report=report,
        workers=workers,
    )
    summary = run_job(config, RichReporter(quiet or as_json))
    _finish(summary, quiet, as_json, msgs)


@app.command()
def analyze(
    store: StoreOpt = None,
    out: OutDirOpt = Path("out"),
    seed: SeedOpt = 42,
    fmt: FormatOpt = "parquet",
    previous: PreviousOpt = None,
    write_back: Annotated[
        bool, typer.Option("--write-back/--no-write-back", help="Write the tags back.")
    ] = True,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="embedded: read the graph and analyse it here; gds: analyse it inside "
            "Neo4j with Graph Data Science (same tables and tags).",
        ),
    ] = "embedded",
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="GDS threads with --engine gds (1-4).")
    ] = 4,
    settings: SettingsOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the analysis on a graph read from a database that other systems maintain.

    Example: graphprofile analyze --store neo4j://localhost:7687 --engine gds --out out/
    """
    config = RunConfig(
        data_dir=Path("."),
        out_dir=out,
        seed=seed,
        fmt=fmt,
        previous=previous,
        store=store,
        from_store=True,
        write_back=write_back,
        engine=engine,
        gds_concurrency=concurrency,
        settings_file=settings,
    )
    summary = run_job(config, RichReporter(quiet or as_json))
    _finish(summary, quiet, as_json)


@app.command()
def demo(
    customers: CustomersOpt = 5000,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the sample bank and results go.")
    ] = Path("gp-demo"),
    seed: SeedOpt = 42,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Generate a sample bank and run the main job on it, then say where everything is.

    Example: graphprofile demo --customers 5000 --workdir gp-demo
    """
    from graphprofile.generate import generate_bank

    data, out = workdir / "data", workdir / "out"
    reporter = RichReporter(quiet or as_json)
    with reporter.stage(f"generate {customers:,} customers"):
        generate_bank(data, customers=customers, seed=seed)
    msgs = messages(lang)
    summary = run_job(RunConfig(data_dir=data, out_dir=out, seed=seed, lang=msgs.lang), reporter)
    _finish(summary, quiet, as_json, msgs)
    if not (quiet or as_json):
        from graphprofile.cli.analysis import render_evaluation
        from graphprofile.evaluate import evaluate

        console.print("Quality against the planted ground truth (graphprofile evaluate):")
        render_evaluation(evaluate(out, data / "truth"))
        console.print(f"Report:           {out / 'report.html'}")
        console.print(f"Sample bank:      {data}  (ground truth in {data / 'truth'})")
        console.print(f"Graph snapshot:   {out / 'graph'}")
        console.print(f"Tags & features:  {out}  (tags, features, rings, communities)")
        console.print(f"Run summary:      {out / 'run.json'}")
        console.print(f"Rejected rows:    {out / 'rejects'}")
