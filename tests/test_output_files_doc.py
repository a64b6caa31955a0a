"""docs/output_files.md names every file `regsurv run` and `regsurv cohort` write, every
manifest.json and results.json key, and every field of the suppression block."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsurv.cli import app

DOC = (Path(__file__).resolve().parents[1] / "docs" / "output_files.md").read_text("utf-8")
CODE = set(re.findall(r"`([^`]+)`", DOC))


def _named(name: str) -> bool:
    """`name` (a file, a stem, a key) appears in the page as code, alone or in a list."""
    return name in CODE or any(name in re.split(r"[,\s]+", code) for code in CODE)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc") / "run"
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--suppress-below", "11", "-q"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc") / "cohort"
    result = CliRunner().invoke(app, ["cohort", "--out", str(out), "--excluded-ids", "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_every_file_of_run_is_listed(run_dir: Path) -> None:
    missing = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir)
        if rel.parts[0] == "tables":
            ok = _named(rel.name)
        elif rel.parts[0] == "figures":
            ok = _named(path.stem)
        else:
            ok = _named(rel.name)
        if not ok:
            missing.append(str(rel))
    assert missing == []


def test_every_file_of_cohort_is_listed(cohort_dir: Path) -> None:
    names = [p.name for p in cohort_dir.iterdir()]
    assert {"cohort_flow.csv", "cohort.parquet", "excluded_ids.csv"} <= set(names)
    missing = [n for n in names if not _named(n) and not _named(Path(n).stem + ".png")]
    assert missing == []


def test_every_manifest_and_results_key_and_the_suppression_block_are_listed(
    run_dir: Path,
) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    keys = [*manifest, *manifest["input"], *manifest["study_file"], *manifest["options"]]
    keys += [*results, *results["cohort"], *results["profile"]]
    for analysis in results["analyses"].values():
        keys += list(analysis)
    suppression = manifest["suppression"]
    assert suppression == results["suppression"]
    keys += list(suppression)
    assert [k for k in dict.fromkeys(keys) if not _named(k)] == []
    assert "## The suppression block" in DOC and suppression["audit"] == "passed"
