"""Sympy derivations agree with their numeric forms; telegraph formulas match a simulated two-state process."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import integrate
from scipy.special import expit, ndtr

from pbitkit.pbitmodel import symbolic as S
from pbitkit.pbitmodel.synthetic import telegraph_bits


def test_symbolic_and_numeric_forms_agree():
    d = S.derive_telegraph()
    ru, rd = sp.symbols("r_up r_down", positive=True)
    for a, b in [(1.0, 3.0), (2e6, 5e5)]:
        assert math.isclose(float(d.results["occupancy"].subs({ru: a, rd: b})), S.telegraph_occupancy(a, b), rel_tol=1e-14)
        assert math.isclose(float(d.results["tau"].subs({ru: a, rd: b})), S.telegraph_tau(a, b), rel_tol=1e-14)
    # kT/C against a numeric integral of the RC noise PSD
    T, C, R = 300.0, 1e-15, 1e4
    fc = 1 / (2 * math.pi * R * C)  # integrate over f = u fc so quad sees an O(1) scale
    num, _ = integrate.quad(lambda u: fc * 4 * S.K_BOLTZMANN * T * R / (1 + (2 * math.pi * u * fc * R * C) ** 2),
                            0, np.inf)
    assert math.isclose(S.ktc_noise_var(T, C), num, rel_tol=1e-6)
    assert math.isclose(S.mos_gate_noise_psd(300.0, 2 / 3, 1e-4), 4 * S.K_BOLTZMANN * 300 * (2 / 3) / 1e-4, rel_tol=1e-12)
    # bias network: numpy form vs sympy for 3 inputs
    bn = S.derive_bias_network(3)
    G = sp.symbols("G_1:4", positive=True)
    Vs = sp.symbols("V_1:4", real=True)
    g, v = np.array([1e-6, 2e-6, 5e-7]), np.array([1.8, 0.0, 1.8])
    subs = dict(zip(G, g)) | dict(zip(Vs, v))
    assert math.isclose(float(bn.results["v_b"].subs(subs)), float(S.bias_network_voltage(g, v)), rel_tol=1e-12)
    assert math.isclose(float(bn.results["static_power"].subs(subs)), float(S.bias_network_static_power(g, v)),
                        rel_tol=1e-12)
    # probit/logistic slope matching: equal derivative at the centre
    sigma = 0.01
    vs = S.logistic_vs_from_probit(sigma)
    h = 1e-7
    d_log = (expit(h / vs) - expit(-h / vs)) / (2 * h)
    d_pro = (ndtr(h / sigma) - ndtr(-h / sigma)) / (2 * h)
    assert math.isclose(d_log, d_pro, rel_tol=1e-6)
    assert S.probit_sigma_from_noise(0.05, 5.0) == 0.01
    for der in S.all_derivations():
        assert "$$" in der.latex()


def test_telegraph_formulas_match_simulated_process():
    """Continuous-time two-state process simulated from exponential dwell times with rates (r_up, r_down).

    Occupancy SE: the time-average of a telegraph over T has variance ~ 2 tau p(1-p)/T; we allow 4 SE.
    Correlation time: the empirical autocorrelation of the reads at lag L is compared with exp(-L t_s/tau)
    within 4 SE (Bartlett SE ~ sqrt(1/n_eff)).
    """
    rng = np.random.default_rng(11)
    r_up, r_down = 3e5, 1e5
    p_th, tau_th = S.telegraph_occupancy(r_up, r_down), S.telegraph_tau(r_up, r_down)
    n_dw = 400_000
    up_dw = rng.exponential(1 / r_down, n_dw)   # time spent high before a down-flip
    lo_dw = rng.exponential(1 / r_up, n_dw)
    durations = np.empty(2 * n_dw)
    durations[0::2], durations[1::2] = lo_dw, up_dw
    edges = np.concatenate([[0.0], np.cumsum(durations)])
    T = edges[-1]
    p_sim = up_dw.sum() / T
    assert abs(p_sim - p_th) < 4 * math.sqrt(2 * tau_th * p_th * (1 - p_th) / T)
    ts = tau_th / 4
    t_read = np.arange(0.0, T, ts)
    state = (np.searchsorted(edges, t_read, side="right") - 1) % 2  # 0 = low, 1 = high
    x = state - state.mean()
    n_eff = x.size * float(S.n_eff_factor(S.lag_correlation(ts, tau_th)))
    for lag in (1, 4, 8):
        r = float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))
        assert abs(r - math.exp(-lag * ts / tau_th)) < 4 / math.sqrt(n_eff)
    # the discrete Markov reads used by the synthetic tables have the same lag correlation
    bits = telegraph_bits(p_th, float(S.lag_correlation(ts, tau_th)), 400_000, rng).astype(float)
    y = bits - bits.mean()
    assert abs(float(np.dot(y[:-1], y[1:]) / np.dot(y, y)) - math.exp(-ts / tau_th)) < 4 / math.sqrt(n_eff)


def test_docs_render_the_current_derivations():
    """docs/pbitmodel.md holds every derivation's sympy.latex rendering (regenerate it when they change)."""
    from pbitkit.paths import repo_root

    doc = (repo_root() / "docs" / "pbitmodel.md").read_text(encoding="utf-8")
    for der in S.all_derivations():
        for expr in der.results.values():
            assert sp.latex(expr) in doc, (der.title, sp.latex(expr))
