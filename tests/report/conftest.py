"""One study run on the synthetic PUF, shared by the report tests (it takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regsurv.pipeline.runner import run_study


@pytest.fixture(scope="session")
def study_run(tmp_path_factory: pytest.TempPathFactory):
    """The default run (profile 'sas', synthetic PUF seed 0): (results, output folder)."""
    out = tmp_path_factory.mktemp("run") / "report"
    results = run_study(out_dir=out)
    return results, out


def outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
