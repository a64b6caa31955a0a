"""Raw access: any PUF file as a lazy frame of stripped strings (blank -> null), no conversion.

Both the typed reader and the validator start here, so they see exactly the same values.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from regsurv.errors import ExitCode
from regsurv.io._stream import Block, contains_bytes, read_block
from regsurv.io.dictionary import Layout, load_dictionary
from regsurv.io.errors import PufError, plural
from regsurv.io.layout import resolve_layout

LINE = "__line"
RECORD_LENGTH = "__record_length"
BAD_BYTES = "__bad_bytes"
FIXED_WIDTH_SUFFIXES = (".dat", ".txt", ".fwf")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".sas7bdat": "sas7bdat",
    ".dta": "dta",
    **dict.fromkeys(FIXED_WIDTH_SUFFIXES, "dat"),
}
NUMERIC_DTYPES = {"integer": pl.Int64, "decimal": pl.Float64}
_SEPARATOR = "\x1f"  # ASCII unit separator: never in a PUF record, so each line is one column


@dataclass(frozen=True, slots=True)
class CsvPlan:
    """How a CSV file is read: the header's `names` (as polars reads them), the reader's
    `options` and, per PUF name, the expression of its raw column (stripped when padded)."""

    names: list[str]
    options: dict[str, object]
    columns: dict[str, tuple[str, pl.Expr]]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return dict.fromkeys(self.names, pl.String)


@dataclass(frozen=True, slots=True)
class Source:
    """What was opened: the file, its format and (fixed width) its layout."""

    path: Path
    format: str
    layout: Layout | None
    csv: CsvPlan | None = None


def file_format(path: Path) -> str:
    """Format of `path` from its suffix; a clear error for a missing file or a directory."""
    if not path.exists():
        raise PufError(f"{path}: no such file")
    if path.is_dir():
        raise PufError(f"{path}: is a directory, not a PUF file")
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise PufError(f"{path}: unknown file type {path.suffix!r} (known: {known})")
    if path.stat().st_size == 0:
        raise PufError(f"{path}: empty file (0 bytes)")
    return fmt


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Strip whitespace; an empty result is null (a blank PUF field).

    Only values with a leading or trailing blank are stripped (new strings); the others pass
    through unchanged, which keeps an unpadded CSV column nearly free.
    """
    padded = (
        expr.str.starts_with(" ")
        | expr.str.ends_with(" ")
        | expr.str.starts_with("\t")
        | expr.str.ends_with("\t")
    )
    stripped = expr.str.strip_chars()
    return (
        pl.when(padded)
        .then(pl.when(stripped.str.len_bytes() > 0).then(stripped))
        .when(expr.str.len_bytes() > 0)
        .then(expr)
    )


def _check_record_length(layout: Layout, path: Path):
    def check(lines: pl.Series) -> pl.Series:
        lengths = lines.str.len_chars()
        bad = layout.bad_record_length(lengths)
        n_bad = int(bad.sum())
        if n_bad:
            example = int(lengths.filter(bad)[0])
            raise PufError(
                f"{path}: record length: {plural(n_bad, 'record', 'differ')} from layout "
                f"{layout.name} ({layout.expected_record_length()}), e.g. one has {example}"
            )
        return lines

    return check


LINE_OPTIONS: dict[str, object] = {
    "separator": _SEPARATOR,
    "quote_char": None,
    "encoding": "utf8-lossy",
}


def scan_lines(path: Path) -> pl.LazyFrame:
    """One string column per line; UTF-8 (BOM skipped), invalid bytes become U+FFFD (one char
    per byte, so positions hold for Latin-1 files); CRLF accepted; empty lines skipped."""
    return pl.scan_csv(path, has_header=False, schema={LINE: pl.String}, **LINE_OPTIONS).filter(
        pl.col(LINE).is_not_null()
    )


def block_lines(block: Block) -> pl.DataFrame:
    """The lines of a block (`regsurv.io._stream`) as `scan_lines` reads them."""
    frame = read_block(block, {LINE: pl.String}, **LINE_OPTIONS)
    return frame.filter(pl.col(LINE).is_not_null())


def fixed_width_columns(layout: Layout) -> list[pl.Expr]:
    """The fields of a line (`LINE`) by the layout's positions, stripped (blank -> null)."""
    return [
        blank_to_null(pl.col(LINE).str.slice(f.start - 1, f.width)).alias(f.name)
        for f in layout.fields
    ]


def _scan_fixed_width(path: Path, layout: Layout, *, check: bool) -> pl.LazyFrame:
    lines = scan_lines(path)
    line = pl.col(LINE)
    if check:
        line = line.map_batches(
            _check_record_length(layout, path), return_dtype=pl.String, is_elementwise=True
        )
        lines = lines.with_columns(line)
        extra: list[pl.Expr] = []
    else:
        extra = line_checks()
    return lines.select(*fixed_width_columns(layout), *extra)


def line_checks() -> list[pl.Expr]:
    """The validator's columns of a fixed-width line: its length and bytes not UTF-8."""
    return [
        pl.col(LINE).str.len_chars().alias(RECORD_LENGTH),
        pl.col(LINE).str.contains("\ufffd", literal=True).alias(BAD_BYTES),
    ]


def csv_header(path: Path) -> list[str]:
    """The names of the CSV header line as written (stripped; BOM dropped)."""
    with path.open("rb") as f:
        first = f.readline()
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return [name.strip() for name in next(csv.reader([text]), [])]


def _check_unique_header(path: Path, names: list[str]) -> None:
    """A header naming a column twice (also as ``age`` and ``AGE``): polars would keep one."""
    known = load_dictionary().fields
    mapped = [n.upper() if n.upper() in known else n for n in names]
    for name in dict.fromkeys(mapped):
        positions = [i + 1 for i, n in enumerate(mapped) if n == name]
        if len(positions) > 1:
            where = ", ".join(str(p) for p in positions)
            raise PufError(
                f"{path}: the header names column {name} {len(positions)} times (columns "
                f"{where}); only one would be read"
            )


def _blank_bytes(path: Path) -> tuple[bool, bool]:
    """Whether the file holds a space or a tab, and a quoted empty field ``""`` (memchr-speed
    searches of buffered blocks: no mapping of the whole file into memory).

    Without a space or tab no field can be padded or blank-but-not-empty, so `blank_to_null`
    would change nothing and is skipped; then only ``""`` (no text between quotes; an escaped
    quote inside a quoted field also matches, harmlessly) needs ``null_values`` in the reader,
    an unquoted empty field being null already.
    """
    space, tab, quoted_empty = contains_bytes(path, (b" ", b"\t", b'""'))
    return space or tab, quoted_empty


def csv_plan(path: Path) -> CsvPlan:
    """The reading of a CSV PUF (header checks included), shared by the scan of the whole file
    and the block reader of the bounded-memory passes (`regsurv.io._stream`)."""
    _check_unique_header(path, csv_header(path))
    padded, quoted_empty = _blank_bytes(path)
    options: dict[str, object] = {
        "encoding": "utf8-lossy",
        "null_values": [""] if quoted_empty and not padded else None,
    }
    lf = pl.scan_csv(path, infer_schema=False, **options)
    try:
        names = lf.collect_schema().names()
    except pl.exceptions.NoDataError:
        raise PufError(f"{path}: empty file (no header)") from None
    except pl.exceptions.PolarsError as err:
        raise PufError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]})") from None
    known = load_dictionary().fields

    def puf_name(name: str) -> str:
        """The header name, upper-cased when that is a PUF field (R and Stata lower-case)."""
        return name.strip().upper() if name.strip().upper() in known else name.strip()

    if not any(puf_name(name) in known for name in names):
        guess = next((sep for sep in (";", "\t", "|") if sep in names[0]), None)
        hint = f" (delimiter {guess!r}? PUF CSV files are comma-separated)" if guess else ""
        raise PufError(
            f"{path}: no PUF field in the CSV header (first column {names[0][:60]!r}){hint}"
        )
    columns = {
        puf_name(name): (
            name,
            (blank_to_null(pl.col(name)) if padded else pl.col(name)).alias(puf_name(name)),
        )
        for name in names
    }
    return CsvPlan(names, options, columns)


def _scan_csv(path: Path, plan: CsvPlan) -> pl.LazyFrame:
    lf = pl.scan_csv(path, infer_schema=False, **plan.options)
    return lf.select(expr for _name, expr in plan.columns.values())


def _scan_parquet(path: Path, *, typed: bool) -> pl.LazyFrame:
    lf = pl.scan_parquet(path)
    try:
        schema = lf.collect_schema()
    except pl.exceptions.PolarsError as err:
        raise PufError(
            f"{path}: not a readable Parquet file ({str(err).splitlines()[0]})"
        ) from None
    fields = load_dictionary().fields
    exprs = []
    for name, dtype in schema.items():
        pf = fields.get(name)
        if typed and pf is not None and dtype == NUMERIC_DTYPES.get(pf.type):
            exprs.append(pl.col(name))  # already converted (e.g. by convert_puf): keep as is
        else:
            exprs.append(_as_raw_string(name, dtype))
    return lf.select(exprs)


def _as_raw_string(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.String:
        return blank_to_null(col).alias(name)
    if dtype.is_float():
        # integral floats (how SAS and Stata store numbers) print without ".0"
        whole = col.round(0) == col
        return (
            pl.when(col.is_nan())
            .then(None)
            .when(whole)
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.cast(pl.String))
            .alias(name)
        )
    return col.cast(pl.String).alias(name)


def _read_stat(path: Path, fmt: str) -> pl.LazyFrame:
    try:
        import pyreadstat
    except ImportError:
        raise PufError(
            f"{path}: reading .{fmt} files needs pyreadstat: pip install 'regsurv[sas]'"
        ) from None
    reader = pyreadstat.read_sas7bdat if fmt == "sas7bdat" else pyreadstat.read_dta
    try:
        frame, _meta = reader(str(path))
    except Exception as err:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise PufError(f"{path}: not a readable .{fmt} file ({err})") from None
    data = pl.from_pandas(frame)
    fields = load_dictionary().fields
    exprs = []
    for name, dtype in data.schema.items():
        raw = _as_raw_string(name, dtype)
        pf = fields.get(name.upper())
        if pf is not None and pf.pad_width and dtype.is_numeric():
            # a numeric column lost the zero padding of a code: restore it ("1" -> "01" for RACE)
            raw = (
                pl.when(raw.str.contains(r"^\d+$")).then(raw.str.zfill(pf.pad_width)).otherwise(raw)
            )
        exprs.append(raw.alias(name.upper()))
    return data.lazy().select(exprs)


def scan_raw(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    check: bool = True,
    typed: bool = False,
) -> tuple[pl.LazyFrame, Source]:
    """Lazy frame of stripped strings for any supported file, and what was opened.

    With `check=False` a fixed-width scan does not stop at a wrong record length but adds the
    columns `__record_length` and `__bad_bytes` (bytes that are not UTF-8) for the validator.
    With `typed=True` Parquet columns already of their dictionary type are passed through.
    """
    path = Path(path)
    fmt = file_format(path)
    if fmt == "dat":
        chosen = resolve_layout(path, layout)
        return _scan_fixed_width(path, chosen, check=check), Source(path, fmt, chosen)
    if layout is not None:
        raise PufError(
            f"{path}: a layout (--layout) applies to fixed-width files only, not .{fmt}",
            ExitCode.USAGE,
        )
    if fmt == "csv":
        plan = csv_plan(path)
        return _scan_csv(path, plan), Source(path, fmt, None, plan)
    if fmt == "parquet":
        return _scan_parquet(path, typed=typed), Source(path, fmt, None)
    return _read_stat(path, fmt), Source(path, fmt, None)
