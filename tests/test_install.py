"""What a plain install gives a newcomer: `regsurv --version`, pandas input with string columns."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import regsurv
from regsurv.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_version_option_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"regsurv {regsurv.__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "regsurv.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("regsurv ")


def test_pyarrow_is_a_core_dependency() -> None:
    # pl.from_pandas needs pyarrow for string columns; without it pandas input fails
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("pyarrow") for dep in project["dependencies"])


def test_pandas_frame_with_string_columns_is_accepted() -> None:
    pd = pytest.importorskip("pandas")
    from regsurv.survival import kaplan_meier

    frame = pd.DataFrame(
        {
            "time": [1.0, 2.0, 3.0, 4.0],
            "event": [1, 0, 1, 1],
            "arm": pd.Series(["a", "b", "a", "b"], dtype="string"),
            "site": ["x", "y", "x", "y"],  # object dtype
        }
    )
    curves = kaplan_meier(frame, time="time", event="event", group="arm")
    assert list(curves.curves) == ["a", "b"]
