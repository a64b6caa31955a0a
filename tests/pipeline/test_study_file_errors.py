"""Study mistakes are one-line errors naming the key path and the value, before any data is
read (exit 2 from `regsurv run`)."""

from __future__ import annotations

import copy
import tomllib

import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.studies import study_path

from ._toml import write_study


def _raw():
    return tomllib.loads(study_path().read_text(encoding="utf-8"))


def _analysis(raw, analysis_id):
    return next(a for a in raw["analyses"] if a["id"] == analysis_id)


BAD = {
    "unknown_column": (
        lambda r: _analysis(r, "table1")["rows"].append({"column": "agegroup"}),
        "analyses[table1].rows[7].column: 'agegroup' is not an analysis column",
    ),
    "unknown_reference_level": (
        lambda r: _analysis(r, "table3")["reference"].update(sex="Femal"),
        "analyses[table3].reference.sex: 'Femal' is not a level of sex",
    ),
    "unknown_kind": (
        lambda r: _analysis(r, "fig3").update(kind="kaplan"),
        "analyses[fig3]",
    ),
    "duplicate_id": (
        lambda r: _analysis(r, "fig3").update(id="fig2b"),
        "id 'fig2b' is used twice",
    ),
    "override_outside_vocabulary": (
        lambda r: _analysis(r, "table3").update(ties="exact"),
        "analyses[table3].ties",
    ),
    "unknown_key": (
        lambda r: _analysis(r, "fig2b").update(colour="red"),
        "analyses[fig2b].colour: unknown key",
    ),
    "matching_links_no_iptw": (
        lambda r: _analysis(r, "matched").update(propensity="fig2b"),
        "analyses[matched].propensity: 'fig2b' is not the id of an earlier iptw analysis",
    ),
    "matching_group_not_a_level": (
        lambda r: _analysis(r, "matched").update(survival_reference="SP only"),
        "analyses[matched].survival_reference: 'SP only' is not a level of treatment",
    ),
    "overlapping_groups": (
        lambda r: r["cohort"]["groups"]["treatment"]["levels"][0].update(when={"SP": True}),
        "cohort.groups.treatment: flags SP=true, M=false, C=false, R=true match two levels, "
        "'SP alone' and 'Non-surgical adjuvant therapies'",
    ),
    "group_unknown_flag": (
        lambda r: r["cohort"]["groups"]["treatment"]["levels"][1].update(when={"X": True}),
        "cohort.groups.treatment: unknown flag 'X'",
    ),
    "group_reference": (
        lambda r: r["cohort"]["groups"]["treatment"].update(reference="SP"),
        "cohort.groups.treatment.reference: 'SP' is not one of",
    ),
    "band_unknown_field": (
        lambda r: r["cohort"]["bands"]["age_group"]["levels"][0].update(
            where={"field": "AGEE", "le": 55}
        ),
        "field 'AGEE' is not in the PUF dictionary",
    ),
    "band_reference": (
        lambda r: r["cohort"]["bands"]["age_group"].update(reference="<55"),
        "cohort.bands.age_group.reference: '<55' is not one of",
    ),
    "flag_shadows_a_column": (
        lambda r: r["cohort"]["flags"].update(sex={"use": "chemotherapy"}),
        "cohort.flags.sex: the column 'sex' exists already",
    ),
    "outcome_column": (
        lambda r: r["outcome"].update(time="os_days"),
        "outcome.time: 'os_days' is not an analysis column",
    ),
    "trend_positive_level": (
        lambda r: _analysis(r, "utilization").update(positive="Metastasis"),
        "analyses[utilization].positive: 'Metastasis' is not a level of treatment",
    ),
}


@pytest.fixture
def no_data_read(monkeypatch):
    """Fail the test if the run reaches the data (the errors must come first)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the data were read before the study error was reported")

    monkeypatch.setattr("regsurv.pipeline.runner.resolve_source", refuse)


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_study_exits_2_with_the_key_path(tmp_path, no_data_read, case):
    mutate, expected = BAD[case]
    raw = copy.deepcopy(_raw())
    mutate(raw)
    study = write_study(tmp_path / "study.toml", raw)
    result = CliRunner().invoke(app, ["run", "--study", study, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert not (tmp_path / "o").exists()


def test_unknown_only_id_exits_2_before_reading_data(tmp_path, no_data_read):
    result = CliRunner().invoke(app, ["run", "--only", "fig2b,fig9", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--only: 'fig9' is neither an analysis id" in result.output


def test_missing_targets_file_exits_2(tmp_path, no_data_read):
    raw = _raw()
    raw["report"]["targets"] = "nowhere.targets.toml"
    study = write_study(tmp_path / "study.toml", raw)
    result = CliRunner().invoke(app, ["run", "--study", study, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "report.targets" in result.output


def test_targets_path_is_relative_to_the_study_file(tmp_path):
    """A copied study keeps its comparison: the targets file is looked up beside it."""
    from regsurv.pipeline.runner import load_targets
    from regsurv.pipeline.spec import load_study

    study = tmp_path / "copy.toml"
    study.write_text(study_path().read_text(encoding="utf-8"), encoding="utf-8")
    block = '[[compare]]\nanalysis = "fig2b"\nkind = "km_median"\nitems = []\n'
    (tmp_path / "sts_metastasectomy.targets.toml").write_text(block, encoding="utf-8")
    targets = load_targets(load_study(study), study)
    assert targets == {"compare": [{"analysis": "fig2b", "kind": "km_median", "items": []}]}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('analysis = "fig9"\nkind = "hr"\nitems = []', "compare[0].analysis: 'fig9'"),
        ('analysis = "fig2b"\nkind = "median"\nitems = []', "compare[0].kind: 'median'"),
    ],
)
def test_targets_naming_unknown_analyses_or_kinds_exit_2(tmp_path, no_data_read, block, message):
    raw = _raw()
    raw["report"]["targets"] = "t.toml"
    (tmp_path / "t.toml").write_text(f"[[compare]]\n{block}\n", encoding="utf-8")
    study = write_study(tmp_path / "study.toml", raw)
    result = CliRunner().invoke(app, ["run", "--study", study, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (
            "RX_SUMM_CHEMO",
            "cohort.criteria[complete_treatment].where: field 'RX_SUMM_CHEMO' is not a column "
            "of puf.parquet",
        ),
        ("SEX", "sex needs one of the fields SEX, which puf.parquet lacks"),
    ],
)
def test_fields_the_study_reads_are_checked_against_the_data(tmp_path, drop, message):
    """A field the study reads that the PUF lacks: exit 2 naming the key, in run and cohort."""
    import polars as pl

    from regsurv.synth import cached_synthetic_puf

    data = tmp_path / "puf.parquet"
    pl.read_parquet(cached_synthetic_puf(seed=0)).drop(drop).write_parquet(data)
    for command in ("run", "cohort"):
        out = tmp_path / command
        result = CliRunner().invoke(app, [command, "--data", str(data), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1
