"""``OUT/report.html``: one self-contained, offline page about a run.

Run summary and data quality (rows read/accepted/rejected per table), charts (community
sizes, PageRank, risk, ring kinds), a picture of each of the top rings with its reasons
in words, the top influencers of the largest communities, and churn since the previous
run when the run had one. Charts are matplotlib (Agg) PNGs embedded as ``data:`` URIs;
ring pictures (the print twins of the interactive ring views) are SVG written by
:mod:`graphprofile.sinks.report_ring_svg`, embedded the same way. Every piece of data is
HTML-escaped.

Written by ``graphprofile run`` (its report stage, after the result tables and before any
graph write-back) and by ``graphprofile report OUT_DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from graphprofile._arrow import is_in
from graphprofile.i18n import ENGLISH, Messages, messages
from graphprofile.outputs import REPORT, RunOutputs, load_outputs, write_text
from graphprofile.sinks import fonts
from graphprofile.sinks import report_charts as charts
from graphprofile.sinks import report_html as h
from graphprofile.sinks import report_ring_svg as ring_svg
from graphprofile.sinks import report_views as views
from graphprofile.sinks.report_data import (
    as_list,
    fmt_value,
    is_missing,
    reasons_in_words,
)
from graphprofile.sinks.report_graph import ring_keys, ring_subgraph, scope
from graphprofile.sinks.report_views import ROLE_ORDER


def _text(value: Any) -> str:
    """A value as plain text for a message field (``—`` when missing)."""
    return "—" if is_missing(value) else fmt_value(value)


def _summary_section(out: RunOutputs, say: Messages) -> str:
    s = out.summary
    params = s.get("parameters", {})
    items = [
        ("run_id", s.get("run_id")),
        ("status", s.get("status")),
        ("started", s.get("started_at")),
        ("finished", s.get("finished_at")),
        ("seconds", s.get("seconds")),
        ("input", params.get("data_dir")),
        ("seed", params.get("seed")),
        ("previous", params.get("previous")),
        ("graphprofile", s.get("packages", {}).get("graphprofile")),
    ]
    graph = s.get("graph", {})
    counts = [
        (say(f"summary.{kind[:-1]}", name=name), n)
        for kind in ("nodes", "edges")
        for name, n in graph.get(kind, {}).items()
    ]
    body = h.definition_list((say(f"report.summary.{k}"), v) for k, v in items if v is not None)
    body += f"<h3>{h.esc(say('report.summary.graph'))}</h3>" + h.table(
        [say("report.summary.element"), say("report.summary.count")],
        counts,
        numeric=[1],
        empty=say("report.none"),
    )
    notices = s.get("notices") or []
    if notices:
        body += f"<h3>{h.esc(say('report.summary.notices'))}</h3>"
        body += h.bullet_list(notices, css="notices", empty=say("report.no_reasons"))
    return h.section("summary", say("report.summary.title"), body)


def _quality_section(out: RunOutputs, say: Messages) -> str:
    tables = out.summary.get("tables", {})
    keys = ["read", "accepted", "rejected", "duplicates_merged"]
    merged = any(t.get("merged") for t in tables.values())
    if merged:  # statement lines merged with their mirror (statement-format transactions)
        keys.append("merged")
    rows = [(name, *(t.get(k) for k in keys)) for name, t in tables.items()]
    total = out.summary.get("rows", {})
    if rows:
        totals = [total.get(k) if k != "duplicates_merged" else None for k in keys]
        rows.append((say("report.quality.all_tables"), *totals))
    body = h.table(
        [say("report.quality.table"), *(say(f"summary.{k}") for k in keys)],
        rows,
        numeric=range(1, len(keys) + 1),
        empty=say("report.none"),
    )
    body += h.note(say("report.quality.note_merged" if merged else "report.quality.note"))
    return h.section("quality", say("report.quality.title"), body)


def _risk_high(out: RunOutputs) -> float | None:
    settings = out.analysis_meta.get("settings", {})
    value = settings.get("risk_high") if isinstance(settings, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _charts_section(out: RunOutputs, say: Messages) -> str:
    f, rings, comms = out.features, out.rings, out.communities
    figures, missing = [], []
    # chart labels in the report's language when a font can draw it, else in English
    draw = messages(fonts.chart_language(say.lang))

    def add(ident: str, title: str, make: Any, *args: Any) -> None:
        with fonts.chart_fonts(draw.lang):
            png = make(*args, say=draw)
        figures.append(h.image(charts.data_uri(png), alt=title, kind="chart", ident=ident))

    if comms is not None and "size" in comms.columns and len(comms):
        sizes = comms["size"]
    elif f is not None and "community_id" in f.columns:
        sizes = f["community_id"].value_counts()
    else:
        sizes = None
        missing.append(say("report.charts.no_communities"))
    if sizes is not None:
        add(
            "chart-communities",
            say("report.charts.communities"),
            charts.community_sizes_chart,
            sizes,
        )
    if f is not None and "pagerank" in f.columns:
        add("chart-pagerank", say("report.charts.pagerank"), charts.pagerank_chart, f["pagerank"])
    else:
        missing.append(say("report.charts.no_pagerank"))
    if f is not None and "risk_score" in f.columns:
        add("chart-risk", say("report.charts.risk"), charts.risk_chart, f["risk_score"],
            _risk_high(out))  # fmt: skip
    else:
        missing.append(say("report.charts.no_risk"))
    if rings is not None and "kind" in rings.columns and len(rings):
        add("chart-ring-kinds", say("report.charts.ring_kinds"), charts.ring_kinds_chart,
            rings["kind"])  # fmt: skip
    else:
        missing.append(say("report.charts.no_rings"))
    body = f'<div class="charts">{"".join(figures)}</div>'
    if missing:
        body += h.note(say("report.charts.not_shown", what="; ".join(missing)))
    if say.lang != draw.lang:
        body += h.note(say("report.charts.no_cjk_font", env=fonts.ENV_FONT))
    return h.section("charts", say("report.charts.title"), body)


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
    out: RunOutputs,
    customers: list[str],
    roles: dict[str, str],
    known: dict[str, bool],
    say: Messages = ENGLISH,
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
                say("report.yes") if known.get(c) else say("report.no"),
                *(row.get(col) if len(row) else None for col in ("risk_score", "pagerank_pct")),
                row.get("community_id") if len(row) else None,
            )
        )
    rows.sort(key=lambda r: (ROLE_ORDER.get(r[1], 9), -(r[3] or 0.0), r[0]))
    return [(r[0], say.get(f"report.role.{r[1]}", r[1]), *r[2:]) for r in rows]


def _ring_block(out: RunOutputs, ring: dict[str, Any], rank: int, say: Messages) -> str:
    rid = str(ring["ring_id"])
    graph = ring_subgraph(out, rid) if out.graph is not None else None
    first, last = ring.get("first_ts"), ring.get("last_ts")
    when = ""
    if not is_missing(first) and not is_missing(last):
        when = f'<span class="badge">{h.esc(first)} → {h.esc(last)}</span>'
    kind = str(ring.get("kind", "ring"))
    kind_words = kind if say.is_default else say.get(f"ring_kind.{kind}", kind)
    badges = (
        f'<span class="badge">{h.esc(kind_words)}</span>'
        f'<span class="badge">{h.esc(say("report.rings.members_badge", n=_text(ring.get("size"))))}'
        f'</span><span class="badge risk">'
        f"{h.esc(say('report.rings.risk_badge', risk=_text(ring.get('risk'))))}</span>{when}"
    )
    heading = say("report.rings.heading", rank=rank, ring_id=rid)
    body = f'<div class="ring" id="ring-{rank}"><h3>{h.esc(heading)}</h3>{badges}'
    customers = [str(c) for c in ring.get("customers", []) or []]
    roles: dict[str, str] = {}
    known: dict[str, bool] = {}
    if graph is not None:
        elements = views.ring_elements(ring, graph, say)
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
            {"elements": elements, "customers": views.customer_details(out, customers, say)}
        )
        body += h.interactive(
            f"cy-ring-{rank}",
            data,
            hint=say("report.ring.details_hint"),
            caption=say("report.ring.interactive"),
        )
        draw = messages(fonts.chart_language(say.lang))
        picture_kind = kind if draw.is_default else draw.get(f"ring_kind.{kind}", kind)
        title = draw("report.rings.picture_title", ring_id=rid, kind=picture_kind)
        uri = ring_svg.svg_data_uri(ring_svg.ring_picture(graph, title=title, say=draw))
        shared = sum(1 for _, d in graph.nodes(data=True) if d["label"] in ("device", "identifier"))
        flows = sum(1 for *_, d in graph.edges(data=True) if d["type"] == "TRANSFER")
        caption = say(
            "report.rings.picture_caption",
            nodes=graph.number_of_nodes(),
            shared=shared,
            flows=flows,
        )
        body += h.image(
            uri,
            alt=say("report.rings.picture_alt", ring_id=rid),
            kind="ring",
            ident=f"ring-img-{rank}",
            caption=caption,
            css="print-only",
        )
    else:
        body += h.note(say("report.rings.no_snapshot"))
    body += f"<h3>{h.esc(say('report.rings.why'))}</h3>" + h.bullet_list(
        reasons_in_words(ring.get("reasons"), say), empty=say("report.no_reasons")
    )
    columns = ("member", "role", "known_fraud", "risk", "pagerank_pct", "community")
    body += f"<h3>{h.esc(say('report.ring.members'))}</h3>" + h.table(
        [say(f"report.rings.{c}") for c in columns],
        _member_rows(out, customers, roles, known, say),
        numeric=[3, 4],
        empty=say("report.none"),
    )
    return body + "</div>"


def _views_scope(out: RunOutputs, n: int) -> RunOutputs:
    """``out`` cut down to the rows the drawn views read (the ``n`` top rings' members and
    named accounts, the members of the communities drawn), found in one pass over the
    bank's tables (:func:`~graphprofile.sinks.report_graph.scope`); ``out`` without a
    graph."""
    if out.graph is None:
        return out
    chosen = top_rings(out.rings, n)
    customers, accounts = (
        ring_keys(out, chosen["ring_id"].astype(str)) if len(chosen) else (set(), set())
    )
    customers.update(_drawn_community_members(out))
    return scope(out, customers, accounts)


def _communities_by_size(out: RunOutputs) -> pd.Series | None:
    """Members per community, largest first; ``None`` without the columns the influencer
    section reads."""
    f = out.features
    if f is None or not {"community_id", "pagerank"} <= set(f.columns):
        return None
    return f["community_id"].value_counts()


def _drawn_community_members(out: RunOutputs) -> list[str]:
    """The customers of the communities :func:`_influencers_section` draws (the
    :data:`COMMUNITY_VIEWS` largest)."""
    sizes = _communities_by_size(out)
    if sizes is None:
        return []
    f = out.features
    assert f is not None
    drawn = {str(c) for c in sizes.index[:COMMUNITY_VIEWS]}
    return f.loc[f["community_id"].astype(str).isin(drawn), "customer_id"].astype(str).tolist()


def _rings_section(out: RunOutputs, n: int, say: Messages, view: RunOutputs) -> str:
    chosen = top_rings(out.rings, n)
    title = say("report.rings.title")
    if chosen.empty:
        return h.section("rings", title, h.note(say("report.rings.none")))
    blocks = []
    scope = view  # the rows the drawn rings read (_views_scope)
    for rank, ring in enumerate(chosen.to_dict("records"), start=1):
        ring["customers"] = as_list(ring.get("customers"))
        blocks.append(_ring_block(scope, ring, rank, say))
    total = len(out.rings) if out.rings is not None else 0
    intro = h.note(say("report.ring.intro", shown=len(chosen), total=total))
    return h.section("rings", title, intro + "".join(blocks))


#: High-risk customers listed in the report (riskiest first).
MAX_HIGH_RISK_ROWS = 2000


def _high_risk_section(out: RunOutputs, say: Messages) -> str:
    tags = out.tags
    title = say("report.high_risk.title")
    if tags is None or "tag" not in tags.columns:
        return h.section("high-risk", title, h.note(say("report.high_risk.none")))
    high = tags[tags["tag"] == "risk:high"]
    if high.empty:
        return h.section("high-risk", title, h.note(say("report.high_risk.none")))
    listed = (
        high.sort_values(["score", "customer_id"], ascending=[False, True])
        .head(MAX_HIGH_RISK_ROWS)
        .to_dict("records")
    )
    f = out.features
    if f is not None and "customer_id" in f.columns:
        # only the listed customers' rows, looked up once each (indexing every customer's
        # row by text and two lookups per listed row took seconds at 1M customers, #16)
        f = f[is_in(f["customer_id"], {str(t["customer_id"]) for t in listed})]
        extra = f.set_index(f["customer_id"].astype(str))
    else:
        extra = pd.DataFrame()
    rows = []
    for t in listed:
        c = str(t["customer_id"])
        row = extra.loc[c] if c in extra.index else None
        ring = row.get("ring_id") if row is not None else None
        kf = row.get("known_fraud") if row is not None else None
        rows.append(
            (
                c,
                t.get("score"),
                say("report.yes") if kf is True or kf == 1 else say("report.no"),
                None if is_missing(ring) else ring,
                say("reason.steps_separator").join(reasons_in_words(t.get("reasons"), say)),
            )
        )
    body = h.note(say("report.high_risk.intro", count=len(high)))
    if len(high) > MAX_HIGH_RISK_ROWS:
        body += h.note(say("report.high_risk.capped", n=MAX_HIGH_RISK_ROWS))
    body += h.table(
        [
            say(f"report.high_risk_table.{c}")
            for c in ("customer", "risk", "known_fraud", "ring", "reasons")
        ],
        rows,
        numeric=[1],
        sortable=True,
        ident="high-risk-table",
    )
    return h.section("high-risk", title, body)


def _rejects_section(out: RunOutputs, say: Messages) -> str | None:
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
        columns = ("table", "reason", "rows", "example_row", "as_recorded")
        body = h.table([say(f"report.rejects_table.{c}") for c in columns], rows, numeric=[2, 3])
    return h.section("rejects", say("report.rejects.title"), body)


#: Largest communities drawn as interactive views in the influencers section.
COMMUNITY_VIEWS = 3


def _community_view(out: RunOutputs, cid: Any, rank: int, say: Messages) -> str:
    elements = views.community_elements(out, cid, say)
    if not elements["nodes"]:
        return ""
    customers = [n["data"]["customer"] for n in elements["nodes"]]
    data = views.as_script_json(
        {"elements": elements, "customers": views.customer_details(out, customers, say)}
    )
    return h.interactive(
        f"cy-community-{rank}",
        data,
        hint=say("report.ring.details_hint"),
        caption=say("report.community.interactive", n=len(customers)),
    )


def _influencers_section(
    out: RunOutputs, say: Messages, view: RunOutputs, n_communities: int = 10, per: int = 5
) -> str:
    f = out.features
    title = say("report.influencers.title")
    by_size = _communities_by_size(out)
    if f is None or by_size is None:
        return h.section("influencers", title, h.note(say("report.influencers.none")))
    sizes = by_size.head(n_communities)
    view_scope = view  # the rows the community views read (_views_scope)
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
        heading = say("report.influencers.heading", community_id=_text(cid), size=_text(int(size)))
        body.append(f"<h3>{h.esc(heading)}</h3>")
        if rank <= COMMUNITY_VIEWS and out.graph is not None:
            body.append(_community_view(view_scope, cid, rank, say))
        columns = ("customer", "pagerank", "pagerank_pct", "degree", "risk")
        body.append(
            h.table(
                [say(f"report.influencers.{c}") for c in columns],
                rows,
                numeric=[1, 2, 3, 4],
                empty=say("report.none"),
            )
        )
    intro = h.note(say("report.influencers.intro", n=len(sizes), per=per))
    return h.section("influencers", title, intro + "".join(body))


def _churn_section(out: RunOutputs, say: Messages) -> str | None:
    churn = out.analysis_meta.get("churn")
    if not isinstance(churn, dict) or not churn:
        return None
    groups = churn if all(isinstance(v, dict) for v in churn.values()) else {"communities": churn}
    if not any(g.get("previous", True) for g in groups.values()):
        return None
    keys = sorted({k for g in groups.values() for k in g if k != "previous"})
    rows = [
        (say.get(f"report.churn.{name}", name), *(g.get(k) for k in keys))
        for name, g in groups.items()
    ]
    headers = ["", *(say.get(f"report.churn.{k}", k.replace("_", " ")) for k in keys)]
    body = h.table(headers, rows, numeric=range(1, len(keys) + 1), empty=say("report.none"))
    return h.section("churn", say("report.churn.title"), body)


#: Tags whose changes the report lists one by one (the others are counted).
LISTED_CHANGES = ("risk:high", "risk:medium", "ring_member", "near_known_fraud")
MAX_LISTED_CHANGES = 50


def _changes_section(out: RunOutputs, say: Messages = ENGLISH) -> str | None:
    """Tags gained, lost and changed since the previous run (``changes.*``).

    ``out.changes`` is this run's table only: :func:`graphprofile.outputs.load_outputs`
    reads what ``run.json`` lists, so one left in the directory by an earlier run with
    ``--previous`` is not reported.
    """
    changes = out.changes
    if changes is None:
        return None
    previous = changes["previous_run_id"].dropna()
    since = previous.iloc[0] if len(previous) else say("report.changes.previous_run")
    intro = h.note(say("report.changes.intro", n=f"{len(changes):,}", run=since))
    counts = changes.groupby(["tag", "change"]).size().unstack(fill_value=0)
    kinds = [k for k in ("gained", "lost", "changed") if k in counts.columns]
    rows = [(tag, *(int(counts.at[tag, k]) for k in kinds)) for tag in counts.index]
    body = intro + h.table(
        [say("report.changes.tag"), *(say(f"report.changes.{k}") for k in kinds)],
        rows,
        numeric=range(1, len(kinds) + 1),
        empty=say("report.none"),
    )
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
                say.get(f"report.changes.{r['change']}", r["change"]),
                r["old_value"],
                r["new_value"],
                r["new_score"] if r["change"] != "lost" else r["old_score"],
                say("reason.steps_separator").join(reasons_in_words(r["reasons"], say)),
            )
            for r in shown.to_dict("records")
        ]
        heading = say("report.changes.listed", shown=len(shown), total=len(listed))
        body += f"<h3>{h.esc(heading)}</h3>"
        columns = ("customer", "tag", "change", "old_value", "new_value", "score", "why")
        body += h.table(
            [say(f"report.changes.{c}") for c in columns],
            detail,
            numeric=[5],
            empty=say("report.none"),
        )
    return h.section("changes", say("report.changes.title"), body)


def build_report(out: RunOutputs, *, top_rings: int = 10, lang: str | None = None) -> str:
    """The report as an HTML string.

    Parameters
    ----------
    out : RunOutputs
        A run's outputs (from :func:`load_outputs` or from the running job).
    top_rings : int, default 10
        Rings drawn, riskiest first.
    lang : str, optional
        Language of headings, notes, reasons and chart labels (``en``, ``zh``; default
        ``GRAPHPROFILE_LANG`` or English). Chart labels stay English, with a note saying how
        to install one, when no font with Chinese glyphs is found
        (:mod:`graphprofile.sinks.fonts`).

    Returns
    -------
    str
        A complete HTML document without external resources.
    """
    say = messages(lang)
    run_id = out.summary.get("run_id", "unknown run")
    sections = [_summary_section(out, say), _quality_section(out, say)]
    rejects = _rejects_section(out, say)
    if rejects:
        sections.append(rejects)
    view = _views_scope(out, top_rings)  # one pass over the bank's tables for every view
    sections += [
        _charts_section(out, say),
        _rings_section(out, top_rings, say, view),
        _high_risk_section(out, say),
        _influencers_section(out, say, view),
    ]
    churn = _churn_section(out, say)
    if churn:
        sections.append(churn)
    changes = _changes_section(out, say)
    if changes:
        sections.append(changes)
    generated = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return h.page(
        say("report.title", run_id=run_id),
        say("report.generated", when=generated, out_dir=out.out_dir),
        sections,
        library=views.cytoscape_js(),
        lang=say.lang,
        texts={k: say(f"report.view.{k}") for k in h.SCRIPT_TEXTS}
        | {"yes": say("report.yes"), "no": say("report.no")},
    )


def write_report(out: RunOutputs, *, top_rings: int = 10, lang: str | None = None) -> Path:
    """Write ``OUT/report.html`` atomically (in ``lang``, see :func:`build_report`).

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    document = build_report(out, top_rings=top_rings, lang=lang)
    return write_text(Path(out.out_dir) / REPORT, document)


def write_report_for(out_dir: Path, *, top_rings: int = 10, lang: str | None = None) -> Path:
    """Read a finished run's outputs and (re)write its report (``graphprofile report``)."""
    return write_report(load_outputs(out_dir), top_rings=top_rings, lang=lang)


__all__ = ["build_report", "write_report", "write_report_for"]
