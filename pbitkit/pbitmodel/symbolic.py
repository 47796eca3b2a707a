"""Symbolic derivations (sympy) of the physics behind the fits, turned into numeric functions by ``lambdify``.

Each derivation is a function returning a :class:`Derivation` (the symbols, the derived expression and the
steps that produced it); the module-level numeric functions are ``lambdify``-ed from those expressions once,
on first use, so the numbers the fits and the array use are the derived formulas themselves.

Derivations
-----------
1. :func:`derive_probit_slope`: a comparator with input-referred Gaussian noise of RMS ``sigma_n`` behind a
   gain ``A`` from the bias gives ``P = Phi(A (V - V0) / sigma_n)``: probit scale ``sigma = sigma_n / A``;
   the logistic of equal slope at ``P = 1/2`` has ``Vs = sqrt(2 pi) sigma / 4``.
2. :func:`derive_telegraph`: the two-state master equation ``dp/dt = r_up (1 - p) - r_down p`` gives the
   occupancy ``r_up / (r_up + r_down)`` and an exponential autocorrelation with time
   ``tau = 1 / (r_up + r_down)``; read every ``t_s``, lag-``k`` correlation ``rho^k``, ``rho = exp(-t_s/tau)``,
   so the variance of the mean of ``n`` reads is ``p (1-p) / n * (1 + rho)/(1 - rho)`` (large ``n``):
   ``n_eff = n (1 - rho) / (1 + rho)``.
3. :func:`derive_bias_network`: node equation of a conductance network: ``V_b = sum G_j V_j / sum G_j``,
   time constant ``C / sum G_j``, static power ``sum G_j (V_j - V_b)^2`` and the ``C dV^2 / 2`` energy of
   moving the node.
4. :func:`derive_ktc`: RC thermal noise: integral of ``4 k T R / (1 + (2 pi f R C)^2)`` over ``f`` is
   ``k T / C``.
5. :func:`derive_mos_noise`: channel thermal noise ``4 k T gamma g_m`` referred to the gate:
   ``4 k T gamma / g_m`` (V^2/Hz); at the output of a stage of gain ``g_m R`` loaded by ``C`` the variance
   is ``gamma g_m R k T / C``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from pbitkit.constants import K_B

__all__ = [
    "Derivation",
    "derive_probit_slope",
    "derive_telegraph",
    "derive_bias_network",
    "derive_ktc",
    "derive_mos_noise",
    "all_derivations",
    "probit_sigma_from_noise",
    "logistic_vs_from_probit",
    "telegraph_occupancy",
    "telegraph_tau",
    "lag_correlation",
    "n_eff_factor",
    "bias_network_voltage",
    "bias_network_tau",
    "bias_network_static_power",
    "ktc_noise_var",
    "mos_gate_noise_psd",
    "K_BOLTZMANN",
]

#: Boltzmann constant in J/K (an alias of :data:`pbitkit.constants.K_B`).
K_BOLTZMANN = K_B


@dataclass(frozen=True)
class Derivation:
    """A sympy derivation: named results (sympy expressions) and the steps shown in the docs."""

    title: str
    results: dict[str, sp.Expr]
    steps: list[tuple[str, Any]] = field(default_factory=list)

    def latex(self) -> str:
        """Markdown with each step and result as a LaTeX display equation (``sympy.latex``)."""
        lines = [f"### {self.title}", ""]
        for text, expr in self.steps:
            lines.append(f"{text}:")
            lines.append("")
            lines.append(f"$$ {sp.latex(expr)} $$")
            lines.append("")
        for name, expr in self.results.items():
            lines.append(f"- `{name}`: $ {sp.latex(expr)} $")
        lines.append("")
        return "\n".join(lines)


# --------------------------------------------------------------------------- 1. slope from noise
def derive_probit_slope() -> Derivation:
    """Comparator with Gaussian input noise: sigmoid slope from noise RMS and gain, and the logistic of equal centre slope."""
    V, V0, A, sn = sp.symbols("V V_0 A sigma_n", positive=True)
    z = sp.Symbol("z", real=True)
    Phi = (1 + sp.erf(z / sp.sqrt(2))) / 2
    # comparator decides 1 when A (V - V0) + n > 0 with n ~ N(0, sn^2): P = Phi(A (V - V0)/sn)
    P = Phi.subs(z, A * (V - V0) / sn)
    sig0 = sp.Symbol("sigma", positive=True)
    # the probit form Phi((V - V0)/sigma) has the same argument when A (V - V0)/sn = (V - V0)/sigma
    sigma = sp.solve(sp.Eq(A * (V - V0) / sn, (V - V0) / sig0), sig0)[0]
    slope_probit = sp.simplify(sp.diff(P, V).subs(V, V0))
    Vs = sp.Symbol("V_s", positive=True)
    logistic = 1 / (1 + sp.exp(-(V - V0) / Vs))
    slope_logistic = sp.simplify(sp.diff(logistic, V).subs(V, V0))
    vs_match = sp.solve(sp.Eq(slope_logistic, slope_probit), Vs)[0]
    sig = sp.Symbol("sigma", positive=True)
    return Derivation(
        "Sigmoid slope from noise RMS and gain",
        {"probit_sigma": sigma, "logistic_vs_from_sigma": sp.simplify(vs_match.subs(sn, A * sig))},
        [("Comparator with Gaussian input noise", sp.Eq(sp.Symbol("P"), P)),
         ("Slope at the centre", sp.Eq(sp.Symbol("dP/dV"), slope_probit)),
         ("Logistic of equal centre slope", sp.Eq(Vs, vs_match))],
    )


# --------------------------------------------------------------------------- 2. telegraph process
def derive_telegraph() -> Derivation:
    """Two-state telegraph process: occupancy, autocorrelation, correlation time and the n/n_eff variance inflation."""
    ru, rd, t, ts = sp.symbols("r_up r_down t t_s", positive=True)
    p = sp.Function("p")
    ode = sp.Eq(p(t).diff(t), ru * (1 - p(t)) - rd * p(t))
    p_inf = sp.solve(sp.Eq(ru * (1 - sp.Symbol("p")) - rd * sp.Symbol("p"), 0), sp.Symbol("p"))[0]
    # conditional probability of being 1 at t given 1 at 0; autocovariance = p_inf (P11(t) - p_inf)
    sol = sp.dsolve(ode, p(t), ics={p(0): 1}).rhs
    autocorr = sp.simplify((sol - p_inf) / (1 - p_inf))
    tau = sp.simplify(sp.integrate(autocorr, (t, 0, sp.oo)))
    rho = sp.exp(-ts / tau)
    r, kk = sp.symbols("rho k", positive=True)
    inflation = sp.simplify(1 + 2 * sp.summation(r**kk, (kk, 1, sp.oo)).rewrite(sp.Piecewise))
    inflation = sp.simplify(sp.piecewise_fold(inflation).args[0][0]) if isinstance(inflation, sp.Piecewise) else inflation
    neff = sp.simplify(1 / inflation)
    return Derivation(
        "Telegraph occupancy and correlation time from rates",
        {"occupancy": p_inf, "tau": tau, "rho": rho, "n_eff_factor": neff},
        [("Master equation", ode), ("Stationary occupancy", sp.Eq(sp.Symbol("p_infty"), p_inf)),
         ("Normalized autocorrelation", sp.Eq(sp.Symbol("R(t)"), autocorr)),
         ("Correlation time (integral of R)", sp.Eq(sp.Symbol("tau"), tau)),
         ("Variance inflation of a mean of reads every t_s", sp.Eq(sp.Symbol("n/n_eff"), inflation))],
    )


# --------------------------------------------------------------------------- 3. bias network
def derive_bias_network(n_inputs: int = 3) -> Derivation:
    """Resistive bias node with ``n_inputs`` inputs: bias voltage (KCL), settling time constant, static power, switching energy."""
    G = sp.symbols(f"G_1:{n_inputs + 1}", positive=True)
    Vin = sp.symbols(f"V_1:{n_inputs + 1}", real=True)
    Vb, C = sp.symbols("V_b C", positive=True)
    kcl = sp.Eq(sum(g * (v - Vb) for g, v in zip(G, Vin)), 0)
    vb = sp.solve(kcl, Vb)[0]
    gsum = sum(G)
    tau = C / gsum
    power = sp.simplify(sum(g * (v - vb) ** 2 for g, v in zip(G, Vin)))
    dV = sp.Symbol("Delta_V", real=True)
    return Derivation(
        f"Bias-network transfer and energy ({n_inputs} inputs)",
        {"v_b": vb, "tau": tau, "static_power": power, "switch_energy": C * dV**2 / 2},
        [("Kirchhoff's current law at the bias node", kcl), ("Bias voltage", sp.Eq(Vb, vb)),
         ("Settling time constant", sp.Eq(sp.Symbol("tau_b"), tau))],
    )


# --------------------------------------------------------------------------- 4. kT/C
def derive_ktc() -> Derivation:
    """kT/C: the integrated thermal noise of an RC node (PSD of R across C integrated over frequency)."""
    k, T, R, C, f = sp.symbols("k T R C f", positive=True)
    psd = 4 * k * T * R / (1 + (2 * sp.pi * f * R * C) ** 2)
    var = sp.simplify(sp.integrate(psd, (f, 0, sp.oo)))
    return Derivation("kT/C noise", {"variance": var},
                      [("Noise PSD across C from R", sp.Eq(sp.Symbol("S_v(f)"), psd)),
                       ("Integrated variance", sp.Eq(sp.Symbol("v_n^2"), var))])


# --------------------------------------------------------------------------- 5. MOSFET thermal noise
def derive_mos_noise() -> Derivation:
    """MOSFET channel thermal noise ``4 k T gamma g_m``: gate-referred PSD and the output variance of a g_m R stage loaded by C."""
    k, T, gamma, gm, R, C, f = sp.symbols("k T gamma g_m R C f", positive=True)
    s_id = 4 * k * T * gamma * gm
    s_vg = sp.simplify(s_id / gm**2)
    s_out = s_id * R**2 / (1 + (2 * sp.pi * f * R * C) ** 2)
    var_out = sp.simplify(sp.integrate(s_out, (f, 0, sp.oo)))
    return Derivation("MOSFET channel thermal noise", {"gate_psd": s_vg, "output_variance": var_out},
                      [("Drain current noise PSD", sp.Eq(sp.Symbol("S_id"), s_id)),
                       ("Referred to the gate", sp.Eq(sp.Symbol("S_vg"), s_vg)),
                       ("Output variance of a gain-g_m R stage loaded by C", sp.Eq(sp.Symbol("v_out^2"), var_out))])


def all_derivations() -> list[Derivation]:
    """Every derivation, in the order the docs show them."""
    return [derive_probit_slope(), derive_telegraph(), derive_bias_network(), derive_ktc(), derive_mos_noise()]


# --------------------------------------------------------------------------- lambdified numeric forms
@functools.cache
def _numeric() -> dict[str, Any]:
    d1, d2, d3, d4, d5 = all_derivations()
    sn, A, sig = sp.symbols("sigma_n A sigma", positive=True)
    ru, rd, ts, tau = sp.symbols("r_up r_down t_s tau", positive=True)
    rho = sp.Symbol("rho", positive=True)
    k, T, C, gamma, gm = sp.symbols("k T C gamma g_m", positive=True)
    tau_expr = d2.results["tau"]
    return {
        "probit_sigma": sp.lambdify((sn, A), d1.results["probit_sigma"], "numpy"),
        "logistic_vs": sp.lambdify(sig, d1.results["logistic_vs_from_sigma"].subs(A, 1), "numpy"),
        "occupancy": sp.lambdify((ru, rd), d2.results["occupancy"], "numpy"),
        "tau": sp.lambdify((ru, rd), tau_expr, "numpy"),
        # rho as a function of (t_s, tau): substitute the rates' sum by 1/tau
        "rho": sp.lambdify((ts, tau), sp.exp(-ts / tau), "numpy"),
        "n_eff_factor": sp.lambdify(rho, d2.results["n_eff_factor"], "numpy"),
        "ktc": sp.lambdify((T, C), d4.results["variance"].subs(k, K_BOLTZMANN), "numpy"),
        "mos_psd": sp.lambdify((T, gamma, gm), d5.results["gate_psd"].subs(k, K_BOLTZMANN), "numpy"),
    }


def probit_sigma_from_noise(noise_rms_V, gain):
    """Probit scale ``sigma = sigma_n / A`` (V) of a comparator with input noise RMS ``sigma_n`` behind gain ``A``."""
    return _numeric()["probit_sigma"](noise_rms_V, gain)


def logistic_vs_from_probit(sigma_V):
    """Logistic ``Vs`` with the same centre slope as ``Phi(x/sigma)``: ``Vs = sqrt(2 pi) sigma / 4``."""
    return _numeric()["logistic_vs"](sigma_V)


def telegraph_occupancy(rate_up_Hz, rate_down_Hz):
    """``P(1) = r_up / (r_up + r_down)``."""
    return _numeric()["occupancy"](rate_up_Hz, rate_down_Hz)


def telegraph_tau(rate_up_Hz, rate_down_Hz):
    """Correlation time ``1 / (r_up + r_down)`` (s)."""
    return _numeric()["tau"](rate_up_Hz, rate_down_Hz)


def lag_correlation(sample_period_s, tau_s):
    """Lag-one correlation ``exp(-t_s / tau)`` of a process with exponential autocorrelation read every ``t_s``."""
    return _numeric()["rho"](sample_period_s, tau_s)


def n_eff_factor(rho):
    """``n_eff / n = (1 - rho) / (1 + rho)`` for lag-``k`` correlation ``rho^k``."""
    return _numeric()["n_eff_factor"](rho)


def bias_network_voltage(g_S: np.ndarray, v_V: np.ndarray) -> np.ndarray:
    """``V_b = sum_j G_j V_j / sum_j G_j`` over the last axis (shapes broadcast; S and V)."""
    g = np.asarray(g_S, dtype=float)
    return np.sum(g * np.asarray(v_V, dtype=float), axis=-1) / np.sum(g, axis=-1)


def bias_network_tau(g_S: np.ndarray, c_F: float) -> np.ndarray:
    """Settling time constant ``C / sum G`` (s)."""
    return c_F / np.sum(np.asarray(g_S, dtype=float), axis=-1)


def bias_network_static_power(g_S: np.ndarray, v_V: np.ndarray) -> np.ndarray:
    """Static power ``sum_j G_j (V_j - V_b)^2`` (W) dissipated while the inputs hold ``v_V``."""
    g = np.asarray(g_S, dtype=float)
    v = np.asarray(v_V, dtype=float)
    vb = bias_network_voltage(g, v)
    return np.sum(g * (v - vb[..., None]) ** 2, axis=-1)


def ktc_noise_var(temp_K, c_F):
    """``k T / C`` (V^2)."""
    return _numeric()["ktc"](temp_K, c_F)


def mos_gate_noise_psd(temp_K, gamma, gm_S):
    """Gate-referred channel thermal noise PSD ``4 k T gamma / g_m`` (V^2/Hz)."""
    return _numeric()["mos_psd"](temp_K, gamma, gm_S)
