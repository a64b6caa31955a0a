"""regsurv.report: tables, figures, HTML and Word output of a study run.

`write_report` renders what `regsurv.pipeline` computed; it never estimates anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regsurv.report.build import RENDERERS, build_document, count_hooks
from regsurv.report.document import Document
from regsurv.report.docx import write_docx
from regsurv.report.figures import FigureBatch, KaplanMeierDisplay
from regsurv.report.forest_plot import ForestPlotDisplay
from regsurv.report.format import Suppressor
from regsurv.report.html import render_html, write_html
from regsurv.report.love_plot import LovePlotDisplay
from regsurv.report.results_json import results_to_json
from regsurv.report.tables import (
    format_balance,
    format_regression,
    format_summary,
    format_survival,
)

__all__ = [
    "RENDERERS",
    "Document",
    "ForestPlotDisplay",
    "KaplanMeierDisplay",
    "LovePlotDisplay",
    "Suppressor",
    "build_document",
    "format_balance",
    "format_regression",
    "format_summary",
    "format_survival",
    "render_html",
    "write_docx",
    "write_html",
    "write_report",
]


def write_report(results: Any, out_dir: Path, *, targets: dict[str, Any] | None = None) -> Document:
    """Write report.html, report.docx, tables/*.csv, figures/* and results.json to `out_dir`;
    the returned `Document` carries the suppression's audit summary."""
    out_dir = Path(out_dir)
    suppressor = Suppressor(results.suppress_below).planned(results, count_hooks())  # audited
    figures = out_dir / "figures"
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    with FigureBatch():  # figures are written by worker processes meanwhile
        doc = build_document(results, figures, targets=targets, suppressor=suppressor)
        for table in doc.tables():
            if table.tidy is not None:
                suppressor.frame(table.tidy).write_csv(tables / f"{table.key}.csv")
        (out_dir / "results.json").write_text(
            results_to_json(
                results, suppressor, {kind: r.to_json for kind, r in RENDERERS.items()}
            ),
            encoding="utf-8",
        )
    write_html(doc, out_dir / "report.html")  # both embed the PNG figures
    write_docx(doc, out_dir / "report.docx")
    doc.suppression = suppressor.audit_summary()
    return doc
