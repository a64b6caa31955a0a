"""The `[tables]` section of a study file: descriptive tables and the trend test, as data.

```toml
[tables]
group = "treatment"
categorical_test = "chisq"

[[tables.tables]]
id = "table1"
title = "Patient characteristics"
rows = [{ column = "age_group", label = "Age, years" }, { column = "sex", label = "Sex" }]

[tables.trend]
variable = "year_group"
outcome = "treatment"
positive = "Yes"
```

`TablesSpec.summary_kwargs(id)` and `TrendSpec.kwargs()` give the keyword arguments of
`regsurv.describe.summary_table` and `regsurv.describe.trend_test`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableRow(_Strict):
    """One variable of a table, in display order."""

    column: str = Field(description="analysis column (docs/contracts.md, cohort section)")
    label: str | None = Field(None, description="display label; default the column name")
    kind: Literal["categorical", "continuous"] | None = Field(
        None, description="default: numeric non-Boolean columns are continuous"
    )
    levels: tuple[str, ...] | None = Field(
        None, description="level order; default the column's Enum order"
    )


class TableDefinition(_Strict):
    """One descriptive table (e.g. the paper's Table 1)."""

    id: str
    title: str
    rows: tuple[TableRow, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_columns(self) -> TableDefinition:
        columns = [r.column for r in self.rows]
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ValueError(f"table {self.id!r} lists columns more than once: {duplicates}")
        return self


class TrendSpec(_Strict):
    """Cochran–Armitage trend test of a binary outcome over an ordered variable."""

    variable: str
    outcome: str
    positive: str | None = Field(
        None, description="value of `outcome` counted as the event (needed unless 0/1 or Boolean)"
    )
    scores: tuple[float, ...] | None = Field(None, description="default 1, 2, ... in level order")

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `regsurv.describe.trend_test`."""
        return {
            "variable": self.variable,
            "outcome": self.outcome,
            "positive": self.positive,
            "scores": None if self.scores is None else list(self.scores),
        }


class TablesSpec(_Strict):
    """Descriptive tables of a study, all grouped by the same column."""

    group: str = "treatment"
    percent: Literal["column", "row", "both"] = "column"
    tests: bool = True
    smd: bool = True
    missing: Literal["show", "hide"] = "show"
    categorical_test: Literal["auto", "chisq", "fisher"] = "auto"
    correct: bool = Field(True, description="Yates' correction of 2x2 chi-square tests")
    continuous_test: Literal["anova", "welch", "kruskal"] = "anova"
    smd_rule: Literal["max_pairwise", "average_pairwise", "vs_pooled"] = "max_pairwise"
    smd_denominator: Literal["pooled_unweighted", "pooled_weighted"] = "pooled_unweighted"
    fisher_simulations: int = Field(100_000, ge=1000)
    random_state: int = 20220107
    tables: tuple[TableDefinition, ...] = ()
    trend: TrendSpec | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> TablesSpec:
        ids = [t.id for t in self.tables]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"table ids used more than once: {duplicates}")
        return self

    def table(self, table_id: str) -> TableDefinition:
        """The table with this id."""
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(f"no table {table_id!r}; tables: {[t.id for t in self.tables]}")

    def summary_kwargs(self, table_id: str, *, weights: str | None = None) -> dict[str, Any]:
        """Keyword arguments of `regsurv.describe.summary_table` for one table."""
        t = self.table(table_id)
        return {
            "group": self.group,
            "variables": [r.column for r in t.rows],
            "weights": weights,
            "percent": self.percent,
            "tests": self.tests,
            "smd": self.smd,
            "missing": self.missing,
            "categorical_test": self.categorical_test,
            "correct": self.correct,
            "continuous_test": self.continuous_test,
            "labels": {r.column: r.label for r in t.rows if r.label is not None},
            "levels": {r.column: list(r.levels) for r in t.rows if r.levels is not None},
            "kinds": {r.column: r.kind for r in t.rows if r.kind is not None},
            "smd_rule": self.smd_rule,
            "smd_denominator": self.smd_denominator,
            "fisher_simulations": self.fisher_simulations,
            "random_state": self.random_state,
        }
