"""Files: written through regsurv.io, valid, read back unchanged, marked synthetic; the cache
and the CLI."""

from __future__ import annotations

import os

import polars as pl
import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.io import read_puf, validate_puf
from regsurv.synth import (
    cached_synthetic_puf,
    iter_synthetic_puf,
    synthetic_path,
    synthetic_puf,
    write_synthetic_puf,
)
from regsurv.synth import check as check_module


@pytest.mark.parametrize("fmt", ["dat", "csv", "parquet"])
def test_written_file_is_valid_and_reads_back(tmp_path, fmt):
    path = write_synthetic_puf(
        tmp_path / f"puf.{fmt}", rows=4000, seed=5, format=fmt, chunk_rows=1500
    )
    assert path.name == f"puf_synthetic.{fmt}"
    report = validate_puf(path)
    assert report.ok and report.issues == (), report.issues_frame()
    assert report.to_frame()["n_invalid"].sum() == 0
    assert report.n_obs == 4000
    frame = pl.concat(list(iter_synthetic_puf(4000, seed=5, chunk_rows=1500)))
    back = read_puf(path).select(frame.columns)
    assert back.equals(frame)
    readme = path.with_name("puf_synthetic.README.txt").read_text()
    assert "SYNTHETIC" in readme and "not NCDB data" in readme and "seed 5" in readme
    if fmt == "dat":
        program = path.with_suffix(".sas").read_text()
        assert "INPUT" in program and "puf_synthetic.dat" in program


def test_synthetic_names():
    assert synthetic_path("a/b/puf.dat").name == "puf_synthetic.dat"
    assert synthetic_path("my_SYNTHETIC.csv").name == "my_SYNTHETIC.csv"
    with pytest.raises(ValueError, match="format must be one of"):
        write_synthetic_puf("x.dat", rows=10, format="xlsx")


def test_cache_generates_once_per_seed_rows_and_version(tmp_path, monkeypatch):
    monkeypatch.setenv("REGSURV_CACHE_DIR", str(tmp_path))
    first = cached_synthetic_puf(seed=3, rows=1500)
    assert first.parent == tmp_path and "seed3_rows1500_v" in first.name
    assert "synthetic" in first.name
    stamp = os.stat(first).st_mtime_ns
    assert cached_synthetic_puf(seed=3, rows=1500) == first
    assert os.stat(first).st_mtime_ns == stamp
    assert cached_synthetic_puf(seed=4, rows=1500) != first
    assert read_puf(first).equals(synthetic_puf(1500, seed=3))


def test_cli_writes_the_file(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--rows",
            "2000",
            "--seed",
            "1",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p_synthetic.csv").is_file()
    assert read_puf(tmp_path / "p_synthetic.csv").height == 2000


def test_cli_check_exit_code_follows_the_report(monkeypatch):
    calls = []

    def fake_check(frame):
        calls.append(frame.height)
        ok = len(calls) == 1
        target = check_module.TargetCheck("cohort.included", 1124, 1124 if ok else 900, 56.2, "5 %")
        return check_module.SynthCheck(n_obs=frame.height, n_cohort=1124, checks=(target,))

    monkeypatch.setattr("regsurv.synth.check_synthetic_puf", fake_check)
    runner = CliRunner()
    good = runner.invoke(app, ["synth", "--rows", "500", "--check"])
    assert good.exit_code == 0, good.output
    assert "cohort.included" in good.output and "1/1 targets met" in good.output
    bad = runner.invoke(app, ["synth", "--rows", "500", "--check"])
    assert bad.exit_code == 1 and "MISSED" in bad.output
    assert calls == [500, 500]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "10"], "--out is required"),
        (["--format", "xls", "--out", "x"], "--format must be"),
    ],
)
def test_cli_errors_are_one_line(args, message):
    result = CliRunner().invoke(app, ["synth", *args])
    assert result.exit_code == 2
    assert message in result.output
