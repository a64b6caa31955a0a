"""Benchmark: propensity-score matching at registry scale (run by hand, never from pytest).

Two groups: `match_nearest` (greedy 1:1 and 1:2 without replacement, 1:1 with replacement;
caliper 0.2 SD of the logit PS). Three groups: `match_triplets` (Rassen nearest-neighbour
triplets on a cKDTree; vector matching). The generalized propensity scores are simulated
directly (the PS fit is benchmarked in bench_iptw.py), either from continuous covariates
(almost no ties) or from the study's 8 categorical covariates (a few thousand distinct scores:
registry data, heavy ties). Target: triplets at 1,000,000 rows under 30 s.

Target (issue 18): triplets at 1,000,000 rows in 10 s. Peer for the triplets, measured in the same
run: the k-d tree floor of any tree-based triplet matcher (scipy ``cKDTree``: build the trees of
the two other groups once and query the 8 nearest of every reference unit in one batch); regsurv
rebuilds the trees of the still-available patients 32 times and widens searches one by one.
R MatchIt is not installed on the development machine (R is unavailable), so no R timings are
printed; with R, ``matchit(treat ~ ..., method = "nearest", caliper = 0.2)`` is the comparison.
Wall and CPU seconds are printed (a shared machine's wall time includes other jobs).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_matching.py     # 100,000 and 1,000,000 rows
    python benchmarks/bench_matching.py --rows 1000000 --only triplets --scenario continuous
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from scipy.spatial import cKDTree

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
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"  {label:<40s} wall {seconds:7.2f} s  cpu {cpu:7.2f} s   {out!r}"[:160], flush=True)
    return seconds


def kdtree_floor(P: np.ndarray, group: np.ndarray, k: int = 8) -> str:
    """Scaled logit coordinates, one tree per other group, one k-nearest query of the smallest
    group's units in the max norm within 0.2 SD: the floor of a tree-based triplet matcher."""
    logit = np.log(P) - np.log1p(-P)
    coords = logit / logit.std(axis=0, ddof=1)
    ref = int(np.argmin(np.bincount(group)))
    found = 0
    for other in (k for k in range(3) if k != ref):
        tree = cKDTree(coords[group == other], balanced_tree=False, compact_nodes=False)
        d, _ = tree.query(coords[group == ref], k=k, p=np.inf, distance_upper_bound=0.2)
        found += int(np.isfinite(d[:, 0]).sum())
    return f"{found:,} units with a neighbour"


def run(n: int, scenario: str, only: str) -> None:
    P, group = simulate(n, scenario)
    counts = np.bincount(group, minlength=3)
    print(
        f"\n{n:,} rows, {scenario} covariates: groups {counts.tolist()}, "
        f"{np.unique(P[:, 1]).size:,} distinct scores"
    )
    if only in ("all", "nearest"):
        pair = group < 2  # two groups: 1 (treated) vs 0
        ps = P[pair, 1] / (P[pair, 0] + P[pair, 1])
        g2 = group[pair]
        timed("nearest 1:1, largest first", lambda: match_nearest(ps, g2, order="largest"))
        timed("nearest 1:2, data order", lambda: match_nearest(ps, g2, ratio=2))
        timed("nearest 1:1 with replacement", lambda: match_nearest(ps, g2, replace=True))
    if only == "nearest":
        return
    ours = timed("triplets, rassen", lambda: match_triplets(P, group))
    floor = timed("peer: cKDTree floor (2 trees, 1 query)", lambda: kdtree_floor(P, group))
    print(f"  ratio rassen / cKDTree floor: {ours / floor:.1f}  (target: rassen <= 10 s)")
    timed(
        "triplets, rassen, random order",
        lambda: match_triplets(P, group, order="random", random_state=1),
    )
    timed("triplets, vector", lambda: match_triplets(P, group, method="vector", random_state=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scenario", choices=["continuous", "categorical", "both"], default="both")
    parser.add_argument("--only", choices=["all", "nearest", "triplets"], default="all")
    args = parser.parse_args()
    print(
        f"regsurv matching benchmark: Python {platform.python_version()}, numpy "
        f"{np.__version__}, {os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}); "
        "R MatchIt: not installed (no R timings)"
    )
    scenarios = ["continuous", "categorical"] if args.scenario == "both" else [args.scenario]
    for n in args.rows:
        for scenario in scenarios:
            run(n, scenario, args.only)


if __name__ == "__main__":
    main()
