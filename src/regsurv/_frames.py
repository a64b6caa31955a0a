"""Frame boundary: public functions accept polars or pandas and work on polars inside."""

from __future__ import annotations

from typing import Any

import polars as pl


def to_polars(data: Any) -> pl.DataFrame:
    """Return `data` as a polars DataFrame (pandas frames are converted; LazyFrames collected)."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return pl.from_pandas(data)
    raise TypeError(f"expected a polars or pandas DataFrame, got {type(data).__name__}")
