"""``results.json``: every estimate of a run in machine-readable form, from `to_dict()` and
`to_frame()` of the result objects, with the same small-count suppression as the tables."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from regsurv.report.format import COUNT_COLUMNS, PERCENT_COLUMNS, Suppressor
from regsurv.report.suppression import (
    NONMISSING,
    TOTAL,
    count,
    events,
    flow_count,
    flow_excluded,
    group_size,
    size,
)

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


def _plain(value: Any) -> Any:
    """JSON-safe: numpy to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


_NUMBER = re.compile(r"\d+(\.\d+)?")


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


def _scrub_text(value: Any, sup: Suppressor, key: str | None = None) -> Any:
    """Free text (warnings, notes, messages) with its counts suppressed."""
    if isinstance(value, dict):
        return {k: _scrub_text(v, sup, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_text(v, sup, key) for v in value]
    if isinstance(value, str) and key in _TEXT_KEYS:
        return sup.text(value)
    return value


_TEXT_KEYS = frozenset({"warnings", "notes", "note", "errors", "message", "method"})


def _km_json(km: dict[str, Any], sup: Suppressor, column: str) -> dict[str, Any]:
    """One KM analysis; groups too small to show lose their estimates and curves. Under
    suppression the per-time counts of the curves are left out (their differences are the
    events and censorings at each time) and the landmarks keep only the numbers at risk."""
    hidden = sup.hidden_groups(km["median"])
    curves = km["curves"].to_dict()
    curves["curves"] = {g: c for g, c in curves["curves"].items() if g not in hidden}
    curves["median"] = {g: m for g, m in curves["median"].items() if g not in hidden}
    summary = sup.mask_groups(km["median"], hidden)
    landmarks = sup.mask_groups(km["landmarks"], hidden)
    if sup.mask is not None:
        summary = sup.mask_frame(
            summary,
            {
                "n_obs": [size(column, g) for g in summary["group"]],
                "n_events": [events(column, g) for g in summary["group"]],
            },
        )
        landmarks = landmarks.drop("n_risk", "n_event", "n_censor")
    out = {
        "summary": summary.to_dicts(),
        "landmarks": landmarks.to_dicts(),
        "logrank": km["logrank"].to_dict(),
        "curves": curves,
        "suppressed_groups": hidden,
    }
    if sup.mask is not None:
        base = count(None, None, column, NONMISSING)
        whole = base if sup.mask.table.values.get(base) == km["curves"].n_obs else TOTAL
        out = _plain(out)
        _mask_survival(
            out,
            whole,
            ("events_total", column),
            lambda g: size(column, g),
            sup,
            lambda g: events(column, g),
        )
        out["summary"] = summary.to_dicts()
    return out


def _table_json(table: Any, tidy: Any, sup: Suppressor) -> dict[str, Any]:
    """A summary table's `to_dict()`, its rows and group sizes as the report shows them."""
    out = table.to_dict()
    if sup.mask is None:
        return out
    out["rows"] = tidy.select(table.rows.columns).to_dict(as_series=False)
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
    return out


def _masked_models(payload: dict[str, Any], results: Any, sup: Suppressor) -> None:
    """Counts of the flow, trend, Cox, propensity and matching entries as the report shows."""
    if sup.mask is None:
        return
    flow = payload["cohort"]
    flow["n_start"] = sup.cell_value(flow_count(0), flow["n_start"])
    flow["n_final"] = sup.cell_value(TOTAL, flow["n_final"])
    last = len(flow["flow"])
    for k, step in enumerate(flow["flow"], start=1):
        step["n_before"] = sup.cell_value(flow_count(k - 1), step["n_before"])
        step["n_excluded"] = sup.cell_value(flow_excluded(k), step["n_excluded"])
        step["n_after"] = sup.cell_value(TOTAL if k == last else flow_count(k), step["n_after"])
    payload["cohort"]["groups"] = {
        g: sup.cell_value(size("treatment", g), n) for g, n in results.group_counts.items()
    }
    trend = payload.get("trend")
    if trend is not None:
        v, outcome = trend["variable"], trend["outcome"]
        cells = [
            (size(v, lv), ("trend_events", v, outcome, lv), n, e)
            for lv, n, e in zip(trend["levels"], trend["n_obs"], trend["n_events"], strict=True)
        ]
        hidden = [sup.cell_hidden(a, n) or sup.cell_hidden(b, e) for a, b, n, e in cells]
        trend["n_obs"] = [sup.cell_value(a, n) for a, _b, n, _e in cells]
        trend["n_events"] = [sup.cell_value(b, e) for _a, b, _n, e in cells]
        trend["proportion"] = [
            None if h else x for x, h in zip(trend["proportion"], hidden, strict=True)
        ]
    for cov, model in payload["cox"]["univariable"].items():
        model["n_obs"] = sup.cell_value(count(None, None, cov, NONMISSING), model["n_obs"])
        model["n_dropped"] = sup.cell_value(count(None, None, cov, None), model["n_dropped"])
        model["n_events"] = sup.cell_value(("cox_events", cov), model["n_events"])
    mv = payload["cox"]["multivariable"]
    if mv is not None:
        for key, name in (("n_obs", "n"), ("n_events", "events"), ("n_dropped", "dropped")):
            mv[key] = sup.cell_value(("cox_mv", name), mv[key])
    ps = payload.get("propensity")
    if ps is not None:
        ps["n_obs"] = sup.cell_value(("ps", "n"), ps["n_obs"])
        ps["n_dropped"] = sup.cell_value(("ps", "dropped"), ps["n_dropped"])
        for row in ps["weights"]:
            if sup.cell_hidden(("ps_n", row["group"]), row["n"]):
                row["sum"] = row["ess_kish"] = None
            row["n"] = sup.cell_value(("ps_n", row["group"]), row["n"])
    for section in (ps, payload.get("matching")):
        if section is not None and isinstance(section.get("balance"), dict):
            balance = section["balance"]
            if "n_obs" in balance:
                balance["n_obs"] = sup.cell_value(("ps", "n"), balance["n_obs"])
    if ps is not None:  # the IPTW analysis: its N, events and arms are the cells above
        _mask_survival(ps["iptw"], ("ps", "n"), ("ps", "events"), lambda g: ("ps_n", g), sup)
    m = payload.get("matching")
    if m is not None:
        _mask_survival(
            m["survival"],
            ("match", "n"),
            ("match", "events"),
            lambda g: ("match", "matched", g),
            sup,
            lambda g: ("match", "events", g),
        )
        m["n_sets"] = sup.cell_value(("match", "sets"), m["n_sets"])
        m["n_matched"] = {
            g: sup.cell_value(("match", "matched", g), n) for g, n in m["n_matched"].items()
        }
        m["n_unmatched"] = {
            g: sup.cell_value(("match", "unmatched", g), n) for g, n in m["n_unmatched"].items()
        }


def _mask_survival(
    node: Any,
    n_cell: Any,
    events_cell: Any,
    group_cell: Any,
    sup: Suppressor,
    group_events: Any = None,
) -> None:
    """A survival result's nested dicts (curves, log-rank, Cox): whole-sample and per-group
    counts as the report's cells show them; per-time counts dropped (their differences are
    the events and censorings at each time); weighted event sums dropped."""
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


def results_to_json(
    results: Any, sup: Suppressor, tidy_tables: dict[str, Any] | None = None
) -> str:
    """The run's estimates as a JSON document (`tidy_tables`: the report's suppressed CSV
    frames by key, for the summary tables' rows)."""
    spec = results.spec
    tidy_tables = tidy_tables or {}
    columns = {c.id: c.group for c in spec.survival.curves} if spec.survival else {}
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
        "errors": {k: sup.text(v) for k, v in results.errors.items()},
        "cohort": {
            "n_start": results.flow.n_start if results.flow is not None else None,
            "n_final": results.flow.n_final if results.flow is not None else None,
            "flow": results.flow.to_frame().to_dicts() if results.flow is not None else [],
        },
        "tables": {
            key: _table_json(t, tidy_tables.get(key), sup) for key, t in results.tables.items()
        },
        "trend": results.trend.to_dict() if results.trend is not None else None,
        "kaplan_meier": {
            key: _km_json(km, sup, columns.get(key, key)) for key, km in results.km.items()
        },
        "cox": {
            "univariable": {k: r.to_dict() for k, r in results.univariable.items()},
            "multivariable": (
                results.multivariable.to_dict() if results.multivariable is not None else None
            ),
        },
    }
    if results.propensity:
        p = results.propensity
        payload["propensity"] = {
            "n_obs": p["n_obs"],
            "n_dropped": p["n_dropped"],
            "classes": list(p["model"].classes_),
            "weights": p["weights"].summary().to_dicts(),
            "balance": p["balance"].to_dict(),
            "iptw": p["survival"].to_dict(),
        }
    if results.matching:
        m = results.matching
        payload["matching"] = {
            "n_sets": m["matching"].n_sets,
            "n_matched": m["matching"].n_matched(),
            "n_unmatched": m["matching"].n_unmatched,
            "balance": m["balance"].to_dict(),
            "survival": m["survival"].to_dict(),
        }
    if sup.active:  # absent without suppression: results.json of the synthetic default as before
        payload["suppression"] = sup.audit_summary()
    plain = _plain(payload)
    _masked_models(plain, results, sup)
    if sup.active:
        plain = _scrub_text(_suppress(plain, sup), sup)
    return json.dumps(plain, indent=1, allow_nan=False)
