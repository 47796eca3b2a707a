"""The non-dominated filter on synthetic data with a known front, and the design metrics' pure math."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.explore.metrics import censored_normal_fit, level_crossing, sigmoid_from_grid
from pbitkit.explore.pareto import dominates, non_dominated
from pbitkit.explore.search import initial_points, refine_points, round_rng, step_size


def _synthetic(seed: int = 0, n_front: int = 60, n_dom: int = 200, k: int = 3):
    """Front: points on the sphere's positive orthant (no point dominates another there); dominated
    points: a front point plus a strictly positive offset in every objective."""
    rng = np.random.default_rng(seed)
    f = np.abs(rng.normal(size=(n_front, k)))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    d = f[rng.integers(0, n_front, n_dom)] + rng.uniform(0.01, 0.5, size=(n_dom, k))
    pts = np.vstack([f, d])
    truth = np.r_[np.ones(n_front, bool), np.zeros(n_dom, bool)]
    perm = rng.permutation(len(pts))
    return pts[perm], truth[perm]


def test_known_front_is_recovered() -> None:
    pts, truth = _synthetic()
    assert np.array_equal(non_dominated(pts), truth)


def test_negative_control_a_dominated_point_moved_below_the_front_joins_it() -> None:
    pts, truth = _synthetic(1)
    i = int(np.flatnonzero(~truth)[0])
    pts[i] = 0.0  # the origin dominates everything on the sphere
    mask = non_dominated(pts)
    assert mask[i] and mask.sum() == 1
    assert not np.array_equal(mask, truth)


def test_infeasible_nan_inf_and_duplicates() -> None:
    f = np.array([[1.0, 1.0], [0.5, 2.0], [0.1, 0.1], [1.0, 1.0], [np.nan, 0.0], [2.0, np.inf]])
    feas = np.array([True, True, False, True, True, True])
    m = non_dominated(f, feas)
    # the infeasible (0.1, 0.1) neither joins nor dominates; duplicates both kept; NaN is worst
    assert m.tolist() == [True, True, False, True, True, False]
    assert dominates([1, 1], [1, 2]) and not dominates([1, 1], [1, 1]) and not dominates([0, 2], [1, 1])
    with pytest.raises(ValueError, match="objectives must be"):
        non_dominated(np.zeros(3))


def test_level_crossing_is_exact_for_a_logistic() -> None:
    b = np.linspace(-0.1, 0.3, 9)
    v0, vs = 0.087, 0.014
    p = 1 / (1 + np.exp(-(b - v0) / vs))
    assert sigmoid_from_grid(b, p) == pytest.approx((v0, vs), rel=1e-9)
    assert math.isnan(level_crossing(b, np.full(9, 0.9), 0.5))  # never crosses: NaN
    assert math.isnan(level_crossing(b, np.full(9, 0.1), 0.5))


def test_censored_normal_fit_recovers_sigma_within_its_standard_error() -> None:
    rng = np.random.default_rng(7)
    mu, sigma, n = 0.03, 0.05, 4000
    v = rng.normal(mu, sigma, n)
    lo, hi = -0.02, 0.06  # window: ~35 % below, ~27 % above
    below, above = v < lo, v > hi
    obs = np.where(below, lo, np.where(above, hi, v))
    est = censored_normal_fit(obs, below, above)
    se = sigma / math.sqrt(2 * n * 0.38)  # SE of sigma with ~38 % of the points uncensored (rough, conservative)
    assert abs(est.sigma_V - sigma) < 4 * se
    assert abs(est.mu_V - mu) < 4 * sigma / math.sqrt(0.38 * n)
    # negative control: ignoring the censoring (plain std of the clipped values) is far off
    assert abs(np.std(obs, ddof=1) - sigma) > 10 * se
    # no censoring: the sample mean and ddof=1 std; fewer than 2 centred: inf
    e2 = censored_normal_fit(np.array([0.1, 0.2, 0.4]), np.zeros(3, bool), np.zeros(3, bool))
    assert e2.sigma_V == pytest.approx(np.std([0.1, 0.2, 0.4], ddof=1)) and e2.n_centred == 3
    e3 = censored_normal_fit(np.array([0.1, 0.3, 0.3]), np.zeros(3, bool), np.array([False, True, True]))
    assert math.isinf(e3.sigma_V) and e3.n_centred == 1


def test_search_is_deterministic_and_stays_in_the_cube() -> None:
    a = initial_points(4, 10, round_rng(3, 0))
    b = initial_points(4, 10, round_rng(3, 0))
    assert np.array_equal(a, b) and a.shape == (10, 4) and np.all((a >= 0) & (a <= 1))
    # Latin hypercube: one point per 1/n stratum in every coordinate
    assert all(sorted(np.floor(a[:, j] * 10).astype(int)) == list(range(10)) for j in range(4))
    c = refine_points(a[:2], 50, step_size(1), round_rng(3, 1))
    assert c.shape == (50, 4) and np.all((c >= 0) & (c <= 1))
    assert step_size(1) > step_size(5) >= 0.02
    none = refine_points(np.zeros((0, 4)), 5, 0.1, round_rng(0, 1))
    assert none.shape == (5, 4)
