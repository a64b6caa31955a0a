"""Word rendering of a `Document` with python-docx: real Word tables and the PNG figures."""

from __future__ import annotations

from pathlib import Path

from regsurv.report.document import Document, Figure, Paragraph, Table


def write_docx(doc: Document, path: Path) -> Path:
    """Write `doc` as a .docx file ready to paste into a manuscript."""
    import docx
    from docx.shared import Inches, Pt

    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(10)
    if doc.banner:  # on every page, as the page header, and once above the title
        d.sections[0].header.paragraphs[0].text = doc.banner
        d.add_paragraph().add_run(doc.banner).bold = True
    d.add_heading(doc.title, level=0)
    if doc.subtitle:
        d.add_paragraph(doc.subtitle)
    for s in doc.sections:
        d.add_heading(s.title, level=1)
        for b in s.blocks:
            if isinstance(b, Paragraph):
                p = d.add_paragraph(b.text)
                if b.kind != "text":
                    for run in p.runs:
                        run.italic = True
            elif isinstance(b, Table):
                d.add_paragraph().add_run(b.title).bold = True
                t = d.add_table(rows=1, cols=len(b.header))
                t.style = "Table Grid"
                for cell, text in zip(t.rows[0].cells, b.header, strict=True):
                    cell.text = text
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
                for i, row in enumerate(b.rows):
                    cells = t.add_row().cells
                    for cell, text in zip(cells, row, strict=True):
                        cell.text = text
                        if i in b.heading_rows:
                            for run in cell.paragraphs[0].runs:
                                run.bold = True
                if b.note:
                    d.add_paragraph(b.note).runs[0].italic = True
            elif isinstance(b, Figure):
                d.add_picture(str(b.png), width=Inches(6.0))
                d.add_paragraph(b.title + (". " + b.caption if b.caption else "")).runs[
                    0
                ].italic = True
    d.save(str(path))
    return path
