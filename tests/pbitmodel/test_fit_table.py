"""Fitting whole characterization tables generated from known cards: the fits recover the parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.pbitmodel.card import DeviceModel, RateModel
from pbitkit.pbitmodel.dynamics import fit_rates, fit_tau
from pbitkit.pbitmodel.energy import fit_power_law
from pbitkit.pbitmodel.fit import FitConfig, fit_characterization
from pbitkit.pbitmodel.sigmoid import FitError
from pbitkit.pbitmodel.synthetic import synthetic_table
from pbitkit.pbitmodel.table import read_characterization, table_to_csv
from pbitkit.pbitmodel.variation import pelgrom_fit, variation_stats

TRUE = DeviceModel.ideal(vs_V=0.0064, v0_V=0.01, tau_corr_s=1e-6, energy_per_bit_J=1e-15).replace(
    variation={"v0_sigma_V": 0.02, "vs_sigma_rel": 0.05, "v0_vs_corr": 0.0},
    energy={"static_power_W": 1e-9, "energy_per_flip_J": 2e-15},
    temp_coeffs={"v0_V_per_K": 1e-4, "vs_V_per_V": 0.01},
)


@pytest.fixture(scope="module")
def report():
    tab = synthetic_table(TRUE, np.linspace(-4, 4, 9) * TRUE.vs_V, n_samples=4000,
                          mc_seeds=[-1] + list(range(30)), temps_C=[0.0, 27.0, 85.0], vdds_V=[1.7, 1.8, 1.9],
                          relative_bias=True, seed=5)
    return fit_characterization(tab)


def test_nominal_and_dynamics_recovered(report):
    c = report.card
    # 4 SE bounds: false-failure probability < 1e-4 each
    assert abs(c.v0_V - TRUE.v0_V) < 4 * c.v0_se_V
    assert abs(c.vs_V - TRUE.vs_V) < 4 * c.vs_se_V
    assert (c.temp_C, c.vdd_V) == (27.0, 1.8)
    assert c.dynamics.rate_model.form == "exp"
    assert abs(math.log(c.dynamics.tau_corr_s / TRUE.dynamics.tau_corr_s)) < 4 * report.tau.tau0_rel_se
    assert abs(math.log(report.rates.tau0_s / TRUE.dynamics.tau_corr_s)) < 4 * report.rates.tau0_rel_se
    assert c.dynamics.rate_model.slope_up_per_V == pytest.approx(0.5 / report.links.fits["logistic"].vs_V)
    for d in ("up", "down"):
        f = getattr(report.rates, d)
        assert abs(f.slope_per_V - 0.5 / TRUE.vs_V) < 4 * f.slope_se_per_V
    assert not report.tau.constant
    assert abs(report.tau.slope_per_V - 0.5 / TRUE.vs_V) < 4 * report.tau.slope_se_per_V
    # energy at the centre: static P t_s + E_flip * (flip rate at centre) * t_s, 1 % scatter
    assert c.dynamics.sample_period_s == 0.0  # correlated reads of an unclocked cell: not clocked
    ts = float(report.nominal_table["sample_period_s"][0])
    e_true = TRUE.energy.static_power_W * ts + TRUE.energy.energy_per_flip_J * (2 * 0.25 / TRUE.dynamics.tau_corr_s) * ts
    assert abs(c.energy.energy_per_bit_J - e_true) < 4 * report.energy.energy_per_bit.value_se + 0.02 * e_true


def test_variation_and_trends_recovered(report):
    v = report.variation
    assert v.n == 30
    assert abs(v.v0_sigma_V - TRUE.variation.v0_sigma_V) < 3 * v.v0_sigma_se_V
    assert abs(v.vs_sigma_rel - TRUE.variation.vs_sigma_rel) < 3 * v.vs_sigma_rel_se + 0.01
    # correlation SE ~ 1/sqrt(n)
    assert abs(v.corr) < 3 / math.sqrt(v.n)
    tr = report.trends
    assert abs(tr["v0_V_per_K"].slope - 1e-4) < 4 * tr["v0_V_per_K"].slope_se
    assert abs(tr["vs_V_per_V"].slope - 0.01) < 4 * tr["vs_V_per_V"].slope_se
    # negative control: no true vs-vs-temperature dependence
    assert abs(tr["vs_V_per_K"].slope) < 4 * tr["vs_V_per_K"].slope_se
    assert set(report.card.temp_coeffs.to_dict()) >= {"v0_V_per_K", "vs_V_per_K", "v0_V_per_V", "vs_V_per_V", "tau_corr_s_per_K",
                                            "energy_per_bit_J_per_K", "tau_corr_s_per_V", "energy_per_bit_J_per_V"}
    # negative control: the synthetic cell's tau does not depend on temperature (4 SE from the trend scatter)
    tr_tau = tr["tau_corr_s_per_K"]
    assert abs(tr_tau.slope) < 4 * tr_tau.slope_se


def test_csv_round_trip_and_reader(tmp_path, report):
    run = tmp_path / "run"
    run.mkdir()
    (run / "characterization.csv").write_text(table_to_csv(report.table))
    back = read_characterization(run)
    assert back.n_rows == report.table.n_rows and back.sha256
    np.testing.assert_array_equal(back["bias_V"], report.table["bias_V"])
    again = fit_characterization(back, FitConfig(profile=False))
    assert again.card.v0_V == pytest.approx(report.card.v0_V, rel=1e-9)


def test_constant_tau_cell_and_probit():
    card = DeviceModel.ideal(vs_V=0.005, tau_corr_s=2e-8, link="probit").replace(dynamics={"rate_model": RateModel("constant_tau")})
    tab = synthetic_table(card, np.linspace(-0.015, 0.015, 11), n_samples=20000, sample_period_s=1e-8, seed=2)
    rep = fit_characterization(tab, FitConfig(link="probit"))
    assert rep.card.dynamics.rate_model == RateModel("constant_tau")
    assert abs(math.log(rep.card.dynamics.tau_corr_s / 2e-8)) < 4 * rep.tau.tau0_rel_se + 0.1  # tau_int bias ~ few %
    assert abs(rep.card.vs_V - 0.005) < 4 * rep.card.vs_se_V


def test_rate_and_pelgrom_kernels():
    rng = np.random.default_rng(4)
    v = np.linspace(-0.02, 0.02, 9)
    T = np.full(v.size, 5e-3)
    r0, su, sd = 1e5, 60.0, 90.0
    fit = fit_rates(v, rng.poisson(r0 * np.exp(su * v) * T), T, rng.poisson(r0 * np.exp(-sd * v) * T), T, v0_V=0.0)
    assert abs(fit.up.slope_per_V - su) < 4 * fit.up.slope_se_per_V
    assert abs(fit.down.slope_per_V - sd) < 4 * fit.down.slope_se_per_V
    assert abs(math.log(fit.rate0_Hz / r0)) < 4 * math.hypot(fit.up.rate0_rel_se, fit.down.rate0_rel_se)
    tf = fit_tau(v, 1 / (2 * r0 * np.cosh(50 * v)), v0_V=0.0)
    assert tf.slope_per_V == pytest.approx(50, rel=1e-6) and tf.tau0_s == pytest.approx(0.5 / r0, rel=1e-6)
    # Pelgrom: sigma = A / sqrt(WL), A = 3.36 mV um (docs/theory.md §6.4 nFET); 40 instances per size
    A = 3.36e-9
    areas = np.array([0.6, 2.4, 9.6]) * 1e-12
    sig = [np.std(rng.normal(0, A / math.sqrt(a), 40), ddof=1) for a in areas]
    pf = pelgrom_fit(areas, sig, [40] * 3)
    assert abs(pf.a_V_m - A) < 4 * pf.a_se_V_m
    pl = fit_power_law([1.0, 1.5, 2.0], [2.0, 4.5, 8.0], x_ref=1.0)
    assert pl.exponent == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(FitError):
        variation_stats([0.1], [0.01])


def test_fit_errors_name_the_problem():
    tab = synthetic_table(TRUE, [0.0, 0.01], n_samples=100, seed=1)
    with pytest.raises(FitError, match="tier"):
        fit_characterization(tab, FitConfig(tier="predicted"))
    with pytest.raises(FitError, match="cell 'nope'"):
        fit_characterization(tab, FitConfig(cell="nope"))


def test_pelgrom_from_a_size_sweep():
    """Three device sizes, sigma(v0) = A / sqrt(W L) with A = 3.36 mV um; 12 instances per size.
    Variation statistics use only the median size; A is recovered within 4 SE."""
    from pbitkit.pbitmodel.table import rows_to_table

    A = 3.36e-9
    rows = []
    for w in (1.0, 4.0, 16.0):  # um, L = 0.15 um
        sig = A / math.sqrt(w * 0.15e-12)
        card = TRUE.replace(variation={"v0_sigma_V": sig, "vs_sigma_rel": 0.0})
        tab = synthetic_table(card, np.linspace(-4, 4, 7) * TRUE.vs_V, n_samples=3000, mc_seeds=list(range(12)),
                              relative_bias=True, seed=int(w))
        for i in range(tab.n_rows):
            r = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in tab.columns.items()}
            r.update(param_w_um=w, param_l_um=0.15, mc_seed=int(r["mc_seed"]) + int(100 * w))
            rows.append(r)
    rep = fit_characterization(rows_to_table(rows), FitConfig(size_columns=("param_w_um", "param_l_um"), profile=False))
    assert rep.pelgrom is not None and rep.pelgrom.n_sizes == 3
    assert abs(rep.pelgrom.a_V_m - A) < 4 * rep.pelgrom.a_se_V_m
    assert rep.variation.n == 12  # median size only


def test_instances_swept_off_their_transition_are_left_out_of_the_variation() -> None:
    # Absolute sweeps (no centering) of +-2.5 sigma(v0): some instances' transitions fall outside the range.
    # Their fits are extrapolations with huge SEs that would swamp the measurement-error correction.
    card = TRUE.replace(variation={"v0_sigma_V": 0.02, "vs_sigma_rel": 0.0})
    bias = np.linspace(-0.05, 0.05, 11)
    t = synthetic_table(card, bias, mc_seeds=tuple(range(-1, 24)), n_samples=2000, seed=5)
    rep = fit_characterization(t, FitConfig(link="logistic", use_n_eff=False, rate_form="constant_tau"))
    left_out = [n for n in rep.notes if "outside its swept bias range" in n or "no fit" in n]
    assert left_out, rep.notes
    v = rep.variation
    assert v.n + len(left_out) == 24
    assert all(bias.min() <= x <= bias.max() for x in v.v0)
    # the kept instances' spread is a truncated sample of N(0, 20 mV): nonzero and below the true sigma
    assert 0.005 < v.v0_sigma_V < card.variation.v0_sigma_V * 1.2


def test_no_fitted_instance_is_said_not_silently_a_zero_variation(caplog) -> None:
    # every instance's transition far outside its +-50 mV sweep (sigma(v0) = 2 V): none can be fitted
    card = TRUE.replace(variation={"v0_sigma_V": 2.0, "vs_sigma_rel": 0.0})
    t = synthetic_table(card, np.linspace(-0.05, 0.05, 11), mc_seeds=(-1, 0, 1, 2), n_samples=500, seed=3)
    with caplog.at_level("WARNING", logger="pbitkit.pbitmodel.fit"):
        rep = fit_characterization(t, FitConfig(link="logistic", use_n_eff=False, rate_form="constant_tau"))
    said = [n for n in rep.notes if n.startswith("no variation statistics: 0 of 3")]
    assert said and said[0] in caplog.text
    assert rep.card.variation.v0_sigma_V == 0.0 and said[0] in rep.card.provenance.notes
    # negative control: the same instances at sigma(v0) = 5 mV are fitted and nothing is said
    ok = synthetic_table(TRUE.replace(variation={"v0_sigma_V": 0.005, "vs_sigma_rel": 0.0}),
                         np.linspace(-0.05, 0.05, 11), mc_seeds=(-1, 0, 1, 2), n_samples=500, seed=3)
    rep_ok = fit_characterization(ok, FitConfig(link="logistic", use_n_eff=False, rate_form="constant_tau"))
    assert not [n for n in rep_ok.notes if n.startswith("no variation statistics")]
