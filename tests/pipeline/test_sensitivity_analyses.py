"""The sensitivity kinds of a study file (evalue, rmst, imputation): their keys are checked at
load with the key path, their records equal a direct call of the numerics on the same cohort,
and data that do not allow them give a failure that names the reason."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from regsurv.causal import PropensityModel, iptw_weights
from regsurv.causal.evalue import cox_evalues
from regsurv.causal.imputation import multiple_imputation
from regsurv.causal.rubin import mi_cox, mi_iptw_cox
from regsurv.errors import UsageError
from regsurv.pipeline.analyses import run_analysis
from regsurv.pipeline.spec import load_study
from regsurv.studies import study_path
from regsurv.survival import cox_ph
from regsurv.survival.rmst import rmst
from regsurv.testing import assert_close

from ._toml import write_study
from .conftest import context


def _raw():
    return tomllib.loads(study_path().read_text(encoding="utf-8"))


def _edit(analysis_id, **changes):
    def mutate(raw):
        next(a for a in raw["analyses"] if a["id"] == analysis_id).update(changes)

    return mutate


BAD = {
    "evalue_of_not_a_model": (
        _edit("evalues", of=["table3", "fig2b"]),
        "analyses[evalues].of[1]: 'fig2b' is not the id of an earlier cox or iptw analysis",
    ),
    "evalue_of_later_analysis": (
        _edit("evalues", of=["mi"]),
        "analyses[evalues].of[0]: 'mi' is not the id of an earlier cox or iptw analysis",
    ),
    "evalue_treatment_not_the_iptw_treatment": (
        _edit("evalues", treatment="sex"),
        "analyses[evalues].treatment: 'sex' is not the treatment of analyses[iptw] "
        "('treatment', of[1])",
    ),
    "evalue_treatment_not_a_covariate": (
        _edit("evalues", of=["table3"], treatment="insurance"),
        "analyses[evalues].treatment: 'insurance' is not a covariate of analyses[table3] (of[0])",
    ),
    "evalue_treatment_not_a_column": (
        _edit("evalues", treatment="treatmnt"),
        "analyses[evalues].treatment: 'treatmnt' is not an analysis column",
    ),
    "evalue_outcome_vocabulary": (
        _edit("evalues", outcome="frequent"),
        "analyses[evalues].outcome",
    ),
    "evalue_threshold_range": (_edit("evalues", threshold=1.5), "analyses[evalues].threshold"),
    "rmst_group_numeric": (
        _edit("rmst", group="os_years", weights=["unweighted"]),
        "analyses[rmst].group: 'os_years' is numeric",
    ),
    "rmst_group_not_the_iptw_treatment": (
        _edit("rmst", group="histology"),
        "analyses[rmst].weights[1]: analyses[iptw] weights 'treatment', not the group 'histology'",
    ),
    "rmst_weights_twice": (
        _edit("rmst", weights=["iptw", "iptw"]),
        "analyses[rmst].weights: Value error, listed twice: ['iptw']",
    ),
    "rmst_tau_not_positive": (_edit("rmst", tau=0), "analyses[rmst].tau"),
    "imputation_m_below_2": (
        _edit("mi", m=1),
        "analyses[mi].m: Input should be greater than or equal to 2",
    ),
    "imputation_of_unknown": (
        _edit("mi", of=["table3", "table9"]),
        "analyses[mi].of[1]: 'table9' is not the id of an earlier cox or iptw analysis",
    ),
    "imputation_unknown_key": (_edit("mi", method="mice"), "analyses[mi].method: unknown key"),
    "imputation_of_an_iptw_without_complete_cases": (
        _edit("iptw", complete_cases=False),
        "analyses[mi].of[1]: analyses[iptw] has complete_cases = false",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_keys_name_their_path(tmp_path, case):
    mutate, expected = BAD[case]
    raw = copy.deepcopy(_raw())
    raw["report"].pop("targets", None)
    mutate(raw)
    with pytest.raises(UsageError) as info:
        load_study(write_study(tmp_path / "study.toml", raw))
    message = str(info.value)
    assert expected.removeprefix("analyses[rmst].weights: Value error, ") in message, message
    assert message.split(": ", 1)[1].startswith(expected.split(":")[0]), message


def test_the_shipped_study_has_the_three_kinds():
    kinds = {a.id: a.kind for a in load_study().analyses}
    assert (kinds["evalues"], kinds["rmst"], kinds["mi"]) == ("evalue", "rmst", "imputation")


# -- equal to the numerics -----------------------------------------------------------------------


def _records(sarcoma, *ids):
    """Records of `ids` computed in order with the earlier ones in the context."""
    spec, _ = sarcoma
    records: dict = {}
    ctx = replace(context(sarcoma), records=records, n_jobs=1)
    for analysis_id in ids:
        records[analysis_id] = run_analysis(ctx, spec.analysis(analysis_id))
        assert not records[analysis_id].failed, records[analysis_id]
    return ctx, records


def _iptw_direct(sarcoma):
    """The iptw analysis's rows and weights, computed here from the numerics."""
    spec, cohort = sarcoma
    ps = spec.analysis("iptw")
    data = cohort.cohort.drop_nulls([ps.treatment, *ps.covariates, "os_years", "death"])
    model = PropensityModel(ps.covariates, reference=ps.reference).fit(data, treatment="treatment")
    w = iptw_weights(model.predict_proba(data), data["treatment"], classes=model.classes_)
    return data, w


def test_evalues_equal_cox_evalues_of_table3_and_of_the_iptw_model(sarcoma):
    spec, cohort = sarcoma
    _, records = _records(sarcoma, "table3", "iptw", "evalues")
    t3 = spec.analysis("table3")
    direct = cox_ph(
        cohort.cohort,
        time="os_years",
        event="death",
        covariates=t3.covariates,
        reference=t3.reference,
        ties="breslow",
    )
    terms = [t for t in direct.terms if t.startswith("treatment:")]
    expected = cox_evalues(direct, terms=terms)  # event proportion: the fit's events / rows
    got = records["evalues"].evalues["table3"]
    assert got.terms == tuple(terms) and len(terms) == 2
    assert_close(got.estimate, expected.estimate, tier="exact")
    assert_close(got.evalue_conf, expected.evalue_conf, tier="exact")
    assert got.outcome == "common" and got.event_proportion == direct.n_events / direct.n_obs
    assert "event proportion" in got.method and "> 15%" in got.method
    iptw = records["evalues"].evalues["iptw"]
    cox = records["iptw"].survival.cox
    assert_close(iptw.hazard_ratio, np.exp(cox.estimate), tier="exact")


def test_evalue_outcome_forced_rare_uses_the_hazard_ratio(sarcoma):
    spec, _ = sarcoma
    ctx, _ = _records(sarcoma, "table3")
    rare = spec.analysis("evalues").model_copy(update={"of": ("table3",), "outcome": "rare"})
    ev = run_analysis(ctx, rare).evalues["table3"]
    assert ev.outcome == "rare" and "as requested" in ev.method
    assert_close(ev.risk_ratio, ev.hazard_ratio, tier="exact")


def test_evalue_of_a_boolean_treatment_uses_its_bare_term(sarcoma):
    """A Boolean treatment's Cox term is the column itself (no ``column:level``)."""
    spec, _ = sarcoma
    cox_m = spec.analysis("table3").model_copy(
        update={"id": "cox_m", "covariates": ("M", "age_group"), "reference": {}}
    )
    evalues = spec.analysis("evalues").model_copy(update={"of": ("cox_m",), "treatment": "M"})
    records: dict = {}
    ctx = replace(context(sarcoma), records=records, n_jobs=1)
    records["cox_m"] = run_analysis(ctx, cox_m)
    assert not records["cox_m"].failed, records["cox_m"]
    ev = run_analysis(ctx, evalues)
    assert not ev.failed, ev
    assert ev.evalues["cox_m"].terms == ("M",)


def test_rmst_equals_rmst_of_the_cohort_and_of_the_iptw_weights(sarcoma):
    _, cohort = sarcoma
    _, records = _records(sarcoma, "iptw", "rmst")
    record = records["rmst"]
    unweighted = rmst(cohort.cohort, time="os_years", event="death", group="treatment")
    data, w = _iptw_direct(sarcoma)
    weighted = rmst(
        data.with_columns(w=w.values), time="os_years", event="death", group="treatment",
        weights="w", tau=unweighted.tau,
    )  # fmt: skip
    assert record.tau == unweighted.tau  # the shorter of the two samples' default taus
    assert "smallest last follow-up time of the groups" in record.tau_rule
    for name, direct in (("unweighted", unweighted), ("iptw", weighted)):
        got = record.results[name]
        assert_close(got.estimate, direct.estimate, tier="exact", err_msg=name)
        assert_close(got.contrast_conf_low, direct.contrast_conf_low, tier="exact", err_msg=name)
    assert record.results["iptw"].robust and not record.results["unweighted"].robust


def test_rmst_tau_beyond_follow_up_fails_with_the_reason(sarcoma):
    spec, _ = sarcoma
    ctx = context(sarcoma)
    late = spec.analysis("rmst").model_copy(update={"tau": 50.0})
    failure = run_analysis(ctx, late)
    assert failure.failed and "tau = 50 is beyond the follow-up of group" in failure.reason
    given = run_analysis(ctx, spec.analysis("rmst").model_copy(update={"tau": 5.0}))
    assert given.tau == 5.0 and given.tau_rule == "given in the study file"


@pytest.mark.slow
def test_imputation_equals_mice_and_rubin_pooling_of_table3_and_iptw(sarcoma):
    spec, cohort = sarcoma
    mi_spec = spec.analysis("mi").model_copy(update={"m": 3, "max_iter": 2, "random_state": 5})
    ctx, records = _records(sarcoma, "table3", "iptw")
    record = run_analysis(ctx, mi_spec)
    assert not record.failed, record
    t3, ps = spec.analysis("table3"), spec.analysis("iptw")
    columns = [c for c in dict.fromkeys([*t3.covariates, *ps.covariates]) if c != "treatment"]
    imputations = multiple_imputation(
        cohort.cohort, columns=columns, time="os_years", event="death", predictors=["treatment"],
        m=3, max_iter=2, random_state=5,
    )  # fmt: skip
    cox = mi_cox(imputations, time="os_years", event="death", covariates=t3.covariates,
                 reference=t3.reference, ties="breslow")  # fmt: skip
    iptw = mi_iptw_cox(imputations, time="os_years", event="death", treatment="treatment",
                       covariates=ps.covariates, ties="breslow")  # fmt: skip
    assert_close(record.pooled["table3"].estimate, cox.estimate, tier="exact")
    assert_close(record.pooled["table3"].t, cox.t, tier="exact")
    assert_close(record.pooled["iptw"].estimate, iptw.estimate, tier="exact")
    assert record.complete_case["table3"] is records["table3"].model  # the analysis's own fit
    imputed = {"facility_type", "tumor_size", "margins", "insurance"}
    assert set(record.imputations.imputed) == imputed
    assert record.n_obs == cohort.cohort.height and record.n_dropped == 0
    assert len(record.terms["table3"]) == len(cox.terms) and len(record.terms["iptw"]) == 2


@pytest.mark.slow
def test_imputation_chains_do_not_depend_on_the_workers(sarcoma):
    spec, _ = sarcoma
    mi_spec = spec.analysis("mi").model_copy(update={"m": 2, "max_iter": 1, "of": ("iptw",)})
    one = run_analysis(replace(context(sarcoma), n_jobs=1), mi_spec)
    two = run_analysis(replace(context(sarcoma), n_jobs=2), mi_spec)
    assert_close(one.pooled["iptw"].estimate, two.pooled["iptw"].estimate, tier="exact")


def test_imputation_of_a_covariate_missing_in_every_row_fails_with_the_reason(sarcoma):
    spec, cohort = sarcoma
    emptied = cohort.cohort.with_columns(pl.lit(None, dtype=pl.String).alias("sex"))
    ctx = replace(context(sarcoma), cohort=emptied)
    failure = run_analysis(ctx, spec.analysis("mi").model_copy(update={"of": ("table3",)}))
    assert failure.failed and "column 'sex' is missing in every row" in failure.reason


def test_a_failed_linked_analysis_is_named(sarcoma):
    spec, cohort = sarcoma
    emptied = cohort.cohort.with_columns(pl.lit(None, dtype=pl.String).alias("sex"))
    failure = run_analysis(replace(context(sarcoma), cohort=emptied), spec.analysis("evalues"))
    assert failure.failed and failure.reason.startswith("analysis 'table3' was not computed")


def test_an_analysis_left_out_is_computed_once_for_all_its_links(sarcoma, monkeypatch):
    """`--only evalues rmst`: both link to iptw, which is computed once (not per link) and is
    not among the reported records; the linked results are those of a full run."""
    from regsurv.pipeline import analyses

    spec, _ = sarcoma
    ctx = replace(context(sarcoma), n_jobs=1)
    ctx = replace(ctx, specs={**ctx.specs, "iptw": spec.analysis("iptw").model_copy(
        update={"n_boot": 0})})  # fmt: skip
    calls: list[str] = []
    step = analyses.KINDS["iptw"].step

    def counted(context, analysis):
        calls.append(analysis.id)
        return step(context, analysis)

    monkeypatch.setitem(analyses.KINDS, "iptw", replace(analyses.KINDS["iptw"], step=counted))
    records = {}
    for analysis_id in ("evalues", "rmst"):
        records[analysis_id] = run_analysis(
            replace(ctx, records=records), spec.analysis(analysis_id)
        )
        assert not records[analysis_id].failed, records[analysis_id]
    assert calls == ["iptw"] and "iptw" not in records and set(ctx.linked) == {"table3", "iptw"}
