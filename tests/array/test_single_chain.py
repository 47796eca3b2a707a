"""The dedicated single-chain kernel (C = 1): exact enumeration with negative controls, determinism.

Tolerances as in tests/array/test_exact.py: |z| of every marginal and edge correlation against the exact
value, the standard error from the effective sample size of the one chain (autocorrelation-corrected),
Bonferroni threshold over all statistics (tests/array/stat_harness.py).
"""

from __future__ import annotations

import numpy as np

from pbitkit.array import (
    DeviceStats,
    GibbsSampler,
    HardwareConfig,
    make_hardware,
    random_state,
    sample,
    square_lattice,
)
from tests.array.stat_harness import exact_moments, max_z, random_model


def _z(samples, g, J, h, beta):
    m1, m2 = exact_moments(g, J, h, beta)
    return max_z(samples, g, m1, m2)


def test_single_chain_matches_exact_and_wrong_beta_fails():
    g, J, h = random_model(12, 0.35, seed=3)
    s = sample(J, h, graph=g, beta=1.0, n_chains=1, n_sweeps=50_000, burn_in=100, seed=21)
    assert s.shape[1] == 1
    z, zc = _z(s, g, J, h, 1.0)
    assert z < zc, f"single chain disagrees with exact enumeration: max|z| = {z:.2f} >= {zc:.2f}"
    z_bad, _ = _z(s, g, J, h, 1.25)  # negative control: 25 % wrong beta
    assert z_bad > zc, f"negative control passed (max|z| = {z_bad:.2f}): the test has no power"


def test_single_chain_telegraph_memory_keeps_the_boltzmann_distribution():
    """Device mode with zero variation but slow cells (lam = exp(-t_update / tau) = 0.61): a lazy Gibbs
    update, whose stationary law is still exact; a 25 % wrong beta must fail."""
    g, J, h = random_model(10, 0.4, seed=8)
    stats = DeviceStats.ideal(vs_V=0.02, v0_V=0.3, bias_vdd_V=100.0, tau_corr_s=1e-7)
    hw = make_hardware(g.n_nodes, stats, HardwareConfig(update_interval_s=5e-8), seed=0)
    s = sample(J, h, graph=g, beta=1.0, n_chains=1, n_sweeps=50_000, burn_in=100, mode="device", hardware=hw,
               seed=22)
    z, zc = _z(s, g, J, h, 1.0)
    assert z < zc, (z, zc)
    z_bad, _ = _z(s, g, J, h, 1.25)
    assert z_bad > zc, z_bad


def test_single_chain_is_deterministic_and_thread_invariant():
    """Same seed -> same bits, other seed -> other bits. ``split="nodes"`` runs the generic kernel with the
    same uniforms but another float32 summation order of the field; a decision could differ only when u is
    within ~1 ulp of the threshold (~1e-7 per update), so with these fixed seeds the runs are identical."""
    g = square_lattice(16, periodic=True)
    rng = np.random.default_rng(0)
    J = rng.normal(0, 0.4, g.n_edges)
    h = rng.normal(0, 0.2, g.n_nodes)
    s0 = random_state(1, g.n_nodes, 1)
    out = {}
    for name, kw, seed in [("a", dict(parallel=False), 4), ("b", dict(parallel=False), 4), ("c", dict(parallel=False), 5),
                           ("nodes2", dict(parallel=True, n_threads=2, split="nodes"), 4)]:
        smp = GibbsSampler(g, **kw)
        out[name], _ = smp.run(s0, J, h, n_sweeps=50, rng=np.random.default_rng(seed), moments=False)
    np.testing.assert_array_equal(out["a"], out["b"])
    np.testing.assert_array_equal(out["a"], out["nodes2"])
    assert not np.array_equal(out["a"], out["c"])
    assert not np.array_equal(out["a"], s0)
