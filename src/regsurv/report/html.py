"""Self-contained HTML rendering of a `Document`: figures inlined as base64 PNG, CSS inline,
no scripts, no external fonts or requests."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from regsurv.report.document import Document, Figure, Paragraph, Table

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1000px;margin:2em auto;padding:0 1em;
color:#111;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:1px solid #999;margin-top:2em}
.banner{background:#b00020;color:#fff;padding:.4em .8em;font-weight:bold;letter-spacing:.05em}
table{border-collapse:collapse;margin:1em 0;font-size:.86em;font-family:Arial,Helvetica,sans-serif}
caption{text-align:left;font-weight:bold;margin-bottom:.3em}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
thead th{border-top:2px solid #000;border-bottom:1px solid #000}
tr.heading td{font-weight:bold;background:#f4f4f4}
p.note{font-size:.82em;color:#333} p.warning{color:#8a4b00;font-weight:bold}
figure{margin:1.5em 0} figure img{max-width:100%} figcaption{font-size:.85em}
nav ul{columns:2;font-size:.9em}
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = []
    for i, row in enumerate(t.rows):
        cls = ' class="heading"' if i in t.heading_rows else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    note = f'<p class="note">{html.escape(t.note)}</p>' if t.note else ""
    return (
        f'<table id="tbl-{html.escape(t.key)}"><caption>{html.escape(t.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"
    )


def _figure(f: Figure) -> str:
    data = base64.b64encode(f.png.read_bytes()).decode("ascii")
    cap = html.escape(f.title + (". " + f.caption if f.caption else ""))
    return (
        f'<figure id="fig-{html.escape(f.key)}"><img alt="{html.escape(f.title)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{cap}</figcaption></figure>'
    )


def render_html(doc: Document) -> str:
    """The whole report as one HTML string."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
    ]
    if doc.banner:
        parts.append(f'<div class="banner">{html.escape(doc.banner)}</div>')
    parts.append(f"<h1>{html.escape(doc.title)}</h1>")
    if doc.subtitle:
        parts.append(f"<p>{html.escape(doc.subtitle)}</p>")
    parts.append("<nav><ul>")
    parts.extend(
        f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a></li>' for s in doc.sections
    )
    parts.append("</ul></nav>")
    for s in doc.sections:
        parts.append(f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>')
        for b in s.blocks:
            if isinstance(b, Table):
                parts.append(_table(b))
            elif isinstance(b, Figure):
                parts.append(_figure(b))
            elif isinstance(b, Paragraph):
                parts.append(f'<p class="{b.kind}">{html.escape(b.text)}</p>')
        parts.append("</section>")
    if doc.banner:
        parts.append(f'<div class="banner">{html.escape(doc.banner)}</div>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(doc: Document, path: Path) -> Path:
    path.write_text(render_html(doc), encoding="utf-8")
    return path
