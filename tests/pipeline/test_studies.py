"""Studies are data: the second shipped study, a third one written here from scratch, the starter
of `regsurv init`, and `--only` / `--strict`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.pipeline.runner import run_study
from regsurv.studies import available_studies, study_path

THIRD_STUDY = """
[study]
name = "radiation_third"
title = "Radiation of the primary in metastatic extremity sarcoma"

[cohort.definitions]
extremity = { field = "PRIMARY_SITE", in = ["C491", "C492"] }
radiation_given = { field = "RX_SUMM_RADIATION", in = ["1", "2", "3", "4", "5"] }

[cohort.flags]
RT = { use = "radiation_given" }

[cohort.groups.radiation]
label = "Radiation"
reference = "No radiation"
levels = [
    { label = "No radiation", when = { RT = false } },
    { label = "Radiation", when = { RT = true } },
]

[cohort.bands.age60]
label = "Age"
reference = "<=60"
levels = [
    { label = "<=60", where = { field = "AGE", le = 60 } },
    { label = ">60", where = { field = "AGE", ge = 61 } },
]

[[cohort.criteria]]
id = "site"
label = "Not an extremity soft-tissue primary"
where = { use = "extremity" }

[[cohort.criteria]]
id = "sarcoma"
label = "Not a malignant sarcoma histology"
where = { all_of = [
    { field = "BEHAVIOR", in = ["3"] },
    { field = "HISTOLOGY", in_recode = "histology" },
] }

[[cohort.criteria]]
id = "stage_iv"
label = "Not stage IV"
where = { field = "ANALYTIC_STAGE_GROUP", in = ["4"] }

[[cohort.criteria]]
id = "adult"
label = "Under 18"
where = { field = "AGE", ge = 18 }

[[cohort.criteria]]
id = "survival"
label = "Incomplete survival data"
where = { all_of = [
    { field = "PUF_VITAL_STATUS", in = ["0", "1"] },
    { field = "DX_LASTCONTACT_DEATH_MONTHS", ge = 0 },
] }

[[analyses]]
kind = "summary_table"
id = "t1"
title = "Characteristics by radiation"
group = "radiation"
rows = [{ column = "age60" }, { column = "sex" }, { column = "facility_type" }]

[[analyses]]
kind = "km"
id = "os"
title = "Overall survival by radiation"
group = "radiation"
table = "os_table"
table_title = "Median and 1-, 2-, 5-year survival"

[[analyses]]
kind = "cox"
id = "adjusted"
title = "Adjusted hazard ratios"
covariates = ["radiation", "age60", "sex"]
reference = { radiation = "No radiation" }

[[analyses]]
kind = "iptw"
id = "weighted"
title = "IPTW"
treatment = "radiation"
covariates = ["age60", "sex"]

[report]
title = "Radiation (a study written from scratch)"
"""


@pytest.mark.slow
def test_third_study_from_scratch_runs_end_to_end(tmp_path):
    study = tmp_path / "third.toml"
    study.write_text(THIRD_STUDY, encoding="utf-8")
    results = run_study(study=study, out_dir=tmp_path / "report")
    assert results.errors == {}
    assert list(results.group_counts) == ["No radiation", "Radiation"]
    flow_ids = [s.id for s in results.flow.steps]
    assert flow_ids == ["site", "sarcoma", "stage_iv", "adult", "survival", "radiation_assigned"]
    t1 = results.analyses["t1"].table
    assert t1.groups == ("No radiation", "Radiation") and t1.variables == (
        "age60",
        "sex",
        "facility_type",
    )
    assert results.analyses["adjusted"].model.terms[0] == "radiation:Radiation"
    assert list(results.analyses["weighted"].model.classes_) == ["No radiation", "Radiation"]
    r = json.loads((tmp_path / "report" / "results.json").read_text())
    assert [a["kind"] for a in r["analyses"].values()] == ["summary_table", "km", "cox", "iptw"]
    for name in ("t1", "os_table", "adjusted", "weighted_cox"):
        assert (tmp_path / "report" / "tables" / f"{name}.csv").is_file(), name


@pytest.mark.slow
def test_second_study_via_init_runs_as_is(tmp_path):
    """`regsurv init` writes the two-arm starter (the shipped second study); it runs as is."""
    assert "sts_chemotherapy" in available_studies()
    folder = tmp_path / "mine"
    result = CliRunner().invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    study = folder / "study.toml"
    assert study.read_text() == study_path("sts_chemotherapy").read_text()
    assert "| Key | Meaning | Example |" in (folder / "README.md").read_text()
    assert CliRunner().invoke(app, ["init", str(folder)]).exit_code == 5  # never overwrites
    out = folder / "report"
    result = CliRunner().invoke(app, ["run", "--study", str(study), "--out", str(out), "--strict"])
    assert result.exit_code == 0, result.output
    r = json.loads((out / "results.json").read_text())
    assert r["errors"] == {}
    assert r["cohort"]["groups"].keys() == {"No chemotherapy", "Chemotherapy"}
    a = r["analyses"]
    assert a["ps_weighting"]["classes"] == ["No chemotherapy", "Chemotherapy"]
    per_arm = a["ps_matching"]["n_matched"]
    assert per_arm["No chemotherapy"] == per_arm["Chemotherapy"] > 100  # 1:1
    assert a["cox_adjusted"]["model"]["ties"] == "efron"  # the study's override of profile sas
    assert not (out / "tables" / "paper_comparison.csv").exists()  # no targets
    assert a["ps_weighting"]["bootstrap"]["n_boot"] == 200
    assert (out / "tables" / "ps_weighting_bootstrap.csv").is_file()


def test_only_computes_the_named_analyses_and_what_they_need(tmp_path):
    results = run_study(out_dir=tmp_path / "o", only=["fig2b", "matching"])
    assert list(results.analyses) == ["fig2b", "iptw", "matched"]
    page = (tmp_path / "o" / "report.html").read_text()
    assert '<section id="fig2b">' in page and '<section id="table3">' not in page


def test_strict_makes_a_failed_analysis_an_error(tmp_path, monkeypatch):
    import regsurv.survival as survival

    def broken(*args, **kwargs):
        raise ValueError("no curve today")

    monkeypatch.setattr(survival, "kaplan_meier", broken)
    args = ["run", "--only", "fig3", "--out", str(tmp_path / "a")]
    lenient = CliRunner().invoke(app, args)
    assert lenient.exit_code == 0 and "fig3 section not computed" in lenient.output
    strict = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 6
