"""Every recode maps every dictionary code of its field: to a level, or explicitly to null."""

from __future__ import annotations

import polars as pl
import pytest

from regsurv.cohort import RECODE_NAMES, CohortOptions, get_recode, reference_levels
from regsurv.cohort.recodes import tnm_expr
from regsurv.io import load_dictionary

OPTION_VARIANTS = [
    CohortOptions(),
    CohortOptions(
        unknown_race="other",
        unknown_insurance="not_insured",
        histology_8830="fibrohistiocytic",
        area_vintage="00",
    ),
]


@pytest.mark.parametrize("options", OPTION_VARIANTS, ids=["defaults", "alternatives"])
@pytest.mark.parametrize("name", RECODE_NAMES)
def test_no_dictionary_code_falls_through(name, options):
    recode = get_recode(name, options)
    dictionary = load_dictionary()
    for field in recode.field:
        codes = set(dictionary.fields[field].codes)
        unmapped = codes - set(recode.mapping) - recode.missing
        assert not unmapped, f"{name}: {field} codes {sorted(unmapped)} map nowhere"
    assert not set(recode.mapping) & recode.missing, f"{name}: a code is both mapped and missing"
    assert set(recode.mapping.values()) == set(recode.levels), f"{name}: a level has no code"
    assert recode.reference in recode.levels


@pytest.mark.parametrize("name", RECODE_NAMES)
def test_recode_expression_maps_each_code_and_nulls_the_rest(name):
    recode = get_recode(name)
    field = recode.field[0]
    codes = sorted(load_dictionary().fields[field].codes)
    frame = pl.DataFrame({field: [*codes, "not-a-code", None]}, schema={field: pl.String})
    out = frame.select(recode.expr())[name].to_list()
    expected = [recode.mapping.get(c) for c in codes] + [None, None]
    if recode.boolean:
        expected = [None if e is None else e == "true" for e in expected]
    assert out == expected


def test_options_move_the_codes_they_name():
    default, other = (get_recode("race", o) for o in OPTION_VARIANTS)
    assert "99" in default.missing and other.mapping["99"] == "Other"
    default, other = (get_recode("insurance", o) for o in OPTION_VARIANTS)
    assert "9" in default.missing and other.mapping["9"] == "Not insured"
    default, other = (get_recode("histology", o) for o in OPTION_VARIANTS)
    assert default.mapping["8830"] == "Undifferentiated or unclassified sarcoma"
    assert other.mapping["8830"] == "Fibroblastic or myofibroblastic or fibrohistiocytic"
    assert get_recode("income_quartile", OPTION_VARIANTS[1]).field == ("MED_INC_QUAR_00",)
    assert get_recode("urban_rural").field == ("UR_CD_13",)


def test_facility_location_is_mapped_by_label_not_number():
    """NCDB division 3 is South Atlantic (Census numbering would say East North Central)."""
    mapping = get_recode("facility_location").mapping
    assert mapping["3"] == "South" and mapping["4"] == "Midwest"
    assert mapping["1"] == mapping["2"] == "Northeast"
    assert mapping["5"] == mapping["7"] == "South" and mapping["6"] == "Midwest"
    assert mapping["8"] == mapping["9"] == "West" and "0" not in mapping


def test_tumor_size_edges():
    mapping = get_recode("tumor_size").mapping
    assert [mapping.get(c) for c in ("000", "001", "050", "051", "100", "101", "150", "151")] == [
        None,
        "0-5",
        "0-5",
        ">5-10",
        ">5-10",
        ">10-15",
        ">10-15",
        ">15",
    ]
    assert [mapping.get(c) for c in ("988", "989", "990", "995", "996", "999")] == [
        ">15",
        ">15",
        "0-5",
        "0-5",
        None,
        None,
    ]


def test_tnm_categories_drop_prefix_and_substage():
    values = ["c1", "p1A", "c0", "1", "cX", "X", "88", "pis", None, "c2B"]
    frame = pl.DataFrame({"TNM_CLIN_N": values})
    out = frame.select(tnm_expr("TNM_CLIN_N", "N", "n"))["n"].to_list()
    assert out == ["1", "1", "0", "1", None, None, None, None, None, "2"]
    for code in load_dictionary().fields["TNM_CLIN_M"].codes:  # every listed code is handled
        got = pl.DataFrame({"m": [code]}).select(tnm_expr("m", "M", "m"))["m"][0]
        assert got == ({"c0": "0", "c1": "1", "p1": "1"}.get(code)), code


def test_reference_levels_follow_the_paper_table_3():
    from ._helpers import cohort_spec

    refs = reference_levels(cohort_spec())
    assert refs["treatment"] == "SP alone"
    assert refs["sex"] == "Female"
    assert refs["grade"] == "Cell type not determined"
    assert refs["histology"] == "Undifferentiated or unclassified sarcoma"
    assert refs["facility_type"] == "Community or Network Cancer Program"
    assert refs["tumor_size"] == "0-5" and refs["margins"] == "Negative"
    assert refs["age_group"] == "<=55" and refs["charlson_deyo"] == "0"
