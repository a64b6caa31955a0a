"""validate_puf on a small hand-made file whose every count is known."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from regsurv.io import convert_puf, validate_puf, write_puf

# 5 records: AGE has one unknown sentinel (999) and one blank; SEX one "9" (unknown) and one
# code outside the dictionary ("5"); RX_SUMM_CHEMO has 88 and 99 (both unknown) and a blank;
# FACILITY_TYPE_CD blank = suppressed ("not_available") twice; TUMOR_SIZE 000 = not_applicable.
HAND_MADE = pl.DataFrame(
    {
        "PUF_CASE_ID": ["c1", "c2", "c3", "c4", "c5"],
        "AGE": pl.Series([35, 999, None, 70, 18], dtype=pl.Int64),
        "SEX": ["1", "9", "5", "2", "2"],
        "RX_SUMM_CHEMO": ["88", "99", None, "03", "00"],
        "FACILITY_TYPE_CD": [None, None, "3", "1", "2"],
        "TUMOR_SIZE": ["000", "050", "999", "120", "989"],
        "YEAR_OF_DIAGNOSIS": [2004, 2009, 2013, 2010, 2014],
        "PRIMARY_SITE": ["C491"] * 5,
        "HISTOLOGY": ["8830", "8850", "9040", "8890", "8000"],
        "BEHAVIOR": ["3"] * 5,
        "PUF_VITAL_STATUS": ["0", "1", "1", "0", None],
        "DX_LASTCONTACT_DEATH_MONTHS": [10.5, 20.25, 9999.0, 3.0, None],
    }
)


def _field(report, name):
    return next(f for f in report.fields if f.name == name)


def test_counts_on_a_hand_made_file(tmp_path: Path) -> None:
    report = validate_puf(write_puf(HAND_MADE, tmp_path / "hand.dat"))
    assert (report.n_obs, report.year_min, report.year_max, report.layout) == (
        5,
        2004,
        2014,
        "hand.sas",
    )
    age = _field(report, "AGE")
    assert (age.n_blank, age.n_sentinel, age.n_invalid) == (1, {"unknown": 1}, 0)
    sex = _field(report, "SEX")
    assert (sex.n_sentinel, sex.n_invalid, sex.invalid_examples) == ({"unknown": 1}, 1, ("5",))
    chemo = _field(report, "RX_SUMM_CHEMO")
    assert (chemo.n_blank, chemo.n_sentinel) == (1, {"unknown": 2})
    facility = _field(report, "FACILITY_TYPE_CD")
    assert facility.n_sentinel == {"not_available": 2}
    size = _field(report, "TUMOR_SIZE")
    assert size.n_sentinel == {"not_applicable": 1, "unknown": 1, "not_available": 0}
    assert _field(report, "HISTOLOGY").n_invalid == 0  # open-ended ICD-O-3 code
    months = _field(report, "DX_LASTCONTACT_DEATH_MONTHS")
    assert (months.n_sentinel, months.n_out_of_range) == ({"unknown": 1, "not_available": 1}, 0)
    assert report.ok
    assert [(i.check, i.field, i.n_rows) for i in report.issues] == [("code", "SEX", 1)]


def test_frames_and_dict(tmp_path: Path) -> None:
    report = validate_puf(write_puf(HAND_MADE, tmp_path / "hand.csv", format="csv"))
    frame = report.to_frame()
    assert frame.columns == [
        "field",
        "type",
        "present",
        "required",
        "n_blank",
        "n_unknown",
        "n_not_applicable",
        "n_not_available",
        "n_invalid",
        "n_out_of_range",
        "invalid_examples",
    ]
    assert frame.filter(pl.col("field") == "SEX")["n_unknown"].item() == 1
    assert report.issues_frame().height == len(report.issues) == 1
    assert json.loads(json.dumps(report.to_dict()))["n_obs"] == 5
    assert "5 rows, usable" in repr(report)


def test_required_override_and_missing_columns(tmp_path: Path) -> None:
    path = write_puf(HAND_MADE.drop("SEX"), tmp_path / "nosex.csv", format="csv")
    report = validate_puf(path)
    assert not report.ok
    assert [(i.check, i.field) for i in report.errors] == [("required", "SEX")]
    missing = _field(report, "SEX")
    assert (missing.present, missing.required) == (False, True)
    assert validate_puf(path, required=("PUF_CASE_ID",)).ok


def test_converted_parquet_validates_like_its_source(tmp_path: Path) -> None:
    source = write_puf(HAND_MADE, tmp_path / "hand.dat")
    parquet = convert_puf(source, tmp_path / "hand.parquet")
    a = validate_puf(source).to_frame().filter(pl.col("field").is_in(HAND_MADE.columns))
    b = validate_puf(parquet).to_frame().filter(pl.col("field").is_in(HAND_MADE.columns))
    assert a.sort("field").equals(b.sort("field"))


def test_range_is_checked_outside_sentinels(tmp_path: Path) -> None:
    path = tmp_path / "range.csv"
    path.write_text(
        "PUF_CASE_ID,AGE,CROWFLY,RAD_REGIONAL_DOSE_CGY\nA,999,-1.5,99999\nB,91,3,88888\n"
    )
    report = validate_puf(path, required=())
    assert [(i.field, i.n_rows, i.message.split(": ")[1]) for i in report.issues] == [
        ("AGE", 1, "1 row falls outside the plausible range [0, 90]"),
        ("CROWFLY", 1, "1 row falls outside the plausible range >= 0"),
    ]
    dose = _field(report, "RAD_REGIONAL_DOSE_CGY")
    assert (dose.n_sentinel, dose.n_out_of_range) == ({"unknown": 1, "not_applicable": 1}, 0)
