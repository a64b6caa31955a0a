"""Shared synthetic PUFs (generated once per test session)."""

from __future__ import annotations

import pytest

from regsurv.synth import synthetic_puf


@pytest.fixture(scope="session")
def puf_seed0():
    """The default synthetic PUF (82,987 rows, seed 0) with the model's truth columns."""
    return synthetic_puf(seed=0, truth=True)
