"""The time analyses (`time_varying_cox`, `landmark`) of the shipped study: the start-day
columns of `[cohort.start_days]`, the records against a direct call of the numerics on the
same cohort, the counted handling of bad start days, and study-file mistakes (exit 2 with
the key path, before any data are read)."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.pipeline.analyses import run_analysis
from regsurv.pipeline.analyses_time import DAYS_PER_UNIT, LANDMARK_LEVELS
from regsurv.studies import study_path
from regsurv.survival import cox_ph, kaplan_meier, landmark, logrank_test, split_at_treatment

from ._toml import write_study
from .conftest import context

COVARIATES = ["age_group", "sex", "race", "charlson_deyo", "facility_type", "year_group",
              "tumor_size", "grade", "histology", "margins", "lymph_nodes_examined"]  # fmt: skip


def _prepared(cohort: pl.DataFrame) -> pl.DataFrame:
    """The patients the time analyses use, written out independently of the module."""
    keep = pl.col("os_years") > 0
    for c in COVARIATES:
        keep = keep & pl.col(c).is_not_null()
    return cohort.filter(keep)


def _same_fit(ours, theirs) -> None:
    a, b = ours.to_frame(), theirs.to_frame()
    assert a["term"].to_list() == b["term"].to_list()
    np.testing.assert_allclose(a["estimate"].to_numpy(), b["estimate"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(a["std_error"].to_numpy(), b["std_error"].to_numpy(), rtol=1e-12)
    assert (ours.n_obs, ours.n_events) == (theirs.n_obs, theirs.n_events)


def test_start_day_columns_hold_the_days_of_treated_patients(sarcoma):
    spec, cohort = sarcoma
    frame = cohort.cohort
    assert spec.cohort.start_days == {
        "M": "DX_SURG_STARTED_DAYS",
        "C": "DX_CHEMO_STARTED_DAYS",
        "R": "DX_RAD_STARTED_DAYS",
    }
    for flag in ("M", "C", "R"):
        column = frame[f"{flag}_start_days"]
        assert column.dtype == pl.Float64
        assert frame.filter(~pl.col(flag) & column.is_not_null()).height == 0
        treated = frame.filter(pl.col(flag))
        assert treated[f"{flag}_start_days"].null_count() == 0  # synthetic: always recorded
        days = treated[f"{flag}_start_days"]
        end = treated["os_months"] * DAYS_PER_UNIT["os_months"]
        assert (days >= 0).all()
        assert ((days < end) | (end == 0)).all()  # started while alive and followed


def test_time_varying_cox_is_split_at_treatment_plus_cox_ph(sarcoma):
    record = run_analysis(context(sarcoma), sarcoma[0].analysis("tv_cox"))
    assert not record.failed, record
    data = _prepared(sarcoma[1].cohort)
    assert record.flow.n_final == data.height
    assert record.flow.n_input == sarcoma[1].cohort.height
    terms = ["M", "C", "R", *COVARIATES]
    reference = dict(sarcoma[0].analysis("tv_cox").reference)
    ever = data.with_columns(pl.col(f).cast(pl.Int64) for f in "MCR")
    naive = cox_ph(ever, time="os_years", event="death", covariates=terms, reference=reference,
                   ties="breslow")  # fmt: skip
    split = split_at_treatment(
        data,
        id="PUF_CASE_ID",
        time="os_years",
        event="death",
        start_days={f: f"{f}_start_days" for f in "MCR"},
        days_per_unit=365.25,
    )
    tv = cox_ph(split.to_frame(), start="tstart", stop="tstop", event="death", covariates=terms,
                reference=reference, ties="breslow", id="PUF_CASE_ID")  # fmt: skip
    _same_fit(record.naive, naive)
    _same_fit(record.time_varying, tv)
    assert record.split.to_dict()["treatments"] == split.to_dict()["treatments"]
    rows = {r["term"]: r for r in record.comparison.iter_rows(named=True)}
    assert list(rows) == ["M", "C", "R"]
    hr = dict(zip(tv.terms, tv.hazard_ratio, strict=True))
    for term, r in rows.items():
        low, high = r["hr_conf_low_naive"], r["hr_conf_high_naive"]
        assert r["differs"] == (not low <= hr[term] <= high)


def test_landmark_is_landmark_plus_km_logrank_cox(sarcoma):
    spec = sarcoma[0].analysis("landmark_m")
    record = run_analysis(context(sarcoma), spec)
    assert not record.failed, record
    data = _prepared(sarcoma[1].cohort)
    assert [lm.at for lm in record.landmarks] == [0.25, 0.5]
    for lm in record.landmarks:
        direct = landmark(data, at=lm.at, id="PUF_CASE_ID", time="os_years", event="death",
                          start_days={"M": "M_start_days"}, days_per_unit=365.25)  # fmt: skip
        frame = direct.to_frame()
        assert lm.data.n_obs == direct.n_obs and lm.data.treated == direct.treated
        assert lm.data.n_excluded_event_or_censored_by_landmark + direct.n_obs == data.height
        assert (frame["os_years"] > 0).all()
        cox = cox_ph(frame, time="os_years", event="death", covariates=["M", *COVARIATES],
                     reference=dict(spec.reference), ties="breslow")  # fmt: skip
        _same_fit(lm.cox, cox)
        km = kaplan_meier(frame, time="os_years", event="death", group="M")
        sizes = dict(zip(lm.median["group"], lm.median["n_obs"], strict=True))
        assert sizes[LANDMARK_LEVELS[1]] == direct.treated["M"] == km.median()["n_obs"][1]
        assert lm.logrank.statistic == pytest.approx(
            logrank_test(frame, time="os_years", event="death", group="M").statistic, rel=1e-12
        )


def _ctx_with(sarcoma, edit):
    ctx = context(sarcoma)
    return replace(ctx, cohort=edit(ctx.cohort))


def _set_rows(frame: pl.DataFrame, rows: list[int], **values) -> pl.DataFrame:
    index = pl.int_range(pl.len()).is_in(rows)
    return frame.with_columns(
        pl.when(index).then(pl.lit(v)).otherwise(pl.col(c)).cast(frame.schema[c]).alias(c)
        for c, v in values.items()
    )


def _treated_rows(frame: pl.DataFrame, flag: str, k: int) -> list[int]:
    """k treated rows complete in the covariates, with follow-up > 0."""
    ok = pl.col(flag) & (pl.col("os_years") > 0)
    for c in COVARIATES:
        ok = ok & pl.col(c).is_not_null()
    return frame.with_row_index("i").filter(ok)["i"].head(k).to_list()


def test_bad_start_days_are_counted_never_silently_dropped(sarcoma):
    cohort = sarcoma[1].cohort
    rows = _treated_rows(cohort, "C", 7)

    def edit(frame):
        frame = _set_rows(frame, rows[:3], C_start_days=None)  # treated, day blank
        frame = _set_rows(frame, rows[3:5], C_start_days=-4.0)  # negative day
        return _set_rows(frame, rows[5:], C_start_days=1e5)  # after the end of follow-up

    base = run_analysis(context(sarcoma), sarcoma[0].analysis("tv_cox"))
    record = run_analysis(_ctx_with(sarcoma, edit), sarcoma[0].analysis("tv_cox"))
    assert not record.failed, record
    excluded = {s: n for s, _, n in record.flow.steps}
    assert excluded["no_start_day_C"] == 3 and excluded["negative_start_day_C"] == 2
    assert record.flow.n_final == base.flow.n_final - 5
    assert record.flow.after_follow_up["C"] == 2
    counts = {t.name: t for t in record.split.treatments}["C"]
    assert counts.after_follow_up == 2
    assert sum(n for _, _, n in record.flow.steps) + record.flow.n_final == cohort.height
    frame = record.flow.to_frame()
    assert (frame["n_before"] - frame["n_excluded"] == frame["n_after"]).all()


def test_landmark_counts_bad_start_days_and_the_treated_after_l(sarcoma):
    rows = _treated_rows(sarcoma[1].cohort, "M", 4)
    record = run_analysis(
        _ctx_with(sarcoma, lambda f: _set_rows(f, rows, M_start_days=None)),
        sarcoma[0].analysis("landmark_m"),
    )
    assert not record.failed, record
    assert {s: n for s, _, n in record.flow.steps}["no_start_day_M"] == 4
    for lm in record.landmarks:
        groups = dict(zip(lm.median["group"], lm.median["n_obs"], strict=True))
        assert sum(groups.values()) == lm.data.n_obs
        assert lm.data.n_obs + lm.data.n_excluded_event_or_censored_by_landmark == (
            record.flow.n_final
        )


# -- study-file mistakes -------------------------------------------------------------------------


def _raw():
    return tomllib.loads(study_path().read_text(encoding="utf-8"))


def _analysis(raw, analysis_id):
    return next(a for a in raw["analyses"] if a["id"] == analysis_id)


BAD = {
    "start_days_not_a_flag": (
        lambda r: r["cohort"]["start_days"].update(X="DX_CHEMO_STARTED_DAYS"),
        "cohort.start_days.X: 'X' is not a flag of cohort.flags",
    ),
    "start_days_unknown_field": (
        lambda r: r["cohort"]["start_days"].update(C="DX_CHEMO_START_DAYS"),
        "cohort.start_days.C: field 'DX_CHEMO_START_DAYS' is not in the PUF dictionary",
    ),
    "start_days_not_days": (
        lambda r: r["cohort"]["start_days"].update(C="AGE"),
        "cohort.start_days.C: AGE is not a days-from-diagnosis field",
    ),
    "treatment_without_start_day": (
        lambda r: r["cohort"]["start_days"].pop("R"),
        "analyses[tv_cox].treatments[2]: flag 'R' has no start day",
    ),
    "treatment_not_a_flag": (
        lambda r: _analysis(r, "landmark_m").update(treatment="sex"),
        "analyses[landmark_m].treatment: 'sex' is not a flag of cohort.flags",
    ),
    "treatment_also_a_covariate": (
        lambda r: _analysis(r, "tv_cox")["covariates"].append("M"),
        "analyses[tv_cox].treatments[0]: 'M' is also listed in covariates",
    ),
    "outcome_time_without_days": (
        lambda r: r["outcome"].update(time="age"),
        "analyses[tv_cox]: outcome.time 'age' has no unit in days",
    ),
    "landmark_times_decrease": (
        lambda r: _analysis(r, "landmark_m").update(at=[0.5, 0.25]),
        "analyses[landmark_m].at: landmark times must increase",
    ),
    "landmark_time_zero": (
        lambda r: _analysis(r, "landmark_m").update(at=[0.0]),
        "analyses[landmark_m].at: landmark times must be > 0",
    ),
    "unknown_key": (
        lambda r: _analysis(r, "landmark_m").update(times=[1]),
        "analyses[landmark_m].times: unknown key",
    ),
    "unknown_covariate": (
        lambda r: _analysis(r, "tv_cox")["covariates"].append("agegroup"),
        "analyses[tv_cox].covariates[11]: 'agegroup' is not an analysis column",
    ),
    "reference_not_a_level": (
        lambda r: _analysis(r, "landmark_m")["reference"].update(sex="Femal"),
        "analyses[landmark_m].reference.sex: 'Femal' is not a level of sex",
    ),
}


@pytest.fixture
def no_data_read(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the data were read before the study error was reported")

    monkeypatch.setattr("regsurv.pipeline.runner.resolve_source", refuse)


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_time_analysis_study_exits_2_with_the_key_path(tmp_path, no_data_read, case):
    mutate, expected = BAD[case]
    raw = copy.deepcopy(_raw())
    mutate(raw)
    study = write_study(tmp_path / "study.toml", raw)
    result = CliRunner().invoke(app, ["run", "--study", study, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_start_day_field_missing_from_the_data_exits_2(tmp_path):
    from regsurv.synth import cached_synthetic_puf

    data = tmp_path / "puf.parquet"
    pl.read_parquet(cached_synthetic_puf(seed=0)).drop("DX_RAD_STARTED_DAYS").write_parquet(data)
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert (
        "cohort.start_days.R: field 'DX_RAD_STARTED_DAYS' is not a column of puf.parquet"
        in result.output
    )
    assert len(result.output.strip().splitlines()) == 1
