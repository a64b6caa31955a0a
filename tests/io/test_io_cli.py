"""`regsurv validate` and `regsurv convert` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import typer
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from regsurv.cli import _io
from regsurv.io import write_puf


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    _io.register(app)
    return app


def _invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_validate_a_usable_file_exits_0(app, tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame, tmp_path / "puf.dat")
    result = _invoke(app, "validate", path)
    assert result.exit_code == 0, result.output
    assert "25 rows" in result.output and "layout puf.sas" in result.output
    assert "usable" in result.output.splitlines()[-1]


def test_validate_an_unusable_file_exits_3(app, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("PUF_CASE_ID,AGE\nA,4x\nA,50\n")
    result = _invoke(app, "validate", path)
    assert result.exit_code == 3
    assert "AGE: 1 row holds non-numeric text ('4x')" in result.output
    assert "PUF_CASE_ID: 2 rows with a duplicated id" in result.output
    assert "NOT usable" in result.output


def test_validate_uses_the_layout_option(app, tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame, tmp_path / "puf.dat")
    program = path.with_suffix(".sas").rename(tmp_path / "layout.sas")
    result = _invoke(app, "validate", path, "--layout", program)
    assert result.exit_code == 0, result.output
    assert "layout layout.sas" in result.output


def test_unreadable_file_is_one_line_without_traceback(app, tmp_path: Path) -> None:
    result = _invoke(app, "validate", tmp_path / "missing.dat")
    assert result.exit_code == 3
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "missing.dat: no such file" in result.output


def test_convert_writes_parquet(app, tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame, tmp_path / "puf.dat")
    out = tmp_path / "puf.parquet"
    result = _invoke(app, "convert", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert_frame_equal(pl.read_parquet(out), puf_frame)


def test_convert_stops_on_bad_input_and_leaves_no_file(app, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("PUF_CASE_ID,AGE\nA,4x\n")
    out = tmp_path / "out.parquet"
    result = _invoke(app, "convert", path, "--out", out)
    assert result.exit_code == 3
    assert "AGE: 1 row holds non-numeric text" in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_convert_can_keep_invalid_text(app, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("PUF_CASE_ID,AGE\nA,4x\nB,50\n")
    out = tmp_path / "out.parquet"
    result = _invoke(app, "convert", path, "--out", out, "--keep-invalid")
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    assert frame["AGE"].to_list() == [None, 50]
    assert frame["AGE__invalid"].to_list() == ["4x", None]


def test_messages_with_brackets_are_printed_verbatim(app, tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text("PUF_CASE_ID,AGE\nA,130\n")
    result = _invoke(app, "validate", path, "--layout", tmp_path / "x.sas")
    assert result.exit_code == 2
    assert "a layout (--layout) applies to fixed-width files only" in result.output
    result = _invoke(app, "validate", path)
    assert "AGE: 1 row falls outside the plausible range [0, 90]" in result.output


@pytest.mark.parametrize("quiet", [False, True])
def test_validate_draws_a_progress_bar_on_a_terminal_only_without_q(
    app, tmp_path: Path, puf_frame: pl.DataFrame, monkeypatch, quiet: bool
) -> None:
    import io

    from rich.console import Console

    from regsurv.cli import _console

    terminal = Console(file=io.StringIO(), force_terminal=True)
    seen: list[tuple[int, int]] = []
    real_validate = _io.validate_puf

    def configure(quiet: bool, verbose: bool) -> _console.Output:
        return _console.Output(quiet=quiet, verbose=verbose, console=terminal)

    def validate_puf(path, **options):
        progress = options["on_progress"]

        def spy(done: int, total: int) -> None:
            seen.append((done, total))
            progress(done, total)

        return real_validate(path, **{**options, "on_progress": spy})

    monkeypatch.setattr(_io, "configure", configure)
    monkeypatch.setattr(_io, "validate_puf", validate_puf)
    path = write_puf(puf_frame, tmp_path / "puf.csv", format="csv")
    result = _invoke(app, "validate", path, *(["-q"] if quiet else []))
    assert result.exit_code == 0, result.output
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    drawn = terminal.file.getvalue()
    if quiet:
        assert drawn == ""
    else:
        assert "validating puf.csv (MiB)" in drawn and "1/1" in drawn
