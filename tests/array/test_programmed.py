"""The programmed sampler (compile once) and the single chain shared between two threads.

- ``GibbsSampler.program(...)`` gives the same bits as ``GibbsSampler.run`` / ``iterate`` / ``sample``;
  iterating does not re-program (DAC quantization is counted); ``update`` re-programs one part.
- One chain split over two threads (``split="nodes"``): bit-identical to one thread (states and moments,
  ideal and device with telegraph memory, with clamps), and its moments match exact enumeration of a
  12-spin frustrated model (batch-means standard errors, Bonferroni; a 25 % wrong beta must fail).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from pbitkit.array import (
    DacSpec,
    DeviceStats,
    GibbsSampler,
    HardwareConfig,
    ProgrammedSampler,
    make_hardware,
    random_state,
    sample,
    square_lattice,
)
from pbitkit.errors import ConfigError
from tests.array.stat_harness import ALPHA, exact_moments, random_model


def _chip(n, *, lam=True, seed=0):
    stats = DeviceStats(vs_V=0.02, v0_sigma_V=0.01, vs_sigma_rel=0.05, tau_corr_s=1e-7, tau_sigma_rel=0.1)
    cfg = HardwareConfig(weight_dac=DacSpec(bits=6, full_scale=1.0), bias_dac=DacSpec(bits=6, full_scale=1.0),
                         update_interval_s=5e-8 if lam else 1e-5)
    return make_hardware(n, stats, cfg, seed=seed)


@pytest.fixture(scope="module")
def torus():
    g = square_lattice(16, periodic=True)
    rng = np.random.default_rng(1)
    return g, rng.normal(0, 0.4, g.n_edges), rng.normal(0, 0.2, g.n_nodes)


@pytest.mark.parametrize("mode", ["ideal", "device"])
def test_programmed_run_iterate_sample_give_the_same_bits_as_the_one_call_forms(torus, mode):
    g, J, h = torus
    hw = _chip(g.n_nodes) if mode == "device" else None
    mask = np.zeros(g.n_nodes, bool)
    mask[::7] = True
    s0 = random_state(8, g.n_nodes, 3)
    cv = random_state(8, g.n_nodes, 4)
    a, ma = GibbsSampler(g, mode, hw).run(s0, J, h, beta=0.9, n_sweeps=20, rng=np.random.default_rng(5),
                                          clamp_mask=mask, clamp_values=cv)
    prog = GibbsSampler(g, mode, hw).program(J, h, beta=0.9, clamp_mask=mask)
    b, mb = prog.run(s0, n_sweeps=20, rng=np.random.default_rng(5), clamp_values=cv)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma.m1_chain, mb.m1_chain)
    np.testing.assert_array_equal(ma.m2, mb.m2)
    # iterate of the one-call form == successive run calls of a programmed sampler (one key per step)
    rng1, rng2 = np.random.default_rng(6), np.random.default_rng(6)
    it = list(GibbsSampler(g, mode, hw).iterate(s0, J, h, beta=0.9, n_samples=5, thin=3, rng=rng1))
    prog2 = GibbsSampler(g, mode, hw).program(J, h, beta=0.9)
    s = s0
    for k in range(5):
        s, _ = prog2.run(s, n_sweeps=3, rng=rng2, moments=False)
        np.testing.assert_array_equal(it[k], s)
    assert not np.array_equal(it[0], it[-1])
    # sample() == program().sample() from the same state and generator
    out = sample(J, h, graph=g, beta=0.9, n_chains=8, n_sweeps=6, burn_in=4, thin=2, mode=mode, hardware=hw,
                 init=s0, seed=7)
    out2 = GibbsSampler(g, mode, hw).program(J, h, beta=0.9).sample(s0, n_sweeps=6, burn_in=4, thin=2,
                                                                    rng=np.random.default_rng(7))
    np.testing.assert_array_equal(out, out2)
    assert out.shape == (3, 8, g.n_nodes) and out.flags.c_contiguous


def test_iterate_and_sample_program_once(torus, monkeypatch):
    """Device mode quantizes J and h through the DACs: twice per programming, never per yielded state."""
    g, J, h = torus
    hw = _chip(g.n_nodes)
    calls = []
    orig = DacSpec.quantize
    monkeypatch.setattr(DacSpec, "quantize", lambda self, x: calls.append(1) or orig(self, x))
    smp = GibbsSampler(g, "device", hw)
    states = list(smp.iterate(random_state(4, g.n_nodes, 0), J, h, n_samples=25, rng=np.random.default_rng(0)))
    assert len(states) == 25 and len(calls) == 2
    sample(J, h, graph=g, n_chains=4, n_sweeps=30, burn_in=5, mode="device", hardware=hw, seed=1)
    assert len(calls) == 4
    prog = smp.program(J, h)
    for _ in range(10):
        prog.run(states[-1], n_sweeps=1, rng=np.random.default_rng(0), moments=False)
    assert len(calls) == 6


def test_update_reprograms_only_what_changes(torus):
    g, J, h = torus
    smp = GibbsSampler(g)
    prog = smp.program(J, h)
    h2 = -h
    s0 = random_state(4, g.n_nodes, 2)
    a, _ = prog.update(h=h2).run(s0, n_sweeps=10, rng=np.random.default_rng(1))
    b, _ = GibbsSampler(g).program(J, h2).run(s0, n_sweeps=10, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    c, _ = prog.run(s0, n_sweeps=10, rng=np.random.default_rng(1))  # the original keeps its fields
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(prog.update(J_edge=2 * J).couplings, 2 * J)
    np.testing.assert_array_equal(prog.fields[0], h)


def test_programmed_sampler_rejects_bad_input(torus):
    g, J, h = torus
    smp = GibbsSampler(g)
    with pytest.raises(ConfigError, match="beta"):
        smp.program(J, h, beta=float("inf"))
    with pytest.raises(ConfigError, match="J_edge"):
        smp.program(J[:-1], h)
    with pytest.raises(ConfigError, match="h must have shape"):
        smp.program(J, h[:-1])
    with pytest.raises(ConfigError, match="clamp_mask"):
        smp.program(J, h, clamp_mask=np.zeros(3, bool))
    prog = smp.program(J, np.zeros((4, g.n_nodes)))  # per-chain fields for 4 chains
    assert isinstance(prog, ProgrammedSampler) and prog.n_chains == 4
    with pytest.raises(ConfigError, match="4 chains"):
        prog.run(random_state(3, g.n_nodes, 0), n_sweeps=1, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="-1 and \\+1"):
        prog.run(np.zeros((4, g.n_nodes), np.int8), n_sweeps=1, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="clamp_values"):
        smp.program(J, h, clamp_mask=np.ones(g.n_nodes, bool)).run(random_state(1, g.n_nodes, 0), n_sweeps=1,
                                                                    rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="init"):
        sample(J, h, graph=g, n_chains=2, init=random_state(3, g.n_nodes, 0), n_sweeps=2)


# ------------------------------------------------------------------------ one chain on two threads
def _single(g, split, mode="ideal", hw=None, **kw):
    if split == "nodes":
        return GibbsSampler(g, mode, hw, parallel=True, n_threads=2, split="nodes", **kw)
    return GibbsSampler(g, mode, hw, parallel=False, **kw)


@pytest.mark.parametrize("mode", ["ideal", "device"])
def test_single_chain_on_two_threads_is_bit_identical_to_one_thread(torus, mode):
    g, J, h = torus
    hw = _chip(g.n_nodes) if mode == "device" else None  # device: telegraph memory lam = 0.6
    mask = np.zeros(g.n_nodes, bool)
    mask[5::11] = True
    s0 = random_state(1, g.n_nodes, 8)
    out = {}
    for split in ("serial", "nodes", "serial2"):
        smp = _single(g, "nodes" if split == "nodes" else "serial", mode, hw)
        prog = smp.program(J, h, clamp_mask=mask)
        s, mom = prog.run(s0, n_sweeps=40, rng=np.random.default_rng(9 if split != "serial2" else 10),
                          clamp_values=-s0)
        out[split] = (s, mom)
        assert smp.last_split == ("nodes" if split == "nodes" else "serial")
    (a, ma), (b, mb) = out["serial"], out["nodes"]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma.m1, mb.m1)
    np.testing.assert_array_equal(ma.m2, mb.m2)
    np.testing.assert_array_equal(b[0, mask], -s0[0, mask])  # clamps held
    assert not np.array_equal(a, out["serial2"][0])  # another seed gives other bits


def _batch_means_z(prog, g, J, h, beta_true, n_batches=60, sweeps=800, seed=0):
    """Largest |z| of <s_i>, <s_i s_j> from ``n_batches`` kernel-accumulated batch means vs exact
    enumeration at ``beta_true``, and the Bonferroni threshold (Student t, n_batches - 1 dof)."""
    rng = np.random.default_rng(seed)
    s, _ = prog.run(random_state(1, g.n_nodes, rng), n_sweeps=100, rng=rng, moments=False)
    m1s, m2s = [], []
    for _ in range(n_batches):
        s, mom = prog.run(s, n_sweeps=sweeps, rng=rng)
        m1s.append(mom.m1)
        m2s.append(mom.m2)
    x = np.hstack([np.array(m1s), np.array(m2s)])
    e1, e2 = exact_moments(g, J, h, beta_true)
    mu = np.concatenate([e1, e2])
    se = x.std(axis=0, ddof=1) / np.sqrt(n_batches)
    z = np.abs(x.mean(axis=0) - mu) / np.maximum(se, 1e-9)
    return float(z.max()), float(student_t.isf(ALPHA / (2 * x.shape[1]), n_batches - 1))


@pytest.mark.parametrize("mode", ["ideal", "device"])
def test_single_chain_on_two_threads_matches_exact_and_wrong_beta_fails(mode):
    g, J, h = random_model(12, 0.35, seed=3)  # colour classes of 5, 3, 4 nodes: every thread gets some
    hw = None
    if mode == "device":  # zero variation, slow cells (lam = 0.61): still the Boltzmann distribution
        stats = DeviceStats.ideal(vs_V=0.02, v0_V=0.3, bias_vdd_V=100.0, tau_corr_s=1e-7)
        hw = make_hardware(g.n_nodes, stats, HardwareConfig(update_interval_s=5e-8), seed=0)
    smp = _single(g, "nodes", mode, hw)
    prog = smp.program(J, h)
    z, zc = _batch_means_z(prog, g, J, h, 1.0, seed=31)
    assert smp.last_split == "nodes"
    assert z < zc, f"two-thread single chain disagrees with exact enumeration: max|z| = {z:.2f} >= {zc:.2f}"
    z_bad, _ = _batch_means_z(prog, g, J, h, 1.25, seed=32)  # negative control: 25 % wrong beta
    assert z_bad > zc, f"negative control passed (max|z| = {z_bad:.2f}): the test has no power"


@pytest.mark.parametrize("shape", [(16, 8), (4900, 64), (37, 1), (1, 37), (13, 21), (130, 72)])
def test_store_transposed_is_the_transpose(shape):
    """The blocked int8 transpose used for states and samples, including the edges outside 8 x 8 blocks."""
    from pbitkit.array import kernels

    S = np.random.default_rng(0).integers(-128, 128, shape).astype(np.int8)
    out = np.zeros(shape[::-1], np.int8)
    kernels.store_transposed(S, out)
    np.testing.assert_array_equal(out, S.T)
    assert kernels.all_spins(np.sign(S.ravel() + 0.5).astype(np.int8))
    assert not kernels.all_spins(np.r_[np.ones(100, np.int8), np.int8(0)])


@pytest.mark.parametrize("mode", ["ideal", "device"])
def test_single_chain_sample_in_one_call_equals_the_per_sample_loop(torus, mode):
    """sample() of one chain records every sample inside one kernel call; an observer forces the
    per-sample loop. Same bits (one key per sample either way)."""
    g, J, h = torus
    hw = _chip(g.n_nodes) if mode == "device" else None
    kw = dict(graph=g, beta=0.8, n_chains=1, n_sweeps=30, burn_in=7, thin=3, mode=mode, hardware=hw, seed=4)
    a = sample(J, h, **kw)
    seen = []
    b = sample(J, h, observer=lambda k, s: seen.append(k), **kw)
    assert seen == list(range(10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[-1])
