"""Pure math on a design's predicted P(1) curves: sigmoid centre and width from a bias grid, and the spread
of mismatch offsets when some instances never cross P = 1/2 inside the bias window (censored normal).

No I/O, no ngspice: :mod:`pbitkit.explore.evaluate` runs the sessions and calls these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["level_crossing", "sigmoid_from_grid", "CentreEstimate", "censored_normal_fit"]

#: logistic 27 % / 73 % levels: logit(0.7311) = 1, so V73 - V27 = 2 Vs
_P27, _P73 = 0.2689414213699951, 0.7310585786300049


def level_crossing(bias_V: np.ndarray, p1: np.ndarray, level: float) -> float:
    """The bias (V) where P(1) first rises through ``level`` on the grid, interpolated linearly in
    ``logit(P)`` between the bracketing points (exact for a logistic). NaN if P never crosses it or the
    grid holds non-finite values.

    Parameters
    ----------
    bias_V : (n,) increasing bias values (V).
    p1 : (n,) P(1) at those biases.
    level : the probability level in (0, 1).
    """
    b = np.asarray(bias_V, dtype=float)
    p = np.asarray(p1, dtype=float)
    if b.shape != p.shape or b.ndim != 1 or b.size < 2 or not np.all(np.isfinite(p)):
        return math.nan
    above = np.flatnonzero(p >= level)
    if not above.size or above[0] == 0:
        return math.nan
    k = int(above[0])
    eps = 1e-12
    lo, hi = np.clip(p[k - 1], eps, 1 - eps), np.clip(p[k], eps, 1 - eps)
    y0, y1, yl = math.log(lo / (1 - lo)), math.log(hi / (1 - hi)), math.log(level / (1 - level))
    if y1 == y0:
        return float(b[k])
    return float(b[k - 1] + (yl - y0) / (y1 - y0) * (b[k] - b[k - 1]))


def sigmoid_from_grid(bias_V: np.ndarray, p1: np.ndarray) -> tuple[float, float]:
    """``(V0, Vs)`` (V) of a P(1) curve on a grid: ``V0`` the 1/2 crossing, ``Vs = (V73 - V27) / 2`` the
    logistic scale (``P = 1 / (1 + exp(-(V - V0) / Vs))`` gives exactly that). NaN where a level is not
    crossed."""
    v0 = level_crossing(bias_V, p1, 0.5)
    v27, v73 = level_crossing(bias_V, p1, _P27), level_crossing(bias_V, p1, _P73)
    return v0, (v73 - v27) / 2


@dataclass(frozen=True)
class CentreEstimate:
    """Mean and standard deviation (V) of mismatch offsets, and how many instances were censored.

    ``sigma_V`` is ``inf`` when fewer than two instances crossed P = 1/2 inside the window (then the data
    only say that the spread is large compared with the window), NaN with no instances.
    """

    mu_V: float
    sigma_V: float
    n: int
    n_below: int
    n_above: int

    @property
    def n_centred(self) -> int:
        """Instances whose offset lies inside the window."""
        return self.n - self.n_below - self.n_above


def censored_normal_fit(v0_V: np.ndarray, below: np.ndarray, above: np.ndarray) -> CentreEstimate:
    """Maximum-likelihood normal fit to offsets of which some are only known to lie beyond a bound.

    ``below[i]`` means instance i's offset is ``<= v0_V[i]`` (P(1) > 1/2 over the whole window: the
    window's low end is in ``v0_V[i]``), ``above[i]`` that it is ``>= v0_V[i]``; otherwise ``v0_V[i]`` is
    the offset. Likelihood (Tobit)::

        L = prod_unc phi((v - mu)/sigma)/sigma * prod_below Phi((b - mu)/sigma) * prod_above (1 - Phi((b - mu)/sigma))

    Without censored instances this is the sample mean and the ``ddof = 1`` standard deviation.

    Parameters
    ----------
    v0_V : (n,) offsets or censoring bounds (V).
    below, above : (n,) bool masks (disjoint).
    """
    from scipy import optimize, stats

    v = np.asarray(v0_V, dtype=float)
    lo_m = np.asarray(below, dtype=bool)
    hi_m = np.asarray(above, dtype=bool)
    if v.shape != lo_m.shape or v.shape != hi_m.shape or v.ndim != 1:
        raise ValueError("censored_normal_fit: v0_V, below and above must be 1-D of one length")
    if np.any(lo_m & hi_m):
        raise ValueError("censored_normal_fit: an instance cannot be censored on both sides")
    n = int(v.size)
    unc = ~(lo_m | hi_m)
    n_lo, n_hi, n_unc = int(lo_m.sum()), int(hi_m.sum()), int(unc.sum())
    if n == 0:
        return CentreEstimate(math.nan, math.nan, 0, 0, 0)
    if n_unc < 2:
        mu = float(v[unc][0]) if n_unc == 1 else math.nan
        return CentreEstimate(mu, math.inf, n, n_lo, n_hi)
    vu = v[unc]
    if n_lo == 0 and n_hi == 0:
        return CentreEstimate(float(vu.mean()), float(vu.std(ddof=1)), n, 0, 0)

    def nll(theta: np.ndarray) -> float:
        mu, log_s = float(theta[0]), float(theta[1])
        s = math.exp(log_s)
        out = -float(np.sum(stats.norm.logpdf((vu - mu) / s))) + n_unc * log_s
        if n_lo:
            out -= float(np.sum(stats.norm.logcdf((v[lo_m] - mu) / s)))
        if n_hi:
            out -= float(np.sum(stats.norm.logsf((v[hi_m] - mu) / s)))
        return out

    s0 = max(float(np.std(v)), float(vu.std(ddof=1)), 1e-6)
    best = optimize.minimize(nll, np.array([float(np.mean(v)), math.log(s0)]), method="Nelder-Mead",
                             options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
    mu, s = float(best.x[0]), float(math.exp(best.x[1]))
    return CentreEstimate(mu, s, n, n_lo, n_hi)
