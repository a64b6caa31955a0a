"""Benchmark the PUF reader against plain polars and pandas CSV readers (run by hand).

    python benchmarks/bench_io.py                 # 1,000,000 rows x 150 columns
    python benchmarks/bench_io.py --rows 200000   # smaller, on a loaded machine
    python benchmarks/bench_io.py --repeat 3      # best of 3 runs per task (noisy machine)
    python benchmarks/bench_io.py --repeat 3 --only "read_puf(csv)" "all strings"   # issue 18

Target (issue 18): regsurv.read_puf(csv) <= 1.2 x polars.read_csv (all strings) at 1M x 150.
The runs of the tasks alternate (task 1, task 2, ..., then again), so a change of load on a
shared machine hits them alike; each line also gives the CPU seconds (all threads) of the task.

Generates (once, cached under benchmarks/_data/) a PUF-like CSV: the 71 fields of the 2016
layout with values drawn from the data dictionary plus code-like filler columns up to
`--columns`, and the same 71 fields as a fixed-width `.dat` + SAS program. Each task runs in
its own subprocess, which reports its wall time and peak resident memory (VmHWM of
/proc/self/status: the high-water mark of that process alone; ru_maxrss would inherit the
parent's across exec), so one task's allocations do not flatter or burden the next.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl

from regsurv.io import load_dictionary, write_puf

DATA_DIR = Path(__file__).resolve().parent / "_data"
CHUNK = 200_000


def _chunk(n: int, n_columns: int, rng: np.random.Generator, offset: int) -> pl.DataFrame:
    dictionary = load_dictionary()
    columns: dict[str, pl.Series] = {}
    for lf in dictionary.layouts["2016"].fields:
        pf = dictionary.fields[lf.name]
        if lf.name == "PUF_CASE_ID":
            ids = pl.Series(np.arange(offset, offset + n)).cast(pl.String).str.zfill(12)
            columns[lf.name] = ("CASE-" + ids).rename(lf.name)
        elif pf.type == "code":
            pool = pl.Series([c for c in pf.codes if len(c) <= lf.width] or ["X1"])
            columns[lf.name] = pool.gather(rng.integers(len(pool), size=n)).rename(lf.name)
        elif pf.type == "integer":
            high = int(min(pf.maximum or 10 ** (lf.width - 1), 10**lf.width - 1))
            values = rng.integers(int(pf.minimum or 0), high + 1, size=n)
            columns[lf.name] = pl.Series(lf.name, values, dtype=pl.Int64)
        else:
            scale = 10 ** (pf.decimals or 0)
            columns[lf.name] = pl.Series(lf.name, rng.integers(0, 10**5, size=n) / scale)
    for i in range(n_columns - len(columns)):
        pool = pl.Series(["1", "2", "3", "9", "01", "88"])
        name = f"FILLER_{i:03d}"
        columns[name] = pool.gather(rng.integers(len(pool), size=n)).rename(name)
    return pl.DataFrame(columns)


def generate(rows: int, n_columns: int) -> tuple[Path, Path]:
    """The cached CSV and `.dat` for `rows` x `n_columns`, generated in chunks."""
    DATA_DIR.mkdir(exist_ok=True)
    csv = DATA_DIR / f"puf_{rows}x{n_columns}.csv"
    dat = DATA_DIR / f"puf_{rows}.dat"
    if csv.exists() and dat.exists():
        return csv, dat
    rng = np.random.default_rng(20240101)
    layout_names = load_dictionary().layouts["2016"].names
    with csv.open("wb") as csv_out, dat.open("wb") as dat_out:
        for start in range(0, rows, CHUNK):
            frame = _chunk(min(CHUNK, rows - start), n_columns, rng, start)
            frame.write_csv(csv_out, include_header=start == 0)
            part = DATA_DIR / "_part.dat"
            write_puf(frame.select(layout_names), part)
            dat_out.write(part.read_bytes())
    (DATA_DIR / "_part.dat").unlink()
    (DATA_DIR / "_part.sas").rename(dat.with_suffix(".sas"))
    return csv, dat


# name -> (imports, timed statement)
TASKS = {
    "regsurv.read_puf(csv)": ("from regsurv.io import read_puf", "df = read_puf(SRC_CSV)"),
    "regsurv.convert_puf(csv -> parquet)": (
        "from regsurv.io import convert_puf",
        "convert_puf(SRC_CSV, OUT)",
    ),
    "regsurv.read_puf(dat)": ("from regsurv.io import read_puf", "df = read_puf(SRC_DAT)"),
    "regsurv.convert_puf(dat -> parquet)": (
        "from regsurv.io import convert_puf",
        "convert_puf(SRC_DAT, OUT)",
    ),
    "polars scan_csv -> sink_parquet (strings)": (
        "import polars as pl",
        "pl.scan_csv(SRC_CSV, infer_schema=False).sink_parquet(OUT)",
    ),
    "polars.read_csv (inferred types)": ("import polars as pl", "df = pl.read_csv(SRC_CSV)"),
    "polars.read_csv (all strings)": (
        "import polars as pl",
        "df = pl.read_csv(SRC_CSV, infer_schema=False)",
    ),
    "pandas.read_csv (inferred types)": ("import pandas as pd", "df = pd.read_csv(SRC_CSV)"),
    "pandas.read_csv (dtype=str)": ("import pandas as pd", "df = pd.read_csv(SRC_CSV, dtype=str)"),
}


def run_task(setup: str, statement: str, csv: Path, dat: Path) -> dict[str, float]:
    """Run `statement` in a fresh interpreter after `setup` (imports, not timed); wall seconds,
    peak RSS of that process and the RSS after the imports (MiB)."""
    out = DATA_DIR / "_bench_out.parquet"
    script = textwrap.dedent(
        f"""
        import json, re, time
        def high_water_mib():
            with open("/proc/self/status") as status:
                return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1)) / 1024
        SRC_CSV, SRC_DAT, OUT = {str(csv)!r}, {str(dat)!r}, {str(out)!r}
        {setup}
        base = high_water_mib()
        start, cpu0 = time.perf_counter(), time.process_time()
        {statement}
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        print(json.dumps({{"wall_s": wall, "cpu_s": cpu, "peak_mib": high_water_mib(),
                          "import_mib": base}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    out.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=1, help="runs per task; the fastest counts")
    parser.add_argument("--only", nargs="+", help="run the tasks whose name contains one of these")
    args = parser.parse_args()
    t0 = time.perf_counter()
    csv, dat = generate(args.rows, args.columns)
    print(
        f"data: {csv.name} ({csv.stat().st_size / 2**20:,.0f} MiB), {dat.name} "
        f"({dat.stat().st_size / 2**20:,.0f} MiB); ready in {time.perf_counter() - t0:.1f} s"
    )
    names = [n for n in TASKS if not args.only or any(o in n for o in args.only)]
    if "polars.read_csv (all strings)" not in names:
        names.append("polars.read_csv (all strings)")  # the reference of every ratio
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _ in range(args.repeat):
        for name in names:
            runs[name].append(run_task(*TASKS[name], csv, dat))
    results = {name: min(r, key=lambda x: x["wall_s"]) for name, r in runs.items()}
    base = results["polars.read_csv (all strings)"]
    print(
        f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {args.repeat}"
    )
    header = (
        f"{'task':42s} {'wall s':>7s} {'cpu s':>7s} {'peak MiB':>9s} {'imports':>8s} "
        f"{'x wall':>7s} {'x cpu':>6s} {'x mem':>6s}"
    )
    print(header)
    for name, r in results.items():
        print(
            f"{name:42s} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['peak_mib']:9.0f} "
            f"{r['import_mib']:8.0f} {r['wall_s'] / base['wall_s']:7.2f} "
            f"{r['cpu_s'] / base['cpu_s']:6.2f} {r['peak_mib'] / base['peak_mib']:6.2f}"
        )
    print("\nratios relative to polars.read_csv (all strings), the same parse without conversion")


if __name__ == "__main__":
    main()
