"""2-D Ising model vs Onsager's exact energy; accuracy of the kernel's sigmoid and RNG."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from scipy.special import ellipk

from pbitkit.array import GibbsSampler, square_lattice
from pbitkit.array.diagnostics import energy, mc_standard_error
from pbitkit.array.kernels import (gibbs_decide, lane_uniform, sigmoid32, sigmoid_fast, splitmix64,
                                   uniform_from_counter)


def onsager_energy_per_spin(beta: float) -> float:
    """Internal energy per spin of the infinite square-lattice Ising model (J = 1), Onsager 1944:
    u = -coth(2b) [1 + (2/pi) (2 tanh^2(2b) - 1) K(k^2)], k = 2 sinh(2b) / cosh^2(2b)."""
    b2 = 2 * beta
    k = 2 * np.sinh(b2) / np.cosh(b2) ** 2
    return float(-1 / np.tanh(b2) * (1 + 2 / np.pi * (2 * np.tanh(b2) ** 2 - 1) * ellipk(k * k)))


@pytest.mark.parametrize("beta", [0.3, 0.6])  # T = 3.33 and 1.67; T_c = 2.269 (beta_c = 0.4407)
def test_energy_per_spin_matches_onsager(beta):
    """L = 32 torus: finite-size corrections away from T_c are exponentially small (< 1e-4 here).

    Tolerance: 5 x the Monte-Carlo standard error sd / sqrt(ESS) of the per-sweep energy (ESS from the
    integrated autocorrelation time over 16 chains), plus 1e-4 for the finite size. Negative control:
    the exact energy at a 5 % different beta is rejected by the same tolerance.
    """
    L = 32
    g = square_lattice(L)
    J = np.ones(g.n_edges)
    smp = GibbsSampler(g)
    rng = np.random.default_rng(1)
    s = np.ones((16, g.n_nodes), np.int8)  # ordered start: no frozen stripe states below T_c
    s, _ = smp.run(s, J, np.zeros(g.n_nodes), beta=beta, n_sweeps=300, rng=rng, moments=False)
    xs = np.empty((600, 16, g.n_nodes), np.int8)
    for t, st in enumerate(smp.iterate(s, J, np.zeros(g.n_nodes), beta=beta, n_samples=600, rng=rng)):
        xs[t] = st
    e = energy(xs, g, J) / g.n_nodes
    mean, se = mc_standard_error(e)
    tol = 5 * se + 1e-4
    assert abs(mean - onsager_energy_per_spin(beta)) < tol, (mean, onsager_energy_per_spin(beta), se)
    assert abs(mean - onsager_energy_per_spin(1.05 * beta)) > tol


def test_onsager_formula_limits():
    assert onsager_energy_per_spin(5.0) == pytest.approx(-2.0, abs=1e-6)  # ground state: 2 bonds per spin
    assert onsager_energy_per_spin(1e-3) == pytest.approx(-2 * np.tanh(1e-3), rel=1e-3)  # high-T expansion


@nb.njit(error_model="numpy")
def _sig32(x):
    out = np.empty(x.size, np.float32)
    for k in range(x.size):
        out[k] = sigmoid32(np.float32(x[k]))
    return out


@nb.njit(error_model="numpy")
def _sig64(x):
    out = np.empty(x.size)
    for k in range(x.size):
        out[k] = sigmoid_fast(x[k])
    return out


@nb.njit
def _uniforms(key, n):
    out = np.empty(n)
    for k in range(n):
        out[k] = uniform_from_counter(key, k)
    return out


def test_kernel_sigmoids_match_numpy():
    x = np.linspace(-30, 30, 20001)
    exact = 1 / (1 + np.exp(-np.clip(x, -700, 700)))
    assert np.max(np.abs(_sig32(x).astype(np.float64) - exact)) < 2e-6  # float32 path of the Gibbs kernel
    assert np.max(np.abs(_sig64(x) - exact)) < 1e-12  # float64 path of the async kernel


def test_counter_rng_uniform_and_decorrelated():
    """Kolmogorov-Smirnov-like check on 1e6 uniforms (max CDF deviation < 1.95/sqrt(n), p ~ 1e-3) and
    lag-1 correlation within 5/sqrt(n); another key gives another stream."""
    n = 1_000_000
    u = _uniforms(np.uint64(12345), n)
    assert 0 < u.min() and u.max() < 1
    us = np.sort(u)
    d = np.max(np.abs(us - (np.arange(1, n + 1) - 0.5) / n))
    assert d < 1.95 / np.sqrt(n)
    c = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(c) < 5 / np.sqrt(n)
    assert not np.array_equal(u[:100], _uniforms(np.uint64(12346), 100))
    assert splitmix64(np.uint64(0)) != splitmix64(np.uint64(1))


@nb.njit
def _lane_uniforms(key, rows, chains):
    out = np.empty((rows, chains))
    for t in range(rows):
        for c in range(chains):
            out[t, c] = lane_uniform(key, t, c)
    return out


def test_gibbs_lane_uniforms_uniform_and_decorrelated():
    """The Gibbs kernel's per-lane uniforms (row key + 32-bit chain hash): 1024 rows x 1024 chains.
    KS-like max CDF deviation < 1.95/sqrt(n) (p ~ 1e-3); lag-1 correlation along chains, along rows and
    between one row's chains and the next row's (the layout the kernel uses) within 5/sqrt(n) each;
    2^23 grid: values exactly (m + 1/2) 2^-23."""
    u = _lane_uniforms(np.uint64(987654321), 1024, 1024)
    n = u.size
    assert 0 < u.min() and u.max() < 1
    m = u * 2**23 - 0.5
    assert np.array_equal(m, np.round(m))
    us = np.sort(u.ravel())
    assert np.max(np.abs(us - (np.arange(1, n + 1) - 0.5) / n)) < 1.95 / np.sqrt(n)
    for a, b in ((u[:, :-1], u[:, 1:]), (u[:-1, :], u[1:, :])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 5 / np.sqrt(a.size)
    assert not np.array_equal(u[:4, :4], _lane_uniforms(np.uint64(987654322), 4, 4))


@nb.njit
def _effective_p(x, a, b):
    """Fraction of the kernel's 2^23 uniform grid values for which the decision is +1 (binary search:
    the decision is monotone in u)."""
    lo = 0
    hi = 1 << 23
    while lo < hi:  # first m whose uniform gives -1
        mid = (lo + hi) // 2
        if gibbs_decide((mid + 0.5) * 2.0**-23, x, a, b):
            lo = mid + 1
        else:
            hi = mid
    return lo * 2.0**-23


def test_gibbs_decision_rule_is_the_conditional_within_2e6():
    """The division-free decision ``(u - a)(1 + e^-x) < b`` over the exact 2^23-point uniform grid gives
    P(+1) = a + b sigmoid(x) within 2e-6 (float32 exp) + 2^-23 (grid), for the ideal rule (a=0, b=1) and
    telegraph memory (a = lam [s_old=+1], b = 1 - lam); a wrong slope (x * 1.01) is rejected."""
    xs = np.linspace(-19, 19, 381)
    tol = 2e-6 + 2.0**-23
    worst = 0.0
    for lam in (0.0, 0.3, 0.9):
        for old in (0.0, 1.0):
            a, b = np.float32(lam * old), np.float32(1.0) - np.float32(lam)
            for x in xs:
                exact = float(a) + float(b) / (1 + np.exp(-float(np.float32(x))))
                worst = max(worst, abs(_effective_p(x, a, b) - exact))
    assert worst < tol, worst
    bad = max(abs(_effective_p(1.01 * x, 0.0, 1.0) - 1 / (1 + np.exp(-x))) for x in xs)
    assert bad > 100 * tol
