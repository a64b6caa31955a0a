# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A new study from scratch
#
# A study is one TOML file: the cohort's criteria, the tables, the survival models and the
# report, validated strictly (a typo'd key, an unknown PUF field or a code that is not in the
# data dictionary is an error naming it). This tutorial writes a small new study — stage IV
# extremity sarcoma in patients **over 55** treated with definitive surgery, overall survival
# by treatment group — and runs it from Python and from the command line on the synthetic PUF.

# %%
import subprocess
import sys
import tempfile
from pathlib import Path

from regsurv.pipeline.runner import run_study
from regsurv.pipeline.spec import load_study

workdir = Path(tempfile.mkdtemp())

# %% [markdown]
# ## 1. The study file
#
# `[cohort.definitions]` names the treatment flags every study derives (definitive surgery of
# the primary, metastasectomy, chemotherapy, radiation); `[[cohort.criteria]]` are the
# inclusion steps in order (a row leaves at the first one it fails, and the flow counts it);
# `[tables]`, `[survival]` and `[report]` say what to compute and show. The analysis columns
# (`treatment`, `age_group`, `os_years`, `death`, ...) are listed in *Contracts between
# stages*.

# %%
study_text = """
[study]
name = "older_adults"
title = "Stage IV extremity sarcoma after 55: overall survival by treatment"

[cohort.definitions]
definitive_surgery = { field = "RX_SUMM_SURG_PRIM_SITE", in = ["25", "26", "30", "40", "41", "42", "50", "51", "52", "53", "54"] }
metastasectomy = { field = "RX_SUMM_SURG_OTH_REGDIS", in = ["1", "2", "3", "4", "5"] }
chemotherapy = { field = "RX_SUMM_CHEMO", in = ["01", "02", "03"] }
radiation_given = { field = "RX_SUMM_RADIATION", in = ["1", "2", "3", "4", "5"] }

[[cohort.criteria]]
id = "extremity_site"
label = "Primary site not soft tissue of the extremity"
where = { field = "PRIMARY_SITE", in = ["C491", "C492"] }

[[cohort.criteria]]
id = "sarcoma_histology"
label = "Not a malignant soft-tissue sarcoma histology"
where = { all_of = [{ field = "BEHAVIOR", in = ["3"] }, { field = "HISTOLOGY", in_recode = "histology" }] }

[[cohort.criteria]]
id = "older_adult"
label = "Age 55 or under, or unknown"
where = { field = "AGE", between = [56, 120] }

[[cohort.criteria]]
id = "stage_iv"
label = "Not stage IV"
where = { field = "ANALYTIC_STAGE_GROUP", in = ["4"] }

[[cohort.criteria]]
id = "definitive_surgery"
label = "No definitive surgery of the primary"
where = { use = "definitive_surgery" }

[[cohort.criteria]]
id = "complete_survival"
label = "Incomplete survival data"
where = { all_of = [{ field = "DX_LASTCONTACT_DEATH_MONTHS", ge = 0 }, { field = "PUF_VITAL_STATUS", in = ["0", "1"] }] }

[tables]
group = "treatment"
categorical_test = "chisq"

[[tables.tables]]
id = "table1"
title = "Patient characteristics"
rows = [
    { column = "sex", label = "Sex" },
    { column = "race", label = "Race" },
    { column = "charlson_deyo", label = "Charlson-Deyo score" },
]

[survival]
landmarks = [1, 2]
at_risk_times = [0, 1, 2, 3, 4, 5]

[[survival.curves]]
id = "os_by_treatment"
title = "Overall survival by treatment group"
group = "treatment"
table = "os_table"
table_title = "Overall survival by treatment group"

[survival.univariable]
covariates = ["treatment", "sex"]
reference = { treatment = "SP alone", sex = "Female" }

[survival.multivariable]
covariates = ["treatment", "sex", "charlson_deyo"]
reference = { treatment = "SP alone", sex = "Female", charlson_deyo = "0" }

[propensity]
treatment = "treatment"
covariates = ["sex", "race", "charlson_deyo", "year_group"]

[matching]
method = "rassen"
caliper = 0.2
survival_reference = "SP alone"

[report]
title = "Stage IV extremity sarcoma after 55"
"""
study_file = workdir / "older_adults.toml"
study_file.write_text(study_text, encoding="utf-8")
spec = load_study(study_file)  # validates every key, field and code
[c.id for c in spec.cohort.criteria]

# %% [markdown]
# A mistake is one line naming the key. Here a field name with a typo:

# %%
bad_file = workdir / "typo.toml"
bad_file.write_text(study_text.replace('field = "AGE"', 'field = "AGEE"'), encoding="utf-8")
try:
    load_study(bad_file)
except ValueError as error:
    print(error)

# %% [markdown]
# ## 2. Run it from Python
#
# `run_study` runs every stage and writes the report. Without `data=` it uses the synthetic
# PUF (generated once and cached); with a real PUF pass `data=Path("NCDBPUF_....dat")`.
# A step that fails (say, a model that cannot be fitted on a small cohort) is named in
# `results.errors` and in the report, without stopping the others.

# %%
results = run_study(study=study_file, out_dir=workdir / "report_py", profile="sas")
print(results.errors)
results.flow.to_frame().select("id", "n_before", "n_excluded", "n_after")

# %%
results.km["os_by_treatment"]["median"]

# %%
results.multivariable.to_frame().select("term", "hr", "hr_conf_low", "hr_conf_high", "p_value")

# %%
results.propensity["balance"].to_frame().select("variable", "level", "smd_before", "smd_after")

# %%
sorted(p.name for p in (workdir / "report_py").iterdir())

# %% [markdown]
# ## 3. Run it from the command line
#
# The same study, profile `r` (R `survival`'s defaults: Efron ties, log intervals):
#
# ```bash
# regsurv run --study older_adults.toml --profile r --out report_r
# ```

# %%
completed = subprocess.run(
    [
        sys.executable,
        "-m",
        "regsurv.cli",
        "run",
        "--study",
        str(study_file),
        "--profile",
        "r",
        "--out",
        str(workdir / "report_r"),
    ],
    capture_output=True,
    text=True,
    check=False,
)
print(completed.returncode)
print(completed.stdout[-800:])
