"""Word rendering of a `Document` with python-docx, as a journal takes it.

The template is built here, not shipped: styles for the title, headings, captions
("Caption", numbered with Word ``SEQ`` fields, so Word's cross-references and lists of tables
work), table text and table notes; three-line (booktabs) tables with the header row repeated on
every page; a landscape section for each wide table (more than `Table.LANDSCAPE_COLUMNS`
columns); footnotes and notes under each table; bold only on the cells the table marks bold
(variable names and p < alpha), numbers decimal-aligned (figure spaces, tabular digits); and
the document properties (title, subject = study, author "regsurv", date).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from regsurv.report.document import Document, Figure, Paragraph, Table

FONT = "Times New Roman"
TABLE_FONT = "Arial"
_NUMBERED = re.compile(
    r"^(?P<label>Supplementary Table|Table|Fig\.|Figure)\s+(?P<n>\d+)(?P<rest>.*)$"
)


def _style(
    d: Any, style_name: str, *, base: str = "Normal", size: float | None = None, **font: Any
):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    styles = d.styles
    style = (
        styles[style_name]
        if style_name in [s.name for s in styles]
        else styles.add_style(style_name, WD_STYLE_TYPE.PARAGRAPH)
    )
    if style_name not in (base, "Normal"):
        style.base_style = styles[base]
    if size is not None:
        style.font.size = Pt(size)
    for k, v in font.items():
        setattr(style.font, k, v)
    return style


def _template() -> Any:
    """A blank document with the report's styles (the 'template', built in code)."""
    import docx
    from docx.shared import Pt, RGBColor

    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(4)
    _style(d, "Title", size=16, bold=True, name=FONT).font.color.rgb = RGBColor(0, 0, 0)
    for level, size in ((1, 13), (2, 11)):
        h = _style(d, f"Heading {level}", size=size, bold=True, name=FONT)
        h.font.color.rgb = RGBColor(0, 0, 0)
        h.paragraph_format.space_before = Pt(12)
        h.paragraph_format.keep_with_next = True
    caption = _style(d, "Caption", size=10, bold=True, italic=False, name=FONT)
    caption.font.color.rgb = RGBColor(0, 0, 0)
    caption.paragraph_format.keep_with_next = True
    caption.paragraph_format.space_before = Pt(8)
    text = _style(d, "Table Text", size=8, name=TABLE_FONT)
    text.paragraph_format.space_after = Pt(0)
    text.paragraph_format.space_before = Pt(0)
    note = _style(d, "Table Note", size=8, name=FONT)
    note.paragraph_format.space_after = Pt(0)
    _style(d, "Figure Caption", base="Caption", size=9, bold=False, name=FONT)
    return d


def _field(paragraph: Any, instruction: str, shown: str) -> None:
    """Append a Word field (e.g. ``SEQ Table \\* ARABIC``) showing `shown` until updated."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run_with(element: Any) -> None:
        r = OxmlElement("w:r")
        r.append(element)
        paragraph._p.append(r)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    paragraph.add_run(shown)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _caption(d: Any, title: str, kind: str, counters: dict[str, int], style: str) -> Any:
    """A caption paragraph: "Table 3. ..." keeps its number (``SEQ ... \\r 3``); an unnumbered
    title gets the next number of its kind when `counters` asks for numbering."""
    p = d.add_paragraph(style=style)
    m = _NUMBERED.match(title)
    if m:
        label, n, rest = m.group("label"), int(m.group("n")), m.group("rest")
        identifier = label.replace(".", "").replace(" ", "")
        identifier = "Figure" if identifier == "Fig" else identifier
        p.add_run(f"{label} ")
        _field(p, f"SEQ {identifier} \\r {n} \\* ARABIC", str(n))
        p.add_run(rest)
        if identifier in counters:
            counters[identifier] = n
    elif kind in counters:
        counters[kind] += 1
        p.add_run(f"{kind} ")
        _field(p, f"SEQ {kind} \\* ARABIC", str(counters[kind]))
        p.add_run(f". {title}")
    else:
        p.add_run(title)
    return p


def _borders(cell: Any, **sides: int) -> None:
    """Single borders of `sides` (top/bottom: width in eighths of a point) on one cell."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for side, size in sides.items():
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def _unique(cells: Any) -> list[Any]:
    """Cells of a row, a merged cell once."""
    seen: dict[int, Any] = {}
    for cell in cells:
        seen.setdefault(id(cell._tc), cell)
    return list(seen.values())


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _cant_split(row: Any) -> None:
    from docx.oxml import OxmlElement

    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _fill(
    cell: Any, text: str, style_id: str, *, bold: bool = False, mark: str = "", align: str = "left"
):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = cell.paragraphs[0]
    # the style's id set on the paragraph directly: `p.style = name` looks the style up by
    # name in styles.xml on every cell (python-docx), 2 s of a study's 15 tables; same XML
    p._p.style = style_id
    indent = text.startswith("  ")
    if indent:
        p.paragraph_format.left_indent = Pt(10)
        text = text[2:]
    run = p.add_run(text)
    run.bold = bold
    if mark:
        sup = p.add_run(mark)
        sup.font.superscript = True
    if align == "right":
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _table(d: Any, t: Table) -> None:
    ncols = len(t.header)
    n_head = 1 + bool(t.spanners)
    table = d.add_table(rows=n_head, cols=ncols)
    table.style = d.styles["Normal Table"]
    text_style = d.styles["Table Text"].style_id
    if t.spanners:
        top = table.rows[0]
        for label, first, last in t.spanners:
            cell = top.cells[first].merge(top.cells[last]) if last > first else top.cells[first]
            cell.text = ""
            _fill(cell, label, text_style, bold=True)
            cell.paragraphs[0].alignment = 1  # centred
            _borders(cell, bottom=4)
    header = table.rows[n_head - 1]
    for j, (cell, text) in enumerate(zip(header.cells, t.header, strict=True)):
        _fill(cell, text, text_style, bold=True, align=t.alignment(j))
        _borders(cell, bottom=6)
    for row in table.rows[:n_head]:
        _repeat_header(row)
        _cant_split(row)
    for cell in _unique(table.rows[0].cells):
        _borders(cell, top=12)
    for i, values in enumerate(t.display_rows()):
        row = table.add_row()
        _cant_split(row)
        for j, (cell, text) in enumerate(zip(row.cells, values, strict=True)):
            bold = (i, j) in t.bold_cells or (j == 0 and i in t.heading_rows)
            _fill(cell, text, text_style, bold=bold, mark=t.mark(i, j), align=t.alignment(j))
    if t.rows:
        for cell in table.rows[-1].cells:
            _borders(cell, bottom=12)
    _widths(d, table, t)
    for line in t.footnotes:
        p = d.add_paragraph(style="Table Note")
        mark, _, rest = line.partition(" ")
        if len(mark) == 1 and mark.isalpha() and rest:
            p.add_run(mark).font.superscript = True
            p.add_run(rest)
        else:
            p.add_run(line)
    if t.note:
        d.add_paragraph(style="Table Note").add_run(t.note).italic = True


def _widths(d: Any, table: Any, t: Table) -> None:
    """Column widths in proportion to each column's longest cell (header words count once)."""
    section = d.sections[-1]
    usable = section.page_width - section.left_margin - section.right_margin
    need = []
    for j, head in enumerate(t.header):
        cells = [len(r[j].strip()) for r in t.rows]
        longest_word = max((len(w) for w in head.split()), default=4)
        need.append(min(max([longest_word, *cells, 6]), 45) + 2)  # + cell padding
    total = sum(need)
    table.autofit = False
    widths = [int(usable * n / total) for n in need]
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows[1 if t.spanners else 0 :]:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _orientation(d: Any, landscape: bool) -> None:
    """Start a new section (on a new page) in portrait or landscape."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    current = d.sections[-1]
    width, height = current.page_width, current.page_height
    section = d.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    short, long = sorted((width, height))
    section.page_width, section.page_height = (long, short) if landscape else (short, long)


def write_docx(
    doc: Document, path: Path, *, headings: bool = True, number_unlabelled: bool = False
) -> Path:
    """Write `doc` as a .docx file ready to paste into a manuscript.

    ``headings=False`` leaves out the section headings (a single table);
    ``number_unlabelled`` numbers tables and figures whose titles carry no number.
    """
    from docx.shared import Inches

    d = _template()
    props = d.core_properties
    props.title = doc.title
    props.subject = doc.study
    props.author = doc.author
    props.last_modified_by = doc.author
    props.comments = doc.subtitle
    props.keywords = "regsurv"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    props.created = props.modified = now
    if doc.banner:  # on every page, as the page header, and once above the title
        d.sections[0].header.paragraphs[0].text = doc.banner
        d.add_paragraph().add_run(doc.banner).bold = True
    d.add_paragraph(doc.title, style="Title")
    if doc.subtitle:
        d.add_paragraph(doc.subtitle)
    counters = {"Table": 0, "Figure": 0} if number_unlabelled or not headings else {}
    for s in doc.sections:
        first_title = getattr(s.blocks[0], "title", None) if s.blocks else None
        if headings and s.title and s.title != first_title:  # else its caption says it
            d.add_heading(s.title, level=1)
        for b in s.blocks:
            if isinstance(b, Paragraph):
                p = d.add_paragraph(b.text)
                if b.kind != "text":
                    for run in p.runs:
                        run.italic = True
            elif isinstance(b, Table):
                if b.wide:
                    _orientation(d, landscape=True)
                _caption(d, b.title, "Table", counters, "Caption")
                _table(d, b)
                if b.wide:
                    _orientation(d, landscape=False)
            elif isinstance(b, Figure):
                d.add_picture(str(b.png), width=Inches(6.0))
                d.paragraphs[-1].paragraph_format.keep_with_next = True
                p = _caption(d, b.title, "Figure", counters, "Figure Caption")
                if b.caption:
                    p.add_run(". " + b.caption)
    d.save(str(path))
    return path
