"""Criteria applied in order: hand-counted flows, unknown values, options, every row one bucket."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsurv.cohort import (
    EXCLUDED_AT,
    Criterion,
    apply_criteria,
    assign_exclusion,
    compile_criteria,
    derive_flags,
    excluded_ids,
)

from ._helpers import ELIGIBLE, cohort_spec, puf_frame

DEFAULT = cohort_spec()


def _buckets(rows, spec=DEFAULT) -> list[str | None]:
    """The step that excludes each row (None = included), in row order."""
    return assign_exclusion(puf_frame(rows), spec).collect()[EXCLUDED_AT].to_list()


def test_flow_by_hand():
    rows = [
        {},  # included
        {"PRIMARY_SITE": "C491"},  # included (upper limb)
        {"PRIMARY_SITE": "C220"},  # liver: extremity_site
        {"HISTOLOGY": "9140"},  # Kaposi: sarcoma_histology
        {"BEHAVIOR": "1"},  # borderline: sarcoma_histology
        {"AGE": 17},  # adult
        {"YEAR_OF_DIAGNOSIS": 2003},  # diagnosis_years... below the dictionary minimum too
        {"YEAR_OF_DIAGNOSIS": 2015},  # diagnosis_years
        {"ANALYTIC_STAGE_GROUP": "3"},  # stage_iv
        {"RX_SUMM_SURG_PRIM_SITE": "00"},  # definitive_surgery
        {"RX_SUMM_SURG_PRIM_SITE": "19"},  # definitive_surgery
        {"SEQUENCE_NUMBER": "02"},  # no_prior_malignancy
        {"RX_SUMM_CHEMO": "99"},  # complete_treatment
        {"PUF_VITAL_STATUS": None},  # complete_survival
        {"AGE": 17, "ANALYTIC_STAGE_GROUP": "3"},  # fails two: counted at the first (adult)
    ]
    lf, flow = apply_criteria(puf_frame(rows), DEFAULT)
    counts = {s.id: (s.n_before, s.n_excluded, s.n_after) for s in flow.steps}
    assert flow.n_start == 15
    assert counts == {
        "extremity_site": (15, 1, 14),
        "sarcoma_histology": (14, 2, 12),
        "adult": (12, 2, 10),
        "diagnosis_years": (10, 2, 8),
        "stage_iv": (8, 1, 7),
        "definitive_surgery": (7, 2, 5),
        "no_prior_malignancy": (5, 1, 4),
        "complete_treatment": (4, 1, 3),
        "complete_survival": (3, 1, 2),
    }
    assert flow.n_final == 2
    assert lf.collect()["PUF_CASE_ID"].to_list() == ["0", "1"]
    table = flow.to_frame()
    assert table.columns == ["step", "id", "label", "n_before", "n_excluded", "n_after"]
    assert table["n_excluded"].sum() + flow.n_final == flow.n_start
    assert flow.to_dict()["n_final"] == 2
    assert repr(flow) == "CohortFlow(15 -> 2 in 9 steps)"
    ids = excluded_ids(puf_frame(rows), DEFAULT)
    assert dict(zip(ids["PUF_CASE_ID"], ids[EXCLUDED_AT], strict=True))["14"] == "adult"
    assert excluded_ids(puf_frame(rows), DEFAULT, step="adult")["PUF_CASE_ID"].to_list() == [
        "5",
        "14",
    ]


UNKNOWN_VALUES = [
    ("PRIMARY_SITE", None, "extremity_site"),
    ("PRIMARY_SITE", "c491", "extremity_site"),  # not a valid topography code
    ("HISTOLOGY", None, "sarcoma_histology"),
    ("HISTOLOGY", "88300", "sarcoma_histology"),
    ("BEHAVIOR", "X", "sarcoma_histology"),
    ("AGE", None, "adult"),
    ("AGE", 999, "adult"),  # sentinel: unknown age, although 999 >= 18
    ("AGE", 150, "adult"),  # above the dictionary maximum (90, top-coded)
    ("YEAR_OF_DIAGNOSIS", None, "diagnosis_years"),
    ("ANALYTIC_STAGE_GROUP", None, "stage_iv"),
    ("ANALYTIC_STAGE_GROUP", "IV", "stage_iv"),
    ("RX_SUMM_SURG_PRIM_SITE", None, "definitive_surgery"),
    ("RX_SUMM_SURG_PRIM_SITE", "3", "definitive_surgery"),
    ("SEQUENCE_NUMBER", None, "no_prior_malignancy"),
    ("RX_SUMM_SURG_OTH_REGDIS", None, "complete_treatment"),  # not_in ["9"] is unknown on blank
    ("RX_SUMM_SURG_OTH_REGDIS", "7", "complete_treatment"),  # not_in on an invalid code
    ("RX_SUMM_CHEMO", "1", "complete_treatment"),  # unpadded: invalid
    ("RX_SUMM_RADIATION", None, "complete_treatment"),
    ("RAD_TREAT_VOL", "99", "complete_treatment"),
    ("RAD_REGIONAL_DOSE_CGY", 99999, "complete_treatment"),  # soft tissue, dose unknown
    ("RAD_REGIONAL_DOSE_CGY", None, "complete_treatment"),
    ("PUF_VITAL_STATUS", "2", "complete_survival"),
    ("DX_LASTCONTACT_DEATH_MONTHS", 9999.0, "complete_survival"),
    ("DX_LASTCONTACT_DEATH_MONTHS", None, "complete_survival"),
]


@pytest.mark.parametrize(("field", "value", "step"), UNKNOWN_VALUES)
def test_blank_invalid_or_sentinel_never_satisfies(field, value, step):
    assert _buckets([{}, {field: value}]) == [None, step]


def test_radiation_to_another_volume_needs_no_dose():
    rows = [{"RAD_TREAT_VOL": "29", "RAD_REGIONAL_DOSE_CGY": 99999}, {"RX_SUMM_RADIATION": "0"}]
    assert _buckets(rows) == [None, None]


def test_not_is_three_valued():
    """`not` of an unknown leaf stays unknown, so a blank does not slip through a negation."""
    spec = DEFAULT.model_validate(
        {
            **DEFAULT.model_dump(by_alias=True, exclude_none=True),
            "criteria": [
                {
                    "id": "not_stage_3",
                    "label": "Stage III",
                    "where": {"not": {"field": "ANALYTIC_STAGE_GROUP", "in": ["3"]}},
                }
            ],
        }
    )
    rows = [{}, {"ANALYTIC_STAGE_GROUP": "3"}, {"ANALYTIC_STAGE_GROUP": None}]
    assert _buckets(rows, spec) == [None, "not_stage_3", "not_stage_3"]


def test_is_blank_and_pandas_input():
    spec = DEFAULT.model_validate(
        {
            **DEFAULT.model_dump(by_alias=True, exclude_none=True),
            "criteria": [
                {
                    "id": "lvi_blank",
                    "label": "LVI",
                    "where": {"field": "LYMPH_VASCULAR_INVASION", "is_blank": True},
                }
            ],
        }
    )
    frame = puf_frame([{"LYMPH_VASCULAR_INVASION": None}, {}])
    _, flow = apply_criteria(frame.to_pandas(), spec)
    assert (flow.n_start, flow.n_final) == (2, 1)


def test_missing_field_names_the_criterion_field_and_rows():
    frame = puf_frame([{}, {}, {}]).drop("SEQUENCE_NUMBER")
    with pytest.raises(ValueError) as info:
        apply_criteria(frame, DEFAULT)
    assert str(info.value) == (
        "criterion 'no_prior_malignancy' needs field 'SEQUENCE_NUMBER', which the data lacks "
        "(3 rows)"
    )


def test_criteria_that_exclude_everyone_give_an_empty_cohort_and_full_flow():
    lf, flow = apply_criteria(puf_frame([{"AGE": 10}, {"AGE": 12}]), DEFAULT)
    assert lf.collect().height == 0
    assert [s.n_after for s in flow.steps] == [2, 2, 0, 0, 0, 0, 0, 0, 0]


def test_no_criteria_keeps_everything():
    lf, flow = apply_criteria(puf_frame([{}, {}]), [])
    assert (flow.n_start, flow.n_final, lf.collect().height) == (2, 2, 2)


def test_hand_built_criteria_are_accepted():
    keep_old = Criterion("old", "Age 60 or less", pl.col("AGE") > 60, ("AGE",))
    _, flow = apply_criteria(puf_frame([{"AGE": 70}, {"AGE": 50}]), [keep_old])
    assert flow.steps[0].n_excluded == 1
    with pytest.raises(ValueError, match="unknown step 'nope'"):
        excluded_ids(puf_frame([{}]), [keep_old], step="nope")


# -------------------------------------------------------------------------- options


def test_peripheral_nerve_sites_option():
    rows = [{"PRIMARY_SITE": "C471"}, {"PRIMARY_SITE": "C472"}, {"PRIMARY_SITE": "C491"}]
    assert _buckets(rows) == ["extremity_site", "extremity_site", None]
    assert _buckets(rows, cohort_spec(include_peripheral_nerve_sites=True)) == [None, None, None]


def test_strict_m1_option():
    no_m1 = {"TNM_CLIN_M": "c0", "TNM_PATH_M": None, "CS_METS_AT_DX": "00"}
    rows = [
        no_m1,  # stage IV (e.g. AJCC 6th N1M0) without any recorded M1
        {**no_m1, "CS_METS_AT_DX": "40"},
        {**no_m1, "TNM_PATH_M": "p1"},
        {**no_m1, "CS_METS_AT_DX": "99"},  # unknown metastasis: not M1
    ]
    assert _buckets(rows) == [None, None, None, None]
    strict = cohort_spec(strict_m1=True)
    assert _buckets(rows, strict) == ["distant_metastasis", None, None, "distant_metastasis"]
    assert [c.id for c in compile_criteria(strict)][5] == "distant_metastasis"


def test_definitive_surgery_options():
    rows = [{"RX_SUMM_SURG_PRIM_SITE": "25"}, {"RX_SUMM_SURG_PRIM_SITE": "90"}]
    assert _buckets(rows) == [None, "definitive_surgery"]
    options = {"local_excision_is_definitive": False, "surgery_nos_is_definitive": True}
    assert _buckets(rows, cohort_spec(**options)) == ["definitive_surgery", None]


def test_class_of_case_option():
    rows = [{"CLASS_OF_CASE": "00"}, {}]
    assert _buckets(rows) == [None, None]
    assert _buckets(rows, cohort_spec(exclude_class_of_case_00=True)) == ["class_of_case", None]


def _r(rows, **options):
    frame = puf_frame(rows)
    return derive_flags(frame, cohort_spec(**options)).collect()["R"].to_list()


def test_dose_threshold_45_to_50_gy_changes_r_and_the_groups():
    rows = [{"RAD_REGIONAL_DOSE_CGY": d} for d in (4500, 4600, 5000, 5100)]
    assert _r(rows) == [False, True, True, True]  # strictly above 45 Gy
    assert _r(rows, radiation_min_dose_cgy=5000) == [False, False, False, True]


def test_dose_rule_and_sentinels():
    rows = [
        {"RAD_REGIONAL_DOSE_CGY": 4000, "RAD_BOOST_DOSE_CGY": 1000},
        {"RAD_REGIONAL_DOSE_CGY": 5000, "RAD_BOOST_DOSE_CGY": 99999},  # boost unknown: adds 0
        {"RAD_REGIONAL_DOSE_CGY": 4000, "RAD_BOOST_DOSE_CGY": 88888},
        {"RAD_REGIONAL_DOSE_CGY": 88888, "RAD_BOOST_DOSE_CGY": 6000},  # regional unknown
        {"RAD_TREAT_VOL": "29", "RAD_REGIONAL_DOSE_CGY": 6000},  # not soft tissue
        {"RX_SUMM_RADIATION": "0", "RAD_TREAT_VOL": "00", "RAD_REGIONAL_DOSE_CGY": 0},
    ]
    assert _r(rows) == [True, True, False, None, False, False]
    assert _r(rows, radiation_dose_rule="regional_only") == [False, True, False, None, False, False]
    assert _r(rows, radiation_volumes=["29", "31"])[4] is True


def test_nonqualifying_radiation_is_no_r_by_default_or_excluded_by_option():
    rows = [
        {"RAD_TREAT_VOL": "29"},
        {"RAD_REGIONAL_DOSE_CGY": 3000},
        {},
        {"RX_SUMM_RADIATION": "0"},
    ]
    assert _buckets(rows) == [None, None, None, None]
    strict = cohort_spec(exclude_nonqualifying_radiation=True)
    assert _buckets(rows, strict) == ["radiation_definition", "radiation_definition", None, None]


# -------------------------------------------------------------------------- property


def _value_strategy(field: str):
    """Valid codes, invalid codes, sentinels and blanks for one criterion field."""
    from regsurv.io import load_dictionary

    info = load_dictionary().fields[field]
    base = ELIGIBLE[field]
    if info.is_numeric:
        numbers = [base, *sorted(info.sentinel_values)[:2], -1, 0, 17, 18, 2004, 2015, 9e5]
        if info.type == "integer":
            numbers = [int(x) for x in numbers]
        return st.sampled_from([*numbers, None])
    codes = sorted(info.codes)[:40]
    return st.sampled_from([base, *codes, "ZZ", "", " 1", None])


CRITERION_FIELDS = DEFAULT.fields()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries({f: _value_strategy(f) for f in CRITERION_FIELDS}),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
    st.booleans(),
)
def test_every_row_lands_in_exactly_one_bucket(rows, strict_m1, exclude_radiation):
    spec = cohort_spec(strict_m1=strict_m1, exclude_nonqualifying_radiation=exclude_radiation)
    criteria = compile_criteria(spec)
    frame = puf_frame(rows)
    kept, flow = apply_criteria(frame, criteria)
    buckets = assign_exclusion(frame, criteria).collect()[EXCLUDED_AT].to_list()

    # counts add up, step by step
    assert flow.n_start == len(rows)
    assert sum(s.n_excluded for s in flow.steps) + flow.n_final == flow.n_start
    for before, after in zip(flow.steps, flow.steps[1:], strict=False):
        assert before.n_after == after.n_before
    for step in flow.steps:
        assert step.n_excluded == buckets.count(step.id)
    # the kept rows are exactly the rows in no exclusion bucket
    kept_ids = kept.collect()["PUF_CASE_ID"].to_list()
    assert kept_ids == [str(i) for i, b in enumerate(buckets) if b is None]
    # each bucket is the first criterion the row fails, evaluated criterion by criterion
    keeps = frame.with_columns(c.keep.alias(c.id) for c in criteria)
    for i, bucket in enumerate(buckets):
        first_fail = next((c.id for c in criteria if not keeps[c.id][i]), None)
        assert bucket == first_fail
