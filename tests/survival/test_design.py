"""Design matrices against a cell-by-cell construction (R's model.matrix with contr.treatment)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from regsurv.survival._design import design_matrix, design_terms


def _by_cells(frame: pl.DataFrame, terms) -> np.ndarray:
    rows = frame.to_dicts()
    out = []
    for row in rows:
        values = []
        for term in terms:
            value = row[term.column]
            if term.kind == "numeric":
                values.append(float(value))
            else:
                values.extend(float(str(value) == level) for level in term.levels[1:])
        out.append(values)
    return np.array(out, dtype=float).reshape(len(rows), -1)


@pytest.mark.parametrize("reference", [None, {"stage": "III", "arm": "b"}])
def test_every_column_kind_equals_the_cell_by_cell_matrix(reference) -> None:
    rng = np.random.default_rng(5)
    n = 500
    stages = ["I", "II", "III", "IV"]
    frame = pl.DataFrame(
        {
            "stage": pl.Series(rng.choice(stages, n)).cast(pl.Enum(stages)),
            "arm": rng.choice(["a", "b", "c"], n),  # String: sorted levels
            "site": pl.Series(rng.choice(["x", "y"], n)).cast(pl.Categorical),
            "age": rng.normal(60, 10, n),
            "nodes": rng.integers(0, 20, n),
            "male": rng.random(n) < 0.5,
        }
    )
    terms = design_terms(frame, list(frame.columns), reference)
    got = design_matrix(frame, terms)
    assert got.shape == (n, 3 + 2 + 1 + 3) and got.flags.c_contiguous and got.flags.writeable
    np.testing.assert_array_equal(got, _by_cells(frame, terms))
    got[:] = 0.0  # the caller may centre it in place: the frame is not touched
    assert frame["age"].sum() != 0.0


def test_no_terms_give_an_empty_matrix() -> None:
    assert design_matrix(pl.DataFrame({"a": [1.0, 2.0]}), []).shape == (2, 0)
