"""Time and peak memory of the synthetic PUF generator (run by hand, never from pytest).

    python benchmarks/bench_synth.py                      # 82,987 rows: frame, dat, csv, parquet
    python benchmarks/bench_synth.py --rows 1000000 10000000 --formats csv   # issue 18: 10M <= 60 s

Each measurement runs in a fresh subprocess so its peak RSS (getrusage ru_maxrss) is its own.
Reports wall and CPU seconds (CPU time is the fairer figure on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
rows, seed, fmt, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
import regsurv.synth as synth
synth.synthetic_puf(100, seed=seed)  # imports and parameter loading outside the timing
wall, cpu = time.perf_counter(), time.process_time()
if fmt == "frame":
    n = synth.synthetic_puf(rows, seed=seed).height
    size = 0
else:
    path = synth.write_synthetic_puf(Path(out) / f"bench.{fmt}", rows=rows, seed=seed, format=fmt)
    n, size = rows, path.stat().st_size
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": n, "format": fmt, "wall_s": wall, "cpu_s": cpu,
                  "peak_rss_mb": peak_mb, "file_mb": size / 2**20}))
"""


def measure(rows: int, seed: int, fmt: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(rows), str(seed), fmt, out],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[82_987])
    parser.add_argument("--formats", nargs="+", default=["frame", "dat", "csv", "parquet"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'rows':>12} {'format':>8} {'wall s':>8} {'cpu s':>8} {'peak MB':>9} {'file MB':>9}")
    for rows in args.rows:
        for fmt in args.formats:
            started = time.perf_counter()
            r = measure(rows, args.seed, fmt)
            print(
                f"{r['rows']:>12,} {fmt:>8} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
                f"{r['peak_rss_mb']:>9.0f} {r['file_mb']:>9.1f}   "
                f"(subprocess {time.perf_counter() - started:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
