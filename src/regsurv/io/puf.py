"""Read and write NCDB Participant User Files: fixed width + SAS program, CSV, Parquet, SAS, Stata.

Every field is read as a string and converted by the data dictionary, never by type inference:
``code`` -> ``pl.String`` (stripped, zero padding kept), ``integer`` -> ``pl.Int64``,
``decimal`` -> ``pl.Float64``; a blank field is null. Columns the dictionary does not know are
kept as stripped strings. Nothing is dropped.

Non-numeric text in a numeric field (``AGE = "4x"``) never becomes null silently. With
``invalid="raise"`` (default) reading stops with a `PufError` naming the field, the values and
the row count. With ``invalid="keep"`` the numeric field is null there and a companion column
``<FIELD>__invalid`` keeps the original text (null elsewhere), so a cohort flow can count and
exclude those rows; `write_puf` writes the text back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from regsurv._frames import to_polars
from regsurv.io._raw import NUMERIC_DTYPES as _NUMERIC_DTYPES
from regsurv.io._raw import blank_to_null, scan_raw
from regsurv.io.dictionary import Layout, PufField, load_dictionary
from regsurv.io.errors import PufError, non_numeric_message
from regsurv.io.layout import resolve_layout, sas_program

INVALID_SUFFIX = "__invalid"
Invalid = Literal["raise", "keep"]


def _as_number(raw: pl.Expr, field_type: str) -> pl.Expr:
    """Lenient conversion: null where the text is not a (finite) number."""
    typed = raw.cast(_NUMERIC_DTYPES[field_type], strict=False)
    return pl.when(typed.is_finite()).then(typed) if field_type == "decimal" else typed


def _strict_converter(name: str, field_type: str):
    """A batch function converting one raw column, raising `PufError` on non-numeric text."""

    def convert(raw: pl.Series) -> pl.Series:
        typed = raw.to_frame().select(_as_number(pl.col(raw.name), field_type)).to_series()
        bad = typed.is_null() & raw.is_not_null()
        n_bad = int(bad.sum())
        if n_bad:
            examples = raw.filter(bad).unique(maintain_order=True).head(3).to_list()
            raise PufError(non_numeric_message(name, field_type, n_bad, examples))
        return typed

    return convert


def _typed_columns(
    schema: pl.Schema, invalid: Invalid, *, native_cast: bool = False
) -> list[pl.Expr]:
    """Conversion by the dictionary; companions `<FIELD>__invalid` in "keep" mode (merged with
    companions already in the file, e.g. a Parquet file written from a "keep" frame).

    ``native_cast`` ("raise" mode): integer fields by polars' strict cast, which fails the
    collect on the same values as the `PufError` check (a non-numeric text) without a Python
    call per batch; for callers that turn any failure into the full-count error (`_explain`).
    Decimal fields keep the check (a strict cast accepts "inf" and "NaN")."""
    fields = load_dictionary().fields
    names = schema.names()
    numeric = {n for n in names if n in fields and fields[n].is_numeric}
    merged = {n + INVALID_SUFFIX for n in numeric} if invalid == "keep" else set()
    exprs: list[pl.Expr] = []
    companions: list[pl.Expr] = []
    for name in names:
        if name in merged:
            continue
        if name not in numeric:
            exprs.append(pl.col(name))
            continue
        raw = pl.col(name)
        field_type = fields[name].type
        if schema[name] != pl.String:  # typed Parquet column passed through
            typed = raw
        elif invalid == "raise" and native_cast and field_type == "integer":
            typed = raw.cast(pl.Int64, strict=True)
        elif invalid == "raise":
            typed = raw.map_batches(
                _strict_converter(name, field_type),
                return_dtype=_NUMERIC_DTYPES[field_type],
                is_elementwise=True,
            )
        else:
            typed = _as_number(raw, field_type)
        exprs.append(typed.alias(name))
        if invalid == "keep":
            companion = pl.when(typed.is_null() & raw.is_not_null()).then(raw.cast(pl.String))
            if name + INVALID_SUFFIX in names:
                companion = pl.coalesce(companion, pl.col(name + INVALID_SUFFIX))
            companions.append(companion.alias(name + INVALID_SUFFIX))
    return exprs + companions


def scan_puf(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    invalid: Invalid = "raise",
) -> pl.LazyFrame:
    """Lazily read a PUF (`.dat`, `.csv`, `.parquet`, `.sas7bdat`, `.dta`) with dictionary types.

    `layout` (fixed width only): "2013", "2016", a `Layout` or a SAS program path; by default
    a `<stem>.sas` beside the file, else the built-in layout matching the record length.
    Collecting raises `PufError` for a wrong record length or (``invalid="raise"``) non-numeric
    text in a numeric field; counts are per batch there, `read_puf` and `validate_puf` give
    the counts of the whole file. `.sas7bdat` and `.dta` files are read eagerly (pyreadstat).
    """
    return _scan_typed(path, layout, invalid, native_cast=False)


def _scan_typed(
    path: str | Path, layout: str | Path | Layout | None, invalid: Invalid, *, native_cast: bool
) -> pl.LazyFrame:
    if invalid not in ("raise", "keep"):
        raise ValueError(f"invalid must be 'raise' or 'keep', got {invalid!r}")
    raw, _source = scan_raw(path, layout=layout, check=True, typed=True)
    return raw.select(_typed_columns(raw.collect_schema(), invalid, native_cast=native_cast))


def _explain(path: str | Path, layout, err: Exception) -> PufError:
    """A full-count one-line error for a failure met while collecting a scan."""
    from regsurv.io.validate import validate_puf

    report = validate_puf(path, layout=layout)
    errors = [i for i in report.errors if i.check in ("record_length", "numeric")]
    # the issue of the column named in the failure first (a read of selected columns): our
    # message starts "FIELD:", polars' strict cast names "column 'FIELD'"
    message = str(err)

    def named(issue) -> bool:
        field = issue.field
        return bool(field) and (message.startswith(f"{field}:") or f"column '{field}'" in message)

    errors.sort(key=lambda issue: not named(issue))
    if errors:
        return PufError(f"{Path(path)}: {errors[0].message}")
    return PufError(f"{Path(path)}: {str(err).splitlines()[0]}")


def read_puf(
    path: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    invalid: Invalid = "raise",
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Read a PUF into memory; see `scan_puf`. `columns` selects fields (others are not parsed)."""
    lf = _scan_typed(path, layout, invalid, native_cast=True)
    if columns is not None:
        missing = [c for c in columns if c not in lf.collect_schema().names()]
        if missing:
            raise PufError(f"{Path(path)}: no column {', '.join(missing)} in the file")
        lf = lf.select(columns)
    try:
        return lf.collect()
    except (PufError, pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as err:
        raise _explain(path, layout, err) from None


def convert_puf(
    path: str | Path,
    out: str | Path,
    *,
    layout: str | Path | Layout | None = None,
    invalid: Invalid = "raise",
) -> Path:
    """Stream a PUF to Parquet with dictionary types in bounded memory (polars `sink_parquet`)."""
    out = Path(out)
    lf = _scan_typed(path, layout, invalid, native_cast=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        lf.sink_parquet(tmp)
        tmp.replace(out)
    except (PufError, pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as err:
        raise _explain(path, layout, err) from None
    finally:  # also on a signal or Ctrl-C: no partial file stays behind
        tmp.unlink(missing_ok=True)
    return out


# ----------------------------------------------------------------------------- writing


def _fixed_decimals(expr: pl.Expr, decimals: int) -> pl.Expr:
    """Format a float with exactly `decimals` decimals ("12.5" -> "12.50"), half away from 0."""
    scaled = (expr.abs() * 10**decimals).round(0).cast(pl.Int64)
    digits = scaled.cast(pl.String).str.zfill(decimals + 1)
    n = digits.str.len_chars()
    text = pl.concat_str(
        digits.str.slice(0, n - decimals), pl.lit("."), digits.str.slice(n - decimals)
    )
    return pl.when(expr < 0).then(pl.lit("-") + text).otherwise(text)


def _code_text(col: pl.Expr, pad: int | None) -> pl.Expr:
    """A code field's text: stripped, blank -> null, digit codes zero-padded to `pad`."""
    text = blank_to_null(col.cast(pl.String))
    if pad:
        text = pl.when(text.str.contains(r"^\d+$")).then(text.str.zfill(pad)).otherwise(text)
    return text


def _keeps_distinct_values(values: pl.Series, text: pl.Expr) -> bool:
    """Whether the element-wise `text` leaves every value of `values` unchanged, checked on the
    distinct values only (a code column has few)."""
    distinct = values.unique()
    if distinct.len() * 4 > values.len():  # mostly distinct: checking is no cheaper than doing
        return False
    done = distinct.to_frame().select(text.alias("done")).to_series()
    return bool(distinct.eq_missing(done).all())


def _conform(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """The frame with dictionary types, whatever the format written: codes as stripped strings
    with digit codes zero-padded to their code width ("1" -> "01" for RACE), integral floats in
    integer fields as Int64 (a fractional value is an error), numbers in decimal fields as Float64.
    String columns of numeric fields are left as they are (written as text)."""
    fields = load_dictionary().fields
    exprs = []
    for name, dtype in frame.schema.items():
        pf = fields.get(name)
        col = pl.col(name)
        if pf is None:
            exprs.append(col)
        elif pf.type == "code":
            text = _code_text(col, pf.pad_width)
            if dtype == pl.String and _keeps_distinct_values(frame[name], text):
                exprs.append(col)  # already conformed: the column as it is (no new strings)
            else:
                exprs.append(text.alias(name))
        elif dtype == pl.String or not dtype.is_numeric():
            exprs.append(col)
        elif pf.type == "decimal":
            exprs.append(col.cast(pl.Float64))
        elif dtype.is_float():
            values = frame[name].fill_nan(None)
            fractional = values.filter(values.round(0) != values)
            if fractional.len():
                raise PufError(
                    f"{path}: field {name}: {fractional.len()} value(s) are not whole numbers "
                    f"(e.g. {fractional[0]}) in an integer field"
                )
            exprs.append(col.fill_nan(None).cast(pl.Int64))
        else:
            exprs.append(col.cast(pl.Int64))
    return frame.select(exprs)


def _field_text(frame: pl.DataFrame, name: str, pf: PufField | None) -> pl.Expr:
    """The text of one field (conformed frame), unpadded (null = blank)."""
    col = pl.col(name)
    dtype = frame.schema[name]
    if pf is not None and pf.type == "decimal" and pf.decimals is not None and dtype != pl.String:
        text = _fixed_decimals(col, pf.decimals)
    else:
        text = col.cast(pl.String)
    companion = name + INVALID_SUFFIX
    if companion in frame.columns:
        text = pl.when(col.is_null()).then(pl.col(companion).cast(pl.String)).otherwise(text)
    return text


def _write_dat(frame: pl.DataFrame, path: Path, layout: Layout) -> None:
    fields = load_dictionary().fields
    extra = [c for c in frame.columns if c not in layout.names and not c.endswith(INVALID_SUFFIX)]
    if extra:
        raise PufError(
            f"{path}: layout {layout.name} has no position for column(s) {', '.join(extra)}; "
            "select the PUF fields first"
        )
    texts = frame.select(
        _field_text(frame, f.name, fields.get(f.name)).alias(f.name)
        for f in layout.fields
        if f.name in frame.columns
    )
    too_long = texts.select(
        (pl.col(f.name).str.len_chars() > f.width).sum().alias(f.name)
        for f in layout.fields
        if f.name in texts.columns
    ).row(0, named=True)
    for f in layout.fields:
        if too_long.get(f.name):
            example = texts.filter(pl.col(f.name).str.len_chars() > f.width)[f.name][0]
            raise PufError(
                f"{path}: field {f.name}: {too_long[f.name]} value(s) do not fit width {f.width} "
                f"(e.g. {example!r})"
            )
    pieces = []
    cursor = 1
    for f in layout.fields:
        if f.start > cursor:
            pieces.append(pl.lit(" " * (f.start - cursor)))
        if f.name in texts.columns:
            pf = fields.get(f.name)
            text = pl.col(f.name).fill_null("")
            right = pf is not None and pf.is_numeric
            pieces.append(text.str.pad_start(f.width) if right else text.str.pad_end(f.width))
        else:
            pieces.append(pl.lit(" " * f.width))
        cursor = f.end + 1
    if layout.record_length and layout.record_length >= cursor:
        pieces.append(pl.lit(" " * (layout.record_length - cursor + 1)))
    lines = texts.select(pl.concat_str(pieces).alias("line"))
    lines.write_csv(path, include_header=False, quote_style="never")


def write_puf(
    frame,
    path: str | Path,
    *,
    format: Literal["dat", "csv", "parquet"] = "dat",
    layout: str | Path | Layout = "2016",
) -> Path:
    """Write a typed PUF frame (as `read_puf` returns it) back to a file.

    Types are first conformed to the dictionary for every format (see `_conform`), so the
    three formats read back to the same frame. ``dat``: fixed width in `layout` (codes
    left-justified, numbers right-justified, decimals rounded to the dictionary's decimals,
    blanks and fields absent from the frame as spaces) plus a SAS load program ``<stem>.sas``
    (``@start NAME $w.``). ``csv``: header + rows. ``parquet``: the conformed frame.
    Returns the data file's path.
    """
    path = Path(path)
    data = _conform(to_polars(frame), path)
    if format == "dat":
        chosen = resolve_layout(path, layout)
        _write_dat(data, path, chosen)
        path.with_suffix(".sas").write_text(sas_program(chosen, path.name), encoding="ascii")
    elif format == "csv":
        data.write_csv(path)
    elif format == "parquet":
        data.write_parquet(path)
    else:
        raise ValueError(f"format must be 'dat', 'csv' or 'parquet', got {format!r}")
    return path


__all__ = [
    "INVALID_SUFFIX",
    "convert_puf",
    "read_puf",
    "scan_puf",
    "write_puf",
]
