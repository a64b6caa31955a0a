"""The bad-input corpus of every command: data files, study files, output paths and signals.

Each case builds its inputs in a fresh folder, runs one command in-process (the signal cases in
a subprocess) and checks: the exit code (`regsurv.errors.ExitCode`, README "Exit codes"), one
``error:`` line naming the problem, no traceback, every input file byte-for-byte unchanged
(SHA-256 before and after) and no partial output (the folder holds exactly what it held
before, hidden staging folders included).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.errors import ExitCode
from regsurv.io import write_puf
from regsurv.pipeline.outputs import MARKER
from regsurv.studies import study_path

SRC = Path(__file__).resolve().parents[1] / "src"
N_ROWS = 30


@cache
def _frame() -> pl.DataFrame:
    """30 eligible synthetic patients (every criterion keeps them)."""
    from regsurv.synth.generate import synthetic_cohort_puf

    return synthetic_cohort_puf(N_ROWS, seed=7)


# -- building inputs -----------------------------------------------------------------------------


def _csv_lines(tmp: Path) -> list[str]:
    path = write_puf(_frame(), tmp / "seed.csv", format="csv")
    lines = path.read_text().splitlines()
    path.unlink()
    return lines


def _csv(tmp: Path, edit: Callable[[list[str]], list[str]] = lambda ls: ls, **kw) -> Path:
    path = tmp / kw.get("name", "puf.csv")
    path.write_text("\n".join(edit(_csv_lines(tmp))) + kw.get("end", "\n"))
    return path


def _column(lines: list[str], name: str) -> int:
    return lines[0].split(",").index(name)


def _set(lines: list[str], row: int, name: str, value: str) -> list[str]:
    """`lines` with field `name` of data row `row` (1-based) set to `value`."""
    out = list(lines)
    cells = out[row].split(",")
    cells[_column(lines, name)] = value
    out[row] = ",".join(cells)
    return out


def _parquet(tmp: Path, frame: pl.DataFrame | None = None) -> Path:
    return write_puf(_frame() if frame is None else frame, tmp / "puf.parquet", format="parquet")


def _dat(tmp: Path, edit: Callable[[list[str]], list[str]] = lambda ls: ls) -> Path:
    path = write_puf(_frame(), tmp / "puf.dat", layout="2013")
    lines = edit(path.read_text().splitlines())
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: object) -> str:
    """TOML text of a study value (tables inline; enough for study files)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"


def _study(tmp: Path, mutate: Callable[[dict], None] = lambda raw: None) -> Path:
    raw = tomllib.loads(study_path().read_text(encoding="utf-8"))
    raw["report"].pop("targets", None)
    mutate(raw)
    lines = [f'"{k}" = {_toml(v)}' for k, v in raw.items() if isinstance(v, list)]
    for section, body in raw.items():
        if isinstance(body, list):
            continue
        lines.append(f"[{section}]")
        lines += [f'"{k}" = {_toml(v)}' for k, v in body.items()]
    path = tmp / "study.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _criterion(raw: dict, criterion_id: str) -> dict:
    return next(c for c in raw["cohort"]["criteria"] if c["id"] == criterion_id)


def _site_in(codes: list[str]) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        _criterion(raw, "extremity_site")["where"] = {"field": "PRIMARY_SITE", "in": codes}

    return mutate


def _edit_analysis(analysis_id: str, edit: Callable[[dict], object]) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        edit(next(a for a in raw["analyses"] if a["id"] == analysis_id))

    return mutate


def _band_on(field: str) -> Callable[[dict], None]:
    """A study with a band `distance_group` whose levels read `field`."""

    def mutate(raw: dict) -> None:
        raw["cohort"]["bands"]["distance_group"] = {
            "reference": "near",
            "levels": [
                {"label": "near", "where": {"field": field, "le": 50}},
                {"label": "far", "where": {"field": field, "ge": 50}},
            ],
        }

    return mutate


def _marked_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("regsurv\n")
    (path / "report.html").write_text("old report")
    return path


# -- the corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """`build(tmp)` makes the inputs and returns the command's arguments (`{tmp}` is replaced
    by the case folder); the expected exit code and a regex of the error line."""

    build: Callable[[Path], list[str]]
    exit_code: int
    message: str


def _run(*extra: str, data: Callable[[Path], Path] = _parquet) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = data(tmp)
        return ["run", "--data", str(path), "--out", str(tmp / "out"), *extra]

    return build


def _cohort(*extra: str, data: Callable[[Path], Path] = _parquet) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = data(tmp)
        return ["cohort", "--data", str(path), "--out", str(tmp / "out"), *extra]

    return build


def _with_study(command: str, mutate: Callable[[dict], None]) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        data, study = _parquet(tmp), _study(tmp, mutate)
        return [command, "--data", str(data), "--study", str(study), "--out", str(tmp / "out")]

    return build


def _args(*args: str, make: Callable[[Path], object] = lambda tmp: None):
    def build(tmp: Path) -> list[str]:
        make(tmp)
        return [a.replace("{tmp}", str(tmp)) for a in args]

    return build


def _write(path: str, content: bytes | str = b"x") -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        target = tmp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)

    return make


def _both(*makers: Callable[[Path], object]) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        for maker in makers:
            maker(tmp)

    return make


def _data_in(folder: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / folder).mkdir(parents=True, exist_ok=True)
        return _parquet(tmp / folder)

    return make


def _dup_column(ls: list[str]) -> list[str]:
    return [ls[0] + ",AGE", *(line + ",50" for line in ls[1:])]


def _conflicting_id(ls: list[str]) -> list[str]:
    copy = _set([ls[0], ls[1]], 1, "CROWFLY", "999.9")[1]
    return [*ls, copy]


def _latin1(tmp: Path) -> Path:
    path = _csv(tmp)
    text = path.read_bytes().replace(b",C49", b",\xe949", 1)
    path.write_bytes(text)
    return path


def _unquoted_comma(ls: list[str]) -> list[str]:
    i = _column(ls, "PUF_FACILITY_ID")
    cells = ls[3].split(",")
    cells[i] = cells[i][:3] + "," + cells[i][3:]
    return [*ls[:3], ",".join(cells), *ls[4:]]


def _strict_with(name: str, value: str) -> Callable[[Path], Path]:
    return lambda tmp: _csv(tmp, lambda ls: _set(ls, 2, name, value))


CASES: dict[str, Case] = {
    # -- data files: run ---------------------------------------------------------------------
    "run_data_missing": Case(
        _args("run", "--data", "{tmp}/nope.parquet", "--out", "{tmp}/out"),
        ExitCode.INPUT,
        r"nope\.parquet: PUF file not found \(--data\)",
    ),
    "run_data_is_a_directory": Case(
        _args("run", "--data", "{tmp}/d", "--out", "{tmp}/out", make=lambda t: (t / "d").mkdir()),
        ExitCode.INPUT,
        r"is a directory, not a PUF file",
    ),
    "run_data_unknown_suffix": Case(
        _args("run", "--data", "{tmp}/puf.xlsx", "--out", "{tmp}/out", make=_write("puf.xlsx")),
        ExitCode.INPUT,
        r"unknown file type '\.xlsx'",
    ),
    "run_data_empty_file": Case(
        _args("run", "--data", "{tmp}/puf.csv", "--out", "{tmp}/out", make=_write("puf.csv", b"")),
        ExitCode.INPUT,
        r"empty file \(0 bytes\)",
    ),
    "run_csv_header_only": Case(
        _run(data=lambda t: _csv(t, lambda ls: ls[:1])), ExitCode.INPUT, r"no records"
    ),
    "run_csv_extra_field": Case(
        _run(data=lambda t: _csv(t, lambda ls: [*ls[:4], ls[4] + ",x", *ls[5:]])),
        ExitCode.INPUT,
        r"1 row does not have the header's \d+ fields \(row 4 has \d+",
    ),
    "run_csv_missing_field": Case(
        _run(data=lambda t: _csv(t, lambda ls: [*ls[:2], ls[2].rsplit(",", 1)[0], *ls[3:]])),
        ExitCode.INPUT,
        r"1 row does not have the header's \d+ fields \(row 2 has",
    ),
    "run_csv_unquoted_comma": Case(
        _run(data=lambda t: _csv(t, _unquoted_comma)),
        ExitCode.INPUT,
        r"row 3 has \d+: an unquoted or shifted comma",
    ),
    "run_csv_truncated_last_line": Case(
        _run(data=lambda t: _csv(t, lambda ls: [*ls[:-1], ls[-1][:40]], end="")),
        ExitCode.INPUT,
        rf"row {N_ROWS} has .*the last line is cut short",
    ),
    "run_csv_many_ragged_rows": Case(
        _run(data=lambda t: _csv(t, lambda ls: [ls[0], *(x + ",1" for x in ls[1:])])),
        ExitCode.INPUT,
        rf"{N_ROWS} rows do not have .*rows 1, 2, 3, 4, 5 and {N_ROWS - 5} more",
    ),
    "run_csv_unbalanced_quote": Case(
        _run(data=lambda t: _csv(t, lambda ls: _set(ls, 5, "PUF_FACILITY_ID", '"F1'))),
        ExitCode.INPUT,
        r"1 row holds an unbalanced quote \(row 5\)",
    ),
    "run_csv_duplicate_column": Case(
        _run(data=lambda t: _csv(t, _dup_column)),
        ExitCode.INPUT,
        r"the header names column AGE 2 times \(columns \d+, \d+\)",
    ),
    "run_csv_duplicate_column_other_case": Case(
        _run(data=lambda t: _csv(t, lambda ls: [ls[0] + ",age", *(x + ",50" for x in ls[1:])])),
        ExitCode.INPUT,
        r"the header names column AGE 2 times",
    ),
    "run_csv_conflicting_duplicate_id": Case(
        _run(data=lambda t: _csv(t, _conflicting_id)),
        ExitCode.INPUT,
        rf"PUF_CASE_ID: 2 rows share an id with different data \(rows 1, {N_ROWS + 1};",
    ),
    "run_csv_latin1_bytes_in_a_used_field": Case(
        _run(data=_latin1),
        ExitCode.INPUT,
        r"PRIMARY_SITE: 1 row holds bytes that are not UTF-8 \(row 1\)",
    ),
    "run_csv_non_numeric_age": Case(
        _run(data=lambda t: _csv(t, lambda ls: _set(ls, 3, "AGE", "6l"))),
        ExitCode.INPUT,
        r"AGE: 1 row holds non-numeric text \('6l'\) where an integer is expected \(row 3\)",
    ),
    "run_csv_decimal_comma_in_months": Case(
        _run(
            data=lambda t: _csv(t, lambda ls: _set(ls, 2, "DX_LASTCONTACT_DEATH_MONTHS", '"1,5"'))
        ),
        ExitCode.INPUT,
        r"DX_LASTCONTACT_DEATH_MONTHS: 1 row holds non-numeric text \('1,5'\)",
    ),
    "run_csv_semicolon_delimiter": Case(
        _run(data=lambda t: _csv(t, lambda ls: [x.replace(",", ";") for x in ls])),
        ExitCode.INPUT,
        r"no PUF field in the CSV header .*delimiter ';'",
    ),
    "run_data_lacks_a_criterion_field": Case(
        _run(data=lambda t: _parquet(t, _frame().drop("SEQUENCE_NUMBER"))),
        ExitCode.USAGE,
        r"cohort\.criteria\[no_prior_malignancy\]\.where: field 'SEQUENCE_NUMBER' is not a "
        r"column of puf\.parquet",
    ),
    "run_data_lacks_an_analysis_field": Case(
        _run(data=lambda t: _parquet(t, _frame().drop("TNM_CLIN_T"))),
        ExitCode.USAGE,
        r"clinical_t needs field 'TNM_CLIN_T', which is not a column of puf\.parquet",
    ),
    "run_dat_truncated_record": Case(
        _run(data=lambda t: _dat(t, lambda ls: [*ls[:6], ls[6][:200], *ls[7:]])),
        ExitCode.INPUT,
        r"1 record of the wrong length for layout .*row 7, e\.g\. one has 200",
    ),
    "run_dat_record_too_long": Case(
        _run(data=lambda t: _dat(t, lambda ls: [*ls[:2], ls[2] + "XX", *ls[3:]])),
        ExitCode.INPUT,
        r"1 record of the wrong length .*row 3",
    ),
    "run_dat_no_layout_matches": Case(
        _run(
            data=lambda t: (
                _dat(t, lambda ls: [x[:300] for x in ls]).with_suffix(".sas").unlink()
                or t / "puf.dat"
            )
        ),
        ExitCode.INPUT,
        r"record length 300 matches no built-in layout.*--layout",
    ),
    "run_parquet_corrupt": Case(
        _args(
            "run",
            "--data",
            "{tmp}/puf.parquet",
            "--out",
            "{tmp}/out",
            make=_write("puf.parquet", b"PAR1 not really"),
        ),
        ExitCode.INPUT,
        r"not a readable Parquet file",
    ),
    "run_layout_given_for_csv": Case(
        _run("--layout", "2016", data=_csv),
        ExitCode.USAGE,
        r"a layout \(--layout\) applies to fixed-width files only",
    ),
    "run_layout_file_missing": Case(
        _run("--layout", "/nonexistent/layout.sas", data=_dat),
        ExitCode.INPUT,
        r"layout\.sas: SAS program not found",
    ),
    "run_strict_sex_7": Case(
        _run("--strict", data=_strict_with("SEX", "7")),
        ExitCode.INPUT,
        r"1 row with invalid values .*SEX: 1 row with a code outside the dictionary \(row 2\)",
    ),
    "run_strict_age_250": Case(
        _run("--strict", data=_strict_with("AGE", "250")),
        ExitCode.INPUT,
        r"AGE: 1 row outside \[0, 90\] \(row 2\); --strict refuses them",
    ),
    "run_strict_months_5000": Case(
        _run("--strict", data=_strict_with("DX_LASTCONTACT_DEATH_MONTHS", "5000.00")),
        ExitCode.INPUT,
        r"DX_LASTCONTACT_DEATH_MONTHS: 1 row outside \[0, 600\] \(row 2\)",
    ),
    "run_strict_exact_duplicates": Case(
        _run("--strict", data=lambda t: _csv(t, lambda ls: [*ls, ls[1], ls[2]])),
        ExitCode.INPUT,
        r"PUF_CASE_ID: 2 rows repeat another record exactly .*--strict refuses",
    ),
    "run_criteria_exclude_everyone": Case(
        _with_study(
            "run", lambda r: _criterion(r, "adult").update(where={"field": "AGE", "ge": 95})
        ),
        ExitCode.EMPTY_COHORT,
        r"the criteria exclude everyone: 0 of 30 rows remain after step 'adult'",
    ),
    # -- data files: cohort, validate, convert ------------------------------------------------
    "cohort_csv_extra_field": Case(
        _cohort(data=lambda t: _csv(t, lambda ls: [*ls[:4], ls[4] + ",x", *ls[5:]])),
        ExitCode.INPUT,
        r"row 4 has",
    ),
    "cohort_csv_conflicting_duplicate_id": Case(
        _cohort(data=lambda t: _csv(t, _conflicting_id)),
        ExitCode.INPUT,
        r"PUF_CASE_ID: 2 rows share an id with different data",
    ),
    "cohort_csv_latin1_bytes": Case(
        _cohort(data=_latin1), ExitCode.INPUT, r"PRIMARY_SITE: 1 row holds bytes that are not UTF-8"
    ),
    "cohort_data_missing": Case(
        _args("cohort", "--data", "{tmp}/nope.csv", "--out", "{tmp}/out"),
        ExitCode.INPUT,
        r"nope\.csv: PUF file not found \(--data\)",
    ),
    "cohort_strict_age_250": Case(
        _cohort("--strict", data=_strict_with("AGE", "250")),
        ExitCode.INPUT,
        r"AGE: 1 row outside \[0, 90\]",
    ),
    "cohort_dat_truncated_record": Case(
        _cohort(data=lambda t: _dat(t, lambda ls: [*ls[:-1], ls[-1][:100]])),
        ExitCode.INPUT,
        rf"row {N_ROWS}, e\.g\. one has 100",
    ),
    "validate_csv_extra_field": Case(
        lambda t: ["validate", str(_csv(t, lambda ls: [*ls[:4], ls[4] + ",x", *ls[5:]]))],
        ExitCode.INPUT,
        r"row 4 has",
    ),
    "validate_csv_duplicate_column": Case(
        lambda t: ["validate", str(_csv(t, _dup_column))],
        ExitCode.INPUT,
        r"the header names column AGE 2 times",
    ),
    "validate_missing_file": Case(
        _args("validate", "{tmp}/nope.dat"), ExitCode.INPUT, r"nope\.dat: no such file"
    ),
    "validate_directory": Case(
        _args("validate", "{tmp}", make=lambda t: None), ExitCode.INPUT, r"is a directory"
    ),
    "convert_non_numeric_age": Case(
        lambda t: [
            "convert",
            str(_csv(t, lambda ls: _set(ls, 3, "AGE", "4x"))),
            "--out",
            str(t / "o.parquet"),
        ],
        ExitCode.INPUT,
        r"AGE: 1 row holds non-numeric text \('4x'\)",
    ),
    "convert_missing_input": Case(
        _args("convert", "{tmp}/nope.csv", "--out", "{tmp}/o.parquet"),
        ExitCode.INPUT,
        r"nope\.csv: no such file",
    ),
    "convert_layout_given_for_csv": Case(
        lambda t: ["convert", str(_csv(t)), "--out", str(t / "o.parquet"), "--layout", "2016"],
        ExitCode.USAGE,
        r"a layout \(--layout\) applies to fixed-width files only",
    ),
    # -- study files ---------------------------------------------------------------------------
    "run_study_missing": Case(
        _args("run", "--study", "{tmp}/nope.toml", "--out", "{tmp}/out"),
        ExitCode.USAGE,
        r"nope\.toml: study file not found",
    ),
    "run_study_is_a_directory": Case(
        _args("run", "--study", "{tmp}", "--out", "{tmp}/out"),
        ExitCode.USAGE,
        r"is a directory, not a study file \(--study\)",
    ),
    "run_study_not_toml": Case(
        _args("run", "--study", "{tmp}/s.toml", "--out", "{tmp}/out", make=_write("s.toml", "[a")),
        ExitCode.USAGE,
        r"s\.toml: not valid TOML",
    ),
    "run_study_not_utf8": Case(
        _args(
            "run",
            "--study",
            "{tmp}/s.toml",
            "--out",
            "{tmp}/out",
            make=_write("s.toml", b"name = '\xe9'\n"),
        ),
        ExitCode.USAGE,
        r"study file is not UTF-8 text",
    ),
    "run_study_unknown_key": Case(
        _with_study("run", lambda r: r["cohort"].update(critera=[])),
        ExitCode.USAGE,
        r"cohort\.critera: unknown key",
    ),
    "run_study_unknown_field": Case(
        _with_study(
            "run", lambda r: _criterion(r, "adult").update(where={"field": "AGEE", "ge": 1})
        ),
        ExitCode.USAGE,
        r"field 'AGEE' is not in the PUF dictionary",
    ),
    "run_study_unknown_code": Case(
        _with_study(
            "run", lambda r: _criterion(r, "adult").update(where={"field": "SEX", "in": ["M"]})
        ),
        ExitCode.USAGE,
        r"code 'M' is not in the dictionary for SEX",
    ),
    "run_study_primary_site_not_in_dictionary": Case(
        _with_study("run", _site_in(["C491", "C999"])),
        ExitCode.USAGE,
        r"code 'C999' is not in the dictionary for PRIMARY_SITE",
    ),
    "run_study_primary_site_matching_the_pattern_only": Case(
        _with_study("run", _site_in(["C497"])),
        ExitCode.USAGE,
        r"code 'C497' is not in the dictionary for PRIMARY_SITE",
    ),
    "run_study_number_for_a_coded_field": Case(
        _with_study(
            "run", lambda r: _criterion(r, "adult").update(where={"field": "SEX", "in": [1]})
        ),
        ExitCode.USAGE,
        r"SEX is a coded field; write the code 1 as a zero-padded string",
    ),
    "run_study_lacks_the_report_section": Case(
        _with_study("run", lambda r: r.pop("report")),
        ExitCode.USAGE,
        r"report: required key missing",
    ),
    # -- study mistakes in the analyses: every name checked, the key path in the message ------
    "run_study_covariate_not_a_column": Case(
        _with_study("run", _edit_analysis("table3", lambda a: a["covariates"].append("agee"))),
        ExitCode.USAGE,
        r"analyses\[table3\]\.covariates\[12\]: 'agee' is not an analysis column",
    ),
    "run_study_table_row_typo": Case(
        _with_study("run", _edit_analysis("table1", lambda a: a["rows"][2].update(column="sexx"))),
        ExitCode.USAGE,
        r"analyses\[table1\]\.rows\[2\]\.column: 'sexx' is not an analysis column",
    ),
    "run_study_table_level_typo": Case(
        _with_study(
            "run", _edit_analysis("table1", lambda a: a["rows"][2].update(levels=["Male", "Fem"]))
        ),
        ExitCode.USAGE,
        r"analyses\[table1\]\.rows\[2\]\.levels\[1\]: 'Fem' is not a level of sex",
    ),
    "run_study_table_group_numeric": Case(
        _with_study("run", _edit_analysis("table1", lambda a: a.update(group="age"))),
        ExitCode.USAGE,
        r"analyses\[table1\]\.group: 'age' is numeric; it needs a categorical or Boolean",
    ),
    "run_study_km_group_not_a_column": Case(
        _with_study("run", _edit_analysis("fig2b", lambda a: a.update(group="treatmnt"))),
        ExitCode.USAGE,
        r"analyses\[fig2b\]\.group: 'treatmnt' is not an analysis column",
    ),
    "run_study_km_group_numeric": Case(
        _with_study("run", _edit_analysis("fig2b", lambda a: a.update(group="os_months"))),
        ExitCode.USAGE,
        r"analyses\[fig2b\]\.group: 'os_months' is numeric",
    ),
    "run_study_survival_time_not_a_column": Case(
        _with_study("run", lambda r: r["outcome"].update(time="os_days")),
        ExitCode.USAGE,
        r"outcome\.time: 'os_days' is not an analysis column",
    ),
    "run_study_survival_time_categorical": Case(
        _with_study("run", lambda r: r["outcome"].update(time="sex")),
        ExitCode.USAGE,
        r"outcome\.time: 'sex' is categorical; the time needs a numeric column",
    ),
    "run_study_event_not_a_column": Case(
        _with_study("run", lambda r: r["outcome"].update(event="dead")),
        ExitCode.USAGE,
        r"outcome\.event: 'dead' is not an analysis column",
    ),
    "run_study_unknown_reference_level": Case(
        _with_study("run", _edit_analysis("table3", lambda a: a["reference"].update(sex="Femal"))),
        ExitCode.USAGE,
        r"analyses\[table3\]\.reference\.sex: 'Femal' is not a level of sex \(",
    ),
    "run_study_reference_not_a_covariate": Case(
        _with_study(
            "run", _edit_analysis("table3", lambda a: a["reference"].update(insurance="Medicare"))
        ),
        ExitCode.USAGE,
        r"analyses\[table3\]\.reference\.insurance: 'insurance' is not a covariate of this",
    ),
    "run_study_reference_on_a_numeric_column": Case(
        _with_study(
            "run",
            _edit_analysis(
                "table3", lambda a: a["covariates"].append("age") or a["reference"].update(age="50")
            ),
        ),
        ExitCode.USAGE,
        r"analyses\[table3\]\.reference\.age: 'age' has no levels",
    ),
    "run_study_propensity_covariate_not_a_column": Case(
        _with_study("run", _edit_analysis("iptw", lambda a: a["covariates"].append("racee"))),
        ExitCode.USAGE,
        r"analyses\[iptw\]\.covariates\[\d+\]: 'racee' is not an analysis column",
    ),
    "run_study_propensity_treatment_numeric": Case(
        _with_study("run", _edit_analysis("iptw", lambda a: a.update(treatment="age"))),
        ExitCode.USAGE,
        r"analyses\[iptw\]\.treatment: 'age' is numeric",
    ),
    "run_study_matching_group_not_a_level": Case(
        _with_study(
            "run", _edit_analysis("matched", lambda a: a.update(survival_reference="SP only"))
        ),
        ExitCode.USAGE,
        r"analyses\[matched\]\.survival_reference: 'SP only' is not a level of treatment",
    ),
    "run_study_trend_positive_not_a_level": Case(
        _with_study("run", _edit_analysis("utilization", lambda a: a.update(positive="Meta"))),
        ExitCode.USAGE,
        r"analyses\[utilization\]\.positive: 'Meta' is not a level of treatment",
    ),
    "run_study_band_reads_a_field_the_data_lack": Case(
        lambda t: [
            "run",
            "--data",
            str(_parquet(t, _frame().drop("CROWFLY"))),
            "--study",
            str(_study(t, _band_on("CROWFLY"))),
            "--out",
            str(t / "out"),
        ],
        ExitCode.USAGE,
        r"cohort\.bands\.distance_group\.levels\[near\]\.where: field 'CROWFLY' is not a "
        r"column of puf\.parquet",
    ),
    "run_only_names_no_analysis": Case(
        _run("--only", "table9"),
        ExitCode.USAGE,
        r"--only: 'table9' is neither an analysis id of the study",
    ),
    "run_bad_profile": Case(
        _run("--profile", "stata"), ExitCode.USAGE, r"--profile must be one of r, sas, not 'stata'"
    ),
    "run_workers_zero": Case(
        _run("--workers", "0"), ExitCode.USAGE, r"--workers: 0 is not a number of workers"
    ),
    "run_scheduler_unreachable": Case(
        _run("--scheduler", "tcp://127.0.0.1:1"),
        ExitCode.USAGE,
        r"--scheduler: cannot reach 'tcp://127\.0\.0\.1:1'",
    ),
    "run_scheduler_not_an_address": Case(
        _run("--scheduler", "nowhere"), ExitCode.USAGE, r"--scheduler: 'nowhere' is not an address"
    ),
    "run_imputation_m_below_2": Case(
        _with_study("run", _edit_analysis("mi", lambda a: a.update(m=1))),
        ExitCode.USAGE,
        r"analyses\[mi\]\.m: Input should be greater than or equal to 2",
    ),
    "run_rmst_weights_not_iptw": Case(
        _with_study("run", _edit_analysis("rmst", lambda a: a.update(weights=["table3"]))),
        ExitCode.USAGE,
        r"analyses\[rmst\]\.weights\[0\]: 'table3' is not the id of an earlier iptw analysis",
    ),
    "cohort_study_is_a_directory": Case(
        _args("cohort", "--study", "{tmp}", "--out", "{tmp}/out"),
        ExitCode.USAGE,
        r"is a directory, not a study file",
    ),
    "cohort_study_unknown_code": Case(
        _with_study("cohort", _site_in(["C999"])),
        ExitCode.USAGE,
        r"code 'C999' is not in the dictionary for PRIMARY_SITE",
    ),
    "synth_bad_format": Case(
        _args("synth", "--format", "xls", "--out", "{tmp}/x"), ExitCode.USAGE, r"--format must be"
    ),
    "synth_without_out": Case(_args("synth"), ExitCode.USAGE, r"--out is required"),
    # -- output paths ----------------------------------------------------------------------------
    "run_out_is_the_current_folder": Case(
        lambda t: ["run", "--data", str(_parquet(t)), "--out", ".", "--force"],
        ExitCode.OUTPUT,
        r"--out '\.' is the current folder",
    ),
    "run_out_is_empty": Case(
        lambda t: ["run", "--data", str(_parquet(t)), "--out", "", "--force"],
        ExitCode.OUTPUT,
        r"is the current folder",
    ),
    "run_out_is_a_file": Case(
        lambda t: ["run", "--data", str(_parquet(t)), "--out", str(t / "puf.parquet"), "--force"],
        ExitCode.OUTPUT,
        r"holds the input .*puf\.parquet \(--data\)",
    ),
    "run_out_is_another_file": Case(
        _run("--force", data=lambda t: _write("out", "mine")(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"--out .*out is a file, not a folder",
    ),
    "run_out_under_a_file": Case(
        lambda t: [
            "run",
            "--data",
            str(_parquet(t)),
            "--out",
            str(t / "puf.parquet" / "report"),
        ],
        ExitCode.OUTPUT,
        r"puf\.parquet is a file, not a folder",
    ),
    "run_out_holds_the_data": Case(
        lambda t: ["run", "--data", str(_data_in("out")(t)), "--out", str(t / "out"), "--force"],
        ExitCode.OUTPUT,
        r"holds the input .*puf\.parquet \(--data\); replacing the folder would delete it",
    ),
    "run_out_is_a_parent_of_the_data": Case(
        lambda t: ["run", "--data", str(_data_in("a/b")(t)), "--out", str(t / "a"), "--force"],
        ExitCode.OUTPUT,
        r"holds the input .*b/puf\.parquet \(--data\)",
    ),
    "run_out_holds_the_study": Case(
        lambda t: [
            "run",
            "--data",
            str(_parquet(t)),
            "--study",
            str(_study(_mkdir(t / "out"))),
            "--out",
            str(t / "out"),
            "--force",
        ],
        ExitCode.OUTPUT,
        r"holds the input .*study\.toml \(--study\)",
    ),
    "run_out_holds_the_layout": Case(
        lambda t: [
            "run",
            "--data",
            str(_dat(t)),
            "--layout",
            str(_layout_in(t / "out", t)),
            "--out",
            str(t / "out"),
            "--force",
        ],
        ExitCode.OUTPUT,
        r"holds the input .*layout\.sas \(--layout\)",
    ),
    "run_out_holds_the_targets_file": Case(
        lambda t: [
            "run",
            "--data",
            str(_parquet(t)),
            "--study",
            str(_study_with_targets(t)),
            "--out",
            str(t / "out"),
            "--force",
        ],
        ExitCode.OUTPUT,
        r"holds the input .*targets\.toml \(targets\)",
    ),
    "run_out_not_empty_without_force": Case(
        _run(data=lambda t: _write("out/keep.txt", "mine")(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"folder .*out is not empty; pass --force",
    ),
    "run_out_not_written_by_regsurv_with_force": Case(
        _run("--force", data=lambda t: _write("out/keep.txt", "mine")(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"was not written by regsurv \(no \.regsurv-output file in it\)",
    ),
    "run_out_is_a_symlink": Case(
        _run("--force", data=lambda t: _symlink_out(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"is a symbolic link",
    ),
    "run_output_problem_found_before_the_data": Case(
        _args("run", "--data", "{tmp}/nope.csv", "--out", "{tmp}/f/report", make=_write("f", "x")),
        ExitCode.OUTPUT,
        r"f is a file, not a folder",
    ),
    "cohort_out_holds_the_data": Case(
        lambda t: ["cohort", "--data", str(_data_in("out")(t)), "--out", str(t / "out"), "--force"],
        ExitCode.OUTPUT,
        r"holds the input .*\(--data\)",
    ),
    "cohort_out_is_a_file": Case(
        _cohort(data=lambda t: _write("out", "mine")(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"out is a file, not a folder",
    ),
    "cohort_out_not_written_by_regsurv_with_force": Case(
        _cohort("--force", data=lambda t: _write("out/a.txt", "mine")(t) or _parquet(t)),
        ExitCode.OUTPUT,
        r"was not written by regsurv",
    ),
    "convert_out_is_the_input": Case(
        lambda t: ["convert", str(_parquet(t)), "--out", str(t / "puf.parquet")],
        ExitCode.OUTPUT,
        r"is the input file \(PUF\); it would be replaced",
    ),
    "convert_out_is_a_folder": Case(
        lambda t: ["convert", str(_csv(t)), "--out", str(_mkdir(t / "dir"))],
        ExitCode.OUTPUT,
        r"dir is a folder, not a file",
    ),
    "convert_out_under_a_file": Case(
        lambda t: ["convert", str(_csv(t)), "--out", str(t / "puf.csv" / "o.parquet")],
        ExitCode.OUTPUT,
        r"puf\.csv is a file, not a folder",
    ),
    "synth_out_under_a_file": Case(
        _args("synth", "--rows", "5", "--out", "{tmp}/f/x.csv", make=_write("f")),
        ExitCode.OUTPUT,
        r"f is a file, not a folder",
    ),
    "synth_out_is_a_folder": Case(
        _args(
            "synth",
            "--rows",
            "5",
            "--out",
            "{tmp}/x_synthetic.csv",
            make=lambda t: _mkdir(t / "x_synthetic.csv"),
        ),
        ExitCode.OUTPUT,
        r"x_synthetic\.csv is a folder, not a file",
    ),
}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _layout_in(folder: Path, tmp: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return (tmp / "puf.sas").rename(folder / "layout.sas")


def _study_with_targets(tmp: Path) -> Path:
    """A study beside --out whose targets file lies inside it."""
    (tmp / "out").mkdir(parents=True, exist_ok=True)
    (tmp / "out" / "targets.toml").write_text("[x]\n")
    return _study(tmp, lambda raw: raw["report"].update(targets="out/targets.toml"))


def _symlink_out(tmp: Path) -> None:
    _marked_folder(tmp / "real")
    (tmp / "out").symlink_to(tmp / "real")


def _tree(folder: Path) -> dict[str, str]:
    """Every path under `folder` (hidden ones too) -> SHA-256 of a file, 'dir' or 'link'."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link"
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "case"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_corpus(name: str, case_dir: Path) -> None:
    case = CASES[name]
    args = case.build(case_dir)
    before = _tree(case_dir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == case.exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    line = _error_line(result.output)
    assert re.search(case.message, line), line
    assert _tree(case_dir) == before  # inputs untouched, nothing partial left (hidden or not)


# -- outcomes that publish -----------------------------------------------------------------------


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_empty_cohort_publishes_the_flow_and_exits_4(case_dir: Path) -> None:
    study = _study(
        case_dir, lambda r: _criterion(r, "adult").update(where={"field": "AGE", "ge": 95})
    )
    data = _parquet(case_dir)
    inputs = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (study, data)}
    result = _invoke("cohort", "--data", data, "--study", study, "--out", case_dir / "out")
    assert result.exit_code == ExitCode.EMPTY_COHORT
    assert "the criteria exclude everyone" in _error_line(result.output)
    assert sorted(p.name for p in (case_dir / "out").iterdir()) == [
        MARKER,
        "cohort_flow.csv",
        "fig1_inclusion_flow.pdf",
        "fig1_inclusion_flow.png",
        "fig1_inclusion_flow.svg",
    ]
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs} == inputs


def test_force_replaces_only_a_marked_folder_and_permissions_agree(case_dir: Path) -> None:
    out = _marked_folder(case_dir / "out")
    data = _parquet(case_dir)
    old_umask = os.umask(0o027)
    try:
        result = _invoke("cohort", "--data", data, "--out", out, "--force")
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    assert not (out / "report.html").exists() and (out / MARKER).is_file()
    assert (out.stat().st_mode & 0o777) == 0o750
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o640}
    assert [p.name for p in case_dir.iterdir() if p.name.startswith(".")] == []


def test_exact_repeats_are_counted_once_in_the_flow(case_dir: Path) -> None:
    data = _csv(case_dir, lambda ls: [*ls, ls[1], ls[1], ls[2]])
    result = _invoke("cohort", "--data", data, "--out", case_dir / "out")
    assert result.exit_code == 0, result.output
    flow = pl.read_csv(case_dir / "out" / "cohort_flow.csv")
    assert flow.row(0, named=True) | {"step": 1} == {
        "step": 1,
        "id": "duplicate_record",
        "label": "Repeated copy of a record (same PUF_CASE_ID and fields), counted once",
        "n_before": N_ROWS + 3,
        "n_excluded": 3,
        "n_after": N_ROWS,
    }
    assert f"{N_ROWS + 3} -> {N_ROWS} patients" in result.output


def test_invalid_values_are_their_own_flow_step(case_dir: Path) -> None:
    data = _csv(case_dir, lambda ls: _set(_set(ls, 2, "SEX", "7"), 5, "AGE", "250"))
    result = _invoke("cohort", "--data", data, "--out", case_dir / "out")
    assert result.exit_code == 0, result.output
    flow = pl.read_csv(case_dir / "out" / "cohort_flow.csv")
    assert flow["id"][0] == "invalid_value" and flow["n_excluded"][0] == 2
    assert flow["n_excluded"][1:].sum() == 0  # no clinical criterion blamed


def test_convert_into_a_missing_folder_creates_it(case_dir: Path) -> None:
    data = _csv(case_dir)
    result = _invoke("convert", data, "--out", case_dir / "new" / "deeper" / "puf.parquet")
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(case_dir / "new" / "deeper" / "puf.parquet").height == N_ROWS
    assert [p.name for p in (case_dir / "new" / "deeper").iterdir()] == ["puf.parquet"]


def test_synth_with_few_rows_works(case_dir: Path) -> None:
    result = _invoke("synth", "--rows", "10", "--format", "csv", "--out", case_dir / "s.csv")
    assert result.exit_code == 0, result.output
    assert pl.read_csv(case_dir / "s_synthetic.csv", infer_schema=False).height == 10


def test_leftover_of_a_dead_run_is_named_and_removed(case_dir: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    leftover = _marked_folder(case_dir / f".out.regsurv-tmp-{dead.stdout.strip()}-abcd1234")
    alive = _marked_folder(case_dir / f".out.regsurv-tmp-{os.getppid()}-abcd1234")
    result = _invoke("cohort", "--data", _parquet(case_dir), "--out", case_dir / "out")
    assert result.exit_code == 0, result.output
    assert f"warning: removed {leftover}, left by an interrupted regsurv run" in result.output
    assert "still in progress; left alone" in result.output
    assert not leftover.exists() and alive.exists()


# -- signals (subprocess: the handlers need a real process) --------------------------------------

KILLED_DURING_REPORT = """
import os, signal, sys
from pathlib import Path
import regsurv.report
from regsurv.pipeline import runner
from regsurv.cli import main
SIGNAL = getattr(signal, sys.argv[1])
runner.run_analysis = lambda context, analysis: None  # straight to the report
def write_report(results, folder, *, targets=None):
    (Path(folder) / "report.html").write_text("half")
    os.kill(os.getpid(), SIGNAL)
    (Path(folder) / "report.docx").write_text("never")
regsurv.report.write_report = write_report
sys.argv = ["regsurv", *sys.argv[2:]]
main()
"""


def _killed_run(tmp: Path, sig: str):
    data = _parquet(tmp)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    args = ["run", "--data", str(data), "--out", str(tmp / "out")]
    return subprocess.run(
        [sys.executable, "-c", KILLED_DURING_REPORT, sig, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=300,
    )


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_signal_during_the_report_leaves_nothing(case_dir: Path, sig: str, code: int) -> None:
    _parquet(case_dir)
    before = _tree(case_dir)
    done = _killed_run(case_dir, sig)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert f"error: interrupted by {sig}; no output was published" in done.stderr
    assert _tree(case_dir) == before


def test_sigkill_leftover_is_named_and_cleaned_by_the_next_run(case_dir: Path) -> None:
    done = _killed_run(case_dir, "SIGKILL")
    assert done.returncode == -signal.SIGKILL
    leftovers = [p for p in case_dir.iterdir() if p.name.startswith(".out.regsurv-tmp-")]
    assert len(leftovers) == 1 and (leftovers[0] / "report.html").read_text() == "half"
    result = _invoke("cohort", "--data", case_dir / "puf.parquet", "--out", case_dir / "out")
    assert result.exit_code == 0, result.output
    assert f"removed {leftovers[0]}, left by an interrupted regsurv run" in result.output
    assert not leftovers[0].exists() and (case_dir / "out" / MARKER).is_file()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert {c.exit_code for c in CASES.values()} == {2, 3, 4, 5}


# -- property: every distinct valid record is accounted for, every damaged row is named ----------


@cache
def _mixed_frame() -> pl.DataFrame:
    """Eligible patients and a random synthetic PUF (mostly excluded rows), unique ids."""
    from regsurv.synth.generate import synthetic_puf

    eligible = _frame()
    other = synthetic_puf(120, seed=11).select(eligible.columns)
    return pl.concat([eligible, other]).unique("PUF_CASE_ID", keep="first", maintain_order=True)


DAMAGES = {
    "extra_field": lambda line: line + ",x",
    "missing_field": lambda line: line.rsplit(",", 1)[0],
    "unquoted_comma": lambda line: line.replace(",", ",,", 1),
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_flow_accounts_for_every_distinct_record_and_refusals_name_every_damaged_row(
    tmp_path: Path, data
) -> None:
    from regsurv.cohort import build_cohort, cohort_criteria, excluded_ids
    from regsurv.io import PufError, check_integrity, read_puf
    from regsurv.pipeline.spec import load_study

    base = _mixed_frame()
    n = data.draw(st.integers(5, 40), label="rows")
    chosen = data.draw(st.permutations(range(base.height)), label="order")[:n]
    frame = base[list(chosen)]
    invalid = data.draw(st.sets(st.integers(0, n - 1), max_size=3), label="invalid rows")
    if invalid:
        sex = frame["SEX"].to_list()
        for i in invalid:
            sex[i] = "7"
        frame = frame.with_columns(pl.Series("SEX", sex))
    copies = data.draw(st.lists(st.integers(0, n - 1), max_size=6), label="copies")
    path = tmp_path / f"puf{data.draw(st.integers(0, 10**9))}.csv"
    write_puf(frame, path, format="csv")
    header, *rows = path.read_text().splitlines()
    rows += [rows[i] for i in copies]
    damaged = data.draw(st.sets(st.integers(0, len(rows) - 1), max_size=5), label="damaged")
    for i in damaged:
        kind = data.draw(st.sampled_from(sorted(DAMAGES)))
        rows[i] = DAMAGES[kind](rows[i])
    path.write_text("\n".join([header, *rows]) + "\n")

    if damaged:
        with pytest.raises(PufError) as refusal:
            check_integrity(path)
        message = str(refusal.value)
        rows_named = re.search(r"\(rows? ([\d, ]+?)(?: and [\d,]+ more)? ha", message)
        assert rows_named, message
        assert [int(r) for r in rows_named.group(1).split(", ")] == sorted(i + 1 for i in damaged)
        assert f"{len(damaged)} row" in message
        return

    report = check_integrity(path)
    assert report.n_copies == len(copies)
    spec = load_study()
    puf = read_puf(path)
    cohort, flow = build_cohort(puf, spec, duplicate_ids=report.duplicate_ids)
    steps = {s.id: s for s in flow.steps}
    assert flow.n_start == len(rows)
    assert sum(s.n_excluded for s in flow.steps) + flow.n_final == flow.n_start
    assert (steps["duplicate_record"].n_excluded if copies else 0) == len(copies)
    assert "duplicate_record" in steps or not copies
    assert (steps["invalid_value"].n_excluded if "invalid_value" in steps else 0) == len(invalid)
    gone = excluded_ids(puf, cohort_criteria(spec, puf.columns, duplicate_ids=report.duplicate_ids))
    kept = set(cohort.collect()["PUF_CASE_ID"].to_list())
    first_time = gone.filter(pl.col("excluded_at") != "duplicate_record")
    assert kept.isdisjoint(first_time["PUF_CASE_ID"].to_list())
    assert len(kept) + first_time.height == n  # every distinct record in exactly one bucket


def test_a_csv_ending_in_a_blank_line_runs(case_dir: Path) -> None:
    """A trailing empty line is not a record the integrity pass counts; the cohort step must
    not fail on it (a row-count cross-check once stopped such a run with exit 70)."""
    data = _csv(case_dir, end="\n\n")
    result = _invoke("cohort", "--data", data, "--out", case_dir / "out")
    assert result.exit_code == 0, result.output
