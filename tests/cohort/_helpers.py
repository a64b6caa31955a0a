"""Hand-made PUF frames and study variants for the cohort tests (typed as `regsurv.io` delivers
them)."""

from __future__ import annotations

import tomllib
from typing import Any

import polars as pl

from regsurv.cohort import CohortSpec
from regsurv.io import load_dictionary
from regsurv.studies import study_path

# A patient who passes every default criterion: stage IV extremity UPS, radical resection,
# no metastasectomy, no chemotherapy, 50 Gy to soft tissue (R), dead at 12.5 months.
ELIGIBLE: dict[str, Any] = {
    "PUF_CASE_ID": "case",
    "PRIMARY_SITE": "C492",
    "BEHAVIOR": "3",
    "HISTOLOGY": "8830",
    "AGE": 50,
    "YEAR_OF_DIAGNOSIS": 2008,
    "ANALYTIC_STAGE_GROUP": "4",
    "TNM_CLIN_T": "c2B",
    "TNM_CLIN_N": "c0",
    "TNM_CLIN_M": "c1",
    "TNM_PATH_T": "p2B",
    "TNM_PATH_N": "p0",
    "TNM_PATH_M": "p1",
    "CS_METS_AT_DX": "40",
    "RX_SUMM_SURG_PRIM_SITE": "30",
    "SEQUENCE_NUMBER": "00",
    "CLASS_OF_CASE": "14",
    "RX_SUMM_SURG_OTH_REGDIS": "0",
    "RX_SUMM_CHEMO": "00",
    "RX_SUMM_RADIATION": "1",
    "RAD_TREAT_VOL": "31",
    "RAD_REGIONAL_DOSE_CGY": 5000,
    "RAD_BOOST_DOSE_CGY": 0,
    "PUF_VITAL_STATUS": "0",
    "DX_LASTCONTACT_DEATH_MONTHS": 12.5,
    "SEX": "1",
    "RACE": "01",
    "INSURANCE_STATUS": "1",
    "CDCC_TOTAL": "0",
    "FACILITY_TYPE_CD": "3",
    "FACILITY_LOCATION_CD": "4",
    "GRADE": "3",
    "TUMOR_SIZE": "120",
    "RX_SUMM_SURGICAL_MARGINS": "0",
    "REGIONAL_NODES_EXAMINED": "00",
    "REGIONAL_NODES_POSITIVE": "98",
    "LYMPH_VASCULAR_INVASION": "0",
    "MED_INC_QUAR_12": "2",
    "NO_HSD_QUAR_12": "3",
    "UR_CD_13": "1",
    "CROWFLY": 12.3,
    "DX_SURG_STARTED_DAYS": 20,  # start days of the treatments (`[cohort.start_days]`)
    "DX_DEFSURG_STARTED_DAYS": 20,
    "DX_CHEMO_STARTED_DAYS": None,
    "DX_RAD_STARTED_DAYS": 60,
}

_DTYPES = {"code": pl.String, "integer": pl.Int64, "decimal": pl.Float64}


def puf_schema(columns) -> dict[str, pl.DataType]:
    fields = load_dictionary().fields
    return {c: _DTYPES[fields[c].type] for c in columns}


def puf_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (each a partial update of ELIGIBLE) as a typed PUF frame with ids 0, 1, 2, ..."""
    full = [{**ELIGIBLE, "PUF_CASE_ID": str(i), **row} for i, row in enumerate(rows)]
    return pl.DataFrame(full, schema=puf_schema(ELIGIBLE), orient="row")


def shipped_raw() -> dict[str, Any]:
    return tomllib.loads(study_path().read_text(encoding="utf-8"))


def cohort_spec(**options: Any) -> CohortSpec:
    """The shipped `[cohort]` with some options changed."""
    raw = shipped_raw()["cohort"]
    return CohortSpec.model_validate({**raw, "options": {**raw["options"], **options}})
