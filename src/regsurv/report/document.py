"""A small document model shared by the HTML and Word writers.

The report is built once as a `Document` (sections of paragraphs, tables and figures) and
rendered by `html.write_html` and `docx.write_docx`, so both outputs hold the same content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    kind: str = "text"  # "text" | "note" | "warning"


@dataclass(frozen=True, slots=True)
class Table:
    """A formatted table: `header` and `rows` are display strings; `tidy` is the CSV export."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    tidy: pl.DataFrame | None = None
    heading_rows: frozenset[int] = frozenset()  # rows that name a variable (bold, spanning)


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
    sections: list[Section] = field(default_factory=list)

    def section(self, id: str, title: str) -> Section:
        s = Section(id=id, title=title)
        self.sections.append(s)
        return s

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
