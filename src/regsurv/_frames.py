"""Frame boundary: public functions accept polars or pandas and work on polars inside."""

from __future__ import annotations

import math
from typing import Any

import polars as pl


def to_polars(data: Any) -> pl.DataFrame:
    """Return `data` as a polars DataFrame (pandas frames are converted, Categorical columns to
    ``Enum`` in their declared order; LazyFrames are collected)."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        frame = pl.from_pandas(data)
        # pl.from_pandas loses the declared order of Categorical columns; keep it as Enum levels
        # (the first category is the reference level everywhere in regsurv).
        casts = [
            pl.col(str(column)).cast(pl.String).cast(pl.Enum([str(c) for c in dtype.categories]))
            for column, dtype in data.dtypes.items()
            if isinstance(dtype, pd.CategoricalDtype)
        ]
        return frame.with_columns(casts) if casts else frame
    raise TypeError(f"expected a polars or pandas DataFrame, got {type(data).__name__}")


def json_columns(frame: pl.DataFrame) -> dict[str, list[Any]]:
    """A frame as ``{column: values}`` for JSON: non-finite floats (NaN, ±inf) become None."""
    return {
        name: [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]
        for name, values in frame.to_dict(as_series=False).items()
    }
