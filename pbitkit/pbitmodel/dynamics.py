"""Switching dynamics vs bias: telegraph rates exponential in bias and the correlation time, with uncertainties.

Rates (Poisson likelihood). A cell observed for ``T_low`` seconds in state 0 that made ``n_up`` 0→1 flips
gives ``n_up ~ Poisson(r_up T_low)``; the model ``ln r_up(V) = c_up + s_up (V - v0)`` (Kramers-like escape
over a barrier that the bias tilts linearly) is a Poisson GLM, concave in ``(c, s)``, fitted by Newton's
method (``scipy.optimize.minimize``, trust-exact) with standard errors from the observed information. The
same for ``ln r_down = c_down - s_down (V - v0)``.

Correlation time. For those rates the telegraph correlation time is ``tau = 1 / (r_up + r_down)``
(:func:`pbitkit.pbitmodel.symbolic.telegraph_tau`); with symmetric slopes ``s`` and ``r_up(v0) = r_down(v0) = r0``
this is ``tau(V) = tau0 / cosh(s (V - v0))``, ``tau0 = 1/(2 r0)``. :func:`fit_tau` fits ``ln tau`` to that
form by weighted least squares (the relative error of a measured integrated correlation time over a record
``T`` is about ``sqrt(2 tau / T)`` [Sokal 1997]; it is the weight), with standard errors scaled by the
residual dispersion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from pbitkit.pbitmodel.sigmoid import FitError

__all__ = ["RateFit", "DirectionFit", "fit_rates", "TauFit", "fit_tau"]


@dataclass(frozen=True)
class DirectionFit:
    """``ln r(V) = log_r0 + sign * slope_per_V * (V - v0_V)`` fitted to Poisson counts. ``cov`` of
    ``(log_r0, slope_per_V)``; ``deviance`` and ``dof`` for goodness of fit."""

    log_r0: float
    slope_per_V: float
    cov: np.ndarray = field(repr=False)
    deviance: float
    dof: int

    @property
    def rate0_Hz(self) -> float:
        return math.exp(self.log_r0)

    @property
    def slope_se_per_V(self) -> float:
        return math.sqrt(self.cov[1, 1])

    @property
    def rate0_rel_se(self) -> float:
        """Relative standard error of ``rate0_Hz`` (= SE of its log)."""
        return math.sqrt(self.cov[0, 0])


def _poisson_glm(x: np.ndarray, counts: np.ndarray, exposure: np.ndarray) -> DirectionFit:
    """MLE of ``counts ~ Poisson(exposure * exp(c + s x))``."""
    ok = np.isfinite(x) & np.isfinite(counts) & np.isfinite(exposure) & (exposure > 0)
    x, k, e = x[ok], counts[ok], exposure[ok]
    if x.size < 2 or np.unique(x).size < 2 or k.sum() <= 0:
        raise FitError(f"rate fit needs at least 2 bias points with flips, got {x.size} points, {k.sum():g} flips")
    scale = max(float(np.ptp(x)), 1e-300)
    u = x / scale
    le = np.log(e)

    def nll(t):
        eta = t[0] + t[1] * u + le
        return float(np.sum(np.exp(eta) - k * eta))

    def grad(t):
        mu = np.exp(t[0] + t[1] * u + le)
        r = mu - k
        return np.array([r.sum(), (r * u).sum()])

    def hess(t):
        mu = np.exp(t[0] + t[1] * u + le)
        return np.array([[mu.sum(), (mu * u).sum()], [(mu * u).sum(), (mu * u * u).sum()]])

    c0 = math.log(max(k.sum(), 0.5) / e.sum())
    res = optimize.minimize(nll, np.array([c0, 0.0]), jac=grad, hess=hess, method="trust-exact",
                            options={"gtol": 1e-10, "maxiter": 500})
    if not np.all(np.isfinite(res.x)):
        raise FitError("rate fit did not converge")
    cov_s = np.linalg.inv(hess(res.x))
    S = np.diag([1.0, 1.0 / scale])
    cov = S @ cov_s @ S
    mu = np.exp(res.x[0] + res.x[1] * u + le)
    from scipy.special import xlogy

    dev = 2.0 * float(np.sum(xlogy(k, k / mu) - (k - mu)))
    return DirectionFit(float(res.x[0]), float(res.x[1] / scale), cov, dev, int(x.size - 2))


@dataclass(frozen=True)
class RateFit:
    """Up and down rate fits around ``v0_V``.

    ``up``: ``ln r_up = log_r0 + slope (V - v0)``; ``down``: ``ln r_down = log_r0 - slope (V - v0)``
    (stored with the sign flipped so both slopes are positive for a normal cell).
    """

    v0_V: float
    up: DirectionFit
    down: DirectionFit

    @property
    def rate0_Hz(self) -> float:
        """Geometric mean of ``r_up(v0)`` and ``r_down(v0)``: the card's ``rate0_Hz``."""
        return math.exp(0.5 * (self.up.log_r0 + self.down.log_r0))

    @property
    def tau0_s(self) -> float:
        """Correlation time at ``v0``: ``1 / (r_up(v0) + r_down(v0))``."""
        return 1.0 / (self.up.rate0_Hz + self.down.rate0_Hz)

    @property
    def tau0_rel_se(self) -> float:
        """Relative SE of ``tau0_s`` (delta method; up and down fits are independent)."""
        ru, rd = self.up.rate0_Hz, self.down.rate0_Hz
        return math.sqrt((ru**2 * self.up.cov[0, 0] + rd**2 * self.down.cov[0, 0])) / (ru + rd)

    @property
    def occupancy_slope_per_V(self) -> float:
        """``slope_up + slope_down``: the rates' prediction of ``1 / vs_V`` (consistency check)."""
        return self.up.slope_per_V + self.down.slope_per_V

    def rate_model(self) -> dict[str, float | str]:
        """The card's ``rate_model`` dict (form ``"exp"``)."""
        return {"form": "exp", "rate0_Hz": self.rate0_Hz, "slope_up_per_V": self.up.slope_per_V,
                "slope_down_per_V": self.down.slope_per_V}

    def predict(self, bias_V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(r_up, r_down)`` in Hz from the two independent fits."""
        dv = np.asarray(bias_V, dtype=float) - self.v0_V
        return (np.exp(self.up.log_r0 + self.up.slope_per_V * dv),
                np.exp(self.down.log_r0 - self.down.slope_per_V * dv))


def fit_rates(bias_V, n_up, t_low_s, n_down, t_high_s, *, v0_V: float) -> RateFit:
    """Fit telegraph rates exponential in bias by Poisson maximum likelihood.

    Parameters
    ----------
    bias_V : (m,) array, V
    n_up, t_low_s : (m,) arrays
        Number of 0→1 flips and the time spent in state 0 (s) at each bias.
    n_down, t_high_s : (m,) arrays
        Number of 1→0 flips and the time spent in state 1 (s).
    v0_V : float
        Reference bias (the sigmoid centre) where ``rate0`` is quoted.

    Returns
    -------
    RateFit
    """
    x = np.asarray(bias_V, dtype=float) - v0_V
    up = _poisson_glm(x, np.asarray(n_up, dtype=float), np.asarray(t_low_s, dtype=float))
    d = _poisson_glm(-x, np.asarray(n_down, dtype=float), np.asarray(t_high_s, dtype=float))
    return RateFit(v0_V, up, d)


@dataclass(frozen=True)
class TauFit:
    """``tau(V) = tau0_s / cosh(slope_per_V (V - v0_V))`` fitted to measured correlation times.

    ``constant`` is true when the slope is not resolved (``|slope| < 2 SE``) or changes tau by less than 5 %
    over the measured biases; then ``tau0_s`` is the weighted mean of the points.
    """

    v0_V: float
    tau0_s: float
    tau0_rel_se: float
    slope_per_V: float
    slope_se_per_V: float
    constant: bool
    n_points: int

    def predict(self, bias_V: np.ndarray) -> np.ndarray:
        s = 0.0 if self.constant else self.slope_per_V
        return self.tau0_s / np.cosh(s * (np.asarray(bias_V, dtype=float) - self.v0_V))


def fit_tau(bias_V, tau_s, *, v0_V: float, record_s=None, vs_V: float | None = None) -> TauFit:
    """Fit ``ln tau = ln tau0 - ln cosh(s (V - v0))`` by weighted least squares.

    Parameters
    ----------
    bias_V, tau_s : (m,) arrays
        Bias (V) and measured correlation time (s); non-finite or non-positive points are dropped.
    v0_V : float
        Centre of the sigmoid (fixed).
    record_s : (m,) array, optional
        Record length per point (s); weights ``1/var(ln tau) = T / (2 tau)``. Equal weights without it.
    vs_V : float, optional
        Slope scale, used only to start the optimizer at ``s = 1/(2 vs)`` (the symmetric-rate value).
    """
    v = np.asarray(bias_V, dtype=float)
    t = np.asarray(tau_s, dtype=float)
    T = np.full_like(t, np.nan) if record_s is None else np.broadcast_to(np.asarray(record_s, float), t.shape)
    ok = np.isfinite(v) & np.isfinite(t) & (t > 0)
    v, t, T = v[ok], t[ok], T[ok]
    if v.size < 1:
        raise FitError("correlation-time fit needs at least one finite positive tau_corr_s")
    w = np.where(np.isfinite(T) & (T > 0), T / (2.0 * t), 1.0)
    sw = np.sqrt(w / w.mean())
    y = np.log(t)
    dv = v - v0_V
    if v.size >= 3 and np.unique(v).size >= 3:
        s0 = 0.5 / vs_V if vs_V else 1.0 / max(np.ptp(v), 1e-300)

        def resid(p):
            return sw * (y - (p[0] - np.log(np.cosh(np.clip(p[1] * dv, -700, 700)))))

        r = optimize.least_squares(resid, np.array([float(np.average(y, weights=w)), s0]),
                                   x_scale=np.array([1.0, abs(s0)]))
        J = r.jac
        dof = max(v.size - 2, 1)
        s2 = float(np.sum(r.fun**2) / dof)
        try:
            cov = np.linalg.inv(J.T @ J) * max(s2, 1e-300)
        except np.linalg.LinAlgError:
            cov = np.full((2, 2), np.inf)
        slope, slope_se = abs(float(r.x[1])), float(math.sqrt(cov[1, 1])) if np.isfinite(cov[1, 1]) else math.inf
        # resolved (> 2 SE) and physically visible (tau changes by > 5 % across the measured biases)
        visible = float(np.log(np.cosh(slope * np.max(np.abs(dv))))) > 0.05
        if slope > 2.0 * slope_se and visible:
            return TauFit(v0_V, float(math.exp(r.x[0])), float(math.sqrt(cov[0, 0])), slope, slope_se, False,
                          int(v.size))
    # constant: weighted mean of ln tau; SE from scatter (or the weights for a single point)
    m = float(np.average(y, weights=w))
    if v.size > 1:
        se = float(math.sqrt(np.sum(w * (y - m) ** 2) / np.sum(w) / (v.size - 1)))
    else:
        se = float(1.0 / math.sqrt(w[0])) if np.isfinite(T).all() else math.nan
    return TauFit(v0_V, math.exp(m), se, 0.0, math.nan, True, int(v.size))
