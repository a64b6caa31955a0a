"""The study file: the shipped one loads; every kind of mistake is a one-line error naming it."""

from __future__ import annotations

import copy
import tomllib

import pytest

from regsurv.cohort import CohortOptions, CohortSpec
from regsurv.pipeline.spec import StudySpec, load_study
from regsurv.studies import available_studies, study_path

from ._helpers import shipped_raw


def _write(tmp_path, raw) -> str:
    """Write `raw` back as TOML (tests only need tables, arrays, strings, numbers, booleans)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"

    lines = [f'"{k}" = {value(v)}' for k, v in raw.items() if isinstance(v, list)]
    for section, body in raw.items():
        if isinstance(body, list):
            continue
        lines.append(f"[{section}]")
        lines += [f'"{k}" = {value(v)}' for k, v in body.items()]
    path = tmp_path / "study.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def test_shipped_study_loads_with_documented_defaults():
    study = load_study()
    assert isinstance(study, StudySpec)
    assert study == load_study(study_path())
    assert "sts_metastasectomy" in available_studies()
    assert study.cohort.options == CohortOptions()
    ids = [c.id for c in study.cohort.criteria]
    assert ids == [
        "extremity_site",
        "sarcoma_histology",
        "adult",
        "diagnosis_years",
        "stage_iv",
        "distant_metastasis",
        "definitive_surgery",
        "no_prior_malignancy",
        "class_of_case",
        "complete_treatment",
        "radiation_definition",
        "complete_survival",
    ]


def test_round_trip_of_the_helper_writer(tmp_path):
    assert load_study(_write(tmp_path, shipped_raw())) == load_study()


def _mutated(tmp_path, mutate) -> str:
    raw = copy.deepcopy(shipped_raw())
    mutate(raw)
    return _write(tmp_path, raw)


def _criterion(raw, cid):
    return next(c for c in raw["cohort"]["criteria"] if c["id"] == cid)


BAD_STUDIES = {
    "typo_top_level": (lambda r: r.update(cohrot={}), ["cohrot", "unknown key"]),
    "typo_option": (
        lambda r: r["cohort"]["options"].update(strict_m2=True),
        ["cohort.options.strict_m2", "unknown key"],
    ),
    "typo_in_criterion": (
        lambda r: _criterion(r, "adult").update(lable="x"),
        ["cohort.criteria[adult].lable", "unknown key"],
    ),
    "unknown_field": (
        lambda r: _criterion(r, "adult").update(where={"field": "AGEE", "ge": 18}),
        ["criteria[adult]", "'AGEE'", "not in the PUF dictionary"],
    ),
    "unknown_code": (
        lambda r: _criterion(r, "stage_iv").update(
            where={"field": "ANALYTIC_STAGE_GROUP", "in": ["4", "IV"]}
        ),
        ["criteria[stage_iv]", "'IV'", "ANALYTIC_STAGE_GROUP"],
    ),
    "unpadded_code": (
        lambda r: _criterion(r, "no_prior_malignancy").update(
            where={"field": "SEQUENCE_NUMBER", "in": [0, 1]}
        ),
        ["SEQUENCE_NUMBER", "zero-padded string"],
    ),
    "empty_in_list": (
        lambda r: _criterion(r, "stage_iv").update(
            where={"field": "ANALYTIC_STAGE_GROUP", "in": []}
        ),
        ["empty 'in' list", "ANALYTIC_STAGE_GROUP"],
    ),
    "two_operators": (
        lambda r: _criterion(r, "adult").update(where={"field": "AGE", "ge": 18, "le": 90}),
        ["AGE", "exactly one of"],
    ),
    "range_on_coded_field": (
        lambda r: _criterion(r, "stage_iv").update(
            where={"field": "ANALYTIC_STAGE_GROUP", "ge": 4}
        ),
        ["'ge' needs a numeric field", "ANALYTIC_STAGE_GROUP"],
    ),
    "not_a_condition": (
        lambda r: _criterion(r, "adult").update(where={"feild": "AGE"}),
        ["cohort.criteria[adult].where", "a condition needs one of"],
    ),
    "unknown_option_reference": (
        lambda r: _criterion(r, "adult").update(where={"option": "use_magic"}),
        ["'use_magic' is not a boolean cohort option"],
    ),
    "unknown_definition": (
        lambda r: _criterion(r, "adult").update(where={"use": "nope"}),
        ["unknown definition 'nope'"],
    ),
    "self_reference": (
        lambda r: r["cohort"]["definitions"].update(loop={"use": "loop"}),
        ["definition 'loop' refers to itself"],
    ),
    "missing_definition": (
        lambda r: r["cohort"]["definitions"].pop("chemotherapy"),
        ["cohort.flags.C", "unknown definition 'chemotherapy'"],
    ),
    "duplicate_id": (
        lambda r: _criterion(r, "adult").update(id="stage_iv"),
        ["duplicate criterion id 'stage_iv'"],
    ),
    "bad_option_value": (
        lambda r: r["cohort"]["options"].update(radiation_dose_rule="sum"),
        ["cohort.options.radiation_dose_rule"],
    ),
    "bad_radiation_volume": (
        lambda r: r["cohort"]["options"].update(radiation_volumes=["77"]),
        ["radiation_volumes", "'77'", "RAD_TREAT_VOL"],
    ),
    "bad_when": (
        lambda r: _criterion(r, "adult").update(when="radiation_dose_rule"),
        ["when", "not a boolean option"],
    ),
    "unknown_recode": (
        lambda r: _criterion(r, "sarcoma_histology").update(
            where={"field": "HISTOLOGY", "in_recode": "histo"}
        ),
        ["unknown recode 'histo'"],
    ),
}


@pytest.mark.parametrize("case", BAD_STUDIES, ids=str)
def test_bad_study_is_a_one_line_error_naming_the_problem(tmp_path, case):
    mutate, expected = BAD_STUDIES[case]
    path = _mutated(tmp_path, mutate)
    with pytest.raises(ValueError) as info:
        load_study(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(path)
    for part in expected:
        assert part in message, message


def test_missing_file_and_broken_toml(tmp_path):
    with pytest.raises(ValueError, match="study file not found"):
        load_study(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[study\nname = 1", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_study(broken)


def test_spec_is_frozen_and_python_construction_works():
    spec = load_study().cohort
    with pytest.raises(Exception, match="frozen"):
        spec.options = CohortOptions()
    raw = tomllib.loads(study_path().read_text(encoding="utf-8"))["cohort"]
    assert CohortSpec.model_validate(raw) == spec


def test_fields_lists_what_the_criteria_read():
    fields = load_study().cohort.fields()
    assert fields[:3] == ("PRIMARY_SITE", "BEHAVIOR", "HISTOLOGY")
    assert {"RAD_TREAT_VOL", "RAD_REGIONAL_DOSE_CGY", "DX_LASTCONTACT_DEATH_MONTHS"} <= set(fields)
