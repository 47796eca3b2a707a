"""Predicted-tier kernels on cases with closed-form answers (no simulator)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pbitkit.circuits import predict


def test_stationary_p1_linear_restoring_force_is_gaussian():
    # Delta I = -G x: p(x) ∝ exp((4C/S)(-G x^2/2 + I_b x)) -> Normal(I_b/G, S/(4 C G))
    g, c, s = 50e-12, 5e-15, 4e-30
    x = np.linspace(-0.2, 0.2, 8001)
    ib = np.array([-2e-13, 0.0, 1e-13, 3e-13])
    p = predict.stationary_p1(x, -g * x, c, s, ib)
    sd = math.sqrt(s / (4 * c * g))
    expected = stats.norm.cdf((ib / g) / sd)
    assert np.allclose(p, expected, atol=1e-4)
    # thermal-equilibrium check: S = 4kTG gives the kT/C variance
    kt = 1.380649e-23 * 300.0
    assert math.sqrt((4 * kt * g) / (4 * c * g)) == pytest.approx(math.sqrt(kt / c))
    with pytest.raises(ValueError, match="increasing"):
        predict.stationary_p1(x[::-1], -g * x, c, s, 0.0)


def test_stationary_p1_double_well_symmetry():
    # a bistable force (x - x^3/a^2) is symmetric: P = 1/2 at zero bias, monotone in bias
    x = np.linspace(-0.1, 0.1, 4001)
    force = 1e-11 * (x - x**3 / 0.03**2)
    p = predict.stationary_p1(x, force, 5e-15, 2e-30, np.array([-1e-14, 0.0, 1e-14]))
    assert p[1] == pytest.approx(0.5, abs=1e-6)
    assert p[0] < 0.5 < p[2]


def test_probit_and_comparator_noise_sigma():
    assert predict.probit_p1(0.01, 0.0, 0.01) == pytest.approx(stats.norm.cdf(1.0))
    # sqrt(4 k T gamma / (g_m t_int)) at 27 C, gamma 2/3, 450 uS over 90 ps: 0.521 mV
    assert predict.comparator_noise_sigma(450e-6, 90e-12, 27.0) == pytest.approx(0.5224e-3, rel=1e-3)
    # four times the PSD doubles it; a longer window averages the noise down as 1/sqrt(t)
    assert predict.comparator_noise_sigma(450e-6, 90e-12, 27.0, scale=4.0) == pytest.approx(1.0447e-3, rel=1e-3)
    assert predict.comparator_noise_sigma(450e-6, 360e-12, 27.0) == pytest.approx(0.2612e-3, rel=1e-3)
    with pytest.raises(ValueError, match="gm_S > 0"):
        predict.comparator_noise_sigma(0.0, 90e-12, 27.0)


def test_threshold_from_staircase():
    v = np.linspace(-1, 1, 21)
    assert predict.threshold_from_staircase(v, (v > 0.25).astype(int)) == pytest.approx(0.25)
    noisy = (v > 0.25).astype(int)
    noisy[3] = 1  # one stray decision far below does not move the threshold
    assert predict.threshold_from_staircase(v, noisy) == pytest.approx(0.25)
    assert math.isnan(predict.threshold_from_staircase(v, np.ones(21)))


def test_stationary_rates_free_diffusion_and_symmetry():
    # no force: T(a -> b) with a reflecting wall at L is ((b-L)^2 - (a-L)^2) / (2 D), D = S / (4 C^2)
    c, s = 5e-15, 4e-30
    d = s / (4 * c * c)
    x = np.linspace(-0.05, 0.05, 20001)
    h = 0.004
    r_up, r_down = predict.stationary_rates(x, np.zeros_like(x), c, s, 0.0, h)
    t_expected = ((0.05 + h / 2) ** 2 - (0.05 - h / 2) ** 2) / (2 * d)
    assert 1 / r_up == pytest.approx(t_expected, rel=1e-3)
    assert r_down == pytest.approx(r_up, rel=1e-6)
    # a symmetric double well has equal rates at zero bias; a positive bias current favours "up"
    force = 1e-11 * (x - x**3 / 0.02**2)
    up0, down0 = predict.stationary_rates(x, force, c, s, 0.0, h)
    assert up0 == pytest.approx(down0, rel=1e-6)
    up1, down1 = predict.stationary_rates(x, force, c, s, 2e-14, h)
    assert up1 > up0 and down1 < down0
