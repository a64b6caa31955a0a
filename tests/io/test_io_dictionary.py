"""The packaged data dictionary: complete for the spec, consistent with itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regsurv.io import load_dictionary
from regsurv.io.dictionary import SENTINEL_KINDS

SPEC = Path(__file__).resolve().parents[2] / "docs" / "ncdb_puf_fields.md"  # in the repository

# §1a layout table and §2 code tables of the spec, written out so that a field dropped from the
# TOML file fails here.
SPEC_FIELDS = [
    "PUF_CASE_ID",
    "PUF_FACILITY_ID",
    "FACILITY_TYPE_CD",
    "FACILITY_LOCATION_CD",
    "AGE",
    "SEX",
    "RACE",
    "SPANISH_HISPANIC_ORIGIN",
    "INSURANCE_STATUS",
    "MED_INC_QUAR_00",
    "NO_HSD_QUAR_00",
    "UR_CD_03",
    "MED_INC_QUAR_12",
    "NO_HSD_QUAR_12",
    "UR_CD_13",
    "CROWFLY",
    "CDCC_TOTAL",
    "CDCC_TOTAL_BEST",
    "SEQUENCE_NUMBER",
    "CLASS_OF_CASE",
    "YEAR_OF_DIAGNOSIS",
    "PRIMARY_SITE",
    "LATERALITY",
    "HISTOLOGY",
    "BEHAVIOR",
    "GRADE",
    "TUMOR_SIZE",
    "REGIONAL_NODES_POSITIVE",
    "REGIONAL_NODES_EXAMINED",
    "TNM_CLIN_T",
    "TNM_CLIN_N",
    "TNM_CLIN_M",
    "TNM_CLIN_STAGE_GROUP",
    "TNM_PATH_T",
    "TNM_PATH_N",
    "TNM_PATH_M",
    "TNM_PATH_STAGE_GROUP",
    "TNM_EDITION_NUMBER",
    "ANALYTIC_STAGE_GROUP",
    "CS_METS_AT_DX",
    "CS_METS_DX_BONE",
    "CS_METS_DX_BRAIN",
    "CS_METS_DX_LIVER",
    "CS_METS_DX_LUNG",
    "LYMPH_VASCULAR_INVASION",
    "DX_SURG_STARTED_DAYS",
    "DX_DEFSURG_STARTED_DAYS",
    "RX_SUMM_SURG_PRIM_SITE",
    "RX_SUMM_SURGICAL_MARGINS",
    "RX_SUMM_SCOPE_REG_LN_SUR",
    "RX_SUMM_SURG_OTH_REGDIS",
    "REASON_FOR_NO_SURGERY",
    "DX_RAD_STARTED_DAYS",
    "RX_SUMM_RADIATION",
    "RAD_LOCATION_OF_RX",
    "RAD_TREAT_VOL",
    "RAD_REGIONAL_RX_MODALITY",
    "RAD_REGIONAL_DOSE_CGY",
    "RAD_BOOST_RX_MODALITY",
    "RAD_BOOST_DOSE_CGY",
    "RX_SUMM_SURGRAD_SEQ",
    "REASON_FOR_NO_RADIATION",
    "DX_CHEMO_STARTED_DAYS",
    "RX_SUMM_CHEMO",
    "RX_SUMM_SYSTEMIC_SUR_SEQ",
    "PUF_30_DAY_MORT_CD",
    "PUF_90_DAY_MORT_CD",
    "DX_LASTCONTACT_DEATH_MONTHS",
    "PUF_VITAL_STATUS",
    "REFERENCE_DATE_FLAG",
    "PUF_REFERENCE_DATE_FLAG",
    "MED_INC_QUAR_16",
    "NO_HSD_QUAR_16",
    "MED_INC_QUAR_2016",
    "NO_HSD_QUAR_2016",
    "MED_INC_QUAR_2020",
    "NO_HSD_QUAR_2020",
    "METS_AT_DX_BONE",
    "METS_AT_DX_BRAIN",
    "METS_AT_DX_LIVER",
    "METS_AT_DX_LUNG",
    "METS_AT_DX_DISTANT_LN",
    "METS_AT_DX_OTHER",
    "PHASE_I_RT_VOLUME",
    "PHASE_I_TOTAL_DOSE",
    "TOTAL_DOSE",
]

# §4 histology table: every ICD-O-3 code the paper's eight groups use.
SECTION4_HISTOLOGY = [
    "8850",
    "8851",
    "8852",
    "8853",
    "8854",
    "8855",
    "8857",
    "8858",
    "8810",
    "8811",
    "8813",
    "8814",
    "8815",
    "8825",
    "8840",
    "8832",
    "8833",
    "9251",
    "9252",
    "9150",
    "8890",
    "8891",
    "8894",
    "8895",
    "8896",
    "8900",
    "8901",
    "8902",
    "8910",
    "8912",
    "8920",
    "8921",
    "9120",
    "9130",
    "9133",
    "9170",
    "8711",
    "9540",
    "9542",
    "9560",
    "9561",
    "9571",
    "9580",
    "9040",
    "9041",
    "9042",
    "9043",
    "8804",
    "9581",
    "9044",
    "9231",
    "8806",
    "8963",
    "8714",
    "8842",
    "8982",
    "8990",
    "9137",
    "9260",
    "9364",
    "8800",
    "8801",
    "8802",
    "8803",
    "8805",
    "8830",
]


def test_every_spec_field_is_in_the_dictionary() -> None:
    fields = load_dictionary().fields
    assert sorted(set(SPEC_FIELDS) - set(fields)) == []


def test_every_field_of_the_spec_layout_table_is_known() -> None:
    text = SPEC.read_text()
    table = text[text.index("### 1a.") : text.index("## 2.")]
    names = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", table))
    # "CS_METS_DX_BONE/BRAIN/..." and "TNM_CLIN_T / _N" abbreviate several fields in one cell
    assert names - set(load_dictionary().fields) <= {"CS_METS_DX_BONE", "TNM_CLIN_T", "TNM_PATH_T"}


def test_histology_lists_every_section4_code() -> None:
    histology = load_dictionary().fields["HISTOLOGY"]
    assert sorted(set(SECTION4_HISTOLOGY) - set(histology.codes)) == []
    assert histology.open_codes and histology.code_is_valid("8000")
    assert not histology.code_is_valid("88x0")


def test_layouts_have_the_spec_record_lengths_and_no_overlap() -> None:
    layouts = load_dictionary().layouts
    assert {name: lay.record_length for name, lay in layouts.items()} == {"2013": 389, "2016": 410}
    for layout in layouts.values():
        ends = [f.end for f in layout.fields]
        assert max(ends) <= layout.record_length
        for left, right in zip(layout.fields, layout.fields[1:], strict=False):
            assert left.end < right.start


@pytest.mark.parametrize(
    ("name", "layout", "span"),
    [
        ("PUF_CASE_ID", "2016", (1, 37)),
        ("TUMOR_SIZE", "2013", (95, 97)),
        ("TNM_CLIN_T", "2013", (112, 115)),
        ("TNM_CLIN_T", "2016", (112, 116)),
        ("DX_LASTCONTACT_DEATH_MONTHS", "2013", (368, 375)),
        ("DX_LASTCONTACT_DEATH_MONTHS", "2016", (374, 381)),
        ("PUF_VITAL_STATUS", "2016", (382, 382)),
        ("CDCC_TOTAL", "2013", (73, 74)),
        ("CDCC_TOTAL_BEST", "2016", (73, 74)),
        ("MED_INC_QUAR_16", "2016", (409, 409)),
    ],
)
def test_positions_match_the_spec_table(name: str, layout: str, span: tuple[int, int]) -> None:
    assert load_dictionary().fields[name].positions[layout] == span


def test_release_specific_fields_sit_only_in_their_layout() -> None:
    fields = load_dictionary().fields
    assert set(fields["CDCC_TOTAL"].positions) == {"2013"}
    assert set(fields["CDCC_TOTAL_BEST"].positions) == {"2016"}
    assert "2020" not in fields["RX_SUMM_RADIATION"].releases


def test_codes_fit_their_field_and_sentinels_are_codes() -> None:
    for pf in load_dictionary().fields.values():
        assert pf.type in ("code", "integer", "decimal"), pf.name
        for code in pf.codes:
            assert not pf.width or len(code) <= pf.width, (pf.name, code)
        for code, kind in pf.sentinels.items():
            assert kind in SENTINEL_KINDS, (pf.name, code)
            assert code == "" or code in pf.codes, (pf.name, code)


def test_ranges_expand_with_zero_padding_and_specific_labels_win() -> None:
    fields = load_dictionary().fields
    sequence = fields["SEQUENCE_NUMBER"].codes
    assert sequence["37"] == "Nth of two or more malignant primaries"
    assert sequence["00"] == "One malignant primary only"
    assert "89" not in sequence
    surgery = fields["RX_SUMM_SURG_PRIM_SITE"].codes
    assert (
        surgery["30"].startswith("Radical excision")
        and surgery["27"] == "Resection (site-specific)"
    )
    assert fields["TUMOR_SIZE"].codes["050"] == "Exact size in mm"


def test_study_codes_of_the_spec_are_present() -> None:
    fields = load_dictionary().fields
    assert fields["PUF_VITAL_STATUS"].codes == {"0": "Dead", "1": "Alive"}
    assert fields["PUF_VITAL_STATUS"].sentinels == {"": "not_available"}
    assert {"01", "02", "03"} <= set(fields["RX_SUMM_CHEMO"].codes)
    assert fields["RX_SUMM_CHEMO"].sentinels == {"88": "unknown", "99": "unknown"}
    assert fields["AGE"].type == "integer" and fields["AGE"].sentinel_values == {999.0: "unknown"}
    assert fields["DX_LASTCONTACT_DEATH_MONTHS"].decimals == 2
    assert fields["FACILITY_LOCATION_CD"].codes["3"] == "South Atlantic"


def test_dictionary_is_loaded_once() -> None:
    assert load_dictionary() is load_dictionary()


def test_pad_width_of_codes() -> None:
    fields = load_dictionary().fields
    widths = {
        name: fields[name].pad_width
        for name in ("RACE", "INSURANCE_STATUS", "TUMOR_SIZE", "HISTOLOGY", "TNM_CLIN_T", "AGE")
    }
    assert widths == {
        "RACE": 2,
        "INSURANCE_STATUS": 1,
        "TUMOR_SIZE": 3,
        "HISTOLOGY": None,
        "TNM_CLIN_T": None,
        "AGE": None,
    }
