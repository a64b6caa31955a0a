"""Piecewise-exponential proportional-hazards kernel (arrays in, arrays out).

Hazard h(t | x) = h0(t) exp(x'beta), with h0 constant on [knots[k], knots[k+1]) and the last
rate beyond the last knot. Times are drawn by inversion: T = H0^{-1}(E exp(-x'beta)), E ~ Exp(1).
"""

from __future__ import annotations

import numpy as np


def cumulative_hazard_at_knots(knots: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """H0(knots[k]) for every knot (H0(0) = 0)."""
    return np.concatenate([[0.0], np.cumsum(np.diff(knots) * rates[:-1])])


def cumulative_hazard(t: np.ndarray, knots: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """H0(t) for an array of times t >= 0."""
    t = np.asarray(t, dtype=float)
    at_knots = cumulative_hazard_at_knots(knots, rates)
    k = np.searchsorted(knots, t, side="right") - 1
    return at_knots[k] + (t - knots[k]) * rates[k]


def invert_cumulative_hazard(h: np.ndarray, knots: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The t with H0(t) = h (h >= 0)."""
    at_knots = cumulative_hazard_at_knots(knots, rates)
    k = np.searchsorted(at_knots, h, side="right") - 1
    return knots[k] + (h - at_knots[k]) / rates[k]


def draw_event_times(
    rng: np.random.Generator, linear_predictor: np.ndarray, knots: np.ndarray, rates: np.ndarray
) -> np.ndarray:
    """Event times of a PH model with piecewise-exponential baseline, one per linear predictor."""
    e = rng.standard_exponential(linear_predictor.shape[0])
    return invert_cumulative_hazard(e * np.exp(-linear_predictor), knots, rates)


def marginal_survival(
    t: np.ndarray, linear_predictor: np.ndarray, knots: np.ndarray, rates: np.ndarray
) -> np.ndarray:
    """Population-averaged S(t) = mean_i exp(-H0(t) exp(lp_i)) for each time in t."""
    h0 = cumulative_hazard(np.atleast_1d(t), knots, rates)
    return np.exp(-np.outer(h0, np.exp(linear_predictor))).mean(axis=1)
