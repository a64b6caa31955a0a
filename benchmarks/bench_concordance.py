"""Benchmark the Cox concordance (Harrell's C with R's counts and SE) against R and lifelines.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_concordance.py [--rows 135000 1000000]

Registry-like data: survival months with two decimals (a few thousand distinct event times)
or whole months (about 120), a linear predictor of categorical covariates (a few hundred
distinct values) or a continuous one (every value distinct), case weights. Times the kernel
`concordance_counts` (what `CoxResult.concordance` calls), beside R `survival::concordance`
on a `coxph` fit's linear predictor (`concordancefit` with weights, timed inside R; when
`Rscript` is on the PATH) and lifelines' `concordance_index` (unweighted, no SE) measured in
the same run, with the ratios, and checks the counts and SE against R's.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from bench_cox import timed  # the scripts run from benchmarks/ or the repository root

from regsurv.survival._cox_concordance import concordance_counts


def simulate(n: int, *, months: str, eta: str, seed: int = 20261203) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    if eta == "categorical":
        levels = [rng.integers(0, k, n) for k in (3, 4, 5, 2, 3)]
        lp = sum(0.2 * (j + 1) * codes for j, codes in enumerate(levels)) / 5.0
    else:
        lp = rng.normal(size=n)
    time = rng.exponential(30.0 * np.exp(-lp))
    time = np.round(time, 2) if months == "decimal" else np.ceil(time)
    censor = rng.uniform(0, 150, n)
    return {
        "time": np.minimum(time, np.ceil(censor)),
        "event": (time <= censor).astype(float),
        "eta": lp,
        "weight": rng.uniform(0.5, 2.0, n),
        "stratum": np.zeros(n, dtype=np.int64),
    }


def _r_concordance(data: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    """Seconds of R's concordance call (timed inside R) and its counts and SE."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        columns = ("time", "event", "eta", "weight")
        np.savetxt(
            path, np.column_stack([data[c] for c in columns]), delimiter=",",
            header=",".join(columns), comments="", fmt="%.17g",
        )  # fmt: skip
        script = (
            f"suppressMessages(library(survival)); d <- read.csv('{path}'); "
            "t0 <- proc.time()[['elapsed']]; "
            "f <- concordance(Surv(time, event) ~ eta, data = d, weights = weight, "
            "reverse = TRUE); "
            "cat(sprintf('%.17g', c(proc.time()[['elapsed']] - t0, f$count[1:5], "
            "f$concordance, sqrt(f$var))), sep = '\\n')"
        )
        out = subprocess.run(
            ["Rscript", "-e", script], capture_output=True, text=True, check=True
        ).stdout.split()
    keys = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy", "concordance", "std_error")
    return float(out[0]), dict(zip(keys, map(float, out[1:]), strict=True))


def run(n: int, months: str, eta: str) -> None:
    data = simulate(n, months=months, eta=eta)
    n_times = len(np.unique(data["time"][data["event"] > 0]))
    label = f"n={n:>9,} {months:>7} months ({n_times:>5} event times), {eta:>11} eta"
    ours_s, ours = timed(lambda: concordance_counts(**data), repeat=3)
    line = f"{label}  ours {ours_s:7.3f} s"
    if shutil.which("Rscript"):
        r_s, r = _r_concordance(data)
        worst = max(abs(ours[k] - r[k]) / abs(r[k]) if r[k] else abs(ours[k]) for k in r)
        line += f"  R {r_s:7.3f} s ({r_s / ours_s:5.1f}x)  max rel diff vs R {worst:.1e}"
    else:
        line += "  R: Rscript not found (not measured)"
    try:
        from lifelines.utils import concordance_index
    except ImportError:
        print(line + "  lifelines: not installed")
        return
    # lifelines: higher score = longer survival, so pass -eta; unweighted, no SE
    ll_s, _ = timed(lambda: concordance_index(data["time"], -data["eta"], data["event"]), repeat=1)
    print(line + f"  lifelines {ll_s:7.3f} s ({ll_s / ours_s:5.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[135_000, 1_000_000])
    args = parser.parse_args()
    for n in args.rows:
        for months, eta in (("decimal", "categorical"), ("whole", "categorical"),
                            ("decimal", "continuous")):  # fmt: skip
            run(n, months, eta)


if __name__ == "__main__":
    main()
