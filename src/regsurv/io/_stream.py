"""Bounded-memory passes over a PUF text file: blocks of whole lines read by byte ranges.

A block is read with ``read()`` into a buffer (the file is never memory-mapped, whose touched
pages would count in the resident set) and cut after its last line end, so every line lies
whole in one block; each block is parsed by the same polars reader (and options) as a scan of
the whole file, so a pass over the blocks sees the same rows and values. Memory is one block
(`CHUNK_BYTES`) and its parsed columns, whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

CHUNK_BYTES = 16 << 20
OnProgress = Callable[[int, int], None]
"""``on_progress(done, total)``: bytes (text files) or rows (other formats) done of the total."""

_LINE_ENDS = (b"\r\n", b"\n")


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines of a file: `data` after `n_empty` leading empty lines; `end` is the file
    offset after the block (for progress)."""

    data: bytes
    n_empty: int
    end: int


def _block(data: bytes, end: int) -> Block:
    """Leading empty lines are split off: a polars reader given a block that starts with one
    guesses its field count from it (a scan of the whole file reads it as a row of nulls)."""
    start, n_empty = 0, 0
    while True:
        ending = next((e for e in _LINE_ENDS if data.startswith(e, start)), None)
        if ending is None:
            return Block(data[start:], n_empty, end)
        start += len(ending)
        n_empty += 1


def iter_blocks(
    path: Path, *, skip_header: bool, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Block]:
    """The file in blocks of about `chunk_bytes` bytes, each ending at a line end (the last
    block may end without one); with `skip_header` the first non-empty line is skipped."""
    with path.open("rb") as handle:
        if skip_header:
            line = handle.readline()
            while line and line in _LINE_ENDS:
                line = handle.readline()
        pending: list[bytes] = []  # the start of a line longer than a block: joined once
        while True:
            chunk = handle.read(chunk_bytes)
            if not chunk:
                if pending:
                    yield _block(b"".join(pending), handle.tell())
                return
            if chunk.rfind(b"\n") < 0:  # no line end yet
                pending.append(chunk)
                continue
            data = b"".join([*pending, chunk]) if pending else chunk
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            pending = [carry] if carry else []
            yield _block(data[:cut], handle.tell() - len(carry))


def contains_bytes(
    path: Path, needles: Sequence[bytes], chunk_bytes: int = CHUNK_BYTES
) -> list[bool]:
    """Whether the file holds each of `needles` (memchr-speed searches of buffered blocks; a
    needle across two blocks is found through the overlap kept between them)."""
    found = [False] * len(needles)
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as handle:
        while not all(found):
            chunk = handle.read(chunk_bytes)
            if not chunk:
                break
            data = tail + chunk
            for i, needle in enumerate(needles):
                found[i] = found[i] or data.find(needle) >= 0
            tail = data[-overlap:] if overlap else b""
    return found


def read_block(
    block: Block,
    schema: dict[str, pl.DataType],
    *,
    columns: Sequence[str] | None = None,
    **options,
) -> pl.DataFrame:
    """A block parsed by `pl.read_csv` (no header; `schema` names every field, `columns` the
    ones to parse); its leading empty lines come first as rows of nulls, as in a scan of the
    whole file."""
    names = list(schema) if columns is None else list(columns)
    if block.data:
        order = list(schema)
        positions = [order.index(n) for n in names]  # by position: no header in a block
        frame = pl.read_csv(
            block.data, has_header=False, schema=schema, columns=positions, **options
        ).select(names)
    else:
        frame = pl.DataFrame(schema={n: schema[n] for n in names})
    if block.n_empty:
        nulls = pl.DataFrame(
            {n: pl.Series(n, [None] * block.n_empty, dtype=schema[n]) for n in names}
        )
        frame = pl.concat([nulls, frame])
    return frame


def repeated_hashes(hashes: Sequence[pl.Series]) -> pl.Series:
    """The distinct 64-bit hashes held more than once (sorted: neighbours compared, so the
    memory is the hashes and one sorted copy, 16 bytes a row)."""
    if not hashes:
        return pl.Series("hash", [], dtype=pl.UInt64)
    values = pl.concat(list(hashes), rechunk=True).sort()
    if values.len() < 2:
        return values.clear()
    same = values.slice(1) == values.slice(0, values.len() - 1)
    return values.slice(1).filter(same).unique()
