"""regsurv.synth: a synthetic NCDB PUF 2014 soft-tissue-sarcoma file with known truth.

- `synthetic_puf(rows, seed=, truth=)` -> typed polars frame; `iter_synthetic_puf` in chunks;
  `synthetic_cohort_puf(n, seed=)` -> only eligible rows (fast checks, recovery at large n);
  `write_synthetic_puf(path, rows=, seed=, format=)` through `regsurv.io.write_puf`.
- `true_parameters()` -> `TrueParameters` (Table 3 log hazard ratios, baseline, class sizes).
- `cached_synthetic_puf(seed=, rows=)` -> Path under the user cache dir (default data of
  `regsurv run`).
- `check_synthetic_puf(data)` -> `SynthCheck`: every published figure next to the generated one
  (`check_synthetic_cohort(cohort)`: the cohort-level figures of a derived cohort).
The model and every choice behind it: docs/synthetic_puf.md; parameters:
studies/sts_metastasectomy.synth.toml.
"""

from regsurv.synth.cache import cache_dir, cached_synthetic_puf
from regsurv.synth.check import (
    SynthCheck,
    TargetCheck,
    build_synthetic_cohort,
    check_synthetic_cohort,
    check_synthetic_puf,
)
from regsurv.synth.generate import (
    FORMATS,
    PUF_ROWS,
    TRUTH_COLUMNS,
    iter_synthetic_puf,
    synthetic_cohort_puf,
    synthetic_path,
    synthetic_puf,
    write_synthetic_puf,
)
from regsurv.synth.truth import TrueParameters, true_parameters

__all__ = [
    "FORMATS",
    "PUF_ROWS",
    "TRUTH_COLUMNS",
    "SynthCheck",
    "TargetCheck",
    "TrueParameters",
    "build_synthetic_cohort",
    "cache_dir",
    "cached_synthetic_puf",
    "check_synthetic_cohort",
    "check_synthetic_puf",
    "iter_synthetic_puf",
    "synthetic_cohort_puf",
    "synthetic_path",
    "synthetic_puf",
    "true_parameters",
    "write_synthetic_puf",
]
