"""Test helpers shared by the test suite: named tolerance tiers and R reference loaders.

One helper, `assert_close`, owns every numerical tolerance (house style §0.6). A looser
tolerance than its tier needs a comment at the call site saying why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

TIERS: dict[str, tuple[float, float]] = {
    # tier: (rtol, atol)
    "exact": (1e-12, 1e-14),  # closed-form results, counts, exact fractions
    "invariance": (1e-9, 1e-12),  # same estimator, re-ordered / replicated / rescaled input
    "software": (1e-8, 1e-12),  # R reference on the same data, direct computation (KM, tests, SMD)
    "optimizer": (1e-6, 1e-9),  # R reference reached by an iterative optimizer (Cox, PS model)
    "published": (0.05, 0.0),  # a printed figure of the paper
}

FIXTURES_DIR = Path(__file__).resolve().parents[3] / "tests" / "reference" / "r"


def _as_float_array(values: Any) -> np.ndarray:
    """JSON values as floats: ``None`` (R NA) and ``"NaN"`` become NaN, ``"Inf"`` become inf."""

    def conv(v: Any) -> float:
        if v is None:
            return math.nan
        if isinstance(v, str):
            return {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}.get(v, float(v))
        return float(v)

    if np.isscalar(values) or values is None:
        return np.array([conv(values)])
    return np.array([conv(v) for v in np.ravel(np.asarray(values, dtype=object))])


def assert_close(actual: Any, expected: Any, *, tier: str = "software", err_msg: str = "") -> None:
    """Assert elementwise closeness at a named tier; NaN (R ``NA``) must match NaN."""
    rtol, atol = TIERS[tier]
    a = _as_float_array(actual)
    e = _as_float_array(expected)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=err_msg)


def load_reference(name: str) -> dict[str, Any]:
    """Load ``tests/reference/r/ref/<name>.json`` (R fixtures; see the README beside them)."""
    path = FIXTURES_DIR / "ref" / f"{name}.json"
    return json.loads(path.read_text())


def reference_data_path(name: str) -> Path:
    """Path of ``tests/reference/r/data/<name>.csv``, the input R read for a fixture."""
    return FIXTURES_DIR / "data" / f"{name}.csv"
