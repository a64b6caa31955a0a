"""The public table API (report/tables.py): numbers in, one `Table` out, rendered everywhere."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regsurv.causal import balance_table
from regsurv.describe import summary_table
from regsurv.report.document import FIGURE_SPACE, decimal_aligned
from regsurv.report.format import Suppressor, fmt_estimate_ci, fmt_p
from regsurv.report.tables import (
    format_balance,
    format_regression,
    format_summary,
    format_survival,
    p_text,
)
from regsurv.survival import cox_ph, kaplan_meier, logrank_test


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    arm = rng.choice(["A", "B", "C"], n, p=[0.4, 0.35, 0.25])
    sex = rng.choice(["Female", "Male"], n)
    age = rng.normal(60, 10, n).round(1)
    rate = 0.1 * np.exp(0.7 * (arm == "B") + 1.0 * (arm == "C") + 0.03 * (age - 60))
    time = rng.exponential(1 / rate)
    censor = rng.uniform(0, 15, n)
    return pl.DataFrame(
        {
            "time": np.minimum(time, censor).round(2),
            "event": (time <= censor).astype(int),
            "arm": pl.Series(arm).cast(pl.Enum(["A", "B", "C"])),
            "sex": sex,
            "age": age,
        }
    )


@pytest.fixture(scope="module")
def fit(data):
    return cox_ph(data, time="time", event="event", covariates=["arm", "sex", "age"])


def test_p_text_never_says_equals_less_than():
    assert p_text(0.0001) == "p < 0.001"
    assert p_text(0.0321) == "p = 0.032"


def test_regression_table_rows_reference_type3_and_bold(fit):
    t = format_regression(fit, labels={"arm": "Treatment arm"})
    assert t.header == ("Variable", "HR (95% CI)", "p-value")
    first = [r[0] for r in t.rows]
    assert first == ["Treatment arm", "  A", "  B", "  C", "Sex", "  Female", "  Male", "Age"]
    frame = {r["term"]: r for r in fit.to_frame().iter_rows(named=True)}
    b = frame["arm:B"]
    assert t.rows[2][1] == fmt_estimate_ci(b["hr"], b["hr_conf_low"], b["hr_conf_high"])
    assert t.rows[1][1] == "1 (reference)"
    type3 = dict(zip(fit.type3().terms, fit.type3().p_value, strict=True))
    assert t.rows[0][2] == fmt_p(type3["arm"])  # overall p on the variable row
    assert t.mark(0, 2) == "a" and t.footnotes[0].startswith("a Overall p: type-3 Wald")
    assert t.rows[4][2] == ""  # a binary factor: its level p is the overall p
    for i, row in enumerate(t.rows):  # bold exactly where p < 0.05
        p = row[2].strip()
        if p and p != "—":
            significant = p.startswith("<") or float(p) < 0.05
            assert ((i, 2) in t.bold_cells) == significant, (i, p)
    assert {j for _, j in t.bold_cells} == {2}
    assert f"N = {fit.n_obs}; events = {fit.n_events:.0f}" in t.note


def test_univariable_and_multivariable_side_by_side(data, fit):
    uni = {
        c: cox_ph(data, time="time", event="event", covariates=[c]) for c in ("arm", "sex", "age")
    }
    t = format_regression(uni, fit, names=["Univariable", "Multivariable"])
    assert t.header == (
        "Characteristic",
        *("HR (95% CI)", "p-value", "N", "Events"),
        *("HR (95% CI)", "p-value"),
    )
    assert t.spanners[0] == ("Univariable", 1, 4)
    assert t.spanners[1][0].startswith(f"Multivariable (N = {fit.n_obs}; events = ")
    age = next(r for r in t.rows if r[0] == "Age")
    assert age[3] == str(uni["age"].n_obs) and age[4] == f"{uni['age'].n_events:.0f}"
    assert set(t.tidy["table_column"]) == {"Univariable", "Multivariable"}
    failed = format_regression(
        {"arm": uni["arm"], "sex": "sex has 3 rows"}, suppressor=Suppressor(5)
    )
    assert failed.rows[-1][1] == "not estimated: sex has <5 rows"


def test_summary_table_has_test_footnotes_instead_of_a_column(data):
    result = summary_table(data, group="arm", variables=["sex", "age"])
    t = format_summary(result, spanner="Treatment arm", labels={"sex": "Sex", "age": "Age"})
    assert "Test" not in t.header and t.header[-2:] == ("p-value", "SMD")
    assert t.header[1].startswith("Overall (n = 300)")
    assert t.spanners == (("Treatment arm", 2, 4),)
    tests = {r["variable"]: r for r in result.tests.iter_rows(named=True)}
    letters = {line[0]: line[2:] for line in t.footnotes}
    p_col = t.header.index("p-value")
    for i in sorted(t.heading_rows):
        variable = "sex" if t.rows[i][0] == "Sex" else "age"
        assert letters[t.mark(i, p_col)] == tests[variable]["test"]
        assert ((i, p_col) in t.bold_cells) == (tests[variable]["p_value"] < 0.05)
    assert len(t.footnotes) == len({r["test"] for r in tests.values()})


def test_survival_table_reads_median_and_landmarks(data):
    km = kaplan_meier(data, time="time", event="event", group="arm")
    lr = logrank_test(data, time="time", event="event", group="arm")
    t = format_survival(km, times=[2, 5], logrank=lr)
    med = km.median().row(0, named=True)
    assert t.rows[0][3] == fmt_estimate_ci(med["median"], med["conf_low"], med["conf_high"], 1)
    at = km.at([5]).row(0, named=True)
    assert t.rows[0][5] == fmt_estimate_ci(
        100 * at["estimate"], 100 * at["conf_low"], 100 * at["conf_high"], 1
    )
    assert t.header[4] == "2-year OS, % (95% CI)"
    assert p_text(lr.p_value) in t.note


def test_balance_table_several_adjustments(data):
    w = pl.Series(np.random.default_rng(1).uniform(0.5, 2, data.height))
    raw = balance_table(data, treatment="arm", covariates=["sex", "age"], weights=None)
    weighted = balance_table(data, treatment="arm", covariates=["sex", "age"], weights=w)
    t = format_balance({"IPTW": weighted, "trimmed": weighted}, labels={"age": "Age, years"})
    assert t.header[1:4] == ("|SMD| unadjusted", "|SMD| IPTW", "|SMD| trimmed")
    assert any(r[0] == "Age, years" for r in t.rows)
    single = format_balance(raw, after_label="after nothing")
    assert single.header[2] == "|SMD| after nothing"


def test_one_table_renders_to_html_latex_csv_and_docx(fit, tmp_path):
    import docx

    t = format_regression(fit, title="Table 3. Cox model")
    page = t._repr_html_()
    assert "<table" in page and "<strong>" in page and "<sup>a</sup>" in page
    assert "p = &lt;" not in page
    latex = t.to_latex()
    assert r"\toprule" in latex and r"\bottomrule" in latex and r"\textbf{" in latex
    assert r"\textsuperscript{a}" in latex
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert tuple(rows[0]) == t.header and len(rows) == len(t.rows) + 1
    path = t.to_docx(tmp_path / "t3.docx")
    d = docx.Document(str(path))
    assert len(d.tables) == 1
    assert [c.text for c in d.tables[0].rows[0].cells] == list(t.header)
    assert d.core_properties.author == "regsurv"


def test_decimal_alignment_pads_integer_parts():
    cells = decimal_aligned(["1,234 (5.0)", "12 (1.0)", "", "<0.001", "0.25"])
    assert cells[1] == FIGURE_SPACE * 3 + "12 (1.0)"
    assert cells[2] == ""
    assert cells[4] == FIGURE_SPACE * 4 + "0.25"


@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda n, d, pct: (
                    f"{n:,}" + (f".{d}" if d else "") + (f" ({pct:.1f})" if pct else "")
                ),
                st.integers(0, 10**6),
                st.sampled_from(["", "5", "25"]),
                st.one_of(st.none(), st.floats(0, 100)),
            ),
            st.sampled_from(["", "NA", "—", "1 (reference)", "<0.001", "<11"]),
        ),
        max_size=12,
    )
)
def test_decimal_alignment_only_pads_and_lines_up_integer_parts(cells):
    out = decimal_aligned(cells)
    assert [c.lstrip(FIGURE_SPACE) for c in out] == [c.lstrip(FIGURE_SPACE) for c in cells]
    widths = {
        len(m.group(0)) for c in out if (m := re.match(rf"^{FIGURE_SPACE}*\D{{0,2}}?[\d,]+", c))
    }
    assert len(widths) <= 1
