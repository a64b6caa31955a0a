"""Make the screenshots of docs/tables_and_figures.md (docs/img/*.png) from the default run.

Word pages: report.docx -> PDF (LibreOffice headless) -> PNG (poppler's pdftoppm).
HTML: the report's sections rendered alone and shot in headless Chromium.
Run: PYTHONPATH=src python docs/make_screenshots.py   (needs soffice, pdftoppm, chromium)
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from regsurv.pipeline.runner import run_study
from regsurv.report import Document, Suppressor, build_document, render_html

IMG = Path(__file__).parent / "img"
LIMIT = 300_000  # bytes per screenshot


def _small_png(src: Path, dst: Path, width: int) -> None:
    """Resize to `width` and quantize to a palette until the file is under LIMIT."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        for colours in (256, 128, 64, 32):
            im.quantize(colours).save(dst, optimize=True)
            if dst.stat().st_size < LIMIT:
                return
    raise RuntimeError(f"{dst} stays over {LIMIT} bytes")


def _pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return text.split("\f")


def word_pages(out: Path, work: Path) -> None:
    subprocess.run(["soffice", f"-env:UserInstallation=file://{work / 'lo'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(out / "report.docx")],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    pdf = work / "report.pdf"
    pages = _pdf_pages(pdf)
    wanted = {
        "docx_table1": "Table 1. Patient characteristics",
        "docx_table3": "Table 3. Multivariable Cox model",
        "docx_forest": "Forest plot of Table 3",
    }
    for name, marker in wanted.items():
        page = next(i for i, p in enumerate(pages, start=1) if marker in p)
        stem = work / name
        subprocess.run(["pdftoppm", "-r", "110", "-f", str(page), "-l", str(page), "-png",
                        "-singlefile", str(pdf), str(stem)], check=True)  # fmt: skip
        _small_png(stem.with_suffix(".png"), IMG / f"{name}.png", 1000)


def html_sections(results, work: Path) -> None:
    doc = build_document(results, work / "figures", targets=None, suppressor=Suppressor())
    shots = {"html_table1": ["table1"], "html_table3_forest": ["table3"], "html_fig2b": ["fig2b"]}
    for name, ids in shots.items():
        part = Document(title=doc.title, banner=doc.banner)
        part.sections = [s for s in doc.sections if s.id in ids]
        page = work / f"{name}.html"
        page.write_text(render_html(part), encoding="utf-8")
        shot = work / f"{name}.png"
        height = {"html_table1": 1500, "html_table3_forest": 3400, "html_fig2b": 1500}[name]
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={work / 'chrome'}",
                        f"--window-size=1100,{height}", f"--screenshot={shot}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        _small_png(shot, IMG / f"{name}.png", 900)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = run_study(out_dir=work / "report")
        word_pages(work / "report", work)
        html_sections(results, work)


if __name__ == "__main__":
    main()
