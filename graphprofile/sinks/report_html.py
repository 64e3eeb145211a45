"""HTML building blocks of the report: every piece of data goes through :func:`esc`.

No external resources: styles and scripts are inline (cytoscape.js is vendored in the
package), images are ``data:`` URIs. Data for the interactive views travels as JSON in
``<script type="application/json">`` and the page's own script puts it into the DOM with
``textContent`` only, never as HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from graphprofile.i18n import ENGLISH
from graphprofile.sinks.report_data import fmt_value, is_missing

#: Words of the page script (``report.view.<key>``, each with one ``{value}`` field except
#: ``no_details``), passed to it as JSON so the report's language reaches the details panel.
SCRIPT_TEXTS = ("no_details", "customer_heading", "risk", "known_fraud", "community", "score")
SCRIPT_DEFAULTS = {k: ENGLISH(f"report.view.{k}") for k in SCRIPT_TEXTS} | {
    "yes": ENGLISH("report.yes"),
    "no": ENGLISH("report.no"),
}

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0; color: #212529; background: #f8f9fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
header { background: #212529; color: #f8f9fa; padding: 20px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #ced4da; }
section { background: #fff; border: 1px solid #dee2e6; border-radius: 8px;
  padding: 16px 20px; margin: 0 0 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e9ecef; padding: 4px 10px; text-align: left; }
th { background: #f1f3f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
  gap: 16px; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e9ecef; border-radius: 4px; }
figcaption { color: #495057; font-size: 12px; }
.ring { border-top: 1px solid #dee2e6; padding-top: 8px; margin-top: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  background: #e7f5ff; color: #1864ab; margin-right: 6px; }
.badge.risk { background: #fff5f5; color: #c92a2a; }
.muted { color: #868e96; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
.kv dt { color: #495057; } .kv dd { margin: 0; }
ul.reasons li { margin: 2px 0; }
.view { display: grid; grid-template-columns: 1fr 320px; gap: 12px; margin: 8px 0; }
.cy { height: 440px; border: 1px solid #dee2e6; border-radius: 6px; background: #fcfcfd; }
.details { border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 10px; font-size: 13px;
  max-height: 440px; overflow: auto; }
.details h4 { margin: 0 0 6px; font-size: 14px; }
.details .tag { margin: 6px 0 2px; font-weight: 600; }
.hover { color: #495057; font-size: 12px; min-height: 1.4em; }
.print-only { display: none; }
table.sortable th { cursor: pointer; }
table.sortable th:after { content: " \\2195"; color: #adb5bd; }
@media print { .view, .hover { display: none; } .print-only { display: block; } }
"""

#: The page's own script: interactive ring views (cytoscape.js) and sortable tables.
SCRIPT = r"""
(function () {
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }
  var words = JSON.parse(document.getElementById('gp-texts').textContent);
  function say(key, value) { return words[key].split('{value}').join(value); }
  function showDetails(panel, info) {
    panel.textContent = '';
    if (!info) { panel.appendChild(text('p', words.no_details, 'muted')); return; }
    panel.appendChild(text('h4', say('customer_heading', info.customer_id)));
    var facts = [];
    if (info.risk_score !== undefined) { facts.push(say('risk', info.risk_score)); }
    facts.push(say('known_fraud', info.known_fraud ? words.yes : words.no));
    if (info.community_id !== undefined) { facts.push(say('community', info.community_id)); }
    panel.appendChild(text('p', facts.join(' · ')));
    (info.tags || []).forEach(function (t) {
      var head = t.tag + (t.value ? ' = ' + t.value : '');
      head += t.score ? say('score', t.score) : '';
      panel.appendChild(text('div', head, 'tag'));
      if (t.reasons && t.reasons.length) {
        var ul = document.createElement('ul');
        ul.className = 'reasons';
        t.reasons.forEach(function (r) { ul.appendChild(text('li', r)); });
        panel.appendChild(ul);
      }
    });
  }
  var style = [
    {selector: 'node', style: {'label': 'data(label)', 'font-size': 10, 'text-wrap': 'wrap',
      'text-valign': 'bottom', 'text-margin-y': 3, 'width': 22, 'height': 22,
      'background-color': '#2f9e44', 'color': '#212529'}},
    {selector: 'node[kind = "customer"]', style: {'background-color': '#e03131', 'width': 26,
      'height': 26}},
    {selector: 'node[kind = "device"]', style: {'shape': 'diamond', 'background-color': '#1c7ed6'}},
    {selector: 'node[kind = "identifier"]', style: {'shape': 'triangle',
      'background-color': '#f08c00'}},
    {selector: 'node[role = "collector"], node[role = "sink"]', style: {'shape': 'round-rectangle',
      'width': 30, 'height': 30}},
    {selector: 'node[?known_fraud]', style: {'border-width': 4, 'border-color': '#000'}},
    {selector: 'node:selected', style: {'overlay-opacity': 0.2, 'overlay-color': '#3b5bdb'}},
    {selector: 'edge', style: {'width': 1.5, 'line-color': '#adb5bd', 'curve-style': 'bezier',
      'line-style': 'dashed'}},
    {selector: 'edge[type = "TRANSFER"]', style: {'line-color': '#c92a2a', 'line-style': 'solid',
      'target-arrow-shape': 'triangle', 'target-arrow-color': '#c92a2a', 'width': 2,
      'label': 'data(label)', 'font-size': 9, 'text-rotation': 'autorotate',
      'text-background-color': '#fff', 'text-background-opacity': 0.8}}
  ];
  document.querySelectorAll('.cy').forEach(function (box) {
    var data = JSON.parse(document.getElementById(box.id + '-data').textContent);
    var panel = document.getElementById(box.id + '-details');
    var hover = document.getElementById(box.id + '-hover');
    var cy = cytoscape({container: box, elements: data.elements, style: style,
      layout: {name: 'preset', fit: true, padding: 30}});
    cy.on('mouseover', 'node, edge', function (e) { hover.textContent = e.target.data('title'); });
    cy.on('mouseout', 'node, edge', function () { hover.textContent = ''; });
    cy.on('tap', 'node', function (e) {
      var who = e.target.data('customer');
      showDetails(panel, who ? data.customers[who] : null);
    });
    box.__cy = cy;
  });
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var down = th.dataset.dir !== 'desc';
        th.dataset.dir = down ? 'desc' : 'asc';
        rows.sort(function (a, b) {
          var x = a.cells[col].dataset.sort || a.cells[col].textContent;
          var y = b.cells[col].dataset.sort || b.cells[col].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""


def esc(value: Any) -> str:
    """Data as escaped HTML text (``—`` for missing values)."""
    if is_missing(value):
        return "—"
    text = value if isinstance(value, str) else fmt_value(value)
    return html.escape(text, quote=True)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Iterable[int] = (),
    sortable: bool = False,
    ident: str = "",
    empty: str = "None.",
) -> str:
    """An HTML table; columns whose index is in ``numeric`` are right-aligned (and sort by
    their number when ``sortable``); ``empty`` is shown instead when there are no rows."""
    num = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num"{_sort_key(v)}>{esc(v)}</td>' if i in num else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="muted">{esc(empty)}</p>'
    attrs = (' class="sortable"' if sortable else "") + (f' id="{esc(ident)}"' if ident else "")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sort_key(value: Any) -> str:
    if isinstance(value, bool) or is_missing(value):
        return ""
    if isinstance(value, int | float):
        return f' data-sort="{float(value)!r}"'
    return ""


def interactive(ident: str, data_json: str, *, hint: str, caption: str) -> str:
    """An interactive graph (cytoscape.js) with a details panel and a hover line.

    ``data_json`` must come from :func:`graphprofile.sinks.report_views.as_script_json`
    (``elements`` and ``customers``).
    """
    i = esc(ident)
    return (
        f'<div class="view"><div class="cy" id="{i}" data-kind="graph"></div>'
        f'<div class="details" id="{i}-details"><p class="muted">{esc(hint)}</p></div></div>'
        f'<div class="hover" id="{i}-hover"></div><p class="muted">{esc(caption)}</p>'
        f'<script type="application/json" id="{i}-data">{data_json}</script>'
    )


def definition_list(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value list."""
    parts = [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items]
    return f'<dl class="kv">{"".join(parts)}</dl>'


def image(uri: str, *, alt: str, kind: str, ident: str, caption: str = "", css: str = "") -> str:
    """A figure with a ``data:`` image; ``data-kind`` is ``chart`` or ``ring`` (tests use it).

    ``css="print-only"`` shows it only when printing (the static twin of an interactive view).
    """
    if not uri.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")):
        raise ValueError("report images must be PNG or SVG data URIs")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    cls = f' class="{esc(css)}"' if css else ""
    return (
        f'<figure{cls}><img src="{uri}" alt="{esc(alt)}" data-kind="{esc(kind)}" '
        f'id="{esc(ident)}">{cap}</figure>'
    )


def bullet_list(
    items: Iterable[str], css: str = "reasons", empty: str = "No reasons recorded."
) -> str:
    """A list of escaped sentences (``empty`` when there are none)."""
    lis = "".join(f"<li>{esc(item)}</li>" for item in items)
    return f'<ul class="{css}">{lis}</ul>' if lis else f'<p class="muted">{esc(empty)}</p>'


def section(ident: str, title: str, body: str) -> str:
    """A report section with an anchor id."""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{body}</section>'


def note(text: str) -> str:
    """A muted paragraph."""
    return f'<p class="muted">{esc(text)}</p>'


def page(
    title: str,
    subtitle: str,
    sections: Sequence[str],
    *,
    library: str = "",
    lang: str = "en",
    texts: dict[str, str] | None = None,
) -> str:
    """The whole document; ``library`` (cytoscape.js) and the page script come last.

    ``texts`` are the page script's words (keys :data:`SCRIPT_TEXTS` plus ``yes``/``no``),
    English by default; ``lang`` is the document's language (``<html lang>``).
    """
    words = (
        json.dumps({**SCRIPT_DEFAULTS, **(texts or {})}, ensure_ascii=False, sort_keys=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    scripts = (
        f'<script type="application/json" id="gp-texts">{words}</script>'
        f"<script>{library}</script><script>{SCRIPT}</script>"
        if library
        else ""
    )
    html_lang = "zh-CN" if lang == "zh" else esc(lang)
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main>{scripts}</body></html>\n"
    )
