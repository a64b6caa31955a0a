"""Benchmark: propensity-score matching at registry scale (run by hand, never from pytest).

Two groups: `match_nearest` (greedy 1:1 and 1:2 without replacement, 1:1 with replacement;
caliper 0.2 SD of the logit PS). Three groups: `match_triplets` (Rassen nearest-neighbour
triplets on a cKDTree; vector matching). The generalized propensity scores are simulated
directly (the PS fit is benchmarked in bench_iptw.py), either from continuous covariates
(almost no ties) or from the study's 8 categorical covariates (a few thousand distinct scores:
registry data, heavy ties). Target: triplets at 1,000,000 rows under 30 s.

R MatchIt is not installed on the development machine (R is unavailable), so no R timings are
printed; with R, ``matchit(treat ~ ..., method = "nearest", caliper = 0.2)`` is the comparison.

    python benchmarks/bench_matching.py                      # 100,000 and 1,000,000 rows
    python benchmarks/bench_matching.py --rows 100000 --scenario categorical
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from regsurv.causal import match_nearest, match_triplets

LEVELS = (3, 2, 3, 2, 4, 3, 2, 2)  # insurance, sex, race, cdcc, grade, year group, age, nodes


def simulate(n: int, scenario: str, seed: int = 20220107) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) multinomial-logit GPS and groups drawn from it (shares about 50/30/20%)."""
    rng = np.random.default_rng(seed)
    if scenario == "continuous":
        x = rng.normal(size=(n, 4))
        linear = x @ rng.normal(0, 0.4, (4, 2))
    else:
        linear = np.zeros((n, 2))
        for k in LEVELS:
            code = rng.integers(0, k, n)
            linear += rng.normal(0, 0.35, (k, 2))[code]
    eta = np.column_stack([np.zeros(n), linear + np.array([-0.5, -0.9])])
    P = np.exp(eta - eta.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    group = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    return P, group


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<40s} {seconds:8.2f} s   {out!r}"[:150], flush=True)
    return seconds


def run(n: int, scenario: str) -> None:
    P, group = simulate(n, scenario)
    counts = np.bincount(group, minlength=3)
    print(
        f"\n{n:,} rows, {scenario} covariates: groups {counts.tolist()}, "
        f"{np.unique(P[:, 1]).size:,} distinct scores"
    )
    pair = group < 2  # two groups: 1 (treated) vs 0
    ps = P[pair, 1] / (P[pair, 0] + P[pair, 1])
    g2 = group[pair]
    timed("nearest 1:1, largest first", lambda: match_nearest(ps, g2, order="largest"))
    timed("nearest 1:2, data order", lambda: match_nearest(ps, g2, ratio=2))
    timed("nearest 1:1 with replacement", lambda: match_nearest(ps, g2, replace=True))
    timed("triplets, rassen", lambda: match_triplets(P, group))
    timed(
        "triplets, rassen, random order",
        lambda: match_triplets(P, group, order="random", random_state=1),
    )
    timed("triplets, vector", lambda: match_triplets(P, group, method="vector", random_state=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scenario", choices=["continuous", "categorical", "both"], default="both")
    args = parser.parse_args()
    print(
        f"regsurv matching benchmark: Python {platform.python_version()}, numpy "
        f"{np.__version__}, {os.cpu_count()} CPUs; R MatchIt: not installed (no R timings)"
    )
    scenarios = ["continuous", "categorical"] if args.scenario == "both" else [args.scenario]
    for n in args.rows:
        for scenario in scenarios:
            run(n, scenario)


if __name__ == "__main__":
    main()
