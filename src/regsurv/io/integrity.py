"""File integrity before an analysis: every row is read whole and every record counted once.

`check_integrity` refuses (one-line `PufError`, exit 3, naming the first rows and the count) a
file whose rows cannot be trusted, in at most two lazy passes over the file:

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
rows whose hash repeats are compared exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from regsurv.io._raw import LINE, RECORD_LENGTH, csv_header, file_format, scan_lines, scan_raw
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


def check_csv_structure(path: Path) -> None:
    """Rows whose field count differs from the header's; unbalanced quotes."""
    header = csv_header(path)
    n_fields = len(header)
    line = pl.col(LINE)
    unquoted = (
        pl.when(line.str.contains('"', literal=True))
        .then(line.str.replace_all(r'"[^"]*"', ""))
        .otherwise(line)
    )
    fields = unquoted.str.count_matches(",", literal=True) + 1
    odd_quotes = line.str.count_matches('"', literal=True) % 2 == 1
    bad = fields != n_fields
    stats = (
        scan_lines(path)
        .slice(1)
        .select(
            bad.sum().alias("n_bad"),
            _first_rows(bad).alias("rows"),
            fields.filter(bad).head(N_ROWS_SHOWN).implode().alias("fields"),
            bad.last().alias("last_bad"),
            odd_quotes.sum().alias("n_quotes"),
            _first_rows(odd_quotes).alias("quote_rows"),
        )
        .collect()
        .row(0, named=True)
    )
    n_bad = stats["n_bad"] or 0
    if not n_bad:
        if stats["n_quotes"]:
            n = stats["n_quotes"]
            raise PufError(
                f"{path}: {plural(n, 'row', 'hold')} an unbalanced quote "
                f"({rows_text(stats['quote_rows'], n)}): a field is cut or runs into the next"
            )
        return
    with path.open("rb") as f:
        f.seek(-1, 2)
        unterminated = f.read(1) not in (b"\n", b"\r")
    counts = ", ".join(str(n) for n in dict.fromkeys(stats["fields"]))
    truncated = (
        "; the last line is cut short (no line end)" if stats["last_bad"] and unterminated else ""
    )
    do, have = ("does", "has") if n_bad == 1 else ("do", "have")
    raise PufError(
        f"{path}: {plural(n_bad, 'row')} {do} not have the header's {n_fields} fields "
        f"({rows_text(stats['rows'], n_bad)} {have} {counts}: an unquoted or shifted comma, "
        f"or a truncated line){truncated}"
    )


def check_integrity(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    fields: Sequence[str] | None = None,
) -> IntegrityReport:
    """Refuse a file whose rows cannot be read whole or whose ids repeat with different data.

    `fields`: the PUF fields the study reads (default: every column); encoding and number
    checks apply to those. Raises `PufError` with one line: the problem, the first rows
    (1-based) and the count. See the module docstring for the checks.
    """
    path = Path(path)
    if file_format(path) == "csv":
        check_csv_structure(path)
    raw, source = scan_raw(path, layout=layout, check=False, typed=True)
    schema = raw.collect_schema()
    dictionary = load_dictionary().fields
    wanted = schema.names() if fields is None else [f for f in fields if f in schema]
    aggs: list[pl.Expr] = [pl.len().alias("__n")]
    if RECORD_LENGTH in schema and source.layout is not None:
        expected = source.layout.record_length
        length = pl.col(RECORD_LENGTH)
        bad = (length != expected) if expected else (length < source.layout.last_end)
        aggs += [
            bad.sum().alias("len|n"),
            _first_rows(bad).alias("len|rows"),
            length.filter(bad).first().alias("len|example"),
        ]
    for name in wanted:
        if schema[name] != pl.String:
            continue
        bad_bytes = pl.col(name).str.contains("\ufffd", literal=True)
        aggs += [bad_bytes.sum().alias(f"{name}|bytes"), _first_rows(bad_bytes).alias(f"{name}|br")]
        pf = dictionary.get(name)
        if pf is not None and pf.is_numeric:
            text = pl.col(name)
            not_number = text.is_not_null() & _as_number(text, pf.type).is_null()
            aggs += [
                not_number.sum().alias(f"{name}|num"),
                _first_rows(not_number).alias(f"{name}|nr"),
                text.filter(not_number)
                .unique(maintain_order=True)
                .head(3)
                .implode()
                .alias(f"{name}|ne"),
            ]
    if ID in schema:
        repeated = pl.col(ID).hash().is_duplicated() & pl.col(ID).is_not_null()
        aggs.append(repeated.arg_true().implode().alias("__candidates"))
    try:
        stats = raw.select(aggs).collect().row(0, named=True)
    except pl.exceptions.PolarsError as err:
        raise PufError(f"{path}: cannot be read ({str(err).splitlines()[0]})") from None
    if stats["__n"] == 0:
        raise PufError(f"{path}: no records (header only or empty)")
    if stats.get("len|n"):
        n = stats["len|n"]
        wanted_length = source.layout.record_length or f"at least {source.layout.last_end}"
        raise PufError(
            f"{path}: {plural(n, 'record')} of the wrong length for layout {source.layout.name} "
            f"({wanted_length} characters; {rows_text(stats['len|rows'], n)}, e.g. one has "
            f"{stats['len|example']}): truncated or damaged records"
        )
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
    duplicate_ids, n_copies = _repeated_records(path, raw, stats.get("__candidates") or [])
    return IntegrityReport(path, stats["__n"], duplicate_ids, n_copies)


def _repeated_records(
    path: Path, raw: pl.LazyFrame, candidates: list[int]
) -> tuple[tuple[str, ...], int]:
    """Exact copies among the rows whose id hash repeats; refuse ids with differing rows."""
    if not candidates:
        return (), 0
    rows = (
        raw.with_row_index(_ROW)
        .filter(pl.col(_ROW).is_in(candidates))
        .drop(RECORD_LENGTH, "__bad_bytes", strict=False)
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
