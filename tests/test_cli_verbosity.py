"""-q/-v on every command: quiet prints only errors, verbose the time of each step; progress is
drawn only on a terminal and never with -q."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from regsurv import synth
from regsurv.cli import app
from regsurv.cli._console import Output

COMMANDS = ("validate", "convert", "synth", "cohort", "run", "init")
TIMING = re.compile(r"^.+: \d+\.\d\d s$", re.M)


def _invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_quiet_and_verbose(command: str) -> None:
    text = _invoke(command, "--help").output
    assert "--quiet" in text and "-q" in text and "--verbose" in text and "-v" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_quiet_and_verbose_together_are_a_usage_error(command: str, tmp_path: Path) -> None:
    args = {
        "validate": [tmp_path / "x.dat"],
        "convert": [tmp_path / "x.dat", "--out", tmp_path / "x.parquet"],
        "synth": ["--out", tmp_path / "x.dat"],
        "cohort": ["--out", tmp_path / "c"],
        "run": ["--out", tmp_path / "r"],
        "init": [tmp_path / "i"],
    }[command]
    result = _invoke(command, *args, "-q", "-v")
    assert result.exit_code == 2
    assert result.output.strip() == "error: --quiet and --verbose exclude each other"


@pytest.fixture(scope="module")
def puf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("puf")
    return synth.write_synthetic_puf(folder / "puf.dat", rows=3000, seed=1)


def test_io_commands_quiet_print_nothing_and_verbose_print_timings(
    puf: Path, tmp_path: Path
) -> None:
    quiet = _invoke("validate", puf, "-q")
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = _invoke("validate", puf, "-v")
    assert loud.exit_code == 0 and "validating puf_synthetic.dat:" in loud.output
    assert TIMING.search(loud.output)
    out = tmp_path / "p.parquet"
    assert _invoke("convert", puf, "--out", out, "-q").output == "" and out.is_file()
    again = _invoke("convert", puf, "--out", tmp_path / "q.parquet", "-v")
    assert "converting puf_synthetic.dat -> q.parquet:" in again.output
    assert "wrote" in again.output and "\x1b[" not in again.output  # no progress off a terminal


def test_quiet_validate_still_names_the_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("PUF_CASE_ID,AGE\nA,4x\nB,50\n")
    result = _invoke("validate", bad, "-q")
    assert result.exit_code == 3
    assert "error: AGE: 1 row holds non-numeric text" in result.output
    assert "NOT usable" not in result.output and "Fields" not in result.output


def test_synth_cohort_init_quiet_and_verbose(tmp_path: Path) -> None:
    result = _invoke("synth", "--out", tmp_path / "s.dat", "--rows", 500, "-q")
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "s_synthetic.dat").is_file()
    result = _invoke("synth", "--out", tmp_path / "t.dat", "--rows", 500, "-v")
    assert "writing 500 rows:" in result.output and "wrote" in result.output
    cohort = _invoke("cohort", "--out", tmp_path / "c", "-v")
    assert cohort.exit_code == 0, cohort.output
    for step in ("study file", "data", "cohort", "writing outputs"):
        assert re.search(rf"^{step}: \d+\.\d\d s$", cohort.output, re.M), step
    quiet = _invoke("cohort", "--out", tmp_path / "c", "--force", "-q")
    assert quiet.exit_code == 0 and quiet.output == ""
    assert _invoke("init", tmp_path / "i", "-q").output == ""
    assert "writing the starter study:" in _invoke("init", tmp_path / "j", "-v").output


def test_run_quiet_and_verbose(tmp_path: Path) -> None:
    quiet = _invoke("run", "--out", tmp_path / "q", "--only", "table1", "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == "" and (tmp_path / "q" / "report.html").is_file()
    loud = _invoke("run", "--out", tmp_path / "v", "--only", "table1", "-v")
    assert loud.exit_code == 0, loud.output
    steps = [line.split(":")[0] for line in TIMING.findall(loud.output)]
    assert steps == ["data", "cohort", "table1", "report"]
    assert "patients in the cohort" in loud.output


def test_progress_is_drawn_only_on_a_terminal_and_not_when_quiet() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert Output(console=terminal).live
    assert not Output(console=terminal, quiet=True).live
    assert not Output(console=pipe).live
    with Output(console=terminal).step("counting", total=10) as done:
        done(10)
    assert "counting" in terminal.file.getvalue()
    with Output(console=pipe).step("counting", total=10) as done:
        done(10)
    assert pipe.file.getvalue() == ""


def test_synthetic_writer_reports_rows_written(tmp_path: Path) -> None:
    seen: list[int] = []
    synth.write_synthetic_puf(tmp_path / "x.csv", rows=2500, format="csv", chunk_rows=1000,
                              on_rows=seen.append)  # fmt: skip
    assert seen == [1000, 2000, 2500]
