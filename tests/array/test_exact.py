"""Sampled moments vs exact enumeration (ideal, async, device with zero variation), with negative controls.

See tests/array/stat_harness.py for how the tolerance follows from the Monte-Carlo standard error.
"""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.array import (
    DeviceStats,
    GibbsSampler,
    HardwareConfig,
    grid_graph,
    make_hardware,
    random_state,
    sample,
    square_lattice,
)
from tests.array.stat_harness import exact_moments, max_z, random_model

BETA = 1.0


@pytest.fixture(scope="module")
def model():
    return random_model(12, 0.35, seed=3)  # 12 spins, ~23 random edges, frustrated (random signs)


def _z(samples, g, J, h, beta_true):
    m1, m2 = exact_moments(g, J, h, beta_true)
    return max_z(samples, g, m1, m2)


def test_ideal_matches_exact_and_wrong_beta_fails(model):
    g, J, h = model
    s = sample(J, h, graph=g, beta=BETA, n_chains=64, n_sweeps=2000, burn_in=50, seed=11)
    z, zc = _z(s, g, J, h, BETA)
    assert z < zc, f"ideal sampler disagrees with exact enumeration: max|z| = {z:.2f} >= {zc:.2f}"
    # negative control: the same samples judged against the distribution at a 25 % different beta
    z_bad, _ = _z(s, g, J, h, 1.25 * BETA)
    assert z_bad > zc, f"negative control passed the test (max|z| = {z_bad:.2f}): the test has no power"


def test_ideal_16_spin_torus_with_fields():
    g = square_lattice(4, periodic=True)  # 16 spins, 32 edges, bipartite
    rng = np.random.default_rng(5)
    J = rng.normal(0.3, 0.4, g.n_edges)
    h = rng.normal(0, 0.2, g.n_nodes)
    s = sample(J, h, graph=g, beta=0.8, n_chains=64, n_sweeps=1500, burn_in=50, seed=2)
    z, zc = _z(s, g, J, h, 0.8)
    assert z < zc, (z, zc)


def test_async_matches_exact_and_wrong_beta_fails(model):
    g, J, h = model
    s = sample(J, h, graph=g, beta=BETA, n_chains=64, n_sweeps=2000, burn_in=20, mode="async", seed=12)
    z, zc = _z(s, g, J, h, BETA)
    assert z < zc, f"async dynamics disagree with exact enumeration: max|z| = {z:.2f} >= {zc:.2f}"
    z_bad, _ = _z(s, g, J, h, 1.25 * BETA)
    assert z_bad > zc, f"negative control passed (max|z| = {z_bad:.2f})"


def test_device_zero_variation_reproduces_ideal(model):
    g, J, h = model
    hw = make_hardware(g.n_nodes, DeviceStats.ideal(vs_V=0.02, v0_V=0.3, bias_vdd_V=100.0), HardwareConfig(), seed=0)
    s = sample(J, h, graph=g, beta=BETA, n_chains=64, n_sweeps=2000, burn_in=50, mode="device", hardware=hw, seed=13)
    z, zc = _z(s, g, J, h, BETA)
    assert z < zc, (z, zc)


def test_clamped_conditional_matches_exact():
    g, J, h = random_model(10, 0.4, seed=8)
    mask = np.zeros(g.n_nodes, bool)
    mask[[0, 3]] = True
    vals = np.ones(g.n_nodes, np.int8)
    vals[3] = -1
    s = sample(J, h, graph=g, beta=BETA, n_chains=64, n_sweeps=2000, burn_in=50, clamp=(mask, vals), seed=4)
    assert np.all(s[:, :, 0] == 1) and np.all(s[:, :, 3] == -1)
    m1, m2 = exact_moments(g, J, h, BETA, clamp=(mask, vals))
    z, zc = max_z(s, g, m1, m2)
    assert z < zc, (z, zc)
    # negative control: the unclamped distribution must be rejected
    m1u, m2u = exact_moments(g, J, h, BETA)
    assert max_z(s, g, m1u, m2u)[0] > zc


def test_moments_accumulate_the_states_and_run_is_reproducible():
    g = grid_graph(8, "G8")
    rng = np.random.default_rng(0)
    J = rng.normal(0, 0.3, g.n_edges)
    h = rng.normal(0, 0.1, (5, g.n_nodes))  # per-chain fields
    s0 = random_state(5, g.n_nodes, 1)
    s1, mom = GibbsSampler(g).run(s0, J, h, n_sweeps=1, rng=np.random.default_rng(9), per_chain=True)
    a, b = g.edges.T
    np.testing.assert_array_equal(mom.m1_chain, s1)
    np.testing.assert_array_equal(mom.m2_chain, s1[:, a] * s1[:, b])
    s7, m7 = GibbsSampler(g).run(s0, J, h, n_sweeps=7, rng=np.random.default_rng(9), per_chain=True)
    s7b, m7b = GibbsSampler(g).run(s0, J, h, n_sweeps=7, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(s7, s7b)
    np.testing.assert_array_equal(m7.m1, m7b.m1)
    np.testing.assert_allclose(m7.m2, m7b.m2)
    np.testing.assert_allclose(m7.m2, m7.m2_chain.mean(0))
    assert s7.dtype == np.int8 and s7.shape == s0.shape
    # threads over chain blocks produce the same bits as one thread (global RNG counters)
    s40 = random_state(40, g.n_nodes, 2)
    h40 = rng.normal(0, 0.1, (40, g.n_nodes))
    outs = [GibbsSampler(g, parallel=par, n_threads=nt).run(s40, J, h40, n_sweeps=5, rng=np.random.default_rng(4),
                                                            per_chain=pc)
            for par, nt, pc in [(False, 1, False), (True, 2, False), (True, 3, True)]]
    for st, mo in outs[1:]:
        np.testing.assert_array_equal(st, outs[0][0])
        np.testing.assert_allclose(mo.m2, outs[0][1].m2, atol=1e-12)
        np.testing.assert_array_equal(mo.m1_chain, outs[0][1].m1_chain)


def test_async_exponential_rate_law_matches_exact(model):
    """Async dynamics with the DeviceModel card's bias-dependent exponential rates (uniformization)."""
    from pbitkit.array import from_device_model
    from pbitkit.pbitmodel import DeviceModel

    g, J, h = model
    st = from_device_model(DeviceModel.ideal(vs_V=0.02, tau_corr_s=1e-7, vdd_V=50.0))  # rails far away
    hw = make_hardware(g.n_nodes, st, HardwareConfig(), seed=0)
    s = sample(J, h, graph=g, beta=BETA, n_chains=32, n_sweeps=600, burn_in=10, mode="async", hardware=hw, seed=5)
    z, zc = _z(s, g, J, h, BETA)
    assert z < zc, (z, zc)
    assert _z(s, g, J, h, 1.25 * BETA)[0] > zc
