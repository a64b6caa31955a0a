"""The time analyses' sections of the default report: flow, timing, both models side by
side with the plain-words note, landmark summaries with their curves, results.json entries."""

from __future__ import annotations

import json
import re

from regsurv.report.sections_time import difference_note


def test_default_run_has_the_time_sections(study_run):
    results, out = study_run
    html = (out / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for section in ("tv_cox", "landmark_m"):
        assert f'id="{section}"' in html
        assert not results.analyses[section].failed
    assert "Time-varying HR (95% CI)" in text and "When each treatment starts" in text
    tv = results.analyses["tv_cox"]
    assert difference_note(tv).split(" Start times")[0] in text
    for r in tv.comparison.iter_rows(named=True):
        word = "differ" if r["differs"] else "agree"
        assert re.search(rf"{r['term']}: the naive HR [^:]* {word} \(", text), r["term"]
    assert "Died or censored by the landmark L = 0.25 years" in text
    for at in ("0_25", "0_5"):
        assert (out / "figures" / f"km_landmark_m_{at}.png").exists()
    for table in ("tv_cox", "tv_cox_flow", "tv_cox_timing", "landmark_m", "landmark_m_flow"):
        assert (out / "tables" / f"{table}.csv").exists()


def test_results_json_holds_both_models_and_the_flow(study_run):
    results, out = study_run
    entry = json.loads((out / "results.json").read_text(encoding="utf-8"))["analyses"]
    tv = entry["tv_cox"]
    assert tv["kind"] == "time_varying_cox" and tv["days_per_unit"] == 365.25
    assert tv["naive"]["n_obs"] == tv["flow"]["n_final"] == tv["split"]["n_subjects"]
    assert tv["time_varying"]["n_obs"] == tv["split"]["n_obs"] > tv["split"]["n_subjects"]
    assert [c["term"] for c in tv["comparison"]] == ["M", "C", "R"]
    steps = tv["flow"]["steps"]
    assert steps[0]["n_before"] == results.cohort.height
    assert sum(s["n_excluded"] for s in steps) + tv["flow"]["n_final"] == results.cohort.height
    lm = entry["landmark_m"]
    assert [x["at"] for x in lm["landmarks"]] == [0.25, 0.5]
    for x in lm["landmarks"]:
        assert sum(r["n_obs"] for r in x["summary"]) == x["landmark"]["n_obs"]
        assert x["cox"]["n_obs"] == x["landmark"]["n_obs"]
