"""``results.json``: every estimate of a run in machine-readable form, from `to_dict()` and
`to_frame()` of the result objects, with the same small-count suppression as the tables."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from regsurv.report.format import COUNT_COLUMNS, PERCENT_COLUMNS, Suppressor

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
    if key in _COUNT_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<{sup.threshold}" if sup.hides(value) else value
    return value


def summary_table_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    return {"table": a.table.to_dict()}


def trend_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    return {"trend": a.trend.to_dict()}


def km_json(km: Any, sup: Suppressor) -> dict[str, Any]:
    """One KM analysis; groups too small to show lose their estimates and curves."""
    hidden = sup.hidden_groups(km.median)
    curves = km.curves.to_dict()
    curves["curves"] = {g: c for g, c in curves["curves"].items() if g not in hidden}
    curves["median"] = {g: m for g, m in curves["median"].items() if g not in hidden}
    return {
        "summary": sup.mask_groups(km.median, hidden).to_dicts(),
        "landmarks": sup.mask_groups(km.landmarks, hidden).to_dicts(),
        "logrank": km.logrank.to_dict(),
        "curves": curves,
        "suppressed_groups": hidden,
    }


def cox_univariable_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    return {"models": {k: r.to_dict() for k, r in a.models.items()}, "failures": a.failures}


def cox_json(a: Any, sup: Suppressor) -> dict[str, Any]:
    return {"model": a.model.to_dict()}


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
    return out


def matching_json(m: Any, sup: Suppressor) -> dict[str, Any]:
    return {
        "n_sets": m.matching.n_sets,
        "n_matched": m.matching.n_matched(),
        "n_unmatched": m.matching.n_unmatched,
        "balance": m.balance.to_dict(),
        "survival": m.survival.to_dict(),
    }


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
        "cohort": {
            "n_start": results.flow.n_start,
            "n_final": results.flow.n_final,
            "flow": results.flow.to_frame().to_dicts(),
            "groups": dict(results.group_counts),
        },
        "analyses": analyses,
    }
    plain = _plain(payload)
    if sup.active:
        plain = _suppress(plain, sup)
    return json.dumps(plain, indent=1, allow_nan=False)
