"""The newcomer walkthrough of docs/write_your_own_study.md: the starter edited into radiation
vs none, as the page says, loads and runs; its TOML snippets parse; and what the page warns
about holds (an unknown code such as RX_SUMM_RADIATION 9 is a valid "no", not a null)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import polars as pl
import pytest

from regsurv.pipeline.runner import build_study_cohort, resolve_source
from regsurv.pipeline.spec import load_study
from regsurv.studies import study_path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "write_your_own_study.md"
TOML_BLOCKS = re.findall(r"^```toml\n(.*?)^```", PAGE.read_text("utf-8"), re.S | re.M)

GROUP = """[cohort.flags]
RT = { use = "radiation_given" }

[cohort.groups.radiation]
label = "Radiation"
reference = "No radiation"
levels = [
    { label = "No radiation", when = { RT = false } },
    { label = "Radiation", when = { RT = true } },
]

"""


def test_every_toml_snippet_of_the_page_parses() -> None:
    assert len(TOML_BLOCKS) >= 6
    for block in TOML_BLOCKS:
        tomllib.loads(block)


def _radiation_study(tmp_path: Path, *, known_criterion: bool) -> Path:
    """The starter with the edits the page lists: flag, group, exposure, criterion, analyses."""
    text = study_path("sts_chemotherapy").read_text(encoding="utf-8")
    start, end = text.index("[cohort.flags]"), text.index("# Bands of this study")
    text = text[:start] + GROUP + text[end:]
    snippet = next(b for b in TOML_BLOCKS if 'id = "radiation_known"' in b)
    criterion = re.search(r'\[\[cohort.criteria\]\]\nid = "chemotherapy_known"\n.*?\n.*?\n', text)
    assert criterion is not None
    text = text.replace(criterion.group(0), snippet if known_criterion else "")
    text = text.replace('exposure = "chemo"', 'exposure = "radiation"')
    text = text.replace('"No chemotherapy"', '"No radiation"').replace(
        '"Chemotherapy"', '"Radiation"'
    )
    text = re.sub(r'\bchemo\b(?=["\s,\]])', "radiation", text)
    path = tmp_path / f"radiation_{known_criterion}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def source():
    return resolve_source(None, None, 0)


def test_the_edited_starter_loads_and_excludes_unknown_radiation(tmp_path: Path, source) -> None:
    spec = load_study(_radiation_study(tmp_path, known_criterion=True))
    assert spec.cohort.exposure == "radiation"
    assert {a.kind for a in spec.analyses} >= {"summary_table", "km", "cox", "iptw", "matching"}
    result = build_study_cohort(spec, source)
    steps = {s.id: s for s in result.flow.steps}
    assert steps["radiation_known"].n_excluded > 0
    assert set(result.group_counts) == {"No radiation", "Radiation"}


def test_without_the_criterion_unknown_radiation_lands_in_the_no_arm(
    tmp_path: Path, source
) -> None:
    known_spec = load_study(_radiation_study(tmp_path, known_criterion=True))
    with_known = build_study_cohort(known_spec, source)
    without = build_study_cohort(
        load_study(_radiation_study(tmp_path, known_criterion=False)), source
    )
    n_unknown = {s.id: s for s in with_known.flow.steps}["radiation_known"].n_excluded
    assignment = {s.id: s for s in without.flow.steps}["radiation_assigned"]
    assert assignment.n_excluded == 0  # code 9 is not "unknown" to the flag
    unknown_kept = without.cohort.height - with_known.cohort.height
    assert 0 < unknown_kept <= n_unknown  # later criteria may remove some of them
    gained = without.group_counts["No radiation"] - with_known.group_counts["No radiation"]
    assert gained == unknown_kept
    assert without.group_counts["Radiation"] == with_known.group_counts["Radiation"]
    assert isinstance(without.cohort, pl.DataFrame)
