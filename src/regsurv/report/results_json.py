"""``results.json``: every estimate of a run in machine-readable form, from `to_dict()` and
`to_frame()` of the result objects, with the same small-count suppression as the tables."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from regsurv.report.format import COUNT_COLUMNS, Suppressor

#: Keys whose values are patient or event counts (scalars or arrays) in the nested results.
_COUNT_KEYS = COUNT_COLUMNS | {"n_obs", "n_risk", "n_event", "n_censor", "expected", "group_sizes"}


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
        inherit = key in _COUNT_KEYS
        return {k: _suppress(v, sup, key if inherit else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_suppress(v, sup, key) for v in value]
    if key in _COUNT_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<{sup.threshold}" if sup.hides(value) else value
    return value


def _frame(frame: Any) -> list[dict[str, Any]]:
    return frame.to_dicts()


def results_to_json(results: Any, sup: Suppressor) -> str:
    """The run's estimates as a JSON document."""
    spec = results.spec
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
            "n_start": results.flow.n_start if results.flow is not None else None,
            "n_final": results.flow.n_final if results.flow is not None else None,
            "flow": _frame(results.flow.to_frame()) if results.flow is not None else [],
        },
        "tables": {key: t.to_dict() for key, t in results.tables.items()},
        "trend": results.trend.to_dict() if results.trend is not None else None,
        "kaplan_meier": {
            key: {
                "summary": _frame(km["median"]),
                "landmarks": _frame(km["landmarks"]),
                "logrank": km["logrank"].to_dict(),
                "curves": km["curves"].to_dict(),
            }
            for key, km in results.km.items()
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
            "weights": _frame(p["weights"].summary()),
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
    plain = _plain(payload)
    if sup.active:
        plain = _suppress(plain, sup)
    return json.dumps(plain, indent=1, allow_nan=False)
