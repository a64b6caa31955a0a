"""The comparison table: every published figure of the targets file beside the value of this run.

The targets file (``[report] targets`` of the study) lists blocks ``[[compare]]``, each naming
an analysis id (or ``cohort``), a ``kind`` and ``items``; every item has a selector and the
published value ``paper``. One small function per kind reads our value from the analysis
record; nothing is estimated here. For a hazard ratio the last column says whether our
estimate (rounded to 2 decimals, as printed) lies inside the published 95% CI.

Kinds and their selectors:

- ``count`` (analysis ``cohort``): ``flow = "start" | "final" | STEP_ID`` (rows excluded at
  that step) or ``group = LEVEL`` (patients in an exposure group).
- ``cell`` (a summary table): ``variable``, ``level``; ``paper`` is the overall count or the
  list [overall, each group in the table's order].
- ``p_value`` (a summary table): ``variable``.
- ``km_median`` (a km analysis): ``group``; ``km_landmark``: ``group``, ``time`` (paper in %).
- ``hr`` (a cox, iptw or matching analysis): ``term``; paper ``[hr, low, high, p]``.
- ``matched_per_arm`` (a matching analysis): paper = patients per arm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from regsurv.report.document import Table
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_num, fmt_p, is_missing
from regsurv.report.suppression import TOTAL, count, flow_count, flow_excluded, match_cell, size

_HEADER = ("Quantity", "Paper", "Ours", "Within paper CI")
Row = tuple[str, str, str, str]


def _count(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    flow = results.flow
    if "group" in item:
        ours: Any = results.group_counts.get(item["group"], 0)
        name = f"Patients: {item['group']}"
        cell = size(str(results.spec.cohort.exposure_group), item["group"])
    elif item["flow"] in ("start", "final"):
        ours = flow.n_start if item["flow"] == "start" else flow.n_final
        name = "PUF records" if item["flow"] == "start" else "Included"
        cell = flow_count(0) if item["flow"] == "start" or not flow.steps else TOTAL
    else:
        k, step = next(
            ((k, st) for k, st in enumerate(flow.steps, 1) if st.id == item["flow"]), (0, None)
        )
        ours = None if step is None else step.n_excluded
        name = f"Excluded at {item['flow']}" if step is None else f"{step.label} (excluded)"
        cell = flow_excluded(k)
    shown = "—" if ours is None else sup.cell(cell, ours)
    return (item.get("label", name), str(item["paper"]), shown, "")


def _cell(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    table = record.table
    variable, level, paper = item["variable"], item["level"], item["paper"]
    rows = table.rows.filter((pl.col("variable") == variable) & (pl.col("level") == level))
    by_group = dict(zip(rows["group"].to_list(), rows["n"].to_list(), strict=True))
    groups = ["Overall", *table.groups] if isinstance(paper, list) else ["Overall"]
    ours = [by_group.get(g) for g in groups]
    lv = None if rows.height and bool(rows["is_missing"].any()) else level
    cells = [count(None if g == "Overall" else table.group, g, variable, lv) for g in groups]
    name = f"{record.spec.id} {variable} = {level} ({' / '.join(groups)})"
    values = paper if isinstance(paper, list) else [paper]
    return (
        item.get("label", name),
        " / ".join(str(v) for v in values),
        " / ".join("—" if v is None else sup.cell(c, v) for v, c in zip(ours, cells, strict=True)),
        "",
    )


def _p_value(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    test = record.table.tests.filter(pl.col("variable") == item["variable"])
    p = test["p_value"][0] if test.height else None
    name = f"{record.spec.id} {item['variable']}: p-value"
    return (item.get("label", name), str(item["paper"]), fmt_p(p), "")


def _km_row(record: Any, item: dict[str, Any], sup: Suppressor, what: str) -> float | None:
    group = item["group"]
    if group in sup.hidden_groups(record.median):
        return None
    if what == "median":
        row = record.median.filter(pl.col("group") == group)
        return None if row.height == 0 else row["median"][0]
    lm = record.landmarks
    row = lm.filter((pl.col("group") == group) & (pl.col("time") == float(item["time"])))
    return None if row.height == 0 or is_missing(row["estimate"][0]) else 100 * row["estimate"][0]


def _fmt_ours(value: float | None) -> str:
    return "NA" if value is None or is_missing(value) else f"{value:.1f}"


def _km_median(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    name = f"{item['group']}: median OS, years"
    ours = _km_row(record, item, sup, "median")
    return (item.get("label", name), f"{item['paper']:g}", _fmt_ours(ours), "")


def _km_landmark(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    name = f"{item['group']}: {item['time']:g}-year OS, %"
    ours = _km_row(record, item, sup, "landmark")
    return (item.get("label", name), f"{item['paper']:g}", _fmt_ours(ours), "")


def _cox_of(record: Any) -> Any:
    """The Cox fit of a cox, iptw or matching analysis."""
    return record.model if record.kind == "cox" else record.survival.cox


def _hr(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    terms = {r["term"]: r for r in _cox_of(record).to_frame().iter_rows(named=True)}
    ours = terms.get(item["term"])
    hr, lo, hi = item["paper"][:3]
    name = item.get("label", f"{record.spec.id} HR {item['term']}")
    paper_text = fmt_estimate_ci(hr, lo, hi) if not is_missing(lo) else fmt_num(hr)
    if ours is None:
        return (name, paper_text, "not estimated", "—")
    within = "—"
    if not is_missing(lo) and not is_missing(hi):
        within = "yes" if lo <= round(ours["hr"], 2) <= hi else "no"
    ours_text = fmt_estimate_ci(ours["hr"], ours["hr_conf_low"], ours["hr_conf_high"])
    return (name, paper_text, ours_text, within)


def _matched_per_arm(results: Any, record: Any, item: dict[str, Any], sup: Suppressor) -> Row:
    per_arm = record.matching.n_matched()
    name = item.get("label", f"{record.spec.id}: patients per arm")
    shown = " / ".join(
        sup.cell(match_cell(record.spec.id, "matched", g), n) for g, n in per_arm.items()
    )
    return (name, str(item["paper"]), shown, "")


COMPARISONS: dict[str, Callable[[Any, Any, dict[str, Any], Suppressor], Row]] = {
    "count": _count,
    "cell": _cell,
    "p_value": _p_value,
    "km_median": _km_median,
    "km_landmark": _km_landmark,
    "hr": _hr,
    "matched_per_arm": _matched_per_arm,
}


def _block_rows(results: Any, block: dict[str, Any], sup: Suppressor) -> list[Row]:
    analysis = block["analysis"]
    record = None if analysis == "cohort" else results.analyses.get(analysis)
    if analysis != "cohort" and (record is None or record.failed):
        why = "not run" if record is None else "not computed"
        return [(f"{analysis}: {len(block['items'])} figure(s)", "", why, "—")]
    compare = COMPARISONS[block["kind"]]
    return [compare(results, record, item, sup) for item in block["items"]]


def paper_comparison(results: Any, targets: dict[str, Any], sup: Suppressor) -> Table:
    """One row per published figure of `targets`, in the file's order."""
    rows: list[Row] = []
    for block in targets.get("compare", ()):
        rows += _block_rows(results, block, sup)
    within = [r for r in rows if r[-1] in ("yes", "no")]
    n_yes = sum(r[-1] == "yes" for r in within)
    note = (
        f"Hazard ratios: {n_yes} of {len(within)} inside the published 95% CI (ours rounded "
        "to 2 decimals as printed). Counts of a table: overall, then each group in the "
        "table's order. " + str(targets.get("note", ""))
    ).strip()
    tidy = pl.DataFrame(rows, schema=list(_HEADER), orient="row")
    return Table(
        key="paper_comparison",
        title="Published figures and this run",
        header=_HEADER,
        rows=tuple(rows),
        note=note,
        tidy=tidy,
    )
