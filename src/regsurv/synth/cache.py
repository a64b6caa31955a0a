"""A cache of generated synthetic PUFs, so `regsurv run` without --data starts at once."""

from __future__ import annotations

import os
from pathlib import Path

from regsurv.synth.generate import PUF_ROWS, Format, package_version, write_synthetic_puf

CACHE_ENV = "REGSURV_CACHE_DIR"


def cache_dir() -> Path:
    """``$REGSURV_CACHE_DIR``, else ``$XDG_CACHE_HOME/regsurv``, else ``~/.cache/regsurv``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "regsurv"


def cached_synthetic_puf(
    *, seed: int = 0, rows: int = PUF_ROWS, format: Format = "parquet"
) -> Path:
    """Path of the synthetic PUF for (seed, rows, package version), generated on first use.

    The file is written to a temporary name and renamed, so a crashed or concurrent run never
    leaves a half-written file under the cached name.
    """
    name = f"ncdb_puf2014_sts_synthetic_seed{seed}_rows{rows}_v{package_version()}.{format}"
    path = cache_dir() / name
    if path.is_file():
        return path
    return write_synthetic_puf(path, rows=rows, seed=seed, format=format)
