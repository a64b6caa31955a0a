"""`regsurv cohort`: outputs on success; one-line errors, never a traceback, on bad input."""

from __future__ import annotations

import copy

import polars as pl
import pytest
from typer.testing import CliRunner

from regsurv.cli import app

from ._helpers import puf_frame, shipped_raw
from .test_cohort_spec import _write

ROWS = [
    {},  # SP+R
    {"RX_SUMM_RADIATION": "0", "RAD_TREAT_VOL": "00", "RAD_REGIONAL_DOSE_CGY": 0},  # SP alone
    {"RX_SUMM_SURG_OTH_REGDIS": "4"},  # SP+M+R
    {"AGE": 12},  # excluded: adult
]


@pytest.fixture
def puf(tmp_path):
    path = tmp_path / "puf.parquet"
    puf_frame(ROWS).write_parquet(path)
    return path


def _invoke(*args):
    return CliRunner().invoke(app, ["cohort", *map(str, args)])


def test_writes_figure_flow_and_cohort(tmp_path, puf):
    out = tmp_path / "out"
    result = _invoke("--data", puf, "--out", out, "--excluded-ids")
    assert result.exit_code == 0, result.output
    assert "4 -> 3 patients (SP alone 1, Metastasectomy 1, Non-surgical adjuvant therapies 1)" in (
        result.output
    )
    for suffix in ("png", "svg", "pdf"):
        assert (out / f"fig1_inclusion_flow.{suffix}").stat().st_size > 0
    flow = pl.read_csv(out / "cohort_flow.csv")
    assert flow["n_excluded"].to_list() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    cohort = pl.read_parquet(out / "cohort.parquet")
    assert cohort.height == 3 and cohort.schema["treatment"] == pl.Enum(
        ["SP alone", "Metastasectomy", "Non-surgical adjuvant therapies"]
    )
    excluded = pl.read_csv(out / "excluded_ids.csv")
    assert excluded.rows() == [(3, "adult")]


def test_without_data_uses_the_synthetic_puf(tmp_path, monkeypatch):
    seen = {}

    def fake_cached_synthetic_puf(*, seed):
        seen["seed"] = seed
        path = tmp_path / "synthetic.parquet"
        puf_frame(ROWS).write_parquet(path)
        return path

    monkeypatch.setattr("regsurv.synth.cached_synthetic_puf", fake_cached_synthetic_puf)
    result = _invoke("--out", tmp_path / "out", "--seed", 7)
    assert result.exit_code == 0, result.output
    assert seen == {"seed": 7}


def _study(tmp_path, mutate):
    raw = copy.deepcopy(shipped_raw())
    mutate(raw)
    return _write(tmp_path, raw)


def _adult(raw):
    return next(c for c in raw["cohort"]["criteria"] if c["id"] == "adult")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["cohort"].update(critera=[]), "cohort.critera: unknown key"),
        (
            lambda r: _adult(r).update(where={"field": "AGEE", "ge": 18}),
            "field 'AGEE' is not in the PUF dictionary",
        ),
        (
            lambda r: _adult(r).update(where={"field": "SEX", "in": ["M"]}),
            "code 'M' is not in the dictionary for SEX",
        ),
        (
            lambda r: _adult(r).update(where={"field": "SEX", "in": []}),
            "empty 'in' list for field 'SEX'",
        ),
    ],
    ids=["typo_key", "unknown_field", "unknown_code", "empty_in"],
)
def test_bad_study_is_one_line_without_traceback(tmp_path, puf, mutate, message):
    result = _invoke("--data", puf, "--study", _study(tmp_path, mutate), "--out", tmp_path / "o")
    assert result.exit_code == 2  # as `regsurv run`: a bad study file
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_puf_lacking_a_field(tmp_path):
    path = tmp_path / "puf.parquet"
    puf_frame(ROWS).drop("SEQUENCE_NUMBER").write_parquet(path)
    result = _invoke("--data", path, "--out", tmp_path / "o")
    assert result.exit_code == 2  # as `regsurv run`: the study names a field the data lack
    assert result.output.strip() == (
        "error: cohort.criteria[no_prior_malignancy].where: field 'SEQUENCE_NUMBER' is not a "
        "column of puf.parquet"
    )


def test_criteria_excluding_everyone_draw_the_flow_and_say_so(tmp_path, puf):
    study = _study(tmp_path, lambda r: _adult(r).update(where={"field": "AGE", "ge": 95}))
    out = tmp_path / "out"
    result = _invoke("--data", puf, "--study", study, "--out", out)
    assert result.exit_code == 4  # as `regsurv run`: an empty cohort
    assert "the criteria exclude everyone: 0 of 4 rows remain after step 'adult'" in result.output
    assert (out / "fig1_inclusion_flow.png").exists() and (out / "cohort_flow.csv").exists()
    assert not (out / "cohort.parquet").exists()


def test_unreadable_data_file(tmp_path):
    path = tmp_path / "puf.csv"
    path.write_text("not,a,puf\n1,2,3\n", encoding="utf-8")
    result = _invoke("--data", path, "--out", tmp_path / "o")
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_refuses_a_non_empty_folder_without_force(tmp_path, puf):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    result = _invoke("--data", puf, "--out", out)
    assert result.exit_code == 5 and "not empty" in result.output
    result = _invoke("--data", puf, "--out", out, "--force")  # not regsurv's folder: kept
    assert result.exit_code == 5 and "was not written by regsurv" in result.output
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    ours = tmp_path / "ours"
    assert _invoke("--data", puf, "--out", ours).exit_code == 0
    result = _invoke("--data", puf, "--out", ours, "--force")  # regsurv's own folder: replaced
    assert result.exit_code == 0, result.output
    assert (ours / "cohort.parquet").is_file() and (ours / ".regsurv-output").is_file()


def test_same_cohort_as_run(tmp_path, puf):
    """`regsurv cohort` and `regsurv run` share the cohort step."""
    from regsurv.pipeline.runner import build_study_cohort, resolve_source
    from regsurv.pipeline.spec import load_study

    out = tmp_path / "out"
    assert _invoke("--data", puf, "--out", out).exit_code == 0
    expected = build_study_cohort(load_study(), resolve_source(puf, None, 0)).cohort
    assert pl.read_parquet(out / "cohort.parquet").equals(expected)
