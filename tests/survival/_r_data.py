"""The data frames the R fixtures were computed on (same decimal values, same factor levels
as tests/reference/r/R/00_common.R), shared by the KM and log-rank reference tests."""

from __future__ import annotations

import re
from functools import cache

import polars as pl

from regsurv.testing import load_reference, reference_data_path

SIM_LEVELS = {  # R/00_common.R: factor levels of the simulated cohorts (first = reference)
    "arm": ["SP alone", "Metastasectomy", "Non-surgical adjuvant"],
    "histology": [
        "Undifferentiated",
        "Adipocytic",
        "Fibroblastic",
        "Smooth muscle",
        "Skeletal muscle",
        "Vascular",
        "Nerve sheath",
        "Uncertain differentiation",
    ],
    "margins": ["Negative", "Positive"],
    "yeargrp": ["2004-2006", "2007-2009", "2010-2013"],
}

PAIR = re.compile(r"subset\(d, arm %in% c\('(?P<a>[^']+)', '(?P<b>[^']+)'\)\)")


def _csv(name: str) -> pl.DataFrame:
    return pl.read_csv(reference_data_path(name), null_values="NA")


@cache
def r_dataset(dataset: str, data_expr: str) -> pl.DataFrame:
    """The data an R call ran on; `data_expr` is the call's ``data =`` argument."""
    if "edge_weights_ties_expanded" in data_expr:
        return _csv("edge_weights_ties_expanded")
    if dataset == "lung":
        return _csv("lung").with_columns(pl.col("status") - 1)  # R: 1 = censored, 2 = dead
    if dataset == "veteran":
        levels = ["squamous", "smallcell", "adeno", "large"]
        return _csv("veteran").with_columns(pl.col("celltype").cast(pl.Enum(levels)))
    if dataset == "colon":
        frame = _csv("colon").filter(pl.col("etype") == 2)
        return frame.with_columns(pl.col("rx").cast(pl.Enum(["Obs", "Lev", "Lev+5FU"])))
    if dataset == "sim3arm_a":
        frame = _csv("sim3arm_a").with_columns(
            pl.col(c).cast(pl.Enum(levels)) for c, levels in SIM_LEVELS.items()
        )
        per_row = load_reference("sim3arm_a__propensity")["per_row"]
        assert per_row["id"] == frame["id"].to_list()
        frame = frame.with_columns(w=pl.Series(per_row["w_final_stabilized_normalized"]))
        pair = PAIR.search(data_expr)
        if pair:  # droplevels(subset(d, arm %in% c(a, b)))
            kept = [a for a in SIM_LEVELS["arm"] if a in (pair["a"], pair["b"])]
            frame = frame.filter(pl.col("arm").is_in(kept)).with_columns(
                pl.col("arm").cast(pl.String).cast(pl.Enum(kept))
            )
        return frame
    return _csv(dataset)
