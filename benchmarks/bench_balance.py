"""Benchmark: the weighted balance table at registry scale (run by hand, never from pytest).

`balance_table` (3 groups, 10 numeric + 20 three-level categorical covariates = 70 rows, before
and after weighting) next to the one-pass sums behind the same SMDs (n, Σx, Σx², Σw, Σwx, Σwx²
of every indicator / numeric row, per group and pooled) by one polars ``group_by().agg()`` in
the same run: what a dataframe engine needs at least (regsurv also makes the second, centred
pass R's two-pass variance needs). Target: 1,000,000 rows in 1 s. Best of ``--repeat`` runs;
CPU time is printed too (the wall time of a shared machine includes other jobs).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_balance.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_balance.py --rows 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import polars as pl
from bench_iptw import make_cohort

from regsurv.causal import balance_table


def best_of(repeat: int, fn) -> tuple[float, float, object]:
    """Best wall and best CPU seconds (this process, all threads) of ``repeat`` runs."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), out


def polars_moments(frame: pl.DataFrame, covariates: list[str]) -> pl.DataFrame:
    """Per-group and pooled sums behind the SMDs (n, Σx, Σx², Σw, Σwx, Σwx²) of every
    indicator / numeric row, by one polars ``group_by().agg()`` (one pass; multi-threaded)."""
    rows = []
    for column in covariates:
        dtype = frame.schema[column]
        if isinstance(dtype, pl.Enum):
            rows += [
                (pl.col(column) == v).cast(pl.Float64).alias(f"{column}={v}")
                for v in dtype.categories
            ]
        else:
            rows.append(pl.col(column))
    data = frame.select("treatment", "w", *rows)
    names = [c for c in data.columns if c not in ("treatment", "w")]
    w = pl.col("w")
    sums = [pl.len().alias("n"), w.sum().alias("sw")]
    for name in names:
        x = pl.col(name)
        sums += [
            x.sum().alias(f"{name}|sx"),
            (x * x).sum().alias(f"{name}|sxx"),
            (w * x).sum().alias(f"{name}|swx"),
            (w * x * x).sum().alias(f"{name}|swxx"),
        ]
    per_group = data.group_by("treatment").agg(sums).drop("treatment")
    return pl.concat([per_group, data.select(sums)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--covariates", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"bench_balance: {args.rows:,} rows x {args.covariates} covariates, 3 groups | "
        f"Python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}, "
        f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}), "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    frame, covariates = make_cohort(args.rows, args.covariates)
    frame = frame.with_columns(w=np.random.default_rng(7).uniform(0.2, 5.0, frame.height))
    ours, ours_cpu, table = best_of(
        args.repeat,
        lambda: balance_table(frame, treatment="treatment", covariates=covariates, weights="w"),
    )
    peer, peer_cpu, _ = best_of(args.repeat, lambda: polars_moments(frame, covariates))
    print(f"  {table!r}")
    print(f"  {'regsurv balance_table (70 rows)':<40s} wall {ours:6.3f} s  cpu {ours_cpu:6.3f} s")
    print(f"  {'polars group_by sums (peer)':<40s} wall {peer:6.3f} s  cpu {peer_cpu:6.3f} s")
    print(f"  ratio regsurv / polars: wall {ours / peer:.2f}  (target: regsurv <= 1 s at 1M rows)")


if __name__ == "__main__":
    main()
