"""Synthetic NCDB soft-tissue-sarcoma PUF: frames in memory, or files written in chunks."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from regsurv.synth._chunks import CHUNK_ROWS, iter_chunks
from regsurv.synth._generate import TRUTH_COLUMNS, generate_chunk
from regsurv.synth._parameters import CLASSES, COHORT_CLASSES, class_counts, load_parameters

PUF_ROWS = 82_987  # the paper's NCDB sarcoma PUF
LAYOUT = "2013"  # PUF 2014 carries CDCC_TOTAL (renamed CDCC_TOTAL_BEST in PUF 2015): 2013 shape
Format = Literal["dat", "csv", "parquet"]
FORMATS: tuple[str, ...] = ("dat", "csv", "parquet")
MARK = "synthetic"
COHORT_STREAM = 1124  # second word of the seed of `synthetic_cohort_puf` (a stream of its own)


def package_version() -> str:
    try:
        return version("regsurv")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def synthetic_puf(rows: int = PUF_ROWS, *, seed: int = 0, truth: bool = False) -> pl.DataFrame:
    """A synthetic PUF 2014 soft-tissue file as a typed frame (docs/contracts.md, io section).

    `truth=True` appends the model's latent values (columns starting ``synth_``: row class,
    group, 8-way treatment, histology group, latent facility type / size / margins, event time,
    linear predictor) for tests; they are not PUF fields and are never written to files.
    Deterministic for (rows, seed) on any machine (numpy PCG64).
    """
    return pl.concat(list(iter_chunks(rows, seed, truth=truth)), how="vertical")


def synthetic_cohort_puf(n: int = 1124, *, seed: int = 0, truth: bool = False) -> pl.DataFrame:
    """PUF rows of eligible patients only: `n` rows that the study's criteria all keep, in the
    three groups in the published proportions (exact, largest remainder), drawn from the same
    model as `synthetic_puf`. For fast calibration checks and large-sample recovery tests."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    counts = class_counts(load_parameters()["population"]["reference_rows"])
    sizes = np.asarray([counts[c] for c in COHORT_CLASSES], dtype=float)
    exact = sizes / sizes.sum() * n
    take = np.floor(exact).astype(np.int64)
    take[np.argsort(-(exact - take), kind="stable")[: n - take.sum()]] += 1
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, COHORT_STREAM])))
    cls = np.repeat([CLASSES.index(c) for c in COHORT_CLASSES], take)
    rng.shuffle(cls)
    return generate_chunk(rng, cls, first_row=0, seed=seed, truth=truth)


def iter_synthetic_puf(
    rows: int = PUF_ROWS, *, seed: int = 0, chunk_rows: int = CHUNK_ROWS, truth: bool = False
) -> Iterator[pl.DataFrame]:
    """The same rows as `synthetic_puf`, as frames of at most `chunk_rows` rows (bounded memory).

    Only `chunk_rows` = the default reproduces `synthetic_puf` exactly.
    """
    return iter_chunks(rows, seed, chunk_rows=chunk_rows, truth=truth)


def synthetic_path(path: str | Path) -> Path:
    """`path`, with ``_synthetic`` added to the file name unless it already says synthetic."""
    path = Path(path)
    if MARK in path.name.lower():
        return path
    return path.with_name(f"{path.stem}_{MARK}{path.suffix}")


def readme_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.README.txt")


def write_synthetic_puf(
    path: str | Path,
    *,
    rows: int = PUF_ROWS,
    seed: int = 0,
    format: Format = "dat",
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> Path:
    """Write a synthetic PUF through `regsurv.io.write_puf`, chunk by chunk (bounded memory).

    ``on_rows(n)``, when given, is called after each chunk with the number of rows written so
    far (a progress bar).

    ``dat``: fixed width (PUF 2013/2014 layout) plus the SAS load program ``<stem>.sas``; ``csv``
    and ``parquet`` as `write_puf` writes them. The file name always contains "synthetic" (added
    if missing) and a one-line ``<stem>.README.txt`` beside it says what the file is. Returns the
    data file's path.
    """
    from regsurv.io import write_puf

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    out = synthetic_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ahead = _ahead(iter_chunks(rows, seed, chunk_rows=chunk_rows))
    chunks = _counted(ahead, on_rows)
    with closing(ahead), tempfile.TemporaryDirectory(prefix=".synth-", dir=out.parent) as tmp_name:
        tmp = Path(tmp_name)
        staged = tmp / out.name
        if format == "parquet":
            parts = [
                write_puf(chunk, tmp / f"part{k:05d}.parquet", format="parquet")
                for k, chunk in enumerate(chunks)
            ]
            pl.scan_parquet(parts).sink_parquet(staged, row_group_size=chunk_rows)
        else:
            first = tmp / "first" / out.name  # the SAS program written with it names the file
            first.parent.mkdir()
            with staged.open("wb") as sink:
                for k, chunk in enumerate(chunks):
                    target = first if k == 0 else tmp / f"part.{format}"
                    write_puf(chunk, target, format=format, layout=LAYOUT)
                    _append(sink, target, skip_header=format == "csv" and k > 0)
                    target.unlink()
            if format == "dat":
                first.with_suffix(".sas").replace(out.with_suffix(".sas"))
        staged.replace(out)
    readme_path(out).write_text(_readme_line(out, rows, seed) + "\n", encoding="utf-8")
    return out


def _ahead(chunks: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`chunks` unchanged and in order, the next one drawn by a worker thread while the
    consumer handles this one (numpy generation beside the polars write; both release the GIL
    for most of their work). Memory: at most 2 chunks. An error of the worker is raised here;
    a consumer that stops early leaves no chunk being drawn."""
    from concurrent.futures import ThreadPoolExecutor

    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="synth-chunks") as pool:
        pending = pool.submit(next, chunks, done)
        while (item := pending.result()) is not done:
            pending = pool.submit(next, chunks, done)
            yield item


def _counted(
    chunks: Iterator[pl.DataFrame], on_rows: Callable[[int], None] | None
) -> Iterator[pl.DataFrame]:
    """`chunks` unchanged, reporting the running row count after each one is consumed."""
    done = 0
    for chunk in chunks:
        yield chunk
        done += chunk.height
        if on_rows is not None:
            on_rows(done)


def _append(sink, part: Path, *, skip_header: bool) -> None:
    with part.open("rb") as source:
        if skip_header:
            source.readline()
        shutil.copyfileobj(source, sink, length=1 << 20)


def _readme_line(path: Path, rows: int, seed: int) -> str:
    puf_year = load_parameters()["population"]["puf_year"]
    return (
        f"{path.name}: SYNTHETIC data, not NCDB data - {rows:,} rows drawn by regsurv "
        f"{package_version()} (regsurv synth, seed {seed}) to mimic an NCDB PUF {puf_year} "
        "soft-tissue file; see docs/synthetic_puf.md."
    )


__all__ = [
    "FORMATS",
    "PUF_ROWS",
    "TRUTH_COLUMNS",
    "iter_synthetic_puf",
    "synthetic_cohort_puf",
    "synthetic_path",
    "synthetic_puf",
    "write_synthetic_puf",
]
