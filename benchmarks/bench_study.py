"""Benchmark (run by hand): the whole study, PUF to report, wall time and peak memory.

    python benchmarks/bench_study.py                 # 82,987-row synthetic PUF
    python benchmarks/bench_study.py --rows 10000000 # 10 million rows (generated once, cached)

Each run happens in a fresh subprocess so that peak RSS (ru_maxrss of the child) is the run's
own. Targets (issue #10): 82,987 rows under 15 s; 10,000,000 rows under 3 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

CHILD = """
import json, sys, time
from pathlib import Path
from regsurv.pipeline.runner import run_study
start = time.perf_counter()
r = run_study(data=Path(sys.argv[1]), out_dir=Path(sys.argv[2]))
print(json.dumps({"wall": time.perf_counter() - start, "steps": r.durations,
                  "cohort": r.cohort.height, "errors": r.errors}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=82_987)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from regsurv.synth import cached_synthetic_puf

    t0 = time.perf_counter()
    data = cached_synthetic_puf(seed=args.seed, rows=args.rows)
    print(f"synthetic PUF ({args.rows:,} rows): {data} ready in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(data), f"{tmp}/report"],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"process wall {wall:.1f} s (run_study {result['wall']:.1f} s), peak RSS {peak_mb:.0f} MB"
    )
    print(f"cohort {result['cohort']:,} patients; errors: {result['errors'] or 'none'}")
    for step, seconds in result["steps"].items():
        print(f"  {step:<12} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
