"""The Word report read back with python-docx, and rendered to PDF by LibreOffice."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

docx = pytest.importorskip("docx")
from docx.enum.section import WD_ORIENT  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402


@pytest.fixture(scope="module")
def word(study_run):
    _, out = study_run
    return docx.Document(str(out / "report.docx"))


def _table_by_first_header(d, first: str, contains: str):
    for t in d.tables:
        if t.rows[0].cells[0].text == first and any(contains in c.text for c in t.columns[0].cells):
            return t
    raise AssertionError(f"no table headed {first!r} with {contains!r}")


def _section_of(d, element) -> int:
    """Index of the section holding a body element (a section ends at a paragraph's sectPr)."""
    index = 0
    for child in d.element.body.iterchildren():
        if child is element:
            return index
        if child.tag == qn("w:p") and child.find(qn("w:pPr") + "/" + qn("w:sectPr")) is not None:
            index += 1
    raise AssertionError("element not in the body")


def test_wide_tables_are_on_landscape_pages(word):
    table1 = _table_by_first_header(word, "Characteristic", "Age, years")
    assert len(table1.columns) > 6
    assert word.sections[_section_of(word, table1._tbl)].orientation == WD_ORIENT.LANDSCAPE
    table3 = _table_by_first_header(word, "Variable", "Metastasectomy")
    assert word.sections[_section_of(word, table3._tbl)].orientation == WD_ORIENT.PORTRAIT
    assert word.sections[0].orientation == WD_ORIENT.PORTRAIT


def test_header_rows_repeat_and_tables_have_three_rules(word):
    for t in word.tables:
        tr_pr = t.rows[0]._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None
        top = t.rows[0].cells[0]._tc.tcPr.find(qn("w:tcBorders"))
        assert top.find(qn("w:top")) is not None
        bottom = t.rows[-1].cells[0]._tc.tcPr.find(qn("w:tcBorders"))
        assert bottom is not None and bottom.find(qn("w:bottom")) is not None


def _bold_text(cell) -> str:
    return "".join(r.text for p in cell.paragraphs for r in p.runs if r.bold)


@pytest.mark.parametrize(
    ("first", "contains"), [("Variable", "Metastasectomy"), ("Characteristic", "Age, years")]
)
def test_only_p_values_below_005_are_bold(word, first, contains):
    t = _table_by_first_header(word, first, contains)
    j = [c.text for c in t.rows[0].cells].index("p-value")
    seen = {True: 0, False: 0}
    for row in t.rows[1:]:
        cell = row.cells[j]
        p = re.sub(r"[a-z]$", "", cell.text.strip())  # footnote letter
        if not p or p == "—":
            continue
        significant = p.startswith("<") or float(p) < 0.05
        seen[significant] += 1
        assert bool(_bold_text(cell)) == significant, (row.cells[0].text, cell.text)
        for other in row.cells[1:j]:
            assert not _bold_text(other), other.text
    assert seen[True] and seen[False]


def test_captions_are_numbered_word_fields(word):
    captions = [p for p in word.paragraphs if p.style.name == "Caption"]
    fields = ["".join(t.text for t in p._p.iter(qn("w:instrText"))).strip() for p in captions]
    table3 = next(p for p in captions if p.text.startswith("Table 3. Multivariable"))
    assert "SEQ Table \\r 3" in "".join(t.text for t in table3._p.iter(qn("w:instrText")))
    assert sum(f.startswith("SEQ Table") for f in fields) >= 3
    figures = [p for p in word.paragraphs if p.style.name == "Figure Caption"]
    assert len(figures) == len(word.inline_shapes)
    numbered = [p for p in figures if p.text.startswith("Fig. ")]
    assert len(numbered) == 4  # Fig. 1, 2a, 2b, 3: the paper's numbers, as SEQ fields
    assert all(p._p.find(".//" + qn("w:instrText")) is not None for p in numbered)


def test_document_properties_and_table_notes(word, study_run):
    results, _ = study_run
    props = word.core_properties
    assert props.author == "regsurv" and props.title == results.spec.report.title
    assert props.subject == results.spec.study.title
    assert props.created is not None
    notes = [p for p in word.paragraphs if p.style.name == "Table Note"]
    lettered = [p for p in notes if p.runs and p.runs[0].font.superscript]
    assert any("Chi-squared" in p.text for p in lettered)
    assert any("type-3 Wald" in p.text for p in lettered)


def test_word_report_renders_to_pdf_with_libreoffice(study_run, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip(
            "LibreOffice (Debian's libreoffice-writer) is not installed; .ci/run installs it"
        )
    _, out = study_run
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(out / "report.docx")],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    pdf = tmp_path / "report.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
    head = pdf.read_bytes()
    assert head.startswith(b"%PDF")
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is not None:
        info = subprocess.run(
            [pdfinfo, "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True
        ).stdout
        sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+)", info)
        assert any(float(w) > float(h) for w, h in sizes), "no landscape page in the PDF"
        assert any(float(w) < float(h) for w, h in sizes)
