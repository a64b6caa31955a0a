"""File integrity before an analysis: every row is read whole and every record counted once.

`check_integrity` refuses (one-line `PufError`, exit 3, naming the first rows and the count) a
file whose rows cannot be trusted. A clean CSV or fixed-width file costs one pass over its
raw lines (literal counts of commas and quotes, the record length, the id cut from the line;
a CSV file by blocks of whole lines read by byte ranges, in bounded memory); the fields are
parsed only to name the field of a non-UTF-8 byte or (``thorough``) of non-numeric text:

* CSV structure (a pass over the raw lines): rows with more or fewer fields than the header
  (an unquoted or shifted comma, a truncated last line), unbalanced quotes (a header naming a
  column twice is refused by every reader, `regsurv.io._raw`);
* fixed width: records of the wrong length (a truncated record);
* in the fields the study uses: bytes that are not UTF-8 (read as U+FFFD) and non-numeric text
  in numeric fields;
* ``PUF_CASE_ID`` held by rows with different contents (the file cannot say which is right).

Rows that repeat another record exactly (same id, every field equal) are not refused: their ids
come back in `IntegrityReport.duplicate_ids`, so the cohort counts each record once and shows
the copies in the flow. Ids are compared through a 64-bit hash first (cheap on 10M rows); only
rows whose id hash repeats are read whole and compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from regsurv.io._raw import (
    BAD_BYTES,
    LINE,
    RECORD_LENGTH,
    block_lines,
    csv_header,
    file_format,
    scan_raw,
)
from regsurv.io._stream import CHUNK_BYTES, Block, OnProgress, iter_blocks, repeated_hashes
from regsurv.io.dictionary import Layout, load_dictionary
from regsurv.io.errors import PufError, plural
from regsurv.io.puf import _as_number

ID = "PUF_CASE_ID"
N_ROWS_SHOWN = 5
_ROW = "__row"


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """A file that passed: its row count and the ids of exact repeated records."""

    path: Path
    n_rows: int
    duplicate_ids: tuple[str, ...] = ()
    n_copies: int = 0

    def __repr__(self) -> str:
        return (
            f"IntegrityReport({self.path.name}: {self.n_rows:,} rows, "
            f"{self.n_copies:,} repeated copies)"
        )


def rows_text(rows: Sequence[int], n: int) -> str:
    """``row 3`` / ``rows 3, 8, 9 and 12 more`` (1-based row numbers, the first 5 shown)."""
    shown = ", ".join(str(r) for r in list(rows)[:N_ROWS_SHOWN])
    more = f" and {n - N_ROWS_SHOWN:,} more" if n > N_ROWS_SHOWN else ""
    return f"row{'' if n == 1 else 's'} {shown}{more}"


def _first_rows(mask: pl.Expr) -> pl.Expr:
    return (mask.fill_null(False).arg_true().head(N_ROWS_SHOWN) + 1).implode()


def _line_id(source_format: str, header: list[str], layout: Layout | None) -> pl.Expr | None:
    """PUF_CASE_ID cut from the raw line, when its place is known without parsing the fields:
    the first CSV column (as NCDB writes it) or its fixed-width position."""
    line = pl.col(LINE)
    if source_format == "csv":
        if not header or header[0].upper() != ID:
            return None
        return line.str.head(line.str.find(",", literal=True)).str.strip_chars(' "\t')
    if layout is not None and ID in layout.names:
        f = next(f for f in layout.fields if f.name == ID)
        return line.str.slice(f.start - 1, f.width).str.strip_chars()
    return None


def _per_row(lines: pl.LazyFrame, columns: dict[str, pl.Expr]) -> pl.DataFrame:
    """Small per-row columns (counts, flags, id hashes) of one streaming pass over `lines`."""
    return lines.select(**columns).collect(engine="streaming")


def _repeated_ids(lines: pl.LazyFrame, ids: pl.Expr, hashes: pl.Series) -> list[str]:
    """The distinct ids whose 64-bit hash repeats (a second pass, only when one does)."""
    repeated = repeated_hashes([hashes])  # sorted neighbours: 3x faster than is_duplicated
    if repeated.len() == 0:
        return []
    found = lines.select(ids.alias("id")).filter(
        pl.col("id").hash().is_in(repeated.implode()) & (pl.col("id") != "")
    )
    return found.unique().collect()["id"].to_list()


def _rows(mask: pl.Series) -> list[int]:
    return (mask.arg_true().head(N_ROWS_SHOWN) + 1).to_list()


class CsvStructure:
    """The CSV structure check fed block by block (`add`, in file order), decided by `finish`:
    rows whose field count differs from the header's and unbalanced quotes (raised); the row
    count, rows with non-UTF-8 bytes and repeated ids (returned). Memory: the first rows of
    each finding and one 64-bit id hash per row."""

    def __init__(self, path: Path, *, repeated_ids: bool = True) -> None:
        """`repeated_ids=False`: no id hashes and no pass naming repeated ids (a caller that
        finds them itself, as `validate_puf` does on the parsed ids)."""
        self.path = path
        self.header = csv_header(path)
        self.n_fields = len(self.header)
        self.ids = _line_id("csv", self.header, None) if repeated_ids else None
        self.n = 0
        self.n_bad_bytes = 0
        self.n_bad = 0
        self.bad: list[tuple[int, int]] = []  # (1-based row, field count), the first ones
        self.last_bad = False
        self.n_quotes = 0
        self.quote_rows: list[int] = []
        self.hashes: list[pl.Series] = []

    @property
    def ok(self) -> bool:
        """No ragged row and no unbalanced quote so far."""
        return not (self.n_bad or self.n_quotes)

    def add(self, lines: pl.DataFrame) -> None:
        """The next lines of the file (`LINE`, empty lines dropped, header excluded)."""
        line = pl.col(LINE)
        columns = {
            "fields": line.str.count_matches(",", literal=True) + 1,
            "quoted": line.str.contains('"', literal=True),
            "bad_bytes": line.str.contains("\ufffd", literal=True),
        }
        if self.ids is not None:
            columns["id_hash"] = self.ids.hash()
        frame = lines.select(**columns)
        bad = ~frame["quoted"] & (frame["fields"] != self.n_fields)
        found = list(
            zip(
                (r + self.n for r in _rows(bad)),
                frame["fields"].filter(bad).head(N_ROWS_SHOWN).to_list(),
                strict=True,
            )
        )
        self.n_bad += int(bad.sum())
        last_bad = bool(bad[-1]) if len(bad) else False
        if frame["quoted"].any():  # quoted fields may hold commas: count those outside quotes
            outside = line.str.replace_all(r'"[^"]*"', "").str.count_matches(",", literal=True) + 1
            quoted = (
                lines.with_row_index(_ROW)
                .filter(line.str.contains('"', literal=True))
                .select(
                    pl.col(_ROW) + 1 + self.n,
                    outside.alias("fields"),
                    (line.str.count_matches('"', literal=True) % 2 == 1).alias("odd"),
                )
            )
            odd = quoted.filter(pl.col("odd"))
            self.n_quotes += odd.height
            self.quote_rows = [*self.quote_rows, *odd[_ROW].head(N_ROWS_SHOWN)][:N_ROWS_SHOWN]
            wrong = quoted.filter(pl.col("fields") != self.n_fields)
            self.n_bad += wrong.height
            last = self.n + frame.height
            last_bad = last_bad or (wrong.height > 0 and wrong[_ROW][-1] == last)
            found += wrong.select(_ROW, "fields").head(N_ROWS_SHOWN).rows()
        self.bad = sorted([*self.bad, *found])[:N_ROWS_SHOWN]
        if frame.height:
            self.last_bad = last_bad
        self.n += frame.height
        self.n_bad_bytes += int(frame["bad_bytes"].sum())
        if self.ids is not None:
            self.hashes.append(frame["id_hash"])

    def finish(self, chunk_bytes: int = CHUNK_BYTES) -> dict:
        """Raise the first structural problem; else the stats (a second pass over the lines
        only when an id hash repeats, to name those ids)."""
        path = self.path
        if self.n_bad:
            with path.open("rb") as f:
                f.seek(-1, 2)
                unterminated = f.read(1) not in (b"\n", b"\r")
            rows = [r for r, _ in self.bad]
            shown = ", ".join(str(n) for n in dict.fromkeys(c for _, c in self.bad))
            cut = self.last_bad and unterminated
            truncated = "; the last line is cut short (no line end)" if cut else ""
            n_bad = self.n_bad
            do, have = ("does", "has") if n_bad == 1 else ("do", "have")
            raise PufError(
                f"{path}: {plural(n_bad, 'row')} {do} not have the header's {self.n_fields} "
                f"fields ({rows_text(rows, n_bad)} {have} {shown}: an unquoted or shifted "
                f"comma, or a truncated line){truncated}"
            )
        if self.n_quotes:
            raise PufError(
                f"{path}: {plural(self.n_quotes, 'row', 'hold')} an unbalanced quote "
                f"({rows_text(self.quote_rows, self.n_quotes)}): a field is cut or runs into "
                "the next"
            )
        stats = {"n": self.n, "n_bad_bytes": self.n_bad_bytes}
        if self.ids is not None:
            repeated = repeated_hashes(self.hashes)
            self.hashes = []
            stats["repeated"] = _ids_of_hashes(path, self.ids, repeated, True, chunk_bytes)
        return stats


def csv_blocks(
    path: Path,
    on_progress: OnProgress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[Block, pl.DataFrame]]:
    """The data blocks of a CSV file and their lines (`block_lines`), reporting the bytes
    done of the file's size to `on_progress` after each block (and 0 at the start)."""
    total = path.stat().st_size
    if on_progress is not None:
        on_progress(0, total)
    for block in iter_blocks(path, skip_header=True, chunk_bytes=chunk_bytes):
        yield block, block_lines(block)
        if on_progress is not None:
            on_progress(block.end, total)


def check_csv_structure(
    path: Path,
    *,
    on_progress: OnProgress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> dict:
    """One pass over the raw lines in blocks of `chunk_bytes` (bounded memory): rows whose
    field count differs from the header's and unbalanced quotes (raised); rows with non-UTF-8
    bytes and repeated ids (returned)."""
    structure = CsvStructure(path)
    for _block, lines in csv_blocks(path, on_progress, chunk_bytes):
        structure.add(lines)
    return structure.finish(chunk_bytes)


def _check_fixed_width(path: Path, layout: Layout, chunk_bytes: int = CHUNK_BYTES) -> dict:
    """One pass over the records in blocks of whole lines (bounded memory): wrong lengths
    (raised); non-UTF-8 bytes and repeated ids (returned)."""
    line = pl.col(LINE)
    ids = _line_id("dat", [], layout)
    columns = {
        "length": line.str.len_chars(),
        "bad_bytes": line.str.contains("\ufffd", literal=True),
    }
    if ids is not None:
        columns["id_hash"] = ids.hash()
    expected = layout.record_length
    n = n_bad = n_bad_bytes = 0
    bad_rows: list[int] = []
    example: int | None = None
    hashes: list[pl.Series] = []
    for block in iter_blocks(path, skip_header=False, chunk_bytes=chunk_bytes):
        frame = block_lines(block).select(**columns)
        length = frame["length"]
        bad = (length != expected) if expected else (length < layout.last_end)
        if bad.any():
            n_bad += int(bad.sum())
            bad_rows = [*bad_rows, *(r + n for r in _rows(bad))][:N_ROWS_SHOWN]
            example = length.filter(bad)[0] if example is None else example
        n += frame.height
        n_bad_bytes += int(frame["bad_bytes"].sum())
        if ids is not None:
            hashes.append(frame["id_hash"])
    if n_bad:
        wanted_length = expected or f"at least {layout.last_end}"
        raise PufError(
            f"{path}: {plural(n_bad, 'record')} of the wrong length for layout {layout.name} "
            f"({wanted_length} characters; {rows_text(bad_rows, n_bad)}, e.g. one has "
            f"{example}): truncated or damaged records"
        )
    stats = {"n": n, "n_bad_bytes": n_bad_bytes}
    if ids is not None:
        stats["repeated"] = _ids_of_hashes(path, ids, repeated_hashes(hashes), False, chunk_bytes)
    return stats


def _ids_of_hashes(
    path: Path, ids: pl.Expr, repeated: pl.Series, skip_header: bool, chunk_bytes: int
) -> list[str]:
    """The distinct non-empty ids (cut from the lines) whose hash is in `repeated` (a second
    pass over the lines, only when `repeated` is not empty)."""
    found: set[str] = set()
    if repeated.len():
        wanted = pl.col("id").hash().is_in(repeated.implode()) & (pl.col("id") != "")
        for block in iter_blocks(path, skip_header=skip_header, chunk_bytes=chunk_bytes):
            found.update(block_lines(block).select(ids.alias("id")).filter(wanted)["id"])
    return sorted(found)


def check_integrity(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    fields: Sequence[str] | None = None,
    thorough: bool = False,
) -> IntegrityReport:
    """Refuse a file whose rows cannot be read whole or whose ids repeat with different data.

    `fields`: the PUF fields the study reads (default: every column); the encoding and number
    checks apply to those. Raises `PufError` with one line: the problem, the first rows
    (1-based) and the count. CSV and fixed-width files get one pass over the raw lines; the
    fields are parsed only when that pass found bytes that are not UTF-8, or with `thorough`
    (which also checks numbers: the typed reader stops at non-numeric text anyway, and
    `thorough` then names the rows).
    """
    path = Path(path)
    fmt = file_format(path)
    raw, source = scan_raw(path, layout=layout, check=False, typed=True)
    schema = raw.collect_schema()
    if fmt == "csv":
        stats = check_csv_structure(path)
    elif fmt == "dat":
        stats = _check_fixed_width(path, source.layout)
    else:
        stats = {}
    wanted = schema.names() if fields is None else [f for f in fields if f in schema]
    if thorough or stats.get("n_bad_bytes"):
        _check_fields(path, raw, schema, wanted, numbers=thorough)
    if "repeated" not in stats:
        if ID not in schema:
            return IntegrityReport(path, _count(path, raw))
        hashes = _per_row(raw, {"id_hash": pl.col(ID).hash()})["id_hash"]
        stats.update(n=len(hashes), repeated=_repeated_ids(raw, pl.col(ID), hashes))
    if stats["n"] == 0:
        raise PufError(f"{path}: no records (header only or empty)")
    duplicate_ids, n_copies = _repeated_records(path, raw, stats["repeated"])
    return IntegrityReport(path, stats["n"], duplicate_ids, n_copies)


def _count(path: Path, raw: pl.LazyFrame) -> int:
    n = raw.select(pl.len()).collect().item()
    if n == 0:
        raise PufError(f"{path}: no records (header only or empty)")
    return n


def _check_fields(
    path: Path, raw: pl.LazyFrame, schema: pl.Schema, wanted: Sequence[str], *, numbers: bool
) -> None:
    """Per field: bytes that are not UTF-8 and (with `numbers`) non-numeric text; raised."""
    dictionary = load_dictionary().fields
    aggs: list[pl.Expr] = [pl.len().alias("__n")]
    for name in wanted:
        if schema[name] != pl.String:
            continue
        bad_bytes = pl.col(name).str.contains("\ufffd", literal=True)
        aggs += [bad_bytes.sum().alias(f"{name}|bytes"), _first_rows(bad_bytes).alias(f"{name}|br")]
        pf = dictionary.get(name)
        if numbers and pf is not None and pf.is_numeric:
            text = pl.col(name)
            not_number = text.is_not_null() & _as_number(text, pf.type).is_null()
            examples = text.filter(not_number).unique(maintain_order=True).head(3).implode()
            aggs += [
                not_number.sum().alias(f"{name}|num"),
                _first_rows(not_number).alias(f"{name}|nr"),
                examples.alias(f"{name}|ne"),
            ]
    try:
        stats = raw.select(aggs).collect().row(0, named=True)
    except pl.exceptions.PolarsError as err:
        raise PufError(f"{path}: cannot be read ({str(err).splitlines()[0]})") from None
    for name in wanted:
        n = stats.get(f"{name}|bytes")
        if n:
            raise PufError(
                f"{path}: {name}: {plural(n, 'row', 'hold')} bytes that are not UTF-8 "
                f"({rows_text(stats[f'{name}|br'], n)}); re-save the file as UTF-8"
            )
    for name in wanted:
        n = stats.get(f"{name}|num")
        if n:
            shown = ", ".join(repr(v) for v in stats[f"{name}|ne"])
            kind = "an integer" if dictionary[name].type == "integer" else "a number"
            raise PufError(
                f"{path}: {name}: {plural(n, 'row', 'hold')} non-numeric text ({shown}) where "
                f"{kind} is expected ({rows_text(stats[f'{name}|nr'], n)})"
            )


def _repeated_records(
    path: Path, raw: pl.LazyFrame, candidates: list[str]
) -> tuple[tuple[str, ...], int]:
    """Exact copies among the rows whose id hash repeats; refuse ids with differing rows."""
    if not candidates:
        return (), 0
    rows = (
        raw.with_row_index(_ROW)
        .filter(pl.col(ID).is_in(candidates))
        .drop(RECORD_LENGTH, BAD_BYTES, strict=False)
        .collect()
        .filter(pl.col(ID).is_duplicated())
    )
    if rows.height == 0:  # hash collisions only
        return (), 0
    content = rows.drop(_ROW, ID)
    rows = rows.with_columns(
        (content.hash_rows() if content.width else pl.Series([0] * rows.height)).alias("__h")
    )
    groups = rows.group_by(ID, maintain_order=True).agg(
        pl.col("__h").n_unique().alias("versions"), pl.col(_ROW), pl.len().alias("n")
    )
    conflicting = groups.filter(pl.col("versions") > 1)
    if conflicting.height:
        first_rows = sorted(r + 1 for rs in conflicting[_ROW] for r in rs)
        n = int(conflicting["n"].sum())
        example = conflicting[ID][0]
        raise PufError(
            f"{path}: PUF_CASE_ID: {plural(n, 'row')} share an id with different data "
            f"({rows_text(first_rows, n)}; e.g. {example!r}); the file cannot say which is right"
        )
    return tuple(groups[ID].to_list()), int((groups["n"] - 1).sum())


__all__ = ["IntegrityReport", "check_integrity", "rows_text"]
