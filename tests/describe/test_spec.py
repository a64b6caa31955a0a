"""TablesSpec: strict validation and the study file's [tables] section."""

from __future__ import annotations

import numpy as np
import polars as pl
import pydantic
import pytest

from regsurv.describe import summary_table, trend_test
from regsurv.describe.spec import TablesSpec, TrendSpec

TABLE1 = [
    "age_group",
    "year_group",
    "sex",
    "race",
    "charlson_deyo",
    "facility_location",
    "facility_type",
]
TABLE2 = [
    "histology",
    "grade",
    "tumor_size",
    "margins",
    "nodes_clinically_positive",
    "nodes_pathologically_positive",
]
ENUMS = {
    "treatment": ["SP alone", "Metastasectomy", "Non-surgical adjuvant therapies"],
    "age_group": ["<=55", ">55"],
    "year_group": ["2004-2006", "2007-2009", "2010-2014"],
    "sex": ["Male", "Female"],
    "race": ["White", "Black", "Other"],
    "charlson_deyo": ["0", "1+"],
    "facility_location": ["Northeast", "South", "Midwest", "West"],
    "facility_type": [
        "Community or Network Cancer Program",
        "Comprehensive Community Cancer Program",
        "Academic or Research Program",
    ],
    "histology": [
        "Adipocytic",
        "Fibroblastic or myofibroblastic or fibrohistiocytic",
        "Smooth muscle",
        "Skeletal muscle",
        "Vascular",
        "Nerve sheath",
        "Uncertain differentiation",
        "Undifferentiated or unclassified sarcoma",
    ],
    "grade": [
        "Well-differentiated",
        "Moderately differentiated",
        "Poorly differentiated or undifferentiated",
        "Cell type not determined",
    ],
    "tumor_size": ["0-5", ">5-10", ">10-15", ">15"],
    "margins": ["Negative", "Positive"],
}


def _study_tables() -> TablesSpec:
    from regsurv.pipeline.spec import load_study

    study = load_study()
    tables = [a for a in study.analyses if a.kind == "summary_table"]
    trend = next(a for a in study.analyses if a.kind == "trend")
    options = tables[0].model_dump(exclude={"kind", "id", "title", "rows"})
    assert all(t.model_dump(exclude={"kind", "id", "title", "rows"}) == options for t in tables)
    return TablesSpec(
        **options,
        tables=[{"id": t.id, "title": t.title, "rows": t.rows} for t in tables],
        trend=trend.model_dump(include=set(TrendSpec.model_fields)),
    )


def test_study_file_tables_follow_the_paper() -> None:
    spec = _study_tables()
    assert spec.group == "treatment"
    assert [r.column for r in spec.table("table1").rows] == TABLE1
    assert [r.column for r in spec.table("table2").rows] == TABLE2
    assert spec.table("table1").rows[0].label == "Age, years"
    assert spec.trend is not None and spec.trend.positive == "Metastasectomy"


def test_study_tables_run_on_contract_columns() -> None:
    rng = np.random.default_rng(7)
    n = 300
    columns = {
        name: pl.Series(rng.choice(levels, n), dtype=pl.Enum(levels))
        for name, levels in ENUMS.items()
    }
    columns["nodes_clinically_positive"] = pl.Series(rng.random(n) < 0.1)
    columns["nodes_pathologically_positive"] = pl.Series(rng.random(n) < 0.08)
    data = pl.DataFrame(columns).with_columns(
        pl.when(pl.int_range(n) % 4 == 0)
        .then(None)
        .otherwise(pl.col("facility_location"))
        .alias("facility_location")
    )
    spec = _study_tables()
    for table in spec.tables:
        t = summary_table(data, **spec.summary_kwargs(table.id))
        assert t.variables == tuple(r.column for r in table.rows)
        assert t.groups == tuple(ENUMS["treatment"])
        assert t.tests["p_value"].is_not_null().all()
        assert (t.tests["test"] == "Pearson's Chi-squared test").all()
        labels = dict(zip(t.tests["variable"], t.tests["label"], strict=True))
        assert labels == {r.column: r.label for r in table.rows}
    levels = t.rows.filter(pl.col("variable") == "histology")["level"].unique(maintain_order=True)
    assert levels.to_list() == ENUMS["histology"]
    yes_no = t.rows.filter(pl.col("variable") == "nodes_clinically_positive")["level"]
    assert yes_no.unique(maintain_order=True).to_list() == ["No", "Yes"]
    r = trend_test(data, **spec.trend.kwargs())
    assert r.levels == tuple(ENUMS["year_group"])


def test_spec_is_strict_and_frozen() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        TablesSpec.model_validate({"group": "treatment", "percentage": "row"})
    with pytest.raises(pydantic.ValidationError):
        TablesSpec.model_validate({"percent": "cells"})
    with pytest.raises(pydantic.ValidationError, match="more than once"):
        TablesSpec.model_validate(
            {"tables": [{"id": "t", "title": "T", "rows": [{"column": "a"}, {"column": "a"}]}]}
        )
    spec = TablesSpec()
    with pytest.raises(pydantic.ValidationError):
        spec.group = "arm"  # type: ignore[misc]
    with pytest.raises(KeyError, match="no table 'x'"):
        spec.table("x")


def test_spec_correct_reaches_summary_table() -> None:
    spec = TablesSpec.model_validate(
        {
            "correct": False,
            "categorical_test": "chisq",
            "tables": [{"id": "t", "title": "T", "rows": [{"column": "sex"}]}],
        }
    )
    assert spec.summary_kwargs("t")["correct"] is False
    assert TablesSpec().correct is True
    data = pl.DataFrame({"treatment": ["a", "a", "b", "b", "a"], "sex": ["F", "M", "F", "F", "M"]})
    row = summary_table(data, **spec.summary_kwargs("t")).tests.row(0, named=True)
    assert row["test"] == "Pearson's Chi-squared test"
