"""The engine speaks no study: the sarcoma study's words live only in `regsurv/studies/`.

Group labels, figure and table ids and the surgery code list of the shipped study must not
appear in any other source or data file of the package: a new study then needs no code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "regsurv"
STUDY_WORDS = (
    "SP alone",
    "Metastasectomy",
    "Non-surgical adjuvant",
    "SP+M",
    "SP+C",
    "SP+R",
    "fig2a",
    "fig2b",
    "fig3",
    "supp_table",
)
# The definitive-surgery codes as a list, in any quoting ("26", "30", "40" ...).
SURGERY_CODES = re.compile(r"""["']26["'],\s*["']30["'],\s*["']40["']""")


def _engine_files() -> list[Path]:
    return sorted(
        p
        for p in SRC.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".toml", ".md", ".txt"}
        and "studies" not in p.relative_to(SRC).parts
    )


@pytest.mark.parametrize("path", _engine_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_study_vocabulary_outside_studies(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [w for w in STUDY_WORDS if w in text]
    assert not found, f"{path.relative_to(SRC)} names {found}"
    assert not SURGERY_CODES.search(text), f"{path.relative_to(SRC)} lists the surgery codes"


def test_the_scan_sees_the_study_files() -> None:
    """The words are really in the shipped study (the scan above would catch a copy)."""
    text = (SRC / "studies" / "sts_metastasectomy.toml").read_text(encoding="utf-8")
    assert all(w in text for w in ("SP alone", "Metastasectomy", "fig2b"))
    assert SURGERY_CODES.search(text)
    assert len(_engine_files()) > 50
