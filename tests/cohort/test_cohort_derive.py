"""Analysis variables: contract columns and levels, treatment groups, survival, hand cases."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from regsurv.cohort import (
    analysis_columns,
    build_cohort,
    derive_analysis_variables,
    derive_groups,
    derive_survival,
    group_counts,
)
from regsurv.studies import load_targets

from ._helpers import cohort_spec, puf_frame

TARGETS = load_targets()  # the paper's published figures, shipped with the study
CONTRACT_LEVELS = {
    "treatment8": ["SP", "SP+C", "SP+R", "SP+C+R", "SP+M", "SP+M+C", "SP+M+R", "SP+M+C+R"],
    "treatment": ["SP alone", "Metastasectomy", "Non-surgical adjuvant therapies"],
    "age_group": ["<=55", ">55"],
    "year_group": ["2004-2006", "2007-2009", "2010-2014"],
    "sex": ["Male", "Female"],
    "race": ["White", "Black", "Other"],
    "insurance": ["Private", "Not insured", "Government"],
    "charlson_deyo": ["0", "1+"],
    "facility_type": [
        "Community or Network Cancer Program",
        "Comprehensive Community Cancer Program",
        "Academic or Research Program",
    ],
    "facility_location": ["Northeast", "South", "Midwest", "West"],
    "histology": [
        "Adipocytic",
        "Fibroblastic or myofibroblastic or fibrohistiocytic",
        "Smooth muscle",
        "Skeletal muscle",
        "Vascular",
        "Nerve sheath",
        "Uncertain differentiation",
        "Undifferentiated or unclassified sarcoma",
    ],
    "grade": [
        "Well-differentiated",
        "Moderately differentiated",
        "Poorly differentiated or undifferentiated",
        "Cell type not determined",
    ],
    "tumor_size": ["0-5", ">5-10", ">10-15", ">15"],
    "margins": ["Negative", "Positive"],
    "lymph_nodes_examined": ["No", "Yes"],
}


@pytest.fixture(scope="module")
def analysis() -> pl.DataFrame:
    return derive_analysis_variables(puf_frame([{}, {}]), cohort_spec()).collect()


def test_columns_and_types_follow_the_contract(analysis):
    assert tuple(analysis.columns) == analysis_columns(cohort_spec())
    assert {"SP", "M", "R", "C", "treatment8", "treatment", "age_group", "year_group"} <= set(
        analysis.columns
    )
    schema = analysis.schema
    for name, levels in CONTRACT_LEVELS.items():
        assert schema[name] == pl.Enum(levels), name
    assert schema["PUF_CASE_ID"] == pl.String
    assert schema["os_months"] == schema["os_years"] == pl.Float64
    assert schema["death"] == pl.Int8
    assert schema["age"] == schema["year_of_diagnosis"] == pl.Int64
    for flag in ("SP", "M", "R", "C", "nodes_clinically_positive", "nodes_pathologically_positive"):
        assert schema[flag] == pl.Boolean


@pytest.mark.parametrize(
    ("column", "target"),
    [
        ("age_group", "table1.age_group"),
        ("year_group", "table1.year_group"),
        ("sex", "table1.sex"),
        ("race", "table1.race"),
        ("charlson_deyo", "table1.charlson_deyo"),
        ("facility_location", "table1.facility_location"),
        ("facility_type", "table1.facility_type"),
        ("histology", "table2.histology"),
        ("grade", "table2.grade"),
        ("tumor_size", "table2.tumor_size_cm"),
        ("margins", "table2.surgical_margins"),
    ],
)
def test_levels_are_the_paper_table_labels(analysis, column, target):
    table = TARGETS
    for key in target.split("."):
        table = table[key]
    labels = [k for k in table if k not in {"p", "missing_all"}]
    assert list(analysis.schema[column].categories) == labels


def test_eligible_row_by_hand(analysis):
    row = analysis.row(0, named=True)
    assert row["os_months"] == 12.5 and row["os_years"] == pytest.approx(12.5 / 12, rel=1e-15)
    assert row["death"] == 1
    assert (row["SP"], row["M"], row["R"], row["C"]) == (True, False, True, False)
    assert row["treatment8"] == "SP+R" and row["treatment"] == "Non-surgical adjuvant therapies"
    assert row["age"] == 50 and row["age_group"] == "<=55"
    assert row["year_group"] == "2007-2009"
    assert row["facility_location"] == "Midwest"  # NCDB 4 = East North Central
    assert row["histology"] == "Undifferentiated or unclassified sarcoma"
    assert row["tumor_size"] == ">10-15"
    assert row["clinical_t"] == "2" and row["pathologic_m"] == "1"
    assert row["nodes_clinically_positive"] is False
    assert row["nodes_pathologically_positive"] is None  # 98: no nodes examined
    assert row["distance_miles"] == 12.3


def test_survival_codes():
    frame = puf_frame(
        [
            {"PUF_VITAL_STATUS": "1", "DX_LASTCONTACT_DEATH_MONTHS": 24.0},
            {"PUF_VITAL_STATUS": None, "DX_LASTCONTACT_DEATH_MONTHS": 9999.0},
            {"PUF_VITAL_STATUS": "0", "DX_LASTCONTACT_DEATH_MONTHS": 0.0},
        ]
    )
    out = derive_survival(frame).collect()
    assert out["death"].to_list() == [0, None, 1]
    assert out["os_months"].to_list() == [24.0, None, 0.0]
    assert out["os_years"].to_list() == [2.0, None, 0.0]


def test_all_eight_combinations_and_three_groups():
    combos = list(itertools.product([False, True], repeat=3))  # M, C, R
    flags = pl.DataFrame(
        {
            "SP": [True] * 8 + [False, True, None],
            "M": [m for m, _, _ in combos] + [False, None, False],
            "C": [c for _, c, _ in combos] + [False, False, False],
            "R": [r for _, _, r in combos] + [False, False, False],
        }
    )
    out = derive_groups(flags, cohort_spec()).collect()
    expected8 = {
        (False, False, False): "SP",
        (False, False, True): "SP+R",
        (False, True, False): "SP+C",
        (False, True, True): "SP+C+R",
        (True, False, False): "SP+M",
        (True, False, True): "SP+M+R",
        (True, True, False): "SP+M+C",
        (True, True, True): "SP+M+C+R",
    }
    assert out["treatment8"].to_list() == [expected8[c] for c in combos] + [None, None, None]
    groups = [
        "Metastasectomy" if m else "Non-surgical adjuvant therapies" if (c or r) else "SP alone"
        for m, c, r in combos
    ]
    assert out["treatment"].to_list() == [*groups, None, None, None]


def test_build_cohort_and_group_counts():
    rows = [
        {},  # SP+R
        {"RX_SUMM_RADIATION": "0", "RAD_TREAT_VOL": "00", "RAD_REGIONAL_DOSE_CGY": 0},  # SP
        {"RX_SUMM_SURG_OTH_REGDIS": "4", "RX_SUMM_CHEMO": "03"},  # SP+M+C+R
        {"AGE": 5},  # excluded
    ]
    lazy, flow = build_cohort(puf_frame(rows), cohort_spec())
    cohort = lazy.collect()
    assert flow.n_final == 3
    assert cohort["treatment8"].to_list() == ["SP+R", "SP", "SP+M+C+R"]
    groups = ("SP alone", "Metastasectomy", "Non-surgical adjuvant therapies")
    assert group_counts(cohort, "treatment") == dict(zip(groups, [1, 1, 1], strict=True))


def test_missing_field_for_a_recode_is_named():
    frame = puf_frame([{}]).drop("CDCC_TOTAL")
    with pytest.raises(ValueError, match="charlson_deyo needs one of the fields CDCC_TOTAL_BEST"):
        derive_analysis_variables(frame, cohort_spec()).collect()
    with pytest.raises(TypeError, match="expected a CohortSpec or StudySpec"):
        derive_analysis_variables(puf_frame([{}]), {"cohort": 1})


def test_unknown_race_option_changes_the_analysis_level():
    frame = puf_frame([{"RACE": "99", "INSURANCE_STATUS": "9"}])
    default = derive_analysis_variables(frame, cohort_spec()).collect().row(0, named=True)
    other = (
        derive_analysis_variables(
            frame, cohort_spec(unknown_race="other", unknown_insurance="not_insured")
        )
        .collect()
        .row(0, named=True)
    )
    assert (default["race"], default["insurance"]) == (None, None)
    assert (other["race"], other["insurance"]) == ("Other", "Not insured")
