"""SPICE macro-model: rendered text (no simulator) and real ngspice runs against the card it was made from."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pbitkit.pbitmodel.card import DeviceModel, RateModel
from pbitkit.pbitmodel.export import card_to_csv, export_card, macromodel_noise, spice_macromodel

CARD = DeviceModel.ideal(vs_V=0.0064, v0_V=0.01, tau_corr_s=1e-6, cell="test").replace(
    dynamics={"rate_model": RateModel("constant_tau")})


def test_spice_text_and_noise_table_are_reproducible(tmp_path):
    txt = spice_macromodel(CARD, "pbitA", "n.txt")
    assert ".subckt pbitA bias out" in txt and ".ends pbitA" in txt and 'file="n.txt"' in txt
    assert "amplstep=true" in txt and f"{CARD.v0_V:.12g}" in txt
    a = macromodel_noise(CARD, 1e-4, np.random.default_rng(1))
    assert a == macromodel_noise(CARD, 1e-4, np.random.default_rng(1))
    assert a != macromodel_noise(CARD, 1e-4, np.random.default_rng(2))
    rows = np.array([list(map(float, ln.split())) for ln in a.splitlines()])
    assert rows[-1, 0] >= 1e-4 and np.all(np.diff(rows[:, 0]) > 0)
    noise = rows[::3, 1]
    # logistic(0, vs) noise: std = vs pi / sqrt(3); SE of a std ~ std / sqrt(2 n); 5 SE
    sd = CARD.vs_V * math.pi / math.sqrt(3)
    assert abs(noise.std() - sd) < 5 * sd / math.sqrt(2 * noise.size) + 0.1 * sd / math.sqrt(noise.size)
    files = export_card(CARD, "spice", tmp_path / "m.lib", n_instances=2, t_stop_s=1e-5)
    assert [f.name for f in files] == ["m.lib", "m_noise0.txt", "m_noise1.txt"]
    assert "pbit1" in files[0].read_text()
    csv = card_to_csv(CARD)
    assert "v0_V,0.01,V,0.0" in csv and "dynamics.rate_model.form,constant_tau" in csv


def _z(p_hat, p, n_eff):
    return (p_hat - p) / np.sqrt(p * (1 - p) / n_eff)


@pytest.mark.ngspice
def test_macromodel_reproduces_p1_and_tau_in_ngspice():
    """ngspice runs of the macro-model at 7 biases: P(1) within 4 binomial SE (n_eff from the measured
    autocorrelation) of the card at every point; pooled correlation time within 4 SE of tau (the relative SE
    of one integrated autocorrelation time is ~ sqrt(2 (2M + 1) / N) with window M ~ 5 tau_int, Sokal)."""
    from pbitkit.pbitmodel.macromodel import simulate_macromodel_sweep

    bias = CARD.v0_V + CARD.vs_V * np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    sw = simulate_macromodel_sweep(CARD, bias, t_stop_s=3000 * CARD.dynamics.tau_corr_s, seed=12)
    p = CARD.p1(bias)
    z = _z(sw.p1, p, sw.n_eff)
    assert np.all(np.abs(z) < 4), z
    n_reads = sw.bits.shape[1]
    tau_int = 2 * sw.tau_corr_s / sw.read_period_s
    rel_se = np.sqrt(2 * (2 * 5 * tau_int + 1) / n_reads) / math.sqrt(bias.size)
    assert abs(np.mean(sw.tau_corr_s) / CARD.dynamics.tau_corr_s - 1) < 4 * float(np.mean(rel_se))
    # negative control: a card whose centre is off by one slope width is rejected by the same test
    wrong = CARD.replace(v0_V=CARD.v0_V + CARD.vs_V)
    assert np.max(np.abs(_z(sw.p1, wrong.p1(bias), sw.n_eff))) > 4


@pytest.mark.ngspice
def test_coupled_macromodels_sample_boltzmann_in_ngspice():
    """Two macro-model cells coupled through a resistive bias network (J = 0.5, h = 0 in spin units) sample
    P(s1, s2) ∝ exp(J s1 s2): Pearson chi2 with n_eff effective reads below the 1e-4 quantile of chi2(3);
    the uncoupled prediction (negative control) is rejected."""
    from pbitkit.pbitmodel.macromodel import pair_boltzmann, simulate_coupled_pair

    a = 2 * 0.5 * CARD.vs_V / CARD.vdd_V * 2  # J = a vdd / (4 vs) = 0.5
    v_ref = (CARD.v0_V - a * CARD.vdd_V / 2) / (1 - a)  # h = 0
    pair = simulate_coupled_pair(CARD, coupling_frac=a, v_ref_V=(v_ref, v_ref), t_stop_s=3000 * CARD.dynamics.tau_corr_s,
                                 seed=5)
    assert pair.J == pytest.approx(0.5) and max(abs(h) for h in pair.h) < 1e-9
    crit = stats.chi2.ppf(1 - 1e-4, 3)
    x2 = pair.n_eff * np.sum((pair.freq - pair.boltzmann) ** 2 / pair.boltzmann)
    assert x2 < crit, (x2, pair.freq, pair.boltzmann)
    indep = pair_boltzmann(0.0, 0.0, 0.0)
    assert pair.n_eff * np.sum((pair.freq - indep) ** 2 / indep) > crit


@pytest.mark.ngspice
def test_telegraph_macromodel_reproduces_bias_dependent_tau_in_ngspice():
    """Unclocked card with exponential rates (tau(V) = tau0 / cosh((V - v0)/(2 vs))): the uniformized
    two-phase-latch macro-model reproduces P(1) (4 SE) and tau at the centre and at ±3.5 vs (pooled relative
    error of the three tau_int estimates within 4 SE; relative SE of one estimate ~ sqrt(2 (2M + 1) / N),
    M ~ 5 tau_int, Sokal). Expected values include the sampling correction (dt/2) coth(dt / 2 tau).
    Negative control: a constant tau0 (the renewal model's assumption) is rejected at ±3.5 vs."""
    from pbitkit.pbitmodel.export import is_telegraph
    from pbitkit.pbitmodel.macromodel import simulate_macromodel_sweep

    card = DeviceModel.ideal(vs_V=0.0064, v0_V=0.01, tau_corr_s=1e-6, cell="telegraph")
    assert is_telegraph(card)
    bias = card.v0_V + card.vs_V * np.array([-3.5, 0.0, 3.5])
    sw = simulate_macromodel_sweep(card, bias, t_stop_s=1000 * card.dynamics.tau_corr_s, seed=21)
    assert np.all(np.abs(_z(sw.p1, card.p1(bias), sw.n_eff)) < 4)
    dt = sw.read_period_s
    expect = (dt / 2) / np.tanh(dt / (2 * card.tau_corr(bias)))
    tau_int = 2 * expect / dt
    rel_se = np.sqrt(2 * (10 * tau_int + 1) / sw.bits.shape[1])
    err = sw.tau_corr_s / expect - 1
    assert abs(err.mean()) < 4 * rel_se.mean() / math.sqrt(bias.size), (sw.tau_corr_s, expect)
    const = (dt / 2) / np.tanh(dt / (2 * card.dynamics.tau_corr_s))
    z_const = (sw.tau_corr_s[[0, 2]] / const - 1) / rel_se[[0, 2]]
    assert np.all(z_const < -4), z_const


@pytest.mark.ngspice
def test_clocked_macromodel_reproduces_correlated_reads():
    """A clocked card whose reads are correlated (tau_int = 2 tau_corr_s / t_s = 1.6, a free-running core read
    by a clocked readout): the lazy heat-bath macro-model keeps P(1) = F((V - v0)/vs) within 4 SE at three
    biases and gives tau_int within 4 jackknife SE of 1.6 (pooled over the biases); the former construction
    (an independent decision per clock, tau_int = 1) is rejected by the same statistic (negative control)."""
    from pbitkit.circuits.measure import pooled_integrated_autocorr_time
    from pbitkit.pbitmodel.export import clocked_hold_probability
    from pbitkit.pbitmodel.macromodel import simulate_macromodel_sweep

    ts = 3e-7
    card = DeviceModel.ideal(vs_V=0.014, v0_V=0.1, tau_corr_s=0.8 * ts, cell="clk").replace(
        dynamics={"rate_model": RateModel("constant_tau"), "sample_period_s": ts})
    assert clocked_hold_probability(card) == pytest.approx(0.6 / 2.6)
    assert clocked_hold_probability(card.replace(dynamics={"tau_corr_s": ts / 2})) == 0.0
    bias = card.v0_V + card.vs_V * np.array([-1.5, 0.0, 1.5])
    sw = simulate_macromodel_sweep(card, bias, t_stop_s=4000 * ts, seed=3)
    assert sw.read_period_s == ts
    z = _z(sw.p1, card.p1(bias), sw.n_eff)
    assert np.all(np.abs(z) < 4), z
    est = pooled_integrated_autocorr_time(list(sw.bits))
    assert abs(est.tau_int - 1.6) < 4 * est.se, (est.tau_int, est.se)
    assert (est.tau_int - 1.0) / est.se > 4, (est.tau_int, est.se)
