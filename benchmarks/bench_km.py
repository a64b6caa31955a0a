"""Kaplan–Meier and log-rank at registry scale: regsurv next to lifelines and statsmodels.

Run by hand (never from pytest):

    python benchmarks/bench_km.py [--rows 1000000] [--repeats 3]

Data: ``rows`` patients, 3 arms, survival in integer months (0-120), about 70% deaths.
Timed (best of ``repeats`` wall-clock runs, input already in memory):
  * KM with pointwise CIs for the 3 arms: regsurv ``kaplan_meier`` (log-log CI) vs lifelines
    ``KaplanMeierFitter`` (log-log CI, fitted per arm) vs statsmodels ``SurvfuncRight``
    (per arm; S and its SE, no CI);
  * 3-group log-rank: regsurv ``logrank_test`` vs lifelines ``multivariate_logrank_test`` vs
    statsmodels ``survdiff``;
  * regsurv only: the IPTW-weighted KM (robust variance) and weighted log-rank (svylogrank).
The three implementations are also checked to agree (survival at 12/24/60 months, chi-square).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np
import polars as pl

from regsurv.survival import kaplan_meier, logrank_test

ARMS = ["SP alone", "Metastasectomy", "Non-surgical adjuvant"]


def make_data(rows: int, seed: int = 20240101) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(3, size=rows, p=[0.3, 0.17, 0.53])
    scale = np.array([14.0, 34.0, 28.0])[arm]
    death = np.floor(rng.weibull(0.8, rows) * scale)
    censor = np.floor(rng.uniform(0, 80, rows))
    months = np.minimum(np.minimum(death, censor), 120.0)
    event = (death <= np.minimum(censor, 120.0)).astype(np.int8)
    return pl.DataFrame(
        {
            "months": months,
            "death": event,
            "arm": pl.Series(np.array(ARMS)[arm]).cast(pl.Enum(ARMS)),
            "w": rng.uniform(0.4, 2.5, rows),
        }
    )


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    frame = make_data(args.rows)
    pdf = frame.to_pandas()
    t = frame["months"].to_numpy()
    e = frame["death"].to_numpy()
    g = frame["arm"].to_physical().to_numpy()
    masks = [g == k for k in range(3)]

    def ours_km():
        return kaplan_meier(frame, time="months", event="death", group="arm")

    def lifelines_km():
        fits = []
        for k, mask in enumerate(masks):
            kmf = KaplanMeierFitter(label=ARMS[k])
            fits.append(kmf.fit(pdf["months"][mask], pdf["death"][mask]))
        return fits

    def statsmodels_km():
        return [SurvfuncRight(t[mask], e[mask]) for mask in masks]

    def ours_lr():
        return logrank_test(frame, time="months", event="death", group="arm")

    def lifelines_lr():
        return multivariate_logrank_test(pdf["months"], pdf["arm"], pdf["death"])

    def statsmodels_lr():
        return survdiff(t, e, g)

    reps = args.repeats
    peer_reps = max(1, min(reps, 2))
    timings = {}
    timings["km", "regsurv"], km = best_of(ours_km, reps)
    timings["km", "lifelines"], ll_km = best_of(lifelines_km, peer_reps)
    timings["km", "statsmodels"], sm_km = best_of(statsmodels_km, peer_reps)
    timings["logrank", "regsurv"], lr = best_of(ours_lr, reps)
    timings["logrank", "lifelines"], ll_lr = best_of(lifelines_lr, peer_reps)
    timings["logrank", "statsmodels"], sm_lr = best_of(statsmodels_lr, peer_reps)
    t_wkm, _ = best_of(
        lambda: kaplan_meier(frame, time="months", event="death", group="arm", weights="w"), reps
    )
    t_wlr, _ = best_of(
        lambda: logrank_test(frame, time="months", event="death", group="arm", weights="w"), reps
    )

    # agreement: S(t) at 12, 24, 60 months per arm, and the chi-square
    at = km.at([12, 24, 60])
    ours_s = at["estimate"].to_numpy().reshape(3, 3)
    ll_s = np.array([[f.predict(x) for x in (12, 24, 60)] for f in ll_km])
    sm_s = np.array(
        [
            [f.surv_prob[np.searchsorted(f.surv_times, x, "right") - 1] for x in (12, 24, 60)]
            for f in sm_km
        ]
    )

    print(
        f"regsurv KM + log-rank benchmark: {args.rows:,} rows, 3 arms, integer months, "
        f"{e.mean():.0%} deaths; best of {reps} (peers: best of {peer_reps})"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}, "
        f"{platform.machine()}"
    )
    print("R is not installed here, so R (survfit / survdiff) is not timed.")
    print("Timings on a shared machine are noisy; compare the ratios within one run.\n")
    print(
        f"{'task':<34}{'regsurv':>10}{'lifelines':>12}{'statsmodels':>13}"
        f"{'lifelines/ours':>16}{'statsmodels/ours':>18}"
    )
    labels = {"km": "KM + CI, 3 arms", "logrank": "log-rank, 3 groups"}
    for task, label in labels.items():
        ours = timings[task, "regsurv"]
        ll, sm = timings[task, "lifelines"], timings[task, "statsmodels"]
        ratios = f"{ll / ours:>15.1f}x{sm / ours:>17.1f}x"
        print(f"{label:<34}{ours:>9.3f}s{ll:>11.3f}s{sm:>12.3f}s{ratios}")
    print(f"{'weighted KM (robust IJ), 3 arms':<34}{t_wkm:>9.3f}s{'-':>12}{'-':>13}")
    print(f"{'weighted log-rank (svylogrank)':<34}{t_wlr:>9.3f}s{'-':>12}{'-':>13}")
    print("\nagreement")
    print(
        f"  max |S_regsurv - S_lifelines|   at 12/24/60 months: {np.abs(ours_s - ll_s).max():.2e}"
    )
    print(
        f"  max |S_regsurv - S_statsmodels| at 12/24/60 months: {np.abs(ours_s - sm_s).max():.2e}"
    )
    print(
        f"  chi-square: regsurv {lr.statistic:.6f}, lifelines {ll_lr.test_statistic:.6f}, "
        f"statsmodels {sm_lr[0]:.6f}"
    )


if __name__ == "__main__":
    main()
