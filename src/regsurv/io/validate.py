"""Validate a PUF file against the data dictionary in one lazy pass; report, never modify."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from regsurv._display import HtmlDisplay
from regsurv.io._raw import (
    BAD_BYTES,
    RECORD_LENGTH,
    Source,
    block_lines,
    fixed_width_columns,
    line_checks,
    scan_raw,
)
from regsurv.io._stream import CHUNK_BYTES, OnProgress, iter_blocks, read_block, repeated_hashes
from regsurv.io.dictionary import SENTINEL_KINDS, Layout, PufField, load_dictionary
from regsurv.io.errors import PufError, non_numeric_message
from regsurv.io.errors import plural as _plural
from regsurv.io.integrity import CsvStructure, csv_blocks

Severity = Literal["error", "warning"]
N_EXAMPLES = 3
ID = "PUF_CASE_ID"
_NUMBER = {"integer": r"^[+-]?\d+$", "decimal": r"^[+-]?(\d+(\.\d*)?|\.\d+)$"}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: `severity` "error" makes the file unusable, "warning" does not."""

    severity: Severity
    check: str
    field: str | None
    n_rows: int
    examples: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """Counts for one column: blanks, sentinels by kind, invalid values, numbers out of range."""

    name: str
    type: str
    present: bool
    required: bool
    n_blank: int = 0
    n_invalid: int = 0
    invalid_examples: tuple[str, ...] = ()
    n_out_of_range: int = 0
    n_sentinel: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class ValidationReport(HtmlDisplay):
    """What `validate_puf` found. `ok` is True when the file is usable (no error issue)."""

    path: str
    format: str
    layout: str | None
    n_obs: int
    fields: tuple[FieldCheck, ...]
    issues: tuple[Issue, ...]
    year_min: int | None
    year_max: int | None
    n_duplicate_ids: int

    @property
    def ok(self) -> bool:
        return not any(issue.severity == "error" for issue in self.issues)

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity == "error")

    def to_frame(self) -> pl.DataFrame:
        """One row per field: type, presence, blanks, sentinels by kind, invalid, out of range."""
        return pl.DataFrame(
            {
                "field": [f.name for f in self.fields],
                "type": [f.type for f in self.fields],
                "present": [f.present for f in self.fields],
                "required": [f.required for f in self.fields],
                "n_blank": [f.n_blank for f in self.fields],
                **{
                    f"n_{kind}": [f.n_sentinel.get(kind, 0) for f in self.fields]
                    for kind in SENTINEL_KINDS
                },
                "n_invalid": [f.n_invalid for f in self.fields],
                "n_out_of_range": [f.n_out_of_range for f in self.fields],
                "invalid_examples": [", ".join(f.invalid_examples) for f in self.fields],
            },
            schema_overrides={c: pl.Int64 for c in ("n_blank", "n_invalid", "n_out_of_range")},
        )

    def issues_frame(self) -> pl.DataFrame:
        """One row per issue: severity, check, field, n_rows, examples, message."""
        return pl.DataFrame(
            {
                "severity": [i.severity for i in self.issues],
                "check": [i.check for i in self.issues],
                "field": [i.field for i in self.issues],
                "n_rows": [i.n_rows for i in self.issues],
                "examples": [", ".join(i.examples) for i in self.issues],
                "message": [i.message for i in self.issues],
            },
            schema={
                "severity": pl.String,
                "check": pl.String,
                "field": pl.String,
                "n_rows": pl.Int64,
                "examples": pl.String,
                "message": pl.String,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "layout": self.layout,
            "n_obs": self.n_obs,
            "ok": self.ok,
            "year_min": self.year_min,
            "year_max": self.year_max,
            "n_duplicate_ids": self.n_duplicate_ids,
            "issues": [
                {
                    "severity": i.severity,
                    "check": i.check,
                    "field": i.field,
                    "n_rows": i.n_rows,
                    "examples": list(i.examples),
                    "message": i.message,
                }
                for i in self.issues
            ],
            "fields": self.to_frame().to_dicts(),
        }

    def __repr__(self) -> str:
        n_err = len(self.errors)
        return (
            f"ValidationReport({Path(self.path).name}: {self.n_obs} rows, "
            f"{'usable' if self.ok else 'NOT usable'}, {n_err} errors, "
            f"{len(self.issues) - n_err} warnings)"
        )


def _masks(name: str, pf: PufField) -> tuple[pl.Expr, dict[str, pl.Expr], pl.Expr]:
    """(invalid, sentinel-by-kind, out-of-range) boolean expressions for one raw column."""
    col = pl.col(name)
    sentinel: dict[str, pl.Expr] = {}
    if pf.type == "code":
        valid = col.is_in(list(pf.codes))
        if pf.open_codes and pf.pattern:
            valid = valid | col.str.contains(pf.pattern)
        for kind in SENTINEL_KINDS:
            codes = [c for c, k in pf.sentinels.items() if k == kind and c != ""]
            if codes:
                sentinel[kind] = col.is_in(codes)
        return col.is_not_null() & ~valid, sentinel, pl.lit(False)
    numeric = col.str.contains(_NUMBER[pf.type])
    value = pl.when(numeric).then(col).cast(pl.Float64, strict=False)
    is_sentinel = pl.lit(False)
    for kind in SENTINEL_KINDS:
        values = [v for v, k in pf.sentinel_values.items() if k == kind]
        if values:
            sentinel[kind] = value.is_in(values)
            is_sentinel = is_sentinel | sentinel[kind]
    out = pl.lit(False)
    if pf.minimum is not None:
        out = out | (value < pf.minimum)
    if pf.maximum is not None:
        out = out | (value > pf.maximum)
    return col.is_not_null() & ~numeric, sentinel, out & ~is_sentinel.fill_null(False)


def _range_text(pf: PufField) -> str:
    if pf.minimum is not None and pf.maximum is not None:
        return f"[{pf.minimum:g}, {pf.maximum:g}]"
    return f">= {pf.minimum:g}" if pf.minimum is not None else f"<= {pf.maximum:g}"


def _examples(name: str, mask: pl.Expr) -> pl.Expr:
    return pl.col(name).filter(mask).unique(maintain_order=True).head(N_EXAMPLES).implode()


_SUM = "sum"
_FIRST = "first"
_FIRST_INDEX = "first index"
_MIN = "min"
_MAX = "max"
_EXAMPLES = "examples"


class _Merged:
    """Aggregates of whole-file expressions computed batch by batch and merged in file order:
    sums, minima, maxima, the first value, the first distinct examples, and the first index
    (shifted by the rows before the batch)."""

    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds
        self.values: dict[str, Any] = {k: 0 if kind == _SUM else None for k, kind in kinds.items()}
        for key, kind in kinds.items():
            if kind == _EXAMPLES:
                self.values[key] = []

    def add(self, row: dict[str, Any], offset: int) -> None:
        for key, kind in self.kinds.items():
            value, old = row[key], self.values[key]
            if kind == _SUM:
                self.values[key] = old + (value or 0)
            elif kind == _EXAMPLES:  # the first N distinct in file order
                new = [v for v in dict.fromkeys(value) if v not in old]
                self.values[key] = [*old, *new][:N_EXAMPLES]
            elif value is None:
                continue
            elif kind in (_FIRST, _FIRST_INDEX):
                if old is None:
                    self.values[key] = value + offset if kind == _FIRST_INDEX else value
            elif old is None:
                self.values[key] = value
            else:
                self.values[key] = min(old, value) if kind == _MIN else max(old, value)


def _batches(
    raw: pl.LazyFrame,
    source: Source,
    columns: list[str],
    on_progress: OnProgress | None,
    chunk_bytes: int,
    structure: CsvStructure | None = None,
    errors: list[str] | None = None,
) -> Iterator[pl.DataFrame]:
    """The raw columns `columns` in batches of bounded size, in file order.

    CSV and fixed width: blocks of whole lines read by byte ranges (`regsurv.io._stream`),
    each parsed by the reader of the whole-file scan; `structure` (CSV) is fed every block's
    lines, and the columns are no longer parsed once it found a ragged row (a structure error
    follows); a read error goes to `errors` (and ends the parsing). Other formats: the
    batches of polars' streaming engine (rows for progress)."""
    errors = [] if errors is None else errors
    if source.format == "csv":
        plan = source.csv
        wanted = [plan.columns[c] for c in columns]
        raw_names = list(dict.fromkeys(name for name, _ in wanted))
        for block, lines in csv_blocks(source.path, on_progress, chunk_bytes):
            if structure is not None:
                structure.add(lines)
            if errors or (structure is not None and not structure.ok):
                continue  # a structure error or the read error follows: no more parsing
            try:
                frame = read_block(block, plan.schema, columns=raw_names, **plan.options)
            except pl.exceptions.PolarsError as err:
                errors.append(str(err).splitlines()[0])
                continue
            yield frame.select(expr for _, expr in wanted)
    elif source.format == "dat":
        by_name = {
            e.meta.output_name(): e for e in (*fixed_width_columns(source.layout), *line_checks())
        }
        exprs = [by_name[c] for c in columns]
        total = source.path.stat().st_size
        if on_progress is not None:
            on_progress(0, total)
        for block in iter_blocks(source.path, skip_header=False, chunk_bytes=chunk_bytes):
            yield block_lines(block).select(exprs)
            if on_progress is not None:
                on_progress(block.end, total)
    else:
        selected = raw.select(columns)
        total = selected.select(pl.len()).collect().item() if on_progress is not None else 0
        done = 0
        if on_progress is not None:
            on_progress(0, total)
        for frame in selected.collect_batches():
            yield frame
            done += frame.height
            if on_progress is not None:
                on_progress(done, total)


def _duplicate_ids(
    raw: pl.LazyFrame, source: Source, hashes: list[pl.Series], chunk_bytes: int
) -> tuple[int, list[str]]:
    """The rows whose PUF_CASE_ID another row holds too, and the first distinct such ids in
    file order. Exact: the rows whose id hash repeats are read again (a second pass over the
    id column, only when a hash repeats) and their ids compared."""
    repeated = repeated_hashes(hashes)
    if repeated.len() == 0:
        return 0, []
    wanted = pl.col(ID).hash().is_in(repeated.implode())
    parts = [b.filter(wanted) for b in _batches(raw, source, [ID], None, chunk_bytes)]
    ids = pl.concat(parts)[ID]
    dup = ids.is_duplicated() & ids.is_not_null()
    return int(dup.sum()), ids.filter(dup).unique(maintain_order=True).head(N_EXAMPLES).to_list()


def validate_puf(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    required: tuple[str, ...] | None = None,
    on_progress: OnProgress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ValidationReport:
    """Check a PUF file against the dictionary: required columns, codes, numbers, blanks,
    sentinels, record lengths, year range, duplicate PUF_CASE_ID, row count.

    Errors (file not usable): missing required column, non-numeric text in a numeric field,
    wrong record length, duplicate PUF_CASE_ID, no records. Warnings: codes outside the
    dictionary, numbers outside the plausible range, bytes that are not UTF-8. `required`
    overrides the dictionary's required fields. A CSV file whose rows do not all have the
    header's fields, or whose header repeats a name, raises `PufError` (nothing else can be
    trusted then).

    Bounded memory: one pass over the file in batches (text files: blocks of about
    `chunk_bytes` bytes of whole lines; CSV structure checked in the same pass), whose
    aggregates are merged; duplicate ids through a 64-bit hash per row, sorted at the end,
    and a second pass over the id column only when a hash repeats. `on_progress(done, total)`
    is called after each batch (bytes of a text file, else rows), from ``(0, total)`` to
    ``(total, total)``.
    """
    raw, source = scan_raw(path, layout=layout, check=False)
    dictionary = load_dictionary().fields
    columns = raw.collect_schema().names()
    present = [c for c in columns if c in dictionary]
    needed = (
        required if required is not None else tuple(n for n, f in dictionary.items() if f.required)
    )

    aggs: list[pl.Expr] = [pl.len().alias("__n")]
    kinds: dict[str, str] = {"__n": _SUM}
    plans: dict[str, tuple[PufField, list[str]]] = {}
    for name in present:
        pf = dictionary[name]
        invalid, sentinel, out = _masks(name, pf)
        aggs += [
            pl.col(name).is_null().sum().alias(f"{name}|blank"),
            invalid.sum().alias(f"{name}|invalid"),
            _examples(name, invalid).alias(f"{name}|examples"),
            out.fill_null(False).sum().alias(f"{name}|out"),
            *(m.fill_null(False).sum().alias(f"{name}|s|{kind}") for kind, m in sentinel.items()),
        ]
        kinds.update(
            {
                f"{name}|blank": _SUM,
                f"{name}|invalid": _SUM,
                f"{name}|examples": _EXAMPLES,
                f"{name}|out": _SUM,
                **{f"{name}|s|{kind}": _SUM for kind in sentinel},
            }
        )
        plans[name] = (pf, list(sentinel))
    if "YEAR_OF_DIAGNOSIS" in present:
        year = pl.col("YEAR_OF_DIAGNOSIS").cast(pl.Int64, strict=False)
        aggs += [year.min().alias("__year_min"), year.max().alias("__year_max")]
        kinds.update({"__year_min": _MIN, "__year_max": _MAX})
    with_ids = ID in present
    read = list(present)
    if RECORD_LENGTH in columns and source.layout is not None:
        bad_len = source.layout.bad_record_length(pl.col(RECORD_LENGTH))
        aggs += [
            bad_len.sum().alias("__badlen"),
            pl.col(RECORD_LENGTH).filter(bad_len).first().alias("__badlen_example"),
            bad_len.arg_true().first().alias("__badlen_first"),
            pl.col(BAD_BYTES).sum().alias("__badbytes"),
        ]
        kinds.update(
            {
                "__badlen": _SUM,
                "__badlen_example": _FIRST,
                "__badlen_first": _FIRST_INDEX,
                "__badbytes": _SUM,
            }
        )
        read += [RECORD_LENGTH, BAD_BYTES]
    # its repeated ids are not needed: the parsed ids below are hashed and checked instead
    structure = CsvStructure(source.path, repeated_ids=False) if source.format == "csv" else None
    merged = _Merged(kinds)
    hashes: list[pl.Series] = []
    offset = 0
    errors: list[str] = []
    batches = _batches(raw, source, read, on_progress, chunk_bytes, structure, errors)
    for batch in batches:
        try:
            row = batch.lazy().select(aggs).collect().row(0, named=True)
        except pl.exceptions.PolarsError as err:
            errors.append(str(err).splitlines()[0])
            break
        merged.add(row, offset)
        offset += batch.height
        if with_ids:
            hashes.append(batch.select(pl.col(ID).drop_nulls().hash())[ID])
    for _ in batches:  # after an error: the rest of the structure pass
        pass
    if structure is not None:  # ragged rows or a repeated column name: not usable
        structure.finish(chunk_bytes)
    if errors:
        raise PufError(f"{path}: cannot be read ({errors[0]})")
    stats = merged.values
    if with_ids:
        stats["__dup"], stats["__dup_examples"] = _duplicate_ids(raw, source, hashes, chunk_bytes)

    n_obs = stats["__n"]
    issues: list[Issue] = []
    checks: list[FieldCheck] = []
    if n_obs == 0:
        issues.append(Issue("error", "rows", None, 0, (), "no records (header only or empty)"))
    for name in needed:
        if name not in columns:
            issues.append(
                Issue("error", "required", name, n_obs, (), f"required column {name} is missing")
            )
    if stats.get("__badlen"):
        n_bad = stats["__badlen"]
        issues.append(
            Issue(
                "error",
                "record_length",
                None,
                n_bad,
                (str(stats["__badlen_example"]),),
                f"record length: {_plural(n_bad, 'record', 'differ')} from layout "
                f"{source.layout.name} ({source.layout.expected_record_length()}), e.g. record "
                f"{stats['__badlen_first'] + 1} has {stats['__badlen_example']}",
            )
        )
    if stats.get("__badbytes"):
        n_bad = stats["__badbytes"]
        issues.append(
            Issue(
                "warning",
                "encoding",
                None,
                n_bad,
                (),
                f"{_plural(n_bad, 'record', 'hold')} bytes that are not UTF-8 (Latin-1?); "
                "read as U+FFFD",
            )
        )
    if stats.get("__dup"):
        examples = tuple(stats["__dup_examples"])
        issues.append(
            Issue(
                "error",
                "duplicate_id",
                "PUF_CASE_ID",
                stats["__dup"],
                examples,
                f"PUF_CASE_ID: {_plural(stats['__dup'], 'row')} with a duplicated id "
                f"(e.g. {examples[0]!r})",
            )
        )
    for name in columns:
        if name in (RECORD_LENGTH, BAD_BYTES):
            continue
        pf = dictionary.get(name)
        if pf is None:
            checks.append(FieldCheck(name, "unknown", True, False))
            continue
        _pf, kinds = plans[name]
        n_blank = stats[f"{name}|blank"]
        sentinel = {kind: stats[f"{name}|s|{kind}"] for kind in kinds}
        blank_kind = pf.sentinels.get("")
        if blank_kind is not None:
            sentinel[blank_kind] = sentinel.get(blank_kind, 0) + n_blank
        examples = tuple(str(v) for v in stats[f"{name}|examples"])
        check = FieldCheck(
            name,
            pf.type,
            True,
            pf.required,
            n_blank=n_blank,
            n_invalid=stats[f"{name}|invalid"],
            invalid_examples=examples,
            n_out_of_range=stats[f"{name}|out"],
            n_sentinel=sentinel,
        )
        checks.append(check)
        if check.n_invalid:
            shown = ", ".join(repr(v) for v in examples)
            if pf.is_numeric:
                message = non_numeric_message(name, pf.type, check.n_invalid, examples)
                issues.append(Issue("error", "numeric", name, check.n_invalid, examples, message))
            else:
                message = (
                    f"{name}: {_plural(check.n_invalid, 'row', 'hold')} codes outside the "
                    f"dictionary ({shown})"
                )
                issues.append(Issue("warning", "code", name, check.n_invalid, examples, message))
        if check.n_out_of_range:
            message = (
                f"{name}: {_plural(check.n_out_of_range, 'row', 'fall')} outside the "
                f"plausible range {_range_text(pf)}"
            )
            issues.append(Issue("warning", "range", name, check.n_out_of_range, (), message))
    for name in needed:
        if name not in columns:
            pf = dictionary.get(name)
            checks.append(FieldCheck(name, pf.type if pf else "unknown", False, True))
    return ValidationReport(
        path=str(source.path),
        format=source.format,
        layout=source.layout.name if source.layout else None,
        n_obs=n_obs,
        fields=tuple(checks),
        issues=tuple(issues),
        year_min=stats.get("__year_min"),
        year_max=stats.get("__year_max"),
        n_duplicate_ids=stats.get("__dup", 0) or 0,
    )
