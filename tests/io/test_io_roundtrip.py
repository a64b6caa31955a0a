"""write_puf -> read_puf gives back the same frame in every format and layout."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from regsurv.io import (
    INVALID_SUFFIX,
    PufError,
    convert_puf,
    load_dictionary,
    parse_sas_layout,
    read_puf,
    scan_puf,
    validate_puf,
    write_puf,
)


def test_dat_csv_parquet_read_to_identical_frames(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    frames = {}
    for fmt in ("dat", "csv", "parquet"):
        path = write_puf(puf_frame, tmp_path / f"puf.{fmt}", format=fmt)
        frames[fmt] = read_puf(path)
    assert_frame_equal(frames["dat"], puf_frame)
    assert_frame_equal(frames["csv"], puf_frame)
    assert_frame_equal(frames["parquet"], puf_frame)


def test_schema_follows_the_dictionary(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    schema = read_puf(write_puf(puf_frame, tmp_path / "puf.dat")).schema
    fields = load_dictionary().fields
    expected = {"code": pl.String, "integer": pl.Int64, "decimal": pl.Float64}
    assert all(schema[name] == expected[fields[name].type] for name in schema)


def test_2013_layout_round_trip_without_the_sas_program(tmp_path: Path, make_frame) -> None:
    frame = make_frame(10, layout="2013", seed=3)
    path = write_puf(frame, tmp_path / "old.dat", layout="2013")
    path.with_suffix(".sas").unlink()  # the layout now comes from the record length (389)
    assert len(path.read_text().splitlines()[0]) == 389
    assert_frame_equal(read_puf(path), frame)


def test_fixed_width_text_is_padded_as_the_puf(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "PUF_CASE_ID": ["ID1"],
            "AGE": [7],
            "RACE": ["1"],  # zero-padded to "01"
            "INSURANCE_STATUS": ["1"],  # code width 1 in a 2-wide field: "1 "
            "DX_LASTCONTACT_DEATH_MONTHS": [12.5],
            "TNM_CLIN_M": ["c1"],
        }
    )
    path = write_puf(frame, tmp_path / "p.dat")
    line = path.read_text().splitlines()[0]
    assert len(line) == 410
    assert line[:37] == "ID1".ljust(37)
    assert line[49:52] == "  7"
    assert line[53:55] == "01"
    assert line[56:58] == "1 "
    assert line[373:381] == "   12.50"
    assert line[121:126] == "c1   "
    assert line[37:47] == " " * 10  # absent field: blank
    back = read_puf(path)
    assert back["RACE"][0] == "01" and back["PUF_FACILITY_ID"][0] is None


def test_sas_program_has_an_input_block_like_ncdb(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame, tmp_path / "puf.dat")
    program = path.with_suffix(".sas").read_text()
    assert "LRECL=410" in program
    assert "@1 PUF_CASE_ID $37." in program and "@374 DX_LASTCONTACT_DEATH_MONTHS $8." in program
    layout = parse_sas_layout(path.with_suffix(".sas"))
    assert layout.fields == load_dictionary().layouts["2016"].fields


def test_sas_program_beside_the_file_gives_the_positions(tmp_path: Path) -> None:
    program = tmp_path / "tiny.sas"
    program.write_text(
        "DATA x; INFILE 'tiny.dat';\nINPUT @1 PUF_CASE_ID $3. @4 AGE $3. @7 SEX $1.;\nRUN;"
    )
    (tmp_path / "tiny.dat").write_text("A01 451\nA02 902\n")
    frame = read_puf(tmp_path / "tiny.dat")
    assert frame.to_dict(as_series=False) == {
        "PUF_CASE_ID": ["A01", "A02"],
        "AGE": [45, 90],
        "SEX": ["1", "2"],
    }


def test_column_style_input_block(tmp_path: Path) -> None:
    program = tmp_path / "cols.sas"
    program.write_text("/* INPUT in a comment is ignored; */ INPUT PUF_CASE_ID $ 1-3 AGE $ 4-6;")
    layout = parse_sas_layout(program)
    assert [(f.name, f.start, f.end) for f in layout.fields] == [
        ("PUF_CASE_ID", 1, 3),
        ("AGE", 4, 6),
    ]


def test_convert_streams_to_parquet(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    source = write_puf(puf_frame, tmp_path / "puf.dat")
    out = convert_puf(source, tmp_path / "puf.parquet")
    assert_frame_equal(pl.read_parquet(out), puf_frame)


def test_invalid_keep_mode_round_trips_the_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("PUF_CASE_ID,AGE,YEAR_OF_DIAGNOSIS\nA,45,2010\nB,4x,2011\nC,,20O9\n")
    frame = read_puf(path, invalid="keep")
    assert frame["AGE"].to_list() == [45, None, None]
    assert frame["AGE" + INVALID_SUFFIX].to_list() == [None, "4x", None]
    assert frame["YEAR_OF_DIAGNOSIS" + INVALID_SUFFIX].to_list() == [None, None, "20O9"]
    again = read_puf(write_puf(frame, tmp_path / "again.dat"), invalid="keep")
    assert_frame_equal(again.select(frame.columns), frame)


def test_scan_is_lazy_and_selects_columns(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame, tmp_path / "puf.dat")
    lf = scan_puf(path)
    assert isinstance(lf, pl.LazyFrame)
    assert_frame_equal(lf.select("AGE", "SEX").collect(), puf_frame.select("AGE", "SEX"))
    assert_frame_equal(read_puf(path, columns=["SEX"]), puf_frame.select("SEX"))


def test_pandas_frame_is_accepted(tmp_path: Path, puf_frame: pl.DataFrame) -> None:
    path = write_puf(puf_frame.to_pandas(), tmp_path / "puf.parquet", format="parquet")
    assert read_puf(path).height == puf_frame.height


def test_stata_file_reads_with_restored_zero_padding(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    import pandas as pd

    data = pd.DataFrame(
        {"PUF_CASE_ID": ["A", "B"], "RACE": [1.0, 99.0], "AGE": [45.0, float("nan")]}
    )
    path = tmp_path / "puf.dta"
    pyreadstat.write_dta(data, str(path))
    frame = read_puf(path)
    assert frame.to_dict(as_series=False) == {
        "PUF_CASE_ID": ["A", "B"],
        "RACE": ["01", "99"],
        "AGE": [45, None],
    }


def test_writer_refuses_columns_without_a_position(tmp_path: Path) -> None:
    frame = pl.DataFrame({"PUF_CASE_ID": ["A"], "os_months": [1.0]})
    with pytest.raises(PufError, match="os_months"):
        write_puf(frame, tmp_path / "x.dat")


def test_writer_refuses_values_wider_than_the_field(tmp_path: Path) -> None:
    frame = pl.DataFrame({"AGE": [45, 1234, 5678]})
    with pytest.raises(PufError, match=r"AGE: 2 value\(s\) do not fit width 3"):
        write_puf(frame, tmp_path / "x.dat")


def _code_strategy(name: str):
    pf = load_dictionary().fields[name]
    width = pf.positions["2016"][1] - pf.positions["2016"][0] + 1
    return st.one_of(st.none(), st.sampled_from([c for c in pf.codes if len(c) <= width]))


ROW = st.fixed_dictionaries(
    {
        "PUF_CASE_ID": st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=37
        ),
        "AGE": st.one_of(st.none(), st.integers(0, 999)),
        "RACE": _code_strategy("RACE"),
        "HISTOLOGY": _code_strategy("HISTOLOGY"),
        "TNM_PATH_M": _code_strategy("TNM_PATH_M"),
        "CDCC_TOTAL_BEST": _code_strategy("CDCC_TOTAL_BEST"),
        "RAD_REGIONAL_DOSE_CGY": st.one_of(st.none(), st.integers(0, 99999)),
        "DX_LASTCONTACT_DEATH_MONTHS": st.one_of(
            st.none(), st.integers(0, 99_999).map(lambda cents: cents / 100)
        ),
        "CROWFLY": st.one_of(st.none(), st.integers(0, 999_999).map(lambda tenths: tenths / 10)),
    }
)
SCHEMA = {
    "PUF_CASE_ID": pl.String,
    "AGE": pl.Int64,
    "RACE": pl.String,
    "HISTOLOGY": pl.String,
    "TNM_PATH_M": pl.String,
    "CDCC_TOTAL_BEST": pl.String,
    "RAD_REGIONAL_DOSE_CGY": pl.Int64,
    "DX_LASTCONTACT_DEATH_MONTHS": pl.Float64,
    "CROWFLY": pl.Float64,
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, min_size=1, max_size=12), fmt=st.sampled_from(["dat", "csv", "parquet"]))
def test_round_trip_property(tmp_path: Path, rows: list[dict], fmt: str) -> None:
    frame = pl.DataFrame(rows, schema=SCHEMA)
    path = write_puf(frame, tmp_path / f"prop.{fmt}", format=fmt)
    assert_frame_equal(read_puf(path).select(frame.columns), frame)


def test_writer_conforms_types_for_every_format(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"PUF_CASE_ID": ["A", "B"], "RACE": [1, 99], "AGE": [45.0, None], "CROWFLY": [3, 12]}
    )
    expected = pl.DataFrame(
        {
            "PUF_CASE_ID": ["A", "B"],
            "RACE": ["01", "99"],
            "AGE": pl.Series([45, None], dtype=pl.Int64),
            "CROWFLY": [3.0, 12.0],
        }
    )
    for fmt in ("dat", "csv", "parquet"):
        back = read_puf(write_puf(frame, tmp_path / f"c.{fmt}", format=fmt))
        assert_frame_equal(back.select(expected.columns), expected)


def test_writer_refuses_fractional_values_in_integer_fields(tmp_path: Path) -> None:
    frame = pl.DataFrame({"AGE": [45.0, 45.5, 46.25]})
    with pytest.raises(PufError, match=r"AGE: 2 value\(s\) are not whole numbers \(e\.g\. 45\.5\)"):
        write_puf(frame, tmp_path / "x.csv", format="csv")


def test_writer_rounds_decimals_to_the_puf_precision(tmp_path: Path) -> None:
    frame = pl.DataFrame({"DX_LASTCONTACT_DEATH_MONTHS": [12.346, 0.004, 7.0, 99999.99]})
    back = read_puf(write_puf(frame, tmp_path / "m.dat"))
    assert back["DX_LASTCONTACT_DEATH_MONTHS"].to_list() == [12.35, 0.0, 7.0, 99999.99]


def test_keep_mode_parquet_round_trip_merges_companions(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("PUF_CASE_ID,AGE\nA,45\nB,4x\n")
    frame = read_puf(source, invalid="keep")
    path = write_puf(frame, tmp_path / "keep.parquet", format="parquet")
    assert_frame_equal(read_puf(path, invalid="keep"), frame)
    assert read_puf(path)["AGE" + INVALID_SUFFIX].to_list() == [None, "4x"]


def test_sas_program_without_lrecl_needs_only_the_last_field(tmp_path: Path) -> None:
    (tmp_path / "f.sas").write_text("INPUT @1 PUF_CASE_ID $2. @3 AGE $3.;")
    (tmp_path / "f.dat").write_text("A1 45 trailing filler\nA2 61\n")
    assert read_puf(tmp_path / "f.dat")["AGE"].to_list() == [45, 61]
    (tmp_path / "f.dat").write_text("A1 45\nA2 6\n")
    with pytest.raises(
        PufError, match=r"1 record differs .*at least 5 characters.* record 2 has 4"
    ):
        read_puf(tmp_path / "f.dat")


def test_sas7bdat_goes_through_pyreadstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    import pandas as pd

    def fake_reader(path: str):
        data = pd.DataFrame({"puf_case_id": ["A"], "race": [2.0], "age": ["61"]})
        return data, None

    monkeypatch.setattr(pyreadstat, "read_sas7bdat", fake_reader)
    path = tmp_path / "puf.sas7bdat"
    path.write_bytes(b"stand-in")
    frame = read_puf(path)
    assert frame.to_dict(as_series=False) == {"PUF_CASE_ID": ["A"], "RACE": ["02"], "AGE": [61]}


def test_ncdb_style_program_with_labels_and_informats(tmp_path: Path) -> None:
    program = tmp_path / "ncdb.sas"
    program.write_text(
        "PROC FORMAT; VALUE $SEXF '1'='Male' '9'='Input missing'; RUN;\n"
        "DATA NCDB; INFILE 'x.dat' LRECL=10 MISSOVER;\n"
        "  INPUT @1 PUF_CASE_ID $CHAR5. @6 age 3. @9 SEX $1. ;\n"
        "  LABEL SEX='Sex';\nRUN;\n"
    )
    layout = parse_sas_layout(program)
    assert layout.record_length == 10
    assert [(f.name, f.start, f.end) for f in layout.fields] == [
        ("PUF_CASE_ID", 1, 5),
        ("AGE", 6, 8),
        ("SEX", 9, 9),
    ]


def test_typed_parquet_passes_through_and_keep_mode_adds_string_companions(
    tmp_path: Path, puf_frame: pl.DataFrame
) -> None:
    path = write_puf(puf_frame, tmp_path / "typed.parquet", format="parquet")
    kept = read_puf(path, invalid="keep")
    assert_frame_equal(kept.select(puf_frame.columns), puf_frame)
    assert kept.schema["AGE" + INVALID_SUFFIX] == pl.String
    assert kept["AGE" + INVALID_SUFFIX].null_count() == puf_frame.height


def test_sas_lrecl_is_a_maximum(tmp_path: Path) -> None:
    # NCDB-style programs state LRECL generously: records shorter than it (but reaching the last
    # field) are read, as SAS's INFILE reads them; only a longer record is refused.
    (tmp_path / "f.sas").write_text(
        "DATA NCDB; INFILE 'f.dat' LRECL=20 TRUNCOVER; INPUT @1 PUF_CASE_ID $2. @3 AGE $3.; RUN;"
    )
    (tmp_path / "f.dat").write_text("A1 45\nA2 61   \n")
    layout = parse_sas_layout(tmp_path / "f.sas")
    assert layout.record_length == 20 and layout.record_length_is_maximum
    assert read_puf(tmp_path / "f.dat")["AGE"].to_list() == [45, 61]
    assert validate_puf(tmp_path / "f.dat", required=("PUF_CASE_ID", "AGE")).ok
    (tmp_path / "f.dat").write_text("A1 45\nA2 61" + " " * 16 + "\nA3 6\n")
    with pytest.raises(PufError, match=r"2 records differ .*\(5 to 20 characters\)"):
        read_puf(tmp_path / "f.dat")
    report = validate_puf(tmp_path / "f.dat", required=("PUF_CASE_ID", "AGE"))
    assert not report.ok
    assert [i.n_rows for i in report.issues if i.check == "record_length"] == [2]


def test_sas_lrecl_shorter_than_the_fields_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f.sas").write_text("INFILE 'f.dat' LRECL=4; INPUT @1 PUF_CASE_ID $2. @3 AGE $3.;")
    with pytest.raises(PufError, match=r"LRECL=4 is shorter than the INPUT fields.*column 5"):
        parse_sas_layout(tmp_path / "f.sas")


def test_builtin_layouts_keep_an_exact_record_length() -> None:
    layout = load_dictionary().layouts["2016"]
    assert not layout.record_length_is_maximum
    lengths = pl.Series([410, 409, 411])
    assert layout.bad_record_length(lengths).to_list() == [False, True, True]


def test_conform_pads_and_blanks_a_column_with_few_values(tmp_path):
    """Code columns are checked on their distinct values; one that needs padding or blanking is
    still conformed everywhere, and a column already conformed is kept as it is."""
    race = ["1", "01", " 2", "", "99"] * 40
    sex = ["1", "2"] * 100
    path = write_puf(pl.DataFrame({"RACE": race, "SEX": sex}), tmp_path / "c.csv", format="csv")
    back = pl.read_csv(path, infer_schema=False)
    assert back["RACE"].to_list() == ["01", "01", "02", None, "99"] * 40
    assert back["SEX"].to_list() == sex


def test_conform_pads_a_column_of_mostly_distinct_values(tmp_path):
    race = ["1", " 2", "3", "04", "", "10", "7 "]
    path = write_puf(pl.DataFrame({"RACE": race}), tmp_path / "d.csv", format="csv")
    back = pl.read_csv(path, infer_schema=False)
    assert back["RACE"].to_list() == ["01", "02", "03", "04", None, "10", "07"]
