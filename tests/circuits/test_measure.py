"""Measurement functions on synthetic processes with known answers (no simulator)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.circuits import measure as m


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """AR(1) x_t = phi x_{t-1} + e_t, stationary start; rho_k = phi^k, tau_int = (1+phi)/(1-phi)."""
    from scipy.signal import lfilter

    e = rng.standard_normal(n)
    e[0] /= math.sqrt(1 - phi * phi)
    return lfilter([1.0], [1.0, -phi], e)


def telegraph(n: int, p_up: float, p_down: float, rng: np.random.Generator) -> np.ndarray:
    """Discrete-time two-state Markov chain with per-sample flip probabilities (geometric dwells),
    stationary start. P(1) = p_up/(p_up+p_down), lag-k correlation (1-p_up-p_down)^k."""
    p1 = p_up / (p_up + p_down)
    state = int(rng.random() < p1)
    runs, states, total = [], [], 0
    while total < n:
        length = int(rng.geometric(p_down if state else p_up))
        runs.append(length)
        states.append(state)
        total += length
        state ^= 1
    return np.repeat(np.array(states, dtype=np.uint8), runs)[:n]


def test_binarize_hysteresis_and_threshold():
    v = np.array([0.0, 0.6, 0.45, 0.55, 0.4, 0.2, 0.52, 0.58])
    assert m.binarize(v, 0.5).tolist() == [0, 1, 0, 1, 0, 0, 1, 1]
    # with 0.2 V hysteresis only excursions beyond 0.4/0.6 switch (0.6 is not > 0.6)
    assert m.binarize(v, 0.5, 0.2).tolist() == [0, 0, 0, 0, 0, 0, 0, 0]
    assert m.binarize(v, 0.5, 0.1).tolist() == [0, 1, 1, 1, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="hysteresis"):
        m.binarize(v, 0.5, -0.1)


def test_integrated_autocorr_time_ar1():
    rng = np.random.default_rng(1)
    phi = 0.9
    n = 200_000
    x = ar1(n, phi, rng)
    tau_true = (1 + phi) / (1 - phi)  # 19
    tau = m.integrated_autocorr_time(x)
    # Sokal: var(tau_hat) ~ 2(2M+1)/n tau^2 with M ~ 5 tau -> rel. SE = sqrt(22 tau / n) ~ 0.046; allow 4 SE
    rel_se = math.sqrt(22 * tau_true / n)
    assert abs(tau / tau_true - 1) < 4 * rel_se
    # tau_corr_s = tau_int dt/2 equals the exponential time constant -dt/ln(phi) for dt << tau
    dt = 1e-6
    tau_exp = -dt / math.log(phi)
    assert abs(tau * dt / 2 / tau_exp - 1) < 4 * rel_se + 0.01  # +1%: (dt/2)coth(dt/2tau) vs tau at dt/tau=0.1
    # white noise: tau_int ~ 1 (negative control for the estimator: no correlation -> no inflation)
    assert m.integrated_autocorr_time(rng.standard_normal(50_000)) < 1.15


def test_autocorrelation_matches_phi_k():
    rng = np.random.default_rng(2)
    x = ar1(100_000, 0.8, rng)
    rho = m.autocorrelation(x, 5)
    # SE of rho_k for k small ~ sqrt((1+phi^2)/(1-phi^2)/n) ~ 0.0076; allow 4 SE
    assert np.allclose(rho, 0.8 ** np.arange(6), atol=0.03)


def test_p1_ci_coverage_with_correlated_bits_and_naive_negative_control():
    rng = np.random.default_rng(3)
    p_up, p_down = 0.02, 0.03  # P1 = 0.4, lag correlation 0.95, tau_int = 39
    p_true = p_up / (p_up + p_down)
    reps, n = 300, 4000
    covered = covered_naive = 0
    for _ in range(reps):
        b = telegraph(n, p_up, p_down, rng)
        est = m.p1_estimate(b)
        covered += est.p1_lo <= p_true <= est.p1_hi
        lo, hi = m.wilson_interval(est.n_ones, est.n_samples)
        covered_naive += lo <= p_true <= hi
    # coverage SE = sqrt(0.95*0.05/300) = 0.0126: the n_eff interval must be within ~4 SE of 0.95
    # (slightly conservative is fine)
    assert covered / reps > 0.95 - 4 * 0.0126
    # negative control: treating correlated bits as independent must badly under-cover
    assert covered_naive / reps < 0.6


def test_p1_estimate_independent_bits_and_errors():
    rng = np.random.default_rng(4)
    b = (rng.random(10_000) < 0.3).astype(np.uint8)
    est = m.p1_estimate(b)
    assert est.n_samples == 10_000 and est.n_eff > 8_000
    assert est.p1_lo < 0.3 < est.p1_hi
    with pytest.raises(ValueError, match="0 or 1"):
        m.p1_estimate(np.array([0, 2, 1]))
    const = m.p1_estimate(np.ones(100, dtype=np.uint8))
    assert const.n_eff == 1.0 and const.p1 == 1.0 and const.p1_lo < 0.5


def test_dwell_stats_recover_telegraph_rates():
    rng = np.random.default_rng(5)
    dt = 1e-6
    r_up, r_down = 2e3, 1e3
    p_up, p_down = -math.expm1(-r_up * dt), -math.expm1(-r_down * dt)
    b = telegraph(4_000_000, p_up, p_down, rng)
    ds = m.dwell_stats(b, dt)
    # mean geometric dwell = dt/p = 1/r + dt/2 (bias 0.1 %); ~2700 dwells of each state -> rel SE
    # 1/sqrt(n_dwell) <= 2.7 %; allow 4 SE
    n_lo, n_hi = ds.dwell_low_s.size, ds.dwell_high_s.size
    assert abs(ds.rate_up_Hz / r_up - 1) < 4 / math.sqrt(n_lo)
    assert abs(ds.rate_down_Hz / r_down - 1) < 4 / math.sqrt(n_hi)
    assert ds.n_flips == m.flip_count(b)
    expected_flip_rate = 2 * r_up * r_down / (r_up + r_down)
    assert abs(ds.flip_rate_Hz / expected_flip_rate - 1) < 4 / math.sqrt(ds.n_flips)
    # dwells are exponential: coefficient of variation ~ 1 (negative control: a periodic square wave has 0)
    assert abs(ds.dwell_high_s.std() / ds.dwell_high_s.mean() - 1) < 0.1
    sq = np.tile(np.r_[np.ones(10), np.zeros(10)].astype(np.uint8), 100)
    dsq = m.dwell_stats(sq, dt)
    assert dsq.dwell_high_s.std() == 0.0
    # the correlation time of a telegraph process is 1/(r_up + r_down)
    tau_s = m.integrated_autocorr_time(b[:1_000_000]) * dt / 2
    assert abs(tau_s * (r_up + r_down) - 1) < 0.15  # rel SE sqrt(22 tau/n) ~ 3.6 %, 4 SE


def test_energy_split_known_pulses():
    # 1 nA quiescent current plus 100 triangular pulses of 10 fC each, at 1.8 V over 1 us
    t = np.linspace(0, 1e-6, 100_001)
    i = np.full_like(t, 1e-9)
    period = 1e-8
    for k in range(100):
        t0 = k * period + 2e-9
        tri = np.clip(1 - np.abs(t - t0 - 1e-9) / 1e-9, 0, None)  # area 1e-9 s
        i += 10e-15 / 1e-9 * tri
    es = m.energy_split(t, i, 1.8)
    expected = 1.8 * (1e-9 * 1e-6 + 100 * 10e-15)
    assert es.energy_J == pytest.approx(expected, rel=1e-4)
    assert es.static_power_W == pytest.approx(1.8e-9, rel=1e-6)
    assert es.dynamic_energy_J == pytest.approx(1.8 * 100 * 10e-15, rel=1e-3)


def test_settling_time_first_order():
    tau = 1e-9
    t = np.linspace(0, 20e-9, 20_001)
    v = np.where(t < 2e-9, 0.0, 1 - np.exp(-(t - 2e-9) / tau))
    ts = m.settling_time(t, v, 2e-9, tol=0.01)
    assert ts == pytest.approx(tau * math.log(100), rel=1e-3)
    assert m.settling_time(t, np.zeros_like(t), 2e-9) != m.settling_time(t, np.zeros_like(t), 2e-9)  # NaN


def test_sample_waveform_uniform_grid():
    t = np.array([0.0, 0.3, 1.0, 2.0])
    v = np.array([0.0, 3.0, 10.0, 20.0])
    assert m.sample_waveform(t, v, 0.5).tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
