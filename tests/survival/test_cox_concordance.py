"""Concordance kernel against a naive O(n²) pair loop (ties in time and η, strata, weights)."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regsurv.survival import _cox_concordance as conc
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


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=12),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_sweep_and_bit_splitting_count_the_same(n_points, n_queries, n_keys, above, seed) -> None:
    """Also with slabs of a few keys (some holding no point) carried from slab to slab."""
    rng = np.random.default_rng(seed)
    span = int(rng.integers(1, 15))
    p_key, q_key = rng.integers(0, n_keys, n_points), rng.integers(0, n_keys, n_queries)
    p_rank = rng.integers(0, span, n_points)
    weight = rng.choice([0.5, 1.0, 2.5], n_points)
    bounds = np.sort(rng.integers(0, span + 1, (n_queries, 4)), axis=1)
    by_bits = conc._dominance_by_bits(
        p_key, p_rank, weight, q_key, bounds, span + 1, points_above=above
    )
    by_sweep = conc._dominance_by_sweep(
        p_key, p_rank, weight, q_key, bounds, span + 1, points_above=above
    )
    with mock.patch.object(conc, "SWEEP_CELLS", 2 * (span + 2)):  # slabs of 2 keys
        by_slabs = conc._dominance_by_sweep(
            p_key, p_rank, weight, q_key, bounds, span + 1, points_above=above
        )
    wanted = (p_key[None, :] >= q_key[:, None]) if above else (p_key[None, :] <= q_key[:, None])
    in_range = (p_rank[None, None, :] >= bounds[:, :-1, None]) & (
        p_rank[None, None, :] < bounds[:, 1:, None]
    )
    naive = (in_range & wanted[:, None, :]) @ weight
    assert_close(by_bits, naive, tier="exact")
    assert_close(by_sweep, naive, tier="exact")
    assert_close(by_slabs, naive, tier="exact")


def test_both_kernels_give_the_same_concordance_and_se(monkeypatch) -> None:
    """Continuous times (many keys: bit splitting) and months (few keys: the sweep), weights,
    strata, clusters and counting-process entry: every field equal whichever kernel counts."""
    rng = np.random.default_rng(7)
    n = 3_000
    for time in (rng.exponential(20, n), np.ceil(rng.exponential(20, n))):
        event = (rng.random(n) < 0.6).astype(float)
        eta = np.round(rng.normal(size=n), 1)
        weight = rng.uniform(0.2, 3.0, n)
        stratum = rng.integers(0, 2, n)
        cluster = rng.integers(0, 500, n)
        start = np.where(rng.random(n) < 0.3, time * rng.random(n), 0.0)
        results = {}
        for name in ("_dominance_by_bits", "_dominance_by_sweep"):
            monkeypatch.setattr(conc, "_dominance", getattr(conc, name))
            results[name] = conc.concordance_counts(
                time, event, eta, weight, stratum, cluster=cluster, start=start
            )
        for key, value in results["_dominance_by_bits"].items():
            assert_close(results["_dominance_by_sweep"][key], value, tier="exact", err_msg=key)
