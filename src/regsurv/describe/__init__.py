"""regsurv.describe: descriptive tables (Table 1, Table 2), their tests, trend test and SMDs."""

from regsurv.describe.smd import compare_groups, group_moments, smd, summarize_smd
from regsurv.describe.table import (
    MISSING,
    OVERALL,
    SummaryTable,
    TrendTestResult,
    summary_table,
    trend_test,
)

__all__ = [
    "MISSING",
    "OVERALL",
    "SummaryTable",
    "TrendTestResult",
    "compare_groups",
    "group_moments",
    "smd",
    "summarize_smd",
    "summary_table",
    "trend_test",
]
