"""The sensitivity sections of the default report: E-values, RMST and complete cases versus
multiple imputation are in the HTML, the CSV tables and results.json; the IPTW section shows
its bootstrap CIs when the study asks for them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import polars as pl

from regsurv.pipeline.analyses import StepContext, run_analysis
from regsurv.pipeline.profiles import get_profile
from regsurv.report.build import RENDERERS, RenderContext
from regsurv.report.document import Section, Table
from regsurv.report.format import Suppressor


def test_the_default_report_has_the_sensitivity_sections(study_run):
    _, out = study_run
    html = (out / "report.html").read_text(encoding="utf-8")
    for title in (
        "E-values of the treatment hazard ratios",
        "Restricted mean survival time by treatment group",
        "Complete cases versus multiple imputation",
    ):
        assert title in html
    assert "common outcome (event proportion" in html and "τ = smallest last follow-up" in html
    published = json.loads((out / "results.json").read_text(encoding="utf-8"))["analyses"]
    assert set(published["evalues"]["evalues"]) == {"table3", "iptw"}
    assert set(published["rmst"]["results"]) == {"unweighted", "iptw"}
    assert published["mi"]["imputations"]["m"] == 5
    evalues = pl.read_csv(out / "tables" / "evalues.csv")
    assert evalues.height == 4 and (evalues["evalue"] > 1).all()
    assert pl.read_csv(out / "tables" / "rmst.csv").height == 6
    mi = pl.read_csv(out / "tables" / "mi.csv")
    assert set(mi["analysis"]) == {"table3", "iptw"} and (mi["fmi"] >= 0).all()


def test_the_iptw_section_shows_bootstrap_intervals(study_run, tmp_path):
    results, _ = study_run
    spec = results.spec.analysis("iptw").model_copy(update={"n_boot": 3})
    ctx = StepContext(
        cohort=results.cohort,
        outcome=results.spec.outcome,
        profile=get_profile("sas"),
        seed=0,
        specs={},
        n_jobs=1,
    )
    record = run_analysis(ctx, spec)
    section = Section("iptw", spec.title)
    render = RenderContext(
        SimpleNamespace(**{k: getattr(results, k) for k in ("cohort", "spec", "profile")}),
        tmp_path,
        Suppressor(None),
    )
    RENDERERS["iptw"].section(section, record, render)
    tables = {b.key: b for b in section.blocks if isinstance(b, Table)}
    boot = tables["iptw_bootstrap"]
    assert boot.header[1:] == ("HR (bootstrap 95% CI)", "HR (BCa 95% CI)") and len(boot.rows) == 2
    assert "(3 replicates, 100-group jackknife" in boot.note
