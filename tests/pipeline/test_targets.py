"""The comparison blocks of the sarcoma targets file repeat the transcribed figures exactly."""

from __future__ import annotations

from regsurv.studies import load_targets


def _items(targets, analysis, kind):
    block = next(b for b in targets["compare"] if (b["analysis"], b["kind"]) == (analysis, kind))
    return block["items"]


def test_compare_blocks_agree_with_the_transcribed_figures():
    t = load_targets()
    rename = {"tumor_size_cm": "tumor_size", "surgical_margins": "margins"}
    for table in ("table1", "table2"):
        cells = {(i["variable"], i["level"]): i["paper"] for i in _items(t, table, "cell")}
        p_values = {i["variable"]: i["paper"] for i in _items(t, table, "p_value")}
        for variable, levels in t[table].items():
            for level, value in levels.items():
                if variable == "lymph_nodes":
                    assert cells[(f"nodes_{level}", "Yes")] == value
                elif level == "p":
                    assert p_values[rename.get(variable, variable)] == value
                else:
                    key = (
                        rename.get(variable, variable),
                        "Missing" if level == "missing_all" else level,
                    )
                    assert cells[key] == value
    hr = {i["term"]: i["paper"] for i in _items(t, "table3", "hr")}
    assert len(hr) == len(t["table3"]) - 1
    assert hr["treatment:Metastasectomy"] == t["table3"]["treatment:Metastasectomy"]
    iptw = {i["term"]: i["paper"] for i in _items(t, "iptw", "hr")}
    assert iptw["treatment:Metastasectomy"] == t["propensity"]["iptw:Metastasectomy"]
    medians = {i["group"]: i["paper"] for i in _items(t, "fig2b", "km_median")}
    assert medians == {g: v["median_os_years"] for g, v in t["survival"]["groups3"].items()}
    counts = {i.get("group", i.get("flow")): i["paper"] for i in _items(t, "cohort", "count")}
    assert (
        counts["start"] == t["cohort"]["puf_cases"] and counts["final"] == t["cohort"]["included"]
    )
    assert [counts[g] for g in t["groups"]["order"]] == t["groups"]["n"]
