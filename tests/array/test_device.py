"""Device mode: per-cell sigmoids, DACs, temperature, bias rails, telegraph memory, DeviceModel cards."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.array import (
    DacSpec,
    DeviceStats,
    GibbsSampler,
    HardwareConfig,
    from_device_model,
    from_edges,
    make_hardware,
    random_state,
)
from pbitkit.array.diagnostics import autocorr
from pbitkit.constants import PROBIT_TO_LOGISTIC
from pbitkit.errors import ConfigError, ModelCardError


def _free_cells(n):
    return from_edges(np.zeros((0, 2), int), n)


def _marginals(g, hw, h, n_chains=256, n_sweeps=400, beta=1.0, seed=0):
    smp = GibbsSampler(g, mode="device", hardware=hw)
    rng = np.random.default_rng(seed)
    s0 = random_state(n_chains, g.n_nodes, rng)
    _, mom = smp.run(s0, np.zeros(g.n_edges), h, beta=beta, n_sweeps=n_sweeps, rng=rng)
    return mom


def test_dac_levels_and_saturation():
    d = DacSpec(bits=3, full_scale=1.0)  # levels k/3, |k| <= 3
    np.testing.assert_allclose(d.quantize([0.1, 0.2, -0.5, 0.9, 7.0, -7.0]), [0, 1 / 3, -2 / 3, 1, 1, -1])
    np.testing.assert_array_equal(DacSpec().quantize([0.123]), [0.123])
    with pytest.raises(ConfigError, match="bits"):
        DacSpec(bits=1)


def test_per_cell_offsets_set_the_marginals():
    """Free cells (no couplings, h = 0): P_i(+1) = sigmoid((V0_nom - V0_i) / Vs_i), checked per cell.

    Fast cells (tau << update interval) give independent draws, so the SE of <s_i> over T x C draws is
    sqrt((1 - m^2) / (T C)); 4.5 sigma is a family-wise bound for 64 cells at p ~ 4e-4.
    """
    stats = DeviceStats(v0_V=0.4, vs_V=0.02, v0_sigma_V=0.02, vs_sigma_rel=0.1, v0_vs_corr=0.3, tau_corr_s=1e-12)
    g = _free_cells(64)
    hw = make_hardware(64, stats, HardwareConfig(update_interval_s=1e-9), seed=7)
    mom = _marginals(g, hw, np.zeros(64))
    want = np.tanh(0.5 * (0.4 - hw.v0_V) / hw.vs_V)  # <s> = 2 sigmoid(x) - 1 = tanh(x / 2)
    se = np.sqrt((1 - want**2) / (mom.n_sweeps * mom.n_chains))
    assert np.max(np.abs(mom.m1 - want) / se) < 4.5
    assert np.std(mom.m1) > 0.3  # a spread this large is really there (negative control for the check above)
    # the same seed draws the same chip; another seed another
    np.testing.assert_array_equal(make_hardware(64, stats, seed=7).v0_V, hw.v0_V)
    assert not np.allclose(make_hardware(64, stats, seed=8).v0_V, hw.v0_V)


def test_bias_dac_quantizes_fields_and_temperature_scales_slope():
    g = _free_cells(2)
    stats = DeviceStats.ideal(vs_V=0.02, v0_V=0.3)
    h = np.array([0.1, 0.3])
    cfg = HardwareConfig(bias_dac=DacSpec(bits=3, full_scale=0.6))  # step 0.2: 0.1 -> 0 (round half to even), 0.3 -> 0.4
    hw = make_hardware(2, stats, cfg, seed=0)
    mom = _marginals(g, hw, h, n_sweeps=800)
    hq = DacSpec(bits=3, full_scale=0.6).quantize(h)
    se = np.sqrt(1 / (mom.n_sweeps * mom.n_chains))
    np.testing.assert_allclose(mom.m1, np.tanh(hq), atol=4.5 * se)
    assert abs(mom.m1[1] - np.tanh(0.3)) > 4.5 * se  # quantization is visible (0.3 -> 0.4)
    # twice the absolute temperature doubles the slope (exponent 1): effective beta halves
    hot = make_hardware(2, stats, HardwareConfig(temp_K=2 * stats.temp_K), seed=0)
    mom_hot = _marginals(g, hot, h, n_sweeps=800)
    np.testing.assert_allclose(mom_hot.m1, np.tanh(h / 2), atol=4.5 * se)


def test_bias_network_rails_clip_the_field():
    g = _free_cells(1)
    stats = DeviceStats.ideal(vs_V=0.02, v0_V=0.0, bias_vdd_V=0.04)  # rails at +-0.02 V = +-1 Vs
    hw = make_hardware(1, stats, seed=0)
    mom = _marginals(g, hw, np.array([5.0]), n_sweeps=800)
    se = np.sqrt(1 / (mom.n_sweeps * mom.n_chains))
    assert abs(mom.m1[0] - np.tanh(0.5)) < 4.5 * se  # clipped at x = 1, not x = 10


@pytest.mark.parametrize("h", [0.0, 0.4])
def test_telegraph_lag_k_autocorrelation(h):
    """One free cell read every t_s with correlation time tau: rho(k) = exp(-k t_s / tau).

    Tolerance: Bartlett's variance of the lag-k sample autocorrelation of an AR(1)-like series with
    phi = exp(-t_s/tau) and n = T x C points, var = ((1+phi^2)(1-phi^(2k))/(1-phi^2) - 2k phi^(2k)) / n;
    5 sigma. Negative control: twice the correlation time must fail the same check.
    """
    tau, ts = 1e-7, 5e-8
    g = _free_cells(1)
    hw = make_hardware(1, DeviceStats(vs_V=0.02, tau_corr_s=tau), HardwareConfig(update_interval_s=ts), seed=0)
    smp = GibbsSampler(g, mode="device", hardware=hw)
    rng = np.random.default_rng(3)
    C, T = 512, 400
    s = random_state(C, 1, rng)
    xs = np.empty((T, C))
    for t in range(T):
        s, _ = smp.run(s, np.zeros(0), np.array([h]), n_sweeps=1, rng=rng, moments=False)
        xs[t] = s[:, 0]
    rho = autocorr(xs, max_lag=6)[1:]
    k = np.arange(1, 7)
    phi = np.exp(-ts / tau)
    var = ((1 + phi**2) * (1 - phi ** (2 * k)) / (1 - phi**2) - 2 * k * phi ** (2 * k)) / xs.size
    assert np.all(np.abs(rho - phi**k) < 5 * np.sqrt(var)), (rho, phi**k)
    assert np.any(np.abs(rho - np.exp(-k * ts / (2 * tau))) > 5 * np.sqrt(var))
    # the stationary occupancy is unchanged by the memory: <s> = tanh(h)
    assert abs(xs.mean() - np.tanh(h)) < 5 * np.sqrt((1 - np.tanh(h) ** 2) * (1 + phi) / (1 - phi) / xs.size)


def test_from_device_model_card():
    from pbitkit.pbitmodel import DeviceModel

    card = DeviceModel.ideal(vs_V=0.01, v0_V=0.2, tau_corr_s=80e-9, energy_per_bit_J=300e-18, link="probit")
    st = from_device_model(card)
    assert st.vs_V == pytest.approx(0.01 / PROBIT_TO_LOGISTIC)
    assert (st.v0_V, st.tau_corr_s, st.energy_per_bit_J) == (0.2, 80e-9, 300e-18)
    assert st.temp_K == pytest.approx(300.15)
    st2 = from_device_model(card, v0_sigma_V=0.005)
    assert st2.v0_sigma_V == 0.005


def test_chip_draws_follow_the_card_variation_law():
    """make_hardware draws (V0_i, ln Vs_i) with the card's law (pbitkit.pbitmodel.draw_cell_params): std of
    ln(Vs_i / vs_V) = vs_sigma_rel, corr(V0_i, ln Vs_i) = v0_vs_corr. A 30 % slope spread is far from the
    linear law (which gave ln-spread 0.31 and drew negative slopes). Tolerances 5 SE (std: sigma/sqrt(2n);
    correlation: (1 - r^2)/sqrt(n))."""
    from pbitkit.pbitmodel import DeviceModel, draw_cell_params

    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=1e-7).replace(
        variation={"v0_sigma_V": 0.02, "vs_sigma_rel": 0.3, "v0_vs_corr": 0.5})
    n = 200_000
    hw = make_hardware(n, from_device_model(card), seed=3)
    v0_c, vs_c = draw_cell_params(card, n, np.random.default_rng(4))
    for v0, vs in ((hw.v0_V, hw.vs_V), (v0_c, vs_c)):
        lv = np.log(vs / 0.01)
        assert abs(lv.std() / 0.3 - 1) < 5 / np.sqrt(2 * n)
        assert abs(lv.mean()) < 5 * 0.3 / np.sqrt(n)
        assert abs(np.corrcoef(v0, lv)[0, 1] - 0.5) < 5 * 0.75 / np.sqrt(n)
        assert abs(v0.std() / 0.02 - 1) < 5 / np.sqrt(2 * n)


def test_from_device_model_takes_only_a_typed_card_and_fills_nothing_in():
    """The converter reads a validated DeviceModel; plain dicts (where fields could be missing) are refused,
    every DeviceStats field that comes from the card carries the card's value (no 0.8 V / 1 uS defaults),
    and a card whose bias network has no swing is an error unless the swing is given explicitly."""
    from pbitkit.pbitmodel import DeviceModel

    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=80e-9, vdd_V=1.2).replace(
        bias_network={"c_node_F": 3e-15, "g_unit_S": 2e-7, "settling_s": 1e-9, "energy_per_update_J": 4e-15,
                      "vdd_V": 1.1},
        variation={"v0_sigma_V": 0.004, "vs_sigma_rel": 0.03, "v0_vs_corr": -0.2},
        energy={"static_power_W": 1e-9, "energy_per_flip_J": 7e-16}, temp_C=50.0,
        temp_coeffs={"v0_V_per_K": 1e-4})
    st = from_device_model(card)
    assert (st.bias_vdd_V, st.bias_c_node_F, st.bias_g_unit_S, st.bias_settling_s, st.bias_energy_per_update_J) == (
        1.1, 3e-15, 2e-7, 1e-9, 4e-15)
    assert (st.v0_sigma_V, st.vs_sigma_rel, st.v0_vs_corr) == (0.004, 0.03, -0.2)
    assert (st.static_power_W, st.energy_per_flip_J, st.wire_vdd_V) == (1e-9, 7e-16, 1.2)
    assert st.temp_K == pytest.approx(323.15) and st.v0_tempco_V_per_K == 1e-4 and st.vs_tempco_V_per_K is None
    with pytest.raises(ModelCardError, match="DeviceModel"):
        from_device_model(card.to_dict())
    d = card.to_dict()
    del d["bias_network"]["g_unit_S"]  # the old converter silently used 1 uS here
    with pytest.raises(ModelCardError, match="'bias_network.g_unit_S': missing"):
        DeviceModel.from_dict(d)
    no_swing = card.replace(bias_network={"vdd_V": 0.0})
    with pytest.raises(ModelCardError, match="'bias_network.vdd_V'"):
        from_device_model(no_swing)
    assert from_device_model(no_swing, bias_vdd_V=0.9).bias_vdd_V == 0.9
    with pytest.raises(ConfigError, match="colour"):
        from_device_model(card, colour=1)


def test_async_exponential_rate_law_matches_occupancy_and_correlation_time():
    """A single free cell under the card's exponential rate law at field h (logit x = 2h):
    r_up = r0 e^{x/2}, r_down = r0 e^{-x/2}; occupancy tanh(h) and lag-dt autocorrelation
    exp(-dt (r_up + r_down)). Tolerances: 5 SE (Bartlett variance of an AR(1)-like series); the
    redraw law (total rate 1/tau, bias independent) is the negative control for the correlation."""
    from pbitkit.array import sample_async
    from pbitkit.pbitmodel import DeviceModel

    tau = 1e-7
    card = DeviceModel.ideal(vs_V=0.02, tau_corr_s=tau, vdd_V=10.0)
    st = from_device_model(card)
    assert st.rate_form == "exp" and st.rate0_Hz == pytest.approx(0.5 / tau)
    g = _free_cells(1)
    h = 0.6
    hw = make_hardware(1, st, seed=0)
    rng = np.random.default_rng(0)
    C, T, dt = 256, 400, 0.5 * tau
    s = sample_async(g, np.zeros(0), np.array([h]), state=random_state(C, 1, rng), n_samples=T, interval_s=dt,
                     burn_in_intervals=20, hardware=hw, rng=rng)[:, :, 0].astype(float)
    r_tot = (0.5 / tau) * (np.exp(h) + np.exp(-h))
    phi = np.exp(-dt * r_tot)
    n = s.size
    se_m = np.sqrt((1 - np.tanh(h) ** 2) * (1 + phi) / (1 - phi) / n)
    assert abs(s.mean() - np.tanh(h)) < 5 * se_m
    rho1 = autocorr(s, 1)[1]
    se_r = np.sqrt((1 - phi**2) / n)
    assert abs(rho1 - phi) < 5 * se_r, (rho1, phi)
    assert abs(rho1 - np.exp(-dt / tau)) > 5 * se_r  # the bias-independent rate would be wrong here


@pytest.mark.parametrize("mode", ["ideal", "device"])
def test_node_split_threads_give_the_same_bits(mode):
    """Splitting each colour class's nodes between threads (barrier per class) gives bit-identical states
    and moments to one thread and to the chain split: same lanes, same counter-based uniforms. Device
    mode with telegraph memory, per-chain fields and clamped nodes; 2 and 3 threads (uneven shares)."""
    from pbitkit.array import grid_graph

    g = grid_graph(16, "G12")
    rng = np.random.default_rng(3)
    J = rng.normal(0, 0.3, g.n_edges)
    C = 24
    h = rng.normal(0, 0.2, (C, g.n_nodes))
    mask = np.zeros(g.n_nodes, bool)
    mask[rng.choice(g.n_nodes, 20, replace=False)] = True
    hw = None
    if mode == "device":
        stats = DeviceStats(vs_V=0.02, v0_sigma_V=0.01, vs_sigma_rel=0.1, tau_corr_s=100e-9, tau_sigma_rel=0.1)
        hw = make_hardware(g.n_nodes, stats, HardwareConfig(weight_dac=DacSpec(bits=6, full_scale=1.0),
                                                            update_interval_s=50e-9), seed=1)
    s0 = random_state(C, g.n_nodes, 5)
    runs = {}
    for name, kw in {"serial": dict(parallel=False), "chains2": dict(parallel=True, n_threads=2, split="chains"),
                     "nodes2": dict(parallel=True, n_threads=2, split="nodes"),
                     "nodes3": dict(parallel=True, n_threads=3, split="nodes")}.items():
        smp = GibbsSampler(g, mode=mode, hardware=hw, **kw)
        r = np.random.default_rng(8)
        s, m_a = smp.run(s0, J, h, n_sweeps=6, rng=r, clamp_mask=mask, clamp_values=s0)
        s, m_b = smp.run(s, J, h, n_sweeps=3, rng=r, clamp_mask=mask, clamp_values=s0, moments=False)
        runs[name] = (s, m_a)
        assert smp.last_split == {"serial": "serial", "chains2": "chains"}.get(name, "nodes")
    ref_s, ref_m = runs["serial"]
    assert not np.array_equal(ref_s, s0)
    for name, (s, m) in runs.items():
        np.testing.assert_array_equal(s, ref_s, err_msg=name)
        np.testing.assert_array_equal(m.m1_chain, ref_m.m1_chain, err_msg=name)
        np.testing.assert_array_equal(m.m2, ref_m.m2, err_msg=name)


def test_split_option_is_validated():
    with pytest.raises(ConfigError, match="split"):
        GibbsSampler(_free_cells(4), split="rows")
