"""PUF realities the issue lists: suppression, blanks, sentinels, codes that must be handled."""

from __future__ import annotations

import polars as pl

from regsurv.synth._parameters import COHORT_CLASSES

COHORT = pl.col("synth_class").is_in(list(COHORT_CLASSES))


def _n(frame: pl.DataFrame, expr: pl.Expr) -> int:
    return frame.filter(expr).height


def test_facility_is_blank_exactly_under_40(puf_seed0):
    young = pl.col("AGE") < 40
    for field in ("FACILITY_TYPE_CD", "FACILITY_LOCATION_CD"):
        assert _n(puf_seed0, young & pl.col(field).is_not_null()) == 0
        assert _n(puf_seed0, ~young & pl.col(field).is_null()) == 0
    assert _n(puf_seed0, young) > 1000


def test_2014_has_no_outcome_and_months_have_two_decimals(puf_seed0):
    in_2014 = puf_seed0.filter(pl.col("YEAR_OF_DIAGNOSIS") == 2014)
    assert in_2014.height > 5000
    assert in_2014["PUF_VITAL_STATUS"].null_count() == in_2014.height
    assert in_2014["PUF_30_DAY_MORT_CD"].null_count() == in_2014.height
    months = puf_seed0["DX_LASTCONTACT_DEATH_MONTHS"].drop_nulls()
    assert (months * 100 - (months * 100).round()).abs().max() < 1e-6
    assert months.filter(months != 9999).max() <= (2016 - 2004) * 12
    assert set(puf_seed0["PUF_VITAL_STATUS"].drop_nulls().unique()) == {"0", "1"}


def test_ages_run_to_the_90_top_code_with_unknowns(puf_seed0):
    age = puf_seed0["AGE"]
    assert age.filter(age != 999).max() == 90
    assert _n(puf_seed0, pl.col("AGE") == 90) > 0
    assert _n(puf_seed0, pl.col("AGE") == 999) > 0
    assert _n(puf_seed0, pl.col("AGE") < 18) > 0


def test_sentinel_codes_appear(puf_seed0):
    expected = {
        "TUMOR_SIZE": ["999", "000", "995"],
        "SEQUENCE_NUMBER": ["02", "99", "60"],
        "RX_SUMM_CHEMO": ["88", "99", "82", "85", "86", "87"],
        "RX_SUMM_SURG_PRIM_SITE": ["99", "90", "00"],
        "RX_SUMM_SURG_OTH_REGDIS": ["9"],
        "RX_SUMM_SURGICAL_MARGINS": ["7", "8", "9"],
        "RACE": ["99"],
        "REGIONAL_NODES_POSITIVE": ["98"],
        "CS_METS_AT_DX": ["99"],
        "TNM_CLIN_STAGE_GROUP": ["88", "99"],
        "ANALYTIC_STAGE_GROUP": ["8", "9"],
    }
    for field, codes in expected.items():
        present = set(puf_seed0[field].drop_nulls().unique())
        assert set(codes) <= present, (field, set(codes) - present)
    for field, value in (("RAD_REGIONAL_DOSE_CGY", 99999), ("RAD_BOOST_DOSE_CGY", 88888)):
        assert _n(puf_seed0, pl.col(field) == value) > 0, field


def test_cohort_rows_carry_the_codes_a_cohort_builder_must_handle(puf_seed0):
    cohort = puf_seed0.filter(COHORT)
    # Sequence 01, metastasectomy code 2 (regional) besides 4/5, chemotherapy not given 82-87.
    assert _n(cohort, pl.col("SEQUENCE_NUMBER") == "01") > 0
    assert {"2", "4", "5"} <= set(cohort["RX_SUMM_SURG_OTH_REGDIS"].unique())
    assert {"82", "86", "87"} <= set(cohort["RX_SUMM_CHEMO"].unique())
    # Radiation that does not make R: another volume, or <= 45 Gy to soft tissue.
    radiated = pl.col("RX_SUMM_RADIATION").is_in(["1", "4", "5"])
    no_r = cohort.filter(~pl.col("synth_treatment8").str.contains("R") & radiated)
    assert _n(no_r, pl.col("RAD_TREAT_VOL") != "31") > 0
    assert (
        _n(no_r, (pl.col("RAD_TREAT_VOL") == "31") & (pl.col("RAD_REGIONAL_DOSE_CGY") <= 4500)) > 0
    )
    assert _n(no_r, pl.col("RAD_REGIONAL_DOSE_CGY") == 4500) > 0
    # AJCC 6th edition: stage IV by N1 M0 alone before 2010, never after.
    n1m0 = (pl.col("TNM_CLIN_M") == "c0") & (pl.col("TNM_CLIN_N") == "c1")
    assert _n(cohort, n1m0 & (pl.col("YEAR_OF_DIAGNOSIS") < 2010)) > 0
    assert _n(cohort, n1m0 & (pl.col("YEAR_OF_DIAGNOSIS") >= 2010)) == 0
    assert set(cohort["TNM_EDITION_NUMBER"].unique()) == {"06", "07"}


def test_all_soft_tissue_sites_histologies_and_stages(puf_seed0):
    sites = set(puf_seed0["PRIMARY_SITE"].unique())
    assert {"C471", "C472", "C490", "C491", "C492", "C494", "C499"} <= sites
    assert all(s[:3] in ("C47", "C49") for s in sites)
    assert {"9140", "8936", "9680"} <= set(puf_seed0["HISTOLOGY"].unique())
    assert set(puf_seed0["ANALYTIC_STAGE_GROUP"].unique()) >= {"1", "2", "3", "4"}
    assert set(puf_seed0["BEHAVIOR"].unique()) == {"1", "3"}
    years = puf_seed0["YEAR_OF_DIAGNOSIS"]
    assert (years.min(), years.max()) == (2004, 2014)


def test_treatment_starts_only_while_alive_and_followed(puf_seed0):
    """DX_*_STARTED_DAYS strictly before the end of follow-up in days (months x 30.4375), so
    "ever treated" carries immortal time; definitive surgery never before the first surgery."""
    months = pl.col("DX_LASTCONTACT_DEATH_MONTHS")
    followed = months.is_not_null() & (months != 9999) & (months > 0)
    for field in (
        "DX_SURG_STARTED_DAYS", "DX_DEFSURG_STARTED_DAYS", "DX_CHEMO_STARTED_DAYS",
        "DX_RAD_STARTED_DAYS",
    ):  # fmt: skip
        started = followed & pl.col(field).is_not_null()
        assert _n(puf_seed0, started) > 1000, field
        assert _n(puf_seed0, started & (pl.col(field) >= months * 30.4375)) == 0, field
        assert _n(puf_seed0, pl.col(field) < 0) == 0, field
    chemo = puf_seed0["DX_CHEMO_STARTED_DAYS"].drop_nulls()
    assert 30 <= chemo.median() <= 60  # NCDB-typical delay to chemotherapy
    both = pl.col("DX_DEFSURG_STARTED_DAYS").is_not_null()
    assert (
        _n(puf_seed0, both & (pl.col("DX_DEFSURG_STARTED_DAYS") < pl.col("DX_SURG_STARTED_DAYS")))
        == 0
    )
    assert _n(puf_seed0, both & pl.col("DX_SURG_STARTED_DAYS").is_null()) == 0
