"""Report sections of the sensitivity kinds (`regsurv.pipeline.analyses_sensitivity`): the
E-value table, the RMST table and the complete-case versus multiple-imputation table, each
with its ``results.json`` writer and its count cells; added to `regsurv.report.build.RENDERERS`
on import.

Nothing is computed here. Counts (patients per group, events up to tau, rows left out, missing
values per imputed column) go through the suppressor under the cell names of
`regsurv.report.suppression`; an estimate of a group whose size is hidden is not shown (it
would reveal the size, as a survival proportion would).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.report.build import RENDERERS, RenderContext, Renderer, _label, _variable_labels
from regsurv.report.document import Section, Table, add_warnings
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_num, fmt_p
from regsurv.report.results_json import _plain
from regsurv.report.suppression import (
    NONMISSING,
    TOTAL,
    CountTable,
    _add,
    _try_sum,
    count,
    cox_cell,
    ps_cell,
    size,
)
from regsurv.report.suppression import events as km_events

#: the study file's "unweighted" block (`pipeline.analyses_sensitivity.UNWEIGHTED`; the report
#: does not import the pipeline)
UNWEIGHTED = "unweighted"


def _term_label(term: str, labels: dict[str, str]) -> str:
    """``column:level`` as ``Label: level``."""
    column, _, level = term.partition(":")
    return f"{_label(column, labels)}: {level}" if level else term


def _source_cells(kind: str, analysis_id: str) -> tuple[Any, Any]:
    """Cells of the N and the events of a linked cox or iptw analysis."""
    cell = cox_cell if kind == "cox" else ps_cell
    return cell(analysis_id, "n"), cell(analysis_id, "events")


# -- evalue --------------------------------------------------------------------------------------


def _evalue_scale(a: Any, link: str, sup: Suppressor) -> str:
    """How the HR became a risk ratio; the event proportion only when its counts are shown."""
    ev = a.evalues[link]
    kind, _, n, events = a.sources[link]
    n_cell, events_cell = _source_cells(kind, link)
    hidden = sup.active and (sup.cell_hidden(n_cell, n) or sup.cell_hidden(events_cell, events))
    shown = "hidden with its counts" if hidden else f"{ev.event_proportion:.1%}"
    rule = ">" if ev.outcome == "common" else "<="
    why = (
        "as set in the study file"
        if a.spec.outcome != "auto"
        else f"event proportion {shown} {rule} {a.spec.threshold:.0%}"
    )
    conversion = "RR = HR" if ev.outcome == "rare" else "RR = (1 − 0.5^√HR) / (1 − 0.5^√(1/HR))"
    return f"{link}: {ev.outcome} outcome ({why}), {conversion}"


def _render_evalue(s: Section, a: Any, ctx: RenderContext) -> None:
    labels = _variable_labels(ctx.results)
    rows, tidy = [], []
    for link, ev in a.evalues.items():
        frame = ev.to_frame()
        for j, r in enumerate(frame.iter_rows(named=True)):
            rows.append(
                (
                    a.sources[link][1] if j == 0 else "",
                    _term_label(r["term"], labels),
                    fmt_estimate_ci(r["hazard_ratio"], r["conf_low"], r["conf_high"]),
                    fmt_estimate_ci(r["risk_ratio"], r["rr_conf_low"], r["rr_conf_high"]),
                    fmt_num(r["evalue"], 2),
                    fmt_num(r["evalue_conf"], 2),
                )
            )
        tidy.append(
            frame.with_columns(
                analysis=pl.lit(link), outcome=pl.lit(ev.outcome), threshold=pl.lit(ev.threshold)
            )
        )
    scales = "; ".join(_evalue_scale(a, link, ctx.sup) for link in a.evalues)
    s.add(
        Table(
            key=a.spec.id,
            title=a.spec.title,
            header=("Analysis", "Term", "HR (95% CI)", "RR (95% CI)", "E-value", "E-value (CI)"),
            rows=tuple(rows),
            tidy=pl.concat(tidy, how="diagonal"),
            note=(
                "E-value: the minimum strength of association (risk-ratio scale) an unmeasured "
                "confounder would need with both treatment and outcome to explain the hazard "
                "ratio away; E-value (CI): the same for the CI limit nearer 1, 1 when the CI "
                "includes 1 (VanderWeele & Ding 2017). HR to RR: " + scales + "."
            ),
        )
    )
    add_warnings(s, *a.evalues.values())


def evalue_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    out = {link: ev.to_dict() for link, ev in a.evalues.items()}
    for link, entry in out.items():
        kind, _, n, events = a.sources[link]
        n_cell, events_cell = _source_cells(kind, link)
        if sup.active and (sup.cell_hidden(n_cell, n) or sup.cell_hidden(events_cell, events)):
            entry["event_proportion"] = None
            entry["method"] = entry["method"].split(";")[0]
    return {"of": list(a.spec.of), "evalues": out}


def evalue_cells(t: CountTable, a: Any, results: Any) -> None:
    """No counts of its own: the event proportion is printed only when the linked analysis's
    N and events are published (registered here under the linked analysis's cells)."""
    for link, (kind, _, n, events) in a.sources.items():
        n_cell, events_cell = _source_cells(kind, link)
        _add(t, n_cell, n, ("evalue", a.spec.id, link, "n"))
        _add(t, events_cell, events, ("evalue", a.spec.id, link, "events"))


# -- rmst ----------------------------------------------------------------------------------------


def _rmst_rows(a: Any, weighting: str, sup: Suppressor) -> tuple[list[tuple[str, ...]], list]:
    result = a.results[weighting]
    frame, contrasts = result.to_frame(), result.contrasts()
    k = len(result.groups) - 1
    sample = "Unweighted" if weighting == UNWEIGHTED else f"IPTW ({weighting})"
    rows, hidden = [], []
    for j, r in enumerate(frame.iter_rows(named=True)):
        n_cell = size(a.spec.group, r["group"])
        hide = sup.cell_hidden(n_cell, r["n_obs"])
        ref = sup.cell_hidden(size(a.spec.group, result.groups[0]), frame["n_obs"][0])
        hidden.append(hide)
        se = r["robust_std_error"] if result.robust else r["std_error"]
        events = (
            sup.cell(km_events(a.spec.group, r["group"]), r["n_events"])
            if not result.weighted
            else "—"
        )
        diff = ratio = p = "reference" if j == 0 else ""
        if j > 0:
            d, q = contrasts.row(j - 1, named=True), contrasts.row(k + j - 1, named=True)
            masked = hide or ref
            diff = "—" if masked else fmt_estimate_ci(d["estimate"], d["conf_low"], d["conf_high"])
            ratio = "—" if masked else fmt_estimate_ci(q["estimate"], q["conf_low"], q["conf_high"])
            p = "—" if masked else fmt_p(d["p_value"])
        rmst_text = "—" if hide else f"{fmt_num(r['estimate'], 2)} ({fmt_num(se, 2)})"
        rows.append((sample, r["group"], sup.cell(n_cell, r["n_obs"]), events, rmst_text, diff,
                     ratio, p))  # fmt: skip
    return rows, hidden


def _rmst_tidy(a: Any, weighting: str, hidden: list[bool], sup: Suppressor) -> pl.DataFrame:
    result = a.results[weighting]
    frame = result.to_frame().with_columns(weighting=pl.lit(weighting), tau=pl.lit(result.tau))
    if result.weighted:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("n_events"))
    names = [size(a.spec.group, g) for g in frame["group"]]
    counted = [km_events(a.spec.group, g) for g in frame["group"]]
    cells = {"n_obs": names} | ({} if result.weighted else {"n_events": counted})
    flags = {c: hidden for c in ("estimate", "std_error", "robust_std_error")}
    return sup.mask_frame(frame, cells, flags)


def _render_rmst(s: Section, a: Any, ctx: RenderContext) -> None:
    rows, tidy = [], []
    for weighting in a.results:
        block, hidden = _rmst_rows(a, weighting, ctx.sup)
        rows += block
        tidy.append(_rmst_tidy(a, weighting, hidden, ctx.sup))
    se = {r.robust for r in a.results.values()}
    s.add(
        Table(
            key=a.spec.id,
            title=a.spec.title,
            header=(
                "Sample",
                "Group",
                "N",
                "Events to τ",
                "RMST (SE)",
                "Difference (95% CI)",
                "Ratio (95% CI)",
                "p-value",
            ),
            rows=tuple(rows),
            tidy=pl.concat(tidy, how="diagonal_relaxed"),
            note=(
                f"Restricted mean survival time up to τ = {fmt_num(a.tau, 2)} "
                f"({a.time_label.lower()}): the area under the Kaplan–Meier curve on [0, τ]; "
                f"τ = {a.tau_rule}. Differences and ratios against the first group, normal "
                "95% CIs (ratio on the log scale). SE: "
                + (
                    "survmean (unweighted), infinitesimal jackknife (IPTW, accounting for the "
                    "weights)"
                    if se == {True, False}
                    else ("infinitesimal jackknife" if True in se else "survmean")
                )
                + ". IPTW events are weighted sums and are not shown."
            ),
        )
    )
    add_warnings(s, *a.results.values())


def rmst_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    out = {
        "tau": a.tau,
        "tau_rule": a.tau_rule,
        "results": {w: r.to_dict() for w, r in a.results.items()},
    }
    if sup.mask is None:
        return out
    out = _plain(out)
    for weighting, entry in out["results"].items():
        groups = entry["groups"]
        hidden = []
        for j, g in enumerate(groups["group"]):
            n_cell = size(a.spec.group, g)
            hidden.append(sup.cell_hidden(n_cell, groups["n_obs"][j]))
            groups["n_obs"][j] = sup.cell_value(n_cell, groups["n_obs"][j])
            event_cell = km_events(a.spec.group, g)
            weighted = a.results[weighting].weighted
            groups["n_events"][j] = (
                None if weighted else sup.cell_value(event_cell, groups["n_events"][j])
            )
        for column in ("estimate", "std_error", "robust_std_error"):
            groups[column] = [None if h else v for v, h in zip(groups[column], hidden, strict=True)]
        if any(hidden):
            entry["contrasts"] = None  # a contrast with a hidden group would reveal its size
    return out


def rmst_cells(t: CountTable, a: Any, results: Any) -> None:
    """Per group: N (the cohort's group size, or the iptw analysis's arm) and, unweighted,
    the events up to tau (the Kaplan–Meier events of the group when none come after tau, so
    that one count has one cell), with the latent rest of the group."""
    for weighting, result in a.results.items():
        ns = []
        for g, n, n_events in zip(result.groups, result.n_obs, result.n_events, strict=True):
            fallback = ("rmst_n", a.spec.id, weighting, g)
            if weighting != UNWEIGHTED:
                fallback = ps_cell(weighting, "n", g)
            n_cell = _add(t, size(a.spec.group, g), n, fallback)
            ns.append(n_cell)
            if not result.weighted:  # the KM events when none come after tau
                ev = _add(t, km_events(a.spec.group, g), n_events, ("rmst_events", a.spec.id, g))
                if ("rmst_rest", a.spec.id, g) not in t.values:
                    t.add_difference(n_cell, ev, ("rmst_rest", a.spec.id, g))
        whole = (
            count(None, None, a.spec.group, NONMISSING)
            if weighting == UNWEIGHTED
            else ps_cell(weighting, "n")
        )
        if whole in t.values:
            _try_sum(t, whole, ns)
        else:
            _try_sum(t, TOTAL, ns)


# -- imputation ----------------------------------------------------------------------------------


def _imputation_note(a: Any, sup: Suppressor) -> str:
    imp = a.imputations
    missing = ", ".join(
        f"{c} {sup.cell(count(None, None, c, None), imp.n_missing[c])}" for c in imp.imputed
    )
    return (
        f"Multiple imputation: {sup.cell(('mi', a.spec.id, 'n'), a.n_obs)} patients "
        f"({sup.cell(('mi', a.spec.id, 'dropped'), a.n_dropped)} without the outcome or an "
        f"exposure left out), m = {imp.m} completed data sets, {imp.max_iter} cycles of chained "
        f"equations (seed {a.spec.random_state if a.spec.random_state is not None else 'study'})"
        f"; missing values imputed: {missing or 'none'}. {imp.method}. Each model (for IPTW the "
        "propensity model, the weights and the weighted Cox model) is refitted in every "
        "completed set and pooled by Rubin's rules (Barnard–Rubin df, t-based 95% CI); complete "
        "cases: the linked analysis's own fit (Wald CI; robust SE for IPTW). FMI: fraction of "
        "missing information."
    )


def _render_imputation(s: Section, a: Any, ctx: RenderContext) -> None:
    labels = _variable_labels(ctx.results)
    rows, tidy = [], []
    for link, terms in a.terms.items():
        cc, mi = a.complete_case[link].to_frame(), a.pooled[link].to_frame()
        mi_hr = a.pooled[link].hazard_ratios()
        title = ctx.results.spec.analysis(link).title
        for j, term in enumerate(terms):
            c = cc.row(cc["term"].to_list().index(term), named=True)
            m = mi.row(mi["term"].to_list().index(term), named=True)
            h = mi_hr.row(mi_hr["term"].to_list().index(term), named=True)
            rows.append(
                (
                    title if j == 0 else "",
                    _term_label(term, labels),
                    fmt_estimate_ci(c["hr"], c["hr_conf_low"], c["hr_conf_high"]),
                    fmt_estimate_ci(h["hr"], h["hr_conf_low"], h["hr_conf_high"]),
                    fmt_p(m["p_value"]),
                    fmt_num(m["fmi"], 3),
                )
            )
        tidy.append(
            cc.select("term", cc_hr="hr", cc_conf_low="hr_conf_low", cc_conf_high="hr_conf_high")
            .join(mi, on="term")
            .with_columns(analysis=pl.lit(link))
        )
    s.add(
        Table(
            key=a.spec.id,
            title=a.spec.title,
            header=(
                "Analysis",
                "Term",
                "Complete cases HR (95% CI)",
                "Multiple imputation HR (95% CI)",
                "p-value (MI)",
                "FMI",
            ),
            rows=tuple(rows),
            tidy=pl.concat(tidy, how="diagonal").drop("dfcom"),
            note=_imputation_note(a, ctx.sup),
        )
    )
    add_warnings(s, a.imputations, *a.pooled.values())


def imputation_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    imp = a.imputations.to_dict()
    pooled = {link: p.to_dict() for link, p in a.pooled.items()}
    out = {"n_obs": a.n_obs, "n_dropped": a.n_dropped, "imputations": imp, "pooled": pooled}
    if sup.mask is None:
        return out
    out = _plain(out)
    i = a.spec.id
    out["n_obs"] = sup.cell_value(("mi", i, "n"), a.n_obs)
    out["n_dropped"] = sup.cell_value(("mi", i, "dropped"), a.n_dropped)
    imp = out["imputations"]
    imp["n_obs"] = out["n_obs"]
    imp["n_complete_rows"] = None  # not printed: the rows complete in every imputed column
    imp["n_missing"] = {
        c: sup.cell_value(count(None, None, c, None), n) for c, n in imp["n_missing"].items()
    }
    for entry in out["pooled"].values():  # dfcom = events - p of the first completed set
        entry["dfcom"] = None
        entry["coefficients"].pop("dfcom", None)
    return out


def imputation_cells(t: CountTable, a: Any, results: Any) -> None:
    """Patients used and left out (summing to the cohort) and each imputed column's missing
    values (the Missing row of Table 1 when the rows are the whole cohort), with the latent
    observed rest."""
    i = a.spec.id
    n = t.cell(("mi", i, "n"), a.n_obs)
    _try_sum(t, TOTAL, [n, t.cell(("mi", i, "dropped"), a.n_dropped)])
    for c, k in a.imputations.n_missing.items():
        missing = _add(t, count(None, None, c, None), k, ("mi", i, "missing", c))
        t.add_difference(n, missing, ("mi", i, "observed", c))


SENSITIVITY_RENDERERS: dict[str, Renderer] = {
    "evalue": Renderer(_render_evalue, evalue_json, evalue_cells),
    "rmst": Renderer(_render_rmst, rmst_json, rmst_cells),
    "imputation": Renderer(_render_imputation, imputation_json, imputation_cells),
}
RENDERERS.update(SENSITIVITY_RENDERERS)
