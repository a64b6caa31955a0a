"""Chunked, deterministic driver: class allocation per chunk and one PCG64 stream per chunk."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from regsurv.synth._generate import generate_chunk
from regsurv.synth._parameters import CLASSES, class_counts

CHUNK_ROWS = 100_000  # rows per chunk: about 0.5 GB peak while generating


def iter_chunks(
    rows: int, seed: int, *, chunk_rows: int = CHUNK_ROWS, truth: bool = False
) -> Iterator[pl.DataFrame]:
    """The synthetic PUF of `rows` rows as frames of at most `chunk_rows` rows.

    Class totals are exact (`class_counts`); each chunk draws its share without replacement
    (multivariate hypergeometric) and its rows from its own PCG64 stream spawned from `seed`, so
    the file depends only on (rows, seed, chunk_rows), never on the machine.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    remaining = np.asarray(list(class_counts(rows).values()), dtype=np.int64)
    n_chunks = -(-rows // chunk_rows)
    streams = np.random.SeedSequence(seed).spawn(n_chunks + 1)
    allocate = np.random.Generator(np.random.PCG64(streams[0]))
    first = 0
    for k in range(n_chunks):
        size = min(chunk_rows, rows - first)
        if size < remaining.sum():
            take = allocate.multivariate_hypergeometric(remaining, size)
        else:
            take = remaining.copy()
        remaining -= take
        rng = np.random.Generator(np.random.PCG64(streams[k + 1]))
        cls = np.repeat(np.arange(len(CLASSES), dtype=np.int64), take)
        rng.shuffle(cls)
        yield generate_chunk(rng, cls, first_row=first, seed=seed, truth=truth)
        first += size
