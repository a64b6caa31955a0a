"""Fixtures for the io tests: small typed PUF frames built from the dictionary itself."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.io import load_dictionary

DTYPES = {"code": pl.String, "integer": pl.Int64, "decimal": pl.Float64}


def make_puf_frame(n: int, *, layout: str = "2016", seed: int = 0) -> pl.DataFrame:
    """`n` rows of every field of a built-in layout, values drawn from the dictionary's codes
    (blanks included where the dictionary allows them), unique PUF_CASE_ID."""
    rng = np.random.default_rng(seed)
    dictionary = load_dictionary()
    columns: dict[str, pl.Series] = {}
    for lf in dictionary.layouts[layout].fields:
        pf = dictionary.fields[lf.name]
        if lf.name == "PUF_CASE_ID":
            values = [f"{i:08d}-CASE-{rng.integers(1e9):010d}" for i in range(n)]
        elif pf.type == "code":
            pool = [c for c in pf.codes if len(c) <= lf.width] or ["X1"]
            values = [pool[int(i)] for i in rng.integers(len(pool), size=n)]
        elif pf.type == "integer":
            high = int(min(pf.maximum or 10 ** (lf.width - 1), 10**lf.width - 1))
            values = [int(v) for v in rng.integers(int(pf.minimum or 0), high + 1, size=n)]
        else:
            scale = 10 ** (pf.decimals or 0)
            values = [float(v) / scale for v in rng.integers(0, 10**5, size=n)]
        if "" in pf.sentinels and n:
            values[int(rng.integers(n))] = None
        columns[lf.name] = pl.Series(lf.name, values, dtype=DTYPES[pf.type])
    return pl.DataFrame(columns)


@pytest.fixture
def puf_frame() -> pl.DataFrame:
    return make_puf_frame(25)


@pytest.fixture
def make_frame():
    """The frame builder itself, for tests that need another size, layout or seed."""
    return make_puf_frame
