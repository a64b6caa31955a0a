"""Bounded-memory passes: a file read in tiny blocks gives the report of the file read whole."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from regsurv.io import PufError, validate_puf, write_puf
from regsurv.io._stream import iter_blocks, repeated_hashes
from regsurv.io.integrity import check_csv_structure

WHOLE = 1 << 30  # one block: the file read whole
TINY = 200  # about one record a block: every row boundary is a block boundary somewhere


def _damaged(make_frame, n: int = 120) -> pl.DataFrame:
    """Rows with duplicated ids (rows 3, 60, 61 share one id; 90 and 119 another), codes
    outside the dictionary and non-numeric text far apart, so they fall in different blocks."""
    frame = make_frame(n, seed=3).with_columns(pl.col("AGE").cast(pl.String))
    ids = frame["PUF_CASE_ID"].to_list()
    ids[59] = ids[60] = ids[2]
    ids[118] = ids[89]
    sex = frame["SEX"].to_list()
    sex[10], sex[100], sex[110] = "7", "8", "7"
    age = frame["AGE"].to_list()
    age[5], age[115] = "4x", "old"
    return frame.with_columns(
        pl.Series("PUF_CASE_ID", ids), pl.Series("SEX", sex), pl.Series("AGE", age)
    )


def _csv(tmp_path: Path, frame: pl.DataFrame, name: str = "puf.csv") -> Path:
    path = tmp_path / name
    frame.write_csv(path)
    return path


@pytest.mark.parametrize("padded", [False, True])
def test_tiny_blocks_give_the_report_of_the_whole_file(
    tmp_path: Path, padded: bool, make_frame
) -> None:
    path = _csv(tmp_path, _damaged(make_frame))
    if padded:  # a padded field and empty lines (rows of nulls), one at a block's start
        lines = path.read_text().splitlines()
        lines[7] = lines[7].replace(",", ", ", 1)
        path.write_text("\n".join([*lines[:40], "", "", *lines[40:], ""]) + "\n")
    whole = validate_puf(path, chunk_bytes=WHOLE)
    blocks = validate_puf(path, chunk_bytes=TINY)
    assert blocks.to_dict() == whole.to_dict()
    assert len(list(iter_blocks(path, skip_header=True, chunk_bytes=TINY))) > 50
    assert whole.n_obs == (123 if padded else 120)
    dup = next(i for i in whole.issues if i.check == "duplicate_id")
    ids = _damaged(make_frame)["PUF_CASE_ID"]
    assert (dup.n_rows, dup.examples) == (5, (ids[2], ids[89]))
    sex = next(f for f in whole.fields if f.name == "SEX")
    assert (sex.n_invalid, sex.invalid_examples) == (3, ("7", "8"))
    age = next(i for i in whole.issues if i.field == "AGE" and i.check == "numeric")
    assert (age.n_rows, age.examples) == (2, ("4x", "old"))


def test_tiny_blocks_of_a_fixed_width_file(tmp_path: Path, make_frame) -> None:
    frame = _damaged(make_frame).with_columns(pl.col("AGE").cast(pl.Int64, strict=False))
    path = write_puf(frame, tmp_path / "puf.dat")
    with path.open("ab") as f:
        f.write(b"SHORT RECORD\n")
    whole = validate_puf(path, chunk_bytes=WHOLE)
    assert validate_puf(path, chunk_bytes=TINY).to_dict() == whole.to_dict()
    length = next(i for i in whole.issues if i.check == "record_length")
    assert (length.n_rows, length.examples) == (1, ("12",))
    assert "e.g. record 121 has 12" in length.message
    assert whole.n_duplicate_ids == 5


def test_structure_errors_name_the_same_rows_in_blocks(tmp_path: Path, make_frame) -> None:
    lines = _csv(tmp_path, make_frame(80, seed=1)).read_text().splitlines()
    lines[3] += ",x"
    lines[70] = lines[70].rsplit(",", 1)[0]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join(lines) + "\n")
    with pytest.raises(PufError) as whole:
        validate_puf(ragged, chunk_bytes=WHOLE)
    with pytest.raises(PufError) as blocks:
        validate_puf(ragged, chunk_bytes=TINY)
    assert str(blocks.value) == str(whole.value)
    assert "2 rows do not have the header's" in str(whole.value)
    assert "rows 3, 70 have" in str(whole.value)
    lines[3] = lines[3][:-2]
    lines[70] += ',"x'
    quoted = tmp_path / "quote.csv"
    quoted.write_text("\n".join(lines) + "\n")
    with pytest.raises(PufError, match=r"1 row holds an unbalanced quote \(row 70\)"):
        check_csv_structure(quoted, chunk_bytes=TINY)


def test_repeated_ids_of_the_structure_pass_in_blocks(tmp_path: Path, make_frame) -> None:
    path = _csv(tmp_path, _damaged(make_frame))
    ids = _damaged(make_frame)["PUF_CASE_ID"]
    whole = check_csv_structure(path, chunk_bytes=WHOLE)
    blocks = check_csv_structure(path, chunk_bytes=TINY)
    assert blocks == whole
    assert sorted(whole["repeated"]) == sorted([ids[2], ids[89]])
    assert whole["n"] == 120


def test_repeated_hashes_are_exact() -> None:
    parts = [pl.Series([5, 1, 9], dtype=pl.UInt64), pl.Series([9, 2, 5, 5], dtype=pl.UInt64)]
    assert sorted(repeated_hashes(parts).to_list()) == [5, 9]
    assert repeated_hashes([pl.Series([3], dtype=pl.UInt64)]).len() == 0
    assert repeated_hashes([]).len() == 0


@pytest.mark.parametrize("fmt", ["csv", "dat", "parquet"])
def test_progress_is_monotone_and_ends_at_the_total(tmp_path: Path, fmt: str, make_frame) -> None:
    frame = make_frame(150, seed=2)
    path = write_puf(frame, tmp_path / f"puf.{fmt}", format=fmt)
    calls: list[tuple[int, int]] = []
    report = validate_puf(
        path, on_progress=lambda done, total: calls.append((done, total)), chunk_bytes=TINY
    )
    assert report.n_obs == 150
    done = [d for d, _ in calls]
    totals = {t for _, t in calls}
    total = path.stat().st_size if fmt in ("csv", "dat") else 150
    assert totals == {total}
    assert done[0] == 0 and done[-1] == total
    assert done == sorted(done)
    if fmt != "parquet":
        assert len(calls) > 10


def test_fixed_width_integrity_in_blocks(tmp_path: Path, make_frame) -> None:
    from regsurv.io.integrity import _check_fixed_width
    from regsurv.io.layout import resolve_layout

    path = write_puf(
        _damaged(make_frame).with_columns(pl.col("AGE").cast(pl.Int64, strict=False)),
        tmp_path / "puf.dat",
    )
    layout = resolve_layout(path, None)
    ids = _damaged(make_frame)["PUF_CASE_ID"]
    whole = _check_fixed_width(path, layout, chunk_bytes=WHOLE)
    assert _check_fixed_width(path, layout, chunk_bytes=TINY) == whole
    assert (whole["n"], whole["repeated"]) == (120, sorted([ids[2], ids[89]]))
    lines = path.read_text().splitlines()
    lines[2], lines[99] = lines[2][:50], lines[99][:60]
    path.write_text("\n".join(lines) + "\n")
    messages = []
    for chunk_bytes in (WHOLE, TINY):
        with pytest.raises(
            PufError, match=r"2 records of the wrong length .*rows 3, 100, e\.g\. one has 50\)"
        ) as err:
            _check_fixed_width(path, layout, chunk_bytes=chunk_bytes)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
