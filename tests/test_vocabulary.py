"""One vocabulary across stages: a Boolean group is labelled "false"/"true" everywhere."""

from __future__ import annotations

import numpy as np
import polars as pl

from regsurv.causal import PropensityModel, balance_table, iptw_weights, match_nearest
from regsurv.survival import kaplan_meier, logrank_test, pairwise_logrank_test

RNG = np.random.default_rng(3)
DATA = pl.DataFrame(
    {
        "time": RNG.exponential(1.0, 80),
        "event": RNG.integers(0, 2, 80),
        "treated": RNG.integers(0, 2, 80).astype(bool),
        "x": RNG.normal(size=80),
    }
)
LABELS = ("false", "true")


def test_boolean_groups_have_the_same_labels_in_survival_and_causal() -> None:
    km = kaplan_meier(DATA, time="time", event="event", group="treated")
    assert tuple(km.curves) == LABELS
    assert km.median()["group"].to_list() == list(LABELS)
    assert logrank_test(DATA, time="time", event="event", group="treated").groups == LABELS
    pairwise = pairwise_logrank_test(DATA, time="time", event="event", group="treated")
    assert (pairwise.group1, pairwise.group2) == (("false",), ("true",))
    model = PropensityModel(["x"]).fit(DATA, treatment="treated")
    assert tuple(model.classes_) == LABELS
    ps = model.predict_proba(DATA)
    assert iptw_weights(ps, DATA["treated"]).classes == LABELS
    assert match_nearest(ps, DATA["treated"], caliper=None).classes == LABELS
    assert balance_table(DATA, treatment="treated", covariates=["x"]).classes == LABELS


def test_boolean_group_gives_the_curves_of_its_0_1_coding() -> None:
    as_int = DATA.with_columns(pl.col("treated").cast(pl.Int8))
    boolean = kaplan_meier(DATA, time="time", event="event", group="treated")
    integer = kaplan_meier(as_int, time="time", event="event", group="treated")
    for b, i in zip(boolean.curves.values(), integer.curves.values(), strict=True):
        np.testing.assert_array_equal(b.estimate, i.estimate)
    only_true = DATA.filter(pl.col("treated"))
    assert tuple(kaplan_meier(only_true, time="time", event="event", group="treated").curves) == (
        "true",
    )
