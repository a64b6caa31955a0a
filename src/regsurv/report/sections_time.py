"""Report sections, ``results.json`` entries and count cells of the time analyses
(`regsurv.pipeline.analyses_time`: ``time_varying_cox`` and ``landmark``).

Every count is printed through the report's `Suppressor` under a cell name registered by the
kind's count hook (`time_varying_cox_cells`, `landmark_cells`), with the sums that bind the
cells: the flow (before = excluded + after), the treatment timing (patients = never + day 0 +
during + after follow-up), the (tstart, tstop] intervals (patients + split points), the
landmark groups (at risk at L = treated + not treated) with their events and numbers at risk.

The plain-words note beside the time-varying model follows one rule (`compare_estimates`):
the two estimates of a treatment *differ* when the time-varying HR lies outside the naive
HR's 95% confidence interval.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from regsurv.report import results_json as rj
from regsurv.report.document import Paragraph, Section, Table, add_warnings
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_num, fmt_p
from regsurv.report.suppression import (
    TOTAL,
    CountTable,
    _survival_cells,
    events,
)
from regsurv.report.tables import p_text

# -- cell names ----------------------------------------------------------------------------------


def time_cell(analysis_id: str, *what: Any) -> tuple[Any, ...]:
    """A count of time analysis `analysis_id` (flow steps, timing, intervals, landmarks)."""
    return ("time", analysis_id, *what)


def _flow_cells(analysis_id: str, k: int, n: int) -> tuple[Any, Any, Any]:
    """(before, excluded, after) of flow step k (1-based) of `n` steps."""
    before = TOTAL if k == 1 else time_cell(analysis_id, "after", k - 1)
    return before, time_cell(analysis_id, "excluded", k), time_cell(analysis_id, "after", k)


def _final_cell(analysis_id: str, flow: Any) -> Any:
    return time_cell(analysis_id, "after", len(flow.steps)) if flow.steps else TOTAL


def _lm_key(analysis_id: str, at: float) -> tuple[Any, ...]:
    """The key of one landmark's curves (their events and at-risk cells)."""
    return ("landmark", analysis_id, float(at))


def _lm_group(analysis_id: str, at: float, group: str) -> tuple[Any, ...]:
    return time_cell(analysis_id, "landmark", float(at), group)


# -- count hooks ---------------------------------------------------------------------------------


def _flow_hook(t: CountTable, analysis_id: str, flow: Any) -> Any:
    """The flow's steps and the patients started on or after the end of follow-up."""
    frame = flow.to_frame()
    for k, r in enumerate(frame.iter_rows(named=True), start=1):
        before, excluded, after = _flow_cells(analysis_id, k, frame.height)
        t.cell(excluded, r["n_excluded"])
        t.cell(after, r["n_after"])
        t.add_sum(before, (excluded, after))
    return _final_cell(analysis_id, flow)


def time_varying_cox_cells(t: CountTable, a: Any, results: Any) -> None:
    """Flow, treatment timing per flag, patients, intervals and events of both models."""
    i = a.spec.id
    final = _flow_hook(t, i, a.flow)
    split = a.split
    during = []
    for tc in split.treatments:
        parts = [
            t.cell(time_cell(i, what, tc.name), getattr(tc, what))
            for what in ("never", "at_start", "during_follow_up", "after_follow_up")
        ]
        t.add_sum(final, parts)
        during.append(parts[2])
    intervals = t.cell(time_cell(i, "intervals"), split.n_obs)
    cuts = t.add_difference(intervals, final, time_cell(i, "split_points"))
    switched = t.cell(time_cell(i, "switches"), sum(t.values[c] for c in during), latent=True)
    t.add_sum(switched, during)
    t.add_difference(switched, cuts, time_cell(i, "same_day_starts"))
    ev = t.cell(time_cell(i, "events"), a.naive.n_events)
    t.add_difference(final, ev, time_cell(i, "censored"))
    t.cell(time_cell(i, "dropped"), a.naive.n_dropped)


def landmark_cells(t: CountTable, a: Any, results: Any) -> None:
    """Flow, and per landmark: excluded by L, at risk at L, the two groups with their
    events and numbers at risk, patients treated after L (within the untreated group)."""
    i = a.spec.id
    final = _flow_hook(t, i, a.flow)
    for lm in a.landmarks:
        at = lm.at
        gone = t.cell(
            time_cell(i, "by_landmark", at), lm.data.n_excluded_event_or_censored_by_landmark
        )
        n = t.cell(time_cell(i, "at_risk", at), lm.data.n_obs)
        t.add_sum(final, (gone, n))
        _survival_cells(
            t,
            _lm_key(i, at),
            lm.median,
            lm.at_risk,
            lambda g, at=at: _lm_group(i, at, g),
            n,
        )
        late = t.cell(
            time_cell(i, "treated_after", at), lm.data.treated_after_landmark[a.spec.treatment]
        )
        untreated = _lm_group(i, at, a.levels[0])
        if untreated in t.values:
            t.add_difference(untreated, late, time_cell(i, "untreated_rest", at))
        t.cell(time_cell(i, "cox_dropped", at), lm.cox.n_dropped)


# -- sections ------------------------------------------------------------------------------------


def _flow_table(key: str, title: str, a: Any, sup: Suppressor, extra: list[tuple]) -> Table:
    frame = a.flow.to_frame()
    i = a.spec.id
    rows = []
    names = {"n_before": [], "n_excluded": [], "n_after": []}
    for k, r in enumerate(frame.iter_rows(named=True), start=1):
        before, excluded, after = _flow_cells(i, k, frame.height)
        names["n_before"].append(before)
        names["n_excluded"].append(excluded)
        names["n_after"].append(after)
        rows.append(
            (
                str(r["step"]),
                str(r["label"]),
                sup.cell(before, r["n_before"]),
                sup.cell(excluded, r["n_excluded"]),
                sup.cell(after, r["n_after"]),
            )
        )
    rows += extra
    return Table(
        key=key,
        title=title,
        header=("Step", "Patients left out", "Before", "Excluded", "After"),
        rows=tuple(rows),
        note="Every patient of the cohort is counted once: analysed, or left out at the first "
        "step that applies. A treated patient whose start day is blank or unknown cannot be "
        "placed in time and is left out of both models.",
        tidy=sup.mask_frame(frame, names),
    )


def _after_follow_up_text(a: Any, sup: Suppressor) -> str:
    parts = [
        f"{flag} {sup.cell(time_cell(a.spec.id, 'after_follow_up', flag), n)}"
        for flag, n in a.flow.after_follow_up.items()
    ]
    return (
        "Patients whose start day is on or after their end of follow-up (untreated over the "
        f"follow-up in the time-varying model, treated in the naive one): {', '.join(parts)}."
    )


def _hr(r: dict[str, Any], suffix: str) -> str:
    return fmt_estimate_ci(r[f"hr{suffix}"], r[f"hr_conf_low{suffix}"], r[f"hr_conf_high{suffix}"])


def difference_note(a: Any) -> str:
    """Plain words on the naive vs time-varying estimates of each treatment (module rule)."""
    unit = f"days / {a.days_per_unit:g} ({a.unit})"
    lines = []
    for r in a.comparison.iter_rows(named=True):
        naive, tv = _hr(r, "_naive"), _hr(r, "_tv")
        if r["differs"]:
            lines.append(
                f"{r['term']}: the naive HR {naive} and the time-varying HR {tv} differ (the "
                "time-varying estimate lies outside the naive 95% CI): counting patients as "
                f"treated from diagnosis credits {r['term']} with the survival time before it "
                "started (immortal time bias); the time-varying estimate is the one to report."
            )
        else:
            lines.append(
                f"{r['term']}: the naive HR {naive} and the time-varying HR {tv} agree (the "
                "time-varying estimate lies inside the naive 95% CI)."
            )
    return (
        " ".join(lines)
        + f" Start times: days from diagnosis to the start of each treatment ({unit}, the "
        "outcome's time unit)."
    )


def _comparison_table(a: Any, sup: Suppressor, profile_note: str) -> Table:
    i = a.spec.id
    naive = a.naive.to_frame()
    tv = {r["term"]: r for r in a.time_varying.to_frame().iter_rows(named=True)}
    rows = []
    for r in naive.iter_rows(named=True):
        other = tv.get(r["term"], {})
        rows.append(
            (
                r["term"],
                fmt_estimate_ci(r["hr"], r["hr_conf_low"], r["hr_conf_high"]),
                fmt_p(r["p_value"]),
                fmt_estimate_ci(
                    other.get("hr"), other.get("hr_conf_low"), other.get("hr_conf_high")
                ),
                fmt_p(other.get("p_value")),
            )
        )
    final = _final_cell(i, a.flow)
    n = sup.cell(final, a.naive.n_obs)
    note = (
        f"Cox proportional hazards, {a.naive.ties} ties, Wald 95% CIs; n = {n} patients, "
        f"events = {sup.cell(time_cell(i, 'events'), a.naive.n_events)}. Naive: each "
        "treatment 0/1 from diagnosis. Time-varying: each treatment 0 until its start day and "
        "1 after (R tmerge + tdc), on "
        f"{sup.cell(time_cell(i, 'intervals'), a.split.n_obs)} (tstart, tstop] intervals; "
        f"the other covariates fixed at diagnosis. {profile_note}"
    )
    return Table(
        key=i,
        title=f"{a.spec.title}: hazard ratios",
        header=("Term", "Naive HR (95% CI)", "p", "Time-varying HR (95% CI)", "p"),
        rows=tuple(rows),
        spanners=(("Ever treated from day 0", 1, 2), ("Treatment from its start day", 3, 4)),
        note=note,
        tidy=a.comparison,
    )


def _timing_table(a: Any, sup: Suppressor, fields: dict[str, str]) -> Table:
    i = a.spec.id
    whats = ("never", "at_start", "during_follow_up", "after_follow_up")
    frame = pl.DataFrame(
        [
            {"treatment": tc.name, "field": fields.get(tc.name, tc.column)}
            | {w: getattr(tc, w) for w in whats}
            for tc in a.split.treatments
        ]
    )
    rows = tuple(
        (
            r["treatment"],
            r["field"],
            *(sup.cell(time_cell(i, w, r["treatment"]), r[w]) for w in whats),
        )
        for r in frame.iter_rows(named=True)
    )
    names = {w: [time_cell(i, w, t) for t in frame["treatment"]] for w in whats}
    return Table(
        key=f"{i}_timing",
        title="When each treatment starts",
        header=("Treatment", "Start day", "Not given", "Day 0", "During follow-up", "On/after end"),
        rows=rows,
        note="Day 0: treated from diagnosis. During follow-up: the patient's follow-up is split "
        "at the start. On/after end: the start day is not before the end of follow-up "
        f"(follow-up in {a.unit} x {a.days_per_unit:g} days), so the treatment changes "
        "nothing in the time-varying model.",
        tidy=sup.mask_frame(frame, names),
    )


def render_time_varying_cox(s: Section, a: Any, ctx: Any) -> None:
    sup = ctx.sup
    s.add(
        Paragraph(
            "A treatment started after diagnosis can only be given to a patient alive to "
            "receive it; counting such patients as treated from day 0 ('ever treated') gives "
            "the treatment the survival time before it started (immortal time). Here each "
            f"treatment ({', '.join(a.spec.treatments)}) is a time-dependent covariate that "
            "switches on at its start day, beside the naive model of the same patients."
        )
    )
    s.add(_flow_table(f"{a.spec.id}_flow", "Patients of the time-varying Cox model", a, sup, []))
    s.add(_timing_table(a, sup, dict(ctx.results.spec.cohort.start_days)))
    s.add(_comparison_table(a, sup, ctx.profile_note))
    s.add(Paragraph(difference_note(a), "note"))
    s.add(Paragraph(_after_follow_up_text(a, sup), "note"))
    add_warnings(s, a.naive, a.time_varying, a.split)


def _landmark_summary(a: Any, sup: Suppressor, profile_note: str) -> Table:
    i, flag = a.spec.id, a.spec.treatment
    rows, tidy, n_cells, ev_cells, hidden_rows = [], [], [], [], []
    for lm in a.landmarks:
        cox = {r["term"]: r for r in lm.cox.to_frame().iter_rows(named=True)}.get(flag, {})
        for j, r in enumerate(lm.median.iter_rows(named=True)):
            g = r["group"]
            hidden = sup.cell_hidden(_lm_group(i, lm.at, g), r["n_obs"])
            treated = j == len(lm.median) - 1
            n_cells.append(_lm_group(i, lm.at, g))
            ev_cells.append(events(_lm_key(i, lm.at), g))
            hidden_rows.append(hidden)
            tidy.append(
                {"landmark": lm.at, **r, "logrank_p": lm.logrank.p_value}
                | {k: cox.get(k) if treated else None
                   for k in ("hr", "hr_conf_low", "hr_conf_high", "p_value")}
            )  # fmt: skip
            rows.append(
                (
                    fmt_num(lm.at, 2) if j == 0 else "",
                    g,
                    sup.cell(_lm_group(i, lm.at, g), r["n_obs"]),
                    sup.cell(events(_lm_key(i, lm.at), g), r["n_events"]),
                    "—" if hidden else fmt_estimate_ci(r["median"], r["conf_low"], r["conf_high"]),
                    fmt_p(lm.logrank.p_value) if j == 0 else "",
                    fmt_estimate_ci(cox.get("hr"), cox.get("hr_conf_low"), cox.get("hr_conf_high"))
                    if treated
                    else "1 (reference)",
                    fmt_p(cox.get("p_value")) if treated else "",
                )
            )
    covariates = ", ".join(a.spec.covariates) or "none"
    return Table(
        key=i,
        title=f"{a.spec.title}: survival from the landmark",
        header=(
            "Landmark",
            "Exposure",
            "N",
            "Events",
            "Median (95% CI)",
            "Log-rank p",
            "Cox HR (95% CI)",
            "p",
        ),
        rows=tuple(rows),
        note=f"Patients alive and under follow-up after each landmark L ({a.unit} since "
        f"diagnosis; time re-based to L); exposure: {flag} started on or before L. Kaplan–Meier "
        "medians in time since the landmark; Cox model of the exposure adjusted for "
        f"{covariates} ({a.landmarks[0].cox.ties if a.landmarks else ''} ties, Wald 95% CIs). "
        f"{profile_note}",
        tidy=sup.mask_frame(
            pl.DataFrame(tidy),
            {"n_obs": n_cells, "n_events": ev_cells},
            {c: hidden_rows for c in ("median", "conf_low", "conf_high")},
        ),
    )


def render_landmark(s: Section, a: Any, ctx: Any) -> None:
    from regsurv.report.build import _at_risk, _figure
    from regsurv.report.figures import KaplanMeierDisplay

    sup, i, flag = ctx.sup, a.spec.id, a.spec.treatment
    final = _final_cell(i, a.flow)
    extra = []
    for lm in a.landmarks:
        extra.append(
            (
                f"L = {lm.at:g}",
                f"Died or censored by the landmark L = {lm.at:g} {a.unit}",
                sup.cell(final, a.flow.n_final),
                sup.cell(
                    time_cell(i, "by_landmark", lm.at),
                    lm.data.n_excluded_event_or_censored_by_landmark,
                ),
                sup.cell(time_cell(i, "at_risk", lm.at), lm.data.n_obs),
            )
        )
    s.add(
        Paragraph(
            f"Landmark analysis of {flag}: at each landmark L the patients still alive and "
            f"under follow-up are compared by whether {flag} had started by L, so that no "
            "patient is credited with survival before treatment (immortal time)."
        )
    )
    s.add(_flow_table(f"{i}_flow", "Patients of the landmark analyses", a, sup, extra))
    s.add(_landmark_summary(a, sup, ctx.profile_note))
    late = ", ".join(
        f"L = {lm.at:g}: "
        + sup.cell(time_cell(i, "treated_after", lm.at), lm.data.treated_after_landmark[flag])
        for lm in a.landmarks
    )
    s.add(
        Paragraph(
            f"Patients whose {flag} started after the landmark are in the 'not treated' group "
            f"of that landmark (exposure fixed at L): {late}.",
            "note",
        )
    )
    for lm in a.landmarks:
        key = _lm_key(i, lm.at)
        display = KaplanMeierDisplay(
            curves=lm.curves.to_frame(),
            at_risk=_at_risk(lm.at_risk, key, sup),
            title=f"Overall survival from the landmark L = {lm.at:g} {a.unit}",
            xlabel=f"Time since the landmark L = {lm.at:g} ({a.unit})",
            groups=list(lm.curves.keys()),
            suppressor=sup,
            medians=lm.median,
            p_value=lm.logrank.p_value,
        ).plot()
        stem = f"km_{i}_{str(lm.at).replace('.', '_')}"
        s.add(
            _figure(
                display,
                ctx.figures,
                stem,
                f"Kaplan–Meier curves from the landmark L = {lm.at:g} by {flag} started by L",
                "Shaded: 95% confidence bands; +: censored; log-rank "
                f"{p_text(lm.logrank.p_value)}.",
            )
        )
    add_warnings(s, *(lm.cox for lm in a.landmarks), *(lm.curves for lm in a.landmarks))


# -- results.json --------------------------------------------------------------------------------


def _flow_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    out = rj._plain(a.flow.to_dict())
    if sup.mask is None:
        return out
    i = a.spec.id
    n = len(out["steps"])
    out["n_input"] = sup.cell_value(TOTAL, out["n_input"])
    out["n_final"] = sup.cell_value(_final_cell(i, a.flow), out["n_final"])
    for k, step in enumerate(out["steps"], start=1):
        before, excluded, after = _flow_cells(i, k, n)
        step["n_before"] = sup.cell_value(before, step["n_before"])
        step["n_excluded"] = sup.cell_value(excluded, step["n_excluded"])
        step["n_after"] = sup.cell_value(after, step["n_after"])
    out["after_follow_up"] = {
        f: sup.cell_value(time_cell(i, "after_follow_up", f), v)
        for f, v in out["after_follow_up"].items()
    }
    return out


def time_varying_cox_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    i = a.spec.id
    final = _final_cell(i, a.flow)
    split = rj._plain(a.split.to_dict())
    naive, tv = a.naive.to_dict(), a.time_varying.to_dict()
    if sup.mask is not None:
        for key in ("n_input", "n_subjects"):
            split[key] = sup.cell_value(final, split[key])
        split["n_obs"] = sup.cell_value(time_cell(i, "intervals"), split["n_obs"])
        for key in ("n_excluded_missing", "n_excluded_no_time_at_risk"):
            split[key] = sup.cell_value(time_cell(i, "dropped"), split[key])
        for tc in split["treatments"]:
            for what in ("never", "at_start", "during_follow_up", "after_follow_up"):
                tc[what] = sup.cell_value(time_cell(i, what, tc["name"]), tc[what])
        ev, dropped = time_cell(i, "events"), time_cell(i, "dropped")
        rj._mask_cox(naive, sup, final, dropped, ev)
        rj._mask_cox(tv, sup, time_cell(i, "intervals"), dropped, ev)
    return {
        "days_per_unit": a.days_per_unit,
        "flow": _flow_json(a, sup),
        "split": split,
        "naive": naive,
        "time_varying": tv,
        "comparison": a.comparison.to_dicts(),
    }


def landmark_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    i, flag = a.spec.id, a.spec.treatment
    out = []
    for lm in a.landmarks:
        key = _lm_key(i, lm.at)
        data = rj._plain(lm.data.to_dict())
        entry = {
            "at": lm.at,
            "landmark": data,
            "summary": lm.median.to_dicts(),
            "logrank": lm.logrank.to_dict(),
            "curves": lm.curves.to_dict(),
            "cox": lm.cox.to_dict(),
        }
        if sup.mask is not None:
            n = time_cell(i, "at_risk", lm.at)
            final = _final_cell(i, a.flow)
            data["n_input"] = sup.cell_value(final, data["n_input"])
            for k in ("n_excluded_missing", "n_excluded_no_time_at_risk"):
                data[k] = sup.cell_value(time_cell(i, "cox_dropped", lm.at), data[k])
            data["n_excluded_event_or_censored_by_landmark"] = sup.cell_value(
                time_cell(i, "by_landmark", lm.at), data["n_excluded_event_or_censored_by_landmark"]
            )
            data["n_obs"] = sup.cell_value(n, data["n_obs"])
            data["treated"] = {
                flag: sup.cell_value(_lm_group(i, lm.at, a.levels[1]), data["treated"][flag])
            }
            data["treated_after_landmark"] = {
                flag: sup.cell_value(
                    time_cell(i, "treated_after", lm.at), data["treated_after_landmark"][flag]
                )
            }
            entry["summary"] = sup.mask_frame(
                lm.median,
                {
                    "n_obs": [_lm_group(i, lm.at, g) for g in lm.median["group"]],
                    "n_events": [events(key, g) for g in lm.median["group"]],
                },
            ).to_dicts()
            entry = rj._plain(entry)
            rj._mask_survival(
                {k: entry[k] for k in ("logrank", "curves")},
                n,
                ("events_total", key),
                lambda g, at=lm.at: _lm_group(i, at, g),
                sup,
                lambda g, key=key: events(key, g),
            )
            rj._mask_cox(
                entry["cox"], sup, n, time_cell(i, "cox_dropped", lm.at), ("events_total", key)
            )
        out.append(entry)
    return {"days_per_unit": a.days_per_unit, "flow": _flow_json(a, sup), "landmarks": out}
