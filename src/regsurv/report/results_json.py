"""``results.json``: every estimate of a run in machine-readable form, from `to_dict()` and
`to_frame()` of the result objects, with the same suppression as the tables: under a planned
`Suppressor` every count is written as the report shows it (the count, ``"<N"`` or ``"*"``,
looked up by its `regsurv.report.suppression` cell), per-time counts of the curves are left
out (their differences are the events and censorings at each time), weighted event sums are
left out, and free text has its counts suppressed."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from regsurv.report.format import COUNT_COLUMNS, PERCENT_COLUMNS, Suppressor
from regsurv.report.suppression import (
    NONMISSING,
    TOTAL,
    count,
    cox_cell,
    events,
    flow_count,
    flow_excluded,
    group_size,
    match_cell,
    ps_cell,
    size,
)
from regsurv.report.tables import _summary_tidy

#: Keys whose values are patient or event counts (scalars or arrays) in the nested results.
_COUNT_KEYS = COUNT_COLUMNS | {
    "expected",
    "group_sizes",
    "n_start",
    "n_final",
    "n_dropped",
    "n_sets",
    "n_missing",
}


_LEAVES = frozenset({int, str, bool, type(None)})


def _plain(value: Any) -> Any:
    """JSON-safe: numpy to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # a list of plain leaves and finite floats (x - x == 0 fails for NaN and inf) as it is
        if all(type(v) in _LEAVES or (type(v) is float and v - v == 0.0) for v in value):
            return list(value)
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _suppress(value: Any, sup: Suppressor, key: str | None = None) -> Any:
    if isinstance(value, dict):
        counts = value.get("n")
        if isinstance(counts, list):  # a column-oriented table: hide percents of hidden counts
            hidden = [isinstance(n, (int, float)) and sup.hides(n) for n in counts]
            value = {
                k: [None if h else x for x, h in zip(v, hidden, strict=True)]
                if k in PERCENT_COLUMNS and isinstance(v, list) and len(v) == len(hidden)
                else v
                for k, v in value.items()
            }
        inherit = key in _COUNT_KEYS
        return {k: _suppress(v, sup, key if inherit else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_suppress(v, sup, key) for v in value]
    if key in _COUNT_KEYS and isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)  # a count the mask shows
    if key in _COUNT_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<{sup.threshold}" if sup.hides(value) else value
    return value


_NUMBER = re.compile(r"\d+(\.\d+)?")
#: Keys whose strings are free text (their counts are suppressed); inherited by nested values.
_TEXT_KEYS = frozenset(
    {"warnings", "notes", "note", "errors", "message", "method", "failed", "failures", "reason"}
)


def _scrub_text(value: Any, sup: Suppressor, key: str | None = None) -> Any:
    """Free text (warnings, notes, failure reasons) with its counts suppressed."""
    if isinstance(value, dict):
        return {k: _scrub_text(v, sup, key if key in _TEXT_KEYS else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_text(v, sup, key) for v in value]
    if isinstance(value, str) and key in _TEXT_KEYS:
        return sup.text(value)
    return value


def _mask_survival(
    node: Any,
    n_cell: Any,
    events_cell: Any,
    group_cell: Callable[[str], Any],
    sup: Suppressor,
    group_events: Callable[[str], Any] | None = None,
) -> None:
    """A survival result's nested dicts (curves, log-rank, Cox), in place: whole-sample and
    per-group counts as the report's cells show them; per-time counts dropped; weighted event
    sums (and per-group events without `group_events`) dropped."""
    if isinstance(node, list):
        for item in node:
            _mask_survival(item, n_cell, events_cell, group_cell, sup, group_events)
        return
    if not isinstance(node, dict):
        return
    for key in ("n_risk", "n_event", "n_censor"):
        if isinstance(node.get(key), list):
            del node[key]
    if isinstance(node.get("groups"), list) and isinstance(node.get("n"), list):  # log-rank
        groups = node["groups"]
        node["n"] = [
            sup.cell_value(group_cell(g), n) for g, n in zip(groups, node["n"], strict=True)
        ]
        if isinstance(node.get("observed"), list):
            node["observed"] = [
                sup.cell_value(group_events(g), o)
                if group_events is not None
                and isinstance(o, (int, float))
                and float(o).is_integer()
                else None
                for g, o in zip(groups, node["observed"], strict=True)
            ]
    group = node.get("group") if isinstance(node.get("group"), str) else None
    per_group = group is not None and "time" in node
    if "n_obs" in node:
        node["n_obs"] = sup.cell_value(group_cell(group) if per_group else n_cell, node["n_obs"])
    if "n_events" in node:
        value = node["n_events"]
        if isinstance(value, float) and not value.is_integer():
            node["n_events"] = None  # a weighted sum of events
        elif per_group:
            node["n_events"] = sup.cell_value(group_events(group), value) if group_events else None
        else:
            node["n_events"] = sup.cell_value(events_cell, value)
    for value in node.values():
        if isinstance(value, (dict, list)):
            _mask_survival(value, n_cell, events_cell, group_cell, sup, group_events)


def summary_table_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    table = a.table
    out = table.to_dict()
    if sup.mask is None:
        return {"table": out}
    out["rows"] = _summary_tidy(table, sup).select(table.rows.columns).to_dict(as_series=False)
    tests = out["tests"]
    for key, level in (("n_obs", NONMISSING), ("n_missing", None)):
        if key in tests:
            tests[key] = [
                sup.cell_value(count(None, None, v, level), n)
                for v, n in zip(tests["variable"], tests[key], strict=True)
            ]
    out["group_sizes"] = [
        sup.cell_value(group_size(table.group, g), n)
        for g, n in zip(table.groups, table.group_sizes.tolist(), strict=True)
    ]
    return {"table": out}


def trend_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    out = _plain(a.trend.to_dict())
    if sup.mask is None:
        return {"trend": out}
    v, outcome = out["variable"], out["outcome"]
    cells = [
        (size(v, lv), ("trend_events", v, outcome, lv), n, e)
        for lv, n, e in zip(out["levels"], out["n_obs"], out["n_events"], strict=True)
    ]
    hidden = [sup.cell_hidden(a, n) or sup.cell_hidden(b, e) for a, b, n, e in cells]
    out["n_obs"] = [sup.cell_value(a, n) for a, _b, n, _e in cells]
    out["n_events"] = [sup.cell_value(b, e) for _a, b, _n, e in cells]
    out["proportion"] = [None if h else x for x, h in zip(out["proportion"], hidden, strict=True)]
    return {"trend": out}


def km_json(km: Any, sup: Suppressor) -> dict[str, Any]:
    """One KM analysis; groups too small to show lose their estimates and curves. Under a
    planned suppressor the landmarks keep only the estimates (their counts are per-time)."""
    hidden = sup.hidden_groups(km.median)
    curves = km.curves.to_dict()
    curves["curves"] = {g: c for g, c in curves["curves"].items() if g not in hidden}
    curves["median"] = {g: m for g, m in curves["median"].items() if g not in hidden}
    summary = sup.mask_groups(km.median, hidden)
    landmarks = sup.mask_groups(km.landmarks, hidden)
    column = km.spec.group
    if sup.mask is not None:
        summary = sup.mask_frame(
            summary,
            {
                "n_obs": [size(column, g) for g in summary["group"]],
                "n_events": [events(column, g) for g in summary["group"]],
            },
        )
        landmarks = landmarks.drop("n_risk", "n_event", "n_censor", strict=False)
    out = {
        "summary": summary.to_dicts(),
        "landmarks": landmarks.to_dicts(),
        "logrank": km.logrank.to_dict(),
        "curves": curves,
        "suppressed_groups": hidden,
    }
    if sup.mask is not None:
        base = count(None, None, column, NONMISSING)
        whole = base if sup.mask.table.values.get(base) == km.curves.n_obs else TOTAL
        out = _plain(out)
        _mask_survival(
            {k: out[k] for k in ("logrank", "curves")},
            whole,
            ("events_total", column),
            lambda g: size(column, g),
            sup,
            lambda g: events(column, g),
        )
    return out


def _mask_cox(model: dict[str, Any], sup: Suppressor, n: Any, dropped: Any, ev: Any) -> None:
    model["n_obs"] = sup.cell_value(n, model["n_obs"])
    model["n_dropped"] = sup.cell_value(dropped, model["n_dropped"])
    model["n_events"] = sup.cell_value(ev, model["n_events"])


def cox_univariable_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    models = {k: r.to_dict() for k, r in a.models.items()}
    if sup.mask is not None:
        for cov, model in models.items():
            nonmissing, missing = count(None, None, cov, NONMISSING), count(None, None, cov, None)
            _mask_cox(model, sup, nonmissing, missing, ("cox_events", cov))
    return {"models": models, "failures": a.failures}


def cox_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    model = a.model.to_dict()
    if sup.mask is not None:
        i = a.spec.id
        _mask_cox(model, sup, cox_cell(i, "n"), cox_cell(i, "dropped"), cox_cell(i, "events"))
    return {"model": model}


def iptw_json(p: Any, sup: Suppressor) -> dict[str, Any]:
    out = {
        "n_obs": p.n_obs,
        "n_dropped": p.n_dropped,
        "classes": list(p.model.classes_),
        "weights": p.weights.summary().to_dicts(),
        "balance": p.balance.to_dict(),
        "iptw": p.survival.to_dict(),
    }
    if p.bootstrap is not None:
        out["bootstrap"] = p.bootstrap.to_dict()
    if sup.mask is None:
        return out
    i, treatment = p.spec.id, p.spec.treatment
    out = _plain(out)

    def arm(g: str) -> Any:
        return ps_cell(i, "n") if g == "Overall" else size(treatment, g)

    out["n_obs"] = sup.cell_value(ps_cell(i, "n"), out["n_obs"])
    out["n_dropped"] = sup.cell_value(ps_cell(i, "dropped"), out["n_dropped"])
    for row in out["weights"]:
        if sup.cell_hidden(arm(row["group"]), row["n"]):
            row["sum"] = row["ess_kish"] = None
        row["n"] = sup.cell_value(arm(row["group"]), row["n"])
    if "n_obs" in out["balance"]:
        out["balance"]["n_obs"] = sup.cell_value(ps_cell(i, "n"), out["balance"]["n_obs"])
    _mask_survival(out["iptw"], ps_cell(i, "n"), ps_cell(i, "events"), arm, sup)
    return out


def matching_json(m: Any, sup: Suppressor) -> dict[str, Any]:
    out = {
        "n_sets": m.matching.n_sets,
        "n_matched": m.matching.n_matched(),
        "n_unmatched": m.matching.n_unmatched,
        "balance": m.balance.to_dict(),
        "survival": m.survival.to_dict(),
    }
    if sup.mask is None:
        return out
    i = m.spec.id
    out = _plain(out)
    out["n_sets"] = sup.cell_value(match_cell(i, "sets"), out["n_sets"])
    for what in ("matched", "unmatched"):
        out[f"n_{what}"] = {
            g: sup.cell_value(match_cell(i, what, g), n) for g, n in out[f"n_{what}"].items()
        }
    if "n_obs" in out["balance"]:
        ps_n = ps_cell(m.spec.propensity, "n")
        out["balance"]["n_obs"] = sup.cell_value(ps_n, out["balance"]["n_obs"])
    survival = out["survival"]
    if "n_sets" in survival:
        survival["n_sets"] = sup.cell_value(match_cell(i, "sets"), survival["n_sets"])
    weighted = m.survival.km.weighted
    _mask_survival(
        survival,
        match_cell(i, "n"),
        match_cell(i, "events") if weighted else ("events_total", ("matched", i)),
        lambda g: match_cell(i, "matched", g),
        sup,
        None if weighted else (lambda g: events(("matched", i), g)),
    )
    return out


def _cohort_json(results: Any, sup: Suppressor) -> dict[str, Any]:
    flow = results.flow
    out = {
        "n_start": flow.n_start,
        "n_final": flow.n_final,
        "flow": flow.to_frame().to_dicts(),
        "groups": dict(results.group_counts),
    }
    if sup.mask is None:
        return out
    out = _plain(out)
    out["n_start"] = sup.cell_value(flow_count(0), out["n_start"])
    out["n_final"] = sup.cell_value(TOTAL if out["flow"] else flow_count(0), out["n_final"])
    last = len(out["flow"])
    for k, step in enumerate(out["flow"], start=1):
        step["n_before"] = sup.cell_value(flow_count(k - 1), step["n_before"])
        step["n_excluded"] = sup.cell_value(flow_excluded(k), step["n_excluded"])
        step["n_after"] = sup.cell_value(TOTAL if k == last else flow_count(k), step["n_after"])
    exposure = str(results.spec.cohort.exposure_group)
    out["groups"] = {g: sup.cell_value(size(exposure, g), n) for g, n in out["groups"].items()}
    return out


def results_to_json(
    results: Any, sup: Suppressor, writers: dict[str, Callable[[Any, Suppressor], dict]]
) -> str:
    """The run's estimates as a JSON document: the cohort, then one entry per analysis id
    (its kind, title and the `writers` entry of its kind; a failed one: the reason)."""
    spec = results.spec
    analyses: dict[str, Any] = {}
    for key, record in results.analyses.items():
        if record.failed:
            analyses[key] = {"kind": record.kind, "title": record.title, "failed": record.message}
        else:
            entry = {"kind": record.kind, "title": record.spec.title}
            analyses[key] = entry | writers[record.kind](record, sup)
    payload: dict[str, Any] = {
        "study": spec.study.name,
        "synthetic_data": results.source.synthetic,
        "profile": {
            "name": results.profile.name,
            "ties": results.profile.ties,
            "conf_type": results.profile.conf_type,
            "normalize_weights": results.profile.normalize_weights,
        },
        "suppress_below": results.suppress_below,
        "errors": results.errors,
        "cohort": _cohort_json(results, sup),
        "analyses": analyses,
    }
    if sup.active:  # absent without suppression: the synthetic default's results.json as before
        payload["suppression"] = sup.audit_summary()
    plain = _plain(payload)
    if sup.active:
        plain = _scrub_text(_suppress(plain, sup), sup)
    return json.dumps(plain, indent=1, allow_nan=False)
