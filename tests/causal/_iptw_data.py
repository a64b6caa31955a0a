"""Shared loader for the IPTW tests: sim3arm_a with R's factor levels (first = reference)."""

from __future__ import annotations

from functools import cache

import polars as pl

from regsurv.testing import load_reference, reference_data_path

PS_COVARIATES = ["insurance", "sex", "race", "cdcc", "grade", "yeargrp", "agegrp", "nodes_examined"]


@cache
def sim3arm() -> pl.DataFrame:
    """sim3arm_a.csv with every factor of SIM_LEVELS as a polars Enum (R's ``factor`` levels)."""
    levels = load_reference("sim3arm_a__propensity")["factor_levels_first_is_reference"]
    frame = pl.read_csv(reference_data_path("sim3arm_a"), null_values="NA")
    return frame.with_columns([pl.col(k).cast(pl.Enum(v)) for k, v in levels.items()])
