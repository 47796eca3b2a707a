"""Gain compensation by the calibration: per-cell input scaling against exact enumeration, DAC clipping."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.array import DacSpec, DeviceStats, HardwareConfig, make_hardware, sample
from pbitkit.array.calibration import calibrate
from pbitkit.array.device import program_rows
from pbitkit.errors import ConfigError
from tests.array.stat_harness import exact_moments, max_z, random_model


@pytest.fixture(scope="module")
def chip_and_model():
    """10 spins, random frustrated couplings; cells with 35 % (log) slope spread and 0.4 Vs offset spread,
    reads far apart (no telegraph memory), ideal weight/field DACs."""
    g, J, h = random_model(10, 0.4, seed=5)
    st = DeviceStats(vs_V=0.025, v0_sigma_V=0.01, vs_sigma_rel=0.35, tau_corr_s=1e-9)
    hw = make_hardware(g.n_nodes, st, HardwareConfig(update_interval_s=50e-9), seed=4)
    return g, J, h, hw


def test_gain_compensation_matches_exact_and_offset_only_fails(chip_and_model):
    """After calibration with gain compensation the chip samples the programmed Boltzmann distribution
    (every marginal and edge correlation within the Bonferroni z bound of the standard error); the same chip
    calibrated for offsets only does not (negative control), and the slope estimates (from the calibration's
    own field sweep, not from the hidden cell values) match the true ``Vs_i / Vs_nom`` within a few
    percent (binomial SE of a fitted slope here ~1 %: 3,200 reads x 13 fields x 2 rounds)."""
    g, J, h, hw = chip_and_model
    true_ratio = hw.vs_at_temp_V() / (hw.stats.vs_V * hw.gain_rel)
    assert np.std(np.log(true_ratio)) > 0.2  # the chip really has a slope spread
    cal = calibrate(g, hw, n_sweeps=200, n_chains=16, seed=0)
    assert cal.input_gain is not None
    assert np.max(np.abs(cal.input_gain / true_ratio - 1.0)) < 0.05, cal.input_gain / true_ratio
    m1, m2 = exact_moments(g, J, h, 1.0)
    s = sample(J, h, graph=g, mode="device", hardware=cal.hardware, n_chains=32, n_sweeps=600, burn_in=50, seed=7)
    z, zc = max_z(s, g, m1, m2)
    assert z < zc, f"gain-compensated chip disagrees with exact enumeration: max|z| = {z:.2f} >= {zc:.2f}"
    cal0 = calibrate(g, hw, n_sweeps=200, n_chains=16, gain=False, seed=0)
    assert cal0.input_gain is None and cal0.hardware.input_gain is None
    s0 = sample(J, h, graph=g, mode="device", hardware=cal0.hardware, n_chains=32, n_sweeps=600, burn_in=50, seed=7)
    z0, _ = max_z(s0, g, m1, m2)
    assert z0 > zc, f"offset-only calibration passed (max|z| = {z0:.2f}): the test has no power"
    capped = calibrate(g, hw, n_sweeps=50, n_chains=8, rounds=1, gain_max=1.1, seed=0).input_gain
    assert np.max(capped) == 1.1 and np.max(cal.input_gain) > 1.1  # the cap binds
    with pytest.raises(ConfigError, match="gain_max"):
        calibrate(g, hw, gain_max=0.5)
    # the compensated chip is also closer to exact in mean absolute error of all moments
    a, b = g.edges[:, 0], g.edges[:, 1]

    def err(x):
        x = x.astype(np.float64)
        return np.mean(np.abs(np.concatenate([x.mean((0, 1)) - m1, (x[:, :, a] * x[:, :, b]).mean((0, 1)) - m2])))

    assert err(s) < 0.5 * err(s0), (err(s), err(s0))


def test_program_rows_clips_and_counts_honestly():
    """Scaled rows go through the DAC: a fixed full scale saturates (and counts) the scaled values beyond
    it; an auto-ranging DAC is ranged on the scaled values (coarser LSB, nothing saturates); no gain is
    the plain DAC; an ideal DAC only scales."""
    rows = np.array([[1.0, -0.5, 0.0], [0.25, 1.0, -1.0]])
    gain = np.array([0.5, 2.0])
    fixed = DacSpec(bits=4, full_scale=1.0)  # step 1/7
    q, n = program_rows(fixed, rows, None)
    assert n == 0 and np.array_equal(q, fixed.quantize(rows))
    q, n = program_rows(fixed, rows, gain)
    assert n == 2  # 2.0 and -2.0 in row 1 saturate; 0.5 does not
    np.testing.assert_allclose(q, [[4 / 7, -2 / 7, 0.0], [4 / 7, 1.0, -1.0]])
    q, n = program_rows(DacSpec(bits=4), rows, gain)  # auto-range: full scale 2.0, step 2/7
    assert n == 0
    np.testing.assert_allclose(q, [[4 / 7, -2 / 7, 0.0], [4 / 7, 2.0, -2.0]])
    q, n = program_rows(DacSpec(), rows, gain)
    assert n == 0 and np.allclose(q, rows * gain[:, None])


def test_input_gain_is_validated(chip_and_model):
    _, _, _, hw = chip_and_model
    with pytest.raises(ConfigError, match="input_gain"):
        hw.with_input_gain(np.full(hw.n_nodes, -1.0))
    with pytest.raises(ConfigError, match="input_gain"):
        hw.with_input_gain(np.ones(3))
