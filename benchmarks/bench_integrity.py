"""What the run path's file-integrity checks cost (run by hand).

    regsurv synth --rows 2000000 --format csv --out /tmp/puf.csv
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_integrity.py /tmp/puf_synthetic.csv

Each measurement runs in a fresh process (peak RSS is per process, read from `getrusage`):

* ``integrity``: `regsurv.io.check_integrity` on the fields the shipped study uses (CSV line
  structure pass + one pass over those fields: encoding, numbers, id hash);
* ``cohort (before)``: the cohort step without the checks (scan, the study's criteria, the
  analysis variables, collect), as `regsurv run` did before them;
* ``cohort (now)``: the cohort step as `regsurv run` does it now (integrity + the data-quality
  flow steps + the same work).

Prints wall seconds, peak RSS (MiB) and the ratio of the checks' time to the cohort step's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from regsurv.cohort import apply_criteria, build_cohort, compile_criteria, study_fields
from regsurv.cohort.derive import derive_analysis_variables
from regsurv.io import check_integrity, scan_puf
from regsurv.pipeline.spec import load_study

path, what = sys.argv[1], sys.argv[2]
spec = load_study()
rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
lf = scan_puf(path)
fields = study_fields(spec.cohort, lf.collect_schema().names())
if what == "integrity":
    report = check_integrity(path, fields=fields)
    n = report.n_rows
elif what == "before":
    kept, flow = apply_criteria(lf, compile_criteria(spec.cohort))
    n = derive_analysis_variables(kept, spec.cohort).collect().height
else:
    report = check_integrity(path, fields=fields)
    cohort, flow = build_cohort(lf, spec.cohort, duplicate_ids=report.duplicate_ids)
    n = cohort.collect().height
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "start_mib": rss_start / 1024,
                  "n": n}))
"""


def measure(path: str, what: str, child: str = CHILD) -> dict:
    """The JSON line that the script `child` prints, run in a fresh process on (path, what)."""
    done = subprocess.run(
        [sys.executable, "-c", child, path, what], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="PUF files (e.g. from regsurv synth)")
    args = parser.parse_args()
    print(f"{'file':<28} {'measure':<16} {'seconds':>8} {'peak MiB':>9} {'rows':>11}")
    for path in args.files:
        results = {what: measure(path, what) for what in ("integrity", "before", "now")}
        for what, label in (
            ("integrity", "integrity"),
            ("before", "cohort (before)"),
            ("now", "cohort (now)"),
        ):
            r = results[what]
            print(
                f"{path.rsplit('/', 1)[-1]:<28} {label:<16} {r['seconds']:>8.2f} "
                f"{r['peak_mib']:>9.0f} {r['n']:>11,}"
            )
        extra = results["now"]["seconds"] - results["before"]["seconds"]
        print(
            f"checks add {extra:.2f} s to the cohort step "
            f"({results['now']['seconds'] / results['before']['seconds']:.2f}x) and "
            f"{results['now']['peak_mib'] - results['before']['peak_mib']:+.0f} MiB peak"
        )


if __name__ == "__main__":
    main()
