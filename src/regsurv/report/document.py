"""A small document model shared by the HTML and Word writers.

The report is built once as a `Document` (sections of paragraphs, tables and figures) and
rendered by `html.write_html` and `docx.write_docx`, so both outputs hold the same content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

#: U+2007, a space as wide as a digit: pads numbers so that their decimal points line up.
FIGURE_SPACE = "\u2007"
_INTEGER_PART = re.compile(r"^\D{0,2}?[\d,]+")


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    kind: str = "text"  # "text" | "note" | "warning"


def decimal_aligned(cells: list[str]) -> list[str]:
    """Pad `cells` on the left with figure spaces so that the integer parts of their first
    numbers have one width: with tabular digits the decimal points then line up (a cell
    without a number is left as it is)."""
    widths = [len(m.group(0)) if (m := _INTEGER_PART.match(c)) else None for c in cells]
    widest = max((w for w in widths if w is not None), default=0)
    return [
        c if w is None else FIGURE_SPACE * (widest - w) + c
        for c, w in zip(cells, widths, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Table:
    """A formatted table: `header` and `rows` are display strings; `tidy` is the CSV export.

    One object renders everywhere: the report's HTML and Word writers, and on its own
    `to_html`, `to_docx`, `to_latex`, `to_csv` and Jupyter's `_repr_html_`.
    ``heading_rows`` name a variable (their first cell is bold); ``bold_cells`` are the other
    bold body cells as (row, column), e.g. p < 0.05; ``marks`` put a superscript footnote
    letter on a body cell, explained by ``footnotes`` (printed under the table, as ``note``);
    ``spanners`` are (label, first column, last column) headers above ``header``; ``align``
    is per column ``"left"``, ``"right"`` or ``"decimal"`` (default left); ``landscape=None``
    puts a table of more than `LANDSCAPE_COLUMNS` columns on a landscape page in Word.
    """

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    tidy: pl.DataFrame | None = None
    heading_rows: frozenset[int] = frozenset()  # rows that name a variable (bold label)
    bold_cells: frozenset[tuple[int, int]] = frozenset()
    marks: tuple[tuple[int, int, str], ...] = ()
    footnotes: tuple[str, ...] = ()
    spanners: tuple[tuple[str, int, int], ...] = ()
    align: tuple[str, ...] = ()
    landscape: bool | None = None

    LANDSCAPE_COLUMNS = 6

    @property
    def wide(self) -> bool:
        """True when Word should show the table on a landscape page."""
        if self.landscape is not None:
            return self.landscape
        return len(self.header) > self.LANDSCAPE_COLUMNS

    def alignment(self, column: int) -> str:
        return self.align[column] if column < len(self.align) else "left"

    def mark(self, row: int, column: int) -> str:
        """The footnote letter(s) on a body cell ('' for none)."""
        return "".join(m for r, c, m in self.marks if r == row and c == column)

    def display_rows(self) -> tuple[tuple[str, ...], ...]:
        """`rows` with the ``"decimal"`` columns padded by `decimal_aligned`."""
        columns = [list(col) for col in zip(*self.rows, strict=True)] if self.rows else []
        for j, col in enumerate(columns):
            if self.alignment(j) == "decimal":
                columns[j] = decimal_aligned(col)
        return tuple(zip(*columns, strict=True)) if columns else ()

    def to_frame(self) -> pl.DataFrame:
        """The display strings as a frame (one column per header cell)."""
        names = list(dict.fromkeys(self.header))
        if len(names) < len(self.header):  # repeated headers (side-by-side models): number them
            names = [f"{h} [{j + 1}]" for j, h in enumerate(self.header)]
        return pl.DataFrame(
            [list(r) for r in self.rows], schema=dict.fromkeys(names, pl.String), orient="row"
        )

    def to_csv(self, path: Path | str | None = None) -> str | None:
        """The display strings as CSV (to `path`, or returned); `tidy` holds the numbers."""
        return self.to_frame().write_csv(path)

    def to_html(self) -> str:
        """An HTML fragment (the table and its notes), styled by `html.TABLE_CSS`."""
        from regsurv.report.html import render_table

        return render_table(self)

    def _repr_html_(self) -> str:
        from regsurv.report.html import TABLE_CSS

        return f"<style>{TABLE_CSS}</style>{self.to_html()}"

    def to_latex(self) -> str:
        """A booktabs ``table`` environment (needs ``booktabs``; ``threeparttable`` notes)."""
        from regsurv.report.latex import render_table

        return render_table(self)

    def to_docx(self, path: Path | str, **properties: Any) -> Path:
        """A Word file holding this table alone (caption, three-line table, notes)."""
        from regsurv.report.docx import write_docx

        doc = Document(title=properties.pop("title", self.title), **properties)
        doc.section(self.key, "").add(self)
        return write_docx(doc, Path(path), headings=False)


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    title: str
    png: Path
    svg: Path | None = None
    caption: str = ""


Block = Paragraph | Table | Figure


@dataclass(slots=True)
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> Block:
        self.blocks.append(block)
        return block


@dataclass(slots=True)
class Document:
    title: str
    subtitle: str = ""
    banner: str = ""  # e.g. "SYNTHETIC DATA", shown on every page
    study: str = ""  # the study's name, a property of the Word file
    author: str = "regsurv"
    sections: list[Section] = field(default_factory=list)
    #: what the cell suppression hid and its audit (None without suppression)
    suppression: dict[str, Any] | None = None

    def section(self, id: str, title: str) -> Section:
        s = Section(id=id, title=title)
        self.sections.append(s)
        return s

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def add_warnings(section: Section, *sources: Any) -> None:
    """A ``Warning:`` paragraph for each distinct warning of `sources` (their ``warnings``)."""
    seen: list[str] = []
    for source in sources:
        for w in getattr(source, "warnings", ()) or ():
            if w not in seen:
                seen.append(w)
    for w in seen:
        section.add(Paragraph(f"Warning: {w}", "warning"))
