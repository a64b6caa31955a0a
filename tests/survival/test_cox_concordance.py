"""Concordance kernel against a naive O(n²) pair loop (ties in time and η, strata, weights)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival._cox_concordance import concordance_counts
from regsurv.testing import assert_close


def _naive(time, event, eta, weight, stratum) -> dict[str, float]:
    out = dict.fromkeys(["concordant", "discordant", "tied_x", "tied_y", "tied_xy"], 0.0)
    n = len(time)
    for i in range(n):
        if not event[i]:
            continue
        for j in range(n):
            if j == i or stratum[i] != stratum[j]:
                continue
            pair = weight[i] * weight[j]
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                if eta[i] > eta[j]:
                    out["concordant"] += pair
                elif eta[i] < eta[j]:
                    out["discordant"] += pair
                else:
                    out["tied_x"] += pair
            elif time[j] == time[i] and event[j] and j > i:
                out["tied_xy" if eta[i] == eta[j] else "tied_y"] += pair
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=2, max_value=40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 6), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.lists(st.integers(-2, 2), min_size=n, max_size=n),
            st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=n, max_size=n),
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
        )
    )
)
def test_counts_equal_the_pair_loop(columns) -> None:
    time, event, eta, weight, stratum = (np.array(c) for c in columns)
    time, eta = time.astype(float), eta.astype(float) / 3
    got = concordance_counts(time, event.astype(float), eta, weight, stratum)
    expected = _naive(time, event, eta, weight, stratum)
    for key, value in expected.items():
        assert_close(got[key], value, tier="exact", err_msg=key)
