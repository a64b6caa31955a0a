"""The generator: determinism, class totals, schema, and the paper's flow through the cohort."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.cohort import EXCLUDED_AT, apply_criteria, assign_exclusion
from regsurv.io import load_dictionary
from regsurv.studies import load_targets
from regsurv.synth import TRUTH_COLUMNS, iter_synthetic_puf, synthetic_puf, true_parameters
from regsurv.synth._generate import COLUMNS
from regsurv.synth._parameters import CLASSES, class_counts, load_parameters
from regsurv.synth.check import _cohort_spec
from regsurv.testing import assert_close

# The criterion each class of rows is built to fail first (cohort classes pass them all).
FIRST_FAILED = {
    "other_site": "extremity_site",
    "non_sarcoma_histology": "sarcoma_histology",
    "pediatric": "adult",
    "not_stage_iv": "stage_iv",
    "stage_iv_no_sp": "definitive_surgery",
    "prior_malignancy": "no_prior_malignancy",
    "incomplete_treatment": "complete_treatment",
    "incomplete_survival": "complete_survival",
    "cohort_sp_alone": None,
    "cohort_metastasectomy": None,
    "cohort_non_surgical_adjuvant": None,
}


def test_same_seed_same_rows_other_seed_other_rows():
    a = synthetic_puf(3000, seed=7)
    assert a.equals(synthetic_puf(3000, seed=7))
    assert not a.equals(synthetic_puf(3000, seed=8))


def test_class_totals_are_exact_and_scale_with_rows():
    counts = class_counts(82_987)
    classes = load_parameters()["population"]["classes"]
    assert sum(counts.values()) == 82_987
    assert all(counts[k] == v for k, v in classes.items() if k != "other_site")
    small = class_counts(10_000)
    assert sum(small.values()) == 10_000
    assert small["cohort_sp_alone"] == round(331 * 10_000 / 82_987)
    with pytest.raises(ValueError, match="rows must be at least 1"):
        class_counts(0)


def test_chunks_keep_the_class_totals():
    frames = list(iter_synthetic_puf(5000, seed=2, chunk_rows=1200, truth=True))
    assert [f.height for f in frames] == [1200, 1200, 1200, 1200, 200]
    got = pl.concat(frames)["synth_class"].value_counts()
    expected = class_counts(5000)
    assert {r["synth_class"]: r["count"] for r in got.iter_rows(named=True)} == {
        k: v for k, v in expected.items() if v
    }
    ids = pl.concat(frames)["PUF_CASE_ID"]
    assert ids.n_unique() == 5000 and ids.str.len_chars().unique().to_list() == [37]


def test_columns_and_types_follow_the_io_dictionary(puf_seed0):
    fields = load_dictionary().fields
    assert puf_seed0.columns == [*COLUMNS, *TRUTH_COLUMNS]
    expected = {"code": pl.String, "integer": pl.Int64, "decimal": pl.Float64}
    for name in COLUMNS:
        assert puf_seed0.schema[name] == expected[fields[name].type], name
        assert "2014" in fields[name].releases, name


def test_every_class_fails_exactly_its_criterion(puf_seed0):
    spec = _cohort_spec(None)
    found = (
        assign_exclusion(puf_seed0, spec)
        .group_by("synth_class", EXCLUDED_AT)
        .len()
        .collect()
        .iter_rows()
    )
    pairs = {(cls, step) for cls, step, _ in found}
    assert pairs == {(cls, step) for cls, step in FIRST_FAILED.items()}
    assert set(FIRST_FAILED) == set(CLASSES)


def test_flow_leaves_the_paper_cohort(puf_seed0):
    _, flow = apply_criteria(puf_seed0.select(COLUMNS), _cohort_spec(None))
    steps = {s.id: s for s in flow.steps}
    targets = load_targets()["cohort"]
    assert flow.n_start == targets["puf_cases"]
    # Exact by construction (the issue asks for 5 %): class sizes are fixed, not random.
    assert flow.n_final == targets["included"]
    assert steps["definitive_surgery"].n_excluded == targets["excluded_stage_iv_without_sp"]
    assert all(s.n_excluded > 0 for s in flow.steps if s.id != "diagnosis_years")


def test_true_parameters_are_table_3():
    truth = true_parameters()
    table3 = {
        k.replace("age:", "age_group:"): v[0]
        for k, v in load_targets()["table3"].items()
        if k != "reference" and not k.startswith("lymph_nodes_examined")
    }
    assert set(truth.terms) == set(table3)
    assert_close(
        [truth.log_hazard_ratios()[t] for t in table3], np.log(list(table3.values())), tier="exact"
    )
    assert truth.group_sizes == dict(
        zip(load_targets()["groups"]["order"], [331, 186, 607], strict=True)
    )
    s = truth.baseline_survival(np.array([0.0, 0.5, 1.0]))
    rates = truth.baseline_hazard
    assert_close(
        s, np.exp(-np.array([0.0, 0.5 * rates[0], 0.5 * rates[0] + 0.5 * rates[1]])), tier="exact"
    )
    assert truth.to_frame().height == len(truth.terms)
    assert "21 log hazard ratios" in repr(truth)


def test_parameter_file_transcribes_the_published_counts():
    params = load_parameters()["cohort"]
    targets = load_targets()
    for variable in ("year_group", "race", "facility_type", "facility_location", "histology"):
        table = "table2" if variable == "histology" else "table1"
        for level, counts in params[variable].items():
            assert counts == targets[table][variable][level][1:], (variable, level)
    for level, code in (("Male", "1"), ("Female", "2")):
        assert params["sex"][code] == targets["table1"]["sex"][level][1:]
    cd = targets["table1"]["charlson_deyo"]
    assert params["charlson_deyo"]["0"] == cd["0"][1:]
    ones = np.add(params["charlson_deyo"]["1"], params["charlson_deyo"]["2"]).tolist()
    assert ones == cd["1+"][1:]
    grade = targets["table2"]["grade"]
    assert (
        np.add(params["grade"]["3"], params["grade"]["4"]).tolist()
        == grade["Poorly differentiated or undifferentiated"][1:]
    )
    for level in ("0-5", ">5-10", ">10-15", ">15"):
        assert params["tumor_size"][level] == targets["table2"]["tumor_size_cm"][level][1:]
    for level in ("Negative", "Positive"):
        assert params["margins"][level] == targets["table2"]["surgical_margins"][level][1:]
    n = targets["groups"]["n"]
    assert np.sum(list(params["histology"].values()), axis=0).tolist() == n


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rows": 0}, "rows must be at least 1"), ({"rows": 10, "seed": -1}, "seed must be")],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_puf(**kwargs)
