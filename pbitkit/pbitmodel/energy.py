"""Energy models: energy per output bit and per flip vs bias and supply, with the static/dynamic split.

Around the centre the energy per bit varies smoothly with bias (the flip rate, hence the dynamic part, peaks
near ``P = 1/2``), so it is modelled as a quadratic in the normalized bias ``u = (V - v0)/vs`` over the
points with ``|u| <= u_max``, fitted by least squares; the value at ``u = 0`` and its standard error (from
the residual scatter) go on the card. The static part is ``P_static * t_s`` per read (clocked cells); the
dynamic part is the rest. Supply dependence: ``E ∝ Vdd^k`` fitted in log-log (``k = 2`` for pure ``C V^2``
switching energy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pbitkit.pbitmodel.sigmoid import FitError

__all__ = ["QuadraticFit", "fit_quadratic_at_centre", "EnergyFit", "fit_energy", "PowerLawFit", "fit_power_law"]


@dataclass(frozen=True)
class QuadraticFit:
    """``y(u) = c0 + c1 u + c2 u^2`` with ``u = (V - v0_V)/vs_V``; ``value`` = ``c0`` and its SE."""

    v0_V: float
    vs_V: float
    coeffs: tuple[float, float, float]
    value: float
    value_se: float
    n_points: int

    def predict(self, bias_V):
        u = (np.asarray(bias_V, dtype=float) - self.v0_V) / self.vs_V
        c0, c1, c2 = self.coeffs
        return c0 + c1 * u + c2 * u * u


def fit_quadratic_at_centre(bias_V, y, *, v0_V: float, vs_V: float, u_max: float = 4.0) -> QuadraticFit:
    """Least-squares quadratic in ``u`` through the finite points with ``|u| <= u_max`` (fewer points:
    lower degree; one point: that value with unknown SE)."""
    v = np.asarray(bias_V, dtype=float)
    yy = np.asarray(y, dtype=float)
    u = (v - v0_V) / vs_V
    ok = np.isfinite(u) & np.isfinite(yy) & (np.abs(u) <= u_max)
    if ok.sum() == 0:
        ok = np.isfinite(u) & np.isfinite(yy)
    u, yy = u[ok], yy[ok]
    if u.size == 0:
        raise FitError("energy fit: no finite values")
    deg = int(min(2, np.unique(u).size - 1))
    if deg <= 0:
        return QuadraticFit(v0_V, vs_V, (float(yy.mean()), 0.0, 0.0), float(yy.mean()),
                            float(yy.std(ddof=1) / math.sqrt(yy.size)) if yy.size > 1 else math.nan, int(yy.size))
    X = np.stack([u**j for j in range(deg + 1)], axis=1)
    coef, *_ = np.linalg.lstsq(X, yy, rcond=None)
    dof = yy.size - (deg + 1)
    if dof > 0:
        s2 = float(np.sum((yy - X @ coef) ** 2) / dof)
        cov = np.linalg.inv(X.T @ X) * s2
        se = float(math.sqrt(cov[0, 0]))
    else:
        se = math.nan
    c = list(coef) + [0.0] * (3 - coef.size)
    return QuadraticFit(v0_V, vs_V, (float(c[0]), float(c[1]), float(c[2])), float(c[0]), se, int(yy.size))


@dataclass(frozen=True)
class PowerLawFit:
    """``y = y_ref (x / x_ref)^exponent`` fitted in log-log; ``exponent_se`` from the residuals."""

    x_ref: float
    y_ref: float
    exponent: float
    exponent_se: float
    n_points: int


def fit_power_law(x, y, *, x_ref: float) -> PowerLawFit:
    """Least squares of ``ln y`` on ``ln(x/x_ref)`` (needs 2 distinct positive ``x``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    if np.unique(x).size < 2:
        raise FitError("power-law fit needs at least 2 distinct supply values")
    X = np.stack([np.ones_like(x), np.log(x / x_ref)], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.log(y), rcond=None)
    dof = x.size - 2
    se = math.nan
    if dof > 0:
        s2 = float(np.sum((np.log(y) - X @ coef) ** 2) / dof)
        se = float(math.sqrt((np.linalg.inv(X.T @ X) * s2)[1, 1]))
    return PowerLawFit(x_ref, float(math.exp(coef[0])), float(coef[1]), se, int(x.size))


@dataclass(frozen=True)
class EnergyFit:
    """Energy figures at the sigmoid centre (J, W) with standard errors, and the static/dynamic split."""

    energy_per_bit: QuadraticFit
    energy_per_flip_J: float
    energy_per_flip_se_J: float
    static_power_W: float
    static_energy_per_bit_J: float
    dynamic_energy_per_bit_J: float

    @property
    def energy_per_bit_J(self) -> float:
        return self.energy_per_bit.value

    @property
    def static_fraction(self) -> float:
        e = self.energy_per_bit.value
        return self.static_energy_per_bit_J / e if e > 0 else math.nan


def _mean_se(y):
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return math.nan, math.nan
    return float(y.mean()), float(y.std(ddof=1) / math.sqrt(y.size)) if y.size > 1 else math.nan


def fit_energy(bias_V, energy_per_bit_J, *, v0_V: float, vs_V: float, energy_per_flip_J=None,
               static_power_W=None, dynamic_energy_per_bit_J=None, sample_period_s: float = 0.0) -> EnergyFit:
    """Energy per bit at the centre (quadratic in ``u``), mean energy per flip and static power, and the split.

    The static energy per read is ``static_power_W * sample_period_s`` when the cell is clocked; otherwise,
    when the table gives ``dynamic_energy_per_bit_J``, static = total - dynamic at the centre.
    """
    e_bit = fit_quadratic_at_centre(bias_V, energy_per_bit_J, v0_V=v0_V, vs_V=vs_V)
    n = np.asarray(bias_V).size
    e_flip, e_flip_se = _mean_se(np.full(n, np.nan) if energy_per_flip_J is None else energy_per_flip_J)
    p_static, _ = _mean_se(np.full(n, np.nan) if static_power_W is None else static_power_W)
    dyn = math.nan
    if dynamic_energy_per_bit_J is not None and np.isfinite(np.asarray(dynamic_energy_per_bit_J, float)).any():
        dyn = fit_quadratic_at_centre(bias_V, dynamic_energy_per_bit_J, v0_V=v0_V, vs_V=vs_V).value
    if sample_period_s > 0 and math.isfinite(p_static):
        stat = p_static * sample_period_s
        if not math.isfinite(dyn):
            dyn = e_bit.value - stat
    elif math.isfinite(dyn):
        stat = e_bit.value - dyn
    else:
        stat = math.nan
    return EnergyFit(e_bit, e_flip, e_flip_se, p_static, stat, dyn)
