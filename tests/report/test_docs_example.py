"""docs/tables_and_figures.md: the three-line example runs as written on a user's own model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

DOC = Path(__file__).parents[2] / "docs" / "tables_and_figures.md"


def _tested_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    after = text.split("<!-- tested: three-line example", 1)[1]
    return re.search(r"```py\n(.*?)```", after, re.S).group(1)


def test_three_line_example_makes_table3_and_forest_plot(tmp_path, monkeypatch):
    import docx

    from regsurv.survival import cox_ph

    code = _tested_block()
    assert len(code.strip().splitlines()) == 3
    rng = np.random.default_rng(11)
    n = 150
    arm = rng.choice(["control", "surgery", "radiation"], n)
    time = rng.exponential(3 / (1 + (arm == "surgery")))
    data = pl.DataFrame(
        {
            "time": time.round(2),
            "event": rng.uniform(size=n) < 0.8,
            "arm": arm,
            "sex": rng.choice(["F", "M"], n),
            "age": rng.normal(60, 9, n).round(),
        }
    ).with_columns(pl.col("event").cast(pl.Int8))
    fit = cox_ph(data, time="time", event="event", covariates=["arm", "sex", "age"])
    monkeypatch.chdir(tmp_path)
    exec(code, {"fit": fit})  # the documented lines, verbatim
    d = docx.Document("table3.docx")
    (table,) = d.tables
    assert [c.text for c in table.rows[0].cells] == ["Variable", "HR (95% CI)", "p-value"]
    assert table.rows[1].cells[0].text == "Treatment"
    assert len(table.rows) == 1 + 1 + 3 + 1 + 2 + 1  # header, arm + 3 levels, sex + 2, age
    assert (tmp_path / "forest.png").stat().st_size > 10_000
