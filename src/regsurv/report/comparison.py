"""The paper-comparison table: every published figure beside the value of this run.

Published figures come from the study's targets file (the paper's numbers as data). Our values
are read from the result objects; nothing is estimated here. For a hazard ratio the last
column says whether our estimate lies inside the paper's 95% confidence interval.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.report.document import Table
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_num, fmt_p, is_missing
from regsurv.report.suppression import TOTAL, count, flow_count, flow_excluded, size

_HEADER = ("Quantity", "Paper", "Ours", "Within paper CI")


def _km_value(km: dict[str, Any] | None, group: str, what: str, sup: Suppressor) -> float | None:
    """Median OS (years) or 5-year OS (%) of `group` from a KM analysis of the run (None when
    the group is too small to show under suppression)."""
    if km is None or group in sup.hidden_groups(km["median"]):
        return None
    if what == "median_os_years":
        row = km["median"].filter(pl.col("group") == group)
        return None if row.height == 0 else row["median"][0]
    row = km["landmarks"].filter((pl.col("group") == group) & (pl.col("time") == 5))
    return None if row.height == 0 or is_missing(row["estimate"][0]) else 100 * row["estimate"][0]


def _cell_counts(table: Any, variable: str, level: str, groups: list[str]) -> list[float | None]:
    rows = table.rows.filter((pl.col("variable") == variable) & (pl.col("level") == level))
    by_group = dict(zip(rows["group"].to_list(), rows["n"].to_list(), strict=True))
    return [by_group.get(g) for g in ["Overall", *groups]]


def _cell_names(table: Any, variable: str, level: str, groups: list[str]) -> list[Any]:
    """The suppression cells of `_cell_counts` (Overall, then `groups`)."""
    if table is None:
        return [None] * (len(groups) + 1)
    rows = table.rows.filter((pl.col("variable") == variable) & (pl.col("level") == level))
    missing = bool(rows["is_missing"].any()) if rows.height else False
    lv = None if missing else level
    return [
        count(None if g == "Overall" else table.group, g, variable, lv)
        for g in ["Overall", *groups]
    ]


def _hr_row(name: str, paper: list[Any], ours: dict[str, Any] | None) -> tuple[str, ...]:
    hr, lo, hi = paper[0], paper[1], paper[2]
    paper_text = fmt_estimate_ci(hr, lo, hi) if not is_missing(lo) else fmt_num(hr)
    if ours is None:
        return (name, paper_text, "not estimated", "—")
    within = "—"
    if not is_missing(lo) and not is_missing(hi):
        within = "yes" if lo <= round(ours["hr"], 2) <= hi else "no"
    return (
        name,
        paper_text,
        fmt_estimate_ci(ours["hr"], ours["hr_conf_low"], ours["hr_conf_high"]),
        within,
    )


def _terms(result: Any) -> dict[str, dict[str, Any]]:
    if result is None:
        return {}
    return {r["term"]: r for r in result.to_frame().iter_rows(named=True)}


def paper_comparison(results: Any, targets: dict[str, Any], sup: Suppressor) -> Table:
    """Rows for the cohort counts, Tables 1–3, survival figures and the propensity analyses."""
    rows: list[tuple[str, ...]] = []
    term_map = results.spec.report.target_terms
    level_map = results.spec.report.target_levels
    flow = results.flow
    cohort_t = targets.get("cohort", {})
    if "puf_cases" in cohort_t:
        rows.append(
            ("PUF records", str(cohort_t["puf_cases"]), sup.cell(flow_count(0), flow.n_start), "")
        )
    if "excluded_stage_iv_without_sp" in cohort_t:
        k, step = next(
            ((k, st) for k, st in enumerate(flow.steps, 1) if st.id == "definitive_surgery"),
            (0, None),
        )
        rows.append(
            (
                "Stage IV without definitive surgery (excluded)",
                str(cohort_t["excluded_stage_iv_without_sp"]),
                "—" if step is None else sup.cell(flow_excluded(k), step.n_excluded),
                "",
            )
        )
    if "included" in cohort_t:
        rows.append(("Included", str(cohort_t["included"]), sup.cell(TOTAL, flow.n_final), ""))

    groups_t = targets.get("groups", {})
    order = list(groups_t.get("order", []))
    counts = results.group_counts
    for g, n in zip(order, groups_t.get("n", []), strict=False):
        rows.append(
            (f"Patients: {g}", str(n), sup.cell(size("treatment", g), counts.get(g, 0)), "")
        )

    for table_key in ("table1", "table2"):
        for target_variable, cells in targets.get(table_key, {}).items():
            variable = term_map.get(target_variable, target_variable)
            summary = next((t for t in results.tables.values() if variable in t.variables), None)
            for level, values in cells.items():
                if isinstance(
                    values, int
                ):  # an overall count, e.g. lymph_nodes.clinically_positive
                    flag = term_map.get(level, level)
                    flag_table = next(
                        (t for t in results.tables.values() if flag in t.variables), None
                    )
                    ours = (
                        None
                        if flag_table is None
                        else _cell_counts(flag_table, flag, "Yes", order)[0]
                    )
                    rows.append(
                        (
                            f"{table_key.replace('table', 'Table ')} {level} (All)",
                            str(values),
                            "—" if ours is None else sup.cell(size(flag, "Yes"), ours),
                            "",
                        )
                    )
                    continue
                if level == "p" or not isinstance(values, list):
                    continue
                ours = (
                    _cell_counts(summary, variable, level, order)
                    if summary is not None
                    else [None] * 4
                )
                rows.append(
                    (
                        f"{table_key.replace('table', 'Table ')} {variable} = {level} "
                        "(All / SP / M / NSA)",
                        " / ".join(str(v) for v in values),
                        " / ".join(
                            "—" if v is None else sup.cell(name, v)
                            for v, name in zip(
                                ours, _cell_names(summary, variable, level, order), strict=False
                            )
                        ),
                        "",
                    )
                )
            if "p" in cells and summary is not None:
                test = summary.tests.filter(pl.col("variable") == variable)
                p = test["p_value"][0] if test.height else None
                rows.append(
                    (
                        f"{table_key.replace('table', 'Table ')} {variable}: p-value",
                        str(cells["p"]),
                        fmt_p(p),
                        "",
                    )
                )

    survival_t = targets.get("survival", {})
    for key, km_id in (("groups3", "fig2b"), ("histology", "fig3")):
        for group, values in survival_t.get(key, {}).items():
            for what, label in (
                ("median_os_years", "median OS, years"),
                ("os5_pct", "5-year OS, %"),
            ):
                if what in values:
                    ours = _km_value(results.km.get(km_id), group, what, sup)
                    rows.append(
                        (
                            f"{group}: {label}",
                            f"{values[what]:g}",
                            "NA" if ours is None or is_missing(ours) else f"{ours:.1f}",
                            "",
                        )
                    )
    for group, values in targets.get("groups8", {}).items():
        for what, label in (("median_os_years", "median OS, years"), ("os5_pct", "5-year OS, %")):
            if what in values:
                ours = _km_value(results.km.get("fig2a"), group, what, sup)
                rows.append(
                    (
                        f"{group}: {label}",
                        f"{values[what]:g}",
                        "NA" if ours is None or is_missing(ours) else f"{ours:.1f}",
                        "",
                    )
                )

    mv = _terms(results.multivariable)
    for term, values in targets.get("table3", {}).items():
        if term == "reference" or not isinstance(values, list):
            continue
        prefix, level = term.split(":", 1)
        ours_term = f"{term_map.get(prefix, prefix)}:{level_map.get(level, level)}"
        rows.append(_hr_row(f"Table 3 HR {term}", values, mv.get(ours_term)))

    prop_t = targets.get("propensity", {})
    iptw = _terms(results.propensity["survival"].cox) if results.propensity else {}
    psm = _terms(results.matching["survival"].cox) if results.matching else {}
    treatment = results.spec.propensity.treatment if results.spec.propensity else "treatment"
    for key, values in prop_t.items():
        if ":" not in key or not isinstance(values, list):
            continue
        kind, group = key.split(":", 1)
        source = iptw if kind == "iptw" else psm
        rows.append(
            _hr_row(f"{kind.upper()} HR {group}", values, source.get(f"{treatment}:{group}"))
        )
    if "psm_patients_per_arm" in prop_t and results.matching:
        per_arm = results.matching["matching"].n_matched()
        rows.append(
            (
                "PSM patients per arm",
                str(prop_t["psm_patients_per_arm"]),
                " / ".join(sup.cell(("match", "matched", g), n) for g, n in per_arm.items()),
                "",
            )
        )

    within = [r for r in rows if r[0].startswith("Table 3 HR") and r[-1] in ("yes", "no")]
    n_yes = sum(r[-1] == "yes" for r in within)
    note = (
        f"Table 3: {n_yes} of {len(within)} hazard ratios inside the paper's 95% CI "
        "(ours rounded to 2 decimals as printed). Counts are per group: All / SP alone / "
        "Metastasectomy / Non-surgical adjuvant therapies. Printed misprints of the paper are "
        "resolved as noted in the targets file."
    )
    tidy = pl.DataFrame(rows, schema=list(_HEADER), orient="row")
    return Table(
        key="paper_comparison",
        title="Published figures and this run",
        header=_HEADER,
        rows=tuple(rows),
        note=note,
        tidy=tidy,
    )
