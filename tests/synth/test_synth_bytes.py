"""Written synthetic files are byte-identical to the generator before its speed-ups (SHA-256 of
files written by commit 9ec048e), across chunk boundaries; the helpers behind the speed-ups
agree with the numpy operations they replace."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

from regsurv.synth import write_synthetic_puf
from regsurv.synth._generate import _string_series, _zfill
from regsurv.synth.generate import _ahead

# (rows, seed, format, chunk_rows) -> SHA-256 of the data file written at commit 9ec048e.
# Parquet is left out: its footer names the polars version.
PINNED = {
    (2_500, 0, "csv", 1_000): "85010292c9ea8989660349de1fad636ea7449857034036e9b2231104488a4bf0",
    (2_500, 3, "dat", 1_000): "f01f04f84de43360a2137dba8a3341e1131b71029a90b6f37e4b4cd21f8bc946",
    (1_200, 2, "csv", 100_000): "d1fbf042d2ea3af923eaaadc8ee17c93b8835a6cdd242052e092e663dfcab79d",
}


@pytest.mark.parametrize("case", list(PINNED), ids=lambda c: f"{c[2]}-{c[0]}-seed{c[1]}")
def test_written_bytes_unchanged(tmp_path, case):
    rows, seed, fmt, chunk_rows = case
    path = write_synthetic_puf(
        tmp_path / f"x.{fmt}", rows=rows, seed=seed, format=fmt, chunk_rows=chunk_rows
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PINNED[case]


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8])
def test_string_series_matches_python_conversion(width):
    rng = np.random.default_rng(width)
    alphabet = list("0123456789ABCcp ")
    pool = ["".join(rng.choice(alphabet, size=rng.integers(0, width + 1))) for _ in range(40)]
    values = np.asarray([*pool, ""], dtype=f"<U{width}")[rng.integers(0, len(pool) + 1, 3000)]
    expected = pl.Series("X", [v or None for v in values.tolist()], dtype=pl.String)
    assert _string_series("X", values).equals(expected)


@pytest.mark.parametrize("width", [1, 2, 3])
def test_zfill_matches_numpy(width):
    cases = [np.arange(10**width), np.asarray([-1, 0, 7]), np.asarray([10**width, 3])]
    for values in cases:
        got = _zfill(values.astype(np.int64), width)
        assert got.tolist() == np.char.zfill(values.astype(str), width).tolist()
    assert _zfill(np.empty(0, dtype=np.int64), width).size == 0


def test_ahead_keeps_order_and_raises_the_workers_error():
    assert list(_ahead(iter(range(7)))) == list(range(7))

    def broken():
        yield 1
        raise RuntimeError("chunk 2 failed")

    got = []
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        for item in _ahead(broken()):
            got.append(item)
    assert got == [1]


def test_ahead_stops_its_worker_when_the_consumer_stops():
    drawn = []

    def endless():
        k = 0
        while True:
            drawn.append(k)
            yield k
            k += 1

    stream = _ahead(endless())
    assert next(stream) == 0
    stream.close()
    assert len(drawn) <= 4  # the one consumed, at most depth=1 queued, one being put


def test_failed_write_stops_the_chunk_worker(tmp_path):
    import threading

    def fail(done: int) -> None:
        raise OSError(f"disk full after {done} rows")

    with pytest.raises(OSError, match="disk full after 1000 rows"):
        write_synthetic_puf(
            tmp_path / "x.csv", rows=5_000, format="csv", chunk_rows=1_000, on_rows=fail
        )
    assert not [t for t in threading.enumerate() if t.name == "synth-chunks"]
    assert not list(tmp_path.iterdir())  # nothing half-written left behind
