"""What `validate_puf` costs on a large CSV, beside a plain polars pass (run by hand; issue 18).

    regsurv synth --rows 10000000 --format csv --out /tmp/puf.csv
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_validate.py /tmp/puf_synthetic.csv

Each measurement runs in a fresh process, which reports its wall seconds and peak resident
memory (VmHWM of /proc/self/status, that process alone; the file's pages that a reader maps
into memory count there too):

* ``validate``: `regsurv.io.validate_puf` (the CSV structure check and the dictionary checks,
  one pass over the file in blocks of whole lines);
* ``structure``: `regsurv.io.integrity.check_csv_structure` alone (the run path's pass);
* ``peer``: ``polars.scan_csv(path, infer_schema=False).select(pl.len()).collect()``, the
  cheapest pass a reader makes over every line.

Target (issue 18): validate <= 1 GB peak at 10M rows. Prints seconds, peak MiB, rows, and the
ratios of validate to the peer.
"""

from __future__ import annotations

import argparse

from bench_integrity import measure  # the scripts run from benchmarks/ or the repository root

CHILD = r"""
import json, sys, time
from pathlib import Path

def peak_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, what = sys.argv[1], sys.argv[2]
import polars as pl
from regsurv.io import validate_puf
from regsurv.io.integrity import check_csv_structure
start_mib = peak_mib()
start = time.perf_counter()
if what == "validate":
    n = validate_puf(path).n_obs
elif what == "structure":
    n = check_csv_structure(Path(path))["n"]
else:
    n = pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib(), "start_mib": start_mib, "n": n}))
"""

MEASURES = ("validate", "structure", "peer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="PUF CSV files (e.g. from regsurv synth)")
    parser.add_argument("--skip-structure", action="store_true", help="validate and peer only")
    args = parser.parse_args()
    measures = [m for m in MEASURES if not (args.skip_structure and m == "structure")]
    print(f"{'file':<28} {'measure':<10} {'seconds':>8} {'peak MiB':>9} {'rows':>11}")
    for path in args.files:
        results = {what: measure(path, what, CHILD) for what in measures}
        for what in measures:
            r = results[what]
            print(
                f"{path.rsplit('/', 1)[-1]:<28} {what:<10} {r['seconds']:>8.2f} "
                f"{r['peak_mib']:>9.0f} {r['n']:>11,}"
            )
        v, p = results["validate"], results["peer"]
        print(
            f"validate / peer: {v['seconds'] / p['seconds']:.1f}x the time, "
            f"{v['peak_mib'] / p['peak_mib']:.2f}x the peak memory "
            f"(process start: {v['start_mib']:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
