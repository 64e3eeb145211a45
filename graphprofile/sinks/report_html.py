"""HTML building blocks of the report: every piece of data goes through :func:`esc`.

No external resources: styles are inline, images are ``data:`` URIs, there is no script.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from graphprofile.sinks.report_data import fmt_value, is_missing

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
"""


def esc(value: Any) -> str:
    """Data as escaped HTML text (``—`` for missing values)."""
    if is_missing(value):
        return "—"
    text = value if isinstance(value, str) else fmt_value(value)
    return html.escape(text, quote=True)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Iterable[int] = ()
) -> str:
    """An HTML table; columns whose index is in ``numeric`` are right-aligned."""
    num = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(v)}</td>' if i in num else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="muted">None.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def definition_list(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value list."""
    parts = [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items]
    return f'<dl class="kv">{"".join(parts)}</dl>'


def image(uri: str, *, alt: str, kind: str, ident: str, caption: str = "") -> str:
    """A figure with a ``data:`` image; ``data-kind`` is ``chart`` or ``ring`` (tests use it)."""
    if not uri.startswith("data:image/png;base64,"):
        raise ValueError("report images must be PNG data URIs")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{uri}" alt="{esc(alt)}" data-kind="{esc(kind)}" '
        f'id="{esc(ident)}">{cap}</figure>'
    )


def bullet_list(items: Iterable[str], css: str = "reasons") -> str:
    """A list of escaped sentences."""
    lis = "".join(f"<li>{esc(item)}</li>" for item in items)
    return f'<ul class="{css}">{lis}</ul>' if lis else '<p class="muted">No reasons recorded.</p>'


def section(ident: str, title: str, body: str) -> str:
    """A report section with an anchor id."""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{body}</section>'


def note(text: str) -> str:
    """A muted paragraph."""
    return f'<p class="muted">{esc(text)}</p>'


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    """The whole document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )
