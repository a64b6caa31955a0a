"""Shipped files name repository-relative paths only (a path outside the repository rots)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# an absolute path of the machine the project was built on, or one reaching above the repository
OUTSIDE = re.compile(r"(?<![\w.])/work/|\.\./shared/")
SUFFIXES = {".py", ".toml", ".md", ".yml", ".sas", ".txt"}


def _shipped_files() -> list[Path]:
    roots = [ROOT / "src", ROOT / "docs", ROOT / "tests", ROOT / "benchmarks", ROOT / "tools"]
    files = [p for r in roots for p in r.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    files += [ROOT / name for name in ("README.md", "mkdocs.yml", "pyproject.toml")]
    # the R fixtures are generated elsewhere and copied in as they are
    fixtures = ROOT / "tests" / "reference" / "r"
    return [p for p in files if fixtures not in p.parents and p != Path(__file__)]


def test_no_shipped_file_points_outside_the_repository() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _shipped_files()
        for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_field_specification_the_data_files_cite_is_in_the_repository() -> None:
    cited = ROOT / "docs" / "ncdb_puf_fields.md"
    assert cited.is_file()
    study = (ROOT / "src" / "regsurv" / "studies" / "sts_metastasectomy.toml").read_text()
    assert "docs/ncdb_puf_fields.md" in study


def test_the_scan_covers_the_study_file_the_io_tests_and_the_top_level_files() -> None:
    scanned = {p.relative_to(ROOT).as_posix() for p in _shipped_files()}
    for expected in (
        "src/regsurv/studies/sts_metastasectomy.toml",
        "src/regsurv/studies/STUDY_KEYS.md",
        "tests/io/test_io_roundtrip.py",
        "README.md",
        "mkdocs.yml",
        "pyproject.toml",
        "tools/compare_results.py",
    ):
        assert expected in scanned, expected
    assert OUTSIDE.search("see /work/shared/fixtures") and OUTSIDE.search("../shared/design")
    assert not OUTSIDE.search("docs/ncdb_puf_fields.md")
