"""``OUT/report.html``: one self-contained, offline page about a run.

Run summary and data quality (rows read/accepted/rejected per table), charts (community
sizes, PageRank, risk, ring kinds), a picture of each of the top rings with its reasons
in words, the top influencers of the largest communities, and churn since the previous
run when the run had one. Charts are matplotlib (Agg) PNGs embedded as ``data:`` URIs;
ring pictures are networkx drawings. Every piece of data is HTML-escaped.

Written by ``graphprofile run`` (registered in :data:`graphprofile.pipeline.EXTRA_STAGES`)
and by ``graphprofile report OUT_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile.errors import OutputError
from graphprofile.i18n import ENGLISH as say  # the report's own language switch: #17
from graphprofile.sinks import report_charts as charts
from graphprofile.sinks import report_html as h
from graphprofile.sinks import report_views as views
from graphprofile.sinks.report_data import (
    RunOutputs,
    as_list,
    is_missing,
    load_outputs,
    reasons_in_words,
)
from graphprofile.sinks.report_graph import ring_subgraph
from graphprofile.sinks.report_views import ROLE_ORDER
from graphprofile.sinks.tables import read_table

REPORT_NAME = "report.html"


def _summary_section(out: RunOutputs) -> str:
    s = out.summary
    params = s.get("parameters", {})
    items = [
        ("run id", s.get("run_id")),
        ("status", s.get("status")),
        ("started", s.get("started_at")),
        ("finished", s.get("finished_at")),
        ("seconds", s.get("seconds")),
        ("input", params.get("data_dir")),
        ("seed", params.get("seed")),
        ("previous run", params.get("previous")),
        ("graphprofile", s.get("packages", {}).get("graphprofile")),
    ]
    graph = s.get("graph", {})
    counts = [
        (f"{kind[:-1]} {name}", n)
        for kind in ("nodes", "edges")
        for name, n in graph.get(kind, {}).items()
    ]
    body = h.definition_list((k, v) for k, v in items if v is not None)
    body += "<h3>Graph</h3>" + h.table(["element", "count"], counts, numeric=[1])
    notices = s.get("notices") or []
    if notices:
        body += "<h3>Notices</h3>" + h.bullet_list(notices, css="notices")
    return h.section("summary", "Run summary", body)


def _quality_section(out: RunOutputs) -> str:
    tables = out.summary.get("tables", {})
    rows = [
        (name, t.get("read"), t.get("accepted"), t.get("rejected"), t.get("duplicates_merged"))
        for name, t in tables.items()
    ]
    total = out.summary.get("rows", {})
    if rows:
        rows.append(
            ("all tables", total.get("read"), total.get("accepted"), total.get("rejected"), None)
        )
    body = h.table(
        ["table", "read", "accepted", "rejected", "duplicates merged"], rows, numeric=[1, 2, 3, 4]
    )
    body += h.note("read = accepted + rejected for every table; each rejected row is listed "
                   "with its file, row and reason in rejects/<table>.csv.")  # fmt: skip
    return h.section("quality", "Data quality", body)


def _risk_high(out: RunOutputs) -> float | None:
    settings = out.analysis_meta.get("settings", {})
    value = settings.get("risk_high") if isinstance(settings, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _charts_section(out: RunOutputs) -> str:
    f, rings, comms = out.features, out.rings, out.communities
    figures, missing = [], []

    def add(ident: str, title: str, make: Any, *args: Any) -> None:
        figures.append(h.image(charts.data_uri(make(*args)), alt=title, kind="chart", ident=ident))

    if comms is not None and "size" in comms.columns and len(comms):
        add(
            "chart-communities",
            "Community size distribution",
            charts.community_sizes_chart,
            comms["size"],
        )
    elif f is not None and "community_id" in f.columns:
        sizes = f["community_id"].value_counts()
        add("chart-communities", "Community size distribution", charts.community_sizes_chart, sizes)
    else:
        missing.append("community sizes (no communities in this run)")
    if f is not None and "pagerank" in f.columns:
        add("chart-pagerank", "PageRank distribution", charts.pagerank_chart, f["pagerank"])
    else:
        missing.append("PageRank (no features.pagerank)")
    if f is not None and "risk_score" in f.columns:
        add("chart-risk", "Risk histogram", charts.risk_chart, f["risk_score"], _risk_high(out))
    else:
        missing.append("risk (no features.risk_score)")
    if rings is not None and "kind" in rings.columns and len(rings):
        add("chart-ring-kinds", "Rings by kind", charts.ring_kinds_chart, rings["kind"])
    else:
        missing.append("ring kinds (no rings found)")
    body = f'<div class="charts">{"".join(figures)}</div>'
    if missing:
        body += h.note("Not shown: " + "; ".join(missing) + ".")
    return h.section("charts", "Charts", body)


def top_rings(rings: pd.DataFrame | None, n: int) -> pd.DataFrame:
    """The ``n`` riskiest rings (ties: larger first, then by id)."""
    if rings is None or rings.empty or "ring_id" not in rings.columns:
        return pd.DataFrame()
    frame = rings.copy()
    frame["_risk"] = pd.to_numeric(frame.get("risk", 0.0), errors="coerce").fillna(0.0)
    frame["_size"] = pd.to_numeric(frame.get("size", 0), errors="coerce").fillna(0)
    frame = frame.sort_values(["_risk", "_size", "ring_id"], ascending=[False, False, True])
    return frame.head(n).drop(columns=["_risk", "_size"])


def _member_rows(
    out: RunOutputs, customers: list[str], roles: dict[str, str], known: dict[str, bool]
) -> list[tuple[Any, ...]]:
    f = out.features
    rows = []
    sel = (
        f[f["customer_id"].astype(str).isin(customers)].set_index("customer_id")
        if f is not None and "customer_id" in f.columns
        else pd.DataFrame()
    )
    for c in customers:
        row = sel.loc[c] if c in sel.index else {}
        rows.append(
            (
                c,
                roles.get(c, "member"),
                "yes" if known.get(c) else "no",
                *(row.get(col) if len(row) else None for col in ("risk_score", "pagerank_pct")),
                row.get("community_id") if len(row) else None,
            )
        )
    return sorted(rows, key=lambda r: (ROLE_ORDER.get(r[1], 9), -(r[3] or 0.0), r[0]))


def _ring_block(out: RunOutputs, ring: dict[str, Any], rank: int) -> str:
    rid = str(ring["ring_id"])
    graph = ring_subgraph(out, rid) if out.graph is not None else None
    first, last = ring.get("first_ts"), ring.get("last_ts")
    when = ""
    if not is_missing(first) and not is_missing(last):
        when = f'<span class="badge">{h.esc(first)} → {h.esc(last)}</span>'
    badges = (
        f'<span class="badge">{h.esc(ring.get("kind"))}</span>'
        f'<span class="badge">{h.esc(ring.get("size"))} members</span>'
        f'<span class="badge risk">risk {h.esc(ring.get("risk"))}</span>{when}'
    )
    body = f'<div class="ring" id="ring-{rank}"><h3>{rank}. Ring {h.esc(rid)}</h3>{badges}'
    customers = [str(c) for c in ring.get("customers", []) or []]
    roles: dict[str, str] = {}
    known: dict[str, bool] = {}
    if graph is not None:
        elements = views.ring_elements(ring, graph)
        for node in elements["nodes"]:
            d = node["data"]
            if d.get("customer") and d.get("role"):
                best = roles.get(d["customer"])
                if best is None or ROLE_ORDER[d["role"]] < ROLE_ORDER[best]:
                    roles[d["customer"]] = d["role"]
        known = {
            str(d["key"]): d.get("known_fraud") is True
            for _, d in graph.nodes(data=True)
            if d["label"] == "customer"
        }
        data = views.as_script_json(
            {"elements": elements, "customers": views.customer_details(out, customers)}
        )
        body += h.interactive(
            f"cy-ring-{rank}",
            data,
            hint=say("report.ring.details_hint"),
            caption=say("report.ring.interactive"),
        )
        title = f"Ring {rid} ({ring.get('kind', 'ring')})"
        uri = charts.data_uri(charts.ring_picture(graph, title=title))
        shared = sum(1 for _, d in graph.nodes(data=True) if d["label"] in ("device", "identifier"))
        flows = sum(1 for *_, d in graph.edges(data=True) if d["type"] == "TRANSFER")
        caption = (
            f"{graph.number_of_nodes()} nodes: members, their accounts, {shared} shared "
            f"devices/identifiers and {flows} money flows between members' accounts."
        )
        body += h.image(
            uri,
            alt=f"Picture of ring {rid}",
            kind="ring",
            ident=f"ring-img-{rank}",
            caption=caption,
            css="print-only",
        )
    else:
        body += h.note("No graph snapshot in this output directory: picture not drawn.")
    body += "<h3>Why it was flagged</h3>" + h.bullet_list(reasons_in_words(ring.get("reasons")))
    body += f"<h3>{h.esc(say('report.ring.members'))}</h3>" + h.table(
        ["member", "role", "known fraud", "risk", "PageRank pct", "community"],
        _member_rows(out, customers, roles, known),
        numeric=[3, 4],
    )
    return body + "</div>"


def _rings_section(out: RunOutputs, n: int) -> str:
    chosen = top_rings(out.rings, n)
    if chosen.empty:
        return h.section("rings", "Top rings", h.note("No rings were found in this run."))
    blocks = []
    for rank, ring in enumerate(chosen.to_dict("records"), start=1):
        ring["customers"] = as_list(ring.get("customers"))
        blocks.append(_ring_block(out, ring, rank))
    total = len(out.rings) if out.rings is not None else 0
    intro = h.note(say("report.ring.intro", shown=len(chosen), total=total))
    return h.section("rings", "Top rings", intro + "".join(blocks))


#: High-risk customers listed in the report (riskiest first).
MAX_HIGH_RISK_ROWS = 2000


def _high_risk_section(out: RunOutputs) -> str:
    tags = out.tags
    title = say("report.high_risk.title")
    if tags is None or "tag" not in tags.columns:
        return h.section("high-risk", title, h.note(say("report.high_risk.none")))
    high = tags[tags["tag"] == "risk:high"]
    if high.empty:
        return h.section("high-risk", title, h.note(say("report.high_risk.none")))
    f = out.features
    extra = (
        f.set_index(f["customer_id"].astype(str))
        if f is not None and "customer_id" in f.columns
        else pd.DataFrame()
    )
    rows = []
    for t in (
        high.sort_values(["score", "customer_id"], ascending=[False, True])
        .head(MAX_HIGH_RISK_ROWS)
        .to_dict("records")
    ):
        c = str(t["customer_id"])
        ring = extra.loc[c].get("ring_id") if c in extra.index else None
        kf = extra.loc[c].get("known_fraud") if c in extra.index else None
        rows.append(
            (
                c,
                t.get("score"),
                "yes" if kf is True or kf == 1 else "no",
                None if is_missing(ring) else ring,
                "; ".join(reasons_in_words(t.get("reasons"))),
            )
        )
    body = h.note(say("report.high_risk.intro", count=len(high)))
    if len(high) > MAX_HIGH_RISK_ROWS:
        body += h.note(say("report.high_risk.capped", n=MAX_HIGH_RISK_ROWS))
    body += h.table(
        ["customer", "risk", "known fraud", "ring", "reasons"],
        rows,
        numeric=[1],
        sortable=True,
        ident="high-risk-table",
    )
    return h.section("high-risk", title, body)


def _rejects_section(out: RunOutputs) -> str | None:
    rejects = out.summary.get("rejects")
    if not isinstance(rejects, dict) or not rejects:
        return None
    rows = []
    for table, info in rejects.items():
        for r in info.get("top_reasons", []):
            ex = r["examples"][0] if r.get("examples") else {}
            rows.append((table, r.get("reason"), r.get("count"), ex.get("row"), ex.get("reason")))
    if not rows:
        body = h.note(say("report.rejects.none"))
    else:
        body = h.table(["table", "reason", "rows", "e.g. row", "as recorded"], rows, numeric=[2, 3])
    return h.section("rejects", say("report.rejects.title"), body)


#: Largest communities drawn as interactive views in the influencers section.
COMMUNITY_VIEWS = 3


def _community_view(out: RunOutputs, cid: Any, rank: int) -> str:
    elements = views.community_elements(out, cid)
    if not elements["nodes"]:
        return ""
    customers = [n["data"]["customer"] for n in elements["nodes"]]
    data = views.as_script_json(
        {"elements": elements, "customers": views.customer_details(out, customers)}
    )
    return h.interactive(
        f"cy-community-{rank}",
        data,
        hint=say("report.ring.details_hint"),
        caption=say("report.community.interactive", n=len(customers)),
    )


def _influencers_section(out: RunOutputs, n_communities: int = 10, per: int = 5) -> str:
    f = out.features
    if f is None or not {"community_id", "pagerank"} <= set(f.columns):
        return h.section(
            "influencers",
            "Top influencers per community",
            h.note("No influence results in this run."),
        )
    sizes = f["community_id"].value_counts().head(n_communities)
    body = []
    for rank, (cid, size) in enumerate(sizes.items(), start=1):
        members = f[f["community_id"] == cid].nlargest(per, "pagerank")
        rows = [
            (
                r["customer_id"],
                r.get("pagerank"),
                r.get("pagerank_pct"),
                r.get("degree"),
                r.get("risk_score"),
            )
            for r in members.to_dict("records")
        ]
        body.append(f"<h3>Community {h.esc(cid)} · {h.esc(int(size))} customers</h3>")
        if rank <= COMMUNITY_VIEWS and out.graph is not None:
            body.append(_community_view(out, cid, rank))
        body.append(
            h.table(
                ["customer", "PageRank", "PageRank pct", "degree", "risk"],
                rows,
                numeric=[1, 2, 3, 4],
            )
        )
    intro = h.note(
        f"The {len(sizes)} largest communities and their {per} most influential members."
    )
    return h.section("influencers", "Top influencers per community", intro + "".join(body))


def _churn_section(out: RunOutputs) -> str | None:
    churn = out.analysis_meta.get("churn")
    if not isinstance(churn, dict) or not churn:
        return None
    groups = churn if all(isinstance(v, dict) for v in churn.values()) else {"communities": churn}
    if not any(g.get("previous", True) for g in groups.values()):
        return None
    keys = sorted({k for g in groups.values() for k in g if k != "previous"})
    rows = [(name, *(g.get(k) for k in keys)) for name, g in groups.items()]
    body = h.table(
        ["", *[k.replace("_", " ") for k in keys]], rows, numeric=range(1, len(keys) + 1)
    )
    return h.section("churn", "Churn since the previous run", body)


#: Tags whose changes the report lists one by one (the others are counted).
LISTED_CHANGES = ("risk:high", "risk:medium", "ring_member", "near_known_fraud")
MAX_LISTED_CHANGES = 50


def _changes_section(out: RunOutputs) -> str | None:
    """Tags gained, lost and changed since the previous run (``changes.*``).

    Only a ``changes`` table that this run lists in ``run.json`` outputs is read: one left in
    the directory by an earlier run with ``--previous`` is not this run's.
    """
    if not out.summary.get("outputs", {}).get("changes"):
        return None
    changes = read_table(out.out_dir, "changes")
    if changes is None:
        return None
    previous = changes["previous_run_id"].dropna()
    intro = h.note(
        f"{len(changes):,} tag changes since run "
        f"{previous.iloc[0] if len(previous) else 'the previous run'} (changes.* in the output)."
    )
    counts = changes.groupby(["tag", "change"]).size().unstack(fill_value=0)
    kinds = [k for k in ("gained", "lost", "changed") if k in counts.columns]
    rows = [(tag, *(int(counts.at[tag, k]) for k in kinds)) for tag in counts.index]
    body = intro + h.table(["tag", *kinds], rows, numeric=range(1, len(kinds) + 1))
    listed = changes[changes["tag"].isin(LISTED_CHANGES)].copy()
    if len(listed):
        listed["_rank"] = listed["tag"].map({t: i for i, t in enumerate(LISTED_CHANGES)})
        listed["_order"] = listed["new_score"].fillna(listed["old_score"])
        listed = listed.sort_values(["_rank", "_order"], ascending=[True, False], kind="stable")
        shown = listed.head(MAX_LISTED_CHANGES)
        detail = [
            (
                r["customer_id"],
                r["tag"],
                r["change"],
                r["old_value"],
                r["new_value"],
                r["new_score"] if r["change"] != "lost" else r["old_score"],
                "; ".join(reasons_in_words(r["reasons"])),
            )
            for r in shown.to_dict("records")
        ]
        body += f"<h3>Risk and ring changes ({len(shown)} of {len(listed)})</h3>"
        body += h.table(
            ["customer", "tag", "change", "old value", "new value", "score", "why"],
            detail,
            numeric=[5],
        )
    return h.section("changes", "Tag changes since the previous run", body)


def build_report(out: RunOutputs, *, top_rings: int = 10) -> str:
    """The report as an HTML string.

    Parameters
    ----------
    out : RunOutputs
        A run's outputs (from :func:`load_outputs` or from the running job).
    top_rings : int, default 10
        Rings drawn, riskiest first.

    Returns
    -------
    str
        A complete HTML document without external resources.
    """
    run_id = out.summary.get("run_id", "unknown run")
    sections = [_summary_section(out), _quality_section(out)]
    rejects = _rejects_section(out)
    if rejects:
        sections.append(rejects)
    sections += [_charts_section(out), _rings_section(out, top_rings), _high_risk_section(out)]
    sections.append(_influencers_section(out))
    churn = _churn_section(out)
    if churn:
        sections.append(churn)
    changes = _changes_section(out)
    if changes:
        sections.append(changes)
    generated = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return h.page(
        f"graphprofile report · {run_id}",
        f"Generated {generated} from {out.out_dir}",
        sections,
        library=views.cytoscape_js(),
    )


def write_report(out: RunOutputs, *, top_rings: int = 10) -> Path:
    """Write ``OUT/report.html`` atomically and return its path.

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    document = build_report(out, top_rings=top_rings)
    path = Path(out.out_dir) / REPORT_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(document, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_report_for(out_dir: Path, *, top_rings: int = 10) -> Path:
    """Read a finished run's outputs and (re)write its report (``graphprofile report``)."""
    return write_report(load_outputs(out_dir), top_rings=top_rings)


def report_stage(state: Any, reporter: Any) -> None:
    """Pipeline stage: write the report from the job's state (skipped when disabled)."""
    from graphprofile.pipeline import summarise

    if not getattr(state.config, "report", True):
        return
    state.outputs["report"] = REPORT_NAME
    state.finished_at = pd.Timestamp.now(tz="UTC")  # run.json shows the same run time
    result = state.analysis
    out = RunOutputs(
        out_dir=Path(state.config.out_dir),
        summary=summarise(state),
        features=getattr(result, "features", None),
        tags=getattr(result, "tags", None),
        rings=getattr(result, "rings", None),
        communities=getattr(result, "communities", None),
        graph=state.graph,
    )
    write_report(out)
    reporter.notice(f"report: {Path(state.config.out_dir) / REPORT_NAME}")


def _register() -> None:
    from graphprofile import pipeline

    if all(name != "report" for name, _ in pipeline.EXTRA_STAGES):
        pipeline.EXTRA_STAGES.append(("report", report_stage))


_register()

__all__ = ["build_report", "report_stage", "write_report", "write_report_for"]
