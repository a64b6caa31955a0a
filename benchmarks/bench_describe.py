"""Timing of summary_table at registry scale (run by hand: python benchmarks/bench_describe.py)."""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from regsurv.describe import summary_table, trend_test


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(1)
    arms = ["SP alone", "Metastasectomy", "Non-surgical adjuvant therapies"]
    data = pl.DataFrame(
        {
            "treatment": pl.Series(rng.choice(arms, n), dtype=pl.Enum(arms)),
            "histology": pl.Series(rng.choice(list("ABCDEFGH"), n)),
            "sex": pl.Series(rng.choice(["Male", "Female", None], n)),
            "cdcc": rng.integers(0, 3, n).astype(float),
            "age": rng.normal(55, 14, n),
            "year_group": pl.Series(rng.choice(["2004-2006", "2007-2009", "2010-2014"], n)),
            "w": rng.uniform(0.5, 3, n),
        }
    )
    variables = ["histology", "sex", "cdcc", "age", "year_group"]
    for weights in (None, "w"):
        start = time.perf_counter()
        summary_table(
            data,
            group="treatment",
            variables=variables,
            weights=weights,
            kinds={"cdcc": "categorical"},
        )
        print(f"summary_table n={n:,} weights={weights}: {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    trend_test(data, variable="year_group", outcome="treatment", positive="Metastasectomy")
    print(f"trend_test n={n:,}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
