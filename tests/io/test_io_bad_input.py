"""The bad-input corpus: every malformed file gives a one-line PufError or a validation report.

The files are generated here (small, deterministic) rather than committed, so each case shows
exactly how it is broken.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from regsurv.io import PufError, read_puf, validate_puf, write_puf

GOOD_CSV = (
    "PUF_CASE_ID,AGE,SEX,YEAR_OF_DIAGNOSIS,PRIMARY_SITE,HISTOLOGY,BEHAVIOR,PUF_VITAL_STATUS,"
    "DX_LASTCONTACT_DEATH_MONTHS\n"
    "A1,45,1,2010,C491,8830,3,0,12.50\n"
    "A2,61,2,2011,C492,8850,3,1,30.25\n"
    "A3,90,2,2012,C491,9040,3,,\n"
)


def _csv(tmp_path: Path, text: str, name: str = "puf.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
    return path


def _dat(tmp_path: Path, edit: Callable[[list[str]], list[str]], *, keep_sas: bool = False) -> Path:
    frame = read_puf(_csv(tmp_path, GOOD_CSV, "seed.csv"))
    path = write_puf(frame, tmp_path / "puf.dat")
    if not keep_sas:
        path.with_suffix(".sas").unlink()
    lines = edit(path.read_text().splitlines())
    path.write_text("\n".join(lines) + "\n")
    return path


def _replace(line: str, start: int, text: str) -> str:
    return line[: start - 1] + text + line[start - 1 + len(text) :]


# name -> (builder, regex of the PufError raised by read_puf)
READ_ERRORS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated_record": (
        lambda t: _dat(t, lambda ls: [ls[0], ls[1][:200], ls[2]]),
        r"record length: 1 record differs from layout 2016 \(410 characters\), e\.g\. record 2",
    ),
    "record_too_long_in_the_middle": (
        lambda t: _dat(t, lambda ls: [ls[0], ls[1] + "XXXX", ls[2]]),
        r"record length: 1 record differs .* record 2 has 414",
    ),
    "wrong_record_length_everywhere": (
        lambda t: _dat(t, lambda ls: [line[:400] for line in ls]),
        r"record length 400 matches no built-in layout \(389 = PUF 2013, 410 = PUF 2016\)",
    ),
    "wrong_delimiter": (
        lambda t: _csv(t, GOOD_CSV.replace(",", ";")),
        r"no PUF field in the CSV header .*delimiter ';'",
    ),
    "non_numeric_age": (
        lambda t: _csv(t, GOOD_CSV.replace("A2,61,", "A2,6l,")),
        r"AGE: 1 row holds non-numeric text \('6l'\) where an integer is expected",
    ),
    "non_numeric_age_fixed_width": (
        lambda t: _dat(
            t, lambda ls: [ls[0], _replace(ls[1], 50, "4x "), _replace(ls[2], 50, "4x ")]
        ),
        r"AGE: 2 rows hold non-numeric text \('4x'\)",
    ),
    "decimal_comma_in_months": (
        lambda t: _csv(t, GOOD_CSV.replace("12.50", '"12,50"')),
        r"DX_LASTCONTACT_DEATH_MONTHS: 1 row holds non-numeric text \('12,50'\)",
    ),
    "empty_file": (lambda t: _csv(t, ""), r"empty file"),
    "sas_program_without_input_block": (
        lambda t: _write_sas(_dat(t, lambda ls: ls), "DATA x; INFILE 'puf.dat'; RUN;"),
        r"no INPUT statement in the SAS program",
    ),
    "sas_program_without_positions": (
        lambda t: _write_sas(_dat(t, lambda ls: ls), "DATA x; INPUT; RUN;"),
        r"names no field positions",
    ),
    "nonexistent_path": (lambda t: t / "nowhere.dat", r"nowhere\.dat: no such file"),
    "directory_instead_of_file": (
        lambda t: _mkdir(t / "folder.dat"),
        r"folder\.dat: is a directory, not a PUF file",
    ),
    "unknown_file_type": (lambda t: _csv(t, "x", "puf.xlsx"), r"unknown file type '\.xlsx'"),
    "corrupt_parquet": (lambda t: _csv(t, "not parquet", "puf.parquet"), r"not a readable Parquet"),
}


def _write_sas(dat: Path, text: str) -> Path:
    dat.with_suffix(".sas").write_text(text)
    return dat


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", sorted(READ_ERRORS))
def test_read_gives_a_one_line_error(tmp_path: Path, case: str) -> None:
    build, pattern = READ_ERRORS[case]
    path = build(tmp_path)
    with pytest.raises(PufError, match=pattern) as caught:
        read_puf(path)
    assert "\n" not in str(caught.value)


# name -> (builder, check name of the validation issue, severity, n_rows, read_puf still works)
REPORTED: dict[str, tuple[Callable[[Path], Path], str, str, int, bool]] = {
    "missing_required_column": (
        lambda t: _csv(t, GOOD_CSV.replace("PUF_CASE_ID,AGE,", "PUF_CASE_ID,AGE_AT_DX,")),
        "required",
        "error",
        3,
        True,
    ),
    "unknown_codes": (
        lambda t: _csv(t, GOOD_CSV.replace("A1,45,1,", "A1,45,7,").replace("A2,61,2,", "A2,61,X,")),
        "code",
        "warning",
        2,
        True,
    ),
    "header_only": (lambda t: _csv(t, GOOD_CSV.splitlines()[0] + "\n"), "rows", "error", 0, True),
    "duplicate_puf_case_id": (
        lambda t: _csv(t, GOOD_CSV.replace("A3,", "A1,")),
        "duplicate_id",
        "error",
        2,
        True,
    ),
    "age_out_of_range": (
        lambda t: _csv(t, GOOD_CSV.replace("A2,61,", "A2,130,")),
        "range",
        "warning",
        1,
        True,
    ),
    "latin1_bytes": (
        lambda t: _dat(t, lambda ls: [_replace(ls[0], 3, "\xe9"), ls[1], ls[2]]),
        "encoding",
        "warning",
        1,
        True,
    ),
    "truncated_record": (
        lambda t: _dat(t, lambda ls: [ls[0], ls[1][:200], ls[2]]),
        "record_length",
        "error",
        1,
        False,
    ),
    "non_numeric_age": (
        lambda t: _csv(t, GOOD_CSV.replace("A2,61,", "A2,6l,")),
        "numeric",
        "error",
        1,
        False,
    ),
}


def _latin1_write(path: Path) -> None:
    path.write_bytes(path.read_text().encode("latin-1"))


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_validation_reports(tmp_path: Path, case: str) -> None:
    build, check, severity, n_rows, readable = REPORTED[case]
    path = build(tmp_path)
    if case == "latin1_bytes":
        _latin1_write(path)
    report = validate_puf(path)
    found = [issue for issue in report.issues if issue.check == check]
    assert len(found) == 1, report.issues
    assert (found[0].severity, found[0].n_rows) == (severity, n_rows)
    assert report.ok is (severity == "warning")
    assert "\n" not in found[0].message
    if readable:
        read_puf(path)
    else:
        with pytest.raises(PufError):
            read_puf(path)


def test_unknown_codes_are_kept_as_they_are(tmp_path: Path) -> None:
    frame = read_puf(_csv(tmp_path, GOOD_CSV.replace("A1,45,1,", "A1,45,7,")))
    assert frame["SEX"].to_list() == ["7", "2", "2"]
    report = validate_puf(tmp_path / "puf.csv")
    sex = next(f for f in report.fields if f.name == "SEX")
    assert (sex.n_invalid, sex.invalid_examples) == (1, ("7",))


def test_latin1_bytes_keep_the_positions(tmp_path: Path) -> None:
    path = _dat(tmp_path, lambda ls: [_replace(ls[0], 3, "\xe9"), ls[1], ls[2]])
    _latin1_write(path)
    frame = read_puf(path)
    assert frame["PUF_CASE_ID"][0] == "A1\ufffd"
    assert frame["AGE"].to_list() == [45, 61, 90]


def test_bom_and_crlf_read_like_the_clean_file(tmp_path: Path) -> None:
    clean = read_puf(_csv(tmp_path, GOOD_CSV, "clean.csv"))
    bom_crlf = _csv(tmp_path, b"\xef\xbb\xbf" + GOOD_CSV.replace("\n", "\r\n").encode(), "bom.csv")
    assert_frame_equal(read_puf(bom_crlf), clean)
    dat = _dat(tmp_path, lambda ls: ls)
    dat.write_bytes(b"\xef\xbb\xbf" + dat.read_bytes().replace(b"\n", b"\r\n"))
    assert_frame_equal(read_puf(dat).select(clean.columns), clean)
    assert validate_puf(dat).ok


def test_blank_lines_are_not_records(tmp_path: Path) -> None:
    path = _dat(tmp_path, lambda ls: [ls[0], "", ls[1], ls[2]])
    assert read_puf(path).height == 3


def test_sas_files_need_pyreadstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pyreadstat(name, *args, **kwargs):
        if name == "pyreadstat":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyreadstat)
    path = _csv(tmp_path, "x", "puf.sas7bdat")
    with pytest.raises(PufError, match=r"needs pyreadstat: pip install 'regsurv\[sas\]'"):
        read_puf(path)


def test_unreadable_sas7bdat(tmp_path: Path) -> None:
    pytest.importorskip("pyreadstat")
    with pytest.raises(PufError, match=r"not a readable \.sas7bdat file"):
        read_puf(_csv(tmp_path, "garbage", "puf.sas7bdat"))


def test_layout_option_is_for_fixed_width_only(tmp_path: Path) -> None:
    with pytest.raises(PufError, match="fixed-width files only"):
        read_puf(_csv(tmp_path, GOOD_CSV), layout="2016")


def test_collecting_a_scan_raises_the_same_one_line_error(tmp_path: Path) -> None:
    from regsurv.io import scan_puf

    lf = scan_puf(_csv(tmp_path, GOOD_CSV.replace("A2,61,", "A2,6l,").replace("A3,90", "A3,x")))
    with pytest.raises(PufError) as caught:
        lf.filter(pl.col("SEX") == "2").collect()
    assert str(caught.value) == (
        "AGE: 2 rows hold non-numeric text ('6l', 'x') where an integer is expected"
    )


def test_nan_and_inf_text_are_not_numbers(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD_CSV.replace("12.50", "nan").replace("30.25", "inf"))
    with pytest.raises(PufError, match=r"DX_LASTCONTACT_DEATH_MONTHS: 2 rows hold .*'nan', 'inf'"):
        read_puf(path)
    kept = read_puf(path, invalid="keep")
    assert kept["DX_LASTCONTACT_DEATH_MONTHS"].to_list() == [None, None, None]
    assert kept["DX_LASTCONTACT_DEATH_MONTHS__invalid"].to_list() == ["nan", "inf", None]


def test_error_names_the_selected_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD_CSV.replace("A2,61,2,2011", "A2,6l,2,20l1"))
    with pytest.raises(PufError, match="YEAR_OF_DIAGNOSIS: 1 row holds non-numeric text"):
        read_puf(path, columns=["YEAR_OF_DIAGNOSIS"])


def test_lower_case_csv_header_names_the_puf_fields(tmp_path: Path) -> None:
    header, *rows = GOOD_CSV.splitlines()
    lowered = "\n".join([header.lower().replace("puf_case_id", " puf_case_id "), *rows]) + "\n"
    frame = read_puf(_csv(tmp_path, lowered))
    assert_frame_equal(frame, read_puf(_csv(tmp_path, GOOD_CSV, "upper.csv")))


def test_blank_to_null_strips_padding_only() -> None:
    from regsurv.io._raw import blank_to_null

    values = ["01", " 01", "01 ", "\t7\t", "", "   ", None, "c 1", " a b "]
    out = pl.DataFrame({"v": values}).select(blank_to_null(pl.col("v")))["v"].to_list()
    assert out == ["01", "01", "01", "7", None, None, None, "c 1", "a b"]


def test_csv_without_blank_bytes_reads_like_a_padded_one(tmp_path: Path) -> None:
    # no space or tab in the file: the reader skips stripping; quoted "" and empty are null
    clean = GOOD_CSV.replace("A2,61,2", 'A2,61,""').replace("A3,90", "A3,")
    padded = clean.replace("A1,45,1", 'A1, 45 ,"\t1"').replace("A3,,", 'A3," ",')
    frame = read_puf(_csv(tmp_path, clean, "clean.csv"))
    assert_frame_equal(frame, read_puf(_csv(tmp_path, padded, "padded.csv")))
    assert frame["SEX"].to_list() == ["1", None, "2"]
    assert frame["AGE"].to_list() == [45, 61, None]
