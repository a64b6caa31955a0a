"""Self-contained HTML rendering of a `Document`: figures inlined as base64 PNG, CSS inline,
no scripts, no external fonts or requests."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from regsurv.report.document import Document, Figure, Paragraph, Table

#: Styles of a formatted table (also prepended by `Table._repr_html_` in Jupyter): three-line
#: (booktabs) rules, numbers on tabular figures so that decimal-aligned columns line up.
TABLE_CSS = """
table.rs{border-collapse:collapse;margin:1em 0 .2em;font-size:.86em;
font-family:Arial,Helvetica,sans-serif;font-variant-numeric:tabular-nums}
table.rs caption{text-align:left;font-weight:bold;margin-bottom:.3em}
table.rs th,table.rs td{padding:.25em .6em;text-align:left;vertical-align:top}
table.rs thead tr:first-child th{border-top:2px solid #000}
table.rs thead tr:last-child th{border-bottom:1px solid #000}
table.rs th.spanner{text-align:center;border-bottom:1px solid #000}
table.rs tbody tr:last-child td{border-bottom:2px solid #000}
table.rs td.right,table.rs th.right{text-align:right}
table.rs td.decimal{white-space:pre}
table.rs tr.heading td:first-child{font-weight:bold}
table.rs td.level{padding-left:1.6em}
table.rs tfoot td{font-size:.9em;padding:.1em .6em;border:0}
table.rs sup{font-size:.75em;line-height:0}
p.note{font-size:.82em;color:#333;margin-top:.2em}
"""

_CSS = (
    """
body{font-family:Georgia,'Times New Roman',serif;max-width:1000px;margin:2em auto;padding:0 1em;
color:#111;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:1px solid #999;margin-top:2em}
.banner{background:#b00020;color:#fff;padding:.4em .8em;font-weight:bold;letter-spacing:.05em}
p.warning{color:#8a4b00;font-weight:bold}
figure{margin:1.5em 0} figure img{max-width:100%} figcaption{font-size:.85em}
nav ul{columns:2;font-size:.9em}
"""
    + TABLE_CSS
)


def _cell(t: Table, i: int, j: int, text: str) -> str:
    classes = []
    align = t.alignment(j)
    if align != "left":
        classes.append(align)
    if j == 0 and text.startswith("  "):  # a level under its variable
        classes.append("level")
        text = text[2:]
    body = html.escape(text)
    if (i, j) in t.bold_cells:
        body = f"<strong>{body}</strong>"
    mark = t.mark(i, j)
    if mark:
        body += f"<sup>{html.escape(mark)}</sup>"
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{cls}>{body}</td>"


def render_table(t: Table) -> str:
    """One table as HTML: caption, spanners, header, body, footnotes (in ``tfoot``), note."""
    head_rows = []
    if t.spanners:
        cells, j = [], 0
        for label, first, last in sorted(t.spanners, key=lambda s: s[1]):
            cells.extend("<th></th>" for _ in range(first - j))
            cells.append(
                f'<th class="spanner" colspan="{last - first + 1}">{html.escape(label)}</th>'
            )
            j = last + 1
        cells.extend("<th></th>" for _ in range(len(t.header) - j))
        head_rows.append("<tr>" + "".join(cells) + "</tr>")
    right = ' class="right"'
    head_rows.append(
        "<tr>"
        + "".join(
            f"<th{right if t.alignment(j) == 'right' else ''}>{html.escape(h)}</th>"
            for j, h in enumerate(t.header)
        )
        + "</tr>"
    )
    body = []
    for i, row in enumerate(t.display_rows()):
        cls = ' class="heading"' if i in t.heading_rows else ""
        body.append(f"<tr{cls}>" + "".join(_cell(t, i, j, c) for j, c in enumerate(row)) + "</tr>")
    foot = ""
    if t.footnotes:
        lines = "<br>".join(_footnote(f) for f in t.footnotes)
        foot = f'<tfoot><tr><td colspan="{len(t.header)}">{lines}</td></tr></tfoot>'
    note = f'<p class="note">{html.escape(t.note)}</p>' if t.note else ""
    return (
        f'<table class="rs" id="tbl-{html.escape(t.key)}"><caption>{html.escape(t.title)}'
        f"</caption><thead>{''.join(head_rows)}</thead><tbody>{''.join(body)}</tbody>{foot}"
        f"</table>{note}"
    )


def _footnote(text: str) -> str:
    """``"a Pearson's test"`` with its leading letter as a superscript."""
    mark, _, rest = text.partition(" ")
    if len(mark) == 1 and mark.isalpha() and rest:
        return f"<sup>{html.escape(mark)}</sup>{html.escape(rest)}"
    return html.escape(text)


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
                parts.append(render_table(b))
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
