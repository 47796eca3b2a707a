"""The predicted tier: fast DC / AC / operating-point analyses that predict a cell's P(1) vs bias.

Transient noise simulations (the *measured* tier) cost 0.1-1 s per bias point; the analyses here cost
one short ngspice session per (corner, mismatch seed, temperature, supply) group and give P(1) for every
bias at once. ``docs/cells.md`` reports where the two tiers agree and where they do not.

Latch: stationary density along the differential mode
------------------------------------------------------
With ``x = V_q - V_qb`` forced by a voltage source between ``q`` and ``qb`` (the common mode settles
freely, i.e. it is adiabatically eliminated), a DC sweep gives the restoring current
``Delta I(x) = 2 i_x(x)`` and an AC analysis the differential capacitance ``C = 2 Im(Y_x)/omega``. The
differential mode then obeys ``C dx/dt = Delta I(x) + Delta I_b + i_n(t)`` with white current noise of
one-sided PSD ``S_x = S_q + S_qb`` (from the operating point, :func:`noise.channel_noise_psd`) and the bias
current difference ``Delta I_b = (V_b - V_ref)/R_in``. Its stationary (Fokker-Planck) density is

    p(x) ∝ exp( (4 C / S_x) ∫_0^x (Delta I(x') + Delta I_b) dx' ),

(for a resistor, ``Delta I = -G x``, ``S = 4kTG``, this is the Boltzmann ``exp(-C x^2 / 2kT)``), and
``P(1) = ∫_{x>0} p / ∫ p``.

Comparator: probit
------------------
``P(1) = Phi((V_b - V0) / sigma_n)`` with ``sigma_n`` the input-referred channel noise of the input pair
integrated over the comparator's integration window (:func:`comparator_noise_sigma`) and ``V0`` the comparator's noiseless decision threshold, found from a
noiseless transient in which the differential input steps through a fine staircase, one step per clock
cycle (the comparator resets every cycle, so each decision is independent).

This module is pure math on arrays; the cells run the analyses (:mod:`pbitkit.circuits.builtin`) and
:func:`pbitkit.circuits.centering.predicted_sigmoid` runs one device's predicted tier in ngspice.
"""

from __future__ import annotations

import math

import numpy as np

from pbitkit.constants import K_B, kelvin

__all__ = [
    "comparator_noise_sigma",
    "stationary_p1",
    "probit_p1",
    "threshold_from_staircase",
    "stationary_rates",
]


def comparator_noise_sigma(gm_S: float, t_int_s: float, temp_C: float, gamma: float = 2.0 / 3.0,
                           scale: float = 1.0) -> float:
    """Input-referred RMS noise (V) of a clocked comparator's input pair over its integration window.

    During integration each input device's drain current charges its drain node; the differential signal
    current is ``g_m Delta V`` and each device adds channel noise of one-sided PSD ``S = 4 k T gamma g_m``.
    Integrated over ``t_int`` the signal charge is ``g_m Delta V t_int`` and the noise charge variance
    ``2 S t_int / 2``, so ``sigma_n^2 = 4 k T gamma / (g_m t_int)`` (times ``scale``, the PSD multiplier).

    Parameters
    ----------
    gm_S : the pair's mean transconductance over the window (S); t_int_s : the window (s);
    temp_C : temperature (°C); gamma : channel-noise factor; scale : PSD multiplier.
    """
    if not (gm_S > 0 and t_int_s > 0):
        raise ValueError(f"comparator_noise_sigma needs gm_S > 0 and t_int_s > 0, got {gm_S}, {t_int_s}")
    return math.sqrt(4 * K_B * kelvin(temp_C) * gamma * scale / (gm_S * t_int_s))


def stationary_p1(x_V: np.ndarray, delta_i_A: np.ndarray, c_diff_F: float, s_x_A2_Hz: float,
                  bias_current_A: np.ndarray | float) -> np.ndarray:
    """P(x > 0) of the stationary density of ``C dx/dt = Delta I(x) + I_b + noise`` (module docstring).

    Parameters
    ----------
    x_V : (n,) increasing grid of the differential voltage (V), spanning both states.
    delta_i_A : (n,) restoring current ``Delta I(x)`` (A) on that grid.
    c_diff_F : differential capacitance (F).
    s_x_A2_Hz : one-sided current-noise PSD driving the differential mode (A^2/Hz).
    bias_current_A : scalar or (m,) bias current differences (A).

    Returns
    -------
    ndarray of shape ``np.shape(bias_current_A)``: P(1) for each bias current.
    """
    from scipy.integrate import cumulative_trapezoid

    x = np.asarray(x_V, dtype=float)
    di = np.asarray(delta_i_A, dtype=float)
    ib = np.atleast_1d(np.asarray(bias_current_A, dtype=float))
    if x.ndim != 1 or x.shape != di.shape or x.size < 3 or np.any(np.diff(x) <= 0):
        raise ValueError("stationary_p1: x_V must be an increasing 1-D grid matching delta_i_A")
    if c_diff_F <= 0 or s_x_A2_Hz <= 0:
        raise ValueError(f"stationary_p1: c_diff_F and s_x_A2_Hz must be > 0, got {c_diff_F}, {s_x_A2_Hz}")
    k = 4.0 * c_diff_F / s_x_A2_Hz
    out = np.empty(ib.shape)
    for j, b in enumerate(ib):
        phi = k * cumulative_trapezoid(di + b, x, initial=0.0)
        w = np.exp(phi - phi.max())
        cdf = cumulative_trapezoid(w, x, initial=0.0)
        out[j] = 1.0 - float(np.interp(0.0, x, cdf)) / cdf[-1]
    return out.reshape(np.shape(bias_current_A))


def probit_p1(bias_V: np.ndarray | float, v0_V: float, sigma_V: float) -> np.ndarray:
    """``Phi((bias - v0) / sigma)``: a comparator with Gaussian input noise of RMS ``sigma_V``."""
    from scipy import stats

    return stats.norm.cdf((np.asarray(bias_V, dtype=float) - v0_V) / sigma_V)


def threshold_from_staircase(bias_steps_V: np.ndarray, bits: np.ndarray) -> float:
    """Decision threshold ``V0`` from noiseless decisions on an increasing staircase of inputs.

    Returns the midpoint between the last 0 below and the first 1 above the transition; if the
    decisions are not a single 0 -> 1 step, the point that best separates them (fewest misclassified
    decisions). NaN if all decisions are equal (threshold outside the staircase).
    """
    b = np.asarray(bits).astype(int)
    v = np.asarray(bias_steps_V, dtype=float)
    if b.min() == b.max():
        return math.nan
    # errors if the threshold is placed between step k-1 and k: ones below + zeros above
    ones_below = np.concatenate([[0], np.cumsum(b)])
    zeros_above = np.concatenate([np.cumsum((1 - b)[::-1])[::-1], [0]])
    k = int(np.argmin(ones_below + zeros_above))
    k = min(max(k, 1), v.size - 1)
    return float(0.5 * (v[k - 1] + v[k]))


def stationary_rates(x_V: np.ndarray, delta_i_A: np.ndarray, c_diff_F: float, s_x_A2_Hz: float,
                     bias_current_A: float, hysteresis_V: float) -> tuple[float, float]:
    """Telegraph rates ``(r_up, r_down)`` (Hz) of the differential mode from mean first-passage times.

    With drift ``f = (Delta I + I_b)/C`` and diffusion ``D = S_x / (4 C^2)`` (so that the stationary
    density is the one of :func:`stationary_p1`), ``p_s ∝ exp(-Phi)``, the mean time to go from ``a`` to
    ``b > a`` with a reflecting wall at the grid's left end ``L`` is

        T(a -> b) = ∫_a^b dy  exp(Phi(y)) / D  ∫_L^y exp(-Phi(z)) dz,

    and mirror-wise from right to left. A low dwell is ``T(-h/2 -> +h/2)`` and a high dwell
    ``T(+h/2 -> -h/2)`` with ``h = hysteresis_V`` (the Schmitt trigger used on the transient tier), so
    ``r_up = 1/T_low``, ``r_down = 1/T_high``. A passage time beyond ``exp(700)`` returns rate 0.
    """
    from scipy.integrate import cumulative_trapezoid

    x = np.asarray(x_V, dtype=float)
    di = np.asarray(delta_i_A, dtype=float) + bias_current_A
    if x.ndim != 1 or x.shape != di.shape or x.size < 3 or np.any(np.diff(x) <= 0):
        raise ValueError("stationary_rates: x_V must be an increasing 1-D grid matching delta_i_A")
    if hysteresis_V < 0:
        raise ValueError(f"stationary_rates: hysteresis_V must be >= 0, got {hysteresis_V}")
    d = s_x_A2_Hz / (4.0 * c_diff_F**2)
    phi = -(4.0 * c_diff_F / s_x_A2_Hz) * cumulative_trapezoid(di, x, initial=0.0)

    def passage(xs: np.ndarray, ph: np.ndarray, a: float, b: float) -> float:
        # xs increasing, reflecting wall at xs[0], from a up to b
        m = float(ph.min())
        inner = cumulative_trapezoid(np.exp(-(ph - m)), xs, initial=0.0)  # <= grid length
        with np.errstate(divide="ignore"):
            log_integrand = ph - m + np.log(np.maximum(inner, 1e-300)) - math.log(d)
        if b <= a:
            return 0.0
        inside = (xs > a) & (xs < b)
        xx = np.concatenate([[a], xs[inside], [b]])  # the end points interpolated onto the grid
        ll = np.concatenate([[np.interp(a, xs, log_integrand)], log_integrand[inside],
                             [np.interp(b, xs, log_integrand)]])
        top = float(ll.max())
        if top > 700:
            return math.inf
        return float(np.trapezoid(np.exp(ll - top), xx)) * math.exp(top)

    h = hysteresis_V / 2
    t_low = passage(x, phi, -h, h)
    t_high = passage(-x[::-1], phi[::-1], -h, h)
    r_up = 0.0 if not math.isfinite(t_low) else (1.0 / t_low if t_low > 0 else math.inf)
    r_down = 0.0 if not math.isfinite(t_high) else (1.0 / t_high if t_high > 0 else math.inf)
    return r_up, r_down
